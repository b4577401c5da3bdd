"""The canvas renderer plays in a real browser, offline, and its frames advance."""


def test_canvas_animation_advances(browser, tmp_path):
    import numpy as np

    from playground.canvas_anim import canvas_animation_html

    t = np.linspace(0, 1, 51)
    start = np.random.default_rng(0).normal(size=(3000, 2)).astype(np.float32)
    paths = (start[None] * (1 - t)[:, None, None] + 2.0 * t[:, None, None]).astype(np.float32)
    page_file = tmp_path / "anim.html"
    page_file.write_text(canvas_animation_html(paths, t, true_frames=paths))
    ctx = browser.new_context()
    ctx.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort())
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(page_file.as_uri())
    assert page.evaluate("canvasAnim.frame()") == 0
    first = page.evaluate("canvasAnim.position(0, 7)")
    np.testing.assert_allclose(first, paths[0, 7], rtol=1e-6)
    page.click("#play")
    page.wait_for_function("canvasAnim.frame() > 5", timeout=20_000)
    page.click("#play")  # pause, then read the frame and a position together
    frame, later = page.evaluate("[canvasAnim.frame(), canvasAnim.position(0, 7)]")
    np.testing.assert_allclose(later, paths[frame, 7], rtol=1e-5)
    assert later != first
    assert errors == []
    ctx.close()
