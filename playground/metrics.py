"""Sample-quality metrics for 2D point sets, the noise floor they are read against, and path shape.

- `energy_distance`: squared energy distance 2E|X−Y| − E|X−X'| − E|Y−Y'|, V-statistic (≥ 0).
- `sliced_w2`: sliced Wasserstein-2 over seeded, evenly spaced directions (a distance, ≥ 0).
- `mmd_rbf`: squared MMD with a sum of Gaussian kernels, V-statistic (≥ 0).
- `noise_floor` / `quality`: a metric means something only beside the same metric between two
  independent target samples of the same size (MATH.md, "Quality metrics").
- `path_straightness` / `path_curvature`: how straight sampled trajectories (T, n, 2) are.

Everything is computed in float64 from explicit generators; point sets are (n, 2) tensors.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import torch

Tensor = torch.Tensor
F64 = torch.float64
BLOCK = 2_000_000  # entries of one pairwise block (16 MB in float64)
EXP_FLOOR = -80.0  # clamp kernel exponents (docs/PERF.md: denormal exp is slow)


def _points(x) -> Tensor:
    x = torch.as_tensor(x).to(F64)
    if x.ndim != 2 or x.shape[1] != 2 or x.shape[0] == 0:
        raise ValueError(f"expected a non-empty (n, 2) point set, got shape {tuple(x.shape)}")
    return x


def _pair_sum(x: Tensor, y: Tensor | None, fn: Callable[[Tensor], Tensor]) -> float:
    """Σ_ab fn(|x_a − y_b|) over all ordered pairs, in row blocks of at most BLOCK entries.

    y = None means y = x: only blocks on and above the diagonal are computed (half the work).
    """
    other = x if y is None else y
    rows = max(1, BLOCK // other.shape[0])
    total = 0.0
    for lo in range(0, x.shape[0], rows):
        hi = min(x.shape[0], lo + rows)
        if y is None:
            d = fn(torch.cdist(x[lo:hi], x[lo:], compute_mode="donot_use_mm_for_euclid_dist"))
            total += float(d[:, : hi - lo].sum() + 2 * d[:, hi - lo:].sum())
        else:
            d = torch.cdist(x[lo:hi], y, compute_mode="donot_use_mm_for_euclid_dist")
            total += float(fn(d).sum())
    return total


def energy_distance(x: Tensor, y: Tensor) -> float:
    """Squared energy distance between point sets x (n, 2) and y (m, 2).

    V-statistic: 2·mean|x_a − y_b| − mean|x_a − x_a'| − mean|y_b − y_b'| with the means over all
    pairs, diagonal included. It is the energy distance between the two empirical measures, so it
    is ≥ 0 and exactly 0 for identical sets; for two independent samples of one distribution it
    is ~ (E|X−X'|)/n + (E|Y−Y'|)/m > 0 (the noise floor), not 0.
    """
    x, y = _points(x), _points(y)
    n, m = x.shape[0], y.shape[0]
    xy = _pair_sum(x, y, lambda d: d) / (n * m)
    xx = _pair_sum(x, None, lambda d: d) / (n * n)
    yy = _pair_sum(y, None, lambda d: d) / (m * m)
    return max(0.0, 2 * xy - xx - yy)


def mmd_rbf(x: Tensor, y: Tensor, bandwidths=(0.1, 0.2, 0.5, 1.0, 2.0)) -> float:
    """Squared MMD (V-statistic, ≥ 0) with k(d) = Σ_h exp(−d²/(2h²)) over `bandwidths`.

    About 5× the cost of `energy_distance` with the five default bandwidths.
    """
    x, y = _points(x), _points(y)
    n, m = x.shape[0], y.shape[0]

    def kern(d: Tensor) -> Tensor:
        d2 = d.square_()
        out = torch.zeros_like(d2)
        for h in bandwidths:
            out += torch.mul(d2, -0.5 / (h * h)).clamp_min_(EXP_FLOOR).exp_()
        return out

    xy = _pair_sum(x, y, kern) / (n * m)
    xx = _pair_sum(x, None, kern) / (n * n)
    yy = _pair_sum(y, None, kern) / (m * m)
    return max(0.0, xx + yy - 2 * xy)


def _directions(n_projections: int, seed: int) -> Tensor:
    """(P, 2) unit vectors at angles π(k + u)/P, k = 0..P−1, one offset u ~ U[0, 1) from `seed`."""
    g = torch.Generator().manual_seed(int(seed))
    u = torch.rand((), generator=g, dtype=F64)
    theta = math.pi * (torch.arange(n_projections, dtype=F64) + u) / n_projections
    return torch.stack([torch.cos(theta), torch.sin(theta)], 1)


def _quantiles(sorted_proj: Tensor, levels: Tensor) -> Tensor:
    """Empirical quantile functions (linear interpolation) of sorted rows (P, n) at levels (L,)."""
    n = sorted_proj.shape[1]
    pos = (levels * n - 0.5).clamp(0, n - 1)  # level (k + ½)/n sits exactly on the k-th point
    lo = pos.floor().long()
    hi = (lo + 1).clamp_max(n - 1)
    frac = pos - lo
    return sorted_proj[:, lo] * (1 - frac) + sorted_proj[:, hi] * frac


def sliced_w2(x: Tensor, y: Tensor, n_projections: int = 256, seed: int = 0) -> float:
    """Sliced Wasserstein-2 distance between x (n, 2) and y (m, 2).

    √(mean over directions θ of W2²(θ·x, θ·y)). The directions are evenly spaced on the half
    circle with one seeded random rotation (a stratified estimate of the average over all
    directions; for a pure shift by d it gives exactly |d|/√2). Equal sizes: sorted projections
    are matched one to one. Unequal sizes: both quantile functions are compared at max(n, m)
    levels (k + ½)/L with linear interpolation.
    """
    x, y = _points(x), _points(y)
    dirs = _directions(int(n_projections), seed)
    px = torch.sort(dirs @ x.T, dim=1).values  # (P, n): rows sort contiguously, 2× faster
    py = torch.sort(dirs @ y.T, dim=1).values
    if px.shape[1] != py.shape[1]:
        length = max(px.shape[1], py.shape[1])
        levels = (torch.arange(length, dtype=F64) + 0.5) / length
        px, py = _quantiles(px, levels), _quantiles(py, levels)
    return float((px - py).square().mean().sqrt())


DEFAULT_METRICS: dict[str, Callable[[Tensor, Tensor], float]] = {
    "energy_distance": energy_distance,
    "sliced_w2": sliced_w2,
}


def noise_floor(dist, n: int, generator: torch.Generator,
                metric_fns: Mapping[str, Callable[[Tensor, Tensor], float]] | None = None
                ) -> dict[str, float]:
    """Each metric between two independent samples of size n of `dist` -> {name: value}."""
    metric_fns = DEFAULT_METRICS if metric_fns is None else metric_fns
    a, b = dist.sample(n, generator), dist.sample(n, generator)
    return {name: float(fn(a, b)) for name, fn in metric_fns.items()}


def quality(generated: Tensor, target_dist, generator: torch.Generator,
            n: int | None = None) -> dict[str, float]:
    """Generated samples (N, 2) against a fresh target sample of the same size, with the floor.

    With `n`, only the first n generated points are used. Returns {"energy_distance",
    "sliced_w2", "floor_energy_distance", "floor_sliced_w2"}; the floor compares two further
    fresh target samples of that size. Non-finite generated points make the metrics NaN/inf.
    """
    gen = _points(generated)
    if n is not None:
        if not 0 < n <= gen.shape[0]:
            raise ValueError(f"n must be in 1..{gen.shape[0]}, got {n}")
        gen = gen[:n]
    size = gen.shape[0]
    if not torch.isfinite(gen).all():
        nan = float("nan")
        floor = noise_floor(target_dist, size, generator)
        return {"energy_distance": nan, "sliced_w2": nan,
                **{f"floor_{k}": v for k, v in floor.items()}}
    ref = target_dist.sample(size, generator)
    out = {name: float(fn(gen, ref)) for name, fn in DEFAULT_METRICS.items()}
    floor = noise_floor(target_dist, size, generator)
    out.update({f"floor_{k}": v for k, v in floor.items()})
    return out


def _traj(traj: Tensor) -> Tensor:
    traj = torch.as_tensor(traj).to(F64)
    if traj.ndim != 3 or traj.shape[2] != 2 or traj.shape[0] < 2:
        raise ValueError(f"expected a trajectory (T >= 2, n, 2), got shape {tuple(traj.shape)}")
    return traj


def path_straightness(traj: Tensor) -> float:
    """Straightness S = E|X_T − X_0| / E[Σ_k |X_{k+1} − X_k|] of trajectories (T, n, 2).

    In (0, 1]; 1 exactly when every path is a straight segment traversed without turning back
    (a ratio of means, so particles that barely move do not dominate). 1.0 when nothing moves.
    """
    traj = _traj(traj)
    chord = (traj[-1] - traj[0]).norm(dim=1).mean()
    length = (traj[1:] - traj[:-1]).norm(dim=2).sum(0).mean()
    return 1.0 if float(length) == 0.0 else float(chord / length)


def path_curvature(traj: Tensor, times: Tensor | None = None) -> float:
    """Mean squared deviation from constant-velocity straight lines of trajectories (T, n, 2).

    C = E ∫ |ẋ_t − (X_T − X_0)/(t_T − t_0)|² dt / (t_T − t_0), with ẋ the finite difference on
    each step of `times` (T,) (default: evenly spaced on [0, 1]). This is the "straightness" of
    rectified flow (Liu et al. 2022): 0 iff every path is a straight line run at constant speed,
    in squared units of velocity. Speed changes along a straight line also count.
    """
    traj = _traj(traj)
    steps = traj.shape[0] - 1
    times = (torch.linspace(0, 1, steps + 1, dtype=F64) if times is None
             else torch.as_tensor(times).to(F64).reshape(-1))
    if times.shape[0] != steps + 1:
        raise ValueError(f"times has {times.shape[0]} entries, the trajectory {steps + 1} frames")
    h = times[1:] - times[:-1]  # (T−1,), may be negative for backward integration
    span = times[-1] - times[0]
    if float(span) == 0.0 or bool((h == 0).any()):
        raise ValueError("times must be strictly monotone")
    vel = (traj[1:] - traj[:-1]) / h[:, None, None]
    mean_vel = (traj[-1] - traj[0]) / span
    dev = (vel - mean_vel).square().sum(2)  # (T−1, n)
    return float((dev * h[:, None]).sum(0).mean() / span)
