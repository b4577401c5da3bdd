"""One user's playground run, independent of any UI: train in timed chunks, stop, resume, reset.

The app keeps one `PlaygroundSession` per browser session (in `st.session_state`), and calls
`train_for(seconds)` from a fragment while `status == "training"`. The session remembers the
config the model was trained with, so the page can say when the current settings make the model
stale instead of silently retraining. A process-wide cap on simultaneous training chunks
(`TRAINING_SLOTS`, set by `set_training_slots`) keeps many users from all crawling at once.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from playground import diagnostics
from playground.animation import LIVE_PARTICLES, LIVE_STEPS, AnimationData, build_animation
from playground.config import ExperimentConfig
from playground.experiment import sampling_field
from playground.sampling import integrate
from playground.training import TrainingDiverged, TrainState, make_state, move_state, train_steps

MODEL_FIELDS = ("base", "target", "base_params", "target_params", "schedule", "power", "gamma",
                "gamma_scale", "antithetic", "averaged_target", "coupling", "width", "depth", "activation",
                "time_features", "x_features", "batch", "lr", "lr_schedule", "grad_clip", "seed", "device",
                "denoiser")
"""Config fields that define the trained model: changing one makes the model stale."""

FIELD_LABELS = {"base": "base", "target": "target", "base_params": "base drawing",
                "target_params": "target drawing", "gamma_scale": "γ scale", "gamma": "γ",
                "schedule": "schedule", "lr": "learning rate", "lr_schedule": "lr schedule",
                "grad_clip": "gradient clip", "time_features": "time features",
                "x_features": "features of x"}

_slots_lock = threading.Lock()
QUEUE_WAIT = 0.25
"""Seconds a session waits for a training slot before it shows "waiting for a free slot" and
tries again on its next run (a chunk holds a slot for up to ~0.8 s)."""
TRAINING_SLOTS = threading.BoundedSemaphore(2)
"""At most this many sessions run a training chunk at the same moment (one per core)."""


_slots_n = 2


def set_training_slots(n: int) -> None:
    """Set the process-wide cap on concurrent training chunks (a no-op when unchanged, so the
    app may call it on every run)."""
    global TRAINING_SLOTS, _slots_n
    n = max(1, int(n))
    with _slots_lock:
        if n != _slots_n:
            TRAINING_SLOTS, _slots_n = threading.BoundedSemaphore(n), n


@dataclass
class PlaygroundSession:
    """status: idle (no model) | training | stopped | done | error | closed (tab gone, model freed)."""

    state: TrainState | None = None
    status: str = "idle"
    message: str = ""
    queued: bool = False
    chunk_steps: list[int] = field(default_factory=list)
    preview: np.ndarray | None = None
    preview_step: int = -1
    preview_time: float = 0.0
    _animation_key: tuple | None = None
    _animation: AnimationData | None = None
    _live: AnimationData | None = None
    _live_step: int = -1
    pretrained: dict | None = None
    """Facts of weights trained elsewhere (a scene): {"title", "steps", "metrics", ...}; None once
    this session trains."""
    _views: dict = field(default_factory=dict, repr=False)
    animation_serial: int = 0
    """Counts the animations built (a view of an animation is keyed by it)."""
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # -------------------------------------------------------------- what the page asks
    @property
    def trained_config(self) -> ExperimentConfig | None:
        return self.state.config if self.state is not None else None

    @property
    def has_model(self) -> bool:
        return self.state is not None and self.state.step > 0

    def stale_fields(self, cfg: ExperimentConfig) -> list[str]:
        """Model-defining fields where cfg differs from the trained model's config."""
        old = self.trained_config
        if old is None:
            return []
        return [FIELD_LABELS.get(f, f) for f in MODEL_FIELDS if getattr(old, f) != getattr(cfg, f)]

    def steps_per_second(self) -> float:
        s = self.state
        return s.step / s.train_seconds if s and s.train_seconds > 0 else 0.0

    # -------------------------------------------------------------- buttons
    def start(self, cfg: ExperimentConfig) -> None:
        """Train: a fresh model from cfg (same seed, same run), then status training."""
        with self.lock:
            self._fresh(cfg)
            self.status = "training"

    def reset(self, cfg: ExperimentConfig) -> None:
        """Reset: forget the model and its history; the next Train starts over with cfg's seed."""
        with self.lock:
            self.state = None
            self.status, self.message = "idle", ""
            self._clear_outputs()

    def stop(self) -> None:
        if self.status == "training":
            self.status = "stopped"
            self.message = f"stopped at step {self.state.step}" if self.state else ""

    def resume(self, cfg: ExperimentConfig) -> None:
        """Continue the current model; a larger step budget in cfg extends the run."""
        if self.state is None:
            return self.start(cfg)
        with self.lock:
            if cfg.steps != self.state.config.steps or cfg.seconds != self.state.config.seconds:
                self.state.config = self.state.config.replace(steps=cfg.steps, seconds=cfg.seconds)
            if not self.state.done:
                self.status, self.message = "training", ""

    def install_model(self, cfg: ExperimentConfig, state_dict: dict, steps_done: int | None = None,
                      note: str = "", facts: dict | None = None) -> None:
        """Show a model trained elsewhere (a scene's shipped weights, an uploaded file): a fresh
        state for cfg with these weights, status stopped; Resume continues training it. `facts`
        (e.g. a scene's title, steps and metrics) stay in `pretrained` until this session trains."""
        with self.lock:
            self._fresh(cfg)
            self.state.model.load_state_dict(state_dict)
            self.state.model.eval()
            self.state.step = max(1, cfg.steps if steps_done is None else int(steps_done))
            self.status, self.message = "stopped", note
            self.pretrained = dict(facts) if facts else None

    def _fresh(self, cfg: ExperimentConfig) -> None:
        self.state = make_state(cfg)
        self.message = self.state.device_note if cfg.device != "auto" and "not available" in \
            self.state.device_note else ""
        self._clear_outputs()

    def _clear_outputs(self) -> None:
        self.chunk_steps = []
        self.preview, self.preview_step = None, -1
        self._animation_key, self._animation = None, None
        self._live, self._live_step = None, -1
        self.pretrained = None
        self._views.clear()

    # -------------------------------------------------------------- work
    def train_for(self, seconds: float = 0.5, max_steps: int = 100_000) -> int:
        """Train for about `seconds` of wall time (whole steps, at least one chunk of 10).

        Returns the number of steps done. Waits up to QUEUE_WAIT seconds for a free training
        slot and sets `queued` when none came. On divergence: status error, weights of the last complete
        chunk kept, message says why.
        """
        if self.status != "training" or self.state is None:
            return 0
        self.pretrained = None  # from here on these are weights trained in this session
        slots = TRAINING_SLOTS
        if not slots.acquire(timeout=min(seconds, QUEUE_WAIT)):
            self.queued = True
            return 0
        self.queued = False
        done = 0
        try:
            with self.lock:
                deadline = time.perf_counter() + seconds
                chunk = 10
                while (self.status == "training"  # close() ends a chunk early
                       and time.perf_counter() < deadline and done < max_steps and not self.state.done):
                    t0 = time.perf_counter()
                    done += len(train_steps(self.state, chunk))
                    per_step = (time.perf_counter() - t0) / chunk
                    # aim for chunks of ~0.1 s so a stop or a rerun waits at most that long
                    chunk = int(min(max(10, 0.1 / max(per_step, 1e-6)), 2000))
                if self.status == "closed":
                    self._drop()
                    return done
                self.chunk_steps.append(self.state.step)
        except TrainingDiverged as exc:
            self.status, self.message = "error", str(exc)
        except torch.cuda.OutOfMemoryError:
            if self.state.device.type == "cpu":
                raise
            with self.lock:  # the chunk was rolled back: go on from there on the CPU
                move_state(self.state, "cpu")
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            self.message = ("The GPU ran out of memory: training continues on the CPU (slower; a "
                            "smaller batch or width would fit the GPU).")
        finally:
            slots.release()
        if self.state.done and self.status == "training":
            self.status = "done"
            self.message = f"finished {self.state.step} steps"
        return done

    def close(self) -> None:
        """The browser tab went away: stop training and free the model, optimizer, history and
        animation. Never blocks (Streamlit calls it on its event loop): a chunk in progress stops
        after its current inner step batch (~0.1 s) and frees the state itself."""
        self.status, self.message = "closed", "The connection was lost, so this model was freed: press Train."
        if self.lock.acquire(blocking=False):
            try:
                self._drop()
            finally:
                self.lock.release()

    def _drop(self) -> None:
        self.state = None
        self._clear_outputs()

    def loss_csv(self) -> str:
        """The loss history as CSV (step,loss), each value exact (the float's repr)."""
        steps, losses = self.loss_history()
        return "step,loss\n" + "".join(f"{s},{v!r}\n" for s, v in zip(steps.tolist(), losses.tolist()))

    def fail(self, message: str) -> None:
        """Record an unexpected failure: training stops, the last complete chunk is kept."""
        self.status, self.message = "error", message

    @torch.no_grad()
    def preview_samples(self, n: int = 1000, steps: int = 20, every: float = 2.0) -> np.ndarray | None:
        """Samples of the current model (Euler, few steps), recomputed when the model moved, at
        most every `every` seconds while it trains (always once it stopped)."""
        s = self.state
        if s is None or s.step == 0:
            return None
        fresh = self.status == "training" and time.monotonic() - self.preview_time < every
        if self.preview is None or (self.preview_step != s.step and not fresh):
            self.preview_time = time.monotonic()
            with self.lock:
                g = torch.Generator().manual_seed(s.config.seed + 2)
                x0 = (s.base if s.config.direction == "forward" else s.target).sample(n, g)
                traj = integrate(s.model, x0, steps, "euler", s.config.direction, keep=0,
                                 device=s.device)
                self.preview, self.preview_step = traj.final.numpy(), s.step
        return self.preview

    def animation(self, cfg: ExperimentConfig, particles: int, arrows_grid: int) -> AnimationData | None:
        """Animation arrays of the current model with cfg's sampling settings, cached."""
        s = self.state
        if s is None or s.step == 0:
            return None
        sampling = s.config.replace(sampler=cfg.sampler, sample_steps=cfg.sample_steps, direction=cfg.direction,
                                    samples=cfg.samples, epsilon=cfg.epsilon,
                                    epsilon_shape=cfg.epsilon_shape, t0=cfg.t0)
        key = self._key(sampling, particles, arrows_grid)
        if key != self._animation_key:
            if sampling.sampler == "em" and sampling.epsilon > 0 and not s.has_score:
                raise ValueError("this model learned no score, so the SDE needs ε = 0: train with γ > 0 "
                                 "(the denoiser is learned beside the drift), or pick an ODE integrator")
            with self.lock:
                self._animation = build_animation(sampling_field(s), sampling, s.base, s.target,
                                                  s.interpolant, particles, arrows_grid, device=s.device)
                self._animation_key = key
                self.animation_serial += 1
        return self._animation

    def _key(self, sampling: ExperimentConfig, particles: int, arrows_grid: int) -> tuple:
        return (self.state.step, sampling.sampler, sampling.sample_steps, sampling.direction, sampling.epsilon,
                sampling.epsilon_shape, sampling.t0, particles, arrows_grid)

    def adopt_animation(self, cfg: ExperimentConfig, particles: int, arrows_grid: int, anim: AnimationData) -> None:
        """Use `anim`, built elsewhere from these very weights and settings (a scene's animation,
        shared by every session that opens it), as what `animation(cfg, particles, arrows_grid)`
        returns until the model or the settings change."""
        if self.state is None:
            return
        sampling = self.state.config.replace(sampler=cfg.sampler, sample_steps=cfg.sample_steps,
                                             direction=cfg.direction, epsilon=cfg.epsilon,
                                             epsilon_shape=cfg.epsilon_shape, t0=cfg.t0, samples=cfg.samples)
        self._animation, self._animation_key = anim, self._key(sampling, particles, arrows_grid)
        self.animation_serial += 1

    @torch.no_grad()
    def live_flow(self, particles: int = LIVE_PARTICLES, steps: int = LIVE_STEPS) -> AnimationData | None:
        """A light animation of the current model (paths (steps + 1, particles, 2) beside the true
        x_t), recomputed when the model has moved since the last call (cached per step).

        Always the same starting particles (cfg.seed), so successive updates show the flow forming.
        Integrates the drift alone with the config's ODE integrator (Heun for the SDE sampler): the
        score is still rough while the model trains. At step 0 it is the untrained network's flow."""
        s = self.state
        if s is None:
            return None
        if self._live is None or self._live_step != s.step:
            with self.lock:
                cfg = s.config
                sampler = cfg.sampler if cfg.sampler != "em" else "heun"
                cfg = cfg.replace(sampler=sampler, epsilon=0.0)
                self._live = build_animation(s.drift(), cfg, s.base, s.target, s.interpolant, particles,
                                             0, steps=steps, device=s.device)
                self._live_step = s.step
        return self._live

    def view(self, name: str, key, build):
        """A per-session memo of one derived object per `name` (a figure, a player's data): returns
        the stored one while `key` is unchanged, else `build()`. A rerun that changes neither the
        model nor the view's settings reuses it (and Streamlit then resends nothing new)."""
        held = self._views.get(name)
        if held is not None and held[0] == key:
            return held[1]
        value = build()
        self._views[name] = (key, value)
        return value

    def loss_warning(self) -> str | None:
        """A message when the model learns nothing about x (judged against the loss's floor, not
        against "the loss is flat"; see playground.diagnostics), else None."""
        return diagnostics.loss_warning(self.state, self.view)

    def loss_history(self) -> tuple[np.ndarray, np.ndarray]:
        """(steps (k,), losses (k,)) of the whole run."""
        losses = np.asarray(self.state.losses if self.state else [], dtype=np.float64)
        return np.arange(1, len(losses) + 1), losses
