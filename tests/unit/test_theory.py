"""The Theory page's checks (playground.theory) agree with the claims they illustrate, within
Monte-Carlo error, and have the power to catch a wrong field, sign or schedule."""

from __future__ import annotations

import math

import pytest
import torch

from playground import theory
from playground.distributions import PointCloud, make_distribution
from playground.exact import ExactField
from playground.interpolants import Interpolant
from playground.sampling import integrate
from playground.schedules import GAMMAS, PAIRS, LinearPair, Schedule, ZeroGamma, make_schedule

Z_MAX = 4.0  # agreement within this many standard errors


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


SETUPS = [("gaussian", "8gaussians", "linear", "zero", 1.0),
          ("gaussian", "8gaussians", "trig", "brownian", 1.0),
          ("8gaussians", "gaussian", "encdec", "sinesquared", 1.0),
          ("gaussian", "8gaussians", "power", "squared", 2.0)]
IDS = [f"{s[2]}-{s[3]}" for s in SETUPS]


@pytest.fixture(scope="module", params=SETUPS, ids=IDS)
def setup(request):
    return theory.theory_setup(*request.param)


def test_estimate_mean_and_standard_error():
    e = theory.Estimate.of(torch.tensor([1.0, 2.0, 3.0, 4.0]))
    assert e.mean == pytest.approx(2.5)
    assert e.se == pytest.approx(math.sqrt(5 / 3) / 2)
    assert math.isnan(theory.Estimate.of(torch.zeros(0)).mean)
    assert theory.z_score(theory.Estimate(0.3, 0.1)) == pytest.approx(3.0)


def test_setup_keeps_mixtures_and_replaces_others_saying_so():
    kept = theory.theory_setup("8gaussians", "gaussian")
    assert kept.note is None and (kept.base_name, kept.target_name) == ("8gaussians", "gaussian")
    swapped = theory.theory_setup("gaussian", "moons", "trig", "brownian", 0.5)
    assert (swapped.base_name, swapped.target_name) == theory.FALLBACK
    assert "moons" in swapped.note and "8gaussians" in swapped.note
    assert swapped.schedule.stochastic  # the user's schedule is kept
    with pytest.raises(ValueError):
        theory.theory_setup(schedule="nope")


# ----------------------------------------------------------------------------- 1. boundary


@pytest.mark.parametrize("pair", list(PAIRS))
@pytest.mark.parametrize("gamma", list(GAMMAS))
def test_boundary_report_all_ok_for_registered_schedules(pair, gamma):
    rep = theory.boundary_report(make_schedule(pair, gamma, 0.5), generator=gen(0))
    assert rep.ok, [c.message() for c in rep.checks]
    assert len(rep.checks) == 6 and rep.error_at_0 <= 1e-5 and rep.error_at_1 <= 1e-5


def test_boundary_report_catches_a_broken_schedule():
    class Broken(LinearPair):
        def __call__(self, t, g):
            a, da, b, db = super().__call__(t, g)
            return 1 - t / 2, da / 2, b, db  # α(1) = ½

    rep = theory.boundary_report(Schedule(Broken(), ZeroGamma()), generator=gen(0))
    assert not rep.ok
    assert [c.name for c in rep.checks if not c.ok] == ["alpha"]
    assert rep.error_at_1 > 0.1  # x_1 is not x1


# ----------------------------------------------------------------------------- 2. b = E[ẋ | x]


def test_conditional_expectation_matches_exact_drift(setup):
    c = theory.conditional_expectation_check(setup.field, setup.interpolant, setup.base, setup.target,
                                             0.35, radius=0.2, n=200_000, generator=gen(1))
    assert c.n_in >= 300, c.n_in
    assert c.z <= Z_MAX, (c.mc, c.exact_ball)
    for e, exact_ball in zip(c.mc, c.exact_ball, strict=True):
        assert abs(e.mean - exact_ball) <= Z_MAX * e.se + 1e-6


def test_conditional_expectation_catches_a_wrong_field():
    s = theory.theory_setup("gaussian", "8gaussians", "linear", "brownian", 0.5)
    wrong = ExactField(s.base, s.target, make_schedule("trig", "brownian", 0.5))
    c = theory.conditional_expectation_check(wrong, s.interpolant, s.base, s.target, 0.35,
                                             generator=gen(1))
    assert c.z > 3 * Z_MAX


def test_conditional_expectation_empty_ball_gives_nan():
    s = theory.theory_setup("gaussian", "8gaussians")
    c = theory.conditional_expectation_check(s.field, s.interpolant, s.base, s.target, 0.5,
                                             x=torch.tensor([30.0, 30.0]), n=1000, generator=gen(0))
    assert c.n_in == 0 and math.isnan(c.z) and all(math.isfinite(v) for v in c.exact_at_x)


# ----------------------------------------------------------------------------- 3. the loss


def test_loss_identity_difference_is_the_same_constant(setup):
    li = theory.loss_identity_check(setup.field, setup.interpolant, setup.base, setup.target,
                                    n=20_000, generator=gen(2))
    assert li.constant.mean > 0
    for row in li.rows:
        assert row.z <= Z_MAX, (row.name, row.difference, li.constant)
    assert li.z_between <= Z_MAX
    zero, _, exact = li.rows
    # b̂ = b: distance exactly 0 and loss exactly the constant
    assert exact.distance.mean == 0 and exact.loss.mean == pytest.approx(li.constant.mean)
    # the check is not vacuous: the losses differ by many standard errors
    assert zero.loss.mean - exact.loss.mean > 10 * zero.loss.se


def test_loss_constant_vanishes_when_velocity_is_a_function_of_position():
    """Gaussian → one point, γ = 0: ẋ_t = (p − x_t)/(1 − t), so C = 0 and min L = 0."""
    base = make_distribution("gaussian").mixture()
    target = PointCloud([[1.0, 2.0]], bandwidth=0.0).mixture()
    sched = make_schedule("linear")
    li = theory.loss_identity_check(ExactField(base, target, sched), Interpolant(sched), base, target,
                                    n=5000, generator=gen(3))
    assert li.constant.mean < 1e-6
    assert all(r.z <= Z_MAX for r in li.rows)


# ----------------------------------------------------------------------------- 4. Euler


def test_euler_demo_tabulates_the_library_update(setup):
    e = theory.euler_demo(setup.field, setup.base, setup.target, steps=4, particles=3, n=1000,
                          generator=gen(4))
    assert len(e.rows) == 12 and e.residual < 1e-5
    h = 0.25
    for r in e.rows:
        for d in range(2):
            assert r["X_k+1"][d] == pytest.approx(r["X_k"][d] + h * r["b(t_k, X_k)"][d], abs=1e-5)
    assert e.energy <= 4 * e.floor.mean, (e.energy, e.floor)


# ----------------------------------------------------------------------------- 5. score


def test_score_closed_form_matches_autograd_and_denoiser(setup):
    sc = theory.score_check(setup.field, setup.interpolant, setup.base, setup.target, 0.35,
                            n=200_000, generator=gen(5))
    assert sc.max_error < 1e-8
    assert sc.gamma > 0 and sc.denoiser is not None
    assert sc.denoiser.n_in >= 30 and sc.denoiser.z <= Z_MAX


def test_score_check_without_noise_has_no_denoiser():
    s = theory.theory_setup("gaussian", "8gaussians", "linear", "zero")
    sc = theory.score_check(s.field, s.interpolant, s.base, s.target, 0.5, generator=gen(0))
    assert sc.gamma == 0 and sc.denoiser is None and sc.max_error < 1e-8


# ----------------------------------------------------------------------------- 6. the SDE


def test_euler_maruyama_with_zero_epsilon_is_the_euler_ode():
    s = theory.theory_setup("gaussian", "8gaussians", "trig", "brownian", 0.5)
    x = s.base.sample(200, gen(0))
    em = theory.euler_maruyama(s.field.drift, s.field.score, x, 20, 0.0, gen(1))
    ode = integrate(s.field.drift, x, 20, "euler", keep=0).final
    assert torch.allclose(em, ode, atol=1e-5)


def test_euler_maruyama_draws_only_from_its_generator():
    s = theory.theory_setup("gaussian", "8gaussians")
    x = s.base.sample(100, gen(0))
    a = theory.euler_maruyama(s.field.drift, s.field.score, x, 10, 1.0, gen(7))
    b = theory.euler_maruyama(s.field.drift, s.field.score, x, 10, 1.0, gen(7))
    c = theory.euler_maruyama(s.field.drift, s.field.score, x, 10, 1.0, gen(8))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_sde_with_exact_drift_and_score_reaches_the_target(setup):
    sd = theory.sde_check(setup.field, setup.base, setup.target, (0.0, 0.5, 1.0), n=1000, steps=100,
                          generator=gen(6))
    assert [r["epsilon"] for r in sd.rows] == [0.0, 0.5, 1.0]
    for r in sd.rows:
        assert r["ratio"] <= 4, (r, sd.floor)


def test_sde_with_the_wrong_sign_of_the_score_misses_the_target():
    s = theory.theory_setup("gaussian", "8gaussians", "linear", "brownian", 0.5)
    g = gen(0)
    x = s.base.sample(1000, g)
    floor = theory.floor_estimate(s.target, 1000, g)
    wrong = theory.euler_maruyama(s.field.drift, lambda t, y: -s.field.score(t, y), x, 100, 0.5, g)
    from playground.metrics import energy_distance

    assert energy_distance(wrong, s.target.sample(1000, g)) > 20 * floor.mean
