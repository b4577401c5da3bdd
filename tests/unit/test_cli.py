"""The command line: `run` outputs and reproducibility, `sample-dist`, bad input, --help.

Most tests call `playground.cli.main([...])` in-process; one runs `python -m playground`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from playground.cli import main
from playground.config import ExperimentConfig
from playground.couplings import COUPLINGS
from playground.distributions import DISTRIBUTIONS, make_distribution
from playground.experiment import generate
from playground.models import FieldMLP
from playground.sampling import SAMPLERS
from playground.schedules import GAMMAS, PAIRS

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--target", "8gaussians", "--steps", "20", "--width", "16", "--depth", "1",
        "--batch", "64", "--samples", "2100", "--sample-steps", "4", "--sampler", "heun",
        "--device", "cpu", "--seed", "3"]
SAMPLES, STEPS = 2100, 4
METRIC_KEYS = {"energy_distance", "sliced_w2", "floor_energy_distance", "floor_sliced_w2",
               "train_steps", "train_seconds", "steps_per_second", "final_loss"}
TIME_DEPENDENT = {"train_seconds", "steps_per_second", "sample_seconds"}


def call(argv: list[str]) -> int:
    """main(argv) -> exit status, whether it returns or argparse raises SystemExit."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    """One tiny `run` shared by the tests that read its outputs."""
    out = tmp_path_factory.mktemp("cli") / "run1"
    assert call(["run", "--out", str(out), *TINY]) == 0
    return out


def test_metrics_say_which_side_the_target_was_averaged_against(first_run, tmp_path):
    m = json.loads((first_run / "metrics.json").read_text())
    assert m["averaged_target"] == "base"  # the default Gaussian base is a one-component mixture
    out = tmp_path / "plain"
    assert call(["run", "--out", str(out), *TINY, "--no-averaged-target"]) == 0
    assert json.loads((out / "metrics.json").read_text())["averaged_target"] is None
    assert json.loads((out / "config.json").read_text())["averaged_target"] is False


def test_run_writes_every_output(first_run):
    names = {p.name for p in first_run.iterdir()}
    assert {"samples.npy", "trajectory.npy", "metrics.json", "config.json", "model.pt"} <= names
    samples = np.load(first_run / "samples.npy")
    assert samples.shape == (SAMPLES, 2) and samples.dtype == np.float32
    assert np.isfinite(samples).all()
    traj = np.load(first_run / "trajectory.npy")
    assert traj.shape == (STEPS + 1, min(SAMPLES, 2000), 2) and traj.dtype == np.float32
    np.testing.assert_array_equal(traj[-1], samples[:2000])
    metrics = json.loads((first_run / "metrics.json").read_text())
    assert METRIC_KEYS <= set(metrics)
    for key in METRIC_KEYS:
        assert isinstance(metrics[key], int | float) and np.isfinite(metrics[key]), key
    assert metrics["train_steps"] == 20
    assert metrics["energy_distance"] >= 0 and metrics["floor_energy_distance"] > 0
    cfg = ExperimentConfig.from_json((first_run / "config.json").read_text())
    assert (cfg.steps, cfg.samples, cfg.sample_steps, cfg.width, cfg.seed) == (20, SAMPLES, STEPS, 16, 3)
    assert not any(p.name.startswith(".tmp-") for p in first_run.parent.iterdir())


def test_model_file_reproduces_the_samples(first_run):
    """model.pt holds the config and weights: sampling it again gives samples.npy."""
    saved = torch.load(first_run / "model.pt", weights_only=True)
    cfg = ExperimentConfig.from_dict(saved["config"])
    model = FieldMLP(cfg.width, cfg.depth, cfg.activation, cfg.time_features, x_features=cfg.x_features)
    model.load_state_dict(saved["state_dict"])
    model.eval()
    base, target = make_distribution(cfg.base), make_distribution(cfg.target)
    traj = generate(model, cfg, base, target)
    np.testing.assert_array_equal(traj.final.numpy(), np.load(first_run / "samples.npy"))


def test_run_from_its_config_reproduces_the_metrics(first_run, tmp_path):
    out = tmp_path / "again"
    assert call(["run", "--config", str(first_run / "config.json"), "--out", str(out)]) == 0
    m1 = json.loads((first_run / "metrics.json").read_text())
    m2 = json.loads((out / "metrics.json").read_text())
    assert m1.keys() == m2.keys()
    for key in set(m1) - TIME_DEPENDENT:
        assert m1[key] == m2[key], key
    np.testing.assert_array_equal(np.load(first_run / "samples.npy"), np.load(out / "samples.npy"))
    assert (first_run / "config.json").read_text() == (out / "config.json").read_text()


def test_flags_override_the_config(first_run, tmp_path):
    out = tmp_path / "override"
    assert call(["run", "--config", str(first_run / "config.json"), "--out", str(out),
                 "--steps", "5", "--samples", "100"]) == 0
    cfg = ExperimentConfig.from_json((out / "config.json").read_text())
    assert cfg.steps == 5 and cfg.samples == 100 and cfg.width == 16
    assert json.loads((out / "metrics.json").read_text())["train_steps"] == 5
    assert np.load(out / "trajectory.npy").shape == (STEPS + 1, 100, 2)


def test_old_config_key_nfe_and_flag_are_integration_steps(first_run, tmp_path):
    """A config.json written before the rename (key "nfe") still runs, and --nfe still works:
    both are integration steps, so Heun reports twice as many drift evaluations."""
    old = json.loads((first_run / "config.json").read_text())
    old["nfe"] = old.pop("sample_steps")
    (tmp_path / "old.json").write_text(json.dumps(old))
    out = tmp_path / "old"
    assert call(["run", "--config", str(tmp_path / "old.json"), "--out", str(out), "--samples", "60"]) == 0
    assert ExperimentConfig.from_json((out / "config.json").read_text()).sample_steps == STEPS
    assert json.loads((out / "metrics.json").read_text())["drift_evaluations"] == 2 * STEPS
    out2 = tmp_path / "flag"
    assert call(["run", "--config", str(tmp_path / "old.json"), "--out", str(out2), "--samples", "60",
                 "--nfe", "3"]) == 0
    assert np.load(out2 / "trajectory.npy").shape == (4, 60, 2)
    assert json.loads((out2 / "metrics.json").read_text())["drift_evaluations"] == 6


def test_run_into_an_existing_empty_folder(tmp_path, capsys):
    out = tmp_path / "empty"
    out.mkdir()
    assert call(["run", "--out", str(out), *TINY, "--samples", "50", "--steps", "2"]) == 0
    assert (out / "samples.npy").exists()
    assert "wrote" in capsys.readouterr().out


def test_sample_dist(tmp_path, capsys):
    a, b, c = tmp_path / "a.npy", tmp_path / "b.npy", tmp_path / "c.npy"
    assert call(["sample-dist", "checkerboard", "--n", "500", "--seed", "1", "--out", str(a)]) == 0
    assert call(["sample-dist", "checkerboard", "--n", "500", "--seed", "1", "--out", str(b)]) == 0
    assert call(["sample-dist", "checkerboard", "--n", "500", "--seed", "2", "--out", str(c)]) == 0
    x = np.load(a)
    assert x.shape == (500, 2) and x.dtype == np.float32 and np.isfinite(x).all()
    assert a.read_bytes() == b.read_bytes()
    assert not np.array_equal(x, np.load(c))
    expect = make_distribution("checkerboard").sample(500, torch.Generator().manual_seed(1))
    np.testing.assert_array_equal(x, expect.numpy())


def _bad_inputs(tmp: Path) -> dict[str, list[str]]:
    """Every kind of bad input, by name; OUT is replaced by the test's --out and the config
    files in `tmp` are written by `_write_configs`."""
    run = ["run", "--out", "OUT", "--steps", "2", "--samples", "20", "--device", "cpu"]
    return {
        "unknown-target": run + ["--target", "nope"],
        "unknown-base": run + ["--base", "nope"],
        "unknown-schedule": run + ["--schedule", "nope"],
        "unknown-gamma": run + ["--gamma", "nope"],
        "unknown-sampler": run + ["--sampler", "nope"],
        "unknown-coupling": run + ["--coupling", "nope"],
        "unknown-activation": run + ["--activation", "nope"],
        "unknown-flag": run + ["--colour", "red"],
        "alpha-breaks-boundary": run + ["--alpha", "1-t/2"],
        "gamma-not-a-formula": run + ["--gamma", "import os"],
        "negative-steps": run + ["--steps", "-5"],
        "zero-samples": run + ["--samples", "0"],
        "nan-lr": run + ["--lr", "nan"],
        "inf-lr": run + ["--lr", "inf"],
        "text-width": run + ["--width", "wide"],
        "huge-sample-steps": run + ["--sample-steps", "100000"],
        "huge-old-nfe": run + ["--nfe", "100000"],
        "power-below-1": run + ["--model", "exact", "--schedule", "power", "--power", "0.5"],
        "score-of-ot-with-gamma-zero": run + ["--coupling", "ot", "--sampler", "em", "--epsilon", "1"],
        "sde-through-a-point": run + ["--model", "exact", "--target", "8gaussians", "--schedule", "encdec",
                                      "--sampler", "em", "--epsilon", "0.5"],
        "missing-config": run + ["--config", str(tmp / "missing.json")],
        "config-not-json": run + ["--config", str(tmp / "notjson.json")],
        "config-a-list": run + ["--config", str(tmp / "list.json")],
        "config-bad-value": run + ["--config", str(tmp / "badvalue.json")],
        "no-command": [],
        "no-out": ["run", "--steps", "2"],
        "sample-unknown": ["sample-dist", "nope", "--out", "OUT"],
        "sample-zero-n": ["sample-dist", "moons", "--n", "0", "--out", "OUT"],
        "sample-negative-seed": ["sample-dist", "moons", "--seed", "-1", "--out", "OUT"],
        "sample-not-npy": ["sample-dist", "moons", "--out", "OUT.txt"],
    }


BAD_NAMES = list(_bad_inputs(Path("unused")))


def _write_configs(tmp: Path) -> None:
    (tmp / "notjson.json").write_text("{this is not json")
    (tmp / "list.json").write_text("[1, 2, 3]")
    (tmp / "badvalue.json").write_text('{"lr": -1}')


@pytest.mark.parametrize("case", BAD_NAMES)
def test_bad_input_is_one_error_line_and_exit_2(case, tmp_path, capsys):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    _write_configs(inputs)
    argv = _bad_inputs(inputs)[case]
    out = tmp_path / "out" / ("x.npy" if case.startswith("sample") else "result")
    argv = [a.replace("OUT", str(out)) for a in argv]
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    status = call(argv)
    captured = capsys.readouterr()
    assert status == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error:")
    after = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert after == before, "something was written"


def test_power_below_one_is_refused_saying_why(tmp_path, capsys):
    """`run --model exact --schedule power --power 0.5` wrote `energy distance nan`; now it is bad
    input whose one line says why p starts at 1."""
    assert call(["run", "--out", str(tmp_path / "p"), "--model", "exact", "--schedule", "power",
                 "--power", "0.5"]) == 2
    err = capsys.readouterr().err
    assert "power" in err and "infinite" in err and not (tmp_path / "p").exists()


def test_ot_coupling_with_gamma_zero_has_no_learnable_score(tmp_path, capsys):
    """The one-sided score −E[x0 | x_t]/α needs x0 independent of x1: under OT or mirror with
    γ = 0 the SDE is refused, naming the coupling and the way out (γ > 0)."""
    for coupling in ("ot", "mirror"):
        args = ["--target", "gaussian"] if coupling == "mirror" else []
        assert call(["run", "--out", str(tmp_path / coupling), "--coupling", coupling, "--sampler", "em",
                     "--epsilon", "1", "--steps", "2", *args]) == 2
        err = capsys.readouterr().err
        assert coupling in err and "γ > 0" in err and "independent" in err


def test_degenerate_config_runs_with_a_warning_on_stderr(tmp_path, capsys):
    """encdec with γ = 0 (x_½ is a point) runs, but says before training why its result is wrong."""
    assert call(["run", "--out", str(tmp_path / "e"), "--model", "exact", "--schedule", "encdec",
                 "--target", "8gaussians", "--samples", "200", "--sample-steps", "10"]) == 0
    err = capsys.readouterr().err
    assert "warning:" in err and "t = 0.5" in err
    assert call(["run", "--out", str(tmp_path / "ok"), "--model", "exact", "--schedule", "encdec",
                 "--target", "8gaussians", "--gamma", "sinesquared", "--samples", "200", "--sample-steps", "10"]) == 0
    assert "warning" not in capsys.readouterr().err


def test_bad_file_distribution_creates_nothing(tmp_path, capsys):
    """A `file:` target that cannot be read is bad input: exit 2, one line, and nothing on
    disk, not even the parent folders of --out (the CLI promises to check before writing)."""
    out = tmp_path / "deep" / "er" / "result"
    status = call(["run", "--out", str(out), "--steps", "2", "--samples", "20", "--device", "cpu",
                   "--target", f"file:{tmp_path / 'missing.npy'}"])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1 and err[0].startswith("error:")
    assert "missing.npy" in err[0]
    assert list(tmp_path.iterdir()) == [], "the parent folders of --out were created"


@pytest.mark.parametrize("name,flag", [("target", "--target"), ("schedule", "--schedule"),
                                       ("gamma", "--gamma"), ("sampler", "--sampler"),
                                       ("steps", "--steps")])
def test_error_names_the_field(name, flag, tmp_path, capsys):
    value = "-5" if name == "steps" else "nope"
    assert call(["run", "--out", str(tmp_path / "o"), flag, value]) == 2
    assert name in capsys.readouterr().err


def test_out_that_is_a_non_empty_folder_is_left_alone(tmp_path, capsys):
    out = tmp_path / "busy"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert call(["run", "--out", str(out), *TINY]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:")
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert (out / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["busy"]


def test_out_that_is_a_file_is_rejected(tmp_path, capsys):
    out = tmp_path / "file"
    out.write_text("x")
    assert call(["run", "--out", str(out), *TINY]) == 2
    assert capsys.readouterr().err.startswith("error:")
    assert out.read_text() == "x"


def test_divergence_is_exit_1_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "diverged"
    argv = ["run", "--out", str(out), *TINY, "--lr", "1000", "--grad-clip", "0",
            "--lr-schedule", "constant"]
    assert call(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and "step" in err[0]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"], ["sample-dist", "--help"]])
def test_help_lists_every_registered_name(argv, capsys):
    assert call(argv) == 0
    text = capsys.readouterr().out
    for registry in (DISTRIBUTIONS, PAIRS, GAMMAS, SAMPLERS, COUPLINGS):
        assert ", ".join(registry) in text, f"{list(registry)} not listed together"
    for name in (*DISTRIBUTIONS, *PAIRS, *GAMMAS, *SAMPLERS, *COUPLINGS):
        assert name in text


def test_python_m_playground_run(tmp_path):
    """The real entry point, in a subprocess: a tiny run succeeds and writes its files."""
    out = tmp_path / "sub"
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run(
        [sys.executable, "-m", "playground", "run", "--out", str(out), "--steps", "5",
         "--width", "8", "--depth", "1", "--batch", "16", "--samples", "50", "--nfe", "2",
         "--device", "cpu"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "wrote" in proc.stdout
    assert np.load(out / "samples.npy").shape == (50, 2)
    assert np.load(out / "trajectory.npy").shape == (3, 50, 2), "the old --nfe 2 is 2 integration steps"
    assert json.loads((out / "metrics.json").read_text())["train_steps"] == 5
