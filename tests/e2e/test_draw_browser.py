"""A real browser on the real server: draw a target with the mouse, see it previewed, use it.

The page is reached through the sidebar, as a user would (deep links are covered by
tests/e2e/test_links_browser.py).
"""

import re

from tests.e2e.conftest import wait_idle

MY_TARGET = """() => {
  for (const gd of document.querySelectorAll('.js-plotly-plot')) {
    const t = (gd._fullData || []).find(d => String(d.name || '').startsWith('your target'));
    if (t && t.x && t.x.length) return {x: Array.from(t.x), y: Array.from(t.y)};
  }
  return null;
}"""
# the Playground's clouds: "target ρ1" with no model yet, "new ρ1" beside a model trained (or shipped,
# as on a first visit) for other settings
PLAYGROUND_TARGET = MY_TARGET.replace("String(d.name || '').startsWith('your target')",
                                      "/^(target|new) ρ1/.test(String(d.name || ''))")


def test_draw_a_target_stroke_preview_and_use_it(app_server, page):
    page.goto(app_server.url)
    wait_idle(page)
    page.locator("[data-testid='stSidebarNav'] a", has_text="Draw").click()
    page.wait_for_url(re.compile(r"/draw$"), timeout=30_000)
    page.get_by_role("heading", name="Draw your distributions").wait_for(timeout=30_000)
    wait_idle(page)
    assert page.evaluate(MY_TARGET) is None, "a preview before anything was drawn"

    canvas = page.locator("canvas.upper-canvas").first  # the target is the default side
    canvas.wait_for(timeout=30_000)
    box = canvas.bounding_box()
    assert round(box["width"]) == 400 and round(box["height"]) == 400
    # an off-centre horizontal stroke, 100 px from the top, from 50 to 250 px: box x from -3 to 1
    # at y = +2 (50 px a unit), so a flipped or mirrored conversion would land elsewhere
    y = box["y"] + 100
    page.mouse.move(box["x"] + 50, y)
    page.mouse.down()
    for i in range(1, 21):
        page.mouse.move(box["x"] + 50 + 10 * i, y)
    page.mouse.up()

    page.wait_for_function(f"({MY_TARGET})() !== null", timeout=60_000)
    wait_idle(page)
    pts = page.evaluate(MY_TARGET)
    xs, ys = pts["x"], pts["y"]
    assert len(xs) == 2000
    assert sorted(abs(v - 2) for v in ys)[len(ys) // 2] < 0.2, "samples should hug the stroke at y = +2"
    assert min(xs) < -2.5 and 0.5 < max(xs) < 1.6 and min(xs) > -3.8, (min(xs), max(xs))

    use = page.get_by_role("button", name="Use as target")
    assert use.is_enabled()
    use.click()
    page.get_by_text("Stored as the target").wait_for(timeout=30_000)
    wait_idle(page)
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.locator("[data-testid='stAlertContentError']").count() == 0

    # the Playground's target menu now uses the drawing, and its preview shows it
    page.locator("[data-testid='stSidebarNav'] a", has_text="Playground").click()
    page.wait_for_function(f"({PLAYGROUND_TARGET})() !== null", timeout=60_000)
    wait_idle(page)
    menu = page.get_by_role("combobox", name="target ρ1", exact=True).input_value()
    assert menu.startswith("yours: drawing ("), menu
    ys = page.evaluate(PLAYGROUND_TARGET)["y"]
    assert sorted(abs(v - 2) for v in ys)[len(ys) // 2] < 0.2, "the Playground's target is not the drawing"
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.console_errors == [], page.console_errors
