"""Arrow plots of the Stochastic side page: one scale shared for real, and b = 0 said plainly."""

from __future__ import annotations

import numpy as np

from playground.figures import auto_arrow_scale
from playground.stochastic_figures import ZERO_FIELD, drift_arrow_figures

AXIS = np.linspace(-3.0, 3.0, 7)


def field(seed: int, size: float) -> np.ndarray:
    return size * np.random.default_rng(seed).standard_normal((7, 7, 2))


def arrows(fig) -> tuple[dict, np.ndarray]:
    d = fig.to_plotly_json()["data"][0]
    return d, np.asarray(fig.data[0].x, dtype=float)


def test_fields_share_one_colour_range_and_one_arrow_length():
    small, big = field(0, 1.0), field(1, 3.0)
    figs = drift_arrow_figures(AXIS, {"exact": small, "learned": big})
    peak = max(np.hypot(*np.moveaxis(f, -1, 0)).max() for f in (small, big))
    for fig in figs:
        d, _ = arrows(fig)
        assert (d["marker"]["cmin"], d["marker"]["cmax"]) == (0.0, peak)
    # the arrow length comes from the first field alone, for both plots
    grid = np.stack(np.meshgrid(AXIS, AXIS), -1).reshape(-1, 2)
    scale = auto_arrow_scale(np.concatenate([grid, small.reshape(-1, 2)], 1))
    _, x = arrows(figs[1])
    tips = x.reshape(-1, 3)[:, 1] - x.reshape(-1, 3)[:, 0]
    np.testing.assert_allclose(tips, scale * big.reshape(-1, 2)[:, 0], rtol=1e-5, atol=1e-6)


def test_a_vanishing_field_draws_no_arrows_and_says_b_is_zero():
    rounding = np.full((7, 7, 2), ZERO_FIELD / 10)
    zero_fig, other = drift_arrow_figures(AXIS, {"exact": rounding, "learned": field(2, 1.0)})
    d, _ = arrows(zero_fig)
    assert d["visible"] is False
    assert "b = 0 everywhere" in zero_fig.layout.annotations[0].text
    d, _ = arrows(other)
    assert d.get("visible", True) and d["marker"]["cmax"] > 1.0  # its own range, not the rounding's
