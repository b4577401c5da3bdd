"""The library never imports Streamlit: `import playground` and every submodule work without it."""

from __future__ import annotations

import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import playground

ROOT = Path(__file__).resolve().parents[2]
SUBMODULES = sorted(f"playground.{m.name}" for m in pkgutil.iter_modules(playground.__path__))

# Imports each module in turn and names the first one after which Streamlit is loaded.
SCRIPT = """
import importlib, sys
for name in ["playground"] + sys.argv[1:]:
    importlib.import_module(name)
    if "streamlit" in sys.modules:
        sys.exit(f"importing {name} imported streamlit")
print("ok", len(sys.argv) - 1)
"""


def test_submodules_are_discovered():
    core = {"schedules", "interpolants", "distributions", "couplings", "models", "training",
            "sampling", "config", "experiment", "cli", "exact", "metrics"}
    assert {f"playground.{name}" for name in core} <= set(SUBMODULES)


def test_no_module_imports_streamlit():
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run([sys.executable, "-c", SCRIPT, *SUBMODULES], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["ok", str(len(SUBMODULES))]
