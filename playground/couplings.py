"""Couplings ν(x0, x1): how base and target samples are paired within a training batch.

`independent` keeps the pairs as drawn (ν = ρ0 ⊗ ρ1). `ot` re-pairs them by the exact
assignment that minimises Σ|x0 − x1|² within the batch (minibatch optimal transport), which
makes the learned paths straighter. `mirror` pairs each base sample with itself (x1 = x0): the
target is not used, particles go from the base back to the base and are measured against it
(`experiment.start_and_goal`). With α + β = 1 (linear) that is the mirror interpolant
x_t = x0 + γ z; otherwise x_t = (α + β) x0 + γ z, still from ρ0 to ρ0 (`experiment.config_warnings`
says both). Registry: `COUPLINGS`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

Tensor = torch.Tensor


def independent(x0: Tensor, x1: Tensor) -> tuple[Tensor, Tensor]:
    """Pairs as drawn; x0, x1 (n, 2)."""
    return x0, x1


def minibatch_ot(x0: Tensor, x1: Tensor) -> tuple[Tensor, Tensor]:
    """Re-pair x1 to x0 by the exact assignment minimising Σ|x0 − x1[π]|²; x0, x1 (n, 2)."""
    cost = torch.cdist(x0.detach().double().cpu(), x1.detach().double().cpu()).pow_(2).numpy()
    rows, cols = linear_sum_assignment(cost)
    perm = np.empty_like(cols)
    perm[rows] = cols
    return x0, x1[torch.as_tensor(perm, device=x1.device)]


def mirror(x0: Tensor, x1: Tensor) -> tuple[Tensor, Tensor]:
    """x1 := x0 (the drawn x1 is unused), so x_t = (α + β) x0 + γ z: the mirror interpolant x0 + γ z
    when α + β = 1 (linear), a rescaled one from ρ0 back to ρ0 otherwise; x0, x1 (n, 2)."""
    return x0, x0


COUPLINGS: dict[str, Callable[[Tensor, Tensor], tuple[Tensor, Tensor]]] = {
    "independent": independent,
    "ot": minibatch_ot,
    "mirror": mirror,
}
COUPLING_LABELS = {"independent": "independent (ρ0 ⊗ ρ1)", "ot": "minibatch optimal transport",
                   "mirror": "mirror (x1 = x0; the target is not used)"}


def make_coupling(name: str) -> Callable[[Tensor, Tensor], tuple[Tensor, Tensor]]:
    if name not in COUPLINGS:
        raise ValueError(f"unknown coupling {name!r}; choose one of {', '.join(COUPLINGS)}")
    return COUPLINGS[name]
