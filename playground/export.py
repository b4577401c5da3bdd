"""Exports of a playground run, and loading a model back: HTML, PNG, GIF, CSV, weights.

Pure functions (no Streamlit), bytes or text out, so the page, the CLI or a notebook can use them:

- `animation_html(fig)`: the Plotly animation as one HTML file with plotly.js inlined (plays
  offline, about 4.7 MB plus the data).
- `render_frame` / `frame_png` / `animation_gif`: pictures drawn with Pillow and numpy (no
  browser, no extra dependency): particles as small discs coloured by their start, faint target
  samples behind, drift arrows when the animation has them, the true interpolant beside.
- `samples_csv` / `trajectories_csv` and their readers: columns `particle,x,y` and
  `frame,t,particle,x,y`.
- `weights_bytes` / `read_weights` / `load_weights` / `install_weights`: the model as a torch file
  {"format", "version", "config", "state_dict", "denoiser", "step", "train_seconds", "losses"}
  (state_dict: `TrainState.network`, as in the CLI's model.pt, which loads too), read back with
  `torch.load(weights_only=True)` (no code runs) and validated against its config.

Why Pillow for PNG and GIF: it is already a dependency, well kept, works offline and needs no
browser. Plotly's own static export needs kaleido plus a Chrome it drives: kaleido is not
installed here, and kaleido 1.5 with this machine's Chromium failed to start the browser
("BrowserFailedError") when tried, so a server would need a working headless Chrome just to
write a PNG. matplotlib would be a new ~40 MB dependency for scatter plots numpy draws in a
millisecond.

Shapes: AnimationData.paths and true_frames (T, n, 2), times (T,), goal (m, 2), arrows (T, g, 4).
"""

from __future__ import annotations

import dataclasses
import io
import math
import zipfile
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from playground.animation import AnimationData
from playground.config import ConfigError, ExperimentConfig
from playground.figures import BOX, auto_arrow_scale, position_colors

WEIGHTS_FORMAT = "interpolant-playground-weights"
WEIGHTS_VERSION = 1
MAX_WEIGHTS_BYTES = 12 * 2**20
"""Upload cap. The largest model LIMITS allow (width 512, depth 8) is about 7.5 MB."""
MAX_LOSSES = 200_000
GIF_MAX_FRAMES = 201


class ExportError(ValueError):
    """A file could not be exported or loaded; the message says why, for the user."""


# ----------------------------------------------------------------------------- HTML


def animation_html(fig) -> bytes:
    """The figure as a standalone HTML page: plotly.js inlined, no network needed, not auto-playing."""
    return fig.to_html(include_plotlyjs=True, full_html=True, auto_play=False).encode("utf-8")


def standalone_html(fig, anim: AnimationData | None = None) -> bytes:
    """The animation as one offline HTML file: the Plotly figure when there is one (`fig`), else
    the canvas renderer's page (`playground.canvas_anim`, also self-contained) built from anim."""
    if fig is not None:
        return animation_html(fig)
    if anim is None:
        raise ExportError("nothing to export: neither a figure nor animation data")
    from playground.canvas_anim import canvas_animation_html

    return canvas_animation_html(anim.paths, anim.times, anim.true_frames, anim.goal).encode("utf-8")


# ----------------------------------------------------------------------------- pictures

BG_GREY = (200, 200, 200)
ARROW_GREY = (120, 120, 120)
TEXT = (34, 34, 34)
FRAME_LINE = (68, 68, 68)
_DISC = [(dx, dy) for dx in range(-2, 3) for dy in range(-2, 3) if dx * dx + dy * dy <= 5]


def _rgb(colors) -> np.ndarray:
    """'#rrggbb' strings (n,) -> uint8 (n, 3)."""
    hexes = "".join(str(c)[1:7] for c in colors)
    return np.frombuffer(bytes.fromhex(hexes), dtype=np.uint8).reshape(-1, 3).copy()


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow built without FreeType
        return ImageFont.load_default()


def _to_pixels(points: np.ndarray, size: int, box: float) -> tuple[np.ndarray, np.ndarray]:
    """Points (n, 2) in [-box, box]² -> integer pixel columns, rows (n,) (y up); NaNs dropped."""
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    px = np.round((p[:, 0] + box) / (2 * box) * (size - 1))
    py = np.round((box - p[:, 1]) / (2 * box) * (size - 1))
    ok = np.isfinite(px) & np.isfinite(py)
    return px[ok].astype(np.int64), py[ok].astype(np.int64)


def _paint(img: np.ndarray, points: np.ndarray, colors: np.ndarray, box: float, stencil) -> None:
    """Draw each point (n, 2) as `stencil` pixels of its colour (n, 3) into img (H, W, 3) in place."""
    size = img.shape[0]
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    keep = np.isfinite(p).all(1)
    px, py = _to_pixels(p[keep], size, box)
    col = colors[keep] if len(colors) == len(p) else np.broadcast_to(colors, (len(px), 3))
    for dx, dy in stencil:
        x, y = px + dx, py + dy
        ok = (x >= 0) & (x < size) & (y >= 0) & (y < size)
        img[y[ok], x[ok]] = col[ok]


def _panel(points, colors, goal, arrows, arrow_scale, size: int, box: float, title: str) -> Image.Image:
    img = np.full((size, size, 3), 255, dtype=np.uint8)
    if goal is not None and len(goal):
        _paint(img, goal, np.array(BG_GREY, dtype=np.uint8), box, [(0, 0), (1, 0), (0, 1), (1, 1)])
    pil = Image.fromarray(img)
    draw = ImageDraw.Draw(pil)
    if arrows is not None and len(arrows):
        tips = arrows[:, :2] + arrow_scale * arrows[:, 2:]
        (x0, y0), (x1, y1) = _to_pixels(arrows[:, :2], size, box), _to_pixels(tips, size, box)
        for a, b, c, d in zip(x0.tolist(), y0.tolist(), x1.tolist(), y1.tolist(), strict=False):
            draw.line([(a, b), (c, d)], fill=ARROW_GREY, width=1)
            draw.ellipse([c - 2, d - 2, c + 2, d + 2], fill=ARROW_GREY)
    img = np.asarray(pil).copy()
    _paint(img, points, colors, box, _DISC)
    pil = Image.fromarray(img)
    draw = ImageDraw.Draw(pil)
    draw.rectangle([0, 0, size - 1, size - 1], outline=FRAME_LINE, width=1)
    draw.text((8, 6), title, fill=TEXT, font=_font(max(12, size // 28)))
    return pil


@dataclass(frozen=True)
class _Style:
    colors: np.ndarray
    true_colors: np.ndarray | None
    arrow_scale: float


def _style(anim: AnimationData, box: float) -> _Style:
    colors = _rgb(position_colors(anim.paths[0]))
    true_colors = None if anim.true_frames is None else _rgb(position_colors(anim.true_frames[0]))
    scale = auto_arrow_scale(anim.arrows, box) if anim.arrows is not None else 1.0
    return _Style(colors, true_colors, scale)


def render_frame(anim: AnimationData, frame: int, size: int = 480, box: float = BOX,
                 style: _Style | None = None) -> Image.Image:
    """Frame `frame` (negative counts from the end) as an RGB image: the learned particles,
    and the true interpolant beside when the animation has it. Size (size·panels, size + header)."""
    n_t = len(anim.times)
    if not -n_t <= frame < n_t:
        raise ExportError(f"frame {frame} is out of range: the animation has {n_t} frames")
    k = frame % n_t
    style = style or _style(anim, box)
    arrows = None if anim.arrows is None else anim.arrows[k]
    panels = [_panel(anim.paths[k], style.colors, anim.goal, arrows, style.arrow_scale, size, box,
                     "learned flow: X_t")]
    if anim.true_frames is not None:
        panels.append(_panel(anim.true_frames[k], style.true_colors, anim.goal, None, 1.0, size, box,
                             "true interpolant: x_t"))
    header = max(28, size // 14)
    gap = 12 if len(panels) > 1 else 0
    out = Image.new("RGB", (size * len(panels) + gap * (len(panels) - 1), size + header), "white")
    for i, p in enumerate(panels):
        out.paste(p, (i * (size + gap), header))
    ImageDraw.Draw(out).text((8, header // 5), f"t = {float(anim.times[k]):.3f}   frame {k + 1}/{n_t}",
                             fill=TEXT, font=_font(max(14, size // 22)))
    return out


def frame_png(anim: AnimationData, frame: int = -1, size: int = 480, box: float = BOX) -> bytes:
    """`render_frame` encoded as PNG bytes."""
    buf = io.BytesIO()
    render_frame(anim, frame, size, box).save(buf, format="PNG")
    return buf.getvalue()


def gif_frame_indices(n_frames: int, every: int = 1, max_frames: int = GIF_MAX_FRAMES) -> list[int]:
    """Frames a GIF keeps: every `every`-th, the last one always included, at most `max_frames`."""
    if n_frames < 1:
        raise ExportError("the animation has no frames")
    every = max(int(every), math.ceil(n_frames / max_frames), 1)
    idx = list(range(0, n_frames, every))
    if idx[-1] != n_frames - 1:
        idx.append(n_frames - 1)
    return idx


GIF_MAX_PARTICLES = 3000
"""Particles per panel drawn in a GIF (evenly thinned above): keeps it to a few seconds and MB."""


def thin(anim: AnimationData, max_particles: int) -> AnimationData:
    """The same animation with at most max_particles particles per panel (evenly chosen)."""
    def pick(a):
        if a is None or a.shape[1] <= max_particles:
            return a
        return a[:, np.linspace(0, a.shape[1] - 1, max_particles).round().astype(int)]

    return dataclasses.replace(anim, paths=pick(anim.paths), true_frames=pick(anim.true_frames))


def animation_gif(anim: AnimationData, size: int = 320, every: int = 1, fps: float = 12,
                  box: float = BOX, max_particles: int = GIF_MAX_PARTICLES) -> bytes:
    """The animation as a looping GIF of `len(gif_frame_indices(T, every))` frames, with at most
    `max_particles` particles per panel.

    Each frame is quantised to its own palette (Pillow's fast octree); the frame counter in the
    header keeps consecutive frames distinct, so Pillow never merges two of them.
    """
    anim = thin(anim, max_particles)
    style = _style(anim, box)
    frames = [render_frame(anim, k, size, box, style).quantize(256, method=Image.Quantize.FASTOCTREE)
              for k in gif_frame_indices(len(anim.times), every)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:],
                   duration=max(20, int(round(1000 / fps))), loop=0)
    return buf.getvalue()


# ----------------------------------------------------------------------------- CSV


def samples_csv(points: np.ndarray) -> str:
    """Points (n, 2) as CSV with header `particle,x,y`."""
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    buf = io.StringIO()
    buf.write("particle,x,y\n")
    np.savetxt(buf, np.column_stack([np.arange(len(p)), p]), fmt=["%d", "%.7g", "%.7g"], delimiter=",")
    return buf.getvalue()


def trajectories_csv(times: np.ndarray, paths: np.ndarray) -> str:
    """Paths (T, n, 2) at times (T,) as CSV `frame,t,particle,x,y`, one row per frame and particle."""
    paths = np.asarray(paths, dtype=np.float64)
    times = np.asarray(times, dtype=np.float64).reshape(-1)
    if paths.ndim != 3 or paths.shape[2] != 2 or paths.shape[0] != len(times):
        raise ExportError(f"paths must be (T, n, 2) with times (T,); got {paths.shape}, {times.shape}")
    n_t, n = paths.shape[:2]
    frame = np.repeat(np.arange(n_t), n)
    table = np.column_stack([frame, times[frame], np.tile(np.arange(n), n_t), paths.reshape(-1, 2)])
    buf = io.StringIO()
    buf.write("frame,t,particle,x,y\n")
    np.savetxt(buf, table, fmt=["%d", "%.7g", "%d", "%.7g", "%.7g"], delimiter=",")
    return buf.getvalue()


def _read(text: str, header: str) -> np.ndarray:
    lines = text.splitlines()
    if not lines or lines[0].strip() != header:
        raise ExportError(f"expected a CSV with header {header!r}")
    cols = len(header.split(","))
    return np.loadtxt(io.StringIO(text), delimiter=",", skiprows=1, ndmin=2).reshape(-1, cols)


def read_samples_csv(text: str) -> np.ndarray:
    """Inverse of `samples_csv`: points (n, 2) in particle order."""
    a = _read(text, "particle,x,y")
    return a[np.argsort(a[:, 0], kind="stable"), 1:]


def read_trajectories_csv(text: str) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of `trajectories_csv`: times (T,), paths (T, n, 2)."""
    a = _read(text, "frame,t,particle,x,y")
    n_t, n = int(a[:, 0].max()) + 1, int(a[:, 2].max()) + 1
    if len(a) != n_t * n:
        raise ExportError(f"expected {n_t} × {n} rows, found {len(a)}")
    paths = np.empty((n_t, n, 2))
    paths[a[:, 0].astype(int), a[:, 2].astype(int)] = a[:, 3:]
    times = np.empty(n_t)
    times[a[:, 0].astype(int)] = a[:, 1]
    return times, paths


# ----------------------------------------------------------------------------- weights


@dataclass(frozen=True)
class LoadedWeights:
    """A validated weights file: config, the network's state_dict (CPU tensors), training step,
    seconds and loss history (k,)."""

    config: ExperimentConfig
    state_dict: dict[str, torch.Tensor]
    step: int
    train_seconds: float
    losses: list[float]


def weights_bytes(cfg: ExperimentConfig, state_dict: dict, step: int = 0, train_seconds: float = 0.0,
                  losses=None, denoiser: str = "none") -> bytes:
    """A torch file: the config (a plain dict), the network's tensors (`TrainState.network`, the
    keys the CLI's model.pt has too), the denoiser kind and the run's progress."""
    losses = [] if losses is None else list(losses)[-MAX_LOSSES:]
    payload = {"format": WEIGHTS_FORMAT, "version": WEIGHTS_VERSION, "config": cfg.to_dict(),
               "state_dict": {k: v.detach().cpu().contiguous() for k, v in state_dict.items()},
               "denoiser": denoiser, "step": int(step), "train_seconds": float(train_seconds),
               "losses": torch.tensor(losses, dtype=torch.float32)}
    buf = io.BytesIO()
    torch.save(payload, buf)
    return buf.getvalue()


def save_weights(state) -> bytes:
    """`weights_bytes` of a `playground.training.TrainState` (drift and denoiser heads alike)."""
    return weights_bytes(state.config, state.sampling_network.state_dict(), state.step, state.train_seconds,
                         state.losses, state.denoiser_kind)


def _probe(cfg: ExperimentConfig):
    """A fresh CPU `TrainState` for cfg (its network's layout); ExportError if cfg cannot train."""
    from playground.training import make_state

    try:
        return make_state(cfg, device="cpu")
    except ValueError as exc:
        raise ExportError(f"the file's config cannot build a model: {exc}") from None


def expected_shapes(cfg: ExperimentConfig) -> dict[str, tuple[int, ...]]:
    """Parameter name -> shape of the network `cfg` trains (one head, or drift and denoiser)."""
    return {k: tuple(v.shape) for k, v in _probe(cfg).network.state_dict().items()}


def read_weights(data: bytes, max_bytes: int = MAX_WEIGHTS_BYTES) -> LoadedWeights:
    """Validate and read a weights file (this panel's, or the CLI's model.pt). Raises `ExportError`
    with a readable message for an empty, oversized, foreign or hostile file, a bad config, or
    tensors that do not fit the config's network.

    Only a torch zip archive is opened, with `torch.load(weights_only=True)`, which rebuilds
    tensors and plain containers only: a pickle that would run code is refused, never executed.
    """
    if not data:
        raise ExportError("the file is empty")
    if len(data) > max_bytes:
        raise ExportError(f"the file is {len(data) / 2**20:.1f} MB; weights files are at most "
                          f"{max_bytes / 2**20:.0f} MB")
    if not zipfile.is_zipfile(io.BytesIO(data)):  # torch.save writes a zip; refuse bare pickles
        raise ExportError("not a weights file saved by the playground (not a torch zip archive)")
    try:
        payload = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure to unpickle means "not our file"
        text = str(exc)
        if "Weights only load failed" in text or "weights_only" in text:
            raise ExportError("the file holds Python objects other than tensors; it was refused "
                              "without running anything (only playground weights files load)") from None
        raise ExportError(f"not a weights file saved by the playground ({type(exc).__name__})") from None
    if not isinstance(payload, dict) or not {"config", "state_dict"} <= set(payload):
        raise ExportError("not a weights file saved by the playground (no config and state_dict)")
    if "format" in payload and payload["format"] != WEIGHTS_FORMAT:
        raise ExportError(f"unknown weights format {str(payload['format'])[:40]!r}")
    if "format" in payload and payload.get("version") != WEIGHTS_VERSION:
        raise ExportError(f"weights file version {payload.get('version')!r} is not supported "
                          f"(this playground reads version {WEIGHTS_VERSION})")
    cfg = _read_config(payload["config"])
    state_dict = _check_tensors(payload["state_dict"], cfg)
    # an older CLI model.pt has no progress: a finished run, by steps or by its time budget
    finished = "step" not in payload
    step = payload.get("step", max(1, cfg.steps))
    if not isinstance(step, int) or isinstance(step, bool) or not 0 <= step <= 10**9:
        raise ExportError("the file's training step is not a valid count")
    seconds = payload.get("train_seconds", cfg.seconds if finished and cfg.steps == 0 else 0.0)
    seconds = float(seconds) if isinstance(seconds, int | float) and math.isfinite(seconds) else 0.0
    losses = payload.get("losses", torch.zeros(0))
    if not isinstance(losses, torch.Tensor) or losses.ndim != 1 or losses.numel() > MAX_LOSSES:
        raise ExportError("the file's loss history is malformed")
    return LoadedWeights(cfg, state_dict, step, max(0.0, seconds), losses.double().tolist())


def load_weights(data: bytes) -> tuple[ExperimentConfig, dict[str, torch.Tensor]]:
    """(config, state_dict) of a validated weights file; see `read_weights`."""
    w = read_weights(data)
    return w.config, w.state_dict


def _read_config(raw) -> ExperimentConfig:
    if not isinstance(raw, dict):
        raise ExportError("the file has no experiment config")
    if "x_features" not in raw:  # saved before the network had features of x: its weights have none
        raw = {**raw, "x_features": 0}
    try:
        cfg = ExperimentConfig.from_dict(raw)
    except ConfigError as exc:
        raise ExportError(f"the file's config is invalid: {exc}") from None
    for side in ("base", "target"):
        if getattr(cfg, side).startswith("file:"):
            raise ExportError(f"the file's {side} reads a file on the server ({getattr(cfg, side)!r}); "
                              "uploaded configs may only use presets, mixtures and point clouds")
    return cfg


def _check_tensors(raw, cfg: ExperimentConfig) -> dict[str, torch.Tensor]:
    if not isinstance(raw, dict) or not all(isinstance(v, torch.Tensor) for v in raw.values()):
        raise ExportError("the file's state_dict is not a mapping of names to tensors")
    want = expected_shapes(cfg)
    missing, extra = sorted(set(want) - set(raw)), sorted(set(raw) - set(want))
    if missing or extra:
        parts = ([f"missing {', '.join(missing[:4])}"] if missing else []) + (
            [f"unexpected {', '.join(extra[:4])}"] if extra else [])
        raise ExportError(f"the tensors do not match a width-{cfg.width}, depth-{cfg.depth} model: "
                          + "; ".join(parts))
    for k, shape in want.items():
        v = raw[k]
        if tuple(v.shape) != shape:
            raise ExportError(f"tensor {k} has shape {tuple(v.shape)}, the config's model needs {shape}")
        if not v.is_floating_point() or not bool(torch.isfinite(v).all()):
            raise ExportError(f"tensor {k} is not a finite floating-point tensor")
    return {k: raw[k].float() for k in want}


def install_weights(sess, cfg: ExperimentConfig, state_dict: dict, step: int | None = None,
                    train_seconds: float = 0.0, losses=None, note: str | None = None) -> None:
    """Put a network with these weights into a `PlaygroundSession`, ready to show or to resume.

    Uses `PlaygroundSession.install_model` (a fresh `TrainState` for cfg, optimizer moments from
    zero, status "stopped"); `step` None counts as a finished run (all of cfg.steps, or all of its
    time budget), so Resume does not restart the learning-rate schedule from its peak. `state_dict`
    has the network's keys (`TrainState.network`); the loss history is restored for the loss chart.
    """
    probe = _probe(cfg)
    prefix = "" if probe.model is probe.network else "net."  # a Head wraps the two-head network
    if step is None:  # a finished run: all its steps, or all of its time budget
        step = max(1, cfg.steps)
        if cfg.steps == 0:
            train_seconds = train_seconds or cfg.seconds
    step = int(step)
    note = note or f"loaded weights: {cfg.width}×{cfg.depth} model at step {step:,}"
    try:
        sess.install_model(cfg, {prefix + k: v for k, v in state_dict.items()}, step, note=note)
    except RuntimeError as exc:
        raise ExportError(f"the weights do not fit the config's model: {exc}") from None
    with sess.lock:
        state = sess.state
        state.train_seconds = float(train_seconds)
        state.losses = [float(v) for v in (losses or [])]
        state.first_loss = state.losses[0] if state.losses else None
        sess.queued = False
