"""Streamlit-side helpers shared by the pages (widgets → config, per-user state). The math
lives in `playground/`; this package only turns widget values into library calls."""
