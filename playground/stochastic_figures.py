"""Plotly figures of the "Stochastic side" page: numpy arrays in, ``go.Figure`` out (no torch).

- `panels_animation_figure`: k side-by-side panels of particles played in sync (one slider,
  one set of frames), e.g. ODE beside SDE, or Euler / Heun / RK4.
- `pairs_figure`: the pairs (x0, x1) of one minibatch as segments, one panel per coupling.
- `coupling_paths_figure`: flow paths and their curvature, one panel per coupling.
- `quality_steps_figure`: a metric against drift evaluations per integrator, with the floor.
- `density_pair_figure`: generated and true log-density heatmaps on one colour scale.
- `drift_arrow_figures`: arrow plots of several drifts on one grid, with one arrow length and
  one colour range, and a plain "b = 0" where a field vanishes.

The look (fonts, Okabe-Ito colours, equal-aspect box axes) follows `playground.figures`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from playground.figures import (
    ALPHA_COLOR,
    BETA_COLOR,
    BOX,
    FONT,
    PALETTE,
    TEMPLATE,
    auto_arrow_scale,
    field_figure,
    log_ticks,
    position_colors,
)

ZERO_FIELD = 1e-6
"""A drift whose largest arrow is shorter than this (in data units per unit time) is zero up to
rounding: 8 Gaussians → 8 Gaussians at t = ½ gives |b| ≈ 4e-16, which a colour bar would
otherwise stretch into random-looking arrows."""
METHOD_COLORS = {"euler": PALETTE[0], "heun": PALETTE[1], "rk4": PALETTE[2], "em": PALETTE[3]}


def _figure(data: list, layout: dict, frames: list | None = None) -> go.Figure:
    return go.Figure({"data": data, "layout": {"template": TEMPLATE, **layout},
                      "frames": frames or []}, _validate=False)


def _f32(a) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(a, dtype=np.float32))


def _axes(k: int, box: float = BOX, gap: float = 0.08) -> dict:
    """Equal-aspect axes fixed to [-box, box]² for k side-by-side panels."""
    width = (1.0 - gap * (k - 1)) / k
    out = {}
    for i in range(k):
        sx = "" if i == 0 else str(i + 1)
        lo = i * (width + gap)
        fixed = dict(range=[-box, box], autorange=False, constrain="domain", zeroline=False)
        out["xaxis" + sx] = dict(domain=[lo, lo + width], anchor="y" + sx, **fixed)
        out["yaxis" + sx] = dict(anchor="x" + sx, scaleanchor="x" + sx, scaleratio=1,
                                 constraintoward="top", **fixed)
    return out


def _titles(titles: Sequence[str]) -> list[dict]:
    return [{"text": f"<b>{t}</b>", "x": 0.5, "y": 1.0, "showarrow": False,
             "xref": ("x" if i == 0 else f"x{i + 1}") + " domain",
             "yref": ("y" if i == 0 else f"y{i + 1}") + " domain",
             "xanchor": "center", "yanchor": "bottom", "yshift": 6, "font": {"size": FONT, "color": "#111"}}
            for i, t in enumerate(titles)]


def _ax(i: int) -> tuple[str, str]:
    return ("x", "y") if i == 0 else (f"x{i + 1}", f"y{i + 1}")


def _marker_size(n: int) -> float:
    return float(np.clip(10.0 - 1.6 * np.log10(max(n, 1)), 3.0, 9.0))


def panels_animation_figure(paths: Sequence[np.ndarray], times: np.ndarray, titles: Sequence[str],
                            *, goal: np.ndarray | None = None, fps: float = 20, box: float = BOX,
                            height: int = 480, webgl: bool = False) -> go.Figure:
    """k panels of particles played in sync. paths: k arrays (T, n, 2) (same T; the same
    particles in each, coloured by where they start); times (T,); goal (m, 2) faint behind.
    Play buttons (0.5×, 1×, 2×), pause and a time slider run in the browser."""
    paths = [_f32(p) for p in paths]
    times = np.asarray(times, dtype=float)
    n_t = len(times)
    for p in paths:
        if p.ndim != 3 or p.shape[0] != n_t or p.shape[2] != 2:
            raise ValueError(f"each path must be (T, n, 2) with T = {n_t}; got {p.shape}")
    if len(titles) != len(paths):
        raise ValueError("one title per panel")
    kind = "scattergl" if webgl else "scatter"
    colors = position_colors(paths[0][0])
    data, moving = [], []
    bg = None if goal is None else _f32(goal).reshape(-1, 2)[:2000]
    for i, p in enumerate(paths):
        xa, ya = _ax(i)
        if bg is not None:
            data.append(dict(type=kind, mode="markers", x=bg[:, 0], y=bg[:, 1], xaxis=xa, yaxis=ya,
                             name="target samples", hoverinfo="skip",
                             marker={"color": "rgba(110,110,110,0.22)", "size": 4}))
        moving.append(len(data))
        data.append(dict(type=kind, mode="markers", x=p[0, :, 0], y=p[0, :, 1], xaxis=xa, yaxis=ya,
                         name="particles", hoverinfo="skip",
                         marker={"color": colors, "size": _marker_size(p.shape[1]),
                                 "line": {"width": 0}}))
    frames = [{"name": str(k), "traces": moving,
               "data": [{"type": kind, "x": np.ascontiguousarray(p[k, :, 0]),
                         "y": np.ascontiguousarray(p[k, :, 1])} for p in paths]}
              for k in range(n_t)]

    def anim(duration):
        return {"frame": {"duration": duration, "redraw": webgl}, "mode": "immediate",
                "transition": {"duration": 0}, "fromcurrent": True}

    buttons = [{"label": f"▶ {lab}", "method": "animate", "args": [None, anim(1000.0 / (fps * sp))]}
               for lab, sp in (("0.5×", 0.5), ("1×", 1.0), ("2×", 2.0))]
    buttons.append({"label": "❚❚", "method": "animate", "args": [[None], anim(0)]})
    steps = [{"label": f"{t:.2f}", "method": "animate", "args": [[str(k)], anim(0)]}
             for k, t in enumerate(times)]
    layout = dict(
        height=height, showlegend=False, hovermode=False, uirevision="sde-animation",
        margin={"l": 40, "r": 20, "t": 60, "b": 100}, annotations=_titles(titles),
        updatemenus=[dict(type="buttons", direction="right", showactive=False, x=0.0, y=0.0,
                          xanchor="left", yanchor="top", pad={"t": 45, "r": 10}, buttons=buttons,
                          font={"size": FONT})],
        sliders=[dict(active=0, steps=steps, x=0.42, len=0.58, y=0.0, xanchor="left",
                      yanchor="top", pad={"t": 30, "b": 0}, transition={"duration": 0},
                      currentvalue=dict(prefix="t = ", visible=True, xanchor="left",
                                        font={"size": FONT + 2}),
                      font={"size": FONT - 3})],
        **_axes(len(paths), box))
    return _figure(data, layout, frames)


def _segments(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Segments a[i] → b[i] as x, y arrays (3n,) with NaN separators."""
    pts = np.full((len(a), 3, 2), np.nan, dtype=np.float32)
    pts[:, 0], pts[:, 1] = a, b
    pts = pts.reshape(-1, 2)
    return np.ascontiguousarray(pts[:, 0]), np.ascontiguousarray(pts[:, 1])


def pairs_figure(pairs: Mapping[str, tuple[np.ndarray, np.ndarray]], titles: Mapping[str, str] | None = None,
                 *, box: float = BOX, height: int = 420) -> go.Figure:
    """One panel per coupling: segments x0 → x1 of one batch, x0 blue, x1 vermillion."""
    data = []
    names = list(pairs)
    for i, name in enumerate(names):
        x0, x1 = (_f32(v).reshape(-1, 2) for v in pairs[name])
        xa, ya = _ax(i)
        sx, sy = _segments(x0, x1)
        data.append(dict(type="scatter", mode="lines", x=sx, y=sy, xaxis=xa, yaxis=ya,
                         name=f"{name} pairs", hoverinfo="skip",
                         line={"color": "rgba(60,60,60,0.45)", "width": 1.2}))
        for pts, color, label in ((x0, ALPHA_COLOR, "x0 (base)"), (x1, BETA_COLOR, "x1 (target)")):
            data.append(dict(type="scatter", mode="markers", x=pts[:, 0], y=pts[:, 1], xaxis=xa,
                             yaxis=ya, name=label, hoverinfo="skip", showlegend=i == 0,
                             marker={"color": color, "size": 6}))
    titles = [(titles or {}).get(n, n) for n in names]
    # the legend below the tick labels, not on them
    layout = dict(height=height + 40, margin={"l": 40, "r": 20, "t": 50, "b": 90},
                  annotations=_titles(titles), uirevision="pairs",
                  legend={"orientation": "h", "x": 0, "y": -0.16, "yanchor": "top"},
                  **_axes(len(names), box))
    return _figure(data, layout)


def coupling_paths_figure(results: Mapping[str, Mapping], *, box: float = BOX,
                          height: int = 420) -> go.Figure:
    """One panel per coupling: flow paths (T, k, 2) as lines from start (blue) to end
    (vermillion); titles give the curvature and straightness (playground.metrics)."""
    data, titles = [], []
    for i, (name, r) in enumerate(results.items()):
        p = _f32(r["paths"])
        xa, ya = _ax(i)
        seg = np.concatenate([p.transpose(1, 0, 2), np.full((p.shape[1], 1, 2), np.nan, np.float32)],
                             axis=1).reshape(-1, 2)
        data.append(dict(type="scatter", mode="lines", x=seg[:, 0], y=seg[:, 1], xaxis=xa, yaxis=ya,
                         name=f"{name} paths", hoverinfo="skip",
                         line={"color": "rgba(60,60,60,0.55)", "width": 1.3}))
        for pts, color in ((p[0], ALPHA_COLOR), (p[-1], BETA_COLOR)):
            data.append(dict(type="scatter", mode="markers", x=pts[:, 0], y=pts[:, 1], xaxis=xa,
                             yaxis=ya, name=name, hoverinfo="skip", showlegend=False,
                             marker={"color": color, "size": 5}))
        titles.append(f"{name}: curvature {r['curvature']:.3g}, straightness {r['straightness']:.3f}")
    layout = dict(height=height, margin={"l": 40, "r": 20, "t": 50, "b": 40}, showlegend=False,
                  annotations=_titles(titles), uirevision="coupling-paths",
                  **_axes(len(titles), box))
    return _figure(data, layout)


def quality_steps_figure(rows: Sequence[Mapping], floor: Mapping[str, float] | None = None,
                         metric: str = "energy_distance", *, height: int = 380) -> go.Figure:
    """`metric` against drift evaluations (log-log), one line per integrator, the noise floor
    as a dashed line. rows: dicts with method, nfe and the metric."""
    data = []
    methods = list(dict.fromkeys(r["method"] for r in rows))
    label = {"energy_distance": "energy distance", "sliced_w2": "sliced W2"}.get(metric, metric)
    for m in methods:
        rs = sorted((r for r in rows if r["method"] == m), key=lambda r: r["nfe"])
        data.append(dict(type="scatter", mode="lines+markers", name=m,
                         x=[r["nfe"] for r in rs], y=[r[metric] for r in rs],
                         line={"color": METHOD_COLORS.get(m, PALETTE[4]), "width": 3},
                         marker={"size": 9},
                         hovertemplate=f"{m}: {label} %{{y:.3g}} at %{{x}} evaluations<extra></extra>"))
    if floor is not None and metric in floor and rows:
        xs = [min(r["nfe"] for r in rows), max(r["nfe"] for r in rows)]
        data.append(dict(type="scatter", mode="lines", name="noise floor", x=xs,
                         y=[floor[metric]] * 2, line={"color": "#555", "width": 2.5, "dash": "dash"},
                         hovertemplate="noise floor %{y:.3g}<extra></extra>"))
    positive = all(np.isfinite(r[metric]) and r[metric] > 0 for r in rows)
    xs = [r["nfe"] for r in rows] or [1]
    ys = [r[metric] for r in rows] + ([floor[metric]] if floor is not None and metric in floor else [])
    # full tick labels (2, 5, 10, 20, 50, 100; 0.001, 0.01): never "10" with a superscript or bare "2 5"
    y_ticks = log_ticks(min(ys), max(ys)) if positive and ys and min(ys) > 0 else {}
    # the legend (two rows in a half-width column) sits above the frame, not on it
    layout = dict(height=height, margin={"l": 70, "r": 20, "t": 80, "b": 50},
                  xaxis={"title": {"text": "drift evaluations"}, "type": "log", **log_ticks(min(xs), max(xs))},
                  yaxis={"title": {"text": label}, "type": "log" if positive else "linear", **y_ticks},
                  legend={"orientation": "h", "x": 1, "y": 1.03, "xanchor": "right", "yanchor": "bottom"},
                  hovermode="closest")
    return _figure(data, layout)


def density_pair_figure(generated: np.ndarray, true: np.ndarray | None,
                        extent: Sequence[float] = (-BOX, BOX, -BOX, BOX),
                        titles: Sequence[str] = ("generated: log ρ̂1 (ODE likelihood)", "true: log ρ1"),
                        *, height: int = 440, colorbar_title: str = "log density") -> go.Figure:
    """Heatmaps (g, g) (row 0 = bottom) side by side on one colour range; `true` may be None."""
    grids = [_f32(generated)] + ([_f32(true)] if true is not None else [])
    finite = np.concatenate([g[np.isfinite(g)] for g in grids])
    zmin, zmax = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
    xmin, xmax, ymin, ymax = (float(e) for e in extent)
    data = []
    for i, g in enumerate(grids):
        gy, gx = g.shape
        dx, dy = (xmax - xmin) / gx, (ymax - ymin) / gy
        xa, ya = _ax(i)
        data.append(dict(type="heatmap", z=g, x0=xmin + dx / 2, dx=dx, y0=ymin + dy / 2, dy=dy,
                         xaxis=xa, yaxis=ya, zmin=zmin, zmax=zmax, colorscale="Viridis",
                         showscale=i == len(grids) - 1,
                         colorbar={"title": {"text": colorbar_title}, "thickness": 14},
                         hovertemplate="x = %{x:.2f}, y = %{y:.2f}: %{z:.3g}<extra></extra>"))
    axes = _axes(len(grids), max(abs(xmin), abs(xmax)))
    layout = dict(height=height, margin={"l": 40, "r": 20, "t": 50, "b": 40},
                  annotations=_titles(list(titles)[:len(grids)]), uirevision="density", **axes)
    return _figure(data, layout)


def drift_arrow_figures(axis: np.ndarray, fields: Mapping[str, np.ndarray], *, box: float = BOX,
                        height: int = 440) -> list[go.Figure]:
    """One arrow plot per field, all on one scale. axis (g,): the grid's x and y; fields: title →
    drift (g, g, 2) at the grid points (row = y). Every plot shares the arrow length (from the
    first field that is not zero) and the colour range [0, max |b| over all the fields], so equal
    arrows mean equal drifts. A field with max |b| ≤ `ZERO_FIELD` draws no arrows and says b = 0."""
    axis = np.asarray(axis, dtype=float)
    grid = np.stack(np.meshgrid(axis, axis), -1).reshape(-1, 2)
    mags = {k: np.hypot(*np.moveaxis(np.asarray(f, dtype=float), -1, 0)) for k, f in fields.items()}
    peaks = {k: float(np.nanmax(m)) if np.isfinite(m).any() else 0.0 for k, m in mags.items()}
    live = [k for k in fields if peaks[k] > ZERO_FIELD]
    scale = (auto_arrow_scale(np.concatenate([grid, np.asarray(fields[live[0]]).reshape(-1, 2)], 1), box)
             if live else 1.0)
    cmax = max([peaks[k] for k in live], default=1.0)
    out = []
    for title, f in fields.items():
        f = np.asarray(f, dtype=float)
        fig = field_figure(axis, axis, f[..., 0], f[..., 1], title, box=box, scale=scale, height=height)
        if title in live:
            fig.update_traces(marker_cmin=0.0, marker_cmax=cmax)
        else:
            fig.update_traces(visible=False)
            fig.add_annotation(text=f"b = 0 everywhere at this t<br>(largest |b|: {peaks[title]:.0e}, rounding)",
                               x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
                               font={"size": FONT + 2, "color": "#222"}, bgcolor="rgba(255,255,255,0.85)")
        out.append(fig)
    return out
