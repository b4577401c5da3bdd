"""The canvas renderer's HTML carries exactly the paths, grouped by colour, and nothing external."""

import base64
import json
import re

import numpy as np
import pytest

from playground.canvas_anim import MAX_PARTICLES, canvas_animation_html


def _spec(html: str) -> dict:
    return json.loads(re.search(r"const S = (\{.*?\});\n", html).group(1))


def _decode(b64: str, dtype) -> np.ndarray:
    return np.frombuffer(base64.b64decode(b64), dtype=dtype)


def test_paths_round_trip_through_the_page():
    rng = np.random.default_rng(0)
    paths = rng.normal(size=(11, 300, 2)).astype(np.float32)
    true = rng.normal(size=(11, 200, 2)).astype(np.float32)
    html = canvas_animation_html(paths, np.linspace(0, 1, 11), true_frames=true, goal=paths[-1])
    spec = _spec(html)
    assert spec["T"] == 11 and spec["times"][0] == 0 and spec["times"][-1] == 1
    for panel, original in zip(spec["panels"], (paths, true)):
        order = _decode(panel["order"], "<i4")
        xy = _decode(panel["xy"], "<f4").reshape(11, -1, 2)
        np.testing.assert_array_equal(xy, original[:, order])
        assert sorted(order.tolist()) == list(range(original.shape[1]))
        bounds = panel["bounds"]
        assert bounds[0] == 0 and bounds[-1] == original.shape[1] and bounds == sorted(bounds)
        assert len(panel["pal"]) == len(bounds) - 1


def test_page_is_self_contained_and_capped():
    html = canvas_animation_html(np.zeros((3, 10, 2), np.float32) + np.arange(10)[None, :, None],
                                 np.linspace(0, 1, 3))
    assert "<script src" not in html and "http" not in html
    with pytest.raises(ValueError, match="at most"):
        canvas_animation_html(np.zeros((2, MAX_PARTICLES + 1, 2), np.float32), [0, 1])


def test_player_data_at_the_default_settings_stays_under_two_megabytes():
    """What the browser receives for one animation at the defaults (1000 particles, 50 steps,
    learned and true panels, 2000 faint target samples): at most 2 MB."""
    from playground.canvas_anim import canvas_spec, spec_nbytes
    from playground.config import ExperimentConfig
    from ui.controls import ANIMATION_DEFAULTS

    n, frames = ANIMATION_DEFAULTS["particles"], ExperimentConfig().sample_steps + 1
    paths = np.random.default_rng(0).normal(size=(frames, n, 2)).astype(np.float32)
    spec = canvas_spec(paths, np.linspace(0, 1, frames), paths, paths[-1, :2000], autoplay=True)
    assert spec_nbytes(spec) == len(json.dumps(spec, separators=(",", ":")))
    assert spec_nbytes(spec) <= 2_000_000


def test_player_data_says_what_to_play_and_the_component_mounts_the_same_player():
    from playground.canvas_anim import COMPONENT_JS, PLAYER_JS, canvas_spec

    spec = canvas_spec(np.zeros((3, 4, 2), np.float32), [0, 0.5, 1], autoplay=True, hold=0.5,
                       caption="live", meta={"name": "flow", "sig": "s1"})
    assert spec["autoplay"] is True and spec["hold"] == 0.5 and spec["caption"] == "live"
    assert spec["meta"] == {"name": "flow", "sig": "s1"} and spec["titles"] == ["learned flow: X_t"]
    assert COMPONENT_JS.startswith(PLAYER_JS) and "export default function" in COMPONENT_JS
    assert "mountFlowPlayer(parentElement" in COMPONENT_JS and "player.update(data)" in COMPONENT_JS
    with pytest.raises(ValueError, match="paths must be"):
        canvas_spec(np.zeros((3, 4), np.float32), [0, 0.5, 1])
