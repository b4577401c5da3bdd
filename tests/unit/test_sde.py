"""The SDE sampler (playground.sde) against the exact field of a Gaussian-mixture pair, the
computations of the Stochastic side page (playground.stochastic and its figures), and the CLI's
`--model exact`, `--sampler em` and `--direction backward`."""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from playground.cli import main
from playground.config import ExperimentConfig
from playground.distributions import make_distribution
from playground.exact import ExactField
from playground.experiment import generate
from playground.metrics import energy_distance
from playground.sampling import integrate
from playground.schedules import make_schedule
from playground.sde import EPSILON_SHAPES, CallableFields, epsilon_at, integrate_sde
from playground.stochastic import (
    OnDevice,
    compare_couplings,
    compare_paths,
    exact_unavailable,
    exact_view,
    field_error,
    learned_view,
    minibatch_pairs,
    pair_cost,
    quality_now,
    quality_vs_steps,
    rho_t_samples,
)
from playground.stochastic_figures import (
    coupling_paths_figure,
    density_pair_figure,
    pairs_figure,
    panels_animation_figure,
    quality_steps_figure,
)
from playground.training import make_state, train_steps

N = 2000
FLOOR_PAIRS = 8


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def floor_bound(dist, n: int = N, seed: int = 1000) -> float:
    """Mean + 3 std of the energy distance between independent samples of `dist` of size n:
    the spread of the noise floor (for 8 Gaussians its std is about its mean)."""
    vals = [energy_distance(dist.sample(n, gen(seed + 2 * k)), dist.sample(n, gen(seed + 2 * k + 1)))
            for k in range(FLOOR_PAIRS)]
    return float(np.mean(vals) + 3 * np.std(vals))


@pytest.fixture(scope="module")
def pair():
    base, target = make_distribution("gaussian"), make_distribution("8gaussians")
    return base, target, floor_bound(target), floor_bound(base)


SCHEDULES = {"linear-brownian": lambda: make_schedule("linear", "brownian", 1.0),
             # γ = 0: the score of ρ_t is still defined (every component has a non-zero covariance)
             "linear-zero": lambda: make_schedule("linear")}


# ------------------------------------------------------------------ ε(t)


def test_epsilon_shapes():
    assert set(EPSILON_SHAPES) == {"constant", "bump", "sinesquared"}
    for shape in EPSILON_SHAPES:
        eps = epsilon_at(0.5, shape)
        assert eps(0.5) == pytest.approx(0.5)  # every shape peaks at ε in the middle
    for shape in ("bump", "sinesquared"):  # these vanish at the ends
        assert epsilon_at(0.5, shape)(0.0) == pytest.approx(0.0, abs=1e-12)
        assert epsilon_at(0.5, shape)(1.0) == pytest.approx(0.0, abs=1e-12)
    assert epsilon_at(0.3, "constant")(0.0) == 0.3
    with pytest.raises(ValueError, match="shape"):
        epsilon_at(0.5, "square")
    with pytest.raises(ValueError, match="epsilon"):
        epsilon_at(-1.0)


# ------------------------------------------------------------------ exact field oracle


MODE_VAR = 0.04
"""Variance of each of the 8 Gaussians per coordinate (std 0.2): the oracle for the spread."""
SPREAD_TOL = 0.15
"""Relative tolerance of the within-mode spread. Measured with the exact b and s (200 steps):
0.040–0.044; with the score dropped 0.064–0.49, with the score doubled 0.021–0.030."""


def mode_spread(x: torch.Tensor, target) -> float:
    """Mean squared distance to the nearest mode centre, per coordinate: the variance of each
    mode for a mixture of well-separated isotropic Gaussians (8 Gaussians: 0.04)."""
    d = torch.cdist(x.float(), target.mixture().means.float()).min(1).values
    return float(d.pow(2).mean() / 2)


def lands_on_target(x: torch.Tensor, target, bound: float) -> str | None:
    """None when samples x reproduce 8 Gaussians: energy distance within the floor's spread and the
    within-mode spread within SPREAD_TOL of MODE_VAR; else what failed. The energy distance alone
    hardly sees a mode's width (a score dropped at ε = 0.1 stays under the bound)."""
    ed = energy_distance(x, target.sample(N, gen(2)))
    spread = mode_spread(x, target)
    if ed > bound:
        return f"energy distance {ed:.5f} above the floor's spread {bound:.5f}"
    if abs(spread - MODE_VAR) > SPREAD_TOL * MODE_VAR:
        return f"within-mode variance {spread:.4f}, target {MODE_VAR}"
    return None


def _sde_with_score_times(k: float, sched: str, eps: float, base, target):
    exact = ExactField.from_distributions(base, target, SCHEDULES[sched]())
    fields = exact if k == 1 else CallableFields(exact.drift, lambda t, x: k * exact.score(t, x))
    return integrate_sde(fields, base.sample(N, gen(1)), 200, eps, "constant", generator=gen(5), keep=0)


@pytest.mark.parametrize("eps", [0.1, 0.5, 1.0])
@pytest.mark.parametrize("sched", list(SCHEDULES))
def test_forward_sde_with_the_exact_field_reproduces_the_target(sched, eps, pair):
    """Euler–Maruyama, 200 steps on [1e-3, 1 − 1e-3], exact b and s: energy distance 0.0018–0.0035
    against the floor's spread (mean + 3 std, ≈ 0.0044 at 2000 samples), and the modes as wide as
    the target's (variance 0.040–0.044 against 0.04)."""
    base, target, bound, _ = pair
    out = _sde_with_score_times(1.0, sched, eps, base, target)
    assert lands_on_target(out.final, target, bound) is None, f"ε = {eps}: {lands_on_target(out.final, target, bound)}"
    assert energy_distance(base.sample(N, gen(1)), target.sample(N, gen(2))) > 10 * bound  # they had to move


@pytest.mark.parametrize("k", [0.0, 2.0], ids=["no-score", "score-x2"])
@pytest.mark.parametrize("eps", [0.1, 0.5, 1.0])
@pytest.mark.parametrize("sched", list(SCHEDULES))
def test_a_sampler_with_a_wrong_score_fails_the_same_check(sched, eps, k, pair):
    """Negative controls for the test above, at every ε it uses: ε s dropped (the SDE only adds
    noise: the modes widen) or doubled (the modes sharpen) must fail `lands_on_target`."""
    base, target, bound, _ = pair
    out = _sde_with_score_times(k, sched, eps, base, target)
    assert lands_on_target(out.final, target, bound) is not None, f"score × {k} at ε = {eps} passed"


@pytest.mark.parametrize("sched,eps", [("linear-brownian", 0.5), ("linear-zero", 1.0)])
def test_backward_sde_returns_the_base(sched, eps, pair):
    """dX = [b − ε s] dt + √(2ε) dW̄ from target samples, t from 1 − t0 to t0 (measured
    0.0013–0.0025 against the base floor's bound 0.0028)."""
    base, target, _, base_bound = pair
    exact = ExactField.from_distributions(base, target, SCHEDULES[sched]())
    y = target.sample(N, gen(3))
    out = integrate_sde(exact, y, 400, eps, "constant", "backward", generator=gen(6), keep=0)
    ed = energy_distance(out.final, base.sample(N, gen(4)))
    assert ed <= base_bound, f"energy distance {ed:.5f} above the floor's spread {base_bound:.5f}"
    assert energy_distance(y, base.sample(N, gen(4))) > 10 * base_bound


def test_a_wrong_score_sign_is_caught(pair):
    """Negative control: the same run with −s in place of s misses the target by far, so the
    tests above do measure the score term."""
    base, target, bound, _ = pair
    exact = ExactField.from_distributions(base, target, SCHEDULES["linear-brownian"]())
    wrong = CallableFields(exact.drift, lambda t, x: -exact.score(t, x))
    out = integrate_sde(wrong, base.sample(N, gen(1)), 200, 1.0, generator=gen(5), keep=0)
    assert energy_distance(out.final, target.sample(N, gen(2))) > 5 * bound


def test_epsilon_zero_is_the_euler_ode_and_needs_no_score():
    """ε = 0: exactly Euler on [t0, 1 − t0], for a plain drift without a score."""
    base, target = make_distribution("gaussian"), make_distribution("8gaussians")
    exact = ExactField.from_distributions(base, target, make_schedule("linear"))
    x = base.sample(300, gen(0))
    sde = integrate_sde(exact.drift, x, 40, 0.0, t0=0.01, keep=None)
    ode = integrate(exact.drift, x, 40, "euler", keep=None, t0=0.01, t1=0.99)
    assert torch.equal(sde.path, ode.path) and torch.equal(sde.final, ode.final)
    # bump at ε > 0 only adds noise inside: different from the ODE, same start
    noisy = integrate_sde(exact, x, 40, 0.5, "bump", t0=0.01, generator=gen(1), keep=None)
    assert torch.equal(noisy.path[0], ode.path[0]) and not torch.equal(noisy.final, ode.final)


def test_noise_comes_only_from_the_generator():
    base, target = make_distribution("gaussian"), make_distribution("8gaussians")
    exact = ExactField.from_distributions(base, target, make_schedule("linear", "brownian", 0.5))
    x = base.sample(200, gen(0))
    with torch.random.fork_rng():
        torch.manual_seed(1)
        a = integrate_sde(exact, x, 20, 0.5, generator=gen(7)).final
        torch.manual_seed(2)
        b = integrate_sde(exact, x, 20, 0.5, generator=gen(7)).final
    c = integrate_sde(exact, x, 20, 0.5, generator=gen(8)).final
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_trajectory_layout(direction):
    exact = ExactField.from_distributions(make_distribution("gaussian"), make_distribution("8gaussians"),
                                          make_schedule("linear", "brownian", 1.0))
    x = torch.randn(50, 2, generator=gen(1))
    out = integrate_sde(exact, x, 7, 0.5, "sinesquared", direction, t0=0.01, generator=gen(2), keep=20)
    assert out.path.shape == (8, 20, 2) and out.final.shape == (50, 2) and out.nfe == 7
    first, last = (0.01, 0.99) if direction == "forward" else (0.99, 0.01)
    assert float(out.times[0]) == pytest.approx(first) and float(out.times[-1]) == pytest.approx(last)
    assert torch.equal(out.path[0], x[:20]) and torch.equal(out.path[-1], out.final[:20])
    assert out.final.dtype == torch.float32 and not out.final.requires_grad


def test_bad_calls_raise():
    x = torch.zeros(3, 2)
    with pytest.raises(ValueError, match="score"):
        integrate_sde(lambda t, y: y, x, 5, 0.5, generator=gen(0))
    exact = ExactField.from_distributions(make_distribution("gaussian"), make_distribution("gaussian"),
                                          make_schedule("linear", "brownian"))
    with pytest.raises(ValueError, match="Generator"):
        integrate_sde(exact, x, 5, 0.5)
    with pytest.raises(ValueError, match="t0"):
        integrate_sde(exact, x, 5, 0.5, t0=0.7, generator=gen(0))


def test_generate_from_a_config_runs_the_sde():
    """experiment.generate with sampler em: the SDE on [t0, 1 − t0], reproducible from cfg.seed."""
    cfg = ExperimentConfig(target="8gaussians", gamma="brownian", sampler="em", epsilon=0.5,
                           epsilon_shape="bump", sample_steps=30, samples=300, t0=0.01)
    base, target = make_distribution(cfg.base), make_distribution(cfg.target)
    exact = ExactField.from_distributions(base, target, make_schedule("linear", "brownian", 1.0))
    a, b = generate(exact, cfg, base, target), generate(exact, cfg, base, target)
    assert torch.equal(a.final, b.final)
    assert float(a.times[0]) == pytest.approx(0.01) and float(a.times[-1]) == pytest.approx(0.99)
    c = generate(exact, cfg.replace(seed=1), base, target)
    assert not torch.equal(a.final, c.final)


# ------------------------------------------------------------------ the page's computations


@pytest.fixture(scope="module")
def view():
    return exact_view(ExperimentConfig(target="8gaussians", gamma="brownian", gamma_scale=0.5))


def test_exact_view_only_for_mixture_pairs():
    assert exact_unavailable(ExperimentConfig(target="8gaussians")) is None
    why = exact_unavailable(ExperimentConfig(target="moons"))
    assert why and "target" in why and "mixture" in why
    assert "independent" in exact_unavailable(ExperimentConfig(target="8gaussians", coupling="ot"))
    with pytest.raises(ValueError, match="mixture"):
        exact_view(ExperimentConfig(base="moons", target="8gaussians"))


@pytest.mark.parametrize("mode", ["ode-sde", "two-eps", "integrators"])
def test_compare_paths(view, mode):
    comp = compare_paths(view, mode, epsilon=0.5, shape="bump", steps=40, particles=120)
    k = 3 if mode == "integrators" else 2
    assert len(comp.paths) == len(comp.titles) == k
    frames = 11 if mode == "integrators" else 41  # integrators: shown at RK4's 10 steps
    for p in comp.paths:
        assert p.shape == (frames, 120, 2) and np.isfinite(p).all()
        np.testing.assert_array_equal(p[0], comp.paths[0][0])  # the same starting points
    assert comp.times.shape == (frames,)
    assert not np.array_equal(comp.paths[0][-1], comp.paths[1][-1])
    fig = panels_animation_figure(comp.paths, comp.times, comp.titles, goal=comp.goal)
    assert len(fig.frames) == frames
    go.Figure(fig.to_dict())  # valid plotly


def test_compare_paths_without_noise_is_the_ode(view):
    comp = compare_paths(view, "ode-sde", epsilon=0.0, steps=30, particles=100)
    np.testing.assert_array_equal(comp.paths[0], comp.paths[1])


def test_quality_of_the_exact_sde_is_at_the_floor(view):
    comp = compare_paths(view, "ode-sde", epsilon=1.0, steps=100, particles=2000)
    for p in comp.paths:
        q = quality_now(view, p[-1])
        assert q["energy_distance"] <= q["floor_energy_distance"] + 3 * q["floor_energy_distance_std"]


def test_learned_view_of_a_model_with_a_score():
    state = make_state(ExperimentConfig(target="8gaussians", gamma="brownian", width=16, depth=1,
                                        batch=64, steps=20, device="cpu"))
    train_steps(state, 20)
    v = learned_view(state)
    assert v.source == "learned" and v.has_score and v.exact is not None
    comp = compare_paths(v, "ode-sde", epsilon=0.5, steps=10, particles=50)
    assert np.isfinite(comp.paths[1]).all()
    # the device adapter (used when the model lives on a GPU) is transparent
    wrapped = OnDevice(v.fields, torch.device("cpu"))
    t, x = torch.full((5,), 0.3), torch.randn(5, 2, generator=gen(0))
    with torch.no_grad():
        for a, b in zip(wrapped.drift_and_score(t, x), v.fields.drift_and_score(t, x), strict=True):
            torch.testing.assert_close(a, b)
        torch.testing.assert_close(wrapped(t, x), v.drift(t, x))
    plain = learned_view(make_state(ExperimentConfig(width=16, depth=1, steps=5, device="cpu")))
    assert not plain.has_score and plain.exact is None  # moons: no exact field either
    with pytest.raises(ValueError, match="no score"):
        compare_paths(plain, "ode-sde", epsilon=0.5, steps=5, particles=10)


def test_minibatch_ot_pairs_are_shorter():
    base, target = make_distribution("gaussian"), make_distribution("8gaussians")
    pairs = minibatch_pairs(base, target, 128, seed=0)
    np.testing.assert_array_equal(pairs["independent"][0], pairs["ot"][0])
    # the same points, re-paired
    np.testing.assert_array_equal(np.sort(pairs["independent"][1], 0), np.sort(pairs["ot"][1], 0))
    assert pair_cost(pairs["ot"]) < 0.5 * pair_cost(pairs["independent"])
    go.Figure(pairs_figure(pairs).to_dict())


def test_minibatch_ot_lowers_the_path_curvature():
    """Two small drifts (width 64, 200 steps, batch 128, same seed and data) trained with each
    coupling; Heun paths from the same starts. Measured OT / independent curvature ≈ 0.02
    (300 steps, batch 256: 0.018, 0.018 on 8 Gaussians; 0.015, 0.016 on moons)."""
    cfg = ExperimentConfig(base="gaussian", target="8gaussians", device="cpu")
    res = compare_couplings(cfg, steps=200, batch=128, particles=400, sample_steps=20)
    ratio = res["ot"]["curvature"] / res["independent"]["curvature"]
    assert ratio < 0.25, f"OT / independent curvature {ratio:.3f}"
    assert res["ot"]["straightness"] > res["independent"]["straightness"]
    assert res["ot"]["paths"].shape == (21, 60, 2)
    go.Figure(coupling_paths_figure(res).to_dict())


def test_field_error_of_the_exact_field_is_zero(view):
    fe = field_error(view.exact, view.exact, 0.4, arrows=9, grid=20,
                     samples=np.zeros((10, 2), np.float32))
    assert fe.learned.shape == fe.exact.shape == (9, 9, 2) and fe.error.shape == (20, 20)
    assert float(np.abs(fe.error).max()) == 0.0 and fe.weighted_error == 0.0
    shifted = field_error(lambda t, x: view.exact(t, x) + torch.tensor([0.3, 0.4]), view.exact, 0.4,
                          arrows=5, grid=10)
    np.testing.assert_allclose(shifted.error, 0.5, rtol=1e-5)


def test_quality_vs_steps_improves_with_steps(view):
    res = quality_vs_steps(view, evaluations=(4, 64), methods=("euler", "rk4", "em"), n=1000)
    rows = {(r["method"], r["nfe"]): r for r in res["rows"]}
    assert set(rows) == {("euler", 4), ("euler", 64), ("rk4", 4), ("rk4", 64), ("em", 4), ("em", 64)}
    assert rows[("euler", 64)]["energy_distance"] < rows[("euler", 4)]["energy_distance"]
    assert rows[("euler", 4)]["energy_distance"] > 3 * res["floor"]["energy_distance"]
    fig = quality_steps_figure(res["rows"], res["floor"])
    assert {d.name for d in fig.data} == {"euler", "rk4", "em", "noise floor"}
    go.Figure(fig.to_dict())


def test_density_pair_figure_shares_one_colour_range():
    a, b = np.zeros((4, 4)), np.full((4, 4), -3.0)
    fig = density_pair_figure(a, b)
    assert [(d.zmin, d.zmax) for d in fig.data] == [(-3.0, 0.0), (-3.0, 0.0)]
    assert len(density_pair_figure(a, None).data) == 1
    go.Figure(fig.to_dict())


# ------------------------------------------------------------------ command line


def call(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1


SMALL = ["--samples", "300", "--sample-steps", "40", "--device", "cpu"]


def test_cli_model_exact_samples_without_training(tmp_path, capsys):
    out = tmp_path / "exact"
    assert call(["run", "--model", "exact", "--target", "8gaussians", "--gamma", "brownian",
                 "--direction", "backward", "--out", str(out), *SMALL]) == 0
    assert "exact field, no training" in capsys.readouterr().out
    m = json.loads((out / "metrics.json").read_text())
    assert m["model"] == "exact" and m["train_steps"] == 0 and m["final_loss"] is None
    for key in ("path_straightness", "path_curvature", "energy_distance"):
        assert np.isfinite(m[key]), key
    assert not (out / "model.pt").exists()
    assert np.load(out / "samples.npy").shape == (300, 2)


@pytest.mark.parametrize("argv,words", [
    (["--model", "exact", "--target", "moons"], ["exact", "target", "not a Gaussian mixture"]),
    (["--model", "exact", "--base", "spiral", "--target", "8gaussians"], ["base"]),
    (["--model", "exact", "--target", "8gaussians", "--coupling", "ot"], ["independent"]),
    (["--epsilon", "0.5"], ["--sampler em"]),
    (["--sampler", "em", "--epsilon", "0.5", "--base", "moons", "--target", "8gaussians"],
     ["γ > 0"]),
    (["--sampler", "em", "--epsilon", "0.5", "--gamma", "brownian", "--denoiser", "off"],
     ["denoiser"]),
    (["--epsilon-shape", "square"], ["epsilon_shape"]),
    (["--epsilon", "11"], ["epsilon"]),
], ids=["exact-moons", "exact-spiral-base", "exact-ot", "eps-without-em", "em-no-score",
        "em-denoiser-off", "bad-shape", "eps-too-big"])
def test_cli_bad_stochastic_input_is_one_line_and_exit_2(argv, words, tmp_path, capsys):
    out = tmp_path / "deep" / "out"
    assert call(["run", "--out", str(out), *argv, *SMALL]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:"), err
    for w in words:
        assert w in err[0], (w, err[0])
    assert list(tmp_path.iterdir()) == []


def test_cli_sampler_em_trains_drift_and_score(tmp_path, capsys):
    out = tmp_path / "em"
    assert call(["run", "--target", "8gaussians", "--gamma", "brownian", "--steps", "30",
                 "--width", "16", "--depth", "1", "--batch", "64", "--sampler", "em",
                 "--epsilon", "0.5", "--epsilon-shape", "bump", "--out", str(out), *SMALL]) == 0
    assert "drift + denoiser" in capsys.readouterr().out
    m = json.loads((out / "metrics.json").read_text())
    assert m["trained"] == "drift + denoiser (score)" and np.isfinite(m["final_denoiser_loss"])
    assert np.isfinite(m["path_curvature"])
    saved = torch.load(out / "model.pt", weights_only=True)
    assert saved["denoiser"] == "z"
    from playground.score import TwoHeadMLP
    net = TwoHeadMLP(16, 1, x_features=saved["config"]["x_features"])
    net.load_state_dict(saved["state_dict"])


def test_cli_coupling_ot_end_to_end(tmp_path):
    out = tmp_path / "ot"
    assert call(["run", "--target", "8gaussians", "--coupling", "ot", "--steps", "20", "--width", "16",
                 "--depth", "1", "--batch", "64", "--out", str(out), *SMALL]) == 0
    assert json.loads((out / "config.json").read_text())["coupling"] == "ot"


def test_cli_help_says_what_is_trained_when(capsys):
    assert call(["run", "--help"]) == 0
    text = capsys.readouterr().out
    for words in ("denoiser", "--model exact", "gamma > 0", "--sampler em", "[t0, 1 - t0]"):
        assert words in text, words


def test_mirror_view_goes_back_to_the_base_and_samples_rho_t_as_trained():
    """Under the mirror coupling (x1 = x0) the Stochastic side measures against the base, and its
    samples of ρ_t pair x1 = x0 as training does: with γ = 0 and linear α, β, x_t = x0 at every t
    (N(0, Id): E|x_t|² = 2), where independent pairs with moons would give (1 − t)x0 + t x1."""
    cfg = ExperimentConfig(base="gaussian", target="moons", coupling="mirror", width=8, depth=1,
                           steps=1, seconds=0.0, device="cpu")
    view = learned_view(make_state(cfg))
    assert view.target is view.base
    for t in (0.25, 0.5, 0.75):
        pts = rho_t_samples(view, t, n=4000)
        assert float((pts**2).sum(1).mean()) == pytest.approx(2.0, rel=0.08), t
    plain = learned_view(make_state(cfg.replace(coupling="independent")))
    assert plain.target is not plain.base
    assert float((rho_t_samples(plain, 0.5, n=4000) ** 2).sum(1).mean()) < 1.5  # measured 1.15


def test_a_view_whose_score_does_not_exist_somewhere_cannot_run_the_sde():
    """The exact field of encdec with γ = 0 has a drift but no score at t = ½ (x_½ is a point): the
    Stochastic side treats it as scoreless, and an SDE asked of it is a ValueError saying why."""
    view = exact_view(ExperimentConfig(target="8gaussians", schedule="encdec"))
    assert not view.has_score and "single point" in view.score_problem
    with pytest.raises(ValueError, match="single point"):
        compare_paths(view, "ode-sde", epsilon=0.5, steps=20, particles=50)
    assert compare_paths(view, "ode-sde", epsilon=0.0, steps=20, particles=50).paths  # ε = 0 runs
    rows = quality_vs_steps(view, evaluations=(4,), methods=("euler", "em"), n=200)["rows"]
    assert [r["method"] for r in rows] == ["euler"]
    assert exact_view(ExperimentConfig(target="8gaussians", schedule="encdec", gamma="sinesquared")).has_score
