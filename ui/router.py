"""Every page runs through app.py's router, even when Streamlit runs the page file by itself.

Streamlit (checked on 1.67) decides, before a script runs, whether the app "uses the pages
directory": true when a `pages/` folder stands beside app.py, until `st.navigation` first runs in
the process (AppTest decides it again before every run). While it is true, a request for
`/theory` runs the file in `pages/` whose name says `theory` (`pages/6_theory.py`) by itself:
no page config, no navigation, no settings or scenes from the URL. (Had no file name matched the
URL, Streamlit would run app.py, but first show a "Page not found" dialog and drop the deep link.)

`through_the_router()`, the first line of every page, notices that case and runs app.py right
there, in the same script run (so the widget values of this run, a click included, are kept):
app.py's `st.navigation` switches the old mode off, resolves the same page by its URL and runs
it with the router in charge; then the outer run stops. Otherwise it does nothing.
"""

import runpy
from pathlib import Path

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

APP = Path(__file__).resolve().parents[1] / "app.py"


def through_the_router() -> None:
    """Run app.py (and through it this page) when Streamlit ran this page file on its own."""
    if PagesManager.uses_pages_directory:
        runpy.run_path(str(APP), run_name="__main__")
        st.stop()
