"""Schedules: α, β, γ and their derivatives, the boundary conditions, and the interpolant explorer."""

import streamlit as st
import torch

from playground.config import ExperimentConfig
from playground.distributions import make_distribution
from playground.explorer import explore
from playground.figures import add_path_lines, animation_figure, line_figure, schedule_detail_figure
from playground.interpolants import Interpolant
from playground.schedules import boundary_checks, resolve_schedule
from ui.controls import distribution_controls, schedule_controls

st.title("Schedules α(t), β(t), γ(t)")
st.caption("x_t = α(t) x0 + β(t) x1 + γ(t) z: α weighs the base sample, β the target sample, "
           "γ the latent noise z ~ N(0, Id). A stochastic interpolant needs α(0) = β(1) = 1, "
           "α(1) = β(0) = 0 and γ(0) = γ(1) = 0.")

with st.sidebar:
    values = schedule_controls(st, show_plot=False)
    st.subheader("Distributions (for the explorer)")
    values |= distribution_controls()
schedule = resolve_schedule(**{k: values[k] for k in ("schedule", "gamma", "gamma_scale", "power",
                                                      "alpha", "beta")})
t = torch.linspace(0, 1, 401, dtype=torch.float64)
out = schedule(t)
checks = boundary_checks(schedule)
fig = schedule_detail_figure(t.numpy(), out.alpha.numpy(), out.beta.numpy(), out.gamma.numpy(),
                             out.d_alpha.numpy(), out.d_beta.numpy(), out.d_gamma.numpy(),
                             checks=[(c.name, c.t, c.value, c.expected, c.ok) for c in checks])
st.plotly_chart(fig, key="schedule_detail")

cols = st.columns(len(checks))
for col, c in zip(cols, checks):
    sym = {"alpha": "α", "beta": "β", "gamma": "γ"}[c.name]
    col.metric(f"{sym}({c.t:g})", f"{c.value:.3g}", "holds" if c.ok else f"expected {c.expected:g}",
               delta_color="normal" if c.ok else "inverse")
if all(c.ok for c in checks):
    st.success("All six boundary conditions hold: x_0 = x0 and x_1 = x1 exactly.")
else:
    st.error("Failing: " + "; ".join(c.message() for c in checks if not c.ok))
if schedule.stochastic:
    st.caption("Where γ̇ is infinite (√(a t(1−t)) at t = 0 and 1) the derivative curve leaves the plot; "
               "the library uses γγ̇ there and trains on t ∈ [0.001, 0.999].")

st.header("Explore the interpolant (no model needed)")
st.caption("Samples of the true x_t = α x0 + β x1 + γ z for the current base and target, coloured by "
           "their x0. Drag the time slider or press play. Lines: conditional paths of a few fixed pairs "
           "(x0, x1) — solid without the noise, I(t) = α x0 + β x1, and thin with a fixed z, I(t) + γ(t) z. "
           "This is what the drift b̂ must learn to reproduce.")
c1, c2, c3 = st.columns(3)
n = c1.slider("samples", 200, 3000, 1000, 100, key="explore_n")
n_paths = c2.slider("conditional paths", 0, 30, 8, 1, key="explore_paths")
seed = c3.number_input("seed", 0, 10_000, 0, key="explore_seed")
cfg = ExperimentConfig(**{k: v for k, v in values.items() if k in ExperimentConfig.__dataclass_fields__})
try:
    base = make_distribution(cfg.base, cfg.base_params)
    target = make_distribution(cfg.target, cfg.target_params)
except ValueError as exc:
    st.error(f"Cannot sample the distributions: {exc}")
    st.stop()
data = explore(Interpolant(schedule), base, target, n=n, n_paths=max(n_paths, 1), seed=int(seed))
anim = animation_figure(data["samples"], data["times"], trails=n_paths, title=None,
                        titles=("true interpolant x_t",), height=560)
if n_paths:
    add_path_lines(anim, data["mean_paths"], "I(t) = α x0 + β x1 (no noise)")
left, right = st.columns([3, 2])
left.plotly_chart(anim, key="explorer")
right.plotly_chart(line_figure(data["times"], data["spread"], "spread of x_t: √(tr Cov x_t)", y_title="spread"),
                   key="spread")
right.caption("With γ > 0 the marginal spreads out in the middle (noise is added, then removed); "
              "with γ = 0 and a pair like linear it only interpolates between the two spreads.")
