"""The Schedules page in Chromium: a rejected formula is shown on the page, and the last valid one
stays printed literally (asterisks intact, not eaten by markdown as cos(pit/2))."""

from tests.e2e.conftest import wait_idle


def _type(page, label: str, text: str):
    box = page.get_by_label(label, exact=True)
    box.fill(text)
    box.press("Enter")
    page.wait_for_timeout(300)
    wait_idle(page)


def test_a_rejected_formula_leaves_the_last_valid_one_printed_literally(app_server, page):
    page.goto(app_server.url)  # a fresh server's first deep link opens a "Page not found" dialog over it
    wait_idle(page, 120_000)
    page.goto(f"{app_server.url}/schedules")
    wait_idle(page, 120_000)
    page.get_by_text("type α, β, γ as formulas").click()
    wait_idle(page)
    _type(page, "α(t)", "cos(pi*t/2)")
    _type(page, "β(t)", "sin(pi*t/2)")
    main = page.locator("[data-testid='stMain']")
    assert "cos(pi*t/2)" in main.inner_text()
    assert "All six boundary conditions hold" in main.inner_text()

    _type(page, "α(t)", "1+t**3")  # α(1) = 2: rejected
    text = main.inner_text()
    assert "Your formulas are rejected" in text
    assert "α(1) = 0 fails: found 2" in text
    assert "cos(pi*t/2)" in text and "sin(pi*t/2)" in text  # the last valid ones, asterisks intact
    assert "cos(pit/2)" not in text and "All six boundary conditions hold" not in text
    assert "✗ fails" in text
    sidebar = page.locator("[data-testid='stSidebar']").inner_text()
    assert "Using the last valid schedule" in sidebar and "cos(pi*t/2)" in sidebar

    _type(page, "α(t)", "__import__('os')")  # hostile: named literally, never a bold "import"
    text = main.inner_text()
    assert "function '__import__' is not allowed" in text and "cos(pi*t/2)" in text
    assert page.locator("[data-testid='stMain'] strong", has_text="import").count() == 0
    assert not page.console_errors, page.console_errors


TITLE_AND_FRAME = """() => {
  const out = [];
  for (const gd of document.querySelectorAll('.js-plotly-plot')) {
    // an x axis mirrored on top: its line path spans the frame's bottom and top edges
    const frames = [...gd.querySelectorAll('path.xlines-above')].map(r => r.getBoundingClientRect());
    for (const a of gd.querySelectorAll('g.annotation')) {
      const box = a.getBoundingClientRect();
      const text = a.querySelector('text');
      const under = frames.filter(f => box.left < f.right && box.right > f.left);
      if (!under.length || !text) continue;
      out.push({text: text.textContent, bottom: box.bottom, top: Math.min(...under.map(f => f.top)),
                size: parseFloat(getComputedStyle(text).fontSize), fill: getComputedStyle(text).fill});
    }
  }
  return out;
}"""


def test_panel_titles_sit_above_their_frames_in_dark_readable_text(app_server, page):
    """Streamlit's chart theme pushed the panel titles onto the frame line in pale grey, small text:
    the figures are drawn with their own template."""
    page.goto(app_server.url)
    wait_idle(page, 120_000)
    page.goto(f"{app_server.url}/schedules")
    wait_idle(page, 120_000)
    page.wait_for_timeout(1500)
    titles = page.evaluate(TITLE_AND_FRAME)
    assert {t["text"] for t in titles} >= {"values", "derivatives", "true interpolant x_t"}, titles
    for t in titles:
        assert t["bottom"] <= t["top"] + 1, t  # not struck through by the frame line
        assert t["size"] >= 16, t
        r, g, b = (int(v) for v in t["fill"][t["fill"].index("(") + 1:-1].split(",")[:3])
        assert max(r, g, b) < 80, t  # dark, not pale grey
