"""2D distributions: shapes, the coordinate box, seeding, mixtures and point clouds."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import multivariate_normal

from playground.distributions import (
    BOX,
    DISTRIBUTIONS,
    GaussianMixture,
    PointCloud,
    make_distribution,
)

NAMES = list(DISTRIBUTIONS)
MIXTURE_PARAMS = {
    "means": [[-1.0, 0.5], [1.5, -1.0], [0.0, 2.0]],
    "covs": [[[0.3, 0.1], [0.1, 0.2]], [[0.05, 0.0], [0.0, 0.4]], [[0.2, -0.15], [-0.15, 0.3]]],
    "weights": [0.5, 0.2, 0.3],
}
CLOUD_POINTS = [[0.0, 0.0], [1.0, 2.0], [-2.0, 1.5], [3.0, -3.0]]


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _all_kinds():
    """Every registry name, plus the two parametric kinds."""
    return ([pytest.param(name, None, id=name) for name in NAMES]
            + [pytest.param("mixture", MIXTURE_PARAMS, id="mixture"),
               pytest.param("cloud", {"points": CLOUD_POINTS, "bandwidth": 0.1}, id="cloud")])


def test_registry_has_the_presets():
    assert {"gaussian", "8gaussians", "moons", "checkerboard", "spiral"} <= set(NAMES)


@pytest.mark.parametrize("name,params", _all_kinds())
def test_samples_are_float32_finite_and_inside_the_box(name, params):
    x = make_distribution(name, params).sample(20_000, gen(0))
    assert x.shape == (20_000, 2)
    assert x.dtype == torch.float32 and x.device.type == "cpu"
    assert torch.isfinite(x).all()
    inside = (x.abs() <= BOX).all(dim=1).float().mean().item()
    assert inside > 0.999, f"{name}: only {inside:.4%} of the points are inside the box"
    assert x.std(dim=0).min() > 0.05, f"{name} collapsed to a point"


@pytest.mark.parametrize("name,params", _all_kinds())
def test_seeding(name, params):
    """Same seed → identical samples; different seeds → different samples."""
    dist = make_distribution(name, params)
    a = dist.sample(1000, gen(7))
    b = dist.sample(1000, gen(7))
    c = dist.sample(1000, gen(8))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


@pytest.mark.parametrize("name,params", _all_kinds())
def test_only_the_given_generator_is_consumed(name, params):
    """The global torch RNG is untouched; the generator passed in advances."""
    dist = make_distribution(name, params)
    g = gen(3)
    g_before = g.get_state().clone()
    before = torch.random.get_rng_state().clone()
    dist.sample(500, g)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert not torch.equal(g.get_state(), g_before)
    # and the global seed does not change the result
    with torch.random.fork_rng():
        torch.manual_seed(1)
        a = dist.sample(200, gen(5))
        torch.manual_seed(2)
        b = dist.sample(200, gen(5))
    assert torch.equal(a, b)


@pytest.mark.parametrize("name,params", [("gaussian", None), ("8gaussians", None),
                                         ("mixture", MIXTURE_PARAMS)])
def test_mixture_log_prob_integrates_to_one(name, params):
    mix = make_distribution(name, params).mixture()
    h = 0.025
    axis = torch.arange(-6.5, 6.5 + h / 2, h, dtype=torch.float64)
    xx, yy = torch.meshgrid(axis, axis, indexing="ij")
    grid = torch.stack([xx.reshape(-1), yy.reshape(-1)], 1)
    logp = mix.log_prob(grid)
    assert logp.shape == (grid.shape[0],) and logp.dtype == torch.float64
    mass = float(logp.exp().sum()) * h * h
    assert mass == pytest.approx(1.0, abs=2e-3)


def test_mixture_log_prob_matches_scipy():
    mix = make_distribution("mixture", MIXTURE_PARAMS)
    x = torch.tensor([[0.0, 0.0], [1.0, -1.0], [-2.0, 3.0], [0.3, 2.2]], dtype=torch.float64)
    dens = sum(w * multivariate_normal(m, c).pdf(x.numpy()) for m, c, w in
               zip(MIXTURE_PARAMS["means"], MIXTURE_PARAMS["covs"], MIXTURE_PARAMS["weights"],
                   strict=True))
    np.testing.assert_allclose(mix.log_prob(x).numpy(), np.log(dens), rtol=1e-10)


def test_mixture_samples_have_the_mixture_moments():
    mix = make_distribution("mixture", MIXTURE_PARAMS)
    x = mix.sample(80_000, gen(0)).double()
    w = torch.tensor(MIXTURE_PARAMS["weights"], dtype=torch.float64)
    mu = torch.tensor(MIXTURE_PARAMS["means"], dtype=torch.float64)
    cov = torch.tensor(MIXTURE_PARAMS["covs"], dtype=torch.float64)
    mean = (w[:, None] * mu).sum(0)
    second = (w[:, None, None] * (cov + mu[:, :, None] * mu[:, None, :])).sum(0)
    torch.testing.assert_close(x.mean(0), mean, atol=0.02, rtol=0)
    torch.testing.assert_close(torch.cov(x.T), second - torch.outer(mean, mean), atol=0.03, rtol=0)


def test_mixture_build_normalises_weights_and_uses_stds():
    mix = GaussianMixture.build([[0, 0], [1, 1]], stds=[0.5, 2.0], weights=[1, 3])
    torch.testing.assert_close(mix.weights, torch.tensor([0.25, 0.75], dtype=torch.float64))
    torch.testing.assert_close(mix.covs[1], 4.0 * torch.eye(2, dtype=torch.float64))
    assert make_distribution("gaussian").mixture().means.shape == (1, 2)


def test_mixture_is_itself_and_presets_are_not_mixtures():
    mix = make_distribution("8gaussians")
    assert mix.mixture() is mix
    assert mix.mixture().means.shape == (8, 2)
    radii = mix.means.norm(dim=1)
    torch.testing.assert_close(radii, torch.full((8,), float(radii[0]), dtype=torch.float64))
    for name in NAMES:
        dist = make_distribution(name)
        if name in ("gaussian", "8gaussians"):
            assert isinstance(dist.mixture(), GaussianMixture)
        else:
            assert dist.mixture() is None, name


def test_point_cloud_without_bandwidth_resamples_the_points():
    cloud = PointCloud(CLOUD_POINTS, bandwidth=0.0)
    x = cloud.sample(4000, gen(0))
    pts = torch.tensor(CLOUD_POINTS)
    d = torch.cdist(x, pts).min(dim=1).values
    assert (d == 0).all()
    counts = torch.bincount(torch.cdist(x, pts).argmin(dim=1), minlength=4).float()
    torch.testing.assert_close(counts / 4000, torch.full((4,), 0.25), atol=0.03, rtol=0)


def test_point_cloud_bandwidth_is_the_noise_std():
    cloud = make_distribution("cloud", {"points": CLOUD_POINTS, "bandwidth": 0.1})
    x = cloud.sample(20_000, gen(1))
    pts = torch.tensor(CLOUD_POINTS)
    nearest = pts[torch.cdist(x, pts).argmin(dim=1)]
    assert float((x - nearest).std()) == pytest.approx(0.1, rel=0.05)


def test_point_cloud_mixture():
    cloud = PointCloud(CLOUD_POINTS, bandwidth=0.2)
    mix = cloud.mixture()
    assert isinstance(mix, GaussianMixture)
    torch.testing.assert_close(mix.means, torch.tensor(CLOUD_POINTS, dtype=torch.float64))
    torch.testing.assert_close(mix.covs, 0.04 * torch.eye(2, dtype=torch.float64).expand(4, 2, 2))
    torch.testing.assert_close(mix.weights, torch.full((4,), 0.25, dtype=torch.float64))


@pytest.mark.parametrize("call", [
    lambda: PointCloud([]),
    lambda: PointCloud([[0.0, float("nan")]]),
    lambda: PointCloud([[0.0, 0.0]], bandwidth=-1.0),
    lambda: make_distribution("cloud", {}),
    lambda: GaussianMixture.build([]),
    lambda: GaussianMixture.build([[0, 0], [1, 1]], weights=[-1, 2]),
    lambda: GaussianMixture.build([[0, 0]], covs=[[[1.0, 0.0], [0.0, -1.0]]]),
    lambda: GaussianMixture.build([[0, float("inf")]]),
], ids=["empty-cloud", "nan-cloud", "negative-bandwidth", "cloud-without-points", "empty-mixture",
        "negative-weight", "not-psd", "infinite-mean"])
def test_bad_parameters_raise(call):
    with pytest.raises(ValueError):
        call()


def test_unknown_name_lists_every_name():
    with pytest.raises(ValueError) as exc:
        make_distribution("no-such-distribution")
    msg = str(exc.value)
    assert "no-such-distribution" in msg
    for name in NAMES:
        assert name in msg
    assert "mixture" in msg and "cloud" in msg
