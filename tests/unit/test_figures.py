"""Figure builders: what a user sees is what the arrays say (no Streamlit, no browser)."""

from __future__ import annotations

import base64
import json

import numpy as np
import plotly.graph_objects as go
import pytest

from playground import figures as F


def _traj(T=6, n=40, seed=0):
    rng = np.random.default_rng(seed)
    x0 = rng.normal(size=(n, 2))
    x1 = rng.normal(size=(n, 2)) + 2.0
    t = np.linspace(0.0, 1.0, T)
    traj = (1 - t)[:, None, None] * x0 + t[:, None, None] * x1
    return traj.astype(np.float32), t


def _validate(fig: go.Figure) -> go.Figure:
    """Re-build the figure with Plotly's validation on (the builders skip it for speed)."""
    return go.Figure(json.loads(fig.to_json()))


def _in_frame(frame, index: int):
    """The data a frame gives trace `index` (frames list only the traces they update)."""
    return dict(zip(frame.traces, frame.data, strict=True))[index]


def _decode(v) -> np.ndarray:
    """A trace array as numpy, whether a plain list or a typed {dtype, bdata} array."""
    if isinstance(v, dict):
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
    return np.asarray(v, dtype=float)


def test_animation_frames_slider_and_data():
    traj, t = _traj(T=7, n=30)
    true, _ = _traj(T=7, n=25, seed=1)
    fig = F.animation_figure(traj, t, true_frames=true)
    _validate(fig)
    assert len(fig.frames) == 7
    steps = fig.layout.sliders[0].steps
    assert [s.label for s in steps] == [f"{v:.2f}" for v in t]
    assert [s.args[0][0] for s in steps] == [f.name for f in fig.frames]
    ip, it = F.trace_index(fig, "particles"), F.trace_index(fig, "true")
    assert fig.data[ip].xaxis == "x" and fig.data[it].xaxis == "x2"
    for k, frame in enumerate(fig.frames):
        np.testing.assert_array_equal(_in_frame(frame, ip).x, traj[k, :, 0])
        np.testing.assert_array_equal(_in_frame(frame, ip).y, traj[k, :, 1])
        np.testing.assert_array_equal(_in_frame(frame, it).x, true[k, :, 0])
        np.testing.assert_array_equal(_in_frame(frame, it).y, true[k, :, 1])
    # the JSON a browser receives decodes to the same numbers (typed float32 arrays)
    js = json.loads(fig.to_json())
    last = js["frames"][-1]["data"][js["frames"][-1]["traces"].index(ip)]
    np.testing.assert_array_equal(_decode(last["x"]), traj[-1, :, 0])
    assert last["x"]["dtype"] == "f4"


def test_animation_frames_only_update_moving_traces():
    traj, t = _traj()
    fig = F.animation_figure(traj, t, target_bg=np.zeros((50, 2)), true_frames=traj)
    static = {F.trace_index(fig, "target samples")}
    for frame in fig.frames:
        assert static.isdisjoint(frame.traces)
        assert len(frame.traces) == len(frame.data) == 2
        for tr in frame.data:  # positions only: colours stay those of the first draw
            assert tr.marker.color is None


def test_colours_fixed_per_particle_and_follow_start_angle():
    traj, t = _traj(n=200)
    traj[0] = (
        np.stack(
            [
                np.cos(np.linspace(0, 2 * np.pi, 200, endpoint=False)),
                np.sin(np.linspace(0, 2 * np.pi, 200, endpoint=False)),
            ],
            1,
        )
        * 2
    )
    fig = F.animation_figure(traj, t, true_frames=traj[:, ::-1])
    colors = np.asarray(fig.data[F.trace_index(fig, "particles")].marker.color)
    assert len(colors) == 200
    assert colors[0] != colors[50] != colors[100] != colors[150]  # 0°, 90°, 180°, 270° differ
    assert colors[0] == F.position_colors(traj[0])[0]
    true_colors = np.asarray(fig.data[F.trace_index(fig, "true")].marker.color)
    np.testing.assert_array_equal(true_colors, F.position_colors(traj[0, ::-1]))
    # explicit numeric colours go through a cyclic scale, explicit CSS colours are kept
    fig2 = F.animation_figure(traj, t, colors=np.arange(200.0))
    assert fig2.data[0].marker.cmax == 199
    assert not isinstance(json.loads(fig2.to_json())["data"][0]["marker"]["colorscale"], str)
    fig3 = F.animation_figure(traj, t, colors=np.array(["red"] * 200))
    assert list(fig3.data[0].marker.color) == ["red"] * 200


def test_trails_grow_up_to_current_frame():
    traj, t = _traj(T=5, n=20)
    fig = F.animation_figure(traj, t, trails=3)
    it = F.trace_index(fig, "trails")
    for k, frame in enumerate(fig.frames):
        x = np.asarray(_in_frame(frame, it).x, dtype=float)
        assert len(x) == 3 * (k + 2)  # k + 1 points and a gap per trailed particle
        segs = x.reshape(3, k + 2)
        np.testing.assert_array_equal(segs[:, :-1], traj[: k + 1, :3, 0].T)
        assert np.isnan(segs[:, -1]).all()
    fig = F.animation_figure(traj, t, trails=2, trail_length=2)
    x = np.asarray(_in_frame(fig.frames[4], F.trace_index(fig, "trails")).x)
    assert len(x) == 2 * 3


def test_arrows_count_and_scale():
    traj, t = _traj(T=4)
    gx = np.linspace(-3, 3, 5)
    X, Y = np.meshgrid(gx, gx)
    rows = np.stack([X.ravel(), Y.ravel(), np.ones(25), np.zeros(25)], 1)
    arrows = np.stack([rows * [1, 1, k + 1, 1] for k in range(4)])  # (T, 25, 4)
    fig = F.animation_figure(traj, t, arrows=arrows)
    ia = F.trace_index(fig, "drift b(t, x)")
    for k, frame in enumerate(fig.frames):
        x = np.asarray(_in_frame(frame, ia).x, dtype=float)
        assert len(x) == 3 * 25 and np.isnan(x[2::3]).all()
        length = x[1::3] - x[0::3]
        assert np.allclose(length, length[0]) and length[0] > 0
        if k == 3:  # the longest arrows span at most about one grid cell
            assert length[0] <= 1.5 * (gx[1] - gx[0])
    with pytest.raises(ValueError):
        F.animation_figure(traj, t, arrows=arrows[:2])


def test_axes_fixed_to_box_and_equal_aspect():
    traj, t = _traj()
    fig = F.animation_figure(traj, t, true_frames=traj, box=3.0)
    lay = fig.layout
    for ax in (lay.xaxis, lay.yaxis, lay.xaxis2, lay.yaxis2):
        assert tuple(ax.range) == (-3.0, 3.0) and ax.autorange is False
    assert lay.yaxis.scaleanchor == "x" and lay.yaxis2.scaleanchor == "x2"
    assert lay.uirevision and lay.height == 520
    assert [a.text for a in lay.annotations] == ["<b>learned flow: X_t</b>",
                                                 "<b>true interpolant: x_t</b>"]


def test_play_buttons_speeds_and_webgl_switch():
    traj, t = _traj()
    fig = F.animation_figure(traj, t, fps=20, arrows=np.zeros((6, 4, 4)), trails=2)
    plays = [b for b in fig.layout.updatemenus[0].buttons if b.args[0] is None]
    assert [b.args[1]["frame"]["duration"] for b in plays] == [100.0, 50.0, 25.0]
    for b in plays:
        assert b.args[1]["mode"] == "immediate" and b.args[1]["fromcurrent"] is True
        assert b.args[1]["transition"]["duration"] == 0 and b.args[1]["frame"]["redraw"] is False
    assert {tr.type for tr in fig.data} == {"scatter"}
    gl = F.animation_figure(traj, t, webgl=True, arrows=np.zeros((6, 4, 4)), trails=2)
    _validate(gl)
    assert {tr.type for tr in gl.data} == {"scattergl"}
    assert {tr.type for f in gl.frames for tr in f.data} == {"scattergl"}
    assert all(b.args[1]["frame"]["redraw"] for b in gl.layout.updatemenus[0].buttons)
    assert all(s.args[1]["frame"]["redraw"] for s in gl.layout.sliders[0].steps)


def test_bad_shapes_rejected():
    traj, t = _traj()
    with pytest.raises(ValueError):
        F.animation_figure(traj, t[:-1])
    with pytest.raises(ValueError):
        F.animation_figure(traj, t, true_frames=traj[:-1])


def test_json_size_2000x100_float32():
    rng = np.random.default_rng(0)
    traj = rng.normal(size=(100, 2000, 2))  # float64 in: cast to float32
    fig = F.animation_figure(traj, np.linspace(0, 1, 100), target_bg=rng.normal(size=(2000, 2)))
    assert F.figure_nbytes(fig) < 4_000_000
    assert F.figure_nbytes(fig) == len(fig.to_json())


def test_loss_figure_downsamples_keeping_first_last_min():
    rng = np.random.default_rng(0)
    k = 10_000
    steps = np.arange(k)
    losses = np.exp(-steps / 3000) + rng.random(k) * 0.1 + 0.05
    losses[4321] = 0.001  # a sharp minimum somewhere in the middle
    fig = F.loss_figure(steps, losses, extra={"denoiser loss": (steps, losses * 2)})
    _validate(fig)
    raw = fig.data[0]
    x, y = np.asarray(raw.x), np.asarray(raw.y)
    assert len(x) <= 2000
    assert x[0] == 0 and x[-1] == k - 1 and 4321 in x and y.min() == 0.001
    assert np.all(np.diff(x) > 0)
    smooth = fig.data[1]
    assert len(smooth.x) <= 2000 and smooth.line.width > raw.line.width
    assert [tr.name for tr in fig.data if tr.showlegend is not False] == ["drift loss", "denoiser loss"]
    assert fig.layout.yaxis.type == "log"
    assert F.loss_figure(steps, losses - 1.0).layout.yaxis.type == "linear"  # non-positive values
    assert len(F.loss_figure(steps[:10], losses[:10]).data[0].x) == 10


def test_ema_matches_a_plain_loop_and_skips_nan():
    rng = np.random.default_rng(1)
    y = rng.random(1000)
    w, m, norm, ref = 1 - 1 / 40, 0.0, 0.0, []
    for v in y:
        m, norm = w * m + (1 - w) * v, w * norm + (1 - w)
        ref.append(m / norm)
    np.testing.assert_allclose(F.ema(y, span=40), ref, rtol=1e-9)
    y[10] = np.nan
    assert np.isfinite(F.ema(y)).all()


def test_schedule_figures_and_boundary_checks():
    t = np.linspace(0, 1, 101)
    a, b = 1 - t, t
    g = np.sqrt(t * (1 - t))
    small = F.schedule_figure(t, a, b, g, -np.ones_like(t), np.ones_like(t), None)
    _validate(small)
    assert small.layout.height <= 220
    assert [tr.name for tr in small.data] == ["α", "dα/dt", "β", "dβ/dt", "γ"]
    assert small.data[1].line.dash == "dash"
    checks = F.boundary_checks(t, a, b, g)
    assert len(checks) == 6 and all(ok for *_, ok in checks)
    bad = F.boundary_checks(t, a + 0.1, b, g)
    assert [name for name, *_, ok in bad if not ok] == ["α(0) = 1", "α(1) = 0"]
    detail = F.schedule_detail_figure(t, a + 0.1, b, g)
    _validate(detail)
    names = [tr.name for tr in detail.data]
    assert "α² + β² + γ²" in names
    holds = detail.data[names.index("boundary condition holds")]
    fails = detail.data[names.index("boundary condition fails")]
    assert len(holds.x) == 4 and len(fails.x) == 2 and fails.marker.color == F.BAD_COLOR
    np.testing.assert_allclose(detail.data[names.index("α² + β² + γ²")].y, (a + 0.1) ** 2 + b**2 + g**2)


def test_clouds_field_heatmap():
    rng = np.random.default_rng(0)
    fig = F.clouds_figure(rng.normal(size=(300, 2)), rng.normal(size=(200, 2)))
    _validate(fig)
    assert len(fig.data[0].x) == 300 and len(fig.data[1].x) == 200
    assert fig.data[1].xaxis == "x2" and tuple(fig.layout.xaxis2.range) == (-F.BOX, F.BOX)
    gx = np.linspace(-3, 3, 7)
    X, Y = np.meshgrid(gx, gx)
    field = F.field_figure(X, Y, -X, -Y, "b at t = 0.5")
    _validate(field)
    assert len(field.data[0].x) == 3 * 49
    assert F.field_figure(gx, gx, -X, -Y).data[0].x.shape == (3 * 49,)
    heat = F.heatmap_figure(rng.random((10, 20)), (-4, 4, -2, 2), "error")
    _validate(heat)
    assert heat.data[0].x0 == pytest.approx(-4 + 0.2) and heat.data[0].dy == pytest.approx(0.4)
    assert heat.layout.yaxis.scaleanchor == "x"
    # named scales are written out: plotly.js itself knows no "Magma" and no "_r" suffix
    magma = F.heatmap_figure(rng.random((3, 3)), colorscale="Magma_r")
    assert json.loads(magma.to_json())["data"][0]["colorscale"][0] == [0.0, "#fcfdbf"]


def _all_figures():
    rng = np.random.default_rng(0)
    traj, t = _traj()
    tt = np.linspace(0, 1, 21)
    gx = np.linspace(-3, 3, 4)
    return [
        F.animation_figure(traj, t, true_frames=traj, trails=2, arrows=np.ones((6, 3, 4)), title="x"),
        F.clouds_figure(rng.normal(size=(9, 2)), rng.normal(size=(9, 2))),
        F.schedule_figure(tt, 1 - tt, tt, 0 * tt, small=False),
        F.schedule_detail_figure(tt, 1 - tt, tt, np.sqrt(tt * (1 - tt))),
        F.loss_figure(np.arange(50), rng.random(50) + 0.1),
        F.field_figure(gx, gx, np.ones((4, 4)), np.zeros((4, 4)), "field"),
        F.heatmap_figure(rng.random((4, 4)), title="heat", colorbar_title="err"),
    ]


def test_every_figure_is_valid_plotly_with_object_titles():
    # Plotly.js 3 ignores the old string form of `title`; the builders skip Plotly's validation
    # (which would convert it), so they must write {"text": ...} themselves.
    for fig in _all_figures():
        _validate(fig)
        layout = json.loads(fig.to_json())["layout"]
        for key, value in layout.items():
            if key.startswith(("xaxis", "yaxis")) or key == "title":
                title = value.get("title") if key != "title" else value
                assert title is None or isinstance(title, dict), (key, title)
        assert layout["template"] == F.TEMPLATE


def test_path_lines_draw_each_path_separately_and_the_line_figure_holds_its_curve():
    import plotly.graph_objects as go

    from playground.figures import add_path_lines, line_figure

    paths = np.arange(3 * 2 * 2, dtype=np.float32).reshape(3, 2, 2)  # T=3 times, k=2 paths
    fig = add_path_lines(go.Figure(), paths, "paths")
    x = np.asarray(fig.data[0].x, dtype=float)
    assert fig.data[0].name == "paths" and len(x) == 2 * (3 + 1)
    np.testing.assert_array_equal(x[:3], paths[:, 0, 0])
    assert np.isnan(x[3])  # a gap between the two paths
    np.testing.assert_array_equal(x[4:7], paths[:, 1, 0])
    spec = line_figure([0, 0.5, 1], [1, 2, 3], "title", y_title="spread")
    assert spec["data"][0]["y"] == [1, 2, 3] and spec["layout"]["title"]["text"] == "title"


def test_clean_number_removes_rounding_noise_only():
    from playground.figures import clean_number

    assert clean_number(np.cos(np.pi / 2)) == "0"  # 6.12e-17
    assert clean_number(1 - 1e-16) == "1" and clean_number(-2.0000000001) == "−2"
    assert clean_number(0.5) == "0.5" and clean_number(1e-6) == "1e−06"  # a real small value stays
    assert clean_number(2.718281828) == "2.718" and clean_number(float("nan")) == "nan"


def test_log_axes_write_every_tick_label_in_full():
    """No "10" with a superscript and no bare "2 5" minor labels: each label is the full number and
    the labels increase with their values."""
    from playground.figures import log_ticks

    for lo, hi in ((0.003, 40.0), (0.8, 3.0), (1e-6, 1e3), (2.1, 2.9)):
        ticks = log_ticks(lo, hi)
        vals, text = ticks["tickvals"], ticks["ticktext"]
        assert 2 <= len(vals) <= 8, (lo, hi, vals)
        assert vals == sorted(vals) and all(float(t.replace(",", "")) == v for t, v in zip(text, vals))
        assert all("e" not in t and "^" not in t for t in text)
        assert vals[0] >= lo * 0.99 - 0.05 * lo and vals[-1] <= hi * 1.01 + 0.05 * hi
    assert log_ticks(0.8, 3.0)["ticktext"] == ["1", "2"]
    assert log_ticks(0.0, 1.0) == {}
    steps = np.arange(1, 1001)
    fig = F.loss_figure(steps, 5.0 * np.exp(-steps / 200.0) + 0.01)
    assert fig.layout.yaxis.type == "log" and fig.layout.yaxis.tickmode == "array"
    assert [float(t) for t in fig.layout.yaxis.ticktext] == list(fig.layout.yaxis.tickvals)


def test_animation_slider_has_its_own_row_under_the_buttons():
    """Beside the buttons, the slider and its "t = 0.00" label were covered by the pause button in
    a narrow column: it spans the width on a row of its own."""
    traj = np.zeros((5, 10, 2), dtype=np.float32)
    fig = F.animation_figure(traj, np.linspace(0, 1, 5))
    menu, slider = fig.layout.updatemenus[0], fig.layout.sliders[0]
    assert slider.x == 0 and slider.len == 1
    assert slider.pad.t >= menu.pad.t + 40  # below the row of buttons (about 35 px tall)
    assert fig.layout.margin.b >= slider.pad.t + 80


def test_spread_figure_draws_the_gamma_zero_reference_when_given():
    from playground.figures import spread_figure

    t = np.linspace(0, 1, 11)
    fig = spread_figure(t, 1 + t * (1 - t), np.ones_like(t))
    fig = go.Figure(fig.to_dict())  # validates
    assert [d.name for d in fig.data] == ["γ = 0 (same α, β)", "this schedule"]
    assert fig.data[0].line.dash == "dash" and fig.layout.showlegend
    alone = spread_figure(t, np.ones_like(t))
    assert [d.name for d in alone.data] == ["x_t"] and not alone.layout.showlegend


def test_quality_against_evaluations_has_full_tick_labels_on_both_log_axes():
    from playground.stochastic_figures import quality_steps_figure

    rows = [dict(method=m, nfe=n, energy_distance=0.5 / n) for m in ("euler", "heun") for n in (2, 4, 8, 16, 32, 64)]
    fig = quality_steps_figure(rows, {"energy_distance": 0.001})
    for ax in (fig.layout.xaxis, fig.layout.yaxis):
        assert ax.type == "log" and ax.tickmode == "array"
        assert [float(t) for t in ax.ticktext] == list(ax.tickvals)  # "10", "20", not 10 with a superscript
    assert list(fig.layout.xaxis.ticktext) == ["2", "5", "10", "20", "50"]
