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
TTQ_LIMIT_S = 10.0
TTQ_TARGETS = ("8gaussians", "moons")


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
    return clean(result)


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
        ttq = {s["target"]: s for s in r["quality"]["time_to_quality"]}
        for t in TTQ_TARGETS:
            s = ttq.get(t)
            v = None if s is None else s["ours_s"]
            ok = None if s is None else (v is not None and v <= TTQ_LIMIT_S)
            out.append({"id": f"ttq_{t}", "name": f"ours reaches the floor margin on {t} within 10 s",
                        "value": v, "threshold": TTQ_LIMIT_S, "status": _status(ok)})
            peer_ok = None
            if s is not None and r["quality"]["torchcfm"] is not None:
                best = s["best_peer_s"]
                peer_ok = s["ours_s"] is not None and (best is None or s["ours_s"] <= best)
            out.append({"id": f"ttq_vs_peer_{t}", "name": f"ours ÷ best torchcfm time-to-quality ≤ 1 on {t}",
                        "value": None if s is None else s["ratio_ours_best_peer"], "threshold": 1.0,
                        "status": _status(peer_ok)})
    if _ok(r, "sampling"):
        e = r["sampling"]["exact"]
        out.append({"id": "solver_exact",
                    "name": "Heun or RK4 needs ≤ half of Euler's evaluations (exact field)",
                    "value": e["ratio_best_to_euler"], "threshold": 0.5,
                    "status": _status(e["half_of_euler_or_better"])})
    if _ok(r, "app"):
        i = r["app"]["in_app"]
        v = i.get("ratio_wall")
        out.append({"id": "in_app", "name": "in-app training ≥ 0.9 × the loop without UI (wall)",
                    "value": v, "threshold": 0.9, "status": _status(None if v is None else v >= 0.9)})
    return out


def clean(x):
    """JSON-safe: numpy scalars to floats, non-finite floats to None."""
    if isinstance(x, dict):
        return {str(k): clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [clean(v) for v in x]
    if isinstance(x, bool) or x is None or isinstance(x, str | int):
        return x
    try:
        f = float(x)
    except (TypeError, ValueError):
        return str(x)
    return f if math.isfinite(f) else None


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
            body = mod.markdown(r[key]) if _ok(r, key) else f"This section failed: {r[key]['error']}"
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
