"""Theory: the walk-through of stochastic interpolants, each step beside a live numerical check on
the current experiment and the library's own source (read at run time, so it never drifts)."""

from ui.router import through_the_router

through_the_router()  # first line: a fresh server's deep link must reach app.py

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

from playground import averaged, exact, handout, interpolants, sampling, schedules, theory, training
from playground import sde as sde_module
from playground.config import ConfigError, ExperimentConfig
from ui import literal

DEFAULTS = ExperimentConfig()
SETTINGS = ("base", "target", "schedule", "gamma", "gamma_scale", "power", "seed")
SECTIONS = handout.SECTIONS
HIDE_IN_PRINT = ("stSidebar", "stHeader", "stToolbar", "stDecoration", "stSidebarCollapsedControl",
                 "stSlider", "stButton", "stDownloadButton", "stMultiSelect", "stExpander", "stStatusWidget",
                 "stDialog")
PAGE_CSS = ("<style>"
            # equations are split to fit their column: a browser test checks each one at 1440×900
            # and 1280×720
            "@media print {"
            + ", ".join(f"[data-testid='{t}'], .stElementContainer:has(> [data-testid='{t}'])"
                        for t in HIDE_IN_PRINT) + " { display: none !important; }"
            # the app scrolls inside a fixed-height container: let the document flow onto pages
            " .stApp, [data-testid='stAppViewContainer'], [data-testid='stMain'] { position: static !important;"
            " overflow: visible !important; height: auto !important; }"
            " [data-testid='stMainBlockContainer'] { padding: 0 !important; max-width: none !important; }"
            # math above its live check, each a full A4 width; each step on a new page
            " [data-testid='stHorizontalBlock'] { flex-direction: column !important; }"
            " [data-testid='stColumn'] { width: 100% !important; flex: 1 1 auto !important; }"
            " [data-testid='stMain'] h2 { break-before: page; }"
            " table, [data-testid='stAlert'], .katex-display { break-inside: avoid; }"
            "}</style>")
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


def user_entry(side: str) -> dict | None:
    """The drawing used on this side (the Playground's "user" choice), if any."""
    ss = st.session_state
    return (ss.get("user_dist") or {}).get(side) if ss.get(side) == "user" else None


def _setup(key: str) -> theory.TheorySetup:
    return theory.theory_setup(ExperimentConfig.from_dict(json.loads(key)))


_gen = theory.check_generator  # the handout's run_walkthrough draws the same numbers


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
def averaged_target(key: str, seed: int):
    su = _setup(key)
    return theory.averaged_target_check(su.field, su.interpolant, su.base, su.target,
                                        generator=_gen(seed, 7))


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


def table(rows: list[dict], index: bool = False) -> None:
    """Rows of short strings (playground.handout) as a static table, which wraps its cells to the
    column's width and prints (a data grid scrolls sideways and prints clipped)."""
    df = pd.DataFrame(rows)
    st.table(df.set_index(df.columns[0]) if index else df.style.hide(axis="index"))


def say(v: handout.Verdict | None) -> None:
    if v is not None:
        {"success": st.success, "warning": st.warning, "error": st.error}[v.level](v.text)


def side_name(side: str, cfg: ExperimentConfig, wrap) -> str:
    """How the base or target is named: a drawing by its label, a preset as the sidebar labels it;
    `wrap` prints user text literally (a markdown code span on the page, as is in the handout)."""
    entry, name = user_entry(side), getattr(cfg, side)
    return f"yours: {wrap(entry['label'])}" if entry else (handout.dist_label(name) or wrap(name))


# ------------------------------------------------------------------ the page
st.set_page_config(layout="wide")  # as in app.py; also when the page runs on its own
st.markdown(PAGE_CSS, unsafe_allow_html=True)
st.title("Theory: stochastic interpolants, step by step")
st.caption("Each step of the walk-through is written as mathematics, checked live on the current "
           "experiment, and shown as the library code that actually runs.")

cfg, problem = current_config()
if problem:
    st.warning(literal.escape(problem))  # may quote a typed formula
redraws = st.session_state.get("theory_redraws", 0)
seed = int(cfg.seed) + 7919 * redraws
s = json.dumps({k: getattr(cfg, k) for k in SETUP_FIELDS}, sort_keys=True)
setup = _setup(s)
shown = tuple(side_name(side, cfg, literal.code) for side in ("base", "target"))
experiment = handout.describe(cfg, setup.schedule.stochastic, literal.code, shown)
st.markdown(f"**Experiment** (set on the Playground page): {experiment}.")
if setup.note:
    st.info(setup.note)
c1, c2, c3 = st.columns([2, 2, 1], vertical_alignment="bottom")
t_check = c1.slider("time t of the pointwise checks (steps 2 and 5)", 0.05, 0.95, 0.35, 0.05,
                    key="theory_t")
radius = c2.select_slider("ball radius r", [0.1, 0.15, 0.2, 0.3, 0.4], 0.2, key="theory_radius")
if c3.button("Redraw", key="theory_redraw", help="new random numbers for every check"):
    st.session_state["theory_redraws"] = redraws + 1
    st.rerun()
handout_slot = st.container()  # filled at the end, once every check has run

# 1 ------------------------------------------------------------------------------------------
st.header(SECTIONS[0])
left, right = st.columns(2, gap="large")
with left:
    st.latex(r"x_t = \alpha(t)\,x_0 + \beta(t)\,x_1 + \gamma(t)\,z")
    st.markdown(r"with $(x_0, x_1)\sim\nu$ (independent: $\rho_0\otimes\rho_1$) and "
                r"$z\sim\mathcal N(0,\mathrm{Id})$ independent of them. Boundary conditions:")
    st.latex(r"\begin{gathered}\alpha(0)=\beta(1)=1,\quad \alpha(1)=\beta(0)=0,\\ "
             r"\gamma(0)=\gamma(1)=0\end{gathered}")
    st.markdown(r"so that $x_{t=0} = x_0$ and $x_{t=1} = x_1$: the process starts on the base "
                r"$\rho_0$ and ends on the target $\rho_1$. Its velocity is")
    st.latex(r"\dot x_t = \dot\alpha(t)\,x_0 + \dot\beta(t)\,x_1 + \dot\gamma(t)\,z .")
with right:
    st.markdown("**Live check**: the coefficients at t = 0 and 1, and x_t on 1,000 samples.")
    rep = boundary(s, seed)
    table(handout.boundary_rows(rep))
    st.markdown(f"max |x_t − x0| at t = 0: **{rep.error_at_0:.2g}**; "
                f"max |x_t − x1| at t = 1: **{rep.error_at_1:.2g}**")
    (st.success if rep.ok else st.error)("Boundary conditions hold." if rep.ok else
                                          "A boundary condition fails for this schedule.")
st.caption(handout.SCHEDULE_NAMES_NOTE)
show_source("Library source: the interpolant and the schedule",
            interpolants.Interpolant.sample, schedules.Schedule.__call__,
            type(setup.schedule.pair).__call__, type(setup.schedule.gamma)._eval,
            schedules.boundary_checks)

# 2 ------------------------------------------------------------------------------------------
st.header(SECTIONS[1])
left, right = st.columns(2, gap="large")
with left:
    st.markdown(r"The law $\rho_t$ of $x_t$ solves a transport equation, so particles moved by a "
                r"drift $b$ have the same marginals:")
    st.latex(r"\begin{gathered}\partial_t \rho_t + \nabla\cdot(b\,\rho_t) = 0\\ \iff\ "
             r"dX_t = b(t, X_t)\,dt\end{gathered}")
    st.latex(r"b(t, x) = \mathbb E[\dot x_t \mid x_t = x]")
    st.markdown(r"For Gaussian mixtures $x_t\mid(i,j)\sim\mathcal N(m_{ij}, C_{ij})$, with weights "
                r"$w_{ij}(x)\propto p_i q_j\,\mathcal N(x; m_{ij}, C_{ij})$:")
    st.latex(r"\begin{aligned}b(t,x) = \sum_{ij} w_{ij}(x)\big[&\dot m_{ij}\\ &+ \tfrac12 \dot C_{ij}"
             r" C_{ij}^{-1}(x - m_{ij})\big]\end{aligned}")
with right:
    c = conditional(s, seed, t_check, radius)
    st.markdown(f"**Live check** at t = {c.t:g}: average ẋ_t over the {c.n_in:,} of {c.n:,} samples "
                f"with |x_t − x| < {c.radius:g}, x = {handout.vec(c.x)}. By the tower property this "
                "average estimates the exact drift averaged over the same samples.")
    table(handout.ball_rows(c, "E[ẋ_t | x_t ∈ ball]", "exact b"), index=True)
    say(handout.agreement(c.z, "E[ẋ_t | x_t ≈ x] and the exact b"))
show_source("Library source: the exact drift, and this check",
            exact.ExactField.drift, exact.ExactField._chunk, theory.conditional_expectation_check)

# 3 ------------------------------------------------------------------------------------------
st.header(SECTIONS[2])
left, right = st.columns(2, gap="large")
with left:
    st.latex(r"\mathcal L(\hat b) = \int_0^1 \mathbb E\,\big|\hat b(t, x_t) - \dot x_t\big|^2\,dt")
    st.markdown("Expand the distance to the true drift and add and subtract the velocity:")
    st.latex(r"\begin{aligned}\textstyle\int\mathbb E|\hat b - b|^2 &= \textstyle\int \mathbb E"
             r"\big[|\hat b|^2 - 2\hat b\cdot b\big] + \text{const}\\ &= \textstyle\int \mathbb E"
             r"\,|\hat b - \dot x_t|^2\\ &\quad + \textstyle 2\int\mathbb E\big[\hat b\cdot\dot x_t"
             r" - \hat b\cdot b\big] + \text{const}\end{aligned}")
with right:
    st.markdown("By the tower property the last two terms cancel:")
    st.latex(r"\begin{aligned}\mathbb E[\hat b(x_t)\cdot\dot x_t] &= \mathbb E\big[\hat b(x_t)\cdot"
             r"\mathbb E[\dot x_t \mid x_t]\big]\\ &= \mathbb E[\hat b\cdot b]\end{aligned}")
    st.latex(r"\begin{gathered}\mathcal L(\hat b) = \int_0^1\mathbb E|\hat b - b|^2\,dt + C,\\ "
             r"C = \int_0^1 \mathbb E|\dot x_t - b|^2\,dt\end{gathered}")
    st.markdown(r"$C$ does not depend on $\hat b$: the unique minimiser is $\hat b = b$, and the loss "
                r"never reaches 0 unless $\dot x_t$ is a function of $x_t$.")
li = loss_identity(s, seed)
st.markdown(f"**Live check**: {li.n:,} samples of (t, x0, x1, z), t uniform on "
            f"[{li.t_eps:g}, {1 - li.t_eps:g}]. Each column estimates both sides for one b̂.")
table(handout.loss_rows(li), index=True)
st.markdown(f"C = E|ẋ_t − b|² = **{li.constant.text(4)}**. Difference between the first two "
            f"columns' differences: {li.between.text(4)} ({li.z_between:.1f} s.e.).")
say(handout.agreement(max([r.z for r in li.rows] + [li.z_between]), "L(b̂) − E|b̂ − b|² = C for every b̂"))
st.markdown(r"The same argument holds for any target $T$ with $\mathbb E[T \mid x_t] = b$ in place of "
            r"$\dot x_t$: the minimiser stays $b$, and only $C$, the noise in every gradient step, changes. "
            r"Training uses the **averaged target** $T = \mathbb E[\dot x_t \mid x_t,\ x_1^{(1)},\dots,"
            r"x_1^{(m)}]$: the batch's $x_1$ weighted by $\rho_t(x_t \mid x_1^{(j)})$, exact when the base "
            r"is a Gaussian mixture and the pairs are independent (the roles swap when the target is the "
            r"mixture). Near $t = 0$ it removes almost all of $C$; its bias is of order $1/m$. It is the "
            r"sidebar's *averaged target* option; the loss shown stays $|\hat b - \dot x_t|^2$.")
at = averaged_target(s, seed)
if at.averaged is None:
    st.caption("Neither side of this setup is a Gaussian mixture with independent pairs: training uses ẋ_t.")
else:
    st.markdown(f"**Live check**: on {at.n:,} fresh samples, in training batches of {at.batch} averaged "
                f"against the known {at.known}: E|ẋ_t − b|² = **{at.plain.text(3)}**, E|T − b|² = "
                f"**{at.averaged.text(3)}**, so the averaged target is **{at.ratio:.0f}×** closer to b.")
show_source("Library source: the training loss, the averaged target, and these checks",
            training.drift_loss, theory.loss_identity_check, averaged.averaged_targets,
            theory.averaged_target_check)

# 4 ------------------------------------------------------------------------------------------
st.header(SECTIONS[3])
left, right = st.columns(2, gap="large")
with left:
    st.latex(r"\begin{gathered}X_{k+1} = X_k + h\, b(t_k, X_k),\\ t_k = k h,\quad h = 1/K"
             r"\end{gathered}")
    st.markdown(r"starting from $X_0\sim\rho_0$.")
with right:
    st.markdown("With the exact drift and enough steps the particles reach ρ1 up to the sampling "
                "noise floor; with a learned b̂ the same loop is the playground's sampler.")
    steps = st.slider("Euler steps K in the table", 1, 8, 4, key="theory_euler_steps")
e = euler(s, seed, steps)
st.markdown("**Live check**: three base particles, carried by the library's `integrate` "
            "(Euler) with the exact b.")
table(handout.euler_rows(e))
st.markdown(f"max |X_k+1 − X_k − h b(t_k, X_k)| = **{e.residual:.2g}** (float32 rounding). "
            f"{e.n:,} particles with {e.quality_steps} steps: energy distance to ρ1 = "
            f"**{e.energy:.4f}** (before transport {e.start_energy:.4f}), noise floor "
            f"{e.floor.mean:.4f} ± {e.floor.std:.4f} (two target samples of {e.n:,}).")
say(handout.reached(e.energy, e.floor, e.start_energy, "Euler with the exact drift", setup.schedule))
show_source("Library source: the integrator", sampling._step, sampling.integrate)

# 5 ------------------------------------------------------------------------------------------
st.header(SECTIONS[4])
left, right = st.columns(2, gap="large")
with left:
    st.latex(r"\eta(t,x) = \mathbb E[z\mid x_t = x]")
    st.latex(r"s(t,x) = \nabla\log\rho_t(x) = -\frac{\eta(t,x)}{\gamma(t)}")
    st.markdown(r"where $\gamma(t) > 0$. Given $(x_0,x_1)$, $x_t$ is Gaussian with mean "
                r"$I = \alpha x_0 + \beta x_1$ and covariance $\gamma^2\mathrm{Id}$, so "
                r"$\nabla_x\log\rho_t(x\mid x_0,x_1) = -(x - I)/\gamma^2 = -z/\gamma$; averaging over "
                r"$(x_0,x_1)$ given $x_t = x$ gives the score. With $\gamma = 0$ and a Gaussian base "
                r"$\mathcal N(\mu, A)$, $x_0$ plays the part of the noise: "
                r"$s = -\mathbb E[A^{-1}(x_0 - \mu)\mid x_t = x]/\alpha$. The drift splits as")
    st.latex(r"\begin{gathered}b = v - \gamma\dot\gamma\, s,\\ v(t,x) = \mathbb E[\dot\alpha x_0 + "
             r"\dot\beta x_1\mid x_t = x]\end{gathered}")
with right:
    sc = score(s, seed, t_check, radius)
    if sc.denoiser is None:
        st.markdown(f"**Live check** at t = {sc.t:g}:")
        st.info(f"γ({sc.t:g}) = 0 and neither side is a single Gaussian, so no Monte Carlo identity "
                "gives the score here: η = E[z | x_t] = 0 carries no information (choose a γ on the "
                "Playground page, or a Gaussian base, to see it).")
    else:
        d = sc.denoiser
        st.markdown(f"**Live check** at t = {sc.t:g} (γ = {sc.gamma:.3g}): average "
                    f"v = {sc.identity} over the {d.n_in:,} samples with |x_t − x| < {d.radius:g}, "
                    f"x = {handout.vec(d.x)}; its conditional mean is the score.")
        table(handout.ball_rows(d, "E[v | x_t ∈ ball]", "exact s"), index=True)
        say(handout.score_verdict(sc))
    st.markdown(f"The closed form against autograd of log ρ_t (float64): max error "
                f"**{sc.max_error:.2g}**. Both use the same means and covariances, so this checks "
                "the algebra; the Monte Carlo average is the independent check.")
    table(handout.autograd_rows(sc))
    st.caption(handout.ETA_SIGN_NOTE)
show_source("Library source: score, denoiser and log-density",
            exact.ExactField.score, exact.ExactField.eta, exact.ExactField.log_density,
            theory.score_samples, theory.score_check)

# 6 ------------------------------------------------------------------------------------------
st.header(SECTIONS[5])
left, right = st.columns(2, gap="large")
with left:
    st.latex(r"\begin{aligned}dX = \big[b(t,X) &+ \varepsilon(t)\,s(t,X)\big]dt\\ &+ "
             r"\sqrt{2\varepsilon(t)}\,dW\end{aligned}")
    st.markdown(r"Its Fokker–Planck equation is the transport equation of step 2, because "
                r"$\nabla\cdot(\varepsilon\,s\,\rho_t) = \varepsilon\,\nabla\cdot\nabla\rho_t = "
                r"\varepsilon\Delta\rho_t$ cancels the diffusion term:")
    st.latex(r"\begin{aligned}\partial_t\rho_t &= -\nabla\cdot\big((b + \varepsilon s)\rho_t\big) + "
             r"\varepsilon\Delta\rho_t\\ &= -\nabla\cdot(b\,\rho_t)\end{aligned}")
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
    table(handout.sde_rows(sd))
    st.caption("A ratio near 1 is as good as the sample size allows.")
    say(handout.sde_verdict(sd, setup.schedule, " Press Redraw to see it move."))
show_source("Library source: the SDE integrator and the exact score", sde_module.integrate_sde,
            exact.ExactField.drift_and_score, theory.sde_check)

# the handout: every number above, print-ready, no widgets -------------------------------------
plain = tuple(side_name(side, cfg, str) for side in ("base", "target"))
walk = handout.WalkThrough(handout.describe(cfg, setup.schedule.stochastic, names=plain), setup.note, seed,
                           t_check, radius, steps, eps, setup, rep, c, li, e, sc, sd)
handout_slot.download_button(
    "Download the handout (HTML, print-ready)", handout.handout_html(walk),
    file_name=f"interpolant-theory-{cfg.base}-{cfg.target}-seed{seed}.html", mime="text/html",
    key="theory_handout", icon=None,
    help="this walk-through with these live numbers: one self-contained file that opens offline; "
         "print it (A4), each step starts a new page")
