"""Prefect flow ``trygghet_run``: exactly what ``trygghet run`` does, each step a task.

The flow's one parameter is the run configuration (:class:`survey.pipeline.config.RunConfig`), so the
Prefect UI shows the same fields and descriptions as ``trygghet run --help`` and Prefect validates them.
"""

from __future__ import annotations

from prefect import flow

from flows.common import YEAR_TIMEOUT_S, PrefectSteps, flow_run_info, in_data_folder
from survey.pipeline.config import RunConfig
from survey.pipeline.runner import run


@flow(name="trygghet_run", log_prints=True, timeout_seconds=YEAR_TIMEOUT_S)
def trygghet_run(config: RunConfig, db_secret: str | None = None) -> dict:
    """read+validate → store → weight → estimate → trend → publish; writes the contract files and run.json.

    Relative paths are taken against ``$TRYGGHET_DATA_DIR``; a relative ``out`` (the default too) is
    ``<data>/runs/<out>/<flow-run id>/`` (:func:`flows.common.in_data_folder`)."""
    config = in_data_folder(config, db_secret)
    res = run(config, steps=PrefectSteps(), flow_run=flow_run_info(), progress=print)
    print(f"trygghet-körning {res.run_id}: {res.out_dir}")
    return {"run_id": res.run_id, "steps": res.steps, "files": {k: str(v) for k, v in res.files.items()}}
