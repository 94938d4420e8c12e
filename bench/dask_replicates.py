"""When Dask pays for replicate variance: ``bootstrap:R`` (default 500, re-raked in every replicate) on the
default runner (one block, in this process: what ``trygghet run`` does) against blocks of replicates on a
local two-worker Dask cluster of processes through prefect-dask's ``DaskTaskRunner`` (what a flow does
with ``TRYGGHET_TASK_RUNNER=dask``; ``flows.dask_runner``).

``python -m bench.dask_replicates RESPONSES.csv POPULATION.csv OUT.json [--replicates R] [--block B]``
reads and weights the wave (not timed), starts a temporary Prefect API and the cluster (timed apart:
``start``), then times ``replicate_share_tables`` on both runners, and checks that they give the same SEs
(the largest absolute difference goes to OUT.json). :func:`measure` runs it in a child process for
``make bench`` (:mod:`bench.run`) and :func:`lines` says it in the report.
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

DEFAULT_N = 1_000_000
DEFAULT_REPLICATES = 500
DEFAULT_BLOCK = 50


def _timed(out: dict[str, Any], name: str, fn: Any) -> Any:
    t0, c0 = time.perf_counter(), time.process_time()
    res = fn()
    out["wall"][name], out["cpu"][name] = time.perf_counter() - t0, time.process_time() - c0
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("responses")
    ap.add_argument("population")
    ap.add_argument("out", type=Path)
    ap.add_argument("--replicates", type=int, default=DEFAULT_REPLICATES)
    ap.add_argument("--block", type=int, default=DEFAULT_BLOCK)
    args = ap.parse_args(argv)

    import dask
    import distributed
    import numpy as np
    from prefect import flow
    from prefect.testing.utilities import prefect_test_harness

    from flows.dask_runner import DASK_TIMEOUTS, dask_blocks
    from survey.data.codebook import load_codebook
    from survey.data.ingest import load_wave
    from survey.pipeline.steps import WeightingOptions, prepare, weight
    from survey.replicate_estimation import BlockRunner, replicate_share_tables

    codebook = load_codebook()
    wave = load_wave(args.responses, args.population, codebook)
    data = prepare(wave.responses.data)
    w = weight(data, wave.population.data, WeightingOptions())
    out: dict[str, Any] = {
        "n": len(data),
        "replicates": args.replicates,
        "block": args.block,
        "workers": 2,
        "load_before": round(os.getloadavg()[0], 2),
        "wall": {},
        "cpu": {},
    }

    def run(blocks: BlockRunner | None) -> Any:
        return replicate_share_tables(
            w.design,
            data,
            codebook.indicators,
            method="bootstrap",
            replicates=args.replicates,
            seed=2026,
            blocks=blocks,
        )

    default = _timed(out, "default", lambda: run(None))

    @flow(name="bench_dask_replicates")
    def on_dask() -> Any:
        return run(BlockRunner(block_size=args.block, map=dask_blocks))

    with dask.config.set(DASK_TIMEOUTS), prefect_test_harness(server_startup_timeout=300):
        t0 = time.perf_counter()
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
        out["wall"]["start"] = time.perf_counter() - t0
        os.environ["TRYGGHET_DASK_ADDRESS"] = cluster.scheduler_address
        try:
            dasked = _timed(out, "dask", on_dask)
        finally:
            cluster.close()
    a, b = default.tables.estimates["se"].to_numpy(float), dasked.tables.estimates["se"].to_numpy(float)
    out["max_se_difference"] = float(np.nanmax(np.abs(a - b)))
    out["identical"] = bool(np.array_equal(a, b, equal_nan=True))
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
    """The figure as report lines (one sentence each)."""
    if res.get("status") != "ok":
        return [f"Dask replicate variance at {res.get('n', 0):,}: {res.get('status')}"]
    wall = res["wall"]
    return [
        f"Dask replicate variance (bench/dask_replicates.py): bootstrap:{res['replicates']} re-raked, "
        f"{res['n']:,} respondents: default runner {wall['default']:.1f} s, two-worker local cluster "
        f"{wall['dask']:.1f} s in blocks of {res['block']} (cluster start {wall['start']:.1f} s apart), "
        f"speed-up {wall['default'] / wall['dask']:.2f}×, SEs {'identical' if res['identical'] else 'DIFFER'} "
        f"(load {res['load_before']} → {res['load_after']}, peak {res['peak_mb']:.0f} MB)"
    ]


if __name__ == "__main__":
    sys.exit(main())
