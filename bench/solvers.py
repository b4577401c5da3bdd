"""Section 3: drift evaluations each integrator needs to reach the floor, and the cost of one.

- exact: `playground.exact.ExactField.from_distributions(gaussian, 8gaussians, schedule).drift`
  with the default schedule (linear, γ = 0): no model error, so only the integrator counts.
- trained: the 8-Gaussian model of section 2 (ours, defaults, end of its run), or a fresh one.
For Euler, Heun and RK4 the evaluation counts of `settings.ladder` (steps = evaluations / cost
of a step) are tried in order until the sample set meets the section-2 margin; the first such
count is "evaluations to quality". Same starting points, reference sample and floor for all.
Time per drift evaluation: the width-128 model (and the exact field) on 2k / 10k / 50k particles,
one thread, median of repeats; 50k also in 10k chunks as `playground.sampling.integrate` does.
"""

from __future__ import annotations

import torch

from bench.common import Settings, median, meets, ratio, say, table, threads, wall
from bench.quality import Ours, get_target
from playground.config import ExperimentConfig
from playground.distributions import make_distribution
from playground.exact import ExactField
from playground.sampling import CHUNK, SAMPLERS, integrate
from playground.training import build_schedule, train_steps

TARGET = "8gaussians"
START_SEED = 4242


def ladder(field, x_start: torch.Tensor, target, method: str, evals: tuple[int, ...]) -> dict:
    rows, first = [], None
    for e in evals:
        k = SAMPLERS[method]
        if e % k:
            continue
        traj = integrate(field, x_start, e // k, method, keep=0)
        m = target.score(traj.final)
        ok = meets(m["energy_distance"], m["sliced_w2"], target.floor)
        rows.append({"evaluations": e, "steps": e // k, **m, "meets": ok})
        if ok:
            first = e
            break
    return {"method": method, "evaluations_to_quality": first, "ladder": rows}


def compare(field, x_start, target, evals) -> dict:
    per = {m: ladder(field, x_start, target, m, evals) for m in SAMPLERS}
    euler = per["euler"]["evaluations_to_quality"]
    higher = [per[m]["evaluations_to_quality"] for m in ("heun", "rk4")
              if per[m]["evaluations_to_quality"] is not None]
    best = min(higher) if higher else None
    # Euler not reaching it within the ladder still bounds its need from below
    bound = euler if euler is not None else (max(evals) + 1)
    return {"methods": per, "best_higher_order": best, "ratio_best_to_euler": ratio(best, euler),
            "half_of_euler_or_better": best is not None and 2 * best <= bound,
            "euler_reached": euler is not None}


def _per_eval(fn, seconds: float = 0.3) -> float:
    fn()
    times, t_end = [], wall() + seconds
    while wall() < t_end or len(times) < 3:
        t0 = wall()
        fn()
        times.append(wall() - t0)
    return median(times)


@torch.no_grad()
def drift_costs(model, exact, sizes) -> list[dict]:
    rows = []
    g = torch.Generator().manual_seed(1)
    for n in sizes:
        x = torch.randn(n, 2, generator=g)
        t = torch.full((n,), 0.5)
        row = {"particles": n, "model_s": _per_eval(lambda: model(t, x)),
               "exact_s": _per_eval(lambda: exact(t, x))}
        if n > CHUNK:
            row["model_chunked_s"] = _per_eval(
                lambda: [model(t[i:i + CHUNK], x[i:i + CHUNK]) for i in range(0, n, CHUNK)])
        rows.append(row)
    return rows


def run(settings: Settings, keep: dict | None = None) -> dict:
    with threads(1):
        cfg = ExperimentConfig(target=TARGET)
        base, goal = make_distribution(cfg.base), make_distribution(TARGET)
        exact = ExactField.from_distributions(base, goal, build_schedule(cfg)).drift
        target = get_target(TARGET, settings.samples, settings.floor_pairs)
        x_start = base.sample(settings.samples, torch.Generator().manual_seed(START_SEED))
        trained = (keep or {}).get(f"ours_{TARGET}")
        if trained is None:  # section 2 did not run: train the defaults here
            trained = Ours(TARGET)
            while not trained.done and trained.steps < (300 if settings.mode == "quick" else 10**9):
                train_steps(trained.state, 100)
                trained.done = trained.state.done
                trained.steps = trained.state.step
        model = trained.field.eval()
        res_exact = compare(exact, x_start, target, settings.ladder)
        res_model = compare(model, x_start, target, settings.ladder)
        costs = drift_costs(model, exact, settings.drift_sizes)
    out = {"target": f"gaussian → {TARGET}", "schedule": "linear, γ = 0", "samples": settings.samples,
           "ladder": list(settings.ladder), "exact": res_exact,
           "trained": {**res_model, "train_steps": trained.steps},
           "drift_eval": costs}
    say(markdown(out))
    return out


def markdown(sec: dict) -> str:
    rows = []
    for name in ("exact", "trained"):
        r = sec[name]
        for m, v in r["methods"].items():
            last = v["ladder"][-1] if v["ladder"] else {}
            rows.append([name, m, v["evaluations_to_quality"], last.get("energy_distance"),
                         last.get("sliced_w2")])
    cost_rows = [[r["particles"], r["model_s"] * 1e3, r.get("model_chunked_s", r["model_s"]) * 1e3,
                  r["exact_s"] * 1e3] for r in sec["drift_eval"]]
    summary = [[name, sec[name]["ratio_best_to_euler"], sec[name]["half_of_euler_or_better"]]
               for name in ("exact", "trained")]
    return "\n\n".join([
        table(["field", "integrator", "evaluations to quality", "ED at stop", "SW2 at stop"], rows),
        table(["field", "best (Heun, RK4) ÷ Euler evaluations", "≤ half of Euler"], summary),
        "Time per drift evaluation (ms, one thread):\n\n"
        + table(["particles", "model (width 128)", "model in 10k chunks", "exact 8-Gaussian field"],
                cost_rows),
    ])
