"""The interpolant x_t = α x0 + β x1 + γ z and its time derivative."""

from __future__ import annotations

import pytest
import torch

from playground.interpolants import Interpolant
from playground.schedules import make_schedule

F64 = torch.float64
SCHEDULES = [("linear", "zero", 1.0), ("trig", "brownian", 0.5), ("trig-vp", "squared", 1.0),
             ("encdec", "sinesquared", 1.0), ("power", "sinesquared", 2.0)]
IDS = [f"{p}-{g}-{a:g}" for p, g, a in SCHEDULES]


def _batch(n: int, dtype=torch.float32, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    t = 0.02 + 0.96 * torch.rand(n, generator=g, dtype=dtype)
    x0, x1, z = (torch.randn(n, 2, generator=g, dtype=dtype) for _ in range(3))
    return t, x0, x1, z


@pytest.mark.parametrize("pair,gamma,scale", SCHEDULES, ids=IDS)
def test_xt_and_dxt_match_the_formula(pair, gamma, scale):
    sched = make_schedule(pair, gamma, scale)
    t, x0, x1, z = _batch(64)
    s = Interpolant(sched).sample(t, x0, x1, z)
    c = sched(t)
    for k in range(64):  # by hand, point by point: no broadcasting to get wrong
        xt = c.alpha[k] * x0[k] + c.beta[k] * x1[k] + c.gamma[k] * z[k]
        dxt = c.d_alpha[k] * x0[k] + c.d_beta[k] * x1[k] + c.d_gamma[k] * z[k]
        torch.testing.assert_close(s.xt[k], xt)
        torch.testing.assert_close(s.dxt[k], dxt)
    assert s.xt.shape == s.dxt.shape == (64, 2)
    assert s.t is t and s.x0 is x0 and s.x1 is x1 and s.z is z


@pytest.mark.parametrize("pair,gamma,scale", SCHEDULES, ids=IDS)
def test_dxt_is_the_time_derivative_of_xt(pair, gamma, scale):
    """dxt equals autograd d/dt of xt, in float64, at interior times away from t = ½."""
    t, x0, x1, z = _batch(50, F64, seed=1)
    t = t[(t - 0.5).abs() > 0.02].requires_grad_(True)
    n = t.shape[0]
    interp = Interpolant(make_schedule(pair, gamma, scale))
    s = interp.sample(t, x0[:n], x1[:n], z[:n])
    for d in range(2):
        (grad,) = torch.autograd.grad(s.xt[:, d].sum(), t, retain_graph=True)
        torch.testing.assert_close(s.dxt[:, d].detach(), grad, atol=1e-6, rtol=1e-6)


def test_endpoints_are_the_samples():
    """x_0 = x0 and x_1 = x1 whatever z is (γ vanishes at the ends)."""
    interp = Interpolant(make_schedule("trig", "brownian", 1.0))
    _, x0, x1, z = _batch(8)
    s0 = interp.sample(torch.zeros(8), x0, x1, z)
    s1 = interp.sample(torch.ones(8), x0, x1, z)
    torch.testing.assert_close(s0.xt, x0)
    torch.testing.assert_close(s1.xt, x1, atol=1e-6, rtol=1e-6)


def test_deterministic_schedule_ignores_z():
    interp = Interpolant(make_schedule("linear"))
    t, x0, x1, z = _batch(16)
    a = interp.sample(t, x0, x1, z)
    b = interp.sample(t, x0, x1, 100 * z)
    torch.testing.assert_close(a.xt, b.xt)
    torch.testing.assert_close(a.dxt, b.dxt)
    torch.testing.assert_close(a.xt, interp.mean(t, x0, x1))


@pytest.mark.parametrize("pair,gamma,scale", SCHEDULES[1:], ids=IDS[1:])
def test_antithetic_mirrors_z(pair, gamma, scale):
    """x± = I ± γz and targets ∂_t I ± γ̇z: same t, x0, x1, opposite z."""
    interp = Interpolant(make_schedule(pair, gamma, scale))
    t, x0, x1, z = _batch(32)
    s = interp.sample(t, x0, x1, z)
    m = interp.antithetic(s)
    torch.testing.assert_close(m.z, -z)
    assert torch.equal(m.t, t) and torch.equal(m.x0, x0) and torch.equal(m.x1, x1)
    mean = interp.mean(t, x0, x1)
    torch.testing.assert_close((s.xt + m.xt) / 2, mean)
    c = s.coefficients
    torch.testing.assert_close((s.xt - m.xt) / 2, c.col("gamma") * z)
    dmean = c.col("d_alpha") * x0 + c.col("d_beta") * x1
    torch.testing.assert_close((s.dxt + m.dxt) / 2, dmean)
    torch.testing.assert_close((s.dxt - m.dxt) / 2, c.col("d_gamma") * z)
    assert not torch.allclose(s.xt, m.xt)


def test_mean_is_alpha_x0_plus_beta_x1():
    sched = make_schedule("power", power=3.0)
    t, x0, x1, _ = _batch(10)
    c = sched(t)
    expect = torch.stack([c.alpha[k] * x0[k] + c.beta[k] * x1[k] for k in range(10)])
    torch.testing.assert_close(Interpolant(sched).mean(t, x0, x1), expect)
