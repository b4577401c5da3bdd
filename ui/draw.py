"""Glue for the Draw page: what a user makes -> a `user_dist` entry the Playground can build.

No Streamlit here (the page does the widgets): these functions call the conversions in
`playground.userdata` and turn their points into a JSON-serialisable entry

    {"name": "cloud" | "mixture", "params": {...lists and floats...}, "label": "drawing (1,234 points)"}

that `playground.distributions.make_distribution(entry["name"], entry["params"])` accepts (every
builder checks that before returning). Bad input raises `InputError` (a ValueError) with one
readable line. The drawing canvas (streamlit-drawable-canvas) is imported lazily by
`load_canvas`: its module registers a Streamlit component on import, which fails outside a
running app, so nothing here needs it at import time.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import torch

from playground.distributions import DISTRIBUTIONS, Distribution, make_distribution
from playground.userdata import (
    BOX,
    MAX_IMAGE_PIXELS,
    MAX_POINTS,
    MAX_UPLOAD_BYTES,
    InputError,
    canvas_to_box,
    points_from_clicks,
    points_from_csv,
    points_from_image,
    points_from_strokes,
    points_to_csv,
)

SIDES = ("base", "target")
CANVAS_PX = 400  # square canvas: its 400 px span the box [-BOX, BOX] in both directions
MIN_BANDWIDTH = 0.01
DECIMALS = 4
CAPS_TEXT = (f"Caps: files up to {MAX_UPLOAD_BYTES // 2**20} MB, images up to "
             f"{MAX_IMAGE_PIXELS / 1e6:g} million pixels, at most {MAX_POINTS:,} points "
             "(larger CSVs are thinned).")

__all__ = ["InputError", "Made", "SIDES", "CANVAS_PX", "CAPS_TEXT", "entry_from_points",
           "entry_from_clicks", "from_strokes", "from_clicks", "from_image", "from_csv",
           "click_points", "entry_label", "entry_points", "entry_distribution", "sample_entry",
           "side_distribution", "entry_csv", "canvas_objects", "grid_png", "load_canvas"]


@dataclass
class Made:
    """A validated `user_dist` entry and the notes on how it was made (thinning, rescale...)."""

    entry: dict
    notes: list[str] = field(default_factory=list)


def _check(entry: dict) -> dict:
    """Build the distribution once: a bad entry never reaches session state."""
    make_distribution(entry["name"], entry["params"])
    return entry


def _rounded(points: Any) -> list[list[float]]:
    arr = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return np.round(arr, DECIMALS).tolist()


def entry_from_points(points: Any, bandwidth: float, label: str) -> dict:
    """A "cloud" entry: points (n, 2) in box units (at most MAX_POINTS), bandwidth >= 0.01."""
    arr = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(arr) == 0:
        raise InputError("there are no points")
    if len(arr) > MAX_POINTS:
        arr = arr[np.linspace(0, len(arr) - 1, MAX_POINTS).round().astype(int)]
    if not math.isfinite(bandwidth):
        raise InputError(f"the bandwidth must be a number, got {bandwidth}")
    bw = round(max(MIN_BANDWIDTH, float(bandwidth)), DECIMALS)
    return _check({"name": "cloud", "params": {"points": _rounded(arr), "bandwidth": bw},
                   "label": label})


def entry_from_clicks(points: Any, width: float, label: str | None = None) -> dict:
    """A "mixture" entry: one isotropic Gaussian bump of std `width` per clicked point (box units)."""
    means = points_from_clicks(np.asarray(points, dtype=np.float64).reshape(-1, 2).tolist()).points
    if not (math.isfinite(width) and width > 0):
        raise InputError(f"the bump width must be a positive number, got {width}")
    k = len(means)
    s = round(max(MIN_BANDWIDTH, float(width)), DECIMALS)
    label = label or f"clicks ({k} bump{'s' if k != 1 else ''})"
    return _check({"name": "mixture",
                   "params": {"means": _rounded(means), "stds": [s] * k, "weights": [1.0 / k] * k},
                   "label": label})


def _short(name: str, limit: int = 24) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


# ----------------------------------------------------------------------------- sources


def canvas_objects(json_data: dict | None) -> list:
    """The fabric objects of a canvas value ([] for None or a malformed value)."""
    objects = json_data.get("objects") if isinstance(json_data, dict) else None
    return objects if isinstance(objects, list) else []


def from_strokes(json_data: dict | None, thickness: float, size: int = CANVAS_PX, seed: int = 0) -> Made:
    """Freehand strokes -> a cloud on the strokes' centre lines, blurred by `thickness` (box units).

    The thickness is applied once, as the cloud's bandwidth: the points are sampled on the centre
    lines (thickness 0 in `points_from_strokes`) and the cloud adds N(0, thickness²) noise, so the
    density is the drawing blurred by a Gaussian of std = thickness, and the mixture the exact
    field sees is that same density.
    """
    if not (math.isfinite(thickness) and thickness > 0):
        raise InputError(f"the thickness must be a positive number, got {thickness}")
    res = points_from_strokes(json_data, size, size, 0.0, seed=seed)
    entry = entry_from_points(res.points, thickness, f"drawing ({len(res.points):,} points)")
    return Made(entry, res.notes)


def click_points(json_data: dict | None, size: int = CANVAS_PX) -> tuple[np.ndarray, list[str]]:
    """Centres (n, 2), box units, of the point-mode circles on a canvas; other objects are ignored.

    Uses userdata's own fabric placement (`_object_shapes`), so it agrees with `points_from_strokes`.
    """
    from playground.userdata import _object_shapes  # no public per-click helper (reported)

    dots, skipped = [], 0
    for obj in canvas_objects(json_data):
        kind = str(obj.get("type", "")).lower() if isinstance(obj, dict) else ""
        try:
            if kind not in ("circle", "point"):
                raise LookupError(kind)
            lines, ds = _object_shapes(obj)
            if lines:  # a large ring, not a click
                raise LookupError(kind)
            dots += ds
        except (LookupError, TypeError, ValueError, AttributeError):
            skipped += 1
    notes = [f"ignored {skipped} object(s) that are not clicked points"] if skipped else []
    if not dots:
        return np.zeros((0, 2)), notes
    return canvas_to_box(np.array(dots), size, size), notes


def from_clicks(json_data: dict | None, width: float, size: int = CANVAS_PX) -> Made:
    """Clicked points -> a Gaussian mixture with one bump of std `width` per point."""
    pts, notes = click_points(json_data, size)
    if len(pts) == 0:
        raise InputError("no points yet: click on the canvas to place at least one point")
    entry = entry_from_clicks(pts, width)
    return Made(entry, notes + [f"{len(pts)} bump(s) of width {entry['params']['stds'][0]:g}"])


def from_image(data: bytes, name: str, threshold: float, contrast: float, invert: bool,
               seed: int = 0) -> Made:
    """A PNG/JPEG -> a cloud sampled by darkness (or lightness), bandwidth = one pixel (box units)."""
    res = points_from_image(data, threshold=threshold, invert=invert, contrast=contrast, seed=seed)
    from PIL import Image  # already decoded and checked by points_from_image

    with Image.open(io.BytesIO(data)) as img:
        w, h = img.size
    pixel = 2.0 * BOX / max(w, h)
    label = f"image {_short(name)} ({len(res.points):,} points)"
    return Made(entry_from_points(res.points, pixel, label), res.notes)


def from_csv(data: bytes, name: str, rescale: bool, bandwidth: float, seed: int = 0) -> Made:
    """A CSV of x, y rows -> a cloud with the given bandwidth (thinned to MAX_POINTS, with a note)."""
    res = points_from_csv(data, rescale=rescale, seed=seed)
    label = f"CSV {_short(name)} ({len(res.points):,} points)"
    return Made(entry_from_points(res.points, bandwidth, label), res.notes)


# ----------------------------------------------------------------------------- using entries


def entry_label(entry: dict) -> str:
    return str(entry.get("label") or entry.get("name", "yours"))


def entry_points(entry: dict) -> np.ndarray:
    """The points of a cloud entry, or the means of a mixture entry, (n, 2) float32."""
    key = "points" if entry["name"] == "cloud" else "means"
    return np.asarray(entry["params"][key], dtype=np.float32).reshape(-1, 2)


def entry_csv(entry: dict) -> bytes:
    """Download form: the points (or means) as CSV with header x,y; loads back via `from_csv`."""
    return points_to_csv(entry_points(entry))


def entry_distribution(entry: dict) -> Distribution:
    return make_distribution(entry["name"], entry["params"])


def sample_entry(entry: dict, n: int = 2000, seed: int = 0) -> np.ndarray:
    """n samples (n, 2) of what the user made, from a fixed seed (a stable preview)."""
    return entry_distribution(entry).sample(n, torch.Generator().manual_seed(seed)).numpy()


def side_distribution(choice: str | None, user_entry: dict | None, default: str) -> tuple[Distribution, str]:
    """The distribution a side of the Playground currently uses, and its label.

    `choice` is that side's selectbox value ("user" means `user_entry`); anything unknown
    falls back to `default`.
    """
    if choice == "user" and user_entry:
        return entry_distribution(user_entry), f"yours: {entry_label(user_entry)}"
    name = choice if choice in DISTRIBUTIONS else default
    dist = DISTRIBUTIONS[name]()
    return dist, dist.label


# ----------------------------------------------------------------------------- canvas


@lru_cache(maxsize=4)
def grid_png(size: int = CANVAS_PX) -> bytes:
    """A light grid of the box (a line every unit, darker axes) as PNG bytes, for the canvas."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(img)
    n = int(2 * BOX)
    for i in range(n + 1):
        p = round(i * (size - 1) / n)
        color = "#c8c8c8" if i == n // 2 else "#ececec"
        draw.line([(p, 0), (p, size)], fill=color)
        draw.line([(0, p), (size, p)], fill=color)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def load_canvas() -> tuple[Any, str | None]:
    """(st_canvas, None), or (None, reason) when the drawing component cannot be used here.

    Importing streamlit_drawable_canvas registers its component with the running app; outside
    `streamlit run` / AppTest that raises StreamlitAPIException ("must be declared in
    pyproject.toml with asset_dir"), and a broken install raises ImportError.
    """
    try:
        from streamlit_drawable_canvas import st_canvas
    except Exception as exc:  # noqa: BLE001 - any failure means: no canvas, uploads still work
        return None, f"{type(exc).__name__}: {exc}"
    return st_canvas, None
