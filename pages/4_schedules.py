"""Schedules: α, β, γ and their derivatives, the boundary conditions, and the interpolant explorer.

A formula the sidebar rejects is shown here too: plotted with its failing conditions marked when it
can be evaluated, and with the last valid schedule (which the other pages use) printed literally.
"""

from ui.router import through_the_router

through_the_router()  # first line: a fresh server's deep link must reach app.py

import math

import streamlit as st
import torch

from playground.config import ExperimentConfig
from playground.distributions import make_distribution
from playground.experiment import config_warnings
from playground.explorer import explore
from playground.figures import add_path_lines, animation_figure, clean_number, schedule_detail_figure, spread_figure
from playground.interpolants import Interpolant
from playground.schedules import GAMMAS, PAIRS, boundary_checks, plottable_schedule, resolve_schedule
from ui.controls import distribution_controls, schedule_controls
from ui.literal import code, escape

KEYS = ("schedule", "gamma", "gamma_scale", "power", "alpha", "beta")
SYMBOL = {"alpha": "α", "beta": "β", "gamma": "γ"}
NO_BAR = {"displayModeBar": False}


def describe(v: dict) -> str:
    """The schedule of the settings `v` in words, typed formulas as code: what the plots show."""
    pair = v["schedule"] + (f", p = {v['power']:g}" if v["schedule"] == "power" else "")
    typed = [f"{SYMBOL[k]}(t) = {code(v[k])}" if v.get(k) else f"{SYMBOL[k]}(t) from {code(pair)}"
             for k in ("alpha", "beta")]
    if not (v.get("alpha") or v.get("beta")):
        typed = [code(pair) + (f" ({escape(PAIRS[v['schedule']].label)})" if v["schedule"] in PAIRS else "")]
    if v["gamma"] in GAMMAS:
        gamma = escape(GAMMAS[v["gamma"]].label) + ("" if v["gamma"] == "zero" else f" with a = {v['gamma_scale']:g}")
    else:
        gamma = f"γ(t) = {code(v['gamma'])}"
    return ", ".join(typed) + "; " + gamma


def typed_schedule(values: dict, typed: dict):
    """(the rejected formulas as a schedule when they can be drawn, else None; their settings)."""
    trial = {**values, "alpha": typed["alpha"], "beta": typed["beta"]}
    if typed["gamma"]:
        trial["gamma"] = typed["gamma"]
    return plottable_schedule(**{k: trial[k] for k in KEYS}), trial


st.title("Schedules α(t), β(t), γ(t)")
st.caption("x_t = α(t) x0 + β(t) x1 + γ(t) z: α weighs the base sample, β the target sample, "
           "γ the latent noise z ~ N(0, Id). A stochastic interpolant needs α(0) = β(1) = 1, "
           "α(1) = β(0) = 0 and γ(0) = γ(1) = 0.")

with st.sidebar:
    values = schedule_controls(st, show_plot=False)
    st.subheader("Distributions (for the explorer)")
    values |= distribution_controls()

rejected = values.get("rejected")
in_use = {k: values[k] for k in KEYS}
schedule, shown = resolve_schedule(**in_use), in_use
if rejected:
    typed, trial = typed_schedule(in_use, rejected["typed"])
    kept = ("the last valid schedule: " + describe(in_use)) if rejected["using"] else \
        "the schedule selected above the formulas: " + describe(in_use)
    lines = "\n".join(f"- {escape(p)}" for p in rejected["problems"])
    if typed is not None:
        schedule, shown = typed, trial
        st.error(f"**Your formulas are rejected:**\n\n{lines}\n\nPlotted below are your formulas, their failing "
                 f"conditions marked ✗. Training and every other page keep using {kept}.")
    else:
        st.error(f"**Your formulas are rejected:**\n\n{lines}\n\nPlotted below, and used for training, is "
                 f"{kept}.")
else:
    st.markdown(f"**Plotted:** {describe(in_use)}.")

cfg = ExperimentConfig(**{k: v for k, v in values.items() if k in ExperimentConfig.__dataclass_fields__})
for warning in config_warnings(cfg):
    st.warning(escape(warning))

t = torch.linspace(0, 1, 401, dtype=torch.float64)
out = schedule(t)
checks = boundary_checks(schedule)
fig = schedule_detail_figure(t.numpy(), out.alpha.numpy(), out.beta.numpy(), out.gamma.numpy(),
                             out.d_alpha.numpy(), out.d_beta.numpy(), out.d_gamma.numpy(),
                             checks=[(f"{SYMBOL[c.name]}({c.t:g}) = {c.expected:g}", c.t, c.value, c.expected, c.ok)
                                     for c in checks])
st.plotly_chart(fig, key="schedule_detail", theme=None, config=NO_BAR)

cols = st.columns(len(checks))
for col, c in zip(cols, checks):
    col.metric(f"{SYMBOL[c.name]}({c.t:g}), should be {c.expected:g}", clean_number(c.value),
               "✓ holds" if c.ok else "✗ fails", delta_color="green" if c.ok else "red", delta_arrow="off")
failing = [c for c in checks if not c.ok]
if failing:
    st.error("Failing: " + "; ".join(f"{SYMBOL[c.name]}({c.t:g}) = {clean_number(c.value)}, expected "
                                     f"{c.expected:g}" for c in failing) + ".")
elif rejected:
    st.caption("The schedule plotted meets all six boundary conditions; your formulas do not.")
else:
    st.success("All six boundary conditions hold: x_0 = x0 and x_1 = x1 exactly.")
if any(math.isinf(v) for v in out.d_gamma.abs().tolist()) or shown["gamma"] == "brownian":
    st.caption("Where γ̇ is infinite (√(a t(1−t)) at t = 0 and 1) the derivative curve leaves the plot; "
               "the library uses γγ̇ there and trains on t ∈ [0.001, 0.999].")

with st.expander("Names beside the paper's code (for a teacher comparing)"):
    st.markdown(
        "The official stochastic-interpolants code (Albergo, Boffi & Vanden-Eijnden) uses other names:\n\n"
        "- its `trig` is our **trig-vp**: α = √(1−γ²) cos(πt/2), β = √(1−γ²) sin(πt/2), so that "
        "α² + β² + γ² = 1;\n"
        "- our **trig** (α = cos(πt/2), β = sin(πt/2), whatever γ) is its `one-sided-trig`;\n"
        "- its denoiser η has the opposite sign: ours is η(t, x) = E[z | x_t = x], with the score "
        "s = −η/γ; there the sign is flipped, and so is every formula that uses η.\n\n"
        "α multiplies the base sample x0, β the target sample x1, γ the noise z, everywhere here.")

st.header("Explore the interpolant (no model needed)")
st.caption("Samples of the true x_t = α x0 + β x1 + γ z for the current base and target, coloured by "
           "their x0. Drag the time slider or press play. Lines: conditional paths of a few fixed pairs "
           "(x0, x1): black without the noise, I(t) = α x0 + β x1, and grey trails with a fixed z, "
           "I(t) + γ(t) z. This is what the drift b̂ must learn to reproduce.")
c1, c2, c3 = st.columns(3)
n = c1.slider("samples", 200, 3000, 1000, 100, key="explore_n")
n_paths = c2.slider("conditional paths", 0, 30, 8, 1, key="explore_paths")
seed = c3.number_input("seed", 0, 10_000, 0, key="explore_seed")
try:
    base = make_distribution(cfg.base, cfg.base_params)
    target = make_distribution(cfg.target, cfg.target_params)
except ValueError as exc:
    st.error(f"Cannot sample the distributions: {escape(exc)}")
    st.stop()
interp = Interpolant(resolve_schedule(**in_use))  # what training uses, also while a formula is rejected
data = explore(interp, base, target, n=n, n_paths=max(n_paths, 1), seed=int(seed))
anim = animation_figure(data["samples"], data["times"], trails=n_paths, title=None,
                        titles=("true interpolant x_t",), height=620)
if n_paths:
    add_path_lines(anim, data["mean_paths"], "I(t) = α x0 + β x1 (no noise)")
left, right = st.columns([3, 2])
left.plotly_chart(anim, key="explorer", theme=None, config=NO_BAR)
noisy = interp.schedule.stochastic
right.plotly_chart(spread_figure(data["times"], data["spread"], data["spread_no_noise"] if noisy else None),
                   key="spread", theme=None, config=NO_BAR)
if noisy:
    right.caption("Noise widens the marginal: z is independent of (x0, x1), so tr Cov x_t = "
                  "tr Cov(α x0 + β x1) + 2γ(t)², and the solid curve lies above the dashed γ = 0 one "
                  "wherever γ > 0, meeting it at t = 0 and t = 1.")
else:
    right.caption("With γ = 0, x_t = α x0 + β x1. For independent x0 and x1 its spread² is "
                  "α² tr Cov x0 + β² tr Cov x1, so it dips where α² + β² < 1 (linear: ½ at t = ½), and "
                  "choosing γ > 0 in the sidebar lifts it by 2γ².")
