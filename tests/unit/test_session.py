"""One user's run without any UI: train in timed chunks, stop, resume, reset, stale settings."""

import threading

import numpy as np

import playground.session as session_mod
from playground.config import ExperimentConfig
from playground.session import PlaygroundSession
from playground.training import make_state, train_steps

CFG = ExperimentConfig(width=32, steps=120, batch=64)


def _train_to_end(sess, limit=200):
    for _ in range(limit):
        if sess.status != "training":
            break
        sess.train_for(0.05)


def test_chunked_session_training_equals_one_plain_run():
    sess = PlaygroundSession()
    sess.start(CFG)
    _train_to_end(sess)
    assert sess.status == "done" and sess.state.step == 120
    plain = make_state(CFG)
    expected = train_steps(plain, 120)
    np.testing.assert_array_equal(sess.state.losses, expected)


def test_stop_keeps_the_model_and_resume_continues():
    sess = PlaygroundSession()
    sess.start(CFG.replace(steps=100_000))
    sess.train_for(0.05)
    sess.stop()
    step = sess.state.step
    assert sess.status == "stopped" and 0 < step < 100_000
    assert sess.train_for(0.05) == 0 and sess.state.step == step
    sess.resume(CFG.replace(steps=100_000))
    sess.train_for(0.05)
    assert sess.state.step > step


def test_reset_forgets_and_train_restarts_with_the_same_seed():
    sess = PlaygroundSession()
    sess.start(CFG)
    _train_to_end(sess)
    first = list(sess.state.losses)
    sess.reset(CFG)
    assert sess.state is None and sess.status == "idle"
    sess.start(CFG)
    _train_to_end(sess)
    assert sess.state.losses == first


def test_stale_fields_name_what_changed_and_sampling_changes_are_not_stale():
    sess = PlaygroundSession()
    sess.start(CFG)
    assert sess.stale_fields(CFG) == []
    assert sess.stale_fields(CFG.replace(sampler="rk4", sample_steps=10, steps=999)) == []
    assert sess.stale_fields(CFG.replace(target="circles", gamma="brownian")) == ["target", "γ"]


def test_resume_with_a_larger_budget_extends_a_finished_run():
    sess = PlaygroundSession()
    sess.start(CFG)
    _train_to_end(sess)
    sess.resume(CFG.replace(steps=150))
    assert sess.status == "training"
    _train_to_end(sess)
    assert sess.state.step == 150 and sess.status == "done"


def test_divergence_sets_an_error_and_keeps_finite_weights():
    sess = PlaygroundSession()
    sess.start(CFG.replace(lr=1e3, grad_clip=0.0, lr_schedule="constant"))
    _train_to_end(sess)
    assert sess.status == "error" and "diverged" in sess.message
    assert all(bool(p.isfinite().all()) for p in sess.state.model.parameters())
    assert len(sess.state.losses) == sess.state.step


def test_no_free_training_slot_queues_instead_of_training(monkeypatch):
    monkeypatch.setattr(session_mod, "TRAINING_SLOTS", threading.BoundedSemaphore(1))
    sess = PlaygroundSession()
    sess.start(CFG)
    session_mod.TRAINING_SLOTS.acquire()
    try:
        assert sess.train_for(0.05) == 0
        assert sess.queued and sess.state.step == 0
    finally:
        session_mod.TRAINING_SLOTS.release()
    sess.train_for(0.05)
    assert not sess.queued and sess.state.step > 0


def test_installed_weights_animate_without_training():
    trained = PlaygroundSession()
    trained.start(CFG)
    _train_to_end(trained)
    shown = PlaygroundSession()
    shown.install_model(CFG, trained.state.model.state_dict())
    assert shown.status == "stopped" and shown.has_model
    a = shown.animation(CFG, particles=200, arrows_grid=5)
    b = trained.animation(CFG, particles=200, arrows_grid=5)
    np.testing.assert_array_equal(a.paths, b.paths)
    assert a.arrows.shape == (CFG.sample_steps + 1, 25, 4)


def test_loss_warning_judges_the_model_against_its_floor():
    """A trained model: no warning. Weights that learned nothing (fresh ones, shown as if trained
    300 steps): the warning of playground.diagnostics, naming the learning rate."""
    cfg = CFG.replace(steps=300)
    sess = PlaygroundSession()
    sess.start(cfg)
    _train_to_end(sess)
    assert sess.loss_warning() is None
    untrained = PlaygroundSession()
    untrained.install_model(cfg, make_state(cfg).model.state_dict(), steps_done=300)
    assert "learning rate 0.01" in (untrained.loss_warning() or "")


def test_live_flow_is_the_current_models_ode_from_fixed_particles():
    """The live flow while training: fixed starting particles, carried by the current drift (one
    Heun step checked by hand), recomputed when the model moves, cached while it does not."""
    import torch

    from playground.animation import LIVE_PARTICLES, LIVE_STEPS

    sess = PlaygroundSession()
    assert sess.live_flow() is None  # nothing trained yet
    sess.start(CFG.replace(steps=100_000))
    sess.train_for(0.05)
    first = sess.live_flow()
    assert first.paths.shape == (LIVE_STEPS + 1, LIVE_PARTICLES, 2)
    assert first.true_frames.shape == first.paths.shape and first.arrows is None
    assert sess.live_flow() is first  # same step: not recomputed
    drift, t, x = sess.state.drift(), torch.from_numpy(first.times), torch.from_numpy(first.paths[0])
    with torch.no_grad():  # Heun from t0 to t1, the oracle
        h = float(t[1] - t[0])
        k1 = drift(t[0].expand(len(x)), x)
        k2 = drift(t[1].expand(len(x)), x + h * k1)
    np.testing.assert_allclose(first.paths[1], (x + h / 2 * (k1 + k2)).numpy(), atol=1e-5)
    sess.train_for(0.05)
    later = sess.live_flow()
    assert later is not first
    np.testing.assert_array_equal(later.paths[0], first.paths[0])  # the same particles start
    assert not np.allclose(later.paths[-1], first.paths[-1])  # carried by a different model


def test_live_flow_of_an_sde_config_integrates_the_drift_alone():
    cfg = CFG.replace(gamma="brownian", sampler="em", epsilon=1.0, steps=100_000)
    sess = PlaygroundSession()
    sess.start(cfg)
    sess.train_for(0.05)
    a = sess.live_flow()
    sess._live = None  # recompute at the same step: an ODE (no noise), so the same paths
    np.testing.assert_array_equal(sess.live_flow().paths, a.paths)


def test_view_builds_once_per_key():
    sess = PlaygroundSession()
    calls = []
    build = lambda: calls.append(1) or len(calls)  # noqa: E731
    assert sess.view("x", (1, "a"), build) == 1
    assert sess.view("x", (1, "a"), build) == 1 and len(calls) == 1
    assert sess.view("x", (2, "a"), build) == 2
    sess.start(CFG)  # a new model forgets every view
    assert sess.view("x", (2, "a"), build) == 3


def test_installed_weights_keep_their_facts_until_this_session_trains():
    trained = PlaygroundSession()
    trained.start(CFG)
    _train_to_end(trained)
    shown = PlaygroundSession()
    facts = {"title": "a scene", "steps": 120, "metrics": {"energy_distance": 0.001}}
    shown.install_model(CFG.replace(steps=100_000), trained.state.model.state_dict(), 120, facts=facts)
    assert shown.pretrained == facts and shown.status == "stopped" and shown.state.losses == []
    assert shown.has_model and shown.live_flow() is not None
    shown.resume(CFG.replace(steps=100_000))
    shown.train_for(0.05)
    assert shown.pretrained is None and shown.state.step > 120


def test_an_adopted_animation_is_the_one_the_session_would_build():
    """A scene's animation built once for every visitor (ui.scenes.shipped_animation) is adopted by a
    session holding the same weights: no rebuild, and identical to what the session builds itself."""
    from playground.animation import build_animation
    from playground.experiment import sampling_field

    trained = PlaygroundSession()
    trained.start(CFG)
    _train_to_end(trained)
    weights = trained.state.model.state_dict()
    other = make_state(CFG, device="cpu")
    other.model.load_state_dict(weights)
    other.model.eval()
    shared = build_animation(sampling_field(other), CFG, other.base, other.target, other.interpolant, 200, 0)

    sess = PlaygroundSession()
    sess.install_model(CFG, weights, 120)
    sess.adopt_animation(CFG, 200, 0, shared)
    assert sess.animation(CFG, 200, 0) is shared  # adopted: not rebuilt
    sess._animation_key = None  # force the session's own build
    np.testing.assert_array_equal(sess.animation(CFG, 200, 0).paths, shared.paths)
    assert sess.animation(CFG, 300, 0).paths.shape[1] == 300  # other settings: built anew
