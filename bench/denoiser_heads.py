"""Denoiser beside the drift: one network with two heads, or two networks? Prints a comparison.

Gaussian → 8 Gaussians, linear α/β, γ = √(t(1−t)), width 128 × 3, batch 256 (antithetic pairs),
lr 1e-2 cosine, one thread. For each variant: steps per CPU-second (process time: the
machine may be shared), the drift's mean squared error against
the exact field, the Pearson correlation of the learned score −η̂/γ with the exact score, and
the held-out η loss against its minimum E|η_exact − z|² (all at t ~ U[0.05, 0.95]).
`drift-only` (today's γ > 0 training, no denoiser) is the reference for the drift error.

    python bench/denoiser_heads.py [steps]
"""

from __future__ import annotations

import math
import sys
import time

import torch
from torch import nn

from playground.distributions import make_distribution
from playground.exact import ExactField
from playground.interpolants import Interpolant
from playground.models import FieldMLP
from playground.schedules import make_schedule

torch.set_num_threads(1)
STEPS = int(sys.argv[1]) if len(sys.argv) > 1 else 1500
BATCH, LR, WIDTH, DEPTH = 256, 1e-2, 128, 3


class TwoHeads(FieldMLP):
    """One trunk, a 4-wide last layer: [:, :2] drift, [:, 2:] denoiser."""

    def __init__(self, generator):
        super().__init__(WIDTH, DEPTH, generator=generator)
        self.net[-1] = nn.Linear(WIDTH, 4)
        self.reset_parameters(generator)


def run(variant: str, seed: int = 0):
    base, target = make_distribution("gaussian"), make_distribution("8gaussians")
    sched = make_schedule("linear", "brownian", 1.0)
    interp = Interpolant(sched)
    gi = torch.Generator().manual_seed(seed)
    if variant == "two-heads":
        net = TwoHeads(gi)
        params = [list(net.parameters())]
    elif variant == "drift-only":
        drift = FieldMLP(WIDTH, DEPTH, generator=gi)
        params = [list(drift.parameters())]
    else:
        drift, den = FieldMLP(WIDTH, DEPTH, generator=gi), FieldMLP(WIDTH, DEPTH, generator=gi)
        params = [list(drift.parameters()), list(den.parameters())]
    opts = [torch.optim.Adam(p, lr=LR, fused=True) for p in params]
    g = torch.Generator().manual_seed(seed + 1)
    n = BATCH // 2
    start = time.process_time()
    for step in range(STEPS):
        lr = LR * 0.5 * (1 + math.cos(math.pi * step / STEPS))
        for o in opts:
            for grp in o.param_groups:
                grp["lr"] = lr
        x0, x1 = base.sample(n, g), target.sample(n, g)
        z = torch.randn(n, 2, generator=g)
        t = 1e-3 + (1 - 2e-3) * torch.rand(n, generator=g)
        s, m = interp.sample(t, x0, x1, z), interp.sample(t, x0, x1, -z)
        tt, xt = torch.cat([t, t]), torch.cat([s.xt, m.xt])
        tb, te = torch.cat([s.dxt, m.dxt]), torch.cat([z, -z])
        if variant == "two-heads":
            out = net(tt, xt)
            loss = ((out[:, :2] - tb) ** 2).sum(1).mean() + ((out[:, 2:] - te) ** 2).sum(1).mean()
        elif variant == "drift-only":
            loss = ((drift(tt, xt) - tb) ** 2).sum(1).mean()
        else:
            loss = ((drift(tt, xt) - tb) ** 2).sum(1).mean() + ((den(tt, xt) - te) ** 2).sum(1).mean()
        for o in opts:
            o.zero_grad(set_to_none=True)
        loss.backward()
        for p in params:
            torch.nn.utils.clip_grad_norm_(p, 1.0)
        for o in opts:
            o.step()
    sps = STEPS / (time.process_time() - start)
    # evaluation on fresh points
    exact = ExactField.from_distributions(base, target, sched)
    ge = torch.Generator().manual_seed(99)
    m = 20_000
    x0, x1, z = base.sample(m, ge), target.sample(m, ge), torch.randn(m, 2, generator=ge)
    t = 0.05 + 0.9 * torch.rand(m, generator=ge)
    xt = interp.sample(t, x0, x1, z).xt
    with torch.no_grad():
        if variant == "two-heads":
            out = net(t, xt)
            b_hat, eta_hat = out[:, :2], out[:, 2:]
        elif variant == "drift-only":
            b_hat, eta_hat = drift(t, xt), exact.eta(t, xt)
        else:
            b_hat, eta_hat = drift(t, xt), den(t, xt)
    gam = sched(t).gamma[:, None]
    s_hat, s_true = -eta_hat / gam, exact.score(t, xt)
    corr = torch.corrcoef(torch.stack([s_hat.reshape(-1), s_true.reshape(-1)]))[0, 1]
    drift_mse = ((b_hat - exact.drift(t, xt)) ** 2).sum(1).mean()
    eta_loss = ((eta_hat - z) ** 2).sum(1).mean()
    eta_min = ((exact.eta(t, xt) - z) ** 2).sum(1).mean()
    return sps, float(drift_mse), float(corr), float(eta_loss), float(eta_min)


if __name__ == "__main__":
    print(f"{STEPS} steps, width {WIDTH} x {DEPTH}, batch {BATCH}")
    for variant in ("drift-only", "two-networks", "two-heads"):
        rows = [run(variant, seed) for seed in (0, 1)]
        avg = [sum(r[i] for r in rows) / len(rows) for i in range(5)]
        print(f"{variant:13s} steps/s {avg[0]:6.0f}  drift MSE vs exact {avg[1]:.4f}  "
              f"score corr {avg[2]:.4f}  η loss {avg[3]:.4f} (min {avg[4]:.4f})")
