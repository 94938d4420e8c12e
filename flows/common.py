"""What the flows share: the step runner that makes each pipeline step a Prefect task, and artifacts.

Frames travel between tasks in memory; ``cache_policy=NO_CACHE`` because hashing a million-row frame
costs more than the step (shared/notes/stack.md). One task per step, never per indicator or row.
"""
from __future__ import annotations

from typing import Any, Callable

from prefect import task
from prefect.cache_policies import NO_CACHE

# Every task has a timeout (seconds): a step that hangs fails the flow run instead of holding a worker.
TASK_TIMEOUT_S = 3600.0


class PrefectSteps:
    """:class:`survey.pipeline.runner.StepRunner` for flows: each step a task of the running flow."""

    def run(self, name: str, fn: Callable[..., Any], *args: Any) -> Any:
        return self._task(name, fn)(*args)

    def submit(self, name: str, fn: Callable[..., Any], *args: Any) -> Any:
        return self._task(name, fn).submit(*args)

    @staticmethod
    def _task(name: str, fn: Callable[..., Any]) -> Any:
        return task(fn, name=name, cache_policy=NO_CACHE, timeout_seconds=TASK_TIMEOUT_S)


def flow_run_info() -> dict[str, Any]:
    """The Prefect flow run this code runs in (id, name, deployment), for trygghet's lineage."""
    from prefect.runtime import deployment, flow_run
    info = {"flow_run_id": flow_run.id, "flow_run_name": flow_run.name, "flow": flow_run.flow_name,
            "deployment_id": deployment.id, "deployment": deployment.name}
    return {k: str(v) for k, v in info.items() if v}


def ingest_artifact(wave: Any, status: str) -> None:
    """Table artifact: rows read, accepted and quarantined by reason, per file (no cell values)."""
    from prefect.artifacts import create_table_artifact
    rows: list[dict[str, Any]] = []
    for r in (wave.responses, wave.population):
        q = r.quarantine
        rows.append({"fil": r.source.name, "rader": r.source.n_rows, "godkända": len(r.data),
                     "karantän": int(q["source_row"].nunique()) if len(q) else 0, "skäl": "",
                     "databas": status})
        if len(q):
            for reason, k in q.groupby("reason")["source_row"].nunique().items():
                rows.append({"fil": r.source.name, "rader": "", "godkända": "", "karantän": int(k),
                             "skäl": str(reason), "databas": ""})
    create_table_artifact(key="ingest-summary", table=rows,
                          description="Inläsning: rader per fil och karantän per skäl")
