"""Untrusted configs: a shareable URL query and uploaded JSON, validated and clamped on the way in.

`to_query(cfg)` writes the fields that differ from the defaults as short strings (a user-made
point cloud is thinned to `MAX_LINK_POINTS` points so a link stays under a few kB).
`from_untrusted(mapping)` reads a URL query or a JSON object: numbers are clamped to
`config.LIMITS`, unknown names fall back to the default, unknown keys are ignored, formulas are
parsed by the safe parser (never evaluated), and every change comes back as a readable notice.
Nothing in here raises on bad input.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

import numpy as np
import torch

from playground.config import (
    CHOICES,
    LIMITS,
    ConfigError,
    ExperimentConfig,
    _coerce,
    limit_reason,
    renamed_legacy_keys,
)
from playground.distributions import DISTRIBUTIONS

MAX_LINK_POINTS = 300
"""A user-made point cloud is thinned to this many points (3 decimals) in a shareable link."""
MAX_PARAM_CHARS = 20_000
"""Longest JSON text accepted for base_params/target_params from a URL."""
MAX_MIXTURE_COMPONENTS = 200
MAX_SAMPLE_ABS = 100.0
"""A user-made distribution whose samples reach beyond this (the box is ±4) is rejected: it could
only overflow float32 in training and then be reported as a divergence."""

_DEFAULTS = ExperimentConfig()
_FIELDS = {f.name: f for f in fields(ExperimentConfig)}


def thin_params(name: str, params: dict, max_points: int = MAX_LINK_POINTS) -> dict:
    """Params small enough for a link: a cloud's points thinned evenly and rounded to 3 decimals."""
    if name != "cloud" or "points" not in params:
        return params
    pts = np.asarray(params["points"], dtype=float).reshape(-1, 2)
    if len(pts) > max_points:
        pts = pts[np.linspace(0, len(pts) - 1, max_points).round().astype(int)]
    return {**params, "points": np.round(pts, 3).tolist()}


def to_query(cfg: ExperimentConfig) -> dict[str, str]:
    """The non-default fields of cfg as URL query parameters (strings)."""
    out = {}
    for name in _FIELDS:
        value = getattr(cfg, name)
        if value == getattr(_DEFAULTS, name):
            continue
        if name.endswith("_params"):
            side = name[:-7]
            out[name] = json.dumps(thin_params(getattr(cfg, side), value), separators=(",", ":"))
        elif isinstance(value, bool):
            out[name] = "1" if value else "0"
        elif isinstance(value, float):
            out[name] = f"{value:.6g}"
        else:
            out[name] = str(value)
    return out


def _clean_params(side: str, name: str, raw: Any, notices: list[str]) -> dict:
    if isinstance(raw, str):
        if len(raw) > MAX_PARAM_CHARS:
            notices.append(f"{side}_params is longer than {MAX_PARAM_CHARS:,} characters: ignored")
            return {}
        try:
            raw = json.loads(raw)
        except (json.JSONDecodeError, RecursionError):
            notices.append(f"{side}_params is not valid JSON: ignored")
            return {}
    if not isinstance(raw, dict):
        notices.append(f"{side}_params must be an object: ignored")
        return {}
    from playground.distributions import make_distribution

    try:
        if name == "cloud":
            raw = {"points": raw.get("points"), "bandwidth": float(raw.get("bandwidth", 0.05))}
            raw = thin_params("cloud", raw, max_points=20_000)
        elif name == "mixture":
            raw = {k: raw[k] for k in ("means", "stds", "covs", "weights") if k in raw}
            if len(np.asarray(raw.get("means", []), dtype=float).reshape(-1, 2)) > MAX_MIXTURE_COMPONENTS:
                raise ValueError(f"more than {MAX_MIXTURE_COMPONENTS} components")
        probe = make_distribution(name, raw).sample(512, torch.Generator().manual_seed(0))
        if not bool(torch.isfinite(probe).all()) or float(probe.abs().max()) > MAX_SAMPLE_ABS:
            raise ValueError(f"its samples reach beyond ±{MAX_SAMPLE_ABS:g}; the box is ±4")
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        notices.append(f"{side}_params rejected ({exc}): ignored")
        return {}
    return raw


def from_untrusted(data: Mapping[str, Any]) -> tuple[ExperimentConfig, list[str]]:
    """A valid config from untrusted key/values (URL query or JSON), and notices of every change.

    Never raises for bad content: a value that cannot be used keeps the default.
    """
    notices: list[str] = []
    if not isinstance(data, Mapping):
        return ExperimentConfig(), ["the config is not an object: using the defaults"]
    data = renamed_legacy_keys(data)  # an old link's ?nfe=N is sample_steps=N
    cfg = ExperimentConfig()
    for key in data:
        if key not in _FIELDS:
            notices.append(f"unknown setting {str(key)[:30]!r} ignored")
    for name in _FIELDS:
        if name not in data or name.endswith("_params"):
            continue
        raw = data[name]
        default = getattr(_DEFAULTS, name)
        try:
            value = _coerce(name, raw, type(default))
        except ConfigError as exc:
            notices.append(f"{exc}: using {default!r}")
            continue
        if name in LIMITS:
            lo, hi = LIMITS[name]
            if isinstance(value, float) and not math.isfinite(value):
                notices.append(f"{name} = {raw!r} is not finite: using {default!r}")
                continue
            if not lo <= value <= hi:
                clamped = type(default)(min(max(value, lo), hi))
                notices.append(f"{name} = {value!r} is outside {lo:g}..{hi:g}{limit_reason(name)}: "
                               f"clamped to {clamped!r}")
                value = clamped
        if name in CHOICES and name != "gamma" and value not in CHOICES[name]:
            notices.append(f"unknown {name} {str(value)[:30]!r}: using {default!r}")
            continue
        if name in ("base", "target") and value not in DISTRIBUTIONS and value not in ("cloud", "mixture"):
            notices.append(f"unknown {name} distribution {str(value)[:30]!r}: using {default!r}")
            continue
        setattr(cfg, name, value)
    for side in ("base", "target"):
        name = getattr(cfg, side)
        if name in ("cloud", "mixture"):
            params = _clean_params(side, name, data.get(f"{side}_params", {}), notices)
            if params:
                setattr(cfg, f"{side}_params", params)
            else:
                setattr(cfg, side, getattr(_DEFAULTS, side))
                notices.append(f"{side}: using {getattr(_DEFAULTS, side)!r}")
    # formulas and schedule consistency: fall back to the plain schedule, saying why
    problems = cfg.schedule_problems()
    if problems:
        notices += [f"{p}: ignored" for p in problems]
        cfg.alpha, cfg.beta = "", ""
        if cfg.gamma_is_formula:
            cfg.gamma = _DEFAULTS.gamma
        if cfg.schedule_problems():  # e.g. trig-vp with too large a scale
            cfg.gamma_scale = _DEFAULTS.gamma_scale
            if cfg.schedule_problems():
                cfg.schedule, cfg.gamma = _DEFAULTS.schedule, _DEFAULTS.gamma
    budget_notice = cfg.settle_budget(data)  # one budget: ?steps=N alone is N steps (see config)
    if budget_notice:
        notices.append(budget_notice)
    if cfg.steps == 0 and cfg.seconds == 0:
        cfg.seconds = _DEFAULTS.seconds
        notices.append(f"no training budget (steps and seconds both 0): using {cfg.seconds:g} s")
    remaining = cfg.problems()
    if remaining:  # should not happen; never hand out an invalid config
        notices += [f"{p}: using the defaults" for p in remaining]
        return ExperimentConfig(), notices
    return cfg, notices


def from_json_text(text: str | bytes) -> tuple[ExperimentConfig | None, list[str]]:
    """An uploaded config.json: parsed (size-capped) then `from_untrusted`; None when unreadable."""
    if isinstance(text, bytes):
        if len(text) > 2_000_000:
            return None, ["the config file is larger than 2 MB: ignored"]
        try:
            text = text.decode("utf-8-sig")  # a byte-order mark (Windows editors) is fine
        except UnicodeDecodeError:
            return None, ["the config file is not UTF-8 text: ignored"]
    try:
        data = json.loads(text.removeprefix("\ufeff"))
    except (json.JSONDecodeError, RecursionError):
        return None, ["the config file is not valid JSON: ignored"]
    if not isinstance(data, dict):
        return None, ["the config file must hold a JSON object: ignored"]
    return from_untrusted(data)
