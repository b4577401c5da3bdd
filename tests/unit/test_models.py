"""FieldMLP: forward(t, x) shapes, time dependence, seeded initialisation; the hand-written
forward and backward of training (`regression_grads`) against autograd."""

from __future__ import annotations

import math

import pytest
import torch

from playground.config import ACTIVATION_NAMES
from playground.models import ACTIVATIONS, FieldMLP, has_manual_grads, regression_grads
from playground.score import TwoHeadMLP


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _inputs(n: int = 10):
    g = gen(123)
    return torch.rand(n, generator=g), torch.randn(n, 2, generator=g)


@pytest.mark.parametrize("width,depth,activation,time_features", [
    (32, 1, "silu", 3), (16, 3, "gelu", 0), (8, 2, "relu", 5), (32, 2, "tanh", 1),
    (32, 2, "softplus", 2),
])
def test_forward_shapes(width, depth, activation, time_features):
    model = FieldMLP(width, depth, activation, time_features, generator=gen(0))
    t, x = _inputs(10)
    out = model(t, x)
    assert out.shape == (10, 2) and out.dtype == torch.float32
    assert torch.isfinite(out).all()
    assert model.embed_time(t).shape == (10, 1 + 2 * time_features)
    n_linear = sum(isinstance(m, torch.nn.Linear) for m in model.net)
    assert n_linear == depth + 1


def test_scalar_time_broadcasts():
    model = FieldMLP(32, 2, generator=gen(0))
    _, x = _inputs(7)
    a = model(torch.tensor(0.3), x)
    b = model(torch.full((7,), 0.3), x)
    assert a.shape == (7, 2)
    torch.testing.assert_close(a, b)


@pytest.mark.parametrize("time_features", [0, 3])
def test_output_depends_on_time(time_features):
    model = FieldMLP(32, 2, time_features=time_features, generator=gen(0))
    _, x = _inputs(10)
    early = model(torch.full((10,), 0.1), x)
    late = model(torch.full((10,), 0.9), x)
    assert (early - late).abs().max() > 1e-3


def test_rows_are_independent():
    """Each output row depends only on its own (t, x): no mixing across the batch."""
    model = FieldMLP(32, 2, generator=gen(0))
    t, x = _inputs(10)
    full = model(t, x)
    for k in (0, 4, 9):
        torch.testing.assert_close(model(t[k:k + 1], x[k:k + 1]), full[k:k + 1])


def test_same_seed_same_weights_regardless_of_the_global_rng():
    with torch.random.fork_rng():
        torch.manual_seed(1)
        a = FieldMLP(32, 3, generator=gen(5))
        torch.manual_seed(2)
        b = FieldMLP(32, 3, generator=gen(5))
    c = FieldMLP(32, 3, generator=gen(6))
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert sa.keys() == sb.keys()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)
    t, x = _inputs()
    assert torch.equal(a(t, x), b(t, x))


def test_init_follows_the_pytorch_default_bound():
    """Weights and biases lie in ±1/√fan_in (PyTorch's default Linear init)."""
    model = FieldMLP(64, 2, generator=gen(0))
    for m in model.net:
        if isinstance(m, torch.nn.Linear):
            bound = m.in_features ** -0.5
            assert m.weight.abs().max() <= bound and m.bias.abs().max() <= bound
            assert m.weight.abs().max() > 0.5 * bound  # not degenerate


def test_gradients_reach_every_parameter():
    model = FieldMLP(16, 2, generator=gen(0))
    t, x = _inputs()
    model(t, x).square().sum().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_activation_registry_matches_the_config():
    assert tuple(ACTIVATIONS) == ACTIVATION_NAMES


@pytest.mark.parametrize("kwargs", [
    {"activation": "nope"}, {"width": 0}, {"depth": 0}, {"time_features": -1}, {"x_features": -1},
])
def test_bad_arguments_raise(kwargs):
    with pytest.raises(ValueError):
        FieldMLP(**kwargs)


@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
@pytest.mark.parametrize("depth,time_features,x_features,two_heads",
                         [(3, 3, 3, False), (1, 0, 0, False), (2, 2, 0, True), (2, 1, 4, True)])
def test_hand_written_backward_matches_autograd(activation, depth, time_features, x_features, two_heads):
    """regression_grads: the residual and every parameter's gradient of mean_n |net(t, x) − y|²
    are those of autograd (the oracle), for every activation, depth, features of t and x and the
    two-head network; t as a scalar broadcasts."""
    cls = TwoHeadMLP if two_heads else FieldMLP
    net = cls(24, depth, activation, time_features, generator=gen(1), x_features=x_features)
    assert has_manual_grads(net)
    g = gen(2)
    k = 4 if two_heads else 2
    for t in (torch.rand(50, generator=g), torch.tensor(0.4)):
        x, y = torch.randn(50, 2, generator=g), torch.randn(50, k, generator=g)
        net.zero_grad()
        loss = (net(t, x) - y).square().sum(1).mean()
        loss.backward()
        auto = {n: p.grad.clone() for n, p in net.named_parameters()}
        residual = regression_grads(net, t, x, y)
        torch.testing.assert_close(residual.square().sum(1).mean(), loss.detach())
        for n, p in net.named_parameters():
            torch.testing.assert_close(p.grad, auto[n], rtol=1e-5, atol=1e-6, msg=n)


def test_manual_grads_only_for_what_it_knows():
    assert not has_manual_grads(torch.nn.Linear(3, 2))
    net = FieldMLP(8, 2, "gelu", generator=gen(0))
    net.net[1] = torch.nn.GELU(approximate="tanh")  # a variant its backward does not cover
    assert not has_manual_grads(net)


def test_features_of_x_are_sines_and_cosines_of_octaves():
    """The input layer sees [x, time features, sin(2^k π x / 4), cos(2^k π x / 4)] for k < x_features."""
    net = FieldMLP(8, 1, time_features=0, generator=gen(0), x_features=2)
    assert net.net[0].in_features == 2 + 1 + 2 * 2 * 2
    x, t = torch.tensor([[1.0, -2.0]]), torch.tensor([0.3])
    w = torch.tensor([math.pi / 4, math.pi / 2])
    xw = torch.cat([x[0, 0] * w, x[0, 1] * w])
    expected = torch.cat([x[0], t, torch.sin(xw), torch.cos(xw)])
    torch.testing.assert_close(net.inputs(t, x)[0], expected)
