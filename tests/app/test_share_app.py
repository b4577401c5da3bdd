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
                           coupling="ot")
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
    assert not at.warning, [w.value for w in at.warning]
    # and the share panel gives the same link back
    code = " ".join(c.value for c in at.code)
    assert "target=8gaussians" in code and "seed=7" in code


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
    assert at.number_input(key="steps").value == 10  # clamped to the app's minimum


def test_present_mode_hides_the_controls_and_keeps_the_page_working():
    at = _open({"present": "1"})
    assert at.session_state["present"] is True
    assert not at.title  # the big title and explanations are gone
    assert any("present" in m.value or "stSidebar" in m.value for m in at.markdown)
