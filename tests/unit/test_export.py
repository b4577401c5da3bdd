"""Exports (playground.export, ui.export): GIF frame count, PNG size, CSV round trips, standalone
HTML, and weights that reproduce the model exactly, with clear errors for bad or hostile files."""

from __future__ import annotations

import dataclasses
import io
import os
import pickle
import re

import numpy as np
import pytest
import torch
from PIL import Image

from playground.animation import build_animation
from playground.config import ExperimentConfig
from playground.export import (
    ExportError,
    animation_gif,
    animation_html,
    frame_png,
    gif_frame_indices,
    install_weights,
    load_weights,
    read_samples_csv,
    read_trajectories_csv,
    read_weights,
    render_frame,
    samples_csv,
    save_weights,
    trajectories_csv,
    weights_bytes,
)
from playground.figures import animation_figure
from playground.sampling import integrate
from playground.session import PlaygroundSession
from playground.training import make_state, train_steps

CFG = ExperimentConfig(target="8gaussians", width=32, depth=2, steps=20, batch=64, sample_steps=20, device="cpu")


@pytest.fixture(scope="module")
def state():
    s = make_state(CFG)
    train_steps(s, 20)
    return s


@pytest.fixture(scope="module")
def anim(state):
    return build_animation(state.model, CFG, state.base, state.target, state.interpolant,
                           particles=200, arrows_grid=5, steps=20)


# ----------------------------------------------------------------------------- pictures


@pytest.mark.parametrize("every,expected", [(1, 21), (3, 8), (50, 2)])
def test_gif_has_the_expected_frame_count(anim, every, expected):
    assert len(gif_frame_indices(len(anim.times), every)) == expected
    img = Image.open(io.BytesIO(animation_gif(anim, size=120, every=every, fps=10)))
    assert img.format == "GIF" and img.n_frames == expected
    assert img.info.get("loop") == 0 and img.info.get("duration") == 100


def test_gif_thins_particles_but_keeps_frames(anim):
    from playground.export import thin

    small = thin(anim, 50)
    assert small.paths.shape == (21, 50, 2) and small.true_frames.shape[1] == 50
    np.testing.assert_array_equal(small.paths[:, 0], anim.paths[:, 0])
    img = Image.open(io.BytesIO(animation_gif(anim, size=100, every=10, max_particles=50)))
    assert img.n_frames == 3


def test_gif_frame_indices_keep_the_last_frame_and_the_cap():
    assert gif_frame_indices(21, 3) == [0, 3, 6, 9, 12, 15, 18, 20]
    idx = gif_frame_indices(1000, 1, max_frames=201)
    assert len(idx) <= 201 and idx[0] == 0 and idx[-1] == 999
    with pytest.raises(ExportError):
        gif_frame_indices(0)


def test_png_decodes_with_the_expected_size(anim):
    img = Image.open(io.BytesIO(frame_png(anim, 5, size=200)))
    assert img.format == "PNG" and img.size == (2 * 200 + 12, 200 + 28)
    px = np.asarray(img.convert("RGB")).reshape(-1, 3).astype(int)
    coloured = (px.max(1) - px.min(1)) > 60  # saturated particle pixels, not grey or white
    assert coloured.sum() > 200
    single = dataclasses.replace(anim, true_frames=None, arrows=None)
    assert Image.open(io.BytesIO(frame_png(single, -1, size=160))).size == (160, 160 + 28)


def test_frames_show_the_motion_and_bad_frames_raise(anim):
    first, last = np.asarray(render_frame(anim, 0, 160)), np.asarray(render_frame(anim, -1, 160))
    assert first.shape == last.shape and (first != last).any()
    with pytest.raises(ExportError, match="out of range"):
        render_frame(anim, len(anim.times))


# ----------------------------------------------------------------------------- CSV and HTML


def test_samples_csv_round_trip(anim):
    text = samples_csv(anim.paths[-1])
    assert text.splitlines()[0] == "particle,x,y" and len(text.splitlines()) == 201
    np.testing.assert_allclose(read_samples_csv(text), anim.paths[-1], rtol=1e-6, atol=1e-6)


def test_trajectories_csv_round_trip(anim):
    text = trajectories_csv(anim.times, anim.paths)
    lines = text.splitlines()
    assert lines[0] == "frame,t,particle,x,y" and len(lines) == 1 + 21 * 200
    assert lines[1].startswith("0,0,0,") and lines[-1].startswith("20,1,199,")
    times, paths = read_trajectories_csv(text)
    np.testing.assert_allclose(times, anim.times, atol=1e-6)
    np.testing.assert_allclose(paths, anim.paths, rtol=1e-6, atol=1e-6)
    with pytest.raises(ExportError):
        read_samples_csv(text)  # wrong header


def test_html_is_standalone_and_does_not_autoplay(anim):
    fig = animation_figure(anim.paths, anim.times, true_frames=anim.true_frames)
    html = animation_html(fig).decode()
    assert "<html>" in html[:100] and html.rstrip().endswith("</html>")
    assert "plotly.js v" in html  # the library itself is inlined
    assert not re.search(r"<(script|link)[^>]*(src|href)=\"(https?:)?//", html)  # nothing fetched
    assert "Plotly.animate(" not in html  # auto_play=False


def test_standalone_html_without_a_plotly_figure_is_the_canvas_page(anim):
    from playground.export import standalone_html

    html = standalone_html(None, anim).decode()
    assert "<canvas" in html and not re.search(r"<(script|link)[^>]*(src|href)=\"(https?:)?//", html)
    assert standalone_html(animation_figure(anim.paths, anim.times), anim).startswith(b"<!doctype html>")
    with pytest.raises(ExportError):
        standalone_html(None, None)


# ----------------------------------------------------------------------------- weights


def _payload(state, **changes) -> bytes:
    payload = torch.load(io.BytesIO(save_weights(state)), weights_only=True)
    payload.update(changes)
    buf = io.BytesIO()
    torch.save(payload, buf)
    return buf.getvalue()


def test_uploaded_weights_reproduce_the_model_exactly(state):
    data = save_weights(state)
    cfg, sd = load_weights(data)
    assert cfg == state.config
    sess = PlaygroundSession()
    w = read_weights(data)
    install_weights(sess, cfg, sd, w.step, w.train_seconds, w.losses)
    assert sess.status == "stopped" and sess.has_model and sess.state.step == 20
    assert sess.state.losses == pytest.approx(state.losses, rel=1e-6)
    x = state.base.sample(500, torch.Generator().manual_seed(5))
    a = integrate(state.model, x, 20, "heun", keep=0).final
    b = integrate(sess.state.model, x, 20, "heun", keep=0).final
    assert torch.equal(a, b)
    assert sess.animation(cfg, 100, 0) is not None  # the loaded model can be shown
    sess.resume(cfg.replace(steps=30))  # ... and continued
    assert sess.status == "training"
    sess.train_for(0.2)
    assert sess.state.step > 20


def test_install_without_a_step_counts_as_finished(state):
    sess = PlaygroundSession()
    install_weights(sess, state.config, state.model.state_dict())
    assert sess.state.step == state.config.steps and sess.state.done and sess.status == "stopped"


def test_bad_weight_files_raise_a_clear_error(state, tmp_path):
    other = ExperimentConfig(width=64, depth=2, device="cpu")
    nan_sd = {k: v.clone() for k, v in state.model.state_dict().items()}
    nan_sd["net.0.weight"][0, 0] = float("nan")
    cases = {
        b"": "empty",
        b"certainly not a torch file": "not a weights file",
        pickle.dumps({"config": {}}): "not a torch zip archive",
        _torch_bytes(torch.zeros(3)): "no config and state_dict",
        _payload(state, format="something-else"): "unknown weights format",
        weights_bytes(other, state.model.state_dict()): "shape|do not match",
        weights_bytes(state.config, {"net.0.weight": torch.zeros(1)}): "do not match",
        weights_bytes(state.config, nan_sd): "not a finite",
        _payload(state, config={**state.config.to_dict(), "width": 99999}): "config is invalid",
        _payload(state, config={**state.config.to_dict(), "target": "file:/etc/passwd"}): "on the server",
        _payload(state, version=99): "version",
        _payload(state, step=-3): "step",
    }
    for data, pattern in cases.items():
        with pytest.raises(ExportError, match=pattern):
            load_weights(data)
    with pytest.raises(ExportError, match="at most"):
        read_weights(save_weights(state), max_bytes=1000)
    assert issubclass(ExportError, ValueError)


class _Evil:
    """Unpickling this would run a shell command."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


def _torch_bytes(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


@pytest.mark.parametrize("wrap", ["torch", "pickle"])
def test_hostile_pickle_is_refused_without_running(tmp_path, wrap):
    marker = tmp_path / "pwned"
    evil = {"format": "interpolant-playground-weights", "config": _Evil(marker)}
    data = _torch_bytes(evil) if wrap == "torch" else pickle.dumps(evil)
    with pytest.raises(ExportError, match="refused" if wrap == "torch" else "not a torch zip"):
        load_weights(data)
    assert not marker.exists(), "the pickle's code ran"


# ----------------------------------------------------------------------------- the panel's logic


def test_two_head_network_with_denoiser_round_trips(tmp_path):
    """γ > 0: the network has drift and denoiser heads; both come back, the score included."""
    cfg = CFG.replace(gamma="brownian", gamma_scale=0.5)
    s = make_state(cfg)
    train_steps(s, 5)
    assert s.denoiser_kind == "z"
    w = read_weights(save_weights(s))
    sess = PlaygroundSession()
    install_weights(sess, w.config, w.state_dict, w.step)
    assert sess.state.has_score and sess.state.step == 5
    x = s.base.sample(100, torch.Generator().manual_seed(1))
    t = torch.full((100,), 0.4)
    for a, b in zip(s.fields().drift_and_score(t, x), sess.state.fields().drift_and_score(t, x),
                    strict=True):
        assert torch.equal(a, b)


def test_the_cli_model_file_loads_too(state):
    """The CLI's model.pt ({config, state_dict of the network, denoiser}) is accepted."""
    data = _torch_bytes({"config": state.config.to_dict(), "state_dict": state.network.state_dict(),
                         "denoiser": state.denoiser_kind})
    w = read_weights(data)
    assert w.config == state.config and w.step == state.config.steps and w.losses == []


def test_an_old_cli_model_file_of_a_time_budget_loads_as_a_finished_run(state):
    """A model.pt without its progress, trained for seconds (steps 0): Resume must not start the
    budget and its learning-rate schedule over; the CLI now writes step and seconds itself."""
    cfg = state.config.replace(steps=0, seconds=2.0)
    data = _torch_bytes({"config": cfg.to_dict(), "state_dict": state.network.state_dict(),
                         "denoiser": state.denoiser_kind})
    w = read_weights(data)
    assert w.step >= 1 and w.train_seconds == 2.0
    sess = PlaygroundSession()
    install_weights(sess, cfg, w.state_dict, w.step, w.train_seconds, w.losses)
    assert sess.state.done and sess.state.progress() == 1.0
    sess.resume(cfg)
    assert sess.status != "training", "a finished time budget trained again from the start"
    fresh = PlaygroundSession()
    install_weights(fresh, cfg, w.state_dict)  # no progress given at all
    assert fresh.state.done


def test_apply_weights_installs_and_reports(state):
    from ui.export import apply_weights

    sess = PlaygroundSession()
    msg = apply_weights(sess, save_weights(state), sync_widgets=False)
    assert sess.has_model and sess.status == "stopped" and "Loaded a 32×2 model" in msg
    with pytest.raises(ExportError):
        apply_weights(PlaygroundSession(), b"junk", sync_widgets=False)


def test_export_panel_renders_its_buttons_and_loading_sets_the_widgets(state, tmp_path):
    from streamlit.testing.v1 import AppTest

    def script(weights_path):
        import streamlit as st
        import torch

        from playground.animation import build_animation
        from playground.config import ExperimentConfig
        from playground.figures import animation_figure
        from playground.session import PlaygroundSession
        from ui.export import export_panel

        torch.set_num_threads(1)
        cfg = ExperimentConfig(target="8gaussians", width=16, depth=1, steps=3, sample_steps=10, device="cpu")
        if "sess" not in st.session_state:
            sess = PlaygroundSession()
            sess.start(cfg)
            sess.train_for(0.05)
            sess.stop()
            st.session_state["sess"] = sess
        sess = st.session_state["sess"]
        s = sess.state
        anim = build_animation(s.model, cfg, s.base, s.target, s.interpolant, 50, 0, steps=10)
        export_panel(animation_figure(anim.paths, anim.times), anim, sess, cfg)

        def load():  # what the Load button's callback does with an uploaded file
            from ui.export import apply_weights

            with open(weights_path, "rb") as f:
                st.session_state["loaded"] = apply_weights(sess, f.read())

        st.button("simulate upload", key="sim_load", on_click=load)

    path = tmp_path / "w.pt"
    path.write_bytes(save_weights(state))
    at = AppTest.from_function(script, args=(str(path),), default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels[0] == "Animation (HTML)" and "Animation as GIF (11 frames)" in labels
    assert any(lbl.startswith("Samples CSV (50 points)") for lbl in labels)
    assert "Model weights (.pt)" in labels and len(labels) == 6
    at.select_slider(key="export_gif_every").set_value(5).run()
    assert "Animation as GIF (3 frames)" in [b.proto.label for b in at.get("download_button")]
    assert at.button(key="export_load").disabled  # nothing uploaded yet
    at.button(key="sim_load").click().run()
    assert not at.exception, at.exception
    assert "Loaded a 32×2 model" in at.session_state["loaded"]
    # the sidebar widgets' state now holds the file's config (ui.share.apply_config)
    assert at.session_state["target"] == "8gaussians" and at.session_state["width"] == 32
    assert at.session_state["sess"].state.step == 20


def test_a_weights_file_from_before_the_features_of_x_loads_with_none():
    """Files saved before `x_features` existed have no such key and a first layer on [x, time
    features] only: they load as x_features = 0 and give back the same field."""
    cfg = ExperimentConfig(target="8gaussians", width=16, depth=1, steps=5, device="cpu", x_features=0)
    old = make_state(cfg)
    train_steps(old, 5)
    saved = cfg.to_dict()
    del saved["x_features"]
    w = read_weights(_torch_bytes({"config": saved, "state_dict": old.network.state_dict()}))
    assert w.config.x_features == 0
    sess = PlaygroundSession()
    install_weights(sess, w.config, w.state_dict, w.step)
    t, x = torch.rand(50, generator=torch.Generator().manual_seed(1)), torch.randn(50, 2)
    with torch.no_grad():
        assert torch.equal(sess.state.model(t, x), old.model(t, x))
    # a file saved now keeps its features of x
    cur = make_state(cfg.replace(x_features=3))
    assert read_weights(_torch_bytes({"config": cur.config.to_dict(),
                                      "state_dict": cur.network.state_dict()})).config.x_features == 3
