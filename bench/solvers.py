"""Section 3: drift evaluations each integrator needs to reach the floor, and the cost of one.

- exact: `playground.exact.ExactField.from_distributions(gaussian, 8gaussians, schedule).drift`
  with the default schedule (linear, γ = 0): no model error, so only the integrator counts.
- trained: the 8-Gaussian model of section 2 (ours, defaults, end of its run), or a fresh one.
For Euler, Heun and RK4 the evaluation counts of `settings.ladder` (steps = evaluations / cost
of a step) are tried in order; the first count whose samples meet the section-2 margin is
"evaluations to quality", and the ladder goes on until the strict margin (also ED ≤ floor +
0.001) is met. Same starting points, reference sample and floor for every integrator.
Time per drift evaluation: the width-128 model (and the exact field) on 2k / 10k / 50k particles,
one thread, median of repeats; 50k also in 10k chunks as `playground.sampling.integrate` does.
"""

from __future__ import annotations

import torch

from bench.common import (
    STRICT_ED_MARGIN,
    Settings,
    margin_text,
    median,
    meets,
    meets_strict,
    ratio,
    say,
    table,
    threads,
    wall,
)
from bench.quality import Ours, get_target
from playground.config import ExperimentConfig
from playground.distributions import make_distribution
from playground.exact import ExactField
from playground.sampling import CHUNK, SAMPLERS, integrate
from playground.training import build_schedule, train_steps

TARGET = "8gaussians"
INTEGRATORS = ("euler", "heun", "rk4")  # the ODE integrators (SAMPLERS may hold SDE ones too)
START_SEED = 4242


def ladder(field, x_start: torch.Tensor, target, method: str, evals: tuple[int, ...]) -> dict:
    """Try the evaluation counts in order until the strict margin is met (or the ladder ends)."""
    rows, first, first_strict = [], None, None
    for e in evals:
        k = SAMPLERS[method]
        if e % k:
            continue
        traj = integrate(field, x_start, e // k, method, keep=0)
        m = target.score(traj.final)
        ok = meets(m["energy_distance"], m["sliced_w2"], target.floor)
        strict = meets_strict(m["energy_distance"], m["sliced_w2"], target.floor)
        rows.append({"evaluations": e, "steps": e // k, **m, "meets": ok, "meets_strict": strict})
        first = e if first is None and ok else first
        if strict:
            first_strict = e
            break
    return {"method": method, "evaluations_to_quality": first,
            "evaluations_to_strict_quality": first_strict, "ladder": rows}


def _best_vs_euler(per: dict, key: str, evals) -> dict:
    euler = per["euler"][key]
    higher = [per[m][key] for m in ("heun", "rk4") if per[m][key] is not None]
    best = min(higher) if higher else None
    bound = euler if euler is not None else max(evals) + 1  # Euler needs more than the ladder
    return {"best_higher_order": best, "ratio_best_to_euler": ratio(best, euler),
            "half_of_euler_or_better": best is not None and 2 * best <= bound,
            "euler_reached": euler is not None}


def compare(field, x_start, target, evals) -> dict:
    per = {m: ladder(field, x_start, target, m, evals) for m in INTEGRATORS}
    return {"methods": per, **_best_vs_euler(per, "evaluations_to_quality", evals),
            "strict": _best_vs_euler(per, "evaluations_to_strict_quality", evals)}


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
        row = {"particles": n, "model_s": _per_eval(lambda t=t, x=x: model(t, x)),
               "exact_s": _per_eval(lambda t=t, x=x: exact(t, x))}
        if n > CHUNK:
            row["model_chunked_s"] = _per_eval(
                lambda t=t, x=x, n=n: [model(t[i:i + CHUNK], x[i:i + CHUNK]) for i in range(0, n, CHUNK)])
        rows.append(row)
    return rows


def run(settings: Settings, keep: dict | None = None) -> dict:
    with threads(1):
        cfg = ExperimentConfig(target=TARGET)
        base, goal = make_distribution(cfg.base), make_distribution(TARGET)
        exact = ExactField.from_distributions(base, goal, build_schedule(cfg)).drift
        target = get_target(TARGET, settings.samples)  # all samples at once; floor of 3 draws
        x_start = base.sample(settings.samples, torch.Generator().manual_seed(START_SEED))
        trained = Ours(TARGET)
        weights = (keep or {}).get(f"ours_{TARGET}")
        if weights is not None:  # the model section 2 trained (defaults, end of its run)
            trained.state.network.load_state_dict(weights["state_dict"])  # sets the EMA too, when on
            trained.steps = weights["steps"]
        else:  # section 2 did not run: train the defaults here
            while not trained.state.done and trained.state.step < (300 if settings.mode == "quick"
                                                                    else 10**9):
                train_steps(trained.state, 100)
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
        for m, v in sec[name]["methods"].items():
            last = v["ladder"][-1] if v["ladder"] else {}
            rows.append([name, m, v["evaluations_to_quality"], v["evaluations_to_strict_quality"],
                         last.get("evaluations"), last.get("energy_distance"), last.get("sliced_w2")])
    cost_rows = [[r["particles"], r["model_s"] * 1e3, r.get("model_chunked_s", r["model_s"]) * 1e3,
                  r["exact_s"] * 1e3] for r in sec["drift_eval"]]
    summary = [[name, sec[name]["ratio_best_to_euler"], sec[name]["half_of_euler_or_better"],
                sec[name]["strict"]["ratio_best_to_euler"], sec[name]["strict"]["half_of_euler_or_better"]]
               for name in ("exact", "trained")]
    return "\n\n".join([
        f"{sec['target']}, {sec['schedule']}, {sec['samples']} samples. Margin: {margin_text()}; "
        f"strict: also ED ≤ floor + {STRICT_ED_MARGIN:g}.",
        table(["field", "integrator", "evaluations to margin", "evaluations to strict margin",
               "last tried", "ED there", "SW2 there"], rows),
        table(["field", "best (Heun, RK4) ÷ Euler", "≤ half", "strict: best ÷ Euler", "strict: ≤ half"],
              summary),
        "Time per drift evaluation (ms, one thread):\n\n"
        + table(["particles", "model (width 128)", "model in 10k chunks", "exact 8-Gaussian field"],
                cost_rows),
    ])
