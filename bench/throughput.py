"""Section 1: training throughput of playground's loop against a bare torch loop and matmul peak.

- ours: `playground.training.train_steps` on `make_state(ExperimentConfig(steps=200_000,
  averaged_target=False))` (the defaults: width 128, depth 3, 3 Fourier features of t and of x,
  batch 256, fused Adam lr 1e-2, cosine, grad clip 1; the step budget is raised only so that the
  run never ends mid-measurement), on the plain target ẋ_t: the same work as the bare loop.
- ours, averaged target: the defaults as they are (`playground.averaged`: the target averaged over
  the batch, extra work the bare loop does not do); its ratio to `ours` is what the averaging costs.
- bare: the seed note's loop with its bugs fixed, same network (FieldMLP 128×3, Fourier features
  of t and x), same batch, same fused Adam: t, x0, x1 drawn, x_t = (1−t)x0 + t x1 with t as a
  (batch, 1) column, loss = mean |model(t, x_t) − (x1 − x0)|², backward, step.
- ours (autograd): the same loop with `playground.training.MANUAL_GRADS = False`: `loss.backward()`
  instead of the hand-written forward/backward (`playground.models.regression_grads`).
- peak: float32 matmul (1024²) GFLOP/s on the same thread count.
Rounds alternate ours / autograd / bare / matmul; each figure is the median over rounds (wall clock).
Achieved GFLOP/s counts 6 × (weights of the Linear layers) × batch per step.
"""

from __future__ import annotations

import torch

from bench.common import Settings, median, ratio, say, table, threads, wall
from playground import training
from playground.config import ExperimentConfig
from playground.models import FieldMLP
from playground.training import build_distributions, make_state, train_steps

MATMUL_N = 1024


def linear_weights(model: torch.nn.Module) -> int:
    return sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear))


class BareLoop:
    """The minimal loop: nothing but sampling, the loss, backward and the optimizer step."""

    def __init__(self, cfg: ExperimentConfig):
        self.batch = cfg.batch
        self.g = torch.Generator().manual_seed(cfg.seed + 1)
        self.model = FieldMLP(cfg.width, cfg.depth, cfg.activation, cfg.time_features,
                              generator=torch.Generator().manual_seed(cfg.seed), x_features=cfg.x_features)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=cfg.lr, fused=True)
        self.base, self.target = build_distributions(cfg)

    def steps(self, n: int) -> None:
        model, opt, g, b = self.model, self.opt, self.g, self.batch
        for _ in range(n):
            t = torch.rand(b, generator=g)
            x0, x1 = self.base.sample(b, g), self.target.sample(b, g)
            tc = t[:, None]
            xt = (1 - tc) * x0 + tc * x1
            loss = ((model(t, xt) - (x1 - x0)) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()


def _autograd(state, n: int):
    """train_steps with loss.backward() instead of the hand-written backward."""
    training.MANUAL_GRADS = False
    try:
        return train_steps(state, n)
    finally:
        training.MANUAL_GRADS = True


def _rate(run, seconds: float, probe: int = 20) -> float:
    """Steps (or calls) per wall second of `run(n)`, measured for about `seconds`."""
    t0 = wall()
    run(probe)
    per = max((wall() - t0) / probe, 1e-6)
    n = max(probe, int(seconds / per))
    t0 = wall()
    run(n)
    return n / (wall() - t0)


def matmul_gflops(seconds: float) -> float:
    a = torch.randn(MATMUL_N, MATMUL_N)
    b = torch.randn(MATMUL_N, MATMUL_N)
    out = torch.empty(MATMUL_N, MATMUL_N)

    def run(n):
        for _ in range(n):
            torch.mm(a, b, out=out)

    return _rate(run, seconds, probe=3) * 2 * MATMUL_N ** 3 / 1e9


def run(settings: Settings) -> dict:
    cfg = ExperimentConfig(steps=200_000, averaged_target=False)
    probe_model = FieldMLP(cfg.width, cfg.depth, cfg.activation, cfg.time_features, x_features=cfg.x_features)
    weights = linear_weights(probe_model)
    flops_per_step = 6 * weights * cfg.batch
    rows = []
    for n_threads in settings.threads:
        with threads(n_threads):
            state, auto_state = make_state(cfg, device="cpu"), make_state(cfg, device="cpu")
            avg_state = make_state(cfg.replace(averaged_target=True), device="cpu")
            bare = BareLoop(cfg)
            train_steps(state, 20)  # warm up (allocator, fused kernels)
            train_steps(avg_state, 20)
            _autograd(auto_state, 20)
            bare.steps(20)
            ours_r, avg_r, auto_r, bare_r, peak_r = [], [], [], [], []
            for k in range(settings.rounds):
                order = ("ours", "averaged", "autograd", "bare")
                for name in (order if k % 2 == 0 else order[::-1]):
                    if name == "ours":
                        ours_r.append(_rate(lambda n, s=state: train_steps(s, n), settings.measure_s))
                    elif name == "averaged":
                        avg_r.append(_rate(lambda n, s=avg_state: train_steps(s, n), settings.measure_s))
                    elif name == "autograd":
                        auto_r.append(_rate(lambda n, s=auto_state: _autograd(s, n), settings.measure_s))
                    else:
                        bare_r.append(_rate(bare.steps, settings.measure_s))
                peak_r.append(matmul_gflops(settings.measure_s / 2))
        ours, auto, bare_s, peak = median(ours_r), median(auto_r), median(bare_r), median(peak_r)
        avg = median(avg_r)
        achieved = ours * flops_per_step / 1e9
        rows.append({
            "threads": n_threads,
            "ours_steps_per_s": ours,
            "autograd_steps_per_s": auto,
            "bare_steps_per_s": bare_s,
            "ratio_ours_bare": ratio(ours, bare_s),
            "averaged_steps_per_s": avg,
            "ratio_averaged_ours": ratio(avg, ours),
            "ratio_autograd_bare": ratio(auto, bare_s),
            "achieved_gflops": achieved,
            "peak_gflops": peak,
            "fraction_of_peak": ratio(achieved, peak),
            "rounds": {"ours": ours_r, "averaged": avg_r, "autograd": auto_r, "bare": bare_r,
                       "peak_gflops": peak_r},
        })
        say(f"  threads {n_threads}: ours {ours:.0f} steps/s (autograd {auto:.0f}), bare {bare_s:.0f}, ratio "
            f"{ours / bare_s:.3f}; {achieved:.1f} GFLOP/s of {peak:.0f} peak; with the averaged target "
            f"{avg:.0f} steps/s ({avg / ours:.2f} × ours)")
    out = {
        "config": {"width": cfg.width, "depth": cfg.depth, "batch": cfg.batch,
                   "time_features": cfg.time_features, "x_features": cfg.x_features, "lr": cfg.lr,
                   "target": cfg.target},
        "linear_weights": weights,
        "flops_per_step": flops_per_step,
        "matmul_n": MATMUL_N,
        "rounds": settings.rounds,
        "measure_seconds": settings.measure_s,
        "rows": rows,
    }
    say(markdown(out))
    return out


def markdown(sec: dict) -> str:
    rows = [[r["threads"], r["ours_steps_per_s"], r["autograd_steps_per_s"], r["bare_steps_per_s"],
             r["ratio_ours_bare"], r["ratio_autograd_bare"], r["achieved_gflops"], r["peak_gflops"],
             r["fraction_of_peak"], r.get("averaged_steps_per_s"), r.get("ratio_averaged_ours")]
            for r in sec["rows"]]
    c = sec["config"]
    note = (f"ours: `train_steps` on the defaults (width {c['width']}, depth {c['depth']}, "
            f"batch {c['batch']}) with the plain target ẋ_t, the bare loop's work; ours, averaged: the "
            "defaults as they are, with the target averaged over the batch (extra work); "
            "ours with autograd: the same with `loss.backward()`; "
            "bare: the seed's loop with its bugs fixed, same network, batch and fused Adam. Achieved "
            f"GFLOP/s = 6 × {sec['linear_weights']:,} Linear weights × batch = "
            f"{sec['flops_per_step'] / 1e6:.1f} MFLOP a step × steps/s; peak: a {sec['matmul_n']}² float32 "
            f"matmul on as many threads. Median of {sec['rounds']} alternating rounds.")
    return note + "\n\n" + table(["threads", "ours steps/s", "ours with autograd", "bare loop steps/s",
                                    "ours ÷ bare", "autograd ÷ bare", "achieved GFLOP/s (ours)",
                                    "matmul peak GFLOP/s", "fraction of peak", "ours, averaged target steps/s",
                                    "averaged ÷ ours"], rows)
