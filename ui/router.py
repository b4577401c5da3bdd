"""Every page runs through app.py's router, even as a fresh server's first request.

Streamlit (checked on 1.67) decides once per process, before any script runs, whether the app
"uses the pages directory": true when a `pages/` folder stands beside app.py, until
`st.navigation` first runs. While it is true, a request for `/theory` runs the file in `pages/`
whose name says `theory` (`pages/6_theory.py`) directly, without app.py: no page config, no
navigation, no links or scenes from the URL. (Had the file names not matched any URL, Streamlit
would run app.py but first show a "Page not found" dialog and drop the deep link.)

`through_the_router()`, the first line of every page, switches that old mode off (as
`st.navigation` itself does) and reruns: the rerun runs app.py, whose `st.navigation` resolves
the same page by its URL, so the visitor lands where the link pointed, with the router in
charge. Once the router has run in this process, the call does nothing.
"""

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager


def through_the_router() -> None:
    """Rerun through app.py when Streamlit ran this page file on its own (see the module doc)."""
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
