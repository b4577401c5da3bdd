"""The interpolant itself, no model needed: samples of x_t, conditional paths, marginal spread.

Pure functions for the Schedules page's explorer: what a drift model must learn, made visible.
"""

from __future__ import annotations

import numpy as np
import torch

from playground.distributions import Distribution
from playground.interpolants import Interpolant


def conditional_paths(interpolant: Interpolant, x0: torch.Tensor, x1: torch.Tensor, z: torch.Tensor,
                      times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Paths of fixed pairs (x0, x1) (k, 2) over times (T,): without the noise, I(t) = α x0 + β x1,
    and with it, I(t) + γ(t) z for the fixed z (k, 2). Returns two (T, k, 2) float32 arrays."""
    k = x0.shape[0]
    mean = np.empty((len(times), k, 2), dtype=np.float32)
    noisy = np.empty_like(mean)
    for i, t in enumerate(times):
        s = interpolant.sample(torch.full((k,), float(t)), x0, x1, z)
        mean[i] = (s.xt - s.coefficients.col("gamma") * z).numpy()
        noisy[i] = s.xt.numpy()
    return mean, noisy


def marginal_spread(frames: np.ndarray) -> np.ndarray:
    """Spread of the samples at each time: sqrt of the trace of their covariance, (T,) from
    frames (T, n, 2)."""
    centred = frames - frames.mean(axis=1, keepdims=True)
    return np.sqrt((centred**2).sum(axis=2).mean(axis=1))


def explore(interpolant: Interpolant, base: Distribution, target: Distribution, n: int = 1000,
            n_paths: int = 8, frames: int = 41, seed: int = 0) -> dict[str, np.ndarray]:
    """Everything the explorer shows, from one seed: times (T,), samples (T, n, 2) of the true
    x_t from one draw of (x0, x1, z), mean and noisy paths (T, n_paths, 2) of its first n_paths
    particles, the marginal spread (T,), and "spread_no_noise" (T,): the spread of α x0 + β x1 for
    the same pairs, i.e. the same α, β with γ = 0 (tr Cov x_t exceeds its square by about 2γ²)."""
    g = torch.Generator().manual_seed(seed)
    x0, x1 = base.sample(n, g), target.sample(n, g)
    z = torch.randn(n, 2, generator=g)
    times = np.linspace(0, 1, frames)
    mean, noisy = conditional_paths(interpolant, x0, x1, z, times)
    k = min(n_paths, n)
    return {"times": times, "samples": noisy, "mean_paths": mean[:, :k], "noisy_paths": noisy[:, :k],
            "spread": marginal_spread(noisy), "spread_no_noise": marginal_spread(mean)}
