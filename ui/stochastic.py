"""Streamlit side of the "Stochastic side" page: which model to use, its widgets, a small memo.

The computations live in `playground.stochastic` (pure, unit-tested); this module picks the
`ModelView` (the Playground's trained model, or the exact field of a Gaussian-mixture pair,
which needs no training), draws the page's widgets (every one with a `key=` and
`persist_state="session"`), and keeps the last few results per session so that a rerun with the
same settings costs nothing.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import streamlit as st

from playground.config import ExperimentConfig
from playground.sde import DEFAULT_T0, EPSILON_SHAPE_LABELS, EPSILON_SHAPES
from playground.stochastic import COMPARE_MODES, ModelView, exact_unavailable, exact_view, learned_view
from playground.theory import FALLBACK
from ui.controls import dist_label, distribution_controls, schedule_controls
from ui.literal import escape

PERSIST = {"persist_state": "session"}
MEMO_KEY, MEMO_SIZE = "sto_memo", 12
SOURCES = {"learned": "current Playground model", "exact": "exact field (no training)"}


def on_click(label: str, state_key: str, key: tuple, fn: Callable, spinner: str):
    """A button that runs fn() and keeps its result for these settings (`key`) in the session;
    returns the kept result while the settings stay the same, else None."""
    if st.button(label, key=f"{state_key}_btn"):
        with st.spinner(spinner):
            st.session_state[state_key] = (key, fn())
    stored = st.session_state.get(state_key)
    return stored[1] if stored and stored[0] == key else None


def memo(key: tuple, fn: Callable):
    """fn() once per key for this session (the last MEMO_SIZE keys are kept)."""
    store = st.session_state.setdefault(MEMO_KEY, OrderedDict())
    if key in store:
        store.move_to_end(key)
        return store[key]
    value = fn()
    store[key] = value
    while len(store) > MEMO_SIZE:
        store.popitem(last=False)
    return value


def sidebar_config(values: dict) -> ExperimentConfig | None:
    """The config the sidebar's distribution and schedule widgets describe (None if invalid)."""
    fields = {k: v for k, v in values.items() if k in ExperimentConfig.__dataclass_fields__}
    fields["seed"] = int(st.session_state.get("seed", 0))
    try:
        return ExperimentConfig(**fields).validate()
    except ValueError:
        return None


def choose_model(sess) -> tuple[ModelView | None, str]:
    """Sidebar: the model source and, for the exact field, the pair and schedule.

    Returns (view, message): view is None (with a message saying what to do) when there is no
    model to show; otherwise message is "" or a note saying that the sidebar's pair has no exact
    field, so the page shows `theory.FALLBACK` (gaussian → 8 Gaussians) with the same schedule."""
    has_model = sess.has_model
    options = list(SOURCES)
    st.session_state.setdefault("sto_model", "learned" if has_model else "exact")
    source = st.sidebar.radio("model", options, key="sto_model",
                              format_func=SOURCES.get, **PERSIST,
                              help="the drift (and score) trained on the Playground page, or the "
                                   "closed-form field of a Gaussian-mixture pair")
    if source == "learned":
        if not has_model:
            return None, ("No trained model yet. Train one on the **Playground** page, or choose "
                          "**exact field** in the sidebar: with Gaussian-mixture base and target "
                          "(e.g. gaussian → 8 Gaussians) it needs no training.")
        st.sidebar.caption(f"Trained on {escape(sess.state.base.label)} → {escape(sess.state.target.label)}, "
                           f"{sess.state.step:,} steps; change it on the Playground page.")
        return learned_view(sess.state), ""
    st.sidebar.subheader("Exact field: distributions and interpolant")
    values = distribution_controls(st.sidebar)
    values |= schedule_controls(st.sidebar, show_plot=False)
    cfg = sidebar_config(values)
    if cfg is None:
        return None, "These settings are not valid (see the sidebar)."
    why = exact_unavailable(cfg)
    note = ""
    if why is not None:  # e.g. the default moons: show the nearest pair that has one, and say so
        fallback = cfg.replace(base=FALLBACK[0], target=FALLBACK[1], base_params={}, target_params={})
        why = escape(why)  # may quote a drawing's or a file's name
        if exact_unavailable(fallback) is not None:
            return None, f"No exact field here: {why}."
        note = (f"No exact field for these settings: {why}. Showing {dist_label(FALLBACK[0])} → "
                f"{dist_label(FALLBACK[1])} with your schedule instead.")
        cfg = fallback
    return memo(("view",) + exact_view_key(cfg), lambda: exact_view(cfg)), note


def exact_view_key(cfg: ExperimentConfig) -> tuple:
    return (cfg.base, cfg.target, repr(cfg.base_params), repr(cfg.target_params), cfg.schedule,
            cfg.power, cfg.gamma, cfg.gamma_scale, cfg.alpha, cfg.beta, cfg.seed)


def sde_controls(has_score: bool) -> dict:
    """ε, its shape, the noise toggle, the comparison mode, steps, particles and t0."""
    c1, c2, c3 = st.columns([2, 2, 3])
    eps = c1.slider("ε (noise level)", 0.0, 5.0, 0.5, 0.05, key="sto_eps", **PERSIST,
                    help="dX = [b + ε(t) s] dt + √(2ε(t)) dW: the same marginals for every ε ≥ 0; "
                         "ε = 0 is the ODE. Chosen at sampling time: no retraining.")
    shapes = list(EPSILON_SHAPES)
    shape = c2.selectbox("ε(t) shape", shapes, key="sto_shape", format_func=EPSILON_SHAPE_LABELS.get,
                         **PERSIST, help="bump and sin² switch the noise off towards t = 0 and t = 1")
    modes = list(COMPARE_MODES)
    mode = c3.radio("compare", modes, key="sto_compare", format_func=COMPARE_MODES.get,
                    horizontal=True, **PERSIST)
    # one row (the animation starts higher up); the second ε only when it is used
    two = mode == "two-eps"
    cols = st.columns([4, 3, 3, 3, 4] if two else [4, 3, 3, 4])
    d1, d2, d3, d4, d5 = cols if two else (cols[0], None, *cols[1:])
    noise = d1.toggle("noise on (SDE)", True, key="sto_noise", **PERSIST,
                      help="off sets ε = 0: the SDE panel becomes the ODE (Euler), identical to it")
    eps2 = 2.0
    if two:
        eps2 = d2.slider("second ε", 0.0, 5.0, 2.0, 0.05, key="sto_eps2", **PERSIST)
    steps = d3.slider("time steps", 20, 200, 100, 4, key="sto_steps", **PERSIST,
                      help="integration steps = animation frames − 1 (integrators: drift evaluations)")
    particles = d4.slider("particles", 200, 2000, 1000, 100, key="sto_particles", **PERSIST)
    t0 = d5.select_slider("t0: SDE on [t0, 1 − t0]", [1e-4, 1e-3, 1e-2, 3e-2], DEFAULT_T0,
                          key="sto_t0", format_func=lambda v: f"{v:g}", **PERSIST,
                          help="the score −η/γ is singular where γ = 0 (t = 0 and t = 1); measured: "
                               "1e-4 and 1e-3 sample equally well, 1e-2 is 1.5× and 3e-2 4.5× "
                               "further from the target (energy distance)")
    return {"epsilon": float(eps) if noise else 0.0, "shape": shape, "mode": mode,
            "epsilon2": float(eps2) if noise else 0.0, "steps": int(steps),
            "particles": int(particles), "t0": float(t0), "noise": noise}
