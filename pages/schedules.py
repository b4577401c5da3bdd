"""Schedules: α, β, γ and their derivatives over t, α² + β² + γ², and the boundary conditions."""

import streamlit as st
import torch

from playground.figures import schedule_detail_figure
from playground.schedules import boundary_checks, make_schedule
from ui.controls import schedule_controls

st.title("Schedules α(t), β(t), γ(t)")
st.caption("x_t = α(t) x0 + β(t) x1 + γ(t) z: α weighs the base sample, β the target sample, "
           "γ the latent noise z ~ N(0, Id). A stochastic interpolant needs α(0) = β(1) = 1, "
           "α(1) = β(0) = 0 and γ(0) = γ(1) = 0.")

values = schedule_controls(st.sidebar, show_plot=False)
schedule = make_schedule(values["schedule"], values["gamma"], values["gamma_scale"], values["power"])
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
    st.caption("γ̇ of √(a t(1−t)) is infinite at t = 0 and 1, so the right panel leaves those points out; "
               "the library uses γγ̇ = a(1−2t)/2 there and trains on t ∈ [0.001, 0.999].")
