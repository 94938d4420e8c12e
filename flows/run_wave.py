"""Prefect flow ``trygghet_run``: the whole pipeline, one task per step (what ``trygghet run`` does)."""
from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from pydantic import Field

from flows.common import (codebook_of, estimate_task, ingest_artifact, read_validate, store_wave, trend_task,
                          weight_task)
from survey.pipeline import runner
from survey.pipeline.steps import EstimationOptions, WeightingOptions


@task(name="publish", cache_policy=NO_CACHE)
def publish_task(*args, **kwargs):
    return runner.publish_step(*args, **kwargs)


@flow(name="trygghet_run", log_prints=True)
def trygghet_run(responses: str, population: str, out: str = "out", db: str | None = None,
                 codebook: str | None = None, mapping: str | None = None, replace: bool = False,
                 min_n: Annotated[int, Field(ge=1)] = 30, publish: bool = True,
                 district_trends: bool = False) -> dict:
    """read+validate → store → weight → estimate → trend → publish; writes the contract files and run.json."""
    steps = {s: 0.0 for s in runner.STEPS}
    started = datetime.now(timezone.utc)
    cb = codebook_of(codebook)
    wopts, eopts = WeightingOptions(), EstimationOptions(min_n=min_n)

    def timed(name, fn, *a, **k):
        t0 = time.perf_counter()
        res = fn(*a, **k)
        steps[name] += time.perf_counter() - t0
        return res

    wave = timed("validate", read_validate, responses, population, cb, mapping, 0.05)
    steps["read"], steps["validate"] = wave.read_seconds, steps["validate"] - wave.read_seconds
    store, report = timed("store", store_wave, wave, db, replace)
    ingest_artifact(wave, report)
    resp, pop = wave.responses.data, wave.population.data
    w = timed("weight", weight_task, resp, pop, wopts)
    e = timed("estimate", estimate_task, resp, w, cb, eopts)
    tr = timed("trend", trend_task, resp, w, cb, district_trends)
    run_id, files, lineage = timed("publish", publish_task, store, report, wave, cb, w, e, tr, Path(out),
                                   runner.run_parameters(wopts, eopts, 0.05, replace), started=started,
                                   notes=list(wave.notes) + list(w.notes), steps=steps, publish=publish,
                                   min_n=min_n, background=False)
    runner.write_lineage(Path(out), lineage, steps)
    return {"run_id": run_id, "steps": steps, "files": {k: str(v) for k, v in files.items()}}


if __name__ == "__main__":  # pragma: no cover
    import sys
    trygghet_run(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "out")
