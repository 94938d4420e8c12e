"""Prefect flow ``estimate_indicators``: every indicator from a run's stored weights, stored under the run."""

from __future__ import annotations

from prefect import flow

from flows.common import YEAR_TIMEOUT_S, PrefectSteps, database_url, run_artifact
from survey.pipeline import stepwise


@flow(name="estimate_indicators", log_prints=True, timeout_seconds=YEAR_TIMEOUT_S)
def estimate_indicators(run_id: str, db: str | None = None, db_secret: str | None = None) -> dict:
    """Shares per year × district and Totalt with calibration-aware SEs, comparisons, groups, index."""
    db = database_url(db, db_secret)
    steps = PrefectSteps()
    e = steps.run("estimate", stepwise.estimate_run, run_id, db, steps.replicate_blocks)
    run_artifact(run_id, "estimate", db)
    return {"run_id": run_id, "estimates": len(e.estimates), "suppressed": int(e.estimates["suppressed"].sum())}
