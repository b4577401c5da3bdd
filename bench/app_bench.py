"""Section 4: the app. Figure cost, browser frame rate, Train-to-first-frame, in-app training speed.

- figures: `playground.figures.animation_figure` built as the page builds it ("app": learned
  panel and true-interpolant panel, 30 trails, 15×15 drift arrows, faint target behind,
  Scattergl above 2500 particles) and with the particles alone ("particles"), from synthetic
  arrays of N particles × T frames; build seconds, JSON seconds and bytes (`figure_nbytes`).
- fps: the same figure written as standalone HTML (`write_html(include_plotlyjs=True)`), opened
  in headless Chromium (tests/e2e flags), played with its "▶ 1×" button (asked: 20 fps); frames
  per second counted from `plotly_animatingframe` events over `fps_seconds`, for Scatter and
  Scattergl; and the canvas renderer (`playground.canvas_anim`, same arrays, asked 20 fps):
  canvas draws per second.
- app: `streamlit run app.py` (tests/e2e/conftest.AppServer, PLAYGROUND_THREADS=1), press Train
  with the default settings (moons, 3000 steps): seconds until "finished", until the first
  animation frame is on screen, and the page's "steps / s" metric.
- in-app training: 3000 steps ÷ wall seconds from the click to "finished", against the same
  chunked loop without UI (`PlaygroundSession.train_for(0.5)` until done, run before and after
  the app and averaged), both on one thread.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import numpy as np

from bench.common import Settings, ratio, say, table, threads, wall
from playground.config import ExperimentConfig
from playground.figures import animation_figure, figure_nbytes
from playground.session import PlaygroundSession

try:  # the canvas renderer is newer than this bench: measure it when it is there
    from playground.canvas_anim import canvas_animation_html
except ImportError:  # pragma: no cover
    canvas_animation_html = None

ROOT = Path(__file__).resolve().parents[1]
FPS_ASKED = 20
PARTICLE_XS = """() => {
  const plots = [...document.querySelectorAll('.js-plotly-plot')].filter(p => p._transitionData
      && (p._transitionData._frames || []).length > 1);
  if (!plots.length) return null;
  const gd = plots[0];
  const i = gd._fullData.findIndex(d => d.name === 'particles');
  if (i < 0) return null;
  return Array.from(gd._fullData[i].x).slice(0, 5);
}"""
FIRST_FRAME = """() => {
  if ((""" + PARTICLE_XS + """)() !== null) return true;
  return [...document.querySelectorAll('iframe')].some(f => {
    try { const a = f.contentWindow.canvasAnim; return !!a && a.drawn() > 0; } catch (e) { return false; }
  });
}"""
COUNT_FRAMES = """() => {
  const gd = [...document.querySelectorAll('.js-plotly-plot')][0];
  window.__frames = [];
  gd.on('plotly_animatingframe', () => window.__frames.push(performance.now()));
}"""


def synthetic(n: int, n_t: int, seed: int = 0) -> dict:
    """Arrays shaped like `playground.animation.AnimationData` (values are a random walk)."""
    rng = np.random.default_rng(seed)
    steps = rng.normal(0, 0.05, (n_t, n, 2)).astype(np.float32)
    steps[0] = rng.normal(0, 1, (n, 2))
    paths = np.cumsum(steps, axis=0)
    ax = np.linspace(-3.4, 3.4, 15, dtype=np.float32)
    xx, yy = np.meshgrid(ax, ax)
    grid = np.stack([xx.ravel(), yy.ravel()], 1)
    arrows = np.concatenate([np.broadcast_to(grid, (n_t, 225, 2)),
                             rng.normal(0, 1, (n_t, 225, 2)).astype(np.float32)], axis=2)
    return {"traj": paths, "times": np.linspace(0, 1, n_t), "true_frames": paths[:, ::-1].copy(),
            "target_bg": rng.normal(0, 1, (2000, 2)).astype(np.float32), "arrows": arrows}


def build(n: int, n_t: int, webgl: bool | None = None, variant: str = "app"):
    """variant 'app': as the page draws it; 'particles': the learned particles alone."""
    d = synthetic(n, n_t)
    webgl = n > 2500 if webgl is None else webgl
    if variant == "particles":
        return animation_figure(d["traj"], d["times"], webgl=webgl)
    return animation_figure(d["traj"], d["times"], target_bg=d["target_bg"], true_frames=d["true_frames"],
                            trails=30, arrows=d["arrows"], webgl=webgl)


def figure_costs(sizes) -> list[dict]:
    build(50, 5)  # warm up Plotly
    rows = []
    for n, n_t in sizes:
        for variant in ("app", "particles"):
            t0 = wall()
            fig = build(n, n_t, variant=variant)
            t1 = wall()
            nbytes = figure_nbytes(fig)
            rows.append({"particles": n, "frames": n_t, "variant": variant, "webgl": n > 2500,
                         "build_s": t1 - t0, "json_s": wall() - t1, "json_bytes": nbytes})
    return rows


def loop_without_ui(steps: int) -> dict:
    """PlaygroundSession.train_for(0.5) until done, outside Streamlit (wall clock)."""
    sess = PlaygroundSession()
    sess.start(ExperimentConfig(steps=steps))
    t0 = wall()
    while sess.status == "training":
        sess.train_for(0.5)
    dt = wall() - t0
    return {"steps": sess.state.step, "wall_s": dt, "steps_per_s_wall": sess.state.step / dt,
            "steps_per_s_metric": sess.steps_per_second()}


def browser_available() -> str:
    """'' when Chromium and playwright are there, else why not."""
    from tests.e2e.conftest import CHROMIUM

    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        return f"no Chromium at {CHROMIUM}"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    return ""


PLAY = """() => {
  const gd = [...document.querySelectorAll('.js-plotly-plot')][0];
  const play = gd.layout.updatemenus[0].buttons.find(b => b.label.includes('1×'));
  Plotly.animate(gd, ...play.args);  // exactly what the "▶ 1×" button does
}"""


def measure_fps(browser, settings: Settings, tmp: Path) -> list[dict]:
    """Every case is measured on its own page; a case that fails is recorded with its error."""
    rows = []
    for n in settings.fps_particles:
        cases = [("scatter", False), ("scattergl", True)]
        if canvas_animation_html is not None:
            cases.append(("canvas", None))
        for trace, webgl in cases:
            try:
                row = (canvas_fps(browser, n, settings, tmp) if trace == "canvas"
                       else plotly_fps(browser, n, webgl, settings, tmp))
            except Exception as exc:  # noqa: BLE001 - a slow or broken page must not end the bench
                row = {"particles": n, "frames": settings.fps_frames, "trace": trace, "fps": None,
                       "fps_asked": FPS_ASKED, "error": f"{type(exc).__name__}: {str(exc)[:200]}"}
            rows.append(row)
            say(f"  fps {trace:9s} {n:5d} particles: "
                + (f"{row['fps']:.1f}" if row["fps"] is not None else row.get("error", "?"))
                + f" (asked {FPS_ASKED})")
    return rows


def plotly_fps(browser, n: int, webgl: bool, settings: Settings, tmp: Path) -> dict:
    path = tmp / f"anim_{n}_{int(webgl)}.html"
    build(n, settings.fps_frames, webgl=webgl).write_html(str(path), include_plotlyjs=True)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(120_000)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(path.as_uri())
        page.wait_for_function(f"({PARTICLE_XS})() !== null")
        page.evaluate(COUNT_FRAMES)
        first = page.evaluate(PARTICLE_XS)
        page.evaluate(PLAY)
        page.wait_for_timeout(int(settings.fps_seconds * 1000))
        stamps = page.evaluate("() => window.__frames")
        moved = page.evaluate(PARTICLE_XS) != first
    finally:
        page.close()
    fps = (len(stamps) - 1) * 1000 / (stamps[-1] - stamps[0]) if len(stamps) > 2 else 0.0
    return {"particles": n, "frames": settings.fps_frames, "trace": "scattergl" if webgl else "scatter",
            "fps": fps, "fps_asked": FPS_ASKED, "frames_counted": len(stamps), "moved": moved,
            "html_bytes": path.stat().st_size, "page_errors": errors[:3]}


def canvas_fps(browser, n: int, settings: Settings, tmp: Path) -> dict:
    """The canvas renderer (playground.canvas_anim) on the same arrays: draws per second."""
    d = synthetic(n, settings.fps_frames)
    path = tmp / f"canvas_{n}.html"
    path.write_text(canvas_animation_html(d["traj"], d["times"], d["true_frames"], d["target_bg"],
                                          fps=FPS_ASKED))
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(120_000)
    try:
        page.goto(path.as_uri())
        page.wait_for_function("() => window.canvasAnim && window.canvasAnim.drawn() > 0")
        first = page.evaluate("() => [window.canvasAnim.drawn(), performance.now()]")
        page.click("#play")
        page.wait_for_timeout(int(settings.fps_seconds * 1000))
        last = page.evaluate("() => [window.canvasAnim.drawn(), performance.now()]")
    finally:
        page.close()
    fps = (last[0] - first[0]) * 1000 / (last[1] - first[1])
    return {"particles": n, "frames": settings.fps_frames, "trace": "canvas", "fps": fps,
            "fps_asked": FPS_ASKED, "frames_counted": last[0] - first[0], "moved": last[0] > first[0],
            "html_bytes": path.stat().st_size, "page_errors": []}


def metric_value(page, label: str) -> float | None:
    box = page.locator("[data-testid='stMetric']").filter(has_text=label).first
    text = box.locator("[data-testid='stMetricValue']").inner_text()
    m = re.search(r"[\d,.]+", text)
    return float(m.group(0).replace(",", "")) if m else None


def app_timings(browser, steps: int) -> dict:
    from tests.e2e.conftest import AppServer, wait_idle

    server = AppServer(env={"PLAYGROUND_THREADS": "1"})
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(server.url)
        wait_idle(page, 120_000)
        if steps != ExperimentConfig().steps:
            box = page.get_by_role("spinbutton", name="steps", exact=True)
            box.fill(str(steps))
            box.press("Enter")
            wait_idle(page, 60_000)
        t0 = wall()
        page.get_by_role("button", name="Train", exact=True).click()
        page.get_by_text(f"finished {steps:,} steps").or_(page.get_by_text(f"finished {steps} steps")) \
            .first.wait_for(timeout=300_000)
        t_done = wall()
        page.wait_for_function(FIRST_FRAME, timeout=120_000, polling=50)
        t_frame = wall()
        shown = metric_value(page, "steps / s")
        page.close()
    finally:
        server.stop()
    return {"steps": steps, "click_to_finished_s": t_done - t0, "click_to_first_frame_s": t_frame - t0,
            "finished_to_first_frame_s": t_frame - t_done, "steps_per_s_wall": steps / (t_done - t0),
            "steps_per_s_metric": shown}


def run(settings: Settings) -> dict:
    out: dict = {"figures": figure_costs(settings.figure_sizes)}
    for r in out["figures"]:
        say(f"  figure {r['particles']} × {r['frames']} ({r['variant']}): build {r['build_s']:.2f} s, JSON "
            f"{r['json_s']:.2f} s, {r['json_bytes'] / 1e6:.1f} MB")
    why = browser_available() if settings.browser else "skipped (quick mode; pass --browser)"
    steps = ExperimentConfig().steps if settings.mode == "full" else 100
    with threads(1):
        before = loop_without_ui(steps)
    out["loop_without_ui"] = [before]
    if why:
        out["browser"] = {"skipped": why}
        out["in_app"] = {"skipped": why, "loop_steps_per_s_wall": before["steps_per_s_wall"]}
        say(markdown(out))
        return out
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS

    tmp = Path(tempfile.mkdtemp(prefix="bench-fps-"))
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                fps = measure_fps(browser, settings, tmp)
                try:
                    app = app_timings(browser, steps)
                except Exception as exc:  # noqa: BLE001 - keep the rest of the section
                    app = {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}
            finally:
                browser.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    with threads(1):
        after = loop_without_ui(steps)
    out["loop_without_ui"].append(after)
    loop_rate = (before["steps_per_s_wall"] + after["steps_per_s_wall"]) / 2
    loop_metric = (before["steps_per_s_metric"] + after["steps_per_s_metric"]) / 2
    out["browser"] = {"chromium": CHROMIUM, "fps": fps, "app": app}
    if "error" in app:
        out["in_app"] = {"skipped": f"the app run failed: {app['error']}",
                         "loop_steps_per_s_wall": loop_rate}
        say(markdown(out))
        return out
    out["in_app"] = {"app_steps_per_s_wall": app["steps_per_s_wall"], "loop_steps_per_s_wall": loop_rate,
                     "ratio_wall": ratio(app["steps_per_s_wall"], loop_rate),
                     "app_steps_per_s_metric": app["steps_per_s_metric"],
                     "loop_steps_per_s_metric": loop_metric,
                     "ratio_metric": ratio(app["steps_per_s_metric"], loop_metric)}
    say(markdown(out))
    return out


def markdown(sec: dict) -> str:
    parts = [table(["particles × frames", "figure", "trace", "build (s)", "to JSON (s)", "JSON (MB)"],
                   [[f"{r['particles']} × {r['frames']}", r["variant"],
                     "scattergl" if r["webgl"] else "scatter", r["build_s"], r["json_s"],
                     r["json_bytes"] / 1e6] for r in sec["figures"]])]
    b = sec["browser"]
    if "skipped" in b:
        parts.append(f"Browser measurements: {b['skipped']}.")
    else:
        parts.append("Animation frame rate in headless Chromium (software rendering, asked 20 fps):\n\n"
                     + table(["particles × frames", "trace", "fps", "moved"],
                             [[f"{r['particles']} × {r['frames']}", r["trace"], r["fps"],
                               r.get("moved", r.get("error"))] for r in b["fps"]]))
        a = b["app"]
        if "error" in a:
            parts.append(f"App run failed: {a['error']}")
        else:
            parts.append(table([f"app (defaults, moons, {a['steps']} steps)", "value"], [
                ["Train click → finished (s)", a["click_to_finished_s"]],
                ["Train click → first animation frame (s)", a["click_to_first_frame_s"]],
                ["finished → first animation frame (s)", a["finished_to_first_frame_s"]],
                ["page's steps / s metric", a["steps_per_s_metric"]]]))
    i = sec["in_app"]
    if "skipped" in i:
        parts.append(f"In-app training: {i['skipped']} (loop without UI: "
                     f"{i['loop_steps_per_s_wall']:.0f} steps/s wall).")
    else:
        parts.append(table(["training steps/s", "in the app", "loop without UI", "app ÷ loop"], [
            ["wall clock (steps ÷ seconds from click to finished)", i["app_steps_per_s_wall"],
             i["loop_steps_per_s_wall"], i["ratio_wall"]],
            ["the page's metric (time inside train_steps)", i["app_steps_per_s_metric"],
             i["loop_steps_per_s_metric"], i["ratio_metric"]]]))
    return "\n\n".join(parts)

