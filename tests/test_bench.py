"""Tests of the benchmark harness's own logic (bench/run.py, measure.py, report.py, peers.py); the peers and
`trygghet run` are not run here, and no test asserts a time."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from bench import peers, report
from bench.measure import fit_exponent, machine
from bench.run import agreement, estimate_seconds, parse, run_measured


def _result(tool: str, shares: list[float], ses: list[float], coef: float = 0.1) -> dict:
    return {
        "tool": tool,
        "status": "ok",
        "estimates": [
            {"year": 2022, "district": d, "estimate": p, "se": s} for d, p, s in zip(("A", "B"), shares, ses)
        ],
        "model": [{"term": "(Intercept)", "estimate": 5.0, "se": 1.0}, {"term": "year", "estimate": coef, "se": 0.01}],
    }


def test_agreement_reports_max_differences() -> None:
    res = [
        _result("R survey", [0.2, 0.4], [0.01, 0.02]),
        _result("svy", [0.2, 0.4 + 1e-9], [0.01, 0.02]),
        _result("balance", [0.21, 0.4], [0.011, 0.02], coef=0.2),
        {"tool": "samplics", "status": "skipped, too slow: estimated 999 s"},
    ]
    ag = agreement(res)
    pairs = {(p["a"], p["b"]): p["max_abs_diff"] for p in ag["estimates"]}
    assert pairs[("R survey", "svy")] == pytest.approx(1e-9)
    assert pairs[("R survey", "balance")] == pytest.approx(0.01)
    assert len(pairs) == 3  # the skipped tool is left out
    se = {s["tool"]: s["max_rel_diff_se"] for s in ag["se"]}
    assert se == {"svy": pytest.approx(0.0), "balance": pytest.approx(0.1)}
    coef = {c["tool"]: c["max_abs_diff_coef"] for c in ag["model"]}
    assert coef["balance"] == pytest.approx(0.1) and coef["svy"] == 0.0


def test_estimate_seconds_keeps_r_calibration_fixed() -> None:
    prev = {"wall": 30.0, "steps": {"weight": 20.0}}
    assert estimate_seconds("R survey", prev, 10) == pytest.approx(20 + 10 * 10)
    assert estimate_seconds("svy", prev, 10) == pytest.approx(300)


def test_run_measured_reports_exit_code_and_peak_memory(tmp_path: Path) -> None:
    m = run_measured([sys.executable, "-c", "x = bytearray(50_000_000); print('done')"], timeout=60, cwd=tmp_path)
    assert m["code"] == 0 and "done" in m["output"] and m["peak_mb"] > 45
    bad = run_measured([sys.executable, "-c", "raise SystemExit(3)"], timeout=60, cwd=tmp_path)
    assert bad["code"] == 3


def test_peers_usage_error() -> None:
    assert peers.main(["nosuchtool", "a", "b", "c"]) == 2


def test_run_measured_counts_the_whole_process_tree(tmp_path: Path) -> None:
    # the parent stays small; a child it starts holds 200 MB for a second: the tree's peak includes it
    child = "x = bytearray(200_000_000); import time; time.sleep(1.0)"
    parent = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {child!r}], check=True)"
    m = run_measured([sys.executable, "-c", parent], timeout=120, cwd=tmp_path)
    assert m["code"] == 0
    assert m["peak_mb"] > 190
    assert isinstance(m["load_before"], float) and isinstance(m["load_after"], float)


def test_fit_exponent_recovers_power_law() -> None:
    sizes = [1e5, 1e6, 5e6]
    e = fit_exponent(sizes, [3.0 * (n / 1e5) ** 0.9 for n in sizes])
    assert e["b"] == pytest.approx(0.9, abs=1e-12) and e["a"] == pytest.approx(3.0 / 1e5**0.9, rel=1e-9)
    assert e["max_abs_log_residual"] < 1e-12 and e["points"] == 3
    assert fit_exponent([1e5], [2.0]) is None
    assert fit_exponent([1e5, 1e6], [2.0, None]) is None  # a failed run leaves one point


def test_machine_describes_cores_memory_cpu_and_load() -> None:
    m = machine()
    assert m["cores_logical"] >= 1 and m["memory_gb"] > 0 and m["cpu_model"]
    assert len(m["load_average"]) == 3


def test_markdown_report_tables() -> None:  # long: one literal report, compared table by table
    runs = [
        {
            "n": 100_000,
            "wall": 10.0,
            "peak_mb": 500.0,
            "statistics": 0.5,
            "load_before": 1.0,
            "load_after": 2.0,
            "status": "ok",
            "steps": {
                "read": 0.1,
                "validate": 0.2,
                "store": 1.0,
                "weight": 0.2,
                "estimate": 0.2,
                "trend": 0.1,
                "publish": 2.0,
            },
        },
        {
            "n": 1_000_000,
            "wall": 80.0,
            "peak_mb": 1400.0,
            "statistics": 4.0,
            "load_before": 1.0,
            "load_after": 1.5,
            "status": "ok",
            "steps": {},
        },
    ]
    rep = {
        "started": "20260101T000000Z",
        "machine": {
            "cpu_model": "Test CPU",
            "cores_logical": 2,
            "cores_physical": 2,
            "memory_gb": 24.0,
            "python": "3.11",
            "platform": "Linux",
            "load_average": [1.0, 2.0, 3.0],
        },
        "wave": {"districts": 20, "years": 5, "seed": 1},
        "growth": {"runs": runs, "exponent_wall": fit_exponent([1e5, 1e6], [10.0, 80.0]), "exponent_statistics": None},
        "steps": [dict(runs[0], label="sqlite")],
        "store": [
            {
                "db": "sqlite",
                "step": "store load_wave",
                "rows": 1000,
                "seconds": 0.5,
                "rows_per_s": 2000,
                "cpu_s": 0.4,
                "load_avg": 1.2,
            }
        ],
        "notes": ["a note"],
    }
    rep["statistics"] = {
        "n": 1_000_000,
        "status": "ok",
        "load_before": 0.1,
        "load_after": 0.2,
        "peak_mb": 900.0,
        "wall": {"weight": 0.5, "estimate": 1.0, "trend": 0.5, "statistics": 2.0, "trend_rows": 0.3},
        "cpu": {"weight": 0.5, "estimate": 1.0, "trend": 0.5, "statistics": 2.0, "trend_rows": 0.3},
    }
    rep["peers"] = {
        "n": 1_000_000,
        "agreement": {},
        "tools": [
            {
                "tool": "trygghet",
                "status": "ok",
                "compute": 1.0,
                "wall": 5.0,
                "peak_mb": 700.0,
                "steps": {"weight": 0.5, "estimate": 0.3, "model": 0.2},
            },
            {
                "tool": "svy",
                "status": "ok",
                "compute": 40.0,
                "wall": 45.0,
                "peak_mb": 2000.0,
                "steps": {"weight": 4.0, "estimate": 30.0, "model": 6.0},
            },
        ],
    }
    md = report.markdown(rep)
    assert "| wall | 0.50 | 1.00 | 0.50 | 2.00 | 0.30 |" in md
    assert "| svy | 4.00 | 30.00 | 6.00 | 40.00 | 45.00 | 2000 | 40.0 |" in md
    assert "against svy's one indicator (40.00 s): 20.0× faster" in md
    assert "Test CPU, 2 logical cores (2 physical), 24.0 GB memory" in md
    assert "load average at the start 1.00, 2.00, 3.00" in md
    assert "| 1,000,000 | 80.00 | 1400 | 4.00 | 1.00 → 1.50 | ok |" in md
    assert "b = 0.903 over 2 sizes" in md  # log(8) / log(10)
    assert "| sqlite | 0.10 | 0.20 | 1.00 | 0.20 | 0.20 | 0.10 | 2.00 | 0.50 | 10.00 | 500 | 1.00 → 2.00 |" in md
    assert "| sqlite | store load_wave | 1,000 | 0.50 | 2,000 | 0.40 | 1.20 |" in md
    assert "- a note" in md


def test_where_the_time_goes() -> None:
    """The publish step's parts and the report's formats as given; the store's wait is what the store thread
    took beyond the statistics (3.0 - (0.3 + 1.3 + 0.2) = 1.2); the rest of the wall time is what no step
    measured: 12.9 - (0.4 + 0.3 + 6.4 + 1.8) - 1.2 = 2.8."""
    run = {
        "label": "sqlite",
        "wall": 12.9,
        "steps": {
            "read": 0.4,
            "validate": 0.3,
            "store": 3.0,
            "weight": 0.3,
            "estimate": 1.3,
            "trend": 0.2,
            "publish": 6.4,
        },
        "publish_parts": {"analysis_files": 0.2, "run_outputs": 1.1, "report": 3.5},
        "report_parts": {"build": 0.4, "html": 0.5, "charts": 0.7},
    }
    lines = report.where_lines([run, {"label": "old", "wall": 1.0, "steps": {}}])
    assert lines[1] == "Where the time goes (seconds; the report's parts are within `report`):"
    assert lines[-1] == (
        "| sqlite | 0.20 | – | 1.10 | 3.50 | 0.40 | 0.50 | – | – | – | – | 0.70 | – | – | – | 1.20 | 2.80 |"
    )
    assert len(lines) == 6  # the old run without the parts has no row
    assert report.where_lines([{"label": "old", "wall": 1.0, "steps": {}}]) == []


def test_where_the_time_goes_when_the_publish_step_waits_for_the_load() -> None:
    """With ``record`` among the publish step's parts the wait for the load is within the publish step: no
    wait after the statistics, and the rest is 12.9 - (0.4 + 0.3 + 6.4 + 1.8) = 4.0."""
    run = {
        "label": "sqlite",
        "wall": 12.9,
        "steps": {"read": 0.4, "validate": 0.3, "store": 3.0, "weight": 0.3, "estimate": 1.3, "trend": 0.2},
        "publish_parts": {"analysis_files": 0.2, "record": 1.2, "run_outputs": 1.1, "report": 3.5},
    }
    run["steps"]["publish"] = 6.4
    lines = report.where_lines([run])
    assert lines[-1] == "| sqlite | 0.20 | 1.20 | 1.10 | 3.50 | – | – | – | – | – | – | – | – | – | – | 0.00 | 4.00 |"


def test_markdown_load_section() -> None:
    steps = {"read": 1.0, "validate": 2.0, "store": 3.0, "weight": 1.0, "estimate": 1.0, "trend": 1.0, "publish": 2.0}
    big = {"n": 2_000_000, "wall": 30.0, "peak_mb": 2500.0, "statistics": 3.0, "status": "ok", "steps": steps}
    many = {
        "n": 100_000,
        "waves": 20,
        "year": 2021,
        "preload": {"status": "ok", "wall": 60.0},
        "ratio": 1.05,
        "runs": [
            {"case": "empty", "wall": 10.0, "peak_mb": 400.0, "status": "ok", "steps": steps},
            {"case": "preloaded", "wall": 10.5, "peak_mb": 410.0, "status": "ok", "steps": steps},
        ],
    }
    lines = report.load_lines({"big": {**big, "goal_mb": 3072, "within_goal": True}, "many": many})
    md = "\n".join(lines)
    assert "peak 2500 MB of the process tree (within the goal of 3,072 MB)" in md
    assert "| 2,000,000 | 1.00 | 2.00 | 3.00 | 1.00 | 1.00 | 1.00 | 2.00 | 3.00 | 30.00 | 2500 |" in md
    assert "20 one-year waves of 100,000 respondents" in md and "preloaded / empty wall = 1.05." in md
    assert "| empty store | 1.00 |" in md and "| store with 20 waves | 1.00 |" in md
    a = parse(["--big-size", "0", "--load-waves", "3", "--load-wave-size", "20000"])
    assert (a.big_size, a.load_waves, a.load_wave_size) == (0, 3, 20000)
    assert (parse([]).big_size, parse([]).load_waves) == (2_000_000, 20)


def test_only_some_sections_keeps_the_others_from_the_previous_run(tmp_path: Path) -> None:
    from bench.run import carry_over

    previous = tmp_path / "latest.json"
    old = {"run": "20250101T000000Z", "cpu": "Old CPU"}
    previous.write_text(
        json.dumps(
            {
                "started": "20260101T000000Z",
                "machine": {"cpu_model": "Test CPU"},
                "growth": {"runs": []},
                "peers": {"n": 1},
                "measured": {"peers": old},
            }
        )
    )
    report: dict = {"started": "20260202T000000Z", "machine": {"cpu_model": "New CPU"}, "notes": [], "store": [{}]}
    carry_over(report, {"store", "load"}, previous)
    assert report["peers"] == {"n": 1} and report["store"] == [{}] and "growth" in report
    assert "peers: figures of the run of 20250101T000000Z on Old CPU (not measured again)" in report["notes"]
    assert "growth: figures of the run of 20260101T000000Z on Test CPU (not measured again)" in report["notes"]
    assert report["measured"]["store"] == {"run": "20260202T000000Z", "cpu": "New CPU", "commit": None}
    assert parse(["--only", "store,load"]).only == "store,load"


def test_carried_over_figures_name_the_commit_they_were_measured_on(tmp_path: Path) -> None:
    from bench.run import carry_over

    previous = tmp_path / "latest.json"
    previous.write_text(
        json.dumps(
            {
                "started": "20260101T000000Z",
                "machine": {"cpu_model": "Old CPU"},
                "code": {"commit": "abc1234"},
                "peers": {"n": 1},
                "measured": {"peers": {"run": "20260101T000000Z", "cpu": "Old CPU", "commit": "abc1234"}},
            }
        )
    )
    report: dict = {
        "started": "20260202T000000Z",
        "machine": {"cpu_model": "New CPU"},
        "notes": [],
        "code": {"commit": "def5678"},
        "store": [{}],
    }
    carry_over(report, {"store"}, previous)
    assert (
        "peers: figures of the run of 20260101T000000Z on Old CPU, commit abc1234 (not measured again)"
        in (report["notes"])
    )
    assert report["measured"]["store"]["commit"] == "def5678"


def _git(repo: Path, *args: str) -> None:
    import subprocess

    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def test_the_checkout_names_its_commit_and_every_change(tmp_path: Path) -> None:
    from bench.measure import checkout

    repo = tmp_path / "repo"
    (repo / "bench" / "results").mkdir(parents=True)
    (repo / "a.py").write_text("x = 1\n", encoding="utf-8")
    _git(repo, "init", "-q")
    _git(repo, "add", "a.py")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    clean = checkout(repo)
    assert len(clean["commit"]) >= 7 and clean["changed"] == []
    (repo / "bench" / "results" / "latest.md").write_text("figures\n", encoding="utf-8")
    assert checkout(repo) == clean  # the bench's own results are no change of the code
    (repo / "a.py").write_text("x = 2\n", encoding="utf-8")
    edited = checkout(repo)
    assert edited["changed"] == ["a.py"] and edited["fingerprint"] != clean["fingerprint"]
    (repo / "a.py").write_text("x = 3\n", encoding="utf-8")
    assert checkout(repo)["fingerprint"] != edited["fingerprint"]  # an edit during the bench shows
    (repo / "new.py").write_text("", encoding="utf-8")
    assert checkout(repo)["changed"] == ["a.py", "new.py"]
    outside = tmp_path / "plain"
    outside.mkdir()
    assert checkout(outside)["commit"] == "" and checkout(outside)["changed"] == []


def test_the_report_says_which_code_it_measured() -> None:
    assert report.code_lines({"commit": "abc1234", "changed": []}) == [
        "Code: commit abc1234, no uncommitted changes.",
        "",
    ]
    line = report.code_lines({"commit": "abc1234", "changed": ["a.py", "b.py"]})[0]
    assert line == "Code: commit abc1234 with uncommitted changes in 2 files: `a.py`, `b.py`."
    assert report.code_lines(None) == []


def test_a_checkout_that_changes_during_the_bench_is_noted(tmp_path: Path, monkeypatch) -> None:
    from bench import run as bench_run

    states = iter(
        [
            {"commit": "abc1234", "changed": [], "fingerprint": "1"},
            {"commit": "abc1234", "changed": ["a.py"], "fingerprint": "2"},
        ]
    )
    monkeypatch.setattr(bench_run, "checkout", lambda: next(states))
    monkeypatch.setattr(bench_run, "warm_up", lambda *_a: None)
    assert bench_run.main(["--only", "growth", "--sizes", "", "--results", str(tmp_path)]) == 0
    saved = json.loads((tmp_path / "latest.json").read_text(encoding="utf-8"))
    assert saved["code"]["commit"] == "abc1234"
    assert any(n.startswith("the checkout changed while the bench ran") for n in saved["notes"])
    assert "Code: commit abc1234, no uncommitted changes." in (tmp_path / "latest.md").read_text(encoding="utf-8")


def test_sizes_are_configurable() -> None:
    a = parse(["--sizes", "20000,50000", "--step-size", "50000", "--peers", "none"])
    assert a.sizes == "20000,50000" and a.step_size == 50000 and a.peers == "none"
    assert parse([]).sizes == "100000,1000000,5000000,10000000"


def test_a_warm_up_run_comes_before_the_timed_runs(tmp_path: Path, monkeypatch) -> None:
    """``trygghet run`` is stood in for: the calls' order and sizes are what is checked, no time."""
    from bench import run as bench_run

    calls: list[tuple[str, int]] = []

    def wave(n, *_a, **_k):
        return tmp_path / f"r{n}.csv", tmp_path / f"p{n}.csv"

    def fake_run(resp, _pop, _out, _db, _timeout, label=""):
        calls.append((label, int(resp.stem[1:])))
        return {
            "label": label,
            "status": "ok",
            "wall": 1.0,
            "peak_mb": 1.0,
            "load_before": 0,
            "load_after": 0,
            "statistics": 0.5,
            "steps": {},
        }

    monkeypatch.setattr(bench_run, "ensure_wave", wave)
    monkeypatch.setattr(bench_run, "run_trygghet", fake_run)
    assert bench_run.main(["--only", "growth", "--sizes", "20000,50000", "--results", str(tmp_path)]) == 0
    assert calls == [("warm-up", bench_run.WARM_UP_SIZE), ("sqlite", 20000), ("sqlite", 50000)]
    notes = json.loads((tmp_path / "latest.json").read_text(encoding="utf-8"))["notes"]
    assert "warm-up: one untimed run of 10,000 respondents first (ok, 1.0 s)" in notes


def test_the_step_size_repeats_come_before_the_larger_sizes(tmp_path: Path, monkeypatch) -> None:
    """The 1M repeats are not run after the 5M and 10M runs (which slowed the next runs on the machine)."""
    from bench import run as bench_run

    calls: list[tuple[str, int]] = []

    def fake_run(resp, _pop, _out, _db, _timeout, label=""):
        calls.append((label, int(resp.stem[1:])))
        return {"label": label, "status": "ok", "wall": 1.0, "peak_mb": 1.0, "load_before": 0, "load_after": 0}

    monkeypatch.setattr(bench_run, "ensure_wave", lambda n, *_a, **_k: (tmp_path / f"r{n}.csv", tmp_path / "p.csv"))
    monkeypatch.setattr(bench_run, "run_trygghet", lambda *a, **k: {**fake_run(*a, **k), "statistics": 0.5})
    argv = ["--only", "growth,steps", "--sizes", "20000,50000,100000", "--step-size", "50000"]
    assert bench_run.main([*argv, "--step-repeats", "2", "--no-postgres", "--results", str(tmp_path)]) == 0
    assert calls == [("warm-up", bench_run.WARM_UP_SIZE)] + [("sqlite", n) for n in (20000, 50000, 50000, 100000)]
    saved = json.loads((tmp_path / "latest.json").read_text(encoding="utf-8"))
    assert [r["n"] for r in saved["growth"]["runs"]] == [20000, 50000, 100000]
    assert saved["steps"][0]["walls"] == [1.0, 1.0]


def test_the_steps_show_the_run_of_median_wall_time() -> None:
    from bench.run import median_run

    runs = [{"label": "sqlite", "status": "ok", "wall": w} for w in (9.9, 8.1, 8.5)]
    chosen = median_run(runs)
    assert chosen["wall"] == 8.5 and chosen["walls"] == [9.9, 8.1, 8.5]
    four = median_run([{"status": "ok", "wall": w} for w in (3.0, 1.0, 2.0, 4.0)])
    assert four["wall"] == 2.0  # the lower middle of an even count
    assert median_run([{"status": "failed", "wall": 1.0}, {"status": "ok", "wall": 5.0}])["walls"] == [5.0]
    assert report.repeat_lines([chosen, {"label": "postgresql", "walls": [10.0]}]) == [
        "",
        "Wall time of each run (the table shows the median one): sqlite 8.10, 8.50, 9.90 s.",
    ]


def test_the_step_size_runs_repeat_on_both_databases(tmp_path: Path, monkeypatch) -> None:
    from bench import run as bench_run

    walls = iter([7.0, 9.0, 11.0, 10.0, 12.0])

    def fake_growth(sizes, _args, _work):
        return {"runs": [{"label": "sqlite", "status": "ok", "n": sizes[0], "wall": next(walls)}]}

    def fake_pg(n, _args, _work, _log):
        return {"label": "postgresql", "status": "ok", "n": n, "wall": next(walls)}

    monkeypatch.setattr(bench_run, "growth", fake_growth)
    monkeypatch.setattr(bench_run, "postgres_run", fake_pg)
    args = parse(["--step-size", "50000", "--step-repeats", "2"])
    first = [{"label": "sqlite", "status": "ok", "n": 50000, "wall": 8.0}, {"n": 100, "wall": 1.0}]
    sqlite, pg = bench_run.step_runs(args, tmp_path, first, [])
    assert (sqlite["wall"], sqlite["walls"]) == (7.0, [8.0, 7.0])  # the growth run counts as one
    assert (pg["wall"], pg["walls"]) == (9.0, [9.0, 11.0])
    assert parse([]).step_repeats == 3
