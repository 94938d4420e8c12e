"""Prefect flow ``ingest_wave``: read and validate a wave, then load it into the database."""

from __future__ import annotations

from prefect import flow

from flows.common import YEAR_TIMEOUT_S, PrefectSteps, in_data_folder, ingest_artifact
from survey.pipeline import commands
from survey.pipeline.config import RunConfig


@flow(name="ingest_wave", log_prints=True, timeout_seconds=YEAR_TIMEOUT_S)
def ingest_wave(config: RunConfig, db_secret: str | None = None) -> dict:
    """Read → validate (quarantine bad rows) → store. Returns the load status and row counts."""
    config = in_data_folder(config, db_secret)
    wave, report = PrefectSteps().run("ingest", commands.ingest, config)
    ingest_artifact(wave, report.status)
    q = wave.responses.quarantine
    return {
        "status": report.status,
        "accepted": len(wave.responses.data),
        "quarantined_rows": int(q["source_row"].nunique()) if len(q) else 0,
        "source_ids": list(report.source_ids),
    }
