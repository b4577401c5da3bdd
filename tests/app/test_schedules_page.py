"""Schedules page: typed formulas update the plots and checks; a rejected formula is shown on the
page (plotted with its failing conditions when it can be evaluated) beside the last valid one, printed
literally; clean numbers, no arrows on the checks; config warnings; the explorer and its spread."""

import base64
import re

import numpy as np

from tests.app.conftest import charts

NO_ARROW = 2  # streamlit.proto.Metric_pb2.Metric.MetricDirection.NONE: no "↑" as if something rose


def _open(app):
    app.switch_page("pages/4_schedules.py").run()
    assert not app.exception, app.exception
    return app


def _array(a) -> np.ndarray:
    if isinstance(a, dict):
        return np.frombuffer(base64.b64decode(a["bdata"]), dtype=np.dtype(a["dtype"]))
    return np.asarray(a, dtype=float)


def _curve(at, name: str) -> tuple[np.ndarray, np.ndarray]:
    for spec in charts(at):
        for d in spec["data"]:
            if d.get("name") == name:
                return _array(d["x"]), _array(d["y"])
    raise KeyError(name)


def _shown(markdown: str) -> str:
    """What a reader sees of a markdown string that escapes its user text (backslashes dropped)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def _main_errors(at) -> str:
    return " ".join(_shown(e.value) for e in at.main.error)


def test_typing_a_formula_updates_the_plot_and_the_checks(app):
    at = _open(app)
    at.toggle(key="use_formulas").set_value(True).run()
    at.text_input(key="alpha_text").input("cos(pi*t/2)").run()
    at.text_input(key="beta_text").input("sin(pi*t/2)").run()
    assert not at.exception
    assert any("all hold" in s.value for s in at.success)
    assert any("boundary conditions hold" in s.value for s in at.main.success)
    x, y = _curve(at, "α")
    k = int(np.argmin(np.abs(x - 0.5)))
    assert abs(float(y[k]) - np.cos(np.pi * float(x[k]) / 2)) < 1e-6  # cos(πt/2), not the linear 1 − t
    # the page says what it plots, the formulas as code (asterisks intact); the menu says it is overridden
    assert any("`cos(pi*t/2)`" in m.value and "`sin(pi*t/2)`" in m.value for m in at.main.markdown)
    assert "typed below" in at.selectbox(key="schedule").label
    # α(1) = cos(π/2) is 6.12e-17 in floating point: it reads 0, and every check holds without an arrow
    values = {m.label: m.value for m in at.main.metric}
    assert values["α(1), should be 0"] == "0" and values["β(1), should be 1"] == "1"
    assert len(at.main.metric) == 6
    assert all(m.proto.delta == "✓ holds" and m.proto.direction == NO_ARROW for m in at.main.metric)


def test_a_rejected_formula_is_shown_on_the_page_beside_the_last_valid_one(app):
    at = _open(app)
    at.toggle(key="use_formulas").set_value(True).run()
    at.text_input(key="alpha_text").input("1-t**2").run()
    assert any("all hold" in s.value for s in at.success)
    at.text_input(key="alpha_text").input("1+t").run()
    assert not at.exception
    errors = _main_errors(at)
    assert "rejected" in errors and "α(1) = 0 fails: found 2" in errors
    assert "`1-t**2`" in " ".join(e.value for e in at.main.error)  # the last valid one, literally
    # plotted: the rejected α = 1 + t, its failing end marked, and no green "all hold" on the page
    x, y = _curve(at, "α")
    assert abs(float(y[-1]) - 2.0) < 1e-9
    fx, fy = _curve(at, "boundary condition fails")
    assert list(fx) == [1.0] and list(fy) == [2.0]
    assert not at.main.success
    failing = [m for m in at.main.metric if m.proto.delta == "✗ fails"]
    assert [(m.label, m.value) for m in failing] == [("α(1), should be 0", "2")]
    assert "Failing: α(1) = 2, expected 0" in errors
    # the sidebar names the last valid formula literally too
    assert any("last valid schedule" in c.value and "`1-t**2`" in c.value for c in at.sidebar.caption)


def test_a_hostile_formula_is_printed_literally_and_the_last_valid_schedule_is_plotted(app):
    at = _open(app)
    at.toggle(key="use_formulas").set_value(True).run()
    at.text_input(key="alpha_text").input("cos(pi*t/2)").run()
    at.text_input(key="alpha_text").input("__import__('os')").run()
    assert not at.exception
    errors = [e.value for e in at.main.error] + [e.value for e in at.sidebar.error]
    assert errors and all("__import__" not in e for e in errors)  # escaped: never bold "import"
    assert "function '__import__' is not allowed" in _main_errors(at)
    assert "`cos(pi*t/2)`" in at.main.error[0].value
    x, y = _curve(at, "α")
    k = int(np.argmin(np.abs(x - 0.5)))
    assert abs(float(y[k]) - np.cos(np.pi * float(x[k]) / 2)) < 1e-6


def test_config_warnings_are_shown(app):
    at = _open(app)
    at.selectbox(key="schedule").set_value("encdec")
    at.selectbox(key="gamma").set_value("zero").run()
    assert not at.exception
    assert any("single point" in _shown(w.value) for w in at.main.warning)
    at.selectbox(key="gamma").set_value("sinesquared").run()
    assert not any("single point" in _shown(w.value) for w in at.main.warning)


def test_explorer_renders_for_several_settings(app):
    at = _open(app)
    for schedule, gamma, n_paths in (("linear", "zero", 0), ("trig", "brownian", 8), ("encdec", "sinesquared", 3)):
        at.selectbox(key="schedule").set_value(schedule)
        at.selectbox(key="gamma").set_value(gamma)
        at.slider(key="explore_paths").set_value(n_paths).run()
        assert not at.exception
        anim = [s for s in charts(at) if s.get("frames")]
        assert anim and len(anim[0]["frames"]) == 41
        names = {d.get("name") for d in anim[0]["data"]}
        assert ("I(t) = α x0 + β x1 (no noise)" in names) == (n_paths > 0)


def test_the_spread_caption_matches_its_plot(app):
    """With γ > 0 the γ = 0 reference is drawn and the noisy spread lies above it in the middle (what
    the caption says); with γ = 0 one curve, and its dip is what the caption explains."""
    at = _open(app)
    at.selectbox(key="gamma").set_value("brownian").run()
    t, noisy = _curve(at, "this schedule")
    _, quiet = _curve(at, "γ = 0 (same α, β)")
    mid = int(np.argmin(np.abs(t - 0.5)))
    assert noisy[mid] > quiet[mid] + 0.1
    np.testing.assert_allclose(noisy[mid] ** 2, quiet[mid] ** 2 + 2 * 0.25, rtol=0.05)  # + 2γ(½)², a = 1
    np.testing.assert_allclose(noisy[[0, -1]], quiet[[0, -1]], rtol=1e-5)
    assert any("lies above the dashed γ = 0" in c.value for c in at.main.caption)
    at.selectbox(key="gamma").set_value("zero").run()
    t, spread = _curve(at, "x_t")
    assert spread[len(t) // 2] < min(spread[0], spread[-1])  # linear, Gaussian → moons: it dips
    assert any("dips where α² + β² < 1" in c.value for c in at.main.caption)
