"""Integrators of the probability-flow ODE dX = b(t, X) dt, returning whole trajectories.

A *field* is any callable `(t (n,), x (n, 2)) -> (n, 2)`: a trained `FieldMLP`, or
`ExactField.drift`. `integrate` runs Euler (the seed's), Heun or RK4 forward (t: 0 → 1, base →
target) or backward (t: 1 → 0, target → base), under `torch.no_grad()`, in chunks of particles,
and returns a `Trajectory` detached on the CPU. Registry: `SAMPLERS` (name → evaluations a step).
`em` is Euler–Maruyama for the SDE (`playground.sde.integrate_sde`, with the score and ε); here,
without noise (ε = 0), it is the Euler step of the ODE.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

Tensor = torch.Tensor
Field = Callable[[Tensor, Tensor], Tensor]

SAMPLERS: dict[str, int] = {"euler": 1, "heun": 2, "rk4": 4, "em": 1}
"""Sampler name → drift evaluations per step."""
SAMPLER_LABELS = {"euler": "Euler (1 evaluation a step)", "heun": "Heun (2 a step)",
                  "rk4": "RK4 (4 a step)", "em": "Euler–Maruyama SDE (1 a step, + score)"}
CHUNK = 10_000


@dataclass(frozen=True)
class Trajectory:
    """times (steps + 1,); path (steps + 1, k, 2) for the first k particles; final (n, 2)."""

    times: Tensor
    path: Tensor
    final: Tensor
    nfe: int  # drift evaluations (steps × 1, 2 or 4 for Euler, Heun, RK4), not the config's sample_steps

    @property
    def start(self) -> Tensor:
        return self.path[0]


def _step(field: Field, method: str, t: float, h: float, x: Tensor) -> Tensor:
    n = x.shape[0]
    tt = torch.full((n,), t, dtype=x.dtype, device=x.device)
    if method in ("euler", "em"):  # em without noise (ε = 0) is Euler
        return x + h * field(tt, x)
    if method == "heun":
        k1 = field(tt, x)
        k2 = field(tt + h, x + h * k1)
        return x + 0.5 * h * (k1 + k2)
    if method == "rk4":
        k1 = field(tt, x)
        k2 = field(tt + h / 2, x + (h / 2) * k1)
        k3 = field(tt + h / 2, x + (h / 2) * k2)
        k4 = field(tt + h, x + h * k3)
        return x + (h / 6) * (k1 + 2 * k2 + 2 * k3 + k4)
    raise ValueError(f"unknown sampler {method!r}; choose one of {', '.join(SAMPLERS)}")


def time_grid(steps: int, direction: str = "forward", t0: float = 0.0, t1: float = 1.0) -> Tensor:
    """steps + 1 times from t0 to t1 (forward) or t1 to t0 (backward), float64."""
    if steps < 1:
        raise ValueError("steps must be >= 1")
    if direction not in ("forward", "backward"):
        raise ValueError(f"unknown direction {direction!r}; choose forward or backward")
    grid = torch.linspace(t0, t1, steps + 1, dtype=torch.float64)
    return grid if direction == "forward" else grid.flip(0)


@torch.no_grad()
def integrate(field: Field, x_start: Tensor, steps: int, method: str = "heun",
              direction: str = "forward", keep: int | None = 2000, t0: float = 0.0,
              t1: float = 1.0, device: torch.device | str | None = None) -> Trajectory:
    """Integrate dX = b(t, X) dt from x_start (n, 2) over `steps` steps.

    forward runs t0 → t1 from base samples; backward runs t1 → t0 from target samples.
    keep: how many particles' paths to record (None = all). Returns CPU float32 tensors.
    """
    if method not in SAMPLERS:
        raise ValueError(f"unknown sampler {method!r}; choose one of {', '.join(SAMPLERS)}")
    times = time_grid(steps, direction, t0, t1).tolist()
    path, final = run_steps(x_start, times, lambda i, x: _step(field, method, times[i], times[i + 1] - times[i], x),
                            keep, device)
    return Trajectory(torch.tensor(times, dtype=torch.float32), path, final, steps * SAMPLERS[method])


def run_steps(x_start: Tensor, times: list[float], step: Callable[[int, Tensor], Tensor],
              keep: int | None = 2000, device: torch.device | str | None = None) -> tuple[Tensor, Tensor]:
    """Apply `step(i, x)` for i = 0 .. len(times) − 2 to x_start (n, 2), in chunks of CHUNK
    particles on `device`. Returns (path (len(times), k, 2) of the first k = keep particles, final
    (n, 2)), both float32 on the CPU. Shared by the ODE integrators and the SDE."""
    n, steps = x_start.shape[0], len(times) - 1
    k = n if keep is None else min(keep, n)
    dev = torch.device(device) if device is not None else x_start.device
    path = torch.empty(steps + 1, k, 2)
    finals = []
    for lo in range(0, n, CHUNK):
        x = x_start[lo:lo + CHUNK].to(dev, torch.float32)
        rec = max(0, min(k - lo, x.shape[0]))
        if rec:
            path[0, lo:lo + rec] = x[:rec].cpu()
        for i in range(steps):
            x = step(i, x)
            if rec:
                path[i + 1, lo:lo + rec] = x[:rec].cpu()
        finals.append(x.cpu())
    return path, torch.cat(finals)


def as_field(model: torch.nn.Module) -> Field:
    """A module with `forward(t, x)` as a field, switched to eval mode."""
    model.eval()
    return model
