"""The Scenes page under AppTest: every scene opens the Playground with its settings and shipped
weights, animates at once, and never trains."""

from __future__ import annotations

import time

import pytest

from playground.config import ExperimentConfig
from playground.scenes import DEFAULT_SCENE, SCENES, load_scene
from tests.app.conftest import ROOT, animation_spec, assert_registered, frame_count

GALLERY = [name for name, scene in SCENES.items() if scene.gallery]
"""The scenes with a card (the default experiment's scene plays on arrival instead)."""


@pytest.fixture(scope="module")
def entry_point():
    """app.py, which must register the Scenes page: a missing registration fails, never skips."""
    assert_registered("pages/2_scenes.py")
    return ROOT / "app.py"


def _app(entry_point, **query):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(entry_point), default_timeout=120)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def _warnings(at) -> str:
    return " ".join(w.value for w in at.warning)


def test_gallery_shows_a_card_per_scene(entry_point):
    at = _app(entry_point)
    at.switch_page("pages/2_scenes.py").run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Scenes"]
    keys = {b.key for b in at.button}
    assert {f"scene_{n}" for n in GALLERY} <= keys and len(GALLERY) >= 8
    assert not at.error, [e.value for e in at.error]


@pytest.mark.parametrize("name", GALLERY)
def test_open_scene_animates_without_training(entry_point, name):
    at = _app(entry_point)
    at.switch_page("pages/2_scenes.py").run()
    t0 = time.perf_counter()
    at.button(key=f"scene_{name}").click().run()
    seconds = time.perf_counter() - t0
    print(f"{name}: click → Playground with animation in {seconds:.2f} s (AppTest, this machine)")
    assert not at.exception, at.exception
    cfg, _, entry = load_scene(name)
    sess = at.session_state["playground"]
    assert sess.status in ("stopped", "done"), (sess.status, sess.message)
    assert sess.state.step == entry["steps"] > 0
    assert sess.state.losses == []  # loaded, not trained
    assert sess.state.config == cfg
    anim = animation_spec(at)
    assert anim is not None and frame_count(anim) > 1, "no animation on the Playground"
    # the widgets hold the scene's settings, so the model is not reported as stale
    assert "changed since this model was trained" not in _warnings(at)
    assert at.selectbox(key="base").value == cfg.base and at.selectbox(key="target").value == cfg.target
    assert at.selectbox(key="coupling").value == cfg.coupling
    assert at.selectbox(key="sampler").value == cfg.sampler
    assert at.query_params.get("scene") in (name, [name])
    # another run of the Playground does not train either (AppTest stays on the page it was
    # told, so follow the script's st.switch_page as the browser's address bar would)
    at.switch_page("pages/1_playground.py").run()
    assert not at.exception, at.exception
    assert at.session_state["playground"].state.step == entry["steps"]
    assert at.session_state["playground"].status != "training"


def test_a_scene_can_be_retrained_after_opening(entry_point):
    at = _app(entry_point)
    at.switch_page("pages/2_scenes.py").run()
    at.button(key="scene_moons").click().run()
    at.switch_page("pages/1_playground.py")
    at.number_input(key="steps").set_value(30).run()
    at.button(key="train").click().run()
    sess = at.session_state["playground"]
    for _ in range(20):
        if sess.status != "training":
            break
        at.run()
        sess = at.session_state["playground"]
    assert not at.exception, at.exception
    assert sess.status == "done" and sess.state.step == 30 and len(sess.state.losses) == 30
    assert sess.state.config == ExperimentConfig.from_dict({**SCENES["moons"].overrides, "steps": 30})


@pytest.mark.parametrize("name", ["mirror", "coupling-ot"])
def test_scene_from_the_url(name):
    at = _app(ROOT / "app.py", scene=name)
    cfg, _, entry = load_scene(name)
    sess = at.session_state["playground"]
    assert sess.state is not None and sess.state.config == cfg and sess.state.step == entry["steps"]
    assert animation_spec(at) is not None


def test_unknown_scene_in_the_url_is_a_notice():
    at = _app(ROOT / "app.py", scene="nope")
    sess = at.session_state["playground"]
    # no scene is loaded: the Playground is as on any first visit (the default experiment, if shipped)
    assert sess.state is None or (sess.pretrained or {}).get("name") == DEFAULT_SCENE
    assert "nope" in _warnings(at)
