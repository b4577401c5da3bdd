"""Networks for the fields: an MLP `forward(t, x)` with Fourier features of t.

`FieldMLP` maps time t (n,) and points x (n, 2) to a vector (n, 2): the drift b̂(t, x), or the
denoiser η̂(t, x). Time enters through [t, sin(2πkt), cos(2πkt)] for k = 1..F, concatenated with
x. Weights are initialised from an explicit `torch.Generator` (no global seeding).
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
                 time_features: int = 3, dim: int = 2, generator: torch.Generator | None = None):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}")
        if width < 1 or depth < 1 or time_features < 0:
            raise ValueError("width and depth must be >= 1, time_features >= 0")
        self.dim, self.time_features = dim, time_features
        self.register_buffer("freqs", 2 * math.pi * torch.arange(1, time_features + 1, dtype=torch.float32),
                             persistent=False)
        layers: list[nn.Module] = []
        d_in = dim + 1 + 2 * time_features
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

    def forward(self, t: Tensor, x: Tensor) -> Tensor:
        if t.dim() == 0:
            t = t.expand(x.shape[0])
        return self.net(torch.cat([x, self.embed_time(t)], dim=1))
