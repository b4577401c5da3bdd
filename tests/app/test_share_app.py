"""Links and configs in the app: a URL restores settings, garbage gets a notice, never a traceback."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

from playground.config import ExperimentConfig
from playground.share import to_query

ROOT = Path(__file__).resolve().parents[2]


def _open(query: dict) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def test_link_restores_the_settings_in_the_widgets():
    cfg = ExperimentConfig(target="8gaussians", schedule="trig", gamma="brownian", gamma_scale=0.5,
                           width=64, steps=1234, batch=512, lr=0.003, seed=7, sampler="rk4", sample_steps=30,
                           coupling="ot", averaged_target=False)
    at = _open(to_query(cfg))
    assert at.selectbox(key="target").value == "8gaussians"
    assert at.selectbox(key="schedule").value == "trig"
    assert at.selectbox(key="gamma").value == "brownian"
    assert at.slider(key="gamma_scale").value == 0.5
    assert at.number_input(key="steps").value == 1234
    assert at.number_input(key="seed").value == 7
    assert at.select_slider(key="lr").value == 0.003
    assert at.select_slider(key="width").value == 64
    assert at.selectbox(key="sampler").value == "rk4"
    assert at.selectbox(key="coupling").value == "ot"
    assert at.checkbox(key="averaged_target").value is False
    assert not at.warning, [w.value for w in at.warning]
    # and the share panel gives the same link back
    code = " ".join(c.value for c in at.code)
    assert "target=8gaussians" in code and "seed=7" in code and "averaged_target=0" in code
    # the full address, ready to paste into slides (st.code gives it a copy button)
    link = next(c.value for c in at.code if "target=8gaussians" in c.value)
    assert link.startswith("http") and "://" in link and "?" in link


def test_the_share_link_reopens_the_same_settings():
    from urllib.parse import parse_qsl, urlsplit

    cfg = ExperimentConfig(target="checkerboard", gamma="squared", seed=3, steps=777)
    link = next(c.value for c in _open(to_query(cfg)).code if "checkerboard" in c.value)
    again = _open(dict(parse_qsl(urlsplit(link).query)))
    assert again.selectbox(key="target").value == "checkerboard"
    assert again.selectbox(key="gamma").value == "squared"
    assert again.number_input(key="seed").value == 3 and again.number_input(key="steps").value == 777


def test_formula_link_restores_the_formula_inputs():
    cfg = ExperimentConfig(alpha="cos(pi*t/2)", beta="sin(pi*t/2)", gamma="sqrt(t*(1-t))")
    at = _open(to_query(cfg))
    assert at.toggle(key="use_formulas").value is True
    assert at.text_input(key="alpha_text").value == "cos(pi*t/2)"
    assert at.text_input(key="gamma_text").value == "sqrt(t*(1-t))"
    assert any("all hold" in s.value for s in at.success)


def test_garbage_link_gets_a_notice_not_a_traceback():
    at = _open({"steps": "-5", "lr": "nan", "target": "<script>", "seed": "zz", "zzz": "1",
                "gamma": "__import__('os')", "base_params": "{{{{"})
    text = " ".join(w.value for w in at.warning)
    assert "link were changed or ignored" in text
    assert "steps" in text and "lr" in text and "target" in text
    assert at.selectbox(key="target").value == "moons"
    assert at.number_input(key="steps").value == 0  # clamped to 0: train for the seconds instead


def test_present_mode_hides_the_controls_and_keeps_the_page_working():
    at = _open({"present": "1"})
    assert at.session_state["present"] is True
    # the page's title and explanations are gone; the title names the experiment in the sidebar's
    # words (here the default experiment's scene, which plays on arrival)
    assert [t.value for t in at.title] == ["Gaussian → two moons (the default experiment)"]
    assert not at.caption or all("Press **Train**" not in c.value for c in at.caption)
    assert at.selectbox(key="present_scene") is not None and at.button(key="exit_present") is not None
    assert any("present" in m.value or "stSidebar" in m.value for m in at.markdown)


def test_present_mode_title_uses_the_sidebars_labels_and_the_picker_opens_scenes():
    at = _open({"present": "1", "target": "8gaussians", "gamma": "brownian"})
    title = "standard Gaussian → 8 Gaussians · α = 1 − t, β = t · γ = √(a t(1−t)), a = 1"
    assert [t.value for t in at.title] == [title]
    at.selectbox(key="present_scene").set_value("mirror").run()
    assert not at.exception, at.exception
    from playground.scenes import SCENES

    assert [t.value for t in at.title] == [SCENES["mirror"].title]
    assert at.session_state["playground"].pretrained["name"] == "mirror"
    assert at.query_params.get("scene") in ("mirror", ["mirror"])
    at.button(key="exit_present").click().run()
    assert at.session_state["present"] is False and "present" not in at.query_params
    assert at.title[0].value == "Stochastic interpolant playground"
