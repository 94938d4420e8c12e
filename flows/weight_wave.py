"""Prefect flow ``weight_wave``: start a run on the stored wave and store its calibrated weights."""

from __future__ import annotations

from prefect import flow

from flows.common import YEAR_TIMEOUT_S, PrefectSteps, in_data_folder, run_artifact
from survey.pipeline import stepwise
from survey.pipeline.config import RunConfig


@flow(name="weight_wave", log_prints=True, timeout_seconds=YEAR_TIMEOUT_S)
def weight_wave(config: RunConfig, years: list[int] | None = None, db_secret: str | None = None) -> str:
    """Weights of the wave in the database (the configuration's method, bounds, trimming, collapsing),
    stored with the design under a new run id, which the flow returns for the next steps."""
    config = in_data_folder(config, db_secret)
    run_id = PrefectSteps().run("weight", stepwise.weight_run, config, years)
    print(f"trygghet-körning {run_id}: vikter sparade")
    run_artifact(run_id, "weight", config.db)
    return run_id
