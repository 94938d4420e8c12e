"""Tests of the benchmark harness's own logic (bench/run.py, bench/peers.py); the peers are not run here."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bench import peers
from bench.run import agreement, estimate_seconds, run_measured


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
