"""Log-likelihood along the probability-flow ODE (playground.likelihood): the exact divergence,
and log ρ1 of the exact field's flow against the target mixture's analytic log-density."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from playground.distributions import GaussianMixture, PointCloud, make_distribution
from playground.exact import ExactField
from playground.likelihood import (
    base_log_prob,
    divergence,
    log_density_grid,
    ode_log_likelihood,
    true_log_density_grid,
)
from playground.models import FieldMLP
from playground.schedules import make_schedule

F64 = torch.float64


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def pair():
    base, target = make_distribution("gaussian"), make_distribution("8gaussians")
    return base, target, ExactField.from_distributions(base, target, make_schedule("linear"))


def test_autograd_divergence_of_a_linear_field():
    a = torch.tensor([[0.3, -1.2], [0.7, -0.9]], dtype=F64)
    x = torch.randn(50, 2, dtype=F64, generator=gen(0))
    b, div = divergence(lambda t, y: y @ a.T + t[:, None], torch.rand(50, dtype=F64), x)
    torch.testing.assert_close(div, torch.full((50,), float(a.trace()), dtype=F64))
    assert not b.requires_grad and not div.requires_grad


@pytest.mark.parametrize("sched", [("linear", "zero", 1.0), ("trig", "brownian", 0.5)])
def test_autograd_divergence_matches_the_closed_form(sched):
    """Two autograd passes on the exact drift agree with ExactField's closed-form ∇·b."""
    base = GaussianMixture.build([[-1.0, 0.0], [1.0, 0.5]], stds=[0.6, 0.4], weights=[0.3, 0.7])
    exact = ExactField.from_distributions(base, make_distribution("8gaussians"), make_schedule(*sched))
    t = 0.02 + 0.96 * torch.rand(300, dtype=F64, generator=gen(1))
    x = 2 * torch.randn(300, 2, dtype=F64, generator=gen(2))
    b_auto, d_auto = divergence(lambda tt, y: exact.drift(tt, y), t, x)  # a plain callable: autograd
    b_closed, d_closed = divergence(exact, t, x)  # has drift_and_divergence: closed form
    torch.testing.assert_close(d_auto, d_closed, rtol=1e-8, atol=1e-8)
    torch.testing.assert_close(b_auto, b_closed)


def test_learned_model_divergence_by_autograd_matches_finite_differences():
    model = FieldMLP(32, 2, generator=gen(0)).double()
    t, x = torch.rand(20, dtype=F64, generator=gen(1)), torch.randn(20, 2, dtype=F64, generator=gen(2))
    _, div = divergence(model, t, x)
    h, fd = 1e-6, torch.zeros(20, dtype=F64)
    with torch.no_grad():
        for i in range(2):
            e = torch.zeros(2, dtype=F64)
            e[i] = h
            fd += (model(t, x + e)[:, i] - model(t, x - e)[:, i]) / (2 * h)
    torch.testing.assert_close(div, fd, rtol=1e-6, atol=1e-6)
    assert all(p.grad is None for p in model.parameters())  # no gradient left on the weights


def test_ode_log_likelihood_of_the_exact_field_matches_the_target_density(pair):
    """log ρ1(x) = log ρ0(X0) − ∫∇·b dt along the exact flow (Gaussian → 8 Gaussians, linear,
    γ = 0) at 500 target samples, RK4 backward in float64. Measured max |error|: 0.56 at 16
    steps, 1.8e-2 at 32, 5.4e-4 at 64 (mean 6.7e-6): the flow is stiff near t = 1 where the
    components are narrow (std 0.2), and the error falls ~2^5 per halving, as RK4's should.
    Tolerance 5e-3 at 64 steps: 10× the measured error, far below the log-density's own range
    (it spans ~20 nats over these points)."""
    base, target, exact = pair
    x = target.sample(500, gen(0)).to(F64)
    true = target.log_prob(x)
    lik64 = ode_log_likelihood(exact, x, 64, "rk4", base_log_prob(base))
    err64 = float((lik64.log_prob - true).abs().max())
    assert err64 < 5e-3, f"max |log ρ̂1 − log ρ1| = {err64:.2e}"
    err32 = float((ode_log_likelihood(exact, x, 32, "rk4", base_log_prob(base)).log_prob - true).abs().max())
    assert err32 > 8 * err64, "the error does not shrink like a 4th-order method's"
    assert lik64.nfe == 256 and lik64.x0.shape == (500, 2)
    # the end of the backward flow is a base sample's worth of log-density, not the target's
    assert float(true.std()) > 0.5


def test_likelihood_of_a_gaussian_to_gaussian_flow_is_exact():
    """N(0, I) → N(m, s² I) with the linear interpolant: the flow is affine, the log-density
    is known in closed form at every point; RK4 with 32 steps gets it to a relative 1e-7
    (16 steps: 1e-6, values down to −200 at |x| ≈ 9)."""
    base = make_distribution("gaussian")
    target = GaussianMixture.build([[1.0, -0.5]], stds=[0.5])
    exact = ExactField.from_distributions(base, target, make_schedule("linear"))
    x = 3 * torch.randn(100, 2, dtype=F64, generator=gen(3))
    lik = ode_log_likelihood(exact, x, 32, "rk4", base_log_prob(base))
    torch.testing.assert_close(lik.log_prob, target.log_prob(x), rtol=1e-6, atol=1e-6)


def test_unknown_base_density_gives_the_log_jacobian_only():
    assert base_log_prob(make_distribution("moons")) is None
    assert base_log_prob(PointCloud([[0.0, 0.0], [1.0, 1.0]], bandwidth=0.0)) is None
    assert base_log_prob(PointCloud([[0.0, 0.0]], bandwidth=0.3)) is not None
    grid = log_density_grid(lambda t, y: -y, make_distribution("moons"), grid=6, steps=4)
    assert grid.kind == "log_jacobian"
    # b = −x has ∇·b = −2: −∫₀¹ ∇·b dt = 2 everywhere
    np.testing.assert_allclose(grid.values, 2.0, rtol=1e-5)
    assert true_log_density_grid(make_distribution("moons")) is None


def test_log_density_grid_of_the_exact_field_matches_the_truth(pair):
    base, target, exact = pair
    gen_grid = log_density_grid(exact, base, grid=24, steps=48, dtype=F64)
    true = true_log_density_grid(target, grid=24)
    assert gen_grid.kind == "log_density" and gen_grid.values.shape == true.values.shape == (24, 24)
    assert gen_grid.xs.shape == (24,) and gen_grid.extent == (-4.0, 4.0, -4.0, 4.0)
    where = true.values > -10  # where there is mass; far out the flow is stiff and the floor clamps
    assert where.sum() > 20
    assert float(np.abs(gen_grid.values - true.values)[where].max()) < 0.05
    peak = np.unravel_index(np.argmax(gen_grid.values), gen_grid.values.shape)
    r = math.hypot(gen_grid.xs[peak[1]], gen_grid.ys[peak[0]])
    assert abs(r - 2.5) < 0.5  # the density peaks on the ring of the 8 Gaussians


def test_learned_model_log_density_is_finite():
    model = FieldMLP(16, 1, generator=gen(0))
    grid = log_density_grid(model, make_distribution("gaussian"), grid=8, steps=4)
    assert np.isfinite(grid.values).all() and grid.kind == "log_density"


def test_bad_method_raises(pair):
    with pytest.raises(ValueError, match="method"):
        ode_log_likelihood(pair[2], torch.zeros(2, 2), 4, "midpoint")
