"""The interpolant x_t = α x0 + β x1 + γ z and its time derivative, from a schedule.

This is the one place that broadcasts t: coefficients (n,) become (n, 1) columns here.
`Interpolant.sample` returns a named `InterpolantSample`; `antithetic` pairs (z, −z) give the
lower-variance estimator of MATH.md (x± = I ± γz with targets ∂_t I ± γ̇z).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from playground.schedules import Schedule, ScheduleOutput

Tensor = torch.Tensor


@dataclass(frozen=True)
class InterpolantSample:
    """Named fields; t (n,), every point array (n, 2).

    xt = α x0 + β x1 + γ z and dxt = α̇ x0 + β̇ x1 + γ̇ z, the regression target of the drift.
    """

    t: Tensor
    x0: Tensor
    x1: Tensor
    z: Tensor
    xt: Tensor
    dxt: Tensor
    coefficients: ScheduleOutput


class Interpolant:
    """x_t and d/dt x_t for a `Schedule`."""

    def __init__(self, schedule: Schedule):
        self.schedule = schedule

    def sample(self, t: Tensor, x0: Tensor, x1: Tensor, z: Tensor) -> InterpolantSample:
        """Evaluate at times t (n,) for pairs x0, x1 (n, 2) and noise z (n, 2)."""
        c = self.schedule(t)
        a, b, g = c.col("alpha"), c.col("beta"), c.col("gamma")
        da, db = c.col("d_alpha"), c.col("d_beta")
        mean, dmean = a * x0 + b * x1, da * x0 + db * x1
        if self.schedule.stochastic:
            xt, dxt = mean + g * z, dmean + c.col("d_gamma") * z
        else:
            xt, dxt = mean, dmean
        return InterpolantSample(t, x0, x1, z, xt, dxt, c)

    def antithetic(self, s: InterpolantSample) -> InterpolantSample:
        """The mirrored sample with −z: x− = I − γz, target ∂_t I − γ̇z (same t, x0, x1)."""
        return self.sample(s.t, s.x0, s.x1, -s.z)

    def mean(self, t: Tensor, x0: Tensor, x1: Tensor) -> Tensor:
        """The noiseless part I(t, x0, x1) = α x0 + β x1, (n, 2)."""
        c = self.schedule(t)
        return c.col("alpha") * x0 + c.col("beta") * x1
