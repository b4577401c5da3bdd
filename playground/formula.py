"""Safe user-typed schedule formulas in ``t`` with an exact, automatic derivative.

A schedule coefficient (α, β or γ in MATH.md) may be typed as text such as ``cos(pi*t/2)`` or
``sqrt(2*t*(1-t))``. :func:`parse_formula` checks the text against a strict whitelist (it is
parsed with ``ast.parse(..., mode="eval")`` and walked node by node; nothing is ever evaluated
by Python's ``eval``/``exec``), builds a small expression tree, and differentiates that tree
symbolically. Both trees are evaluated with torch ops in the dtype of ``t``, so the value and
the derivative are exact (no finite differences) and carry an autograd graph only when ``t``
itself requires grad. :func:`check_finite` rejects formulas whose value is inf/NaN somewhere on
[0, 1] or whose derivative is inf/NaN inside (0, 1).

Grammar: numbers, ``t``, ``pi``, ``e``, ``+ - * / **``, unary ``-``/``+``, parentheses and
the functions in :data:`FUNCTIONS` (``clip(x, lo, hi) = min(max(x, lo), hi)``,
``sigmoid(x) = 1/(1+exp(-x))``).
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass, field

import torch

MAX_LENGTH = 200  # characters, checked before parsing
MAX_NODES = 100  # expression nodes in the parsed tree
MAX_DEPTH = 20  # nesting depth of the parsed tree
MAX_CONSTANT = 1e6  # largest |numeric literal|
MAX_EXPONENT = 10.0  # largest |exponent| when the exponent does not depend on t

#: Allowed functions and their exact number of positional arguments.
FUNCTIONS: dict[str, int] = {
    "sin": 1, "cos": 1, "tan": 1, "exp": 1, "log": 1, "sqrt": 1, "abs": 1,
    "tanh": 1, "sigmoid": 1, "min": 2, "max": 2, "clip": 3,
}
NAMES = ("t", "pi", "e")
_ALLOWED = ", ".join(FUNCTIONS)


class FormulaError(ValueError):
    """A formula was rejected; the message is one readable line."""


# ----------------------------------------------------------------------------- expression tree
class _Node:
    has_t = True


@dataclass(frozen=True, eq=False)
class _Const(_Node):
    value: float
    label: str = ""
    has_t = False


@dataclass(frozen=True, eq=False)
class _Var(_Node):
    pass


@dataclass(frozen=True, eq=False)
class _Bin(_Node):
    op: str  # one of + - * / **
    a: _Node
    b: _Node
    has_t: bool = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "has_t", self.a.has_t or self.b.has_t)


@dataclass(frozen=True, eq=False)
class _Neg(_Node):
    a: _Node
    has_t: bool = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "has_t", self.a.has_t)


@dataclass(frozen=True, eq=False)
class _Fn(_Node):
    name: str  # a key of _TORCH_FN (includes the internal "sign", "min", "max")
    args: tuple
    has_t: bool = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "has_t", any(a.has_t for a in self.args))


@dataclass(frozen=True, eq=False)
class _Select(_Node):
    """``da if a <op> b else db`` (derivative of min/max); op is "<=" or ">="."""

    op: str
    a: _Node
    b: _Node
    da: _Node
    db: _Node
    has_t: bool = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "has_t", True)  # the branch taken depends on t


_T = _Var()
_ZERO, _ONE, _TWO = _Const(0.0), _Const(1.0), _Const(2.0)

_TORCH_FN = {
    "sin": torch.sin, "cos": torch.cos, "tan": torch.tan, "exp": torch.exp, "log": torch.log,
    "sqrt": torch.sqrt, "abs": torch.abs, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
    "sign": torch.sign, "min": torch.minimum, "max": torch.maximum,
}
_TORCH_BIN = {"+": torch.add, "-": torch.sub, "*": torch.mul, "/": torch.div, "**": torch.pow}


def _is(node: _Node, value: float) -> bool:
    return isinstance(node, _Const) and node.value == value


# Smart constructors: drop terms that are exactly 0 or 1 and fold float constants.
def _add(a, b):
    if _is(a, 0):
        return b
    if _is(b, 0):
        return a
    if isinstance(b, _Neg):
        return _sub(a, b.a)
    if isinstance(a, _Const) and isinstance(b, _Const) and not (a.label or b.label):
        return _Const(a.value + b.value)
    return _Bin("+", a, b)


def _sub(a, b):
    if _is(b, 0):
        return a
    if _is(a, 0):
        return _neg(b)
    if isinstance(a, _Const) and isinstance(b, _Const) and not (a.label or b.label):
        return _Const(a.value - b.value)
    return _Bin("-", a, b)


def _mul(a, b):
    if _is(a, 0) or _is(b, 0):
        return _ZERO
    if _is(a, 1):
        return b
    if _is(b, 1):
        return a
    if _is(a, -1):
        return _neg(b)
    if _is(b, -1):
        return _neg(a)
    if isinstance(a, _Const) and isinstance(b, _Const) and not (a.label or b.label):
        return _Const(a.value * b.value)
    return _Bin("*", a, b)


def _div(a, b):
    if _is(a, 0):
        return _ZERO
    if _is(b, 1):
        return a
    return _Bin("/", a, b)


def _neg(a):
    if isinstance(a, _Const) and not a.label:
        return _Const(-a.value)
    if isinstance(a, _Neg):
        return a.a
    return _Neg(a)


def _pow(a, b):
    if _is(b, 1):
        return a
    if _is(b, 0):
        return _ONE
    return _Bin("**", a, b)


def _derive(node: _Node) -> _Node:
    """Symbolic d/dt of an expression tree (reuses the subtrees of ``node``)."""
    if not node.has_t:
        return _ZERO
    if isinstance(node, _Var):
        return _ONE
    if isinstance(node, _Neg):
        return _neg(_derive(node.a))
    if isinstance(node, _Bin):
        a, b = node.a, node.b
        da, db = _derive(a), _derive(b)
        if node.op == "+":
            return _add(da, db)
        if node.op == "-":
            return _sub(da, db)
        if node.op == "*":
            return _add(_mul(da, b), _mul(a, db))
        if node.op == "/":
            return _sub(_div(da, b), _div(_mul(a, db), _pow(b, _TWO)))
        # power
        if not b.has_t:  # a**c: c * a**(c-1) * a'
            plain = isinstance(b, _Const) and not b.label
            c_minus_1 = _Const(b.value - 1.0) if plain else _sub(b, _ONE)
            return _mul(_mul(b, _pow(a, c_minus_1)), da)
        if not a.has_t:  # c**b: c**b * log(c) * b'
            log_a = _ONE if (isinstance(a, _Const) and a.value == math.e) else _Fn("log", (a,))
            return _mul(_mul(node, log_a), db)
        return _mul(node, _add(_mul(db, _Fn("log", (a,))), _div(_mul(b, da), a)))
    if isinstance(node, _Fn):
        if node.name in ("min", "max"):
            a, b = node.args
            return _Select("<=" if node.name == "min" else ">=", a, b, _derive(a), _derive(b))
        (u,) = node.args
        du, name = _derive(u), node.name
        if name == "sin":
            outer = _Fn("cos", (u,))
        elif name == "cos":
            outer = _neg(_Fn("sin", (u,)))
        elif name == "tan":
            return _div(du, _pow(_Fn("cos", (u,)), _TWO))
        elif name == "exp":
            outer = node
        elif name == "log":
            return _div(du, u)
        elif name == "sqrt":
            return _div(du, _mul(_TWO, node))
        elif name == "abs":
            outer = _Fn("sign", (u,))
        elif name == "tanh":
            outer = _sub(_ONE, _pow(node, _TWO))
        elif name == "sigmoid":
            outer = _mul(node, _sub(_ONE, node))
        else:  # pragma: no cover - "sign" is piecewise constant
            return _ZERO
        return _mul(outer, du)
    raise TypeError(f"cannot differentiate {node!r}")  # pragma: no cover


def _evaluate(node: _Node, t: torch.Tensor, cache: dict) -> torch.Tensor:
    """Evaluate a tree elementwise at ``t`` (any shape); ``cache`` maps id(node) -> tensor."""
    key = id(node)
    if key in cache:
        return cache[key]
    if isinstance(node, _Const):
        out = torch.tensor(node.value, dtype=t.dtype, device=t.device)
    elif isinstance(node, _Var):
        out = t
    elif isinstance(node, _Neg):
        out = torch.neg(_evaluate(node.a, t, cache))
    elif isinstance(node, _Bin):
        out = _TORCH_BIN[node.op](_evaluate(node.a, t, cache), _evaluate(node.b, t, cache))
    elif isinstance(node, _Fn):
        out = _TORCH_FN[node.name](*(_evaluate(a, t, cache) for a in node.args))
    elif isinstance(node, _Select):
        a, b = _evaluate(node.a, t, cache), _evaluate(node.b, t, cache)
        cond = a <= b if node.op == "<=" else a >= b
        out = torch.where(cond, _evaluate(node.da, t, cache), _evaluate(node.db, t, cache))
    else:  # pragma: no cover
        raise TypeError(f"unknown node {node!r}")
    cache[key] = out
    return out


_PREC = {"+": 1, "-": 1, "*": 2, "/": 2, "**": 4}


def _to_text(node: _Node) -> tuple[str, int]:
    """Render a tree as Python-like text; returns (text, precedence)."""
    if isinstance(node, _Const):
        if node.label:
            return node.label, 5
        v = node.value
        s = str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
        return s, (3 if v < 0 else 5)
    if isinstance(node, _Var):
        return "t", 5
    if isinstance(node, _Neg):
        s, p = _to_text(node.a)
        return "-" + (s if p >= 3 else f"({s})"), 3
    if isinstance(node, _Bin):
        p = _PREC[node.op]
        (sa, pa), (sb, pb) = _to_text(node.a), _to_text(node.b)
        if node.op == "**":
            left_ok, right_ok = pa > p, pb >= 3
        else:
            left_ok, right_ok = pa >= p, pb > p and pb != 3  # 2*(-t), not 2*-t
        sa = sa if left_ok else f"({sa})"
        sb = sb if right_ok else f"({sb})"
        sep = "**" if node.op == "**" else f" {node.op} " if p == 1 else node.op
        return f"{sa}{sep}{sb}", p
    if isinstance(node, _Fn):
        return f"{node.name}({', '.join(_to_text(a)[0] for a in node.args)})", 5
    if isinstance(node, _Select):
        parts = [_to_text(x)[0] for x in (node.da, node.a, node.b, node.db)]
        return f"({parts[0]} if {parts[1]} {node.op} {parts[2]} else {parts[3]})", 5
    raise TypeError(f"unknown node {node!r}")  # pragma: no cover


# ----------------------------------------------------------------------------- parsing
_DISALLOWED = {
    ast.Attribute: "attribute access is not allowed",
    ast.Subscript: "indexing/subscripts are not allowed",
    ast.Slice: "slices are not allowed",
    ast.JoinedStr: "f-strings are not allowed",
    ast.FormattedValue: "f-strings are not allowed",
    ast.Lambda: "lambda is not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "comprehensions/generators are not allowed",
    ast.List: "lists are not allowed",
    ast.Tuple: "tuples are not allowed",
    ast.Set: "sets are not allowed",
    ast.Dict: "dicts are not allowed",
    ast.Compare: "comparisons are not allowed",
    ast.BoolOp: "boolean operators (and/or) are not allowed",
    ast.IfExp: "conditional expressions (if/else) are not allowed",
    ast.NamedExpr: "assignment (:=) is not allowed",
    ast.Starred: "starred arguments are not allowed",
    ast.Await: "await is not allowed",
    ast.Yield: "yield is not allowed",
    ast.YieldFrom: "yield is not allowed",
}
_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_BAD_BINOPS = {ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.LShift: "<<",
               ast.RShift: ">>", ast.BitOr: "|", ast.BitXor: "^", ast.BitAnd: "&"}


def _constant(node: ast.Constant) -> _Const:
    v = node.value
    if isinstance(v, bool) or v is None or v is Ellipsis:
        raise FormulaError(f"{v!r} is not allowed; only numbers, t, pi and e")
    if isinstance(v, (str, bytes)):
        raise FormulaError(f"{'strings' if isinstance(v, str) else 'bytes'} are not allowed")
    if isinstance(v, complex):
        raise FormulaError("complex numbers are not allowed")
    if not isinstance(v, (int, float)):  # pragma: no cover - no other literal kinds exist
        raise FormulaError(f"constant of type {type(v).__name__} is not allowed")
    if not abs(v) <= MAX_CONSTANT:  # also rejects inf and nan; safe for huge ints
        raise FormulaError(
            f"constant {ast.unparse(node)[:20]} is too large (|constant| <= {MAX_CONSTANT:g})")
    return _Const(float(v))


def _convert(node: ast.AST, depth: int) -> _Node:
    """Whitelist walk: ast node -> expression tree, raising FormulaError on anything else."""
    if depth > MAX_DEPTH:
        raise FormulaError(f"formula is nested too deeply (more than {MAX_DEPTH} levels)")
    d = depth + 1
    if isinstance(node, ast.Constant):
        return _constant(node)
    if isinstance(node, ast.Name):
        if node.id == "t":
            return _T
        if node.id in ("pi", "e"):
            return _Const(math.pi if node.id == "pi" else math.e, node.id)
        if node.id in FUNCTIONS:
            raise FormulaError(f"function '{node.id}' must be called, e.g. {node.id}(t)")
        raise FormulaError(f"unknown name '{node.id}'; allowed names: t, pi, e")
    if isinstance(node, ast.UnaryOp):
        if isinstance(node.op, ast.USub):
            return _neg(_convert(node.operand, d))
        if isinstance(node.op, ast.UAdd):
            return _convert(node.operand, d)
        sym = "not" if isinstance(node.op, ast.Not) else "~"
        raise FormulaError(f"operator '{sym}' is not allowed; allowed: + - * / **")
    if isinstance(node, ast.BinOp):
        op = _BINOPS.get(type(node.op))
        if op is None:
            sym = _BAD_BINOPS.get(type(node.op), type(node.op).__name__)
            hint = " (use ** for powers)" if sym == "^" else ""
            raise FormulaError(f"operator '{sym}' is not allowed; allowed: + - * / **{hint}")
        a, b = _convert(node.left, d), _convert(node.right, d)
        if op == "**" and not b.has_t:
            # The exponent is a (float) constant: bound it. Checked bottom-up, so 9**9**9
            # is rejected at 9**(9**9) without ever computing the huge number.
            c = float(_evaluate(b, torch.zeros((), dtype=torch.float64), {}))
            if not abs(c) <= MAX_EXPONENT:
                raise FormulaError(f"exponent {c:g} is too large "
                                   f"(a constant exponent needs |exponent| <= {MAX_EXPONENT:g})")
        return _Bin(op, a, b)
    if isinstance(node, ast.Call):
        func = node.func
        if not isinstance(func, ast.Name):
            msg = _DISALLOWED.get(type(func), "only the listed functions can be called")
            raise FormulaError(msg)
        name = func.id
        if name not in FUNCTIONS:
            raise FormulaError(f"function '{name}' is not allowed; allowed: {_ALLOWED}")
        if node.keywords:
            raise FormulaError(f"keyword arguments are not allowed (in {name}(...))")
        if any(isinstance(a, ast.Starred) for a in node.args):
            raise FormulaError(f"starred arguments are not allowed (in {name}(...))")
        want = FUNCTIONS[name]
        if len(node.args) != want:
            plural = "argument" if want == 1 else "arguments"
            raise FormulaError(f"function '{name}' takes {want} {plural}, got {len(node.args)}")
        args = tuple(_convert(a, d) for a in node.args)
        if name == "clip":
            x, lo, hi = args
            return _Fn("min", (_Fn("max", (x, lo)), hi))
        return _Fn(name, args)
    msg = _DISALLOWED.get(type(node), f"{type(node).__name__} expressions are not allowed")
    raise FormulaError(msg)


def _check_characters(text: str) -> None:
    for i, ch in enumerate(text):
        if ord(ch) > 126:
            raise FormulaError(
                f"non-ASCII character {ch!r} (U+{ord(ch):04X}) at position {i} is not allowed; "
                "type the formula in plain ASCII")
        if ord(ch) < 32 and ch not in "\t\n\r":
            raise FormulaError(f"control character U+{ord(ch):04X} at position {i} is not allowed")


@dataclass(frozen=True)
class Formula:
    """A parsed, validated formula in ``t``; equal and hashed by its normalised ``text``.

    ``f(t)`` and ``f.value_and_derivative(t)`` accept a float tensor ``t`` of any shape,
    e.g. (n,), and return tensors of that shape and dtype.
    """

    text: str
    derivative_text: str = field(compare=False)
    _value: _Node = field(compare=False, repr=False)
    _derivative: _Node = field(compare=False, repr=False)

    @staticmethod
    def _prepare(t) -> torch.Tensor:
        t = torch.as_tensor(t)
        return t if t.is_floating_point() else t.to(torch.get_default_dtype())

    @staticmethod
    def _finish(out: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        if out is t:
            return t.clone()
        if out.shape != t.shape:
            return out.expand(t.shape).clone()
        return out

    def __call__(self, t: torch.Tensor) -> torch.Tensor:
        """Value at ``t`` (shape (n,) or any shape), same shape and dtype as ``t``."""
        t = self._prepare(t)
        return self._finish(_evaluate(self._value, t, {}), t)

    def value_and_derivative(self, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(value, exact d/dt value) at ``t``, each with the shape and dtype of ``t``."""
        t = self._prepare(t)
        cache: dict = {}
        value = _evaluate(self._value, t, cache)
        derivative = _evaluate(self._derivative, t, cache)
        return self._finish(value, t), self._finish(derivative, t)

    def derivative(self, t: torch.Tensor) -> torch.Tensor:
        """Exact d/dt at ``t``, same shape and dtype as ``t``."""
        return self.value_and_derivative(t)[1]


def parse_formula(text: str) -> Formula:
    """Parse and validate ``text``, a formula in ``t``; raise :class:`FormulaError` if rejected.

    Checks, in order: type, length <= MAX_LENGTH, ASCII only, syntax, <= MAX_NODES nodes,
    depth <= MAX_DEPTH, whitelisted nodes/names/functions, |constants| <= MAX_CONSTANT and
    |constant exponents| <= MAX_EXPONENT. Does not evaluate anything numerically on a grid;
    use :func:`check_finite` for that.
    """
    if not isinstance(text, str):
        raise FormulaError(f"formula must be a string, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"formula is too long ({len(text)} characters, at most {MAX_LENGTH})")
    _check_characters(text)
    source = " ".join(text.split())
    if not source:
        raise FormulaError("formula is empty")
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise FormulaError(f"could not parse {source!r}: {exc.msg}") from None
    except (RecursionError, MemoryError, ValueError) as exc:
        raise FormulaError(f"could not parse {source!r}: {type(exc).__name__}") from None
    n_nodes = sum(isinstance(n, ast.expr) for n in ast.walk(tree))
    if n_nodes > MAX_NODES:
        raise FormulaError(f"formula is too complex ({n_nodes} nodes, at most {MAX_NODES})")
    value = _convert(tree.body, 1)
    derivative = _derive(value)
    return Formula(ast.unparse(tree.body), _to_text(derivative)[0], value, derivative)


def check_finite(formula: Formula, n: int = 1001) -> None:
    """Raise :class:`FormulaError` if the value is inf/NaN at some t of the grid
    ``linspace(0, 1, n)`` or the derivative is inf/NaN at an interior grid point (the
    endpoints are skipped for the derivative, so ``sqrt(t*(1-t))`` passes). Checked in
    float64 and in float32 (the training dtype); the message names the first bad t.
    """
    for dtype in (torch.float64, torch.float32):
        t = torch.linspace(0.0, 1.0, n, dtype=torch.float64).to(dtype)
        value, derivative = formula.value_and_derivative(t)
        where = "" if dtype == torch.float64 else " (in float32)"
        for what, values, lo in (("value", value, 0), ("derivative", derivative, 1)):
            inner = values[lo:n - lo] if lo else values
            bad = (~torch.isfinite(inner)).nonzero()
            if len(bad):
                i = int(bad[0]) + lo
                raise FormulaError(
                    f"{formula.text}: {what} is {float(values[i])} at t={float(t[i]):g}{where}")
