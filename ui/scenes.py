"""Scenes in the app: open a curated experiment without training, from a card or from ?scene=NAME.

Opening a scene puts its full config into the Playground's widgets (`ui.share.apply_config`) and
its shipped float16 weights into this session's model (`PlaygroundSession.install_model`, status
stopped), so the Playground animates at once and every setting stays editable (Train retrains).
"""

from __future__ import annotations

import streamlit as st

from playground.animation import AnimationData, build_animation
from playground.config import ExperimentConfig
from playground.experiment import sampling_field
from playground.scenes import DEFAULT_SCENE, SCENES, SceneError, load_scene
from playground.training import make_state
from ui.controls import animation_options
from ui.share import apply_config, presenting
from ui.state import playground_session

PLAYGROUND_PAGE = "pages/1_playground.py"


def open_scene(name: str) -> str | None:
    """Load scene `name` into this session (widgets and model). Returns an error message, or None.

    Never trains: the weights come from assets/scenes/ (checked against the manifest's sha256).
    """
    try:
        cfg, state_dict, entry = load_scene(name)
    except (SceneError, ValueError, KeyError, OSError) as exc:
        return f"Scene {name!r} could not be loaded: {exc}"
    title = SCENES[name].title
    notices = apply_config(cfg, label=f"scene {title}")
    install_scene_weights(name, cfg, state_dict, entry)
    st.session_state["_scene"] = name  # the scene this session last opened
    if notices:
        st.session_state["_url_notices"] = st.session_state.get("_url_notices", []) + notices
    return None


def install_scene_weights(name: str, cfg: ExperimentConfig, state_dict: dict, entry: dict) -> None:
    """Put a scene's shipped weights into this session's model, with their facts (steps trained,
    quality against the noise floor) for the page to show instead of training metrics."""
    scene = SCENES[name]
    sess = playground_session()
    sess.install_model(cfg, state_dict, entry["steps"], note="",
                       facts={"name": name, "title": scene.title, "description": scene.description,
                              "steps": entry["steps"], "metrics": entry.get("metrics", {})})
    opts = animation_options()
    try:
        anim = shipped_animation(name, entry["sha256"], cfg, opts["particles"], opts["arrows_grid"])
    except (SceneError, ValueError, OSError):
        return  # the page builds it from the session's model and says what is wrong
    sess.adopt_animation(cfg, opts["particles"], opts["arrows_grid"], anim)


@st.cache_data(max_entries=16, show_spinner=False)
def shipped_animation(name: str, sha256: str, cfg: ExperimentConfig, particles: int,
                      arrows_grid: int) -> AnimationData:
    """The animation of a scene's shipped weights with cfg's sampling settings: the same for every
    visitor (fixed weights, fixed seeds), so it is built once per process and settings (sha256
    keys the weights), not once per session. The first visit and each scene Open reuse it."""
    cfg_shipped, state_dict, _ = load_scene(name)
    state = make_state(cfg_shipped.replace(sampler=cfg.sampler, sample_steps=cfg.sample_steps,
                                           direction=cfg.direction, epsilon=cfg.epsilon,
                                           epsilon_shape=cfg.epsilon_shape, t0=cfg.t0), device="cpu")
    state.model.load_state_dict(state_dict)
    state.model.eval()
    return build_animation(sampling_field(state), state.config, state.base, state.target, state.interpolant,
                           particles, arrows_grid)


def play_default_on_arrival(cfg: ExperimentConfig) -> bool:
    """A session's first visit to the Playground: when nothing is trained yet and the settings
    are the default experiment's (no link asked for another), install the shipped weights of the
    default experiment, so a flow plays from the first second. Once per session. True if done."""
    ss = st.session_state
    if ss.get("_arrived"):
        return False
    ss["_arrived"] = True
    sess = playground_session()
    if sess.state is not None or sess.status != "idle":
        return False
    try:
        shipped, state_dict, entry = load_scene(DEFAULT_SCENE)
    except (SceneError, ValueError, KeyError, OSError):
        return False  # no shipped default: the page says "press Train" as before
    from playground.session import MODEL_FIELDS

    if any(getattr(shipped, f) != getattr(cfg, f) for f in MODEL_FIELDS):
        return False
    install_scene_weights(DEFAULT_SCENE, cfg, state_dict, entry)
    return True


def gallery() -> list[str]:
    """Scene names shown in the gallery and the presentation picker, in order."""
    return [n for n, s in SCENES.items() if s.gallery]


def pick_scene() -> None:
    """on_change of the presentation mode's scene picker (key "present_scene"): open that scene
    (a callback runs before the widgets are drawn, so it may set them)."""
    name = st.session_state.get("present_scene")
    if name in SCENES:
        error = open_scene(name)
        if error:
            st.session_state["_url_notices"] = st.session_state.get("_url_notices", []) + [error]
        else:
            st.query_params["scene"] = name


def open_scene_and_switch(name: str) -> str | None:
    """`open_scene`, then go to the Playground with ?scene=NAME in the address bar (a link that
    reopens the scene). Returns the error message when the scene could not be loaded."""
    error = open_scene(name)
    if error is None:
        st.session_state["_scene_url_applied"] = True  # this session already shows it
        query = {"scene": name, **({"present": "1"} if presenting() else {})}
        st.switch_page(PLAYGROUND_PAGE, query_params=query)
    return error


def load_scene_from_url() -> bool:
    """On a session's first run, open the scene named by ?scene=NAME (call after
    `ui.share.apply_url_once()` and before the page runs, so the widgets get the scene's values).

    Returns True when a scene was opened; an unknown name becomes a notice on the Playground.
    """
    ss = st.session_state
    if ss.get("_scene_url_applied"):
        return False
    ss["_scene_url_applied"] = True
    name = st.query_params.get("scene")
    if not name:
        return False
    if name not in SCENES:
        ss["_url_notices"] = ss.get("_url_notices", []) + [
            f"scene {name[:40]!r} is not known: choose one of {', '.join(SCENES)}"]
        return False
    error = open_scene(name)
    if error:
        ss["_url_notices"] = ss.get("_url_notices", []) + [error]
        return False
    return True
