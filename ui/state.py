"""Per-user objects, kept in st.session_state (never in module globals or cache_resource)."""

import streamlit as st

from playground.session import PlaygroundSession


def playground_session() -> PlaygroundSession:
    """This browser session's training run (model, optimizer, history, animation cache)."""
    if "playground" not in st.session_state:
        st.session_state["playground"] = PlaygroundSession()
    return st.session_state["playground"]
