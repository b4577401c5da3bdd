"""Shareable links and uploaded configs: round trip, clamping, hostile input."""

import dataclasses
import json
import math

import pytest

from playground.config import CHOICES, LIMITS, ExperimentConfig
from playground.share import MAX_LINK_POINTS, from_json_text, from_untrusted, thin_params, to_query


def _non_default_values():
    """A config where every field differs from its default (and is valid)."""
    return ExperimentConfig(
        base="8gaussians", target="checkerboard", schedule="trig", power=3.0, gamma="brownian",
        gamma_scale=0.5, alpha="cos(pi*t/2)", beta="sin(pi*t/2)", antithetic=False, averaged_target=False,
        coupling="ot", width=64, depth=2, activation="gelu", time_features=2, x_features=1, steps=1234,
        seconds=7.5, batch=512,
        lr=0.003, lr_schedule="constant", grad_clip=2.0, ema=0.99, seed=42, samples=777, sampler="rk4",
        sample_steps=25,
        direction="backward", device="cpu", model="exact", denoiser="on", epsilon=0.5,
        epsilon_shape="bump", t0=0.01)


def test_every_field_is_covered_by_the_round_trip_fixture():
    cfg, default = _non_default_values(), ExperimentConfig()
    same = [f.name for f in dataclasses.fields(cfg) if getattr(cfg, f.name) == getattr(default, f.name)
            and not f.name.endswith("_params")]
    assert same == [], f"fields left at their default: {same}"


def test_config_to_url_to_config_is_identity():
    cfg = _non_default_values()
    query = to_query(cfg)
    assert all(isinstance(v, str) for v in query.values())
    back, notices = from_untrusted(query)
    assert notices == []
    assert back == cfg


def test_user_cloud_travels_thinned_and_mixture_exactly():
    pts = [[math.cos(i / 50), math.sin(i / 50)] for i in range(1000)]
    cfg = ExperimentConfig(base="cloud", base_params={"points": pts, "bandwidth": 0.1},
                           target="mixture", target_params={"means": [[1, 1], [-1, 2]], "stds": [0.2, 0.3],
                                                            "weights": [0.5, 0.5]})
    query = to_query(cfg)
    assert len(query["base_params"]) < 10_000
    back, notices = from_untrusted(query)
    assert notices == []
    assert back.base == "cloud" and len(back.base_params["points"]) == MAX_LINK_POINTS
    assert back.base_params["bandwidth"] == 0.1
    assert back.target_params == cfg.target_params
    assert thin_params("cloud", back.base_params) == back.base_params  # already thin: stable


@pytest.mark.parametrize("key,value,expect", [
    ("steps", "-5", LIMITS["steps"][0]), ("steps", "1e12", LIMITS["steps"][1]),
    ("width", "100000", LIMITS["width"][1]), ("lr", "1e9", LIMITS["lr"][1]),
    ("gamma_scale", "-1", 0.0), ("samples", "0", LIMITS["samples"][0]),
])
def test_out_of_range_numbers_are_clamped_with_a_notice(key, value, expect):
    cfg, notices = from_untrusted({key: value})
    assert getattr(cfg, key) == expect
    assert any(key in n and "clamped" in n for n in notices)


@pytest.mark.parametrize("query", [
    {"lr": "nan"}, {"lr": "inf"}, {"seed": "abc"}, {"steps": "1.5"}, {"target": "../../etc/passwd"},
    {"target": "<script>alert(1)</script>"}, {"schedule": "nope"}, {"sampler": "eval"},
    {"antithetic": "maybe"}, {"gamma": "__import__('os').system('echo pwned')"},
    {"alpha": "().__class__.__bases__[0]"}, {"beta": "9**9**9"}, {"alpha": "1+t"},
    {"base": "cloud", "base_params": "{not json"}, {"base": "cloud", "base_params": "[1,2]"},
    {"base": "cloud", "base_params": '{"points": [[1, "x"]]}'},
    {"base": "mixture", "base_params": '{"means": [[0, 0]], "stds": [-1]}'},
    {"base": "cloud", "base_params": "[" * 5000 + "]" * 5000},
    {"base": "file:/etc/passwd"}, {"unknown_key": "1"}, {"schedule": "trig-vp", "gamma": "sinesquared",
                                                          "gamma_scale": "4"},
])
def test_garbage_is_ignored_with_a_notice_and_never_raises(query, monkeypatch):
    import os

    calls = []
    monkeypatch.setattr(os, "system", lambda *a: calls.append(a))
    cfg, notices = from_untrusted(query)
    assert cfg.problems() == []
    assert notices, f"no notice for {query}"
    assert calls == []
    assert cfg.base in ("gaussian", "cloud", "mixture") and not cfg.base.startswith("file:")


def test_every_choice_survives_the_url():
    for name, options in CHOICES.items():
        for option in options:
            if name == "schedule" and option == "trig-vp":
                continue  # needs γ ≤ 1, covered by the default scale
            cfg, notices = from_untrusted({name: option})
            assert getattr(cfg, name) == option and notices == [], (name, option, notices)


def test_uploaded_json_round_trip_and_bad_files():
    cfg = _non_default_values()
    back, notices = from_json_text(cfg.to_json().encode())
    assert back == cfg and notices == []
    for bad in (b"", b"\xff\xfe", b"{", b"[1, 2]", b"x" * 3_000_000):
        loaded, notices = from_json_text(bad)
        assert loaded is None and notices
    loaded, notices = from_json_text(json.dumps({"steps": -1, "zzz": 1}))
    assert loaded.steps == 0 and loaded.seconds > 0 and len(notices) == 2  # clamped to 0: a time budget


def test_old_link_nfe_is_sample_steps():
    """A link made before the rename (?nfe=30) opens with 30 integration steps; out of range is clamped."""
    cfg, notices = from_untrusted({"nfe": "30", "sampler": "rk4"})
    assert cfg.sample_steps == 30 and cfg.sampler == "rk4" and notices == []
    cfg, notices = from_untrusted({"nfe": "100000"})
    assert cfg.sample_steps == LIMITS["sample_steps"][1] and any("sample_steps" in n for n in notices)
    assert "nfe" not in to_query(ExperimentConfig(sample_steps=30))


def test_link_with_an_infinite_slope_or_a_small_power_is_corrected_with_the_reason():
    cfg, notices = from_untrusted({"beta": "sqrt(t)", "target": "8gaussians"})
    assert cfg.beta == "" and cfg.target == "8gaussians" and any("β̇(0)" in n for n in notices)
    cfg, notices = from_untrusted({"schedule": "power", "power": "0.5"})
    assert cfg.power == LIMITS["power"][0] and any("infinite" in n for n in notices)
