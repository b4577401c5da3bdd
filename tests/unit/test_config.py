"""ExperimentConfig: JSON round trip, limits, choices, non-finite numbers, unknown keys."""

from __future__ import annotations

import json
import math
import re
from dataclasses import fields

import pytest

from playground.config import CHOICES, LIMITS, ConfigError, ExperimentConfig
from playground.couplings import COUPLINGS
from playground.distributions import DISTRIBUTIONS
from playground.models import ACTIVATIONS
from playground.sampling import SAMPLERS
from playground.schedules import GAMMAS, PAIRS

DEFAULTS = ExperimentConfig()
INT_FIELDS = [name for name in LIMITS if isinstance(getattr(DEFAULTS, name), int)]
FLOAT_FIELDS = [name for name in LIMITS if isinstance(getattr(DEFAULTS, name), float)]


def _below(name: str) -> float | int:
    lo, _ = LIMITS[name]
    if name in INT_FIELDS:
        return int(lo) - 1
    return lo - max(abs(lo) * 0.5, 1e-3)


def _above(name: str) -> float | int:
    _, hi = LIMITS[name]
    if name in INT_FIELDS:
        return int(hi) + 1
    return hi + max(abs(hi) * 0.5, 1e-3)


def _rejects(data: dict, name: str) -> ConfigError:
    with pytest.raises(ConfigError) as exc:
        ExperimentConfig.from_dict(data)
    assert name in str(exc.value), f"the message does not name {name!r}: {exc.value}"
    return exc.value


def test_defaults_are_valid():
    assert DEFAULTS.problems() == []
    assert DEFAULTS.validate() is DEFAULTS


def test_every_numeric_field_is_int_or_float():
    assert sorted(INT_FIELDS + FLOAT_FIELDS) == sorted(LIMITS)


def test_registries_match_the_choices():
    """The names a config accepts are exactly the names the library registers."""
    assert CHOICES["schedule"] == tuple(PAIRS)
    assert CHOICES["gamma"] == tuple(GAMMAS)
    assert CHOICES["coupling"] == tuple(COUPLINGS)
    assert CHOICES["sampler"] == tuple(SAMPLERS)
    assert CHOICES["activation"] == tuple(ACTIVATIONS)


@pytest.mark.parametrize("cfg", [
    ExperimentConfig(),
    ExperimentConfig(base="mixture", base_params={"means": [[0, 1], [1, 0]], "stds": [0.3, 0.4]},
                     target="cloud", target_params={"points": [[0.5, 0.5]], "bandwidth": 0.1},
                     schedule="power", power=3.0, gamma="brownian", gamma_scale=0.25,
                     antithetic=False, coupling="ot", width=64, depth=2, activation="gelu",
                     time_features=0, steps=17, seconds=1.5, batch=100, lr=3e-4,
                     lr_schedule="constant", grad_clip=0.0, seed=12345, samples=777,
                     sampler="rk4", sample_steps=9, direction="backward", device="cpu"),
    ExperimentConfig(schedule="trig", alpha="cos(pi*t/2)**2", beta="t**2",
                     gamma="sqrt(0.5*t*(1-t))"),
], ids=["defaults", "everything-changed", "formulas"])
def test_json_round_trip_is_identity(cfg):
    text = cfg.to_json()
    back = ExperimentConfig.from_json(text)
    assert back == cfg
    assert back.to_json() == text
    for f in fields(ExperimentConfig):  # same types, not just equal values (1 == 1.0)
        assert type(getattr(back, f.name)) is type(getattr(cfg, f.name)), f.name
    assert json.loads(text) == cfg.to_dict()


@pytest.mark.parametrize("name", list(LIMITS))
def test_limits_are_inclusive(name):
    lo, hi = LIMITS[name]
    other = {"steps": {"seconds": 1.0}, "seconds": {"steps": 1}}.get(name, {})  # 0 needs the other budget
    for value in (lo, hi):
        cfg = ExperimentConfig.from_dict({name: value, **(other if value == 0 else {})})
        assert getattr(cfg, name) == value


@pytest.mark.parametrize("name", list(LIMITS))
@pytest.mark.parametrize("side", ["below", "above"])
def test_out_of_range_is_rejected_naming_the_field(name, side):
    value = _below(name) if side == "below" else _above(name)
    _rejects({name: value}, name)
    with pytest.raises(ConfigError, match=name):
        DEFAULTS.replace(**{name: value})


@pytest.mark.parametrize("name", list(CHOICES))
def test_unknown_choice_is_rejected_naming_the_field(name):
    err = _rejects({name: "no-such-choice"}, name)
    if name == "gamma":  # γ may also be a formula in t: the text is read as one and rejected
        return
    assert "no-such-choice" in str(err)
    for allowed in CHOICES[name]:  # the message lists what is allowed
        assert allowed in str(err)


@pytest.mark.parametrize("side", ["base", "target"])
def test_unknown_distribution_is_rejected(side):
    err = _rejects({side: "no-such-distribution"}, side)
    for name in DISTRIBUTIONS:
        assert name in str(err)


@pytest.mark.parametrize("name", list(LIMITS))
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "-inf"])
def test_non_finite_numbers_are_rejected(name, value):
    _rejects({name: value}, name)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_json_literals_are_rejected(literal):
    with pytest.raises(ConfigError, match="lr"):
        ExperimentConfig.from_json(f'{{"lr": {literal}}}')


@pytest.mark.parametrize("data,name", [
    ({"width": "wide"}, "width"), ({"steps": 2.5}, "steps"), ({"seed": True}, "seed"),
    ({"lr": "fast"}, "lr"), ({"antithetic": "maybe"}, "antithetic"), ({"base": 3}, "base"),
    ({"base_params": [1, 2]}, "base_params"), ({"lr": None}, "lr"),
], ids=lambda v: str(v) if isinstance(v, str) else None)
def test_wrong_types_are_rejected_naming_the_field(data, name):
    _rejects(data, name)


def test_integral_floats_and_numeric_strings_are_coerced():
    cfg = ExperimentConfig.from_dict({"steps": 100.0, "lr": "0.001", "antithetic": "false"})
    assert cfg.steps == 100 and type(cfg.steps) is int
    assert cfg.lr == 0.001 and cfg.antithetic is False


def test_unknown_keys():
    with pytest.raises(ConfigError, match="colour"):
        ExperimentConfig.from_dict({"colour": "red", "steps": 10})
    cfg = ExperimentConfig.from_dict({"colour": "red", "steps": 10}, strict=False)
    assert cfg.steps == 10 and not hasattr(cfg, "colour")


@pytest.mark.parametrize("text", ["[1, 2]", '"a string"', "not json", "{"], ids=["list", "string",
                                                                               "garbage", "truncated"])
def test_from_json_rejects_non_objects(text):
    with pytest.raises(ConfigError):
        ExperimentConfig.from_json(text)


def test_all_problems_are_reported_at_once():
    cfg = ExperimentConfig()
    cfg.width, cfg.sampler = 0, "nope"
    problems = cfg.problems()
    assert len(problems) == 2
    with pytest.raises(ConfigError) as exc:
        cfg.validate()
    assert "width" in str(exc.value) and "sampler" in str(exc.value)


@pytest.mark.parametrize("gamma,scale,ok", [("brownian", 4.0, True), ("squared", 4.0, True),
                                            ("sinesquared", 1.0, True), ("sinesquared", 1.5, False)])
def test_trig_vp_needs_gamma_at_most_one(gamma, scale, ok):
    data = {"schedule": "trig-vp", "gamma": gamma, "gamma_scale": scale}
    if ok:
        ExperimentConfig.from_dict(data)
    else:
        _rejects(data, "trig-vp")


@pytest.mark.parametrize("data,words", [
    ({"alpha": "1 - t/2"}, ["α(1)"]),
    ({"beta": "t**2 + 0.1"}, ["β(0)"]),
    ({"gamma": "0.3*t"}, ["γ(1)"]),
    ({"gamma": "-t*(1-t)"}, ["γ", "≥ 0"]),
    ({"alpha": "import os"}, ["alpha"]),
    ({"gamma": "t*(1-t) + undefined"}, ["gamma"]),
], ids=["alpha-boundary", "beta-boundary", "gamma-boundary", "negative-gamma", "alpha-syntax",
        "gamma-unknown-name"])
def test_bad_formulas_are_rejected(data, words):
    with pytest.raises(ConfigError) as exc:
        ExperimentConfig.from_dict(data)
    for word in words:
        assert word in str(exc.value)


def test_formula_schedule_is_stochastic_and_valid():
    cfg = ExperimentConfig.from_dict({"alpha": "1 - t", "beta": "t", "gamma": "t*(1-t)"})
    assert cfg.stochastic and cfg.has_formulas and cfg.gamma_is_formula
    assert not ExperimentConfig().has_formulas


def test_stochastic_flag():
    assert not ExperimentConfig().stochastic
    assert ExperimentConfig(gamma="brownian", gamma_scale=0.5).stochastic
    assert not ExperimentConfig(gamma="brownian", gamma_scale=0.0).stochastic


def test_old_key_nfe_reads_as_sample_steps():
    """A config.json from before the rename holds "nfe": it means integration steps, as it always did."""
    assert ExperimentConfig.from_dict({"nfe": 7}).sample_steps == 7
    assert ExperimentConfig.from_json('{"nfe": 12, "sampler": "rk4"}').sample_steps == 12
    assert ExperimentConfig.from_dict({"nfe": 7, "sample_steps": 9}).sample_steps == 9  # the new name wins
    with pytest.raises(ConfigError, match="sample_steps"):
        ExperimentConfig.from_dict({"nfe": 0})
    assert "nfe" not in ExperimentConfig().to_dict()


@pytest.mark.parametrize("changes,where", [({"beta": "sqrt(t)"}, "β̇(0)"), ({"alpha": "sqrt(1-t)"}, "α̇(1)"),
                                           ({"beta": "t**0.7"}, "β̇(0)")])
def test_a_typed_coefficient_with_an_infinite_slope_at_an_end_is_refused(changes, where):
    """β = sqrt(t) has β̇(0) = ∞, as the power pair with p < 1: the drift is infinite there and the
    exact flow wrote NaN. A typed γ may have an infinite slope at the ends (the drift uses γγ̇)."""
    with pytest.raises(ConfigError, match=re.escape(where) + ".*infinite"):
        ExperimentConfig.from_dict(changes)
    assert ExperimentConfig.from_dict({"gamma": "sqrt(t*(1-t))"}).gamma == "sqrt(t*(1-t))"
    assert ExperimentConfig.from_dict({"beta": "t**2", "alpha": "(1-t)**2"}).beta == "t**2"


def test_power_below_one_is_refused_saying_why():
    with pytest.raises(ConfigError, match="power must be between 1.0 and 10.0.*infinite"):
        ExperimentConfig.from_dict({"schedule": "power", "power": 0.5})
