"""The Playground's first minute in a real browser: a flow plays on arrival, it forms live while a
model trains, the final animation lands in the first screen, scenes show their own facts, and the
Plotly renderer still plays."""

from tests.e2e.conftest import PARTICLE_XS, wait_idle

FLOW = "window.flowPlayers && window.flowPlayers.flow"
META = f"() => ({FLOW}) ? window.flowPlayers.flow.meta() : null"
ENDS = """() => { const p = window.flowPlayers.flow, out = [];
  for (let j = 0; j < 20; j++) out.push(p.at(p.T() - 1, 0, j)); return out; }"""
"""Where the first 20 particles of the learned panel end (t = 1) in the data the player holds now."""
FADED = """() => [...document.querySelectorAll('[data-testid="stMain"] .stElementContainer')]
  .filter(e => parseFloat(getComputedStyle(e).opacity) < 0.9).length"""
"""How many elements on the page are faded (Streamlit dims elements a run has not redrawn yet)."""


def _playing(page, timeout=120_000):
    """Wait until the flow player is playing, then check that its frame really advances."""
    page.wait_for_function(f"() => !!({FLOW}) && window.flowPlayers.flow.playing()", timeout=timeout)
    first = page.evaluate("window.flowPlayers.flow.drawn()")
    page.wait_for_function(f"window.flowPlayers.flow.drawn() > {first + 3}", timeout=30_000)


def _no_errors(page):
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.locator("[data-testid='stAlertContentError']").count() == 0
    assert page.console_errors == [], page.console_errors


def test_a_first_visit_has_a_moving_flow_without_a_click(app_server, page):
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(app_server.url)
    _playing(page)
    meta = page.evaluate(META)
    assert meta["kind"] == "final" and meta["step"] > 0  # the default experiment's shipped weights
    box = page.locator(".flowplayer canvas").bounding_box()
    assert box["y"] + box["height"] <= 900, "the flow is not in the first screen"
    train = page.get_by_role("button", name="Train", exact=True).bounding_box()
    assert train["y"] + train["height"] <= 900
    _no_errors(page)


def test_the_flow_forms_while_training_and_the_final_animation_lands_in_the_first_screen(app_server, page):
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(app_server.url)
    _playing(page)
    wait_idle(page)
    page.get_by_role("button", name="Train", exact=True).click()
    page.wait_for_function(f"() => {{ const m = ({META})(); return m && m.kind === 'live'; }}", timeout=60_000)
    step, ends = page.evaluate(f"() => [({META})().step, ({ENDS})()]")
    page.wait_for_function(f"() => {{ const m = ({META})(); return m && m.kind === 'live' && m.step > {step}; }}",
                           timeout=60_000)
    later = page.evaluate(ENDS)
    assert later != ends, "the live flow's particles did not change while the model trained"
    faded = []
    for _ in range(10):  # about a second of training
        faded.append(page.evaluate(FADED))
        page.wait_for_timeout(60)
    assert max(faded) == 0, f"elements faded while the model trained: {faded}"
    _playing(page)  # and it keeps playing through the update
    page.wait_for_function(f"() => {{ const m = ({META})(); return m && m.kind === 'final' && m.step > {step}; }}",
                           timeout=120_000)
    wait_idle(page)
    _playing(page)
    assert page.evaluate("window.scrollY") == 0
    box = page.locator(".flowplayer").bounding_box()
    assert 0 <= box["y"] < 900, f"the final animation starts at y = {box['y']}, below the first screen"
    _no_errors(page)


def test_a_scene_shows_its_own_facts_not_training_metrics(app_server, page):
    page.goto(f"{app_server.url}/scenes")
    wait_idle(page)
    page.locator("[data-testid='stButton'] button").filter(has_text="Open").first.click()
    _playing(page)
    wait_idle(page)
    text = page.locator("[data-testid='stMain']").inner_text()
    assert "steps trained" in text and "noise floor" in text
    assert page.locator("[data-testid='stMetric']").count() == 0, "training metrics for shipped weights"
    assert "steps / s" not in text
    box = page.locator(".flowplayer").bounding_box()
    assert 0 <= box["y"] < 1000, "the scene's flow is not in view"
    _no_errors(page)


def test_plotly_renderer_trains_then_plays(app_server, page):
    page.goto(app_server.url)
    wait_idle(page)
    steps = page.get_by_role("spinbutton", name="steps", exact=True)
    steps.fill("150")
    steps.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("finished 150 steps").wait_for(timeout=120_000)
    wait_idle(page)
    page.get_by_role("combobox", name="renderer").click()
    page.get_by_role("option").filter(has_text="Plotly").first.click()
    wait_idle(page)
    page.wait_for_function(f"({PARTICLE_XS})() !== null", timeout=60_000)
    first = page.evaluate(PARTICLE_XS)
    assert first and len(first) == 50
    page.locator(".updatemenu-button").filter(has_text="1×").first.click()
    page.wait_for_timeout(1500)
    later = page.evaluate(PARTICLE_XS)
    assert later != first, "the animation did not advance: particle positions unchanged"
    _no_errors(page)
