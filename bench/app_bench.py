"""Section 4: the app. Figure cost and bytes, browser frame rate, the first minute, in-app training speed.

- figures: `playground.figures.animation_figure` built as the page builds it ("app": learned
  panel and true-interpolant panel, 30 trails, 15×15 drift arrows, faint target behind,
  Scattergl above 2500 particles) and with the particles alone ("particles"), from synthetic
  arrays of N particles × T frames; build seconds, JSON seconds and bytes (`figure_nbytes`).
- fps: the same figure written as standalone HTML (`write_html(include_plotlyjs=True)`), opened
  in headless Chromium (tests/e2e flags), played with its "▶ 1×" button (asked: 20 fps); frames
  per second counted from `plotly_animatingframe` events over `fps_seconds`, for Scatter and
  Scattergl; and the canvas renderer (`playground.canvas_anim`, same arrays, asked 20 fps):
  canvas draws per second.
- bytes: what one animation costs the browser (JSON of the canvas player's data or of the Plotly
  figure) at the default settings, at the caps, and for the live flow while training.
- app ("the first minute", issue 12): `streamlit run app.py` (tests/e2e/conftest.AppServer,
  PLAYGROUND_THREADS=1), warmed by one first visitor, then in a fresh page at 1440×900: page load
  to first content; first visit until the flow player is playing (no click); Train (defaults) until
  the first live flow and until the final animation; websocket bytes of the first visit and of a
  rerun that changes neither model nor animation (the seconds budget); on /scenes, Open until the
  scene's flow plays. Each beside its goal.
- in-app training: the steps the app trained in its default time budget ÷ those wall seconds of
  training, against the same chunked loop without UI (`PlaygroundSession.train_for(0.5)` until its
  budget is spent, before and after the app, averaged), one thread: the share of training the
  page, the live flow and the browser beside it cost.
"""

from __future__ import annotations

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


GOALS = {"page_load_s": 2.0, "first_moving_flow_s": None, "train_to_first_live_s": 1.0,
         "train_to_final_s": 10.0, "scene_open_to_playing_s": 1.5}
"""Issue 12's goals (seconds); None: no number was set (the flow should move within the first second
after the page loads)."""
BYTES_GOAL = 2_000_000
"""Issue 12: an animation at the default settings costs the browser at most this many bytes."""

PLAYER = "window.flowPlayers && window.flowPlayers.flow"
MOVING = f"() => !!({PLAYER}) && window.flowPlayers.flow.playing() && window.flowPlayers.flow.drawn() > 2"
KIND = f"() => ({PLAYER}) ? window.flowPlayers.flow.meta() : null"


def animation_bytes() -> list[dict]:
    """What one animation costs the browser (JSON bytes of what the page sends), from synthetic
    arrays of the shapes the page draws: the canvas player's data and the Plotly figure, at the
    defaults and at the caps."""
    from playground.animation import LIVE_PARTICLES, LIVE_STEPS, MAX_FRAMES, MAX_PARTICLES, PLOTLY_MAX_PARTICLES
    from playground.canvas_anim import canvas_spec, spec_nbytes
    from ui.controls import ANIMATION_DEFAULTS

    frames = ExperimentConfig().sample_steps + 1
    n = ANIMATION_DEFAULTS["particles"]
    rows = []
    for case, renderer, particles, n_t in (("live flow while training", "canvas", LIVE_PARTICLES, LIVE_STEPS + 1),
                                           ("defaults", "canvas", n, frames),
                                           ("caps", "canvas", MAX_PARTICLES, MAX_FRAMES),
                                           ("defaults", "plotly", n, frames),
                                           ("caps", "plotly", PLOTLY_MAX_PARTICLES, MAX_FRAMES)):
        d = synthetic(particles, n_t)
        if renderer == "canvas":
            nbytes = spec_nbytes(canvas_spec(d["traj"], d["times"], d["true_frames"], d["target_bg"], autoplay=True))
        else:
            nbytes = figure_nbytes(build(particles, n_t))
        rows.append({"case": case, "renderer": renderer, "particles": particles, "frames": n_t, "bytes": nbytes,
                     "goal_bytes": BYTES_GOAL if case == "defaults" else None})
    return rows


def _ws_bytes(page) -> list[int]:
    got: list[int] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda f: got.append(len(f))))
    return got


def _wait(page, js: str, timeout: float = 120_000) -> float:
    page.wait_for_function(js, timeout=timeout, polling=20)
    return wall()


def first_minute(browser) -> dict:
    """Issue 12's measurements, in one run of the real app in Chromium: page load (first content),
    first moving flow on a first visit, Train → first live flow, Train → final animation (the
    default budget), scene Open → playing, and the bytes a rerun that changes nothing resends."""
    from tests.e2e.conftest import AppServer, wait_idle

    server = AppServer(env={"PLAYGROUND_THREADS": "1"})
    out: dict = {}
    try:
        warm = browser.new_page(viewport={"width": 1440, "height": 900})  # the server's first visitor
        warm.goto(server.url)
        warm.wait_for_function(MOVING, timeout=180_000)
        warm.close()

        page = browser.new_page(viewport={"width": 1440, "height": 900})
        received = _ws_bytes(page)
        t0 = wall()
        page.goto(server.url)
        page.get_by_text("Stochastic interpolant playground").first.wait_for(timeout=60_000)
        out["page_load_s"] = wall() - t0
        out["first_moving_flow_s"] = _wait(page, MOVING) - t0
        wait_idle(page, 60_000)
        out["first_visit_ws_bytes"] = sum(received)
        received.clear()
        box = page.get_by_role("spinbutton", name="seconds", exact=True)  # neither model nor animation
        box.fill(str(ExperimentConfig().seconds + 1))
        box.press("Enter")
        page.wait_for_timeout(300)
        wait_idle(page, 60_000)
        out["unchanged_rerun_ws_bytes"] = sum(received)
        box.fill(f"{ExperimentConfig().seconds:g}")
        box.press("Enter")
        wait_idle(page, 60_000)

        t0 = wall()
        page.get_by_role("button", name="Train", exact=True).click()
        t_live = _wait(page, f"() => {{ const m = ({KIND})(); return m && m.kind === 'live'; }}")
        t_final = _wait(page, f"() => {{ const m = ({KIND})(); return m && m.kind === 'final' && "
                              f"m.step !== {_default_steps()}; }}")
        out["train_to_first_live_s"] = t_live - t0
        out["train_to_final_s"] = t_final - t0
        out["steps_trained"] = page.evaluate(KIND)["step"]
        out["budget_s"] = ExperimentConfig().seconds
        page.close()

        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(f"{server.url}/scenes")
        wait_idle(page, 60_000)
        t0 = wall()
        page.locator("[data-testid='stButton'] button").filter(has_text="Open").first.click()
        out["scene_open_to_playing_s"] = _wait(page, MOVING) - t0
        page.close()
    finally:
        server.stop()
    out["goals"] = GOALS
    return out


def _default_steps() -> int:
    from playground.scenes import DEFAULT_SCENE, load_manifest

    try:
        return next(e["steps"] for e in load_manifest()["scenes"] if e["name"] == DEFAULT_SCENE)
    except (StopIteration, Exception):  # noqa: BLE001 - no shipped default: any final animation counts
        return -1


def run(settings: Settings) -> dict:
    out: dict = {"figures": figure_costs(settings.figure_sizes), "bytes": animation_bytes()}
    for r in out["figures"]:
        say(f"  figure {r['particles']} × {r['frames']} ({r['variant']}): build {r['build_s']:.2f} s, JSON "
            f"{r['json_s']:.2f} s, {r['json_bytes'] / 1e6:.1f} MB")
    why = browser_available() if settings.browser else "skipped (quick mode; pass --browser)"
    steps = 0 if settings.mode == "full" else 100  # 0: the default budget (seconds)
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
                    app = first_minute(browser)
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
    # a time budget: both train for the same wall seconds (measured inside train_steps); the app's
    # share of the loop's steps is what the page, the live flow and the browser cost training
    app_rate = app["steps_trained"] / app["budget_s"]
    out["in_app"] = {"app_steps_per_s_wall": app_rate, "loop_steps_per_s_wall": loop_metric,
                     "ratio_wall": ratio(app_rate, loop_metric), "click_to_final_s": app["train_to_final_s"],
                     "budget_s": app["budget_s"], "loop_steps_per_s_with_chunk_overhead": loop_rate}
    say(markdown(out))
    return out


def _goal(key: str, value: float | None) -> str:
    goal = GOALS.get(key)
    if value is None:
        return "–"
    if goal is None:
        return "(no number set)"
    return f"≤ {goal:g} s: {'met' if value <= goal else 'MISSED'}"


def markdown(sec: dict) -> str:
    parts = [table(["particles × frames", "figure", "trace", "build (s)", "to JSON (s)", "JSON (MB)"],
                   [[f"{r['particles']} × {r['frames']}", r["variant"],
                     "scattergl" if r["webgl"] else "scatter", r["build_s"], r["json_s"],
                     r["json_bytes"] / 1e6] for r in sec["figures"]])]
    parts.append("Bytes one animation costs the browser (goal at the defaults: ≤ 2 MB):\n\n" + table(
        ["animation", "renderer", "particles × frames", "MB", "goal"],
        [[r["case"], r["renderer"], f"{r['particles']:,} × {r['frames']}", r["bytes"] / 1e6,
          ("met" if r["bytes"] <= r["goal_bytes"] else "MISSED") if r["goal_bytes"] else ""]
         for r in sec["bytes"]]))
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
            parts.append(table(["the first minute (Chromium, 1440×900, warm server)", "seconds", "goal"], [
                ["page load: first content", a["page_load_s"], _goal("page_load_s", a["page_load_s"])],
                ["first visit: the flow is moving", a["first_moving_flow_s"],
                 _goal("first_moving_flow_s", a["first_moving_flow_s"])],
                ["Train → first live flow", a["train_to_first_live_s"],
                 _goal("train_to_first_live_s", a["train_to_first_live_s"])],
                [f"Train → final animation (defaults: {a['budget_s']:g} s budget, {a['steps_trained']:,} steps)",
                 a["train_to_final_s"], _goal("train_to_final_s", a["train_to_final_s"])],
                ["scene Open → playing", a["scene_open_to_playing_s"],
                 _goal("scene_open_to_playing_s", a["scene_open_to_playing_s"])]]))
            parts.append(f"Websocket bytes: first visit {a['first_visit_ws_bytes'] / 1e6:.2f} MB; a rerun that "
                         f"changes neither the model nor the animation {a['unchanged_rerun_ws_bytes'] / 1e3:.1f} KB.")
    i = sec["in_app"]
    if "skipped" in i:
        parts.append(f"In-app training: {i['skipped']} (loop without UI: "
                     f"{i['loop_steps_per_s_wall']:.0f} steps/s wall).")
    else:
        parts.append(table(["training steps/s in the default time budget", "in the app", "loop without UI",
                            "app ÷ loop"], [
            [f"steps ÷ the {i['budget_s']:g} wall seconds of training (live flow and browser running beside)",
             i["app_steps_per_s_wall"], i["loop_steps_per_s_wall"], i["ratio_wall"]]]))
        parts.append(f"Train → final animation took {i['click_to_final_s']:.2f} s for a {i['budget_s']:g} s budget "
                     "(the rest: the first run, live-flow redraws between chunks, the final animation).")
    return "\n\n".join(parts)
