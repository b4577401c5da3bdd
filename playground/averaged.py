"""Averaged regression targets: variance reduction of the drift (and denoiser) target.

The drift loss regresses b̂(t, x_t) on ẋ_t = α̇ x0 + β̇ x1 + γ̇ z, whose spread given x_t is
large (at t near 0 it is nearly the whole spread of x1): that spread is the noise of every
gradient step. When one side of the interpolant is a known Gaussian mixture and the pairs are
independent, a lower-variance target with (almost) the same regression minimiser is the
conditional expectation of ẋ_t given x_t *and the other side's samples in the batch*
(Xu et al., "Stable target field for reduced variance score estimation", ICLR 2023):

    with the base ρ0 = Σ_i p_i N(μ_i, A_i) known and the target atoms x1_j of a block of the batch
    that holds the point's own x1,
    x_t | (i, j) ~ N(m_ij, C_i),  m_ij = α μ_i + β x1_j,  C_i = α² A_i + γ² I,  ½Ċ_i = αα̇ A_i + γγ̇ I
    target(x) = Σ_ij w_ij [α̇ μ_i + β̇ x1_j + ½Ċ_i C_i⁻¹ (x − m_ij)],   w_ij ∝ p_i N(x; m_ij, C_i)

(MATH.md's exact mixture field with the target replaced by the block's atoms; the roles swap
when the target is the known mixture.) The denoiser's targets come from the same weights:
E[z | ·] = γ C_i⁻¹ (x − m_ij), E[x0 | ·] = μ_i + α A_i C_i⁻¹ (x − m_ij). At t = 0 (linear,
γ = 0) the drift target is the block's mean of x1 minus x: the variance of x1 is gone; near t = 1
the point's own atom carries all the weight and the target is ẋ_t itself. The estimate is
self-normalised, so it carries a bias of order 1/block (the cited paper's analysis); bench/study.py
measures the net effect on sample quality at a fixed time budget.

Cost: the log-weights of a block are one matrix product (the quadratic form in x1_j expands into
features [x1_j, |x1_j|², 1], with the atoms centred on their block's mean to keep the terms small),
then a softmax over K × block entries per point: about a quarter of a 256-point step at the
defaults (bench/study.py prices it in steps). Points whose C_i is nearly singular (α and γ both
near 0, where float32 loses the weights) keep the plain target ẋ_t, which is unbiased: the choice
per point changes the variance, not the minimiser.
"""

from __future__ import annotations

import torch

from playground.distributions import Distribution, GaussianMixture
from playground.schedules import ScheduleOutput

Tensor = torch.Tensor
MIN_VARIANCE = 1e-4
"""Points where some C_i has an eigenvalue below this keep the plain target (float32 inverses)."""
PAIR_BUDGET = 256
"""Components × atoms averaged over for each point: the block of atoms is PAIR_BUDGET // K."""


class KnownSide:
    """One side of the interpolant given as a Gaussian mixture, in float32 tensors on a device."""

    def __init__(self, mixture: GaussianMixture, side: str, device: torch.device | str = "cpu"):
        self.side = side  # "base" (x0 known) or "target" (x1 known)
        keep = mixture.weights > 0
        covs = mixture.covs[keep].to(torch.float32)
        self.means = mixture.means[keep].to(torch.float32).to(device)  # (K, 2)
        self.a00 = covs[:, 0, 0].to(device)
        self.a01 = (0.5 * (covs[:, 0, 1] + covs[:, 1, 0])).to(device)
        self.a11 = covs[:, 1, 1].to(device)
        self.log_weights = torch.log(mixture.weights[keep]).to(torch.float32).to(device)
        self.isotropic = bool(torch.all(self.a01 == 0) and torch.all(self.a00 == self.a11))
        self.var = self.a00  # σ_i² when isotropic
        self._blocks: dict[tuple[int, int], int] = {}

    @property
    def components(self) -> int:
        return int(self.means.shape[0])

    def block(self, batch: int, budget: int = PAIR_BUDGET) -> int:
        """Atoms per block: the largest divisor of `batch` with components × atoms ≤ budget."""
        key = (batch, budget)
        if key not in self._blocks:
            self._blocks[key] = max(m for m in range(1, batch + 1)
                                    if batch % m == 0 and (m == 1 or m * self.components <= budget))
        return self._blocks[key]


def known_side(base: Distribution, target: Distribution, coupling: str,
               device: torch.device | str = "cpu", max_components: int = 64) -> KnownSide | None:
    """The side to average against, or None when averaging does not apply: dependent pairs
    (a coupling other than independent), or neither side a mixture of at most `max_components`
    components. With both sides mixtures, the one with fewer components is known."""
    if coupling != "independent":
        return None
    options = []
    for side, dist in (("base", base), ("target", target)):
        mix = dist.mixture()
        if mix is not None and 0 < int((mix.weights > 0).sum()) <= max_components:
            options.append((int((mix.weights > 0).sum()), side, mix))
    if not options:
        return None
    _, side, mix = min(options, key=lambda o: o[0])
    return KnownSide(mix, side, device)


def averaged_targets(known: KnownSide, c: ScheduleOutput, x0: Tensor, x1: Tensor, noise: Tensor,
                     denoiser: str = "none", budget: int | None = None) -> tuple[Tensor, Tensor | None, Tensor]:
    """(drift target (n, 2), denoiser target (n, 2) or None, usable (n,) bool) for the points
    x_t = α x0 + β x1 + noise (noise = ±γ z, the interpolant's noise term) at coefficients `c`.

    Points are split into blocks of consecutive rows; each point averages over the atoms of its
    own block (which hold its own atom once). `denoiser`: "z" (E[z | ·]), "x0" (E[x0 | ·]) or
    "none". Falls back to the plain targets per point where C_i is nearly singular."""
    n = x0.shape[0]
    if known.side == "base":
        ka, kda, oa, oda, atoms, own_known = c.alpha, c.d_alpha, c.beta, c.d_beta, x1, x0
    else:
        ka, kda, oa, oda, atoms, own_known = c.beta, c.d_beta, c.alpha, c.d_alpha, x0, x1
    g2, ggd = c.gamma.square(), c.gamma_d_gamma
    m = known.block(n, PAIR_BUDGET if budget is None else budget)
    blocks = n // m
    if known.isotropic and known.components == 1:
        return _single(known, ka, kda, oa, oda, c.gamma, g2, ggd, atoms, own_known, noise, denoiser, m)
    if known.isotropic:
        return _isotropic(known, ka, kda, oa, oda, c.gamma, g2, ggd, atoms, own_known, noise, denoiser, m)
    # C_i = k² A_i + γ² I and ½Ċ_i = k k̇ A_i + γγ̇ I per point and component: (n, K)
    k2, kkd = (ka * ka)[:, None], (ka * kda)[:, None]
    c00 = k2 * known.a00 + g2[:, None]
    c01 = k2 * known.a01
    c11 = k2 * known.a11 + g2[:, None]
    det = c00 * c11 - c01 * c01
    # smallest eigenvalue of C_i, per point: the points below MIN_VARIANCE keep the plain target
    half_tr = 0.5 * (c00 + c11)
    lam_min = half_tr - torch.sqrt((0.5 * (c00 - c11)).square() + c01 * c01)
    ok = (lam_min >= MIN_VARIANCE).all(dim=1)  # (n,)
    safe_det = torch.where(ok[:, None], det, torch.ones_like(det))
    i00, i01, i11 = c11 / safe_det, -c01 / safe_det, c00 / safe_det  # C_i⁻¹
    # The log-weights are one matrix product per block: with atoms centred on their block's mean,
    # y_nij = s_ni − o a_j where s_ni = k (x_own − μ_i) + noise + o a_own, and
    # −½ y C⁻¹ y = −½ s C⁻¹ s + o (C⁻¹ s)·a_j − ½ o² a_j C⁻¹ a_j (features of a_j: a, a², 1)
    ab = atoms.reshape(blocks, m, 2)
    center = ab.mean(1, keepdim=True)
    ac = (ab - center).reshape(n, 2)
    o = oa[:, None]
    s = (ka[:, None, None] * (own_known[:, None, :] - known.means[None]) + noise[:, None, :]
         + (o * ac)[:, None, :])  # (n, K, 2)
    u0 = i00 * s[..., 0] + i01 * s[..., 1]
    u1 = i01 * s[..., 0] + i11 * s[..., 1]
    o2 = o * o
    feats = torch.stack([o * u0, o * u1, -0.5 * o2 * i00, -o2 * i01, -0.5 * o2 * i11,
                         known.log_weights - 0.5 * torch.log(safe_det) - 0.5 * (s[..., 0] * u0 + s[..., 1] * u1)],
                        dim=-1)  # (n, K, 6)
    basis = torch.stack([ac[:, 0], ac[:, 1], ac[:, 0].square(), ac[:, 0] * ac[:, 1], ac[:, 1].square(),
                         torch.ones_like(ac[:, 0])], dim=1)  # (n, 6)
    kk = known.components
    logits = torch.bmm(feats.reshape(blocks, m * kk, 6), basis.reshape(blocks, m, 6).transpose(1, 2))
    w = torch.softmax(logits.reshape(n, kk * m), dim=1).reshape(blocks, m * kk, m)
    a_w = torch.bmm(w, ac.reshape(blocks, m, 2)).reshape(n, kk, 2)  # Σ_j w_ij a_j (centred)
    wk = w.sum(-1).reshape(n, kk)  # Σ_j w_ij
    ybar = wk[..., None] * s - o[:, :, None] * a_w  # Σ_j w_ij y_ij, (n, K, 2)
    atom_bar = a_w.sum(1) + center.expand(blocks, m, 2).reshape(n, 2)  # Σ_ij w_ij a_j
    mean_bar = wk @ known.means  # Σ_ij w_ij μ_i
    # C_i⁻¹ ȳ_i and A_i C_i⁻¹ ȳ_i
    u0 = i00 * ybar[..., 0] + i01 * ybar[..., 1]
    u1 = i01 * ybar[..., 0] + i11 * ybar[..., 1]
    au0 = known.a00 * u0 + known.a01 * u1
    au1 = known.a01 * u0 + known.a11 * u1
    # ½Ċ_i C_i⁻¹ ȳ_i = k k̇ A_i C_i⁻¹ ȳ_i + γγ̇ C_i⁻¹ ȳ_i
    h0 = (kkd * au0 + ggd[:, None] * u0).sum(1)
    h1 = (kkd * au1 + ggd[:, None] * u1).sum(1)
    drift = kda[:, None] * mean_bar + oda[:, None] * atom_bar + torch.stack([h0, h1], dim=1)
    eta = None
    if denoiser == "z":
        eta = c.gamma[:, None] * torch.stack([u0.sum(1), u1.sum(1)], dim=1)
    elif denoiser == "x0":  # E[x0 | ·]: the known base's posterior mean, or the base atoms' average
        eta = (mean_bar + ka[:, None] * torch.stack([au0.sum(1), au1.sum(1)], dim=1)
               if known.side == "base" else atom_bar)
    return drift, eta, ok


def _isotropic(known: KnownSide, ka, kda, oa, oda, gamma, g2, ggd, atoms, own_known, noise, denoiser: str,
               m: int) -> tuple[Tensor, Tensor | None, Tensor]:
    """`averaged_targets` for components A_i = σ_i² I: C_i = c_i I with c_i = k² σ_i² + γ²."""
    n, kk = atoms.shape[0], known.components
    blocks = n // m
    cvar = (ka * ka)[:, None] * known.var + g2[:, None]  # (n, K)
    ok = cvar.amin(1) >= MIN_VARIANCE
    inv = 1.0 / cvar.clamp_min(MIN_VARIANCE)
    ab = atoms.reshape(blocks, m, 2)
    center = ab.mean(1, keepdim=True)
    ac = (ab - center).reshape(n, 2)
    o = oa[:, None]
    # s_ni = x_t − o·centre − k μ_i: y_nij = s_ni − o a_j
    s = (ka[:, None] * own_known + noise + o * ac)[:, None, :] - ka[:, None, None] * known.means  # (n, K, 2)
    oinv = o * inv  # (n, K)
    const = known.log_weights - torch.log(cvar.clamp_min(MIN_VARIANCE)) - 0.5 * inv * s.square().sum(-1)
    lhs = torch.stack([oinv * s[..., 0], oinv * s[..., 1], -0.5 * o * oinv, const], dim=-1)  # (n, K, 4)
    rhs = torch.cat([ac, ac.square().sum(1, keepdim=True), torch.ones_like(ac[:, :1])], dim=1)  # (n, 4)
    logits = torch.bmm(lhs.reshape(blocks, m * kk, 4), rhs.reshape(blocks, m, 4).transpose(1, 2))
    w = torch.softmax(logits.reshape(n, kk * m), dim=1).reshape(blocks, m * kk, m)
    # Σ_j w_ij a_j as (2 × m)·(m × mK): a product with 2 output columns is slow the other way round
    a_w = torch.bmm(ac.reshape(blocks, m, 2).transpose(1, 2), w.transpose(1, 2)).transpose(1, 2).reshape(n, kk, 2)
    wk = w.sum(-1).reshape(n, kk)
    ybar = wk[..., None] * s - o[:, :, None] * a_w  # Σ_j w_ij y_ij
    v = inv[..., None] * ybar  # C_i⁻¹ ȳ_i
    atom_bar = a_w.sum(1) + center.expand(blocks, m, 2).reshape(n, 2)
    mean_bar = wk @ known.means
    h = (ka * kda)[:, None] * known.var + ggd[:, None]  # ½Ċ_i / I
    drift = kda[:, None] * mean_bar + oda[:, None] * atom_bar + (h[..., None] * v).sum(1)
    eta = None
    if denoiser == "z":
        eta = gamma[:, None] * v.sum(1)
    elif denoiser == "x0":
        eta = (mean_bar + ka[:, None] * (known.var[:, None] * v).sum(1)) if known.side == "base" else atom_bar
    return drift, eta, ok


def _single(known: KnownSide, ka, kda, oa, oda, gamma, g2, ggd, atoms, own_known, noise, denoiser: str,
            m: int) -> tuple[Tensor, Tensor | None, Tensor]:
    """`_isotropic` for one component N(μ, σ² I) (a Gaussian base): fewer, smaller operations (the
    per-point constants drop out of the softmax and every weight sum is 1)."""
    n = atoms.shape[0]
    blocks = n // m
    var, mu = known.var[0], known.means[0]
    cvar = ka * ka * var + g2
    ok = cvar >= MIN_VARIANCE
    inv = 1.0 / cvar.clamp_min(MIN_VARIANCE)
    ab = atoms.reshape(blocks, m, 2)
    center = ab.mean(1, keepdim=True)
    ac = (ab - center).reshape(n, 2)
    o = oa[:, None]
    s = ka[:, None] * (own_known - mu) + noise + o * ac  # y_nj = s_n − o a_j
    oinv = (oa * inv)[:, None]
    lhs = torch.cat([oinv * s, -0.5 * o * oinv], dim=1)  # (n, 3)
    rhs = torch.cat([ac, ac.square().sum(1, keepdim=True)], dim=1)  # (n, 3)
    w = torch.softmax(torch.bmm(lhs.reshape(blocks, m, 3), rhs.reshape(blocks, m, 3).transpose(1, 2)), dim=-1)
    a_w = torch.bmm(ac.reshape(blocks, m, 2).transpose(1, 2), w.transpose(1, 2)).transpose(1, 2).reshape(n, 2)
    v = inv[:, None] * (s - o * a_w)  # C⁻¹ ȳ
    atom_bar = a_w + center.expand(blocks, m, 2).reshape(n, 2)
    drift = kda[:, None] * mu + oda[:, None] * atom_bar + (ka * kda * var + ggd)[:, None] * v
    eta = None
    if denoiser == "z":
        eta = gamma[:, None] * v
    elif denoiser == "x0":
        eta = mu + ka[:, None] * var * v if known.side == "base" else atom_bar
    return drift, eta, ok
