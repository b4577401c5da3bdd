"""Run the benchmarks and write `latest.json` and `latest.md` (see `bench/__init__.py` for the keys).

    python -m bench                  # full run (under 10 minutes on 2 cores), bench/results/
    python bench/run.py --quick      # seconds: tiny sizes, no browser
    python -m bench --quick --browser --out /tmp/b   # tiny, with the browser part
    python -m bench --sections throughput,sampling   # a subset (the other sections are absent)
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # `python bench/run.py`: import bench.* from the repository root
    _here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _here]
    sys.path.insert(0, str(_here.parent))

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import resource  # noqa: E402
import traceback  # noqa: E402

from bench.common import Settings, end_machine, fmt, machine, margin_text, say, table, wall  # noqa: E402

SECTIONS = ("throughput", "quality", "sampling", "app")
DEFAULT_OUT = Path(__file__).resolve().parent / "results"
GOALS = (  # issue 13: (case, budget in CPU-s, what must hold there)
    ("moons", 2.0, "margin"), ("8gaussians", 2.0, "margin"),
    ("checkerboard", 5.0, "sw2_1.3"), ("checkerboard-noisy", 5.0, "sw2_1.3"),
)


def parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes: seconds, not minutes")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for latest.json / latest.md")
    p.add_argument("--browser", action=argparse.BooleanOptionalAction, default=None,
                   help="run the headless-Chromium part (default: on in full mode, off with --quick)")
    p.add_argument("--sections", default=",".join(SECTIONS), help="comma-separated subset of "
                   + ", ".join(SECTIONS))
    return p.parse_args(argv)


def run(settings: Settings, sections=SECTIONS) -> dict:
    from bench import app_bench, quality, solvers, throughput

    result = {"schema": 1, "mode": settings.mode, "machine": machine(), "sections": list(sections),
              "settings": {"threads": list(settings.threads), "rounds": settings.rounds,
                           "targets": list(settings.targets), "samples": settings.samples,
                           "browser": settings.browser}}
    say(f"bench ({settings.mode}) on {result['machine']['cpu_model']}, "
        f"{result['machine']['cores']} cores, torch {result['machine']['torch']}; "
        f"{result['machine']['uptime_start']}")
    keep: dict = {}
    t_all = wall()
    steps = [("throughput", "1. Training throughput", lambda: throughput.run(settings)),
             ("quality", "2. Quality against training time", lambda: quality.run(settings, keep)),
             ("sampling", "3. Sampling: evaluations to quality", lambda: solvers.run(settings, keep)),
             ("app", "4. The app", lambda: app_bench.run(settings))]
    timings = {}
    for key, title, fn in steps:
        if key not in sections:
            continue
        say(f"\n## {title}")
        t0 = wall()
        try:
            result[key] = fn()
        except Exception as exc:  # noqa: BLE001 - one broken section must not lose the others
            traceback.print_exc()
            result[key] = {"error": f"{type(exc).__name__}: {exc}"[:500]}
        timings[key] = wall() - t0
        say(f"  ({timings[key]:.0f} s)")
    result["section_seconds"] = timings
    result["duration_s"] = wall() - t_all
    result["cpu_seconds"] = cpu_seconds()
    end_machine(result["machine"])
    result["targets"] = targets(result)
    return cleaned(result)


def cpu_seconds() -> float:
    """CPU-seconds used by this process and its finished children (workers, app server, browser):
    roughly what the run would take on an idle machine, divided by the cores it kept busy."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _ok(r: dict, key: str) -> bool:
    return key in r and "error" not in r[key]


def _status(ok) -> str:
    return "N/A" if ok is None else ("PASS" if ok else "MISS")


def targets(r: dict) -> list[dict]:
    out = []
    if _ok(r, "throughput"):
        row = next(x for x in r["throughput"]["rows"] if x["threads"] == min(r["settings"]["threads"]))
        v = row["ratio_ours_bare"]
        out.append({"id": "loop_vs_bare",
                    "name": f"training loop ≥ 0.95 × bare loop ({row['threads']} thread)",
                    "value": v, "threshold": 0.95, "status": _status(None if v is None else v >= 0.95)})
    if _ok(r, "quality"):
        q = r["quality"]
        ours = {run["target"]: run for run in q["runs"] if run["method"] == "ours"}
        for case, budget, what in GOALS:
            c = next((c for c in ours.get(case, {}).get("checkpoints", []) if c["budget_s"] == budget), None)
            floor = q["floors"].get(case)
            if what == "margin":
                name = f"ours at {budget:g} s on {case}: {margin_text()} (value: SW2 ÷ floor)"
                v = None if c is None else c["sliced_w2"] / floor["sliced_w2"]
                ok = None if c is None else c["meets"]
                threshold = q["margin"]["sw2_factor"]
            else:
                name = f"ours at {budget:g} s on {case}: SW2 ≤ 1.3 × floor"
                v = None if c is None else c["sliced_w2"] / floor["sliced_w2"]
                ok = None if v is None else v <= 1.3
                threshold = 1.3
            out.append({"id": f"quality_{case}_{budget:g}s", "name": name, "value": v, "threshold": threshold,
                        "status": _status(ok)})
        for s in q["time_to_quality"]:
            peer_ok = None
            if q["torchcfm"] is not None:
                peer_ok = s["ours_s"] is not None and (s["best_peer_s"] is None or s["ours_s"] <= s["best_peer_s"])
            out.append({"id": f"ttq_vs_peer_{s['target']}",
                        "name": f"at equal budget, ours ÷ best torchcfm time to the margin ≤ 1 on {s['target']}",
                        "value": s["ratio_ours_best_peer"], "threshold": 1.0, "status": _status(peer_ok)})
    if _ok(r, "sampling"):
        e = r["sampling"]["exact"]["strict"]  # the loose margin cannot tell Euler at 8 evaluations from noise
        out.append({"id": "solver_exact",
                    "name": "Heun or RK4 needs ≤ half of Euler's evaluations (exact field, strict margin)",
                    "value": e["ratio_best_to_euler"], "threshold": 0.5,
                    "status": _status(e["half_of_euler_or_better"])})
    if _ok(r, "app"):
        i = r["app"]["in_app"]
        v = i.get("ratio_wall")
        out.append({"id": "in_app", "name": "in-app training ≥ 0.9 × the loop without UI (wall)",
                    "value": v, "threshold": 0.9, "status": _status(None if v is None else v >= 0.9)})
    return out


def clean(x, bad: list | None = None, path: str = "$"):
    """JSON-safe: numpy scalars to floats, non-finite floats to None. The path of every
    non-finite number is appended to `bad` (written as `non_finite`: a figure that is NaN or
    infinite is a failure to report, not a gap)."""
    if isinstance(x, dict):
        return {str(k): clean(v, bad, f"{path}.{k}") for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [clean(v, bad, f"{path}[{i}]") for i, v in enumerate(x)]
    if isinstance(x, bool) or x is None or isinstance(x, str | int):
        return x
    try:
        f = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isfinite(f):
        return f
    if bad is not None:
        bad.append(path)
    return None


def cleaned(result: dict) -> dict:
    """`clean(result)` with the list of non-finite figures' paths under `non_finite`."""
    bad: list[str] = []
    out = clean(result, bad)
    out["non_finite"] = bad
    return out


def merged(path: Path, result: dict, sections) -> dict:
    """With a subset of sections, keep the other sections of the previous run at `path` (same
    mode), so latest.{json,md} always hold every section measured; `sections_run_at` says when
    each was measured."""
    when = {k: result["machine"]["date"] for k in sections}
    if set(sections) == set(SECTIONS) or not path.exists():
        return {**result, "sections_run_at": when}
    try:
        old = json.loads(path.read_text())
    except (OSError, ValueError):
        return {**result, "sections_run_at": when}
    if old.get("mode") != result["mode"]:
        return {**result, "sections_run_at": when}
    kept = [k for k in SECTIONS if k not in sections and k in old]
    out = {**result, **{k: old[k] for k in kept}}
    out["sections"] = [k for k in SECTIONS if k in out]
    out["sections_run_at"] = {**{k: old.get("sections_run_at", {}).get(k, old["machine"]["date"]) for k in kept},
                              **when}
    out["targets"] = clean(targets(out))
    out["non_finite"] = result["non_finite"] + [p for p in old.get("non_finite", [])
                                                if any(p.startswith(f"$.{k}") for k in kept)]
    return out


def _section_markdown(mod, r: dict, key: str) -> str:
    if not _ok(r, key):
        return f"This section failed: {r[key]['error']}"
    try:
        return mod.markdown(r[key])
    except (KeyError, TypeError, ValueError) as exc:  # kept from a run of older code (see merged)
        return (f"This section's figures (measured {r.get('sections_run_at', {}).get(key, '?')}) predate the "
                f"current code and cannot be shown ({type(exc).__name__}: {exc}); "
                f"`python -m bench --sections {key}` measures it again.")


def markdown(r: dict) -> str:
    from bench import app_bench, quality, solvers, throughput

    m = r["machine"]
    la0 = ", ".join(f"{v:.2f}" for v in m["load_average_start"])
    la1 = ", ".join(f"{v:.2f}" for v in m.get("load_average_end", []))
    lines = [
        "# Benchmarks: speed and quality side by side",
        "",
        f"Machine: {m['cpu_model']}, {m['cores']} cores ({m['cores_usable']} usable), torch {m['torch']}, "
        f"Python {m['python']}; run {m['date']} ({r['mode']} mode, {r['duration_s']:.0f} s wall, "
        f"{r['cpu_seconds']:.0f} CPU-seconds). Load average "
        f"(1, 5, 15 min) {la0} at the start, {la1} at the end: the machine was shared, so wall-clock figures "
        "are pessimistic; section 2 runs on CPU-seconds.",
        "",
        "Reproduce: `pip install --no-deps -r requirements-bench.txt` (see the comments there), then "
        "`python -m bench`.",
        "",
        "Sections measured at: " + ", ".join(f"{k} {v}" for k, v in r.get("sections_run_at", {}).items())
        + ("" if not r.get("non_finite") else f". **Non-finite figures:** {', '.join(r['non_finite'][:10])}"),
        "",
        "## Targets",
        "",
        table(["target", "value", "threshold", "status"],
              [[t["name"], t["value"], t["threshold"], t["status"]] for t in r["targets"]]),
    ]
    parts = [("throughput", "1. Training throughput (wall clock, median of alternating rounds)", throughput),
             ("quality", "2. Quality against training time (CPU-seconds, one thread)", quality),
             ("sampling", "3. Sampling: drift evaluations to reach the floor margin", solvers),
             ("app", "4. The app", app_bench)]
    for key, title, mod in parts:
        if key in r:
            body = _section_markdown(mod, r, key)
            lines += ["", f"## {title}", "", body]
    if _ok(r, "quality"):
        lines += ["", f"Margin: {margin_text()}. Methods: "
                  + "; ".join(f"**{k}**: {v}" for k, v in r["quality"]["methods"].items()) + "."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    args = parse(argv)
    settings = Settings.quick() if args.quick else Settings.full()
    if args.browser is not None:
        settings.browser = args.browser
    sections = tuple(s.strip() for s in args.sections.split(",") if s.strip())
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        raise SystemExit(f"unknown section(s) {', '.join(sorted(unknown))}; "
                         f"choose from {', '.join(SECTIONS)}")
    result = run(settings, sections)
    args.out.mkdir(parents=True, exist_ok=True)
    result = merged(args.out / "latest.json", result, sections)
    (args.out / "latest.json").write_text(json.dumps(result, indent=1, allow_nan=False) + "\n")
    md = markdown(result)
    (args.out / "latest.md").write_text(md)
    say("\n## Targets")
    for t in result["targets"]:
        say(f"  {t['status']:4s}  {t['name']}: {fmt(t['value'])} (threshold {fmt(t['threshold'])})")
    say(f"\nwrote {args.out / 'latest.json'} and {args.out / 'latest.md'} in {result['duration_s']:.0f} s")
    return result


if __name__ == "__main__":
    main()
