"""Section 2: sample quality at equal training budgets, ours against torchcfm and the seed's recipe.

Budgets are CPU-seconds of the training thread (one torch thread per process; sampling and
metrics are off the clock). At each budget a run's model samples `quality_samples` points from
fixed starting points with the run's sampler, SAMPLE_DRAWS times (the scores averaged); they are
scored in `quality_chunks` chunks against
disjoint subsets of one pool of target samples (energy distance and sliced W2,
`playground.metrics`), averaged over the chunks; the noise floor is the same chunked score of
independent target samples, averaged over FLOOR_DRAWS of them. A budget "meets" the margin of `bench.common.meets`.

Methods (every one with our network: FieldMLP width 128, depth 3, SiLU, 3 Fourier features of t
and 3 of x, batch 256, sampled with Heun 50 steps unless stated):
- ours: `ExperimentConfig(**case, seconds=B)`: the defaults, whose learning-rate schedule is
  fitted to the budget, so every budget B is its own run (`TrainState.clock` = thread CPU time).
- cfm-ours: torchcfm's ConditionalFlowMatcher (sigma 0) pairs with our hyperparameters: fused
  Adam at lr 1e-2 with cosine decay over the budget, gradient clipping at 1, our loss (sum over
  dimensions); one run per budget. Beside `ours` it tells the recipe from the algorithm.
- cfm / otcfm: torchcfm's ConditionalFlowMatcher / ExactOptimalTransportConditionalFlowMatcher
  (sigma 0) with torchcfm's recipe: Adam lr 1e-3 constant, loss mean((v − u)²); one run
  checkpointed at every budget (its schedule does not depend on the budget).
- seed: the seed note's recipe, bugs fixed: plain Adam lr 1e-3 constant, raw t only, Euler 100.
"""

from __future__ import annotations

import math
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import torch

from bench.common import ED_MARGIN, SW2_FACTOR, Settings, margin_text, meets, say, table, threads
from playground.config import ExperimentConfig
from playground.distributions import make_distribution
from playground.experiment import generate, sampling_field
from playground.metrics import energy_distance, sliced_w2
from playground.models import FieldMLP
from playground.training import _clip_grads, make_state, train_steps

POOL_SEED = 12_345
CASES = {  # bench target name -> config changes (from ExperimentConfig's defaults)
    "8gaussians": {"target": "8gaussians"},
    "moons": {"target": "moons"},
    "checkerboard": {"base": "8gaussians", "target": "checkerboard"},
    "checkerboard-noisy": {"base": "8gaussians", "target": "checkerboard", "schedule": "trig",
                           "gamma": "brownian", "gamma_scale": 0.5},
    "spiral": {"target": "spiral"},
}
METHODS = {
    "ours": "playground defaults, lr schedule fitted to the budget (one run per budget), Heun 50",
    "cfm-ours": "torchcfm ConditionalFlowMatcher(sigma=0) with our network and hyperparameters "
                "(fused Adam lr 1e-2 cosine over the budget, clip 1), Heun 50",
    "cfm": "torchcfm ConditionalFlowMatcher(sigma=0), torchcfm's recipe: Adam lr 1e-3, Heun 50",
    "otcfm": "torchcfm ExactOptimalTransportConditionalFlowMatcher(sigma=0), Adam lr 1e-3, Heun 50",
    "seed": "seed recipe: plain Adam lr 1e-3 constant, raw t, Euler 100 steps",
}
PEERS = ("cfm", "otcfm")
TORCHCFM = ("cfm-ours", "cfm", "otcfm")
BUDGETED = ("ours", "cfm-ours")  # one run per budget (schedule fitted to it)
_TARGETS: dict = {}


def case_config(name: str, **changes) -> ExperimentConfig:
    return ExperimentConfig(**CASES.get(name, {"target": name}), **changes)


def torchcfm_status() -> tuple[object | None, str]:
    """(the torchcfm module, '') or (None, why it is missing)."""
    try:
        import torchcfm.conditional_flow_matching as tcfm
    except ImportError as exc:
        return None, (f"torchcfm is not importable ({exc}); install requirements-bench.txt "
                      "(torchcfm with --no-deps, and pot)")
    return tcfm, ""


def get_target(name: str, n: int, chunks: int = 1) -> Target:
    """A `Target`, built once per (name, n, chunks) in this process (floors cost seconds)."""
    key = (name, n, chunks)
    if key not in _TARGETS:
        _TARGETS[key] = Target(name, n, chunks)
    return _TARGETS[key]


FLOOR_DRAWS = 3
"""Independent target samples whose scores are averaged into the floor (one draw of 20,000 points
in 5 chunks still moved the sliced-W2 floor by ±10 % between pools)."""
SAMPLE_DRAWS = 3
"""Sample draws (fresh starting points, the same trained model) whose scores are averaged into a
checkpoint's score, as the floor averages FLOOR_DRAWS target draws: one 20,000-point draw of the
target itself scores 0.8-1.2 × the floor on sliced W2, so one draw of a model's samples says as
much about the draw as about the model (bench/study.md, "the metric's own spread")."""


class Target:
    """A case's target: `ref` (n samples) is what samples are scored against, chunk by chunk; the
    floor is the mean score of FLOOR_DRAWS independent target samples of the same size."""

    def __init__(self, name: str, n: int, chunks: int = 1):
        cfg = case_config(name)
        self.name, self.n, self.chunks = name, n, max(1, chunks)
        self.dist = make_distribution(cfg.target, cfg.target_params)
        g = torch.Generator().manual_seed(POOL_SEED)
        self.ref = self.dist.sample(n, g)
        draws = [self.score(self.dist.sample(n, g)) for _ in range(FLOOR_DRAWS)]
        self.floor = {k: float(np.mean([d[k] for d in draws])) for k in draws[0]}
        self.floor_draws = draws

    def score(self, points: torch.Tensor) -> dict:
        if not torch.isfinite(points).all():
            return {"energy_distance": math.inf, "sliced_w2": math.inf}
        eds, sws = [], []
        for x, r in zip(points.chunk(self.chunks), self.ref.chunk(self.chunks), strict=True):
            eds.append(energy_distance(x, r))
            sws.append(sliced_w2(x, r))
        return {"energy_distance": float(np.mean(eds)), "sliced_w2": float(np.mean(sws))}


class Run:
    """One training run: `train(n) -> steps done`, `field()`, its sampler; `budget_s` set for runs
    whose schedule is fitted to a budget."""

    sampler, sample_steps = "heun", 50

    def __init__(self, name: str, target: str, budget_s: float | None = None):
        self.name, self.budget_s = name, budget_s
        self.cfg = case_config(target)
        self.steps, self.done, self.cpu_s = 0, False, 0.0

    def train(self, n: int) -> int:
        raise NotImplementedError


class Ours(Run):
    """Our defaults; with budget_s, a time budget on the training thread's CPU clock."""

    def __init__(self, target: str, budget_s: float | None = None):
        super().__init__("ours", target, budget_s)
        if budget_s is not None:
            self.cfg = self.cfg.replace(seconds=budget_s)
        self.state = make_state(self.cfg, device="cpu")
        self.state.clock = time.thread_time
        self.base = self.state.base
        self.sampler, self.sample_steps = self.cfg.sampler, self.cfg.sample_steps

    @property
    def field(self):
        return sampling_field(self.state)

    def train(self, n: int) -> int:
        k = len(train_steps(self.state, n))
        self.steps, self.done = self.state.step, self.state.done
        return k


class Loop(Run):
    """A plain loop: `pair(b)` gives (t, x_t, u_t); loss mean((model(t, x_t) − u_t)²), or with
    `ours_recipe` our loss, lr schedule over the budget and clipping."""

    def __init__(self, name: str, target: str, time_features: int, budget_s: float | None = None,
                 ours_recipe: bool = False):
        super().__init__(name, target, budget_s)
        cfg = self.cfg
        self.g = torch.Generator().manual_seed(cfg.seed + 1)
        # our network (features of t and x) for torchcfm's runs; the seed recipe's has raw t only
        self.model = FieldMLP(cfg.width, cfg.depth, cfg.activation, time_features,
                              generator=torch.Generator().manual_seed(cfg.seed),
                              x_features=cfg.x_features if time_features else 0)
        self.field = self.model
        self.ours_recipe = ours_recipe
        self.opt = torch.optim.Adam(self.model.parameters(), lr=cfg.lr if ours_recipe else 1e-3,
                                    fused=ours_recipe)
        self.base, self.target = make_distribution(cfg.base), make_distribution(cfg.target)

    def pair(self, b: int):
        t = torch.rand(b, generator=self.g)
        x0, x1 = self.base.sample(b, self.g), self.target.sample(b, self.g)
        tc = t[:, None]
        return t, (1 - tc) * x0 + tc * x1, x1 - x0

    def train(self, n: int) -> int:
        self.model.train()
        params = list(self.model.parameters())
        t0 = time.thread_time()
        for _ in range(n):
            if self.ours_recipe:
                progress = min(1.0, (self.cpu_s + time.thread_time() - t0) / self.budget_s)
                for group in self.opt.param_groups:
                    group["lr"] = self.cfg.lr * 0.5 * (1 + math.cos(math.pi * progress))
            t, xt, ut = self.pair(self.cfg.batch)
            err = (self.model(t, xt) - ut) ** 2
            loss = err.sum(1).mean() if self.ours_recipe else err.mean()
            self.opt.zero_grad()
            loss.backward()
            if self.ours_recipe:
                _clip_grads(params, self.cfg.grad_clip)
            self.opt.step()
        self.model.eval()
        self.steps += n
        return n


class Seed(Loop):
    sampler, sample_steps = "euler", 100

    def __init__(self, target: str):
        super().__init__("seed", target, time_features=0)


class Peer(Loop):
    """torchcfm's matcher draws t and its noise from torch's global generator (and the OT plan
    from numpy's): both are seeded here for a repeatable run."""

    def __init__(self, name: str, target: str, tcfm, budget_s: float | None = None):
        super().__init__(name, target, ExperimentConfig().time_features, budget_s, ours_recipe=name == "cfm-ours")
        cls = (tcfm.ExactOptimalTransportConditionalFlowMatcher if name == "otcfm"
               else tcfm.ConditionalFlowMatcher)
        self.fm = cls(sigma=0.0)
        torch.manual_seed(self.cfg.seed + 7)
        np.random.seed(self.cfg.seed + 7)

    def pair(self, b: int):
        x0, x1 = self.base.sample(b, self.g), self.target.sample(b, self.g)
        return self.fm.sample_location_and_conditional_flow(x0, x1)


def make_run(method: str, target: str, tcfm, budget_s: float | None = None) -> Run:
    if method == "ours":
        return Ours(target, budget_s)
    if method == "seed":
        return Seed(target)
    return Peer(method, target, tcfm, budget_s)


def evaluate(run: Run, target: Target, draws: int = SAMPLE_DRAWS) -> dict:
    """The mean score of `draws` sample draws of `run`'s field (starting points seeded apart)."""
    scores = []
    for k in range(draws):
        cfg = run.cfg.replace(sampler=run.sampler, sample_steps=run.sample_steps, samples=target.n,
                              seed=run.cfg.seed + 1000 * k)
        scores.append(target.score(generate(run.field, cfg, run.base, target.dist, keep=0).final))
    return {k: float(np.mean([d[k] for d in scores])) for k in scores[0]}


def train_until(run: Run, budget: float) -> None:
    """Train in chunks until `run.cpu_s` (thread CPU-seconds of training) reaches budget."""
    rate = None
    while run.cpu_s < budget and not run.done:
        left = budget - run.cpu_s
        n = 10 if rate is None else int(max(1, min(left * rate + 1, 0.25 * rate)))
        c0 = time.thread_time()
        k = run.train(n)
        dc = time.thread_time() - c0
        run.cpu_s += dc
        if k and dc > 0:
            rate = k / dc


def checkpoint(run: Run, target: Target, budget: float) -> dict:
    m = evaluate(run, target)
    return {"budget_s": budget, "seconds": run.cpu_s, "steps": run.steps, **m,
            "meets": meets(m["energy_distance"], m["sliced_w2"], target.floor)}


def race(method: str, name: str, target: Target, budgets, tcfm) -> tuple[dict, Run]:
    """One method on one case at every budget: a run per budget for BUDGETED methods, else one
    run checkpointed at each budget."""
    checkpoints, run = [], None
    for b in budgets:
        if run is None or method in BUDGETED:
            run = make_run(method, name, tcfm, b)
        train_until(run, b)
        checkpoints.append(checkpoint(run, target, b))
    ttq = next((c["budget_s"] for c in checkpoints if c["meets"]), None)
    return ({"target": name, "method": method, "available": True, "sampler": run.sampler,
             "sample_steps": run.sample_steps, "checkpoints": checkpoints, "time_to_quality_s": ttq,
             "steps_per_cpu_s": run.steps / run.cpu_s if run.cpu_s > 0 else None}, run)


def target_job(name: str, settings: Settings) -> dict:
    """All methods on one case (one process, one thread): floor, runs, summary, ours' weights."""
    tcfm, why = torchcfm_status()
    runs, weights = [], None
    with threads(1):
        target = get_target(name, settings.quality_samples, settings.quality_chunks)
        for method in METHODS:
            if method in TORCHCFM and tcfm is None:
                runs.append({"target": name, "method": method, "available": False,
                             "reason": why, "checkpoints": [], "time_to_quality_s": None})
                continue
            budgets = settings.ours_budgets if method == "ours" else settings.peer_budgets
            res, run = race(method, name, target, budgets, tcfm)
            runs.append(res)
            say(f"  {name:18s} {method:8s} " + "  ".join(
                f"{c['budget_s']:g} s: ED {c['energy_distance'] - target.floor['energy_distance']:+.4f} "
                f"SW2 {c['sliced_w2'] / target.floor['sliced_w2']:.2f}×" for c in res["checkpoints"]))
            if method == "ours":
                weights = {"state_dict": run.state.sampling_network.state_dict(), "steps": run.steps}
    floor = {**target.floor, "samples": target.n, "chunks": target.chunks, "draws": target.floor_draws}
    return {"name": name, "floor": floor, "runs": runs, "summary": summary(name, runs, settings),
            "ours": weights}


def run(settings: Settings, keep: dict | None = None) -> dict:
    """One job per case, in `settings.workers` processes (each on one torch thread; the clock is
    the thread's CPU time, so parallel runs do not shorten each other's budgets).
    keep: filled with {'ours_8gaussians': {'state_dict', 'steps'}} for the sampling section."""
    if settings.workers > 1 and len(settings.targets) > 1:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(settings.workers, mp_context=ctx) as pool:
            results = [j.result() for j in [pool.submit(target_job, n, settings) for n in settings.targets]]
    else:
        results = [target_job(name, settings) for name in settings.targets]
    if keep is not None:
        keep.update({f"ours_{res['name']}": res["ours"] for res in results if res["ours"]})
    tcfm, _ = torchcfm_status()
    out = {"clock": "CPU-seconds of the training thread, 1 torch thread (sampling and metrics excluded)",
           "margin": {"text": margin_text(), "ed_plus": ED_MARGIN, "sw2_factor": SW2_FACTOR},
           "samples": settings.quality_samples, "chunks": settings.quality_chunks, "sample_draws": SAMPLE_DRAWS,
           "ours_budgets_s": list(settings.ours_budgets), "peer_budgets_s": list(settings.peer_budgets),
           "workers": settings.workers, "methods": METHODS,
           "cases": {n: CASES.get(n, {"target": n}) for n in settings.targets},
           "torchcfm": _version() if tcfm is not None else None,
           "floors": {res["name"]: res["floor"] for res in results},
           "runs": [r for res in results for r in res["runs"]],
           "time_to_quality": [res["summary"] for res in results]}
    say(markdown(out))
    return out


def _spread(floor: dict) -> str:
    """The range of single target draws' SW2 ÷ the floor (their mean)."""
    ratios = [d["sliced_w2"] / floor["sliced_w2"] for d in floor.get("draws", [])]
    return f"{min(ratios):.2f}–{max(ratios):.2f}" if ratios else "–"


def _version() -> str:
    import torchcfm

    return getattr(torchcfm, "__version__", "?")


def summary(name: str, runs: list[dict], settings: Settings) -> dict:
    """Time to quality (first budget meeting the margin) per method and the verdict at equal budget
    (budgets every method ran)."""
    ttq = {r["method"]: r["time_to_quality_s"] for r in runs}
    available = {r["method"] for r in runs if r["available"]}
    shared = [b for b in settings.peer_budgets if b in settings.ours_budgets]
    peer_times = [ttq[p] for p in PEERS if p in available and ttq.get(p) is not None]
    best = min(peer_times) if peer_times else None
    ours = ttq.get("ours")
    if not set(PEERS) & available:
        verdict = "no peer (torchcfm missing)"
    elif ours is None:
        verdict = "at equal budget ours did not reach it" + ("" if best is not None else ", nor did torchcfm")
    elif best is None:
        verdict = f"at equal budget ours reached it at {ours:g} s, torchcfm not within {max(shared):g} s"
    else:
        verdict = (f"at equal budget ours reached it at {ours:g} s, torchcfm at {best:g} s: "
                   + ("ours faster or equal" if ours <= best else "torchcfm faster"))
    return {"target": name, **{f"{m.replace('-', '_')}_s": ttq.get(m) for m in METHODS}, "best_peer_s": best,
            "ratio_ours_best_peer": None if ours is None or best is None else ours / best,
            "equal_budgets_s": shared, "verdict": verdict}


def markdown(sec: dict) -> str:
    budgets = sorted(set(sec["ours_budgets_s"]) | set(sec["peer_budgets_s"]))
    rows = []
    for r in sec["runs"]:
        f = sec["floors"][r["target"]]
        if not r["available"]:
            rows.append([r["target"], r["method"], *["n/a"] * len(budgets), r["reason"][:40]])
            continue
        cells = []
        for b in budgets:
            c = next((c for c in r["checkpoints"] if c["budget_s"] == b), None)
            cells.append("–" if c is None else
                         f"{c['energy_distance'] - f['energy_distance']:+.4f} / "
                         f"{c['sliced_w2'] / f['sliced_w2']:.2f}×" + (" ✓" if c["meets"] else ""))
        rows.append([r["target"], r["method"], *cells, r["checkpoints"][-1]["steps"]])
    head = ["case", "method", *[f"{b:g} s: ED − floor / SW2 ÷ floor" for b in budgets], "steps (last)"]
    floor_rows = [[t, f["energy_distance"], f["sliced_w2"], _spread(f)] for t, f in sec["floors"].items()]
    ttq_rows = [[s["target"], s["ours_s"], s["cfm_ours_s"], s["cfm_s"], s["otcfm_s"], s["seed_s"], s["verdict"]]
                for s in sec["time_to_quality"]]
    cases = "; ".join(f"{n}: {', '.join(f'{k}={v}' for k, v in c.items())}" for n, c in sec["cases"].items())
    note = (f"Quality at equal training budgets, in CPU-seconds of the training thread (one torch thread, "
            f"{sec['workers']} cases at a time in separate processes). {sec['samples']:,} samples per "
            f"checkpoint, scored in {sec['chunks']} chunks against disjoint subsets of one target pool and "
            f"averaged; the floor is the same score of an independent target sample. ✓: {sec['margin']['text']}. "
            f"Cases (from the defaults): {cases}.")
    return "\n\n".join([
        note,
        table(head, rows),
        "Noise floors (chunked, as above), and what a single draw of the target itself scores against "
        "them (a perfect sampler; each checkpoint above averages "
        f"{sec.get('sample_draws', 1)} draws of its samples):\n\n"
        + table(["case", "ED floor", "SW2 floor", "one target draw: SW2 ÷ floor"], floor_rows),
        f"First budget meeting the margin ({sec['margin']['text']}), CPU-seconds:\n\n"
        + table(["case", "ours", "torchcfm CFM, our recipe", "torchcfm CFM", "torchcfm OT-CFM", "seed",
                 "verdict"], ttq_rows),
    ])
