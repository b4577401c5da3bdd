"""SDE sampling with the score: Euler–Maruyama for the forward and backward SDEs of MATH.md.

For any ε(t) ≥ 0 the SDE has the same marginals ρ_t as the probability-flow ODE dX = b dt:

    forward  (t: t0 → 1 − t0, base → target):  dX = [b(t, X) + ε(t) s(t, X)] dt + √(2ε(t)) dW
    backward (t: 1 − t0 → t0, target → base):  dX = [b(t, X) − ε(t) s(t, X)] dt + √(2ε(t)) dW̄

Euler–Maruyama step with h = t_{k+1} − t_k (negative backward): in both directions
X ← X + h·b + |h|·ε s + √(2ε|h|)·ξ (the score term always points up the density), with
ξ ~ N(0, Id) drawn from an explicit `torch.Generator`.
ε(t) = ε·shape(t) is chosen at sampling time (`EPSILON_SHAPES`), with no retraining; ε = 0 is
the ODE integrated by Euler. The score s = ∇ log ρ_t is singular where γ (or, one-sided, α)
vanishes, so the SDE runs on [t0, 1 − t0] (`DEFAULT_T0`); the shapes `bump` and `sinesquared`
also switch the noise off towards the ends.

A *stochastic field* is any object with `drift(t, x)`, `score(t, x)` and
`drift_and_score(t, x) -> (b, s)` (t (n,), x (n, 2), outputs (n, 2)): `ExactField`,
`playground.score.LearnedFields`, or `CallableFields(drift, score)`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from playground.sampling import Field, Trajectory, run_steps, time_grid

Tensor = torch.Tensor

DEFAULT_T0 = 1e-3
"""The SDE (and its ODE twin in comparisons) runs on [t0, 1 − t0]: the score of a learned model,
−η̂/γ, is only evaluated where γ ≥ γ(t0) (≈ 0.03 for γ = √(t(1−t)))."""


def _constant(t: float) -> float:
    return 1.0


def _bump(t: float) -> float:
    return 4.0 * t * (1.0 - t)


def _sinesquared(t: float) -> float:
    return math.sin(math.pi * t) ** 2


EPSILON_SHAPES: dict[str, Callable[[float], float]] = {
    "constant": _constant, "bump": _bump, "sinesquared": _sinesquared,
}
"""ε(t) = ε · shape(t): name → shape on [0, 1] (peak 1)."""
EPSILON_SHAPE_LABELS = {"constant": "constant ε", "bump": "bump ε·4t(1−t)",
                        "sinesquared": "ε·sin²(πt)"}


def epsilon_at(epsilon: float, shape: str = "constant") -> Callable[[float], float]:
    """ε(t) as a function of a python float t; ValueError for a bad shape or ε < 0."""
    if shape not in EPSILON_SHAPES:
        raise ValueError(f"unknown epsilon shape {shape!r}; choose one of {', '.join(EPSILON_SHAPES)}")
    if not (math.isfinite(epsilon) and epsilon >= 0):
        raise ValueError(f"epsilon must be a finite number >= 0, got {epsilon}")
    fn = EPSILON_SHAPES[shape]
    return lambda t: float(epsilon) * fn(float(t))


class CallableFields:
    """A stochastic field from two callables `drift(t, x)` and `score(t, x)`."""

    def __init__(self, drift: Field, score: Field):
        self._drift, self._score = drift, score

    def __call__(self, t, x):
        return self._drift(t, x)

    def drift(self, t, x):
        return self._drift(t, x)

    def score(self, t, x):
        return self._score(t, x)

    def drift_and_score(self, t, x):
        return self._drift(t, x), self._score(t, x)


def has_score(field) -> bool:
    """True when `field` can give the score (it has `drift_and_score`)."""
    return callable(getattr(field, "drift_and_score", None))


@torch.no_grad()
def integrate_sde(field, x_start: Tensor, steps: int, epsilon: float = 0.5,
                  shape: str = "constant", direction: str = "forward", t0: float = DEFAULT_T0,
                  generator: torch.Generator | None = None, keep: int | None = 2000,
                  device: torch.device | str | None = None) -> Trajectory:
    """Euler–Maruyama on [t0, 1 − t0] from x_start (n, 2); returns a CPU float32 `Trajectory`.

    `field` is a stochastic field (see the module docstring); with ε = 0 (or a step where
    ε(t) = 0) only its drift is evaluated, so a plain drift field works for ε = 0. Noise comes
    from `generator` (required when ε > 0), drawn on the CPU so results do not depend on the
    device. keep: how many particles' paths to record (None = all). nfe counts drift
    evaluations (one a step; the score comes from the same evaluation for learned models).
    """
    if not 0 <= t0 < 0.5:
        raise ValueError(f"t0 must be in [0, 0.5), got {t0}")
    eps = epsilon_at(epsilon, shape)
    times = time_grid(steps, direction, t0, 1.0 - t0).tolist()
    noisy = [eps(t) > 0 for t in times[:-1]]
    if any(noisy):
        if not has_score(field):
            raise ValueError("the SDE with ε > 0 needs the score: give a field with drift_and_score "
                             "(a model trained with the denoiser, or the exact field)")
        if generator is None:
            raise ValueError("the SDE needs an explicit torch.Generator for its noise")
    drift = field.drift if hasattr(field, "drift") else field
    dev = torch.device(device) if device is not None else x_start.device

    def step(i: int, x: Tensor) -> Tensor:
        t, h = times[i], times[i + 1] - times[i]
        tt = torch.full((x.shape[0],), t, dtype=x.dtype, device=x.device)
        if not noisy[i]:
            return x + h * drift(tt, x)
        e = eps(t)
        b, s = field.drift_and_score(tt, x)
        xi = torch.randn(x.shape[0], 2, generator=generator).to(dev)
        # forward h > 0: h(b + εs); backward h < 0: h(b − εs); both are h b + |h| ε s
        return x + h * b + (abs(h) * e) * s + math.sqrt(2 * e * abs(h)) * xi

    path, final = run_steps(x_start, times, step, keep, device)
    return Trajectory(torch.tensor(times, dtype=torch.float32), path, final, steps)
