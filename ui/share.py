"""Sharing: settings from and to the URL, config JSON download/upload, presentation mode.

The validation and clamping live in `playground.share`; this module only moves values between
the URL, files and the widgets' session-state keys.
"""

from __future__ import annotations

import math
from urllib.parse import urlencode

import streamlit as st

from playground.config import ExperimentConfig
from playground.distributions import DISTRIBUTIONS
from playground.schedules import GAMMAS, PAIRS
from playground.share import from_json_text, from_untrusted, thin_params, to_query
from ui.literal import escape

VIEW_PARAMS = ("present", "scene")
"""Query parameters that choose a view, not a setting."""
WIDTHS = [16, 32, 64, 128, 256, 512]
BATCHES = [32, 64, 128, 256, 512, 1024, 2048]
LRS = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 1.0, 10.0]


def _nearest(options: list[float], value: float) -> float:
    return min(options, key=lambda o: abs(math.log(o) - math.log(max(value, 1e-12))))


def apply_config(cfg: ExperimentConfig, label: str = "from a link") -> list[str]:
    """Set every widget's session-state value from cfg (call before the widgets render).

    Returns notices for values the UI cannot show exactly (snapped to the nearest option).
    """
    ss, notices = st.session_state, []
    for side in ("base", "target"):
        name = getattr(cfg, side)
        if name in DISTRIBUTIONS:
            ss[side] = name
        elif name in ("cloud", "mixture"):
            user = dict(ss.get("user_dist") or {})
            params = getattr(cfg, f"{side}_params")
            n = len(params.get("points") or params.get("means") or [])
            user[side] = {"name": name, "params": params,
                          "label": f"{label} ({n:,} {'points' if name == 'cloud' else 'bumps'})"}
            ss["user_dist"] = user
            ss[side] = "user"
    ss["schedule"], ss["power"] = cfg.schedule, cfg.power
    formulas = bool(cfg.alpha or cfg.beta or cfg.gamma_is_formula)
    ss["use_formulas"] = formulas
    ss["alpha_text"], ss["beta_text"] = cfg.alpha, cfg.beta
    ss["gamma_text"] = cfg.gamma if cfg.gamma_is_formula else ""
    ss["gamma"] = cfg.gamma if cfg.gamma in GAMMAS else "zero"
    ss["gamma_scale"] = cfg.gamma_scale
    for key, options, value in (("width", WIDTHS, cfg.width), ("batch", BATCHES, cfg.batch),
                                ("lr", LRS, cfg.lr)):
        snapped = _nearest(options, value)
        if snapped != value:
            notices.append(f"{key} {value:g} is not offered here: using {snapped:g}")
        ss[key] = int(snapped) if key != "lr" else snapped
    ss["depth"] = min(cfg.depth, 6)
    if ss["depth"] != cfg.depth:
        notices.append(f"depth {cfg.depth} is outside the app's range: using {ss['depth']}")
    ss["steps"] = int(min(cfg.steps, 50_000))  # steps > 0: a step budget; 0: train for the seconds
    if ss["steps"] != cfg.steps:
        notices.append(f"steps {cfg.steps} is outside the app's range: using {ss['steps']}")
    if cfg.steps == 0:
        ss["seconds"] = float(min(max(cfg.seconds, 0.5), 600.0))
        if ss["seconds"] != cfg.seconds:
            notices.append(f"seconds {cfg.seconds:g} is outside the app's range: using {ss['seconds']:g}")
    ss["sample_steps"] = int(min(max(cfg.sample_steps, 2), 100))
    if ss["sample_steps"] != cfg.sample_steps:
        notices.append(f"sample_steps (integration steps) {cfg.sample_steps} is outside the app's range: "
                       f"using {ss['sample_steps']}")
    defaults = ExperimentConfig()
    for name in ("samples", "activation", "time_features", "x_features", "grad_clip", "lr_schedule",
                 "antithetic"):
        if getattr(cfg, name) != getattr(defaults, name):
            notices.append(f"{name} cannot be set in the app: using {getattr(defaults, name)!r}")
    for key in ("seed", "coupling", "averaged_target", "device", "direction"):
        ss[key] = getattr(cfg, key)
    ss["sampler"] = cfg.sampler
    ss["epsilon"] = min(cfg.epsilon, 5.0)
    ss["epsilon_shape"] = cfg.epsilon_shape
    return notices


def apply_url_once() -> None:
    """On a session's first run, load settings from the URL query (validated and clamped)."""
    ss = st.session_state
    if ss.get("_url_applied"):
        return
    ss["_url_applied"] = True
    ss["present"] = st.query_params.get("present") in ("1", "true", "yes")
    query = {k: st.query_params.get(k) for k in st.query_params if k not in VIEW_PARAMS}
    if not query:
        return
    cfg, notices = from_untrusted(query)
    ss["_url_notices"] = notices + apply_config(cfg)


def show_url_notices() -> None:
    notices = st.session_state.pop("_url_notices", None)
    if notices:
        st.warning("Some settings in the link were changed or ignored:\n\n" +
                   "\n".join(f"- {escape(n)}" for n in notices[:12]), icon="🔗")


def share_panel(cfg: ExperimentConfig) -> None:
    """Copy link (the whole experiment in the URL), config JSON download and upload."""
    query = to_query(ExperimentConfig(**{**cfg.to_dict(),
                                         "base_params": thin_params(cfg.base, cfg.base_params),
                                         "target_params": thin_params(cfg.target, cfg.target_params)}))
    st.caption("This link reproduces these settings (user-made clouds are thinned to 300 points); "
               "training with the same seed reproduces the same figures. Copy it with the icon at its right, "
               "ready to paste into slides:")
    st.code(share_url(query), language=None, wrap_lines=True)
    c1, c2 = st.columns(2)
    c1.button("Put the settings in the address bar", key="to_url",
              on_click=lambda: st.query_params.from_dict(query))
    c2.download_button("Download config.json", cfg.to_json(), "config.json", "application/json",
                       key="download_config")
    st.file_uploader("Load a config.json", type=["json"], key="upload_config", on_change=_load_config)
    problem = st.session_state.pop("_config_problem", None)
    if problem:
        st.error(escape(problem))


def page_address() -> str:
    """The address of this page in the user's browser, without its query ('' when unknown)."""
    try:
        url = st.context.url or ""
    except Exception:  # noqa: BLE001 - no browser behind this run (a test harness)
        url = ""
    return url.split("#")[0].split("?")[0]


def share_url(query: dict, extra: dict | None = None) -> str:
    """The full address that reopens this page with `query` (and `extra`, e.g. present=1)."""
    params = urlencode({**query, **(extra or {})})
    base = page_address() or "http://localhost:8501/"
    return base + ("?" + params if params else "")


def _load_config() -> None:
    """on_change of the config uploader: a callback runs before the widgets exist, so it may set
    their values (doing it in the script body raises StreamlitWidgetAlreadyInstantiatedError)."""
    up = st.session_state.get("upload_config")
    if up is None:
        return
    loaded, notices = from_json_text(up.getvalue())
    if loaded is None:
        st.session_state["_config_problem"] = "; ".join(notices) + " Your current settings are unchanged."
    else:
        st.session_state["_url_notices"] = notices + apply_config(loaded, "from config.json")


PRESENT_CSS = """
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], header[data-testid="stHeader"]
  { display: none !important; }
.block-container, [data-testid="stMainBlockContainer"]
  { padding: 0.5rem 1.5rem 0 1.5rem !important; max-width: 100% !important; }
html, body, [data-testid="stAppViewContainer"] { font-size: 18px; }
[data-testid="stMarkdownContainer"] p, [data-testid="stCaptionContainer"], [data-testid="stWidgetLabel"] p,
  .stButton button p, [data-baseweb="select"] div { font-size: 18px !important; }
[data-testid="stMarkdownContainer"] p, h1 { color: #111827; }
.stButton button:disabled p { color: #9ca3af !important; }
.stButton button { white-space: nowrap; padding-left: 0.7rem; padding-right: 0.7rem; }
h1, h2, h3, h4 { padding: 0 !important; color: #111827; }
h1 { font-size: 1.6rem !important; }
</style>
"""


def presenting() -> bool:
    return bool(st.session_state.get("present"))


def experiment_title(cfg: ExperimentConfig) -> str:
    """The experiment in the words the sidebar uses: 'standard Gaussian → two moons · α = 1 − t,
    β = t · γ = 0'."""
    from ui.controls import dist_label

    pair = PAIRS[cfg.schedule].label if cfg.schedule in PAIRS else cfg.schedule
    if cfg.schedule == "power":
        pair += f", p = {cfg.power:g}"
    if cfg.alpha or cfg.beta:
        pair = ", ".join(f"{k} = {v}" for k, v in (("α", cfg.alpha), ("β", cfg.beta)) if v) or pair
    if cfg.gamma_is_formula:
        gamma = f"γ = {cfg.gamma}"
    elif cfg.gamma == "zero":
        gamma = "γ = 0"
    else:
        gamma = GAMMAS[cfg.gamma].label + f", a = {cfg.gamma_scale:g}"
    side = {"cloud": "your points", "mixture": "your bumps"}
    base, target = (side.get(n, dist_label(n)) for n in (cfg.base, cfg.target))
    return f"{base} → {target} · {pair} · {gamma}"


def exit_presentation() -> None:
    """on_click of "Exit presentation": the controls come back, the address loses ?present=1."""
    st.session_state["present"] = False
    if "present" in st.query_params:
        del st.query_params["present"]


def enter_presentation() -> None:
    """on_click of "Present": hide the controls, add ?present=1 to the address."""
    st.session_state["present"] = True
    st.query_params["present"] = "1"
