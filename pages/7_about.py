"""About: what the playground shows and where the mathematics comes from."""

from ui.router import through_the_router

through_the_router()  # first line: a fresh server's deep link must reach app.py

import streamlit as st

st.title("About the playground")
st.markdown(
    r"""
A **stochastic interpolant** (Albergo, Boffi & Vanden-Eijnden, arXiv 2303.08797) connects a base
distribution $\rho_0$ to a target $\rho_1$ through

$$x_t = \alpha(t)\,x_0 + \beta(t)\,x_1 + \gamma(t)\,z,\qquad x_0\sim\rho_0,\; x_1\sim\rho_1,\; z\sim N(0, I),$$

with $\alpha(0)=\beta(1)=1$, $\alpha(1)=\beta(0)=0$ and $\gamma(0)=\gamma(1)=0$. The law $\rho_t$ of
$x_t$ is carried by the drift $b(t,x)=\mathbb E[\dot x_t\mid x_t=x]$, the minimiser of

$$\mathcal L(\hat b)=\int_0^1 \mathbb E\,\big|\hat b(t,x_t)-\dot x_t\big|^2\,dt .$$

The loss never reaches 0: its minimum is the variance of $\dot x_t$ given $x_t$ (large when $\gamma > 0$),
so a loss curve that is flat near that floor is a model that has learned. Integrating
$dX_t = \hat b(t, X_t)\,dt$ from base samples (Euler, Heun or RK4) then gives target samples; with the
score learned too, an SDE with any noise level $\varepsilon(t) \ge 0$ does the same. With $\gamma = 0$ and
$\alpha = 1-t$, $\beta = t$ this is flow matching / rectified flow.

- **Playground**: train $\hat b$ live and watch particles flow, beside true samples of $x_t$ at the same $t$.
- **Scenes**: curated experiments with shipped weights, one click each.
- **Draw**: make your own base or target (strokes, clicked bumps, an image or a CSV of points).
- **Schedules**: $\alpha, \beta, \gamma$ (or your formulas), their derivatives, the boundary conditions,
  and the interpolant itself over $t$, no model needed.
- **Stochastic side**: the score, ODE against SDE, couplings, exact fields of Gaussian mixtures, likelihood.
- **Theory**: the walk-through, each step checked live on the current experiment.

Everything runs from the `playground` Python library (no Streamlit inside), which also has a
command line: `python -m playground run --help`.
"""
)
