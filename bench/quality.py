"""Section 2: sample quality against training time, ours against the seed's recipe and torchcfm.

Every run trains on one torch thread and is checkpointed (not restarted) at its budgets, counted
in process CPU-seconds of training only (sampling and metrics are not on the clock). At each
checkpoint `samples` points are generated with the run's sampler from fixed starting points and
compared with one fixed reference sample of the target: energy distance and sliced W2
(`playground.metrics`), read against the noise floor (`playground.metrics.noise_floor`, averaged
over `floor_pairs` pairs). Time-to-quality is the first checkpoint that meets
`bench.common.meets` (floor plus the stated margin): its budget, or the seconds at which a run
ended on its own. Targets run in parallel processes (`settings.workers`), one thread each.

Methods, all with the same network (FieldMLP width 128, depth 3, SiLU) and batch 256:
- ours: `ExperimentConfig(target=...)` defaults as the app trains them (Fourier time features,
  fused Adam lr 1e-2 cosine-decayed over the default 3000 steps, grad clip 1), Heun 50 steps.
  The run ends at its 3000th step; later checkpoints hold the final model.
- seed: the seed note's recipe, bugs fixed: linear, γ = 0, independent pairs, plain Adam lr 1e-3
  constant, raw t only (no Fourier features), loss mean of squares, Euler 100 steps.
- cfm / otcfm: torchcfm's ConditionalFlowMatcher / ExactOptimalTransportConditionalFlowMatcher
  (sigma = 0.0, the class default), torchcfm's recipe: Adam with its default lr 1e-3,
  loss mean((v − u)²); the same network with our Fourier features; sampled like ours (Heun 50).
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import torch

from bench.common import (
    ED_MARGIN,
    SW2_FACTOR,
    Settings,
    cpu,
    margin_text,
    meets,
    ratio,
    say,
    table,
    threads,
    wall,
)
from playground.config import ExperimentConfig
from playground.distributions import make_distribution
from playground.experiment import generate
from playground.metrics import energy_distance, noise_floor, sliced_w2
from playground.models import FieldMLP
from playground.training import make_state, train_steps

REF_SEED = 12_345
METHODS = {
    "ours": "playground defaults (ExperimentConfig), Heun 50 steps",
    "seed": "seed recipe: plain Adam lr 1e-3 constant, raw t, Euler 100 steps",
    "cfm": "torchcfm ConditionalFlowMatcher(sigma=0), Adam lr 1e-3, Heun 50 steps",
    "otcfm": "torchcfm ExactOptimalTransportConditionalFlowMatcher(sigma=0), Adam lr 1e-3, Heun 50",
}
PEERS = ("cfm", "otcfm")
_TARGETS: dict = {}


def torchcfm_status() -> tuple[object | None, str]:
    """(the torchcfm module, '') or (None, why it is missing)."""
    try:
        import torchcfm.conditional_flow_matching as tcfm
    except ImportError as exc:
        return None, (f"torchcfm is not importable ({exc}); install requirements-bench.txt "
                      "(torchcfm with --no-deps, and pot)")
    return tcfm, ""


def get_target(name: str, n: int, pairs: int) -> Target:
    """A `Target`, built once per (name, n, pairs) in this process (floors cost seconds)."""
    key = (name, n, pairs)
    if key not in _TARGETS:
        _TARGETS[key] = Target(name, n, pairs)
    return _TARGETS[key]


class Target:
    """A target distribution with a fixed reference sample and its averaged noise floor."""

    def __init__(self, name: str, n: int, pairs: int):
        self.name, self.n = name, n
        self.dist = make_distribution(name)
        g = torch.Generator().manual_seed(REF_SEED)
        self.ref = self.dist.sample(n, g)
        draws = [noise_floor(self.dist, n, g) for _ in range(pairs)]
        self.floor = {k: float(np.mean([d[k] for d in draws])) for k in draws[0]}
        self.floor_draws = draws

    def score(self, points: torch.Tensor) -> dict:
        if not torch.isfinite(points).all():
            return {"energy_distance": float("inf"), "sliced_w2": float("inf")}
        return {"energy_distance": energy_distance(points, self.ref),
                "sliced_w2": sliced_w2(points, self.ref)}


class Run:
    """One training run: `train(n) -> steps done`, `field`, sampler and `done`."""

    sampler, sample_steps = "heun", 50

    def __init__(self, name: str, target: str):
        self.name = name
        self.cfg = ExperimentConfig(target=target)
        self.steps = 0
        self.done = False

    def train(self, n: int) -> int:
        raise NotImplementedError


class Ours(Run):
    def __init__(self, target: str):
        super().__init__("ours", target)
        self.state = make_state(self.cfg, device="cpu")
        self.field, self.base = self.state.model, self.state.base
        self.sampler, self.sample_steps = self.cfg.sampler, self.cfg.sample_steps

    def train(self, n: int) -> int:
        k = len(train_steps(self.state, n))
        self.steps, self.done = self.state.step, self.state.done
        return k


class Loop(Run):
    """A plain loop: `pair(b)` gives (t, x_t, u_t); loss mean((model(t, x_t) − u_t)²)."""

    def __init__(self, name: str, target: str, time_features: int):
        super().__init__(name, target)
        cfg = self.cfg
        self.g = torch.Generator().manual_seed(cfg.seed + 1)
        self.model = FieldMLP(cfg.width, cfg.depth, cfg.activation, time_features,
                              generator=torch.Generator().manual_seed(cfg.seed))
        self.field = self.model
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.base, self.target = make_distribution(cfg.base), make_distribution(cfg.target)

    def pair(self, b: int):
        t = torch.rand(b, generator=self.g)
        x0, x1 = self.base.sample(b, self.g), self.target.sample(b, self.g)
        tc = t[:, None]
        return t, (1 - tc) * x0 + tc * x1, x1 - x0

    def train(self, n: int) -> int:
        self.model.train()
        for _ in range(n):
            t, xt, ut = self.pair(self.cfg.batch)
            loss = ((self.model(t, xt) - ut) ** 2).mean()
            self.opt.zero_grad()
            loss.backward()
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

    def __init__(self, name: str, target: str, tcfm):
        super().__init__(name, target, time_features=ExperimentConfig().time_features)
        cls = (tcfm.ConditionalFlowMatcher if name == "cfm"
               else tcfm.ExactOptimalTransportConditionalFlowMatcher)
        self.fm = cls(sigma=0.0)
        torch.manual_seed(self.cfg.seed + 7)
        np.random.seed(self.cfg.seed + 7)

    def pair(self, b: int):
        x0, x1 = self.base.sample(b, self.g), self.target.sample(b, self.g)
        return self.fm.sample_location_and_conditional_flow(x0, x1)


def make_run(method: str, target: str, tcfm) -> Run:
    if method == "ours":
        return Ours(target)
    if method == "seed":
        return Seed(target)
    return Peer(method, target, tcfm)


def evaluate(run: Run, target: Target) -> dict:
    cfg = run.cfg.replace(sampler=run.sampler, sample_steps=run.sample_steps, samples=target.n)
    traj = generate(run.field, cfg, run.base, target.dist, keep=0)
    return target.score(traj.final)


def race(run: Run, target: Target, budgets: tuple[float, ...]) -> dict:
    """Train `run`, checkpointing at each budget (CPU-seconds) or at the end of its run."""
    checkpoints, trained_cpu, trained_wall, rate = [], 0.0, 0.0, None
    for budget in budgets:
        while trained_cpu < budget and not run.done:
            left = budget - trained_cpu
            n = 20 if rate is None else int(max(1, min(left * rate + 1, 0.25 * rate)))
            c0, w0 = cpu(), wall()
            k = run.train(n)
            dc = cpu() - c0
            trained_cpu += dc
            trained_wall += wall() - w0
            if k and dc > 0:
                rate = k / dc
        m = evaluate(run, target)
        label = "end of run" if run.done and trained_cpu < budget else f"{budget:g} s"
        checkpoints.append({"label": label, "budget_s": budget, "seconds": trained_cpu,
                            "wall_seconds": trained_wall, "steps": run.steps, **m,
                            "meets": meets(m["energy_distance"], m["sliced_w2"], target.floor)})
        if run.done:
            break
    # a checkpoint at a budget counts as that budget (chunks overshoot it by a step or so)
    ttq = next((c["seconds"] if c["label"] == "end of run" else c["budget_s"]
                for c in checkpoints if c["meets"]), None)
    return {"target": target.name, "method": run.name, "available": True, "sampler": run.sampler,
            "sample_steps": run.sample_steps, "checkpoints": checkpoints, "time_to_quality_s": ttq,
            "steps_per_cpu_s": run.steps / trained_cpu if trained_cpu > 0 else None}


def target_job(name: str, settings: Settings) -> dict:
    """All methods on one target (one process, one thread): floors, runs, summary, ours' weights."""
    tcfm, why = torchcfm_status()
    runs, ttq, weights = [], {}, None
    with threads(1):
        target = get_target(name, settings.samples, settings.floor_pairs)
        for method in METHODS:
            if method in PEERS and tcfm is None:
                runs.append({"target": name, "method": method, "available": False,
                             "reason": why, "checkpoints": [], "time_to_quality_s": None})
                ttq[method] = None
                continue
            r = make_run(method, name, tcfm)
            budgets = settings.ours_budgets if method == "ours" else settings.peer_budgets
            res = race(r, target, budgets)
            runs.append(res)
            ttq[method] = t_q = res["time_to_quality_s"]
            last = res["checkpoints"][-1]
            say(f"  {name:12s} {method:6s} {last['steps']:6d} steps  ED {last['energy_distance']:.4f} "
                f"(floor {target.floor['energy_distance']:.4f})  SW2 {last['sliced_w2']:.4f} "
                f"(floor {target.floor['sliced_w2']:.4f})  time-to-quality "
                + ("–" if t_q is None else f"{t_q:.1f} s"))
            if method == "ours":
                weights = {"state_dict": r.state.model.state_dict(), "steps": r.steps}
    floor = {**target.floor, "pairs": settings.floor_pairs, "draws": target.floor_draws}
    return {"name": name, "floor": floor, "runs": runs, "summary": _summary(name, ttq, tcfm is not None),
            "ours": weights}


def run(settings: Settings, keep: dict | None = None) -> dict:
    """One job per target, in `settings.workers` processes (each on one torch thread; the clock is
    per-process CPU time, so parallel runs do not shorten each other's budgets).
    keep: filled with {'ours_8gaussians': {'state_dict', 'steps'}} for the sampling section."""
    if settings.workers > 1 and len(settings.targets) > 1:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(settings.workers, mp_context=ctx) as pool:
            jobs = [pool.submit(target_job, name, settings) for name in settings.targets]
            results = [j.result() for j in jobs]
    else:
        results = [target_job(name, settings) for name in settings.targets]
    runs = [r for res in results for r in res["runs"]]
    if keep is not None:
        keep.update({f"ours_{res['name']}": res["ours"] for res in results if res["ours"]})
    tcfm, _ = torchcfm_status()
    out = {"clock": "process CPU-seconds of training, 1 torch thread (sampling and metrics excluded)",
           "margin": {"text": margin_text(), "ed_plus": ED_MARGIN, "sw2_factor": SW2_FACTOR},
           "samples": settings.samples, "ours_budgets_s": list(settings.ours_budgets),
           "peer_budgets_s": list(settings.peer_budgets), "workers": settings.workers,
           "methods": METHODS, "torchcfm": _version() if tcfm is not None else None,
           "floors": {res["name"]: res["floor"] for res in results},
           "runs": runs, "time_to_quality": [res["summary"] for res in results]}
    say(markdown(out))
    return out


def _version() -> str:
    import torchcfm

    return getattr(torchcfm, "__version__", "?")


def _summary(name: str, ttq: dict, peers_available: bool) -> dict:
    peer_times = [ttq[p] for p in PEERS if ttq.get(p) is not None]
    best = min(peer_times) if peer_times else None
    ours = ttq.get("ours")
    if not peers_available:
        verdict = "no peer (torchcfm missing)"
    elif ours is None:
        verdict = "ours did not reach it" + ("" if best is not None else "; nor did the peers")
    elif best is None:
        verdict = "ours reached it, the peers did not"
    else:
        verdict = "ours faster or equal" if ours <= best else "a peer was faster"
    return {"target": name, **{f"{m}_s": ttq.get(m) for m in METHODS}, "best_peer_s": best,
            "ratio_ours_best_peer": ratio(ours, best),
            "ratio_ours_seed": ratio(ours, ttq.get("seed")), "verdict": verdict}


def markdown(sec: dict) -> str:
    budgets = sorted(set(sec["ours_budgets_s"]) | set(sec["peer_budgets_s"]))
    rows = []
    for r in sec["runs"]:
        if not r["available"]:
            rows.append([r["target"], r["method"], *["n/a"] * len(budgets), "–", r["reason"][:40]])
            continue
        cells, last = [], r["checkpoints"][-1]
        for b in budgets:
            c = next((c for c in r["checkpoints"] if c["budget_s"] == b), None)
            if c is None and last["label"] == "end of run" and b > last["budget_s"]:
                c = last  # the run had ended: the model at this budget is its final one
            cells.append("–" if c is None else f"{c['energy_distance']:.4f} / {c['sliced_w2']:.3f}"
                         + ("" if c["label"] != "end of run" else f" (end, {c['seconds']:.1f} s)"))
        ttq = r["time_to_quality_s"]
        rows.append([r["target"], r["method"], *cells, None if ttq is None else round(ttq, 2),
                     r["checkpoints"][-1]["steps"]])
    head = ["target", "method", *[f"ED / SW2 at {b:g} s" for b in budgets], "time to quality (s)",
            "steps"]
    floor_rows = [[t, f["energy_distance"], f["sliced_w2"]] for t, f in sec["floors"].items()]
    ttq_rows = [[s["target"], s["ours_s"], s["seed_s"], s["cfm_s"], s["otcfm_s"],
                 s["ratio_ours_best_peer"], s["verdict"]] for s in sec["time_to_quality"]]
    note = (f"Checkpoints of one run per target and method, in CPU-seconds of training on one torch "
            f"thread ({sec['workers']} targets at a time in separate processes): ours at "
            f"{', '.join(f'{b:g}' for b in sec['ours_budgets_s'])} s (its default 3000-step run ends "
            f"earlier: later columns hold its final model), the seed recipe and torchcfm at "
            f"{', '.join(f'{b:g}' for b in sec['peer_budgets_s'])} s. {sec['samples']} samples each; "
            f"cells are energy distance / sliced W2 against one fixed reference sample.")
    return "\n\n".join([
        note,
        table(head, rows),
        "Noise floors (mean of independent pairs):\n\n" + table(["target", "ED floor", "SW2 floor"],
                                                                  floor_rows),
        f"Time to quality ({sec['margin']['text']}), CPU-seconds:\n\n"
        + table(["target", "ours", "seed", "cfm", "otcfm", "ours ÷ best torchcfm", "verdict"], ttq_rows),
    ])
