"""When Dask pays for replicate variance: ``bootstrap:R`` (default 500, re-raked in every replicate) on the
default runner (one block, in this process: what ``trygghet run`` does) against blocks of replicates on a
local two-worker Dask cluster of one-thread processes through prefect-dask's ``DaskTaskRunner`` (what a
flow does with ``TRYGGHET_TASK_RUNNER=dask``; ``flows.dask_runner``).

``python -m bench.dask_replicates RESPONSES.csv POPULATION.csv OUT.json [--replicates R] [--block B]``
reads and weights the wave (not timed), starts a temporary Prefect API and the cluster (timed apart:
``start``; its workers set up as ``flows.dask_runner`` sets up a local cluster's) and has the workers import
Prefect's task engine and the statistics (``warm``, apart too: a long-lived cluster pays it once), then times
``replicate_share_tables`` on both runners — wall and CPU of this process, and on Dask the CPU of the
workers too — and within it the blocks alone (``blocks``: the part that Dask divides; the rest, the
linearised tables and the atom layout, runs in this process on both runners). It checks that both runners
give the same SEs (the largest absolute difference goes to OUT.json).
:func:`measure` runs it in a child process for ``make bench`` (:mod:`bench.run`) and :func:`lines` says it
in the report.

The flow and the wave live at module level (``_STATE``) so that Prefect's task context pickles the flow by
reference: a flow closed over the wave would send the whole wave along with every block.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from bench.measure import ensure_wave, run_measured
from flows.dask_runner import DEFAULT_WORKERS as WORKERS  # the replicates in one block per worker by default

DEFAULT_N = 1_000_000
DEFAULT_REPLICATES = 500
_STATE: dict[str, Any] = {}  # the weighted wave and the options of the run (this process only)


def _timed(out: dict[str, Any], name: str, fn: Any) -> Any:
    t0, c0 = time.perf_counter(), time.process_time()
    res = fn()
    out["wall"][name], out["cpu"][name] = time.perf_counter() - t0, time.process_time() - c0
    return res


def _timed_map(inner: Any, out: dict[str, Any], name: str) -> Any:
    """A :data:`survey.replicate_estimation.BlockMap` that runs ``inner`` and records its wall time (and keeps
    the blocks' inputs for :func:`_ceiling`)."""

    def run(fn: Any, inputs: Any, parts: list[Any]) -> list[Any]:
        _STATE["inputs"] = inputs
        t0 = time.perf_counter()
        res = inner(fn, inputs, parts)
        out["wall"][name] = time.perf_counter() - t0
        return list(res)

    return run


def _replicates(blocks: Any) -> Any:
    from survey.replicate_estimation import replicate_share_tables

    st = _STATE
    return replicate_share_tables(
        st["design"], st["data"], st["indicators"], method="bootstrap", replicates=st["R"], seed=2026, blocks=blocks
    )


def _on_dask() -> Any:
    """The flow's body: the replicates in blocks on the ``DaskTaskRunner`` (``flows.dask_runner``)."""
    from flows.dask_runner import dask_blocks
    from survey.replicate_estimation import BlockRunner

    st = _STATE
    runner = BlockRunner(
        block_size=st["block"], map=_timed_map(dask_blocks, st["out"], st["blocks_name"]), n_blocks=WORKERS
    )
    return _replicates(runner)


def _warm() -> None:
    """Import on a worker what its first Prefect task would (a few CPU seconds once per worker process)."""
    import prefect.task_engine  # noqa: F401

    import survey.replicate_estimation  # noqa: F401


def _ceiling(client: Any, out: dict[str, Any]) -> None:
    """What the machine allows at all: one block of ``ceil(R / 2)`` replicates on one worker alone against two
    such blocks at once, one per worker, straight on Dask (no Prefect task, no API): ``2 × alone / together`` is
    the most two workers can divide by here (two processes share the cores' caches and memory bandwidth, and a
    virtual machine's two cores need not be two whole cores). After one warm-up pair; the fastest of two each."""
    from survey.replicate_estimation import ReplicateRange, replicate_block

    half = ReplicateRange(0, -(-_STATE["R"] // WORKERS))
    workers = sorted(client.scheduler_info()["workers"])[:2]
    shared = client.scatter(_STATE["inputs"], broadcast=True)

    def go(on: list[str]) -> float:
        t0 = time.perf_counter()
        futures = [client.submit(replicate_block, shared, half, workers=[w], pure=False) for w in on]
        client.gather(futures)
        return time.perf_counter() - t0

    go(workers)
    alone = min(go(workers[:1]) for _ in range(2))
    together = min(go(workers) for _ in range(2))
    out["wall"]["ceiling_alone"], out["wall"]["ceiling_together"] = alone, together


def _worker_cpu(client: Any) -> float:
    """CPU seconds of the cluster's worker processes so far."""
    return float(sum(client.run(time.process_time).values()))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("responses")
    ap.add_argument("population")
    ap.add_argument("out", type=Path)
    ap.add_argument("--replicates", type=int, default=DEFAULT_REPLICATES)
    ap.add_argument("--block", type=int, default=None, help="replicates per block (default: one block per worker)")
    args = ap.parse_args(argv)

    import dask
    import distributed
    import numpy as np
    from prefect import flow
    from prefect.testing.utilities import prefect_test_harness

    from flows.dask_runner import DASK_TIMEOUTS, LOCAL_WORKERS
    from survey.data.codebook import load_codebook
    from survey.data.ingest import load_wave
    from survey.pipeline.steps import WeightingOptions, prepare, weight
    from survey.replicate_estimation import BlockRunner, map_in_process

    codebook = load_codebook()
    wave = load_wave(args.responses, args.population, codebook)
    data = prepare(wave.responses.data)
    w = weight(data, wave.population.data, WeightingOptions())
    out: dict[str, Any] = {
        "n": len(data),
        "replicates": args.replicates,
        "block": args.block or -(-args.replicates // WORKERS),
        "workers": WORKERS,
        "load_before": round(os.getloadavg()[0], 2),
        "wall": {},
        "cpu": {},
    }
    _STATE.update(design=w.design, data=data, indicators=codebook.indicators, R=args.replicates, block=args.block)
    _STATE["out"] = out
    default = _timed(out, "default", lambda: _replicates(BlockRunner(map=_timed_map(map_in_process, out, "blocks"))))
    out["path"] = default.path
    out["load_between"] = round(os.getloadavg()[0], 2)
    with dask.config.set({**DASK_TIMEOUTS, **LOCAL_WORKERS}), prefect_test_harness(server_startup_timeout=300):
        t0 = time.perf_counter()
        cluster = distributed.LocalCluster(
            n_workers=WORKERS, threads_per_worker=1, processes=True, dashboard_address=None
        )
        out["wall"]["start"] = time.perf_counter() - t0
        os.environ["TRYGGHET_DASK_ADDRESS"] = cluster.scheduler_address
        try:
            with distributed.Client(cluster) as client:
                t0 = time.perf_counter()
                client.run(_warm)  # what a long-lived cluster has done once: Prefect's task engine imported
                out["wall"]["warm"] = time.perf_counter() - t0
                before = _worker_cpu(client)
                _STATE["blocks_name"] = "dask_blocks"
                dasked = _timed(out, "dask", flow(name="bench_dask_replicates")(_on_dask))
                out["cpu"]["dask_workers"] = _worker_cpu(client) - before
                # the same flow again: a long-lived cluster's later runs (its first blocks ran beside the API
                # server's work on the new flow and task runs, on the same two cores)
                _STATE["blocks_name"] = "dask_again_blocks"
                again = _timed(out, "dask_again", flow(name="bench_dask_replicates")(_on_dask))
                _ceiling(client, out)
        finally:
            cluster.close()
    a, b = default.tables.estimates["se"].to_numpy(float), dasked.tables.estimates["se"].to_numpy(float)
    out["max_se_difference"] = float(np.nanmax(np.abs(a - b)))
    c = again.tables.estimates["se"].to_numpy(float)
    out["identical"] = bool(np.array_equal(a, b, equal_nan=True) and np.array_equal(a, c, equal_nan=True))
    out["load_after"] = round(os.getloadavg()[0], 2)
    args.out.write_text(json.dumps(out, indent=1), encoding="utf-8")
    return 0


def measure(n: int, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """bootstrap:500 at ``n`` respondents (default runner vs a two-worker Dask cluster) in a child process."""
    resp, pop = ensure_wave(n, args.districts, args.years, args.seed, args.data_dir)
    out = work / "dask_replicates.json"
    print(f"bootstrap:{DEFAULT_REPLICATES}, default runner vs two Dask workers, {n:,} respondents ...", end=" ")
    m = run_measured([sys.executable, "-m", "bench.dask_replicates", str(resp), str(pop), str(out)], args.timeout)
    if m["code"] != 0 or not out.exists():
        print("failed", flush=True)
        return {"n": n, "status": f"failed: {m['output'].strip().splitlines()[-1:]}"}
    res = {**json.loads(out.read_text(encoding="utf-8")), "status": "ok", "peak_mb": m["peak_mb"]}
    print(f"{res['wall']['default']:.1f} s vs {res['wall']['dask']:.1f} s", flush=True)
    return res


def lines(res: dict[str, Any]) -> list[str]:
    """The figure as report lines (one sentence each); results of older runs lack the block and CPU figures."""
    if res.get("status") != "ok":
        return [f"Dask replicate variance at {res.get('n', 0):,}: {res.get('status')}"]
    wall, cpu = res["wall"], res.get("cpu", {})
    path = f", {res['path']} path" if res.get("path") else ""

    def extra(blocks: str, cpu_key: str, label: str) -> str:
        parts = [f"{cpu[cpu_key]:.1f} s CPU{label}" if cpu_key in cpu else "", ""]
        parts[1] = f"blocks {wall[blocks]:.1f} s" if blocks in wall else ""
        inner = "; ".join(x for x in parts if x)
        return f" ({inner})" if inner else ""

    warm = f" and imports {wall['warm']:.1f} s" if "warm" in wall else ""
    split = ""
    if "blocks" in wall and "dask_blocks" in wall:
        split = f", blocks ÷{wall['blocks'] / wall['dask_blocks']:.2f}"
    again = ""
    if "dask_again" in wall and "dask_again_blocks" in wall:
        again = (
            f"; the same run again on the warm cluster {wall['dask_again']:.1f} s (blocks "
            f"{wall['dask_again_blocks']:.1f} s, ÷{wall['blocks'] / wall['dask_again_blocks']:.2f}; speed-up "
            f"{wall['default'] / wall['dask_again']:.2f}×)"
        )
    ceiling = ""
    if "ceiling_alone" in wall:
        ceiling = (
            f"; the machine's ceiling: one block of {-(-res['replicates'] // res['workers'])} on one worker alone "
            f"{wall['ceiling_alone']:.1f} s, two at once on the two workers {wall['ceiling_together']:.1f} s, so "
            f"two workers divide by {2 * wall['ceiling_alone'] / wall['ceiling_together']:.2f} at most here"
        )
    return [
        f"Dask replicate variance (bench/dask_replicates.py): bootstrap:{res['replicates']} re-raked, "
        f"{res['n']:,} respondents{path}: default runner {wall['default']:.1f} s"
        f"{extra('blocks', 'default', '')}, two-worker local cluster {wall['dask']:.1f} s"
        f"{extra('dask_blocks', 'dask_workers', ' in the workers')} in blocks of {res['block']} (cluster start "
        f"{wall['start']:.1f} s{warm} apart), speed-up {wall['default'] / wall['dask']:.2f}×{split}, "
        f"SEs {'identical' if res['identical'] else 'DIFFER'} "
        f"(load {res['load_before']} → {res['load_after']}, peak {res['peak_mb']:.0f} MB){again}{ceiling}"
    ]


if __name__ == "__main__":  # run as bench.dask_replicates, not __main__ (see the module docstring)
    import importlib

    sys.exit(importlib.import_module("bench.dask_replicates").main())
