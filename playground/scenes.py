"""Scenes: curated experiments and their small pre-trained weights, so each one animates at once.

A `Scene` is a name, a title, a one-line description and the config overrides of one experiment
(everything else is an `ExperimentConfig` default, and every model-defining value is one the
Playground's widgets can show, so loading a scene never makes the model look stale). `SCENES` is
the registry.

`build_scenes` trains each scene's config on the CPU with one thread (fixed steps, the config's
seed: deterministic) and writes, into `assets/scenes/`:

    NAME.npz        `state.model.state_dict()` in float16 (what `PlaygroundSession.install_model`
                    loads; with γ > 0 it holds both heads, drift and denoiser), an .npz written
                    with fixed timestamps, so the same weights give the same bytes and sha256
    NAME.png        a small thumbnail: samples of the shipped model, coloured by where they started
    manifest.json   per scene: name, title, description, the full config, steps, metrics of the
                    shipped (float16) weights against the noise floor, file sizes and sha256

`load_scene(name)` returns (config, state_dict, manifest entry) after checking the file's sha256;
it never trains. The command line is `python -m playground build-scenes [--out DIR] [--only NAME]`.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from playground.config import ExperimentConfig
from playground.experiment import generate, measure, sampling_field
from playground.training import make_state, train

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "scenes"
"""Where the shipped weights, thumbnails and manifest live."""
MANIFEST = "manifest.json"
FORMAT = 1
THUMBNAIL_PX = 160
THUMBNAIL_POINTS = 2000
THUMBNAIL_BOX = 3.2
"""Thumbnails show [-THUMBNAIL_BOX, THUMBNAIL_BOX]², the same scale for every scene."""
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class SceneError(RuntimeError):
    """A scene's files are missing, unreadable or do not match the manifest."""


@dataclass(frozen=True)
class Scene:
    """One curated experiment. `overrides` are ExperimentConfig fields that differ from the defaults;
    `energy_bound`: the shipped model's energy distance must be at most floor + this.
    `build_steps`: a config with a time budget (steps = 0, the default) is trained for this many
    steps by the build instead, so the shipped weights do not depend on the machine's speed.
    `gallery`: shown on the Scenes page (the default experiment's scene is not: it is what the
    Playground plays on arrival)."""

    name: str
    title: str
    description: str
    overrides: dict = field(default_factory=dict)
    energy_bound: float = 0.003
    build_steps: int = 2000
    gallery: bool = True

    def config(self) -> ExperimentConfig:
        return ExperimentConfig.from_dict(self.overrides)

    def training_config(self) -> ExperimentConfig:
        """What the build trains: the config, with a step budget in place of a time budget."""
        cfg = self.config()
        return cfg if cfg.steps > 0 else cfg.replace(steps=self.build_steps, seconds=0.0)


_NOISY = {"schedule": "linear", "gamma": "brownian", "gamma_scale": 1.0}
_SPIRAL = {"base": "gaussian", "target": "spiral", **_NOISY, "steps": 5000}

DEFAULT_SCENE = "default"
"""The scene the Playground plays on a first visit: the default experiment (ExperimentConfig()),
whatever the current recipe is, trained for a step count near what Train does in its default
time budget on a small machine."""

SCENES: dict[str, Scene] = {s.name: s for s in (
    Scene(DEFAULT_SCENE, "Gaussian → two moons (the default experiment)",
          "The Playground's defaults, pre-trained: what Train learns in a few seconds.",
          {}, build_steps=1500, gallery=False),
    Scene("moons", "Gaussian → two moons",
          "The plain linear interpolant x_t = (1−t) x0 + t x1: noise flows into two moons along a "
          "learned ODE.",
          {"base": "gaussian", "target": "moons", "steps": 4000}),
    Scene("checkerboard-noisy", "8 Gaussians → checkerboard, γ > 0",
          "Linear α, β plus noise γ = √(t(1−t)) z in between: the eight bumps blur, then sharpen "
          "into squares.",
          {"base": "8gaussians", "target": "checkerboard", **_NOISY, "steps": 5000}),
    Scene("encdec", "Encoder–decoder through noise",
          "α = cos²(πt) before ½, β = cos²(πt) after, γ = sin²(πt): at t = ½ every point is pure "
          "noise z, so a spiral is encoded into a Gaussian and decoded into two moons.",
          {"base": "spiral", "target": "moons", "schedule": "encdec", "gamma": "sinesquared",
           "gamma_scale": 1.0, "steps": 5000}),
    Scene("mirror", "Mirror interpolant: checkerboard → noise → checkerboard",
          "Base and target are the same sample (coupling mirror, x1 = x0), so x_t = x0 + sin²(πt) z: "
          "the checkerboard dissolves into noise and the drift rebuilds it.",
          {"base": "checkerboard", "target": "checkerboard", "coupling": "mirror",
           "gamma": "sinesquared", "gamma_scale": 1.0, "steps": 5000}),
    Scene("coupling-independent", "Independent coupling: 8 Gaussians → moons",
          "Pairs (x0, x1) drawn independently: the learned paths bend and swerve. Compare the trails "
          "with the optimal-transport scene, or set 5 time steps on both.",
          {"base": "8gaussians", "target": "moons", "coupling": "independent", "steps": 3000}),
    Scene("coupling-ot", "Optimal-transport coupling: 8 Gaussians → moons",
          "Only the coupling differs from the independent scene: pairs re-matched by minibatch optimal "
          "transport give nearly straight paths, which even a few Euler steps follow well.",
          {"base": "8gaussians", "target": "moons", "coupling": "ot", "steps": 3000}),
    Scene("noisy-ode", "ODE: Gaussian → spiral with γ > 0",
          "γ = √(t(1−t)) makes x_t stochastic, yet the learned drift carries the particles along a "
          "deterministic ODE (Heun). Same weights as the SDE scene.",
          {**_SPIRAL, "sampler": "heun", "sample_steps": 50}),
    Scene("noisy-sde", "SDE: Gaussian → spiral with γ > 0",
          "The same model sampled with Euler–Maruyama, dX = (b̂ + ε ŝ) dt + √(2ε) dW with ε(t) = "
          "4t(1−t) and the learned score ŝ = −η̂/γ: particles jitter, and land closer to the spiral.",
          {**_SPIRAL, "sampler": "em", "sample_steps": 100, "epsilon": 1.0, "epsilon_shape": "bump"}),
)}
"""Every scene, in gallery order."""


# ----------------------------------------------------------------------------- weights files


def half_state_dict(model: torch.nn.Module) -> dict[str, np.ndarray]:
    """The model's state_dict as float16 numpy arrays (what a scene ships)."""
    return {k: v.detach().cpu().to(torch.float16).numpy() for k, v in model.state_dict().items()}


def weights_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """An .npz (readable by `np.load`) with fixed timestamps and sorted keys: same arrays, same bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for key in sorted(arrays):
            npy = io.BytesIO()
            np.lib.format.write_array(npy, np.ascontiguousarray(arrays[key]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=_ZIP_TIME)
            info.external_attr = 0o644 << 16
            zf.writestr(info, npy.getvalue(), compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return buf.getvalue()


def read_weights(path: Path) -> dict[str, np.ndarray]:
    """The arrays of a weights file (float16, as shipped)."""
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def to_state_dict(arrays: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """float32 tensors ready for `model.load_state_dict`."""
    return {k: torch.from_numpy(np.asarray(v, dtype=np.float32)) for k, v in arrays.items()}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ----------------------------------------------------------------------------- loading


def load_manifest(folder: Path = ASSETS) -> dict:
    """The manifest as a dict {"format", "torch", "scenes": [entry, ...]}; SceneError if unreadable."""
    path = Path(folder) / MANIFEST
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise SceneError(f"no scene manifest at {path} ({exc.strerror or exc}): run "
                         "`python -m playground build-scenes`") from None
    except json.JSONDecodeError:
        raise SceneError(f"{path} is not valid JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("scenes"), list):
        raise SceneError(f"{path} has no list of scenes")
    return data


def manifest_entry(name: str, folder: Path = ASSETS) -> dict:
    for entry in load_manifest(folder)["scenes"]:
        if entry.get("name") == name:
            return entry
    raise SceneError(f"scene {name!r} is not in the manifest; known: {', '.join(SCENES)}")


def load_scene(name: str, folder: Path = ASSETS) -> tuple[ExperimentConfig, dict[str, torch.Tensor], dict]:
    """(config, float32 state_dict, manifest entry) of a shipped scene; never trains.

    Raises SceneError when the scene is unknown, its file is missing, or its sha256 differs from
    the manifest's.
    """
    if name not in SCENES:
        raise SceneError(f"unknown scene {name!r}; choose one of {', '.join(SCENES)}")
    entry = manifest_entry(name, folder)
    path = Path(folder) / entry["weights"]
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SceneError(f"cannot read {path}: {exc.strerror or exc}") from None
    if sha256(data) != entry["sha256"]:
        raise SceneError(f"{path} does not match the manifest's sha256: rebuild with "
                         f"`python -m playground build-scenes --only {name}`")
    cfg = ExperimentConfig.from_dict(entry["config"])
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        state_dict = to_state_dict({k: npz[k] for k in npz.files})
    return cfg, state_dict, entry


def thumbnail_path(name: str, folder: Path = ASSETS) -> Path | None:
    """The scene's thumbnail PNG, or None when it is absent."""
    path = Path(folder) / f"{name}.png"
    return path if path.is_file() else None


# ----------------------------------------------------------------------------- building


def train_scene(scene: Scene, log=None):
    """Train the scene's `training_config` on the CPU with one thread (deterministic); the TrainState."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        state = make_state(scene.training_config(), device="cpu")
        train(state, chunk=500, callback=None if log is None else
              lambda s, _losses: log(f"\r  {scene.name}: step {s.step}/{s.config.steps}", end=""))
    finally:
        torch.set_num_threads(threads)
    return state


@torch.no_grad()
def evaluate(cfg: ExperimentConfig, arrays: dict[str, np.ndarray]):
    """Sample cfg.samples points with these (float16) weights, as the app would; (metrics, trajectory)."""
    state = make_state(cfg, device="cpu")
    state.model.load_state_dict(to_state_dict(arrays))
    state.model.eval()
    traj = generate(sampling_field(state), cfg, state.base, state.target, device="cpu")
    return measure(traj, cfg, state.base, state.target), traj


def thumbnail_png(path: np.ndarray, px: int = THUMBNAIL_PX, box: float = THUMBNAIL_BOX) -> bytes:
    """A small PNG of where the particles end, each coloured by where it started; path (T, n, 2)."""
    from PIL import Image, ImageDraw

    from playground.figures import position_colors

    start, end = np.asarray(path[0]), np.asarray(path[-1])
    colors = position_colors(start)
    img = Image.new("RGB", (px, px), "white")
    draw = ImageDraw.Draw(img)
    pix = (end + box) / (2 * box) * (px - 1)
    for (x, y), c in zip(pix, colors):
        y = px - 1 - y
        if 0 <= x < px and 0 <= y < px:
            draw.rectangle([x - 0.5, y - 0.5, x + 0.5, y + 0.5], fill=str(c))
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue()


SAMPLING_FIELDS = ("sampler", "sample_steps", "direction", "samples", "epsilon", "epsilon_shape", "t0")
"""Config fields that only change how a trained model is sampled."""


def training_key(cfg: ExperimentConfig) -> str:
    """The config without its sampling fields: scenes with equal keys (and the same denoiser) train
    identical weights, so a build trains them once."""
    return json.dumps({k: v for k, v in cfg.to_dict().items() if k not in SAMPLING_FIELDS}, sort_keys=True)


def build_scene(scene: Scene, folder: Path, log=None, trained: dict | None = None) -> dict:
    """Train one scene (or reuse a run of this build with the same training config), write its
    weights and thumbnail into folder; its manifest entry."""
    cfg = scene.config()
    key, trained = training_key(scene.training_config()), {} if trained is None else trained
    shared = trained.get(key)
    if shared is not None and make_state(cfg, device="cpu").denoiser_kind == shared[1].denoiser_kind:
        first, state, seconds = shared
    else:
        t0 = time.perf_counter()
        state = train_scene(scene, log)
        first, seconds = scene.name, time.perf_counter() - t0
        trained[key] = (first, state, seconds)
    arrays = half_state_dict(state.drift())  # the weights that sample (the EMA when on)
    metrics, traj = evaluate(cfg, arrays)
    weights = weights_bytes(arrays)
    thumb = thumbnail_png(traj.path[:, :THUMBNAIL_POINTS].numpy())
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{scene.name}.npz").write_bytes(weights)
    (folder / f"{scene.name}.png").write_bytes(thumb)
    keep = ("energy_distance", "floor_energy_distance", "sliced_w2", "floor_sliced_w2",
            "path_straightness", "path_curvature")
    return {
        "name": scene.name, "title": scene.title, "description": scene.description, "gallery": scene.gallery,
        "config": cfg.to_dict(), "steps": state.step, "train_seconds": round(seconds, 1),
        "trained_in": first, "denoiser": state.denoiser_kind,
        "final_loss": round(float(np.mean(state.losses[-100:])), 5),
        "metrics": {k: round(float(metrics[k]), 6) for k in keep},
        "energy_bound": scene.energy_bound,
        "weights": f"{scene.name}.npz", "bytes": len(weights), "sha256": sha256(weights),
        "thumbnail": f"{scene.name}.png", "thumbnail_bytes": len(thumb),
    }


def build_scenes(folder: Path = ASSETS, only: list[str] | None = None, log=None) -> dict:
    """Train the scenes (all, or those named in `only`), write their files and the manifest.

    With `only`, the other scenes' manifest entries are kept as they are. Returns the manifest.
    """
    folder = Path(folder)
    unknown = sorted(set(only or ()) - set(SCENES))
    if unknown:
        raise SceneError(f"unknown scene(s) {', '.join(unknown)}; choose from {', '.join(SCENES)}")
    names = [n for n in SCENES if not only or n in set(only)]
    entries = {}
    if only and (folder / MANIFEST).exists():
        entries = {e["name"]: e for e in load_manifest(folder)["scenes"] if e.get("name") in SCENES}
    trained: dict = {}
    for name in names:
        entries[name] = e = build_scene(SCENES[name], folder, log, trained)
        if log is not None:
            m = e["metrics"]
            log(f"\r  {name}: {e['steps']} steps in {e['train_seconds']:.1f} s"
                f"{'' if e['trained_in'] == name else ' (trained with ' + e['trained_in'] + ')'}; "
                f"energy distance {m['energy_distance']:.4f} (floor {m['floor_energy_distance']:.4f}); "
                f"sliced W2 {m['sliced_w2']:.3f} (floor {m['floor_sliced_w2']:.3f}); {e['bytes']:,} bytes")
    manifest = {"format": FORMAT, "torch": torch.__version__,
                "build": "python -m playground build-scenes",
                "scenes": [entries[n] for n in SCENES if n in entries]}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return manifest


def cmd_build_scenes(args) -> int:
    """`python -m playground build-scenes`: the command-line glue for `build_scenes`."""
    folder = Path(args.out) if args.out else ASSETS
    t0 = time.perf_counter()
    try:
        manifest = build_scenes(folder, args.only, log=lambda *a, **k: print(*a, **k, file=sys.stderr))
    except (SceneError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    total = sum(e["bytes"] + e.get("thumbnail_bytes", 0) for e in manifest["scenes"])
    print(f"wrote {len(manifest['scenes'])} scenes to {folder} ({total / 1024:.0f} KiB of weights and "
          f"thumbnails) in {time.perf_counter() - t0:.0f} s")
    return 0
