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
