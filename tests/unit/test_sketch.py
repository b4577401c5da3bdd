"""The sidebar's α, β, γ sketch: an SVG whose lines go where the values are."""

import xml.etree.ElementTree as ET

import numpy as np

from playground.sketch import curves_svg, schedule_svg

NS = "{http://www.w3.org/2000/svg}"


def _points(line) -> np.ndarray:
    return np.array([[float(v) for v in p.split(",")] for p in line.get("points").split()])


def test_schedule_lines_run_from_their_start_to_their_end_values():
    t = np.linspace(0, 1, 101)
    svg = ET.fromstring(schedule_svg(t, 1 - t, t, np.sqrt(t * (1 - t)), width=260, height=120))
    lines = svg.findall(f"{NS}polyline")
    assert len(lines) == 3
    frame = svg.find(f"{NS}rect")
    top, bottom = float(frame.get("y")), float(frame.get("y")) + float(frame.get("height"))
    left, right = float(frame.get("x")), float(frame.get("x")) + float(frame.get("width"))
    alpha, beta, gamma = (_points(line) for line in lines)
    np.testing.assert_allclose(alpha[[0, -1]], [[left, top], [right, bottom]])  # α: 1 → 0
    np.testing.assert_allclose(beta[[0, -1]], [[left, bottom], [right, top]])  # β: 0 → 1
    # γ = √(t(1−t)) is ½ at t = ½: half way across, half way up
    np.testing.assert_allclose(gamma[50], [(left + right) / 2, (top + bottom) / 2], atol=0.1)
    assert [t.text for t in svg.findall(f"{NS}text")][-3:] == ["α", "β", "γ"]


def test_non_finite_values_break_the_line_and_names_are_escaped():
    t = np.linspace(0, 1, 5)
    svg = ET.fromstring(curves_svg(t, {"<a>": np.array([0, 1, np.nan, 1, 0])}))
    assert len(svg.findall(f"{NS}polyline")) == 2
    assert "<a>" in [x.text for x in svg.findall(f"{NS}text")]


def test_loss_curve_is_on_a_log_axis_with_full_tick_labels():
    from playground.sketch import loss_svg

    steps = np.arange(1, 1001)
    losses = 10.0 ** (1.05 - 2.1 * (steps - 1) / 999)  # 11 → 0.09, a straight line on a log axis
    svg = ET.fromstring(loss_svg(steps, losses, width=320, height=190))
    raw, smooth = svg.findall(f"{NS}polyline")
    pts = _points(raw)
    fit = np.polyval(np.polyfit(pts[:, 0], pts[:, 1], 1), pts[:, 0])
    assert np.abs(fit - pts[:, 1]).max() < 0.3  # log scale: a straight line (to the 0.1 px rounding)
    labels = [t.text for t in svg.findall(f"{NS}text")]
    assert {"0.1", "1", "10"} <= set(labels) and "1,000" in labels
    assert not any("e" in lab for lab in labels if lab[0].isdigit())  # no 1e+01 style labels
    assert ET.fromstring(loss_svg([1], [2.0])).find(f"{NS}polyline") is None  # too few points: a frame
