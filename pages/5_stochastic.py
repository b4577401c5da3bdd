"""Stochastic side: the score and the SDE, couplings, exact fields, and quality you can see."""

from ui.router import through_the_router

through_the_router()  # first line: a fresh server's deep link must reach app.py

import numpy as np
import streamlit as st

from playground.figures import heatmap_figure
from playground.likelihood import log_density_grid, true_log_density_grid
from playground.stochastic import (
    compare_couplings,
    compare_paths,
    exact_unavailable,
    field_error,
    minibatch_pairs,
    pair_cost,
    quality_now,
    quality_vs_steps,
    rho_t_samples,
)
from playground.stochastic_figures import (
    coupling_paths_figure,
    density_pair_figure,
    drift_arrow_figures,
    pairs_figure,
    panels_animation_figure,
    quality_steps_figure,
)
from ui.literal import escape
from ui.state import playground_session
from ui.stochastic import choose_model, memo, on_click, sde_controls

NO_BAR = {"displayModeBar": False}

st.title("Stochastic side")
st.caption("Score, SDE, couplings and exact fields. With γ > 0 the Playground also learns the "
           "denoiser η̂(t, x) = E[z | x_t = x], whose score is s = −η̂/γ. Then, for every ε(t) ≥ 0, "
           "dX = [b + ε s] dt + √(2ε) dW carries ρ0 to ρ1 like the ODE dX = b dt: the noise level is "
           "chosen at sampling time, with no retraining.")

sess = playground_session()
view, message = choose_model(sess)
if view is None:
    st.info(message)
    st.stop()
score_note = ("" if view.has_score else
              " — no score: γ = 0 and no denoiser (train with γ > 0 on the Playground, or use the "
              "exact field)")
if message:  # the sidebar's pair has no exact field: the note says which one is shown instead
    st.info(message)
else:
    st.caption(f"Model: **{view.label}**{score_note}.")

tab_sde, tab_coupling, tab_exact, tab_quality = st.tabs(
    ["SDE vs ODE", "Couplings", "Exact field", "Quality and likelihood"])

# ------------------------------------------------------------------ 1. SDE animation
with tab_sde:
    opts = sde_controls(view.has_score)
    mode = opts["mode"]
    if mode != "integrators" and not view.has_score and opts["epsilon"] + opts["epsilon2"] > 0:
        st.warning("This model has no score, so it cannot run the SDE: showing Euler, Heun and RK4 "
                   "at equal evaluations instead. Train with γ > 0, or pick the exact field.")
        mode = "integrators"
    args = dict(mode=mode, epsilon=opts["epsilon"], shape=opts["shape"], steps=opts["steps"],
                particles=opts["particles"], epsilon2=opts["epsilon2"], t0=opts["t0"])
    comp = memo(view.key + ("paths", tuple(sorted(args.items()))), lambda: compare_paths(view, **args))
    fig = panels_animation_figure(comp.paths, comp.times, comp.titles, goal=comp.goal,
                                  height=460 if len(comp.paths) == 2 else 380)
    st.plotly_chart(fig, key="sto_animation", config=NO_BAR, theme=None)
    if mode == "integrators":
        st.caption(f"{comp.note}. Same starting points in every panel; colours mark where each "
                   "particle started.")
    else:
        st.caption(f"{comp.note}. The score is singular where γ = 0 (t = 0 and t = 1), so both "
                   f"panels run on [t0, 1 − t0] = [{opts['t0']:g}, {1 - opts['t0']:g}]. "
                   "Switch the noise off: the SDE panel becomes the ODE exactly.")
    q = memo(view.key + ("quality-now", tuple(sorted(args.items()))),
             lambda: [quality_now(view, p[-1]) for p in comp.paths])
    for col, title, m in zip(st.columns(len(q)), comp.titles, q, strict=True):
        col.metric(f"energy distance: {title}", f"{m['energy_distance']:.4f}")
        col.caption(f"noise floor {m['floor_energy_distance']:.4f} ± "
                    f"{m['floor_energy_distance_std']:.4f}; sliced W2 {m['sliced_w2']:.3f} (floor "
                    f"{m['floor_sliced_w2']:.3f} ± {m['floor_sliced_w2_std']:.3f}). "
                    f"{comp.paths[0].shape[1]:,} samples; floor = mean ± spread over 5 pairs of "
                    "target samples of that size")

# ------------------------------------------------------------------ 2. couplings
with tab_coupling:
    seed = view.config.seed
    pairs = memo(view.key + ("pairs", seed), lambda: minibatch_pairs(view.base, view.target, 128, seed))
    titles = {name: f"{name}: mean |x0 − x1|² = {pair_cost(p):.2f}" for name, p in pairs.items()}
    st.plotly_chart(pairs_figure(pairs, titles), key="sto_pairs", config=NO_BAR, theme=None)
    st.caption("One batch of 128 pairs (x0, x1). Independent coupling keeps the pairs as drawn; "
               "minibatch optimal transport re-pairs them to minimise Σ|x0 − x1|², so the paths "
               "the drift learns cross less and are straighter.")
    res = on_click("Compare couplings: train two small models (a few seconds)", "sto_couplings",
                   view.key + ("couplings",), lambda: compare_couplings(view.config),
                   "training with the independent and the OT coupling…")
    if res is not None:
        st.plotly_chart(coupling_paths_figure(res), key="sto_coupling_paths", config=NO_BAR, theme=None)
        ratio = res["ot"]["curvature"] / max(res["independent"]["curvature"], 1e-12)
        st.caption(f"Width 64, 200 steps each, same seed and data; Heun 20 steps from the same "
                   f"starting points. Mean path curvature E∫|ẋ − (X1 − X0)|² dt: OT / independent = "
                   f"{ratio:.3f} (0 is a straight line at constant speed).")

# ------------------------------------------------------------------ 3. exact field
with tab_exact:
    if view.exact is None:
        st.info(f"No exact field for this model: {escape(exact_unavailable(view.config))}.")  # names a user's file
    else:
        t = st.slider("t", 0.0, 1.0, 0.5, 0.05, key="sto_t", persist_state="session")
        if view.source == "exact":
            fe = memo(view.key + ("field", t), lambda: field_error(view.exact, view.exact, t))
            (fig,) = drift_arrow_figures(fe.arrow_axis, {f"exact drift b(t = {t:.2f}, x)": fe.exact},
                                         height=480)
            st.plotly_chart(fig, key="sto_field_exact", config=NO_BAR, theme=None)
            st.caption("This is the exact field itself; choose the Playground model in the sidebar "
                       "to see the learned drift beside it and the error |b̂ − b|.")
        else:
            pts = memo(view.key + ("rho_t", t), lambda: rho_t_samples(view, t))
            fe = memo(view.key + ("field", t), lambda: field_error(view.drift, view.exact, t, samples=pts))
            exact_fig, learned_fig = drift_arrow_figures(
                fe.arrow_axis, {f"exact b(t = {t:.2f}, x)": fe.exact,
                                f"learned b̂(t = {t:.2f}, x)": fe.learned}, height=440)
            c1, c2 = st.columns(2)
            c1.plotly_chart(exact_fig, key="sto_field_exact", config=NO_BAR, theme=None)
            c2.plotly_chart(learned_fig, key="sto_field_learned", config=NO_BAR, theme=None)
            st.plotly_chart(heatmap_figure(fe.error, fe.extent, f"error |b̂ − b| at t = {t:.2f}",
                                           zmin=0.0, colorbar_title="|b̂ − b|", height=440),
                            key="sto_field_error", config=NO_BAR, theme=None)
            st.caption(f"Mean error where the particles are (2,000 samples of ρ_t): "
                       f"**{fe.weighted_error:.3f}**. Far from the data the network was never "
                       "trained, so large errors there are expected. Both arrow plots share one arrow "
                       "length and one colour range.")

# ------------------------------------------------------------------ 4. quality
with tab_quality:
    st.markdown("**Quality against the number of steps**: energy distance and sliced W2 of 2,000 "
                "samples against fresh target samples, beside the noise floor (two independent "
                "target samples of the same size).")
    eps_q = opts["epsilon"] if opts["epsilon"] > 0 else 0.5
    res = on_click("Compute quality vs steps", "sto_quality",
                   view.key + ("quality-steps", eps_q, opts["shape"], opts["t0"]),
                   lambda: quality_vs_steps(view, methods=("euler", "heun", "rk4", "em"), epsilon=eps_q,
                                            shape=opts["shape"], t0=opts["t0"]),
                   "integrating with each method at 4 to 64 evaluations…")
    if res is not None:
        c1, c2 = st.columns(2)
        c1.plotly_chart(quality_steps_figure(res["rows"], res["floor"], "energy_distance"),
                        key="sto_quality_ed", config=NO_BAR, theme=None)
        c2.plotly_chart(quality_steps_figure(res["rows"], res["floor"], "sliced_w2"),
                        key="sto_quality_sw2", config=NO_BAR, theme=None)
        st.caption("Heun and RK4 evaluate the drift 2 and 4 times a step; em is the SDE with "
                   f"ε = {eps_q:g} ({opts['shape']}) when the model has a score.")
    st.markdown("**Log-density of what the model generates**, by the ODE likelihood "
                "log ρ̂1(x) = log ρ0(X0) − ∫₀¹ ∇·b dt (exact divergence, RK4 24 steps backward from "
                "a 48 × 48 grid), beside the true log-density where it is known.")
    res = on_click("Compute the log-density heatmap", "sto_density", view.key + ("density",),
                   lambda: (log_density_grid(view.drift, view.base), true_log_density_grid(view.target)),
                   "integrating 2,304 grid points back to t = 0…")
    if res is not None:
        gen, true = res
        title = ("generated: log ρ̂1" if gen.kind == "log_density"
                 else "generated: −∫∇·b dt (log ρ0 unknown)")
        st.plotly_chart(density_pair_figure(gen.values, None if true is None else true.values,
                                            gen.extent, (title, "true: log ρ1")),
                        key="sto_density_fig", config=NO_BAR, theme=None)
        if true is None:
            st.caption("The target's density is not known in closed form, so only the generated "
                       "one is shown.")
        else:
            err = np.abs(gen.values - true.values)[true.values > -10]
            st.caption(f"Mean |log ρ̂1 − log ρ1| where log ρ1 > −10: **{err.mean():.3f}**. Where "
                       "there is almost no mass the likelihood ODE is stiff (narrow components pull "
                       "hard) and 24 RK4 steps leave visible error; both maps are clamped at −30.")
