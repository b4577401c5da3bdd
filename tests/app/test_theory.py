"""The Theory page under AppTest: renders for several experiments, shows the mathematics, live
checks and the library's own source; works on its own and (once registered) from app.py."""

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import ROOT

PAGE = ROOT / "pages" / "theory_page.py"
SETTINGS = {
    "default": {},
    "trig-brownian": {"target": "8gaussians", "schedule": "trig", "gamma": "brownian",
                      "gamma_scale": 0.5, "seed": 3},
    "encdec": {"base": "8gaussians", "target": "gaussian", "schedule": "encdec",
               "gamma": "sinesquared", "gamma_scale": 1.0},
}
LIBRARY_FUNCTIONS = ("def sample(", "def boundary_checks(", "def drift(", "def drift_loss(", "def _step(",
                     "def integrate(", "def score(", "def log_density(", "def integrate_sde(")


def page(settings: dict) -> AppTest:
    at = AppTest.from_file(str(PAGE), default_timeout=120)
    for k, v in settings.items():
        at.session_state[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("name", list(SETTINGS))
def test_page_renders_math_checks_and_source(name):
    at = page(SETTINGS[name])
    assert at.title and "Theory" in at.title[0].value
    assert [h.value[:2] for h in at.header] == ["1.", "2.", "3.", "4.", "5.", "6."]
    assert len(at.latex) >= 10
    code = "\n".join(c.value for c in at.code)
    for fn in LIBRARY_FUNCTIONS:
        assert fn in code, fn
    assert all(c.language == "python" for c in at.code)
    places = " ".join(c.value for c in at.caption)
    assert "playground/training.py" in places and "site-packages" not in places
    successes = " ".join(s.value for s in at.success)
    assert "Boundary conditions hold" in successes
    assert "E[ẋ_t | x_t ≈ x] and the exact b" in successes
    assert "for every b̂" in successes
    assert not at.error, [e.value for e in at.error]
    assert len(at.dataframe) >= 6


def test_non_mixture_target_is_replaced_and_the_page_says_so():
    at = page({"target": "moons"})
    notes = " ".join(i.value for i in at.info)
    assert "'moons' is not a Gaussian mixture" in notes and "gaussian → 8gaussians" in notes
    # deterministic interpolant: the denoiser identity is explained, not computed
    assert "η = E[z | x_t] = 0" in notes


def test_stochastic_schedule_checks_the_denoiser_identity():
    at = page(SETTINGS["trig-brownian"])
    assert any("−η/γ and the score" in s.value for s in at.success)
    assert "seed 3" in " ".join(m.value for m in at.markdown)


def test_drawn_cloud_and_typed_formulas_are_used():
    drawing = {"name": "cloud", "params": {"points": [[0.0, 1.5], [1.5, 0.0], [-1.5, -1.5]],
                                           "bandwidth": 0.15}, "label": "a drawing"}
    at = page({"target": "user", "user_dist": {"target": drawing}, "use_formulas": True,
               "alpha_text": "1 - t", "beta_text": "t", "gamma_text": "sqrt(t*(1-t))"})
    experiment = next(m.value for m in at.markdown if m.value.startswith("**Experiment**"))
    assert "gaussian → cloud" in experiment and "γ = sqrt(t*(1-t))" in experiment
    assert not any("not a Gaussian mixture" in i.value for i in at.info)
    assert any("−η/γ and the score" in s.value for s in at.success)


def test_invalid_settings_fall_back_to_defaults_with_a_warning():
    at = page({"schedule": "trig-vp", "gamma": "sinesquared", "gamma_scale": 3.0})
    assert any("Using the default settings" in w.value for w in at.warning)


def test_widgets_and_redraw_recompute_without_error():
    at = page({"target": "8gaussians"})
    before = at.dataframe[2].value.to_dict()  # the loss-identity table
    at.slider(key="theory_t").set_value(0.7).run()
    at.slider(key="theory_euler_steps").set_value(2).run()
    at.multiselect(key="theory_eps").set_value([0.0, 2.0]).run()
    assert not at.exception, at.exception
    assert len(at.dataframe[3].value) == 2 * 3  # Euler table: steps × three particles
    at.button(key="theory_redraw").click().run()
    assert not at.exception, at.exception
    assert at.dataframe[2].value.to_dict() != before, "Redraw did not draw new samples"


def test_collapsing_schedule_is_explained():
    at = page({"base": "8gaussians", "target": "gaussian", "schedule": "encdec", "gamma": "zero"})
    assert any("α = β = γ = 0" in w.value for w in at.warning)


def test_page_through_the_router_when_registered():
    if "pages/theory_page.py" not in (ROOT / "app.py").read_text():
        pytest.skip("pages/theory_page.py is not registered in app.py yet")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.selectbox(key="target").set_value("8gaussians")
    at.selectbox(key="gamma").set_value("brownian")
    at.run()
    at.switch_page("pages/theory_page.py").run()
    assert not at.exception, at.exception
    assert "def drift_loss(" in "\n".join(c.value for c in at.code)
    # the Playground's settings reach the Theory page
    experiment = next(m.value for m in at.markdown if m.value.startswith("**Experiment**"))
    assert "gaussian → 8gaussians" in experiment and "brownian" in experiment
    at.switch_page("pages/playground_page.py").run()
    assert not at.exception and at.selectbox(key="target").value == "8gaussians"
