"""AppTest helpers: the app started from its entry point, widgets found by key."""

import json
from pathlib import Path

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


def animation_spec(at) -> dict | None:
    for spec in charts(at):
        if spec.get("frames"):
            return spec
    return None


def train_until_done(at, max_runs: int = 40):
    """Run the page (each run drives the training fragment once) until training stops."""
    sess = at.session_state["playground"]
    for _ in range(max_runs):
        if sess.status != "training":
            break
        at.run()
        sess = at.session_state["playground"]
    return sess
