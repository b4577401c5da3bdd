"""Small static pictures as SVG text: no JavaScript, so they appear with the page's first paint.

The sidebar's α, β, γ sketch is one of them: a Plotly chart there made every first visit load
and start plotly.js (seconds on a small machine) before the flow could play.
"""

from __future__ import annotations

from html import escape

import numpy as np

from playground.figures import ALPHA_COLOR, BETA_COLOR, GAMMA_COLOR


def curves_svg(t: np.ndarray, curves: dict[str, np.ndarray], colors: dict[str, str] | None = None,
               width: int = 260, height: int = 120, y_range: tuple[float, float] | None = None) -> str:
    """Curves y(t) over t (k,) as an SVG string: axes with ticks at t = 0, ½, 1 and y at the range's
    ends, a legend of the names. `curves`: {name: values (k,)}; non-finite values break a line."""
    t = np.asarray(t, dtype=float)
    ys = {k: np.asarray(v, dtype=float) for k, v in curves.items()}
    finite = np.concatenate([v[np.isfinite(v)] for v in ys.values()] or [np.zeros(1)])
    lo, hi = y_range if y_range is not None else (min(0.0, float(finite.min(initial=0))),
                                                  max(1.0, float(finite.max(initial=1))))
    if hi - lo < 1e-9:
        hi = lo + 1.0
    left, right, top, bottom = 30, 8, 22, 20
    pw, ph = width - left - right, height - top - bottom

    def px(tt, yy):
        return left + (tt - t[0]) / max(t[-1] - t[0], 1e-12) * pw, top + (hi - yy) / (hi - lo) * ph

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(", ".join(ys))} over t" '
           f'style="font: 12px sans-serif; width: 100%; max-width: {width}px; height: auto">',
           f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="white" stroke="#444" stroke-width="1"/>']
    for tick in (0.0, 0.5, 1.0):
        x, _ = px(t[0] + tick * (t[-1] - t[0]), lo)
        out.append(f'<text x="{x:.1f}" y="{height - 6}" text-anchor="middle" fill="#222">{tick:g}</text>')
    for val in (lo, hi):
        _, y = px(t[0], val)
        out.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" fill="#222">{val:.3g}</text>')
    palette = colors or {}
    lx = left
    for i, (name, v) in enumerate(ys.items()):
        color = palette.get(name, ("#0072B2", "#D55E00", "#009E73", "#CC79A7")[i % 4])
        pts, segs = [], []
        for tt, yy in zip(t, v):
            if np.isfinite(yy):
                pts.append("{:.1f},{:.1f}".format(*px(tt, min(max(yy, lo), hi))))
            elif pts:
                segs.append(pts)
                pts = []
        if pts:
            segs.append(pts)
        for seg in segs:
            out.append(f'<polyline fill="none" stroke="{color}" stroke-width="2.5" points="{" ".join(seg)}"/>')
        out.append(f'<line x1="{lx}" y1="10" x2="{lx + 16}" y2="10" stroke="{color}" stroke-width="3"/>'
                   f'<text x="{lx + 20}" y="14" fill="#222">{escape(name)}</text>')
        lx += 24 + 8 * len(name) + 14
    out.append("</svg>")
    return "".join(out)


def schedule_svg(t: np.ndarray, alpha: np.ndarray, beta: np.ndarray, gamma: np.ndarray, **kw) -> str:
    """α (base, blue), β (target, vermillion) and γ (noise, green) over t (k,), as an SVG string."""
    return curves_svg(t, {"α": alpha, "β": beta, "γ": gamma},
                      {"α": ALPHA_COLOR, "β": BETA_COLOR, "γ": GAMMA_COLOR}, **kw)


def _nice_ticks(lo: float, hi: float) -> list[float]:
    """Tick values for a log axis over [lo, hi] (both > 0): the decades inside, else 1-2-5 steps,
    else the two ends."""
    decades = [10.0 ** k for k in range(int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi))) + 1)]
    ticks = [d for d in decades if lo <= d <= hi]
    if len(ticks) < 2:
        ticks = [m * d for d in decades for m in (1, 2, 5) if lo <= m * d <= hi]
    return ticks if len(ticks) >= 2 else [lo, hi]


def _label(v: float) -> str:
    """A full tick label ('0.02', '3', '2000'), never a mantissa with a superscript."""
    return f"{v:.4g}" if 1e-4 <= abs(v) < 1e5 else f"{v:.1e}"


def loss_svg(steps: np.ndarray, losses: np.ndarray, width: int = 270, height: int = 180,
             max_points: int = 400, title: str = "drift loss (log scale)") -> str:
    """The training loss over steps (k,) as an SVG string (shrinks to its column, never wider than
    `width`): the raw values faint, their moving
    average (`playground.figures.ema`) thick, on a log y axis with full tick labels. Cheap to
    redraw every second while a model trains (no JavaScript, a few KB)."""
    from playground.figures import downsample_indices, ema

    steps, losses = np.asarray(steps, dtype=float), np.asarray(losses, dtype=float)
    ok = np.isfinite(losses) & (losses > 0)
    left, right, top, bottom = 50, 10, 24, 34
    pw, ph = width - left - right, height - top - bottom
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
           f'style="font: 13px sans-serif; width: 100%; max-width: {width}px; height: auto">',
           f'<text x="{left}" y="15" fill="#111827" font-weight="600">{escape(title)}</text>',
           f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="white" stroke="#444" stroke-width="1"/>']
    if ok.sum() >= 2:
        s, y = steps[ok], losses[ok]
        smooth = ema(y)
        lo, hi = float(min(y.min(), smooth.min())), float(max(y.max(), smooth.max()))
        if hi / lo < 1.5:
            lo, hi = lo / 1.25, hi * 1.25
        llo, lhi = np.log10(lo), np.log10(hi)
        s0, s1 = float(s[0]), float(max(s[-1], s[0] + 1))

        def px(a, b):
            return left + (a - s0) / (s1 - s0) * pw, top + (lhi - np.log10(b)) / (lhi - llo) * ph

        for curve, style in ((y, 'stroke="#0072B2" stroke-opacity="0.3" stroke-width="1"'),
                             (smooth, 'stroke="#0072B2" stroke-width="2.5"')):
            idx = downsample_indices(curve, max_points)
            pts = " ".join("{:.1f},{:.1f}".format(*px(s[i], max(curve[i], lo))) for i in idx)
            out.append(f'<polyline fill="none" {style} points="{pts}"/>')
        for v in _nice_ticks(lo, hi):
            _, yy = px(s0, v)
            out.append(f'<line x1="{left - 4}" y1="{yy:.1f}" x2="{left}" y2="{yy:.1f}" stroke="#444"/>'
                       f'<text x="{left - 6}" y="{yy + 4:.1f}" text-anchor="end" fill="#222">{_label(v)}</text>')
        for v, anchor in ((s0, "start"), (s1, "end")):
            xx, _ = px(v, lo)
            out.append(f'<text x="{xx:.1f}" y="{top + ph + 16}" text-anchor="{anchor}" fill="#222">{int(v):,}</text>')
        out.append(f'<text x="{left + pw / 2:.1f}" y="{height - 3}" text-anchor="middle" fill="#444">step</text>')
    out.append("</svg>")
    return "".join(out)
