"""A real browser on the real server: train a short run, press play, see the particles move."""

from tests.e2e.conftest import wait_idle

PARTICLE_XS = """() => {
  const plots = [...document.querySelectorAll('.js-plotly-plot')].filter(p => p._transitionData
      && (p._transitionData._frames || []).length > 1);
  if (!plots.length) return null;
  const gd = plots[0];
  const i = gd._fullData.findIndex(d => d.name === 'particles');
  if (i < 0) return null;
  return Array.from(gd._fullData[i].x).slice(0, 50);
}"""


def test_train_then_play_animation(app_server, page):
    page.goto(app_server.url)
    wait_idle(page)
    steps = page.get_by_role("spinbutton", name="steps", exact=True)
    steps.fill("150")
    steps.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("finished 150 steps").wait_for(timeout=120_000)
    wait_idle(page)
    page.wait_for_function(f"({PARTICLE_XS})() !== null", timeout=60_000)
    first = page.evaluate(PARTICLE_XS)
    assert first and len(first) == 50
    page.locator(".updatemenu-button").filter(has_text="1×").first.click()
    page.wait_for_timeout(1500)
    later = page.evaluate(PARTICLE_XS)
    assert later != first, "the animation did not advance: particle positions unchanged"
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.locator("[data-testid='stAlertContentError']").count() == 0
    assert page.console_errors == [], page.console_errors
