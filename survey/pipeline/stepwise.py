"""The pipeline one step at a time, chained through the database under a run id.

``ingest`` loads a wave; ``weight_run`` starts a run on the stored wave and stores its weights with the
design and the calibration specification that made them; ``estimate_run``, ``trend_run`` and
``publish_run`` take only the run id: each reads what the previous step stored and records its own results
under the same run. The step functions are the same as ``trygghet run``'s (:mod:`survey.pipeline.runner`),
so ingest → weight(linear) → estimate → trend gives the numbers of ``trygghet run --method linear``.
The Prefect step flows (``flows/``) are these functions, each a task.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from survey.data.codebook import load_codebook
from survey.errors import ConfigError, StoreError
from survey.pipeline import outputs
from survey.pipeline.config import RunConfig
from survey.pipeline.runner import estimation_options, nonresponse_step, open_store, weighting_options
from survey.pipeline.steps import EstimationResult, WeightingResult, estimate, weight
from survey.replicate_estimation import BlockRunner


def weighting_specification(config: RunConfig) -> dict[str, Any]:
    """The calibration specification stored with the weights (what made them)."""
    o = weighting_options(config)
    return {
        "method": o.method,
        "margins": [list(m) for m in o.margins],
        "by": list(o.by),
        "bounds": None if o.bounds is None else list(o.bounds),
        "trim": None if o.trim is None else list(o.trim),
        "collapse": {v: k for v, k in o.collapse},
        "trim_mode": o.trim_mode,
        "maxit": o.maxit,
        "epsilon": o.epsilon,
        "lonely_psu": o.lonely_psu,
    } | ({"nonresponse": config.nonresponse, "gross_sample": str(config.gross_sample)} if config.gross_sample else {})


def weight_run(config: RunConfig, years: Sequence[int] | None = None) -> str:
    """Start a run on the wave in the database (the active sources of ``years``, default all), calibrate
    it and store the weights, the design and the specification; returns the run id."""
    if config.aux:
        raise ConfigError(
            f"--aux {','.join(config.aux)}: stegvisa körningar viktar befolkningen ur databasen, som inte sparar "
            f"hjälpvariablernas totaler; kör trygghet run (eller flödet trygghet_run) med --aux",
            option="aux",
        )
    codebook = load_codebook(config.codebook)
    store = open_store(config)
    try:
        ids = store.active_source_ids(years)
        if not ids and years and store.active_source_ids(None):  # a wave is stored, not of those years
            raise StoreError(
                f"Databasen har ingen inläst våg för år {', '.join(str(y) for y in years)}: läs in den med "
                f"trygghet ingest först, eller välj bland de inlästa åren (trygghet sources list)."
            )
        if not ids:
            raise StoreError("Databasen har ingen inläst våg att vikta: läs in en med trygghet ingest först.")
        run_id = store.begin_run(
            outputs.run_parameters(config),
            outputs.code_version(),
            codebook.version,
            ids,
            codebook_name=codebook.name,
            years=years,
        )
        try:
            t0 = time.perf_counter()
            responses, population = store.run_responses(run_id), store.run_population(run_id)
            nr = nonresponse_step(config, codebook, responses, population)  # --gross-sample, read from its file
            w = weight(responses, population, weighting_options(config), nr)
            store.save_weights(
                run_id,
                w.weights,
                w.diagnostics,
                specification=weighting_specification(config),
                design=w.design,
                calibration=_calibration_summary(w),
                seconds=time.perf_counter() - t0,
            )
        except BaseException as exc:
            store.fail_run(run_id, f"{type(exc).__name__}: {exc}")
            raise
        return run_id
    finally:
        store.close()


def _calibration_summary(w: WeightingResult) -> dict[str, Any]:
    counts = outputs.calibration_counts(w)
    return {
        "iterations": counts.get("calibration_iterations"),
        "max_margin_error": counts.get("max_margin_error"),
        "notes": list(w.notes),
    }


def run_config(store: Any, run_id: str, db: str | None) -> RunConfig:
    """The configuration a run was started with (its database URL as given now, never stored in clear)."""
    stored = store.run_record(run_id).parameters.get("config")
    if not stored:
        raise StoreError(f"Körning {run_id} har ingen sparad konfiguration (startad av en äldre version?).")
    return RunConfig.model_validate({**stored, "db": db})


def _stored_weighting(store: Any, run_id: str) -> tuple[pd.DataFrame, WeightingResult]:
    """The run's responses and its stored weights and design (rows checked to be the weighted ones)."""
    stored = store.run_weights(run_id)
    responses = store.run_responses(run_id)
    stored.check_rows(responses)
    if stored.design is None:
        raise StoreError(f"Körning {run_id} har vikter men ingen sparad design; kör viktsteget igen.")
    w = WeightingResult(
        design=stored.design,
        calibration=None,
        weights=stored.weights,
        diagnostics=stored.diagnostics if stored.diagnostics is not None else pd.DataFrame(),
    )
    return responses, w


def replicate_blocks(
    block_size: int | None, map_blocks: Callable[..., Any], n_blocks: int | None = None
) -> BlockRunner:
    """How replicate variance is run: blocks of ``block_size`` replicates (or ``n_blocks`` equal blocks),
    run by ``map_blocks`` (:data:`survey.replicate_estimation.BlockMap`; the flows' Dask runner). Never
    changes the numbers."""
    return BlockRunner(block_size=block_size, map=map_blocks, n_blocks=n_blocks)


def estimate_run(run_id: str, db: str | None = None, blocks: BlockRunner | None = None) -> EstimationResult:
    """Every indicator's estimates and comparisons from the run's stored weights, stored under the run
    (``blocks``: how replicate variance is run, see :func:`replicate_blocks`)."""
    from survey.data.store import Store

    with Store(db, migrate=False, existing=True) as store:
        config = run_config(store, run_id, db)
        codebook = load_codebook(config.codebook)
        responses, w = _stored_weighting(store, run_id)
        t0 = time.perf_counter()
        e = estimate(responses, w, codebook, estimation_options(config, blocks))
        store.save_estimates(run_id, e.estimates, e.comparisons, e.by_group, e.index, seconds=time.perf_counter() - t0)
    return e


def trend_run(run_id: str, db: str | None = None) -> Any:
    """The trend models from the run's stored weights, stored under the run."""
    from survey.data.store import Store
    from survey.pipeline.runner import trend_step

    with Store(db, migrate=False, existing=True) as store:
        config = run_config(store, run_id, db)
        codebook = load_codebook(config.codebook)
        responses, w = _stored_weighting(store, run_id)
        t0 = time.perf_counter()
        tr = trend_step(config, _Wave(responses), w, codebook)
        store.save_trend(run_id, tr.trend, tr.shares, tr.districts, tr.tests, seconds=time.perf_counter() - t0)
    return tr


class _Wave:
    """The one part of a wave the trend step reads (``wave.responses.data``)."""

    def __init__(self, data: pd.DataFrame) -> None:
        self.responses = type("Part", (), {"data": data})()


def publish_run(run_id: str, db: str | None = None, out: str | Path | None = None, *, finish: bool = True) -> Any:
    """Publish a run from what its steps stored (estimates, comparisons, trend): the report under
    ``out/report`` (default: the run's configured folder) and the published-table store; with ``finish``
    the run is marked succeeded in the transaction that publishes its tables. A failed run is refused."""
    from reports.publish import publish_report, publish_to_store
    from survey.data.store import Store

    with Store(db, migrate=False, existing=True) as store:
        config = run_config(store, run_id, db)
        results = store.run_results(run_id)
        if results.record.run.get("status") == "failed":
            raise StoreError(
                f"Körning {run_id} misslyckades; en misslyckad körnings resultat publiceras aldrig. Gör en ny körning."
            )
        if results.estimates is None:
            raise StoreError(
                f"Körning {run_id} har inga skattningar att publicera: kör skattningssteget först "
                f"(gjorda steg: {', '.join(results.record.steps_done) or 'inga'})."
            )
        if "trend" not in results.record.steps_done:  # the report would lack its trend table, silently
            raise StoreError(
                f"Körning {run_id} har inga trender att publicera: kör trendsteget först "
                f"(gjorda steg: {', '.join(results.record.steps_done) or 'inga'})."
            )
        codebook = load_codebook(config.codebook)  # the run's configured codebook (name or file)
        t0 = time.perf_counter()
        est = results.estimates
        if results.by_group is not None and len(results.by_group):
            est = pd.concat([est.assign(domain="district", group=None), results.by_group], ignore_index=True)
        trend = results.trend
        if trend is not None and "model" in trend.columns:
            trend = trend[trend["model"] == "trend"].drop(columns=["model", "district"], errors="ignore")
        folder = Path(out) if out is not None else Path(config.out)
        pub = publish_report(
            est,
            results.comparisons,
            trend,
            codebook,
            _meta(config, results, run_id),
            folder / "report",
            formats=config.formats,
            min_n=config.min_n,
            charts=outputs.chart_selection(codebook, config.charts),
            district_trends=results.trend_districts,  # --district-trends: as trygghet run publishes them
        )
        outputs.write_suppression(folder, pub)
        running = results.record.run.get("status") == "running"  # a finished run is re-published, not changed
        if running:
            store.record_step(
                run_id,
                "publish",
                seconds=time.perf_counter() - t0,
                meta={
                    "tables": len(pub.tables),
                    "files": len(pub.files),
                    "index": str(pub.index) if pub.index else None,
                },
            )
        pub.versions = publish_to_store(store, pub.built, run_id, finish=running and finish)
    return pub


def _meta(config: RunConfig, results: Any, run_id: str) -> dict[str, Any]:
    sources = results.record.sources
    names = ", ".join(str(n) for n in sources["name"]) if len(sources) else ""
    started = results.record.run.get("started_at") or datetime.now(UTC)
    meta: dict[str, Any] = {
        "run_id": run_id,
        "date": str(started)[:10],
        "data_source": names,
        "alpha": config.alpha,
        "adjust": config.adjust,
        "level": config.level,
        "lang": config.lang,  # the tables' language (reports.translate)
    }
    if config.pool > 1:  # the pooled years are stated as in trygghet run's report
        meta["method"] = outputs.method_text(config, results.estimates)
    for key, value in config.report_texts.items():
        meta["data_source" if key == "source" else key] = value
    return meta
