"""The Scenes page under AppTest: every scene opens the Playground with its settings and shipped
weights, animates at once, and never trains."""

from __future__ import annotations

import time

import pytest

from playground.config import ExperimentConfig
from playground.scenes import SCENES, load_scene
from tests.app.conftest import ROOT, animation_spec, frame_count

SCENES_PAGE = 'st.Page("pages/scenes_page.py"'
URL_HOOK = "load_scene_from_url"


@pytest.fixture(scope="module")
def entry_point():
    """app.py once it registers the Scenes page; until then a copy of it that does (removed after)."""
    source = (ROOT / "app.py").read_text()
    if SCENES_PAGE in source:
        yield ROOT / "app.py"
        return
    anchor = 'st.Page("pages/about_page.py"'
    assert anchor in source, "app.py changed: update this fixture"
    patched = source.replace(anchor, 'st.Page("pages/scenes_page.py", title="Scenes", url_path="scenes"),\n    '
                             + anchor, 1)
    path = ROOT / ".apptest_scenes_app.py"  # beside app.py, so page paths resolve the same way
    path.write_text(patched)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


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
    at.switch_page("pages/scenes_page.py").run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Scenes"]
    keys = {b.key for b in at.button}
    assert {f"scene_{n}" for n in SCENES} <= keys
    assert not at.error, [e.value for e in at.error]


@pytest.mark.parametrize("name", list(SCENES))
def test_open_scene_animates_without_training(entry_point, name):
    at = _app(entry_point)
    at.switch_page("pages/scenes_page.py").run()
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
    at.switch_page("pages/playground_page.py").run()
    assert not at.exception, at.exception
    assert at.session_state["playground"].state.step == entry["steps"]
    assert at.session_state["playground"].status != "training"


def test_a_scene_can_be_retrained_after_opening(entry_point):
    at = _app(entry_point)
    at.switch_page("pages/scenes_page.py").run()
    at.button(key="scene_moons").click().run()
    at.switch_page("pages/playground_page.py")
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


@pytest.mark.skipif(URL_HOOK not in (ROOT / "app.py").read_text(),
                    reason="app.py does not call ui.scenes.load_scene_from_url() yet")
@pytest.mark.parametrize("name", ["mirror", "coupling-ot"])
def test_scene_from_the_url(name):
    at = _app(ROOT / "app.py", scene=name)
    cfg, _, entry = load_scene(name)
    sess = at.session_state["playground"]
    assert sess.state is not None and sess.state.config == cfg and sess.state.step == entry["steps"]
    assert animation_spec(at) is not None


@pytest.mark.skipif(URL_HOOK not in (ROOT / "app.py").read_text(),
                    reason="app.py does not call ui.scenes.load_scene_from_url() yet")
def test_unknown_scene_in_the_url_is_a_notice():
    at = _app(ROOT / "app.py", scene="nope")
    assert at.session_state["playground"].state is None
    assert "nope" in _warnings(at)
