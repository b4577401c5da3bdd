"""The Theory handout (playground.handout): the page's walk-through with its live numbers as one
self-contained, print-ready HTML file, and the tables the page and the handout share."""

from __future__ import annotations

import dataclasses
import html
import re

import pytest

from playground import handout, theory
from playground.config import ExperimentConfig

CFG = ExperimentConfig(target="8gaussians", schedule="trig", gamma="brownian", gamma_scale=0.5,
                       seed=4).validate()


@pytest.fixture(scope="module")
def walk() -> handout.WalkThrough:
    setup = theory.theory_setup(CFG)
    return handout.run_walkthrough(setup, handout.describe(CFG, True), CFG.seed, t=0.4, radius=0.3,
                                   euler_steps=3, epsilons=(1.0, 0.0))


@pytest.fixture(scope="module")
def doc(walk) -> str:
    return handout.handout_html(walk)


def test_walkthrough_draws_what_the_page_draws(walk):
    """Each check comes from `theory.check_generator(seed, step)`, as on the page."""
    su = walk.setup
    c = theory.conditional_expectation_check(su.field, su.interpolant, su.base, su.target, 0.4,
                                             radius=0.3, generator=theory.check_generator(4, 2))
    assert c == walk.conditional
    assert walk.epsilons == (0.0, 1.0) and len(walk.euler.rows) == 3 * 3
    assert walk.score.identity == "−z/γ"


def test_one_section_per_step_each_on_a_new_printed_page(doc):
    assert doc.startswith("<!DOCTYPE html>") and doc.count("<section>") == 6
    titles = re.findall(r"<h2>(.*?)</h2>", doc)
    assert titles == [t.replace("&", "&amp;") for t in handout.SECTIONS]
    assert "@page { size: A4" in doc and "section + section { break-before: page" in doc


def test_self_contained_without_widgets(doc):
    """Opens offline: nothing fetched (no script, stylesheet link, image, font or url()), no forms."""
    assert not re.search(r"<(script|link|img|iframe|input|button|select|form|textarea)\b", doc, re.I)
    assert "url(" not in doc and "@import" not in doc and "http" not in doc
    assert "<meta charset=\"utf-8\">" in doc


def test_live_numbers_and_verdicts_are_printed(walk, doc):
    li, e, sd, at = walk.loss, walk.euler, walk.sde, walk.averaged
    assert li.constant.text(4) in doc
    # step 3's averaged target, with the page's check drawn from the page's generator
    assert at.averaged is not None and at.averaged.text(3) in doc and f"{at.ratio:.0f}× closer" in doc
    su = walk.setup
    assert at == theory.averaged_target_check(su.field, su.interpolant, su.base, su.target,
                                              generator=theory.check_generator(CFG.seed, 7))
    for row in handout.euler_rows(e):
        assert row["X_k+1"] in doc
    for row in handout.sde_rows(sd):
        assert f"<td>{row['energy distance to ρ1']}</td>" in doc
    verdict = handout.agreement(walk.conditional.z, "E[ẋ_t | x_t ≈ x] and the exact b")
    assert f'class="verdict {verdict.level}">{handout.MARK[verdict.level]} {html.escape(verdict.text)}' in doc
    assert "Redraw" not in doc  # no button to press on paper
    assert "seed 4" in doc and "t = 0.4" in doc and "ε ∈ {0, 1}" in doc
    assert "playground/theory.py, line" in doc  # where the code lives


def test_user_text_is_escaped(walk):
    odd = dataclasses.replace(walk, experiment="α = <b>t</b> & 1", note="<script>x</script>")
    doc = handout.handout_html(odd)
    assert "α = &lt;b&gt;t&lt;/b&gt; &amp; 1" in doc and "&lt;script&gt;" in doc and "<script>" not in doc


def test_shared_tables_have_what_the_page_shows(walk):
    rows = handout.loss_rows(walk.loss)
    assert [r[""] for r in rows][0].startswith("L(b̂)") and len(rows) == 4
    assert list(rows[0])[1:] == [r.name for r in walk.loss.rows]
    ball = handout.ball_rows(walk.conditional, "E[ẋ_t | x_t ∈ ball]", "exact b")
    assert [list(r) for r in ball] == [["", "x", "y"]] * 4
    assert ball[0]["x"] == walk.conditional.mc[0].text(4)
    assert [r["ε"] for r in handout.sde_rows(walk.sde)] == ["before transport", "0", "1"]


def test_no_identity_and_failures_are_said_in_words():
    cfg = ExperimentConfig(base="8gaussians", target="gaussian", schedule="encdec", gamma="zero").validate()
    setup = theory.theory_setup(cfg)
    w = handout.run_walkthrough(setup, handout.describe(cfg, False), 0, t=0.5, epsilons=(0.0,))
    doc = handout.handout_html(w)
    assert 'class="verdict warning"' in doc and "α = β = γ = 0" in doc  # collapses at t = ½
    assert w.score.denoiser is None and "no Monte Carlo identity" in doc  # α = β = γ = 0 at t = ½


def test_agreement_reads_standard_errors():
    ok, bad = handout.agreement(1.2, "x"), handout.agreement(9.0, "x")
    assert ok.level == "success" and "within 1.2 standard errors" in ok.text
    assert bad.level == "error" and "9.0 standard errors apart" in bad.text
    assert handout.agreement(float("nan"), "x").level == "warning"  # no samples in the ball


def test_describe_prints_typed_formulas_through_code_and_names_by_label():
    cfg = ExperimentConfig(target="8gaussians", alpha="cos(pi*t/2)", beta="sin(pi*t/2)",
                           gamma="sqrt(t*(1-t))").validate()
    line = handout.describe(cfg, True, code=lambda s: f"`{s}`")
    assert line.startswith("standard Gaussian → 8 Gaussians, α = `cos(pi*t/2)`, β = `sin(pi*t/2)`")
    assert "γ = `sqrt(t*(1-t))`" in line and line.endswith("seed 0")
