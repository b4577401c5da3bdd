"""A fast animation renderer: one self-contained HTML page with a <canvas> and inline JavaScript.

Plotly redraws SVG markers per frame, which falls to ~10 fps at 5000 particles on a 2-core
machine. This renderer ships the paths as base64 float32 and draws them with the 2D canvas API
(one fill per colour group), which holds the browser's frame rate far higher. It is pure: arrays
in, an HTML string out, usable offline (no library is loaded) and in `st.components.v1.html`.
"""

from __future__ import annotations

import base64
import json

import numpy as np

from playground.figures import position_colors

BOX = 4.0
MAX_PARTICLES = 20_000
"""Particles per panel the canvas renderer accepts (20 000 × 101 frames ≈ 22 MB of float32)."""
COLOR_GROUPS = 48


def _b64(a: np.ndarray, dtype) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype=dtype).tobytes()).decode("ascii")


def _groups(start: np.ndarray) -> tuple[np.ndarray, list[str]]:  # noqa: C901
    """A colour group per particle (n,) int and the group colours, from where each starts."""
    colors = position_colors(start)
    palette, inverse = np.unique(colors, return_inverse=True)
    if len(palette) > COLOR_GROUPS:  # quantise: keep COLOR_GROUPS representative colours
        d = start - start.mean(0)
        ang = (np.arctan2(d[:, 1], d[:, 0]) / (2 * np.pi)) % 1.0
        r = np.hypot(d[:, 0], d[:, 1])
        ring = (r > np.median(r)).astype(int)
        inverse = (np.floor(ang * (COLOR_GROUPS // 2)).astype(int) * 2 + ring)
        palette = np.empty(COLOR_GROUPS, dtype=object)
        for g in range(COLOR_GROUPS):
            members = np.flatnonzero(inverse == g)
            palette[g] = colors[members[0]] if len(members) else "#888888"
    return inverse.astype(np.uint8), [str(c) for c in palette]


def canvas_animation_html(paths: np.ndarray, times: np.ndarray, true_frames: np.ndarray | None = None,
                          goal: np.ndarray | None = None, fps: float = 30.0, box: float = BOX,
                          size: int = 460, titles=("learned drift: X_t", "true interpolant: x_t")) -> str:
    """HTML that plays paths (T, n, 2) over times (T,) on a canvas, optionally beside true_frames
    (T, m, 2), over faint goal samples (k, 2). Controls: play/pause, a time slider, speed."""
    paths = np.asarray(paths, dtype=np.float32)
    T, n, _ = paths.shape
    if n > MAX_PARTICLES:
        raise ValueError(f"at most {MAX_PARTICLES} particles, got {n}")
    panels = [paths] if true_frames is None else [paths, np.asarray(true_frames, dtype=np.float32)]
    data = []
    for p in panels:
        groups, palette = _groups(p[0])
        order = np.argsort(groups, kind="stable")  # particles of one colour drawn in one fill
        bounds = np.searchsorted(groups[order], np.arange(len(palette) + 1)).tolist()
        data.append({"n": int(p.shape[1]), "xy": _b64(p[:, order], "<f4"), "bounds": bounds,
                     "pal": palette, "order": _b64(order, "<i4")})
    spec = {
        "T": int(T), "times": [round(float(t), 4) for t in times], "box": box, "fps": fps, "size": size,
        "panels": data, "titles": list(titles[: len(panels)]),
        "goal": _b64(goal, "<f4") if goal is not None else "",
    }
    return _TEMPLATE.replace("__SPEC__", json.dumps(spec))


_TEMPLATE = """<!doctype html><html><head><meta charset="utf-8"><style>
body{margin:0;font:16px system-ui,sans-serif;color:#111827;background:#fff}
.bar{display:flex;gap:10px;align-items:center;margin:6px 4px}
button,select{font:inherit;padding:4px 10px;border:1px solid #9ca3af;border-radius:6px;background:#fff}
input[type=range]{flex:1} .t{min-width:80px;font-variant-numeric:tabular-nums}
.titles{display:flex} .titles div{text-align:center;font-weight:600}
</style></head><body>
<div class="titles" id="titles"></div><canvas id="c"></canvas>
<div class="bar"><button id="play">▶ play</button>
<select id="speed"><option value="0.5">0.5×</option><option value="1" selected>1×</option>
<option value="2">2×</option></select><input id="slider" type="range" min="0" value="0">
<span class="t" id="tlabel"></span></div>
<script>
const S = __SPEC__;
function dec(b64, Type) { const s = atob(b64), u = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) u[i] = s.charCodeAt(i); return new Type(u.buffer); }
const P = S.panels.map(p => ({n: p.n, xy: dec(p.xy, Float32Array), b: p.bounds, pal: p.pal,
  order: dec(p.order, Int32Array)}));
const goal = S.goal ? dec(S.goal, Float32Array) : null;
const W = S.size, H = S.size, c = document.getElementById('c'), ctx = c.getContext('2d');
c.width = W * P.length; c.height = H;
const titles = document.getElementById('titles');
S.titles.forEach(t => { const d = document.createElement('div'); d.style.width = W + 'px';
  d.textContent = t; titles.appendChild(d); });
const sx = v => (v + S.box) / (2 * S.box) * W, sy = v => (S.box - v) / (2 * S.box) * H;
const slider = document.getElementById('slider'), label = document.getElementById('tlabel');
slider.max = S.T - 1;
let frame = 0, playing = false, acc = 0, last = null, drawn = 0;
window.canvasAnim = {frame: () => frame, drawn: () => drawn, T: S.T,
  position: (panel, j) => { const p = P[panel], i = p.order.indexOf(j), o = (frame * p.n + i) * 2;
    return [p.xy[o], p.xy[o + 1]]; }};
function draw() {
  ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, c.width, c.height);
  P.forEach((p, k) => {
    const ox = k * W; ctx.strokeStyle = '#9ca3af'; ctx.strokeRect(ox + 0.5, 0.5, W - 1, H - 1);
    if (goal) { ctx.fillStyle = 'rgba(107,114,128,0.18)'; ctx.beginPath();
      for (let i = 0; i < goal.length; i += 2) ctx.rect(ox + sx(goal[i]) - 1, sy(goal[i + 1]) - 1, 2, 2);
      ctx.fill(); }
    const base = frame * p.n * 2, r = p.n > 5000 ? 1.2 : p.n > 1500 ? 1.8 : 2.5;
    for (let g = 0; g < p.pal.length; g++) {
      if (p.b[g + 1] === p.b[g]) continue;
      ctx.fillStyle = p.pal[g]; ctx.beginPath();
      for (let i = p.b[g]; i < p.b[g + 1]; i++) {
        const x = ox + sx(p.xy[base + 2 * i]), y = sy(p.xy[base + 2 * i + 1]); ctx.rect(x - r, y - r, 2 * r, 2 * r); }
      ctx.fill(); }
  });
  slider.value = frame; label.textContent = 't = ' + S.times[frame].toFixed(2); drawn++;
}
function tick(now) {
  if (!playing) { last = null; return; }
  if (last !== null) acc += (now - last) / 1000 * S.fps * parseFloat(document.getElementById('speed').value);
  last = now;
  if (acc >= 1) { frame = (frame + Math.floor(acc)) % S.T; acc -= Math.floor(acc); draw(); }
  requestAnimationFrame(tick);
}
document.getElementById('play').onclick = () => { playing = !playing;
  document.getElementById('play').textContent = playing ? '❚❚ pause' : '▶ play';
  if (playing) requestAnimationFrame(tick); };
slider.oninput = () => { frame = parseInt(slider.value); draw(); };
draw();
</script></body></html>"""
