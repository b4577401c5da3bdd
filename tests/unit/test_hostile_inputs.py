"""Hostile input at every entry point of the library: clamped or rejected with a message, never run.

Entry points, one table each: the URL query (`share.from_untrusted`, what `ui.share.apply_url_once`
passes it), an uploaded config.json (`share.from_json_text`), typed formulas (`formula.parse_formula`
+ `check_finite`, and through the config), and user data (`userdata.points_from_csv`, `_image`,
`_npy`, `_strokes`, `_clicks`, `load_points_file`). For the formula, URL and JSON paths a guard
turns every way of running something (os.system, subprocess, open, eval/exec, compiling code)
into a failure, and payloads that would create a marker file must leave it absent.
A source scan checks that no handler can swallow Streamlit's control-flow exceptions.
"""

from __future__ import annotations

import ast
import builtins
import io
import json
import math
import os
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from playground import userdata as ud
from playground.config import LIMITS, ExperimentConfig
from playground.formula import MAX_LENGTH, FormulaError, check_finite, parse_formula
from playground.share import from_json_text, from_untrusted

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "app.py"] + [p for d in ("pages", "ui", "playground")
                               for p in sorted((ROOT / d).glob("*.py"))]
"""The app's own code: the router, its pages (pages/), ui/ and the library."""
MAX_NOTICE_CHARS = 600
"""A notice echoes at most a short excerpt of what the user sent, never the whole (huge) value."""
DEFAULTS = ExperimentConfig()


def table(cases) -> list:
    """Rows (id, *values) as pytest params named by their id."""
    return [pytest.param(*c[1:], id=c[0]) for c in cases]


# ================================================================== the source itself
def _names(node: ast.expr | None) -> list[str]:
    """Exception class names a handler catches ('Name', 'mod.Name' -> 'Name')."""
    if node is None:
        return []
    if isinstance(node, ast.Tuple):
        return [n for elt in node.elts for n in _names(elt)]
    if isinstance(node, ast.Attribute):
        return [node.attr]
    if isinstance(node, ast.Name):
        return [node.id]
    return ["?"]


CONTROL_FLOW = {"BaseException", "ScriptControlException", "StopException", "RerunException",
                "KeyboardInterrupt", "SystemExit", "GeneratorExit"}
"""Streamlit's st.rerun/st.stop raise ScriptControlException subclasses of BaseException."""


def test_sources_are_scanned():
    assert len(SOURCES) >= 30 and all(p.exists() for p in SOURCES)
    assert any(p.parent.name == "pages" for p in SOURCES), "no page files found"


def test_no_bare_except_and_no_handler_that_swallows_control_flow():
    """`except:` and `except BaseException` (or Streamlit's Stop/Rerun) would eat st.rerun()."""
    bad = []
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.ExceptHandler):
                continue
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            reraises = any(isinstance(s, ast.Raise) and s.exc is None for s in node.body)
            if node.type is None:
                bad.append(f"{where}: bare except")
            elif CONTROL_FLOW & set(_names(node.type)) and not reraises:
                bad.append(f"{where}: except {', '.join(_names(node.type))} without re-raising")
        for node in ast.walk(tree):  # contextlib.suppress(BaseException) swallows just the same
            if isinstance(node, ast.Call) and _names(node.func)[:1] == ["suppress"]:
                caught = {n for a in node.args for n in _names(a)}
                if caught & CONTROL_FLOW:
                    bad.append(f"{path.relative_to(ROOT)}:{node.lineno}: suppress({caught})")
    assert bad == [], "\n".join(bad)


def test_no_eval_exec_or_unsafe_deserialisation_in_the_sources():
    """Nothing evaluates text; torch.load only with weights_only=True; np.load never pickles."""
    bad = []
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _names(node.func)[0] if _names(node.func) else ""
            kw = {k.arg: k.value for k in node.keywords}
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            if isinstance(node.func, ast.Name) and name in ("eval", "exec", "__import__"):
                bad.append(f"{where}: {name}()")
            is_method = isinstance(node.func, ast.Attribute)
            if name == "load" and is_method and _names(node.func.value) == ["torch"]:
                wo = kw.get("weights_only")
                if not (isinstance(wo, ast.Constant) and wo.value is True):
                    bad.append(f"{where}: torch.load without weights_only=True")
            if name in ("load", "loads") and isinstance(node.func, ast.Attribute) and \
                    _names(node.func.value) in (["pickle"], ["dill"], ["marshal"]):
                bad.append(f"{where}: {_names(node.func.value)[0]}.{name}")
            ap = kw.get("allow_pickle")
            if isinstance(ap, ast.Constant) and ap.value is True:
                bad.append(f"{where}: allow_pickle=True")
    assert bad == [], "\n".join(bad)


# ================================================================== a guard: nothing runs
class Forbidden(BaseException):
    """Raised by the guard; a BaseException so that no `except Exception` in the library hides it."""


@pytest.fixture
def nothing_runs(monkeypatch):
    """Every way to run a command, touch a file or evaluate code records the call and raises."""
    calls: list[str] = []

    def trap(name):
        def f(*args, **kwargs):
            calls.append(f"{name}{args[:1]!r}")
            raise Forbidden(name)
        return f

    for mod, attr in [(os, "system"), (os, "popen"), (os, "execv"), (os, "execve"), (os, "execvp"),
                      (os, "spawnv"), (os, "remove"), (os, "unlink"), (os, "rename"), (os, "open"),
                      (subprocess, "Popen"), (subprocess, "run"), (subprocess, "call"),
                      (subprocess, "check_output"), (builtins, "open"), (io, "open")]:
        monkeypatch.setattr(mod, attr, trap(f"{mod.__name__}.{attr}"))
    real = {name: getattr(builtins, name) for name in ("eval", "exec", "compile")}

    def text_trap(name):
        """eval/exec of text is forbidden; the import system exec's code objects of modules."""
        def f(source, *args, **kwargs):
            if isinstance(source, (str, bytes)):
                calls.append(f"{name}({source[:40]!r})")
                raise Forbidden(name)
            return real[name](source, *args, **kwargs)
        return f

    def compile_(source, filename="<string>", mode="exec", flags=0, *args, **kwargs):
        # ast.parse (PyCF_ONLY_AST) builds a tree and runs nothing; compiling a module file
        # from disk is the import system; anything else is compiling user text into code
        if not flags & ast.PyCF_ONLY_AST and not str(filename).endswith(".py"):
            calls.append(f"compile({str(source)[:40]!r})")
            raise Forbidden("compile")
        return real["compile"](source, filename, mode, flags, *args, **kwargs)

    monkeypatch.setattr(builtins, "eval", text_trap("eval"))
    monkeypatch.setattr(builtins, "exec", text_trap("exec"))
    monkeypatch.setattr(builtins, "compile", compile_)
    return calls


def _payloads(marker: Path) -> list[str]:
    """Code that would create `marker` if anything ever ran it."""
    m = str(marker)
    return [f"__import__('os').system('touch {m}')",
            f"open('{m}', 'w').write('x')",
            f"exec(\"open('{m}','w')\")",
            f"eval(\"__import__('os').system('touch {m}')\")",
            f"[c for c in ().__class__.__base__.__subclasses__() if c.__name__ == 'Popen'][0]('touch {m}')",
            f"(lambda: __import__('subprocess').run(['touch', '{m}']))()"]


# ================================================================== URL query
# (id, query, expected field values, text a notice must contain or None when no notice is due)
URL_CASES = [
    ("negative steps", {"steps": "-5"}, {"steps": 0, "seconds": DEFAULTS.seconds}, "steps"),  # 0: time budget
    ("huge steps", {"steps": "1e308"}, {"steps": int(LIMITS["steps"][1])}, "steps"),
    ("infinite steps", {"steps": "inf"}, {"steps": DEFAULTS.steps}, "steps"),
    ("fractional steps", {"steps": "10.5"}, {"steps": DEFAULTS.steps}, "steps"),
    ("hex steps", {"steps": "0x10"}, {"steps": DEFAULTS.steps}, "steps"),
    ("very long number", {"steps": "9" * 10_000}, {"steps": DEFAULTS.steps}, "steps"),
    ("NaN lr", {"lr": "nan"}, {"lr": DEFAULTS.lr}, "lr"),
    ("negative lr", {"lr": "-1"}, {"lr": LIMITS["lr"][0]}, "lr"),
    ("seed beyond 64 bits", {"seed": str(2**64)}, {"seed": 2**31 - 1}, "seed"),
    ("negative seed", {"seed": "-1"}, {"seed": 0}, "seed"),
    ("zero batch", {"batch": "0"}, {"batch": int(LIMITS["batch"][0])}, "batch"),
    ("huge width", {"width": "99999999"}, {"width": 512}, "width"),
    ("negative depth", {"depth": "-3"}, {"depth": 1}, "depth"),
    ("huge old nfe", {"nfe": "1000000"}, {"sample_steps": int(LIMITS["sample_steps"][1])}, "sample_steps"),
    ("huge samples", {"samples": "1e12"}, {"samples": int(LIMITS["samples"][1])}, "samples"),
    ("hour-long training", {"seconds": "1e9"}, {"seconds": LIMITS["seconds"][1]}, "seconds"),
    ("-inf gamma scale", {"gamma_scale": "-inf"}, {"gamma_scale": DEFAULTS.gamma_scale}, "gamma_scale"),
    ("zero power", {"power": "0"}, {"power": LIMITS["power"][0]}, "power"),
    ("bool garbage", {"antithetic": "maybe"}, {"antithetic": True}, "antithetic"),
    ("unknown key", {"__class__": "x"}, {}, "unknown setting"),
    ("unknown long key", {"k" * 10_000: "1"}, {}, "unknown setting"),
    ("a thousand unknown keys", {f"k{i}": "1" for i in range(1000)}, {}, "unknown setting"),
    ("very long name", {"target": "a" * 100_000}, {"target": DEFAULTS.target}, "target"),
    ("unicode name", {"target": "🌙moons"}, {"target": DEFAULTS.target}, "target"),
    ("NUL in name", {"target": "moons\x00"}, {"target": DEFAULTS.target}, "target"),
    ("html name", {"target": "<script>alert(1)</script>"}, {"target": DEFAULTS.target}, "target"),
    ("RTL override", {"sampler": "heun\u202e"}, {"sampler": DEFAULTS.sampler}, "sampler"),
    ("unicode digits are numbers", {"steps": "١٢٣", "seed": "７"}, {"steps": 123, "seed": 7}, None),
    ("shell in device", {"device": "cuda:0; rm -rf /"}, {"device": "auto"}, "device"),
    ("file path as base", {"base": "file:/etc/passwd"}, {"base": DEFAULTS.base}, "base"),
    ("path traversal schedule", {"schedule": "../../etc"}, {"schedule": DEFAULTS.schedule}, "schedule"),
    ("alpha: attribute chain", {"alpha": "().__class__.__bases__[0].__subclasses__()"}, {"alpha": ""},
     "alpha"),
    ("alpha: power tower", {"alpha": "9**9**9**9"}, {"alpha": ""}, "alpha"),
    ("alpha: very long", {"alpha": "t+" * 5000 + "t"}, {"alpha": ""}, "alpha"),
    ("alpha: boundary fails", {"alpha": "t"}, {"alpha": ""}, "α(0) = 1 fails"),
    ("gamma: negative", {"gamma": "-sin(pi*t)"}, {"gamma": DEFAULTS.gamma}, "γ must be ≥ 0"),
    ("params: bracket bomb", {"base": "cloud", "base_params": "[" * 100_000}, {"base": DEFAULTS.base},
     "base_params"),
    ("params: nesting bomb",
     {"base": "cloud", "base_params": '{"points":' + "[" * 15_000 + "]" * 15_000 + "}"},
     {"base": DEFAULTS.base}, "base_params"),
    ("params: too long", {"base": "cloud", "base_params": json.dumps({"points": [[0.5, 0.5]] * 3000})},
     {"base": DEFAULTS.base}, "base_params"),
    ("params: NaN point", {"base": "cloud", "base_params": '{"points": [[NaN, 0], [1, 1]]}'},
     {"base": DEFAULTS.base}, "base_params"),
    ("params: points as text", {"base": "cloud", "base_params": '{"points": "abc"}'}, {"base": DEFAULTS.base},
     "base_params"),
    ("params: not an object", {"target": "mixture", "target_params": "[1, 2]"}, {"target": DEFAULTS.target},
     "target_params"),
    ("params: negative std", {"target": "mixture", "target_params": '{"means": [[0, 0]], "stds": [-1]}'},
     {"target": DEFAULTS.target}, "target_params"),
    ("params: 300 components", {"target": "mixture",
                                "target_params": json.dumps({"means": [[0, i / 100] for i in range(300)]})},
     {"target": DEFAULTS.target}, "target_params"),
    # a distribution far outside the box [-4, 4]^2 passes today and then "diverges" at step 1
    ("params: bandwidth 1e308", {"base": "cloud",
                                 "base_params": json.dumps({"points": [[0, 0], [1, 1]], "bandwidth": 1e308})},
     {"base": DEFAULTS.base}, "base_params"),
    ("params: means at 1e30", {"target": "mixture", "target_params": '{"means": [[1e30, 0], [0, 1]]}'},
     {"target": DEFAULTS.target}, "target_params"),
]


@pytest.mark.parametrize("query,expected,mention", table(URL_CASES))
def test_url_query_is_clamped_or_rejected_with_a_notice(query, expected, mention, nothing_runs):
    cfg, notices = from_untrusted(query)
    assert nothing_runs == []
    cfg.validate()  # always a valid config
    for name, value in expected.items():
        assert getattr(cfg, name) == value, (name, getattr(cfg, name), notices)
    assert all(isinstance(n, str) and len(n) <= MAX_NOTICE_CHARS for n in notices), \
        max(notices, key=len)[:200]
    if mention is None:
        assert notices == []
    else:
        assert any(mention in n for n in notices), notices


@pytest.mark.parametrize("name", sorted(LIMITS))
def test_every_numeric_field_is_clamped_or_defaulted(name, nothing_runs):
    """Below the minimum, above the maximum, NaN, ±inf and text, for every field in config.LIMITS."""
    lo, hi = LIMITS[name]
    default = getattr(DEFAULTS, name)
    floor = default if name == "seconds" else lo  # seconds 0 with steps 0 is no budget: the default
    for raw, want in ((f"{lo - 1 - abs(lo)}", floor), (f"{hi * 10 + 1}", hi), ("nan", default), ("inf", default),
                      ("-inf", default), ("1e999", default), ("twelve", default), ("", default)):
        cfg, notices = from_untrusted({name: raw})
        cfg.validate()
        assert getattr(cfg, name) == type(default)(want), (name, raw, getattr(cfg, name), notices)
        assert any(name in n for n in notices), (name, raw, notices)
    assert nothing_runs == []


def test_url_code_payloads_never_run(tmp_path, nothing_runs):
    marker = tmp_path / "pwned"
    for payload in _payloads(marker):
        for key in ("alpha", "beta", "gamma", "target", "base", "base_params", "device", "steps"):
            query = {key: payload} | ({"base": "cloud"} if key == "base_params" else {})
            cfg, notices = from_untrusted(query)
            cfg.validate()
            assert notices, (key, payload)
            assert getattr(cfg, key) == getattr(DEFAULTS, key), (key, payload)
    assert nothing_runs == [] and not marker.exists()


def test_url_query_that_is_not_a_mapping():
    for junk in (None, [], "steps=5", 42):
        cfg, notices = from_untrusted(junk)
        assert cfg == ExperimentConfig() and notices


# ================================================================== config.json upload
VALID_JSON = ExperimentConfig(target="spiral", seed=9, steps=777).to_json()
JSON_CASES = [
    # (id, file content, accepted?, text a notice must contain)
    ("empty file", b"", False, "not valid JSON"),
    ("not UTF-8", b"\xff\xfe\x00{", False, "not UTF-8"),
    ("larger than 2 MB", b"{" + b" " * 2_100_000 + b"}", False, "larger than 2 MB"),
    ("array", "[1, 2]", False, "JSON object"),
    ("null", "null", False, "JSON object"),
    ("number", "42", False, "JSON object"),
    ("string", '"steps"', False, "JSON object"),
    ("bracket bomb", "[" * 100_000, False, "not valid JSON"),
    ("object bomb", '{"a":' * 50_000, False, "not valid JSON"),
    ("truncated", VALID_JSON[: len(VALID_JSON) // 2], False, "not valid JSON"),
    ("infinite steps", '{"steps": 1e999}', True, "steps"),
    ("NaN lr", '{"lr": NaN}', True, "lr"),
    ("bool steps", '{"steps": true}', True, "steps"),
    ("object as name", '{"target": {"$ne": 1}}', True, "target"),
    ("list as seed", '{"seed": [1, 2]}', True, "seed"),
    ("huge integer seed", '{"seed": 123456789012345678901234567890}', True, "seed"),
    ("unknown keys", '{"__proto__": 1, "constructor": {}}', True, "unknown setting"),
    ("formula injection", '{"alpha": "exec(\'import os\')"}', True, "alpha"),
    ("file base", '{"base": "file:/etc/shadow"}', True, "base"),
    ("cloud of strings", '{"base": "cloud", "base_params": {"points": [["a", "b"], ["c", "d"]]}}', True,
     "base_params"),
    ("params as a string bomb", json.dumps({"base": "cloud", "base_params": "[" * 30_000}), True,
     "base_params"),
    ("valid config", VALID_JSON, True, None),
    # Windows editors save UTF-8 with a byte-order mark: it should load (today: "not valid JSON")
    ("UTF-8 with BOM", b"\xef\xbb\xbf" + VALID_JSON.encode(), True, None),
]


@pytest.mark.parametrize("content,accepted,mention", table(JSON_CASES))
def test_config_json_is_clamped_or_rejected_with_a_notice(content, accepted, mention, nothing_runs):
    for given in ([content] if isinstance(content, bytes) else [content, content.encode("utf-8")]):
        cfg, notices = from_json_text(given)
        assert nothing_runs == []
        assert all(len(n) <= MAX_NOTICE_CHARS for n in notices)
        if not accepted:
            assert cfg is None and any(mention in n for n in notices), notices
            continue
        assert cfg is not None, notices
        cfg.validate()
        if mention is None:
            assert notices == [] and cfg.seed == 9 and cfg.target == "spiral", notices
        else:
            assert any(mention in n for n in notices), notices


# ================================================================== typed formulas
FORMULA_REJECTS = [
    "__import__('os').system('id')", "().__class__.__bases__[0].__subclasses__()",
    "open('/etc/passwd').read()",
    "exec('1')", "eval('1')", "globals()", "lambda: 1", "[t for t in ()]", "(t for t in ())", "t if t else 1",
    "t.real", "t[0]", "t[0:1]", "f'{t}'", "t and 1", "not t", "~t", "t < 1", "(t := 1)", "{t}", "{'a': t}",
    "(t, t)", "[t]", "...", "None", "True", "'t'", "b't'", "1j", "t @ t", "t // 2", "t % 2", "t ^ 2", "t | 1",
    "t << 1", "sin", "x", "os", "sin(t, 2)", "sin(x=t)", "sin(*[t])", "clip(t)", "max(t)", "9**9**9",
    "t**100",
    "10**1000", "1e400", "1e7*t", "-(" * 60 + "t" + ")" * 60, "t" + "+t" * 99, "t" * (MAX_LENGTH + 1),
    "1;import os", "t\nimport os", "t\x00", "t\x1b[2J", "ｔ", "t；", "t\u202e", "π*t", "", "   ",
    "await t", "yield t", "t = 1", "import os", "del t", "assert t", "print(t)", "getattr(t, 'x')",
]
FORMULA_NOT_STRINGS = [None, 12, 1.5, b"t", ["t"], {"t": 1}]
FORMULA_NOT_FINITE = ["exp(1e6*t)", "log(t)", "1/t", "1/(t-0.5)", "sqrt(t-1)", "1/(1-t)", "t**-1", "log(0*t)"]


@pytest.mark.parametrize("text", FORMULA_REJECTS, ids=[repr(s)[:40] for s in FORMULA_REJECTS])
def test_formula_is_rejected_with_one_readable_line(text, nothing_runs):
    with pytest.raises(FormulaError) as err:
        parse_formula(text)
    msg = str(err.value)
    assert msg and "\n" not in msg and len(msg) <= MAX_NOTICE_CHARS
    assert nothing_runs == []


@pytest.mark.parametrize("value", FORMULA_NOT_STRINGS, ids=[type(v).__name__ for v in FORMULA_NOT_STRINGS])
def test_formula_that_is_not_text_is_rejected(value, nothing_runs):
    with pytest.raises(FormulaError):
        parse_formula(value)
    assert nothing_runs == []


@pytest.mark.parametrize("text", FORMULA_NOT_FINITE)
def test_formula_that_is_not_finite_on_0_1_is_rejected(text, nothing_runs):
    with pytest.raises(FormulaError, match="at t="):
        check_finite(parse_formula(text))
    assert nothing_runs == []


def test_formula_payloads_never_run_through_the_config(tmp_path, nothing_runs):
    marker = tmp_path / "pwned"
    for payload in _payloads(marker) + FORMULA_REJECTS[:20]:
        for field in ("alpha", "beta", "gamma"):
            problems = ExperimentConfig(**{field: payload}).schedule_problems()
            assert problems, (field, payload)
    assert nothing_runs == [] and not marker.exists()


# ================================================================== user data: CSV
def _rows(n: int, scale: float = 1.0) -> bytes:
    rng = np.random.default_rng(0)
    return ("x,y\n" + "".join(f"{a:.4f},{b:.4f}\n" for a, b in rng.uniform(-scale, scale, (n, 2)))).encode()


CSV_CASES = [
    ("empty", b"", "empty"),
    ("over 5 MiB", b"1,2\n" * (ud.MAX_UPLOAD_BYTES // 4 + 1), "limit"),
    ("not UTF-8", b"\xff\xfe\x00x,y\n", "not UTF-8"),
    ("header only", b"x,y\n", "no data rows"),
    ("one row", b"1,2\n", "only 1 row"),
    ("three columns", b"1,2,3\n4,5,6\n", "expected 2 columns"),
    ("one column", b"1\n2\n", "expected 2 columns"),
    ("NaN", b"1,2\nnan,3\n", "NaN"),
    ("infinity", b"1,2\ninf,3\n", "NaN"),
    ("1e400", b"1,2\n1e400,3\n", "NaN"),
    ("text in data", b"x,y\n1,2\nabc,3\n", "not a number"),
    ("spreadsheet formula", b"x,y\n=HYPERLINK(\"http://x\"),1\n2,3\n", "not a number"),
    ("NUL bytes", b"\x00\x00\x00\x00\n\x00\x00\n", "columns"),
    ("identical points", b"1,2\n1,2\n1,2\n", "identical"),
    ("outside the box", b"1,2\n100,200\n", "outside the box"),
    ("over a million rows", b"0\t0\n" * (ud.MAX_CSV_ROWS + 1), "more than"),
]


@pytest.mark.parametrize("data,message", table(CSV_CASES))
def test_csv_upload_is_rejected_with_a_message(data, message):
    with pytest.raises(ud.InputError, match=message) as err:
        ud.points_from_csv(data)
    assert "\n" not in str(err.value) and len(str(err.value)) <= MAX_NOTICE_CHARS


def test_csv_upload_that_is_too_big_for_the_box_is_rescaled_or_thinned_with_a_note():
    res = ud.points_from_csv(b"1,2\n100,200\n-50,3\n", rescale=True)
    assert np.abs(res.points).max() <= ud.BOX and any("rescaled" in n for n in res.notes)
    res = ud.points_from_csv(_rows(ud.MAX_POINTS + 5000, 3.0))
    assert len(res.points) == ud.MAX_POINTS and any("thinned" in n for n in res.notes)


# ================================================================== user data: images
def _png(size=(64, 64), colour=0, mode="L", **save) -> bytes:
    img = Image.new(mode, size, colour)
    buf = io.BytesIO()
    img.save(buf, format="PNG", **save)
    return buf.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares width x height but carries one tiny IDAT (a decompression bomb's header)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + \
        chunk(b"IEND", b"")


def _apng() -> bytes:
    frames = [Image.new("L", (16, 16), c) for c in (0, 255)]
    buf = io.BytesIO()
    frames[0].save(buf, format="PNG", save_all=True, append_images=frames[1:])
    return buf.getvalue()


def _gif() -> bytes:
    buf = io.BytesIO()
    Image.new("L", (8, 8), 0).save(buf, format="GIF")
    return buf.getvalue()


def _jpeg_header(width: int, height: int) -> bytes:
    img = io.BytesIO()
    Image.new("L", (8, 8), 0).save(img, format="JPEG")
    data = bytearray(img.getvalue())
    i = data.find(b"\xff\xc0")  # baseline SOF0: ... height (2 bytes) width (2 bytes)
    data[i + 5:i + 9] = struct.pack(">HH", height, width)
    return bytes(data)


IMAGE_CASES = [
    ("empty", lambda: b"", {}, "empty"),
    ("over 5 MiB", lambda: b"\x89PNG" + b"\0" * ud.MAX_UPLOAD_BYTES, {}, "limit"),
    ("GIF", _gif, {}, "not a PNG or JPEG"),
    ("SVG text", lambda: b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', {},
     "not a PNG or JPEG"),
    ("HTML named .png", lambda: b"<html><body>hi</body></html>", {}, "not a PNG or JPEG"),
    ("PNG bomb header 100000 x 100000", lambda: _png_header_only(100_000, 100_000), {}, "too large"),
    ("PNG 3000 x 2000 (6 Mpixel)", lambda: _png((3000, 2000), 255), {}, "too large"),
    ("JPEG header 65000 x 65000", lambda: _jpeg_header(65_000, 65_000), {}, "too large"),
    ("truncated PNG", lambda: _png((256, 256), 0)[:60], {}, "damaged|truncated"),
    ("corrupt IDAT", lambda: _png_header_only(64, 64), {}, "damaged|truncated"),
    ("animated PNG", _apng, {}, "animated|multi-frame"),
    ("all white", lambda: _png((64, 64), 255), {}, "no dark"),
    ("transparent", lambda: _png((64, 64), (0, 0, 0, 0), "RGBA"), {}, "no dark"),
    ("threshold 2", lambda: _png(), {"threshold": 2.0}, "threshold"),
    ("threshold NaN", lambda: _png(), {"threshold": float("nan")}, "threshold"),
    ("contrast NaN", lambda: _png(), {"contrast": float("nan")}, "contrast"),
    ("contrast negative", lambda: _png(), {"contrast": -1.0}, "contrast"),
    ("zero points", lambda: _png(), {"max_points": 0}, "max_points"),
]


@pytest.mark.parametrize("make,kwargs,message", table(IMAGE_CASES))
def test_image_upload_is_rejected_with_a_message(make, kwargs, message):
    with pytest.raises(ud.InputError, match=message) as err:
        ud.points_from_image(make(), **kwargs)
    assert "\n" not in str(err.value) and len(str(err.value)) <= MAX_NOTICE_CHARS


def test_image_upload_that_is_valid_gives_capped_points_in_the_box():
    for data in (_png((200, 100), 0), _png((50, 50), 0, "I;16"), _png((40, 40), 3, "P")):
        res = ud.points_from_image(data, max_points=5000)
        assert res.points.shape == (5000, 2) and np.abs(res.points).max() <= ud.BOX + 1e-6


# ================================================================== user data: .npy (the CLI's file:PATH)
def _npy(arr=None, header=None, pickle=False) -> bytes:
    buf = io.BytesIO()
    if header is not None:
        np.lib.format.write_array_header_1_0(buf, header)
        buf.write(b"\0" * 64)
    else:
        np.save(buf, arr, allow_pickle=pickle)
    return buf.getvalue()


NPY_CASES = [
    ("pickled objects", lambda: _npy(np.array([{"a": 1}, None], dtype=object), pickle=True),
     "cannot read|numeric"),
    ("complex", lambda: _npy(np.ones((4, 2), dtype=complex)), "numeric"),
    ("strings", lambda: _npy(np.array([["a", "b"], ["c", "d"]])), "numeric"),
    ("three columns", lambda: _npy(np.ones((4, 3))), "pairs"),
    ("no rows", lambda: _npy(np.ones((0, 2))), "no points"),
    ("float16 inf", lambda: _npy(np.array([[0, 0], [np.inf, 1]], dtype=np.float16)), "NaN, infinite"),
    ("garbage", lambda: b"\x93NUMPY garbage", "cannot read"),
    ("header says 1e8 rows",
     lambda: _npy(header={"descr": "<f8", "fortran_order": False, "shape": (10**8, 2)}),
     "cannot read|too large|more"),
    # today np.load allocates the declared shape before reading: MemoryError, not a message
    ("header says 1e12 rows",
     lambda: _npy(header={"descr": "<f8", "fortran_order": False, "shape": (10**12, 2)}),
     "cannot read|too large|more"),
]


@pytest.mark.parametrize("make,message", table(NPY_CASES))
def test_npy_file_is_rejected_with_a_message(make, message):
    with pytest.raises(ud.InputError, match=message):
        ud.points_from_npy(make())


def test_points_file_paths_are_checked(tmp_path):
    (tmp_path / "big.csv").write_bytes(b"1,2\n" * (ud.MAX_UPLOAD_BYTES // 4 + 1))
    (tmp_path / "prog.exe").write_bytes(b"MZ")
    for path, message in ((tmp_path / "missing.csv", "no such file"), (tmp_path, "unknown file type"),
                          (tmp_path / "prog.exe", "unknown file type"), (tmp_path / "big.csv", "limit"),
                          (Path("/dev/zero.csv"), "no such file"), (tmp_path / "dir.csv", "no such file")):
        if path.name == "dir.csv":
            path.mkdir()
        with pytest.raises(ud.InputError, match=message):
            ud.load_points_file(path)


# ================================================================== user data: canvas strokes and clicks
def _path(cmds, **extra):
    return {"objects": [{"type": "path", "path": cmds, **extra}]}


LINE = [["M", 10, 10], ["L", 100, 100]]
STROKE_CASES = [
    ("no drawing", None, {}, "empty"),
    ("not a dict", [1, 2], {}, "empty"),
    ("objects not a list", {"objects": "x"}, {}, "empty"),
    ("junk objects", {"objects": [None, 1, "a", [], {}]}, {}, "empty"),
    ("image object pointing at a file", {"objects": [{"type": "image", "src": "file:///etc/passwd"}]}, {},
     "empty"),
    ("text left", _path(LINE, left="abc", top=1), {}, "empty"),
    ("path without points", _path([["M"]]), {}, "empty"),
    ("empty command", _path([[]]), {}, "empty"),
    ("unknown command", _path([["X", 1, 2]]), {}, "empty"),
    ("NaN point", _path([["M", 10, 10], ["L", float("nan"), 100]]), {}, "empty|NaN|finite"),
    ("polygon NaN",
     {"objects": [{"type": "polygon", "points": [{"x": float("nan"), "y": 1}, {"x": 2, "y": 3}]}]},
     {}, "empty|NaN|finite"),
    ("thickness NaN", _path(LINE), {"thickness": float("nan")}, "thickness"),
    ("thickness negative", _path(LINE), {"thickness": -1.0}, "thickness"),
    ("canvas width 0", _path(LINE), {"width": 0}, "canvas size"),
    ("canvas width NaN", _path(LINE), {"width": float("nan")}, "canvas size"),
    # today these reach math.ceil(inf): OverflowError instead of a message
    ("infinite point", _path([["M", 10, 10], ["L", float("inf"), 100]]), {}, "empty|NaN|finite|far"),
    ("point at 1e300", _path([["M", 10, 10], ["L", 1e300, 100]]), {}, "empty|NaN|finite|far"),
    ("circle radius 1e308", {"objects": [{"type": "circle", "radius": 1e308, "left": 1, "top": 1}]}, {},
     "empty|NaN|finite|far"),
]


@pytest.mark.parametrize("drawing,kwargs,message", table(STROKE_CASES))
def test_canvas_strokes_are_rejected_with_a_message(drawing, kwargs, message):
    args = {"width": 400, "height": 400, "thickness": 0.05} | kwargs
    with pytest.raises(ud.InputError, match=message):
        ud.points_from_strokes(drawing, **args)


def test_canvas_with_many_commands_stays_bounded():
    cmds = [["M", 0, 0]] + [["L", (i * 7) % 400, (i * 13) % 400] for i in range(20_000)]
    res = ud.points_from_strokes(_path(cmds), 400, 400, 0.05)
    assert len(res.points) <= ud.MAX_POINTS and np.isfinite(res.points).all()


CLICK_CASES = [("none", [], "no points"), ("NaN", [[float("nan"), 0]], "NaN"),
               ("far away", [[1e9, 0]], "outside"), ("text", [["a", "b"]], "not numbers"),
               ("triples", [[1, 2, 3]], "pairs")]


@pytest.mark.parametrize("clicks,message", table(CLICK_CASES))
def test_clicked_points_are_rejected_with_a_message(clicks, message):
    with pytest.raises(ud.InputError, match=message):
        ud.points_from_clicks(clicks)


def test_hostile_input_counts():
    """The tables stay as large as ROBUSTNESS.md says (a shrinking table is a lost check)."""
    counts = {"url": len(URL_CASES), "json": len(JSON_CASES),
              "formula": len(FORMULA_REJECTS) + len(FORMULA_NOT_STRINGS) + len(FORMULA_NOT_FINITE),
              "csv": len(CSV_CASES), "image": len(IMAGE_CASES), "npy": len(NPY_CASES),
              "strokes": len(STROKE_CASES), "clicks": len(CLICK_CASES)}
    assert counts["url"] >= 45 and counts["json"] >= 23 and counts["formula"] >= 80, counts
    assert math.fsum(counts.values()) >= 200, counts
