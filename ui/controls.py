"""Widgets that build an `ExperimentConfig`, and small views shared by pages.

Every widget has a `key=` (tests set them by key) and `persist_state="session"` so its value
survives page switches. Ranges come from `playground.config.LIMITS`, tightened to what stays
smooth in a browser (`UI_LIMITS`), and stated next to the widget.
"""

from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from playground.animation import MAX_FRAMES, MAX_PARTICLES
from playground.config import CHOICES, ExperimentConfig
from playground.couplings import COUPLING_LABELS
from playground.distributions import DISTRIBUTIONS
from playground.figures import schedule_figure
from playground.sampling import SAMPLER_LABELS
from playground.schedules import GAMMAS, PAIRS, make_schedule

UI_LIMITS = {"steps": (10, 50_000), "batch": (32, 2048), "width": (16, 512), "depth": (1, 6),
             "particles": (100, MAX_PARTICLES), "nfe": (2, MAX_FRAMES - 1)}
PERSIST = {"persist_state": "session"}
DEFAULTS = ExperimentConfig()


def _label(registry, name):
    return f"{name}: {registry[name].label}" if hasattr(registry[name], "label") else name


def dist_label(name: str) -> str:
    return DISTRIBUTIONS[name]().label if name in DISTRIBUTIONS else name


def distribution_controls(container=st) -> dict:
    names = list(DISTRIBUTIONS)
    c1, c2 = container.columns(2)
    base = c1.selectbox("base ρ0", names, index=names.index(DEFAULTS.base), key="base",
                        format_func=dist_label, help="where particles start (t = 0)", **PERSIST)
    target = c2.selectbox("target ρ1", names, index=names.index(DEFAULTS.target), key="target",
                          format_func=dist_label, help="where particles should end (t = 1)", **PERSIST)
    return {"base": base, "target": target}


def schedule_controls(container=st, show_plot: bool = True) -> dict:
    """α/β pair, γ and its scale (and p for 'power'), with a small plot of α, β, γ over t."""
    pairs, gammas = list(PAIRS), list(GAMMAS)
    schedule = container.selectbox("α, β schedule", pairs, index=pairs.index(DEFAULTS.schedule),
                                   key="schedule", format_func=lambda n: f"{n}: {PAIRS[n].label}",
                                   **PERSIST)
    power = DEFAULTS.power
    if schedule == "power":
        power = container.slider("power p", 0.25, 5.0, DEFAULTS.power, 0.25, key="power", **PERSIST)
    gamma = container.selectbox("γ (noise)", gammas, index=gammas.index(DEFAULTS.gamma), key="gamma",
                                format_func=lambda n: f"{n}: {GAMMAS[n].label}", **PERSIST)
    max_scale = 4.0 if schedule != "trig-vp" else {"brownian": 4.0, "squared": 4.0}.get(gamma, 1.0)
    scale = DEFAULTS.gamma_scale
    if gamma != "zero":
        scale = container.slider("γ scale a", 0.0, max_scale, min(DEFAULTS.gamma_scale, max_scale),
                                 0.05, key="gamma_scale", **PERSIST,
                                 help="a in γ = √(a t(1−t)), a t(1−t) or a sin²(πt)")
    if show_plot:
        sched = make_schedule(schedule, gamma, scale, power)
        t = torch.linspace(0, 1, 101, dtype=torch.float64)
        out = sched(t)
        container.plotly_chart(schedule_figure(t.numpy(), out.alpha.numpy(), out.beta.numpy(),
                                               out.gamma.numpy()), key="schedule_mini",
                               config={"displayModeBar": False})
    return {"schedule": schedule, "power": float(power), "gamma": gamma, "gamma_scale": float(scale)}


def model_controls(container=st) -> dict:
    c1, c2 = container.columns(2)
    width = c1.select_slider("width", [16, 32, 64, 128, 256, 512], DEFAULTS.width, key="width", **PERSIST)
    depth = c2.slider("depth", *UI_LIMITS["depth"], DEFAULTS.depth, key="depth", **PERSIST)
    return {"width": int(width), "depth": int(depth)}


def training_controls(container=st) -> dict:
    c1, c2 = container.columns(2)
    steps = c1.number_input("steps", *UI_LIMITS["steps"], DEFAULTS.steps, 500, key="steps", **PERSIST)
    batch = c2.select_slider("batch", [32, 64, 128, 256, 512, 1024, 2048], DEFAULTS.batch, key="batch",
                             **PERSIST)
    lrs = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 1.0, 10.0]
    lr = c1.select_slider("learning rate", lrs, DEFAULTS.lr, key="lr", format_func=lambda v: f"{v:g}",
                          **PERSIST, help="cosine decay to 0 over the steps; 1 and 10 diverge (try it)")
    seed = c2.number_input("seed", 0, 2**31 - 1, DEFAULTS.seed, 1, key="seed", **PERSIST)
    coupling = container.selectbox("coupling", list(CHOICES["coupling"]), key="coupling",
                                   format_func=COUPLING_LABELS.get, **PERSIST)
    device = container.selectbox("device", list(CHOICES["device"]), key="device", **PERSIST,
                                 help="auto: CUDA, then Apple MPS, then the CPU")
    return {"steps": int(steps), "batch": int(batch), "lr": float(lr), "seed": int(seed),
            "coupling": coupling, "device": device}


def sampling_controls(container=st) -> dict:
    samplers = list(CHOICES["sampler"])
    c1, c2 = container.columns(2)
    sampler = c1.selectbox("integrator", samplers, index=samplers.index(DEFAULTS.sampler),
                           key="sampler", format_func=SAMPLER_LABELS.get, **PERSIST)
    nfe = c2.slider("time steps", *UI_LIMITS["nfe"], DEFAULTS.nfe, key="nfe", **PERSIST,
                    help=f"integration steps = animation frames − 1 (at most {MAX_FRAMES - 1})")
    direction = container.radio("direction", list(CHOICES["direction"]), key="direction", horizontal=True,
                                format_func={"forward": "forward: base → target",
                                             "backward": "backward: target → base"}.get, **PERSIST)
    return {"sampler": sampler, "nfe": int(nfe), "direction": direction}


def animation_controls(container=st) -> dict:
    c1, c2, c3 = container.columns(3)
    particles = c1.slider("particles", *UI_LIMITS["particles"], 1000, 100, key="particles", **PERSIST,
                          help=f"at most {MAX_PARTICLES}; above 2500 the animation draws with WebGL")
    trails = c2.slider("trails", 0, 200, 30, 10, key="trails", **PERSIST, help="paths of this many particles")
    arrows = c3.toggle("drift arrows", True, key="arrows", **PERSIST, help="b̂(t, x) on a 15×15 grid")
    return {"particles": int(particles), "trails": int(trails), "arrows_grid": 15 if arrows else 0}


def config_from_widgets(values: dict) -> ExperimentConfig:
    """The config the widgets describe (ranges already enforced by the widgets)."""
    fields = {k: v for k, v in values.items() if k in ExperimentConfig.__dataclass_fields__}
    return ExperimentConfig(**fields).validate()


def preview_points(cfg: ExperimentConfig, n: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    return _preview(cfg.base, cfg.target, cfg.seed, n)


@st.cache_data(max_entries=64, show_spinner=False)
def _preview(base: str, target: str, seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Samples of the base and target (pure function of its arguments: safe to share)."""
    from playground.distributions import make_distribution

    g = torch.Generator().manual_seed(seed + 10)
    return (make_distribution(base).sample(n, g).numpy(), make_distribution(target).sample(n, g).numpy())
