"""ui.literal in Chromium: user text rendered by Streamlit's markdown reads exactly as typed, both
escaped (escape) and as code (code): formulas keep their asterisks, nothing turns bold, LaTeX,
coloured, an emoji or an icon."""

import pytest

from tests.e2e.conftest import AppServer, wait_idle
from tests.e2e.literal_cases import CASES


@pytest.fixture(scope="module")
def literal_server():
    server = AppServer(script="tests/e2e/literal_app.py")
    yield server.url
    server.stop()


def test_user_text_reads_exactly_as_typed(literal_server, page):
    page.goto(literal_server)
    wait_idle(page)
    # the script's last element is the caption of the last case: wait until it is on the page
    page.wait_for_function("tag => [...document.querySelectorAll(\"[data-testid='stCaptionContainer']\")]"
                           ".some(e => e.innerText.startsWith(tag))", arg=f"C{len(CASES) - 1} ", timeout=30_000)
    texts = page.eval_on_selector_all("[data-testid='stMarkdownContainer'], [data-testid='stCaptionContainer']",
                                      "els => els.map(e => e.innerText)")
    seen = {}
    for t in texts:
        tag, _, rest = t.partition(" ")
        seen[tag] = rest
    missing = [f"{k}{i}" for i in range(len(CASES)) for k in "EC" if f"{k}{i}" not in seen]
    assert not missing, (missing, texts)
    for i, case in enumerate(CASES):
        want = " ".join(case.splitlines())
        assert seen[f"C{i}"] == want, (case, seen[f"C{i}"])  # code span: exact, spaces included
        assert seen[f"E{i}"] == want.strip(), (case, seen[f"E{i}"])  # escaped text (markdown trims the ends)
    shown = ":is([data-testid='stMarkdownContainer'], [data-testid='stCaptionContainer'])"
    formatted = page.locator(f"{shown} :is(strong, em, del, img, h1, ol, ul, blockquote, .katex, table)")
    assert formatted.count() == 0, formatted.evaluate_all("els => els.map(e => e.outerHTML)")
    # a typed address may become clickable (GFM autolink), but it still reads exactly as typed
    links = page.locator(f"{shown} a").evaluate_all("els => els.map(e => [e.innerText, e.getAttribute('href')])")
    assert all(text == href for text, href in links), links
