"""Schedules page: typed formulas update the plots and checks, a bad one keeps the last valid
schedule, and the interpolant explorer renders for several settings."""

import numpy as np

from tests.app.conftest import charts


def _open(app):
    app.switch_page("pages/schedules_page.py").run()
    assert not app.exception, app.exception
    return app


def test_typing_a_formula_updates_the_plot_and_the_checks(app):
    at = _open(app)
    at.toggle(key="use_formulas").set_value(True).run()
    at.text_input(key="alpha_text").input("cos(pi*t/2)").run()
    at.text_input(key="beta_text").input("sin(pi*t/2)").run()
    assert not at.exception
    assert any("all hold" in s.value for s in at.success)
    assert any("boundary conditions hold" in s.value for s in at.success)
    # the α curve is now cos(πt/2): its value at t = 0.5 is √2/2, not the linear 0.5
    spec = [s for s in charts(at) if any(d.get("name") == "α" for d in s["data"])][0]
    alpha = [d for d in spec["data"] if d.get("name") == "α"][0]
    y = alpha["y"]
    if isinstance(y, dict):
        import base64

        y = np.frombuffer(base64.b64decode(y["bdata"]), dtype=np.dtype(y["dtype"]))
    x = alpha["x"]
    if isinstance(x, dict):
        import base64

        x = np.frombuffer(base64.b64decode(x["bdata"]), dtype=np.dtype(x["dtype"]))
    k = int(np.argmin(np.abs(np.asarray(x) - 0.5)))
    assert abs(float(y[k]) - np.cos(np.pi * float(x[k]) / 2)) < 1e-6


def test_a_failing_formula_is_named_and_the_last_valid_schedule_stays(app):
    at = _open(app)
    at.toggle(key="use_formulas").set_value(True).run()
    at.text_input(key="alpha_text").input("1-t**2").run()
    assert any("all hold" in s.value for s in at.success)
    at.text_input(key="alpha_text").input("1+t").run()
    errors = " ".join(e.value for e in at.error)
    assert "α(1) = 0 fails: found 2" in errors
    assert any("last valid schedule" in c.value and "1-t**2" in c.value for c in at.caption)
    at.text_input(key="alpha_text").input("__import__('os').system('x')").run()
    assert "not allowed" in " ".join(e.value for e in at.error)
    assert not at.exception


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
        assert any(d.get("name") == "spread" for s in charts(at) for d in s["data"])
