"""Training the drift b̂(t, x) in chunks: a state object and `train_steps(state, n) -> losses`.

The loss is MATH.md's  E_t E |b̂(t, x_t) − ẋ_t|²  (antithetic form when γ > 0). When the config
asks for it (`playground.score.denoiser_kind`: γ > 0 or the SDE sampler, by default) the same
network also learns the denoiser η̂(t, x) = E[z | x_t = x] on a second head, from the same batch,
with the loss E|η̂(t, x_t) − z|² (antithetic targets ±z); `state.losses` stays the drift loss and
`state.denoiser_losses` records the denoiser's. The default γ = 0 run is unchanged. Training runs in
chunks that return to the caller, so a page can draw progress and stop between chunks. All
randomness comes from the state's own `torch.Generator` (seeded from the config), so two runs
with the same config and seed give identical losses. A non-finite loss or gradient raises
`TrainingDiverged` naming the step, after restoring the weights of the last complete chunk.

The budget (`TrainState.progress`) is `config.steps` optimizer steps when steps > 0 (a
deterministic run), else `config.seconds` of training time measured by `state.clock`; the cosine
learning rate follows that progress, so it is fitted to a time budget too. With `config.ema > 0`
a moving average of the weights is kept beside them and is what samples (`drift`, `fields`,
`sampling_network`). MLP steps run a hand-written forward and backward
(`playground.models.regression_grads`) and the fused Adam kernel without its Python wrapper.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from playground.averaged import KnownSide, averaged_targets, known_side
from playground.config import ExperimentConfig
from playground.couplings import make_coupling
from playground.distributions import Distribution, make_distribution
from playground.interpolants import Interpolant
from playground.models import FieldMLP, has_manual_grads, regression_grads
from playground.schedules import Schedule, ScheduleOutput, resolve_schedule
from playground.score import Head, LearnedFields, TwoHeadMLP, denoiser_kind

Tensor = torch.Tensor
T_EPS = 1e-3
"""Training times are drawn from [T_EPS, 1 − T_EPS] when γ > 0 (γ̇ is infinite at the ends)."""
DIVERGENCE_FACTOR = 1e4
"""A loss this many times the run's first loss (or above 1e4, whichever is larger) counts as
divergence, like a non-finite one: Adam with a huge learning rate can blow the loss up to 1e19
and then settle on a useless plateau without ever producing NaN."""
MANUAL_GRADS = True
"""Train MLPs with `playground.models.regression_grads` (the same gradients as autograd, no graph;
bench/throughput.py measures the gain). False: `loss.backward()`."""


ADAM_BETAS = (0.9, 0.999)
"""Adam's moment decays (PyTorch's defaults; bench/study.py measures others)."""


class TrainingDiverged(RuntimeError):
    """The loss or a gradient became non-finite; the weights were rolled back."""

    def __init__(self, step: int, what: str, restored_step: int):
        self.step, self.what, self.restored_step = step, what, restored_step
        super().__init__(f"training diverged at step {step}: {what} (lower the learning rate); "
                         f"kept the weights of step {restored_step}")


def resolve_device(name: str = "auto") -> tuple[torch.device, str]:
    """`auto` picks CUDA, then Apple MPS, then the CPU. Returns (device, note for the user).

    An explicit device that is absent falls back to the CPU with a note saying so.
    """
    cuda = torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if name == "auto":
        if cuda:
            return torch.device("cuda"), f"auto: using CUDA ({torch.cuda.get_device_name(0)})"
        if mps:
            return torch.device("mps"), "auto: using Apple MPS"
        return torch.device("cpu"), "auto: no GPU found, using the CPU"
    if name == "cuda" and not cuda:
        return torch.device("cpu"), "CUDA was requested but is not available: using the CPU"
    if name == "mps" and not mps:
        return torch.device("cpu"), "Apple MPS was requested but is not available: using the CPU"
    if name not in ("cpu", "cuda", "mps"):
        raise ValueError(f"unknown device {name!r}; choose auto, cpu, cuda or mps")
    return torch.device(name), f"using {name}"


def build_schedule(cfg: ExperimentConfig) -> Schedule:
    """The schedule a config asks for."""
    return resolve_schedule(cfg.schedule, cfg.gamma, cfg.gamma_scale, cfg.power, cfg.alpha, cfg.beta)


def build_distributions(cfg: ExperimentConfig) -> tuple[Distribution, Distribution]:
    """(base ρ0, target ρ1) of a config."""
    return (make_distribution(cfg.base, cfg.base_params),
            make_distribution(cfg.target, cfg.target_params))


def build_model(cfg: ExperimentConfig, generator: torch.Generator) -> FieldMLP:
    return FieldMLP(cfg.width, cfg.depth, cfg.activation, cfg.time_features, generator=generator,
                    x_features=cfg.x_features)


@dataclass
class TrainState:
    """Everything a training run owns. Mutated in place by `train_steps`."""

    config: ExperimentConfig
    device: torch.device
    model: FieldMLP
    optimizer: torch.optim.Optimizer
    generator: torch.Generator
    base: Distribution
    target: Distribution
    interpolant: Interpolant
    step: int = 0
    train_seconds: float = 0.0
    losses: list[float] = field(default_factory=list)
    device_note: str = ""
    first_loss: float | None = None
    denoiser: torch.nn.Module | None = None  # η̂(t, x) (n, 2), a head of the drift's network
    denoiser_kind: str = "none"  # "z" (s = −η̂/γ), "x0" (one-sided, s = −η̂/α) or "none"
    denoiser_losses: list[float] = field(default_factory=list)
    ema: torch.nn.Module | None = None  # moving average of `network`'s weights (config.ema > 0)
    ema_drift: torch.nn.Module | None = None  # the drift field over `ema` (what samples)
    known: KnownSide | None = None  # the mixture side the regression targets are averaged against

    clock: Callable[[], float] = field(default=time.perf_counter, repr=False)
    """What measures `train_seconds` (wall time; bench uses the training thread's CPU time)."""

    @property
    def total_steps(self) -> int | None:
        """The step budget, or None for a time budget."""
        return self.config.steps if self.config.steps > 0 else None

    def progress(self) -> float:
        """Fraction of the budget used, in [0, 1]: by steps when steps > 0, else by seconds.
        The one place that says how far a run is (done, the lr schedule, the UI's bar)."""
        if self.config.steps > 0:
            return min(1.0, self.step / self.config.steps)
        return min(1.0, self.train_seconds / self.config.seconds)

    @property
    def done(self) -> bool:
        return self.progress() >= 1.0

    def lr_at(self, progress: float) -> float:
        if self.config.lr_schedule == "constant":
            return self.config.lr
        return self.config.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    def drift(self):
        """The learned drift as a field `(t (n,), x (n, 2)) -> (n, 2)` in eval mode: the moving
        average of the weights when config.ema > 0 (what every sampler uses), else the model."""
        return self.model if self.ema_drift is None else self.ema_drift

    @property
    def network(self) -> torch.nn.Module:
        """The module that owns every trained weight (what the optimizer updates)."""
        return self.model.net if isinstance(self.model, Head) else self.model

    @property
    def sampling_network(self) -> torch.nn.Module:
        """The weights that sample (the EMA when on): what model.pt, exports and scenes save.
        Loading weights into `model` (load_state_dict) sets the EMA to them as well."""
        return self.network if self.ema is None else self.ema

    @property
    def has_score(self) -> bool:
        return self.denoiser is not None

    def fields(self) -> LearnedFields | None:
        """Drift and score (one evaluation) for the SDE sampler; None without a denoiser."""
        if self.denoiser is None:
            return None
        self.model.eval()
        return LearnedFields(self.sampling_network, self.interpolant.schedule, self.denoiser_kind)


def make_state(cfg: ExperimentConfig, device: str | torch.device | None = None) -> TrainState:
    """A fresh run for `cfg`: model initialised from the seed, optimizer, data generator."""
    cfg.validate()
    if device is None or isinstance(device, str):
        dev, note = resolve_device(device or cfg.device)
    else:
        dev, note = device, f"using {device}"
    init_gen = torch.Generator().manual_seed(cfg.seed)
    base, target = build_distributions(cfg)
    schedule = build_schedule(cfg)
    kind = denoiser_kind(cfg.denoiser, schedule.stochastic, base,
                         sde_asked=cfg.sampler == "em" or cfg.epsilon > 0,
                         needs_score=cfg.sampler == "em" and cfg.epsilon > 0, coupling=cfg.coupling)
    denoiser = None
    if kind == "none":
        model = build_model(cfg, init_gen).to(dev)
    else:  # one trunk, two heads [b̂ | η̂] (see playground.score for the measurement)
        net = TwoHeadMLP(cfg.width, cfg.depth, cfg.activation, cfg.time_features,
                         generator=init_gen, x_features=cfg.x_features).to(dev)
        model, denoiser = Head(net, 0, 2), Head(net, 2, 4)
    try:
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=ADAM_BETAS, fused=True)
    except (RuntimeError, TypeError):  # fused unsupported on this device/dtype
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=ADAM_BETAS)
    data_gen = torch.Generator().manual_seed(cfg.seed + 1)
    state = TrainState(cfg, dev, model, opt, data_gen, base, target, Interpolant(schedule),
                       device_note=note, denoiser=denoiser, denoiser_kind=kind,
                       known=known_side(base, target, cfg.coupling, dev) if cfg.averaged_target else None)
    if cfg.ema > 0:
        attach_ema(state)
    return state


def attach_ema(state: TrainState) -> None:
    """Give `state` a moving average of its network's weights, starting at the current weights.
    Whenever weights are loaded into the network (a checkpoint, a scene, a rollback) the average
    is set to them, so what samples is always what was loaded."""
    net = state.network
    ema = copy.deepcopy(net).requires_grad_(False).eval()
    state.ema = ema
    state.ema_drift = Head(ema, 0, 2) if isinstance(state.model, Head) else ema

    def follow(module, _keys):
        with torch.no_grad():
            for a, b in zip(ema.parameters(), module.parameters(), strict=True):
                a.copy_(b)
    net.register_load_state_dict_post_hook(follow)


def ema_decay(decay: float, updates: int) -> float:
    """The averaging weight of update number `updates` (0-based): `decay`, warmed up as
    (1 + k)/(10 + k) so that the first steps (random weights) are forgotten quickly."""
    return min(decay, (1 + updates) / (10 + updates))


def draw_batch(state: TrainState, n: int):
    """One training batch: t (n,), x0, x1, z (n, 2), coupled, on the state's device."""
    g, cfg = state.generator, state.config
    x0 = state.base.sample(n, g)
    x1 = state.target.sample(n, g)
    x0, x1 = make_coupling(cfg.coupling)(x0, x1)
    z = torch.randn(n, 2, generator=g)
    if state.interpolant.schedule.stochastic:
        t = T_EPS + (1 - 2 * T_EPS) * torch.rand(n, generator=g)
    else:
        t = torch.rand(n, generator=g)
    dev = state.device
    return t.to(dev), x0.to(dev), x1.to(dev), z.to(dev)


def drift_loss(model, interpolant: Interpolant, t, x0, x1, z, antithetic: bool) -> Tensor:
    """MATH.md's drift loss, mean over the batch of |b̂(t, x_t) − ẋ_t|² (summed over dims)."""
    s = interpolant.sample(t, x0, x1, z)
    if antithetic and interpolant.schedule.stochastic:
        m = interpolant.antithetic(s)
        tt = torch.cat([s.t, m.t])
        pred = model(tt, torch.cat([s.xt, m.xt]))
        return ((pred - torch.cat([s.dxt, m.dxt])) ** 2).sum(1).mean()
    return ((model(s.t, s.xt) - s.dxt) ** 2).sum(1).mean()


def regression_batch(state: TrainState, t, x0, x1, z, antithetic: bool
                     ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(t (m,), x_t (m, 2), target (m, k), plain target (m, k)) of one batch, as one least-squares
    problem: the drift's target in the first 2 columns, the denoiser's in the last 2 (two heads).

    The plain target is MATH.md's (`drift_loss`'s ẋ_t, and z or x0 for the denoiser); the
    target trained on is its average over the batch's other samples (`playground.averaged`) when
    `state.known` is set, else the plain target itself. Losses are reported against the plain
    target, so they keep their meaning and their floor."""
    interp = state.interpolant
    s = interp.sample(t, x0, x1, z)
    two_heads = state.denoiser is not None
    kind = state.denoiser_kind if two_heads else "none"
    if antithetic and interp.schedule.stochastic:
        m = interp.antithetic(s)
        tt, xx, plain = torch.cat([s.t, m.t]), torch.cat([s.xt, m.xt]), torch.cat([s.dxt, m.dxt])
        if two_heads:
            plain = torch.cat([plain, torch.cat([z, -z])], dim=1)
        halves = 2
    else:
        tt, xx, plain = s.t, s.xt, s.dxt
        if two_heads:
            plain = torch.cat([plain, z if kind == "z" else x0], dim=1)
        halves = 1
    if state.known is None:
        return tt, xx, plain, plain
    c = s.coefficients
    noise = c.col("gamma") * z if interp.schedule.stochastic else torch.zeros_like(z)
    if halves == 2:  # both antithetic halves in one call; a block spanning both holds every atom twice,
        # which leaves each point's weights as they are
        c = ScheduleOutput(*(torch.cat([v, v]) for v in c.as_dict().values()))
        x0, x1, noise = torch.cat([x0, x0]), torch.cat([x1, x1]), torch.cat([noise, -noise])
    drift, eta, ok = averaged_targets(state.known, c, x0, x1, noise, kind)
    target = drift if eta is None else torch.cat([drift, eta], dim=1)
    return tt, xx, torch.where(ok[:, None], target, plain), plain


def _step_grads(state: TrainState, t, x0, x1, z, antithetic: bool, manual: bool) -> tuple[Tensor, Tensor | None]:
    """(drift loss, denoiser loss or None) against the plain targets, with the gradients of the
    trained (possibly averaged) targets' loss in .grad: by `regression_grads` when `manual`,
    else by autograd."""
    tt, xx, target, plain = regression_batch(state, t, x0, x1, z, antithetic)
    if manual:
        residual = regression_grads(state.network, tt, xx, target)
    else:
        out = state.network(tt, xx)
        state.optimizer.zero_grad(set_to_none=True)
        (out - target).square().sum(1).mean().backward()
        residual = out.detach() - target
    if plain is not target:
        residual = residual + (target - plain)
    sq = residual.square()
    if state.denoiser is None:
        return sq.sum(1).mean(), None
    return sq[:, :2].sum(1).mean(), sq[:, 2:].sum(1).mean()


def train_steps(state: TrainState, n: int) -> np.ndarray:
    """Run up to n optimizer steps (fewer if the budget ends); return their losses (k,).

    On a non-finite loss or gradient, restores the weights and optimizer of the chunk start,
    drops this chunk's losses and raises `TrainingDiverged` naming the step. Any other exception
    inside a step gets the same rollback before it propagates, so the state always holds a
    whole number of chunks (step == len(losses)).
    """
    cfg = state.config
    model, opt = state.model, state.optimizer
    snapshot = (copy.deepcopy(model.state_dict()), copy.deepcopy(opt.state_dict()),
                state.generator.get_state(), state.step, state.train_seconds,
                None if state.ema is None else copy.deepcopy(state.ema.state_dict()))
    # antithetic pairs double the evaluations: draw half as many pairs for an equal batch
    antithetic = cfg.antithetic and state.interpolant.schedule.stochastic
    n_pairs = max(1, cfg.batch // 2) if antithetic else cfg.batch
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    ema_params = None if state.ema is None else list(state.ema.parameters())
    losses, drift_losses, eta_losses, norms = [], [], [], []  # losses: what is optimised
    two_heads = state.denoiser is not None
    manual = MANUAL_GRADS and has_manual_grads(state.network)  # forward and backward by hand
    adam = None  # the fused Adam kernel's tensor lists, once the optimizer's state exists
    clock = state.clock
    start = clock()
    try:
        for _ in range(n):
            if state.done:
                break
            lr = state.lr_at(state.progress())
            for group in opt.param_groups:
                group["lr"] = lr
            t, x0, x1, z = draw_batch(state, n_pairs)
            loss_b, loss_eta = _step_grads(state, t, x0, x1, z, antithetic, manual)
            loss = loss_b if loss_eta is None else loss_b + loss_eta
            norms.append(_clip_grads(params, cfg.grad_clip))
            adam = _adam_step(opt, params, lr, adam)
            if ema_params is not None:  # ema ← ema + (1 − d)(w − ema)
                torch._foreach_lerp_(ema_params, params, 1.0 - ema_decay(cfg.ema, state.step))
            losses.append(loss.detach())
            if two_heads:
                drift_losses.append(loss_b.detach())
                eta_losses.append(loss_eta.detach())
            state.step += 1
            state.train_seconds = snapshot[4] + (clock() - start)
        if losses:  # one divergence check per chunk: the chunk start is restored anyway
            _check_chunk(state, snapshot, torch.stack(losses), torch.stack(norms))
    except TrainingDiverged:
        raise
    except BaseException:  # any other failure (a bug, out of memory, an interrupt): same rollback
        _restore(state, snapshot)
        raise
    model.eval()
    if two_heads and losses:
        values = torch.stack(drift_losses).cpu().double().numpy()
        state.denoiser_losses.extend(torch.stack(eta_losses).cpu().double().tolist())
    else:
        values = torch.stack(losses).cpu().numpy().astype(np.float64) if losses else np.zeros(0)
    state.losses.extend(values.tolist())
    return values


def _adam_step(opt: torch.optim.Optimizer, params: list, lr: float, lists: tuple | None) -> tuple | None:
    """opt.step(), or for fused Adam (one param group) what it does without its Python overhead
    (half a millisecond a step, a quarter of a small model's step): count the step, then the fused
    kernel on the optimizer's own state tensors. Returns the lists to pass next time."""
    group = opt.param_groups[0]
    if lists is None:
        if not (isinstance(opt, torch.optim.Adam) and group.get("fused") and len(opt.param_groups) == 1
                and not group["amsgrad"] and not group["maximize"] and not group.get("decoupled_weight_decay")
                and all(p in opt.state and "exp_avg" in opt.state[p] for p in params)):
            opt.step()
            return None
        st = [opt.state[p] for p in params]
        lists = ([s["exp_avg"] for s in st], [s["exp_avg_sq"] for s in st], [s["step"] for s in st])
    exp_avgs, exp_avg_sqs, steps = lists
    beta1, beta2 = group["betas"]
    torch._foreach_add_(steps, 1)
    torch._fused_adam_(params, [p.grad for p in params], exp_avgs, exp_avg_sqs, [], steps, amsgrad=False,
                       lr=lr, beta1=beta1, beta2=beta2, weight_decay=group["weight_decay"], eps=group["eps"],
                       maximize=False, grad_scale=None, found_inf=None)
    return lists


def _clip_grads(params: list, max_norm: float) -> Tensor:
    """The total gradient norm; scales the gradients down to max_norm when it is larger
    (max_norm 0: no clipping). What clip_grad_norm_ does, without its per-call overhead
    (a third of a millisecond a step, about 10% of a small model's step)."""
    grads = [p.grad for p in params if p.grad is not None]
    total = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
    if max_norm > 0:
        torch._foreach_mul_(grads, (max_norm / (total + 1e-6)).clamp(max=1.0))
    return total


def _check_chunk(state: TrainState, snapshot, losses: Tensor, norms: Tensor) -> None:
    """Raise TrainingDiverged (after restoring the chunk start) when a step's loss or gradient
    was not finite, or its loss exploded; name the first such step."""
    if state.first_loss is None:
        state.first_loss = float(losses[0])
    limit = DIVERGENCE_FACTOR * max(1.0, state.first_loss)
    bad_loss, bad_grad = ~torch.isfinite(losses), ~torch.isfinite(norms)
    exploded = torch.isfinite(losses) & (losses >= limit)
    bad = bad_loss | bad_grad | exploded
    if not bool(bad.any()):
        return
    k = int(torch.nonzero(bad)[0])
    what = ("the loss is not finite" if bad_loss[k] else "the gradient is not finite" if bad_grad[k]
            else f"the loss exploded to {float(losses[k]):.3g}")
    restored = snapshot[3]
    _restore(state, snapshot)
    raise TrainingDiverged(restored + k + 1, what, restored)


def move_state(state: TrainState, device: str | torch.device) -> None:
    """Move a run (weights and optimizer state) to another device, e.g. to the CPU after CUDA ran
    out of memory; training then continues there with the same losses it would have had."""
    device = torch.device(device)
    state.model.to(device)
    if state.ema is not None:
        state.ema.to(device)
    for per_param in state.optimizer.state.values():
        for key, value in per_param.items():
            if torch.is_tensor(value):
                per_param[key] = value.to(device)
    state.device = device


def _restore(state: TrainState, snapshot) -> None:
    weights, opt_state, gen_state, step, seconds, ema = snapshot
    state.model.load_state_dict(weights)
    if ema is not None:  # after the model: loading it set the average to its weights
        state.ema.load_state_dict(ema)
    state.optimizer.load_state_dict(opt_state)
    state.generator.set_state(gen_state)
    state.step, state.train_seconds = step, seconds
    state.model.eval()


def train(state: TrainState, chunk: int = 200, callback=None) -> TrainState:
    """Train until the budget (steps or seconds) is spent, calling `callback(state, losses)`
    after each chunk; a callback returning False stops early."""
    while not state.done:
        losses = train_steps(state, chunk)
        if callback is not None and callback(state, losses) is False:
            break
        if len(losses) == 0:
            break
    return state
