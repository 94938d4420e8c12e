"""Prefect flow ``publish_tables``: publish a run (by its id) from what its steps stored."""

from __future__ import annotations

from prefect import flow

from flows.common import YEAR_TIMEOUT_S, PrefectSteps, database_url, output_folder, publish_artifact
from survey.pipeline import stepwise


@flow(name="publish_tables", log_prints=True, timeout_seconds=YEAR_TIMEOUT_S)
def publish_tables(run_id: str, db: str | None = None, db_secret: str | None = None, out: str | None = None) -> dict:
    """Tables, charts and the report (HTML, XLSX, CSV; PNG/PDF when configured) and the versioned table
    store, for the run ``run_id``; the run is then marked succeeded."""
    db = database_url(db, db_secret)
    pub = PrefectSteps().run("publish", stepwise.publish_run, run_id, db, output_folder(out, run_id))
    publish_artifact(run_id, pub)
    return {"run_id": run_id, "tables": len(pub.tables), "index": str(pub.index) if pub.index else None}
