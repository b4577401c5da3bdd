"""Is the drift learning? The training loss judged against what no model can beat.

The drift loss E|b̂(t, x_t) − ẋ_t|² never reaches 0: its minimum, reached by the exact drift
b(t, x) = E[ẋ_t | x_t = x], is the irreducible variance E|ẋ_t − b(t, x_t)|² (the **floor**). With
γ > 0 most of the loss is that floor (the γ̇ z term), so a loss that stays flat from the first
steps is often a model sitting at its floor, not one that fails. What a model can learn is the
gap between the floor and the loss of the best drift that **ignores x**, m(t) = E[ẋ_t | t] (the
**constant-in-x** loss): a model that has learned nothing about where particles are sits there.

`assess(state)` evaluates the current model, m(t) and a floor estimate on one fixed reference
batch (the same samples for all three, so their differences are precise even when the loss
itself is noisy) and says how much of the learnable gap the model has closed. `loss_warning`
turns that into a message only when the model is no better than ignoring x, or worse (an
unstable, too-high learning rate), never because the loss is flat.

The floor estimate is a leave-one-out k-nearest-neighbour average of ẋ_t within narrow time
bins, whose mean squared error, floor · (1 + 1/k) + bias², is scaled by k / (k + 1). Against the
exact field of 8 Gaussians (γ zero, brownian, squared) it came out 1-3% above the true floor on
8192 samples: a slight over-estimate, which only makes the learnable gap look smaller and the
warning rarer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from playground.couplings import make_coupling
from playground.training import T_EPS, TrainState, make_state

REFERENCE_SIZE = 8192
"""Samples (t, x0, x1, z) in the reference batch."""
TIME_BINS = 32
"""m(t) = E[ẋ_t | t] and the floor's neighbourhoods are taken within this many equal time bins."""
NEIGHBOURS = 4
MIN_STEPS = 200
"""No verdict before this many steps: a healthy run may not have moved yet."""
LEARNED_ENOUGH = 0.05
"""A model learns when it beats m(t) significantly (3 standard errors) and by at least this
fraction of the learnable gap."""
REFERENCE_SEED = 7919


@dataclass(frozen=True)
class LossAssessment:
    """Losses of one reference batch, each a mean over it of |field − ẋ_t|² (summed over dims).

    model: the current b̂. constant: the best drift that ignores x, m(t) = E[ẋ_t | t] (binned).
    floor: an estimate (from above) of the irreducible E|ẋ_t − b(t, x_t)|². advantage_se: the
    standard error of constant − model (paired over the batch)."""

    model: float
    constant: float
    floor: float
    advantage_se: float
    steps: int

    @property
    def learnable(self) -> float:
        """constant − floor: what a model can gain over ignoring x (at least a tiny positive number)."""
        return max(self.constant - self.floor, 1e-12)

    @property
    def learned_fraction(self) -> float:
        """(constant − model) / (constant − floor): 0 for a model that learned nothing about x, about
        1 at the floor; negative when the model is worse than ignoring x. NaN if the model's loss is."""
        return (self.constant - self.model) / self.learnable

    @property
    def learning(self) -> bool:
        """Significantly better than m(t), by at least LEARNED_ENOUGH of the learnable gap."""
        if not np.isfinite(self.model):
            return False
        return self.constant - self.model > max(3 * self.advantage_se, LEARNED_ENOUGH * self.learnable)


@dataclass(frozen=True)
class ReferenceBatch:
    """t (n,), x_t (n, 2), ẋ_t (n, 2) in float64 on the CPU; bins (n,) the time bin of each;
    constant (n, 2) m(t) and floor (n, 2) the floor's estimate of b(t, x_t), at each sample.
    They depend only on the config, so one batch serves every step of a run."""

    t: torch.Tensor
    xt: torch.Tensor
    dxt: torch.Tensor
    bins: torch.Tensor
    constant: torch.Tensor
    floor: torch.Tensor


def reference_batch(state: TrainState, n: int = REFERENCE_SIZE, seed: int = REFERENCE_SEED) -> ReferenceBatch:
    """A fixed batch of the training distribution of `state` (its base, target, coupling and
    schedule), drawn from its own generator; the coupling is applied in training-sized batches."""
    cfg = state.config
    g = torch.Generator().manual_seed(seed)
    x0, x1 = state.base.sample(n, g), state.target.sample(n, g)
    couple, size = make_coupling(cfg.coupling), max(int(cfg.batch), 2)
    pairs = [couple(x0[i:i + size], x1[i:i + size]) for i in range(0, n, size)]
    x0, x1 = torch.cat([p[0] for p in pairs]).double(), torch.cat([p[1] for p in pairs]).double()
    z = torch.randn(n, 2, generator=g, dtype=torch.float64)
    if state.interpolant.schedule.stochastic:  # where training samples t (γ̇ is infinite at the ends)
        t = T_EPS + (1 - 2 * T_EPS) * torch.rand(n, generator=g, dtype=torch.float64)
    else:
        t = torch.rand(n, generator=g, dtype=torch.float64)
    s = state.interpolant.sample(t, x0, x1, z)
    bins = (t * TIME_BINS).long().clamp(max=TIME_BINS - 1)
    return ReferenceBatch(t, s.xt, s.dxt, bins, constant_field(bins, s.dxt), floor_field(bins, s.xt, s.dxt))


def constant_field(bins: torch.Tensor, dxt: torch.Tensor) -> torch.Tensor:
    """m(t) = E[ẋ_t | t], the mean of ẋ_t (n, 2) in each time bin (bins (n,)), at every sample: (n, 2)."""
    sums = torch.zeros(TIME_BINS, 2, dtype=dxt.dtype).index_add_(0, bins, dxt)
    counts = torch.bincount(bins, minlength=TIME_BINS).clamp(min=1).to(dxt.dtype)
    return (sums / counts[:, None])[bins]


def floor_field(bins: torch.Tensor, xt: torch.Tensor, dxt: torch.Tensor, k: int = NEIGHBOURS) -> torch.Tensor:
    """A leave-one-out estimate of b(t, x_t) = E[ẋ_t | x_t] at every sample (xt, dxt (n, 2), bins
    (n,)): the mean ẋ of its k nearest neighbours in x within its time bin. (n, 2)."""
    out = dxt.clone()
    for j in range(TIME_BINS):
        idx = torch.nonzero(bins == j).squeeze(1)
        if len(idx) < 2:
            continue
        d = torch.cdist(xt[idx], xt[idx])
        d.fill_diagonal_(float("inf"))
        near = d.topk(min(k, len(idx) - 1), largest=False).indices
        out[idx] = dxt[idx][near].mean(1)
    return out


@torch.no_grad()
def assess(state: TrainState, ref: ReferenceBatch | None = None, field=None) -> LossAssessment:
    """The current model's loss beside the constant-in-x loss and the floor, on one reference
    batch (built from `state` when not given; pass one to reuse it across steps). `field`
    (t (n,), x (n, 2)) -> (n, 2) replaces the state's model (e.g. an exact field)."""
    ref = reference_batch(state) if ref is None else ref
    const, floor = ref.constant, ref.floor
    model = state.model if field is None else field
    was_training = getattr(model, "training", None)
    if was_training is not None:
        model.eval()
    try:
        dtype = torch.float32 if field is None else torch.float64
        pred = model(ref.t.to(state.device, dtype), ref.xt.to(state.device, dtype))
    finally:
        if was_training is not None:
            model.train(was_training)
    pred = pred.detach().to("cpu", torch.float64)
    err_model = ((pred - ref.dxt) ** 2).sum(1)
    err_const = ((const - ref.dxt) ** 2).sum(1)
    err_floor = ((floor - ref.dxt) ** 2).sum(1)
    gain = err_const - err_model
    se = float(gain.std() / np.sqrt(len(gain))) if torch.isfinite(gain).all() else float("nan")
    floor = float(err_floor.mean()) * NEIGHBOURS / (NEIGHBOURS + 1)
    return LossAssessment(float(err_model.mean()), float(err_const.mean()),
                          min(floor, float(err_const.mean())), se, int(state.step))


def warning_text(a: LossAssessment, lr: float) -> str | None:
    """A message when the model does not learn (judged against m(t) and the floor), else None."""
    if a.steps < MIN_STEPS or a.learning:
        return None
    facts = (f"on a fixed reference batch the model's loss is {a.model:.3g}, while a drift that ignores "
             f"x entirely reaches {a.constant:.3g} (the floor no model can beat is about {a.floor:.3g})")
    if not np.isfinite(a.model) or a.model > a.constant + 3 * a.advantage_se:
        return (f"The model is worse than ignoring x: {facts}. The learning rate {lr:g} is probably too "
                "high: lower it and press Train.")
    return (f"The model has not learned anything about x yet: {facts}. If the loss curve is also flat "
            f"far above the floor, the learning rate {lr:g} is probably too "
            + ("high." if lr > 1e-2 else "low, or the run too short."))


ASSESS_EVERY = 250
"""Steps between two assessments of a run that is training (each costs one forward pass of the
reference batch, a few milliseconds)."""


def loss_warning(state: TrainState | None, memo=None) -> str | None:
    """The warning for a run (see :func:`warning_text`), or None. `memo(name, key, build)` may
    keep the reference batch per config and the assessment per ASSESS_EVERY steps (a session's
    `view`); without it everything is recomputed."""
    if state is None or state.step < MIN_STEPS:
        return None
    memo = memo or (lambda name, key, build: build())
    ref = memo("diagnostics_reference", state.config, lambda: reference_batch(state))
    a = memo("diagnostics_assessment", (state.config, state.step // ASSESS_EVERY), lambda: assess(state, ref))
    return warning_text(a, state.config.lr)


def main(argv: list[str] | None = None) -> int:
    """`python -m playground.diagnostics target=checkerboard gamma=brownian [steps=N ...]`: train that
    config and print its losses beside m(t) and the floor, and the warning (or none)."""
    import sys
    import time

    from playground.config import ExperimentConfig
    from playground.training import train

    fields = dict(arg.split("=", 1) for arg in (sys.argv[1:] if argv is None else argv))
    types = {k: type(v) for k, v in ExperimentConfig().to_dict().items()}
    def parse(k, v):
        kind = types.get(k, str)
        return v.lower() in ("1", "true", "yes") if kind is bool else kind(v)

    cfg = ExperimentConfig(**{k: parse(k, v) for k, v in fields.items()}).validate()
    torch.set_num_threads(1)
    state = make_state(cfg, "cpu")
    t0 = time.perf_counter()
    train(state)
    a = assess(state)
    print(f"{cfg.base} → {cfg.target}, γ {cfg.gamma}, lr {cfg.lr:g}: {state.step} steps in "
          f"{time.perf_counter() - t0:.1f} s; model {a.model:.4g}, ignoring x {a.constant:.4g}, floor ≈ {a.floor:.4g}, "
          f"learned {a.learned_fraction:.2f} of the gap; warning: {warning_text(a, cfg.lr)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
