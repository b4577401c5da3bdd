"""Quality per second that does not come from speed: each training choice against the defaults.

    python -m bench.study                         # every variant, 3 seeds, the issue's budgets
    python -m bench.study --variants base,ema-0.99 --seeds 0,1,2 --cases moons

Equal budget without the machine's noise: first each variant's training speed is measured
(steps per CPU-second of the training thread, one torch thread, variants alternated over two
rounds); then every run trains `ExperimentConfig(**case, **variant)` for a deterministic step
budget, budget × its own speed, so a choice that makes steps dearer (a wider net, a bigger
batch, the EMA) gets fewer of them, exactly as a time budget would give it, while a choice that
costs nothing per step is compared at the very same step count. Each run then samples 20,000
points with the config's sampler through `sampling_field` and scores them in 5 chunks of 4,000
against disjoint subsets of one pool of target samples (energy distance, sliced W2), averaged;
the floor is the same metric between two pool subsets, averaged the same way. Prints one table
per case: mean over seeds of ED − floor, SW2 ÷ floor (mean and worst), steps.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch

from bench.common import say, table
from playground import averaged, training
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
    "spiral": ({"target": "spiral"}, 2.0),
    "rings": ({"target": "rings"}, 2.0),
    "pinwheel": ({"target": "pinwheel"}, 2.0),
    "swissroll-noisy": ({"target": "swissroll", "schedule": "trig", "gamma": "brownian", "gamma_scale": 0.5}, 2.0),
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


def _late_t(state, n):
    """draw_batch with t = 1 − (1 − u)²: density 1/(2√(1 − t)), more of the batch near the target."""
    t, x0, x1, z = _plain_draw(state, n)
    return 1 - (1 - t).square(), x0, x1, z


def _mixed_t(state, n):
    """draw_batch with half the batch uniform and half drawn as in `_late_t`."""
    t, x0, x1, z = _plain_draw(state, n)
    late = 1 - (1 - t).square()
    return torch.where(torch.arange(n) % 2 == 0, t, late), x0, x1, z


_plain_draw = training.draw_batch
_plain_lr = training.TrainState.lr_at


def _linear_lr(self, progress):
    return self.config.lr * max(0.0, 1.0 - progress)


def _wsd_lr(self, progress):
    """Warm-up-free "stable then decay": the peak for 70% of the budget, then linear to 0."""
    return self.config.lr * min(1.0, max(0.0, (1.0 - progress) / 0.3))


def _warmup_lr(self, progress):
    w = 0.05
    return _plain_lr(self, (progress - w) / (1 - w) if progress > w else 0.0) * min(1.0, progress / w + 0.02)


VARIANTS = {  # name: (config changes, patches {object attribute: replacement})
    "base": ({}, {}),
    "ema-0.99": ({"ema": 0.99}, {}),
    "ema-0.995": ({"ema": 0.995}, {}),
    "ema-0.999": ({"ema": 0.999}, {}),
    "warmup-5%": ({}, {"lr_at": _warmup_lr}),
    "linear-decay": ({}, {"lr_at": _linear_lr}),
    "wsd": ({}, {"lr_at": _wsd_lr}),
    "t-stratified": ({}, {"draw_batch": _stratified_t}),
    "t-logit-normal": ({}, {"draw_batch": _logit_normal_t}),
    "t-late": ({}, {"draw_batch": _late_t}),
    "t-mixed": ({}, {"draw_batch": _mixed_t}),
    "batch-512": ({"batch": 512}, {}),
    "batch-128": ({"batch": 128}, {}),
    "width-64": ({"width": 64}, {}),
    "width-256": ({"width": 256}, {}),
    "lr-2e-2": ({"lr": 2e-2}, {}),
    "lr-5e-3": ({"lr": 5e-3}, {}),
    "lr-3e-2": ({"lr": 3e-2}, {}),
    "width-96": ({"width": 96}, {}),
    "no-antithetic": ({"antithetic": False}, {}),
    "no-denoiser": ({"denoiser": "off"}, {}),
    "plain-target": ({"averaged_target": False}, {}),
    "no-xfeat": ({"x_features": 0}, {}),
    "xfeat-5": ({"x_features": 5}, {}),
    "lr-1.5e-2": ({"lr": 1.5e-2}, {}),
    "pairs-128": ({}, {"PAIR_BUDGET": 128}),
    "pairs-512": ({}, {"PAIR_BUDGET": 512}),
    "adam-0.95": ({}, {"ADAM_BETAS": (0.9, 0.95)}),
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


COSTLESS = ("t-late", "t-mixed", "linear-decay", "wsd", "lr-1.5e-2", "adam-0.95", "warmup-5%",
            "t-stratified", "t-logit-normal", "lr-2e-2", "lr-5e-3", "lr-3e-2")
"""Variants that change nothing a step costs: they train as many steps as `base` (their own speed
measurement would only add the machine's noise)."""


def variant(name: str) -> tuple[dict, dict]:
    """(config changes, patches) of a variant; 'a+b' combines variants a and b."""
    changes, patches = {}, {}
    for part in name.split("+"):
        c, p = VARIANTS[part]
        changes, patches = {**changes, **c}, {**patches, **p}
    return changes, patches


def _patched(variant_name: str):
    """Context: the variant's patches of playground.training installed."""
    import contextlib

    @contextlib.contextmanager
    def cm():
        saved = []
        try:
            for name, fn in variant(variant_name)[1].items():
                owner = {"lr_at": training.TrainState, "PAIR_BUDGET": averaged}.get(name, training)
                saved.append((owner, name, getattr(owner, name)))
                setattr(owner, name, fn)
            yield
        finally:
            for owner, name, fn in saved:
                setattr(owner, name, fn)
    return cm()


def config(case: str, name: str, seed: int, steps: int = 0) -> ExperimentConfig:
    return ExperimentConfig(**{**CASES[case][0], **variant(name)[0]}, seed=seed, steps=steps, device="cpu")


def speeds(case: str, variants: list[str], n: int = 150, rounds: int = 2) -> dict[str, float]:
    """Steps per CPU-second of the training thread of each variant, alternated over rounds."""
    priced = ["base"] + [v for v in variants if not set(v.split("+")) <= set(COSTLESS) | {"base"}]
    out = {v: [] for v in dict.fromkeys(priced)}
    for _ in range(rounds):
        for v in out:
            with _patched(v):
                state = training.make_state(config(case, v, 0, steps=10 * n))
                training.train_steps(state, 20)  # warm up
                t0 = time.thread_time()
                training.train_steps(state, n)
                out[v].append(n / (time.thread_time() - t0))
    rate = {v: float(np.median(r)) for v, r in out.items()}
    return {v: rate.get(v, rate["base"]) for v in variants}


def run_one(case: str, variant: str, seed: int, steps: int) -> dict:
    cfg = config(case, variant, seed, steps)
    with _patched(variant):
        state = training.make_state(cfg)
        training.train(state, chunk=250)
    traj = generate(sampling_field(state), cfg.replace(samples=CHUNKS * CHUNK), state.base, state.target, keep=0)
    return {"steps": state.step, "final": traj.final}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.study", description=__doc__.splitlines()[0])
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--cases", default=",".join(CASES))
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--budget", type=float, default=None, help="CPU-seconds (default: the case's)")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    variants = args.variants.split(",")
    seeds = [int(s) for s in args.seeds.split(",")]
    for case in args.cases.split(","):
        budget = args.budget or CASES[case][1]
        rate = speeds(case, variants)
        scorer = Scorer(ExperimentConfig(**CASES[case][0]))
        f = scorer.floor
        rows = {v: [] for v in variants}
        for seed in seeds:
            for v in variants:
                r = run_one(case, v, seed, max(1, round(budget * rate[v])))
                m = scorer.score(r["final"])
                rows[v].append((m["ed"] - f["ed"], m["sw2"] / f["sw2"], r["steps"]))
                say(f"  {case} {v} seed {seed}: ED−floor {rows[v][-1][0]:.4f}  SW2÷floor {rows[v][-1][1]:.2f}"
                    f"  steps {r['steps']}")
        say(f"\n{case}, {budget:g} CPU-s, floor ED {f['ed']:.4f} SW2 {f['sw2']:.4f}, seeds {seeds}:\n")
        say(table(["variant", "steps/CPU-s", "steps", "ED − floor (mean)", "SW2 ÷ floor (mean)",
                   "SW2 ÷ floor (worst)"],
                  [[v, rate[v], int(np.mean([x[2] for x in rs])), float(np.mean([x[0] for x in rs])),
                    float(np.mean([x[1] for x in rs])), float(np.max([x[1] for x in rs]))]
                   for v, rs in rows.items()]))


if __name__ == "__main__":
    main()
