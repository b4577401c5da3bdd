"""Theory: the walk-through of stochastic interpolants, each step beside a live numerical check on
the current experiment and the library's own source (read at run time, so it never drifts)."""

import inspect
import json
import os
import sys
import textwrap
from pathlib import Path

# Run on its own (`streamlit run views/theory.py`), this folder comes first on sys.path and
# views/playground.py would shadow the `playground` package: put the repository root first.
ROOT = str(Path(__file__).resolve().parents[1])
if sys.path[0] != ROOT:
    sys.path.insert(0, ROOT)

import pandas as pd
import streamlit as st
import torch

from playground import exact, interpolants, sampling, schedules, theory, training
from playground import sde as sde_module
from playground.config import ConfigError, ExperimentConfig

DEFAULTS = ExperimentConfig()
SETTINGS = ("base", "target", "schedule", "gamma", "gamma_scale", "power", "seed")
SETUP_FIELDS = ("base", "target", "base_params", "target_params", "schedule", "power", "gamma",
                "gamma_scale", "alpha", "beta")


# ------------------------------------------------------------------ settings and cached checks
def current_config() -> tuple[ExperimentConfig, str | None]:
    """The Playground's settings from st.session_state (config defaults where absent): the
    widget keys of ui/controls.py, a drawing ("user", from user_dist) and typed formulas."""
    ss = st.session_state
    values = {k: ss.get(k, getattr(DEFAULTS, k)) for k in SETTINGS}
    for side in ("base", "target"):
        if values[side] == "user":
            entry = (ss.get("user_dist") or {}).get(side)
            values[side], values[f"{side}_params"] = ((entry["name"], entry["params"]) if entry
                                                      else (getattr(DEFAULTS, side), {}))
    try:
        if ss.get("use_formulas"):
            trial = {"alpha": str(ss.get("alpha_text") or "").strip(),
                     "beta": str(ss.get("beta_text") or "").strip()}
            if str(ss.get("gamma_text") or "").strip():
                trial["gamma"] = str(ss["gamma_text"]).strip()
            if not ExperimentConfig(**{**values, **trial}).schedule_problems():
                values.update(trial)
            elif ss.get("last_valid_formulas"):  # as the Playground does: the last valid ones
                values.update(ss["last_valid_formulas"])
        return ExperimentConfig(**values).validate(), None
    except (ConfigError, TypeError, ValueError) as exc:
        return DEFAULTS, f"Using the default settings: {exc}"


def _setup(key: str) -> theory.TheorySetup:
    return theory.theory_setup(ExperimentConfig.from_dict(json.loads(key)))


def _gen(seed: int, offset: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed * 1000 + offset)


# Pure functions of plain arguments (the setup as JSON): safe to share, bounded in size.
@st.cache_data(max_entries=64, show_spinner=False)
def boundary(key: str, seed: int):
    su = _setup(key)
    return theory.boundary_report(su.schedule, su.base, su.target, generator=_gen(seed, 1))


@st.cache_data(max_entries=64, show_spinner=False)
def conditional(key: str, seed: int, t: float, radius: float):
    su = _setup(key)
    return theory.conditional_expectation_check(su.field, su.interpolant, su.base, su.target, t,
                                                radius=radius, generator=_gen(seed, 2))


@st.cache_data(max_entries=64, show_spinner=False)
def loss_identity(key: str, seed: int):
    su = _setup(key)
    return theory.loss_identity_check(su.field, su.interpolant, su.base, su.target,
                                      generator=_gen(seed, 3))


@st.cache_data(max_entries=64, show_spinner=False)
def euler(key: str, seed: int, steps: int):
    su = _setup(key)
    return theory.euler_demo(su.field, su.base, su.target, steps=steps, generator=_gen(seed, 4))


@st.cache_data(max_entries=64, show_spinner=False)
def score(key: str, seed: int, t: float, radius: float):
    su = _setup(key)
    return theory.score_check(su.field, su.interpolant, su.base, su.target, t, radius=radius,
                              generator=_gen(seed, 5))


@st.cache_data(max_entries=64, show_spinner=False)
def sde(key: str, seed: int, epsilons: tuple):
    su = _setup(key)
    return theory.sde_check(su.field, su.base, su.target, epsilons, generator=_gen(seed, 6))


# ------------------------------------------------------------------ small views
def show_source(title: str, *objects) -> None:
    """The library's source of each object, read with inspect.getsource."""
    with st.expander(title):
        for obj in map(inspect.unwrap, objects):  # @torch.no_grad() wraps: show the function
            lines, start = inspect.getsourcelines(obj)
            path = os.path.relpath(inspect.getsourcefile(obj), ROOT)
            st.caption(f"`{obj.__qualname__}`: {path}, line {start}")
            st.code(textwrap.dedent("".join(lines)), language="python")


def vec(v) -> str:
    return f"({v[0]:.3f}, {v[1]:.3f})"


def est(e: theory.Estimate) -> str:
    return e.text(4)


def ball_table(c: theory.ConditionalCheck, what: str, field: str) -> pd.DataFrame:
    return pd.DataFrame({
        "component": ["x", "y"],
        f"Monte Carlo {what} (± s.e.)": [est(e) for e in c.mc],
        f"{field} averaged over the same samples": [f"{v:.4f}" for v in c.exact_ball],
        f"{field} at the centre": [f"{v:.4f}" for v in c.exact_at_x],
        "difference / s.e.": [f"{theory.z_score(d):.2f}" for d in c.diff],
    })


def reach_verdict(energy: float, floor: theory.Floor, start: float, what: str) -> None:
    """A few times the noise floor (one draw of a multi-modal target fluctuates that much) against
    the distance before transport: success; far above it: a failure, explained when it can be."""
    ratio = energy / floor.mean if floor.mean > 0 else float("inf")
    before = start / floor.mean if floor.mean > 0 else float("inf")
    if ratio <= 10:
        st.success(f"{what} reaches ρ1: energy distance {ratio:.1f}× the noise floor, from "
                   f"{before:,.0f}× before transport. At {floor.n:,} samples one draw varies by a "
                   "factor of a few: press Redraw to see it move.")
        return
    t_c = theory.collapse_time(setup.schedule)
    why = (f" At t = {t_c:g} α = β = γ = 0: every sample sits on one point, so no flow can carry "
           "them back out. Choose a γ > 0 on the Playground page." if t_c is not None
           else " Try more steps.")
    st.warning(f"{what} ends {ratio:.1f}× the noise floor away from ρ1 ({before:,.0f}× before "
               f"transport).{why}")


def verdict(z: float, what: str) -> None:
    if z != z:  # NaN: no samples
        st.warning(f"No samples fell in the ball: {what} could not be estimated. Move t or redraw.")
    elif z <= 4:
        st.success(f"{what}: agreement within {z:.1f} standard errors.")
    else:
        st.error(f"{what}: {z:.1f} standard errors apart.")


# ------------------------------------------------------------------ the page
st.set_page_config(layout="wide")  # as in app.py; also when the page runs on its own
st.title("Theory: stochastic interpolants, step by step")
st.caption("Each step of the walk-through is written as mathematics, checked live on the current "
           "experiment, and shown as the library code that actually runs.")

cfg, problem = current_config()
if problem:
    st.warning(problem)
redraws = st.session_state.get("theory_redraws", 0)
seed = int(cfg.seed) + 7919 * redraws
s = json.dumps({k: getattr(cfg, k) for k in SETUP_FIELDS}, sort_keys=True)
setup = _setup(s)
if cfg.alpha or cfg.beta or cfg.gamma_is_formula:
    sched_text = ", ".join(f"{n} = {v}" for n, v in (("α", cfg.alpha), ("β", cfg.beta),
                                                     ("γ", cfg.gamma if cfg.gamma_is_formula else ""))
                           if v) + f" (other coefficients from **{cfg.schedule}**)"
else:
    sched_text = f"schedule **{cfg.schedule}**" + (f" (p = {cfg.power:g})" if cfg.schedule == "power" else "")
if not setup.schedule.stochastic:
    sched_text += ", γ = 0"
elif not cfg.gamma_is_formula:
    sched_text += f", γ: {cfg.gamma}, a = {cfg.gamma_scale:g}"
st.markdown(f"**Experiment** (set on the Playground page): {cfg.base} → {cfg.target}, {sched_text}, "
            f"seed {cfg.seed}.")
if setup.note:
    st.info(setup.note)
c1, c2, c3 = st.columns([2, 2, 1])
t_check = c1.slider("time t of the pointwise checks (steps 2 and 5)", 0.05, 0.95, 0.35, 0.05,
                    key="theory_t")
radius = c2.select_slider("ball radius r", [0.1, 0.15, 0.2, 0.3, 0.4], 0.2, key="theory_radius")
if c3.button("Redraw", key="theory_redraw", help="new random numbers for every check"):
    st.session_state["theory_redraws"] = redraws + 1
    st.rerun()

# 1 ------------------------------------------------------------------------------------------
st.header("1. The interpolant and its boundary conditions")
left, right = st.columns([5, 6], gap="large")
with left:
    st.latex(r"x_t = \alpha(t)\,x_0 + \beta(t)\,x_1 + \gamma(t)\,z")
    st.markdown(r"with $(x_0, x_1)\sim\nu$ (independent: $\rho_0\otimes\rho_1$) and "
                r"$z\sim\mathcal N(0,\mathrm{Id})$ independent of them. Boundary conditions:")
    st.latex(r"\alpha(0)=\beta(1)=1,\quad \alpha(1)=\beta(0)=0,\quad \gamma(0)=\gamma(1)=0")
    st.markdown(r"so that $x_{t=0} = x_0$ and $x_{t=1} = x_1$: the process starts on the base "
                r"$\rho_0$ and ends on the target $\rho_1$. Its velocity is")
    st.latex(r"\dot x_t = \dot\alpha(t)\,x_0 + \dot\beta(t)\,x_1 + \dot\gamma(t)\,z .")
with right:
    st.markdown("**Live check**: the coefficients at t = 0 and 1, and x_t on 1,000 samples.")
    rep = boundary(s, seed)
    sym = {"alpha": "α", "beta": "β", "gamma": "γ"}
    st.dataframe(pd.DataFrame([{"coefficient": f"{sym[c.name]}({c.t:g})", "value": f"{c.value:.3g}",
                                "expected": f"{c.expected:g}", "holds": "yes" if c.ok else "NO"}
                               for c in rep.checks]), hide_index=True)
    st.markdown(f"max |x_t − x0| at t = 0: **{rep.error_at_0:.2g}**; "
                f"max |x_t − x1| at t = 1: **{rep.error_at_1:.2g}**")
    (st.success if rep.ok else st.error)("Boundary conditions hold." if rep.ok else
                                          "A boundary condition fails for this schedule.")
show_source("Library source: the interpolant and the schedule",
            interpolants.Interpolant.sample, schedules.Schedule.__call__,
            type(setup.schedule.pair).__call__, type(setup.schedule.gamma)._eval,
            schedules.boundary_checks)

# 2 ------------------------------------------------------------------------------------------
st.header("2. The drift is a conditional expectation")
left, right = st.columns([5, 6], gap="large")
with left:
    st.markdown(r"The law $\rho_t$ of $x_t$ solves a transport equation, so particles moved by a "
                r"drift $b$ have the same marginals:")
    st.latex(r"\partial_t \rho_t + \nabla\cdot(b\,\rho_t) = 0 \iff dX_t = b(t, X_t)\,dt")
    st.latex(r"b(t, x) = \mathbb E[\dot x_t \mid x_t = x]")
    st.markdown(r"For Gaussian mixtures $x_t\mid(i,j)\sim\mathcal N(m_{ij}, C_{ij})$, with weights "
                r"$w_{ij}(x)\propto p_i q_j\,\mathcal N(x; m_{ij}, C_{ij})$:")
    st.latex(r"b(t,x) = \sum_{ij} w_{ij}(x)\big[\dot m_{ij} + \tfrac12 \dot C_{ij} C_{ij}^{-1}"
             r"(x - m_{ij})\big]")
with right:
    c = conditional(s, seed, t_check, radius)
    st.markdown(f"**Live check** at t = {c.t:g}: average ẋ_t over the {c.n_in:,} of {c.n:,} samples "
                f"with |x_t − x| < {c.radius:g}, x = {vec(c.x)}. By the tower property this "
                "average estimates the exact drift averaged over the same samples.")
    st.dataframe(ball_table(c, "E[ẋ_t | x_t ∈ ball]", "exact b"), hide_index=True)
    verdict(c.z, "E[ẋ_t | x_t ≈ x] and the exact b")
show_source("Library source: the exact drift, and this check",
            exact.ExactField.drift, exact.ExactField._chunk, theory.conditional_expectation_check)

# 3 ------------------------------------------------------------------------------------------
st.header("3. The loss, and why its minimiser is the drift")
left, right = st.columns([5, 6], gap="large")
with left:
    st.latex(r"\mathcal L(\hat b) = \int_0^1 \mathbb E\,\big|\hat b(t, x_t) - \dot x_t\big|^2\,dt")
    st.markdown("Expand the distance to the true drift and add and subtract the velocity:")
    st.latex(r"\begin{aligned}\textstyle\int\mathbb E|\hat b - b|^2 &= \textstyle\int \mathbb E"
             r"\big[|\hat b|^2 - 2\hat b\cdot b\big] + \text{const}\\ &= \textstyle\int \mathbb E"
             r"\big[|\hat b - \dot x_t|^2 - 2\hat b\cdot b + 2\hat b\cdot\dot x_t\big] + \text{const}"
             r"\end{aligned}")
    st.markdown("By the tower property the last two terms cancel:")
    st.latex(r"\mathbb E[\hat b(x_t)\cdot\dot x_t] = \mathbb E\big[\hat b(x_t)\cdot\mathbb E[\dot x_t"
             r"\mid x_t]\big] = \mathbb E[\hat b\cdot b]")
    st.latex(r"\mathcal L(\hat b) = \int_0^1\mathbb E|\hat b - b|^2\,dt + C,\quad "
             r"C = \int_0^1 \mathbb E|\dot x_t - b|^2\,dt")
    st.markdown(r"$C$ does not depend on $\hat b$: the unique minimiser is $\hat b = b$, and the loss "
                r"never reaches 0 unless $\dot x_t$ is a function of $x_t$.")
with right:
    li = loss_identity(s, seed)
    st.markdown(f"**Live check**: {li.n:,} samples of (t, x0, x1, z), t uniform on "
                f"[{li.t_eps:g}, {1 - li.t_eps:g}]. Each row estimates both sides for one b̂.")
    st.dataframe(pd.DataFrame([{"b̂": r.name, "L(b̂) = E|b̂ − ẋ_t|²": est(r.loss),
                                "E|b̂ − b|²": est(r.distance), "L − E|b̂ − b|²": est(r.difference),
                                "|difference − C| / s.e.": f"{r.z:.2f}"} for r in li.rows]),
                 hide_index=True)
    st.markdown(f"C = E|ẋ_t − b|² = **{est(li.constant)}**. Difference between the first two rows' "
                f"differences: {est(li.between)} ({li.z_between:.1f} s.e.).")
    verdict(max([r.z for r in li.rows] + [li.z_between]), "L(b̂) − E|b̂ − b|² = C for every b̂")
show_source("Library source: the training loss, and this check",
            training.drift_loss, theory.loss_identity_check)

# 4 ------------------------------------------------------------------------------------------
st.header("4. Sampling: Euler integration of the drift")
left, right = st.columns([5, 6], gap="large")
with left:
    st.latex(r"X_{k+1} = X_k + h\, b(t_k, X_k),\qquad t_k = k h,\ h = 1/K")
    st.markdown(r"starting from $X_0\sim\rho_0$.")
    st.markdown("With the exact drift and enough steps the particles reach ρ1 up to the sampling "
                "noise floor; with a learned b̂ the same loop is the playground's sampler.")
    steps = st.slider("Euler steps K in the table", 1, 8, 4, key="theory_euler_steps")
with right:
    e = euler(s, seed, steps)
    st.markdown("**Live check**: three base particles, carried by the library's `integrate` "
                "(Euler) with the exact b.")
    st.dataframe(pd.DataFrame([{"k": r["k"], "t_k": f"{r['t_k']:.3f}", "particle": r["particle"],
                                "X_k": vec(r["X_k"]), "b(t_k, X_k)": vec(r["b(t_k, X_k)"]),
                                "X_k+1": vec(r["X_k+1"])} for r in e.rows]),
                 hide_index=True, height=min(36 * (len(e.rows) + 1) + 2, 330))
    st.markdown(f"max |X_k+1 − X_k − h b(t_k, X_k)| = **{e.residual:.2g}** (float32 rounding). "
                f"{e.n:,} particles with {e.quality_steps} steps: energy distance to ρ1 = "
                f"**{e.energy:.4f}** (before transport {e.start_energy:.4f}), noise floor "
                f"{e.floor.mean:.4f} ± {e.floor.std:.4f} (two target samples of {e.n:,}).")
    reach_verdict(e.energy, e.floor, e.start_energy, "Euler with the exact drift")
show_source("Library source: the integrator", sampling._step, sampling.integrate)

# 5 ------------------------------------------------------------------------------------------
st.header("5. The score and the denoiser")
left, right = st.columns([5, 6], gap="large")
with left:
    st.latex(r"\eta(t,x) = \mathbb E[z\mid x_t = x]")
    st.latex(r"s(t,x) = \nabla\log\rho_t(x) = -\frac{\eta(t,x)}{\gamma(t)}\quad(\gamma(t) > 0)")
    st.markdown(r"Given $(x_0,x_1)$, $x_t$ is Gaussian with mean $I = \alpha x_0 + \beta x_1$ and "
                r"covariance $\gamma^2\mathrm{Id}$, so $\nabla_x\log\rho_t(x\mid x_0,x_1) = -(x - I)/"
                r"\gamma^2 = -z/\gamma$; averaging over $(x_0,x_1)$ given $x_t = x$ gives the score. "
                r"The drift splits as")
    st.latex(r"b = v - \gamma\dot\gamma\, s,\qquad v(t,x) = \mathbb E[\dot\alpha x_0 + "
             r"\dot\beta x_1\mid x_t = x].")
with right:
    sc = score(s, seed, t_check, radius)
    st.markdown(f"**Live check** at t = {sc.t:g}: the closed-form score against autograd of "
                f"log ρ_t (float64), max error **{sc.max_error:.2g}**.")
    st.dataframe(pd.DataFrame({"x": [vec(p) for p in sc.points],
                               "closed-form s": [vec(p) for p in sc.closed_form],
                               "autograd ∇ log ρ_t": [vec(p) for p in sc.autograd]}), hide_index=True)
    if sc.denoiser is None:
        st.info(f"γ({sc.t:g}) = 0 here: η = E[z | x_t] = 0 carries no information, and s = −η/γ "
                "does not apply (choose a γ on the Playground page to see it).")
    else:
        d = sc.denoiser
        st.markdown(f"γ({sc.t:g}) = {sc.gamma:.3f}. Average of −z/γ over the {d.n_in:,} samples "
                    f"with |x_t − x| < {d.radius:g}, x = {vec(d.x)}:")
        st.dataframe(ball_table(d, "−E[z | x_t ∈ ball]/γ", "exact s"), hide_index=True)
        verdict(d.z, "−η/γ and the score")
show_source("Library source: score, denoiser and log-density",
            exact.ExactField.score, exact.ExactField.eta, exact.ExactField.log_density,
            theory.score_check)

# 6 ------------------------------------------------------------------------------------------
st.header("6. The SDE: the same marginals for every ε(t) ≥ 0")
left, right = st.columns([5, 6], gap="large")
with left:
    st.latex(r"dX = \big[b(t,X) + \varepsilon(t)\,s(t,X)\big]dt + \sqrt{2\varepsilon(t)}\,dW")
    st.markdown(r"Its Fokker–Planck equation is the transport equation of step 2, because "
                r"$\nabla\cdot(\varepsilon\,s\,\rho_t) = \varepsilon\,\nabla\cdot\nabla\rho_t = "
                r"\varepsilon\Delta\rho_t$ cancels the diffusion term:")
    st.latex(r"\partial_t\rho_t = -\nabla\cdot\big((b + \varepsilon s)\rho_t\big) + "
             r"\varepsilon\Delta\rho_t = -\nabla\cdot(b\,\rho_t)")
    st.markdown(r"Euler–Maruyama: $X \leftarrow X + h\,(b + \varepsilon s) + \sqrt{2\varepsilon h}\,"
                r"\xi$, $\xi\sim\mathcal N(0,\mathrm{Id})$.")
    eps = st.multiselect("ε (constant in t)", [0.0, 0.1, 0.25, 0.5, 1.0, 2.0], [0.0, 0.5, 1.0],
                         key="theory_eps")
with right:
    eps = tuple(sorted(float(x) for x in eps)) or (0.0,)
    sd = sde(s, seed, eps)
    st.markdown(f"**Live check**: {sd.n:,} base particles, {sd.steps} Euler–Maruyama steps of the "
                f"library's `integrate_sde` on [{sde_module.DEFAULT_T0:g}, {1 - sde_module.DEFAULT_T0:g}] "
                f"with the exact b and s. Noise floor (two target samples of {sd.n:,}): "
                f"{sd.floor.mean:.4f} ± {sd.floor.std:.4f}.")
    before = {"ε": "before transport", "energy distance to ρ1": f"{sd.start_energy:.4f}",
              "÷ floor": f"{sd.start_energy / sd.floor.mean:,.0f}"}
    st.dataframe(pd.DataFrame([before] + [{"ε": f"{r['epsilon']:g}",
                                           "energy distance to ρ1": f"{r['energy']:.4f}",
                                           "÷ floor": f"{r['ratio']:.2f}"} for r in sd.rows]),
                 hide_index=True)
    st.caption("A ratio near 1 is as good as the sample size allows.")
    worst = max(sd.rows, key=lambda r: r["energy"])
    reach_verdict(worst["energy"], sd.floor, sd.start_energy,
                  "The SDE" + (f" (worst: ε = {worst['epsilon']:g})" if len(sd.rows) > 1 else ""))
show_source("Library source: the SDE integrator and the exact score", sde_module.integrate_sde,
            exact.ExactField.drift_and_score, theory.sde_check)
