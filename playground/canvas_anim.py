"""The flow player: particles drawn on a <canvas> by a small inline JavaScript player.

Plotly redraws SVG markers per frame, which falls to ~10 fps at 5000 particles on a 2-core
machine. This player gets the paths as base64 float32 and draws them with the 2D canvas API (one
fill per colour group), which holds the browser's frame rate far higher.

Two ways to use it, both from the same JavaScript (`PLAYER_JS`) and the same data (`canvas_spec`):

- `canvas_animation_html(...)`: one self-contained offline HTML page (the export, the tests);
- `COMPONENT_JS`: the body of a Streamlit v2 component (registered in `ui/flow.py`; this module
  never imports Streamlit). The component mounts the player once and, when new data arrives
  (the live flow while a model trains, or the final animation), swaps the arrays in place: the
  canvas keeps its size and its place in the cycle, so nothing on the page fades or jumps.

A spec is a plain JSON-able dict: T frames, times (T,), panels (each: n, xy = base64 float32
(T, n, 2) reordered by colour group, group bounds, palette, order = base64 int32 (n,)), faint goal
samples (m, 2), fps, box, size (px per panel, at most), titles, font (px), caption, autoplay, hold
(seconds to rest at t = 1 before the cycle starts over) and `id`/`meta` (what the page drew: read by tests).
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


def canvas_spec(paths: np.ndarray, times: np.ndarray, true_frames: np.ndarray | None = None,
                goal: np.ndarray | None = None, *, fps: float = 30.0, box: float = BOX, size: int = 460,
                titles=("learned flow: X_t", "true interpolant: x_t"), autoplay: bool = False,
                hold: float = 0.8, font: int = 16, caption: str = "",
                meta: dict | None = None) -> dict:
    """The player's data for paths (T, n, 2) over times (T,), optionally beside true_frames
    (T, m, 2), over faint goal samples (k, 2). JSON-able; its size is what the browser receives."""
    paths = np.asarray(paths, dtype=np.float32)
    if paths.ndim != 3 or paths.shape[2] != 2 or len(times) != paths.shape[0]:
        raise ValueError(f"paths must be (T, n, 2) with times (T,); got {paths.shape} and {len(times)} times")
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
    return {
        "T": int(T), "times": [round(float(t), 4) for t in times], "box": box, "fps": fps, "size": int(size),
        "panels": data, "titles": list(titles[: len(panels)]),
        "goal": _b64(goal, "<f4") if goal is not None else "", "autoplay": bool(autoplay),
        "hold": float(hold), "font": int(font), "caption": caption, "meta": dict(meta or {}),
    }


def spec_nbytes(spec: dict) -> int:
    """Bytes of the spec as JSON: what the browser downloads for this animation."""
    return len(json.dumps(spec, separators=(",", ":")))


def canvas_animation_html(paths: np.ndarray, times: np.ndarray, true_frames: np.ndarray | None = None,
                          goal: np.ndarray | None = None, fps: float = 30.0, box: float = BOX,
                          size: int = 460, titles=("learned flow: X_t", "true interpolant: x_t"),
                          autoplay: bool = False) -> str:
    """A self-contained HTML page that plays paths (T, n, 2) over times (T,) on a canvas,
    optionally beside true_frames (T, m, 2), over faint goal samples (k, 2). Controls: play/pause,
    a time slider, speed. No network: everything is inline. `window.canvasAnim` is the player."""
    spec = canvas_spec(paths, times, true_frames, goal, fps=fps, box=box, size=size, titles=titles,
                       autoplay=autoplay, hold=0.8 if autoplay else 0.0)
    return _PAGE.replace("__PLAYER__", PLAYER_JS).replace("__SPEC__", json.dumps(spec))


PLAYER_JS = r"""
function mountFlowPlayer(root, S0) {
  const doc = root.ownerDocument || document;
  const wrap = doc.createElement('div');
  wrap.className = 'flowplayer';
  wrap.innerHTML = `<style>
.flowplayer{font-family:system-ui,sans-serif;color:#111827;background:#fff;width:100%}
.flowplayer .titles{display:flex;gap:8px}.flowplayer .titles div{text-align:center;font-weight:700;color:#111827}
.flowplayer .bar{display:flex;gap:10px;align-items:center;margin:4px 0}
.flowplayer button,.flowplayer select{font:inherit;padding:2px 10px;border:1px solid #6b7280;border-radius:6px;
  background:#fff;color:#111827;cursor:pointer}
.flowplayer input[type=range]{flex:1;min-width:60px}.flowplayer .t{min-width:5.5em;font-variant-numeric:tabular-nums}
.flowplayer .note{color:#4b5563;font-size:0.85em}.flowplayer canvas{display:block}
</style><div class="titles"></div><canvas></canvas><div class="bar">
<button class="play" id="play" type="button" aria-label="play or pause">▶ play</button>
<select class="speed" aria-label="speed"><option value="0.5">0.5×</option><option value="1" selected>1×</option>
<option value="2">2×</option></select><input class="slider" type="range" min="0" value="0" aria-label="time t">
<span class="t"></span></div><div class="note"></div>`;
  root.appendChild(wrap);
  const q = s => wrap.querySelector(s);
  const c = q('canvas'), ctx = c.getContext('2d'), slider = q('.slider'), label = q('.t'), btn = q('.play');
  const GAP = 8;
  let S = null, P = [], goal = null, frame = 0, playing = false, paused = false, acc = 0, last = null;
  let drawn = 0, held = 0, W = 0, raf = 0, updates = 0;
  function dec(b64, Type) { const s = atob(b64), u = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) u[i] = s.charCodeAt(i); return new Type(u.buffer); }
  function layout() {
    const np = P.length, avail = wrap.clientWidth || S.size * np + GAP * (np - 1);
    W = Math.max(120, Math.min(S.size, Math.floor((avail - GAP * (np - 1)) / np)));
    const dpr = window.devicePixelRatio || 1, cw = W * np + GAP * (np - 1);
    c.width = Math.round(cw * dpr); c.height = Math.round(W * dpr);
    c.style.width = cw + 'px'; c.style.height = W + 'px';
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const titles = q('.titles'); titles.innerHTML = ''; titles.style.width = cw + 'px';
    S.titles.forEach(t => { const d = doc.createElement('div'); d.style.width = W + 'px';
      d.style.fontSize = (S.font + 2) + 'px'; d.textContent = t; titles.appendChild(d); });
    wrap.style.fontSize = S.font + 'px'; q('.bar').style.width = cw + 'px';
  }
  function load(spec) {
    const oldT = S ? S.T : 0;
    S = spec;
    P = S.panels.map(p => ({n: p.n, xy: dec(p.xy, Float32Array), b: p.bounds, pal: p.pal,
      order: dec(p.order, Int32Array)}));
    goal = S.goal ? dec(S.goal, Float32Array) : null;
    // keep the place in the cycle when new data comes (the live flow): no jump back to t = 0
    frame = oldT > 1 ? Math.min(S.T - 1, Math.round(frame / (oldT - 1) * (S.T - 1))) : 0;
    slider.max = S.T - 1; q('.note').textContent = S.caption || ''; updates++;
    layout(); draw();
    if (S.autoplay && !paused && !playing) setPlaying(true);
  }
  function draw() {
    const sx = v => (v + S.box) / (2 * S.box) * W, sy = v => (S.box - v) / (2 * S.box) * W;
    ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, c.width, c.height);
    P.forEach((p, k) => {
      const ox = k * (W + GAP); ctx.strokeStyle = '#9ca3af'; ctx.strokeRect(ox + 0.5, 0.5, W - 1, W - 1);
      if (goal) { ctx.fillStyle = 'rgba(107,114,128,0.18)'; ctx.beginPath();
        for (let i = 0; i < goal.length; i += 2) ctx.rect(ox + sx(goal[i]) - 1, sy(goal[i + 1]) - 1, 2, 2);
        ctx.fill(); }
      const base = frame * p.n * 2, r = p.n > 5000 ? 1.2 : p.n > 1500 ? 1.8 : p.n > 600 ? 2.5 : 3.2;
      for (let g = 0; g < p.pal.length; g++) {
        if (p.b[g + 1] === p.b[g]) continue;
        ctx.fillStyle = p.pal[g]; ctx.beginPath();
        for (let i = p.b[g]; i < p.b[g + 1]; i++) {
          const x = ox + sx(p.xy[base + 2 * i]), y = sy(p.xy[base + 2 * i + 1]);
          ctx.rect(x - r, y - r, 2 * r, 2 * r); }
        ctx.fill(); }
    });
    slider.value = frame; label.textContent = 't = ' + S.times[frame].toFixed(2); drawn++;
  }
  function tick(now) {
    if (!playing) { last = null; raf = 0; return; }
    if (last !== null) acc += (now - last) / 1000 * S.fps * parseFloat(q('.speed').value);
    last = now;
    if (acc >= 1) {
      const k = Math.floor(acc); acc -= k;
      if (frame === S.T - 1 && held < S.hold * S.fps) held += k;  // rest a moment at t = 1
      else if (frame === S.T - 1) { held = 0; frame = 0; draw(); }
      else { frame = Math.min(S.T - 1, frame + k); draw(); }
    }
    raf = requestAnimationFrame(tick);
  }
  function setPlaying(on) {
    playing = on; btn.textContent = on ? '❚❚ pause' : '▶ play';
    if (on && !raf) raf = requestAnimationFrame(tick);
  }
  btn.onclick = () => { paused = playing; setPlaying(!playing); };
  slider.oninput = () => { frame = parseInt(slider.value); draw(); };
  const ro = typeof ResizeObserver === 'undefined' ? null : new ResizeObserver(() => {
    if (S && W !== Math.max(120, Math.min(S.size, Math.floor(((wrap.clientWidth || 0) - GAP * (P.length - 1))
        / P.length)))) { layout(); draw(); } });
  if (ro) ro.observe(wrap);
  load(S0);
  const api = {frame: () => frame, drawn: () => drawn, updates: () => updates, playing: () => playing,
    T: () => S.T, meta: () => S.meta, update: load,
    position: (panel, j) => api.at(frame, panel, j),
    at: (k, panel, j) => { const p = P[panel], i = p.order.indexOf(j), o = (k * p.n + i) * 2;
      return [p.xy[o], p.xy[o + 1]]; },
    destroy: () => { playing = false; if (ro) ro.disconnect(); wrap.remove(); }};
  return api;
}
"""

COMPONENT_JS = PLAYER_JS + r"""
export default function (component) {
  const { data, parentElement } = component;
  if (!data || !data.panels) return;
  const registry = (window.flowPlayers = window.flowPlayers || {});
  const sig = data.meta && data.meta.sig;
  let player = parentElement.__flowPlayer;
  if (!player) {
    player = parentElement.__flowPlayer = mountFlowPlayer(parentElement, data);
    parentElement.__flowSig = sig;
  } else if (sig === undefined || parentElement.__flowSig !== sig) {
    player.update(data);
    parentElement.__flowSig = sig;
  }
  registry[(data.meta && data.meta.name) || 'flow'] = player;
}
"""
"""A Streamlit v2 component's JavaScript: mounts the player once per element, then swaps its data
when `meta.sig` changes; `window.flowPlayers[meta.name]` is the player (read by browser tests)."""

_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Interpolant flow</title>
<style>body{margin:8px;background:#fff}</style></head><body><div id="root"></div>
<script>
__PLAYER__
const S = __SPEC__;
window.canvasAnim = mountFlowPlayer(document.getElementById('root'), S);
</script></body></html>"""
