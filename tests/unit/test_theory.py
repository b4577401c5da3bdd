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
from playground.schedules import GAMMAS, PAIRS, LinearPair, Schedule, ZeroGamma, make_schedule
from playground.sde import CallableFields

Z_MAX = 4.0  # agreement within this many standard errors


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


SETUPS = [("gaussian", "8gaussians", "linear", "zero", 1.0),
          ("gaussian", "8gaussians", "trig", "brownian", 1.0),
          ("8gaussians", "gaussian", "encdec", "sinesquared", 1.0),
          ("gaussian", "8gaussians", "power", "squared", 2.0)]
IDS = [f"{s[2]}-{s[3]}" for s in SETUPS]


def make(base="gaussian", target="8gaussians", schedule="linear", gamma="zero", gamma_scale=1.0, **kw):
    return theory.theory_setup(base=base, target=target, schedule=schedule, gamma=gamma,
                               gamma_scale=gamma_scale, **kw)


@pytest.fixture(scope="module", params=SETUPS, ids=IDS)
def setup(request):
    return make(*request.param)


def test_estimate_mean_and_standard_error():
    e = theory.Estimate.of(torch.tensor([1.0, 2.0, 3.0, 4.0]))
    assert e.mean == pytest.approx(2.5)
    assert e.se == pytest.approx(math.sqrt(5 / 3) / 2)
    assert math.isnan(theory.Estimate.of(torch.zeros(0)).mean)
    assert theory.z_score(theory.Estimate(0.3, 0.1)) == pytest.approx(3.0)


def test_setup_keeps_mixtures_and_replaces_others_saying_so():
    kept = make("8gaussians", "gaussian")
    assert kept.note is None and (kept.base_name, kept.target_name) == ("8gaussians", "gaussian")
    swapped = make("gaussian", "moons", "trig", "brownian", 0.5)
    assert (swapped.base_name, swapped.target_name) == theory.FALLBACK
    assert "moons" in swapped.note and "8gaussians" in swapped.note
    assert swapped.schedule.stochastic  # the user's schedule is kept
    with pytest.raises(ValueError):
        make(schedule="nope")


def test_setup_uses_drawn_clouds_and_typed_formulas():
    cloud = {"points": [[0.0, 1.0], [1.0, 0.0], [-1.0, -1.0]], "bandwidth": 0.1}
    s = make("gaussian", "cloud", target_params=cloud, alpha="1 - t", beta="t", gamma="sqrt(t*(1-t))")
    assert s.note is None and s.target.means.shape[0] == 3 and s.schedule.stochastic
    c = theory.conditional_expectation_check(s.field, s.interpolant, s.base, s.target, 0.5,
                                             generator=gen(0))
    assert c.n_in > 100 and c.z <= Z_MAX
    big = {"points": torch.randn(theory.MAX_COMPONENTS + 1, 2, generator=gen(1)).tolist()}
    crowded = make("8gaussians", "cloud", target_params=big)
    assert crowded.note and "too slow" in crowded.note  # thinned, not replaced
    assert (crowded.base_name, crowded.target_name) == ("8gaussians", "cloud")
    assert crowded.field.n_components <= theory.MAX_COMPONENTS
    assert (crowded.base.means.shape[0], crowded.target.means.shape[0]) == (8, 8)
    one_side = make("gaussian", "cloud", target_params=big)
    assert one_side.target.means.shape[0] == theory.MAX_COMPONENTS  # one Gaussian: all the budget


def test_thin_mixture_subsamples_evenly():
    m = make_distribution("8gaussians").mixture()
    t = theory.thin_mixture(m, 4)
    assert t.means.shape == (4, 2) and float(t.weights.sum()) == pytest.approx(1.0)
    assert torch.equal(t.means[0], m.means[0]) and torch.equal(t.means[-1], m.means[-1])
    assert theory.thin_mixture(m, 8) is m


# ----------------------------------------------------------------------------- 1. boundary


@pytest.mark.parametrize("pair", list(PAIRS))
@pytest.mark.parametrize("gamma", list(GAMMAS))
def test_boundary_report_all_ok_for_registered_schedules(pair, gamma):
    rep = theory.boundary_report(make_schedule(pair, gamma, 0.5), generator=gen(0))
    assert rep.ok, [c.message() for c in rep.checks]
    assert len(rep.checks) == 6 and rep.error_at_0 <= 1e-5 and rep.error_at_1 <= 1e-5


def test_collapse_time_finds_the_deterministic_encoder_decoder():
    assert theory.collapse_time(make_schedule("encdec", "zero")) == pytest.approx(0.5)
    assert theory.collapse_time(make_schedule("encdec", "sinesquared", 1.0)) is None
    assert theory.collapse_time(make_schedule("linear")) is None


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
    s = make("gaussian", "8gaussians", "linear", "brownian", 0.5)
    wrong = ExactField(s.base, s.target, make_schedule("trig", "brownian", 0.5))
    c = theory.conditional_expectation_check(wrong, s.interpolant, s.base, s.target, 0.35,
                                             generator=gen(1))
    assert c.z > 3 * Z_MAX


def test_conditional_expectation_empty_ball_gives_nan():
    s = make()
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


def test_the_averaged_target_is_many_times_closer_to_b_than_the_plain_one(setup):
    """The Theory page's live check: its plain column is the loss's constant C on the same kind of
    samples, and the batch-averaged target sits several times closer to the exact drift."""
    at = theory.averaged_target_check(setup.field, setup.interpolant, setup.base, setup.target,
                                      n=20_000, generator=gen(2))
    li = theory.loss_identity_check(setup.field, setup.interpolant, setup.base, setup.target,
                                    n=20_000, generator=gen(5))
    assert at.n % at.batch == 0 and at.known is not None
    assert abs(at.plain.mean - li.constant.mean) < 5 * math.hypot(at.plain.se, li.constant.se)
    assert at.ratio > 5, (at.plain, at.averaged)


def test_the_averaged_target_check_says_when_it_does_not_apply():
    s = make()
    moons, checker = make_distribution("moons"), make_distribution("checkerboard")
    at = theory.averaged_target_check(s.field, s.interpolant, moons, checker, n=512, generator=gen(0))
    assert at.known is None and at.averaged is None and at.ratio is None


# ----------------------------------------------------------------------------- 4. Euler


def test_euler_demo_tabulates_the_library_update(setup):
    e = theory.euler_demo(setup.field, setup.base, setup.target, steps=4, particles=3, n=200,
                          generator=gen(4))
    assert len(e.rows) == 12 and e.residual < 1e-5
    h = 0.25
    for r in e.rows:
        for d in range(2):
            assert r["X_k+1"][d] == pytest.approx(r["X_k"][d] + h * r["b(t_k, X_k)"][d], abs=1e-5)


def test_euler_with_the_exact_drift_reaches_the_target(setup):
    """Energy distance / noise floor, averaged over three draws (one draw's ratio varies by a
    factor of a few at n = 1000 for a multi-modal target)."""
    ratios = [e.energy / e.floor.mean for e in
              (theory.euler_demo(setup.field, setup.base, setup.target, generator=gen(40 + k))
               for k in range(3))]
    assert sum(ratios) / 3 <= 3, ratios
    e = theory.euler_demo(setup.field, setup.base, setup.target, generator=gen(40))
    assert e.start_energy > 20 * e.floor.mean


# ----------------------------------------------------------------------------- 5. score


def test_score_closed_form_matches_autograd_and_monte_carlo(setup):
    sc = theory.score_check(setup.field, setup.interpolant, setup.base, setup.target, 0.35,
                            n=200_000, generator=gen(5))
    assert sc.max_error < 1e-8
    assert sc.denoiser is not None  # γ > 0, or a single Gaussian on one side (all four setups)
    assert sc.identity == ("−z/γ" if setup.schedule.stochastic else "−A⁻¹(x0 − μ)/α")
    assert sc.denoiser.n_in >= 30 and sc.denoiser.z <= Z_MAX


def test_score_without_noise_uses_the_one_sided_identity():
    """γ = 0, base N(0, Id): s = −E[x0 | x_t]/α; with a Gaussian target only: −E[B⁻¹(x1 − ν)]/β."""
    s = make()
    sc = theory.score_check(s.field, s.interpolant, s.base, s.target, 0.5, generator=gen(0))
    assert sc.gamma == 0 and sc.max_error < 1e-8
    assert sc.identity == "−A⁻¹(x0 − μ)/α" and sc.denoiser.z <= Z_MAX
    rev = make("8gaussians", "gaussian")
    sc = theory.score_check(rev.field, rev.interpolant, rev.base, rev.target, 0.5, generator=gen(1))
    assert sc.identity == "−B⁻¹(x1 − ν)/β" and sc.denoiser.z <= Z_MAX


def test_score_check_without_an_identity_has_no_monte_carlo():
    both = make("8gaussians", "8gaussians")  # γ = 0 and mixtures on both sides
    sc = theory.score_check(both.field, both.interpolant, both.base, both.target, 0.3, generator=gen(0))
    assert sc.denoiser is None and sc.identity is None and sc.max_error < 1e-8


@pytest.mark.parametrize("gamma, wrong_schedule", [("brownian", ("trig", "brownian", 1.0)),
                                                   ("zero", ("trig", "zero", 1.0))],
                         ids=["brownian", "zero"])
def test_monte_carlo_score_check_catches_a_wrong_score_that_autograd_cannot(gamma, wrong_schedule):
    """A field built on the wrong schedule has a wrong score and a log-density that agrees with
    it (autograd passes: it checks the closed form against itself); the Monte Carlo check of
    E[v | x_t] fails by many standard errors."""
    s = make("gaussian", "8gaussians", "linear", gamma, 0.5)
    wrong = ExactField(s.base, s.target, make_schedule(*wrong_schedule))
    x = torch.tensor([1.0, 0.6])  # off-centre, where the score is not 0 by symmetry
    sc = theory.score_check(wrong, s.interpolant, s.base, s.target, 0.35, x=x, generator=gen(6))
    assert sc.max_error < 1e-8  # the circular check is blind to it
    assert sc.denoiser.z > 2 * Z_MAX, sc.denoiser.z
    doubled = CallableFields(s.field.drift, lambda t, y: 2 * s.field.score(t, y))
    doubled.log_density = s.field.log_density
    sc = theory.score_check(doubled, s.interpolant, s.base, s.target, 0.35, x=x, generator=gen(6))
    assert sc.denoiser.z > 2 * Z_MAX, sc.denoiser.z


# ----------------------------------------------------------------------------- 6. the SDE


def test_sde_check_is_reproducible_from_its_generator():
    s = make("gaussian", "8gaussians", "trig", "brownian", 0.5)
    a = theory.sde_check(s.field, s.base, s.target, (0.0, 1.0), n=200, steps=20, generator=gen(7))
    b = theory.sde_check(s.field, s.base, s.target, (0.0, 1.0), n=200, steps=20, generator=gen(7))
    c = theory.sde_check(s.field, s.base, s.target, (0.0, 1.0), n=200, steps=20, generator=gen(8))
    assert a == b and a != c


def test_sde_with_exact_drift_and_score_reaches_the_target(setup):
    """For every ε the energy distance / floor, averaged over three draws, stays near 1."""
    runs = [theory.sde_check(setup.field, setup.base, setup.target, (0.0, 0.5, 1.0), n=1000,
                             steps=100, generator=gen(60 + k)) for k in range(3)]
    assert [r["epsilon"] for r in runs[0].rows] == [0.0, 0.5, 1.0]
    assert runs[0].start_energy > 20 * runs[0].floor.mean  # the particles did move
    for i in range(3):
        ratios = [run.rows[i]["ratio"] for run in runs]
        assert sum(ratios) / 3 <= 3, (runs[0].rows[i]["epsilon"], ratios)


def test_sde_with_the_wrong_sign_of_the_score_misses_the_target():
    """The check has power: the same integrator with −s instead of s lands far from ρ1."""
    s = make("gaussian", "8gaussians", "linear", "brownian", 0.5)
    flipped = CallableFields(s.field.drift, lambda t, y: -s.field.score(t, y))
    sd = theory.sde_check(flipped, s.base, s.target, (0.5,), n=1000, steps=100, generator=gen(0))
    assert sd.rows[0]["ratio"] > 20
