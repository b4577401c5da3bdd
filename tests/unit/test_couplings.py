"""Couplings: independent pairs and minibatch optimal transport."""

from __future__ import annotations

import itertools

import pytest
import torch

from playground.couplings import COUPLINGS, independent, make_coupling, minibatch_ot
from playground.distributions import make_distribution


def _batch(n: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return (make_distribution("gaussian").sample(n, g),
            make_distribution("8gaussians").sample(n, g))


def _cost(x0, x1) -> float:
    return float(((x0 - x1) ** 2).sum(1).mean())


def _sorted_rows(x: torch.Tensor) -> torch.Tensor:
    """Rows in lexicographic order, to compare multisets of points."""
    order = sorted(range(x.shape[0]), key=lambda i: (float(x[i, 0]), float(x[i, 1])))
    return x[order]


def test_registry():
    assert set(COUPLINGS) == {"independent", "ot", "mirror"}
    assert make_coupling("ot") is minibatch_ot
    with pytest.raises(ValueError, match="independent"):
        make_coupling("nope")


def test_independent_keeps_the_pairs():
    x0, x1 = _batch(64)
    a, b = independent(x0, x1)
    assert torch.equal(a, x0) and torch.equal(b, x1)


@pytest.mark.parametrize("n,seed", [(256, 0), (256, 1), (1000, 2)])
def test_ot_lowers_the_transport_cost(n, seed):
    x0, x1 = _batch(n, seed)
    a, b = minibatch_ot(x0, x1)
    assert _cost(a, b) < 0.8 * _cost(x0, x1)


@pytest.mark.parametrize("n,seed", [(256, 0), (1000, 2)])
def test_ot_is_a_permutation_of_x1(n, seed):
    x0, x1 = _batch(n, seed)
    a, b = minibatch_ot(x0, x1)
    assert torch.equal(a, x0)  # x0 keeps its order, x1 is re-paired
    assert b.shape == x1.shape and b.dtype == x1.dtype
    assert torch.equal(_sorted_rows(b), _sorted_rows(x1))


def test_ot_is_optimal_on_a_small_batch():
    """On 6 points, the assignment beats (or ties) every one of the 720 permutations."""
    x0, x1 = _batch(6, seed=3)
    _, b = minibatch_ot(x0, x1)
    best = min(_cost(x0, x1[list(p)]) for p in itertools.permutations(range(6)))
    assert _cost(x0, b) == pytest.approx(best, rel=1e-6)


def test_ot_does_not_need_gradients():
    x0, x1 = _batch(32)
    x0.requires_grad_(True)
    a, b = minibatch_ot(x0, x1)
    assert a is x0 and b.shape == (32, 2)
