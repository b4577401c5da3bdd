"""Interpolant Playground: the router. Page config, torch threads, st.navigation over pages/."""

import os

import streamlit as st
import torch

from playground.session import set_training_slots
from ui.scenes import load_scene_from_url
from ui.share import PRESENT_CSS, apply_url_once, presenting

# One torch thread per training session: on 2 shared cores this is both faster and steadier
# for small MLPs than two (see docs/PERF.md / bench), and it leaves a core for the server.
torch.set_num_threads(int(os.environ.get("PLAYGROUND_THREADS", "1")))
set_training_slots(int(os.environ.get("PLAYGROUND_TRAINING_SLOTS", "2")))

# a sidebar 340 px wide (Streamlit's is narrower) so menu values such as "brownian: γ = √(a t(1−t))" are not cut
st.set_page_config(page_title="Interpolant Playground", page_icon="〰", layout="wide", initial_sidebar_state=340)

# less blank space above each page's title than Streamlit's 6rem: the first screen is for content
st.markdown("<style>[data-testid='stMainBlockContainer'] { padding-top: 2.2rem; }</style>", unsafe_allow_html=True)
apply_url_once()
load_scene_from_url()  # ?scene=NAME: a shipped scene's settings and weights, no training
if presenting():
    st.markdown(PRESENT_CSS, unsafe_allow_html=True)

pages = [
    st.Page("pages/1_playground.py", title="Playground", default=True, url_path="playground"),
    st.Page("pages/2_scenes.py", title="Scenes", url_path="scenes"),
    st.Page("pages/3_draw.py", title="Draw", url_path="draw"),
    st.Page("pages/4_schedules.py", title="Schedules", url_path="schedules"),
    st.Page("pages/5_stochastic.py", title="Stochastic side", url_path="stochastic"),
    st.Page("pages/6_theory.py", title="Theory", url_path="theory"),
    st.Page("pages/7_about.py", title="About", url_path="about"),
]
st.navigation(pages, position="hidden" if presenting() else "sidebar").run()
