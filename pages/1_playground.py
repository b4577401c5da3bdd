"""Playground: a flow plays on arrival; Train learns it live (the flow forms while the loss falls).

First screen: one line of what to do, the Train buttons, the flow player (the current model's
flow while it trains, the full animation after) with the loss and metrics beside it. Settings
in the sidebar; animation settings, exports and the share link below.
"""

from ui.router import through_the_router

through_the_router()  # first line: a fresh server's deep link must reach app.py

import numpy as np
import streamlit as st

from playground.animation import LIVE_PARTICLES, MAX_FRAMES, MAX_PARTICLES, PLOTLY_MAX_PARTICLES
from playground.experiment import config_warnings
from playground.figures import animation_figure, clouds_figure
from playground.scenes import SCENES
from playground.sketch import loss_svg
from playground.training import resolve_device
from ui.controls import (
    animation_controls,
    animation_options,
    config_from_widgets,
    distribution_controls,
    model_controls,
    preview_points,
    sampling_controls,
    schedule_controls,
    training_controls,
)
from ui.export import export_panel
from ui.flow import final_spec, flow_player, live_spec
from ui.literal import escape
from ui.scenes import gallery, pick_scene, play_default_on_arrival
from ui.share import (
    enter_presentation,
    exit_presentation,
    experiment_title,
    presenting,
    share_panel,
    show_url_notices,
)
from ui.state import playground_session

CHUNK_SECONDS = 0.8  # one fragment run trains this long, then redraws the live flow (Stop waits at most this)
FIRST_CHUNK_SECONDS = 0.15  # the first live flow comes sooner
COMPACT_CSS = """<style>
[data-testid="stMetricValue"] { font-size: 1.5rem; }
h1 { font-size: 1.9rem !important; padding: 0 0 0.25rem 0 !important; }
</style>"""

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
play_default_on_arrival(cfg)


def _ask(action: str) -> None:
    """on_click of Train, Stop, Resume, Reset: done below with this run's settings, before the
    buttons are drawn, so they show the new state at once (no second run before training starts)."""
    st.session_state["_playground_action"] = action


action = st.session_state.pop("_playground_action", None)
if action == "train":
    try:
        sess.start(cfg)
    except (ValueError, RuntimeError) as exc:
        sess.fail(f"could not start training: {exc}")
elif action == "stop":
    sess.stop()
elif action == "resume":
    sess.resume(cfg)
elif action == "reset":
    sess.reset(cfg)
if not present:
    st.markdown(COMPACT_CSS, unsafe_allow_html=True)
show_url_notices()
stale = sess.stale_fields(cfg)
training = sess.status == "training"
scene = sess.pretrained if sess.pretrained and not stale else None

# ------------------------------------------------------------------ header and buttons
if present:
    head, pick, out = st.columns([6, 3, 1.4], vertical_alignment="center")
    head.title(scene["title"] if scene else escape(experiment_title(cfg)))  # typed formulas keep their *
    names = gallery()
    st.session_state.setdefault("present_scene", st.session_state.get("_scene") or names[0])
    pick.selectbox("scene", names, key="present_scene", on_change=pick_scene, label_visibility="collapsed",
                   format_func=lambda n: f"scene: {SCENES[n].title}",
                   help="open a scene (keyboard: Tab here, then the arrow keys and Enter)")
    out.button("Exit", key="exit_present", on_click=exit_presentation, help="show the controls again",
               width="stretch")
    b1, b2, b3, b4, info = st.columns([1.1, 1.1, 1.5, 1.1, 5], vertical_alignment="center")
else:
    st.title("Stochastic interpolant playground")
    st.caption("Particles from the base ρ0 flow to the target ρ1 along the learned drift b̂(t, x). "
               "Press **Train** to learn this flow yourself, change the target on the left, or open a "
               "**Scene**.")
    b1, b2, b3, b4, info = st.columns([1, 1, 1.2, 1, 4.4], vertical_alignment="center")
b1.button("Train", key="train", type="primary", disabled=training, width="stretch", on_click=_ask, args=("train",),
          help="learn a fresh model from these settings")
b2.button("Stop", key="stop_training", disabled=not training, help="pause; keeps the model", width="stretch",
          on_click=_ask, args=("stop",))
b3.button("Resume", key="resume", disabled=training or sess.state is None or bool(stale)
          or (sess.state is not None and sess.state.done and cfg.steps <= sess.state.step and cfg.steps > 0),
          help="continue this model (raise the budget to train longer)", width="stretch", on_click=_ask,
          args=("resume",))
b4.button("Reset", key="reset", disabled=training, help="forget the model; Train starts over", width="stretch",
          on_click=_ask, args=("reset",))
device, device_note = resolve_device(cfg.device)
info.caption(f"Train for **{cfg.budget_text}** on **{device.type}**" + (" · training…" if training else "")
             + (f" — {device_note}" if cfg.device != "auto" else ""))

if stale and sess.has_model:
    st.warning("The settings changed since this model was trained (" + ", ".join(stale) + "). "
               "The flow below is the **old** model's: press **Train** to learn the new one.", icon="⚠️")
if not sess.has_model or stale:
    for warning in config_warnings(cfg):
        st.warning(warning)
if sess.status == "error":
    st.error(sess.message)
elif sess.message and sess.status not in ("done",) and not present:
    st.info(sess.message)


# ------------------------------------------------------------------ the flow and what is known about it
def draw_flow(s, opts: dict) -> None:
    """The player: the live flow while training, else the full animation (or the clouds)."""
    if s.status == "training":
        try:
            spec = live_spec(s, present)
        except Exception as exc:  # noqa: BLE001 - a failed drawing (e.g. GPU memory) must not stop training
            st.caption(f"The live flow could not be drawn this time ({type(exc).__name__}); training goes on.")
            return
        if spec is not None:
            flow_player(spec)
        else:
            st.caption("Training the first chunk…")
        return
    anim = None
    if s.has_model:
        try:
            anim = s.animation(cfg, opts["particles"], opts["arrows_grid"])
        except ValueError as exc:
            st.warning(str(exc))
    if anim is None:
        base_pts, target_pts = preview_points(cfg)
        st.plotly_chart(clouds_figure(base_pts, target_pts, height=380), key="clouds",
                        config={"displayModeBar": False}, theme=None)
        st.caption("No model yet: press **Train**. These are samples of ρ0 and ρ1.")
        return
    caption = (f"{anim.paths.shape[1]:,} particles × {len(anim.times)} frames ({cfg.sampler}, "
               f"{len(anim.times) - 1} steps, {cfg.direction}); colours mark where each particle started.")
    if opts["renderer"] == "plotly":
        st.plotly_chart(plotly_animation(s, anim, opts), key="animation", config={"displayModeBar": False}, theme=None)
        st.caption(caption)
    else:
        flow_player(final_spec(s, anim, caption, present))


def plotly_animation(s, anim, opts):
    """The Plotly animation of anim, built once per animation and view settings."""
    return s.view("plotly", (s.animation_serial, opts["trails"], present), lambda: _plotly(anim, opts))


def _plotly(anim, opts):
    fig = animation_figure(anim.paths, anim.times, target_bg=anim.goal, true_frames=anim.true_frames,
                           trails=opts["trails"], arrows=anim.arrows, height=600 if present else 470)
    if present:  # readable from the back of a hall: 18 px ticks and slider, dark titles
        fig.update_layout(font={"size": 18, "color": "#111827"})
        fig.layout.sliders[0].font = {"size": 18}
        for a in fig.layout.annotations:
            a.font = {"size": 20, "color": "#111827"}
    return fig


def draw_facts(s) -> None:
    """Beside the flow: a pre-trained model's own facts, or the run's progress, metrics and loss."""
    state = s.state
    if scene is not None and s.status != "training":
        m = scene.get("metrics", {})
        st.markdown(f"**Pre-trained:** {scene['title']}")
        st.markdown(f"{scene['steps']:,} steps trained (shipped weights, nothing trained here)")
        if m:
            st.markdown(f"energy distance **{m['energy_distance']:.4f}** · noise floor "
                        f"{m['floor_energy_distance']:.4f}")
        st.caption(scene["description"])
        return
    if state is None or state.step == 0:
        if s.status == "training":
            st.caption("Starting…")
        return
    c = state.config
    if c.seconds > 0:
        text = f"{min(state.train_seconds, c.seconds):.1f} s of {c.seconds:g} s · step {state.step:,}"
    else:
        text = f"step {state.step:,} of {c.steps:,}"
    st.progress(state.progress(), text=text)
    steps, losses = s.loss_history()
    m1, m2, m3 = st.columns(3)
    m1.metric("step", f"{state.step:,}")
    m2.metric("steps / s", f"{s.steps_per_second():.0f}")
    m3.metric("loss", f"{np.mean(losses[-100:]):.3g}" if len(losses) else "–", help="mean of the last 100 steps")
    if s.queued:
        st.caption("waiting for a free slot…")
    if len(losses):
        st.markdown(loss_svg(steps, losses), unsafe_allow_html=True)  # no plotly.js: nothing to load
        if s.status != "training":
            st.download_button("Download losses (CSV)", s.loss_csv(), "losses.csv", "text/csv",
                               key="download_losses", on_click="ignore", help="step,loss of the whole run")
    warning = s.loss_warning()
    if warning:
        st.warning(warning)
    if s.status == "done":
        st.caption(f"{s.message.capitalize() or 'Finished'} in {state.train_seconds:.1f} s.")  # "finished N steps"
    if stale:
        base_pts, target_pts = preview_points(cfg)
        st.plotly_chart(clouds_figure(base_pts, target_pts, height=200, titles=("new ρ0", "new ρ1")),
                        key="clouds_new", config={"displayModeBar": False}, theme=None)


@st.fragment(run_every=0.05 if training else None)
def flow_area():
    """Draw the flow and the facts beside it, then train one chunk (when training). Drawing first
    refreshes every element at the start of the run, so nothing fades while the chunk trains; what
    is drawn is at most one chunk (under a second) old."""
    s = playground_session()
    was_training = s.status == "training"
    left, right = st.columns([5, 2] if not present else [4, 1])
    with left:
        draw_flow(s, animation_options())
    with right:
        draw_facts(s)
    if was_training:
        try:
            s.train_for(FIRST_CHUNK_SECONDS if not s.chunk_steps else CHUNK_SECONDS)
        except Exception as exc:  # noqa: BLE001 - any library failure: keep the last chunk, say why
            s.fail(f"training stopped: {type(exc).__name__}: {exc}")
        if s.status != "training":
            st.rerun()  # training ended: redraw the whole page (buttons, final animation)

flow_area()

if present:
    st.stop()

# ------------------------------------------------------------------ below the flow
anim_opts = animation_controls()
st.caption(f"Live flow while training: {LIVE_PARTICLES} particles. Caps: {PLOTLY_MAX_PARTICLES:,} particles per "
           f"panel with Plotly, {MAX_PARTICLES:,} with the canvas, {MAX_FRAMES} frames.")
p1, p2 = st.columns([1, 5])
p1.button("Present", key="present_mode", on_click=enter_presentation,
          help="hide the controls and enlarge the flow for a projector (?present=1)")
anim = None
if sess.has_model and not training:
    try:
        anim = sess.animation(cfg, anim_opts["particles"], anim_opts["arrows_grid"])  # the one drawn above
    except ValueError:
        anim = None  # said above
if anim is not None:
    fig = plotly_animation(sess, anim, anim_opts) if anim_opts["renderer"] == "plotly" else None
    export_panel(fig, anim, sess, cfg)
with st.expander("Share and save: link, config JSON"):
    share_panel(cfg)
