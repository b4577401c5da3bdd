"""Networks for the fields: an MLP `forward(t, x)` with Fourier features of t.

`FieldMLP` maps time t (n,) and points x (n, 2) to a vector (n, 2): the drift b̂(t, x), or the
denoiser η̂(t, x). Time enters through [t, sin(2πkt), cos(2πkt)] for k = 1..F, concatenated with
x. Weights are initialised from an explicit `torch.Generator` (no global seeding).

`regression_grads(net, t, x, target)` is the training step's forward and backward written out by
hand (matrix products and each activation's fused backward kernel, no autograd graph): the
gradient of mean_n |net(t, x) − target|² lands in every parameter's `.grad`, as
`loss.backward()` would put it (tests/unit/test_models.py checks it against autograd). It is
the bulk of a small model's training step, so the saved graph bookkeeping is felt
(bench/throughput.py measures it).
"""

from __future__ import annotations

import math

import torch
from torch import nn

Tensor = torch.Tensor

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "silu": nn.SiLU, "gelu": nn.GELU, "relu": nn.ReLU, "tanh": nn.Tanh, "softplus": nn.Softplus,
}


class FieldMLP(nn.Module):
    """(t (n,), x (n, 2)) -> (n, 2). `depth` hidden layers of `width` units."""

    def __init__(self, width: int = 128, depth: int = 3, activation: str = "silu",
                 time_features: int = 3, dim: int = 2, generator: torch.Generator | None = None,
                 x_features: int = 0):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}")
        if width < 1 or depth < 1 or time_features < 0 or x_features < 0:
            raise ValueError("width and depth must be >= 1, time_features and x_features >= 0")
        self.dim, self.time_features = dim, time_features
        self.register_buffer("freqs", 2 * math.pi * torch.arange(1, time_features + 1, dtype=torch.float32),
                             persistent=False)
        self.x_features = int(x_features)
        self.register_buffer("x_freqs", (math.pi / 4) * 2.0 ** torch.arange(self.x_features, dtype=torch.float32),
                             persistent=False)
        layers: list[nn.Module] = []
        d_in = dim + 1 + 2 * time_features + 2 * dim * self.x_features
        for _ in range(depth):
            layers += [nn.Linear(d_in, width), ACTIVATIONS[activation]()]
            d_in = width
        layers.append(nn.Linear(d_in, dim))
        self.net = nn.Sequential(*layers)
        if generator is not None:
            self.reset_parameters(generator)

    @torch.no_grad()
    def reset_parameters(self, generator: torch.Generator) -> None:
        """PyTorch's default Linear init, drawn from `generator`."""
        for m in self.net:
            if isinstance(m, nn.Linear):
                bound = 1.0 / math.sqrt(m.in_features)
                w = torch.rand(m.weight.shape, generator=generator) * 2 - 1
                b = torch.rand(m.bias.shape, generator=generator) * 2 - 1
                m.weight.copy_(w * bound)
                m.bias.copy_(b * bound)

    def embed_time(self, t: Tensor) -> Tensor:
        """t (n,) -> (n, 1 + 2F)."""
        t = t.reshape(-1, 1).to(self.freqs.dtype)
        if self.time_features == 0:
            return t
        ft = t * self.freqs
        return torch.cat([t, torch.sin(ft), torch.cos(ft)], dim=1)

    def inputs(self, t: Tensor, x: Tensor) -> Tensor:
        """The first layer's input: [x, time features, Fourier features of x]: sin and cos of
        2^k (π/4) x_d for k < x_features (periods 8, 4, 2, ... in the ±4 box; none when 0)."""
        parts = [x, self.embed_time(t)]
        if self.x_features:
            xw = (x[:, :, None] * self.x_freqs.to(x.dtype)).reshape(x.shape[0], -1)
            parts += [torch.sin(xw), torch.cos(xw)]
        return torch.cat(parts, dim=1)

    def forward(self, t: Tensor, x: Tensor) -> Tensor:
        if t.dim() == 0:
            t = t.expand(x.shape[0])
        return self.net(self.inputs(t, x))


_ACTIVATION_BACKWARD = {
    # (module type, grad of the activation's input from (grad of its output, input a, output h))
    nn.SiLU: lambda g, a, h: torch.ops.aten.silu_backward(g, a),
    nn.GELU: lambda g, a, h: torch.ops.aten.gelu_backward(g, a, approximate="none"),
    nn.ReLU: lambda g, a, h: torch.ops.aten.threshold_backward(g, h, 0),
    nn.Tanh: lambda g, a, h: torch.ops.aten.tanh_backward(g, h),
    nn.Softplus: lambda g, a, h: torch.ops.aten.softplus_backward(g, a, 1.0, 20.0),
}


def has_manual_grads(net: nn.Module) -> bool:
    """True when `regression_grads` can train `net`: a FieldMLP of Linear layers and activations
    it knows (every registered one, with PyTorch's default settings)."""
    if not isinstance(net, FieldMLP):
        return False
    layers = list(net.net)
    linear = layers[0::2] + layers[-1:]
    acts = layers[1:-1:2]
    return (all(type(m) is nn.Linear for m in linear) and all(type(m) in _ACTIVATION_BACKWARD for m in acts)
            and all(getattr(m, "approximate", "none") == "none" for m in acts)
            and all(getattr(m, "beta", 1.0) == 1.0 and getattr(m, "threshold", 20.0) == 20.0 for m in acts))


@torch.no_grad()
def regression_grads(net: FieldMLP, t: Tensor, x: Tensor, target: Tensor) -> Tensor:
    """Forward and backward of L = mean_n Σ_k (net(t, x) − target)² by hand; sets every parameter's
    `.grad` to ∂L/∂θ and returns the residual net(t, x) − target (n, k).

    t (n,), x (n, 2), target (n, k) with k the network's outputs."""
    layers = list(net.net)
    if t.dim() == 0:
        t = t.expand(x.shape[0])
    h = net.inputs(t, x)
    inputs, pre, post = [], [], []
    for i in range(0, len(layers) - 1, 2):
        lin, act = layers[i], layers[i + 1]
        inputs.append(h)
        a = torch.addmm(lin.bias, h, lin.weight.t())
        h = act(a)
        pre.append(a)
        post.append(h)
    last = layers[-1]
    residual = torch.addmm(last.bias, h, last.weight.t()).sub_(target)
    g = residual.mul(2.0 / residual.shape[0])
    last.weight.grad, last.bias.grad = g.t().mm(h), g.sum(0)
    for j in range(len(inputs) - 1, -1, -1):
        lin, act = layers[2 * j], layers[2 * j + 1]
        g = _ACTIVATION_BACKWARD[type(act)](g.mm(layers[2 * j + 2].weight), pre[j], post[j])
        x_in = inputs[j]
        # gᵀx with few input columns (the first layer's 2 + 1 + 2F) is 4× faster as (xᵀg)ᵀ
        lin.weight.grad = (x_in.t().mm(g).t().contiguous() if x_in.shape[1] < 32 else g.t().mm(x_in))
        lin.bias.grad = g.sum(0)
    return residual
