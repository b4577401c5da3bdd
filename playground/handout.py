"""The Theory page's walk-through as a print-ready handout, and the words and tables both show.

`describe` says the experiment in one line; `agreement` and `reached` turn a check's result into
a `Verdict` (a level and a sentence); the `*_rows` functions turn the checks of
`playground.theory` into rows of short strings (one dict per row, column → text). The page shows
them with `st.success` and `st.table`, the handout as HTML, so a number reads the same on the
screen and on paper. `WalkThrough` holds one experiment's six check results; `run_walkthrough`
computes them (with the generators the page uses, so both print the same numbers) and
`handout_html` writes one self-contained HTML file: the mathematics as Unicode and HTML (no
KaTeX, no network fetch: it opens offline), the live numbers, no widgets, and print CSS for A4
with a page break before every section.
"""

from __future__ import annotations

import html
import inspect
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from playground import averaged, exact, interpolants, sampling, schedules, sde, theory, training
from playground.config import ExperimentConfig
from playground.distributions import DISTRIBUTIONS
from playground.schedules import Schedule
from playground.theory import (
    BoundaryReport,
    ConditionalCheck,
    EulerDemo,
    Floor,
    LossIdentityCheck,
    ScoreCheck,
    SDECheck,
    TheorySetup,
)

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = ("1. The interpolant and its boundary conditions",
            "2. The drift is a conditional expectation",
            "3. The loss, and why its minimiser is the drift",
            "4. Sampling: Euler integration of the drift",
            "5. The score and the denoiser",
            "6. The SDE: the same marginals for every ε(t) ≥ 0")
SOURCES = ((interpolants.Interpolant.sample, schedules.boundary_checks),
           (exact.ExactField.drift, theory.conditional_expectation_check),
           (training.drift_loss, theory.loss_identity_check, averaged.averaged_targets,
            theory.averaged_target_check),
           (sampling.integrate,),
           (exact.ExactField.score, theory.score_check),
           (sde.integrate_sde, theory.sde_check))
"""The library functions behind each section, named in the handout with file and line."""
Rows = list[dict[str, str]]
SCHEDULE_NAMES_NOTE = (
    "Beside the paper's code (malbergo/stochastic-interpolants on GitHub): its trig interpolant, "
    "α = √(1−γ²) cos(πt/2), β = √(1−γ²) sin(πt/2), is our trig-vp; our trig, α = cos(πt/2), "
    "β = sin(πt/2) with γ added on top, is the trigonometric pair of its one-sided interpolant.")
ETA_SIGN_NOTE = (
    "Beside the paper's code: its η has the opposite sign. It learns η = −E[z | x_t] (loss "
    "½|η|² + η·z) and takes s = η/γ; we learn η = E[z | x_t] (loss |η − z|²) and take s = −η/γ. "
    "The score is the same.")


# ----------------------------------------------------------------------------- words


@dataclass(frozen=True)
class Verdict:
    """What a check says, in one sentence; level: "success", "warning" or "error"."""

    level: str
    text: str


def agreement(z: float, what: str) -> Verdict:
    """Two sides of an identity `z` standard errors apart: agree within 4, else disagree."""
    if z != z:  # NaN: no samples
        return Verdict("warning", f"No samples fell in the ball: {what} could not be estimated. "
                                  "Move t or redraw.")
    if z <= 4:
        return Verdict("success", f"{what}: agreement within {z:.1f} standard errors.")
    return Verdict("error", f"{what}: {z:.1f} standard errors apart.")


def reached(energy: float, floor: Floor, start: float, what: str, schedule: Schedule,
            redraw: str = " Press Redraw to see it move.") -> Verdict:
    """A sampler's energy distance to ρ1 read against the noise floor (within 10× of it: one draw
    of a multi-modal target fluctuates by a factor of a few) and against the distance before
    transport; a failure is explained when the schedule collapses every sample to one point.
    `redraw`: the hint appended on success (the handout, which has no button, passes "")."""
    ratio = energy / floor.mean if floor.mean > 0 else float("inf")
    before = start / floor.mean if floor.mean > 0 else float("inf")
    if ratio <= 10:
        return Verdict("success", f"{what} reaches ρ1: energy distance {ratio:.1f}× the noise floor, "
                                  f"from {before:,.0f}× before transport. At {floor.n:,} samples one "
                                  f"draw varies by a factor of a few.{redraw}")
    t_c = theory.collapse_time(schedule)
    why = (f" At t = {t_c:g} α = β = γ = 0: every sample sits on one point, so no flow can carry "
           "them back out. Choose a γ > 0 on the Playground page." if t_c is not None
           else " Try more steps.")
    return Verdict("warning", f"{what} ends {ratio:.1f}× the noise floor away from ρ1 ({before:,.0f}× "
                              f"before transport).{why}")


def dist_label(name: str) -> str:
    """A distribution's label as the sidebar shows it ("8 Gaussians"), or "" if it has none."""
    try:
        return str(DISTRIBUTIONS[name]().label) if name in DISTRIBUTIONS else ""
    except (TypeError, ValueError):  # a preset that needs parameters
        return ""


def describe(cfg: ExperimentConfig, stochastic: bool, code: Callable[[str], str] = str,
             names: tuple[str, str] | None = None) -> str:
    """The experiment in one line: base → target (as labelled in the sidebar), the schedule (typed
    formulas, p for power, γ and its scale) and the seed. `code` wraps every value typed by the
    user or not in a registry (formulas, unknown names), e.g. in a markdown code span or escaped
    HTML; the rest is plain text from the registries. `names`: base and target as the caller
    wants them shown (already wrapped), e.g. a drawing's label."""
    def name(n: str) -> str:
        return dist_label(n) or code(n)

    if cfg.alpha or cfg.beta or cfg.gamma_is_formula:
        typed = [(n, v) for n, v in (("α", cfg.alpha), ("β", cfg.beta),
                                     ("γ", cfg.gamma if cfg.gamma_is_formula else "")) if v]
        sched = ", ".join(f"{n} = {code(v)}" for n, v in typed)
        sched += f" (other coefficients from the {cfg.schedule} schedule)"
    else:
        sched = f"schedule {cfg.schedule}" + (f" (p = {cfg.power:g})" if cfg.schedule == "power" else "")
    if not stochastic:
        sched += ", γ = 0"
    elif not cfg.gamma_is_formula:
        sched += f", γ {cfg.gamma} with a = {cfg.gamma_scale:g}"
    base, target = names or (name(cfg.base), name(cfg.target))
    return f"{base} → {target}, {sched}, seed {cfg.seed}"


# ----------------------------------------------------------------------------- shared tables


def vec(v) -> str:
    """(x, y) with three decimals."""
    return f"({v[0]:.3f}, {v[1]:.3f})"


def boundary_rows(rep: BoundaryReport) -> Rows:
    sym = {"alpha": "α", "beta": "β", "gamma": "γ"}
    return [{"coefficient": f"{sym[c.name]}({c.t:g})", "value": f"{c.value:.3g}",
             "expected": f"{c.expected:g}", "holds": "yes" if c.ok else "NO"} for c in rep.checks]


def ball_rows(c: ConditionalCheck, what: str, field: str) -> Rows:
    """Monte Carlo beside the exact field, one column per component (x, y)."""
    def row(name, values):
        return {"": name, "x": values[0], "y": values[1]}

    return [row(f"Monte Carlo {what} (± s.e.)", [e.text(4) for e in c.mc]),
            row(f"{field} averaged over the same samples", [f"{v:.4f}" for v in c.exact_ball]),
            row(f"{field} at the centre", [f"{v:.4f}" for v in c.exact_at_x]),
            row("difference / s.e.", [f"{theory.z_score(d):.2f}" for d in c.diff])]


def loss_rows(li: LossIdentityCheck) -> Rows:
    """One column per candidate b̂; rows: loss, distance, their difference, its distance to C."""
    cells = {"L(b̂) = E|b̂ − ẋ_t|²": [r.loss.text(4) for r in li.rows],
             "E|b̂ − b|²": [r.distance.text(4) for r in li.rows],
             "L − E|b̂ − b|²": [r.difference.text(4) for r in li.rows],
             "|L − E|b̂ − b|² − C| / s.e.": [f"{r.z:.2f}" for r in li.rows]}
    return [{"": name, **{r.name: v for r, v in zip(li.rows, vals, strict=True)}}
            for name, vals in cells.items()]


def euler_rows(e: EulerDemo) -> Rows:
    return [{"k": str(r["k"]), "t_k": f"{r['t_k']:.3f}", "particle": str(r["particle"]),
             "X_k": vec(r["X_k"]), "b(t_k, X_k)": vec(r["b(t_k, X_k)"]), "X_k+1": vec(r["X_k+1"])}
            for r in e.rows]


def autograd_rows(sc: ScoreCheck) -> Rows:
    return [{"x": vec(p), "closed-form s": vec(c), "autograd ∇ log ρ_t": vec(a)}
            for p, c, a in zip(sc.points, sc.closed_form, sc.autograd, strict=True)]


def sde_rows(sd: SDECheck) -> Rows:
    before = {"ε": "before transport", "energy distance to ρ1": f"{sd.start_energy:.4f}",
              "÷ floor": f"{sd.start_energy / sd.floor.mean:,.0f}" if sd.floor.mean > 0 else "∞"}
    return [before] + [{"ε": f"{r['epsilon']:g}", "energy distance to ρ1": f"{r['energy']:.4f}",
                        "÷ floor": f"{r['ratio']:.2f}"} for r in sd.rows]


def score_verdict(sc: ScoreCheck) -> Verdict | None:
    return None if sc.denoiser is None else agreement(sc.denoiser.z, "Monte Carlo and the exact score")


def sde_verdict(sd: SDECheck, schedule, redraw: str = "") -> Verdict:
    """The worst ε's energy distance against the floor (`reached`)."""
    worst = max(sd.rows, key=lambda r: r["energy"])
    what = "The SDE" + (f" (worst: ε = {worst['epsilon']:g})" if len(sd.rows) > 1 else "")
    return reached(worst["energy"], sd.floor, sd.start_energy, what, schedule, redraw)


def source_places(objects: Sequence) -> list[tuple[str, str, int]]:
    """(qualified name, path relative to the repository, first line) of each library object."""
    out = []
    for obj in map(inspect.unwrap, objects):  # @torch.no_grad() wraps: name the function
        _, start = inspect.getsourcelines(obj)
        out.append((obj.__qualname__, os.path.relpath(inspect.getsourcefile(obj), ROOT), start))
    return out


# ----------------------------------------------------------------------------- the walk-through


@dataclass(frozen=True)
class WalkThrough:
    """One experiment's six checks and the settings they ran with (t, radius: steps 2 and 5;
    Euler steps: step 4; epsilons: step 6). `experiment`: `describe` of the config."""

    experiment: str
    note: str | None
    seed: int
    t: float
    radius: float
    euler_steps: int
    epsilons: tuple[float, ...]
    setup: TheorySetup
    boundary: BoundaryReport
    conditional: ConditionalCheck
    loss: LossIdentityCheck
    euler: EulerDemo
    score: ScoreCheck
    sde: SDECheck
    averaged: theory.AveragedTargetCheck | None = None  # step 3's lower-variance target


def run_walkthrough(setup: TheorySetup, experiment: str, seed: int, t: float = 0.35,
                    radius: float = 0.2, euler_steps: int = 4,
                    epsilons: Sequence[float] = (0.0, 0.5, 1.0)) -> WalkThrough:
    """Every check of the Theory page for one experiment, each from `theory.check_generator(seed,
    step)` as the page draws them."""
    g = lambda step: theory.check_generator(seed, step)  # noqa: E731
    su = setup
    eps = tuple(sorted(float(e) for e in epsilons)) or (0.0,)
    return WalkThrough(
        experiment, su.note, int(seed), float(t), float(radius), int(euler_steps), eps, su,
        theory.boundary_report(su.schedule, su.base, su.target, generator=g(1)),
        theory.conditional_expectation_check(su.field, su.interpolant, su.base, su.target, t,
                                             radius=radius, generator=g(2)),
        theory.loss_identity_check(su.field, su.interpolant, su.base, su.target, generator=g(3)),
        theory.euler_demo(su.field, su.base, su.target, steps=euler_steps, generator=g(4)),
        theory.score_check(su.field, su.interpolant, su.base, su.target, t, radius=radius,
                           generator=g(5)),
        theory.sde_check(su.field, su.base, su.target, eps, generator=g(6)),
        theory.averaged_target_check(su.field, su.interpolant, su.base, su.target, generator=g(7)))


# ----------------------------------------------------------------------------- HTML


def _averaged_paragraph(at) -> str:
    """Step 3's note on the averaged target the playground trains on, with its live numbers."""
    text = ("<p>Any target T with 𝔼[T | x<sub>t</sub>] = b gives the same minimiser; only C changes. "
            "The playground trains on T = 𝔼[ẋ<sub>t</sub> | x<sub>t</sub>, the batch's x<sub>1</sub>] "
            "(the <i>averaged target</i>; bias of order 1/batch) when one side is a Gaussian mixture "
            "and the pairs are independent.")
    if at is None or at.averaged is None:
        return text + " It does not apply to this experiment.</p>"
    return text + (f" On {at.n:,} samples in batches of {at.batch}: 𝔼|ẋ<sub>t</sub> − b|² = "
                   f"{_e(at.plain.text(3))}, 𝔼|T − b|² = {_e(at.averaged.text(3))} "
                   f"({at.ratio:.0f}× closer).</p>")

CSS = """
@page { size: A4; margin: 15mm 16mm; }
body { font: 11pt/1.45 Georgia, "DejaVu Serif", "Times New Roman", serif; color: #111;
       max-width: 48em; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 19pt; margin: 0 0 .2em; }
h2 { font-size: 15pt; margin: 0 0 .5em; padding-bottom: .15em; border-bottom: 1.5px solid #555; }
h3 { font-size: 11.5pt; margin: 1em 0 .3em; }
p { margin: .35em 0; }
.meta { color: #333; font-size: 10pt; }
.eq { text-align: center; font-size: 12.5pt; margin: .55em 0; white-space: normal;
      font-family: "Cambria Math", "STIX Two Math", "DejaVu Serif", Georgia, serif; }
.m { font-family: "Cambria Math", "STIX Two Math", "DejaVu Serif", Georgia, serif; white-space: nowrap; }
table { border-collapse: collapse; margin: .45em 0; font-size: 9.5pt; break-inside: avoid; }
th, td { border: 1px solid #888; padding: 2px 7px; text-align: left; vertical-align: top; }
th { background: #eee; }
.verdict { border-left: 5px solid; padding: .3em .7em; margin: .5em 0; break-inside: avoid; }
.success { border-color: #1b7f3b; } .warning { border-color: #b7791f; } .error { border-color: #c53030; }
.note { border: 1px solid #999; padding: .3em .7em; }
.code { font-size: 9pt; color: #333; }
code { font-family: "DejaVu Sans Mono", Consolas, monospace; font-size: 92%; }
section { margin-top: 2em; }
@media print {
  body { max-width: none; margin: 0; padding: 0; }
  section { margin-top: 0; }
  section + section { break-before: page; page-break-before: always; }
  th { background: none; }
}
"""
MARK = {"success": "✓", "warning": "!", "error": "✗"}


def _e(text: str) -> str:
    return html.escape(str(text), quote=True)


def _table(rows: Rows) -> str:
    if not rows:
        return ""
    cols = list(rows[0])
    head = "".join(f"<th>{_e(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{_e(r.get(c, ''))}</td>" for c in cols) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _verdict(v: Verdict | None) -> str:
    return "" if v is None else f'<p class="verdict {v.level}">{MARK[v.level]} {_e(v.text)}</p>'


def _code(objects: Sequence) -> str:
    places = ", ".join(f"<code>{_e(q)}</code> ({_e(p)}, line {n})" for q, p, n in source_places(objects))
    return f'<p class="code">Library code: {places}.</p>'


def _eq(s: str) -> str:
    return f'<div class="eq">{s}</div>'


def _section(i: int, theory_html: str, check_html: str) -> str:
    return (f"<section><h2>{_e(SECTIONS[i])}</h2>{theory_html}<h3>Live check</h3>{check_html}"
            f"{_code(SOURCES[i])}</section>")


def _sections(w: WalkThrough) -> list[str]:
    rep, c, li, e, sc, sd = w.boundary, w.conditional, w.loss, w.euler, w.score, w.sde
    out = [_section(0, (
        _eq("x<sub>t</sub> = α(t) x<sub>0</sub> + β(t) x<sub>1</sub> + γ(t) z")
        + "<p>with (x<sub>0</sub>, x<sub>1</sub>) ~ ν (independent: ρ<sub>0</sub> ⊗ ρ<sub>1</sub>) and "
          "z ~ N(0, Id) independent of them. Boundary conditions:</p>"
        + _eq("α(0) = β(1) = 1, &nbsp; α(1) = β(0) = 0, &nbsp; γ(0) = γ(1) = 0")
        + "<p>so that x<sub>t=0</sub> = x<sub>0</sub> and x<sub>t=1</sub> = x<sub>1</sub>: the process "
          "starts on the base ρ<sub>0</sub> and ends on the target ρ<sub>1</sub>. Its velocity is</p>"
        + _eq("ẋ<sub>t</sub> = α̇(t) x<sub>0</sub> + β̇(t) x<sub>1</sub> + γ̇(t) z")), (
        "<p>The coefficients at t = 0 and 1, and x<sub>t</sub> on 1,000 samples.</p>" + _table(boundary_rows(rep))
        + f"<p>max |x<sub>t</sub> − x<sub>0</sub>| at t = 0: <b>{rep.error_at_0:.2g}</b>; "
          f"max |x<sub>t</sub> − x<sub>1</sub>| at t = 1: <b>{rep.error_at_1:.2g}</b></p>"
        + _verdict(Verdict("success", "Boundary conditions hold.") if rep.ok
                   else Verdict("error", "A boundary condition fails for this schedule."))
        + f'<p class="note">{_e(SCHEDULE_NAMES_NOTE)}</p>'))]
    out.append(_section(1, (
        "<p>The law ρ<sub>t</sub> of x<sub>t</sub> solves a transport equation, so particles moved by "
        "a drift b have the same marginals:</p>"
        + _eq("∂<sub>t</sub>ρ<sub>t</sub> + ∇·(b ρ<sub>t</sub>) = 0 &nbsp;⟺&nbsp; "
              "dX<sub>t</sub> = b(t, X<sub>t</sub>) dt")
        + _eq("b(t, x) = 𝔼[ẋ<sub>t</sub> | x<sub>t</sub> = x]")
        + "<p>For Gaussian mixtures x<sub>t</sub> | (i, j) ~ N(m<sub>ij</sub>, C<sub>ij</sub>), with "
          "weights w<sub>ij</sub>(x) ∝ p<sub>i</sub> q<sub>j</sub> N(x; m<sub>ij</sub>, C<sub>ij</sub>):</p>"
        + _eq("b(t, x) = Σ<sub>ij</sub> w<sub>ij</sub>(x) [ṁ<sub>ij</sub> + ½ Ċ<sub>ij</sub> "
              "C<sub>ij</sub><sup>−1</sup> (x − m<sub>ij</sub>)]")), (
        f"<p>At t = {c.t:g}: average ẋ<sub>t</sub> over the {c.n_in:,} of {c.n:,} samples with "
        f"|x<sub>t</sub> − x| &lt; {c.radius:g}, x = {vec(c.x)}. By the tower property this average "
        "estimates the exact drift averaged over the same samples.</p>"
        + _table(ball_rows(c, "E[ẋ_t | x_t ∈ ball]", "exact b"))
        + _verdict(agreement(c.z, "E[ẋ_t | x_t ≈ x] and the exact b")))))
    out.append(_section(2, (
        _eq("L(b̂) = ∫<sub>0</sub><sup>1</sup> 𝔼 |b̂(t, x<sub>t</sub>) − ẋ<sub>t</sub>|² dt")
        + "<p>Expand the distance to the true drift and add and subtract the velocity:</p>"
        + _eq("∫𝔼|b̂ − b|² = ∫𝔼[|b̂|² − 2 b̂·b] + const")
        + _eq("= ∫𝔼|b̂ − ẋ<sub>t</sub>|² + 2∫𝔼[b̂·ẋ<sub>t</sub> − b̂·b] + const")
        + "<p>By the tower property the last two terms cancel:</p>"
        + _eq("𝔼[b̂(x<sub>t</sub>)·ẋ<sub>t</sub>] = 𝔼[b̂(x<sub>t</sub>)·𝔼[ẋ<sub>t</sub> | x<sub>t</sub>]] "
              "= 𝔼[b̂·b]")
        + _eq("L(b̂) = ∫<sub>0</sub><sup>1</sup> 𝔼|b̂ − b|² dt + C, &nbsp; "
              "C = ∫<sub>0</sub><sup>1</sup> 𝔼|ẋ<sub>t</sub> − b|² dt")
        + "<p>C does not depend on b̂: the unique minimiser is b̂ = b, and the loss never reaches 0 "
          "unless ẋ<sub>t</sub> is a function of x<sub>t</sub>.</p>"), (
        f"<p>{li.n:,} samples of (t, x<sub>0</sub>, x<sub>1</sub>, z), t uniform on "
        f"[{li.t_eps:g}, {1 - li.t_eps:g}]. Each column estimates both sides for one b̂.</p>"
        + _table(loss_rows(li))
        + f"<p>C = 𝔼|ẋ<sub>t</sub> − b|² = <b>{_e(li.constant.text(4))}</b>. Difference between the "
          f"first two columns' differences: {_e(li.between.text(4))} ({li.z_between:.1f} s.e.).</p>"
        + _verdict(agreement(max([r.z for r in li.rows] + [li.z_between]),
                                    "L(b̂) − E|b̂ − b|² = C for every b̂"))
        + _averaged_paragraph(w.averaged))))
    out.append(_section(3, (
        _eq("X<sub>k+1</sub> = X<sub>k</sub> + h b(t<sub>k</sub>, X<sub>k</sub>), &nbsp; "
            "t<sub>k</sub> = k h, &nbsp; h = 1/K")
        + "<p>starting from X<sub>0</sub> ~ ρ<sub>0</sub>. With the exact drift and enough steps the "
          "particles reach ρ<sub>1</sub> up to the sampling noise floor; with a learned b̂ the same loop "
          "is the playground's sampler.</p>"), (
        f"<p>Three base particles, carried by the library's <code>integrate</code> (Euler) with the "
        f"exact b, K = {e.steps}.</p>" + _table(euler_rows(e))
        + f"<p>max |X<sub>k+1</sub> − X<sub>k</sub> − h b(t<sub>k</sub>, X<sub>k</sub>)| = "
          f"<b>{e.residual:.2g}</b> (float32 rounding). {e.n:,} particles with {e.quality_steps} steps: "
          f"energy distance to ρ<sub>1</sub> = <b>{e.energy:.4f}</b> (before transport "
          f"{e.start_energy:.4f}), noise floor {e.floor.mean:.4f} ± {e.floor.std:.4f} (two target "
          f"samples of {e.n:,}).</p>"
        + _verdict(reached(e.energy, e.floor, e.start_energy, "Euler with the exact drift",
                                  w.setup.schedule, redraw="")))))
    if sc.denoiser is None:
        mc = (f"<p>At t = {sc.t:g} γ = 0 and neither side is a single Gaussian: no Monte Carlo "
              "identity for the score applies here.</p>")
    else:
        d = sc.denoiser
        mc = (f"<p>At t = {sc.t:g} (γ = {sc.gamma:.3g}): average v = {_e(sc.identity)} over the "
              f"{d.n_in:,} samples with |x<sub>t</sub> − x| &lt; {d.radius:g}, x = {vec(d.x)}; "
              "its conditional mean is the score.</p>"
              + _table(ball_rows(d, "E[v | x_t ∈ ball]", "exact s")))
    out.append(_section(4, (
        _eq("η(t, x) = 𝔼[z | x<sub>t</sub> = x], &nbsp; s(t, x) = ∇ log ρ<sub>t</sub>(x) = −η(t, x) / γ(t)")
        + "<p>(where γ(t) &gt; 0). Given (x<sub>0</sub>, x<sub>1</sub>), x<sub>t</sub> is Gaussian with "
          "mean I = αx<sub>0</sub> + βx<sub>1</sub> and covariance γ² Id, so ∇<sub>x</sub> log "
          "ρ<sub>t</sub>(x | x<sub>0</sub>, x<sub>1</sub>) = −(x − I)/γ² = −z/γ; averaging over "
          "(x<sub>0</sub>, x<sub>1</sub>) given x<sub>t</sub> = x gives the score. With γ = 0 and a "
          "Gaussian base N(μ, A), x<sub>0</sub> plays the noise's part: s = −𝔼[A<sup>−1</sup>(x<sub>0</sub> − μ) "
          "| x<sub>t</sub> = x]/α. The drift splits as</p>"
        + _eq("b = v − γγ̇ s, &nbsp; v(t, x) = 𝔼[α̇ x<sub>0</sub> + β̇ x<sub>1</sub> | x<sub>t</sub> = x]")), (
        mc + _verdict(score_verdict(sc))
        + f"<p>The closed-form score against autograd of log ρ<sub>t</sub> (float64), max error "
          f"<b>{sc.max_error:.2g}</b>. Both come from the same means and covariances, so this "
          "checks the algebra, not the model: the Monte Carlo average above is the independent check.</p>"
        + _table(autograd_rows(sc)) + f'<p class="note">{_e(ETA_SIGN_NOTE)}</p>')))
    out.append(_section(5, (
        _eq("dX = [b(t, X) + ε(t) s(t, X)] dt + √(2ε(t)) dW")
        + "<p>Its Fokker–Planck equation is the transport equation of step 2, because "
          "∇·(ε s ρ<sub>t</sub>) = ε ∇·∇ρ<sub>t</sub> = ε Δρ<sub>t</sub> cancels the diffusion term:</p>"
        + _eq("∂<sub>t</sub>ρ<sub>t</sub> = −∇·((b + εs) ρ<sub>t</sub>) + ε Δρ<sub>t</sub> = "
              "−∇·(b ρ<sub>t</sub>)")
        + "<p>Euler–Maruyama: X ← X + h (b + εs) + √(2εh) ξ, ξ ~ N(0, Id).</p>"), (
        f"<p>{sd.n:,} base particles, {sd.steps} Euler–Maruyama steps of the library's "
        f"<code>integrate_sde</code> on [{sde.DEFAULT_T0:g}, {1 - sde.DEFAULT_T0:g}] with the exact b "
        f"and s. Noise floor (two target samples of {sd.n:,}): {sd.floor.mean:.4f} ± {sd.floor.std:.4f}. "
        "A ratio near 1 is as good as the sample size allows.</p>" + _table(sde_rows(sd))
        + _verdict(sde_verdict(sd, w.setup.schedule)))))
    return out


def handout_html(w: WalkThrough) -> str:
    """The walk-through with w's live numbers as one self-contained HTML document (UTF-8): no
    script, no form, no external resource; prints on A4 with each section on a new page."""
    eps = ", ".join(f"{e:g}" for e in w.epsilons)
    note = f'<p class="note">{_e(w.note)}</p>' if w.note else ""
    head = (f"<header><h1>Stochastic interpolants, step by step</h1>"
            f'<p class="meta">Handout from the Interpolant Playground\'s Theory page: each step of the '
            "walk-through with a live numerical check on this experiment (Albergo, Boffi &amp; "
            "Vanden-Eijnden, arXiv 2303.08797). Notation: α multiplies the base sample x<sub>0</sub>, "
            "β the target sample x<sub>1</sub>, γ the noise z.</p>"
            f"<p><b>Experiment</b>: {_e(w.experiment)}.</p>{note}"
            f'<p class="meta">Checks at t = {w.t:g} with ball radius r = {w.radius:g} (steps 2 and 5), '
            f"K = {w.euler_steps} Euler steps in the table (step 4), ε ∈ {{{eps}}} (step 6); random "
            f"numbers from seed {w.seed}.</p></header>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>Stochastic interpolants, step by step: {_e(w.experiment)}</title>"
            f"<style>{CSS}</style></head><body>{head}{''.join(_sections(w))}</body></html>\n")
