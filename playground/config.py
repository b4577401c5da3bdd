"""One typed, validated experiment config, with limits, JSON round trip and clamping.

`ExperimentConfig` holds everything that reproduces a run: distributions, schedule, γ, coupling,
model, training, sampling and seed. `LIMITS` is the single table of allowed ranges: the CLI
rejects values outside it (`validate`), the UI uses it for widget ranges, and untrusted input
(URL, uploaded JSON) is clamped to it (`from_untrusted`), with a notice for each change.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field, fields
from typing import Any

from playground.couplings import COUPLINGS
from playground.distributions import DISTRIBUTIONS, PARAMETRIC
from playground.schedules import GAMMAS, PAIRS
from playground.score import DENOISER_MODES
from playground.sde import EPSILON_SHAPES

SAMPLER_NAMES = ("euler", "heun", "rk4", "em")  # em: Euler–Maruyama for the SDE (playground.sde)
DIRECTIONS = ("forward", "backward")
ACTIVATION_NAMES = ("silu", "gelu", "relu", "tanh", "softplus")
LR_SCHEDULES = ("cosine", "constant")
DEVICES = ("auto", "cpu", "cuda", "mps")
MODEL_KINDS = ("learned", "exact")


DEFAULT_SECONDS = 3.0
"""The default training budget in seconds (measured: bench/quality.py, README "Quality and speed")."""


class ConfigError(ValueError):
    """A config value is unknown or out of range; the message names the field."""


@dataclass
class ExperimentConfig:
    """Everything that reproduces an experiment. Defaults are the measured fast recipe."""

    # distributions: a registry name, 'mixture'/'cloud' with params, or 'file:PATH'
    base: str = "gaussian"
    target: str = "moons"
    base_params: dict = field(default_factory=dict)
    target_params: dict = field(default_factory=dict)
    # interpolant x_t = α x0 + β x1 + γ z
    schedule: str = "linear"  # α/β pair, see schedules.PAIRS
    power: float = 2.0  # p of the 'power' pair
    gamma: str = "zero"  # see schedules.GAMMAS, or a formula in t such as "sqrt(t*(1-t))"
    gamma_scale: float = 1.0  # a in γ = √(a t(1−t)), a t(1−t), a sin²(πt)
    alpha: str = ""  # a formula in t overriding the pair's α (empty: use the schedule's)
    beta: str = ""  # a formula in t overriding the pair's β
    antithetic: bool = True  # antithetic pairs (z, −z) when γ > 0
    # regress on the target averaged over the batch where a side is a mixture (playground.averaged)
    averaged_target: bool = True
    coupling: str = "independent"  # see couplings.COUPLINGS
    # model: MLP b̂(t, x) with Fourier features of t
    width: int = 128
    depth: int = 3
    activation: str = "silu"
    time_features: int = 3
    x_features: int = 3  # Fourier features of x: sin, cos of 2^k (π/4) x for k < x_features
    # training
    # the budget: steps > 0 is a deterministic run of that many optimizer steps; steps = 0 trains
    # for `seconds` of training time (the default). A config holds one budget (see settle_budget).
    steps: int = 0
    seconds: float = DEFAULT_SECONDS
    batch: int = 256
    lr: float = 1e-2
    lr_schedule: str = "cosine"  # cosine decay to 0 over the budget, or constant
    grad_clip: float = 1.0  # max gradient norm; 0 = off
    ema: float = 0.0  # decay of the exponential moving average of the weights used for sampling; 0 = off
    seed: int = 0
    # sampling
    samples: int = 5000
    sampler: str = "heun"
    sample_steps: int = 50  # integration steps (not evaluations): Euler evaluates b once a step, Heun twice, RK4 4×
    direction: str = "forward"  # forward: base → target; backward: target → base
    device: str = "auto"
    # stochastic side (playground.score, playground.sde)
    model: str = "learned"  # learned: train b̂ (and η̂); exact: a mixture pair's closed form, no training
    denoiser: str = "auto"  # learn η̂(t, x) = E[z | x_t = x] beside b̂: auto (γ > 0 or sampler em), on, off
    epsilon: float = 0.0  # ε of the SDE sampler em (0 = the probability-flow ODE)
    epsilon_shape: str = "constant"  # ε(t): constant, bump = ε·4t(1−t), sinesquared = ε·sin²(πt)
    t0: float = 1e-3  # the SDE runs on [t0, 1 − t0], where the score is finite

    def __post_init__(self):
        self.settle_budget(("steps",))

    def settle_budget(self, given=()) -> str | None:
        """Make steps and seconds say one budget, in place: steps > 0 is a step budget (seconds
        becomes 0), steps = 0 a time budget. `given`: the keys a caller set (a dict, a URL). When
        both are > 0, the one given wins; when both were given (an old config.json, which always
        held both), seconds > 0 meant a time budget there, so steps becomes 0. Returns a notice
        when it had to choose, else None."""
        numbers = (int, float)
        if not (isinstance(self.steps, numbers) and isinstance(self.seconds, numbers)
                and self.steps > 0 and self.seconds > 0):
            return None
        given = set(given)
        if "seconds" in given and "steps" in given:
            self.steps = 0
            return f"steps and seconds both set: training for {self.seconds:g} s (a time budget)"
        if "seconds" in given:
            self.steps = 0
        else:
            self.seconds = 0.0
        return None

    @property
    def budget_text(self) -> str:
        """The budget in words: '3000 steps' or '3 s'."""
        return f"{self.steps} steps" if self.steps > 0 else f"{self.seconds:g} s"

    # ------------------------------------------------------------------ (de)serialisation
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any], strict: bool = True) -> ExperimentConfig:
        """Build and validate. strict: unknown keys and bad values raise ConfigError."""
        if not isinstance(data, dict):
            raise ConfigError("a config must be a JSON object")
        data = renamed_legacy_keys(data)
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown and strict:
            raise ConfigError(f"unknown config field(s): {', '.join(unknown)}")
        cfg = cls()
        for f in fields(cls):
            if f.name in data:
                setattr(cfg, f.name, _coerce(f.name, data[f.name], type(getattr(cfg, f.name))))
        cfg.settle_budget(data)
        cfg.validate()
        return cfg

    @classmethod
    def from_json(cls, text: str) -> ExperimentConfig:
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"the config is not valid JSON: {exc.msg if hasattr(exc, 'msg') else exc}") from None
        return cls.from_dict(data)

    def replace(self, **changes) -> ExperimentConfig:
        """A validated copy with `changes`; replace(seconds=S > 0) alone switches to a time budget."""
        if changes.get("seconds", 0) > 0 and "steps" not in changes:
            changes["steps"] = 0
        cfg = dataclasses.replace(self, **changes)
        cfg.validate()
        return cfg

    # ------------------------------------------------------------------ validation
    def problems(self) -> list[str]:
        """Every problem with this config, as readable lines (empty when valid)."""
        out = []
        for name, (lo, hi) in LIMITS.items():
            v = getattr(self, name)
            if isinstance(v, float) and not math.isfinite(v):
                out.append(f"{name} must be a finite number, got {v}")
            elif not lo <= v <= hi:
                out.append(f"{name} must be between {lo} and {hi}, got {v}" + limit_reason(name))
        if self.steps == 0 and self.seconds == 0:
            out.append("a training budget is needed: steps > 0 or seconds > 0")
        out += self.schedule_problems()
        for name, allowed in CHOICES.items():
            if name == "gamma" and self.gamma_is_formula:
                continue
            if getattr(self, name) not in allowed:
                out.append(f"unknown {name} {getattr(self, name)!r}; choose one of {', '.join(allowed)}")
        for side in ("base", "target"):
            name = getattr(self, side)
            if not (name in DISTRIBUTIONS or name in PARAMETRIC or name.startswith("file:")):
                out.append(f"unknown {side} distribution {name!r}; choose one of "
                           f"{', '.join(DISTRIBUTIONS)}, or mixture, cloud, file:PATH")
            if not isinstance(getattr(self, f"{side}_params"), dict):
                out.append(f"{side}_params must be an object")
        return out

    @property
    def gamma_is_formula(self) -> bool:
        return self.gamma not in GAMMAS

    @property
    def has_formulas(self) -> bool:
        return bool(self.alpha or self.beta or self.gamma_is_formula)

    def schedule_problems(self) -> list[str]:
        """Formula errors, failed boundary conditions, and trig-vp with γ > 1, as readable lines."""
        from playground.formula import check_finite, parse_formula
        from playground.schedules import boundary_checks, resolve_schedule

        out = []
        if self.schedule not in PAIRS:
            return out  # reported with the other choices
        for name in ("alpha", "beta", "gamma"):
            text = getattr(self, name)
            if text and (name != "gamma" or self.gamma_is_formula):
                if not isinstance(text, str):
                    out.append(f"{name} must be a formula string")
                    continue
                try:
                    check_finite(parse_formula(text))
                except ValueError as exc:
                    if name == "gamma" and text.replace("-", "").isalnum() and not text.isdigit():
                        out.append(f"unknown gamma {text!r}; choose one of {', '.join(GAMMAS)}, "
                                   "or type a formula in t")
                    else:
                        out.append(f"{name} formula: {exc}")
        if out or not (math.isfinite(self.power) and self.power > 0) or not (
                math.isfinite(self.gamma_scale) and self.gamma_scale >= 0):
            return out
        schedule = resolve_schedule(self.schedule, self.gamma, self.gamma_scale, self.power,
                                    self.alpha, self.beta)
        for c in boundary_checks(schedule, tol=1e-5):
            if not c.ok:
                sym = {"alpha": "α", "beta": "β", "gamma": "γ"}[c.name]
                out.append(f"boundary condition {sym}({c.t:g}) = {c.expected:g} fails: found {c.value:.4g}")
        if self.alpha or self.beta:  # a registered pair in LIMITS has finite slopes (power: p ≥ 1)
            out += infinite_slopes(schedule)
        if self.schedule == "trig-vp" and schedule.stochastic:
            import torch

            peak = float(schedule.gamma(torch.linspace(0, 1, 201, dtype=torch.float64)).gamma.max())
            if peak > 1 + 1e-9:
                out.append(f"trig-vp needs γ ≤ 1 (α² + β² + γ² = 1); this γ reaches {peak:.3g}")
        if self.gamma_is_formula:
            import torch

            if float(schedule.gamma(torch.linspace(0, 1, 201, dtype=torch.float64)).gamma.min()) < 0:
                out.append("γ must be ≥ 0 on [0, 1]")
        return out

    def validate(self) -> ExperimentConfig:
        errs = self.problems()
        if errs:
            raise ConfigError("; ".join(errs))
        return self

    @property
    def stochastic(self) -> bool:
        if self.gamma_is_formula:
            return True
        return self.gamma != "zero" and self.gamma_scale > 0


LIMITS: dict[str, tuple[float, float]] = {
    "power": (1.0, 10.0),  # see LIMIT_REASONS
    "gamma_scale": (0.0, 4.0),
    "width": (8, 512),
    "depth": (1, 8),
    "time_features": (0, 16),
    "x_features": (0, 8),
    "steps": (0, 200_000),
    "seconds": (0.0, 3600.0),
    "batch": (8, 8192),
    "lr": (1e-6, 1e3),
    "grad_clip": (0.0, 1e6),
    "ema": (0.0, 0.9999),
    "seed": (0, 2**31 - 1),
    "samples": (10, 200_000),
    "sample_steps": (1, 1000),
    "epsilon": (0.0, 10.0),
    "t0": (1e-5, 0.1),
}
"""Allowed range of every numeric field (inclusive)."""

LIMIT_REASONS = {
    "power": "p < 1 makes β̇(0) = +∞ and α̇(1) = −∞, so the drift is infinite at both ends (for p ≤ ½ "
             "even its training loss has infinite expectation)",
}
"""Why a limit is where it is, where that is not obvious; appended to the message."""


def infinite_slopes(schedule) -> list[str]:
    """α̇ or β̇ infinite (or NaN) at t = 0 or 1, as readable lines: the drift α̇ x0 + β̇ x1 would be
    infinite there (β = sqrt(t) and β = t^p with p < 1 have β̇(0) = ∞). γ̇ may be infinite at the
    ends (√(t(1−t))): the drift uses γγ̇, which stays finite."""
    import torch

    ends = schedule(torch.tensor([0.0, 1.0], dtype=torch.float64))
    out = []
    for name, sym in (("d_alpha", "α̇"), ("d_beta", "β̇")):
        for t, v in zip((0, 1), getattr(ends, name).tolist()):
            if not math.isfinite(v):
                out.append(f"{sym}({t}) = {v}: the drift would be infinite at t = {t} (a slope like that of "
                           "sqrt(t) at 0); use a coefficient with a finite slope there, e.g. t**2")
    return out


def limit_reason(name: str) -> str:
    """The reason for a field's limit (LIMIT_REASONS) as ': reason', or '' when none is stated."""
    return f": {LIMIT_REASONS[name]}" if name in LIMIT_REASONS else ""


CHOICES: dict[str, tuple[str, ...]] = {
    "schedule": tuple(PAIRS),
    "gamma": tuple(GAMMAS),
    "coupling": tuple(COUPLINGS),
    "activation": ACTIVATION_NAMES,
    "lr_schedule": LR_SCHEDULES,
    "sampler": SAMPLER_NAMES,
    "direction": DIRECTIONS,
    "device": DEVICES,
    "model": MODEL_KINDS,
    "denoiser": DENOISER_MODES,
    "epsilon_shape": tuple(EPSILON_SHAPES),
}
"""Allowed values of every categorical field."""


LEGACY_KEYS = {"nfe": "sample_steps"}
"""Old names of config fields (a config.json, a link or a manifest written before the rename) -> the
field they mean now. `nfe` was always the number of integration steps, not drift evaluations."""


def renamed_legacy_keys(data: Any) -> Any:
    """A copy of a mapping with old keys (LEGACY_KEYS) renamed; the new name wins when both are there."""
    if not hasattr(data, "keys") or not any(old in data for old in LEGACY_KEYS):
        return data
    out = dict(data)
    for old, new in LEGACY_KEYS.items():
        if old in out:
            value = out.pop(old)
            out.setdefault(new, value)
    return out


def _coerce(name: str, value: Any, kind: type) -> Any:
    """Convert a JSON/URL value to the field's type, or raise ConfigError naming the field."""
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
                return value.lower() in ("1", "true", "yes", "on")
            if isinstance(value, int | float) and value in (0, 1):
                return bool(value)
            raise ValueError
        if kind is int:
            if isinstance(value, bool):
                raise ValueError
            f = float(value)
            if not math.isfinite(f) or f != int(f):
                raise ValueError
            return int(f)
        if kind is float:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if kind is str:
            if not isinstance(value, str):
                raise ValueError
            return value
        if kind is dict:
            if not isinstance(value, dict):
                raise ValueError
            return value
    except (TypeError, ValueError, OverflowError):
        pass
    raise ConfigError(f"{name}: {str(value)[:40]!r} is not a valid {kind.__name__}")
