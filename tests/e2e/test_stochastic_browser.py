"""A real browser on the Stochastic side page: a first visit shows a figure (the exact field of
gaussian → 8 Gaussians needs no training, and stands in for the default moons, which has none);
switching the noise off turns the SDE panel into the ODE (particles at a later frame move), and the
animation plays."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import wait_idle

# Particle x coordinates (first 50) of every panel at frame k, decoding Plotly's typed arrays.
FRAME_XS = """(k) => {
  const plots = [...document.querySelectorAll('.js-plotly-plot')].filter(p => p._transitionData
      && (p._transitionData._frames || []).length > k);
  if (!plots.length) return null;
  const dec = (v) => {
    if (v && v.bdata) {
      const bin = atob(v.bdata), buf = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) buf[i] = bin.charCodeAt(i);
      return Array.from(v.dtype === 'f8' ? new Float64Array(buf.buffer) : new Float32Array(buf.buffer));
    }
    return Array.from(v);
  };
  return plots[0]._transitionData._frames[k].data.map(d => dec(d.x).slice(0, 50));
}"""
SHOWN_XS = """() => {
  const plots = [...document.querySelectorAll('.js-plotly-plot')].filter(p => p._transitionData
      && (p._transitionData._frames || []).length > 1);
  if (!plots.length) return null;
  const gd = plots[0];
  return gd._fullData.filter(d => d.name === 'particles').map(d => Array.from(d.x).slice(0, 50));
}"""


@pytest.fixture
def stochastic_url(app_server, browser):
    """The page's URL on a server that has already served one request: these tests are about a
    fresh session, and a fresh server's first deep link is test_links_browser's business."""
    ctx = browser.new_context()
    warm = ctx.new_page()
    warm.goto(app_server.url)
    wait_idle(warm)
    ctx.close()
    return app_server.url + "/stochastic"


def test_first_visit_shows_a_figure(stochastic_url, page):
    """A fresh session with the default settings (gaussian → moons, no trained model) opens on an
    animation, not on an info box, and says which pair it shows."""
    page.goto(stochastic_url)
    wait_idle(page)
    page.wait_for_function(f"({FRAME_XS})(60) !== null", timeout=60_000)
    assert page.locator(".js-plotly-plot").count() >= 1
    page.get_by_text("No exact field for these settings").wait_for(timeout=10_000)
    assert "8 Gaussians" in page.locator("[data-testid='stAlert']").first.inner_text()
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.console_errors == [], page.console_errors


def test_noise_toggle_changes_the_sde_animation(stochastic_url, page):
    page.goto(stochastic_url)
    wait_idle(page)
    page.get_by_text("No exact field for these settings").wait_for(timeout=30_000)  # moons: none
    page.get_by_test_id("stSelectbox").filter(has_text="target ρ1").click()
    page.get_by_role("option", name="8 Gaussians", exact=True).click()
    wait_idle(page)
    page.wait_for_function(f"({FRAME_XS})(60) !== null", timeout=60_000)
    ode, sde = page.evaluate(FRAME_XS, 60)
    assert len(ode) == len(sde) == 50
    assert ode != sde, "the SDE panel moved exactly like the ODE with the noise on"

    page.get_by_text("noise on (SDE)").click()  # noise off: ε = 0, the SDE panel is the ODE
    wait_idle(page)
    page.wait_for_function(f"(() => {{ const f = ({FRAME_XS})(60); "
                           "return f && JSON.stringify(f[0]) === JSON.stringify(f[1]); })()",
                           timeout=60_000)
    ode_off, sde_off = page.evaluate(FRAME_XS, 60)
    assert sde_off != sde, "particle positions at frame 60 did not change when the noise went off"
    assert sde_off == ode_off

    first = page.evaluate(SHOWN_XS)
    page.locator(".updatemenu-button").filter(has_text="1×").first.click()
    page.wait_for_timeout(1500)
    assert page.evaluate(SHOWN_XS) != first, "the animation did not play"
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.console_errors == [], page.console_errors
