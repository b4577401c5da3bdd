"""Playground: pick base and target, choose α, β, γ, train b̂(t, x) live, watch particles flow."""

import numpy as np
import streamlit as st
import streamlit.components.v1 as components

from playground.animation import MAX_FRAMES, MAX_PARTICLES, PLOTLY_MAX_PARTICLES
from playground.canvas_anim import canvas_animation_html
from playground.figures import animation_figure, clouds_figure, loss_figure
from playground.training import resolve_device
from ui.controls import (
    animation_controls,
    config_from_widgets,
    distribution_controls,
    model_controls,
    preview_points,
    sampling_controls,
    schedule_controls,
    training_controls,
)
from ui.export import export_panel
from ui.share import presenting, share_panel, show_url_notices
from ui.state import playground_session

CHUNK_SECONDS = 0.8  # one fragment run trains this long, then redraws (Stop waits at most this)

sess = playground_session()

with st.sidebar:
    st.subheader("Distributions")
    values = distribution_controls()
    st.subheader("Interpolant  x_t = α x0 + β x1 + γ z")
    values |= schedule_controls()
    st.subheader("Model b̂(t, x)")
    values |= model_controls()
    st.subheader("Training")
    values |= training_controls()
    st.subheader("Sampling")
    values |= sampling_controls()

cfg = config_from_widgets(values)
present = presenting()
show_url_notices()
base_pts, target_pts = preview_points(cfg)
if present:
    head, b1, b2, b3, b4 = st.columns([8, 1, 1, 1, 1], vertical_alignment="center")
    head.markdown(f"#### {cfg.base} → {cfg.target} · {cfg.schedule}, γ: {cfg.gamma}")
else:
    st.title("Stochastic interpolant playground")
    st.caption("Particles x0 ~ ρ0 are carried to ρ1 by the learned drift b̂(t, x), trained on "
               "x_t = α(t) x0 + β(t) x1 + γ(t) z with the loss E|b̂(t, x_t) − ẋ_t|².")
    st.plotly_chart(clouds_figure(base_pts, target_pts, height=330), key="clouds",
                    config={"displayModeBar": False})

# ------------------------------------------------------------------ training controls
device, device_note = resolve_device(cfg.device)
stale = sess.stale_fields(cfg)
if not present:
    b1, b2, b3, b4, info = st.columns([1, 1, 1, 1, 4])
training = sess.status == "training"
if b1.button("Train", key="train", type="primary", disabled=training,
             help="start a fresh model from these settings"):
    try:
        sess.start(cfg)
    except (ValueError, RuntimeError) as exc:
        sess.fail(f"could not start training: {exc}")
    st.rerun()
if b2.button("Stop", key="stop_training", disabled=not training, help="pause; keeps the model"):
    sess.stop()
    st.rerun()
if b3.button("Resume", key="resume", disabled=training or sess.state is None or bool(stale)
             or (sess.state is not None and sess.state.done and cfg.steps <= sess.state.step),
             help="continue this model (raise steps to train longer)"):
    sess.resume(cfg)
    st.rerun()
if b4.button("Reset", key="reset", disabled=training, help="forget the model; Train starts over"):
    sess.reset(cfg)
    st.rerun()
if not present:
    info.caption(f"Device: **{device.type}** — {device_note}")

if stale and sess.has_model:
    st.warning("The settings changed since this model was trained (" + ", ".join(stale) + "). "
               "The loss and animation below are of the **old** model: press **Train** to retrain.",
               icon="⚠️")
if sess.status == "error":
    st.error(sess.message)
elif sess.message and not present:
    st.info(sess.message)


@st.fragment(run_every=0.05 if training else None)
def live_training():
    """Train one chunk (when training), then draw progress, loss and a preview of samples."""
    s = playground_session()
    was_training = s.status == "training"
    if was_training:
        try:
            s.train_for(CHUNK_SECONDS)
        except Exception as exc:  # noqa: BLE001 - any library failure: keep the last chunk, say why
            s.fail(f"training stopped: {type(exc).__name__}: {exc}")
    state = s.state
    if state is None:
        st.info("Press **Train** to fit the drift. Settings on the left; the clouds above are ρ0 and ρ1.")
        return
    p = state.progress()
    if presenting():
        if s.status == "training":
            st.progress(p, text=f"step {state.step:,} of {state.config.steps:,}")
        if was_training and s.status != "training":
            st.rerun()
        return
    st.progress(p, text=f"step {state.step:,} of {state.config.steps:,}")
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("step", f"{state.step:,}")
    c2.metric("steps / s", f"{s.steps_per_second():.0f}")
    steps, losses = s.loss_history()
    c3.metric("loss (last 100)", f"{np.mean(losses[-100:]):.4f}" if len(losses) else "–")
    c4.metric("status", "waiting for a free slot" if s.queued else s.status)
    if len(losses) and s.status != "training":
        st.download_button("Download losses (CSV)", s.loss_csv(), "losses.csv", "text/csv",
                           key="download_losses", on_click="ignore")
    warning = s.loss_warning()
    if warning:
        st.warning(warning)
    left, right = st.columns([3, 2])
    if len(losses):
        left.plotly_chart(loss_figure(steps, losses, height=280), key=f"loss_{state.step}",
                          config={"displayModeBar": False})
    preview = s.preview_samples()
    if preview is not None:
        right.plotly_chart(clouds_figure(preview, target_pts, height=280,
                                         titles=(f"samples at step {s.preview_step}", "target")),
                           key=f"preview_{state.step}", config={"displayModeBar": False})
    if was_training and s.status != "training":
        st.rerun()  # training ended: redraw the whole page (buttons, animation)


if not present:
    st.subheader("Training")
live_training()

# ------------------------------------------------------------------ animation
if not present:
    st.subheader("Animation: learned flow beside the true interpolant")
    anim_opts = animation_controls()
else:
    anim_opts = {"renderer": "plotly", "particles": min(st.session_state.get("particles", 1000), 2000),
                 "trails": st.session_state.get("trails", 30),
                 "arrows_grid": 15 if st.session_state.get("arrows", True) else 0}
anim = None
if sess.has_model and sess.status != "training":
    try:
        anim = sess.animation(cfg, anim_opts["particles"], anim_opts["arrows_grid"])
    except ValueError as exc:
        st.warning(str(exc))
if anim is not None:
    fig = None
    if anim_opts["renderer"] == "canvas":
        components.html(canvas_animation_html(anim.paths, anim.times, anim.true_frames, anim.goal),
                        height=560, scrolling=False)
    else:
        fig = animation_figure(anim.paths, anim.times, target_bg=anim.goal, true_frames=anim.true_frames,
                               trails=anim_opts["trails"], arrows=anim.arrows, height=620 if present else 520)
        st.plotly_chart(fig, key="animation", config={"displayModeBar": False})
    st.caption(f"{anim.paths.shape[1]:,} particles × {len(anim.times)} frames "
               f"({cfg.sampler}, {len(anim.times) - 1} steps, {cfg.direction}). Colours mark where each "
               f"particle started. Caps: {PLOTLY_MAX_PARTICLES:,} particles per panel with Plotly, "
               f"{MAX_PARTICLES:,} with the canvas renderer, {MAX_FRAMES} frames.")
    if not present:
        export_panel(fig, anim, sess, cfg)
elif sess.status == "training":
    st.caption("The animation appears when training stops or finishes.")
else:
    st.caption("Train a model to animate it.")

if not present:
    with st.expander("Share and save: link, config JSON"):
        share_panel(cfg)
