"""Scenes: the shipped weights match the manifest, load into their configs' models, reach their
quality bounds, and are exactly what `python -m playground build-scenes` trains."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from playground.cli import main
from playground.config import ExperimentConfig
from playground.couplings import make_coupling
from playground.distributions import make_distribution
from playground.scenes import (
    ASSETS,
    MANIFEST,
    SCENES,
    SceneError,
    build_scenes,
    evaluate,
    load_manifest,
    load_scene,
    read_weights,
    sha256,
    training_key,
    weights_bytes,
)
from playground.training import make_state

ROOT = Path(__file__).resolve().parents[2]

REBUILD_ONE = "coupling-independent"
"""The scene the fast test retrains (3000 steps, one head: the cheapest)."""
FP16_TOL = 2e-3
"""Rebuilt and shipped float16 weights agree within this (absolute and relative): about two
float16 steps at magnitude 1. On the machine that built the assets they are bit-identical."""
METRIC_TOL = 1e-4


@pytest.fixture(scope="module")
def manifest():
    return load_manifest()


def _entry(manifest, name):
    return next(e for e in manifest["scenes"] if e["name"] == name)


def test_manifest_lists_every_registered_scene_in_order(manifest):
    assert [e["name"] for e in manifest["scenes"]] == list(SCENES)
    for e in manifest["scenes"]:
        scene = SCENES[e["name"]]
        # the registry and the shipped files agree: edit a scene, then rebuild it
        shipped = ExperimentConfig.from_dict(e["config"])  # an older manifest's "nfe" is sample_steps
        assert shipped == scene.config(), f"{e['name']}: rebuild with --only {e['name']}"
        assert e["title"] == scene.title and e["description"] == scene.description
        assert e["steps"] == scene.training_config().steps > 0
        for key in ("energy_distance", "floor_energy_distance", "sliced_w2", "floor_sliced_w2"):
            assert np.isfinite(e["metrics"][key]), (e["name"], key)


@pytest.mark.parametrize("name", list(SCENES))
def test_shipped_weights_match_sha256_and_load_into_the_scene_model(manifest, name):
    entry = _entry(manifest, name)
    data = (ASSETS / entry["weights"]).read_bytes()
    assert len(data) == entry["bytes"]
    assert sha256(data) == entry["sha256"]
    arrays = read_weights(ASSETS / entry["weights"])
    assert all(a.dtype == np.float16 for a in arrays.values())
    cfg, state_dict, _ = load_scene(name)
    model = make_state(cfg, device="cpu").model
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert {k: tuple(v.shape) for k, v in state_dict.items()} == expected
    model.load_state_dict(state_dict)  # strict: every key present, every shape equal
    assert (ASSETS / entry["thumbnail"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_assets_stay_small():
    total = sum(p.stat().st_size for p in ASSETS.iterdir() if p.is_file())
    print(f"assets/scenes: {total:,} bytes")
    assert total < 2 * 1024 * 1024


@pytest.mark.parametrize("name", list(SCENES))
def test_shipped_weights_reach_the_stated_bound_of_the_noise_floor(manifest, name):
    """Sample with the shipped (float16) weights as the app does; energy distance ≤ floor + bound,
    and the manifest's figures are the ones these weights give."""
    entry = _entry(manifest, name)
    cfg, _, _ = load_scene(name)
    metrics, traj = evaluate(cfg, read_weights(ASSETS / entry["weights"]))
    ed, floor = metrics["energy_distance"], metrics["floor_energy_distance"]
    print(f"{name}: energy distance {ed:.4f} (floor {floor:.4f}, bound +{entry['energy_bound']}), "
          f"sliced W2 {metrics['sliced_w2']:.3f} (floor {metrics['floor_sliced_w2']:.3f})")
    assert ed <= floor + entry["energy_bound"]
    assert ed == pytest.approx(entry["metrics"]["energy_distance"], abs=METRIC_TOL)
    assert traj.final.shape == (cfg.samples, 2)


def _on_the_board(x: torch.Tensor, cell: float = 1.5) -> float:
    """Fraction of points on the checkerboard's filled squares (cells of 1.5 with even i + j)."""
    ij = torch.floor(x / cell)
    return float(((ij[:, 0] + ij[:, 1]) % 2 == 0).float().mean())


def test_mirror_scene_dissolves_into_noise_at_half_time_and_back(manifest):
    """The mirror scene ends where it starts (x1 = x0), so all-zero or untrained weights would pass
    an end-point test: test its path. With γ = sin²(πt), x_½ = x0 + z: the checkerboard is gone at
    t = ½ (measured: 49% of the particles on its squares, like fresh x0 + z at 51%, against 100% for
    the base) and back at t = 1 (93%). All-zero weights leave particles in place (100% at t = ½)."""
    entry = _entry(manifest, "mirror")
    cfg, _, _ = load_scene("mirror")
    assert (cfg.base, cfg.target, cfg.coupling, cfg.schedule) == ("checkerboard", "checkerboard", "mirror", "linear")
    arrays = read_weights(ASSETS / entry["weights"])
    half = cfg.sample_steps // 2
    g = torch.Generator().manual_seed(11)
    base = make_distribution(cfg.base)
    noise_half = base.sample(4000, g) + torch.randn(4000, 2, generator=g)  # x_½ = x0 + γ(½) z, γ(½) = 1
    assert _on_the_board(base.sample(4000, g)) == 1.0 and abs(_on_the_board(noise_half) - 0.5) < 0.05

    _, traj = evaluate(cfg, arrays)
    assert float(traj.times[half]) == pytest.approx(0.5)
    assert abs(_on_the_board(traj.path[half]) - _on_the_board(noise_half)) < 0.06
    assert _on_the_board(traj.path[-1]) > 0.85
    _, still = evaluate(cfg, {k: np.zeros_like(v) for k, v in arrays.items()})
    assert _on_the_board(still.path[half]) > 0.95  # the negative control: no drift, no noise


def test_ode_and_sde_scenes_share_their_weights(manifest):
    """One model, two samplers: the SDE scene differs from the ODE one only in how it samples."""
    assert training_key(SCENES["noisy-ode"].config()) == training_key(SCENES["noisy-sde"].config())
    assert _entry(manifest, "noisy-ode")["sha256"] == _entry(manifest, "noisy-sde")["sha256"]
    assert SCENES["noisy-sde"].config().sampler == "em" and SCENES["noisy-sde"].config().epsilon > 0


def test_mirror_coupling_pairs_each_sample_with_itself():
    g = torch.Generator().manual_seed(0)
    x0, x1 = torch.randn(64, 2, generator=g), torch.randn(64, 2, generator=g)
    a, b = make_coupling("mirror")(x0, x1)
    assert torch.equal(a, x0) and torch.equal(b, x0)
    cfg = SCENES["mirror"].config()
    assert cfg.coupling == "mirror" and cfg.base == cfg.target and cfg.schedule == "linear"


def test_weights_files_are_byte_reproducible():
    arrays = {"b": np.arange(6, dtype=np.float16).reshape(2, 3), "a": np.ones(4, np.float16)}
    first = weights_bytes(arrays)
    time.sleep(1.1)  # a zip with real timestamps would differ now
    assert weights_bytes(dict(reversed(list(arrays.items())))) == first


def test_load_scene_rejects_unknown_names_and_tampered_files(tmp_path):
    with pytest.raises(SceneError, match="unknown scene"):
        load_scene("nope")
    folder = tmp_path / "scenes"
    shutil.copytree(ASSETS, folder)
    path = folder / "moons.npz"
    data = bytearray(path.read_bytes())
    data[-30] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(SceneError, match="sha256"):
        load_scene("moons", folder)
    (folder / MANIFEST).unlink()
    with pytest.raises(SceneError, match="build-scenes"):
        load_scene("moons", folder)


def test_cli_rejects_an_unknown_scene(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["build-scenes", "--only", "nope", "--out", "/nonexistent/never-written"])
    assert exc.value.code == 2
    assert "nope" in capsys.readouterr().err


def _compare(shipped_dir, rebuilt_dir, name, manifest, rebuilt_manifest):
    old = read_weights(shipped_dir / f"{name}.npz")
    new = read_weights(rebuilt_dir / f"{name}.npz")
    assert old.keys() == new.keys()
    worst = max(float(np.max(np.abs(old[k].astype(np.float32) - new[k].astype(np.float32)))) for k in old)
    same = _entry(manifest, name)["sha256"] == _entry(rebuilt_manifest, name)["sha256"]
    print(f"{name}: largest float16 difference {worst:.2e}; byte-identical: {same}")
    for k in old:
        np.testing.assert_allclose(new[k].astype(np.float32), old[k].astype(np.float32),
                                   rtol=FP16_TOL, atol=FP16_TOL, err_msg=f"{name}: {k}")


def test_build_scenes_reproduces_the_shipped_weights_of_one_scene(tmp_path, manifest):
    t0 = time.perf_counter()
    rebuilt = build_scenes(tmp_path, only=[REBUILD_ONE])
    print(f"rebuilt {REBUILD_ONE} in {time.perf_counter() - t0:.1f} s")
    assert [e["name"] for e in rebuilt["scenes"]] == [REBUILD_ONE]
    _compare(ASSETS, tmp_path, REBUILD_ONE, manifest, rebuilt)


@pytest.mark.slow
def test_build_scenes_reproduces_every_shipped_scene(tmp_path, manifest):
    """`python -m playground build-scenes` rebuilds every shipped scene. Two processes at once (each
    on one torch thread, so CI's two cores halve the wait); scenes that share a training run stay in
    one process, and the processes get about equal numbers of training steps."""
    runs = {}
    for name, scene in SCENES.items():
        cfg = scene.training_config()
        runs.setdefault(training_key(cfg), [cfg.steps, []])[1].append(name)
    halves, load = [[], []], [0, 0]
    for steps, names in sorted(runs.values(), key=lambda r: -r[0]):
        i = load.index(min(load))
        halves[i] += names
        load[i] += steps
    assert sorted(halves[0] + halves[1]) == sorted(SCENES)
    t0 = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-m", "playground", "build-scenes", "--out", str(tmp_path / f"part{i}"),
                               *[arg for name in half for arg in ("--only", name)]],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for i, half in enumerate(halves)]
    for proc in procs:
        _, err = proc.communicate(timeout=1200)
        assert proc.returncode == 0, err[-2000:]
    print(f"rebuilt {len(SCENES)} scenes in {time.perf_counter() - t0:.0f} s (steps per process: {load})")
    for i, half in enumerate(halves):
        folder = tmp_path / f"part{i}"
        rebuilt = json.loads((folder / MANIFEST).read_text())
        assert sorted(e["name"] for e in rebuilt["scenes"]) == sorted(half)
        for name in half:
            _compare(ASSETS, folder, name, manifest, rebuilt)
