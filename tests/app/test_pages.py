"""The app under Streamlit's AppTest: pages render, training runs live, the animation appears."""

import numpy as np
import pytest

from tests.app.conftest import (
    animation_spec,
    charts,
    frame_count,
    player_data,
    router_pages,
    train_until_done,
)


def test_every_page_renders_without_exception(app):
    """Every page the router registers (read from st.navigation, not a list kept here), in turn."""
    pages = router_pages()
    assert len(pages) >= 7, pages
    for page, title, _ in pages:
        app.switch_page(page).run()
        assert not app.exception, (page, app.exception)
        assert app.title, f"{page} ({title}) has no title"
        assert not app.error, (page, [e.value for e in app.error])


def test_a_first_visit_plays_the_default_experiment_without_training(app):
    """Arrival: the shipped weights of the default experiment, installed as a scene is, playing."""
    sess = app.session_state["playground"]
    assert sess.status == "stopped" and sess.state.losses == [] and sess.pretrained["name"] == "default"
    data = player_data(app)
    assert data is not None and data["autoplay"] and data["meta"]["kind"] == "final"
    assert frame_count(data) == 51 and data["panels"][0]["n"] == 1000
    assert not [m for m in app.metric if m.label == "steps / s"], "training metrics for pre-trained weights"


def test_a_link_to_other_settings_shows_their_clouds_and_no_flow():
    from streamlit.testing.v1 import AppTest

    from tests.app.conftest import ROOT

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["target"] = "checkerboard"
    at.run()
    assert not at.exception, at.exception
    specs = charts(at)
    # the clouds figure has two scatter traces (base and target) with data
    clouds = [s for s in specs if len([d for d in s["data"] if d.get("type") == "scatter"]) >= 2]
    assert clouds, "no figure with both clouds"
    assert animation_spec(at) is None and player_data(at) is None, "a flow of another experiment"
    assert at.session_state["playground"].status == "idle"


def test_short_training_shows_loss_and_animation(app):
    app.number_input(key="steps").set_value(40)
    app.selectbox(key="target").set_value("8gaussians")
    app.run()
    app.button(key="train").click().run()
    sess = train_until_done(app)
    assert not app.exception, app.exception
    assert sess.status == "done", sess.message
    assert sess.state.step == 40
    assert len(sess.state.losses) == 40 and np.isfinite(sess.state.losses).all()
    # the loss curve beside the flow: a small SVG (no plotly.js while training)
    assert any("<svg" in m.value and "drift loss" in m.value for m in app.markdown)
    anim = animation_spec(app)
    assert anim is not None, "no animation after training"
    assert frame_count(anim) == 51  # default 50 integration steps + 1
    assert [m.value for m in app.metric][0] == "40"


def test_stale_settings_are_announced_not_silently_used(app):
    app.number_input(key="steps").set_value(20)
    app.run()
    app.button(key="train").click().run()
    sess = train_until_done(app)
    assert sess.status == "done"
    app.selectbox(key="target").set_value("circles").run()
    warnings = " ".join(w.value for w in app.warning)
    assert "changed since this model was trained" in warnings and "target" in warnings
    # the old model is still there, not retrained behind the user's back
    assert app.session_state["playground"].state.config.target == "moons"
    assert app.session_state["playground"].state.step == 20


def test_stop_resume_reset(app):
    app.number_input(key="steps").set_value(5000)
    app.run()
    app.button(key="train").click().run()  # one fragment run trains ~0.5 s, not all 5000 steps
    sess = app.session_state["playground"]
    assert sess.status == "training" and 0 < sess.state.step < 5000
    app.button(key="stop_training").click().run()
    sess = app.session_state["playground"]
    stopped_at = sess.state.step
    assert sess.status == "stopped"
    app.run()
    assert app.session_state["playground"].state.step == stopped_at, "training went on after Stop"
    assert animation_spec(app) is not None, "a stopped model is animated"
    app.button(key="resume").click().run()
    sess = app.session_state["playground"]
    assert sess.state.step > stopped_at
    app.button(key="stop_training").click().run()
    first_losses = list(app.session_state["playground"].state.losses[:10])
    app.button(key="reset").click().run()
    assert app.session_state["playground"].state is None
    app.button(key="train").click().run()
    app.button(key="stop_training").click().run()
    # Reset + Train starts over with the same seed: the same first losses
    assert app.session_state["playground"].state.losses[:10] == first_losses


def test_diverging_learning_rate_shows_message_and_keeps_a_finite_model(app):
    """lr 10: the loss explodes within a few steps; a clear message and the last good weights."""
    app.number_input(key="steps").set_value(300)
    app.select_slider(key="lr").set_value(10.0)
    app.run()
    app.button(key="train").click().run()
    sess = train_until_done(app)
    assert not app.exception
    assert sess.status == "error"
    assert any("diverged" in e.value and "lower the learning rate" in e.value for e in app.error)
    assert all(bool(p.isfinite().all()) for p in sess.state.model.parameters())
    # Train is available again, with a sane learning rate the same page trains normally
    app.select_slider(key="lr").set_value(0.01)
    app.number_input(key="steps").set_value(30)
    app.run()
    app.button(key="train").click().run()
    assert train_until_done(app).status == "done"


def test_nonfinite_training_shows_error_and_keeps_last_good_model(app, monkeypatch):
    """A step that produces NaN: clear message, weights of the last complete chunk, page works."""
    import playground.training as training

    app.number_input(key="steps").set_value(2000)
    app.run()
    app.button(key="train").click().run()
    sess = app.session_state["playground"]
    good_step = sess.state.step
    assert sess.status == "training" and good_step > 0
    real_batch = training.draw_batch  # every loss path (autograd or by hand) draws its batch here
    calls = {"n": 0}

    def poisoned(*args, **kwargs):
        calls["n"] += 1
        t, x0, x1, z = real_batch(*args, **kwargs)
        return (t, x0 * float("nan"), x1, z) if calls["n"] == 5 else (t, x0, x1, z)

    monkeypatch.setattr(training, "draw_batch", poisoned)
    app.run()
    sess = app.session_state["playground"]
    assert sess.status == "error"
    assert "diverged" in sess.message and "not finite" in sess.message, sess.message
    assert any("diverged" in e.value for e in app.error)
    assert all(bool(p.isfinite().all()) for p in sess.state.model.parameters())
    assert sess.state.step >= good_step and len(sess.state.losses) == sess.state.step
    assert animation_spec(app) is not None, "the last good model is still animated"


def test_model_and_animation_survive_page_switch(app):
    app.number_input(key="steps").set_value(20)
    app.run()
    app.button(key="train").click().run()
    train_until_done(app)
    before = animation_spec(app)
    app.switch_page("pages/4_schedules.py").run()
    app.switch_page("pages/1_playground.py").run()
    assert not app.exception
    assert app.session_state["playground"].state.step == 20
    after = animation_spec(app)
    assert after is not None and after["panels"] == before["panels"]  # the same animation


@pytest.mark.parametrize("schedule,gamma", [("trig", "brownian"), ("encdec", "sinesquared"), ("power", "zero")])
def test_schedules_page_plots_and_checks(app, schedule, gamma):
    app.switch_page("pages/4_schedules.py").run()
    app.selectbox(key="schedule").set_value(schedule)
    app.selectbox(key="gamma").set_value(gamma)
    app.run()
    assert not app.exception
    assert any("boundary conditions hold" in s.value for s in app.success)
    names = {d.get("name") for s in charts(app) for d in s["data"]}
    assert {"α", "β", "γ", "α² + β² + γ²"} <= names


def test_playground_warns_about_degenerate_settings_before_training(app):
    """encdec with γ = 0 (x_½ is a single point) and the mirror coupling with an unused target run,
    but give a wrong or surprising result: the Playground says so before Train is pressed."""
    def shown():
        return " ".join(w.value for w in app.main.warning)

    app.selectbox(key="schedule").set_value("encdec").run()
    assert not app.exception and "single point" in shown()
    app.selectbox(key="gamma").set_value("sinesquared").run()
    assert "single point" not in shown()
    app.selectbox(key="coupling").set_value("mirror").run()
    assert "is not used" in shown() and "measured against the base" in shown()
