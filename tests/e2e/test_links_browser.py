"""Links in a real browser: a deep link on a fresh server, a shared link in a fresh context, and the
presentation view at projector size."""

import re

import pytest

from tests.e2e.conftest import ARTIFACTS, ROOT, AppServer, wait_idle


def test_deep_link_on_a_fresh_server_goes_through_the_router(browser):
    """The first request to a just-started server is a deep link: the app's own navigation and
    settings apply (see ui/router.py)."""
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
    """Address path -> title of every page app.py registers (read from its source); the default
    page is served at "/" (Streamlit ignores a default page's url_path)."""
    found = {}
    for args in re.findall(r"st\.Page\(([^)]*)\)", (ROOT / "app.py").read_text()):
        title, url = re.search(r'title="([^"]+)"', args)[1], re.search(r'url_path="([^"]+)"', args)[1]
        found["" if "default=True" in args else url] = title
    assert len(found) >= 7 and "" in found, f"app.py registers {found}"
    return found


@pytest.mark.slow
@pytest.mark.parametrize("path", list(_router_pages()))
def test_every_deep_link_as_a_fresh_servers_first_request_runs_the_router(browser, path):
    """A fresh server's first request is this page's deep link. Streamlit's old pages-folder mode
    runs pages/N_name.py by itself, whose first line (ui.router.through_the_router) runs app.py
    instead: the visitor gets the router's page config (tab title) and navigation, on the page
    the link named, at that address, and no "Page not found" dialog."""
    for f in (ROOT / "pages").glob("*.py"):
        assert "\nthrough_the_router()" in f.read_text(), f"{f.name} does not start with through_the_router()"
    server = AppServer()
    try:
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = ctx.new_page()
        page.goto(f"{server.url}/{path}")
        page.wait_for_function("() => document.title.endsWith('Interpolant Playground')", timeout=60_000)
        wait_idle(page)
        nav = page.locator("[data-testid='stSidebarNav']").inner_text()
        for title in _router_pages().values():
            assert title in nav, (title, nav)
        current = page.locator("[data-testid='stSidebarNavLink'][aria-current='page']").inner_text()
        assert current == _router_pages()[path], (current, path)
        assert not page.locator("[data-testid='stException']").count()
        page.wait_for_timeout(1000)  # a "Page not found" dialog would open right after the run
        dialogs = page.locator("[data-testid='stDialog']")
        assert not dialogs.count(), dialogs.inner_text()
        assert page.url.split("?")[0].rstrip("/") == f"{server.url}/{path}".rstrip("/"), page.url
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


FLOW_PLAYING = "() => !!(window.flowPlayers && window.flowPlayers.flow) && window.flowPlayers.flow.playing()"


def test_presentation_view_fills_a_projector_screen(app_server, browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    page = ctx.new_page()
    page.goto(f"{app_server.url}/?present=1&scene=moons")
    wait_idle(page)
    page.wait_for_function(FLOW_PLAYING, timeout=60_000)
    page.wait_for_timeout(500)
    assert not page.locator("[data-testid='stSidebar']").is_visible()
    box = page.locator(".flowplayer").bounding_box()
    area = box["width"] * min(box["height"], 720 - box["y"]) / (1280 * 720)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "present-1280x720.png"))
    assert area > 0.45, f"the animation covers only {area:.0%} of the screen"
    bar = page.locator(".flowplayer .bar").bounding_box()
    assert bar["y"] + bar["height"] <= 720, "play and the time slider are below the screen"
    ctx.close()


def test_presentation_text_is_readable_from_the_back_of_a_hall(app_server, browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    page = ctx.new_page()
    page.goto(f"{app_server.url}/?present=1&scene=moons")
    wait_idle(page)
    page.wait_for_function(FLOW_PLAYING, timeout=60_000)
    style = """(el) => { const s = getComputedStyle(el); return [parseFloat(s.fontSize),
        s.color.match(/\\d+/g).slice(0, 3).map(Number)]; }"""
    for selector in (".flowplayer .titles div", ".flowplayer .t", ".flowplayer .play", "h1"):
        size, rgb = page.locator(selector).first.evaluate(style)
        assert size >= 16, (selector, size)
        if selector in (".flowplayer .titles div", "h1"):
            assert max(rgb) <= 80, f"{selector} is not dark: rgb{tuple(rgb)}"
    title = page.locator("h1").first.inner_text()
    assert title.startswith("Gaussian → two moons") and "moons" in title and "linear" not in title
    for name in ("Train", "Stop", "Resume", "Reset", "Exit"):
        label = page.get_by_role("button", name=name, exact=True).locator("p").first
        assert label.evaluate("(el) => el.scrollWidth <= el.clientWidth + 1"), f"{name} is truncated"
        size = label.evaluate("(el) => parseFloat(getComputedStyle(el).fontSize)")
        assert size >= 16, (name, size)
    ctx.close()


def _tab_to(page, accessible: str, limit: int = 40) -> None:
    """Press Tab until the focused element has this aria-label or text (keyboard reachability)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate("() => { const e = document.activeElement; return [e.getAttribute('aria-label'), "
                                "e.innerText || ''] }")
        if accessible in (focused[0] or "") or accessible == (focused[1] or "").strip():
            return
    raise AssertionError(f"{accessible!r} is not reachable with the Tab key")


def test_presentation_scene_picker_and_exit_work_from_the_keyboard(app_server, browser):
    from playground.scenes import SCENES

    ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    page = ctx.new_page()
    page.goto(f"{app_server.url}/?present=1&scene=moons")
    wait_idle(page)
    page.wait_for_function(FLOW_PLAYING, timeout=60_000)
    _tab_to(page, "scene")
    page.keyboard.press("ArrowDown")  # open the menu, move to another scene
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"scene=(?!moons)"), timeout=60_000)
    name = re.search(r"scene=([\w-]+)", page.url).group(1)
    page.get_by_role("heading", name=SCENES[name].title).wait_for(timeout=60_000)
    wait_idle(page)
    page.wait_for_function(FLOW_PLAYING, timeout=60_000)
    assert page.evaluate("window.flowPlayers.flow.meta().kind") == "final" and "present=1" in page.url
    _tab_to(page, "Exit")
    page.keyboard.press("Enter")
    page.locator("[data-testid='stSidebar']").wait_for(state="visible", timeout=60_000)
    wait_idle(page)
    assert "present=1" not in page.url
    assert page.get_by_role("heading", name="Stochastic interpolant playground").is_visible()
    ctx.close()


def test_the_share_link_is_the_full_address_and_reopens_the_settings(app_server, browser):
    ctx = browser.new_context(viewport={"width": 1440, "height": 900})
    page = ctx.new_page()
    page.goto(f"{app_server.url}/?target=8gaussians&seed=5")
    wait_idle(page)
    page.get_by_text("Share and save: link, config JSON").click()
    code = page.locator("[data-testid='stCode']").filter(has_text="target=8gaussians").first
    link = code.inner_text().strip()
    assert link.startswith(app_server.url) and "seed=5" in link, link
    assert code.locator("button").count() >= 1  # the copy button
    other = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    other.goto(link)
    wait_idle(other)
    from playwright.sync_api import expect

    expect(other.get_by_role("combobox", name="target ρ1")).to_have_value("8 Gaussians", timeout=30_000)
    expect(other.get_by_role("spinbutton", name="seed", exact=True)).to_have_value("5", timeout=30_000)
    other.context.close()
    ctx.close()
