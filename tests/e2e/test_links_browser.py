"""Links in a real browser: a deep link on a fresh server, a shared link in a fresh context, and the
presentation view at projector size."""

import re

import pytest

from tests.e2e.conftest import ARTIFACTS, ROOT, AppServer, wait_idle


def test_deep_link_on_a_fresh_server_goes_through_the_router(browser):
    """The first request to a just-started server is a deep link: the app's own navigation and
    settings apply (a `pages/` file whose stem were its URL would make Streamlit run it alone)."""
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


def _router_pages() -> dict[str, str]:
    """url_path -> title of every page app.py registers (read from its source)."""
    source = (ROOT / "app.py").read_text()
    found = dict((u, t) for t, u in re.findall(r'st\.Page\([^)]*title="([^"]+)"[^)]*url_path="([^"]+)"', source))
    assert len(found) >= 7, f"app.py registers {len(found)} pages"
    return found


@pytest.mark.slow
@pytest.mark.parametrize("url_path", list(_router_pages()))
def test_every_deep_link_as_a_fresh_servers_first_request_runs_the_router(browser, url_path):
    """pages/ holds the page files; each one's stem (theory_page) differs from its URL (theory), so
    a fresh server's first request to the URL runs app.py: page config (tab title) and navigation."""
    stems = {p.stem for p in (ROOT / "pages").glob("*.py")}
    assert url_path not in stems, f"pages/{url_path}.py would be run without the router"
    server = AppServer()
    try:
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = ctx.new_page()
        page.goto(f"{server.url}/{url_path}")
        wait_idle(page)
        assert page.title().endswith("Interpolant Playground"), page.title()
        nav = page.locator("[data-testid='stSidebarNav']").inner_text()
        for title in _router_pages().values():
            assert title in nav, (title, nav)
        assert not page.locator("[data-testid='stException']").count()
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
