"""AppTest helpers: the app started from its entry point, widgets found by key."""

import base64
import json
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/app" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.app)


@pytest.fixture
def app():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def charts(at) -> list[dict]:
    """Every Plotly figure on the page, as its JSON spec."""
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def player_data(at) -> dict | None:
    """The flow player's data (`playground.canvas_anim.canvas_spec`) on the page, or None."""
    for el in at.get("bidi_component"):
        data = json.loads(el.proto.json or "null")
        if isinstance(data, dict) and "panels" in data:
            return data
    return None


def animation_spec(at) -> dict | None:
    """The page's full animation: a Plotly figure with frames, or the flow player's data when it
    shows a full animation (not the live flow of a model in training)."""
    for spec in charts(at):
        if spec.get("frames"):
            return spec
    data = player_data(at)
    if data is not None and data["meta"].get("kind") == "final":
        return data
    return None


def frame_count(spec: dict) -> int:
    """Frames of an animation from `animation_spec` (Plotly figure or player data)."""
    return len(spec["frames"]) if "frames" in spec else int(spec["T"])


def player_paths(data: dict, panel: int = 0) -> np.ndarray:
    """Positions (T, n, 2) of a player panel, in the particles' original order."""
    p = data["panels"][panel]
    order = np.frombuffer(base64.b64decode(p["order"]), "<i4")
    xy = np.frombuffer(base64.b64decode(p["xy"]), "<f4").reshape(data["T"], p["n"], 2)
    out = np.empty_like(xy)
    out[:, order] = xy
    return out


def train_until_done(at, max_runs: int = 40):
    """Run the page (each run drives the training fragment once) until training stops."""
    sess = at.session_state["playground"]
    for _ in range(max_runs):
        if sess.status != "training":
            break
        at.run()
        sess = at.session_state["playground"]
    return sess


_ROUTER_PAGES: list[tuple[str, str, str]] = []


def router_pages() -> list[tuple[str, str, str]]:
    """(page file relative to the repo, title, url_path) of every page app.py hands to
    st.navigation, captured by running the router once under AppTest (cached for the session)."""
    if _ROUTER_PAGES:
        return list(_ROUTER_PAGES)
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    seen, real = [], st.navigation

    def spy(pages, *args, **kwargs):
        seen.extend(pages if isinstance(pages, list) else [p for group in pages.values() for p in group])
        return real(pages, *args, **kwargs)

    st.navigation = spy
    try:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.run()
    finally:
        st.navigation = real
    assert not at.exception, at.exception
    _ROUTER_PAGES.extend((Path(p._page).resolve().relative_to(ROOT).as_posix(), p.title, p.url_path)
                         for p in seen)
    assert _ROUTER_PAGES, "app.py registered no pages with st.navigation"
    return list(_ROUTER_PAGES)


def assert_registered(page_file: str) -> None:
    """Fail (never skip) unless the router registers `page_file` (e.g. "pages/3_draw.py")."""
    files = [f for f, _, _ in router_pages()]
    assert page_file in files, f"app.py does not register {page_file}; it registers {files}"
