"""``make bench`` / ``python -m bench.run``: how fast trygghet is, how it grows, and against its peers.

1. **Growth** — the whole ``trygghet run`` (SQLite, default outputs) on synthetic waves of ``--sizes``
   respondents (default 100,000, 1,000,000, 5,000,000 and 10,000,000; 20 districts × 5 years, one seed;
   ``--sizes 100000,1000000,5000000`` leaves out the largest), each in its own process: wall time and the peak
   resident memory of the process tree (psutil, :mod:`bench.measure`), and the fitted exponent ``b`` of
   ``time ≈ a n^b`` (least squares on log-log).
2. **Steps** at ``--step-size`` (default 1,000,000): read, validate, store, weight, estimate, trend, publish
   from the run's ``run.json``, the statistics total (weight + estimate + trend); the same run on PostgreSQL
   (own schema) unless ``--no-postgres``. Each ``--step-repeats`` times (default 3): the run of median wall
   time is shown, with the others' wall times. They run before the growth sizes above the step size (a 10M run
   slowed the 1M runs after it by about 20 % on this kind of machine).
3. **Store** rows/s on SQLite and PostgreSQL (``bench.bench_ingest`` in a child process, own schema).
4. **Peers** at the step size (``--peers``, default trygghet, svy and R survey; ``--peers all`` adds samplics
   and balance): one indicator, each tool in its own process, and whether they compute the same numbers.
5. **Load** (issue 11, :mod:`bench.load`): ``trygghet run`` on a ``--big-size`` wave (default 2,000,000) with the
   peak memory against 3 GB, and on the newest of ``--load-waves`` one-year waves (default 20 of
   ``--load-wave-size`` = 100,000) on an empty store and on a store holding the others.

Everything goes to ``bench/results/latest.json`` and ``bench/results/latest.md`` (Markdown tables) with the
machine (cores, memory, CPU model, load average) and the load average before and after every measurement.
The waves are written once into ``--data-dir`` (default ``$TMPDIR/trygghet-bench``; never the checkout).
A quick run: ``python -m bench.run --sizes 20000,50000 --step-size 50000 --peers trygghet --big-size 100000
--load-waves 3 --load-wave-size 20000``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import dask_replicates, load
from bench import report as rep
from bench.measure import DEFAULT_DATA, ROOT, checkout, ensure_wave, fit_exponent, machine, run_measured
from bench.tools import TOOLS, agreement, available, estimate_seconds, run_tool

__all__ = ["agreement", "estimate_seconds", "main", "run_measured", "run_trygghet"]

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
DEFAULT_PEERS = ("trygghet", "svy", "R survey")


def run_trygghet(resp: Path, pop: Path, out: Path, db: str, timeout: float, label: str = "") -> dict[str, Any]:
    """``trygghet run`` (all indicators, default outputs) in its own process, with run.json's step timings."""
    exe = Path(sys.executable).with_name("trygghet")
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    cmd = [str(exe), "run", "--responses", str(resp), "--population", str(pop), "--out", str(out), "--db", db]
    m = run_measured(cmd, timeout)
    res: dict[str, Any] = {
        "label": label or db.split(":", 1)[0],
        "wall": m["wall"],
        "peak_mb": m["peak_mb"],
        "load_before": m["load_before"],
        "load_after": m["load_after"],
    }
    run_json = out / "run.json"
    if m["code"] != 0 or not run_json.exists():
        last = m["output"].strip().splitlines()[-1:] or [f"exit {m['code']}"]
        res["status"] = f"failed: {last[0][:300]}"
        return res
    lineage = json.loads(run_json.read_text(encoding="utf-8"))
    res["steps"] = lineage.get("steps", {})
    res["publish_parts"] = lineage.get("publish_parts", {})
    res["report_parts"] = (lineage.get("publish") or {}).get("seconds", {})
    res["statistics"] = sum(float(res["steps"].get(s, 0.0)) for s in rep.STATISTICS)
    res["status"] = "ok"
    return res


def growth(sizes: list[int], args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """The whole run at each size; the exponents of wall time and of the statistics."""
    runs = []
    for n in sizes:
        resp, pop = ensure_wave(n, args.districts, args.years, args.seed, args.data_dir)
        print(f"trygghet run, {n:,} respondents (SQLite) ...", end=" ", flush=True)
        out = work / f"run-{n}"
        r = run_trygghet(resp, pop, out, f"sqlite:///{out / 'bench.db'}", args.timeout, "sqlite")
        r["n"] = n
        print(
            f"{r['status']}: wall {r['wall']:.1f} s, peak {r['peak_mb']:.0f} MB, load {r['load_before']}"
            f" → {r['load_after']}",
            flush=True,
        )
        runs.append(r)
        if not args.keep_data:
            shutil.rmtree(out, ignore_errors=True)
    return growth_summary(runs)


def growth_summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The growth section of ``runs`` (one per size): the runs and the exponents of wall time and statistics."""
    ok = [r for r in runs if r["status"] == "ok"]
    return {
        "runs": runs,
        "exponent_wall": fit_exponent([r["n"] for r in ok], [r["wall"] for r in ok]),
        "exponent_statistics": fit_exponent([r["n"] for r in ok], [r["statistics"] for r in ok]),
    }


WARM_UP_SIZE = 10_000


def warm_up(args: argparse.Namespace, work: Path, log: list[str]) -> None:
    """One untimed ``trygghet run`` on a small wave before the timed ones: the first process after an install
    compiles every module's bytecode and reads the libraries from disk (the 100,000-respondent run of a cold
    start once took 9.4 s against 6.2-6.8 s warm)."""
    resp, pop = ensure_wave(WARM_UP_SIZE, args.districts, args.years, args.seed, args.data_dir)
    out = work / "warm-up"
    r = run_trygghet(resp, pop, out, f"sqlite:///{out / 'bench.db'}", args.timeout, "warm-up")
    shutil.rmtree(out, ignore_errors=True)
    log.append(f"warm-up: one untimed run of {WARM_UP_SIZE:,} respondents first ({r['status']}, {r['wall']:.1f} s)")


def postgres_run(n: int, args: argparse.Namespace, work: Path, log: list[str]) -> dict[str, Any] | None:
    """The same run on PostgreSQL in a schema of its own (dropped afterwards); None when unreachable."""
    from bench.bench_ingest import DEFAULT_PG, database, reachable

    if not reachable(DEFAULT_PG):
        log.append(f"PostgreSQL not reachable at {DEFAULT_PG}: no PostgreSQL run")
        return None
    resp, pop = ensure_wave(n, args.districts, args.years, args.seed, args.data_dir)
    print(f"trygghet run, {n:,} respondents (PostgreSQL) ...", end=" ", flush=True)
    with database(DEFAULT_PG) as url:
        r = run_trygghet(resp, pop, work / f"run-pg-{n}", url, args.timeout, "postgresql")
    r["n"] = n
    print(f"{r['status']}: wall {r['wall']:.1f} s", flush=True)
    return r


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run of median wall time among ``runs`` (the lower middle one of an even count), with every run's
    wall time as ``walls``: one run on a shared machine varies by ±15 %."""
    ok = sorted((r for r in runs if r.get("status") == "ok"), key=lambda r: r["wall"])
    chosen = dict(ok[(len(ok) - 1) // 2] if ok else runs[0])
    chosen["walls"] = [round(r["wall"], 2) for r in runs if r.get("status") == "ok"]
    return chosen


def step_runs(
    args: argparse.Namespace, work: Path, growth_runs: list[dict[str, Any]], log: list[str]
) -> list[dict[str, Any]]:
    """``--step-repeats`` runs at ``--step-size`` on SQLite (the growth section's run counts as one) and on
    PostgreSQL; of each, the run of median wall time."""
    sqlite = [r for r in growth_runs if r.get("n") == args.step_size][:1]
    while len(sqlite) < args.step_repeats:
        sqlite += growth([args.step_size], args, work)["runs"]
    out = [median_run(sqlite)]
    if not args.no_postgres:
        pg = [postgres_run(args.step_size, args, work, log) for _ in range(args.step_repeats)]
        out += [median_run([r for r in pg if r is not None])] if all(r is not None for r in pg) else []
    return out


def statistics_alone(n: int, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """weight + estimate + trend on their own (bench.statistics: no database thread beside them, no imports)."""
    resp, pop = ensure_wave(n, args.districts, args.years, args.seed, args.data_dir)
    out = work / "statistics.json"
    print(f"statistics alone, {n:,} respondents ...", end=" ", flush=True)
    m = run_measured([sys.executable, "-m", "bench.statistics", str(resp), str(pop), str(out)], args.timeout)
    if m["code"] != 0 or not out.exists():
        print("failed", flush=True)
        return {"n": n, "status": f"failed: {m['output'].strip().splitlines()[-1:]}"}
    res = {**json.loads(out.read_text(encoding="utf-8")), "status": "ok", "peak_mb": m["peak_mb"]}
    print(f"{res['wall']['statistics']:.2f} s", flush=True)
    return res


def store(n: int, args: argparse.Namespace, work: Path) -> list[dict[str, Any]]:
    """Store throughput on SQLite and PostgreSQL (bench.bench_ingest in a child process)."""
    out = work / "store.json"
    print(f"store throughput, {n:,} respondents ...", flush=True)
    m = run_measured(
        [sys.executable, "-m", "bench.bench_ingest", "--n", str(n), "--no-full", "--out", str(out)], args.timeout
    )
    if m["code"] != 0 or not out.exists():
        return [{"db": "–", "step": f"failed: {m['output'].strip().splitlines()[-1:]}", "rows": n}]
    return list(json.loads(out.read_text(encoding="utf-8")))


def peers(n: int, names: list[str], args: argparse.Namespace, work: Path, log: list[str]) -> dict[str, Any]:
    """The peer task at size ``n``; tools whose estimate from a smaller run exceeds --max-seconds are skipped."""
    cmds = available(log, names)
    resp, pop = ensure_wave(n, args.districts, args.years, args.seed, args.data_dir)
    results = []
    for name in [t for t in TOOLS if t in names]:
        prefix = cmds.get(name)
        if prefix is None:
            results.append({"tool": name, "status": "not available"})
            continue
        print(f"peer {name}, {n:,} respondents ...", end=" ", flush=True)
        r = run_tool(name, prefix, resp, pop, work, timeout=max(4 * args.max_seconds, 600))
        print(f"{r['status']} ({r.get('wall', 0):.1f} s)", flush=True)
        results.append(r)
    ag = agreement(results)
    return {
        "n": n,
        "tools": [{k: v for k, v in r.items() if k not in ("estimates", "model")} for r in results],
        "agreement": ag,
    }


#: The sections of the report, in order; ``--only`` measures some of them and keeps the others' figures.
SECTIONS = ("growth", "steps", "statistics", "store", "load", "peers", "dask_replicates")


def carry_over(report: dict[str, Any], only: set[str], previous: Path) -> None:
    """The sections left out by ``--only`` taken from the previous ``latest.json``, each with a note saying
    from which run (``measured``: section → run and CPU) its figures are."""
    here = {
        "run": report.get("started"),
        "cpu": report.get("machine", {}).get("cpu_model"),
        "commit": report.get("code", {}).get("commit"),
    }
    report["measured"] = {key: here for key in SECTIONS if key in only and report.get(key)}
    if only >= set(SECTIONS) or not previous.exists():
        return
    prev = json.loads(previous.read_text(encoding="utf-8"))
    there = {"run": prev.get("started"), "cpu": prev.get("machine", {}).get("cpu_model")}
    for key in SECTIONS:
        if key not in only and prev.get(key):
            report[key] = prev[key]
            origin = prev.get("measured", {}).get(key, there)
            report["measured"][key] = origin
            code = f", commit {origin['commit']}" if origin.get("commit") else ""
            report["notes"].append(
                f"{key}: figures of the run of {origin['run']} on {origin['cpu']}{code} (not measured again)"
            )


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--sizes", default="100000,1000000,5000000,10000000", help="growth sizes (respondents), comma separated"
    )
    ap.add_argument("--step-size", type=int, default=1_000_000, help="size of the step, store and peer figures")
    ap.add_argument(
        "--step-repeats", type=int, default=3, help="runs at the step size per database; the median is shown"
    )
    ap.add_argument("--districts", type=int, default=20)
    ap.add_argument("--years", type=int, default=5)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--peers", default=",".join(DEFAULT_PEERS), help="'all', 'none' or a subset of " + ", ".join(TOOLS))
    ap.add_argument("--max-seconds", type=float, default=300.0, help="a peer's time limit is 4 × this (at least 600 s)")
    ap.add_argument("--timeout", type=float, default=3600.0, help="limit for one `trygghet run`")
    ap.add_argument("--no-postgres", action="store_true", help="leave out the PostgreSQL run")
    ap.add_argument("--no-store", action="store_true", help="leave out bench.bench_ingest")
    ap.add_argument("--big-size", type=int, default=2_000_000, help="the large wave of bench.load (0: leave out)")
    ap.add_argument("--load-waves", type=int, default=20, help="waves in the store of bench.load (0: leave out)")
    ap.add_argument("--load-wave-size", type=int, default=100_000, help="respondents of each bench.load wave")
    ap.add_argument(
        "--only", default="", help="measure only these sections (" + ", ".join(SECTIONS) + "); keep the others"
    )
    ap.add_argument("--data-dir", type=Path, default=DEFAULT_DATA, help="where the synthetic waves are kept")
    ap.add_argument("--keep-data", action="store_true", help="keep each run's output folder")
    ap.add_argument("--results", type=Path, default=RESULTS, help="where latest.json and latest.md are written")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    names = (
        list(TOOLS)
        if args.peers == "all"
        else []
        if args.peers == "none"
        else [t.strip() for t in args.peers.split(",") if t.strip()]
    )
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    report: dict[str, Any] = {
        "started": stamp,
        "machine": machine(),
        "notes": [],
        "wave": {"districts": args.districts, "years": args.years, "seed": args.seed},
        "code": checkout(),
    }
    print(rep.machine_line(report["machine"]), flush=True)
    only = set(SECTIONS) if not args.only else {x.strip() for x in args.only.split(",") if x.strip()}
    with tempfile.TemporaryDirectory(prefix="trygghet-bench-run-") as tmp:
        work = Path(tmp)
        if only & {"growth", "steps", "load", "peers"}:
            warm_up(args, work, report["notes"])
        # the step size's repeats before the larger sizes: after the 10M run this machine ran the next 1M runs
        # about 20 % slower (8.35 s before it, 10.1-10.3 s after it; memory the host reclaims afterwards)
        grown = growth([n for n in sizes if n <= args.step_size], args, work)["runs"] if "growth" in only else []
        if "steps" in only:
            report["steps"] = step_runs(args, work, grown, report["notes"])
        if "growth" in only:
            grown += growth([n for n in sizes if n > args.step_size], args, work)["runs"]
            report["growth"] = growth_summary(grown)
        if "statistics" in only:
            report["statistics"] = statistics_alone(args.step_size, args, work)
        if "store" in only and not args.no_store:
            report["store"] = store(args.step_size, args, work)
        if "load" in only:
            report["load"] = load.measure(args, work)  # bench/load.py: the large wave, the store of many waves
        if "peers" in only and names:
            report["peers"] = peers(args.step_size, names, args, work, report["notes"])
        if "dask_replicates" in only:
            report["dask_replicates"] = dask_replicates.measure(args.step_size, args, work)  # bench/dask_replicates.py
    if checkout()["fingerprint"] != report["code"]["fingerprint"]:
        report["notes"].append(
            "the checkout changed while the bench ran: its figures may mix two versions of the code (measure "
            "again on an unchanged checkout)"
        )
    carry_over(report, only, args.results / "latest.json")
    if report.get("dask_replicates"):
        report["notes"] += dask_replicates.lines(report["dask_replicates"])
    report["finished"] = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    report["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    js, md = rep.write(report, args.results)
    print("\n" + rep.markdown(report))
    print(f"results: {js.relative_to(ROOT) if js.is_relative_to(ROOT) else js}, {md.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
