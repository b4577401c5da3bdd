"""The benchmark harness in its tiny mode: every section present, keys as documented, all finite.

Never a time threshold: the figures depend on the machine. Runs `bench.run.main` in-process
(`--quick`, no browser) writing to a temporary folder.
"""

from __future__ import annotations

import json
import math

import pytest

from bench.run import GOALS, SECTIONS, cleaned, main

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    main(["--quick", "--out", str(out)])
    data = json.loads((out / "latest.json").read_text())
    return data, (out / "latest.md").read_text()


def _numbers(x, path="$"):
    if isinstance(x, dict):
        for k, v in x.items():
            yield from _numbers(v, f"{path}.{k}")
    elif isinstance(x, list):
        for i, v in enumerate(x):
            yield from _numbers(v, f"{path}[{i}]")
    elif isinstance(x, int | float) and not isinstance(x, bool):
        yield path, x


def test_every_section_and_key(result):
    r, _ = result
    assert r["schema"] == 1 and r["mode"] == "quick"
    for key in (*SECTIONS, "machine", "targets", "settings", "duration_s"):
        assert key in r, key
    for key in ("cpu_model", "cores", "torch", "date", "load_average_start", "load_average_end"):
        assert key in r["machine"], key
    row = r["throughput"]["rows"][0]
    assert set(row) >= {"threads", "ours_steps_per_s", "bare_steps_per_s", "ratio_ours_bare",
                        "achieved_gflops", "peak_gflops", "fraction_of_peak"}
    q = r["quality"]
    assert {run["method"] for run in q["runs"]} == {"ours", "cfm-ours", "seed", "cfm", "otcfm"}
    for run in q["runs"]:  # every method at the same budgets (ours at more)
        if run["available"] and run["method"] != "ours":
            assert [c["budget_s"] for c in run["checkpoints"]] == q["peer_budgets_s"], run["method"]
    assert set(q["peer_budgets_s"]) <= set(q["ours_budgets_s"])
    for run in q["runs"]:
        assert "time_to_quality_s" in run
        if run["available"]:
            assert run["checkpoints"], run
            assert set(run["checkpoints"][0]) >= {"seconds", "steps", "energy_distance", "sliced_w2",
                                                  "meets"}
    assert {s["target"] for s in q["time_to_quality"]} == set(q["floors"]) == set(r["settings"]["targets"])
    for field in ("exact", "trained"):
        assert set(r["sampling"][field]["methods"]) == {"euler", "heun", "rk4"}
    assert {"particles", "model_s", "exact_s"} <= set(r["sampling"]["drift_eval"][0])
    assert set(r["app"]["figures"][0]) >= {"particles", "frames", "build_s", "json_bytes"}
    assert "skipped" in r["app"]["browser"]  # quick mode leaves the browser out
    assert {t["status"] for t in r["targets"]} <= {"PASS", "MISS", "N/A"}
    assert len(r["targets"]) == 1 + len(GOALS) + len(r["settings"]["targets"]) + 2
    assert all("at equal budget" in s["verdict"] or "no peer" in s["verdict"] for s in q["time_to_quality"])


def test_every_figure_is_finite_and_positive_where_it_must_be(result):
    r, _ = result
    numbers = list(_numbers(r))
    assert len(numbers) > 50
    assert r["non_finite"] == []  # a NaN or infinite figure is listed there (written as null)
    bad = [(p, v) for p, v in numbers if not math.isfinite(v)]
    assert not bad, bad
    for row in r["throughput"]["rows"]:
        assert row["ours_steps_per_s"] > 0 and row["bare_steps_per_s"] > 0 and row["peak_gflops"] > 0
    for run in r["quality"]["runs"]:
        for c in run["checkpoints"]:
            assert c["energy_distance"] is not None and c["energy_distance"] >= 0
            assert c["sliced_w2"] is not None and c["sliced_w2"] >= 0


def test_markdown_has_the_machine_and_every_section(result):
    _, md = result
    for text in ("Machine:", "torch", "Targets", "1. Training throughput", "2. Quality",
                 "3. Sampling", "4. The app", "Load average"):
        assert text in md, text


def test_a_non_finite_figure_is_reported_not_hidden():
    out = cleaned({"a": [1.0, float("nan")], "b": {"c": float("inf"), "d": 2}})
    assert out["a"] == [1.0, None] and out["b"]["c"] is None
    assert out["non_finite"] == ["$.a[1]", "$.b.c"]


def test_a_subset_of_sections_keeps_the_others(result, tmp_path):
    """`--sections throughput` rewrites that section and keeps the rest of latest.json."""
    r, _ = result
    (tmp_path / "latest.json").write_text(json.dumps(r))
    new = main(["--quick", "--out", str(tmp_path), "--sections", "throughput"])
    data = json.loads((tmp_path / "latest.json").read_text())
    assert set(data["sections"]) == set(SECTIONS)
    assert data["quality"] == r["quality"] and data["sampling"] == r["sampling"]
    assert data["throughput"] == new["throughput"] and data["throughput"] != r["throughput"]
    assert "4. The app" in (tmp_path / "latest.md").read_text()
