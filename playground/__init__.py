"""Interpolant Playground: stochastic interpolants (Albergo, Boffi & Vanden-Eijnden) in 2D.

The library behind the Streamlit app; it never imports Streamlit. Notation follows MATH.md:
x_t = α(t) x0 + β(t) x1 + γ(t) z with x0 ~ base ρ0, x1 ~ target ρ1, z ~ N(0, Id).
"""

__version__ = "0.1.0"
