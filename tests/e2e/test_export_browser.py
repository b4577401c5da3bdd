"""The exported HTML animation plays in a real browser with no network at all."""

from __future__ import annotations

import re

import numpy as np

from playground.export import animation_html
from playground.figures import animation_figure
from tests.e2e.conftest import PARTICLE_XS


def _paths(n_t: int = 40, n: int = 200):
    """Times (T,) and particles moving on straight lines, (T, n, 2) float32."""
    start = np.random.default_rng(0).normal(size=(n, 2)).astype(np.float32)
    times = np.linspace(0, 1, n_t, dtype=np.float32)
    return times, (1 - times)[:, None, None] * start + times[:, None, None] * (1.0 - start)


def _figure():
    times, paths = _paths()
    return animation_figure(paths, times, true_frames=paths[:, ::-1], trails=5)


def test_exported_html_plays_offline(browser, tmp_path):
    path = tmp_path / "animation.html"
    path.write_bytes(animation_html(_figure()))
    ctx = browser.new_context(offline=True, viewport={"width": 1200, "height": 800})
    attempted: list[str] = []

    def block(route):
        attempted.append(route.request.url)
        route.abort()

    ctx.route(re.compile(r"^(https?|wss?)://"), block)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(path.as_uri())
        page.wait_for_function(f"({PARTICLE_XS})() !== null", timeout=30_000)
        first = page.evaluate(PARTICLE_XS)
        assert first and len(first) == 50
        page.locator(".updatemenu-button").filter(has_text="1×").first.click()
        page.wait_for_timeout(1500)
        later = page.evaluate(PARTICLE_XS)
        assert later != first, "the animation did not advance: particle positions unchanged"
        assert errors == [], errors
        assert attempted == [], f"the exported file tried to reach the network: {attempted[:3]}"
    finally:
        ctx.close()


def test_exported_canvas_html_plays_offline(browser, tmp_path):
    """Without a Plotly figure (the canvas renderer), the download is the canvas page: offline too."""
    from playground.animation import AnimationData
    from playground.export import standalone_html

    times, paths = _paths()
    anim = AnimationData(times, paths, paths[:, ::-1], None, paths[-1])
    path = tmp_path / "canvas.html"
    path.write_bytes(standalone_html(None, anim))
    ctx = browser.new_context(offline=True)
    attempted: list[str] = []
    ctx.route(re.compile(r"^(https?|wss?)://"), lambda r: (attempted.append(r.request.url), r.abort()))
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(path.as_uri())
        assert page.evaluate("canvasAnim.frame()") == 0
        page.click("#play")
        page.wait_for_function("canvasAnim.frame() > 5", timeout=20_000)
        assert errors == [] and attempted == []
    finally:
        ctx.close()
