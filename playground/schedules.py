"""Schedules α(t), β(t), γ(t) of the interpolant x_t = α x0 + β x1 + γ z, each with its derivative.

A `Schedule` composes an α/β *pair* with a γ *noise* schedule and returns a `ScheduleOutput`
holding every coefficient with its time derivative, plus γγ̇ computed directly (it stays finite
at t = 0 and t = 1 where γ̇ of √(t(1−t)) is infinite). Registries by name feed the CLI, the UI
and the URL: `PAIRS` (α, β) and `GAMMAS` (γ). Adding a schedule is one small class and one line.

Shapes: t is (n,); every field of `ScheduleOutput` is (n,). Use `ScheduleOutput.col(name)` to
get a (n, 1) column that broadcasts against points (n, 2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import torch

Tensor = torch.Tensor
HALF_PI = math.pi / 2


@dataclass(frozen=True)
class GammaOutput:
    """γ(t), γ̇(t) and γ(t)γ̇(t), each (n,)."""

    gamma: Tensor
    d_gamma: Tensor
    gamma_d_gamma: Tensor


@dataclass(frozen=True)
class ScheduleOutput:
    """All coefficients at times t (n,): values, derivatives and γγ̇, each (n,)."""

    alpha: Tensor
    beta: Tensor
    gamma: Tensor
    d_alpha: Tensor
    d_beta: Tensor
    d_gamma: Tensor
    gamma_d_gamma: Tensor

    def col(self, name: str) -> Tensor:
        """One coefficient as a (n, 1) column, ready to multiply (n, 2) points."""
        return getattr(self, name)[:, None]

    def as_dict(self) -> dict[str, Tensor]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


# ----------------------------------------------------------------------------- γ (noise)


class Gamma:
    """Base class: a γ schedule with scale a. Subclasses implement `_eval(t)`."""

    name = "?"
    label = "?"

    def __init__(self, scale: float = 1.0):
        self.scale = float(scale)

    def __call__(self, t: Tensor) -> GammaOutput:
        return self._eval(t)

    def _eval(self, t: Tensor) -> GammaOutput:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def is_zero(self) -> bool:
        return self.scale == 0.0

    def __repr__(self) -> str:
        return f"{type(self).__name__}(scale={self.scale})"


class ZeroGamma(Gamma):
    name, label = "zero", "γ = 0 (deterministic interpolant)"

    def __init__(self, scale: float = 1.0):
        super().__init__(scale)

    @property
    def is_zero(self) -> bool:
        return True

    def _eval(self, t):
        z = torch.zeros_like(t)
        return GammaOutput(z, z, z)


class BrownianGamma(Gamma):
    """γ = √(a t(1−t)); γγ̇ = a(1−2t)/2 (finite at the ends although γ̇ is not)."""

    name, label = "brownian", "γ = √(a t(1−t))"

    def _eval(self, t):
        a = self.scale
        inner = (a * t * (1 - t)).clamp_min(0)
        g = inner.sqrt()
        gdg = a * (1 - 2 * t) / 2
        dg = gdg / g if a > 0 else torch.zeros_like(t)  # ±inf at t = 0, 1: use γγ̇ there
        return GammaOutput(g, dg, gdg)


class SquaredGamma(Gamma):
    """γ = a t(1−t)."""

    name, label = "squared", "γ = a t(1−t)"

    def _eval(self, t):
        a = self.scale
        g = a * t * (1 - t)
        dg = a * (1 - 2 * t)
        return GammaOutput(g, dg, g * dg)


class SineSquaredGamma(Gamma):
    """γ = a sin²(πt)."""

    name, label = "sinesquared", "γ = a sin²(πt)"

    def _eval(self, t):
        a = self.scale
        s = torch.sin(math.pi * t)
        g = a * s * s
        dg = a * math.pi * torch.sin(2 * math.pi * t)
        return GammaOutput(g, dg, g * dg)


GAMMAS: dict[str, type[Gamma]] = {
    cls.name: cls for cls in (ZeroGamma, BrownianGamma, SquaredGamma, SineSquaredGamma)
}


# ----------------------------------------------------------------------------- α, β pairs


class Pair:
    """Base class for the α/β pair. `__call__(t, g)` returns (α, α̇, β, β̇), each (n,).

    The γ output is passed in because some pairs (variance preserving) depend on it.
    """

    name = "?"
    label = "?"

    def __call__(self, t: Tensor, g: GammaOutput) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        raise NotImplementedError  # pragma: no cover

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class LinearPair(Pair):
    name, label = "linear", "α = 1 − t, β = t"

    def __call__(self, t, g):
        one = torch.ones_like(t)
        return 1 - t, -one, t, one


class TrigPair(Pair):
    name, label = "trig", "α = cos(πt/2), β = sin(πt/2)"

    def __call__(self, t, g):
        c, s = torch.cos(HALF_PI * t), torch.sin(HALF_PI * t)
        return c, -HALF_PI * s, s, HALF_PI * c


class TrigVPPair(Pair):
    """α = √(1−γ²) cos(πt/2), β = √(1−γ²) sin(πt/2), so α² + β² + γ² = 1 (needs γ ≤ 1)."""

    name, label = "trig-vp", "α = √(1−γ²) cos(πt/2), β = √(1−γ²) sin(πt/2)"

    def __call__(self, t, g):
        c, s = torch.cos(HALF_PI * t), torch.sin(HALF_PI * t)
        r = (1 - g.gamma**2).clamp_min(0).sqrt()
        dr = -g.gamma_d_gamma / r.clamp_min(1e-12)
        return r * c, dr * c - HALF_PI * r * s, r * s, dr * s + HALF_PI * r * c


class EncDecPair(Pair):
    """Encoder–decoder: α = cos²(πt) on t < ½, β = cos²(πt) on t > ½ (0 elsewhere).

    With γ = sin²(πt) (`sinesquared`, a = 1), x_½ = z: data → noise → data.
    """

    name, label = "encdec", "α = cos²(πt)·[t<½], β = cos²(πt)·[t>½]"

    def __call__(self, t, g):
        c2 = torch.cos(math.pi * t) ** 2
        dc2 = -math.pi * torch.sin(2 * math.pi * t)
        zero = torch.zeros_like(t)
        lo, hi = t < 0.5, t > 0.5
        return (torch.where(lo, c2, zero), torch.where(lo, dc2, zero),
                torch.where(hi, c2, zero), torch.where(hi, dc2, zero))


class PowerPair(Pair):
    """α = (1 − t)^p, β = t^p, p > 0."""

    name, label = "power", "α = (1 − t)^p, β = t^p"

    def __init__(self, power: float = 2.0):
        if not (power > 0 and math.isfinite(power)):
            raise ValueError(f"power p must be a positive number, got {power}")
        self.power = float(power)

    def __call__(self, t, g):
        p = self.power
        u, tt = (1 - t).clamp_min(0), t.clamp_min(0)
        return u**p, -p * u ** (p - 1), tt**p, p * tt ** (p - 1)

    def __repr__(self):
        return f"PowerPair(power={self.power})"


PAIRS: dict[str, type[Pair]] = {
    cls.name: cls for cls in (LinearPair, TrigPair, TrigVPPair, EncDecPair, PowerPair)
}


# ----------------------------------------------------------------------------- typed formulas

GDG_CLAMP = 1e-4
"""γγ̇ of a formula is evaluated at t clamped into [GDG_CLAMP, 1 − GDG_CLAMP]: at the ends γ̇ may
be infinite (√(t(1−t))) while γγ̇ is finite, and γγ̇ is smooth, so the error is O(GDG_CLAMP)."""


class FormulaGamma(Gamma):
    """γ typed as a formula in t (see playground.formula); the scale a is not applied."""

    name, label = "formula", "γ typed as a formula"

    def __init__(self, formula):
        super().__init__(1.0)
        self.formula = formula
        grid = torch.linspace(0, 1, 257, dtype=torch.float64)
        self._zero = bool((self.formula(grid) == 0).all())

    @property
    def is_zero(self) -> bool:
        return self._zero

    def _eval(self, t):
        g, dg = self.formula.value_and_derivative(t)
        tc = t.clamp(GDG_CLAMP, 1 - GDG_CLAMP)
        gc, dgc = self.formula.value_and_derivative(tc)
        return GammaOutput(g, dg, gc * dgc)

    def __repr__(self):
        return f"FormulaGamma({self.formula.text!r})"


class FormulaPair(Pair):
    """α and/or β typed as formulas in t; a coefficient left as None comes from `fallback`."""

    name, label = "formula", "α, β typed as formulas"

    def __init__(self, alpha=None, beta=None, fallback: Pair | None = None):
        if (alpha is None or beta is None) and fallback is None:
            raise ValueError("a formula pair needs both α and β, or a schedule to take the other from")
        self.alpha, self.beta, self.fallback = alpha, beta, fallback

    def __call__(self, t, g):
        if self.fallback is not None:
            a, da, b, db = self.fallback(t, g)
        if self.alpha is not None:
            a, da = self.alpha.value_and_derivative(t)
        if self.beta is not None:
            b, db = self.beta.value_and_derivative(t)
        return a, da, b, db

    def __repr__(self):
        texts = [f.text if f is not None else None for f in (self.alpha, self.beta)]
        return f"FormulaPair(alpha={texts[0]!r}, beta={texts[1]!r}, fallback={self.fallback!r})"


def resolve_schedule(schedule: str = "linear", gamma: str = "zero", gamma_scale: float = 1.0,
                     power: float = 2.0, alpha: str = "", beta: str = "") -> Schedule:
    """Like `make_schedule`, but `gamma` may be a formula and `alpha`/`beta` (non-empty) override
    the pair's coefficients with formulas. Raises ValueError (FormulaError) for a bad formula."""
    from playground.formula import check_finite, parse_formula

    def parsed(text):
        f = parse_formula(text)
        check_finite(f)
        return f

    pair = make_pair(schedule, power)
    if alpha or beta:
        pair = FormulaPair(parsed(alpha) if alpha else None, parsed(beta) if beta else None, pair)
    g = make_gamma(gamma, gamma_scale) if gamma in GAMMAS else FormulaGamma(parsed(gamma))
    return Schedule(pair, g)


# ----------------------------------------------------------------------------- the schedule


class Schedule:
    """α/β pair plus γ: `schedule(t) -> ScheduleOutput`; t (n,)."""

    def __init__(self, pair: Pair, gamma: Gamma):
        self.pair = pair
        self.gamma = gamma

    def __call__(self, t: Tensor) -> ScheduleOutput:
        g = self.gamma(t)
        a, da, b, db = self.pair(t, g)
        return ScheduleOutput(a, b, g.gamma, da, db, g.d_gamma, g.gamma_d_gamma)

    @property
    def stochastic(self) -> bool:
        """True when γ is not identically zero (the interpolant carries latent noise)."""
        return not self.gamma.is_zero

    def __repr__(self) -> str:
        return f"Schedule({self.pair!r}, {self.gamma!r})"


def plottable_schedule(n: int = 401, **kwargs) -> Schedule | None:
    """`resolve_schedule(**kwargs)` when it builds and α, β, γ are finite on n points of [0, 1]
    (so even a schedule that fails its boundary conditions can be drawn), else None."""
    try:
        schedule = resolve_schedule(**kwargs)
        out = schedule(torch.linspace(0, 1, n, dtype=torch.float64))
    except (ValueError, TypeError, ArithmeticError):
        return None
    finite = all(bool(torch.isfinite(getattr(out, k)).all()) for k in ("alpha", "beta", "gamma"))
    return schedule if finite else None


def make_pair(name: str, power: float = 2.0) -> Pair:
    """The α/β pair registered under `name` (see `PAIRS`)."""
    if name not in PAIRS:
        raise ValueError(f"unknown schedule {name!r}; choose one of {', '.join(PAIRS)}")
    return PowerPair(power) if name == "power" else PAIRS[name]()


def make_gamma(name: str, scale: float = 1.0) -> Gamma:
    """The γ schedule registered under `name` (see `GAMMAS`)."""
    if name not in GAMMAS:
        raise ValueError(f"unknown gamma {name!r}; choose one of {', '.join(GAMMAS)}")
    if not (math.isfinite(scale) and scale >= 0):
        raise ValueError(f"gamma scale must be a finite number >= 0, got {scale}")
    return GAMMAS[name](scale)


def make_schedule(name: str = "linear", gamma: str = "zero", gamma_scale: float = 1.0,
                  power: float = 2.0) -> Schedule:
    """Build a schedule from registry names: `make_schedule("trig", "brownian", 0.5)`."""
    return Schedule(make_pair(name, power), make_gamma(gamma, gamma_scale))


# ----------------------------------------------------------------------------- checks


@dataclass(frozen=True)
class BoundaryCheck:
    """One boundary condition: `name` at time `t` expects `expected`, found `value`."""

    name: str
    t: float
    value: float
    expected: float
    ok: bool

    def message(self) -> str:
        mark = "holds" if self.ok else "fails"
        return f"{self.name}({self.t:g}) = {self.value:.4g} (expected {self.expected:g}): {mark}"


def boundary_checks(schedule: Schedule, tol: float = 1e-6) -> list[BoundaryCheck]:
    """α(0)=1, α(1)=0, β(0)=0, β(1)=1, γ(0)=γ(1)=0, evaluated in float64."""
    out = schedule(torch.tensor([0.0, 1.0], dtype=torch.float64))
    checks = []
    for name, expected in (("alpha", (1.0, 0.0)), ("beta", (0.0, 1.0)), ("gamma", (0.0, 0.0))):
        values = getattr(out, name).tolist()
        for t, v, e in zip((0.0, 1.0), values, expected):
            checks.append(BoundaryCheck(name, t, v, e, math.isfinite(v) and abs(v - e) <= tol))
    return checks


POINT_MASS = 1e-9
"""√(α² + β² + γ²) below this at some t inside (0, 1): x_t is a single point there (`narrowest`)."""


def narrowest(schedule: Schedule, n: int = 401) -> tuple[float, float]:
    """(t, √(α² + β² + γ²)) at the time inside (0, 1) where the interpolant's scale is smallest, on
    a grid of n times in float64. 0 means x_t is a single point there (encdec with γ = 0 at ½)."""
    t = torch.linspace(0, 1, n, dtype=torch.float64)[1:-1]
    out = schedule(t)
    size = (out.alpha**2 + out.beta**2 + out.gamma**2).sqrt()
    k = int(size.argmin())
    return float(t[k]), float(size[k])
