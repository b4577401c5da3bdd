"""A real browser on the Stochastic side page: the exact field of gaussian → 8 Gaussians needs no
training; switching the noise off turns the SDE panel into the ODE (particles at a later frame
move), and the animation plays."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.e2e.conftest import ARTIFACTS, ROOT, free_port, wait_idle

PAGE = "views/stochastic.py"

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


class _RouterServer:
    """`streamlit run` of a one-page router, for as long as app.py does not register the page."""

    def __init__(self, tmp):
        router = tmp / "router.py"
        router.write_text("import streamlit as st\n"
                          f"st.navigation([st.Page({str(ROOT / PAGE)!r}, title='Stochastic side', "
                          "url_path='stochastic', default=True)]).run()\n")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        ARTIFACTS.mkdir(exist_ok=True)
        self._log = open(ARTIFACTS / f"streamlit-stochastic-{self.port}.log", "w")
        path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
        env = {**os.environ, "PYTHONPATH": path}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(router), "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(self.port),
             "--browser.gatherUsageStats", "false"], cwd=ROOT, env=env, stdout=self._log,
            stderr=subprocess.STDOUT)
        deadline = time.time() + 90
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("streamlit exited")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as r:
                    if r.read().decode().strip() == "ok":
                        return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("streamlit did not become healthy within 90 s")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._log.close()


@pytest.fixture
def stochastic_url(request, tmp_path):
    if PAGE in (ROOT / "app.py").read_text():
        yield request.getfixturevalue("app_server").url + "/stochastic"
        return
    request.getfixturevalue("browser")  # skips (or fails under CI) without Chromium
    server = _RouterServer(tmp_path)
    yield server.url  # the router's only (default) page
    server.stop()


def test_noise_toggle_changes_the_sde_animation(stochastic_url, page):
    page.goto(stochastic_url)
    wait_idle(page)
    page.get_by_text("No exact field here").wait_for(timeout=30_000)  # moons is not a mixture
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
