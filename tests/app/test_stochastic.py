"""The Stochastic side page under AppTest: no model yet, the exact field without training, the
ε / noise / comparison controls, the buttons, and a learned model from the Playground."""

from __future__ import annotations

import numpy as np
import pytest

from playground.config import ExperimentConfig
from playground.session import PlaygroundSession
from playground.training import make_state, train_steps
from tests.app.conftest import ROOT, animation_spec, charts

PAGE = "pages/5_stochastic.py"


@pytest.fixture
def page(tmp_path):
    """The app on the Stochastic side page: through app.py once it registers the page, else
    through a one-page router (the page is not runnable on its own: run through a router)."""
    from streamlit.testing.v1 import AppTest

    if PAGE in (ROOT / "app.py").read_text():
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.switch_page(PAGE)  # the first run is this page, as after a deep link
    else:
        router = tmp_path / "router.py"
        router.write_text("import streamlit as st\n"
                          f"st.navigation([st.Page({str(ROOT / PAGE)!r}, title='Stochastic side', "
                          "url_path='stochastic', default=True)]).run()\n")
        at = AppTest.from_file(str(router), default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def exact_8gaussians(at):
    # set through session state: under AppTest a selectbox value set on a page reached by
    # switch_page is not kept by later runs (in a real browser it is; see the browser test)
    at.session_state["target"] = "8gaussians"
    at.run()
    assert not at.exception, at.exception
    return at


def panels(spec: dict, frame: int) -> list[np.ndarray]:
    """Particle positions (n, 2) of each panel at one frame of the animation."""
    data = spec["frames"][frame]["data"]
    return [np.stack([np.asarray(_values(d["x"])), np.asarray(_values(d["y"]))], 1) for d in data]


def _values(v):
    if isinstance(v, dict):  # plotly's typed array: {"dtype": "f4", "bdata": base64}
        import base64

        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
    return v


def test_first_visit_shows_an_exact_field_and_says_which(page):
    """The default target (moons) has no exact field: a first visit still animates one, the
    nearest pair that has it (gaussian → 8 Gaussians, the user's schedule), and says so."""
    assert page.title and "Stochastic" in page.title[0].value
    assert page.session_state["sto_model"] == "exact"  # no trained model: offer the exact field
    info = " ".join(i.value for i in page.info)
    assert "two moons" in info and "not a Gaussian mixture" in info and "8 Gaussians" in info
    spec = animation_spec(page)
    assert spec is not None and len(spec["frames"]) == 101
    assert "Showing standard Gaussian → 8 Gaussians" in info
    assert page.session_state["target"] == "moons"  # the Playground's own setting is untouched
    page.radio(key="sto_model").set_value("learned").run()
    info = " ".join(i.value for i in page.info)
    assert "No trained model yet" in info and "Playground" in info and "exact field" in info
    assert animation_spec(page) is None


def _arrow_figures(at) -> list[dict]:
    return [s for s in charts(at) if any(d.get("name") == "drift b(t, x)" for d in s["data"])]


def test_base_equal_to_target_says_the_drift_is_zero_at_one_half(page):
    page.session_state["base"] = "8gaussians"
    at = exact_8gaussians(page)
    (fig,) = _arrow_figures(at)  # t = ½: by symmetry b = 0, up to rounding
    assert fig["data"][0]["visible"] is False
    assert "b = 0 everywhere" in fig["layout"]["annotations"][0]["text"]
    at.slider(key="sto_t").set_value(0.3).run()
    (fig,) = _arrow_figures(at)
    assert fig["data"][0].get("visible", True) and not fig["layout"].get("annotations")


def test_exact_field_needs_no_training_and_animates_ode_beside_sde(page):
    at = exact_8gaussians(page)
    spec = animation_spec(at)
    assert spec is not None and len(spec["frames"]) == 101  # 100 steps by default
    names = [a["text"] for a in spec["layout"]["annotations"]]
    assert "ODE" in names[0] and "SDE" in names[1] and "ε=0.5" in names[1]
    ode, sde = panels(spec, 100)
    np.testing.assert_array_equal(panels(spec, 0)[0], panels(spec, 0)[1])  # same starts
    assert not np.allclose(ode, sde)
    assert len(at.metric) == 2  # energy distance of each panel, with its floor
    assert any("[t0, 1 − t0]" in c.value for c in at.caption)


def test_noise_toggle_makes_the_sde_panel_the_ode(page):
    at = exact_8gaussians(page)
    at.toggle(key="sto_noise").set_value(False).run()
    assert not at.exception
    ode, sde = panels(animation_spec(at), 60)
    np.testing.assert_array_equal(ode, sde)


def test_epsilon_shape_steps_and_modes(page):
    at = exact_8gaussians(page)
    before = panels(animation_spec(at), 50)[1]
    at.slider(key="sto_eps").set_value(2.0).run()
    assert not np.array_equal(before, panels(animation_spec(at), 50)[1])
    at.selectbox(key="sto_shape").set_value("bump")
    at.slider(key="sto_steps").set_value(40).run()
    spec = animation_spec(at)
    assert len(spec["frames"]) == 41 and "4t(1−t)" in spec["layout"]["annotations"][1]["text"]
    at.radio(key="sto_compare").set_value("two-eps").run()
    titles = [a["text"] for a in animation_spec(at)["layout"]["annotations"]]
    assert "ε=2" in titles[0] and "ε=2" in titles[1]  # the second ε defaults to 2
    at.radio(key="sto_compare").set_value("integrators").run()
    spec = animation_spec(at)
    titles = [a["text"] for a in spec["layout"]["annotations"]]
    assert len(titles) == 3 and "Euler: 40 steps" in titles[0] and "RK4: 10 steps" in titles[2]
    assert len(spec["frames"]) == 11
    assert not at.exception


def test_buttons_compute_quality_density_and_couplings(page):
    at = exact_8gaussians(page)
    at.button(key="sto_quality_btn").click().run()
    names = {d.get("name") for s in charts(at) for d in s["data"]}
    assert {"euler", "heun", "rk4", "em", "noise floor"} <= names
    at.button(key="sto_density_btn").click().run()
    heat = [s for s in charts(at) if any(d.get("type") == "heatmap" for d in s["data"])]
    assert heat and len([d for d in heat[-1]["data"] if d["type"] == "heatmap"]) == 2
    assert any("Mean |log ρ̂1 − log ρ1|" in c.value for c in at.caption)
    at.button(key="sto_couplings_btn").click().run()
    assert any("OT / independent" in c.value for c in at.caption)
    names = {d.get("name") for s in charts(at) for d in s["data"]}
    assert {"independent paths", "ot paths", "independent pairs", "ot pairs"} <= names
    assert not at.exception
    at.run()  # results stay on a rerun without recomputing
    assert any("OT / independent" in c.value for c in at.caption)


def _trained_session(**changes) -> PlaygroundSession:
    cfg = ExperimentConfig(**{**dict(base="gaussian", target="8gaussians", width=32, depth=2,
                                     batch=128, steps=150, device="cpu"), **changes})
    sess = PlaygroundSession()
    sess.state = make_state(cfg)
    train_steps(sess.state, cfg.steps)
    sess.status = "done"
    return sess


def test_learned_model_with_score_beside_the_exact_field(page):
    page.session_state["playground"] = _trained_session(gamma="brownian")
    page.session_state["sto_model"] = "learned"
    page.run()
    assert not page.exception, page.exception
    assert any("learned model" in c.value and "drift and score" in c.value for c in page.caption)
    spec = animation_spec(page)
    assert spec is not None and "SDE" in spec["layout"]["annotations"][1]["text"]
    heat = [s for s in charts(page) if any(d.get("type") == "heatmap" for d in s["data"])]
    assert heat, "no error heatmap |b̂ − b|"
    exact_fig, learned_fig = _arrow_figures(page)  # one colour range for both, as the caption says
    ranges = [(f["data"][0]["marker"]["cmin"], f["data"][0]["marker"]["cmax"]) for f in (exact_fig, learned_fig)]
    assert ranges[0] == ranges[1] and ranges[0][1] > 0
    assert any("Mean error where the particles are" in c.value for c in page.caption)
    page.slider(key="sto_t").set_value(0.8).run()
    assert not page.exception


def test_learned_model_without_score_falls_back_to_integrators(page):
    page.session_state["playground"] = _trained_session()  # γ = 0, heun: no denoiser
    page.session_state["sto_model"] = "learned"
    page.run()
    assert not page.exception
    assert any("no score" in w.value for w in page.warning)
    spec = animation_spec(page)
    assert len(spec["layout"]["annotations"]) == 3  # Euler, Heun, RK4
