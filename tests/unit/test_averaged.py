"""Averaged regression targets (playground.averaged) against independent oracles: the exact
mixture field with the batch's atoms as the other side (playground.exact), and a float64
Gaussian conditioning written out below with torch.linalg; then what training relies on."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from playground import averaged
from playground.averaged import KnownSide, averaged_targets, known_side
from playground.config import ExperimentConfig
from playground.distributions import GaussianMixture, make_distribution
from playground.exact import ExactField
from playground.schedules import resolve_schedule
from playground.training import draw_batch, drift_loss, make_state, train_steps

ANISOTROPIC = GaussianMixture.build([[-1.0, 0.5], [1.5, -0.5], [0.0, 2.0]],
                                    covs=[[[0.3, 0.1], [0.1, 0.2]], [[0.05, 0.0], [0.0, 0.4]],
                                          [[0.2, -0.15], [-0.15, 0.3]]],
                                    weights=[0.5, 0.3, 0.2])

CASES = [  # (base, target, schedule, gamma, gamma_scale)
    ("gaussian", "moons", "linear", "zero", 1.0),
    ("8gaussians", "checkerboard", "linear", "zero", 1.0),
    ("8gaussians", "checkerboard", "trig", "brownian", 0.5),
    ("moons", "8gaussians", "linear", "brownian", 0.5),  # the target is the known side
    ("gaussian", "spiral", "encdec", "brownian", 1.0),
    (ANISOTROPIC, "moons", "linear", "zero", 1.0),  # the general 2 × 2 covariance path
    (ANISOTROPIC, "moons", "trig", "brownian", 0.5),
]


def dist(d):
    return d if isinstance(d, GaussianMixture) else make_distribution(d)


def batch(case, n=48, seed=1, t_range=(0.02, 0.96)):
    base, target, sched, gamma, scale = case
    base, target = dist(base), dist(target)
    schedule = resolve_schedule(sched, gamma, scale, 2.0, "", "")
    g = torch.Generator().manual_seed(seed)
    x0, x1, z = base.sample(n, g), target.sample(n, g), torch.randn(n, 2, generator=g)
    t = t_range[0] + (t_range[1] - t_range[0]) * torch.rand(n, generator=g)
    c = schedule(t)
    noise = c.gamma[:, None] * z if schedule.stochastic else torch.zeros_like(z)
    return base, target, schedule, t, c, x0, x1, z, noise


def atoms_mixture(points: torch.Tensor) -> GaussianMixture:
    return GaussianMixture.build(points.double(), stds=torch.zeros(points.shape[0]))


def conditioned(known: GaussianMixture, side: str, c, i: int, x: torch.Tensor, atoms: torch.Tensor):
    """E[ẋ_t | x_t = x, the point's side among `atoms`], E[z | ·] and E[x0 | ·] for point i, in
    float64 by direct Gaussian conditioning over (component, atom) hypotheses: (x0 or x1, z)
    are jointly Gaussian with x_t under each hypothesis."""
    a, b, g = (float(getattr(c, k)[i]) for k in ("alpha", "beta", "gamma"))
    da, db = float(c.d_alpha[i]), float(c.d_beta[i])
    ggd = float(c.gamma_d_gamma[i])
    k, kd, o, od = (a, da, b, db) if side == "base" else (b, db, a, da)
    eye = torch.eye(2, dtype=torch.float64)
    logws, drifts, etas, x0s = [], [], [], []
    for mu, cov, w in zip(known.means, known.covs, known.weights):
        for atom in atoms.double():
            mean = k * mu + o * atom
            C = k * k * cov + g * g * eye
            r = x.double() - mean
            sol = torch.linalg.solve(C, r)
            logws.append(float(torch.log(w) - 0.5 * torch.logdet(C) - 0.5 * r @ sol))
            drifts.append(kd * mu + od * atom + (k * kd * cov + ggd * eye) @ sol)
            etas.append(g * sol)
            x0s.append(mu + k * cov @ sol if side == "base" else atom)
    w = torch.softmax(torch.tensor(logws, dtype=torch.float64), 0)
    return tuple(sum(wi * v for wi, v in zip(w, vals)) for vals in (drifts, etas, x0s))


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(str(v) if not isinstance(v, GaussianMixture)
                                                                else "aniso" for v in c))
def test_averaged_targets_are_the_exact_field_of_the_known_mixture_and_the_batch_atoms(case):
    base, target, schedule, t, c, x0, x1, z, noise = batch(case)
    known = known_side(base, target, "independent")
    kind = "z" if schedule.stochastic else "x0"
    drift, eta, ok = averaged_targets(known, c, x0, x1, noise, kind, budget=10**6)
    assert ok.float().mean() > 0.8  # the rest (C_i nearly singular) keep the plain target
    atoms = x1 if known.side == "base" else x0
    pair = ((known_mix := (base if known.side == "base" else target).mixture()), atoms_mixture(atoms))
    field = ExactField(*(pair if known.side == "base" else pair[::-1]), schedule)
    xt = c.alpha[:, None] * x0 + c.beta[:, None] * x1 + noise
    exact = field.drift(t, xt).float()[ok]
    # float32 cancellation near MIN_VARIANCE bounds the agreement
    torch.testing.assert_close(drift[ok], exact, atol=2e-3 * (1 + exact.abs().max().item()), rtol=1e-3)
    if schedule.stochastic:
        torch.testing.assert_close(eta[ok], field.eta(t, xt).float()[ok], atol=2e-4, rtol=1e-3)
    for i in torch.nonzero(ok)[:, 0][[0, 7, 23]].tolist():  # the float64 conditioning oracle, including E[x0 | ·]
        d_ref, eta_ref, x0_ref = conditioned(known_mix, known.side, c, i, xt[i], atoms)
        np.testing.assert_allclose(drift[i].double(), d_ref, rtol=1e-3, atol=2e-3 * (1 + d_ref.abs().max()))
        np.testing.assert_allclose(eta[i].double(), eta_ref if kind == "z" else x0_ref, rtol=1e-3, atol=2e-4)


def test_each_point_averages_over_the_atoms_of_its_own_block_only():
    case = ("8gaussians", "checkerboard", "trig", "brownian", 0.5)
    base, target, schedule, t, c, x0, x1, z, noise = batch(case, n=64)
    known = known_side(base, target, "independent")
    m = known.block(64, 8 * 16)
    assert m == 16
    drift, eta, _ = averaged_targets(known, c, x0, x1, noise, "z", budget=8 * 16)
    xt = c.alpha[:, None] * x0 + c.beta[:, None] * x1 + noise
    for b in range(64 // m):
        rows = slice(b * m, (b + 1) * m)
        field = ExactField(base.mixture(), atoms_mixture(x1[rows]), schedule)
        torch.testing.assert_close(drift[rows], field.drift(t[rows], xt[rows]).float(), atol=1e-3, rtol=1e-3)
        torch.testing.assert_close(eta[rows], field.eta(t[rows], xt[rows]).float(), atol=1e-3, rtol=1e-3)


def test_a_block_of_one_atom_without_noise_gives_back_the_plain_target():
    """With only the point's own x1 and γ = 0, x0 = (x_t − β x1)/α is determined: the average is ẋ_t."""
    base, target, schedule, t, c, x0, x1, z, noise = batch(("gaussian", "moons", "linear", "zero", 1.0))
    known = known_side(base, target, "independent")
    drift, _, ok = averaged_targets(known, c, x0, x1, noise, budget=1)
    plain = c.d_alpha[:, None] * x0 + c.d_beta[:, None] * x1
    torch.testing.assert_close(drift[ok], plain[ok], atol=1e-4, rtol=1e-4)


def test_nearly_singular_points_are_flagged_for_the_plain_target():
    """γ = 0 near t = 1: C = α² I is below MIN_VARIANCE, so the point must keep ẋ_t."""
    base, target, schedule, t, c, x0, x1, z, noise = batch(("gaussian", "moons", "linear", "zero", 1.0),
                                                             t_range=(0.9999, 1.0))
    known = known_side(base, target, "independent")
    drift, _, ok = averaged_targets(known, c, x0, x1, noise)
    assert not bool(ok.any())
    assert bool(torch.isfinite(drift).all())


def test_the_averaged_target_is_closer_to_the_true_drift_than_the_plain_one():
    """What the averaging is for: at every t its squared distance to the exact drift (gaussian →
    8 Gaussians, whose field is known) is a fraction of the plain target's."""
    base, target = make_distribution("gaussian"), make_distribution("8gaussians")
    schedule = resolve_schedule("linear", "zero", 1.0, 2.0, "", "")
    field = ExactField(base.mixture(), target.mixture(), schedule)
    known = known_side(base, target, "independent")
    g = torch.Generator().manual_seed(3)
    for t0 in (0.05, 0.3, 0.6, 0.9):
        n = 256
        x0, x1 = base.sample(n, g), target.sample(n, g)
        t = torch.full((n,), t0)
        c = schedule(t)
        xt = c.alpha[:, None] * x0 + c.beta[:, None] * x1
        exact = field.drift(t, xt).float()
        drift, _, _ = averaged_targets(known, c, x0, x1, torch.zeros_like(x0))
        plain = c.d_alpha[:, None] * x0 + c.d_beta[:, None] * x1
        err_avg = (drift - exact).square().sum(1).mean()
        err_plain = (plain - exact).square().sum(1).mean()
        assert err_avg < 0.5 * err_plain, (t0, float(err_avg), float(err_plain))


def test_known_side_applies_to_independent_pairs_with_a_mixture_side():
    gauss, moons, eight = (make_distribution(n) for n in ("gaussian", "moons", "8gaussians"))
    assert known_side(gauss, moons, "independent").side == "base"
    assert known_side(moons, eight, "independent").side == "target"
    assert known_side(eight, gauss, "independent").side == "target"  # the side with fewer components
    assert known_side(moons, make_distribution("checkerboard"), "independent") is None
    for coupling in ("ot", "mirror"):  # dependent pairs: conditioning on one side alone is wrong
        assert known_side(gauss, moons, coupling) is None
    assert isinstance(known_side(ANISOTROPIC, moons, "independent"), KnownSide)
    assert not known_side(ANISOTROPIC, moons, "independent").isotropic


def test_training_reports_the_plain_loss_and_trains_on_the_average(monkeypatch):
    """The loss a user sees stays MATH.md's |b̂ − ẋ_t|² (its floor keeps its meaning), while the
    step follows the averaged target: switching it off changes the weights, not the first loss."""
    cfg = ExperimentConfig(target="8gaussians", width=32, depth=2, batch=64, steps=5, device="cpu")
    state = make_state(cfg)
    assert state.known is not None
    model0 = copy.deepcopy(state.model)
    g_state = state.generator.get_state()
    losses = train_steps(state, 5)
    state.generator.set_state(g_state)
    t, x0, x1, z = draw_batch(state, cfg.batch)
    with torch.no_grad():
        first = float(drift_loss(model0, state.interpolant, t, x0, x1, z, antithetic=True))
    assert losses[0] == pytest.approx(first, rel=1e-5)
    plain = make_state(cfg.replace(averaged_target=False))
    assert plain.known is None
    plain_losses = train_steps(plain, 5)
    assert plain_losses[0] == pytest.approx(losses[0], rel=1e-5)
    assert not np.allclose(plain_losses[1:], losses[1:])


def test_averaging_is_off_for_couplings_and_non_mixture_pairs():
    for changes in ({"coupling": "ot"}, {"base": "moons", "target": "checkerboard"},
                    {"averaged_target": False}):
        assert make_state(ExperimentConfig(**changes, steps=1, device="cpu")).known is None
    assert make_state(ExperimentConfig(steps=1, device="cpu")).known is not None


def test_pair_budget_sets_the_block(monkeypatch):
    known = known_side(make_distribution("8gaussians"), make_distribution("moons"), "independent")
    assert known.block(256, averaged.PAIR_BUDGET) == averaged.PAIR_BUDGET // 8
    assert known.block(7, 16) == 1  # a prime batch larger than the budget: one atom per block
    single = known_side(make_distribution("gaussian"), make_distribution("moons"), "independent")
    assert single.block(256, averaged.PAIR_BUDGET) == min(256, averaged.PAIR_BUDGET)


def test_both_antithetic_halves_in_one_call_match_two_calls():
    """Training averages x+ = I + γz and x− = I − γz in one call on the batch stacked twice; where a
    block spans both halves every atom is in it twice, which must leave the targets unchanged."""
    base, target, schedule, t, c, x0, x1, z, noise = batch(("gaussian", "moons", "trig", "brownian", 0.5), n=64)
    known = known_side(base, target, "independent")
    plus = averaged_targets(known, c, x0, x1, noise, "z", budget=64)
    minus = averaged_targets(known, c, x0, x1, -noise, "z", budget=64)
    c2 = type(c)(*(torch.cat([v, v]) for v in c.as_dict().values()))
    both = averaged_targets(known, c2, torch.cat([x0, x0]), torch.cat([x1, x1]), torch.cat([noise, -noise]),
                            "z", budget=128)
    assert known.block(128, 128) == 128  # one block over both halves
    torch.testing.assert_close(both[0], torch.cat([plus[0], minus[0]]), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(both[1], torch.cat([plus[1], minus[1]]), atol=1e-5, rtol=1e-5)
