"""Turn what a user makes into a 2D point cloud in the shared box [-BOX, BOX]^2.

Sources: canvas strokes (streamlit-drawable-canvas / fabric.js JSON), clicked points, an
uploaded PNG/JPEG, an uploaded CSV, or a file on disk (the CLI's ``file:PATH`` spec).
Every function validates strictly and raises :class:`InputError` with one readable line;
on success it returns a :class:`PointsResult` whose ``points`` (n, 2) float32 have y pointing
up (canvas and image rows point down, so y is flipped). The point-cloud distribution
resamples these points and adds Gaussian noise; nothing here imports Streamlit.

Randomness (thinning, sampling strokes and images) uses a seeded ``numpy.random.Generator``,
so the same input and seed give the same points.
"""

from __future__ import annotations

import io
import math
import struct
import warnings
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

BOX = 4.0
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_IMAGE_PIXELS = 4_000_000
MAX_POINTS = 20_000
MAX_CSV_ROWS = 1_000_000
ALLOWED_IMAGE_FORMATS = ("PNG", "JPEG")
FILE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".csv", ".txt", ".npy")

# A dot (point-mode circle, click-only stroke) weighs as much as this stroke length (box units).
DOT_WEIGHT = 0.5
DOT_RADIUS_PX = 10.0  # circles up to this radius are dots; larger ones are rings
_F32_MAX = float(np.finfo(np.float32).max)
# Modes converted with PIL's own convert("RGBA"); 16-bit grey is handled separately.
_RGBA_MODES = {"1", "L", "LA", "La", "P", "PA", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr"}
_GREY16_MODES = {"I", "I;16", "I;16B", "I;16L", "I;16N"}
# What PIL's decoders raise on truncated or corrupt data.
_DECODE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    KeyError,
    TypeError,
    struct.error,
    zlib.error,
)


class InputError(ValueError):
    """A user input that cannot be used; ``str(err)`` is one readable line for the user."""


@dataclass
class PointsResult:
    """Points (n, 2) float32 in box units, y up, and notes on what was done to them."""

    points: np.ndarray
    notes: list[str] = field(default_factory=list)


def validate_points(points: Any, *, allow_single: bool = False, in_box: bool = False) -> np.ndarray:
    """Check and return ``points`` as a float32 array (n, 2).

    Rejects a wrong shape, non-finite values, no points, and (unless ``allow_single``) fewer
    than 2 points or all points identical. With ``in_box``, every point must lie in the box.
    """
    try:
        arr = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InputError(f"the points are not numbers: {err}") from None
    if arr.ndim != 2 or arr.shape[1] != 2:
        if arr.size == 0:
            raise InputError("there are no points")
        raise InputError(f"expected points as pairs (x, y), got an array of shape {arr.shape}")
    n = arr.shape[0]
    if n == 0:
        raise InputError("there are no points")
    bad = ~np.isfinite(arr).all(axis=1) | (np.abs(arr) > _F32_MAX).any(axis=1)
    if bad.any():
        raise InputError(f"point {int(np.argmax(bad)) + 1} is NaN, infinite or too large")
    if not allow_single:
        if n < 2:
            raise InputError("a single point is not a cloud: give at least 2 distinct points")
        if not (arr != arr[0]).any():
            raise InputError(f"all {n:,} points are identical: give at least 2 distinct points")
    if in_box:
        outside = (np.abs(arr) > BOX).any(axis=1)
        if outside.any():
            raise InputError(
                f"{int(outside.sum()):,} of {n:,} points lie outside the box "
                f"[-{BOX:g}, {BOX:g}]^2; use the rescale option to fit them"
            )
    return arr.astype(np.float32)


def _thin(points: np.ndarray, max_points: int, seed: int, notes: list[str]) -> np.ndarray:
    """Keep a seeded random subset of at most ``max_points`` rows, in their original order."""
    if max_points < 1:
        raise InputError("max_points must be at least 1")
    n = points.shape[0]
    if n <= max_points:
        return points
    keep = np.sort(np.random.default_rng(seed).choice(n, size=max_points, replace=False))
    notes.append(f"thinned from {n:,} to {max_points:,} points")
    return points[keep]


def _finish_cloud(
    points: Any, rescale: bool, max_points: int, seed: int, notes: list[str]
) -> PointsResult:
    """Validate, rescale into 90% of the box (uniform scale, centred) or check the box, thin."""
    pts = validate_points(points).astype(np.float64)
    if rescale:
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        scale = 0.9 * BOX / (float((hi - lo).max()) / 2.0)
        pts = (pts - (lo + hi) / 2.0) * scale
        notes.append(f"rescaled into the box (scale {scale:.4g})")
    else:
        validate_points(pts, in_box=True)
    return PointsResult(_thin(pts.astype(np.float32), max_points, seed, notes), notes)


def canvas_to_box(xy_pixels: Any, width: float, height: float) -> np.ndarray:
    """Map canvas/image pixel coordinates (n, 2), y down, to box coordinates (n, 2), y up.

    The longer side of the width x height canvas spans [-BOX, BOX]; the other is centred.
    """
    if not (width > 0 and height > 0):
        raise InputError(f"the canvas size must be positive, got {width} x {height}")
    xy = np.asarray(xy_pixels, dtype=np.float64).reshape(-1, 2)
    s = 2.0 * BOX / max(width, height)
    return np.stack([(xy[:, 0] - width / 2.0) * s, (height / 2.0 - xy[:, 1]) * s], axis=1)


# ----------------------------------------------------------------------------- strokes


def _path_polyline(commands: Sequence[Sequence[Any]]) -> list[np.ndarray]:
    """SVG/fabric path commands (absolute M, L, Q, C, Z; relative lowercase) -> polylines (k, 2)."""
    lines: list[list[np.ndarray]] = []
    cur = start = np.zeros(2)
    ts = np.linspace(0.0, 1.0, 17)[1:, None]
    for cmd in commands:
        op, nums = str(cmd[0]), np.asarray(cmd[1:], dtype=np.float64)
        rel = op.islower() and op.lower() != "z"
        pts = nums.reshape(-1, 2) + (cur if rel else 0.0) if nums.size else nums.reshape(0, 2)
        op = op.upper()
        if op == "M":
            cur = start = pts[0]
            lines.append([cur[None, :]])
        elif op == "Z":
            if lines:
                lines[-1].append(start[None, :])
            cur = start
        elif op in ("L", "Q", "C") and lines:
            if op == "L":
                seg = pts
            elif op == "Q":
                seg = (1 - ts) ** 2 * cur + 2 * (1 - ts) * ts * pts[0] + ts**2 * pts[1]
            else:
                seg = (
                    (1 - ts) ** 3 * cur
                    + 3 * (1 - ts) ** 2 * ts * pts[0]
                    + 3 * (1 - ts) * ts**2 * pts[1]
                    + ts**3 * pts[2]
                )
            lines[-1].append(seg)
            cur = seg[-1]
        else:
            raise ValueError(f"unsupported path command {cmd[0]!r}")
    return [np.concatenate(parts) for parts in lines]


def _origin(value: Any) -> float:
    named = {"left": -0.5, "top": -0.5, "center": 0.0, "right": 0.5, "bottom": 0.5}
    return named[value] if isinstance(value, str) else float(value)


def _placement(obj: dict) -> tuple[np.ndarray, np.ndarray]:
    """fabric object -> (centre (2,), matrix (2, 2)) with canvas = centre + matrix @ local.

    Follows fabric.js: (left, top) is the ``originX/originY`` point of the box that includes
    the stroke width; scale, flip and rotation act about the centre.
    """
    sx = float(obj.get("scaleX", 1.0)) * (-1.0 if obj.get("flipX") else 1.0)
    sy = float(obj.get("scaleY", 1.0)) * (-1.0 if obj.get("flipY") else 1.0)
    a = math.radians(float(obj.get("angle", 0.0)))
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    sw = float(obj.get("strokeWidth", 0.0) or 0.0)
    w, h = float(obj.get("width", 0.0)), float(obj.get("height", 0.0))
    if obj.get("strokeUniform"):
        dims = np.array([w * abs(sx) + sw, h * abs(sy) + sw])
    else:
        dims = np.array([(w + sw) * abs(sx), (h + sw) * abs(sy)])
    org = np.array([_origin(obj.get("originX", "center")), _origin(obj.get("originY", "center"))])
    centre = np.array([float(obj["left"]), float(obj["top"])]) - rot @ (dims * org)
    return centre, rot @ np.diag([sx, sy])


_SHAPES = ("path", "line", "circle", "point", "rect", "polygon", "polyline")


def _object_shapes(obj: dict) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """One fabric object of a type in ``_SHAPES`` -> (polylines (k, 2), dots (2,)) in pixels."""
    kind = str(obj.get("type", "")).lower()
    placed = "left" in obj and "top" in obj
    if kind == "path":
        lines = _path_polyline(obj["path"])
        if placed:  # path commands are in the path's own frame, offset by its bounding-box centre
            allp = np.concatenate(lines)
            offset = (allp.min(axis=0) + allp.max(axis=0)) / 2.0
            c, m = _placement(obj)
            lines = [c + (p - offset) @ m.T for p in lines]
    else:
        c, m = _placement(obj) if placed else (np.zeros(2), np.eye(2))
        if kind == "line":
            local = [np.array([[obj["x1"], obj["y1"]], [obj["x2"], obj["y2"]]], dtype=np.float64)]
        elif kind in ("circle", "point"):
            r = float(obj.get("radius", 0.0)) * float(np.linalg.norm(m, axis=0).max())
            if r <= DOT_RADIUS_PX:
                return [], [c]
            th = np.linspace(0.0, 2 * np.pi, 65)[:, None]
            local = [float(obj["radius"]) * np.hstack([np.cos(th), np.sin(th)])]
        elif kind == "rect":
            hw, hh = float(obj["width"]) / 2.0, float(obj["height"]) / 2.0
            local = [np.array([[-hw, -hh], [hw, -hh], [hw, hh], [-hw, hh], [-hw, -hh]])]
        else:
            p = np.array([[q["x"], q["y"]] for q in obj["points"]], dtype=np.float64)
            p = p - (p.min(axis=0) + p.max(axis=0)) / 2.0 if placed else p
            local = [np.vstack([p, p[:1]]) if kind == "polygon" else p]
        lines = [c + p @ m.T for p in local]
    dots = [p[0] for p in lines if len(p) and np.ptp(p, axis=0).max() == 0.0]
    return [p for p in lines if len(p) and np.ptp(p, axis=0).max() > 0.0], dots


def points_from_strokes(
    json_data: dict | None,
    width: int,
    height: int,
    thickness: float,
    n_per_unit: float = 400.0,
    seed: int = 0,
    max_points: int = MAX_POINTS,
) -> PointsResult:
    """Sample a drawing (streamlit-drawable-canvas ``json_data``) into points (n, 2).

    Points are uniform by arc length along every stroke (paths, lines, rectangles, polygons,
    large circles), plus dots (small circles, click-only strokes) that each weigh as much as
    ``DOT_WEIGHT`` box units of stroke; then isotropic Gaussian jitter of std ``thickness``
    (box units). About ``n_per_unit`` points per box unit of length, at least 1,000 and at
    most ``max_points``. ``width`` x ``height`` is the canvas size in pixels.
    """
    if not (math.isfinite(thickness) and thickness >= 0):
        raise InputError(f"the stroke thickness must be a non-negative number, got {thickness}")
    objects = json_data.get("objects") if isinstance(json_data, dict) else None
    notes: list[str] = []
    lines: list[np.ndarray] = []
    dots: list[np.ndarray] = []
    skipped: dict[str, int] = {}
    for obj in objects if isinstance(objects, list) else []:
        kind = str(obj.get("type", "?")).lower() if isinstance(obj, dict) else "unreadable"
        try:
            if kind not in _SHAPES:
                raise LookupError
            ls, ds = _object_shapes(obj)
        except (LookupError, TypeError, ValueError, AttributeError):
            key = kind if kind not in _SHAPES else "unreadable"
            skipped[key] = skipped.get(key, 0) + 1
            continue
        lines += ls
        dots += ds
    if skipped:
        notes.append(
            "ignored " + ", ".join(f"{v} {k} object(s)" for k, v in sorted(skipped.items()))
        )
    if not lines and not dots:
        raise InputError("the canvas is empty: draw at least one stroke")
    coords = np.concatenate([*lines, np.reshape(dots, (-1, 2))])
    if not np.isfinite(coords).all() or np.abs(coords).max() > 1e6:
        raise InputError("the drawing has coordinates that are not finite or far outside the canvas")
    lines = [canvas_to_box(p, width, height) for p in lines]
    dot_pts = canvas_to_box(np.array(dots), width, height) if dots else np.zeros((0, 2))
    if not lines and len(np.unique(dot_pts, axis=0)) < 2:
        raise InputError("the drawing is a single point: draw a stroke or at least 2 points")
    a = np.concatenate([p[:-1] for p in lines] + [dot_pts])
    b = np.concatenate([p[1:] for p in lines] + [dot_pts])
    seg_len = np.linalg.norm(b - a, axis=1)
    weight = np.where(np.arange(len(a)) >= len(a) - len(dot_pts), DOT_WEIGHT, seg_len)
    cum = np.cumsum(weight)
    total = float(cum[-1])
    n = int(min(max(math.ceil(n_per_unit * total), 1000), max_points))
    rng = np.random.default_rng(seed)
    u = rng.uniform(0.0, total, size=n)
    idx = np.minimum(np.searchsorted(cum, u, side="right"), len(a) - 1)  # never a 0-length one
    start = cum[idx] - weight[idx]
    t = np.clip((u - start) / np.maximum(weight[idx], 1e-300), 0.0, 1.0)[:, None]
    pts = a[idx] + t * (b[idx] - a[idx]) + thickness * rng.standard_normal((n, 2))
    notes.append(
        f"{n:,} points from {len(lines)} stroke(s) and {len(dot_pts)} dot(s)"
        f"{' (capped)' if n == max_points else ''}"
    )
    return PointsResult(validate_points(pts), notes)


def points_from_clicks(points_xy: Sequence[Sequence[float]]) -> PointsResult:
    """Clicked points (n, 2) in box units -> the means of Gaussian bumps (n, 2); n >= 1."""
    if len(points_xy) == 0:
        raise InputError("no points yet: click at least one point")
    pts = validate_points(points_xy, allow_single=True, in_box=True)
    return PointsResult(pts, [f"{len(pts)} point(s)"])


# ----------------------------------------------------------------------------- images


def _check_upload(data: bytes, what: str) -> None:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InputError(f"the {what} must be given as bytes")
    if len(data) == 0:
        raise InputError(f"the {what} is empty (0 bytes)")
    if len(data) > MAX_UPLOAD_BYTES:
        raise InputError(
            f"the {what} is {len(data) / 2**20:.1f} MiB; the limit is "
            f"{MAX_UPLOAD_BYTES / 2**20:.0f} MiB"
        )


def _open_image(data: bytes) -> Image.Image:
    """Open, check size and frames before decoding, then decode fully; errors -> InputError."""
    big = f"the image is too large: at most {MAX_IMAGE_PIXELS:,} pixels"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=ALLOWED_IMAGE_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InputError(big) from None
    except UnidentifiedImageError:
        raise InputError("the file is not a PNG or JPEG image") from None
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        raise InputError(f"the image file is damaged: {err}") from None
    w, h = img.size
    if w * h > MAX_IMAGE_PIXELS:
        raise InputError(f"{big}, this one is {w:,} x {h:,}")
    if w * h == 0:
        raise InputError("the image has no pixels")
    if getattr(img, "n_frames", 1) > 1 or getattr(img, "is_animated", False):
        raise InputError(
            "animated or multi-frame images are not supported: use a still PNG or JPEG"
        )
    if (
        ImageFile.LOAD_TRUNCATED_IMAGES
    ):  # enabled globally somewhere: truncation would pass silently
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES is on; userdata needs it off")
    try:
        img.load()
        return ImageOps.exif_transpose(img)
    except _DECODE_ERRORS as err:
        raise InputError(f"the image file is truncated or damaged: {err}") from None


def image_density(img: Image.Image, invert: bool = False) -> np.ndarray:
    """Density (H, W) float32 in [0, 1]: darkness (or lightness if ``invert``) times opacity."""
    if img.mode in _GREY16_MODES:
        arr = np.asarray(img, dtype=np.float32)
        lum, alpha = np.clip(arr / 65535.0, 0.0, 1.0), np.float32(1.0)
    elif img.mode in _RGBA_MODES:
        rgba = np.asarray(img.convert("RGBA"), dtype=np.float32) / 255.0
        lum = rgba[..., 0] * 0.299 + rgba[..., 1] * 0.587 + rgba[..., 2] * 0.114
        alpha = rgba[..., 3]
    else:
        raise InputError(
            f"unsupported image mode {img.mode!r}: save it as an 8-bit RGB or grey PNG"
        )
    return ((lum if invert else 1.0 - lum) * alpha).astype(np.float32)


def points_from_image(
    data: bytes,
    threshold: float = 0.5,
    invert: bool = False,
    contrast: float = 1.0,
    max_points: int = MAX_POINTS,
    seed: int = 0,
) -> PointsResult:
    """Sample ``max_points`` points (n, 2) from a PNG/JPEG with probability ~ density.

    density = (darkness * opacity) ** contrast, set to 0 below ``threshold``; transparent
    pixels never count. Each point is uniform inside its pixel; the image keeps its aspect
    ratio and orientation (the top of the image is high y).
    """
    if not 0.0 <= threshold <= 1.0:
        raise InputError(f"the threshold must be between 0 and 1, got {threshold}")
    if not (math.isfinite(contrast) and contrast > 0):
        raise InputError(f"the contrast must be a positive number, got {contrast}")
    if max_points < 1:
        raise InputError("max_points must be at least 1")
    _check_upload(data, "image file")
    img = _open_image(data)
    dens = image_density(img, invert) ** np.float32(contrast)
    dens[dens < threshold] = 0.0
    flat = dens.ravel().astype(np.float64)
    total = flat.sum()
    if not total > 0:
        raise InputError(
            f"the image has no {'light' if invert else 'dark'} or opaque pixels above "
            f"the threshold {threshold:g}: lower the threshold or try invert"
        )
    rng = np.random.default_rng(seed)
    idx = rng.choice(flat.size, size=max_points, p=flat / total)
    h, w = dens.shape
    xy = np.stack([idx % w, idx // w], axis=1) + rng.uniform(0.0, 1.0, (max_points, 2))
    pts = canvas_to_box(xy, w, h)
    notes = [
        f"sampled {max_points:,} points from {int((flat > 0).sum()):,} pixels of a {w} x {h} image"
    ]
    return PointsResult(validate_points(pts, allow_single=True), notes)


# ----------------------------------------------------------------------------- CSV / files


def _parse_number(tok: str, line_no: int) -> float:
    try:
        v = float(tok)
    except ValueError:
        raise InputError(f"line {line_no}: {tok.strip()[:30]!r} is not a number") from None
    if not math.isfinite(v) or abs(v) > _F32_MAX:
        raise InputError(f"line {line_no}: {tok.strip()[:30]!r} is NaN, infinite or too large")
    return v


def points_from_csv(
    data: bytes, rescale: bool = False, max_points: int = MAX_POINTS, seed: int = 0
) -> PointsResult:
    """Read exactly two numeric columns (x, y) into points (n, 2).

    The header is optional (a first row that is not numeric). Delimiter: ``;`` if the first
    line has one, else ``,``, else tab, else whitespace. Blank lines and ``#`` comments are
    skipped. More than ``MAX_CSV_ROWS`` rows is rejected; more than ``max_points`` is thinned.
    With ``rescale`` the cloud is scaled uniformly and centred to fit 90% of the box;
    otherwise points outside the box are rejected.
    """
    _check_upload(data, "CSV file")
    try:
        text = bytes(data).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("the CSV file is not UTF-8 text") from None
    cap = MAX_CSV_ROWS
    delim: str | None = None
    rows: list[tuple[float, float]] = []
    notes: list[str] = []
    first = True
    for line_no, line in enumerate(io.StringIO(text), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if delim is None:
            delim = next((d for d in (";", ",", "\t") if d in line), "")
        fields = line.split(delim) if delim else line.split()
        if len(fields) != 2:
            raise InputError(f"line {line_no}: expected 2 columns (x, y), found {len(fields)}")
        if first:
            first = False
            if not all(_is_number(f) for f in fields):
                notes.append(f"header: {line[:40]}")
                continue
        rows.append((_parse_number(fields[0], line_no), _parse_number(fields[1], line_no)))
        if len(rows) > cap:
            raise InputError(f"the CSV file has more than {cap:,} rows")
    if not rows:
        raise InputError("the CSV file has no data rows")
    if len(rows) == 1:
        raise InputError("the CSV file has only 1 row: give at least 2 distinct points")
    return _finish_cloud(np.array(rows), rescale, max_points, seed, notes)


def _is_number(tok: str) -> bool:
    try:
        float(tok)
        return True
    except ValueError:
        return False


def points_from_npy(
    data: bytes, rescale: bool = False, max_points: int = MAX_POINTS, seed: int = 0
) -> PointsResult:
    """Read a ``.npy`` array of shape (n, 2) (no pickles) into points (n, 2); see CSV options."""
    _check_upload(data, ".npy file")
    raw = bytes(data)
    try:  # read the header first: np.load allocates the declared shape before reading any data
        fp = io.BytesIO(raw)
        version = np.lib.format.read_magic(fp)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
            np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(fp)
    except (ValueError, OSError, EOFError) as err:
        raise InputError(f"cannot read the .npy file: {err}") from None
    if math.prod(shape) * dtype.itemsize > len(raw):
        raise InputError(f"cannot read the .npy file: its header declares a {' x '.join(map(str, shape))} "
                         f"array, more than the {len(raw):,} bytes it holds")
    try:
        arr = np.load(io.BytesIO(raw), allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise InputError(f"cannot read the .npy file: {err}") from None
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "iuf":
        raise InputError("the .npy file must hold a numeric array of shape (n, 2)")
    return _finish_cloud(arr, rescale, max_points, seed, [])


def load_points_file(path: str | Path, **kwargs: Any) -> PointsResult:
    """Load points (n, 2) from a .png/.jpg/.jpeg, .csv/.txt or .npy file.

    ``kwargs`` go to the reader (image: threshold, invert, contrast, max_points, seed;
    CSV and .npy: rescale, max_points, seed). The upload size cap applies to files too.
    """
    p = Path(path)
    ext = p.suffix.lower()
    readers = {
        ".png": points_from_image,
        ".jpg": points_from_image,
        ".jpeg": points_from_image,
        ".csv": points_from_csv,
        ".txt": points_from_csv,
        ".npy": points_from_npy,
    }
    if ext not in readers:
        raise InputError(
            f"unknown file type {ext or '(none)'!r} for {p}: use one of "
            + ", ".join(FILE_EXTENSIONS)
        )
    if not p.is_file():
        raise InputError(f"no such file: {p}")
    if p.stat().st_size > MAX_UPLOAD_BYTES:
        raise InputError(
            f"{p} is {p.stat().st_size / 2**20:.1f} MiB; the limit is "
            f"{MAX_UPLOAD_BYTES / 2**20:.0f} MiB"
        )
    try:
        data = p.read_bytes()
    except OSError as err:
        raise InputError(f"cannot read {p}: {err.strerror or err}") from None
    try:
        return readers[ext](data, **kwargs)
    except TypeError as err:
        raise InputError(f"bad option for a {ext} file: {err}") from None


def points_to_csv(points: Any) -> bytes:
    """Points (n, 2) -> CSV bytes with header ``x,y``; reading them back is exact in float32."""
    pts = validate_points(points, allow_single=True)
    buf = io.StringIO()
    buf.write("x,y\n")
    np.savetxt(buf, pts.astype(np.float64), fmt="%.9g", delimiter=",")
    return buf.getvalue().encode("utf-8")
