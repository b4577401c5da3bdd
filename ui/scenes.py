"""Scenes in the app: open a curated experiment without training, from a card or from ?scene=NAME.

Opening a scene puts its full config into the Playground's widgets (`ui.share.apply_config`) and
its shipped float16 weights into this session's model (`PlaygroundSession.install_model`, status
stopped), so the Playground animates at once and every setting stays editable (Train retrains).
"""

from __future__ import annotations

import streamlit as st

from playground.scenes import SCENES, SceneError, load_scene
from ui.share import apply_config, presenting
from ui.state import playground_session

PLAYGROUND_PAGE = "pages/playground_page.py"


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
    playground_session().install_model(
        cfg, state_dict, entry["steps"],
        note=f"Scene “{title}”: pre-trained weights ({entry['steps']:,} steps, no training here). "
             "Change any setting and press Train to retrain, or raise steps and press Resume.")
    st.session_state["_scene"] = name  # the scene this session last opened
    if notices:
        st.session_state["_url_notices"] = st.session_state.get("_url_notices", []) + notices
    return None


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
