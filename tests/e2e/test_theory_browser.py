"""The Theory page in a real browser at projector and laptop sizes: every equation and table fits its
column (nothing clipped on the right), and printing shows the walk-through without the app's
controls, each step on a new page."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import wait_idle

# Each display equation's natural width (its scrollWidth) against the width of the column it sits in
# (the element container's clientWidth), and each table's scrollWidth against its clientWidth.
TOO_WIDE = """() => {
  const out = [];
  for (const el of document.querySelectorAll('.katex-display')) {
    const col = el.closest('[data-testid="stElementContainer"]');
    if (el.scrollWidth > col.clientWidth) out.push(`equation ${el.scrollWidth} > ${col.clientWidth}: `
        + el.querySelector('annotation').textContent.slice(0, 60));
  }
  for (const el of document.querySelectorAll('[data-testid="stTable"]')) {
    const col = el.closest('[data-testid="stElementContainer"]');
    if (el.scrollWidth > el.clientWidth || el.getBoundingClientRect().right > col.getBoundingClientRect().right + 1)
      out.push(`table ${el.scrollWidth} > ${el.clientWidth}: ` + el.innerText.slice(0, 60));
  }
  return out;
}"""
COUNTS = """() => [document.querySelectorAll('.katex-display').length,
                document.querySelectorAll('[data-testid="stTable"]').length]"""


def ready(page) -> None:
    """Wait until the whole walk-through is drawn: seven tables and the script at rest."""
    page.wait_for_function(f"({COUNTS})()[1] === 7", timeout=180_000)
    wait_idle(page, 180_000)


@pytest.fixture(scope="module")
def theory_url(app_server, browser):
    """The page's URL on a server that has already served one request (these tests are about the
    page; a fresh server's first deep link is test_links_browser's business)."""
    ctx = browser.new_context()
    warm = ctx.new_page()
    warm.goto(app_server.url)
    wait_idle(warm)
    ctx.close()
    return app_server.url + "/theory"


@pytest.mark.parametrize("size", [(1440, 900), (1280, 720)], ids=["1440x900", "1280x720"])
def test_no_equation_or_table_is_wider_than_its_column(browser, theory_url, size):
    ctx = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = ctx.new_page()
    try:
        page.goto(theory_url)
        wait_idle(page, 180_000)
        ready(page)
        equations, tables = page.evaluate(COUNTS)
        assert equations >= 15 and tables == 7, (equations, tables)
        assert page.evaluate(TOO_WIDE) == []
        assert page.locator("[data-testid='stException']").count() == 0
    finally:
        ctx.close()


def test_printing_hides_the_controls_and_starts_each_step_on_a_new_page(browser, theory_url):
    ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    page = ctx.new_page()
    try:
        page.goto(theory_url)
        wait_idle(page, 180_000)
        ready(page)
        page.emulate_media(media="print")
        shown = page.evaluate("""() => {
          const vis = (sel) => [...document.querySelectorAll(sel)].some(e => e.offsetParent !== null
              && e.getBoundingClientRect().height > 0);
          return {sidebar: vis('[data-testid="stSidebar"]'), sliders: vis('[data-testid="stSlider"]'),
                  buttons: vis('[data-testid="stButton"], [data-testid="stDownloadButton"]'),
                  tables: vis('[data-testid="stTable"]'), equations: vis('.katex-display'),
                  breaks: [...document.querySelectorAll('h2')].map(h => getComputedStyle(h).breakBefore)};
        }""")
        assert not shown["sidebar"] and not shown["sliders"] and not shown["buttons"], shown
        assert shown["tables"] and shown["equations"], shown
        assert shown["breaks"] == ["page"] * 6, shown["breaks"]
        pdf = page.pdf(format="A4")
        pages = pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages")
        assert 6 <= pages <= 12, pages  # a page or two per step, not the screen's blank gaps
    finally:
        ctx.close()


def test_the_handout_downloads_as_one_printable_file(browser, theory_url, tmp_path):
    """The download is the walk-through itself: six sections with this page's live numbers, and it
    opens offline (no request leaves the file) with no controls in it."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 720}, accept_downloads=True)
    page = ctx.new_page()
    try:
        page.goto(theory_url)
        ready(page)
        with page.expect_download() as info:
            page.get_by_role("button", name="Download the handout (HTML, print-ready)").click()
        path = tmp_path / info.value.suggested_filename
        info.value.save_as(path)
        doc = path.read_text(encoding="utf-8")
        assert info.value.suggested_filename.endswith(".html") and doc.count("<section>") == 6
        shown = page.get_by_text("C = E|ẋ_t − b|² =").inner_text()
        constant = re.search(r"= ([-\d.]+ ± [\d.e-]+)\. Difference", shown).group(1)
        assert f"<b>{constant}</b>" in doc  # the loss constant the page shows
        offline = ctx.new_page()
        requests = []
        offline.on("request", lambda r: requests.append(r.url))
        offline.goto(path.as_uri())
        assert offline.locator("section h2").count() == 6
        assert offline.locator("input, button, select, script").count() == 0
        assert [u for u in requests if not u.startswith("file://")] == []
    finally:
        ctx.close()
