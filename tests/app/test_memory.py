"""Bounded memory: one session that trains and animates twenty times does not keep growing.

Measured in-process under AppTest (the script runs in this process, so its resident memory is
the server's): VmRSS from /proc after 3 warm-up cycles, then after 20 more train + animate cycles,
each with a new seed (a new model, new loss history, new animation, new preview cache entry).
Memory is not time: the bound is asserted. Linux only (/proc).
"""

from __future__ import annotations

import ctypes
import gc
import json
import sys
import weakref
from pathlib import Path

import pytest

from tests.app.conftest import ROOT, animation_spec, train_until_done

WARMUP, CYCLES = 3, 20
GROWTH_BOUND_MB = 50.0
"""Growth allowed over 20 cycles after warm-up, measured after malloc_trim (measured: under 10 MB;
one cycle's model, optimizer, history and animation are about 2 MB, so a session that kept every
run would grow by 40 MB or more)."""
GROWTH_BOUND_UNTRIMMED_MB = 150.0
"""Without glibc's malloc_trim, allocator slack is counted too (measured: about 100 MB)."""
ARTIFACTS = ROOT / "test-artifacts"


def _trim() -> bool:
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        return True
    except (OSError, AttributeError):  # not glibc: measure as is
        return False


TRIMMED = _trim()


def rss_mb() -> float:
    """Resident memory after a full collection, with freed heap pages handed back to the OS (glibc's
    malloc_trim), so that what is measured is memory still held, not allocator slack."""
    gc.collect()
    _trim()
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def session_mb(sess) -> float:
    """What one session holds: weights with Adam's two moments, loss history, animation arrays."""
    import numpy as np

    n = sum(p.numel() * p.element_size() * 3 for p in sess.state.model.parameters())
    n += len(sess.state.losses) * 32
    anim = sess._animation
    if anim is not None:
        n += sum(v.nbytes for v in vars(anim).values() if isinstance(v, np.ndarray))
    return n / 2**20


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_twenty_train_and_animate_cycles_keep_memory_bounded(app):
    app.number_input(key="steps").set_value(60)
    app.run()

    runs = []  # weak references to every cycle's model and optimizer

    def cycle(seed: int) -> None:
        app.number_input(key="seed").set_value(seed)
        app.run()
        app.button(key="train").click().run()
        sess = train_until_done(app)
        assert sess.status == "done" and sess.state.step == 60, sess.message
        assert animation_spec(app) is not None, "no animation after training"
        assert not app.exception, app.exception
        runs.append((weakref.ref(sess.state.model), weakref.ref(sess.state.optimizer)))

    for seed in range(WARMUP):
        cycle(seed)
    start = rss_mb()
    trace = [round(start, 1)]
    for seed in range(WARMUP, WARMUP + CYCLES):
        cycle(seed)
        trace.append(round(rss_mb(), 1))
    end = rss_mb()
    alive = sum(1 for model, opt in runs[:-1] if model() is not None or opt() is not None)
    figures = {"warmup_cycles": WARMUP, "cycles": CYCLES, "rss_after_warmup_mb": round(start, 1),
               "rss_after_cycles_mb": round(end, 1), "growth_mb": round(end - start, 1),
               "per_cycle_mb": round((end - start) / CYCLES, 2), "trace_mb": trace,
               "earlier_runs_alive": alive, "malloc_trim": TRIMMED,
               "one_session_mb": round(session_mb(app.session_state["playground"]), 2)}
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "robustness-memory.json").write_text(json.dumps(figures, indent=1))
    print("memory:", figures)
    assert end - start < (GROWTH_BOUND_MB if TRIMMED else GROWTH_BOUND_UNTRIMMED_MB), figures
    # one session holds one model: every earlier run's model and optimizer were freed
    assert alive == 0, figures
