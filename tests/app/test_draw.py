"""The Draw page under AppTest: strokes, clicks, images and CSVs become `user_dist` entries.

The canvas is a custom component (an UnknownElement here): its value is injected through
`at.session_state[canvas key]` in the shape the component reports, {"drawing": {"raw": json}}.
The JSON below is what streamlit-drawable-canvas 0.13 sent from Chromium for a mouse stroke and
for two clicks in point mode. The page is opened through the router (app.py), which must register
it: a missing registration fails, never falls back to another router.
"""

import io
import json
import re
import sys

import numpy as np
import pytest
from PIL import Image

from playground.distributions import make_distribution
from tests.app.conftest import ROOT, animation_spec, assert_registered, charts, router_pages, train_until_done
from ui import draw as d

# A horizontal stroke from x = 50 to 350 px at y = 200 px on the 400 x 400 canvas (from Chromium).
STROKE = {"version": "7.4.0", "objects": [{
    "type": "Path", "originX": "center", "originY": "center", "left": 200, "top": 200,
    "width": 300.016, "height": 0, "fill": None, "stroke": "#D55E00", "strokeWidth": 8,
    "strokeUniform": False, "scaleX": 1, "scaleY": 1, "angle": 0, "flipX": False, "flipY": False,
    "path": [["M", 49.992, 200]] + [["Q", x, 200, x + 10, 200] for x in range(50, 300, 10)]
    + [["Q", 300, 200, 330, 200], ["L", 350.008, 200]]}]}
# Two clicks in point mode, at (100, 100) and (300, 250) px; left = x - (radius + strokeWidth / 2).
def _click(x, y, radius=4, stroke=2):
    return {"type": "Circle", "radius": radius, "originX": "left", "originY": "center",
            "left": x - (radius + stroke / 2), "top": y, "width": 2 * radius, "height": 2 * radius,
            "strokeWidth": stroke, "scaleX": 1, "scaleY": 1, "angle": 0}


CLICKS = {"version": "7.4.0", "objects": [_click(100, 100), _click(300, 250)]}
EMPTY = {"version": "7.4.0", "objects": []}


def canvas_value(json_data):
    return {"drawing": {"raw": json_data, "data": None}}


def open_draw():
    """The Draw page after one run, reached through the router as a user would."""
    from streamlit.testing.v1 import AppTest

    assert_registered("pages/3_draw.py")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/3_draw.py").run()
    assert not at.exception, at.exception
    return at


def switch(at, page: str):
    at.switch_page(next(f for f, _, _ in router_pages() if f.endswith(f"_{page}.py"))).run()
    assert not at.exception, at.exception


def png(size=(64, 64), square=True, area=(16, 16, 48, 48)) -> bytes:
    """A white image with a black rectangle `area` (left, top, right, bottom pixels)."""
    img = Image.new("RGB", size, "white")
    if square:
        img.paste((0, 0, 0), area)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def errors(at) -> list[str]:
    """The error messages as a reader sees them (user text is markdown-escaped: ui.literal)."""
    return [re.sub(r"\\(.)", r"\1", e.value) for e in at.error]


def preview_trace(at, side: str) -> dict:
    for spec in charts(at):
        for trace in spec["data"]:
            if str(trace.get("name", "")).startswith(f"your {side}"):
                return trace
    raise AssertionError(f"no preview trace for your {side}")


def trace_xy(trace) -> np.ndarray:
    """x, y of a Plotly trace from the figure JSON (plain lists or typed base64 arrays)."""
    import base64

    def arr(v):
        if isinstance(v, dict) and "bdata" in v:
            return np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
        return np.asarray(v, dtype=float)

    return np.stack([arr(trace["x"]), arr(trace["y"])], axis=1)


def store_stroke_as_target(at):
    at.session_state["draw_canvas_target_strokes"] = canvas_value(STROKE)
    at.run()
    assert errors(at) == [] and not at.button(key="draw_use_target").disabled
    at.button(key="draw_use_target").click().run()
    return at.session_state["user_dist"]["target"]


def test_page_renders_canvas_and_waits_for_a_drawing():
    at = open_draw()
    assert at.title[0].value == "Draw your distributions"
    assert any(getattr(e, "key", None) == "draw_canvas_target_strokes" for e in at.get("bidi_component"))
    assert errors(at) == [], "an untouched canvas is not an error"
    assert at.button(key="draw_use_target").disabled
    assert at.session_state["user_dist"] == {"base": None, "target": None}


def test_drawn_stroke_becomes_the_target_entry_and_bad_canvas_keeps_it():
    at = open_draw()
    entry = store_stroke_as_target(at)
    # the contract: JSON-serialisable, a cloud along the stroke, validated by make_distribution
    assert set(entry) == {"name", "params", "label"} and entry["name"] == "cloud"
    json.dumps(entry)
    pts = np.array(entry["params"]["points"])
    assert 1000 <= len(pts) <= 20_000 and entry["label"] == f"drawing ({len(pts):,} points)"
    assert np.abs(pts[:, 1]).max() < 0.05, "points must lie on the horizontal stroke (y = 0)"
    assert -3.05 < pts[:, 0].min() < -2.8 and 2.8 < pts[:, 0].max() < 3.05  # 50..350 px of 400
    assert np.allclose(pts, np.round(pts, 4))
    assert entry["params"]["bandwidth"] == pytest.approx(0.1)  # the thickness slider's default
    make_distribution(entry["name"], entry["params"])
    assert any("Stored as the target" in s.value for s in at.success)
    preview = trace_xy(preview_trace(at, "target"))
    assert len(preview) == 2000 and np.abs(preview[:, 1]).mean() < 0.2  # samples hug y = 0

    # a thicker stroke changes the candidate, not what is stored until "Use as target"
    at.slider(key="draw_thickness_target").set_value(0.5).run()
    assert at.session_state["user_dist"]["target"] == entry
    # the user clears the canvas: the library's message, nothing stored is lost, no "Use"
    at.session_state["draw_canvas_target_strokes"] = canvas_value(EMPTY)
    at.run()
    assert errors(at) == ["the canvas is empty: draw at least one stroke"]
    assert at.button(key="draw_use_target").disabled
    assert at.session_state["user_dist"]["target"] == entry
    # a single dot is not a distribution either
    dot = {"objects": [{"type": "Path", "path": [["M", 200, 200], ["L", 200, 200]]}]}
    at.session_state["draw_canvas_target_strokes"] = canvas_value(dot)
    at.run()
    assert errors(at) and "single point" in errors(at)[0]
    assert at.session_state["user_dist"]["target"] == entry


def test_clicked_points_become_a_mixture_base():
    at = open_draw()
    at.radio(key="draw_side").set_value("base").run()
    at.radio(key="draw_source_base").set_value("clicks").run()
    assert errors(at) == []
    at.session_state["draw_canvas_base_clicks"] = canvas_value(CLICKS)
    at.slider(key="draw_bump_base").set_value(0.25)
    at.run()
    at.button(key="draw_use_base").click().run()
    entry = at.session_state["user_dist"]["base"]
    assert entry["name"] == "mixture"
    assert np.allclose(entry["params"]["means"], [[-2.0, 2.0], [2.0, -1.0]], atol=1e-3)
    assert entry["params"]["stds"] == [0.25, 0.25] and entry["params"]["weights"] == [0.5, 0.5]
    assert make_distribution(entry["name"], entry["params"]).mixture() is not None
    assert at.session_state["user_dist"]["target"] is None


def test_bad_uploads_show_the_error_and_keep_the_previous_entry():
    at = open_draw()
    entry = store_stroke_as_target(at)
    at.radio(key="draw_source_target").set_value("image").run()
    bad_images = {
        "empty.png": (b"", "empty (0 bytes)"),
        "cut.png": (png()[:60], "truncated or damaged"),
        "blank.png": (png(square=False), "no dark or opaque pixels"),
        "notes.png": (b"this is not an image", "not a PNG or JPEG"),
    }
    for name, (data, message) in bad_images.items():
        at.file_uploader(key="draw_upload_target_image").set_value((name, data, "image/png")).run()
        assert not at.exception, at.exception
        assert len(errors(at)) == 1 and message in errors(at)[0], (name, errors(at))
        assert at.button(key="draw_use_target").disabled, name
        assert at.session_state["user_dist"]["target"] == entry, name
    at.radio(key="draw_source_target").set_value("csv").run()
    for name, data, message in [("words.csv", b"x,y\n1,2\nabc,3\n", "line 3: 'abc' is not a number"),
                                ("one.csv", b"0.5,0.5\n", "only 1 row"),
                                ("far.csv", b"0,0\n100,100\n", "outside the box")]:
        at.file_uploader(key="draw_upload_target_csv").set_value((name, data, "text/csv")).run()
        assert len(errors(at)) == 1 and message in errors(at)[0], (name, errors(at))
        assert at.button(key="draw_use_target").disabled
        assert at.session_state["user_dist"]["target"] == entry
    # ticking "rescale into the box" fixes the last one
    at.checkbox(key="draw_rescale_target").check().run()
    assert errors(at) == [] and any("rescaled into the box" in i.value for i in at.info)
    assert not at.button(key="draw_use_target").disabled


def test_image_upload_then_download_and_load_back_as_csv():
    at = open_draw()
    at.radio(key="draw_side").set_value("base").run()
    at.radio(key="draw_source_base").set_value("image").run()
    # an off-centre, non-square block: columns 8..24, rows 8..40 of 64 (the image's upper left), so
    # a vertical flip, a horizontal flip or a transpose of the image would all land elsewhere
    at.file_uploader(key="draw_upload_base_image").set_value(
        ("corner.png", png(area=(8, 8, 24, 40)), "image/png")).run()
    assert errors(at) == []
    at.button(key="draw_use_base").click().run()
    entry = at.session_state["user_dist"]["base"]
    pts = np.array(entry["params"]["points"])
    assert entry["name"] == "cloud" and len(pts) == 20_000
    assert entry["params"]["bandwidth"] == pytest.approx(8 / 64, abs=1e-4)  # one pixel in box units
    # pixel (column c, row r) of 64 is at x = (c − 32)/8, y = (32 − r)/8: the top row is at y = +4
    x, y = pts[:, 0], pts[:, 1]
    assert x.min() >= -3.0 - 1e-3 and x.max() <= -1.0 + 1e-3, (x.min(), x.max())
    assert y.min() >= -1.0 - 1e-3 and y.max() <= 3.0 + 1e-3, (y.min(), y.max())
    assert np.median(x) == pytest.approx(-2.0, abs=0.1) and np.median(y) == pytest.approx(1.0, abs=0.1)
    assert at.get("download_button"), "no download button"
    # the downloaded CSV (what the button serves) loads back as the same points
    at.radio(key="draw_source_base").set_value("csv").run()
    at.file_uploader(key="draw_upload_base_csv").set_value(("base-points.csv", d.entry_csv(entry),
                                                            "text/csv")).run()
    assert errors(at) == []
    at.button(key="draw_use_base").click().run()
    again = at.session_state["user_dist"]["base"]
    assert np.allclose(again["params"]["points"], pts, atol=1e-4)


def test_huge_csv_is_thinned_with_a_note():
    at = open_draw()
    at.radio(key="draw_source_target").set_value("csv").run()
    rows = np.random.default_rng(1).uniform(-3, 3, (25_000, 2))
    data = ("x,y\n" + "\n".join(f"{x:.5f},{y:.5f}" for x, y in rows)).encode()
    at.file_uploader(key="draw_upload_target_csv").set_value(("big.csv", data, "text/csv")).run()
    assert errors(at) == []
    assert any("thinned from 25,000 to 20,000 points" in i.value for i in at.info)
    at.button(key="draw_use_target").click().run()
    assert len(at.session_state["user_dist"]["target"]["params"]["points"]) == 20_000


def test_drawing_and_upload_survive_a_page_switch():
    at = open_draw()
    entry = store_stroke_as_target(at)
    switch(at, "about")
    switch(at, "draw")
    # the canvas is remounted with what was drawn: the same candidate, already stored
    assert errors(at) == [] and at.session_state["user_dist"]["target"] == entry
    assert any("Stored as the target" in s.value for s in at.success)
    at.radio(key="draw_source_target").set_value("csv").run()
    at.file_uploader(key="draw_upload_target_csv").set_value(("two.csv", b"0,0\n1,1\n", "text/csv")).run()
    switch(at, "about")
    switch(at, "draw")
    assert at.radio(key="draw_source_target").value == "csv"
    assert any("two.csv" in c.value and "uploaded earlier" in c.value for c in at.caption)
    assert errors(at) == [] and not at.button(key="draw_use_target").disabled


def test_without_the_canvas_component_the_page_offers_uploads(monkeypatch):
    monkeypatch.setitem(sys.modules, "streamlit_drawable_canvas", None)  # import fails
    at = open_draw()
    assert any("canvas is not available" in w.value for w in at.warning)
    assert at.radio(key="draw_source_target_upload").options == ["upload an image", "upload a CSV"]
    assert not at.get("bidi_component")


def test_use_as_target_selects_it_and_the_playground_trains_on_it():
    """End to end: draw, "Use as target", then the Playground trains on the drawing and animates."""
    at = open_draw()
    entry = store_stroke_as_target(at)
    assert at.session_state["target"] == "user"
    switch(at, "playground")
    assert at.selectbox(key="target").value == "user", "the Playground's target menu ignores the drawing"
    assert f"yours: {entry['label']}" in at.selectbox(key="target").options
    at.number_input(key="steps").set_value(30)
    at.run()
    at.button(key="train").click().run()
    sess = train_until_done(at)
    assert not at.exception, at.exception
    assert sess.status == "done", sess.message
    cfg = sess.state.config
    assert cfg.target == "cloud" and cfg.target_params == entry["params"]
    assert animation_spec(at) is not None
    # forgetting the stored target sends the menu back to a preset
    switch(at, "draw")
    at.button(key="draw_clear_target").click().run()
    assert at.session_state["user_dist"]["target"] is None
    switch(at, "playground")
    assert not any(o.startswith("yours") for o in at.selectbox(key="target").options)
    assert at.selectbox(key="target").value != "user"


def test_entry_builders_round_cap_and_validate():
    """ui.draw's glue without Streamlit: rounding, the point cap, the bandwidth floor, bad input."""
    rng = np.random.default_rng(0)
    entry = d.entry_from_points(rng.uniform(-3, 3, (25_000, 2)), 0.001, "test")
    pts = np.array(entry["params"]["points"])
    assert len(pts) == 20_000 and np.allclose(pts, np.round(pts, 4))
    assert entry["params"]["bandwidth"] == 0.01 and entry["label"] == "test"
    one = d.entry_from_clicks([[0.5, -1.0]], 0.4)
    assert one["params"] == {"means": [[0.5, -1.0]], "stds": [0.4], "weights": [1.0]}
    json.dumps([entry, one])
    for bad in (lambda: d.entry_from_clicks([[9.0, 0.0]], 0.3),  # outside the box
                lambda: d.entry_from_points([[float("nan"), 0.0], [1.0, 1.0]], 0.1, "x"),
                lambda: d.from_strokes(EMPTY, 0.1), lambda: d.from_clicks(EMPTY, 0.3)):
        with pytest.raises(ValueError):
            bad()
