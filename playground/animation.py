"""The arrays behind an animation: learned paths, true interpolant samples, drift arrows.

`build_animation` integrates a field from fresh base samples, draws samples of the true
interpolant x_t = α x0 + β x1 + γ z at the same times (what the model should produce), and
evaluates the drift on a grid at every time for arrows. Everything returned is numpy float32
on the CPU, ready for `playground.figures.animation_figure`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from playground.config import ExperimentConfig
from playground.couplings import make_coupling
from playground.distributions import BOX, Distribution
from playground.experiment import generate, start_and_goal
from playground.interpolants import Interpolant
from playground.sampling import Field

PLOTLY_MAX_PARTICLES = 2000
"""Particles per panel in a Plotly animation. Measured in headless Chromium on 2 cores: 2000 + 2000
(learned + true panel) play at ~8 fps, 1000 + 1000 at ~9 fps, one 2000 panel at ~17 fps; WebGL
was slower at every size (it redraws the whole figure each frame)."""
MAX_PARTICLES = 10_000
"""Particles per panel with the canvas renderer (playground.canvas_anim): 5000 + 5000 × 201
frames held 30 fps, 20000 + 20000 × 101 held 24 fps in the same browser."""
MAX_FRAMES = 101
"""Frames in an animation (integration steps + 1): 2000 + 2000 particles × 101 frames ≈ 6 MB."""
LIVE_PARTICLES = 300
LIVE_STEPS = 30
"""The live flow while a model trains: 300 particles × 31 frames per panel (about 100 KB on the
wire), recomputed from the current weights about once a second (a few milliseconds each)."""


@dataclass(frozen=True)
class AnimationData:
    """times (T,); paths (T, n, 2); true_frames (T, n, 2); arrows (T, g, 4) or None;
    goal (m, 2): samples of where the particles should end (drawn faintly behind)."""

    times: np.ndarray
    paths: np.ndarray
    true_frames: np.ndarray
    arrows: np.ndarray | None
    goal: np.ndarray


def true_interpolant_frames(interpolant: Interpolant, base: Distribution, target: Distribution,
                            times: np.ndarray, n: int, generator: torch.Generator,
                            coupling: str = "independent", batch: int = 256) -> np.ndarray:
    """Samples of x_t for each time in times (T,) from one fixed draw of (x0, x1, z): (T, n, 2).

    The pairs (x0, x1) are coupled as in training: `coupling` applied to batches of `batch`."""
    x0, x1 = base.sample(n, generator), target.sample(n, generator)
    pair = make_coupling(coupling)
    x1 = torch.cat([pair(x0[i:i + batch], x1[i:i + batch])[1] for i in range(0, n, batch)])
    z = torch.randn(n, 2, generator=generator)
    out = np.empty((len(times), n, 2), dtype=np.float32)
    for k, t in enumerate(times):
        tt = torch.full((n,), float(t))
        out[k] = interpolant.sample(tt, x0, x1, z).xt.numpy()
    return out


@torch.no_grad()
def drift_arrows(field: Field, times: np.ndarray, grid: int = 15, box: float = BOX,
                 device: torch.device | str = "cpu") -> np.ndarray:
    """Rows (x, y, u, v) of the drift on a grid × grid lattice at every time: (T, grid², 4)."""
    ax = np.linspace(-0.85 * box, 0.85 * box, grid, dtype=np.float32)
    xx, yy = np.meshgrid(ax, ax)
    pts = torch.from_numpy(np.stack([xx.ravel(), yy.ravel()], 1))
    T, g2 = len(times), pts.shape[0]
    x = pts.repeat(T, 1).to(device)
    t = torch.from_numpy(np.repeat(np.asarray(times, dtype=np.float32), g2)).to(device)
    uv = field(t, x).float().cpu().numpy().reshape(T, g2, 2)
    return np.concatenate([np.broadcast_to(pts.numpy(), (T, g2, 2)), uv], axis=2).astype(np.float32)


def build_animation(field: Field, cfg: ExperimentConfig, base: Distribution, target: Distribution,
                    interpolant: Interpolant, particles: int = 1000, arrows_grid: int = 0,
                    steps: int | None = None, device: torch.device | str = "cpu") -> AnimationData:
    """Everything an animation shows, from fixed seeds (cfg.seed) so a rerun gives the same picture.

    `field` is a drift, or drift and score (`drift_and_score`) for the SDE sampler "em".

    particles is capped at MAX_PARTICLES and steps + 1 at MAX_FRAMES.
    """
    particles = int(min(max(particles, 1), MAX_PARTICLES))
    steps = int(min(steps or cfg.sample_steps, MAX_FRAMES - 1))
    _, goal = start_and_goal(cfg, base, target)
    traj = generate(field, cfg.replace(sample_steps=steps), base, target, n=particles, keep=None, device=device)
    times = traj.times.numpy()
    true = true_interpolant_frames(interpolant, base, target, times, particles,
                                   torch.Generator().manual_seed(cfg.seed + 4), cfg.coupling, cfg.batch)
    arrows = drift_arrows(field, times, arrows_grid, device=device) if arrows_grid > 0 else None
    goal_pts = goal.sample(2000, torch.Generator().manual_seed(cfg.seed + 5)).numpy()
    return AnimationData(times.astype(np.float32), traj.path.numpy(), true, arrows, goal_pts)
