"""``make bench`` / ``python -m bench.run``: trygghet against its peers on the same synthetic waves.

For each size (default 100,000 and 1,000,000 respondents; 20 districts × 5 years, one seed) the harness
writes one synthetic wave (``survey.data.synth``) and lets every tool do the same task on the same files, each
in its own process so that wall time and peak RSS (``os.wait4``) are per tool:

* ``trygghet``  survey.pipeline.weight / estimate / trend, restricted to the one indicator (bench/peers.py)
* ``R survey``  bench/peer_r.R: svydesign + calibrate(raking) + svyby(svymean) + svyglm(quasibinomial)
* ``svy``, ``samplics``  in the project venv; ``balance`` in ``bench/.venv-peers`` (it needs numpy < 2 on
  Python 3.11), a venv this script creates and fills on first use
* ``trygghet run``  the whole CLI pipeline (all indicators, read → validate → store → … → publish) with its
  own step timings from ``run.json``

A tool whose estimated time at a size exceeds ``--max-seconds`` (from its time at the previous size,
scaled linearly; see ``estimate_seconds``) is skipped with the estimate printed. On the first size the
district shares of all tools
are compared (max abs difference) — a benchmark of tools that compute different numbers is worthless —
and their standard errors are set against the calibration-aware reference. Then, when
``bench.bench_ingest`` is there, its ingest + validate + store throughput is printed.

Output: a table on stdout and ``bench/results/bench-<UTC time>.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
PEERS_VENV = BENCH / ".venv-peers"
PEERS_PY = PEERS_VENV / "bin" / "python"
TOOLS = ("trygghet", "R survey", "svy", "samplics", "balance")


# --- running one tool ------------------------------------------------------------------------------


def run_measured(cmd: list[str], timeout: float, cwd: Path = ROOT) -> dict[str, Any]:
    """Run ``cmd``; wall seconds, peak RSS (MB, of that process tree's largest process) and exit code."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    out_chunks: list[bytes] = []
    status, rusage = 0, None
    import threading

    reader = threading.Thread(target=lambda: out_chunks.append(proc.stdout.read()), daemon=True)
    reader.start()
    while True:
        pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() - t0 > timeout:
            proc.kill()
            _, status, rusage = os.wait4(proc.pid, 0)
            reader.join(5)
            return {
                "code": -9,
                "wall": time.perf_counter() - t0,
                "peak_mb": rusage.ru_maxrss / 1024,
                "output": f"killed after {timeout:.0f} s",
            }
        time.sleep(0.02)
    proc.returncode = os.waitstatus_to_exitcode(status)
    reader.join(5)
    return {
        "code": proc.returncode,
        "wall": time.perf_counter() - t0,
        "peak_mb": rusage.ru_maxrss / 1024,
        "output": b"".join(out_chunks).decode("utf-8", "replace")[-3000:],
    }


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


def available(log: list[str]) -> dict[str, list[str] | None]:
    """Command prefix per tool (None = not available, with the reason in ``log``)."""
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
    cmds["balance"] = [str(PEERS_PY), "-m", "bench.peers", "balance"] if ensure_peers_venv(log) else None
    return cmds


def run_tool(name: str, prefix: list[str], resp: Path, pop: Path, work: Path, timeout: float) -> dict[str, Any]:
    """One tool on one wave: the measured process plus the JSON it wrote."""
    out = work / f"{name.replace(' ', '_')}.json"
    out.unlink(missing_ok=True)
    load = os.getloadavg()[0]  # other work on the machine skews wall times: keep it on record
    m = run_measured(prefix + [str(resp), str(pop), str(out)], timeout)
    res: dict[str, Any] = {"tool": name, "wall": m["wall"], "peak_mb": m["peak_mb"], "load_before": load}
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


def run_cli(
    resp: Path, pop: Path, work: Path, timeout: float, extra: Sequence[str] = (), label: str = "trygghet run"
) -> dict[str, Any]:
    """``trygghet run`` (the whole pipeline, all indicators) with the step timings of its run.json."""
    exe = Path(sys.executable).with_name("trygghet")
    out = work / "cli-out"
    shutil.rmtree(out, ignore_errors=True)
    cmd = [
        str(exe),
        "run",
        "--responses",
        str(resp),
        "--population",
        str(pop),
        "--out",
        str(out),
        "--db",
        f"sqlite:///{out / 'bench.db'}",
        *extra,
    ]
    if not exe.exists():
        return {"tool": label, "status": "not available yet: no trygghet console script"}
    out.mkdir(parents=True)
    m = run_measured(cmd, timeout)
    res: dict[str, Any] = {"tool": label, "wall": m["wall"], "peak_mb": m["peak_mb"]}
    run_json = out / "run.json"
    if m["code"] != 0 or not run_json.exists():
        last = m["output"].strip().splitlines()[-1:] or [f"exit {m['code']}"]
        res["status"] = f"not available yet: {last[0][:200]}"
        return res
    res["steps"] = json.loads(run_json.read_text(encoding="utf-8")).get("steps", {})
    res["status"] = "ok"
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


# --- printing --------------------------------------------------------------------------------------


def _f(x: Any, fmt: str = "{:.2f}") -> str:
    return fmt.format(x) if isinstance(x, (int, float)) else "–"


def print_table(size: int, results: list[dict[str, Any]]) -> None:
    base = next((r for r in results if r["tool"] == "trygghet" and r.get("status") == "ok"), None)
    print(f"\n== {size:,} respondents ==")
    head = (
        f"{'tool':<13}{'read':>7}{'weight':>9}{'estimate':>10}{'model':>8}{'compute':>9}{'wall':>8}"
        f"{'peak MB':>9}{'× trygghet':>15}  standard error"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        if r.get("status") != "ok":
            print(f"{r['tool']:<13}{r.get('status', '')}")
            continue
        st = r.get("steps", {})
        ratio = (
            f"{r['compute'] / base['compute']:.1f} / {r['wall'] / base['wall']:.1f}"
            if base and r is not base and base.get("compute")
            else "1"
        )
        print(
            f"{r['tool']:<13}{_f(st.get('read')):>7}{_f(st.get('weight')):>9}{_f(st.get('estimate')):>10}"
            f"{_f(st.get('model')):>8}{_f(r.get('compute')):>9}{_f(r['wall']):>8}{_f(r['peak_mb'], '{:.0f}'):>9}"
            f"{ratio:>15}  {r.get('se_method', '')}"
        )
    print(
        "(seconds; compute = weight + estimate + model; wall = whole process incl. start-up and reading;"
        " × trygghet = compute / wall ratios)"
    )


def print_cli(r: dict[str, Any]) -> None:
    if r.get("status") != "ok":
        print(f"{r.get('tool')}: {r.get('status')}")
        return
    steps = ", ".join(f"{k} {v:.2f}" for k, v in r["steps"].items())
    print(
        f"{r['tool']} (whole pipeline, all indicators): wall {r['wall']:.2f} s, peak {r['peak_mb']:.0f} MB;"
        f" steps: {steps}"
    )


def print_agreement(size: int, ag: dict[str, Any]) -> None:
    print(f"\nagreement on the {size:,} wave (unsafe_after_dark per year × district):")
    for p in ag["estimates"]:
        print(
            f"  {p['a']:>10} vs {p['b']:<10} max |Δ share| = {p['max_abs_diff']:.2e} over {p['domains']} domains"
            + (f" ({p['missing']} domains in one only)" if p["missing"] else "")
        )
    for s in ag["se"]:
        print(f"  SE  {s['tool']:>10} vs {s['reference']:<10} max |SE ratio − 1| = {s['max_rel_diff_se']:.2e}")
    for c in ag["model"]:
        print(
            f"  model {c['tool']:>8} vs {c['reference']:<10} max |Δ coef| = {c['max_abs_diff_coef']:.2e},"
            f" max |SE ratio − 1| = {c['max_rel_diff_se']:.2e} ({c['terms']} terms, intercept left out)"
        )


# --- main ------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="100000,1000000", help="respondents per wave, comma separated")
    ap.add_argument("--districts", type=int, default=20)
    ap.add_argument("--years", type=int, default=5)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--tools", default=",".join(TOOLS), help="subset of: " + ", ".join(TOOLS))
    ap.add_argument(
        "--max-seconds", type=float, default=300.0, help="skip a peer whose estimated time at a size exceeds this"
    )
    ap.add_argument("--no-cli", action="store_true", help="leave out the `trygghet run` pipeline")
    ap.add_argument("--no-ingest", action="store_true", help="leave out bench.bench_ingest")
    ap.add_argument("--keep-data", action="store_true", help="keep the synthetic CSVs under bench/results/")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    wanted = [t.strip() for t in args.tools.split(",")]

    from survey.data.synth import generate_wave, write_wave

    log: list[str] = []
    cmds = available(log)
    for line in log:
        print(line)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    report: dict[str, Any] = {
        "started": stamp,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "wave": {"districts": args.districts, "years": args.years, "seed": args.seed},
        "notes": log,
        "sizes": {},
    }
    previous: dict[str, dict[str, Any]] = {}
    for i, size in enumerate(sizes):
        work = RESULTS / f"data-{size}"
        t0 = time.perf_counter()
        resp_df, pop_df = generate_wave(size, args.districts, args.years, args.seed)
        resp, pop = write_wave(resp_df, pop_df, work)
        del resp_df, pop_df
        print(
            f"\nwave: {size:,} respondents, {args.years} years × {args.districts} districts, seed {args.seed}"
            f" ({time.perf_counter() - t0:.1f} s to synthesise and write)",
            flush=True,
        )
        results = []
        for name in TOOLS:
            if name not in wanted:
                continue
            prefix = cmds.get(name)
            if prefix is None:
                results.append({"tool": name, "status": "not available" + (" yet" if name == "trygghet" else "")})
                continue
            if name in previous and i > 0:
                est = estimate_seconds(name, previous[name], size / sizes[i - 1])
                if name != "trygghet" and est > args.max_seconds:
                    results.append({"tool": name, "status": f"skipped, too slow: estimated {est:.0f} s"})
                    print(f"  {name}: skipped, too slow: estimated {est:.0f} s", flush=True)
                    continue
            print(f"  {name} ...", end=" ", flush=True)
            r = run_tool(name, prefix, resp, pop, work, timeout=max(4 * args.max_seconds, 600))
            print(f"{r['status']} ({r.get('wall', 0):.1f} s)", flush=True)
            if r.get("status") == "ok":
                previous[name] = r
            results.append(r)
        print_table(size, results)
        entry: dict[str, Any] = {
            "tools": [{k: v for k, v in r.items() if k not in ("estimates", "model")} for r in results]
        }
        if not args.no_cli:
            cli = run_cli(resp, pop, work, timeout=max(4 * args.max_seconds, 600))
            print_cli(cli)
            entry["trygghet_run"] = cli
            bare = run_cli(
                resp,
                pop,
                work,
                timeout=max(4 * args.max_seconds, 600),
                extra=("--charts", "none"),
                label="trygghet run --charts none",
            )
            print_cli(bare)
            entry["trygghet_run_no_charts"] = bare
        if i == 0:
            ag = agreement(results)
            print_agreement(size, ag)
            entry["agreement"] = ag
        report["sizes"][str(size)] = entry
        if not args.keep_data:
            shutil.rmtree(work, ignore_errors=True)

    if not args.no_ingest:
        if importlib.util.find_spec("bench.bench_ingest") is None:
            print("\ningest: bench.bench_ingest not available yet")
        else:
            from bench import bench_ingest

            n = max(sizes)
            print(f"\ningest + validate + store ({n:,} respondents, bench.bench_ingest):", flush=True)
            try:
                report["ingest"] = bench_ingest.run(n=n)
            except Exception as exc:  # a colleague's module: report, do not lose the peers' results
                print(f"  failed: {type(exc).__name__}: {exc}")
                report["ingest"] = {"error": f"{type(exc).__name__}: {exc}"}

    path = RESULTS / f"bench-{stamp}.json"
    path.write_text(json.dumps(report, indent=2, default=float), encoding="utf-8")
    print(f"\nresults: {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
