"""About: what the playground shows and where the mathematics comes from."""

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

Integrating $dX_t = \hat b(t, X_t)\,dt$ from base samples (Euler, Heun or RK4) then gives target samples.
With $\gamma = 0$ and $\alpha = 1-t$, $\beta = t$ this is flow matching / rectified flow.

**Playground**: train $\hat b$ live and watch particles flow; the right panel shows true samples of
$x_t$ at the same $t$. **Schedules**: see $\alpha, \beta, \gamma$, their derivatives and the boundary
conditions.

Everything runs from the `playground` Python library (no Streamlit inside), which also has a
command line: `python -m playground run --help`.
"""
)
