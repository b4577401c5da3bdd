"""Tests for playground.formula: safe parsing, exact derivatives, finiteness checks."""

import ast
import builtins
import contextlib
import math
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from playground import formula as formula_module
from playground.formula import (
    FUNCTIONS,
    MAX_LENGTH,
    Formula,
    FormulaError,
    check_finite,
    parse_formula,
)

# Interior grid that avoids every kink used below (0.15, 0.2, 0.5, 0.6, 0.8) by >= 1e-3.
GRID = (np.arange(101) + 0.37) / 101
PI = math.pi


def _sig(x):
    return 1 / (1 + np.exp(-x))


# (formula, value(t), derivative(t)) computed by hand with numpy.
CASES = [
    ("cos(pi*t/2)", lambda t: np.cos(PI * t / 2), lambda t: -PI / 2 * np.sin(PI * t / 2)),
    ("sin(pi*t/2)", lambda t: np.sin(PI * t / 2), lambda t: PI / 2 * np.cos(PI * t / 2)),
    ("sqrt(2*t*(1-t))", lambda t: np.sqrt(2 * t * (1 - t)),
     lambda t: (1 - 2 * t) / np.sqrt(2 * t * (1 - t))),
    ("1-t**2", lambda t: 1 - t**2, lambda t: -2 * t),
    ("(1-t)**3", lambda t: (1 - t) ** 3, lambda t: -3 * (1 - t) ** 2),
    ("t**-2", lambda t: t**-2.0, lambda t: -2 * t**-3.0),
    ("tan(t)", np.tan, lambda t: 1 / np.cos(t) ** 2),
    ("exp(-t)*t", lambda t: np.exp(-t) * t, lambda t: np.exp(-t) * (1 - t)),
    ("log(1+t)", lambda t: np.log(1 + t), lambda t: 1 / (1 + t)),
    ("t/(1+t)", lambda t: t / (1 + t), lambda t: 1 / (1 + t) ** 2),
    ("abs(t-0.5)", lambda t: np.abs(t - 0.5), lambda t: np.sign(t - 0.5)),
    ("tanh(3*t-1)", lambda t: np.tanh(3 * t - 1), lambda t: 3 * (1 - np.tanh(3 * t - 1) ** 2)),
    ("sigmoid(4*t-2)", lambda t: _sig(4 * t - 2),
     lambda t: 4 * _sig(4 * t - 2) * (1 - _sig(4 * t - 2))),
    ("min(t, 1-t)", lambda t: np.minimum(t, 1 - t), lambda t: np.where(t < 0.5, 1.0, -1.0)),
    ("max(t**2, 0.25)", lambda t: np.maximum(t**2, 0.25), lambda t: np.where(t > 0.5, 2 * t, 0.0)),
    ("clip(2*t, 0.3, 1.2)", lambda t: np.clip(2 * t, 0.3, 1.2),
     lambda t: np.where((t > 0.15) & (t < 0.6), 2.0, 0.0)),
    ("2**t", lambda t: 2.0**t, lambda t: np.log(2) * 2.0**t),
    ("t**t", lambda t: t**t, lambda t: t**t * (np.log(t) + 1)),
    ("e**(-t) + pi", lambda t: np.exp(-t) + PI, lambda t: -np.exp(-t)),
    ("-t + +t*3", lambda t: 2 * t, lambda t: 2 + 0 * t),
    ("exp(log(1+t))", lambda t: 1 + t, lambda t: 1 + 0 * t),
    ("0.5", lambda t: 0.5 + 0 * t, lambda t: 0 * t),
    # Variance-preserving trigonometric α with γ = 0.5 sin(πt) (MATH.md table).
    ("sqrt(1 - (0.5*sin(pi*t))**2)*cos(pi*t/2)",
     lambda t: np.sqrt(1 - (0.5 * np.sin(PI * t)) ** 2) * np.cos(PI * t / 2),
     lambda t: (-(0.5 * np.sin(PI * t)) * (0.5 * PI * np.cos(PI * t))
                / np.sqrt(1 - (0.5 * np.sin(PI * t)) ** 2) * np.cos(PI * t / 2)
                - np.sqrt(1 - (0.5 * np.sin(PI * t)) ** 2) * PI / 2 * np.sin(PI * t / 2))),
]
CASE_IDS = [c[0] for c in CASES]


def test_every_table_function_is_covered():
    used = {name for text, _, _ in CASES for name in FUNCTIONS if f"{name}(" in text}
    assert used == set(FUNCTIONS)


@pytest.mark.parametrize("text,value,deriv", CASES, ids=CASE_IDS)
def test_value_and_derivative_match_hand_computed(text, value, deriv):
    t = torch.tensor(GRID, dtype=torch.float64)
    v, d = parse_formula(text).value_and_derivative(t)
    np.testing.assert_allclose(v.numpy(), value(GRID), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(d.numpy(), deriv(GRID), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(parse_formula(text)(t).numpy(), value(GRID), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("text", CASE_IDS)
def test_derivative_matches_autograd(text):
    f = parse_formula(text)
    t = torch.tensor(GRID, dtype=torch.float64, requires_grad=True)
    value, derivative = f.value_and_derivative(t)
    if not value.requires_grad:  # constant formula
        assert torch.all(derivative == 0)
        return
    (grad,) = torch.autograd.grad(value.sum(), t)
    torch.testing.assert_close(derivative.detach(), grad, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("text", CASE_IDS)
def test_derivative_matches_central_differences(text):
    f = parse_formula(text)
    t = torch.tensor(GRID, dtype=torch.float64)
    h = 1e-6
    fd = (f(t + h) - f(t - h)) / (2 * h)
    torch.testing.assert_close(f.derivative(t), fd, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("text", ["cos(pi*t/2)", "0.5", "t", "min(t, 0.5)"])
def test_shape_and_dtype_follow_t(text, dtype):
    t = torch.linspace(0, 1, 7, dtype=dtype)
    f = parse_formula(text)
    for out in (f(t), *f.value_and_derivative(t)):
        assert out.shape == (7,) and out.dtype == dtype
        assert not out.requires_grad
    t2 = t.reshape(7, 1)
    assert f(t2).shape == (7, 1)
    out = f(t)
    out += 1  # results never alias the caller's t
    assert torch.equal(t, torch.linspace(0, 1, 7, dtype=dtype))


def test_float32_close_to_float64():
    f = parse_formula("sqrt(2*t*(1-t))*cos(pi*t/2)")
    t64 = torch.tensor(GRID)
    v32, d32 = f.value_and_derivative(t64.float())
    v64, d64 = f.value_and_derivative(t64)
    torch.testing.assert_close(v32.double(), v64, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(d32.double(), d64, rtol=1e-4, atol=1e-5)


def test_usable_in_a_training_loop():
    alpha, beta = parse_formula("cos(pi*t/2)"), parse_formula("sin(pi*t/2)")
    net = torch.nn.Linear(3, 2)
    opt = torch.optim.SGD(net.parameters(), lr=1e-2)
    torch.manual_seed(0)
    for _ in range(3):  # a leaked graph would fail on the second backward
        t = torch.rand(16)
        x0, x1 = torch.randn(16, 2), torch.randn(16, 2)
        a, da = alpha.value_and_derivative(t)
        b, db = beta.value_and_derivative(t)
        assert not (a.requires_grad or da.requires_grad or b.requires_grad or db.requires_grad)
        xt = a[:, None] * x0 + b[:, None] * x1
        target = da[:, None] * x0 + db[:, None] * x1
        loss = ((net(torch.cat([xt, t[:, None]], 1)) - target) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        assert torch.isfinite(loss)


def test_text_is_normalised_and_formula_is_hashable_and_frozen():
    f = parse_formula("cos( pi*t /2 )")
    g = parse_formula("cos(pi * t / 2)")
    assert f.text == g.text == "cos(pi * t / 2)"
    assert f == g and hash(f) == hash(g) and len({f, g}) == 1
    assert f != parse_formula("sin(pi*t/2)")
    assert isinstance(f, Formula)
    with pytest.raises(AttributeError):
        f.text = "t"


@pytest.mark.parametrize("text,expected", [("t**2", "2*t"), ("1-t", "-1"), ("3", "0"),
                                           ("exp(2*t)", "exp(2*t)*2")])
def test_derivative_text(text, expected):
    assert parse_formula(text).derivative_text == expected


@pytest.mark.parametrize("text", ["cos(pi*t/2)", "sqrt(2*t*(1-t))", "t**t", "exp(-t)*t",
                                  "sigmoid(4*t-2)", "tan(t)"])
def test_derivative_text_reparses_to_the_derivative(text):
    f = parse_formula(text)
    t = torch.tensor(GRID)
    torch.testing.assert_close(parse_formula(f.derivative_text)(t), f.derivative(t),
                               rtol=1e-12, atol=1e-12)


HOSTILE = [
    ("__import__('os').system('echo hi')", "attribute access is not allowed"),
    ("().__class__.__bases__[0].__subclasses__()", "attribute access is not allowed"),
    ("t.__class__", "attribute access is not allowed"),
    ("__import__('os')", "function '__import__' is not allowed"),
    ("[x for x in (1,)]", "comprehensions are not allowed"),
    ("lambda: 1", "lambda is not allowed"),
    ("(lambda: t)()", "lambda is not allowed"),
    ("f'{t}'", "f-strings are not allowed"),
    ("'abc'", "strings are not allowed"),
    ("b'x'", "bytes are not allowed"),
    ("open('x')", "function 'open' is not allowed"),
    ("eval('1')", "function 'eval' is not allowed; allowed: sin, cos, tan"),
    ("exec('1')", "function 'exec' is not allowed"),
    ("9**9**9", "exponent"),
    ("t**11", "exponent 11 is too large"),
    ("t**(1/0)", "exponent inf is too large"),
    ("1e7*t", "too large"),
    ("1e999", "too large"),
    ("(" * 500 + "t" + ")" * 500, "too long"),
    ("t" + " " * MAX_LENGTH, "too long (201 characters"),
    ("-" * 60 + "t", "nested too deeply"),
    ("sin(" * 25 + "t" + ")" * 25, "nested too deeply"),
    ("t" + "+t" * 60, "too complex"),
    ("sin(t", "could not parse 'sin(t'"),
    ("sin(t))", "could not parse"),
    ("t +", "could not parse"),
    ("unknown(t)", "function 'unknown' is not allowed"),
    ("os", "unknown name 'os'"),
    ("x", "unknown name 'x'"),
    ("sin", "function 'sin' must be called"),
    ("\u0455in(t)", "non-ASCII character"),  # Cyrillic s
    ("\uff53\uff49\uff4e(t)", "non-ASCII character"),  # full-width sin
    ("t\x00", "control character"),
    ("t if t else 1", "conditional expressions"),
    ("t < 1", "comparisons are not allowed"),
    ("t and 1", "boolean operators"),
    ("not t", "operator 'not'"),
    ("~t", "operator '~'"),
    ("t // 2", "operator '//'"),
    ("t % 2", "operator '%'"),
    ("t ^ 2", "use ** for powers"),
    ("(t := 1)", "assignment"),
    ("sin(x=t)", "keyword arguments are not allowed"),
    ("sin(*t)", "starred arguments are not allowed"),
    ("min(t)", "function 'min' takes 2 arguments, got 1"),
    ("clip(t, 0)", "function 'clip' takes 3 arguments, got 2"),
    ("sin(t, t)", "function 'sin' takes 1 argument, got 2"),
    ("sin(t)(t)", "only the listed functions can be called"),
    ("t[0]", "subscripts"),
    ("(t, t)", "tuples are not allowed"),
    ("{t}", "sets are not allowed"),
    ("True", "True is not allowed"),
    ("None", "None is not allowed"),
    ("...", "Ellipsis is not allowed"),
    ("1j", "complex numbers are not allowed"),
    ("(yield t)", "yield is not allowed"),
    ("", "empty"),
    ("   ", "empty"),
]


@contextlib.contextmanager
def tripwires():
    """Within the block, dangerous callables are traps that record any call to them.

    ``compile`` and ``__import__`` pass through (ast.parse calls compile to build the tree,
    ast.walk imports collections lazily) but every call is recorded for the caller to check.
    """
    calls = []

    def trap(name):
        def _trap(*args, **kwargs):
            calls.append((name, args))
            raise AssertionError(f"{name} was called")
        return _trap

    real_compile, real_import = builtins.compile, builtins.__import__

    def checked_compile(source, filename, mode, flags=0, *args, **kwargs):
        calls.append(("compile", flags))
        return real_compile(source, filename, mode, flags, *args, **kwargs)

    def checked_import(name, *args, **kwargs):
        calls.append(("__import__", name))
        return real_import(name, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(builtins, "compile", checked_compile)
        for mod, name in [(os, "system"), (os, "popen"), (subprocess, "Popen"),
                          (builtins, "eval"), (builtins, "exec"), (builtins, "open")]:
            mp.setattr(mod, name, trap(name))
        mp.setattr(builtins, "__import__", checked_import)
        yield calls


@pytest.mark.parametrize("text,message", HOSTILE, ids=[repr(h[0])[:40] for h in HOSTILE])
def test_hostile_or_broken_input_rejected_without_side_effects(text, message):
    with tripwires() as calls:
        try:
            parse_formula(text)
        except FormulaError as exc:
            error = exc
        else:
            error = None
    assert error is not None, f"{text!r} was accepted"
    msg = str(error)
    assert message in msg
    assert "\n" not in msg and len(msg) < 300
    # Only ast.parse may call compile, and only to build a syntax tree (no code object).
    assert all(flags & ast.PyCF_ONLY_AST for name, flags in calls if name == "compile")
    imported = {arg for name, arg in calls if name == "__import__"}
    assert not imported & {"os", "sys", "subprocess", "builtins", "importlib", "shutil"}
    assert {name for name, _ in calls} <= {"compile", "__import__"}  # no trap was hit


def test_formula_error_is_value_error():
    assert issubclass(FormulaError, ValueError)
    with pytest.raises(ValueError):
        parse_formula("os")
    with pytest.raises(FormulaError, match="must be a string"):
        parse_formula(3)


def test_limits_are_inclusive():
    text = "(" + " " * (MAX_LENGTH - 3) + "t)"
    assert len(text) == MAX_LENGTH and parse_formula(text).text == "t"
    assert parse_formula("1e6*t**10 + t**-10 + t**(1/2) + t**t + 2**t")
    assert parse_formula("-" * 18 + "t").text == "-" * 18 + "t"


def test_module_never_executes_code():
    tree = ast.parse(Path(formula_module.__file__).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in {"eval", "exec", "compile", "__import__"}
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
            assert not any(n.split(".")[0] in {"sympy", "numexpr", "os", "subprocess"}
                           for n in names)


@pytest.mark.parametrize("text,message", [
    ("1/t", "value is inf at t=0"),
    ("log(t)", "value is -inf at t=0"),
    ("sqrt(t-2)", "value is nan at t=0"),
    ("log(t-0.5)", "value is nan at t=0"),
    ("1/(t-0.5)", "value is inf at t=0.5"),
    ("sqrt(abs(t-0.5))", "derivative is nan at t=0.5"),  # sign(0)/0
    ("exp(100*t)", "(in float32)"),
])
def test_check_finite_rejects(text, message):
    with pytest.raises(FormulaError) as info:
        check_finite(parse_formula(text))
    assert message in str(info.value)


@pytest.mark.parametrize("text", ["sqrt(t*(1-t))", "sqrt(2*t*(1-t))", "cos(pi*t/2)", "1-t**2",
                                  "t**t", "clip(t, 0.2, 0.8)", "abs(t-0.5)", "0"])
def test_check_finite_accepts(text):
    check_finite(parse_formula(text))
    check_finite(parse_formula(text), n=11)
