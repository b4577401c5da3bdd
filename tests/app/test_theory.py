"""The Theory page under AppTest: renders for several experiments, shows the mathematics, live
checks, the library's own source and a handout with the same numbers; works on its own and
through the router (app.py registers it)."""

import re

import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from tests.app.conftest import ROOT

PAGE = ROOT / "pages" / "6_theory.py"
SETTINGS = {
    "default": {},
    "trig-brownian": {"target": "8gaussians", "schedule": "trig", "gamma": "brownian",
                      "gamma_scale": 0.5, "seed": 3},
    "encdec": {"base": "8gaussians", "target": "gaussian", "schedule": "encdec",
               "gamma": "sinesquared", "gamma_scale": 1.0},
}
LIBRARY_FUNCTIONS = ("def sample(", "def boundary_checks(", "def drift(", "def drift_loss(", "def _step(",
                     "def integrate(", "def score(", "def log_density(", "def integrate_sde(",
                     "def averaged_targets(", "def averaged_target_check(")


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
    assert len(at.table) == 7  # static tables: they wrap to the column and print
    assert [d.label for d in at.get("download_button")] == ["Download the handout (HTML, print-ready)"]


def test_non_mixture_target_is_replaced_and_the_page_says_so():
    at = page({"target": "moons"})
    notes = " ".join(i.value for i in at.info)
    assert "'moons' is not a Gaussian mixture" in notes and "gaussian → 8gaussians" in notes
    # γ = 0 with a Gaussian base: the score is checked by the one-sided identity
    assert any("−A⁻¹(x0 − μ)/α" in m.value for m in at.markdown)
    assert any("Monte Carlo and the exact score" in s.value for s in at.success)


def test_without_noise_or_a_gaussian_side_the_score_check_says_why():
    at = page({"base": "8gaussians", "target": "8gaussians"})
    assert any("η = E[z | x_t] = 0" in i.value for i in at.info)
    assert not at.exception and not at.error


def test_stochastic_schedule_checks_the_score_by_monte_carlo():
    at = page(SETTINGS["trig-brownian"])
    assert any("Monte Carlo and the exact score" in s.value for s in at.success)
    assert any("v = −z/γ" in m.value for m in at.markdown)
    assert "seed 3" in " ".join(m.value for m in at.markdown)


def test_drawn_cloud_and_typed_formulas_are_used_and_printed_literally():
    drawing = {"name": "cloud", "params": {"points": [[0.0, 1.5], [1.5, 0.0], [-1.5, -1.5]],
                                           "bandwidth": 0.15}, "label": "a drawing"}
    at = page({"target": "user", "user_dist": {"target": drawing}, "use_formulas": True,
               "alpha_text": "cos(pi*t/2)", "beta_text": "sin(pi*t/2)", "gamma_text": "sqrt(t*(1-t))"})
    experiment = next(m.value for m in at.markdown if m.value.startswith("**Experiment**"))
    # formulas in code spans: their asterisks are printed, not read as emphasis
    assert "standard Gaussian → yours: `a drawing`" in experiment and "γ = `sqrt(t*(1-t))`" in experiment
    assert "α = `cos(pi*t/2)`" in experiment
    assert not any("not a Gaussian mixture" in i.value for i in at.info)
    assert any("Monte Carlo and the exact score" in s.value for s in at.success)


def test_the_handout_carries_the_pages_numbers(monkeypatch):
    saved = []
    original = MemoryMediaFileStorage.load_and_get_id

    def keep(self, data, mimetype, kind, filename=None):
        saved.append((mimetype, filename, data))
        return original(self, data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", keep)
    at = page(SETTINGS["trig-brownian"])
    ((mime, name, data),) = [x for x in saved if x[0] == "text/html"]
    doc = data.decode() if isinstance(data, bytes) else data
    assert name == "interpolant-theory-gaussian-8gaussians-seed3.html"
    assert doc.startswith("<!DOCTYPE html>") and doc.count("<section>") == 6
    assert not re.search(r"<(script|input|button|select|link|img)\b", doc)  # no widgets, no fetches
    # the same live numbers as the page: the loss table's constant and the Euler residual
    constant = next(m.value for m in at.markdown if m.value.startswith("C = E|ẋ_t − b|²"))
    assert constant.split("**")[1] in doc
    euler = at.table[3].value
    assert euler.iloc[-1]["X_k+1"] in doc


def test_invalid_settings_fall_back_to_defaults_with_a_warning():
    at = page({"schedule": "trig-vp", "gamma": "sinesquared", "gamma_scale": 3.0})
    assert any("Using the default settings" in w.value for w in at.warning)


def test_widgets_and_redraw_recompute_without_error():
    at = page({"target": "8gaussians"})
    before = at.table[2].value.to_dict()  # the loss-identity table
    at.slider(key="theory_t").set_value(0.7).run()
    at.slider(key="theory_euler_steps").set_value(2).run()
    at.multiselect(key="theory_eps").set_value([0.0, 2.0]).run()
    assert not at.exception, at.exception
    assert len(at.table[3].value) == 2 * 3  # Euler table: steps × three particles
    at.button(key="theory_redraw").click().run()
    assert not at.exception, at.exception
    assert at.table[2].value.to_dict() != before, "Redraw did not draw new samples"


def test_collapsing_schedule_is_explained():
    at = page({"base": "8gaussians", "target": "gaussian", "schedule": "encdec", "gamma": "zero"})
    assert any("α = β = γ = 0" in w.value for w in at.warning)


def test_page_through_the_router():
    assert 'st.Page("pages/6_theory.py"' in (ROOT / "app.py").read_text()  # registered
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.selectbox(key="target").set_value("8gaussians")
    at.selectbox(key="gamma").set_value("brownian")
    at.run()
    at.switch_page("pages/6_theory.py").run()
    assert not at.exception, at.exception
    assert "def drift_loss(" in "\n".join(c.value for c in at.code)
    # the Playground's settings reach the Theory page
    experiment = next(m.value for m in at.markdown if m.value.startswith("**Experiment**"))
    assert "standard Gaussian → 8 Gaussians" in experiment and "γ brownian" in experiment
    at.switch_page("pages/1_playground.py").run()
    assert not at.exception and at.selectbox(key="target").value == "8gaussians"
