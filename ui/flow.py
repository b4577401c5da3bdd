"""The flow player on a page: the live flow while a model trains, the final animation after.

The player (`playground.canvas_anim`) is a Streamlit v2 component: no iframe; the browser mounts
it once and, when a rerun or a fragment run sends new data under the same key, swaps the arrays
in place, so the canvas neither fades nor jumps and keeps its place in the cycle. Player data is
built once per model step and view settings (`PlaygroundSession.view`), so a rerun that changes
neither sends the same message again, which Streamlit replaces with a reference to the copy the
browser already holds.
"""

from __future__ import annotations

import zlib

import streamlit as st

from playground.animation import LIVE_PARTICLES, AnimationData
from playground.canvas_anim import COMPONENT_JS, canvas_spec
from playground.session import PlaygroundSession

_player = st.components.v2.component("interpolant_flow", js=COMPONENT_JS)

LIVE_FPS = 24
FINAL_FPS = 30


def player_size(present: bool) -> int:
    """Largest panel side in px (the player shrinks to its column)."""
    return 450 if present else 440


def live_spec(sess: PlaygroundSession, present: bool = False) -> dict | None:
    """Player data of the current model's live flow (None before the first chunk)."""
    s, live = sess.state, sess.live_flow()
    if live is None:
        return None
    step = s.step
    return sess.view("live", (step, present), lambda: canvas_spec(
        live.paths, live.times, live.true_frames, live.goal, fps=LIVE_FPS, size=player_size(present),
        autoplay=True, hold=0.4, font=20 if present else 16,
        titles=(f"learned flow at step {step:,}", "true interpolant x_t"),
        caption=f"Live: the model being trained, {LIVE_PARTICLES} particles, redrawn about once a second.",
        meta={"name": "flow", "kind": "live", "step": step, "sig": f"live-{step}-{int(present)}"}))


def final_spec(sess: PlaygroundSession, anim: AnimationData, caption: str, present: bool = False) -> dict:
    """Player data of the full animation `anim` (built once per animation and view)."""
    step = sess.state.step
    serial = sess.animation_serial
    return sess.view("final", (serial, caption, present), lambda: canvas_spec(
        anim.paths, anim.times, anim.true_frames, anim.goal, fps=FINAL_FPS, size=player_size(present),
        autoplay=True, hold=0.8, font=20 if present else 16,
        titles=("learned flow: X_t", "true interpolant: x_t"), caption=caption,
        meta={"name": "flow", "kind": "final", "step": step,
              "sig": f"final-{step}-{serial}-{int(present)}-{zlib.crc32(caption.encode())}"}))


def flow_player(spec: dict, key: str = "flow") -> None:
    """Draw (or update in place) the player with this data."""
    _player(data=spec, key=key)
