"""The interpolant explorer's arrays: conditional paths and marginal spread."""

import numpy as np
import torch

from playground.distributions import make_distribution
from playground.explorer import conditional_paths, explore, marginal_spread
from playground.interpolants import Interpolant
from playground.schedules import make_schedule


def test_conditional_paths_join_x0_to_x1_and_noise_vanishes_at_the_ends():
    interp = Interpolant(make_schedule("trig", "brownian", 1.0))
    g = torch.Generator().manual_seed(0)
    x0, x1, z = torch.randn(5, 2, generator=g), torch.randn(5, 2, generator=g), torch.randn(5, 2, generator=g)
    times = np.linspace(0, 1, 11)
    mean, noisy = conditional_paths(interp, x0, x1, z, times)
    assert mean.shape == noisy.shape == (11, 5, 2)
    np.testing.assert_allclose(mean[0], x0.numpy(), atol=1e-6)
    np.testing.assert_allclose(mean[-1], x1.numpy(), atol=1e-6)
    np.testing.assert_allclose(noisy[0], x0.numpy(), atol=1e-6)  # γ(0) = 0
    np.testing.assert_allclose(noisy[-1], x1.numpy(), atol=1e-6)
    gamma_half = float(np.sqrt(0.25))
    np.testing.assert_allclose(noisy[5] - mean[5], gamma_half * z.numpy(), atol=1e-5)


def test_marginal_spread_is_the_root_trace_of_the_covariance():
    rng = np.random.default_rng(0)
    frames = np.stack([rng.normal(0, s, size=(20000, 2)) for s in (1.0, 2.0)]).astype(np.float32)
    np.testing.assert_allclose(marginal_spread(frames), [np.sqrt(2), np.sqrt(8)], rtol=0.02)


def test_noise_widens_the_middle_of_the_path():
    base, target = make_distribution("gaussian"), make_distribution("8gaussians")
    quiet = explore(Interpolant(make_schedule("linear", "zero")), base, target, n=2000, seed=1)
    noisy = explore(Interpolant(make_schedule("linear", "brownian", 2.0)), base, target, n=2000, seed=1)
    mid = len(quiet["times"]) // 2
    assert noisy["spread"][mid] > quiet["spread"][mid] + 0.2
    np.testing.assert_allclose(noisy["spread"][[0, -1]], quiet["spread"][[0, -1]], rtol=1e-5)


def test_spread_without_noise_is_that_of_the_same_pairs_with_gamma_zero():
    """The explorer's γ = 0 reference is the spread of α x0 + β x1 for the same pairs: equal to the
    spread of a γ = 0 run, and below the noisy one by 2γ² in tr Cov."""
    base, target = make_distribution("gaussian"), make_distribution("moons")
    noisy = explore(Interpolant(make_schedule("linear", "brownian", 1.0)), base, target, n=4000, seed=3)
    quiet = explore(Interpolant(make_schedule("linear", "zero")), base, target, n=4000, seed=3)
    np.testing.assert_allclose(noisy["spread_no_noise"], quiet["spread"], rtol=1e-5)
    t = noisy["times"]
    np.testing.assert_allclose(noisy["spread"] ** 2, noisy["spread_no_noise"] ** 2 + 2 * t * (1 - t), atol=0.06)
