"""Prefect flow ``model_trends``: the trend models of a run (from its stored weights), stored under the run."""

from __future__ import annotations

from prefect import flow

from flows.common import YEAR_TIMEOUT_S, PrefectSteps, database_url, run_artifact
from survey.pipeline import stepwise


@flow(name="model_trends", log_prints=True, timeout_seconds=YEAR_TIMEOUT_S)
def model_trends(run_id: str, db: str | None = None, db_secret: str | None = None) -> dict:
    """Survey-weighted logistic trend per indicator, model-based shares (and per-district trends when the
    run's configuration asks for them)."""
    db = database_url(db, db_secret)
    tr = PrefectSteps().run("trend", stepwise.trend_run, run_id, db)
    run_artifact(run_id, "trend", db)
    return {"run_id": run_id, "trend_rows": len(tr.contract_rows())}
