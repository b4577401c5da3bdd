"""The Theory page in a real browser at projector and laptop sizes: every equation and table fits its
column (nothing clipped on the right), and printing shows the walk-through without the app's
controls, each step on a new page."""

from __future__ import annotations

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
def theory_url(app_server):
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
