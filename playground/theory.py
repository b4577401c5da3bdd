"""Numerical checks behind the Theory page: each claim of the walk-through, tested on an experiment.

The walk-through (MATH.md, seeds/000) makes six claims; each function here checks one of them by
Monte Carlo or autograd against the exact Gaussian-mixture field of `playground.exact`, and
returns a small dataclass of plain floats and lists (safe to cache and to show in a table):

1. `boundary_report`: α(0) = β(1) = 1, α(1) = β(0) = 0, γ(0) = γ(1) = 0, and x_0 = x0, x_1 = x1.
2. `conditional_expectation_check`: b(t, x) = E[ẋ_t | x_t = x], by averaging ẋ_t over a ball.
3. `loss_identity_check`: E|b̂ − ẋ_t|² − E|b̂ − b|² is the same constant E|ẋ_t − b|² for every b̂.
4. `euler_demo`: X_{k+1} = X_k + h b(t_k, X_k) on three particles, and the samples it reaches.
5. `score_check`: s = ∇ log ρ_t = −E[z | x_t]/γ by Monte Carlo (or, with γ = 0 and a Gaussian
   base, the one-sided −E[A⁻¹(x0 − μ) | x_t]/α), and the closed form against autograd.
6. `sde_check`: dX = [b + ε s] dt + √(2ε) dW (`playground.sde.integrate_sde`, Euler–Maruyama)
   reaches ρ1 for every ε ≥ 0.

Every Monte-Carlo figure comes as an `Estimate` (mean and standard error), so a claim is read
as "the two sides agree within a few standard errors" (`playground.handout` turns a result into
the sentence the page and the handout both print). All randomness comes from an explicit
`torch.Generator`. Shapes: points (n, 2), t (n,), fields `(t (n,), x (n, 2)) -> (n, 2)`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch

from playground.config import ExperimentConfig
from playground.distributions import Distribution, GaussianMixture, make_distribution
from playground.exact import ExactField
from playground.interpolants import Interpolant
from playground.metrics import energy_distance, noise_floor
from playground.sampling import Field, integrate
from playground.schedules import BoundaryCheck, Schedule, boundary_checks
from playground.sde import DEFAULT_T0, integrate_sde
from playground.training import T_EPS, build_schedule

Tensor = torch.Tensor
F64 = torch.float64
FALLBACK = ("gaussian", "8gaussians")
"""Base and target used for the exact-field checks when the experiment's are not mixtures."""
MAX_COMPONENTS = 64
"""Largest number of mixture pairs (i, j) the live checks evaluate: the exact field costs time in
proportion to it (a drawing of 256 points against one Gaussian took seconds a check). Larger
mixtures, e.g. drawn point clouds, are thinned to this many pairs (`thin_mixture`)."""


@dataclass(frozen=True)
class Estimate:
    """A Monte-Carlo mean with its standard error (NaN when there were no samples)."""

    mean: float
    se: float

    @staticmethod
    def of(values: Tensor) -> Estimate:
        """Mean and standard error of values (n,)."""
        v = values.to(F64).reshape(-1)
        n = v.numel()
        if n == 0:
            return Estimate(math.nan, math.nan)
        se = float(v.std(unbiased=True) / math.sqrt(n)) if n > 1 else math.inf
        return Estimate(float(v.mean()), se)

    def text(self, digits: int = 4) -> str:
        return f"{self.mean:.{digits}g} ± {self.se:.2g}"


def z_score(diff: Estimate) -> float:
    """|mean| / se: how many standard errors a difference is from 0."""
    if not math.isfinite(diff.mean) or not diff.se > 0:
        return math.nan if not math.isfinite(diff.mean) else (0.0 if diff.mean == 0 else math.inf)
    return abs(diff.mean) / diff.se


def _vec(x: Tensor) -> tuple[float, float]:
    return (float(x[0]), float(x[1]))


def check_generator(seed: int, step: int) -> torch.Generator:
    """The generator of check `step` (1..6) for a seed: each check draws from its own stream, so
    the page (one cached check at a time) and the handout (all at once) print the same numbers."""
    return torch.Generator().manual_seed(int(seed) * 1000 + int(step))


# ----------------------------------------------------------------------------- the setup


@dataclass(frozen=True)
class TheorySetup:
    """The experiment the checks run on: mixture base and target, schedule, exact field.

    `note` says why the experiment's own distributions were replaced (None when they were used).
    """

    base_name: str
    target_name: str
    base: GaussianMixture
    target: GaussianMixture
    schedule: Schedule
    interpolant: Interpolant
    field: ExactField
    note: str | None = None


def thin_mixture(m: GaussianMixture, k: int) -> GaussianMixture:
    """At most k of m's components, evenly spaced in its order, weights renormalised (for a point
    cloud: an even subsample of its points)."""
    n = m.means.shape[0]
    if n <= k:
        return m
    idx = torch.linspace(0, n - 1, k, dtype=F64).round().long()
    return GaussianMixture.build(m.means[idx], m.covs[idx], m.weights[idx], name=m.name, label=m.label)


def theory_setup(cfg: ExperimentConfig | None = None, **changes) -> TheorySetup:
    """The checks' experiment for a config (its schedule, formulas included, and distributions).

    `theory_setup(base="gaussian", target="8gaussians", gamma="brownian")` builds the config from
    keywords. The exact field needs Gaussian-mixture base and target (presets such as gaussian
    and 8gaussians, mixtures, point clouds); otherwise both are replaced by `FALLBACK`
    (gaussian → 8gaussians). Mixtures with more than `MAX_COMPONENTS` pairs are thinned. `note`
    says what was changed. A bad schedule raises ValueError.
    """
    cfg = (cfg or ExperimentConfig()).replace(**changes) if changes else (cfg or ExperimentConfig())
    sched = build_schedule(cfg)
    mixtures, names = [], (cfg.base, cfg.target)
    for name, params in zip(names, (cfg.base_params, cfg.target_params), strict=True):
        try:
            dist = None if name.startswith("file:") else make_distribution(name, params)
        except ValueError:
            dist = None
        mixtures.append(dist.mixture() if dist is not None else None)
    odd = [repr(n) for n, m in zip(names, mixtures, strict=True) if m is None]
    note = None
    if odd:
        note = (f"{' and '.join(odd)} is not a Gaussian mixture, so the exact drift and score are "
                f"not known in closed form: these checks use {FALLBACK[0]} → {FALLBACK[1]} with "
                "your schedule instead.")
        names = FALLBACK
        mixtures = [make_distribution(n).mixture() for n in FALLBACK]
    k0, k1 = (m.means.shape[0] for m in mixtures)
    if k0 * k1 > MAX_COMPONENTS:
        # the smaller side keeps at most √MAX components, the larger side the rest of the budget
        small = 0 if k0 <= k1 else 1
        keep = [0, 0]
        keep[small] = min((k0, k1)[small], math.isqrt(MAX_COMPONENTS))
        keep[1 - small] = MAX_COMPONENTS // keep[small]
        mixtures = [thin_mixture(m, k) for m, k in zip(mixtures, keep, strict=True)]
        note = (f"The exact field is a sum over {k0:,} × {k1:,} Gaussian pairs, too slow for live "
                f"checks: they use {keep[0]:,} × {keep[1]:,} of them (evenly thinned"
                f"{', drawn points' if 'cloud' in (cfg.base, cfg.target) else ''}).")
    b0, b1 = mixtures
    return TheorySetup(names[0], names[1], b0, b1, sched, Interpolant(sched), ExactField(b0, b1, sched),
                       note)


def draw(interpolant: Interpolant, base: Distribution, target: Distribution, t, n: int,
         generator: torch.Generator):
    """n independent samples of the interpolant at t (a float, or (n,)): an InterpolantSample."""
    x0, x1 = base.sample(n, generator), target.sample(n, generator)
    z = torch.randn(n, 2, generator=generator)
    tt = torch.as_tensor(t, dtype=torch.float32).reshape(-1).expand(n).contiguous()
    return interpolant.sample(tt, x0, x1, z)


# ----------------------------------------------------------------------------- 1. boundary


@dataclass(frozen=True)
class BoundaryReport:
    """The six coefficient conditions, and max |x_0 − x0|, max |x_1 − x1| over sampled points."""

    checks: list[BoundaryCheck]
    error_at_0: float
    error_at_1: float
    ok: bool


def boundary_report(schedule: Schedule, base: Distribution | None = None,
                    target: Distribution | None = None, n: int = 1000,
                    generator: torch.Generator | None = None, tol: float = 1e-5) -> BoundaryReport:
    """`schedules.boundary_checks` plus the interpolant itself at t = 0 and 1 on n samples."""
    checks = boundary_checks(schedule)
    base = base or make_distribution(FALLBACK[0])
    target = target or make_distribution(FALLBACK[1])
    g = generator if generator is not None else torch.Generator().manual_seed(0)
    interp = Interpolant(schedule)
    s0 = draw(interp, base, target, 0.0, n, g)
    s1 = interp.sample(torch.ones(n), s0.x0, s0.x1, s0.z)
    e0 = float((s0.xt - s0.x0).abs().max())
    e1 = float((s1.xt - s1.x1).abs().max())
    ok = all(c.ok for c in checks) and e0 <= tol and e1 <= tol
    return BoundaryReport(checks, e0, e1, ok)


def collapse_time(schedule: Schedule, grid: int = 1001, tol: float = 1e-8) -> float | None:
    """An interior t where α = β = γ = 0 (x_t is one point for every sample), or None.

    There the flow cannot be inverted: e.g. the encoder–decoder pair with γ = 0 at t = ½.
    """
    t = torch.linspace(0, 1, grid, dtype=F64)[1:-1]
    c = schedule(t)
    size = c.alpha**2 + c.beta**2 + c.gamma**2
    k = int(size.argmin())
    return float(t[k]) if float(size[k]) < tol else None


# ----------------------------------------------------------------------------- 2. b = E[ẋ | x]


@dataclass(frozen=True)
class ConditionalCheck:
    """E[v | x_t ∈ ball(x, radius)] by Monte Carlo beside the exact field it should equal.

    `mc`: the plain average of the sampled quantity v over the n_in samples that fell in the
    ball (x, y components). `exact_ball`: the exact field averaged over the same samples; by the
    tower property E[v | x_t ∈ B] = E[f(t, x_t) | x_t ∈ B] exactly, so `diff` (paired, per
    component) is 0 up to Monte-Carlo error and `z` = max |diff| / se. `exact_at_x`: f(t, x) at
    the centre (differs from the ball average by O(radius²)).
    """

    t: float
    x: tuple[float, float]
    radius: float
    n: int
    n_in: int
    mc: tuple[Estimate, Estimate]
    exact_ball: tuple[float, float]
    diff: tuple[Estimate, Estimate]
    exact_at_x: tuple[float, float]
    z: float


def _ball_check(v: Tensor, xt: Tensor, exact: Callable[[Tensor], Tensor], t: float,
                x: Tensor, radius: float) -> ConditionalCheck:
    inside = (xt - x).norm(dim=1) < radius
    v_in, x_in = v[inside].to(F64), xt[inside]
    n_in = int(inside.sum())
    if n_in:
        f_in = exact(x_in).to(F64)
        ball = (float(f_in[:, 0].mean()), float(f_in[:, 1].mean()))
        diff = (Estimate.of(v_in[:, 0] - f_in[:, 0]), Estimate.of(v_in[:, 1] - f_in[:, 1]))
        z = max(z_score(d) for d in diff)
    else:
        ball, diff, z = (math.nan, math.nan), (Estimate(math.nan, math.nan),) * 2, math.nan
    mc = (Estimate.of(v_in[:, 0]), Estimate.of(v_in[:, 1]))
    at_x = _vec(exact(x[None])[0])
    return ConditionalCheck(float(t), _vec(x), float(radius), v.shape[0], n_in, mc, ball, diff, at_x, z)


def typical_point(interpolant: Interpolant, base: Distribution, target: Distribution, t: float,
                  generator: torch.Generator) -> Tensor:
    """One sample of x_t, (2,): a point where ρ_t has mass, so a ball around it gets samples."""
    return draw(interpolant, base, target, t, 1, generator).xt[0]


@torch.no_grad()
def conditional_expectation_check(field: ExactField, interpolant: Interpolant, base: Distribution,
                                  target: Distribution, t: float, x: Tensor | None = None,
                                  radius: float = 0.2, n: int = 200_000,
                                  generator: torch.Generator | None = None) -> ConditionalCheck:
    """b(t, x) = E[ẋ_t | x_t = x]: average ẋ_t over the n samples with |x_t − x| < radius.

    x (2,) defaults to a `typical_point`. Returns the MC mean of ẋ_t with standard errors, the
    exact drift averaged over the same samples, and the drift b(t, x) at the centre.
    """
    g = generator if generator is not None else torch.Generator().manual_seed(0)
    if x is None:
        x = typical_point(interpolant, base, target, t, g)
    x = torch.as_tensor(x, dtype=torch.float32).reshape(2)
    s = draw(interpolant, base, target, t, n, g)
    return _ball_check(s.dxt, s.xt, lambda pts: field.drift(t, pts), t, x, radius)


# ----------------------------------------------------------------------------- 3. the loss


def zero_field(t: Tensor, x: Tensor) -> Tensor:
    """b̂ = 0: the worst reasonable guess, (n, 2)."""
    return torch.zeros_like(x)


def perturbed(field: Field, scale: float = 0.5) -> Field:
    """b̂ = b + scale·(sin y, cos x): the exact drift plus a smooth error, (n, 2)."""

    def f(t: Tensor, x: Tensor) -> Tensor:
        bump = torch.stack([torch.sin(x[:, 1]), torch.cos(x[:, 0])], 1)
        return field(t, x) + scale * bump.to(x.dtype)

    return f


@dataclass(frozen=True)
class LossRow:
    """One candidate b̂: loss E|b̂ − ẋ_t|², distance E|b̂ − b|², and their per-sample difference.

    `z`: |difference − constant| in standard errors of the paired difference (should be small).
    """

    name: str
    loss: Estimate
    distance: Estimate
    difference: Estimate
    z: float


@dataclass(frozen=True)
class LossIdentityCheck:
    """L(b̂) − ∫E|b̂ − b|² = E|ẋ_t − b|² (`constant`) for every candidate, over t ~ U[t_eps, 1 − t_eps].

    `between`: difference of the first two candidates' differences (paired; should be 0), and
    `z_between` its size in standard errors.
    """

    n: int
    t_eps: float
    constant: Estimate
    rows: list[LossRow]
    between: Estimate
    z_between: float


@torch.no_grad()
def loss_identity_check(field: ExactField, interpolant: Interpolant, base: Distribution,
                        target: Distribution, candidates: Mapping[str, Field] | None = None,
                        n: int = 20_000, generator: torch.Generator | None = None,
                        t_eps: float = T_EPS) -> LossIdentityCheck:
    """The seed's derivation, by Monte Carlo on n samples of (t, x0, x1, z).

    Per sample: L = |b̂ − ẋ_t|², D = |b̂ − b|², C = |ẋ_t − b|². The identity says
    mean(L − D) → E[C] whatever b̂ is; (L − D) − C = 2(b − b̂)·(ẋ_t − b) has mean 0 by the tower
    property, which gives each row's paired standard error. Default candidates: b̂ = 0,
    b̂ = b + 0.5 (sin y, cos x), and b̂ = b itself (distance 0, loss = the constant).
    """
    g = generator if generator is not None else torch.Generator().manual_seed(0)
    t = t_eps + (1 - 2 * t_eps) * torch.rand(n, generator=g)
    s = draw(interpolant, base, target, t, n, g)
    dx = s.dxt.to(F64)
    b = field.drift(s.t, s.xt).to(F64)
    if candidates is None:  # built on the b just computed: one evaluation of the exact field
        candidates = {"b̂ = 0": zero_field,
                      "b̂ = b + 0.5 (sin y, cos x)": perturbed(lambda t, x: b, 0.5),
                      "b̂ = b (the minimiser)": lambda t, x: b}
    c = ((dx - b) ** 2).sum(1)
    rows, diffs = [], []
    for name, bhat_fn in candidates.items():
        bhat = bhat_fn(s.t, s.xt).to(F64)
        loss, dist = ((bhat - dx) ** 2).sum(1), ((bhat - b) ** 2).sum(1)
        diffs.append(loss - dist)
        rows.append(LossRow(name, Estimate.of(loss), Estimate.of(dist), Estimate.of(loss - dist),
                            z_score(Estimate.of(loss - dist - c))))
    between = Estimate.of(diffs[0] - diffs[1]) if len(diffs) > 1 else Estimate(0.0, 0.0)
    return LossIdentityCheck(n, t_eps, Estimate.of(c), rows, between, z_score(between))


@dataclass(frozen=True)
class AveragedTargetCheck:
    """The noise of the two regression targets around the true drift b, on the same samples:
    `plain` = E|ẋ_t − b|² (the loss's constant C) and `averaged` = E|T − b|² with T the batch-
    averaged target of `playground.averaged` (batches of `batch`). `known`: the mixture side it
    averaged against, or None where it does not apply (then `averaged` is None)."""

    n: int
    batch: int
    known: str | None
    plain: Estimate
    averaged: Estimate | None

    @property
    def ratio(self) -> float | None:
        return None if self.averaged is None else self.plain.mean / max(self.averaged.mean, 1e-300)


@torch.no_grad()
def averaged_target_check(field: ExactField, interpolant: Interpolant, base: Distribution,
                          target: Distribution, n: int = 20_480, batch: int = 256,
                          generator: torch.Generator | None = None,
                          t_eps: float = T_EPS) -> AveragedTargetCheck:
    """How much closer the averaged target is to b than ẋ_t is: both squared distances per sample,
    t ~ U[t_eps, 1 − t_eps], n samples in training batches of `batch` (n is rounded to them)."""
    from playground.averaged import averaged_targets, known_side

    g = generator if generator is not None else torch.Generator().manual_seed(0)
    n = max(batch, n - n % batch)
    t = t_eps + (1 - 2 * t_eps) * torch.rand(n, generator=g)
    s = draw(interpolant, base, target, t, n, g)
    b = field.drift(s.t, s.xt).to(F64)
    plain = ((s.dxt.to(F64) - b) ** 2).sum(1)
    known = known_side(base, target, "independent")
    if known is None:
        return AveragedTargetCheck(n, batch, None, Estimate.of(plain), None)
    c = s.coefficients
    noise = c.gamma[:, None] * s.z if interpolant.schedule.stochastic else torch.zeros_like(s.z)
    parts = []
    for lo in range(0, n, batch):  # one training batch at a time, as train_steps does
        sl = slice(lo, lo + batch)
        cb = type(c)(*(v[sl] for v in c.as_dict().values()))
        drift, _, ok = averaged_targets(known, cb, s.x0[sl], s.x1[sl], noise[sl])
        parts.append(torch.where(ok[:, None], drift, s.dxt[sl]))
    averaged = ((torch.cat(parts).to(F64) - b) ** 2).sum(1)
    return AveragedTargetCheck(n, batch, known.side, Estimate.of(plain), Estimate.of(averaged))


# ----------------------------------------------------------------------------- 4. Euler


@dataclass(frozen=True)
class Floor:
    """The energy-distance noise floor at sample size n: mean and std over `repeats` pairs of
    independent target samples (one pair alone varies by a factor of several for a multi-modal
    target). A sampler is as good as the floor allows when its figure is below `bound`."""

    n: int
    mean: float
    std: float
    repeats: int

    @property
    def bound(self) -> float:
        """mean + 4 std (one draw of a multi-modal target's floor is far from Gaussian)."""
        return self.mean + 4 * self.std


def floor_estimate(target: Distribution, n: int, generator: torch.Generator,
                   repeats: int = 6) -> Floor:
    """`Floor` from `repeats` pairs of fresh target samples of size n."""
    vals = torch.tensor([noise_floor(target, n, generator, {"e": energy_distance})["e"]
                         for _ in range(repeats)], dtype=F64)
    return Floor(n, float(vals.mean()), float(vals.std()) if repeats > 1 else 0.0, repeats)


@dataclass(frozen=True)
class EulerDemo:
    """The Euler update on a few particles, and where the whole cloud ends.

    rows: dicts with step k, t_k, particle, X_k (x, y), b(t_k, X_k) (u, v), X_{k+1} (x, y), as
    produced by the library's `integrate`; `residual`: max |X_{k+1} − X_k − h b(t_k, X_k)|.
    energy: energy distance of n Euler samples (`quality_steps` steps) to fresh target samples,
    read against `floor` (see `Floor`) and against `start_energy`, the same distance before
    transport (the starting samples themselves).
    """

    steps: int
    rows: list[dict]
    residual: float
    quality_steps: int
    n: int
    energy: float
    floor: Floor
    start_energy: float


@torch.no_grad()
def euler_demo(field: Field, base: Distribution, target: Distribution, steps: int = 5,
               particles: int = 3, n: int = 1000, quality_steps: int = 100,
               generator: torch.Generator | None = None) -> EulerDemo:
    """Run `playground.sampling.integrate(..., "euler")` on `particles` base samples for `steps`
    steps and tabulate every update; then carry n samples with `quality_steps` steps."""
    g = generator if generator is not None else torch.Generator().manual_seed(0)
    x = base.sample(particles, g)
    traj = integrate(field, x, steps, "euler", keep=None)
    rows, residual = [], 0.0
    for k in range(steps):
        tk, h = float(traj.times[k]), float(traj.times[k + 1] - traj.times[k])
        xk = traj.path[k]
        bk = field(torch.full((particles,), tk), xk)
        residual = max(residual, float((traj.path[k + 1] - xk - h * bk).abs().max()))
        for i in range(particles):
            rows.append({"k": k, "t_k": tk, "particle": i,
                         "X_k": _vec(xk[i]), "b(t_k, X_k)": _vec(bk[i]),
                         "X_k+1": _vec(traj.path[k + 1, i])})
    x0 = base.sample(n, g)
    final = integrate(field, x0, quality_steps, "euler", keep=0).final
    ref = target.sample(n, g)
    energy, start = energy_distance(final, ref), energy_distance(x0, ref)
    floor = floor_estimate(target, n, g)
    return EulerDemo(steps, rows, residual, quality_steps, n, energy, floor, start)


# ----------------------------------------------------------------------------- 5. score


@dataclass(frozen=True)
class ScoreCheck:
    """s = ∇ log ρ_t by Monte Carlo (`denoiser`), and the closed form against autograd.

    denoiser: the ball check of a per-sample quantity v whose conditional mean E[v | x_t = x]
    is the score, against the exact score; `identity` says which v (None, with denoiser None,
    when no such identity holds at this t). With γ(t) > 0, v = −z/γ. With γ(t) = 0 and a single
    Gaussian base N(μ, A), v = −A⁻¹(x0 − μ)/α (x0 plays the role of the noise: the one-sided
    interpolant); likewise with a single Gaussian target and β. This check is independent of
    the closed form, unlike autograd of `ExactField.log_density`, which shares its formula
    (means and covariances) with `ExactField.score` and so cannot catch an error in it.
    points, closed_form, autograd: lists of (x, y); max_error: max abs difference.
    """

    t: float
    gamma: float
    points: list[tuple[float, float]]
    closed_form: list[tuple[float, float]]
    autograd: list[tuple[float, float]]
    max_error: float
    denoiser: ConditionalCheck | None
    identity: str | None = None


def _single_gaussian(d: Distribution) -> tuple[Tensor, Tensor] | None:
    """(mean (2,), inverse covariance (2, 2)) when d is one Gaussian, else None."""
    m = d if isinstance(d, GaussianMixture) else d.mixture()
    if m is None or m.means.shape[0] != 1 or float(torch.linalg.det(m.covs[0].to(F64))) <= 1e-12:
        return None  # a mixture, or a point (no density): no one-sided identity
    return m.means[0].to(F64), torch.linalg.inv(m.covs[0].to(F64))


def score_samples(interpolant: Interpolant, base: Distribution, target: Distribution, t: float,
                  n: int, generator: torch.Generator) -> tuple[Tensor, Tensor, str] | None:
    """n samples of x_t (n, 2) and of a quantity v (n, 2) with E[v | x_t] = s(t, x_t), and v in
    words; None when no such identity applies at t (γ(t) = 0 and neither side a single Gaussian
    with a positive coefficient). Independent coupling only (as `draw`)."""
    c = interpolant.schedule(torch.tensor([float(t)], dtype=F64))
    gamma, alpha, beta = float(c.gamma[0]), float(c.alpha[0]), float(c.beta[0])
    s = draw(interpolant, base, target, t, n, generator)
    if gamma > 0:  # given (x0, x1), x_t ~ N(I, γ² Id): ∇ log ρ(x_t | x0, x1) = −z/γ
        return s.xt, -s.z.to(F64) / gamma, "−z/γ"
    for coef, dist, x, name in ((alpha, base, s.x0, ("α", "x0", "A", "μ")),
                                (beta, target, s.x1, ("β", "x1", "B", "ν"))):
        gauss = _single_gaussian(dist)
        if coef > 0 and gauss is not None:  # given the other side, x_t ~ N(coef μ + ..., coef² A)
            mu, prec = gauss
            v = -((x.to(F64) - mu) @ prec.T) / coef
            k, xs, mat, m = name
            return s.xt, v, f"−{mat}⁻¹({xs} − {m})/{k}"
    return None


def score_check(field: ExactField, interpolant: Interpolant, base: Distribution,
                target: Distribution, t: float, points: int = 5, x: Tensor | None = None,
                radius: float = 0.2, n: int = 200_000,
                generator: torch.Generator | None = None) -> ScoreCheck:
    """Average a quantity whose conditional mean is the score (`score_samples`: −z/γ, or the
    one-sided −A⁻¹(x0 − μ)/α) over the n samples with |x_t − x| < radius, x (2,) a
    `typical_point`, against `field.score`; and compare `field.score` with autograd of
    `field.log_density` at `points` samples of x_t (float64)."""
    g = generator if generator is not None else torch.Generator().manual_seed(0)
    pts = draw(interpolant, base, target, t, points, g).xt.to(F64).requires_grad_(True)
    logp = field.log_density(t, pts)
    (grad,) = torch.autograd.grad(logp.sum(), pts)
    pts = pts.detach()
    closed = field.score(t, pts)
    err = float((closed - grad).abs().max())
    gamma = float(interpolant.schedule(torch.tensor([float(t)], dtype=F64)).gamma[0])
    denoiser, identity = None, None
    with torch.no_grad():
        if x is None:
            x = typical_point(interpolant, base, target, t, g)
        x = torch.as_tensor(x, dtype=torch.float32).reshape(2)
        mc = score_samples(interpolant, base, target, t, n, g)
        if mc is not None:
            xt, v, identity = mc
            denoiser = _ball_check(v, xt, lambda p: field.score(t, p), t, x, radius)
    return ScoreCheck(float(t), gamma, [_vec(p) for p in pts], [_vec(p) for p in closed],
                      [_vec(p) for p in grad], err, denoiser, identity)


# ----------------------------------------------------------------------------- 6. the SDE


@dataclass(frozen=True)
class SDECheck:
    """Energy distance to the target of n SDE samples for each ε, beside the noise floor.

    rows: dicts {"epsilon", "energy", "ratio", "within"}: ratio = energy / floor.mean, within =
    energy <= floor.bound. start_energy: the distance of the starting samples (before transport).
    """

    n: int
    steps: int
    floor: Floor
    rows: list[dict]
    start_energy: float


def sde_check(field, base: Distribution, target: Distribution, epsilons=(0.0, 0.5, 1.0),
              n: int = 1000, steps: int = 100, generator: torch.Generator | None = None,
              t0: float = DEFAULT_T0) -> SDECheck:
    """Run the library's `integrate_sde` (constant ε, on [t0, 1 − t0]) with a stochastic field
    (drift and score: the exact field) from the same n base samples for each ε."""
    g = generator if generator is not None else torch.Generator().manual_seed(0)
    x = base.sample(n, g)
    floor = floor_estimate(target, n, g)
    start = energy_distance(x, target.sample(n, g))
    rows = []
    for eps in epsilons:
        final = integrate_sde(field, x, steps, float(eps), t0=t0, generator=g, keep=0).final
        e = energy_distance(final, target.sample(n, g))
        rows.append({"epsilon": float(eps), "energy": e,
                     "ratio": e / floor.mean if floor.mean > 0 else math.inf, "within": e <= floor.bound})
    return SDECheck(n, steps, floor, rows, start)
