"""Shared pieces of the bench: settings (full / quick), the machine, clocks, tables, quality margins.

Clocks: `wall()` is `time.perf_counter`; `cpu()` is the process CPU time (`time.process_time`).
On one torch thread CPU-seconds are the seconds a quiet machine would take, whatever else the
(shared) machine is doing, so the quality race of section 2 runs on CPU-seconds.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import platform
import statistics
import subprocess
import time
from dataclasses import dataclass

import torch

wall = time.perf_counter
cpu = time.process_time

# Time-to-quality margin (stated in every report): a sample set "reaches the floor" when
#   energy distance ≤ floor_ED + ED_MARGIN  and  sliced W2 ≤ SW2_FACTOR × floor_SW2,
# with the floors averaged over FLOOR_PAIRS pairs of independent target samples. 1.5 (not 1.3):
# single 5000-point floor draws of sliced W2 spread by ±35% (moons 0.018-0.036, 8 Gaussians
# 0.048-0.096), so 1.3 × the mean floor fails a perfect sampler a fair share of the time.
ED_MARGIN = 0.003
SW2_FACTOR = 1.5
# A stricter margin, reported beside it for the integrators (section 3), where the looser one
# cannot tell Euler's error at a few steps from sampling noise: ED ≤ floor + STRICT_ED_MARGIN.
STRICT_ED_MARGIN = 0.001


@dataclass
class Settings:
    """Sizes of every section. `full()` is the README run; `quick()` the seconds-long test run."""

    mode: str
    threads: tuple[int, ...] = (1, 2)
    rounds: int = 3
    measure_s: float = 1.0  # wall seconds of one throughput measurement
    # section 2: cases (bench.quality.CASES) and budgets in CPU-seconds of the training thread
    targets: tuple[str, ...] = ("8gaussians", "moons", "checkerboard", "checkerboard-noisy")
    ours_budgets: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0)
    peer_budgets: tuple[float, ...] = (1.0, 2.0, 5.0)  # torchcfm and the seed recipe: the same budgets
    quality_samples: int = 20_000  # per checkpoint, scored in quality_chunks chunks
    quality_chunks: int = 5
    samples: int = 5000  # section 3
    floor_pairs: int = 4
    ladder: tuple[int, ...] = (2, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256)  # evaluations
    drift_sizes: tuple[int, ...] = (2000, 10_000, 50_000)
    figure_sizes: tuple[tuple[int, int], ...] = ((2000, 100), (5000, 200))
    fps_particles: tuple[int, ...] = (2000, 5000)
    fps_frames: int = 101
    fps_seconds: float = 3.0
    browser: bool = True
    workers: int = 2  # processes for section 2 (one target each at a time, one thread each)

    @classmethod
    def full(cls) -> Settings:
        return cls("full")

    @classmethod
    def quick(cls) -> Settings:
        return cls("quick", threads=(1,), rounds=1, measure_s=0.1, targets=("8gaussians", "moons"),
                   ours_budgets=(0.2, 0.4), peer_budgets=(0.2,), quality_samples=400, quality_chunks=2,
                   samples=400, floor_pairs=1,
                   ladder=(4, 16, 64), drift_sizes=(500, 2000), figure_sizes=((200, 20),),
                   fps_particles=(200,), fps_frames=21, fps_seconds=1.0, browser=False, workers=1)


def machine() -> dict:
    """CPU model, cores, torch version, date, load average."""
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        model = platform.processor() or "unknown"
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 1
    return {
        "cpu_model": model,
        "cores": os.cpu_count() or 1,
        "cores_usable": usable,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average_start": list(os.getloadavg()),
        "uptime_start": _uptime(),
    }


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def end_machine(info: dict) -> None:
    info["load_average_end"] = list(os.getloadavg())
    info["uptime_end"] = _uptime()


def median(xs) -> float:
    return float(statistics.median(xs))


def ratio(a, b):
    """a / b, or None when either is missing or b is 0."""
    if a is None or b is None or not b:
        return None
    return float(a) / float(b)


def meets(ed: float, sw2: float, floor: dict) -> bool:
    """The time-to-quality criterion (see ED_MARGIN, SW2_FACTOR)."""
    if not (math.isfinite(ed) and math.isfinite(sw2)):
        return False
    return ed <= floor["energy_distance"] + ED_MARGIN and sw2 <= SW2_FACTOR * floor["sliced_w2"]


def meets_strict(ed: float, sw2: float, floor: dict) -> bool:
    return meets(ed, sw2, floor) and ed <= floor["energy_distance"] + STRICT_ED_MARGIN


def margin_text() -> str:
    return f"ED ≤ floor + {ED_MARGIN:g} and sliced W2 ≤ {SW2_FACTOR:g} × floor"


def fmt(v, digits: int = 3) -> str:
    """A number for a table: '–' for None, compact otherwise."""
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if not math.isfinite(v):
            return str(v)
        a = abs(v)
        if a != 0 and (a < 10 ** -(digits - 1) or a >= 1e5):
            return f"{v:.{digits - 1}e}"
        return f"{v:.{digits}g}" if a < 100 else f"{v:,.0f}"
    return str(v)


def table(headers: list[str], rows: list[list]) -> str:
    """A Markdown table (also what is printed to stdout)."""
    cells = [[fmt(c) for c in r] for r in rows]
    out = ["| " + " | ".join(headers) + " |", "| " + " | ".join("---" for _ in headers) + " |"]
    out += ["| " + " | ".join(r) + " |" for r in cells]
    return "\n".join(out)


def say(*parts) -> None:
    print(*parts, flush=True)


class threads:
    """Context manager: torch.set_num_threads(n), restored on exit."""

    def __init__(self, n: int):
        self.n = n

    def __enter__(self):
        self.old = torch.get_num_threads()
        torch.set_num_threads(self.n)
        return self

    def __exit__(self, *exc):
        torch.set_num_threads(self.old)
