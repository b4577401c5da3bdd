"""The export panel under the Playground animation: download the animation (HTML, PNG, GIF), the
samples and trajectories (CSV) and the model weights, and load weights back to show or resume.

Every file is built only when its button is clicked (Streamlit's deferred download data), so an
idle page pays nothing for the GIF. Loading weights runs in the Load button's callback, before the
page's widgets are drawn, so it can set the sidebar widgets to the loaded config (the model is
then not "stale" and Resume continues it).
"""

from __future__ import annotations

import re

import streamlit as st

from playground.animation import AnimationData
from playground.config import ExperimentConfig
from playground.export import (
    GIF_MAX_PARTICLES,
    MAX_WEIGHTS_BYTES,
    ExportError,
    animation_gif,
    frame_png,
    gif_frame_indices,
    install_weights,
    read_weights,
    samples_csv,
    save_weights,
    standalone_html,
    trajectories_csv,
)
from ui.literal import escape

GIF_EVERY = (1, 2, 3, 4, 5, 10)


def apply_weights(sess, data: bytes, sync_widgets: bool = True) -> str:
    """Validate uploaded weights, install them into sess and (sync_widgets) set the sidebar to
    their config with `ui.share.apply_config`; returns a message for the user.

    Raises `ExportError` (a ValueError) with a readable message for a bad file.
    """
    w = read_weights(data)
    install_weights(sess, w.config, w.state_dict, w.step, w.train_seconds, w.losses)
    cfg = w.config
    msg = (f"Loaded a {cfg.width}×{cfg.depth} model of {cfg.base} → {cfg.target} "
           f"({cfg.schedule}, γ {cfg.gamma}) at step {w.step:,}.")
    if sync_widgets:
        from ui.share import apply_config

        notices = apply_config(cfg, label="from the weights file")
        msg += " The settings now match it" + (f" ({'; '.join(notices)})." if notices else ".")
    return msg + " Resume continues it with a fresh optimizer."


def _on_load(sess) -> None:
    upload = st.session_state.get("export_upload")
    if upload is None:
        return
    try:
        st.session_state["export_message"] = ("success", apply_weights(sess, upload.getvalue()))
    except ExportError as exc:
        st.session_state["export_message"] = ("error", f"Could not load {upload.name}: {exc}")


def _stem(cfg: ExperimentConfig) -> str:
    name = f"interpolant-{cfg.base}-to-{cfg.target}-{cfg.schedule}-{cfg.gamma}"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:80]


def export_panel(fig, anim: AnimationData, sess, cfg: ExperimentConfig) -> None:
    """Download buttons for the animation and the model of `sess`, and an upload of weights.

    Call it under the animation: `export_panel(fig, anim, sess, cfg)`, with `fig` the Plotly
    animation figure, or None when the canvas renderer drew it (the HTML is then the canvas page).
    """
    trained = sess.trained_config or cfg
    stem = _stem(trained)
    n_t, n = len(anim.times), anim.paths.shape[1]
    kind, text = st.session_state.pop("export_message", (None, None))
    # a constant `expanded`: the expander keeps the open/closed state the user gave it
    with st.expander("Export: animation (HTML, PNG, GIF), samples and paths (CSV), weights"):
        c1, c2, c3 = st.columns(3)
        c1.download_button("Animation (HTML)", data=lambda: standalone_html(fig, anim),
                           file_name=f"{stem}.html", mime="text/html", key="export_html",
                           on_click="ignore", help="One file that plays offline in any browser ("
                           + ("plotly.js is inside)." if fig is not None else "the canvas player)."))
        frame = c2.select_slider("frame for the PNG", list(range(n_t)), n_t - 1, key="export_frame",
                                 format_func=lambda k: f"t = {float(anim.times[k]):.2f}")
        c2.download_button("Frame as PNG", data=lambda: frame_png(anim, frame),
                           file_name=f"{stem}-frame{frame:03d}.png", mime="image/png", key="export_png",
                           on_click="ignore")
        default_every = next((e for e in GIF_EVERY if len(gif_frame_indices(n_t, e)) <= 101), 10)
        every = c3.select_slider("GIF: every k-th frame", GIF_EVERY, default_every, key="export_gif_every")
        n_gif = len(gif_frame_indices(n_t, every))
        c3.download_button(f"Animation as GIF ({n_gif} frames)",
                           data=lambda: animation_gif(anim, every=every), file_name=f"{stem}.gif",
                           mime="image/gif", key="export_gif", on_click="ignore",
                           help=f"Drawn on the server (at most {GIF_MAX_PARTICLES:,} particles a panel); "
                                "a few seconds for thousands of particles.")
        d1, d2, d3 = st.columns(3)
        d1.download_button(f"Samples CSV ({n:,} points)", data=lambda: samples_csv(anim.paths[-1]),
                           file_name=f"{stem}-samples.csv", mime="text/csv", key="export_samples_csv",
                           on_click="ignore", help="columns particle, x, y: where the particles end")
        d2.download_button(f"Trajectories CSV ({n_t * n:,} rows)",
                           data=lambda: trajectories_csv(anim.times, anim.paths),
                           file_name=f"{stem}-trajectories.csv", mime="text/csv",
                           key="export_trajectories_csv", on_click="ignore",
                           help="columns frame, t, particle, x, y")
        d3.download_button("Model weights (.pt)",
                           data=lambda: save_weights(sess.state) if sess.state else b"",
                           file_name=f"{stem}.pt", mime="application/octet-stream", key="export_weights",
                           on_click="ignore", disabled=sess.state is None,
                           help="config, weights, step and loss history; load it back below")
        st.divider()
        upload = st.file_uploader(f"Load weights (.pt saved here, at most {MAX_WEIGHTS_BYTES // 2**20} MB)",
                                  type=["pt"], key="export_upload",
                                  max_upload_size=MAX_WEIGHTS_BYTES // 2**20)
        st.button("Load these weights", key="export_load", on_click=_on_load, args=(sess,),
                  disabled=upload is None or sess.status == "training",
                  help="replaces the current model; the sidebar is set to the file's config")
        if kind == "success":
            st.success(escape(text))
        elif kind == "error":
            st.error(escape(text))
