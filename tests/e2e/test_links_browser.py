"""Links in a real browser: a deep link on a fresh server, a shared link in a fresh context, and the
presentation view at projector size."""

from tests.e2e.conftest import ARTIFACTS, AppServer, wait_idle


def test_deep_link_on_a_fresh_server_goes_through_the_router(browser):
    """The first request to a just-started server is a deep link: the app's own navigation and
    settings apply (a `pages/` folder would make Streamlit run the page alone)."""
    server = AppServer()
    try:
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = ctx.new_page()
        page.goto(f"{server.url}/schedules?target=8gaussians&schedule=trig")
        wait_idle(page)
        nav = page.locator("[data-testid='stSidebarNav']").inner_text()
        assert "Playground" in nav and "Schedules" in nav and "app" not in nav.split()
        assert "Schedules" in page.locator("h1").first.inner_text()
        assert page.get_by_role("combobox", name="target ρ1").input_value() == "8 Gaussians"
        ctx.close()
    finally:
        server.stop()


def test_shared_link_in_a_fresh_context_shows_the_same_settings(app_server, browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    page.goto(f"{app_server.url}/?target=circles&gamma=brownian&gamma_scale=0.5&seed=7&steps=1234")
    wait_idle(page)
    assert page.get_by_role("combobox", name="target ρ1").input_value() == "concentric circles"
    assert page.get_by_role("combobox", name="γ (noise)").input_value().startswith("brownian")
    assert page.get_by_role("spinbutton", name="steps", exact=True).input_value() == "1234"
    assert page.get_by_role("spinbutton", name="seed", exact=True).input_value() == "7"
    ctx.close()


def test_presentation_view_fills_a_projector_screen(app_server, browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    page = ctx.new_page()
    page.goto(f"{app_server.url}/?present=1&scene=moons")
    wait_idle(page)
    plot = page.locator(".js-plotly-plot").filter(has=page.locator(".updatemenu-button")).first
    plot.wait_for(timeout=60_000)
    page.wait_for_timeout(1000)
    assert not page.locator("[data-testid='stSidebar']").is_visible()
    box = plot.bounding_box()
    area = box["width"] * min(box["height"], 720 - box["y"]) / (1280 * 720)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "present-1280x720.png"))
    assert area > 0.5, f"the animation covers only {area:.0%} of the screen"
    assert page.locator(".updatemenu-button").filter(has_text="1×").count() == 1  # play stays reachable
    assert page.locator(".slider-container").count() >= 1
    ctx.close()
