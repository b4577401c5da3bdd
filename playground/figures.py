"""Plotly figure builders for the playground: numpy arrays in, ``go.Figure`` out.

Pure functions with no Streamlit and no torch, so they work from a notebook, a script or a
test. Coordinates live in the box ``[-box, box]^2`` (``BOX = 4.0``). Notation follows the paper:
base sample x0 at t = 0, target sample x1 at t = 1, ``x_t = α x0 + β x1 + γ z``.

Large arrays are cast to float32: Plotly 7 writes numpy arrays as typed base64 arrays, so a
2000-particle × 100-frame animation is about 2 MB of JSON per panel. Figures are assembled from
plain dicts with Plotly's validation switched off (``_validate=False``), which makes a loss curve
cost well under a millisecond; the unit tests re-validate every builder's output.

Theme: sized for a projector (16-18 px fonts, thick lines), Okabe-Ito colours (α / base blue,
β / target vermillion, γ / noise green), equal-aspect axes fixed to the box.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.colors
import plotly.graph_objects as go

BOX = 4.0
ALPHA_COLOR, BETA_COLOR, GAMMA_COLOR = "#0072B2", "#D55E00", "#009E73"
PALETTE = (ALPHA_COLOR, BETA_COLOR, GAMMA_COLOR, "#CC79A7", "#E69F00", "#56B4E9", "#000000")
OK_COLOR, BAD_COLOR = "#009E73", "#C0001A"
FONT = 16
_AXIS_STYLE = dict(gridcolor="#e3e3e3", linecolor="#444", zerolinecolor="#b0b0b0", showline=True, mirror=True)
# A small explicit template: the same look whether or not Plotly's default template is set.
TEMPLATE = {
    "layout": dict(
        font={"size": FONT, "color": "#222"},
        paper_bgcolor="white",
        plot_bgcolor="white",
        xaxis={**_AXIS_STYLE, "ticks": "outside", "automargin": True},
        yaxis={**_AXIS_STYLE, "ticks": "outside", "automargin": True},
        hoverlabel={"font": {"size": FONT}},
        colorway=list(PALETTE),
    )
}

Checks = Sequence[tuple[str, float, float, float, bool]]


def _figure(data: list, layout: dict, frames: list | None = None) -> go.Figure:
    layout = {"template": TEMPLATE, **layout}
    return go.Figure({"data": data, "layout": layout, "frames": frames or []}, _validate=False)


def _trace(kind: str, mode: str, x, y, name: str, xaxis: str = "x", yaxis: str = "y", **kw) -> dict:
    """A scatter(gl) trace as a dict; hover is off unless ``hoverinfo``/``hovertemplate`` is given."""
    if "hovertemplate" not in kw:
        kw.setdefault("hoverinfo", "skip")
    return dict(type=kind, mode=mode, x=x, y=y, name=name, xaxis=xaxis, yaxis=yaxis, **kw)


def _animate_args(duration: float, redraw: bool, **kw) -> dict:
    return {
        "frame": {"duration": duration, "redraw": redraw},
        "mode": "immediate",
        "transition": {"duration": 0},
        **kw,
    }


def _colorscale(name) -> list:
    """A named scale as explicit [[position, colour], ...]: plotly.js knows only a few names
    (no "Phase", "Magma", "_r" variants) and validation, which would resolve them, is skipped."""
    return plotly.colors.get_colorscale(name) if isinstance(name, str) else name


def _f32(a) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(a, dtype=np.float32))


def clean_number(value: float, digits: int = 4) -> str:
    """A value as a person reads it: rounding noise near an integer or 0 removed (cos(π/2) is
    6.12e-17 in floating point; it prints as 0), at most `digits` significant digits."""
    v = float(value)
    if not np.isfinite(v):
        return str(v)
    nearest = round(v)
    if abs(v - nearest) <= 1e-9 * max(1.0, abs(nearest)):
        v = float(nearest)
    return f"{v:.{digits}g}".replace("-", "−") if v != 0 else "0"


def log_ticks(lo: float, hi: float, max_ticks: int = 8) -> dict:
    """Axis settings for a log axis over [lo, hi] (both > 0) with every tick label written in full
    (0.001, 0.01, 0.1, 1, 10 or 0.2, 0.5, 1, 2): no "10" with a superscript, no bare "2 5" minor
    labels that read as 2 > 10. Decades, or 1-2-5 steps when the range is short."""
    lo, hi = float(lo), float(hi)
    if not (np.isfinite(lo) and np.isfinite(hi) and 0 < lo <= hi):
        return {}
    e0, e1 = int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi)))
    vals = []
    for mantissas in ((1, 2, 5), (1,)):
        vals = [m * 10.0**e for e in range(e0, e1 + 1) for m in mantissas if lo * 0.999 <= m * 10.0**e <= hi * 1.001]
        if len(vals) <= max_ticks:
            break
    if len(vals) > max_ticks:  # many decades: every k-th one
        vals = vals[:: int(np.ceil(len(vals) / max_ticks))]
    if len(vals) < 2:  # a range inside one 1-2-5 step: its ends
        vals = sorted({float(f"{lo:.2g}"), float(f"{hi:.2g}")})
    return {"tickmode": "array", "tickvals": vals, "ticktext": [_full(v) for v in vals]}


def _full(v: float) -> str:
    """A positive tick value in plain digits: 1,000 or 0.0001, never 1e-04."""
    if v >= 1:
        return f"{v:,.10g}" if v < 1e15 else f"{v:.3g}"
    digits = int(-np.floor(np.log10(v))) + 3
    return f"{v:.{digits}f}".rstrip("0").rstrip(".")


def figure_nbytes(fig: go.Figure) -> int:
    """Size in bytes of the figure's JSON (what a browser downloads)."""
    return len(fig.to_json())


def _box_axes(box: float, n_panels: int, gap: float = 0.06) -> dict:
    """Equal-aspect axes fixed to [-box, box] for n side-by-side panels (x, x2, ... / y, y2...)."""
    width = (1.0 - gap * (n_panels - 1)) / n_panels
    out = {}
    for i in range(n_panels):
        sx, sy = ("", "") if i == 0 else (str(i + 1), str(i + 1))
        lo = i * (width + gap)
        # two panels hug the middle gap instead of floating apart on a wide page
        toward = "center" if n_panels == 1 else ("right" if i == 0 else "left")
        fixed = dict(range=[-box, box], autorange=False, constrain="domain", zeroline=False)
        out["xaxis" + sx] = dict(domain=[lo, lo + width], anchor="y" + sy, constraintoward=toward, **fixed)
        out["yaxis" + sy] = dict(
            anchor="x" + sx, scaleanchor="x" + sx, scaleratio=1, constraintoward="top", **fixed
        )
    return out


def _panel_titles(titles: Sequence[str], n_panels: int) -> list[dict]:
    """Bold titles centred over each panel's plotting area (after aspect constraints)."""
    return [
        {
            "text": f"<b>{title}</b>",
            "x": 0.5,
            "y": 1.0,
            "xref": ("x" if i == 0 else f"x{i + 1}") + " domain",
            "yref": ("y" if i == 0 else f"y{i + 1}") + " domain",
            "xanchor": "center",
            "yanchor": "bottom",
            "showarrow": False,
            "font": {"size": FONT + 2},
        }
        for i, title in enumerate(titles[:n_panels])
    ]


def _marker_size(n: int) -> float:
    return float(np.clip(10.0 - 1.6 * np.log10(max(n, 1)), 3.0, 9.0))


def _subsample(points: np.ndarray, max_points: int) -> np.ndarray:
    if len(points) <= max_points:
        return points
    return points[np.linspace(0, len(points) - 1, max_points).astype(int)]


# --------------------------------------------------------------------------- point clouds
def clouds_figure(
    base: np.ndarray,
    target: np.ndarray,
    box: float = BOX,
    titles: Sequence[str] = ("base ρ0 (t = 0)", "target ρ1 (t = 1)"),
    height: int = 420,
    max_points: int = 5000,
) -> go.Figure:
    """Base samples (n, 2) and target samples (m, 2) in two side-by-side panels."""
    data = []
    for i, (pts, color) in enumerate(((base, ALPHA_COLOR), (target, BETA_COLOR))):
        pts = _subsample(_f32(pts).reshape(-1, 2), max_points)
        suffix = "" if i == 0 else "2"
        marker = {"color": color, "size": _marker_size(len(pts)), "opacity": 0.7}
        data.append(
            _trace(
                "scatter",
                "markers",
                pts[:, 0],
                pts[:, 1],
                titles[i],
                "x" + suffix,
                "y" + suffix,
                marker=marker,
            )
        )
    layout = dict(
        height=height,
        showlegend=False,
        margin={"l": 50, "r": 20, "t": 50, "b": 40},
        annotations=_panel_titles(titles, 2),
        uirevision="clouds",
        **_box_axes(box, 2, gap=0.12),  # room for the right panel's tick labels in a narrow column
    )
    return _figure(data, layout)


# --------------------------------------------------------------------------- schedules
def boundary_checks(
    t: np.ndarray, alpha: np.ndarray, beta: np.ndarray, gamma: np.ndarray, tol: float = 1e-4
) -> list[tuple[str, float, float, float, bool]]:
    """The six boundary conditions α(0)=1, β(0)=0, γ(0)=0, α(1)=0, β(1)=1, γ(1)=0, read from
    the first and last entries of arrays sampled on t (k,). Rows: (name, t, value, expected, ok)."""
    t = np.asarray(t, dtype=float)
    rows = []
    for idx, expect in ((0, {"α": 1.0, "β": 0.0, "γ": 0.0}), (-1, {"α": 0.0, "β": 1.0, "γ": 0.0})):
        for sym, arr in (("α", alpha), ("β", beta), ("γ", gamma)):
            value = float(np.asarray(arr, dtype=float)[idx])
            ok = bool(abs(value - expect[sym]) <= tol)
            rows.append((f"{sym}({t[idx]:g}) = {expect[sym]:g}", float(t[idx]), value, expect[sym], ok))
    return rows


def _schedule_traces(t: np.ndarray, curves, derivs, width: float) -> list[dict]:
    """A solid line per (name, values, colour) in curves, its derivative dashed where given."""
    data = []
    for (name, arr, color), d in zip(curves, derivs, strict=True):
        for label, y, dash, w in ((name, arr, None, width), (f"d{name}/dt", d, "dash", 0.7 * width)):
            if y is not None:
                data.append(
                    _trace(
                        "scatter",
                        "lines",
                        t,
                        np.asarray(y, dtype=float),
                        label,
                        legendgroup=name,
                        line={"color": color, "width": w, "dash": dash},
                        hovertemplate=f"{label}: %{{y:.3f}} at t = %{{x:.2f}}<extra></extra>",
                    )
                )
    return data


def schedule_figure(
    t: np.ndarray,
    alpha: np.ndarray,
    beta: np.ndarray,
    gamma: np.ndarray,
    d_alpha: np.ndarray | None = None,
    d_beta: np.ndarray | None = None,
    d_gamma: np.ndarray | None = None,
    small: bool = True,
) -> go.Figure:
    """α(t), β(t), γ(t) on t (k,), derivatives dashed when given. ``small`` makes a compact
    (200 px) chart for a sidebar or beside the schedule choice."""
    curves = (("α", alpha, ALPHA_COLOR), ("β", beta, BETA_COLOR), ("γ", gamma, GAMMA_COLOR))
    t = np.asarray(t, dtype=float)
    data = _schedule_traces(t, curves, (d_alpha, d_beta, d_gamma), width=2.5 if small else 3.5)
    font = 13 if small else FONT
    if small:  # one legend row: the dashed style is explained in the legend title
        for tr in data:
            tr["showlegend"] = "/dt" not in tr["name"]
    has_d = any(d is not None for d in (d_alpha, d_beta, d_gamma))
    legend = dict(
        orientation="h",
        x=0,
        y=1.03,
        xanchor="left",
        yanchor="bottom",
        font={"size": font},
        title={"text": "dashed: d/dt " if small and has_d else ""},
    )
    margin = dict(l=40, r=10, t=30, b=30) if small else dict(l=60, r=20, t=50, b=50)
    layout = dict(
        height=200 if small else 360,
        font={"size": font},
        hovermode="x unified",
        margin=margin,
        legend=legend,
        yaxis={"zeroline": True},
        xaxis={"range": [0, 1], "dtick": 0.25, "title": {"text": "" if small else "t"}},
    )
    return _figure(data, layout)


def schedule_detail_figure(
    t: np.ndarray,
    alpha: np.ndarray,
    beta: np.ndarray,
    gamma: np.ndarray,
    d_alpha: np.ndarray | None = None,
    d_beta: np.ndarray | None = None,
    d_gamma: np.ndarray | None = None,
    checks: Checks | None = None,
    height: int = 420,
) -> go.Figure:
    """Two panels for a Schedules page. Left: α, β, γ and α² + β² + γ² over t (k,), with a
    green circle where a boundary condition holds and a red cross where it fails (``checks``:
    rows (name, t, value, expected, ok); computed by :func:`boundary_checks` if None). Right:
    the derivatives (numerical, by finite differences, where not given)."""
    t = np.asarray(t, dtype=float)
    values = [np.asarray(a, dtype=float) for a in (alpha, beta, gamma)]
    derivs, numerical = [], False
    for v, d in zip(values, (d_alpha, d_beta, d_gamma), strict=True):
        numerical |= d is None
        derivs.append(np.gradient(v, t) if d is None else np.asarray(d, dtype=float))
    names = ("α", "β", "γ")
    colors = (ALPHA_COLOR, BETA_COLOR, GAMMA_COLOR)
    curves = list(zip(names, values, colors, strict=True))
    data = _schedule_traces(t, curves, (None,) * 3, width=3.5)
    data.append(
        _trace(
            "scatter",
            "lines",
            t,
            sum(v * v for v in values),
            "α² + β² + γ²",
            line={"color": "#555", "width": 2.5, "dash": "dot"},
            hovertemplate="α² + β² + γ²: %{y:.3f} at t = %{x:.2f}<extra></extra>",
        )
    )
    for tr in _schedule_traces(t, [(n, None, c) for n, _, c in curves], derivs, width=4.0):
        data.append({**tr, "xaxis": "x2", "yaxis": "y2"})
    checks = boundary_checks(t, *values) if checks is None else checks
    for ok in (True, False):
        rows = [c for c in checks if bool(c[4]) == ok]
        if not rows:
            continue
        text = [f"{n}: {'holds' if ok else 'FAILS'} (value {clean_number(v)})" for n, _, v, _, _ in rows]
        color = OK_COLOR if ok else BAD_COLOR
        marker = {
            "size": 16 if ok else 18,
            "color": color,
            "symbol": "circle-open" if ok else "x-thin-open",
            "line": {"width": 3.5, "color": color},
        }
        name = "boundary condition holds" if ok else "boundary condition fails"
        data.append(
            _trace(
                "scatter",
                "markers",
                [r[1] for r in rows],
                [r[2] for r in rows],
                name,
                text=text,
                hovertemplate="%{text}<extra></extra>",
                marker=marker,
            )
        )
    titles = ("values", "derivatives (finite differences)" if numerical else "derivatives")
    layout = {
        "height": height,
        "hovermode": "closest",
        "margin": {"l": 60, "r": 20, "t": 90, "b": 50},
        "legend": {"orientation": "h", "x": 0, "y": 1.12, "xanchor": "left", "yanchor": "bottom"},
        "annotations": _panel_titles(titles, 2),
        "xaxis": {"domain": [0, 0.45], "range": [-0.03, 1.03], "title": {"text": "t"}, "anchor": "y"},
        "yaxis": {"anchor": "x"},
        "xaxis2": {"domain": [0.55, 1], "range": [-0.03, 1.03], "title": {"text": "t"}, "anchor": "y2"},
        "yaxis2": {"anchor": "x2", "range": _robust_range(np.concatenate(derivs))},
    }
    return _figure(data, layout)


def _robust_range(values: np.ndarray, pad: float = 0.1) -> list[float] | None:
    """A y range that shows the bulk of values (1st-99th percentile, padded): derivatives such as
    that of γ = √(t(1-t)) are infinite at the ends and would flatten everything else."""
    v = values[np.isfinite(values)]
    if len(v) == 0:
        return None
    lo, hi = np.percentile(v, [1, 99])
    spread = max(hi - lo, 1e-6)
    lo = v.min() if v.min() >= lo - 2 * spread else lo  # keep the full extent unless it is extreme
    hi = v.max() if v.max() <= hi + 2 * spread else hi
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    span = max(hi - lo, 1e-6)
    return [float(lo - pad * span), float(hi + pad * span)]


# --------------------------------------------------------------------------- training loss
def downsample_indices(y: np.ndarray, max_points: int = 2000) -> np.ndarray:
    """Indices (sorted) of at most ~max_points entries of y (k,) that keep the shape: the
    minimum and maximum of each bucket, plus the first and last points."""
    y = np.asarray(y, dtype=float)
    k = len(y)
    if k <= max_points:
        return np.arange(k)
    n_buckets = max(1, (max_points - 3) // 2)
    width = -(-k // n_buckets)
    finite = np.isfinite(y)
    padded = np.full(n_buckets * width, np.nan)
    padded[:k] = np.where(finite, y, np.nan)
    padded = padded.reshape(n_buckets, width)
    offsets = np.arange(n_buckets) * width
    lo = offsets + np.where(np.isnan(padded), np.inf, padded).argmin(1)
    hi = offsets + np.where(np.isnan(padded), -np.inf, padded).argmax(1)
    idx = np.concatenate([[0, k - 1], lo, hi])
    if finite.any():
        idx = np.append(idx, np.flatnonzero(finite)[np.argmin(y[finite])])
    idx = idx[idx < k]
    return np.unique(idx)


def _ema_raw(a: np.ndarray, w: float, block: int = 64) -> np.ndarray:
    """m_i = w m_(i-1) + (1 - w) a_i from m_(-1) = 0, vectorised in blocks (w >= 0.8)."""
    k = len(a)
    nb = -(-k // block)
    padded = np.zeros(nb * block)
    padded[:k] = a
    padded = padded.reshape(nb, block)
    j = np.arange(block)
    local = np.cumsum(padded * w ** (-j), axis=1) * w**j * (1.0 - w)  # block started from 0
    carry, decay, ends = np.empty(nb), w**block, local[:, -1].tolist()
    m = 0.0
    for b in range(nb):
        carry[b] = m
        m = decay * m + ends[b]
    return (local + carry[:, None] * w ** (j + 1)).reshape(-1)[:k]


def ema(y: np.ndarray, span: float | None = None) -> np.ndarray:
    """Bias-corrected exponential moving average of y (k,); span defaults to ~k/30 (5 to 200).
    Non-finite entries (a diverged step) are skipped."""
    y = np.asarray(y, dtype=float)
    span = float(np.clip(len(y) / 30.0, 5.0, 200.0)) if span is None else max(float(span), 5.0)
    w = 1.0 - 1.0 / span
    valid = np.isfinite(y)
    with np.errstate(invalid="ignore", divide="ignore"):
        return _ema_raw(np.where(valid, y, 0.0), w) / _ema_raw(valid.astype(float), w)


def loss_figure(
    steps: np.ndarray,
    losses: np.ndarray,
    extra: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
    log_y: bool = True,
    *,
    name: str = "drift loss",
    height: int = 300,
    max_points: int = 2000,
    title: str | None = None,
) -> go.Figure:
    """Training loss over steps (k,): the raw curve (thin, faint) and its EMA (thick) on top,
    plus optional extra named curves ``{name: (steps, losses)}``. Each curve is downsampled to
    at most ~max_points points (first, last and minimum kept). Log y unless a value is <= 0."""
    curves = {name: (steps, losses), **(extra or {})}
    data, positive, lo_hi = [], True, (np.inf, 0.0)
    for i, (cname, (s, y)) in enumerate(curves.items()):
        s, y = np.asarray(s, dtype=float), np.asarray(y, dtype=float)
        if len(y) == 0:
            continue
        positive &= bool(np.all(y[np.isfinite(y)] > 0))
        smooth = ema(y)
        keep = downsample_indices(y, max_points)
        color = PALETTE[i % len(PALETTE)]
        raw_line = {"color": color, "width": 1.2}
        data.append(
            _trace(
                "scatter",
                "lines",
                s[keep],
                y[keep],
                f"{cname} (raw)",
                legendgroup=cname,
                showlegend=False,
                opacity=0.35,
                line=raw_line,
            )
        )
        keep_s = np.linspace(0, len(y) - 1, min(len(y), max_points)).astype(int)
        data.append(
            _trace(
                "scatter",
                "lines",
                s[keep_s],
                smooth[keep_s],
                cname,
                legendgroup=cname,
                line={"color": color, "width": 3.5},
                hovertemplate=f"{cname}: %{{y:.4g}} at step %{{x}}<extra></extra>",
            )
        )
        finite_pos = y[np.isfinite(y) & (y > 0)]
        if len(finite_pos):
            lo_hi = (min(lo_hi[0], finite_pos.min()), max(lo_hi[1], finite_pos.max()))
    log = log_y and positive
    yaxis = {"title": {"text": "loss"}, "type": "log" if log else "linear"}
    if log:  # full tick labels (0.01, 0.1, 1), never "10" with a superscript or bare "2 5"
        yaxis.update(log_ticks(*lo_hi))
    layout = dict(
        height=height,
        margin=dict(l=70, r=20, t=40 if title else 20, b=50),
        hovermode="x",
        showlegend=True,
        uirevision="loss",
        xaxis={"title": {"text": "training step"}},
        yaxis=yaxis,
        legend=dict(orientation="h", x=1, y=1.03, xanchor="right", yanchor="bottom"),  # above the frame, not on it
    )
    if title:
        layout["title"] = {"text": title, "x": 0.01}
    return _figure(data, layout)


# --------------------------------------------------------------------------- colours
def _hsl_to_hex(h: np.ndarray, s: np.ndarray, lum: np.ndarray) -> np.ndarray:
    """Vectorised HSL (all in [0, 1]) to '#rrggbb' strings."""
    c = (1.0 - np.abs(2.0 * lum - 1.0)) * s
    hp = (h % 1.0) * 6.0
    x = c * (1.0 - np.abs(hp % 2.0 - 1.0))
    zero = np.zeros_like(c)
    sector = np.minimum(hp.astype(int), 5)
    choices = [(c, x, zero), (x, c, zero), (zero, c, x), (zero, x, c), (x, zero, c), (c, zero, x)]
    rgb = np.stack([np.choose(sector, [ch[i] for ch in choices]) for i in range(3)], axis=1)
    rgb = np.clip(np.rint((rgb + (lum - c / 2.0)[:, None]) * 255.0), 0, 255).astype(np.uint8)
    return np.array([f"#{r:02x}{g:02x}{b:02x}" for r, g, b in rgb.tolist()], dtype=object)


def position_colors(points: np.ndarray) -> np.ndarray:
    """One colour per point (n, 2) from where it sits: hue by the angle around the cloud's
    centroid, darker and greyer near the centre, more saturated further out. Returns (n,) hex."""
    p = np.asarray(points, dtype=float).reshape(-1, 2)
    if len(p) == 0:
        return np.array([], dtype=object)
    d = p - p.mean(axis=0)
    r = np.hypot(d[:, 0], d[:, 1])
    rn = np.clip(r / max(float(np.percentile(r, 95)), 1e-9), 0.0, 1.0)
    hue = (np.arctan2(d[:, 1], d[:, 0]) / (2 * np.pi)) % 1.0
    return _hsl_to_hex(hue, 0.35 + 0.6 * rn, 0.28 + 0.24 * rn)


def _marker_colors(colors, start: np.ndarray) -> dict:
    if colors is None:
        return {"color": position_colors(start)}
    colors = np.asarray(colors)
    if colors.dtype.kind in "fiu":  # numbers through a cyclic colour scale
        return {
            "color": _f32(colors),
            "colorscale": _colorscale("Phase"),
            "cmin": float(colors.min()),
            "cmax": float(colors.max()),
            "showscale": False,
        }
    return {"color": colors.astype(object)}


# --------------------------------------------------------------------------- arrows
def _arrow_xy(rows: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """rows (g, 4) of (x, y, u, v) -> x, y (3g,) as [base, tip, NaN] per arrow (float32)."""
    rows = np.asarray(rows, dtype=np.float32).reshape(-1, 4)
    pts = np.full((len(rows), 3, 2), np.nan, dtype=np.float32)
    pts[:, 0] = rows[:, :2]
    pts[:, 1] = rows[:, :2] + scale * rows[:, 2:]
    pts = pts.reshape(-1, 2)
    return np.ascontiguousarray(pts[:, 0]), np.ascontiguousarray(pts[:, 1])


def _grid_spacing(xy: np.ndarray, box: float) -> float:
    ux = np.unique(np.round(np.asarray(xy, dtype=float)[:, 0], 6))
    if len(ux) > 1:
        return float(np.min(np.diff(ux)))
    return 2.0 * box / max(np.sqrt(len(xy)), 1.0)


def auto_arrow_scale(rows: np.ndarray, box: float = BOX) -> float:
    """Length factor for arrows rows (g, 4) or (T, g, 4) of (x, y, u, v): the 95th-percentile
    arrow over all of them spans 0.9 of the grid spacing of the (first) grid's positions."""
    rows = np.asarray(rows, dtype=float)
    rows = rows.reshape(-1, rows.shape[-2], 4) if rows.ndim >= 2 else rows.reshape(1, -1, 4)
    mag = np.hypot(rows[..., 2], rows[..., 3]).ravel()
    mag = mag[np.isfinite(mag)]
    big = float(np.percentile(mag, 95)) if len(mag) else 0.0
    return 0.9 * _grid_spacing(rows[0, :, :2], box) / big if big > 0 else 1.0


def _arrow_trace(x, y, g: int, webgl: bool, xaxis="x", yaxis="y", tip_color=None) -> dict:
    size = np.tile(np.array([0.0, 9.0, 0.0], dtype=np.float32), g)
    marker = {"size": size, "color": "#333" if tip_color is None else tip_color, "line": {"width": 0}}
    if not webgl:
        marker.update(symbol="arrow", angleref="previous")
    line = {"color": "rgba(40,40,40,0.75)", "width": 1.6}
    kind = "scattergl" if webgl else "scatter"
    return _trace(kind, "lines+markers", x, y, "drift b(t, x)", xaxis, yaxis, line=line, marker=marker)


def field_figure(
    x_grid: np.ndarray,
    y_grid: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    title: str = "",
    *,
    box: float = BOX,
    scale: float | None = None,
    height: int = 520,
) -> go.Figure:
    """Arrows of a 2D field on a grid: x_grid, y_grid, u, v all (gy, gx) (or 1D x (gx,) and
    y (gy,) with u, v (gy, gx)). Arrow heads are coloured by the field's magnitude."""
    x_grid, y_grid = np.asarray(x_grid, dtype=float), np.asarray(y_grid, dtype=float)
    if x_grid.ndim == 1 and y_grid.ndim == 1:
        x_grid, y_grid = np.meshgrid(x_grid, y_grid)
    rows = np.stack([x_grid.ravel(), y_grid.ravel(), np.ravel(u), np.ravel(v)], axis=1)
    scale = auto_arrow_scale(rows, box) if scale is None else scale
    x, y = _arrow_xy(rows, scale)
    mag = np.repeat(np.hypot(rows[:, 2], rows[:, 3]).astype(np.float32), 3)
    trace = _arrow_trace(x, y, len(rows), webgl=False, tip_color=mag)
    trace["marker"].update(
        colorscale=_colorscale("Viridis"),
        showscale=True,
        size=np.tile([0.0, 11.0, 0.0], len(rows)),
        colorbar={"title": {"text": "|b|"}, "thickness": 14},
    )
    margin = {"l": 50, "r": 20, "t": 50 if title else 20, "b": 40}
    layout = dict(height=height, showlegend=False, margin=margin, uirevision="field", **_box_axes(box, 1))
    if title:
        layout["title"] = {"text": title, "x": 0.5, "xanchor": "center"}
    return _figure([trace], layout)


def heatmap_figure(
    values: np.ndarray,
    extent: Sequence[float] = (-BOX, BOX, -BOX, BOX),
    title: str = "",
    colorscale: str = "Viridis",
    *,
    zmin: float | None = None,
    zmax: float | None = None,
    colorbar_title: str | None = None,
    height: int = 520,
) -> go.Figure:
    """values (gy, gx) on the cells of extent = (xmin, xmax, ymin, ymax); row 0 is the bottom."""
    values = _f32(values)
    gy, gx = values.shape
    xmin, xmax, ymin, ymax = (float(e) for e in extent)
    dx, dy = (xmax - xmin) / gx, (ymax - ymin) / gy
    trace = dict(
        type="heatmap",
        z=values,
        x0=xmin + dx / 2,
        dx=dx,
        y0=ymin + dy / 2,
        dy=dy,
        colorscale=_colorscale(colorscale),
        zmin=zmin,
        zmax=zmax,
        colorbar={"title": {"text": colorbar_title or ""}, "thickness": 14},
        hovertemplate="x = %{x:.2f}, y = %{y:.2f}: %{z:.3g}<extra></extra>",
    )
    fixed = dict(autorange=False, constrain="domain", showgrid=False)
    axes = dict(
        xaxis=dict(range=[xmin, xmax], **fixed),
        yaxis=dict(range=[ymin, ymax], scaleanchor="x", scaleratio=1, **fixed),
    )
    margin = {"l": 50, "r": 20, "t": 50 if title else 20, "b": 40}
    layout = dict(height=height, margin=margin, uirevision="heatmap", **axes)
    if title:
        layout["title"] = {"text": title, "x": 0.5, "xanchor": "center"}
    return _figure([trace], layout)


# --------------------------------------------------------------------------- animation
def _trail_xy(traj: np.ndarray, k: int, trails: int, length: int | None) -> tuple[np.ndarray, np.ndarray]:
    start = 0 if length is None else max(0, k + 1 - length)
    seg = traj[start : k + 1, :trails].transpose(1, 0, 2)  # (trails, steps, 2)
    pts = np.concatenate([seg, np.full((seg.shape[0], 1, 2), np.nan, np.float32)], axis=1)
    pts = pts.reshape(-1, 2)
    return np.ascontiguousarray(pts[:, 0]), np.ascontiguousarray(pts[:, 1])


def animation_figure(
    traj: np.ndarray,
    times: np.ndarray,
    *,
    colors: np.ndarray | None = None,
    target_bg: np.ndarray | None = None,
    true_frames: np.ndarray | None = None,
    trails: int = 0,
    trail_length: int | None = None,
    arrows: np.ndarray | None = None,
    arrow_scale: float | None = None,
    box: float = BOX,
    fps: float = 20,
    webgl: bool = False,
    title: str | None = None,
    height: int = 520,
    titles: Sequence[str] = ("learned flow: X_t", "true interpolant: x_t"),
) -> go.Figure:
    """Particles carried from base (t = 0) to target (t = 1), played in the browser.

    traj (T, n, 2): positions per time; times (T,). Particles keep one colour each, from their
    start traj[0] (see :func:`position_colors`) unless ``colors`` (n,) gives numbers (cyclic
    scale) or CSS colours. ``target_bg`` (m, 2): faint target samples behind. ``true_frames``
    (T, n2, 2): samples of the true interpolant x_t shown in a second panel beside, coloured
    by their own start. ``trails``: paths of the first `trails` particles up to the current
    frame (the last `trail_length` frames if set). ``arrows`` (T, g, 4): drift rows (x, y, u, v)
    drawn at each t, lengths times ``arrow_scale`` (default: :func:`auto_arrow_scale`).

    Client-side controls: play buttons at 0.5×, 1× and 2× of ``fps``, pause, and a time
    slider labelled with t. Frames hold only the traces that move; axes stay fixed to the box.
    ``webgl`` draws with Scattergl (animated with redraw=True).
    """
    traj = _f32(traj)
    times = np.asarray(times, dtype=float)
    n_t = traj.shape[0]
    if traj.ndim != 3 or traj.shape[2] != 2 or len(times) != n_t:
        raise ValueError(f"traj must be (T, n, 2) with times (T,); got {traj.shape}, {times.shape}")
    kind = "scattergl" if webgl else "scatter"
    two = true_frames is not None
    if two:
        true_frames = _f32(true_frames)
        if true_frames.ndim != 3 or true_frames.shape[0] != n_t or true_frames.shape[2] != 2:
            raise ValueError(f"true_frames must be (T, n2, 2) with T = {n_t}; got {true_frames.shape}")
    if arrows is not None:
        arrows = _f32(arrows)
        if arrows.ndim != 3 or arrows.shape[0] != n_t or arrows.shape[2] != 4:
            raise ValueError(f"arrows must be (T, g, 4) with T = {n_t}; got {arrows.shape}")
        if arrow_scale is None:  # one scale for every frame, from the largest arrows overall
            arrow_scale = auto_arrow_scale(arrows, box)
    bg = None if target_bg is None else _subsample(_f32(target_bg).reshape(-1, 2), 4000)

    data: list[dict] = []
    moving: list[tuple[int, list[tuple[np.ndarray, np.ndarray]]]] = []  # (trace index, xy per frame)
    panels = [("x", "y", traj, "particles", colors)]
    if two:
        panels.append(("x2", "y2", true_frames, "true", None))
    for p, (xa, ya, frames_p, pname, pcolors) in enumerate(panels):
        if bg is not None:
            marker = {"color": "rgba(110,110,110,0.22)", "size": max(_marker_size(len(bg)) - 1, 3)}
            data.append(_trace(kind, "markers", bg[:, 0], bg[:, 1], "target samples", xa, ya, marker=marker))
        if p == 0 and trails > 0:
            m = min(int(trails), traj.shape[1])
            xy = [_trail_xy(traj, k, m, trail_length) for k in range(n_t)]
            moving.append((len(data), xy))
            line = {"color": "rgba(50,50,50,0.45)", "width": 1.2}
            data.append(_trace(kind, "lines", *xy[0], "trails", xa, ya, line=line))
        if p == 0 and arrows is not None:
            xy = [_arrow_xy(arrows[k], arrow_scale) for k in range(n_t)]
            moving.append((len(data), xy))
            data.append(_arrow_trace(xy[0][0], xy[0][1], arrows.shape[1], webgl, xa, ya))
        moving.append((len(data), [(frames_p[k, :, 0], frames_p[k, :, 1]) for k in range(n_t)]))
        marker = {"size": _marker_size(frames_p.shape[1]), "line": {"width": 0}}
        marker.update(_marker_colors(pcolors, frames_p[0]))
        data.append(_trace(kind, "markers", *moving[-1][1][0], pname, xa, ya, marker=marker))
    indices = [idx for idx, _ in moving]
    frames = [
        {
            "name": str(k),
            "traces": indices,
            "data": [
                {"type": kind, "x": np.ascontiguousarray(xy[k][0]), "y": np.ascontiguousarray(xy[k][1])}
                for _, xy in moving
            ],
        }
        for k in range(n_t)
    ]

    # play: args [None, ...] = all frames from the current one; pause: [[None], ...] stops.
    buttons = [
        {
            "label": f"▶ {lab}",
            "method": "animate",
            "args": [None, _animate_args(1000.0 / (fps * speed), webgl, fromcurrent=True)],
        }
        for lab, speed in (("0.5×", 0.5), ("1×", 1.0), ("2×", 2.0))
    ]
    buttons.append({"label": "❚❚", "method": "animate", "args": [[None], _animate_args(0, webgl)]})
    steps = [
        {"label": f"{t:.2f}", "method": "animate", "args": [[str(k)], _animate_args(0, webgl)]}
        for k, t in enumerate(times)
    ]
    n_panels = 2 if two else 1
    menu = dict(
        type="buttons",
        direction="right",
        showactive=False,
        x=0.0,
        y=0.0,
        xanchor="left",
        yanchor="top",
        pad={"t": 40, "r": 10},
        buttons=buttons,
        font={"size": FONT},
    )
    current = dict(prefix="t = ", visible=True, xanchor="left", font={"size": FONT + 2})
    slider = dict(
        active=0,
        steps=steps,
        x=0.0,
        len=1.0,
        y=0.0,
        xanchor="left",
        yanchor="top",
        pad={"t": 85, "b": 0},  # a row of its own under the buttons: beside them it was covered
        transition={"duration": 0},
        currentvalue=current,
        font={"size": FONT - 3},
    )
    margin = {"l": 50, "r": 20, "t": 80 if title else 40, "b": 175}
    layout = dict(
        height=height,
        showlegend=False,
        hovermode=False,
        uirevision="interpolant-animation",
        margin=margin,
        annotations=_panel_titles(titles, n_panels),
        updatemenus=[menu],
        sliders=[slider],
        **_box_axes(box, n_panels),
    )
    if title:
        layout["title"] = {"text": title, "x": 0.5, "xanchor": "center", "y": 0.98, "yanchor": "top"}
    return _figure(data, layout, frames)


def trace_index(fig: go.Figure, name: str) -> int:
    """Index of the first trace called ``name`` ("particles", "true", "trails", "drift b(t, x)",
    "target samples")."""
    for i, tr in enumerate(fig.data):
        if tr.name == name:
            return i
    raise KeyError(name)


def add_path_lines(fig: go.Figure, paths: np.ndarray, name: str, color: str = "#111827",
                   width: float = 2.5) -> go.Figure:
    """Add static lines for paths (T, k, 2) (one line per path, NaN-separated) to fig; returns fig."""
    paths = np.asarray(paths, dtype=np.float32)
    gap = np.full((1, paths.shape[1], 2), np.nan, dtype=np.float32)
    xy = np.concatenate([paths, gap]).transpose(1, 0, 2).reshape(-1, 2)
    fig.add_scatter(x=xy[:, 0], y=xy[:, 1], mode="lines", name=name, line={"color": color, "width": width})
    return fig


def line_figure(x: np.ndarray, y: np.ndarray, title: str, x_title: str = "t", y_title: str = "",
                height: int = 360) -> dict:
    """A single curve y(x) as a light Plotly figure dict (cheap to send)."""
    return {"data": [{"type": "scatter", "x": np.asarray(x).tolist(), "y": np.asarray(y).tolist(),
                      "mode": "lines", "name": y_title or "value", "line": {"width": 3}}],
            "layout": {"title": {"text": title}, "height": height,
                       "xaxis": {"title": {"text": x_title}},
                       "yaxis": {"title": {"text": y_title}, "rangemode": "tozero"},
                       "margin": {"l": 50, "r": 10, "t": 50, "b": 40}}}


def spread_figure(times: np.ndarray, spread: np.ndarray, reference: np.ndarray | None = None,
                  height: int = 360) -> go.Figure:
    """The marginal's spread √(tr Cov x_t) over times (T,), and, when given, the same α, β with
    γ = 0 (reference (T,), dashed): noise adds 2γ² to tr Cov, so the gap between them is γ's."""
    data = []
    if reference is not None:
        data.append(_trace("scatter", "lines", times, np.asarray(reference, dtype=float), "γ = 0 (same α, β)",
                           line={"color": "#6b7280", "width": 3, "dash": "dash"},
                           hovertemplate="γ = 0: %{y:.3f} at t = %{x:.2f}<extra></extra>"))
    data.append(_trace("scatter", "lines", times, np.asarray(spread, dtype=float),
                       "this schedule" if reference is not None else "x_t",
                       line={"color": GAMMA_COLOR if reference is not None else ALPHA_COLOR, "width": 4},
                       hovertemplate="spread: %{y:.3f} at t = %{x:.2f}<extra></extra>"))
    layout = dict(
        height=height,
        margin={"l": 60, "r": 20, "t": 70, "b": 50},
        hovermode="x unified",
        showlegend=reference is not None,
        legend={"orientation": "h", "x": 0, "y": 1.02, "xanchor": "left", "yanchor": "bottom"},
        title={"text": "spread of x_t: √(tr Cov x_t)", "x": 0.0, "xanchor": "left", "y": 0.98, "yanchor": "top"},
        xaxis={"range": [0, 1], "dtick": 0.25, "title": {"text": "t"}},
        yaxis={"rangemode": "tozero", "title": {"text": "spread"}},
    )
    return _figure(data, layout)
