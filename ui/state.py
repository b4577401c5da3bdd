"""Per-user objects, kept in st.session_state (never in module globals or cache_resource)."""

import streamlit as st
from streamlit.logger import get_logger

from playground.session import PlaygroundSession

_log = get_logger("playground")


def playground_session() -> PlaygroundSession:
    """This browser session's training run (model, optimizer, history, animation cache)."""
    if "playground" not in st.session_state:
        st.session_state["playground"] = PlaygroundSession()
    sess = st.session_state["playground"]
    _release_when_the_tab_closes(id(sess), sess)
    return sess


def _close(sess: PlaygroundSession) -> None:
    s = sess.state
    what = (f"run of {s.config.budget_text} (seed {s.config.seed}) stopped at step {s.step}; model freed"
            if s is not None else "no model")
    sess.close()
    _log.info("playground session closed: %s", what)


@st.cache_resource(scope="session", on_release=_close, show_spinner=False)
def _release_when_the_tab_closes(key: int, _sess: PlaygroundSession) -> PlaygroundSession:
    """A session-scoped entry (not the state itself, which stays in session_state): Streamlit
    releases it when the tab disconnects, and `_close` stops training and frees the model."""
    return _sess
