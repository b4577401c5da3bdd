"""Training the drift: it learns, it is reproducible, chunks compose, divergence rolls back."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from playground.config import ExperimentConfig
from playground.distributions import make_distribution
from playground.exact import ExactField
from playground.experiment import generate, measure
from playground.interpolants import Interpolant
from playground.models import FieldMLP
from playground.schedules import make_schedule
from playground.training import (
    T_EPS,
    TrainingDiverged,
    draw_batch,
    drift_loss,
    make_state,
    resolve_device,
    train,
    train_steps,
)

TINY = dict(base="gaussian", target="8gaussians", width=32, depth=2, batch=128, steps=200,
            lr=1e-2, samples=500, sample_steps=10, device="cpu")


def cfg_of(**changes) -> ExperimentConfig:
    return ExperimentConfig(**{**TINY, **changes}).validate()


def weights(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_short_run_learns_the_target():
    """300 steps lower the loss and bring samples to the target: energy distance within 0.02 of
    its noise floor and sliced W2 within 1.5× its floor (playground.experiment.generate/measure).
    A model trained on 0.8 × the right target misses the sliced W2 bound (ED 0.03, SW2 1.6×),
    one trained on half of it both (ED 0.12, SW2 3×), though both pass 'after < 0.25 × before'."""
    cfg = cfg_of(width=64, depth=3, batch=256, steps=300, samples=2000, sample_steps=20, sampler="heun")
    state = make_state(cfg)
    before = measure(generate(state.model, cfg, state.base, state.target), cfg, state.base,
                     state.target)
    losses = train_steps(state, 300)
    assert losses.shape == (300,) and np.isfinite(losses).all()
    assert losses[-50:].mean() < losses[:50].mean()
    after = measure(generate(state.model, cfg, state.base, state.target), cfg, state.base,
                    state.target)
    assert before["energy_distance"] > 0.1  # the untrained model is far from the target ...
    assert after["energy_distance"] < after["floor_energy_distance"] + 0.02  # ... the trained one near
    assert after["sliced_w2"] < 1.5 * after["floor_sliced_w2"]
    assert state.step == 300 and state.done and state.losses == losses.tolist()


@pytest.mark.parametrize("changes", [{}, {"schedule": "trig", "gamma": "brownian",
                                          "gamma_scale": 0.5, "coupling": "ot"}],
                         ids=["linear-independent", "trig-brownian-ot"])
def test_same_seed_same_losses_different_seed_different_losses(changes):
    """Two fresh states from one config train identically, whatever the global seed."""
    cfg = cfg_of(steps=60, **changes)
    with torch.random.fork_rng():  # the global RNG plays no part
        torch.manual_seed(1)
        a = train_steps(make_state(cfg), 60)
        torch.manual_seed(2)
        b = train_steps(make_state(cfg), 60)
    c = train_steps(make_state(cfg.replace(seed=1)), 60)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_chunks_compose():
    """train_steps(state, 50) four times gives the losses and weights of one chunk of 200
    (the cosine learning rate depends on progress, so this also checks the schedule)."""
    cfg = cfg_of(steps=200, lr_schedule="cosine")
    one = make_state(cfg)
    whole = train_steps(one, 200)
    four = make_state(cfg)
    parts = np.concatenate([train_steps(four, 50) for _ in range(4)])
    assert np.array_equal(whole, parts)
    assert same_weights(weights(one.model), weights(four.model))
    assert one.step == four.step == 200


def test_step_budget_is_respected():
    state = make_state(cfg_of(steps=30))
    assert len(train_steps(state, 100)) == 30
    assert state.done and state.progress() == 1.0
    assert len(train_steps(state, 10)) == 0
    assert len(state.losses) == 30


def fake_clock(state, dt: float) -> None:
    """Make state's training clock advance dt seconds at every reading (no wall time in tests)."""
    ticks = iter(range(10**9))
    state.clock = lambda: next(ticks) * dt


def test_time_budget_stops_and_the_schedule_follows_time():
    """steps = 0: the run lasts `seconds` of training time, and the progress that drives done
    and the cosine learning rate is time spent / budget (a fake clock: 10 ms a reading)."""
    state = make_state(cfg_of(steps=0, seconds=0.5))
    assert state.total_steps is None
    fake_clock(state, 0.01)
    seen, lrs = [], []
    train(state, chunk=7, callback=lambda s, losses: (seen.append(s.progress()),
                                                      lrs.append(s.optimizer.param_groups[0]["lr"])))
    assert state.progress() == 1.0 and state.done
    assert 0.5 <= state.train_seconds <= 0.5 + 0.01 + 1e-9
    assert 40 <= state.step <= 50 and len(state.losses) == state.step
    assert seen[-1] == 1.0 and seen == sorted(seen)
    assert lrs == sorted(lrs, reverse=True) and lrs[-1] < 0.01 * state.config.lr
    assert len(train_steps(state, 10)) == 0  # a finished budget trains no more


def test_budget_semantics_of_configs():
    """One budget per config: steps > 0 is a step run (seconds 0), else seconds; the default is
    a time budget; an old config.json (both fields, seconds > 0) keeps its time budget, an old
    link ?steps=N its N steps; replace(seconds=S) switches to time."""
    default = ExperimentConfig()
    assert default.steps == 0 and default.seconds > 0
    steps = ExperimentConfig(steps=500)
    assert (steps.steps, steps.seconds) == (500, 0.0)
    assert ExperimentConfig.from_json(steps.to_json()) == steps
    assert ExperimentConfig.from_json(default.to_json()) == default
    old_timed = ExperimentConfig.from_dict({"steps": 3000, "seconds": 7.5})
    assert (old_timed.steps, old_timed.seconds) == (0, 7.5)
    old_steps = ExperimentConfig.from_dict({"steps": 3000, "seconds": 0.0})
    assert (old_steps.steps, old_steps.seconds) == (3000, 0.0)
    assert ExperimentConfig.from_dict({"steps": 4000}).steps == 4000  # a link ?steps=4000
    assert ExperimentConfig.from_dict({"seconds": 2}).seconds == 2.0
    assert (steps.replace(seconds=4.0).steps, steps.replace(seconds=4.0).seconds) == (0, 4.0)
    assert default.replace(steps=10).seconds == 0.0
    with pytest.raises(ValueError, match="budget"):
        ExperimentConfig.from_dict({"steps": 0, "seconds": 0})


def test_share_links_keep_their_budget():
    from playground.share import from_untrusted

    cfg, notices = from_untrusted({"steps": "4000"})
    assert (cfg.steps, cfg.seconds) == (4000, 0.0) and notices == []
    cfg, notices = from_untrusted({"seconds": "2.5"})
    assert (cfg.steps, cfg.seconds) == (0, 2.5)
    cfg, notices = from_untrusted({"steps": "3000", "seconds": "7.5"})  # an old uploaded config.json
    assert (cfg.steps, cfg.seconds) == (0, 7.5) and any("time budget" in n for n in notices)


def test_callback_can_stop_training():
    state = make_state(cfg_of(steps=200))
    train(state, chunk=25, callback=lambda s, losses: s.step < 50)
    assert state.step == 50 and not state.done


def test_learning_rate_schedules():
    cos = make_state(cfg_of(lr=0.02, lr_schedule="cosine"))
    assert cos.lr_at(0.0) == pytest.approx(0.02)
    assert cos.lr_at(0.5) == pytest.approx(0.01)
    assert cos.lr_at(1.0) == pytest.approx(0.0, abs=1e-12)
    const = make_state(cfg_of(lr=0.02, lr_schedule="constant"))
    assert {const.lr_at(p) for p in (0.0, 0.3, 1.0)} == {0.02}


def _diverging_cfg():
    return cfg_of(lr=1e3, grad_clip=0.0, lr_schedule="constant", steps=100)


def test_divergence_raises_and_rolls_back_the_chunk():
    """lr = 1e3 without clipping: TrainingDiverged names the step; the weights, optimizer,
    step count and losses are those of the start of the failing chunk, all finite."""
    state = make_state(_diverging_cfg())
    start = weights(state.model)
    with pytest.raises(TrainingDiverged) as exc:
        train_steps(state, 100)
    err = exc.value
    assert err.step >= 2  # at least one update happened before it blew up ...
    assert f"step {err.step}" in str(err)
    assert err.restored_step == 0
    now = weights(state.model)
    assert all(torch.isfinite(v).all() for v in now.values())
    assert same_weights(now, start)  # ... and was rolled back
    assert state.step == 0 and state.losses == []
    assert not state.model.training


def test_divergence_step_is_the_step_that_failed():
    """The step named in chunk mode is the step at which one-step chunks fail, and the
    rollback keeps the weights after the last good step."""
    chunked = make_state(_diverging_cfg())
    with pytest.raises(TrainingDiverged) as exc:
        train_steps(chunked, 100)
    stepwise = make_state(_diverging_cfg())
    good = weights(stepwise.model)
    with pytest.raises(TrainingDiverged) as exc1:
        for _ in range(100):
            train_steps(stepwise, 1)
            good = weights(stepwise.model)
    assert exc1.value.step == exc.value.step
    assert stepwise.step == exc.value.step - 1 == exc1.value.restored_step
    assert same_weights(weights(stepwise.model), good)
    assert len(stepwise.losses) == stepwise.step and np.isfinite(stepwise.losses).all()


def test_same_seed_same_initial_weights():
    a, b = make_state(cfg_of()), make_state(cfg_of())
    c = make_state(cfg_of(seed=3))
    assert same_weights(weights(a.model), weights(b.model))
    assert not same_weights(weights(a.model), weights(c.model))


@pytest.mark.parametrize("changes,stochastic", [({}, False),
                                                ({"gamma": "brownian", "gamma_scale": 1.0}, True)])
def test_draw_batch(changes, stochastic):
    state = make_state(cfg_of(**changes))
    t, x0, x1, z = draw_batch(state, 4000)
    assert t.shape == (4000,) and x0.shape == x1.shape == z.shape == (4000, 2)
    assert float(t.min()) >= 0.0 and float(t.max()) <= 1.0
    if stochastic:  # γ̇ is infinite at the ends: times stay in [T_EPS, 1 − T_EPS]
        assert float(t.min()) >= T_EPS and float(t.max()) <= 1 - T_EPS
    assert float(x1.norm(dim=1).mean()) == pytest.approx(2.5, abs=0.1)  # 8 Gaussians, radius 2.5


def test_antithetic_loss_is_the_mean_of_the_two_mirrored_losses():
    interp = Interpolant(make_schedule("trig", "brownian", 0.5))
    g = torch.Generator().manual_seed(0)
    t = torch.rand(64, generator=g) * 0.9 + 0.05
    x0, x1, z = (torch.randn(64, 2, generator=g) for _ in range(3))
    model = FieldMLP(16, 2, generator=g)
    anti = drift_loss(model, interp, t, x0, x1, z, antithetic=True)
    plus = drift_loss(model, interp, t, x0, x1, z, antithetic=False)
    minus = drift_loss(model, interp, t, x0, x1, -z, antithetic=False)
    torch.testing.assert_close(anti, (plus + minus) / 2)


def _orthogonality(residual: torch.Tensor, phi: torch.Tensor) -> float:
    """E[r·φ] in units of its standard error (Monte Carlo)."""
    v = (residual * phi).sum(1).double()
    return float(v.mean() / (v.std() / math.sqrt(v.numel())))


def test_exact_drift_is_the_conditional_expectation_of_the_target():
    """MATH.md: b(t, x) = E[ẋ_t | x_t = x], the minimiser of E|b̂ − ẋ_t|². So the residual of the
    exact drift (playground.exact, an independent closed form) against the training target
    `Interpolant.sample(...).dxt` is orthogonal to every function of (t, x_t): E[(b − ẋ_t)·φ] = 0
    for φ = x_t, tanh(x_t), (1 − 2t)·x_t, within 4 standard errors. For the targets a bug would
    produce, x1 − x0 (the linear pair's) or ẋ_t without γ̇z (γ̇ changes sign at t = ½, which
    (1 − 2t)·x_t sees), the same statistic is beyond 8. And the loss rises by
    E|εφ|² + 2ε E[(b − ẋ_t)·φ] = E|εφ|² when b is shifted by εφ(x)."""
    sched = make_schedule("trig", "brownian", 0.5)
    base, target = make_distribution("gaussian"), make_distribution("8gaussians")
    exact = ExactField.from_distributions(base, target, sched)
    g = torch.Generator().manual_seed(0)
    n = 40_000
    t = 0.05 + 0.9 * torch.rand(n, generator=g)
    x0, x1, z = base.sample(n, g), target.sample(n, g), torch.randn(n, 2, generator=g)
    interp = Interpolant(sched)
    s = interp.sample(t, x0, x1, z)
    with torch.no_grad():
        b = exact.drift(t, s.xt).float()
    phis = {"x": s.xt, "tanh x": torch.tanh(s.xt), "(1 − 2t) x": (1 - 2 * t)[:, None] * s.xt}
    for name, phi in phis.items():
        assert abs(_orthogonality(b - s.dxt, phi)) < 4, name
    coeff = sched(t)
    wrong = {"x1 - x0": x1 - x0, "no γ̇z": s.dxt - coeff.col("d_gamma").float() * z}
    for name, dxt in wrong.items():
        assert max(abs(_orthogonality(b - dxt, phi)) for phi in phis.values()) > 8, name
    eps = 0.3
    best = float(drift_loss(exact.drift, interp, t, x0, x1, z, antithetic=True))
    shifted = float(drift_loss(lambda tt, x: exact.drift(tt, x) + eps * torch.tanh(x), interp, t, x0, x1, z,
                               antithetic=True))
    assert shifted - best == pytest.approx(float((eps * phis["tanh x"]).square().sum(1).mean()), rel=0.15)


def test_trained_drift_is_close_to_the_exact_drift():
    """A small model trained 400 steps on trig + brownian (γ > 0), gaussian → 8 Gaussians, against
    the closed-form drift (playground.exact): E|b̂ − b|² over t ∈ [0.05, 0.95] and x ~ x_t is under
    a fifth of E|b|² (measured 0.14; a model trained on half the target gives 0.35)."""
    cfg = cfg_of(schedule="trig", gamma="brownian", gamma_scale=0.5, width=64, depth=3, batch=256,
                 steps=400, denoiser="off")
    state = make_state(cfg)
    train_steps(state, 400)
    exact = ExactField.from_distributions(state.base, state.target, state.interpolant.schedule)
    g = torch.Generator().manual_seed(5)
    n = 4000
    t = 0.05 + 0.9 * torch.rand(n, generator=g)
    s = state.interpolant.sample(t, state.base.sample(n, g), state.target.sample(n, g),
                                 torch.randn(n, 2, generator=g))
    with torch.no_grad():
        b, learned = exact.drift(t, s.xt).float(), state.drift()(t, s.xt)
    mse, scale = float((learned - b).square().sum(1).mean()), float(b.square().sum(1).mean())
    assert mse < 0.2 * scale, (mse, scale)


def test_resolve_device():
    dev, note = resolve_device("cpu")
    assert dev.type == "cpu" and note
    if not torch.cuda.is_available():
        dev, note = resolve_device("cuda")
        assert dev.type == "cpu" and "not available" in note
        assert resolve_device("auto")[0].type in ("cpu", "mps")
    with pytest.raises(ValueError):
        resolve_device("tpu")


def test_make_state_validates_the_config():
    bad = ExperimentConfig(**TINY)
    bad.lr = math.nan
    with pytest.raises(ValueError):
        make_state(bad)


@pytest.mark.parametrize("registered,formulas", [
    ({"schedule": "linear"}, {"alpha": "1-t", "beta": "t"}),
    ({"schedule": "trig"}, {"alpha": "cos(pi*t/2)", "beta": "sin(pi*t/2)"}),
])
def test_a_typed_schedule_equal_to_a_registered_one_trains_identically(registered, formulas):
    base = ExperimentConfig(width=32, steps=60, batch=64)
    a = train_steps(make_state(base.replace(**registered)), 60)
    b = train_steps(make_state(base.replace(**formulas)), 60)
    np.testing.assert_array_equal(a, b)


def test_a_typed_gamma_equal_to_brownian_trains_to_the_same_losses():
    base = ExperimentConfig(width=32, steps=60, batch=64)
    a = train_steps(make_state(base.replace(gamma="brownian", gamma_scale=1.0)), 60)
    b = train_steps(make_state(base.replace(gamma="sqrt(t*(1-t))")), 60)
    np.testing.assert_allclose(a, b, rtol=1e-4)  # γγ̇ of a formula is evaluated at t clamped by 1e-4


# ----------------------------------------------------------------------------- EMA of the weights


def ema_cfg(**changes) -> ExperimentConfig:
    return cfg_of(ema=0.9, steps=40, **changes)


def test_ema_is_the_moving_average_of_the_weights():
    """After each step k: ema ← d ema + (1 − d) w with d = min(decay, (1 + k)/(10 + k)),
    recomputed here from the weights after every step; chunks of 1 and one chunk of 40 agree."""
    state = make_state(ema_cfg())
    manual = [p.detach().clone() for p in state.network.parameters()]
    for k in range(40):
        train_steps(state, 1)
        d = min(0.9, (1 + k) / (10 + k))
        manual = [d * m + (1 - d) * p.detach() for m, p in zip(manual, state.network.parameters(), strict=True)]
    for a, b in zip(state.ema.parameters(), manual, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    whole = make_state(ema_cfg())
    train_steps(whole, 40)
    assert same_weights(weights(whole.ema), weights(state.ema))  # reproducible, chunking-free
    assert not same_weights(weights(whole.ema), weights(whole.network))


@pytest.mark.parametrize("changes", [{}, {"gamma": "brownian", "gamma_scale": 0.5}], ids=["drift", "drift+score"])
def test_sampling_uses_the_ema_weights(changes):
    """drift(), sampling_field() (drift and score when the denoiser is learned) and the run's
    samples come from the EMA network, not from the weights being trained."""
    from playground.experiment import run_experiment, sampling_field

    cfg = ema_cfg(samples=300, **changes)
    state = make_state(cfg)
    train_steps(state, 40)
    g = torch.Generator().manual_seed(0)
    t, x = torch.rand(64, generator=g), torch.randn(64, 2, generator=g)
    with torch.no_grad():
        from_ema = state.ema(t, x)[:, :2]
        torch.testing.assert_close(state.drift()(t, x), from_ema)
        torch.testing.assert_close(sampling_field(state)(t, x), from_ema)
        assert not torch.allclose(state.model(t, x), from_ema)
    if state.has_score:
        assert state.fields().net is state.ema
    result = run_experiment(cfg)
    again = generate(result.state.ema_drift if not result.state.has_score else result.state.fields(), cfg,
                     result.state.base, result.state.target)
    torch.testing.assert_close(result.trajectory.final, again.final)


def test_divergence_rolls_the_ema_back_too():
    state = make_state(_diverging_cfg().replace(ema=0.9))
    train_steps(state, 1)  # one good step (the first update does not blow up)
    good = weights(state.ema)
    with pytest.raises(TrainingDiverged):
        train_steps(state, 100)
    assert same_weights(weights(state.ema), good) and state.step == 1


def test_saved_weights_sample_like_the_run_and_loading_sets_the_ema():
    """model.pt / the weights download hold the EMA (what samples); loading them into a fresh
    run's model makes its EMA those weights, so it samples exactly like the saved run."""
    from playground.export import read_weights, save_weights

    state = make_state(ema_cfg())
    train_steps(state, 40)
    loaded = read_weights(save_weights(state))
    fresh = make_state(state.config)
    fresh.network.load_state_dict(loaded.state_dict)
    assert same_weights(weights(fresh.ema), weights(state.ema))
    g = torch.Generator().manual_seed(1)
    t, x = torch.rand(32, generator=g), torch.randn(32, 2, generator=g)
    with torch.no_grad():
        torch.testing.assert_close(fresh.drift()(t, x), state.drift()(t, x))


@pytest.mark.parametrize("changes", [{}, {"gamma": "brownian", "gamma_scale": 0.5},
                                     {"gamma": "brownian", "antithetic": False, "activation": "tanh"},
                                     {"denoiser": "on"}],
                         ids=["drift", "drift+denoiser-antithetic", "drift+denoiser-plain", "one-sided-x0"])
def test_the_hand_written_step_trains_like_autograd(changes, monkeypatch):
    """MANUAL_GRADS (regression_grads, the fused Adam kernel called directly) against the
    autograd loop: the same losses, step by step, within float rounding."""
    from playground import training

    cfg = cfg_of(steps=60, **changes)
    manual = train_steps(make_state(cfg), 60)
    monkeypatch.setattr(training, "MANUAL_GRADS", False)
    auto = train_steps(make_state(cfg), 60)
    np.testing.assert_allclose(manual, auto, rtol=1e-4)
