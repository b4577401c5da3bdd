"""Scenes: one-click curated experiments with small pre-trained weights, ready to animate and change."""

from ui.router import through_the_router

through_the_router()  # first line: a fresh server's deep link must reach app.py

import streamlit as st

from playground.scenes import SCENES, SceneError, load_manifest, thumbnail_path
from ui.scenes import gallery, open_scene_and_switch

COLUMNS = 3

st.title("Scenes")
st.caption("Each scene loads its whole experiment into the Playground with small pre-trained weights, "
           "so it animates at once without training. Change any setting there and press Train to "
           "retrain. The address bar then holds a link that reopens the scene.")

try:
    entries = {e["name"]: e for e in load_manifest()["scenes"]}
except SceneError as exc:
    st.error(f"The scene files are missing: {exc}")
    st.stop()

names = gallery()
for row in range(0, len(names), COLUMNS):
    for col, name in zip(st.columns(COLUMNS), names[row:row + COLUMNS]):
        scene, entry = SCENES[name], entries.get(name)
        with col.container(border=True):
            thumb = thumbnail_path(name)
            if thumb is not None:
                st.image(str(thumb), width=160)
            st.markdown(f"**{scene.title}**")
            st.caption(scene.description)
            if entry is None:
                st.warning("No weights shipped: run `python -m playground build-scenes`.")
                continue
            m = entry["metrics"]
            st.caption(f"{entry['steps']:,} steps · energy distance {m['energy_distance']:.4f} "
                       f"(noise floor {m['floor_energy_distance']:.4f})")
            if st.button("Open", key=f"scene_{name}", type="primary", width="stretch",
                         help="load the settings and the weights into the Playground (no training)"):
                error = open_scene_and_switch(name)
                if error:
                    st.error(error)
