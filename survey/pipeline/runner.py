"""``trygghet run``: the whole pipeline on one wave, defined once.

read+validate → store (beside weight, estimate, trend) → weight → estimate → trend → publish. The CLI calls
:func:`run` with :class:`PlainSteps`; the Prefect flow ``trygghet_run`` calls the same :func:`run` with a
step runner that makes each step a Prefect task (``flows/run_wave.py``), so both execute the same step
functions in the same order with the same :class:`~survey.pipeline.config.RunConfig`, and write the same
contract files (``weights.csv``, ``estimates.csv``, ``trend.csv``, ``run.json``) plus the analysts' extras
and the report under ``OUT/report/``.

The database load overlaps the other steps: it runs in a thread with its own connection
(``StepRunner.submit``; Prefect's thread-pool task runner in the flow) while this thread computes. The run's
id is chosen once the statistics are done; where the store keeps the outputs without holding the GIL
(:func:`publish_step`) the run is recorded and its outputs stored in a thread that waits for the load, while
the report, which names the run by that id, is written beside it. The report's tables are published in
the transaction that ends the run (:func:`finish`). No process is forked, so no thread or connection pool is
ever duplicated.
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pandas as pd

from survey.data.codebook import Codebook, load_codebook
from survey.errors import ConfigError
from survey.heap import freeze_heap
from survey.optional import without
from survey.pipeline import outputs
from survey.pipeline.config import DEFAULT_FORMATS, RunConfig

if TYPE_CHECKING:
    from survey.data.store.staging import Stage
    from survey.estimation import AtomStats
    from survey.pipeline.adjustment import NonresponseResult
    from survey.pipeline.steps import EstimationOptions, EstimationResult, WeightingOptions, WeightingResult
    from survey.replicate_estimation import BlockRunner

#: The statistics' modules (scipy, statsmodels and trygghet's estimators: about 1 s to import), imported by
#: :func:`import_statistics` once the wave's load runs, not before the wave is read.
STATISTICS_MODULES = ("survey.pipeline.steps", "survey.models")

STEPS = ("read", "validate", "store", "weight", "estimate", "trend", "publish")


class StepRunner(Protocol):
    """How the steps are executed: inline (the CLI) or as Prefect tasks (the flows)."""

    def run(self, name: str, fn: Callable[..., Any], *args: Any) -> Any: ...

    def submit(self, name: str, fn: Callable[..., Any], *args: Any) -> Future[Any] | Any: ...


class PlainSteps:
    """Steps as plain calls; ``submit`` runs one in a worker thread (the database load)."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None

    def run(self, name: str, fn: Callable[..., Any], *args: Any) -> Any:
        return fn(*args)

    def submit(self, name: str, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"trygghet-{name}")
        return self._pool.submit(fn, *args)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


@dataclass
class RunResult:
    run_id: str | None
    out_dir: Path
    files: dict[str, Path]
    steps: dict[str, float]
    lineage: dict[str, Any]
    weighting: WeightingResult | None = field(default=None, repr=False)
    estimation: EstimationResult | None = field(default=None, repr=False)
    trend: pd.DataFrame | None = field(default=None, repr=False)
    notes: list[str] = field(default_factory=list)


def weighting_options(config: RunConfig) -> WeightingOptions:
    from survey.pipeline.steps import WeightingOptions

    return WeightingOptions(
        method=config.method,
        bounds=config.bounds,
        trim=config.trim,
        trim_mode=config.trim_mode,
        maxit=config.maxit,
        lonely_psu=config.lonely_psu,
        collapse=config.collapse_spec,
        aux=config.aux,
    )


def estimation_options(config: RunConfig, blocks: BlockRunner | None = None) -> EstimationOptions:
    """The estimation options of ``config``; ``blocks``: how replicate variance is run (the flows' Dask)."""
    from survey.pipeline.steps import EstimationOptions

    method, replicates = config.variance_method
    return EstimationOptions(
        min_n=config.min_n,
        max_rse=config.max_rse,
        level=config.level,
        adjust=config.adjust,
        alpha=config.alpha,
        variance=method,
        replicates=replicates or 500,
        seed=config.replicate_seed,
        replicate_blocks=blocks,
        pool=config.pool,
    )


# --- the steps (each a plain function of the configuration and the previous steps' results) -------------
def prepare_step(config: RunConfig) -> Codebook:
    """Check every option and input file and load the codebook (and mapping) before any work starts."""
    config.check_inputs()
    codebook = load_codebook(config.codebook)
    if config.mapping is not None:
        from survey.data.codebook import load_mapping

        load_mapping(config.mapping, codebook)
    return codebook


def import_statistics() -> None:
    """Import :data:`STATISTICS_MODULES`. :func:`run` does it once the wave's load is running (in C, without
    the GIL, on a SQLite file or PostgreSQL), so the import overlaps the load instead of delaying the read and
    the load; the steps that follow then time their own work, not their imports."""
    with without("polars", "formulaic"):  # statsmodels' optional backends: frames and formulas never used here
        for name in STATISTICS_MODULES:
            importlib.import_module(name)


def read_step(config: RunConfig, codebook: Codebook) -> Any:
    """Read and validate a wave (``survey.data.ingest.load_wave``); timings on ``wave.read_seconds``."""
    from survey.data import ingest

    if config.responses is None or config.population is None:  # prepare_step has said so already
        raise ConfigError("Ange både --responses och --population.", option="responses")
    return ingest.load_wave(
        config.responses,
        config.population,
        codebook,
        config.mapping,
        max_bad_share=config.max_bad_share,
        aux=config.aux,
        **config.read_opts,  # type: ignore[arg-type]
    )


def open_store(config: RunConfig) -> Any:
    """Open (and migrate) the database before the load thread opens its own connection, and import the
    driver that thread stages a large SQLite load with (two threads never import at once)."""
    from survey.data.store import Store
    from survey.data.store.drivers import import_driver

    store = Store(config.db)
    if store.sqlite_path is not None:
        import_driver()
    return store


def load_step(db_url: str, wave: Any, replace: bool, beside: bool = False) -> tuple[Any, float]:
    """Load the wave in one transaction, on a connection of its own; returns ``(report, seconds)``.
    ``beside``: the load runs beside the statistics (``Store.load_wave(staged=True)``)."""
    from survey.data.store import Store

    t0 = time.perf_counter()
    store = Store(db_url, migrate=False)
    try:
        return store.load_wave(wave, replace=replace, staged=beside), time.perf_counter() - t0
    finally:
        store.close()


def nonresponse_step(
    config: RunConfig, codebook: Codebook, responses: pd.DataFrame, population: pd.DataFrame
) -> NonresponseResult | None:
    """Read the gross sample (``--gross-sample``) and compute the response rates and the adjustment."""
    if config.gross_sample is None:
        return None
    from survey.data.gross import read_gross_sample
    from survey.pipeline.adjustment import nonresponse

    gross = read_gross_sample(config.gross_sample, codebook)
    return nonresponse(responses, population, gross.data, config.nonresponse, file=gross.name, source=gross.lineage())


def weight_step(config: RunConfig, wave: Any, nr: NonresponseResult | None = None) -> WeightingResult:
    from survey.pipeline.steps import weight

    return weight(wave.responses.data, wave.population.data, weighting_options(config), nr)


def estimate_step(
    config: RunConfig, wave: Any, w: WeightingResult, codebook: Codebook, blocks: BlockRunner | None = None
) -> EstimationResult:
    from survey.pipeline.steps import estimate

    return estimate(wave.responses.data, w, codebook, estimation_options(config, blocks))


def trend_step(
    config: RunConfig, wave: Any, w: WeightingResult, codebook: Codebook, atoms: AtomStats | None = None
) -> Any:
    """Trend models, model-based shares and (``district_trends``) per-district trends (``survey.models``),
    fitted from the estimation step's atom sums: ``atoms`` when the run hands them over (``trygghet run``),
    else computed here the same way (the stepwise ``trend`` step), so both give the same bits."""
    from survey.models import trend_outputs
    from survey.pipeline.steps import estimation_atoms, prepare

    if atoms is None:
        atoms = estimation_atoms(w.design, prepare(wave.responses.data), codebook, estimation_options(config))
    return trend_outputs(
        w.design,
        wave.responses.data,
        codebook.indicators,
        series_breaks=codebook.series_breaks,
        level=config.level,
        district_trends_model=config.district_trends,
        atoms=atoms,
    )


def save_outputs(
    store: Any,
    run_id: str,
    w: WeightingResult,
    e: EstimationResult,
    tr: Any,
    lineage: dict[str, Any],
    staged: Stage | None = None,
) -> None:
    """Store the run's outputs (the weights, n rows, and the result frames) in one transaction; the run
    stays "running" until :meth:`Store.finish_run`. ``staged``: the weights as
    :meth:`Store.stage_run_weights` staged them."""
    store.save_run_outputs(
        run_id,
        weights=w.weights,
        diagnostics=w.diagnostics,
        estimates=e.estimates,
        comparisons=e.comparisons,
        trend=tr.long(),
        lineage=lineage,
        finish=False,
        by_group=e.by_group,
        index=e.index,
        design=w.design,
        staged=staged,
    )


def save_step(
    db_url: str,
    run_id: str,
    w: WeightingResult,
    e: EstimationResult,
    tr: Any,
    lineage: dict[str, Any],
    staged: Stage | None = None,
) -> None:
    """:func:`save_outputs` on a connection of its own (a thread beside the report)."""
    from survey.data.store import Store

    store = Store(db_url, migrate=False)
    try:
        save_outputs(store, run_id, w, e, tr, lineage, staged)
    finally:
        store.close()


def publish_step(
    config: RunConfig,
    store: Any,
    run_id: str,
    wave: Any,
    codebook: Codebook,
    w: WeightingResult,
    e: EstimationResult,
    tr: Any,
    started: datetime,
    record: Callable[[], dict[str, Any]],
) -> tuple[dict[str, Path], Any]:
    """Write the contract files and extras, store the run's outputs, and write the report; returns the
    files and the report (``reports.publish.PublishResult``, None without one), whose tables :func:`run`
    publishes to the store as it ends the run, in one transaction (:func:`finish`).

    ``record`` waits for the wave's load, records the run ``run_id`` in the store (``begin_run``) and returns
    its lineage (the same dict on every call). Where the store keeps the weights without holding the GIL
    (:meth:`Store.stages_weights`: PostgreSQL, where the server does the work while the client waits on the
    socket, and a SQLite file with many rows, staged by ADBC), a thread with its own connection does that,
    staging a SQLite file's weights before it waits for the load (:func:`_stage_record_save`), then stores
    the outputs (:func:`save_step`), while this thread writes the files and the report, which names the run
    by the id chosen before, so it need not wait for the load either. Otherwise they do run one after the
    other: the sqlite3 binding holds the GIL while it binds 1M rows, and beside the report that thread was
    slower (publish 14.7 against 12.2 s wall at 1M)."""
    out_dir = Path(config.out)
    parts: dict[str, float] = {}  # wall seconds of the step's parts (run.json's "publish_parts")

    def part(name: str, fn: Callable[..., Any], *args: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args)
        finally:
            parts[name] = round(time.perf_counter() - t0, 3)

    def analysis_files() -> dict[str, Path]:
        return outputs.write_outputs(out_dir, w, e, tr, replicate_weights=config.replicate_weights)

    def report() -> Any:
        if not config.publish:
            return None
        return part("report", outputs.publish, config, run_id, wave, codebook, e, tr, started, w.nonresponse)

    if not store.stages_weights(len(w.weights)):
        lineage = part("record", record)
        files = part("analysis_files", analysis_files)
        part("run_outputs", save_outputs, store, run_id, w, e, tr, lineage)
        pub = report()
    else:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="trygghet-save") as pool:
            saving = pool.submit(_stage_record_save, store, run_id, w, e, tr, record, part)
            try:
                files = part("analysis_files", analysis_files)
                pub = report()
            finally:
                saved = saving.exception()  # wait: the save's error comes first, it says what was not stored
            if saved is not None:
                raise saved
    lineage = record()
    lineage["publish_parts"] = parts
    if pub is not None:
        files["report"] = pub.index if pub.index is not None else out_dir / "report"
        lineage["publish"] = {
            "tables": len(pub.tables),
            "files": len(pub.files),
            "notes": pub.notes,
            "seconds": pub.seconds,
        }
    return files, pub


def _stage_record_save(
    store: Any,
    run_id: str,
    w: WeightingResult,
    e: EstimationResult,
    tr: Any,
    record: Callable[[], dict[str, Any]],
    part: Callable[..., Any],
) -> None:
    """:func:`publish_step`'s thread beside the report: the weights staged first (a file of their own, no
    database lock: a SQLite file only, PostgreSQL's server does that work), while the load may still hold the
    database; then the run recorded (``record`` waits for the load) and the outputs stored. A failed record
    (a failed load) removes the staged file."""
    from survey.data.store.staging import discard  # imported already, with the store: no import in a thread

    staged = (
        part("stage_weights", store.stage_run_weights, run_id, w.weights, w.design)
        if store.sqlite_path is not None
        else None
    )
    try:
        lineage = part("record", record)
    except BaseException:
        if staged is not None:
            discard(staged)
        raise
    part("run_outputs", save_step, store.url, run_id, w, e, tr, lineage, staged)


def finish(store: Any, run_id: str, lineage: dict[str, Any], pub: Any) -> None:
    """End the run: the report's tables published (``pub``, when there is a report) and the run marked
    succeeded in one transaction, so that the published tables become current only with a run that
    succeeded (an interrupted or failed run publishes nothing)."""
    if pub is None:
        store.finish_run(run_id, lineage)
        return
    from reports.publish import publish_to_store

    pub.versions = publish_to_store(store, pub.built, run_id, finish=True, lineage=lineage)


# --- the chain ----------------------------------------------------------------------------------------
def run(  # long: the chain, written once, step by step; formatted one argument a line
    config: RunConfig,
    *,
    steps: StepRunner | None = None,
    progress: Callable[[str], None] | None = None,
    flow_run: dict[str, Any] | None = None,
) -> RunResult:
    """Run the whole pipeline on one wave and write the outputs under ``config.out``.

    ``flow_run`` (Prefect's flow-run id, deployment, ...) is recorded in the lineage when given.
    """
    runner = steps or PlainSteps()
    say = progress or (lambda _msg: None)
    clock = {s: 0.0 for s in STEPS}

    def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def step(*args: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args)
            finally:
                clock[name] += time.perf_counter() - t0

        step.__name__ = step.__qualname__ = f"{name}_step"
        return step

    started = datetime.now(UTC)
    codebook = runner.run("prepare", prepare_step, config)
    say("läser och validerar")
    wave = runner.run("validate", timed("validate", read_step), config, codebook)
    read_s = float(getattr(wave, "read_seconds", 0.0) or 0.0)
    clock["read"], clock["validate"] = read_s, clock["validate"] - read_s
    notes = list(wave.notes) + outputs.quarantine_notes(wave.responses)
    if not config.publish and tuple(config.formats) != DEFAULT_FORMATS:  # formats asked for, and no report
        notes.append(f"--formats {','.join(config.formats)} används inte: --no-publish skriver bara analysfilerna")
    nr = None
    if config.gross_sample is not None:  # read and checked before the database is touched
        nr = runner.run(
            "nonresponse",
            timed("validate", nonresponse_step),
            config,
            codebook,
            wave.responses.data,
            wave.population.data,
        )
    say("sparar i databasen")
    store = runner.run("open-store", open_store, config)
    thaw = freeze_heap()  # the wave out of the collector's full passes until the end (survey.heap)
    try:  # the run's own connection is closed at the end (SQLite checkpoints its WAL into the file then)
        for stale in outputs.reap_interrupted_runs(store):
            notes.append(f"körning {stale} hade avbrutits och är markerad som misslyckad")
        loading = runner.submit("store", load_step, store.url, wave, config.replace, True)
        try:  # the imports too: an interruption there also waits for the load and records the run as failed
            import_statistics()
            say("viktar")
            w = runner.run("weight", timed("weight", weight_step), config, wave, nr)
            say("skattar andelar")
            blocks = getattr(runner, "replicate_blocks", None)  # the flows' Dask blocks of replicates
            e = runner.run("estimate", timed("estimate", estimate_step), config, wave, w, codebook, blocks)
            say("skattar trender")
            tr = runner.run("trend", timed("trend", trend_step), config, wave, w, codebook, e.atoms)
            failure: BaseException | None = None
        except BaseException as exc:  # the load still finishes (or fails) before the run is recorded as failed
            failure = exc
        from survey.data.store.runs import new_run_id

        run_id = new_run_id()  # chosen now: the report names the run while the load may still be running
        parameters = outputs.run_parameters(config, flow_run)
        version = outputs.code_version()  # here, not in the recording thread: its metadata read imports modules
        state: dict[str, Any] = {}
        recording = threading.Lock()

        def begin() -> Any:
            """Wait for the load and record the run (status running); returns the load's report."""
            loaded, clock["store"] = loading.result()
            notes.append(f"databas: {loaded.status}")
            store.begin_run(parameters, version, codebook.version, loaded.source_ids, run_id=run_id)
            state["begun"] = True
            return loaded

        if failure is not None:
            begin()
            store.fail_run(run_id, f"{type(failure).__name__}: {failure}")
            raise failure

        def record() -> dict[str, Any]:
            """The run recorded once (:func:`begin`, from whichever thread asks first) and its lineage."""
            with recording:
                if "lineage" not in state:
                    loaded = begin()
                    notes.extend(w.notes)
                    state["lineage"] = outputs.lineage(
                        run_id, started, wave, codebook, store, loaded.status, parameters, w, e, notes, clock
                    )
                lineage: dict[str, Any] = state["lineage"]
                return lineage

        say("publicerar")
        try:
            t0 = time.perf_counter()
            files, pub = runner.run(
                "publish", publish_step, config, store, run_id, wave, codebook, w, e, tr, started, record
            )
            clock["publish"] = time.perf_counter() - t0
            lineage = record()
            files["run"] = outputs.write_lineage(Path(config.out), lineage, clock)
            finish(store, run_id, lineage, pub)
        except BaseException as exc:
            # a load that failed recorded no run; a run that has ended (a signal just after its commit) stays so
            if state.get("begun") and store.run_record(run_id).run.get("status") == "running":
                store.fail_run(run_id, f"{type(exc).__name__}: {exc}")
            raise
        finally:
            if isinstance(runner, PlainSteps) and steps is None:
                runner.close()
        return RunResult(
            run_id=run_id,
            out_dir=Path(config.out),
            files=files,
            steps=clock,
            lineage=lineage,
            weighting=w,
            estimation=e,
            trend=tr.trend,
            notes=notes,
        )
    finally:
        store.close()
        thaw()
