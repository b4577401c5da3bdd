"""A whole experiment from a config: train, sample, measure. Shared by the CLI, the app and bench.

Seeds: the model's weights come from `seed`, training data from `seed + 1`, the sampled
starting points from `seed + 2`, the metric's fresh reference samples from `seed + 3` and the
SDE's noise from `seed + 6`, each through its own `torch.Generator`, so a config reproduces
every figure.

`model = "exact"` skips training: the closed-form drift and score of a Gaussian-mixture pair
(`playground.exact.ExactField`) are sampled instead. `sampler = "em"` integrates the SDE
(`playground.sde`) with ε = `epsilon`·shape(t) on [t0, 1 − t0]; it needs a field with a score
(the exact field, or a model trained with the denoiser) when ε > 0.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from playground.config import ExperimentConfig
from playground.distributions import Distribution
from playground.exact import ExactField
from playground.metrics import path_curvature, path_straightness, quality
from playground.sampling import Field, Trajectory, integrate
from playground.schedules import POINT_MASS
from playground.schedules import narrowest as schedule_narrowest
from playground.sde import integrate_sde
from playground.training import TrainState, build_distributions, build_schedule, make_state, train

SAMPLE_SEED_OFFSET = 2
METRIC_SEED_OFFSET = 3
NOISE_SEED_OFFSET = 6
KEEP_PATHS = 2000
"""Paths recorded for the trajectory (the animation shows at most this many particles)."""


def config_warnings(cfg: ExperimentConfig) -> list[str]:
    """Readable warnings for a valid config that runs but gives a wrong or degenerate result.

    Shown by the CLI (stderr) and the Playground and Schedules pages (st.warning) before any
    training; empty when nothing is off. Errors (values that cannot run) are `cfg.problems()`."""
    out = []
    collapse = point_mass_time(cfg)
    if collapse is not None:
        out.append(f"α, β and γ are all 0 at t = {collapse:g}: x_t is a single point there, so no drift "
                   "can carry the base to the target through it (the exact ODE misses the target). "
                   + ("Give γ a positive scale (sinesquared, a = 1, makes x_½ = z)."
                      if cfg.schedule == "encdec" else "Make γ > 0 there."))
    else:
        t, size = narrowest(cfg)
        if size < SQUEEZE:
            out.append(f"α, β and γ are all small at t = {t:.2g} (√(α² + β² + γ²) = {size:.2g}): x_t is squeezed "
                       "towards a point there, the drift is steep, and a trained model misses the target "
                       "(measured with γ = 0: power p = 4 and 5 end 20–30× above the noise floor, p = 2 near "
                       "it; the exact field still gets there). "
                       + ("Give γ a positive scale, or use a smaller p." if cfg.schedule == "power"
                          else "Give γ a larger scale."))
    if cfg.coupling == "mirror":
        if (cfg.target, cfg.target_params) != (cfg.base, cfg.base_params):
            out.append(f"coupling mirror sets x1 = x0: the target {cfg.target!r} is not used; particles "
                       f"return to the base {cfg.base!r}, and quality is measured against the base.")
        if not _alpha_plus_beta_is_one(cfg):
            out.append("coupling mirror with α + β ≠ 1: x_t = (α + β) x0 + γ z still goes from the base "
                       "back to the base, but it is not the mirror interpolant x0 + γ z (use schedule linear).")
    return out


def _grid_schedule(cfg: ExperimentConfig, n: int = 401):
    t = torch.linspace(0, 1, n, dtype=torch.float64)
    return t, build_schedule(cfg)(t)


def point_mass_time(cfg: ExperimentConfig) -> float | None:
    """A time t in (0, 1) where α = β = γ = 0 (x_t is a point mass), or None."""
    t, size = narrowest(cfg)
    return t if size < POINT_MASS else None


SQUEEZE = 0.1
"""`config_warnings` warns when √(α² + β² + γ²) falls below this inside (0, 1) (power p ≥ 4 with γ = 0)."""


def narrowest(cfg: ExperimentConfig) -> tuple[float, float]:
    """(t, √(α² + β² + γ²)) at the inner time where cfg's interpolant is narrowest (schedules.narrowest)."""
    return schedule_narrowest(build_schedule(cfg))


def _alpha_plus_beta_is_one(cfg: ExperimentConfig) -> bool:
    _, s = _grid_schedule(cfg)
    return bool(((s.alpha + s.beta - 1).abs() < 1e-6).all())


def sde_problem(cfg: ExperimentConfig) -> str | None:
    """Why cfg's SDE cannot run, or None: with ε > 0 it needs the score ∇ log ρ_t at every t, which
    does not exist where x_t is a single point (encdec with γ = 0 at t = ½; it gave NaN samples)."""
    if cfg.sampler != "em" or cfg.epsilon <= 0:
        return None
    t = point_mass_time(cfg)
    if t is None:
        return None
    return (f"the SDE (sampler em, ε > 0) needs the score ∇ log ρ_t, which does not exist at t = {t:g}, "
            "where α, β and γ are all 0 (x_t is a single point): give γ > 0 there, or use ε = 0")


def start_and_goal(cfg: ExperimentConfig, base: Distribution, target: Distribution):
    """(where particles start, what they should reach) for the config's direction. Under the
    mirror coupling (x1 = x0) both are the base: the target is not used."""
    if cfg.coupling == "mirror":
        return base, base
    return (base, target) if cfg.direction == "forward" else (target, base)


def generate(field: Field, cfg: ExperimentConfig, base: Distribution, target: Distribution,
             n: int | None = None, keep: int | None = KEEP_PATHS,
             device: torch.device | str | None = None) -> Trajectory:
    """Integrate `field` from n fresh starting samples (seeded from cfg.seed + 2).

    With sampler "em" the SDE runs on [t0, 1 − t0] with cfg's ε and shape, noise seeded from
    cfg.seed + 6; `field` must then have a score (`drift_and_score`) when ε > 0. ValueError
    (`sde_problem`) when the SDE has no score to use."""
    problem = sde_problem(cfg)
    if problem:
        raise ValueError(problem)
    start, _ = start_and_goal(cfg, base, target)
    g = torch.Generator().manual_seed(cfg.seed + SAMPLE_SEED_OFFSET)
    x = start.sample(n or cfg.samples, g)
    if cfg.sampler == "em":
        noise = torch.Generator().manual_seed(cfg.seed + NOISE_SEED_OFFSET)
        return integrate_sde(field, x, cfg.sample_steps, cfg.epsilon, cfg.epsilon_shape, cfg.direction,
                             cfg.t0, noise, keep=keep, device=device)
    return integrate(field, x, cfg.sample_steps, cfg.sampler, cfg.direction, keep=keep, device=device)


def measure(traj: Trajectory, cfg: ExperimentConfig, base: Distribution, target: Distribution) -> dict:
    """Energy distance and sliced W2 against the goal distribution, their noise floor, and
    the straightness and curvature (playground.metrics) of the recorded paths."""
    _, goal = start_and_goal(cfg, base, target)
    g = torch.Generator().manual_seed(cfg.seed + METRIC_SEED_OFFSET)
    out = quality(traj.final, goal, g)
    out["path_straightness"] = path_straightness(traj.path)
    out["path_curvature"] = path_curvature(traj.path, traj.times)
    out["drift_evaluations"] = traj.nfe
    return out


@dataclass
class RunResult:
    """state: the training run (None for the exact field); field: what was sampled (a drift,
    `LearnedFields` with its score, or `ExactField`)."""

    state: TrainState | None
    trajectory: Trajectory
    metrics: dict
    field: Field | None = None


def exact_field(cfg: ExperimentConfig, base: Distribution | None = None,
                target: Distribution | None = None) -> ExactField:
    """The exact field of cfg's pair; ValueError (naming the side) unless both are mixtures,
    or when the coupling is not independent (the closed form is that of ρ0 ⊗ ρ1)."""
    if cfg.coupling != "independent":
        raise ValueError(f"the exact field is that of the independent coupling; coupling "
                         f"{cfg.coupling!r} has no closed form (use coupling independent)")
    if base is None or target is None:
        base, target = build_distributions(cfg)
    return ExactField.from_distributions(base, target, build_schedule(cfg))


def sampling_field(state: TrainState) -> Field:
    """What a trained state samples with: drift and score when it learned the denoiser."""
    return state.fields() or state.drift()


def trained_parts(cfg: ExperimentConfig, state: TrainState | None) -> str:
    """"drift", "drift + denoiser (score)" or "none (exact field)"."""
    if state is None:
        return "none (exact field)"
    return "drift + denoiser (score)" if state.has_score else "drift"


def run_experiment(cfg: ExperimentConfig, device: str | None = None, chunk: int = 250,
                   on_chunk: Callable | None = None) -> RunResult:
    """Train a drift (and the denoiser, when asked) for cfg's budget, or take the exact field
    (cfg.model = "exact"), sample cfg.samples points, and measure them."""
    if cfg.model == "exact":
        base, target = build_distributions(cfg)
        field = exact_field(cfg, base, target)
        t0 = time.perf_counter()
        traj = generate(field, cfg, base, target)
        sample_seconds = time.perf_counter() - t0
        metrics = measure(traj, cfg, base, target)
        metrics.update(model="exact", trained=trained_parts(cfg, None), train_steps=0,
                       train_seconds=0.0, steps_per_second=0.0, final_loss=None,
                       sample_seconds=sample_seconds, device="cpu")
        return RunResult(None, traj, metrics, field)
    state = make_state(cfg, device)
    train(state, chunk, on_chunk)
    field = sampling_field(state)
    t0 = time.perf_counter()
    traj = generate(field, cfg, state.base, state.target, device=state.device)
    sample_seconds = time.perf_counter() - t0
    metrics = measure(traj, cfg, state.base, state.target)
    metrics.update(
        model="learned",
        trained=trained_parts(cfg, state),
        # the side the regression target was averaged against (playground.averaged), or None: ẋ_t
        averaged_target=None if state.known is None else state.known.side,
        train_steps=state.step,
        train_seconds=state.train_seconds,
        steps_per_second=state.step / state.train_seconds if state.train_seconds > 0 else 0.0,
        final_loss=sum(state.losses[-100:]) / len(state.losses[-100:]) if state.losses else float("nan"),
        sample_seconds=sample_seconds,
        device=str(state.device),
    )
    if state.denoiser_losses:
        tail = state.denoiser_losses[-100:]
        metrics["final_denoiser_loss"] = sum(tail) / len(tail)
    return RunResult(state, traj, metrics, field)
