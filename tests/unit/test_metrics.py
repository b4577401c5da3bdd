"""Tests of playground.metrics: energy distance, sliced W2, MMD, noise floor, quality, path shape."""

from __future__ import annotations

import math
import time

import pytest
import torch
from scipy import stats

from playground.distributions import make_distribution
from playground.metrics import (
    energy_distance,
    mmd_rbf,
    noise_floor,
    path_curvature,
    path_straightness,
    quality,
    sliced_w2,
)

F64 = torch.float64


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def normal(n: int, seed: int) -> torch.Tensor:
    return torch.randn(n, 2, generator=gen(seed), dtype=F64)


def test_energy_distance_identity_symmetry_and_growth():
    x, y = normal(2000, 0), normal(2000, 1)
    assert energy_distance(x, x) == pytest.approx(0.0, abs=1e-12)
    assert energy_distance(x, y) == pytest.approx(energy_distance(y, x), rel=1e-12, abs=1e-15)
    shift = torch.tensor([1.0, 0.0], dtype=F64)
    values = [energy_distance(x, y + s * shift) for s in (0.0, 0.5, 1.0, 2.0)]
    assert values == sorted(values) and values[0] < 0.01 < values[1]


def test_energy_distance_matches_closed_form_for_shifted_gaussians():
    """X ~ N(0, I), Y ~ N(d, I): E|X−Y| is a Rice mean (σ = √2, ν = |d|), E|X−X'| = √π."""
    d = 1.0
    x, y = normal(3000, 2), normal(3000, 3) + torch.tensor([d, 0.0], dtype=F64)
    sigma = math.sqrt(2)
    exact = 2 * stats.rice(d / sigma, scale=sigma).mean() - 2 * math.sqrt(math.pi)
    # V-statistic bias ≈ 2√π/n ≈ 1.2e-3; the estimate's spread over seeds is ≈ 0.017 at n = 3000
    assert energy_distance(x, y) == pytest.approx(exact, abs=0.06)
    assert energy_distance(x, y) > 2 * energy_distance(x, y - 0.5 * (y - x).mean(0))


def test_energy_distance_is_fast_on_5000_points():
    x, y = normal(5000, 4), normal(5000, 5)
    start = time.process_time()
    energy_distance(x, y)
    assert time.process_time() - start < 1.0


def test_sliced_w2_of_a_shift_is_norm_over_root_two():
    x = normal(1000, 6)
    d = torch.tensor([0.3, -0.4], dtype=F64)  # |d| = 0.5
    assert sliced_w2(x, x + d) == pytest.approx(0.5 / math.sqrt(2), rel=1e-9)
    # independent samples: the shift dominates, sampling adds a little
    assert sliced_w2(x, normal(1000, 7) + 4 * d) == pytest.approx(2 / math.sqrt(2), rel=0.05)
    assert sliced_w2(x, x) == pytest.approx(0.0, abs=1e-12)


def test_sliced_w2_seed_reproducible_and_unequal_sizes():
    x, y = normal(800, 8), normal(800, 9)
    assert sliced_w2(x, y, seed=3) == sliced_w2(x, y, seed=3)
    assert sliced_w2(x, y, seed=3) != sliced_w2(x, y, seed=4)
    assert sliced_w2(x, y) == pytest.approx(sliced_w2(y, x), rel=1e-12)
    d = torch.tensor([1.0, 1.0], dtype=F64)
    big = normal(3000, 10)
    assert sliced_w2(big[:500], big + d) == pytest.approx(1.0, rel=0.1)
    assert sliced_w2(big[:1000], big) < 0.15
    with pytest.raises(ValueError):
        sliced_w2(torch.zeros(5, 3), x)


def test_mmd_rbf_identity_and_shift():
    x, y = normal(1000, 11), normal(1000, 12)
    assert mmd_rbf(x, x) == pytest.approx(0.0, abs=1e-12)
    assert mmd_rbf(x, y) < mmd_rbf(x, y + 0.5) < mmd_rbf(x, y + 1.0)


def test_noise_floor_positive_small_and_quality_keys():
    dist = make_distribution("8gaussians")
    floor = noise_floor(dist, 2000, gen(13))
    assert set(floor) == {"energy_distance", "sliced_w2"}
    assert 0 < floor["energy_distance"] < 0.01
    assert 0 < floor["sliced_w2"] < 0.2
    custom = noise_floor(dist, 500, gen(13), metric_fns={"mmd": mmd_rbf})
    assert set(custom) == {"mmd"} and custom["mmd"] > 0
    good = quality(dist.sample(2000, gen(14)), dist, gen(15))
    assert set(good) == {"energy_distance", "sliced_w2", "floor_energy_distance",
                         "floor_sliced_w2"}
    assert good["energy_distance"] < 5 * good["floor_energy_distance"]
    bad = quality(make_distribution("gaussian").sample(2000, gen(16)), dist, gen(15), n=1000)
    assert bad["energy_distance"] > 20 * bad["floor_energy_distance"]
    assert bad["sliced_w2"] > 3 * bad["floor_sliced_w2"]
    # same generator seed -> same figures
    assert quality(dist.sample(500, gen(1)), dist, gen(2)) == quality(dist.sample(500, gen(1)),
                                                                      dist, gen(2))


def test_straightness_and_curvature():
    s = torch.linspace(0, 1, 51, dtype=F64)[:, None, None]
    start = normal(20, 17)[None]
    end = normal(20, 18)[None]
    straight = start + s * (end - start)                         # (51, 20, 2)
    assert path_straightness(straight) == pytest.approx(1.0, rel=1e-12)
    assert path_curvature(straight) == pytest.approx(0.0, abs=1e-20)
    # the same segment at uneven speed is still straight but not constant-velocity
    uneven = start + s**2 * (end - start)
    assert path_straightness(uneven) == pytest.approx(1.0, rel=1e-12)
    assert path_curvature(uneven) > 0
    # half circles of radius 1: chord 2, length ≈ π; curvature ∫|ẋ − chord|² = π² − 4
    theta = math.pi * torch.linspace(0, 1, 401, dtype=F64)
    arc = torch.stack([torch.cos(theta), torch.sin(theta)], 1)[:, None, :].expand(401, 3, 2)
    assert path_straightness(arc) == pytest.approx(2 / math.pi, rel=1e-4)
    assert path_curvature(arc) == pytest.approx(math.pi**2 - 4, rel=1e-3)
    still = torch.zeros(5, 4, 2)
    assert path_straightness(still) == 1.0
