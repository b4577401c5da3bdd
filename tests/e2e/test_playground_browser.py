"""A real browser on the real server: train a short run, press play, see the particles move."""

from tests.e2e.conftest import PARTICLE_XS, wait_idle


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
