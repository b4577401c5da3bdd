"""Computations behind the "Stochastic side" page: pure functions of a model view and settings.

A `ModelView` is what the page works with: the Playground's trained model (`learned_view`) or
the exact field of a Gaussian-mixture pair, which needs no training (`exact_view`). Each
function below returns numpy arrays (or small dicts of them) ready for
`playground.stochastic_figures`:

- `compare_paths`: one set of starting points carried by two or three processes, at common
  times, for a side-by-side animation: ODE vs SDE, two values of ε, or Euler / Heun / RK4 at
  the same number of drift evaluations.
- `minibatch_pairs`, `compare_couplings`: the pairs (x0, x1) of one batch under each coupling,
  and the curvature of the flows of small models trained briefly with each.
- `field_error`: the learned drift beside the exact one at one t, and |b̂ − b| on a grid.
- `quality_vs_steps`: energy distance and sliced W2 against the number of evaluations for
  each integrator, beside the noise floor.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

from playground.config import ExperimentConfig
from playground.couplings import make_coupling
from playground.distributions import BOX, Distribution
from playground.exact import ExactField
from playground.metrics import energy_distance, path_curvature, path_straightness, sliced_w2
from playground.sampling import SAMPLERS, Field, integrate
from playground.schedules import POINT_MASS, narrowest
from playground.sde import DEFAULT_T0, EPSILON_SHAPE_LABELS, has_score, integrate_sde
from playground.training import build_distributions, build_schedule, make_state, train_steps

COMPARE_MODES = {"ode-sde": "ODE vs SDE", "two-eps": "two values of ε",
                 "integrators": "Euler vs Heun vs RK4 (equal evaluations)"}
ODE_METHODS = ("euler", "heun", "rk4")
START_SEED_OFFSET, NOISE_SEED_OFFSET, GOAL_SEED_OFFSET = 2, 6, 5


@dataclass
class ModelView:
    """source "learned" | "exact"; drift: a field (t (n,), x (n, 2)) -> (n, 2); fields: the
    stochastic field (drift and score) or None; exact: the exact field when the pair has one."""

    source: str
    config: ExperimentConfig
    base: Distribution
    target: Distribution
    drift: Field
    fields: object | None
    exact: ExactField | None
    label: str
    key: tuple

    @cached_property
    def score_problem(self) -> str | None:
        """Why this view cannot run the SDE (ε > 0), or None: it has no score, or the score does not
        exist at some t because x_t is a single point there (encdec with γ = 0 at t = ½)."""
        if self.fields is None or not has_score(self.fields):
            return "this model has no score: the SDE needs one (train with γ > 0, or use the exact field)"
        t, size = narrowest(build_schedule(self.config))
        if size < POINT_MASS:
            return (f"the score ∇ log ρ_t does not exist at t = {t:g}, where α, β and γ are all 0 (x_t is a "
                    "single point), so the SDE cannot run: give γ > 0 there")
        return None

    @property
    def has_score(self) -> bool:
        """True when the SDE can run: a score that exists at every t (see `score_problem`)."""
        return self.score_problem is None


def exact_unavailable(cfg: ExperimentConfig) -> str | None:
    """Why cfg's pair has no exact field (a sentence), or None when it has one."""
    if cfg.coupling != "independent":
        return "the exact field is that of the independent coupling (this model used " \
               f"{cfg.coupling!r})"
    try:
        base, target = build_distributions(cfg)
    except ValueError as exc:
        return str(exc)
    for side, dist in (("base", base), ("target", target)):
        if dist.mixture() is None:
            return (f"the {side} {getattr(dist, 'label', cfg.base)!r} is not a Gaussian mixture "
                    "(the exact field needs presets such as gaussian or 8gaussians, a mixture, "
                    "or a point cloud)")
    return None


def _try_exact(cfg: ExperimentConfig, base, target) -> ExactField | None:
    if exact_unavailable(cfg) is not None:
        return None
    return ExactField.from_distributions(base, target, build_schedule(cfg))


def exact_view(cfg: ExperimentConfig) -> ModelView:
    """The exact field of cfg's pair as a model; ValueError saying why when there is none."""
    why = exact_unavailable(cfg)
    if why is not None:
        raise ValueError(why)
    base, target = build_distributions(cfg)
    exact = ExactField.from_distributions(base, target, build_schedule(cfg))
    key = ("exact", cfg.base, cfg.target, repr(cfg.base_params), repr(cfg.target_params),
           cfg.schedule, cfg.power, cfg.gamma, cfg.gamma_scale, cfg.alpha, cfg.beta)
    return ModelView("exact", cfg, base, target, exact, exact, exact,
                     f"exact field of {base.label} → {target.label} (drift and score, no training)",
                     key)


class OnDevice:
    """A field (and its score) evaluated on `device`, called with and returning CPU tensors:
    the page's points live on the CPU while a model may live on a GPU."""

    def __init__(self, field, device: torch.device):
        self.field, self.device = field, device

    def _in(self, t, x):
        return torch.as_tensor(t).to(self.device), x.to(self.device)

    def __call__(self, t, x):
        return self.field(*self._in(t, x)).to(x.device)

    def drift(self, t, x):
        return self(t, x)

    def score(self, t, x):
        return self.field.score(*self._in(t, x)).to(x.device)

    def drift_and_score(self, t, x):
        b, s = self.field.drift_and_score(*self._in(t, x))
        return b.to(x.device), s.to(x.device)


def learned_view(state) -> ModelView:
    """The trained model of a `TrainState` (drift, and score when it learned the denoiser),
    evaluated on the model's device with CPU points in and out."""
    cfg = state.config
    state.model.eval()
    fields = state.fields()
    drift = state.drift()
    if state.device.type != "cpu":
        drift = OnDevice(drift, state.device)
        fields = None if fields is None else OnDevice(fields, state.device)
    label = (f"learned model ({state.step:,} steps; "
             f"{'drift and score' if fields is not None else 'drift only'})")
    key = ("learned", id(state), state.step)
    target = state.base if cfg.coupling == "mirror" else state.target  # mirror: x1 = x0, back to the base
    return ModelView("learned", cfg, state.base, target, drift, fields,
                     _try_exact(cfg, state.base, state.target), label, key)


# --------------------------------------------------------------------------- paths


@dataclass(frozen=True)
class Comparison:
    """times (T,); paths: one (T, n, 2) array per panel, same starting points; titles; goal
    (m, 2) samples of where particles should end; note: what was integrated, in words."""

    times: np.ndarray
    paths: list[np.ndarray]
    titles: list[str]
    goal: np.ndarray
    note: str


def _eps_title(epsilon: float, shape: str) -> str:
    return f"SDE, {EPSILON_SHAPE_LABELS[shape].replace('ε', f'ε={epsilon:g}', 1)}"


def compare_paths(view: ModelView, mode: str = "ode-sde", epsilon: float = 0.5,
                  shape: str = "constant", steps: int = 100, particles: int = 1000,
                  epsilon2: float = 2.0, t0: float = DEFAULT_T0, seed: int | None = None,
                  direction: str = "forward") -> Comparison:
    """Trajectories of one draw of starting points under two or three processes (see
    COMPARE_MODES). ODE vs SDE: Euler (ε = 0) beside Euler–Maruyama with ε, same steps, both on
    [t0, 1 − t0]. two-eps: EM with ε and ε2, same noise. integrators: Euler, Heun and RK4 with
    `steps` drift evaluations each (steps rounded to a multiple of 4), on [0, 1], shown at
    RK4's times. ValueError when an SDE is asked of a view without a score."""
    if mode not in COMPARE_MODES:
        raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join(COMPARE_MODES)}")
    cfg = view.config
    seed = cfg.seed if seed is None else seed
    start, goal = (view.base, view.target) if direction == "forward" else (view.target, view.base)
    x = start.sample(particles, torch.Generator().manual_seed(seed + START_SEED_OFFSET))
    goal_pts = goal.sample(2000, torch.Generator().manual_seed(seed + GOAL_SEED_OFFSET)).numpy()

    def sde(eps: float):
        if eps > 0 and not view.has_score:
            raise ValueError(view.score_problem)
        noise = torch.Generator().manual_seed(seed + NOISE_SEED_OFFSET)
        field = view.fields if view.has_score else view.drift
        return integrate_sde(field, x, steps, eps, shape, direction, t0, noise, keep=None)

    if mode == "ode-sde":
        ode = integrate(view.drift, x, steps, "euler", direction, keep=None, t0=t0, t1=1 - t0)
        trajs, titles = [ode, sde(epsilon)], ["ODE (ε = 0, Euler)", _eps_title(epsilon, shape)]
        note = f"{steps} steps each on [{t0:g}, 1 − {t0:g}], the same starting points"
    elif mode == "two-eps":
        trajs = [sde(epsilon), sde(epsilon2)]
        titles = [_eps_title(epsilon, shape), _eps_title(epsilon2, shape)]
        note = f"Euler–Maruyama, {steps} steps on [{t0:g}, 1 − {t0:g}], the same noise draws"
    else:
        nfe = max(4, steps - steps % 4)
        trajs = [integrate(view.drift, x, nfe // SAMPLERS[m], m, direction, keep=None)
                 for m in ODE_METHODS]
        stride = [nfe // SAMPLERS[m] // (nfe // 4) for m in ODE_METHODS]
        paths = [t.path.numpy()[::s] for t, s in zip(trajs, stride, strict=True)]
        titles = [f"{m.capitalize() if m != 'rk4' else 'RK4'}: {nfe // SAMPLERS[m]} steps"
                  for m in ODE_METHODS]
        return Comparison(trajs[-1].times.numpy(), paths, titles, goal_pts,
                          f"{nfe} drift evaluations each, shown at RK4's {nfe // 4} steps")
    return Comparison(trajs[0].times.numpy(), [t.path.numpy() for t in trajs], titles, goal_pts,
                      note)


# --------------------------------------------------------------------------- couplings


def minibatch_pairs(base: Distribution, target: Distribution, n: int = 128,
                    seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """One batch (x0, x1) (n, 2) each, paired independently and by minibatch OT."""
    g = torch.Generator().manual_seed(seed)
    x0, x1 = base.sample(n, g), target.sample(n, g)
    out = {}
    for name in ("independent", "ot"):
        a, b = make_coupling(name)(x0, x1)
        out[name] = (a.numpy(), b.numpy())
    return out


def pair_cost(pairs: tuple[np.ndarray, np.ndarray]) -> float:
    """Mean squared length |x0 − x1|² of the pairs."""
    return float(np.mean(np.sum((pairs[0] - pairs[1]) ** 2, axis=1)))


def path_shape(traj) -> dict[str, float]:
    """Straightness and curvature (playground.metrics) of a Trajectory's recorded paths."""
    return {"straightness": path_straightness(traj.path),
            "curvature": path_curvature(traj.path, traj.times)}


def compare_couplings(cfg: ExperimentConfig, steps: int = 200, width: int = 64, batch: int = 256,
                      particles: int = 500, sample_steps: int = 20, trails: int = 60) -> dict[str, dict]:
    """Train a small drift briefly with each coupling (same seed, same data), integrate each
    with Heun (`sample_steps` integration steps) from the same starting points, and measure the paths.

    Returns {coupling: {"curvature", "straightness", "paths" (sample_steps + 1, trails, 2)}}.
    Measured (Gaussian → 8 Gaussians, γ = 0, 300 steps): OT curvature ≈ 0.02 against ≈ 1.5."""
    out = {}
    x = None
    for name in ("independent", "ot"):
        c = cfg.replace(coupling=name, steps=steps, width=width, batch=batch, seconds=0.0,
                        model="learned", denoiser="off", sampler="heun", epsilon=0.0)
        state = make_state(c, "cpu")
        train_steps(state, steps)
        if x is None:
            x = state.base.sample(particles, torch.Generator().manual_seed(cfg.seed + 2))
        traj = integrate(state.drift(), x, sample_steps, "heun", keep=None)
        out[name] = {**path_shape(traj), "paths": traj.path.numpy()[:, :trails]}
    return out


# --------------------------------------------------------------------------- fields


def rho_t_samples(view: ModelView, t: float, n: int = 2000, seed: int | None = None) -> np.ndarray:
    """n samples (n, 2) of ρ_t: x_t = α x0 + β x1 + γ z from fresh (x0, x1, z), the pairs coupled
    as in training (the config's coupling on batches of its batch size)."""
    from playground.interpolants import Interpolant

    seed = view.config.seed if seed is None else seed
    g = torch.Generator().manual_seed(seed + 4)
    x0, x1 = view.base.sample(n, g), view.target.sample(n, g)
    pair, b = make_coupling(view.config.coupling), view.config.batch
    x1 = torch.cat([pair(x0[i:i + b], x1[i:i + b])[1] for i in range(0, n, b)])
    z = torch.randn(n, 2, generator=g)
    interp = Interpolant(build_schedule(view.config))
    return interp.sample(torch.full((n,), float(t)), x0, x1, z).xt.numpy()


@dataclass(frozen=True)
class FieldError:
    """Arrows on an arrow grid: ax (ga,), learned and exact (ga, ga, 2); the error
    |b̂ − b| (g, g) on a finer grid of cell centres; mean error weighted by ρ_t samples."""

    arrow_axis: np.ndarray
    learned: np.ndarray
    exact: np.ndarray
    error: np.ndarray
    extent: tuple[float, float, float, float]
    weighted_error: float


@torch.no_grad()
def field_error(learned: Field, exact: ExactField, t: float, arrows: int = 15, grid: int = 60,
                box: float = BOX, samples: np.ndarray | None = None) -> FieldError:
    """The learned and exact drifts at time t on a grid, and |b̂ − b| on a finer grid.
    `samples` (m, 2) of ρ_t, if given, give the error where the particles actually are."""
    ax = np.linspace(-0.85 * box, 0.85 * box, arrows, dtype=np.float32)
    xx, yy = np.meshgrid(ax, ax)
    pts = torch.from_numpy(np.stack([xx.ravel(), yy.ravel()], 1))
    tt = torch.full((pts.shape[0],), float(t))
    bl = learned(tt, pts).float().numpy().reshape(arrows, arrows, 2)
    be = exact(tt, pts).float().numpy().reshape(arrows, arrows, 2)
    cells = (np.arange(grid, dtype=np.float32) + 0.5) * (2 * box / grid) - box
    gx, gy = np.meshgrid(cells, cells)
    fine = torch.from_numpy(np.stack([gx.ravel(), gy.ravel()], 1))
    tf = torch.full((fine.shape[0],), float(t))
    err = (learned(tf, fine) - exact(tf, fine)).norm(dim=1).numpy().reshape(grid, grid)
    weighted = float("nan")
    if samples is not None and len(samples):
        s = torch.as_tensor(samples, dtype=torch.float32)
        ts = torch.full((s.shape[0],), float(t))
        weighted = float((learned(ts, s) - exact(ts, s)).norm(dim=1).mean())
    return FieldError(ax, bl, be, err, (-box, box, -box, box), weighted)


# --------------------------------------------------------------------------- quality


def floor_of(goal: Distribution, n: int, seed: int, repeats: int = 3) -> dict[str, float]:
    """Each metric between `repeats` pairs of independent goal samples of size n: the mean
    (keys "energy_distance", "sliced_w2") and the standard deviation (keys "..._std")."""
    g = torch.Generator().manual_seed(seed)
    eds, sws = [], []
    for _ in range(repeats):
        a, b = goal.sample(n, g), goal.sample(n, g)
        eds.append(energy_distance(a, b))
        sws.append(sliced_w2(a, b))
    return {"energy_distance": float(np.mean(eds)), "sliced_w2": float(np.mean(sws)),
            "energy_distance_std": float(np.std(eds)), "sliced_w2_std": float(np.std(sws))}


def quality_now(view: ModelView, final: torch.Tensor | np.ndarray, seed: int | None = None,
                direction: str = "forward", repeats: int = 5) -> dict[str, float]:
    """Energy distance and sliced W2 of samples (n, 2) against a fresh goal sample of the same
    size, and the noise floor as mean and spread over `repeats` pairs of goal samples (a
    single floor draw is noisy: for 8 Gaussians at n = 2000 its spread is as large as its mean).
    Keys: energy_distance, sliced_w2, floor_energy_distance, floor_sliced_w2 and their
    floor_..._std."""
    goal = view.target if direction == "forward" else view.base
    seed = view.config.seed if seed is None else seed
    x = torch.as_tensor(np.asarray(final)).float()
    ref = goal.sample(x.shape[0], torch.Generator().manual_seed(seed + 3))
    ok = bool(torch.isfinite(x).all())
    floor = floor_of(goal, x.shape[0], seed + 30, repeats)
    return {"energy_distance": energy_distance(x, ref) if ok else float("nan"),
            "sliced_w2": sliced_w2(x, ref) if ok else float("nan"),
            **{f"floor_{k}": v for k, v in floor.items()}}


def quality_vs_steps(view: ModelView, evaluations=(4, 8, 16, 32, 64), methods=("euler", "heun", "rk4"),
                     n: int = 2000, epsilon: float = 0.5, shape: str = "constant",
                     t0: float = DEFAULT_T0, seed: int | None = None) -> dict:
    """For each integrator and each budget of drift evaluations: energy distance and sliced W2
    of n samples against fresh target samples. "em" (SDE with ε, shape) is included when in
    `methods` and the view has a score. Returns {"rows": [{method, nfe, steps,
    energy_distance, sliced_w2}], "floor": {metric: mean floor}}."""
    seed = view.config.seed if seed is None else seed
    x = view.base.sample(n, torch.Generator().manual_seed(seed + START_SEED_OFFSET))
    rows = []
    for m in methods:
        if m == "em" and not view.has_score:
            continue
        for nfe in evaluations:
            steps = max(1, nfe // SAMPLERS[m])
            if m == "em":
                traj = integrate_sde(view.fields, x, steps, epsilon, shape, "forward", t0,
                                     torch.Generator().manual_seed(seed + NOISE_SEED_OFFSET), keep=0)
            else:
                traj = integrate(view.drift, x, steps, m, keep=0)
            ref = view.target.sample(n, torch.Generator().manual_seed(seed + 3 + nfe))
            fin = traj.final
            ok = bool(torch.isfinite(fin).all())
            rows.append({"method": m, "nfe": steps * SAMPLERS[m], "steps": steps,
                         "energy_distance": energy_distance(fin, ref) if ok else float("nan"),
                         "sliced_w2": sliced_w2(fin, ref) if ok else float("nan")})
    return {"rows": rows, "floor": floor_of(view.target, n, seed + 100)}
