"""Load figures of ``make bench`` (issue 11): a large wave end to end within a memory limit, and ``trygghet run``
on the newest wave of a store that holds many waves as fast as on an empty store.

1. **Large wave** — ``trygghet run`` (SQLite, default outputs) on a synthetic wave of ``--big-size``
   respondents (default 2,000,000; 20 districts × 5 years) in its own process: wall time, the steps of its
   ``run.json`` and the peak resident memory of the process tree, against the goal of 3 GB.
2. **Many waves** — ``--load-waves`` one-year waves (default 20, the years 2001–2020) of ``--load-wave-size``
   respondents (default 100,000) are loaded into a SQLite store (``survey.data.ingest.load_wave`` and
   ``Store.load_wave``, in a child process), then ``trygghet run`` on the newest wave (2021, same size) is timed
   on that store and on an empty one, each in its own process. Both timings and their steps are reported.

``python -m bench.load preload DB RESPONSES POPULATION [RESPONSES POPULATION ...]`` is the child process of
step 2: it prints the seconds the loads took.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from bench.measure import ensure_wave, run_measured

#: The goal of issue 11 for the large wave (peak resident memory of the process tree).
BIG_GOAL_MB = 3 * 1024
FIRST_YEAR = 2001


def year_wave(n: int, year: int, args: argparse.Namespace) -> tuple[Path, Path]:
    """One-year wave files of ``n`` respondents for ``year`` (a seed of its own per year)."""
    return ensure_wave(n, args.districts, 1, args.seed + year, args.data_dir, first_year=year)


def big_wave(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """``trygghet run`` on the large wave: wall, steps and peak memory against :data:`BIG_GOAL_MB`."""
    from bench.run import run_trygghet

    n = args.big_size
    resp, pop = ensure_wave(n, args.districts, args.years, args.seed, args.data_dir)
    print(f"large wave, {n:,} respondents (SQLite) ...", end=" ", flush=True)
    out = work / f"big-{n}"
    r = run_trygghet(resp, pop, out, f"sqlite:///{out / 'bench.db'}", args.timeout, "sqlite")
    r.update(n=n, goal_mb=BIG_GOAL_MB, within_goal=r.get("status") == "ok" and r["peak_mb"] <= BIG_GOAL_MB)
    print(f"{r['status']}: wall {r['wall']:.1f} s, peak {r['peak_mb']:.0f} MB", flush=True)
    return r


def preload(db: str, files: list[tuple[Path, Path]], timeout: float) -> dict[str, Any]:
    """Load the waves into ``db`` in a child process (``python -m bench.load preload``)."""
    cmd = [sys.executable, "-m", "bench.load", "preload", db, *[str(p) for pair in files for p in pair]]
    m = run_measured(cmd, timeout)
    status = "ok" if m["code"] == 0 else f"failed: {m['output'].strip().splitlines()[-1:]}"
    return {"status": status, "wall": m["wall"], "peak_mb": m["peak_mb"], "waves": len(files)}


def many_waves(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """``trygghet run`` on the newest wave on an empty store and on one holding ``--load-waves`` waves."""
    from bench.run import run_trygghet

    n, k = args.load_wave_size, args.load_waves
    older = [year_wave(n, FIRST_YEAR + i, args) for i in range(k)]
    newest = year_wave(n, FIRST_YEAR + k, args)
    out: dict[str, Any] = {"n": n, "waves": k, "year": FIRST_YEAR + k, "runs": []}
    for case in ("empty", "preloaded"):
        folder = work / f"many-{case}"
        folder.mkdir(parents=True, exist_ok=True)
        db = f"sqlite:///{folder / 'bench.db'}"
        if case == "preloaded":
            print(f"loading {k} waves of {n:,} respondents ...", end=" ", flush=True)
            out["preload"] = preload(db, older, args.timeout)
            print(f"{out['preload']['status']} ({out['preload']['wall']:.1f} s)", flush=True)
        print(f"trygghet run on the newest wave, {case} store ...", end=" ", flush=True)
        r = run_trygghet(*newest, folder / "out", db, args.timeout, case)
        r["case"] = case
        print(f"{r['status']}: wall {r['wall']:.1f} s", flush=True)
        out["runs"].append(r)
    walls = {r["case"]: r.get("wall") for r in out["runs"] if r.get("status") == "ok"}
    if len(walls) == 2:
        out["ratio"] = walls["preloaded"] / walls["empty"]
    return out


def measure(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Both load figures (each can be left out: ``--big-size 0``, ``--load-waves 0``)."""
    res: dict[str, Any] = {}
    if args.big_size:
        res["big"] = big_wave(args, work)
    if args.load_waves:
        res["many"] = many_waves(args, work)
    return res


def _preload_main(db: str, paths: list[str]) -> None:  # pragma: no cover - the child process
    from survey.data.ingest import load_wave
    from survey.data.store import Store

    t0 = time.perf_counter()
    store = Store(db)
    try:
        for resp, pop in zip(paths[::2], paths[1::2]):
            store.load_wave(load_wave(Path(resp), Path(pop)))
    finally:
        store.close()
    print(f"{len(paths) // 2} waves loaded in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":  # pragma: no cover
    if len(sys.argv) > 3 and sys.argv[1] == "preload":
        _preload_main(sys.argv[2], sys.argv[3:])
    else:
        sys.exit("usage: python -m bench.load preload DB RESPONSES POPULATION [...]")
