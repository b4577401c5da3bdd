"""A tiny Streamlit script for tests/e2e/test_literal_browser.py: every case of CASES through
ui.literal's escape() (in st.markdown) and code() (in st.caption), each line tagged E<i> / C<i>."""

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.e2e.literal_cases import CASES  # noqa: E402
from ui.literal import code, escape  # noqa: E402

for i, case in enumerate(CASES):
    st.markdown(f"E{i} " + escape(case))
    st.caption(f"C{i} " + code(case))
