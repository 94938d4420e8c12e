"""The peers of ``make bench``: which tools are there, running one on a wave, and whether they agree.

Each tool runs the task of :mod:`bench.peers` (one indicator: raking, domain shares with SEs, a logistic
trend model) in its own process (:func:`bench.measure.run_measured`), so wall time and peak memory are per
tool. ``balance`` runs from ``bench/.venv-peers`` (it needs numpy < 2 on Python 3.11), a venv made on first use.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.measure import BENCH, run_measured

PEERS_VENV = BENCH / ".venv-peers"
PEERS_PY = PEERS_VENV / "bin" / "python"
TOOLS = ("trygghet", "R survey", "svy", "samplics", "balance")


def ensure_peers_venv(log: list[str]) -> bool:
    """Create ``bench/.venv-peers`` with balance + psutil when it is missing; True when balance imports."""
    if not PEERS_PY.exists():
        print("creating bench/.venv-peers for balance (it pins numpy < 2 on Python 3.11) ...", flush=True)
        try:
            subprocess.run([sys.executable, "-m", "venv", str(PEERS_VENV)], check=True)
            subprocess.run([str(PEERS_PY), "-m", "pip", "install", "-q", "balance", "psutil"], check=True, timeout=1200)
        except (subprocess.SubprocessError, OSError) as exc:
            log.append(f"balance: could not build bench/.venv-peers ({exc})")
            return False
    ok = subprocess.run([str(PEERS_PY), "-c", "import balance"], capture_output=True).returncode == 0
    if not ok:
        log.append("balance: not importable in bench/.venv-peers")
    return ok


def available(log: list[str], wanted: tuple[str, ...] | list[str] = TOOLS) -> dict[str, list[str] | None]:
    """Command prefix per tool (None = not available, with the reason in ``log``); ``bench/.venv-peers`` is
    only made when balance is wanted."""
    cmds: dict[str, list[str] | None] = {}
    try:
        import survey.pipeline.steps  # noqa: F401

        cmds["trygghet"] = [sys.executable, "-m", "bench.peers", "trygghet"]
    except ImportError as exc:
        log.append(f"trygghet: survey.pipeline.steps not available yet ({exc})")
        cmds["trygghet"] = None
    rscript = shutil.which("Rscript")
    r_ok = (
        rscript
        and subprocess.run([rscript, "-e", "library(survey); library(jsonlite)"], capture_output=True).returncode == 0
    )
    cmds["R survey"] = [rscript, str(BENCH / "peer_r.R")] if r_ok else None
    if not r_ok:
        log.append("R survey: Rscript with the survey and jsonlite packages is not installed")
    for name in ("svy", "samplics"):
        if importlib.util.find_spec(name):
            cmds[name] = [sys.executable, "-m", "bench.peers", name]
        else:
            cmds[name] = None
            log.append(f"{name}: not installed (pip install -e '.[bench]')")
    use_balance = "balance" in wanted and ensure_peers_venv(log)
    cmds["balance"] = [str(PEERS_PY), "-m", "bench.peers", "balance"] if use_balance else None
    return cmds


def run_tool(name: str, prefix: list[str], resp: Path, pop: Path, work: Path, timeout: float) -> dict[str, Any]:
    """One tool on one wave: the measured process plus the JSON it wrote."""
    out = work / f"{name.replace(' ', '_')}.json"
    out.unlink(missing_ok=True)
    m = run_measured(prefix + [str(resp), str(pop), str(out)], timeout)
    res: dict[str, Any] = {
        "tool": name,
        "wall": m["wall"],
        "peak_mb": m["peak_mb"],
        "load_before": m["load_before"],
        "load_after": m["load_after"],
    }
    payload = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    if m["code"] != 0 or "error" in payload or not payload:
        err = payload.get("error") or (m["output"].strip().splitlines() or [f"exit {m['code']}"])[-1]
        res["status"] = f"failed: {err[:200]}"
        return res
    res.update(payload)
    res["tool"] = name
    res["status"] = "ok"
    res["compute"] = sum(v for k, v in payload["steps"].items() if k != "read")
    return res


def estimate_seconds(name: str, prev: dict[str, Any], ratio: float) -> float:
    """Expected wall seconds of a tool at ``ratio`` times the previous size.

    Linear in n, except R's calibration step: survey's grake inverts the p × p calibration matrix
    (p = 8 per stratum = 800 here) with MASS::ginv at every Newton step, which does not grow with n and
    dominates the step (measured: about 21 s at both 40,000 and 100,000 rows).
    """
    if name == "R survey":
        fixed = prev.get("steps", {}).get("weight", 0.0)
        return fixed + (prev["wall"] - fixed) * ratio
    return prev["wall"] * ratio


# --- agreement -------------------------------------------------------------------------------------


def agreement(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Max abs difference of the district shares between every pair of tools; SEs and model vs reference."""
    ok = [r for r in results if r.get("status") == "ok" and r.get("estimates")]
    tables = {r["tool"]: {(int(e["year"]), e["district"]): e for e in r["estimates"]} for r in ok}
    pairs = []
    names = list(tables)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            keys = tables[a].keys() & tables[b].keys()
            diff = max((abs(tables[a][k]["estimate"] - tables[b][k]["estimate"]) for k in keys), default=float("nan"))
            missing = len(tables[a].keys() ^ tables[b].keys())
            pairs.append({"a": a, "b": b, "domains": len(keys), "missing": missing, "max_abs_diff": diff})
    ref = next((n for n in ("R survey", "trygghet") if n in tables), None)
    se = []
    if ref:
        for n in names:
            if n == ref:
                continue
            keys = tables[n].keys() & tables[ref].keys()
            rel = [abs(tables[n][k]["se"] / tables[ref][k]["se"] - 1) for k in keys if tables[ref][k]["se"]]
            se.append({"tool": n, "reference": ref, "max_rel_diff_se": max(rel, default=float("nan"))})
    models = {r["tool"]: {m["term"]: m for m in r["model"]} for r in ok if r.get("model")}
    coef = []
    mref = next((n for n in ("R survey", "trygghet") if n in models), None)
    if mref:
        for n, terms in models.items():
            if n == mref:
                continue
            keys = [t for t in terms.keys() & models[mref].keys() if t != "(Intercept)"]
            coef.append(
                {
                    "tool": n,
                    "reference": mref,
                    "terms": len(keys),
                    "max_abs_diff_coef": max(
                        (abs(terms[t]["estimate"] - models[mref][t]["estimate"]) for t in keys), default=float("nan")
                    ),
                    "max_rel_diff_se": max(
                        (abs(terms[t]["se"] / models[mref][t]["se"] - 1) for t in keys if models[mref][t]["se"]),
                        default=float("nan"),
                    ),
                }
            )
    return {"estimates": pairs, "se": se, "model": coef}
