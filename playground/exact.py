"""Exact fields of the stochastic interpolant between two Gaussian mixtures (the test oracle).

With ρ0 = Σ_i p_i N(μ_i, A_i), ρ1 = Σ_j q_j N(ν_j, B_j) coupled independently (MATH.md,
"Exact fields for Gaussian mixtures"), x_t | (i, j) ~ N(m_ij, C_ij) with

    m_ij = α μ_i + β ν_j,   C_ij = α² A_i + β² B_j + γ² I,   ½ Ċ_ij = αα̇ A_i + ββ̇ B_j + γγ̇ I
    b(t, x) = Σ w_ij [ṁ_ij + ½ Ċ_ij C_ij⁻¹ (x − m_ij)],   s(t, x) = Σ w_ij [−C_ij⁻¹ (x − m_ij)]
    w_ij ∝ p_i q_j N(x; m_ij, C_ij)   (computed in log space)

Conventions: η(t, x) = E[z | x_t = x] = −γ s; v(t, x) = E[∂_t I | x_t = x] = b + γγ̇ s.
γγ̇ always comes from the schedule's `gamma_d_gamma` (finite where γ̇ is not).

Singular covariances (a point cloud with bandwidth 0 at t = 0 or 1 with γ = 0, or α = β = γ = 0):
`JITTER`·I (1e-12, a standard deviation of 1e-6, far below any scale of the [-4, 4]² box) is
added to every C_ij, so every output is finite; on non-singular C the relative change is ~1e-12.
Where C is (nearly) singular the score is huge (~|x − m|/jitter) but finite; the drift stays
bounded when Ċ vanishes with C, as it does at the ends of every schedule.

Evaluation is done in float64 and cast back to x's dtype. 2x2 inverses and determinants are in
closed form; work is chunked over points so that one (points × components) array holds at most
`chunk_elements` entries (point clouds can have thousands of components).

Shapes: t is a python float, a 0-dim tensor, or (n,) (a single value broadcasts to all points);
x is (n, 2); vector fields are (n, 2), scalar fields (n,).
"""

from __future__ import annotations

import math

import torch

from playground.distributions import Distribution, GaussianMixture

Tensor = torch.Tensor
F64 = torch.float64
LOG_2PI = math.log(2 * math.pi)
JITTER = 1e-12
EXP_FLOOR = -80.0  # exponents below this are clamped before exp (docs/PERF.md: denormals)


def _sym(covs: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """(k, 2, 2) symmetric matrices -> their (0,0), (0,1), (1,1) entries, each (k,)."""
    covs = covs.to(F64)
    return covs[:, 0, 0], 0.5 * (covs[:, 0, 1] + covs[:, 1, 0]), covs[:, 1, 1]


class ExactField:
    """Exact drift, score, denoiser, velocity and log-density for mixture base and target.

    `base` and `target` are GaussianMixture objects; `schedule(t) -> ScheduleOutput`.
    Calling the field, `field(t, x)`, returns the drift b(t, x), like a learned model.
    """

    def __init__(self, base: GaussianMixture, target: GaussianMixture, schedule,
                 jitter: float = JITTER, chunk_elements: int = 1_000_000):
        self.base, self.target, self.schedule = base, target, schedule
        self.jitter = float(jitter)
        self.chunk_elements = int(chunk_elements)
        keep0, keep1 = base.weights > 0, target.weights > 0  # drop zero-weight components
        mu, nu = base.means.to(F64)[keep0], target.means.to(F64)[keep1]
        a, b = _sym(base.covs[keep0]), _sym(target.covs[keep1])
        k0, k1 = mu.shape[0], nu.shape[0]
        self.k0, self.k1, self.n_components = k0, k1, k0 * k1
        # flattened over pairs (i, j) -> i * k1 + j, each (1, K) to broadcast over points

        def rep0(v: Tensor) -> Tensor:
            return v.repeat_interleave(k1)[None]

        def rep1(v: Tensor) -> Tensor:
            return v.repeat(k0)[None]

        self._mu = [rep0(mu[:, 0]), rep0(mu[:, 1])]
        self._nu = [rep1(nu[:, 0]), rep1(nu[:, 1])]
        self._A = [rep0(v) for v in a]
        self._B = [rep1(v) for v in b]
        logp = base.weights.to(F64)[keep0].log()
        logq = target.weights.to(F64)[keep1].log()
        self._logw = (logp[:, None] + logq[None, :]).reshape(1, -1)

    @classmethod
    def from_distributions(cls, base_dist: Distribution, target_dist: Distribution, schedule,
                           **kwargs) -> ExactField:
        """Build from two distributions; ValueError naming the side that is not a mixture."""
        mixtures = []
        for side, dist in (("base", base_dist), ("target", target_dist)):
            m = dist.mixture()
            if m is None:
                raise ValueError(
                    f"the {side} distribution {getattr(dist, 'label', dist)!r} is not a Gaussian "
                    "mixture; the exact field needs mixture base and target (Gaussian mixtures or "
                    "point clouds)")
            mixtures.append(m)
        return cls(mixtures[0], mixtures[1], schedule, **kwargs)

    # ------------------------------------------------------------------ public fields

    def __call__(self, t, x: Tensor) -> Tensor:
        return self.drift(t, x)

    def drift(self, t, x: Tensor) -> Tensor:
        """b(t, x) = E[ẋ_t | x_t = x], (n, 2)."""
        return self._eval(t, x, ("drift",))["drift"]

    def score(self, t, x: Tensor) -> Tensor:
        """s(t, x) = ∇ log ρ_t(x), (n, 2)."""
        return self._eval(t, x, ("score",))["score"]

    def eta(self, t, x: Tensor) -> Tensor:
        """Denoiser η(t, x) = E[z | x_t = x] = −γ s, (n, 2); zeros where γ = 0."""
        out = self._eval(t, x, ("score",), keep_coefs=True)
        g = out["coefs"].gamma[:, None]
        eta = torch.where(g == 0, torch.zeros_like(out["score64"]), -g * out["score64"])
        return eta.to(x.dtype)

    def velocity(self, t, x: Tensor) -> Tensor:
        """v(t, x) = E[∂_t I | x_t = x] = b + γγ̇ s, (n, 2)."""
        out = self._eval(t, x, ("drift", "score"), keep_coefs=True)
        gdg = out["coefs"].gamma_d_gamma[:, None]
        return (out["drift64"] + gdg * out["score64"]).to(x.dtype)

    def log_density(self, t, x: Tensor) -> Tensor:
        """log ρ_t(x), (n,)."""
        return self._eval(t, x, ("logp",))["logp"]

    def divergence(self, t, x: Tensor) -> Tensor:
        """∇·b(t, x) in closed form, (n,)."""
        return self._eval(t, x, ("div",))["div"]

    def drift_and_score(self, t, x: Tensor) -> tuple[Tensor, Tensor]:
        """(b, s), each (n, 2), from one pass: what the SDE sampler (playground.sde) needs."""
        out = self._eval(t, x, ("drift", "score"))
        return out["drift"], out["score"]

    def drift_and_divergence(self, t, x: Tensor) -> tuple[Tensor, Tensor]:
        """(b (n, 2), ∇·b (n,)) from one pass: what the likelihood ODE (playground.likelihood)
        needs; the divergence is the closed form, no autograd."""
        out = self._eval(t, x, ("drift", "div"))
        return out["drift"], out["div"]

    def fields(self, t, x: Tensor) -> dict[str, Tensor]:
        """All of drift, score, log_density ("logp") and divergence ("div") in one pass."""
        return self._eval(t, x, ("drift", "score", "logp", "div"))

    # ------------------------------------------------------------------ internals

    def _times(self, t, n: int) -> Tensor:
        """t as float64 of shape (1,) (one time for all points) or (n,)."""
        t = torch.as_tensor(t).to(F64).reshape(-1)
        if t.numel() == 1:
            return t
        if t.numel() != n:
            raise ValueError(f"t has {t.numel()} entries but x has {n} points")
        if not t.requires_grad and bool((t == t[0]).all()):
            return t[:1]  # one time: per-component quantities are computed once
        return t

    def _eval(self, t, x: Tensor, want: tuple[str, ...], keep_coefs: bool = False) -> dict:
        if x.ndim != 2 or x.shape[1] != 2:
            raise ValueError(f"x must be (n, 2), got {tuple(x.shape)}")
        n = x.shape[0]
        tt = self._times(t, n)
        c = self.schedule(tt)
        x64 = x.to(F64)
        step = max(1, self.chunk_elements // max(1, self.n_components))
        parts: dict[str, list[Tensor]] = {k: [] for k in want}
        for lo in range(0, n, step):
            sl = slice(lo, min(n, lo + step))
            cs = [getattr(c, k)[sl if tt.numel() > 1 else slice(None)][:, None]
                  for k in ("alpha", "beta", "gamma", "d_alpha", "d_beta", "gamma_d_gamma")]
            for k, v in self._chunk(cs, x64[sl], want).items():
                parts[k].append(v)
        out64 = {k: torch.cat(v) if v else x64.new_zeros((0, 2) if k in ("drift", "score")
                                                         else (0,)) for k, v in parts.items()}
        out = {k: v.to(x.dtype) for k, v in out64.items()}
        if keep_coefs:
            out["coefs"] = type(c)(**{k: v.expand(n) for k, v in c.as_dict().items()})
            out.update({k + "64": v for k, v in out64.items()})
        return out

    def _chunk(self, cs: list[Tensor], x: Tensor, want: tuple[str, ...]) -> dict[str, Tensor]:
        """Fields on one chunk. cs: α, β, γ, α̇, β̇, γγ̇ as (m, 1) or (1, 1); x (m, 2) float64."""
        al, be, ga, dal, dbe, gdg = cs
        (mu0, mu1), (nu0, nu1) = self._mu, self._nu
        (a00, a01, a11), (b00, b01, b11) = self._A, self._B
        al2, be2, ga2 = al * al, be * be, ga * ga + self.jitter
        c00 = al2 * a00 + be2 * b00 + ga2
        c01 = al2 * a01 + be2 * b01
        c11 = al2 * a11 + be2 * b11 + ga2
        det = c00 * c11 - c01 * c01
        dx = x[:, 0:1] - (al * mu0 + be * nu0)  # (m, K)
        dy = x[:, 1:2] - (al * mu1 + be * nu1)
        px = (c11 * dx - c01 * dy) / det  # P = C⁻¹ (x − m)
        py = (c00 * dy - c01 * dx) / det
        logits = self._logw - 0.5 * (dx * px + dy * py + det.log()) - LOG_2PI
        lse = torch.logsumexp(logits, dim=1, keepdim=True)
        out: dict[str, Tensor] = {}
        if "logp" in want:
            out["logp"] = lse[:, 0]
        if not any(k in want for k in ("drift", "score", "div")):
            return out
        w = torch.exp((logits - lse).clamp_min(EXP_FLOOR))  # (m, K), Σ_K w = 1
        sx, sy = -(w * px).sum(1), -(w * py).sum(1)
        if "score" in want:
            out["score"] = torch.stack([sx, sy], 1)
        if "drift" in want or "div" in want:
            aa, bb = al * dal, be * dbe  # ½Ċ = αα̇ A + ββ̇ B + γγ̇ I
            d00, d01, d11 = aa * a00 + bb * b00 + gdg, aa * a01 + bb * b01, aa * a11 + bb * b11 + gdg
            fx = dal * mu0 + dbe * nu0 + d00 * px + d01 * py  # ṁ + ½Ċ C⁻¹ (x − m)
            fy = dal * mu1 + dbe * nu1 + d01 * px + d11 * py
            bx, by = (w * fx).sum(1), (w * fy).sum(1)
            if "drift" in want:
                out["drift"] = torch.stack([bx, by], 1)
            if "div" in want:
                # ∇·b = Σ w [tr(½Ċ C⁻¹) − P·f] − s·b   (∇w_k = w_k (−P_k − s))
                tr = (d00 * c11 - 2 * d01 * c01 + d11 * c00) / det
                out["div"] = (w * (tr - px * fx - py * fy)).sum(1) - (sx * bx + sy * by)
        return out
