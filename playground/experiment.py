"""A whole experiment from a config: train, sample, measure. Shared by the CLI, the app and bench.

Seeds: the model's weights come from `seed`, training data from `seed + 1`, the sampled
starting points from `seed + 2` and the metric's fresh reference samples from `seed + 3`, each
through its own `torch.Generator`, so a config reproduces every figure.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from playground.config import ExperimentConfig
from playground.distributions import Distribution
from playground.metrics import path_straightness, quality
from playground.sampling import Field, Trajectory, integrate
from playground.training import TrainState, make_state, train

SAMPLE_SEED_OFFSET = 2
METRIC_SEED_OFFSET = 3
KEEP_PATHS = 2000
"""Paths recorded for the trajectory (the animation shows at most this many particles)."""


def start_and_goal(cfg: ExperimentConfig, base: Distribution, target: Distribution):
    """(where particles start, what they should reach) for the config's direction."""
    return (base, target) if cfg.direction == "forward" else (target, base)


def generate(field: Field, cfg: ExperimentConfig, base: Distribution, target: Distribution,
             n: int | None = None, keep: int | None = KEEP_PATHS,
             device: torch.device | str | None = None) -> Trajectory:
    """Integrate `field` from n fresh starting samples (seeded from cfg.seed + 2)."""
    start, _ = start_and_goal(cfg, base, target)
    g = torch.Generator().manual_seed(cfg.seed + SAMPLE_SEED_OFFSET)
    x = start.sample(n or cfg.samples, g)
    return integrate(field, x, cfg.nfe, cfg.sampler, cfg.direction, keep=keep, device=device)


def measure(traj: Trajectory, cfg: ExperimentConfig, base: Distribution, target: Distribution) -> dict:
    """Energy distance and sliced W2 against the goal distribution, their noise floor, and
    the straightness of the recorded paths."""
    _, goal = start_and_goal(cfg, base, target)
    g = torch.Generator().manual_seed(cfg.seed + METRIC_SEED_OFFSET)
    out = quality(traj.final, goal, g)
    out["path_straightness"] = path_straightness(traj.path)
    out["drift_evaluations"] = traj.nfe
    return out


@dataclass
class RunResult:
    state: TrainState
    trajectory: Trajectory
    metrics: dict


def run_experiment(cfg: ExperimentConfig, device: str | None = None, chunk: int = 250,
                   on_chunk: Callable | None = None) -> RunResult:
    """Train a drift for cfg's budget, sample cfg.samples points, and measure them."""
    state = make_state(cfg, device)
    train(state, chunk, on_chunk)
    t0 = time.perf_counter()
    traj = generate(state.model, cfg, state.base, state.target, device=state.device)
    sample_seconds = time.perf_counter() - t0
    metrics = measure(traj, cfg, state.base, state.target)
    metrics.update(
        train_steps=state.step,
        train_seconds=state.train_seconds,
        steps_per_second=state.step / state.train_seconds if state.train_seconds > 0 else 0.0,
        final_loss=sum(state.losses[-100:]) / len(state.losses[-100:]) if state.losses else float("nan"),
        sample_seconds=sample_seconds,
        device=str(state.device),
    )
    return RunResult(state, traj, metrics)
