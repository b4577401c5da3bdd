"""Widgets that build an `ExperimentConfig`, and small views shared by pages.

Every widget has a `key=` (tests set them by key) and `persist_state="session"` so its value
survives page switches. Ranges come from `playground.config.LIMITS`, tightened to what stays
smooth in a browser (`UI_LIMITS`), and stated next to the widget.
"""

from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from playground.animation import MAX_FRAMES, MAX_PARTICLES, PLOTLY_MAX_PARTICLES
from playground.config import CHOICES, LIMIT_REASONS, LIMITS, ExperimentConfig
from playground.couplings import COUPLING_LABELS
from playground.distributions import DISTRIBUTIONS
from playground.sampling import SAMPLER_LABELS
from playground.schedules import GAMMAS, PAIRS, resolve_schedule
from playground.sde import EPSILON_SHAPE_LABELS, EPSILON_SHAPES
from playground.sketch import schedule_svg
from ui.literal import code, escape

UI_LIMITS = {"steps": (0, 50_000), "seconds": (0.5, 600.0), "batch": (32, 2048), "width": (16, 512), "depth": (1, 6),
             "sample_steps": (2, MAX_FRAMES - 1)}
PERSIST = {"persist_state": "session"}
SHORT_PAIRS = {"trig-vp": "√(1−γ²)·cos, √(1−γ²)·sin", "encdec": "cos²(πt) on each half"}
"""Menu text for pairs whose full formulas would be cut in the sidebar (the Schedules page prints them)."""
DEFAULTS = ExperimentConfig()


def _label(registry, name):
    return f"{name}: {registry[name].label}" if hasattr(registry[name], "label") else name


def dist_label(name: str) -> str:
    return DISTRIBUTIONS[name]().label if name in DISTRIBUTIONS else name


def _user_entry(side: str) -> dict | None:
    """What the user made on the Draw page for this side (see pages/3_draw.py), if anything."""
    return (st.session_state.get("user_dist") or {}).get(side)


def distribution_controls(container=st) -> dict:
    """Base and target selectboxes: every registered preset, plus "user" (what the user drew or
    uploaded on the Draw page) when there is one for that side."""
    out = {}
    # one under the other: side by side, a sidebar cut the names ("standard G", "two moon…")
    for col, side, label, help_ in zip((container, container), ("base", "target"), ("base ρ0", "target ρ1"),
                                       ("where particles start (t = 0)", "where particles should end (t = 1)")):
        entry = _user_entry(side)
        names = list(DISTRIBUTIONS) + (["user"] if entry else [])
        if st.session_state.get(side) not in names:
            st.session_state.pop(side, None)  # e.g. "user" after the drawing was removed
        default = getattr(DEFAULTS, side)
        choice = col.selectbox(label, names, index=names.index(default), key=side, help=help_,
                               format_func=lambda n, e=entry: f"yours: {e['label']}" if n == "user" else dist_label(n),
                               **PERSIST)
        if choice == "user":
            out[side], out[f"{side}_params"] = entry["name"], entry["params"]
        else:
            out[side], out[f"{side}_params"] = choice, {}
    return out


def schedule_controls(container=st, show_plot: bool = True) -> dict:
    """α/β pair, γ and its scale (and p for 'power'), optionally typed formulas, with a small plot
    of α, β, γ over t. A formula that fails a check is reported and the last valid one is used."""
    pairs, gammas = list(PAIRS), list(GAMMAS)
    ss = st.session_state  # typed α, β override the pair's: the menu says so instead of "linear: α = 1 − t"
    typed = [s for s, k in (("α", "alpha_text"), ("β", "beta_text"))
             if ss.get("use_formulas") and str(ss.get(k) or "").strip()]
    schedule = container.selectbox("α, β schedule" + (f" ({' and '.join(typed)} typed below)" if typed else ""),
                                   pairs, index=pairs.index(DEFAULTS.schedule), key="schedule",
                                   format_func=(lambda n: f"{n}: {SHORT_PAIRS.get(n, PAIRS[n].label)}")
                                   if len(typed) < 2 else (lambda n: f"{n} (not used: α, β typed)"), **PERSIST)
    power = DEFAULTS.power
    if schedule == "power":
        lo, hi = LIMITS["power"]
        power = container.slider("power p", lo, hi, DEFAULTS.power, 0.25, key="power", **PERSIST,
                                 help=f"α = (1 − t)^p, β = t^p; p ≥ {lo:g} because {LIMIT_REASONS['power']}")
    gamma_typed = bool(ss.get("use_formulas") and str(ss.get("gamma_text") or "").strip())
    gamma = container.selectbox("γ (noise)" + (" (γ typed below)" if gamma_typed else ""), gammas,
                                index=gammas.index(DEFAULTS.gamma), key="gamma", **PERSIST,
                                format_func=(lambda n: f"{n} (not used: γ typed)") if gamma_typed else
                                (lambda n: f"{n}: {GAMMAS[n].label.split(' (')[0]}"))  # short: not cut
    max_scale = 4.0 if schedule != "trig-vp" else {"brownian": 4.0, "squared": 4.0}.get(gamma, 1.0)
    scale = DEFAULTS.gamma_scale
    if gamma != "zero":
        scale = container.slider("γ scale a", 0.0, max_scale, min(DEFAULTS.gamma_scale, max_scale),
                                 0.05, key="gamma_scale", **PERSIST,
                                 help="a in γ = √(a t(1−t)), a t(1−t) or a sin²(πt)")
    values = {"schedule": schedule, "power": float(power), "gamma": gamma, "gamma_scale": float(scale),
              "alpha": "", "beta": ""}
    if container.toggle("type α, β, γ as formulas", False, key="use_formulas", **PERSIST,
                        help="numbers, t, pi, e, + − * / **, and sin cos tan exp log sqrt abs tanh "
                             "sigmoid min max clip; empty keeps the schedule's coefficient"):
        values = formula_controls(container, values)
    if show_plot:
        sched = resolve_schedule(**{k: values[k] for k in ("schedule", "gamma", "gamma_scale", "power",
                                                           "alpha", "beta")})
        t = torch.linspace(0, 1, 101, dtype=torch.float64)
        out = sched(t)
        container.markdown(schedule_svg(t.numpy(), out.alpha.numpy(), out.beta.numpy(), out.gamma.numpy()),
                           unsafe_allow_html=True)
    return values


def formula_controls(container, values: dict) -> dict:
    """Text inputs for α, β, γ. Every check is shown; on failure the last valid formulas stay."""
    alpha = container.text_input("α(t)", "", key="alpha_text", placeholder="e.g. cos(pi*t/2)",
                                 max_chars=200, **PERSIST)
    beta = container.text_input("β(t)", "", key="beta_text", placeholder="e.g. sin(pi*t/2)",
                                max_chars=200, **PERSIST)
    gamma = container.text_input("γ(t)", "", key="gamma_text", placeholder="e.g. sqrt(t*(1-t))",
                                 max_chars=200, **PERSIST)
    trial = {**values, "alpha": alpha.strip(), "beta": beta.strip()}
    if gamma.strip():
        trial["gamma"] = gamma.strip()
    problems = ExperimentConfig(**trial).schedule_problems()
    if problems:  # "rejected": for a page that shows the failure beside its plots (pages/4_schedules.py)
        for p in problems:
            container.error(escape(p))
        last = st.session_state.get("last_valid_formulas")
        rejected = {"problems": problems, "typed": {"alpha": alpha.strip(), "beta": beta.strip(),
                                                   "gamma": gamma.strip()}, "using": last}
        if last:
            container.caption("Using the last valid schedule: " + ", ".join(
                f"{k} = {code(v)}" for k, v in last.items() if v and k in ("alpha", "beta", "gamma")))
            return {**values, **last, "rejected": rejected}
        container.caption("Using the selected schedule until the formulas pass every check.")
        return {**values, "rejected": rejected}
    st.session_state["last_valid_formulas"] = {k: trial[k] for k in ("alpha", "beta", "gamma")}
    container.success("α(0)=1, α(1)=0, β(0)=0, β(1)=1, γ(0)=γ(1)=0, finite on [0, 1], γ ≥ 0: all hold")
    return trial


def model_controls(container=st) -> dict:
    c1, c2 = container.columns(2)
    width = c1.select_slider("width", [16, 32, 64, 128, 256, 512], DEFAULTS.width, key="width", **PERSIST)
    depth = c2.slider("depth", *UI_LIMITS["depth"], DEFAULTS.depth, key="depth", **PERSIST)
    return {"width": int(width), "depth": int(depth)}


DEFAULT_SECONDS = DEFAULTS.seconds or 3.0


def budget_controls(container=st) -> dict:
    """How long Train trains, as the config says it: steps > 0 is a number of optimizer steps (the
    same run on every machine); steps = 0 (the default) trains for `seconds` (as many steps as fit)."""
    c1, c2 = container.columns(2)
    steps = c2.number_input("steps", 0, UI_LIMITS["steps"][1], DEFAULTS.steps, 500, key="steps", **PERSIST,
                            help=f"optimizer steps, 0 to {UI_LIMITS['steps'][1]:,}; 0: train for the seconds on "
                                 "the left instead (the step count then depends on the machine)")
    lo, hi = UI_LIMITS["seconds"]
    seconds = c1.number_input("seconds", lo, hi, DEFAULT_SECONDS, 1.0, key="seconds", **PERSIST, format="%g",
                              disabled=steps > 0, help=f"seconds of training, {lo:g} to {hi:g}; used when steps "
                                                       "is 0. The learning rate decays over them")
    return {"steps": int(steps), "seconds": 0.0 if steps > 0 else float(seconds)}


def training_controls(container=st) -> dict:
    budget = budget_controls(container)
    c1, c2 = container.columns(2)
    batch = c1.select_slider("batch", [32, 64, 128, 256, 512, 1024, 2048], DEFAULTS.batch, key="batch",
                             **PERSIST)
    lrs = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 1.0, 10.0]
    lr = c2.select_slider("learning rate", lrs, DEFAULTS.lr, key="lr", format_func=lambda v: f"{v:g}",
                          **PERSIST, help="cosine decay to 0 over the steps; 1 and 10 diverge (try it)")
    seed = c1.number_input("seed", 0, 2**31 - 1, DEFAULTS.seed, 1, key="seed", **PERSIST)
    coupling = container.selectbox("coupling", list(CHOICES["coupling"]), key="coupling",
                                   format_func=COUPLING_LABELS.get, **PERSIST)
    averaged = container.checkbox(
        "averaged target (lower variance)", DEFAULTS.averaged_target, key="averaged_target", **PERSIST,
        help="regress on ẋ_t averaged over the batch's other samples, E[ẋ_t | x_t, the batch], when the "
             "base or the target is a Gaussian mixture and the coupling is independent (else ẋ_t "
             "itself). Far less noise per step; the loss shown is still |b̂ − ẋ_t|². See the Theory page")
    device = container.selectbox("device", list(CHOICES["device"]), key="device", **PERSIST,
                                 help="auto: CUDA, then Apple MPS, then the CPU")
    return {**budget, "batch": int(batch), "lr": float(lr), "seed": int(seed),
            "coupling": coupling, "averaged_target": bool(averaged), "device": device}


def sampling_controls(container=st) -> dict:
    samplers = list(CHOICES["sampler"])
    c1 = c2 = container  # one under the other: in a column the sidebar cut "Heun (2 a s"
    sampler = c1.selectbox("integrator", samplers, index=samplers.index(DEFAULTS.sampler),
                           key="sampler", format_func=SAMPLER_LABELS.get, **PERSIST)
    steps = c2.slider("integration steps", *UI_LIMITS["sample_steps"], DEFAULTS.sample_steps,
                      key="sample_steps", **PERSIST,
                      help=f"steps from t = 0 to 1 = animation frames − 1 (at most {MAX_FRAMES - 1}); Euler "
                           "evaluates the drift once a step, Heun twice, RK4 four times")
    out = {"sampler": sampler, "sample_steps": int(steps)}
    if sampler == "em":
        shapes = list(EPSILON_SHAPES)
        out["epsilon"] = container.slider("ε (SDE noise)", 0.0, 5.0, 0.5, 0.05, key="epsilon", **PERSIST,
                                          help="dX = [b + ε s] dt + √(2ε) dW; ε = 0 is the ODE. Needs the "
                                               "score, learned when γ > 0")
        out["epsilon_shape"] = container.selectbox("ε(t) shape", shapes, key="epsilon_shape",
                                                   format_func=EPSILON_SHAPE_LABELS.get, **PERSIST)
        container.caption(f"The SDE runs on [t0, 1 − t0] = [{DEFAULTS.t0:g}, {1 - DEFAULTS.t0:g}]: "
                          "the score is singular where γ = 0.")
    out["direction"] = container.radio("direction", list(CHOICES["direction"]), key="direction",
                                       horizontal=True, **PERSIST,
                                       format_func={"forward": "forward: base → target",
                                                    "backward": "backward: target → base"}.get)
    return out


RENDERERS = {"canvas": "canvas: smooth, ≤ 10,000 particles",
             "plotly": "Plotly: drift arrows, trails, hover"}
ANIMATION_DEFAULTS = {"renderer": "canvas", "particles": 1000, "trails": 30, "arrows": True}


def _options(renderer: str, particles: int, trails: int, arrows: bool) -> dict:
    cap = PLOTLY_MAX_PARTICLES if renderer == "plotly" else MAX_PARTICLES
    return {"renderer": renderer, "particles": int(min(particles, cap)), "trails": int(trails),
            "arrows_grid": 15 if arrows and renderer == "plotly" else 0}


def animation_options() -> dict:
    """The animation settings as the widgets of `animation_controls` hold them (their defaults
    before they are first drawn), so the animation above can be drawn before its settings below."""
    ss = st.session_state
    return _options(*(ss.get(k, v) for k, v in ANIMATION_DEFAULTS.items()))


def animation_controls(container=st) -> dict:
    c0, c1, c2, c3 = container.columns([4, 3, 3, 2])  # wide enough for "arrows" and its help beside a 340 px sidebar
    renderer = c0.selectbox("renderer", list(RENDERERS), key="renderer", format_func=RENDERERS.get, **PERSIST)
    cap = PLOTLY_MAX_PARTICLES if renderer == "plotly" else MAX_PARTICLES
    if st.session_state.get("particles", 0) > cap:
        st.session_state["particles"] = cap
    particles = c1.slider("particles", 100, cap, min(ANIMATION_DEFAULTS["particles"], cap), 100, key="particles",
                          **PERSIST, help=f"at most {cap:,} per panel with this renderer, so the animation stays "
                                          "smooth")
    trails = c2.slider("trails", 0, 200, ANIMATION_DEFAULTS["trails"], 10, key="trails", **PERSIST,
                       help="paths of this many particles (Plotly)", disabled=renderer != "plotly")
    arrows = c3.toggle("arrows", ANIMATION_DEFAULTS["arrows"], key="arrows", **PERSIST,
                       help="the drift b̂(t, x) on a 15×15 grid (Plotly)", disabled=renderer != "plotly")
    return _options(renderer, particles, trails, arrows)


def config_from_widgets(values: dict) -> ExperimentConfig:
    """The config the widgets describe (ranges already enforced by the widgets)."""
    fields = {k: v for k, v in values.items() if k in ExperimentConfig.__dataclass_fields__}
    return ExperimentConfig(**fields).validate()


def preview_points(cfg: ExperimentConfig, n: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """Samples of the base and target of cfg (cached: a pure function of the names and params)."""
    return _preview(cfg.base, cfg.base_params, cfg.target, cfg.target_params, cfg.seed, n)


@st.cache_data(max_entries=64, show_spinner=False)
def _preview(base: str, base_params: dict, target: str, target_params: dict, seed: int,
             n: int) -> tuple[np.ndarray, np.ndarray]:
    from playground.distributions import make_distribution

    g = torch.Generator().manual_seed(seed + 10)
    return (make_distribution(base, base_params).sample(n, g).numpy(),
            make_distribution(target, target_params).sample(n, g).numpy())
