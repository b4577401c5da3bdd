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
