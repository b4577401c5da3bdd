"""The Playground's live fragment under AppTest: while a model trains it draws that model's flow,
and Stop ends it cleanly with the full animation of the stopped model in the same place."""

import numpy as np

from tests.app.conftest import player_data, player_paths


def test_the_live_fragment_draws_the_current_models_flow_and_stops_on_stop(app):
    app.number_input(key="steps").set_value(50_000).run()  # longer than this test
    app.button(key="train").click().run()  # draws the untrained network's flow, then a short first chunk
    sess = app.session_state["playground"]
    assert not app.exception, app.exception
    assert sess.status == "training" and sess.state.step > 0
    data = player_data(app)
    assert data["meta"]["kind"] == "live" and data["meta"]["step"] == 0 and data["autoplay"]
    for _ in range(2):  # each fragment run draws the model as it is, then trains a chunk
        step = sess.state.step
        live = sess.live_flow()  # the library's flow of the model at this step
        app.run()
        sess = app.session_state["playground"]
        data = player_data(app)
        assert data["meta"]["kind"] == "live" and data["meta"]["step"] == step
        np.testing.assert_array_equal(player_paths(data), live.paths)
        np.testing.assert_array_equal(player_paths(data, 1), live.true_frames)
        assert data["panels"][0]["n"] == live.paths.shape[1] and sess.state.step > step
    first = player_paths(data)[-1]
    app.run()
    assert not np.array_equal(player_paths(player_data(app))[-1], first), "the flow did not follow the model"

    app.button(key="stop_training").click().run()
    sess = app.session_state["playground"]
    stopped = sess.state.step
    assert sess.status == "stopped" and not app.exception
    app.run()
    assert app.session_state["playground"].state.step == stopped, "training went on after Stop"
    data = player_data(app)
    assert data["meta"]["kind"] == "final" and data["meta"]["step"] == stopped
    assert data["panels"][0]["n"] == 1000 and data["T"] == 51  # the full animation, same place
    assert not app.button(key="train").disabled and app.button(key="stop_training").disabled


def test_a_time_budget_trains_until_its_seconds_are_spent(app):
    app.number_input(key="seconds").set_value(1.0).run()
    app.button(key="train").click().run()
    sess = app.session_state["playground"]
    for _ in range(20):
        if sess.status != "training":
            break
        app.run()
        sess = app.session_state["playground"]
    assert sess.status == "done" and sess.state.config.steps == 0
    assert sess.state.train_seconds >= 1.0 and sess.state.step == len(sess.state.losses) > 0
    assert player_data(app)["meta"] == {**player_data(app)["meta"], "kind": "final", "step": sess.state.step}
    assert [m.value for m in app.metric][0] == f"{sess.state.step:,}"


def test_a_rerun_that_changes_neither_model_nor_animation_reuses_the_player_data(app):
    """Arrival's animation, then a budget change (not a model or animation setting): the player's
    data is the same object, not rebuilt (so Streamlit sends a reference, not the arrays again)."""
    sess = app.session_state["playground"]
    before = sess._views["final"][1]
    serial = sess.animation_serial
    app.number_input(key="seconds").set_value(5.0).run()
    sess = app.session_state["playground"]
    assert sess._views["final"][1] is before and sess.animation_serial == serial
    assert player_data(app) == before
    app.slider(key="particles").set_value(500).run()  # an animation setting: rebuilt
    sess = app.session_state["playground"]
    assert sess.animation_serial == serial + 1 and player_data(app)["panels"][0]["n"] == 500
