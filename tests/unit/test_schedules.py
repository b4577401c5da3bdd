"""Schedules α, β, γ: boundary conditions, analytic derivatives against autograd, identities."""

from __future__ import annotations

import math

import pytest
import torch

from playground.config import LIMITS
from playground.schedules import (
    GAMMAS,
    PAIRS,
    Gamma,
    GammaOutput,
    LinearPair,
    Pair,
    Schedule,
    ZeroGamma,
    boundary_checks,
    make_gamma,
    make_pair,
    make_schedule,
    resolve_schedule,
)

F64 = torch.float64
POWERS = (0.5, 1.0, 2.0, 3.0)
SCALES = (0.5, 1.0, 2.0)
COEFS = ("alpha", "beta", "gamma", "d_alpha", "d_beta", "d_gamma", "gamma_d_gamma")


def _max_gamma(gamma: str, scale: float) -> float:
    t = torch.linspace(0, 1, 2001, dtype=F64)
    return float(make_gamma(gamma, scale)(t).gamma.max())


def _cases():
    """Every registered pair × every γ (several scales), power with several p.

    trig-vp needs γ ≤ 1 (α² + β² + γ² = 1), so scales that push γ above 1 are left out for it.
    """
    out = []
    for pair in PAIRS:
        for power in (POWERS if pair == "power" else (2.0,)):
            for gamma in GAMMAS:
                for scale in ((1.0,) if gamma == "zero" else SCALES):
                    if pair == "trig-vp" and _max_gamma(gamma, scale) > 1:
                        continue
                    out.append(pytest.param(pair, gamma, scale, power,
                                            id=f"{pair}-p{power:g}-{gamma}-a{scale:g}"))
    return out


CASES = _cases()


def _interior_grid() -> torch.Tensor:
    """Interior times, away from the ends and from t = ½ (the encdec kink; trig-vp with
    γ(½) = 1 has α = β = 0 there)."""
    t = torch.linspace(0.01, 0.99, 99, dtype=F64)
    return t[(t - 0.5).abs() > 0.015]


def test_registries_are_not_empty_and_cases_cover_them():
    names = {p.values[0] for p in CASES}
    gammas = {p.values[1] for p in CASES}
    assert names == set(PAIRS) and gammas == set(GAMMAS)
    assert {"linear", "trig", "trig-vp", "encdec", "power"} <= set(PAIRS)
    assert {"zero", "brownian", "squared", "sinesquared"} <= set(GAMMAS)


@pytest.mark.parametrize("pair,gamma,scale,power", CASES)
def test_boundary_conditions(pair, gamma, scale, power):
    out = make_schedule(pair, gamma, scale, power)(torch.tensor([0.0, 1.0], dtype=F64))
    torch.testing.assert_close(out.alpha, torch.tensor([1.0, 0.0], dtype=F64), atol=1e-12, rtol=0)
    torch.testing.assert_close(out.beta, torch.tensor([0.0, 1.0], dtype=F64), atol=1e-12, rtol=0)
    torch.testing.assert_close(out.gamma, torch.zeros(2, dtype=F64), atol=1e-12, rtol=0)
    # γγ̇ is the finite replacement for γ̇ at the ends (√(t(1−t)) has γ̇ = ±∞ there)
    assert torch.isfinite(out.gamma_d_gamma).all()


@pytest.mark.parametrize("pair,gamma,scale,power", CASES)
def test_boundary_checks_all_hold(pair, gamma, scale, power):
    checks = boundary_checks(make_schedule(pair, gamma, scale, power))
    assert len(checks) == 6
    assert {(c.name, c.t) for c in checks} == {(n, t) for n in ("alpha", "beta", "gamma")
                                              for t in (0.0, 1.0)}
    assert all(c.ok for c in checks), [c.message() for c in checks if not c.ok]


@pytest.mark.parametrize("pair,gamma,scale,power", CASES)
def test_derivatives_match_autograd(pair, gamma, scale, power):
    """d_alpha, d_beta, d_gamma and gamma_d_gamma equal autograd of the values (float64)."""
    sched = make_schedule(pair, gamma, scale, power)
    t = _interior_grid().requires_grad_(True)
    out = sched(t)

    def ddt(y: torch.Tensor) -> torch.Tensor:
        if not y.requires_grad:  # a constant (e.g. γ = 0) does not depend on t
            return torch.zeros_like(t)
        (g,) = torch.autograd.grad(y.sum(), t, retain_graph=True, allow_unused=True)
        return torch.zeros_like(t) if g is None else g

    for value, deriv in (("alpha", "d_alpha"), ("beta", "d_beta"), ("gamma", "d_gamma")):
        torch.testing.assert_close(getattr(out, deriv).detach(), ddt(getattr(out, value)),
                                   atol=1e-5, rtol=1e-5, msg=f"{deriv} of {sched!r}")
    torch.testing.assert_close(out.gamma_d_gamma.detach(), ddt(0.5 * out.gamma**2),
                               atol=1e-5, rtol=1e-5, msg=f"gamma_d_gamma of {sched!r}")


@pytest.mark.parametrize("pair,gamma,scale,power", CASES)
def test_shapes_dtype_and_columns(pair, gamma, scale, power):
    t = torch.linspace(0, 1, 7, dtype=F64)
    out = make_schedule(pair, gamma, scale, power)(t)
    for name in COEFS:
        v = getattr(out, name)
        assert v.shape == (7,) and v.dtype == F64, name
        assert out.col(name).shape == (7, 1)
    assert set(out.as_dict()) == set(COEFS)
    for name in ("alpha", "beta", "gamma", "gamma_d_gamma"):
        assert torch.isfinite(getattr(out, name)).all(), name


@pytest.mark.parametrize("gamma", [g for g in GAMMAS if g != "zero"])
@pytest.mark.parametrize("scale", SCALES)
def test_stochastic_gamma_is_positive_inside(gamma, scale):
    """MATH.md: γ(t) > 0 on (0, 1) for a stochastic interpolant."""
    t = torch.linspace(0.001, 0.999, 999, dtype=F64)
    sched = make_schedule("linear", gamma, scale)
    assert sched.stochastic
    assert (sched(t).gamma > 0).all()


def test_zero_gamma_is_deterministic():
    sched = make_schedule("trig", "zero")
    assert not sched.stochastic
    assert make_schedule("linear", "brownian", 0.0).stochastic is False
    t = torch.linspace(0, 1, 11, dtype=F64)
    assert (sched(t).gamma == 0).all() and (sched(t).d_gamma == 0).all()


@pytest.mark.parametrize("gamma,scale", [pytest.param(g, a, id=f"{g}-a{a:g}")
                                         for g in GAMMAS for a in SCALES
                                         if _max_gamma(g, a) <= 1])
def test_trig_vp_preserves_variance(gamma, scale):
    """trig-vp: α² + β² + γ² = 1 at every t, endpoints included."""
    t = torch.linspace(0, 1, 201, dtype=F64)
    out = make_schedule("trig-vp", gamma, scale)(t)
    total = out.alpha**2 + out.beta**2 + out.gamma**2
    torch.testing.assert_close(total, torch.ones_like(t), atol=1e-12, rtol=0)


@pytest.mark.parametrize("gamma,scale", [("zero", 1.0), ("brownian", 0.5)])
def test_trig_alpha_beta_on_unit_circle(gamma, scale):
    t = torch.linspace(0, 1, 101, dtype=F64)
    out = make_schedule("trig", gamma, scale)(t)
    torch.testing.assert_close(out.alpha**2 + out.beta**2, torch.ones_like(t))


def test_encdec_with_unit_sine_squared_is_pure_noise_at_half():
    """Encoder–decoder with γ = sin²(πt): x_½ = z (α = β = 0, γ = 1)."""
    out = make_schedule("encdec", "sinesquared", 1.0)(torch.tensor([0.5], dtype=F64))
    assert float(out.alpha) == 0.0 and float(out.beta) == 0.0
    assert float(out.gamma) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("p", POWERS)
def test_power_values(p):
    t = torch.linspace(0, 1, 21, dtype=F64)
    out = make_schedule("power", power=p)(t)
    torch.testing.assert_close(out.alpha, (1 - t) ** p)
    torch.testing.assert_close(out.beta, t**p)


def test_linear_and_gamma_formulas():
    """Spot values of the MATH.md tables."""
    t = torch.tensor([0.25], dtype=F64)
    lin = make_schedule("linear", "brownian", 2.0)(t)
    assert float(lin.alpha) == 0.75 and float(lin.beta) == 0.25
    assert float(lin.gamma) == pytest.approx(math.sqrt(2.0 * 0.25 * 0.75))
    assert float(lin.gamma_d_gamma) == pytest.approx(2.0 * (1 - 0.5) / 2)
    sq = make_schedule("linear", "squared", 2.0)(t)
    assert float(sq.gamma) == pytest.approx(2.0 * 0.25 * 0.75)
    ss = make_schedule("linear", "sinesquared", 2.0)(t)
    assert float(ss.gamma) == pytest.approx(2.0 * math.sin(math.pi / 4) ** 2)
    trig = make_schedule("trig")(t)
    assert float(trig.alpha) == pytest.approx(math.cos(math.pi / 8))
    assert float(trig.beta) == pytest.approx(math.sin(math.pi / 8))


# ----------------------------------------------------------------------------- typed formulas

FORMULAS = [  # (schedule, gamma, gamma_scale, power, alpha, beta)
    ("linear", "sqrt(t*(1-t))", 1.0, 2.0, "", ""),
    ("trig", "0.5*sin(pi*t)**2", 1.0, 2.0, "cos(pi*t/2)**2", "sin(pi*t/2)**2"),
    ("power", "brownian", 0.5, 3.0, "", "t**3"),
    ("linear", "zero", 1.0, 2.0, "exp(-5*t) - t*exp(-5)", ""),
]


@pytest.mark.parametrize("args", FORMULAS, ids=lambda a: "|".join(str(v) for v in a))
def test_formula_schedules_meet_boundaries_and_derivatives(args):
    """Schedules typed as formulas (resolve_schedule) obey the same checks as registered ones."""
    sched = resolve_schedule(*args)
    assert all(c.ok for c in boundary_checks(sched))
    t = _interior_grid().requires_grad_(True)
    out = sched(t)
    for value, deriv in (("alpha", "d_alpha"), ("beta", "d_beta"), ("gamma", "d_gamma")):
        v = getattr(out, value)
        expect = (torch.autograd.grad(v.sum(), t, retain_graph=True)[0] if v.requires_grad
                  else torch.zeros_like(t))
        torch.testing.assert_close(getattr(out, deriv).detach(), expect, atol=1e-5, rtol=1e-5)
    if out.gamma.requires_grad:
        (gdg,) = torch.autograd.grad((0.5 * out.gamma**2).sum(), t, retain_graph=True)
        torch.testing.assert_close(out.gamma_d_gamma.detach(), gdg, atol=1e-5, rtol=1e-5)


def test_formula_override_keeps_the_other_coefficient():
    t = torch.linspace(0, 1, 11, dtype=F64)
    plain = make_schedule("trig")(t)
    mixed = resolve_schedule("trig", beta="t")(t)
    torch.testing.assert_close(mixed.alpha, plain.alpha)
    torch.testing.assert_close(mixed.beta, t)


def test_formula_gamma_that_breaks_a_boundary_is_reported():
    checks = boundary_checks(resolve_schedule("linear", "0.3*t"))
    assert {(c.name, c.t) for c in checks if not c.ok} == {("gamma", 1.0)}


# ----------------------------------------------------------------------------- broken schedules


class _HalfwayAlpha(Pair):
    """Broken on purpose: α(1) = ½ instead of 0."""

    name = "broken"

    def __call__(self, t, g):
        one = torch.ones_like(t)
        return 1 - t / 2, -one / 2, t, one


class _OffsetGamma(Gamma):
    """Broken on purpose: γ(1) = 0.3 instead of 0."""

    name = "offset"

    def _eval(self, t):
        g = 0.3 * t
        d = torch.full_like(t, 0.3)
        return GammaOutput(g, d, g * d)


@pytest.mark.parametrize("schedule,failing", [
    (Schedule(_HalfwayAlpha(), ZeroGamma()), {("alpha", 1.0)}),
    (Schedule(LinearPair(), _OffsetGamma()), {("gamma", 1.0)}),
], ids=["alpha(1)=0.5", "gamma(1)=0.3"])
def test_boundary_checks_report_a_broken_schedule(schedule, failing):
    checks = boundary_checks(schedule)
    bad = {(c.name, c.t) for c in checks if not c.ok}
    assert bad == failing
    for c in checks:
        assert ("fails" in c.message()) == (not c.ok)
    (wrong,) = [c for c in checks if not c.ok]
    assert wrong.value != pytest.approx(wrong.expected)


@pytest.mark.parametrize("call", [
    lambda: make_pair("nope"),
    lambda: make_gamma("nope"),
    lambda: make_schedule("linear", "brownian", -1.0),
    lambda: make_schedule("linear", "brownian", float("nan")),
    lambda: make_schedule("power", power=0.0),
    lambda: make_schedule("power", power=float("inf")),
], ids=["pair", "gamma", "negative-scale", "nan-scale", "power-0", "power-inf"])
def test_bad_schedule_arguments_raise(call):
    with pytest.raises(ValueError):
        call()


def test_unknown_names_list_the_registry():
    with pytest.raises(ValueError) as exc:
        make_pair("nope")
    assert all(name in str(exc.value) for name in PAIRS)
    with pytest.raises(ValueError) as exc:
        make_gamma("nope")
    assert all(name in str(exc.value) for name in GAMMAS)


@pytest.mark.parametrize("power", [LIMITS["power"][0], 1.5, LIMITS["power"][1]])
def test_every_allowed_power_has_finite_derivatives_at_the_ends(power):
    """p < 1 gives β̇(0) = +∞ and α̇(1) = −∞ (an infinite drift at the ends), so the allowed range
    starts at 1: every value a user can choose has finite coefficients on the closed [0, 1]."""
    out = make_schedule("power", power=power)(torch.linspace(0, 1, 11, dtype=F64))
    for name in COEFS:
        assert torch.isfinite(getattr(out, name)).all(), f"{name} at p = {power}"


def test_plottable_schedule_draws_failing_formulas_but_not_broken_ones():
    from playground.schedules import plottable_schedule

    failing = plottable_schedule(alpha="1 + t**3", beta="t")  # α(1) = 2: wrong, yet drawable
    assert failing is not None
    assert float(failing(torch.tensor([1.0], dtype=torch.float64)).alpha[0]) == pytest.approx(2.0)
    assert plottable_schedule(alpha="1/(t - 0.5)", beta="t") is None  # infinite at t = ½
    assert plottable_schedule(alpha="import os", beta="t") is None  # not a formula
