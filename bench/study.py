"""Quality per second that does not come from speed: each training choice against the defaults.

    python -m bench.study                         # every variant, 2 seeds, the issue's budgets
    python -m bench.study --variants base,ema --seeds 0,1,2 --targets moons

Every run trains `ExperimentConfig(target=...)` (plus the variant's change) for a budget of CPU-
seconds of the training thread (`TrainState.clock = time.thread_time`, one torch thread), then
samples 20,000 points with the config's sampler through `sampling_field` and scores them in 5
chunks of 4,000 against disjoint subsets of one pool of target samples (energy distance, sliced
W2), averaged; the floor is the same metric between two pool subsets, averaged the same way.
Variants run alternately (seed-major), so machine drift hits each of them alike. Prints one
table per target: mean over seeds of ED − floor and SW2 ÷ floor, and steps done.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch

from bench.common import say, table
from playground import training
from playground.config import ExperimentConfig
from playground.distributions import make_distribution
from playground.experiment import generate, sampling_field
from playground.metrics import energy_distance, sliced_w2

CHUNKS, CHUNK = 5, 4000
POOL_SEED = 54_321
CASES = {  # name: (config changes, budget in CPU-seconds)
    "moons": ({"target": "moons"}, 2.0),
    "8gaussians": ({"target": "8gaussians"}, 2.0),
    "checkerboard": ({"base": "8gaussians", "target": "checkerboard"}, 5.0),
    "checkerboard-noisy": ({"base": "8gaussians", "target": "checkerboard", "schedule": "trig",
                            "gamma": "brownian", "gamma_scale": 0.5}, 5.0),
}


def _stratified_t(state, n):
    """draw_batch with t stratified over the batch: one uniform draw in each of n equal bins."""
    t, x0, x1, z = _plain_draw(state, n)
    u = (torch.arange(n, dtype=t.dtype) + torch.rand(n, generator=state.generator)) / n
    if state.interpolant.schedule.stochastic:
        u = training.T_EPS + (1 - 2 * training.T_EPS) * u
    return u[torch.randperm(n, generator=state.generator)].to(t.device), x0, x1, z


def _logit_normal_t(state, n):
    """draw_batch with t ~ sigmoid(N(0, 1)) (more weight in the middle of the path)."""
    t, x0, x1, z = _plain_draw(state, n)
    t = torch.sigmoid(torch.randn(n, generator=state.generator))
    if state.interpolant.schedule.stochastic:
        t = t.clamp(training.T_EPS, 1 - training.T_EPS)
    return t, x0, x1, z


_plain_draw = training.draw_batch
_plain_lr = training.TrainState.lr_at


def _warmup_lr(self, progress):
    w = 0.05
    return _plain_lr(self, (progress - w) / (1 - w) if progress > w else 0.0) * min(1.0, progress / w + 0.02)


VARIANTS = {  # name: (config changes, patches {object attribute: replacement})
    "base": ({}, {}),
    "ema-0.99": ({"ema": 0.99}, {}),
    "ema-0.995": ({"ema": 0.995}, {}),
    "ema-0.999": ({"ema": 0.999}, {}),
    "warmup-5%": ({}, {"lr_at": _warmup_lr}),
    "t-stratified": ({}, {"draw_batch": _stratified_t}),
    "t-logit-normal": ({}, {"draw_batch": _logit_normal_t}),
    "batch-512": ({"batch": 512}, {}),
    "batch-128": ({"batch": 128}, {}),
    "width-64": ({"width": 64}, {}),
    "width-256": ({"width": 256}, {}),
    "lr-2e-2": ({"lr": 2e-2}, {}),
    "lr-5e-3": ({"lr": 5e-3}, {}),
}


class Scorer:
    """Chunked ED / SW2 against disjoint subsets of one pool, and the floor measured alike."""

    def __init__(self, cfg: ExperimentConfig):
        dist = make_distribution(cfg.target, cfg.target_params)
        g = torch.Generator().manual_seed(POOL_SEED)
        self.pool = dist.sample(2 * CHUNKS * CHUNK, g)
        a, b = self.pool[: CHUNKS * CHUNK], self.pool[CHUNKS * CHUNK:]
        self.floor = self.score(b, ref=a)

    def score(self, x: torch.Tensor, ref: torch.Tensor | None = None) -> dict:
        ref = self.pool[: CHUNKS * CHUNK] if ref is None else ref
        if not torch.isfinite(x).all():
            return {"ed": math.inf, "sw2": math.inf}
        eds, sws = [], []
        for i in range(CHUNKS):
            xi, ri = x[i * CHUNK:(i + 1) * CHUNK], ref[i * CHUNK:(i + 1) * CHUNK]
            eds.append(energy_distance(xi, ri))
            sws.append(sliced_w2(xi, ri))
        return {"ed": float(np.mean(eds)), "sw2": float(np.mean(sws))}


def run_one(case: str, variant: str, seed: int, budget: float | None = None) -> dict:
    changes, case_budget = CASES[case]
    cfg_changes, patches = VARIANTS[variant]
    budget = budget or case_budget
    cfg = ExperimentConfig(**changes, **cfg_changes, seed=seed, seconds=budget, device="cpu")
    saved = {}
    try:
        for name, fn in patches.items():
            owner = training.TrainState if name == "lr_at" else training
            saved[name] = (owner, getattr(owner, name))
            setattr(owner, name, fn)
        state = training.make_state(cfg)
        state.clock = time.thread_time
        training.train(state, chunk=100)
    finally:
        for name, (owner, fn) in saved.items():
            setattr(owner, name, fn)
    traj = generate(sampling_field(state), cfg.replace(samples=CHUNKS * CHUNK), state.base, state.target, keep=0)
    return {"steps": state.step, "final": traj.final}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.study", description=__doc__.splitlines()[0])
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--cases", default=",".join(CASES))
    p.add_argument("--seeds", default="0,1")
    p.add_argument("--budget", type=float, default=None, help="CPU-seconds (default: the case's)")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    variants = args.variants.split(",")
    seeds = [int(s) for s in args.seeds.split(",")]
    for case in args.cases.split(","):
        scorer = Scorer(ExperimentConfig(**CASES[case][0]))
        f = scorer.floor
        rows = {v: [] for v in variants}
        for seed in seeds:
            for v in variants:
                r = run_one(case, v, seed, args.budget)
                m = scorer.score(r["final"])
                rows[v].append((m["ed"] - f["ed"], m["sw2"] / f["sw2"], r["steps"]))
                say(f"  {case} {v} seed {seed}: ED−floor {rows[v][-1][0]:.4f}  SW2÷floor {rows[v][-1][1]:.2f}"
                    f"  steps {r['steps']}")
        say(f"\n{case}, {args.budget or CASES[case][1]:g} CPU-s, floor ED {f['ed']:.4f} SW2 {f['sw2']:.4f}, "
            f"seeds {seeds}:\n")
        say(table(["variant", "ED − floor (mean)", "SW2 ÷ floor (mean)", "SW2 ÷ floor (max)", "steps"],
                  [[v, float(np.mean([x[0] for x in rs])), float(np.mean([x[1] for x in rs])),
                    float(np.max([x[1] for x in rs])), int(np.mean([x[2] for x in rs]))]
                   for v, rs in rows.items()]))


if __name__ == "__main__":
    main()
