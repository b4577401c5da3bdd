"""The command line: `python -m playground run | sample-dist ...`.

Every bad input (unknown name, out-of-range number, unreadable config or file) is one line on
stderr and exit status 2, checked before anything is written; `run` writes its files into a
temporary folder beside `--out` and moves them into place only when everything succeeded.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from playground.config import CHOICES, LIMITS, ConfigError, ExperimentConfig
from playground.distributions import DISTRIBUTIONS, make_distribution
from playground.scenes import SCENES, cmd_build_scenes
from playground.training import TrainingDiverged

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1


class CliError(Exception):
    """A user error: printed as one line, exit status 2."""


def _registries_text() -> str:
    lines = ["registered names:", f"  distributions (--base, --target): {', '.join(DISTRIBUTIONS)}, file:PATH"]
    for name, values in CHOICES.items():
        lines.append(f"  --{name.replace('_', '-')}: {', '.join(values)}")
    lines.append("limits: " + ", ".join(f"{k} {lo:g}..{hi:g}" for k, (lo, hi) in LIMITS.items()))
    return "\n".join(lines)


def _finite_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return v


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None


# config fields settable from the command line: flag -> (field, type)
RUN_FLAGS: dict[str, tuple[str, type]] = {
    "base": ("base", str), "target": ("target", str), "schedule": ("schedule", str),
    "power": ("power", _finite_float), "gamma": ("gamma", str),
    "alpha": ("alpha", str), "beta": ("beta", str),
    "gamma-scale": ("gamma_scale", _finite_float), "coupling": ("coupling", str),
    "width": ("width", _int), "depth": ("depth", _int), "activation": ("activation", str),
    "time-features": ("time_features", _int),
    "x-features": ("x_features", _int), "steps": ("steps", _int),
    "seconds": ("seconds", _finite_float), "batch": ("batch", _int), "lr": ("lr", _finite_float),
    "lr-schedule": ("lr_schedule", str), "grad-clip": ("grad_clip", _finite_float),
    "seed": ("seed", _int), "samples": ("samples", _int), "sampler": ("sampler", str),
    "sample-steps": ("sample_steps", _int), "direction": ("direction", str), "device": ("device", str),
    "model": ("model", str), "denoiser": ("denoiser", str), "epsilon": ("epsilon", _finite_float),
    "epsilon-shape": ("epsilon_shape", str), "t0": ("t0", _finite_float),
}

WHAT_IS_TRAINED = """what is trained when:
  --model learned (default) trains the drift b(t, x). The denoiser eta(t, x) = E[z | x_t = x],
  whose score is s = -eta/gamma, is learned beside it in the same run, on a second head of the
  same network, when gamma > 0 or --sampler em is asked (--denoiser auto; 'on' forces it, 'off'
  never learns it). With gamma = 0, a standard Gaussian base and the independent coupling it
  learns eta = E[x0 | x_t] instead (one-sided, s = -eta/alpha; under --coupling ot or mirror x0
  depends on x1 and that identity fails, so a score there needs gamma > 0). --model exact trains
  nothing: it samples the closed-form drift and score of a Gaussian-mixture pair (gaussian,
  8gaussians, mixture, cloud; independent coupling); any other pair is an error (exit status 2).
sampling: --sampler euler|heun|rk4 integrate the ODE dX = b dt on [0, 1]. --sampler em is
  Euler-Maruyama for the SDE dX = [b + eps(t) s] dt + sqrt(2 eps(t)) dW (backward: b - eps s),
  eps(t) = --epsilon times --epsilon-shape (constant, bump = 4t(1-t), sinesquared = sin^2(pi t)),
  on [t0, 1 - t0] (--t0) where the score is finite; --epsilon 0 is the ODE. metrics.json
  reports path_straightness and path_curvature of the recorded paths. --sample-steps N is the
  number of integration steps (Euler evaluates b once a step, Heun twice, RK4 four times;
  metrics.json reports drift_evaluations); --nfe is its old name.
warnings: a config that runs but gives a degenerate result (encdec with gamma = 0, where x_t is
  a single point at t = 1/2; --coupling mirror with a target other than the base, which is not
  used) prints 'warning: ...' on stderr before training. --power starts at 1: p < 1 makes the
  drift infinite at t = 0 and 1."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit status 2."""

    def error(self, message):
        self.exit(EXIT_BAD_INPUT, f"error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="python -m playground",
        description="Stochastic interpolants in 2D: train a drift (and the score when gamma > 0 "
                    "or the SDE asks for it), sample, measure.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=WHAT_IS_TRAINED + "\n" + _registries_text())
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="train a drift (and score), sample and write results to --out",
                         formatter_class=argparse.RawDescriptionHelpFormatter,
                         epilog=WHAT_IS_TRAINED + "\n" + _registries_text())
    run.add_argument("--config", help="a config.json to start from (flags given override it)")
    run.add_argument("--out", required=True, help="output folder (created; must be empty if it exists)")
    defaults = ExperimentConfig()
    for flag, (name, kind) in RUN_FLAGS.items():
        choices = CHOICES.get(name)
        hint = f"one of {', '.join(choices)}; " if choices else ""
        run.add_argument(f"--{flag}", dest=name, type=kind, default=None,
                         help=f"{hint}default {getattr(defaults, name)!r}")
    run.add_argument("--no-antithetic", dest="antithetic", action="store_false", default=None,
                     help="plain loss instead of antithetic pairs (z, −z) when γ > 0")
    run.add_argument("--no-averaged-target", dest="averaged_target", action="store_false", default=None,
                     help="regress on the plain target ẋ_t, not its average over the batch (playground.averaged)")
    run.add_argument("--nfe", dest="sample_steps", type=_int, default=None,
                     help="old name of --sample-steps (it always counted integration steps)")

    sd = sub.add_parser("sample-dist", help="sample a distribution into a .npy file (n, 2) float32",
                        epilog=_registries_text(), formatter_class=argparse.RawDescriptionHelpFormatter)
    sd.add_argument("name", help="a registered distribution name or file:PATH")
    sd.add_argument("--n", type=_int, default=5000)
    sd.add_argument("--seed", type=_int, default=0)
    sd.add_argument("--out", required=True)

    bs = sub.add_parser("build-scenes", help="train every scene (fixed steps and seed, 1 thread) and write "
                        "its float16 weights, thumbnail and the manifest")
    bs.add_argument("--out", default=None, help="output folder (default: assets/scenes)")
    bs.add_argument("--only", action="append", choices=list(SCENES), metavar="NAME",
                    help=f"rebuild only this scene (repeatable); one of {', '.join(SCENES)}")
    return p


def config_from_args(args: argparse.Namespace) -> ExperimentConfig:
    data: dict = {}
    if args.config:
        try:
            data = json.loads(Path(args.config).read_text())
        except OSError as exc:
            raise CliError(f"cannot read --config {args.config}: {exc.strerror or exc}") from None
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise CliError(f"--config {args.config} is not valid JSON") from None
        if not isinstance(data, dict):
            raise CliError(f"--config {args.config} must hold a JSON object")
    for name, _ in list(RUN_FLAGS.values()) + [("antithetic", bool), ("averaged_target", bool)]:
        value = getattr(args, name, None)
        if value is not None:
            data[name] = value
    # a budget flag replaces the config file's budget: --steps N is N steps, --seconds S is S s
    steps, seconds = getattr(args, "steps", None), getattr(args, "seconds", None)
    if steps is not None and seconds is None:
        data["seconds"] = 0.0
    elif seconds is not None and steps is None:
        data["steps"] = 0
    try:
        return ExperimentConfig.from_dict(data)
    except ConfigError as exc:
        raise CliError(str(exc)) from None


def _prepare_out(out: str) -> Path:
    path = Path(out)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise CliError(f"--out {out} exists and is not an empty folder")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"cannot create the parent of --out {out}: {exc.strerror or exc}") from None
    return path


def cmd_run(args) -> int:
    from playground.experiment import config_warnings, run_experiment

    cfg = config_from_args(args)
    try:  # build the distributions now, so a bad file fails before anything is written
        base = make_distribution(cfg.base, cfg.base_params)
        target = make_distribution(cfg.target, cfg.target_params)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    check_stochastic(cfg, base, target)
    out = _prepare_out(args.out)
    for line in config_warnings(cfg):  # runs, but the result is degenerate: say so before training
        print(f"warning: {line}", file=sys.stderr)
    torch.set_num_threads(int(os.environ.get("PLAYGROUND_THREADS", "1")))
    result = run_experiment(cfg, on_chunk=_progress_printer(cfg))
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=out.parent))
    try:
        traj = result.trajectory
        np.save(tmp / "samples.npy", traj.final.numpy().astype(np.float32))
        np.save(tmp / "trajectory.npy", traj.path.numpy().astype(np.float32))
        (tmp / "metrics.json").write_text(json.dumps(result.metrics, indent=2, sort_keys=True))
        (tmp / "config.json").write_text(cfg.to_json())
        if result.state is not None:  # the exact field has no weights
            state = result.state
            torch.save({"config": cfg.to_dict(), "state_dict": state.sampling_network.state_dict(),
                        "denoiser": state.denoiser_kind, "step": state.step,
                        "train_seconds": state.train_seconds}, tmp / "model.pt")
        if out.exists():
            out.rmdir()
        tmp.rename(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    m = result.metrics
    trained = ("exact field, no training" if result.state is None else
               f"{m['trained']}: {m['train_steps']} steps in {m['train_seconds']:.1f} s "
               f"({m['steps_per_second']:.0f}/s)")
    print(f"wrote {out}: {trained}; energy distance {m['energy_distance']:.4f} "
          f"(floor {m['floor_energy_distance']:.4f}); sliced W2 {m['sliced_w2']:.4f} "
          f"(floor {m['floor_sliced_w2']:.4f})")
    return 0


def check_stochastic(cfg: ExperimentConfig, base, target) -> None:
    """The checks of --model, --sampler em, --epsilon and --denoiser that need the
    distributions; CliError (exit status 2) before anything is written."""
    from playground.experiment import exact_field, sde_problem
    from playground.score import denoiser_kind
    from playground.training import build_schedule

    if sde_problem(cfg):
        raise CliError(sde_problem(cfg))
    if cfg.epsilon > 0 and cfg.sampler != "em":
        raise CliError(f"--epsilon {cfg.epsilon:g} applies to the SDE sampler only: add --sampler em "
                       f"(or drop --epsilon; --sampler {cfg.sampler} integrates the ODE)")
    if cfg.model == "exact":
        try:
            exact_field(cfg, base, target)
        except ValueError as exc:
            raise CliError(f"--model exact: {exc}") from None
        return
    try:
        denoiser_kind(cfg.denoiser, build_schedule(cfg).stochastic, base,
                      sde_asked=cfg.sampler == "em" or cfg.epsilon > 0,
                      needs_score=cfg.sampler == "em" and cfg.epsilon > 0, coupling=cfg.coupling)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def _progress_printer(cfg: ExperimentConfig):
    if not sys.stderr.isatty():
        return None

    def show(state, losses):
        if len(losses):
            print(f"\rstep {state.step}  loss {float(np.mean(losses)):.4f}", end="", file=sys.stderr)
        if state.done:
            print(file=sys.stderr)
    return show


def cmd_sample_dist(args) -> int:
    if args.n < 1 or args.n > 10_000_000:
        raise CliError(f"--n must be between 1 and 10000000, got {args.n}")
    if args.seed < 0:
        raise CliError(f"--seed must be >= 0, got {args.seed}")
    try:
        dist = make_distribution(args.name)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    x = dist.sample(args.n, torch.Generator().manual_seed(args.seed)).numpy().astype(np.float32)
    out = Path(args.out)
    if out.suffix != ".npy":
        raise CliError(f"--out {args.out} must end in .npy")
    out.parent.mkdir(parents=True, exist_ok=True)
    np.save(out, x)
    print(f"wrote {out}: {x.shape[0]} samples of {args.name}")
    return 0


COMMANDS = {"run": cmd_run, "sample-dist": cmd_sample_dist, "build-scenes": cmd_build_scenes}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except TrainingDiverged as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
