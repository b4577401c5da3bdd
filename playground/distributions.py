"""2D distributions: presets, Gaussian mixtures and point clouds, all in one coordinate box.

Every distribution has one signature, `sample(n, generator) -> (n, 2) float32` on the CPU, drawn
only from the explicit `torch.Generator` it is given. Points live in the box [-BOX, BOX]².
Gaussian mixtures (and point clouds, which are mixtures of equal bumps) expose their parameters
through `mixture()`, so the exact field of `playground.exact` can be computed for them.

`DISTRIBUTIONS` maps registry names to factories; `make_distribution(name, params)` builds one,
including the parametric kinds `mixture` (means/covs/weights), `cloud` (points + bandwidth) and
`file:PATH` (an image, CSV or .npy file turned into a point cloud by `playground.userdata`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

Tensor = torch.Tensor
BOX = 4.0
LOG_2PI = math.log(2 * math.pi)


class Distribution:
    """A 2D distribution. Subclasses implement `sample`; mixtures also `mixture()`."""

    name = "?"
    label = "?"

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        """n samples, (n, 2) float32 on the CPU, drawn from `generator` only."""
        raise NotImplementedError  # pragma: no cover

    def mixture(self) -> GaussianMixture | None:
        """This distribution as a Gaussian mixture, or None when it is not one."""
        return None


def _randn(n: int, g: torch.Generator, d: int = 2) -> Tensor:
    return torch.randn(n, d, generator=g)


def _rand(n: int, g: torch.Generator, d: int = 1) -> Tensor:
    return torch.rand(n, d, generator=g)


@dataclass(frozen=True)
class GaussianMixture(Distribution):
    """Σ_k w_k N(μ_k, Σ_k): means (k, 2), covs (k, 2, 2) positive semi-definite, weights (k,)."""

    means: Tensor
    covs: Tensor
    weights: Tensor
    name: str = "mixture"
    label: str = "Gaussian mixture"

    @staticmethod
    def build(means, covs=None, weights=None, stds=None, name="mixture", label="Gaussian mixture"):
        """Validate and build from array-likes. `stds` (k,) gives isotropic covariances."""
        m = torch.as_tensor(np.asarray(means, dtype=np.float64)).reshape(-1, 2)
        k = m.shape[0]
        if k == 0:
            raise ValueError("a mixture needs at least one component")
        if covs is None:
            s = torch.ones(k, dtype=torch.float64) if stds is None else torch.as_tensor(
                np.asarray(stds, dtype=np.float64)).reshape(-1).expand(k)
            if not torch.isfinite(s).all() or (s < 0).any():
                raise ValueError("mixture standard deviations must be finite and >= 0")
            c = (s**2)[:, None, None] * torch.eye(2, dtype=torch.float64)
        else:
            c = torch.as_tensor(np.asarray(covs, dtype=np.float64)).reshape(k, 2, 2)
        w = torch.full((k,), 1.0 / k, dtype=torch.float64) if weights is None else torch.as_tensor(
            np.asarray(weights, dtype=np.float64)).reshape(k)
        if not (torch.isfinite(m).all() and torch.isfinite(c).all() and torch.isfinite(w).all()):
            raise ValueError("mixture parameters must be finite")
        if (w < 0).any() or w.sum() <= 0:
            raise ValueError("mixture weights must be >= 0 and not all zero")
        if not torch.allclose(c, c.transpose(1, 2)) or (torch.linalg.eigvalsh(c) < -1e-12).any():
            raise ValueError("mixture covariances must be symmetric positive semi-definite")
        return GaussianMixture(m, c, w / w.sum(), name, label)

    def __post_init__(self):
        # Cholesky factors (k, 2, 2) cached once, in float32 for fast sampling
        jitter = 1e-12 * torch.eye(2, dtype=torch.float64)
        object.__setattr__(self, "_chol", torch.linalg.cholesky(self.covs + jitter).float())
        object.__setattr__(self, "_means32", self.means.float())

    def sample(self, n, generator):
        eps = torch.randn(n, 2, generator=generator)
        if self.means.shape[0] == 1:
            return self._means32[0] + eps @ self._chol[0].T
        idx = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        return self._means32[idx] + (self._chol[idx] @ eps[:, :, None])[:, :, 0]

    def mixture(self):
        return self

    def log_prob(self, x: Tensor) -> Tensor:
        """log density at x (n, 2) -> (n,), in float64 (needs non-singular covariances)."""
        x = x.to(torch.float64)
        d = x[:, None, :] - self.means[None]  # (n, k, 2)
        prec = torch.linalg.inv(self.covs)
        maha = torch.einsum("nki,kij,nkj->nk", d, prec, d)
        logdet = torch.logdet(self.covs)
        comp = -0.5 * (maha + logdet + 2 * LOG_2PI) + torch.log(self.weights)
        return torch.logsumexp(comp, dim=1)


class PointCloud(Distribution):
    """Resample given points (m, 2) and add isotropic Gaussian noise of std `bandwidth`.

    It is the mixture (1/m) Σ N(p_i, bandwidth² I); with bandwidth 0 an empirical measure.
    """

    name = "cloud"
    label = "point cloud"

    def __init__(self, points, bandwidth: float = 0.05, label: str | None = None):
        p = torch.as_tensor(np.asarray(points, dtype=np.float32)).reshape(-1, 2)
        if p.shape[0] == 0:
            raise ValueError("a point cloud needs at least one point")
        if not torch.isfinite(p).all():
            raise ValueError("point cloud coordinates must be finite")
        if not (math.isfinite(bandwidth) and bandwidth >= 0):
            raise ValueError(f"bandwidth must be a finite number >= 0, got {bandwidth}")
        self.points = p
        self.bandwidth = float(bandwidth)
        if label:
            self.label = label

    def sample(self, n, generator):
        idx = torch.randint(0, self.points.shape[0], (n,), generator=generator)
        x = self.points[idx]
        if self.bandwidth > 0:
            x = x + self.bandwidth * _randn(n, generator)
        return x

    def mixture(self):
        k = self.points.shape[0]
        return GaussianMixture.build(self.points.double(), stds=[self.bandwidth] * k,
                                     name=self.name, label=self.label)


class Sampler(Distribution):
    """A preset defined by a sampling function `fn(n, generator) -> (n, 2)`."""

    def __init__(self, name: str, label: str, fn: Callable[[int, torch.Generator], Tensor]):
        self.name, self.label, self._fn = name, label, fn

    def sample(self, n, generator):
        return self._fn(n, generator).float()


# ----------------------------------------------------------------------------- presets


def _moons(n, g):
    theta = math.pi * _rand(n, g)[:, 0]
    up = _rand(n, g)[:, 0] < 0.5
    x = torch.where(up, torch.cos(theta), 1 - torch.cos(theta))
    y = torch.where(up, torch.sin(theta), 0.5 - torch.sin(theta))
    return torch.stack([x - 0.5, y - 0.25], 1) * 1.6 + 0.1 * _randn(n, g)


def _circles(n, g):
    theta = 2 * math.pi * _rand(n, g)[:, 0]
    r = torch.where(_rand(n, g)[:, 0] < 0.5, 1.25, 2.5)
    return torch.stack([r * torch.cos(theta), r * torch.sin(theta)], 1) + 0.08 * _randn(n, g)


def _checkerboard(n, g):
    x1 = 4 * _rand(n, g)[:, 0] - 2
    x2 = _rand(n, g)[:, 0] - 2 * torch.randint(0, 2, (n,), generator=g).float()
    x2 = x2 + torch.floor(x1) % 2
    return 1.5 * torch.stack([x1, x2], 1)


def _spiral(n, g):
    s = torch.sqrt(_rand(n, g)[:, 0]) * 3 * math.pi
    pts = torch.stack([-torch.cos(s) * s, torch.sin(s) * s], 1) / 3.2
    return pts + 0.08 * _randn(n, g)


def _swissroll(n, g):
    s = 1.5 * math.pi * (1 + 2 * _rand(n, g)[:, 0])
    pts = torch.stack([s * torch.cos(s), s * torch.sin(s)], 1) / 5.0
    return pts + 0.08 * _randn(n, g)


def _pinwheel(n, g, arms=5, radial_std=0.3, tangential_std=0.1, rate=0.25):
    labels = torch.randint(0, arms, (n,), generator=g)
    feats = _randn(n, g) * torch.tensor([radial_std, tangential_std])
    feats[:, 0] += 1.0
    angles = 2 * math.pi * labels / arms + rate * torch.exp(feats[:, 0])
    c, s = torch.cos(angles), torch.sin(angles)
    x = c * feats[:, 0] - s * feats[:, 1]
    y = s * feats[:, 0] + c * feats[:, 1]
    return 1.8 * torch.stack([x, y], 1)


def _rings(n, g, radii=(0.75, 1.5, 2.25, 3.0)):
    r = torch.tensor(radii)
    idx = torch.multinomial(r / r.sum(), n, replacement=True, generator=g)
    theta = 2 * math.pi * _rand(n, g)[:, 0]
    rr = r[idx]
    return torch.stack([rr * torch.cos(theta), rr * torch.sin(theta)], 1) + 0.06 * _randn(n, g)


def _uniform(n, g):
    return 5 * _rand(n, g, 2) - 2.5


def _eight_gaussians(radius: float = 2.5, std: float = 0.2) -> GaussianMixture:
    ang = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)
    means = radius * torch.stack([torch.cos(ang), torch.sin(ang)], 1)
    return GaussianMixture.build(means, stds=[std] * 8, name="8gaussians", label="8 Gaussians")


DISTRIBUTIONS: dict[str, Callable[[], Distribution]] = {
    "gaussian": lambda: GaussianMixture.build([[0.0, 0.0]], stds=[1.0], name="gaussian",
                                              label="standard Gaussian"),
    "8gaussians": _eight_gaussians,
    "moons": lambda: Sampler("moons", "two moons", _moons),
    "circles": lambda: Sampler("circles", "concentric circles", _circles),
    "checkerboard": lambda: Sampler("checkerboard", "checkerboard", _checkerboard),
    "spiral": lambda: Sampler("spiral", "spiral", _spiral),
    "swissroll": lambda: Sampler("swissroll", "swiss roll", _swissroll),
    "pinwheel": lambda: Sampler("pinwheel", "pinwheel", _pinwheel),
    "rings": lambda: Sampler("rings", "rings", _rings),
    "uniform": lambda: Sampler("uniform", "uniform square", _uniform),
}
"""Preset distributions by registry name (the CLI, the UI and the URL use these names)."""

PARAMETRIC = ("mixture", "cloud")
"""Kinds built from parameters: `mixture` {means, covs|stds, weights}, `cloud` {points, bandwidth}."""


def make_distribution(name: str, params: dict | None = None) -> Distribution:
    """Build a distribution from a registry name, a parametric kind, or `file:PATH`.

    Raises ValueError with a readable message for unknown names or bad parameters
    (`playground.userdata.InputError`, a ValueError, for bad files).
    """
    params = params or {}
    if name in DISTRIBUTIONS:
        return DISTRIBUTIONS[name]()
    if name == "mixture":
        return GaussianMixture.build(params.get("means"), params.get("covs"), params.get("weights"),
                                     params.get("stds"), label=params.get("label", "Gaussian mixture"))
    if name == "cloud":
        if "points" not in params:
            raise ValueError("a 'cloud' distribution needs a 'points' list")
        return PointCloud(params["points"], float(params.get("bandwidth", 0.05)),
                          label=params.get("label"))
    if name.startswith("file:"):
        from playground.userdata import load_points_file

        result = load_points_file(name[5:])
        return PointCloud(result.points, float(params.get("bandwidth", 0.05)), label=name[5:])
    raise ValueError(f"unknown distribution {name!r}; choose one of "
                     f"{', '.join(DISTRIBUTIONS)}, or mixture, cloud, file:PATH")
