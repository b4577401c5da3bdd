"""ODE integrators: on the exact field of playground.exact they reproduce the target (forward)
and the base (backward) up to the sampling noise floor; orders of accuracy; trajectory layout."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from playground.distributions import GaussianMixture, make_distribution
from playground.exact import ExactField
from playground.metrics import energy_distance
from playground.models import FieldMLP
from playground.sampling import SAMPLERS, as_field, integrate, time_grid
from playground.schedules import make_schedule

N = 2000
FLOOR_PAIRS = 8


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def three_mixture() -> GaussianMixture:
    """A non-Gaussian base: three unequal, anisotropic components."""
    return GaussianMixture.build(
        [[-1.5, 0.0], [1.0, 1.0], [0.5, -1.5]],
        covs=[[[0.25, 0.05], [0.05, 0.15]], [[0.09, 0.0], [0.0, 0.2]], [[0.16, -0.04], [-0.04, 0.1]]],
        weights=[0.5, 0.3, 0.2])


# (base, schedule) pairs: one-sided Gaussian → 8 Gaussians with a linear deterministic
# interpolant, and a two-sided mixture → 8 Gaussians with a trigonometric, stochastic one
PROBLEMS = {
    "gaussian-linear": (lambda: make_distribution("gaussian"), lambda: make_schedule("linear")),
    "mixture3-trig-brownian": (three_mixture, lambda: make_schedule("trig", "brownian", 0.5)),
}
METHODS = [("euler", 200), ("heun", 30), ("rk4", 15)]


def floor_bound(dist, n: int = N, seed: int = 1000) -> float:
    """Mean + 3 std of the energy distance between independent samples of `dist` of size n."""
    vals = [energy_distance(dist.sample(n, gen(seed + 2 * k)), dist.sample(n, gen(seed + 2 * k + 1)))
            for k in range(FLOOR_PAIRS)]
    return float(np.mean(vals) + 3 * np.std(vals))


@pytest.fixture(scope="module")
def target():
    return make_distribution("8gaussians")


@pytest.fixture(scope="module")
def target_floor(target):
    return floor_bound(target)


def _problem(name, target):
    make_base, make_sched = PROBLEMS[name]
    base = make_base()
    return base, ExactField.from_distributions(base, target, make_sched())


@pytest.mark.parametrize("method,steps", METHODS, ids=[f"{m}{s}" for m, s in METHODS])
@pytest.mark.parametrize("problem", list(PROBLEMS))
def test_forward_reproduces_the_target(problem, method, steps, target, target_floor):
    base, exact = _problem(problem, target)
    x = base.sample(N, gen(1))
    out = integrate(exact.drift, x, steps, method)
    ed = energy_distance(out.final, target.sample(N, gen(2)))
    assert ed <= target_floor, f"{method}: energy distance {ed:.5f} above the floor {target_floor:.5f}"
    # and the particles did move: the base itself is far from the target
    assert energy_distance(x, target.sample(N, gen(2))) > 10 * target_floor


@pytest.mark.parametrize("problem", list(PROBLEMS))
def test_backward_returns_the_base(problem, target):
    base, exact = _problem(problem, target)
    y = target.sample(N, gen(3))
    out = integrate(exact.drift, y, 30, "heun", direction="backward")
    bound = floor_bound(base)
    ed = energy_distance(out.final, base.sample(N, gen(4)))
    assert ed <= bound, f"energy distance {ed:.5f} above the floor {bound:.5f}"
    assert energy_distance(y, base.sample(N, gen(4))) > 10 * bound


@pytest.mark.parametrize("problem", list(PROBLEMS))
def test_heun_beats_euler_at_equal_steps(problem, target):
    """At 30 steps on the exact field, Heun's samples are closer (energy distance, and mean
    distance per particle) than Euler's to the accurate solution (RK4, 100 steps) from the same
    starting points. (Against fresh target samples both sit at the noise floor at 30 steps, so
    that comparison would only measure sampling noise.)"""
    base, exact = _problem(problem, target)
    x = base.sample(N, gen(10))
    euler = integrate(exact.drift, x, 30, "euler").final
    heun = integrate(exact.drift, x, 30, "heun").final
    accurate = integrate(exact.drift, x, 100, "rk4").final
    assert energy_distance(heun, accurate) < energy_distance(euler, accurate) / 3
    err_euler = float((euler - accurate).norm(dim=1).mean())
    err_heun = float((heun - accurate).norm(dim=1).mean())
    assert err_heun < err_euler / 3


@pytest.fixture(scope="module")
def smooth_problem():
    """A smooth exact field (Gaussian → two broad Gaussians), start points, accurate solution."""
    base = make_distribution("gaussian")
    tgt = GaussianMixture.build([[-1.5, 0.5], [1.5, -0.5]], stds=[0.5, 0.6])
    exact = ExactField.from_distributions(base, tgt, make_schedule("linear"))
    x = base.sample(500, gen(0))
    return exact, x, integrate(exact.drift, x, 400, "rk4").final


@pytest.mark.parametrize("method,steps,order_range", [
    ("euler", 40, (0.7, 1.3)), ("heun", 20, (1.6, 2.4)), ("rk4", 10, (3.0, 5.0))])
def test_order_of_accuracy(method, steps, order_range, smooth_problem):
    """Doubling the steps divides the error by ≈ 2^order (1, 2, 4) on a smooth exact field."""
    exact, x, ref = smooth_problem
    e1, e2 = (float((integrate(exact.drift, x, k, method).final - ref).norm(dim=1).max())
              for k in (steps, 2 * steps))
    order = math.log2(e1 / e2)
    assert order_range[0] <= order <= order_range[1], f"{method}: observed order {order:.2f}"


@pytest.mark.parametrize("method,steps,tol", [("euler", 400, 5e-3), ("heun", 100, 2e-4),
                                              ("rk4", 40, 2e-6)])
@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_analytic_ode(method, steps, tol, direction):
    """dX/dt = 2t X has X(t) = X(0) exp(t²): checks the times passed to the field, the
    direction, and the chunking of particles (more than one chunk of 10 000)."""
    x = torch.randn(12_345, 2, generator=gen(0))
    out = integrate(lambda t, y: 2 * t[:, None] * y, x, steps, method, direction, keep=None)
    factor = math.e if direction == "forward" else 1 / math.e
    torch.testing.assert_close(out.final, x * factor, rtol=tol, atol=tol)
    assert torch.equal(out.path[-1], out.final)


@pytest.mark.parametrize("method", list(SAMPLERS))
@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_trajectory_layout(method, direction):
    model = FieldMLP(16, 2, generator=gen(0))  # parameters require grad
    x = torch.randn(50, 2, generator=gen(1))
    out = integrate(model, x, 7, method, direction, keep=20)
    assert out.path.shape == (8, 20, 2) and out.final.shape == (50, 2)
    assert out.times.shape == (8,)
    first, last = (0.0, 1.0) if direction == "forward" else (1.0, 0.0)
    assert float(out.times[0]) == first and float(out.times[-1]) == last
    steps = out.times[1:] - out.times[:-1]
    assert ((steps > 0) if direction == "forward" else (steps < 0)).all()
    assert torch.equal(out.path[0], x[:20]) and torch.equal(out.start, x[:20])
    assert torch.equal(out.path[-1], out.final[:20])
    assert out.nfe == 7 * SAMPLERS[method]
    for tensor in (out.times, out.path, out.final):
        assert tensor.device.type == "cpu" and tensor.dtype == torch.float32
        assert not tensor.requires_grad and tensor.grad_fn is None


@pytest.mark.parametrize("keep,expected", [(None, 30), (5, 5), (1000, 30), (0, 0)])
def test_keep(keep, expected):
    out = integrate(lambda t, y: -y, torch.randn(30, 2, generator=gen(0)), 3, "euler", keep=keep)
    assert out.path.shape == (4, expected, 2)


def test_sub_interval():
    out = integrate(lambda t, y: torch.ones_like(y), torch.zeros(4, 2), 10, "euler",
                    t0=0.1, t1=0.6)
    assert float(out.times[0]) == pytest.approx(0.1) and float(out.times[-1]) == pytest.approx(0.6)
    torch.testing.assert_close(out.final, torch.full((4, 2), 0.5))


def test_time_grid():
    g = time_grid(4)
    assert g.dtype == torch.float64
    torch.testing.assert_close(g, torch.tensor([0.0, 0.25, 0.5, 0.75, 1.0], dtype=torch.float64))
    torch.testing.assert_close(time_grid(4, "backward"), g.flip(0))


@pytest.mark.parametrize("kwargs", [{"method": "midpoint"}, {"steps": 0}, {"direction": "sideways"}])
def test_bad_arguments_raise(kwargs):
    args = {"steps": 5, "method": "euler", "direction": "forward", **kwargs}
    with pytest.raises(ValueError):
        integrate(lambda t, y: y, torch.zeros(3, 2), **args)


def test_as_field_switches_to_eval():
    model = FieldMLP(8, 1, generator=gen(0))
    model.train()
    assert as_field(model) is model and not model.training
