"""The annual report: every survey (municipality or police area) and year, ingest → weight → estimate →
trend → publish, as Prefect flows.

- ``annual_report(surveys, years)``: the parent (deployment ``annual-report``, scheduled every 1 March for
  the previous year). It reads the survey configurations (:mod:`survey.pipeline.surveys`), checks every input
  file of every survey and year before any work starts, and fans out one flow run per survey:
  ``deployments`` (``run_deployment`` of ``municipality_report/municipality-report`` on the work pool, so
  several workers on several machines share the work), ``subflows`` (in this process) or ``dask`` (one task
  per survey and year on prefect-dask's ``DaskTaskRunner``). ``auto`` takes ``$TRYGGHET_TASK_RUNNER=dask``
  when set, else ``deployments`` when the parent itself runs from a deployment, else ``subflows``.
- ``municipality_report(survey, years)``: one survey, each year a ``survey_year`` subflow.
- ``survey_year(survey, year)``: the chain :func:`survey.pipeline.runner.run` with each step a task
  (:class:`flows.common.PrefectSteps`), outputs in ``OUT/<year>/<flow-run id>/``; trygghet's run id is logged
  and, with the report's link, put in a markdown artifact; the runs table and ``run.json`` hold the flow run.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, cast

from prefect import flow, tags, task
from prefect.cache_policies import NO_CACHE

from flows.common import (
    REPORT_TIMEOUT_S,
    SURVEY_TIMEOUT_S,
    YEAR_TIMEOUT_S,
    PrefectSteps,
    flow_run_info,
    run_markdown,
    survey_database,
)
from flows.dask_runner import dask_task_runner, runner_setting
from survey.errors import ConfigError
from survey.pipeline.runner import PlainSteps, run
from survey.pipeline.surveys import SurveyConfig, data_dir, load_surveys, run_key, unique_names

if TYPE_CHECKING:
    from prefect.client.schemas.objects import FlowRun

SURVEY_DEPLOYMENT = "municipality_report/municipality-report"
FanOut = Literal["auto", "deployments", "subflows", "dask"]
POLL_S = 3.0


def survey_tags(survey: SurveyConfig, year: int | None = None) -> list[str]:
    """Tags of a survey's flow and task runs: ``trygghet``, ``kommun:<name>`` and ``år:<year>``."""
    return ["trygghet", f"kommun:{survey.name}", *([f"år:{year}"] if year is not None else [])]


def collect_surveys(surveys: str | SurveyConfig | list[str | SurveyConfig]) -> list[SurveyConfig]:
    """Survey configurations from YAML files or folders (relative to the data folder) or given directly."""
    items = surveys if isinstance(surveys, list) else [surveys]
    out: list[SurveyConfig] = []
    for item in items:
        out += load_surveys(item) if isinstance(item, str) else [SurveyConfig.model_validate(item).resolved(data_dir())]
    if not out:
        raise ConfigError("Ange minst en enkätkonfiguration (parametern surveys).", option="surveys")
    return unique_names(out)


def report_years(years: int | list[int] | None) -> list[int]:
    """The years asked for; none given: the year before the flow run's scheduled start (1 March 2027 → 2026)."""
    if years is None:
        from prefect.runtime import flow_run

        start = flow_run.scheduled_start_time or datetime.now(UTC)
        return [start.year - 1]
    return sorted({years} if isinstance(years, int) else set(years))


def _year_run_name() -> str:
    from prefect.runtime import flow_run

    p = flow_run.parameters
    s = p.get("survey")
    return f"{getattr(s, 'name', None) or (s or {}).get('name', 'enkät')}-{p.get('year')}"


def _survey_run_name() -> str:
    from prefect.runtime import flow_run

    s = flow_run.parameters.get("survey")
    return str(getattr(s, "name", None) or (s or {}).get("name", "enkät"))


def _report_run_name() -> str:
    from prefect.runtime import flow_run

    years = flow_run.parameters.get("years")
    return "årsrapport" + (f"-{years}" if isinstance(years, int) else "-" + "-".join(map(str, years)) if years else "")


@flow(name="survey_year", flow_run_name=_year_run_name, timeout_seconds=YEAR_TIMEOUT_S, log_prints=True)
def survey_year(survey: SurveyConfig, year: int) -> dict[str, Any]:
    """One year of one survey: read+validate → store → weight → estimate → trend → publish."""
    from prefect.artifacts import create_markdown_artifact

    survey = survey.resolved(data_dir())
    info = flow_run_info()
    config = survey.run_config(
        year, survey.run_folder(year, info.get("flow_run_id") or run_key()), db=survey_database(survey)
    )
    config.check_inputs()
    res = run(config, steps=PrefectSteps(tags=survey_tags(survey, year)), flow_run=info, progress=print)
    print(f"trygghet-körning {res.run_id} ({survey.name} {year}): {res.out_dir}")
    title = f"{survey.report.municipality or survey.name} {year}"
    create_markdown_artifact(
        markdown=run_markdown(title, res, info),
        key=f"run-{survey.name}-{year}",
        description=f"trygghet-körning {res.run_id}",
    )
    return _summary(survey, year, res, info)


def _summary(survey: SurveyConfig, year: int, res: Any, info: dict[str, Any]) -> dict[str, Any]:
    return {
        "survey": survey.name,
        "year": year,
        "run_id": res.run_id,
        "flow_run_id": info.get("flow_run_id"),
        "out": str(res.out_dir),
        "report": str(res.files.get("report", "")),
        "suppressed": res.lineage.get("counts", {}).get("suppressed"),
    }


@flow(name="municipality_report", flow_run_name=_survey_run_name, timeout_seconds=SURVEY_TIMEOUT_S, log_prints=True)
def municipality_report(survey: SurveyConfig, years: list[int] | None = None) -> dict[str, Any]:
    """Every year asked for of one survey (default: every year it configures), one subflow per year."""
    survey = survey.resolved(data_dir())
    ys = sorted(years) if years else sorted(survey.years)
    survey.checked(ys)
    with tags(*survey_tags(survey)):
        results = [survey_year(survey, y) for y in ys]
    _table_artifact(results, f"survey-{survey.name}", f"trygghet-körningar för {survey.name}")
    return {"survey": survey.name, "runs": results}


@flow(name="annual_report", flow_run_name=_report_run_name, timeout_seconds=REPORT_TIMEOUT_S, log_prints=True)
def annual_report(
    surveys: str | SurveyConfig | list[str | SurveyConfig] = "surveys",
    years: int | list[int] | None = None,
    fan_out: FanOut = "auto",
) -> dict[str, Any]:
    """The annual report of every survey: a YAML file or folder (relative to ``$TRYGGHET_DATA_DIR``), a
    configuration, or a list of them; ``years`` defaults to the year before the scheduled start."""
    found = collect_surveys(surveys)
    ys = report_years(years)
    for s in found:
        s.checked(ys)
    mode = _mode(fan_out)
    print(f"Årsrapport {', '.join(map(str, ys))}: {', '.join(s.name for s in found)} ({mode})")
    if mode == "deployments":
        results = _via_deployments(found, ys)
    elif mode == "dask":
        results = dask_fan_out.with_options(task_runner=dask_task_runner())(found, ys)
    else:
        results = []
        for s in found:
            results += municipality_report(s, ys)["runs"]
    _table_artifact(results, "annual-report", "Årsrapportens körningar per kommun och år")
    failed = [r for r in results if r.get("state", "COMPLETED") != "COMPLETED"]
    if failed:
        raise RuntimeError("Misslyckades: " + ", ".join(f"{r['survey']} ({r.get('state')})" for r in failed))
    return {"years": ys, "runs": results}


def _mode(fan_out: FanOut) -> str:
    if fan_out != "auto":
        return fan_out
    if runner_setting() == "dask":
        return "dask"
    from prefect.runtime import deployment

    return "deployments" if deployment.id else "subflows"


def _via_deployments(surveys: list[SurveyConfig], years: list[int]) -> list[dict[str, Any]]:
    """One ``municipality-report`` flow run per survey on the work pool (linked as subflows), then wait
    for all of them (bounded by the survey timeout), then their runs from their artifacts."""
    from prefect.deployments import run_deployment

    started: dict[str, FlowRun] = {
        s.name: cast(
            "FlowRun",
            run_deployment(
                SURVEY_DEPLOYMENT,
                timeout=0,
                tags=survey_tags(s),
                parameters={"survey": s.model_dump(mode="json"), "years": years},
            ),
        )
        for s in surveys
    }
    print("Startade: " + ", ".join(f"{n} ({fr.id})" for n, fr in started.items()))
    final = _wait_all({n: fr.id for n, fr in started.items()}, SURVEY_TIMEOUT_S)
    return _child_runs(final)


def _wait_all(ids: dict[str, Any], limit_s: float) -> dict[str, Any]:
    """Poll the flow runs until every one is final, or ``limit_s`` has passed (those still running are then
    reported as not completed and the annual report fails)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    deadline = time.monotonic() + limit_s
    with get_client(sync_client=True) as client:
        while True:
            runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=list(ids.values()))))
            if all(r.state is not None and r.state.is_final() for r in runs) or time.monotonic() > deadline:
                by_id = {r.id: r for r in runs}
                return {name: by_id[i] for name, i in ids.items()}
            time.sleep(POLL_S)


def _child_runs(final: dict[str, Any]) -> list[dict[str, Any]]:
    """The runs (one row per year) each survey's flow run reported in its ``survey-<name>`` artifact."""
    import json

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    rows: list[dict[str, Any]] = []
    with get_client(sync_client=True) as client:
        for name, fr in final.items():
            state = fr.state.type.value if fr.state is not None else "UNKNOWN"
            arts = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[f"survey-{name}"])))
            mine = [a for a in arts if a.flow_run_id == fr.id]
            data = json.loads(mine[0].data) if mine and isinstance(mine[0].data, str) else []
            rows += [{**r, "state": state, "survey_flow_run_id": str(fr.id)} for r in data] or [
                {"survey": name, "state": state, "survey_flow_run_id": str(fr.id)}
            ]
    return rows


# --- Dask: one task per survey and year ----------------------------------------------------------------
@task(name="survey-year", cache_policy=NO_CACHE, timeout_seconds=YEAR_TIMEOUT_S)
def survey_year_task(survey: SurveyConfig, year: int, db: str, info: dict[str, Any]) -> dict[str, Any]:
    """One year of one survey as one task (its steps inline): the unit of work sent to a Dask worker."""
    from prefect.runtime import task_run

    key = f"{info.get('flow_run_id', run_key())}-{task_run.id or run_key()}"
    config = survey.run_config(year, survey.run_folder(year, key), db=db)
    steps = PlainSteps()
    try:
        res = run(config, steps=steps, flow_run={**info, "task_run_id": str(task_run.id)})
    finally:
        steps.close()
    return {**_summary(survey, year, res, info), "state": "COMPLETED"}


@flow(name="dask_fan_out", timeout_seconds=REPORT_TIMEOUT_S, log_prints=True)
def dask_fan_out(surveys: list[SurveyConfig], years: list[int]) -> list[dict[str, Any]]:
    """Every survey × year as a task on the flow's task runner (``DaskTaskRunner`` from ``annual_report``);
    the surveys' databases are opened one after another, their years run in parallel."""
    info = flow_run_info()
    futures = []
    for s in surveys:
        db = survey_database(s)
        for y in years:
            with tags(*survey_tags(s, y)):
                futures.append(survey_year_task.submit(s, y, db, info))
    results = [f.result() for f in futures]
    for r in results:
        print(f"trygghet-körning {r['run_id']} ({r['survey']} {r['year']}): {r['out']}")
    return results


def _table_artifact(rows: list[dict[str, Any]], key: str, description: str) -> None:
    """A table of runs (survey, year, trygghet run id, flow run, folder, report); no estimates."""
    import json

    from prefect.artifacts import create_table_artifact

    cols = ("survey", "year", "run_id", "flow_run_id", "state", "out", "report", "suppressed")
    table = [{c: r.get(c) for c in cols} for r in rows]
    create_table_artifact(key=key, table=json.loads(json.dumps(table, default=str)), description=description)
