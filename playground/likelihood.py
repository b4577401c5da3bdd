"""Log-likelihood along the probability-flow ODE, and the log-density of what a model generates.

Along dX = b(t, X) dt the density obeys d/dt log ρ_t(X_t) = −∇·b(t, X_t), so

    log ρ1(x) = log ρ0(X_0) − ∫₀¹ ∇·b(t, X_t) dt,     X_1 = x,

found by integrating the augmented ODE (X, A)' = (b, ∇·b) backward from (x, 0) at t = 1 to t = 0:
then A(0) = −∫₀¹ ∇·b dt and log ρ1(x) = log ρ0(X_0) + A(0). In 2D the divergence is exact and
cheap: two autograd passes, one per output component (`divergence`). A field that knows its
divergence in closed form (`ExactField.drift_and_divergence`) is used as is.

`log_density_grid` evaluates this on a grid of the plane (the generated distribution's
log-density heatmap); `true_log_density_grid` gives the target's own where it is known (a
Gaussian mixture with non-singular covariances). Work runs in chunks of points, in the dtype of
the points (float64 in the tests, float32 for learned models).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from playground.distributions import BOX, Distribution
from playground.sampling import SAMPLERS, time_grid

Tensor = torch.Tensor
CHUNK = 8192
LIKELIHOOD_METHODS = ("euler", "heun", "rk4")


def divergence(field, t: Tensor, x: Tensor) -> tuple[Tensor, Tensor]:
    """(b (n, 2), ∇·b (n,)) at t (n,), x (n, 2): exact, by two autograd passes (detached).

    A field with `drift_and_divergence` (the exact field) gives both in closed form instead."""
    closed = getattr(field, "drift_and_divergence", None)
    if callable(closed):
        with torch.no_grad():
            b, div = closed(t, x)
        return b, div
    with torch.enable_grad():
        xg = x.detach().requires_grad_(True)
        b = field(t, xg)
        g0 = torch.autograd.grad(b[:, 0].sum(), xg, retain_graph=True)[0][:, 0]
        g1 = torch.autograd.grad(b[:, 1].sum(), xg)[0][:, 1]
    return b.detach(), (g0 + g1).detach()


def _augmented_step(field, method: str, t: float, h: float, x: Tensor):
    """One step of (X, A)' = (b, ∇·b): returns (new x, increment of A)."""
    n = x.shape[0]

    def f(s: float, y: Tensor):
        return divergence(field, torch.full((n,), s, dtype=y.dtype, device=y.device), y)

    if method == "euler":
        b, d = f(t, x)
        return x + h * b, h * d
    if method == "heun":
        b1, d1 = f(t, x)
        b2, d2 = f(t + h, x + h * b1)
        return x + 0.5 * h * (b1 + b2), 0.5 * h * (d1 + d2)
    if method == "rk4":
        b1, d1 = f(t, x)
        b2, d2 = f(t + h / 2, x + (h / 2) * b1)
        b3, d3 = f(t + h / 2, x + (h / 2) * b2)
        b4, d4 = f(t + h, x + h * b3)
        return (x + (h / 6) * (b1 + 2 * b2 + 2 * b3 + b4),
                (h / 6) * (d1 + 2 * d2 + 2 * d3 + d4))
    raise ValueError(f"unknown method {method!r}; choose one of {', '.join(LIKELIHOOD_METHODS)}")


@dataclass(frozen=True)
class Likelihood:
    """x (n, 2) at t = 1; x0 (n, 2) where its path starts at t = 0; delta (n,) = −∫₀¹ ∇·b dt;
    log_prob (n,) = log ρ0(x0) + delta, or None when the base density is unknown; nfe."""

    x: Tensor
    x0: Tensor
    delta: Tensor
    log_prob: Tensor | None
    nfe: int


def base_log_prob(base: Distribution):
    """log ρ0 as a function of points (n, 2) -> (n,), or None when it is not known in closed
    form (not a mixture, or a mixture with singular covariances such as a bare point cloud)."""
    m = base.mixture()
    if m is None or bool((torch.linalg.det(m.covs) <= 1e-12).any()):
        return None
    return m.log_prob


def ode_log_likelihood(field, x: Tensor, steps: int = 32, method: str = "rk4",
                       log_prob0=None) -> Likelihood:
    """log ρ1(x) of the flow of `field` from ρ0 (log_prob0: points -> (n,), or None).

    Integrates (X, A) backward from (x, 0) at t = 1 to t = 0 with `steps` steps of `method`
    (euler, heun, rk4: error O(h), O(h²), O(h⁴)). nfe counts drift(+divergence) evaluations.
    """
    if method not in LIKELIHOOD_METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(LIKELIHOOD_METHODS)}")
    times = time_grid(steps, "backward").tolist()
    x0s, deltas = [], []
    for lo in range(0, x.shape[0], CHUNK):
        y = x[lo:lo + CHUNK]
        acc = torch.zeros(y.shape[0], dtype=y.dtype, device=y.device)
        for i in range(steps):
            y, da = _augmented_step(field, method, times[i], times[i + 1] - times[i], y)
            acc = acc + da
        x0s.append(y)
        deltas.append(acc)
    x0, delta = torch.cat(x0s), torch.cat(deltas)
    logp = None
    if log_prob0 is not None:
        logp = log_prob0(x0).to(delta.dtype) + delta
    return Likelihood(x, x0, delta, logp, steps * SAMPLERS[method])


@dataclass(frozen=True)
class DensityGrid:
    """values (g, g) on the cell centres xs (g,) × ys (g,) of [-box, box]² (row 0 = bottom);
    kind: "log_density" (log ρ0 known and added) or "log_jacobian" (only −∫∇·b dt)."""

    xs: np.ndarray
    ys: np.ndarray
    values: np.ndarray
    kind: str
    extent: tuple[float, float, float, float]


def grid_points(grid: int, box: float = BOX) -> tuple[np.ndarray, Tensor]:
    """Cell centres of a grid × grid lattice on [-box, box]²: (axis (g,), points (g², 2))."""
    ax = (np.arange(grid) + 0.5) * (2 * box / grid) - box
    xx, yy = np.meshgrid(ax, ax)
    return ax, torch.from_numpy(np.stack([xx.ravel(), yy.ravel()], 1))


def log_density_grid(field, base: Distribution, grid: int = 48, steps: int = 24,
                     method: str = "rk4", box: float = BOX, dtype=torch.float32,
                     floor: float = -30.0) -> DensityGrid:
    """log ρ̂1 of the distribution `field` generates from `base`, on a grid (values clamped
    below at `floor` so a colour scale stays readable). When log ρ0 is unknown the grid holds
    −∫∇·b dt only (kind "log_jacobian")."""
    ax, pts = grid_points(grid, box)
    lp0 = base_log_prob(base)
    lik = ode_log_likelihood(field, pts.to(dtype), steps, method, lp0)
    vals = lik.log_prob if lik.log_prob is not None else lik.delta
    values = vals.double().clamp_min(floor).reshape(grid, grid).numpy()
    return DensityGrid(ax, ax, values, "log_density" if lp0 is not None else "log_jacobian",
                       (-box, box, -box, box))


def true_log_density_grid(target: Distribution, grid: int = 48, box: float = BOX,
                          floor: float = -30.0) -> DensityGrid | None:
    """The target's own log-density on the same grid, or None when it is not known."""
    lp = base_log_prob(target)
    if lp is None:
        return None
    ax, pts = grid_points(grid, box)
    values = lp(pts.double()).clamp_min(floor).reshape(grid, grid).numpy()
    return DensityGrid(ax, ax, values, "log_density", (-box, box, -box, box))
