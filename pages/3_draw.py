"""Draw: make your own base ρ0 or target ρ1 by drawing, clicking, or uploading an image or a CSV.

What the user makes is previewed next to the other side's current distribution and, on
"Use as base/target", stored as st.session_state["user_dist"][side] = {"name", "params", "label"}
(see ui/draw.py); the Playground's menus offer it as "user". Conversions live in
playground.userdata, entry building in ui.draw: this page only lays out widgets.
"""

from ui.router import through_the_router

through_the_router()  # first line: a fresh server's deep link must reach app.py

import numpy as np
import streamlit as st
import torch

from playground.config import ExperimentConfig
from playground.figures import ALPHA_COLOR, BETA_COLOR, clouds_figure
from ui import draw as d
from ui.literal import code, escape

P = {"persist_state": "session"}
DEFAULTS = ExperimentConfig()
SOURCES = {"strokes": "draw strokes", "clicks": "click points", "image": "upload an image",
           "csv": "upload a CSV"}
SYMBOL = {"base": "ρ0", "target": "ρ1"}
COLOR = {"base": ALPHA_COLOR, "target": BETA_COLOR}
PREVIEW_N = 2000

if not isinstance(st.session_state.get("user_dist"), dict):
    st.session_state["user_dist"] = {"base": None, "target": None}
user = st.session_state["user_dist"]
drawings = st.session_state.setdefault("draw_drawings", {})  # canvas key -> its last drawing
seeds = st.session_state.setdefault("draw_seeds", {})  # canvas key -> drawing it was mounted with
touched = st.session_state.setdefault("draw_touched", set())  # canvas keys that had something on
files = st.session_state.setdefault("draw_files", {})  # uploader key -> (file name, bytes)
st_canvas, canvas_problem = d.load_canvas()


@st.cache_data(max_entries=8, show_spinner=False)
def image_entry(data: bytes, name: str, threshold: float, contrast: float, invert: bool) -> d.Made:
    return d.from_image(data, name, threshold, contrast, invert)


@st.cache_data(max_entries=8, show_spinner=False)
def csv_entry(data: bytes, name: str, rescale: bool, bandwidth: float) -> d.Made:
    return d.from_csv(data, name, rescale, bandwidth)


def canvas(side: str, mode: str, **kwargs) -> dict | None:
    """A square canvas over the box grid; what was drawn comes back after page switches."""
    key = f"draw_canvas_{side}_{mode}"
    if key not in st.session_state:  # a fresh mount: start from what was drawn before
        seeds[key] = drawings.get(key)
    result = st_canvas(key=key, initial_drawing=seeds.get(key), width=d.CANVAS_PX, height=d.CANVAS_PX,
                       background_image=d.grid_png(d.CANVAS_PX), stroke_color=COLOR[side],
                       fill_color=COLOR[side], **kwargs)
    drawings[key] = result.json_data
    if d.canvas_objects(result.json_data):
        touched.add(key)
    return None if key not in touched else result.json_data  # None: nothing drawn yet


def remember_upload(key: str) -> None:
    upload = st.session_state.get(key)
    if upload is None:
        files.pop(key, None)
    else:
        files[key] = (upload.name, upload.getvalue())


def uploaded(side: str, kind: str, label: str, types: list[str]) -> tuple[str, bytes] | None:
    """The file for this uploader, kept across page switches (the uploader itself forgets it)."""
    key = f"draw_upload_{side}_{kind}"
    upload = st.file_uploader(label, type=types, key=key, max_upload_size=5,
                              on_change=remember_upload, args=(key,))
    if upload is None and key in files:
        c1, c2 = st.columns([3, 1])
        c1.caption(f"Using {code(files[key][0])}, uploaded earlier.")
        if c2.button("forget it", key=f"draw_forget_file_{side}_{kind}", type="tertiary"):
            files.pop(key, None)
            st.rerun()
    return files.get(key)


def make_strokes(side: str) -> d.Made | None:
    c1, c2 = st.columns(2)
    pen = c1.slider("pen width (px)", 1, 40, 8, key=f"draw_pen_{side}", **P,
                    help="how thick the pen looks on the canvas")
    thickness = c2.slider("thickness (box units)", 0.01, 1.0, 0.1, 0.01, key=f"draw_thickness_{side}",
                          **P, help="your strokes are blurred by a Gaussian of this standard deviation")
    st.caption("Draw with the mouse; undo, redo and clear are in the canvas toolbar. "
               "The grid lines are one unit apart in the box [-4, 4]².")
    drawing = canvas(side, "strokes", drawing_mode="freedraw", stroke_width=pen)
    return None if drawing is None else d.from_strokes(drawing, thickness)


def make_clicks(side: str) -> d.Made | None:
    width = st.slider("bump width (box units)", 0.05, 2.0, 0.3, 0.05, key=f"draw_bump_{side}", **P,
                      help="each point becomes a Gaussian bump with this standard deviation")
    st.caption("Click to place points: each is the centre of a Gaussian bump (a mixture the exact "
               "field can use). Undo, redo and clear are in the canvas toolbar.")
    drawing = canvas(side, "clicks", drawing_mode="point", stroke_width=2, point_display_radius=4)
    return None if drawing is None else d.from_clicks(drawing, width)


def make_from_image(side: str) -> d.Made | None:
    got = uploaded(side, "image", "PNG or JPEG image", ["png", "jpg", "jpeg"])
    c1, c2, c3 = st.columns(3)
    threshold = c1.slider("threshold", 0.0, 1.0, 0.5, 0.05, key=f"draw_threshold_{side}", **P,
                          help="pixels less dark than this are empty")
    contrast = c2.slider("contrast", 0.25, 4.0, 1.0, 0.25, key=f"draw_contrast_{side}", **P,
                         help="density = darkness ** contrast")
    invert = c3.toggle("invert", False, key=f"draw_invert_{side}", **P,
                       help="light pixels are dense instead of dark ones")
    st.caption(f"Dark pixels become dense (invert: light ones). {d.CAPS_TEXT}")
    if got is None:
        return None
    return image_entry(got[1], got[0], float(threshold), float(contrast), bool(invert))


def make_from_csv(side: str) -> d.Made | None:
    got = uploaded(side, "csv", "CSV of points", ["csv", "txt"])
    c1, c2 = st.columns(2)
    rescale = c1.checkbox("rescale into the box", False, key=f"draw_rescale_{side}", **P,
                          help="scale and centre the points to fill 90% of the box [-4, 4]²")
    bandwidth = c2.slider("bandwidth (box units)", 0.01, 1.0, 0.05, 0.01, key=f"draw_bandwidth_{side}",
                          **P, help="Gaussian noise added around every point")
    st.caption("Two numeric columns x, y; a header row is optional; comma, semicolon, tab or spaces. "
               f"Points downloaded from this page load back here. {d.CAPS_TEXT}")
    if got is None:
        return None
    return csv_entry(got[1], got[0], bool(rescale), float(bandwidth))


MAKERS = {"strokes": make_strokes, "clicks": make_clicks, "image": make_from_image, "csv": make_from_csv}
HINTS = {"strokes": "Draw on the canvas to make a distribution.",
         "clicks": "Click on the canvas to place Gaussian bumps.",
         "image": "Upload a PNG or JPEG.", "csv": "Upload a CSV of points."}

# ------------------------------------------------------------------ page
st.title("Draw your distributions")
st.caption("Make your own base ρ0 or target ρ1, check it next to the other side, then press "
           "**Use as …**: the Playground's menus then offer it as a distribution to train on.")

top1, top2 = st.columns([1, 2])
side = top1.radio("make the", d.SIDES, index=1, key="draw_side", horizontal=True, **P,
                  format_func=lambda s: f"{s} {SYMBOL[s]}")
other = "base" if side == "target" else "target"
sources = list(SOURCES) if st_canvas is not None else ["image", "csv"]
source = top2.radio("from", sources, key=f"draw_source_{side}" + ("" if st_canvas else "_upload"),
                    horizontal=True, format_func=SOURCES.get, **P)
if st_canvas is None:
    st.warning("The drawing canvas is not available here, so drawing and clicking are off; uploading "
               f"an image or a CSV works. ({canvas_problem})")

left, right = st.columns([5, 4], gap="large")  # the 400 px canvas fits its column at 1280×720
made, problem = None, None
with left:
    try:
        made = MAKERS[source](side)
    except ValueError as exc:  # InputError and make_distribution's errors: one readable line
        problem = str(exc)

with right:
    stored = user.get(side)
    shown = made.entry if made is not None else stored
    mine = d.sample_entry(shown, PREVIEW_N) if shown else np.zeros((0, 2), dtype=np.float32)
    other_dist, other_label = d.side_distribution(st.session_state.get(other), user.get(other),
                                                  getattr(DEFAULTS, other))
    other_pts = other_dist.sample(PREVIEW_N, torch.Generator().manual_seed(DEFAULTS.seed + 10)).numpy()
    mine_title = f"your {side} {SYMBOL[side]}" + ("" if made is not None or not shown else " (stored)")
    other_title = f"{other} {SYMBOL[other]}"
    pair = (mine, other_pts) if side == "base" else (other_pts, mine)
    titles = (mine_title, other_title) if side == "base" else (other_title, mine_title)
    st.plotly_chart(clouds_figure(*pair, height=320, titles=titles), key="draw_preview",
                    config={"displayModeBar": False}, theme=None)
    yours = escape(d.entry_label(shown)) if shown else "nothing yet"
    st.caption(f"{PREVIEW_N:,} samples each, before training. Yours: {yours}. "
               f"The Playground's {other}: {other_label}.")

    if problem:
        st.error(escape(problem))
    elif made is None:
        st.caption(HINTS[source])
    elif made.notes:
        st.info(escape("; ".join(made.notes)))

    b1, b2, b3 = st.columns([1, 1, 1])
    if b1.button(f"Use as {side}", key=f"draw_use_{side}", type="primary", disabled=made is None,
                 help="store it for the Playground (replaces what was stored for this side)"):
        st.session_state["user_dist"] = user = {**user, side: made.entry}
        st.session_state[side] = "user"  # the Playground's menu offers "user" while an entry is stored
    if shown:
        b2.download_button("Download points", d.entry_csv(shown), file_name=f"{side}-points.csv",
                           mime="text/csv", key=f"draw_download_{side}", on_click="ignore",
                           help="x, y as CSV; load it again with “upload a CSV”")
    if b3.button(f"Forget stored {side}", key=f"draw_clear_{side}", disabled=not user.get(side),
                 type="tertiary"):
        st.session_state["user_dist"] = user = {**user, side: None}
        if st.session_state.get(side) == "user":  # the Playground's menu must not point at nothing
            st.session_state[side] = getattr(DEFAULTS, side)

    stored = user.get(side)
    if stored is None:
        st.caption(f"Nothing stored for the {side} yet.")
    elif made is not None and stored == made.entry:
        st.success(f"Stored as the {side}: **{escape(d.entry_label(stored))}**. The Playground's {side} menu "
                   f"offers it as “yours: {escape(d.entry_label(stored))}”"
                   + (" and uses it now." if st.session_state.get(side) == "user" else "."))
    else:
        st.caption(f"Stored for the {side}: **{escape(d.entry_label(stored))}**"
                   + (f" (press **Use as {side}** to replace it with this one)." if made else "."))
