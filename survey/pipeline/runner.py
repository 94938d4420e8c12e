"""``trygghet run``: the whole pipeline on one wave, with lineage and step timings.

read → validate → store → weight → estimate → trend → publish. The statistics are the pure functions
of ``survey.pipeline.steps`` / ``survey.models``; this module does the IO around them and writes the data
contract's outputs (``weights.csv``, ``estimates.csv``, ``trend.csv``, ``run.json``) plus the analysts'
extras and the published report under ``DIR/report/``.
"""
from __future__ import annotations

import json
import platform
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

import numpy as np
import pandas as pd

from survey.data.codebook import Codebook, load_codebook
from survey.data.ingest import sha256_file  # noqa: F401  (re-exported: lineage hashes)
from survey.pipeline.steps import (CONTRACT_ESTIMATE_COLUMNS, EstimationOptions, EstimationResult, WeightingOptions,
                             WeightingResult, estimate, weight)

if TYPE_CHECKING:  # pragma: no cover
    from survey.models import TrendOutputs

STEPS = ("read", "validate", "store", "weight", "estimate", "trend", "publish")
# PNG/PDF need Chromium and ~1 s per table: available through --formats and `trygghet tables export`
DEFAULT_FORMATS: tuple[str, ...] = ("html", "xlsx", "csv")
# `trygghet run` charts the headline indicator by default: a 21-panel matplotlib chart costs ~1.3 s, and the
# report (rendered beside the database writes) stays off the critical path with one; --charts all for all
HEADLINE_INDICATORS: tuple[str, ...] = ("unsafe_after_dark",)


def chart_selection(codebook: Codebook, charts: str) -> bool | list[str]:
    """``all`` → every indicator, ``none`` → no charts, ``headline`` → the headline indicator (the first
    indicator of the codebook when it has no ``unsafe_after_dark``)."""
    if charts == "all":
        return True
    if charts == "none":
        return False
    if charts == "headline":
        names = [i.name for i in codebook.indicators]
        return [n for n in HEADLINE_INDICATORS if n in names] or names[:1]
    raise ValueError(f"charts must be all, headline or none, not {charts!r}")


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


def code_version() -> str:
    """Package version plus the git commit of the checkout when there is one."""
    try:
        version = metadata.version("trygghet")
    except metadata.PackageNotFoundError:  # pragma: no cover
        version = "unknown"
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).resolve().parent,
                                capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):  # pragma: no cover
        commit = ""
    return f"{version}+{commit}" if commit else version


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Contract CSV: dot decimal, round-trip-exact floats (shortest representation), empty = missing,
    ``true``/``false``, quotes only where needed. Written by Arrow (about 15× faster than pandas'
    ``%.17g`` on a million rows)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    out = frame.copy(deep=False)
    for c in out.columns:
        dt = out[c].dtype
        if isinstance(dt, pd.CategoricalDtype) or dt == object:
            out[c] = out[c].astype("string")
    table = pa.Table.from_pandas(out, preserve_index=False)
    pacsv.write_csv(table, path, write_options=pacsv.WriteOptions(quoting_style="needed"))
    return path


class _Clock:
    def __init__(self) -> None:
        self.steps: dict[str, float] = {s: 0.0 for s in STEPS}

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.steps[name] += time.perf_counter() - t0


def trend_step(responses: pd.DataFrame, weighting: WeightingResult, codebook: Codebook, *, level: float = 0.95,
               district_trends: bool = False):
    """Trend models, their model-based shares and (optionally) per-district trends (``survey.models``)."""
    from survey.models import trend_outputs
    return trend_outputs(weighting.design, responses, codebook.indicators, series_breaks=codebook.series_breaks,
                         level=level, district_trends_model=district_trends)


def read_step(responses: str | Path, population: str | Path, codebook: Codebook, mapping: str | Path | None = None,
              *, max_bad_share: float = 0.05, read_opts: dict | None = None):
    """Read and validate a wave (``survey.data.ingest.load_wave``)."""
    from survey.data import ingest
    return ingest.load_wave(responses, population, codebook, mapping, max_bad_share=max_bad_share,
                            **(read_opts or {}))


def store_step(wave, db: str | None, replace: bool = False):
    """Load the wave into the database (transactional, idempotent); returns ``(store, report)``."""
    from survey.data.store import Store
    store = Store(db)
    return store, store.load_wave(wave, replace=replace)


def run_parameters(weighting: WeightingOptions, estimation: EstimationOptions, max_bad_share: float,
                   replace: bool) -> dict[str, Any]:
    return {
        "weighting": {"method": weighting.method, "margins": [list(m) for m in weighting.margins],
                      "by": list(weighting.by), "bounds": weighting.bounds, "trim": weighting.trim,
                      "epsilon": weighting.epsilon, "maxit": weighting.maxit, "lonely_psu": weighting.lonely_psu,
                      "collapse": {v: k for v, k in weighting.collapse}},
        "estimation": {"min_n": estimation.min_n, "max_rse": estimation.max_rse, "level": estimation.level,
                       "ci": "logit", "adjust": estimation.adjust, "alpha": estimation.alpha},
        "max_bad_share": max_bad_share, "replace": replace,
    }


def publish_step(store, report, wave, codebook: Codebook, w: WeightingResult, e: EstimationResult,
                 tr: "TrendOutputs", out_dir: Path, parameters: dict, *, started: datetime, notes: list[str],
                 steps: dict[str, float], publish: bool = True,
                 formats: tuple[str, ...] = DEFAULT_FORMATS, min_n: int = 30, charts: str = "headline",
                 background: bool = True) -> tuple[str, dict[str, Path], dict[str, Any]]:
    """Write the contract files and extras, publish the report, and store the run with its lineage."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    run_id = store.begin_run(parameters, code_version(), codebook.version, report.source_ids)
    try:
        files, lineage = _write_outputs(store, run_id, report.status, wave, codebook, w, e, tr, out_dir,
                                        parameters, started=started, notes=notes, steps=steps, publish=publish,
                                        formats=formats, min_n=min_n, charts=charts, background=background)
    except BaseException as exc:
        store.fail_run(run_id, f"{type(exc).__name__}: {exc}")
        raise
    return run_id, files, lineage


def _write_outputs(store, run_id: str, load_status: str, wave, codebook: Codebook, w: WeightingResult,
                   e: EstimationResult, tr: "TrendOutputs", out_dir: Path, parameters: dict, *,
                   started: datetime, notes: list[str], steps: dict[str, float], publish: bool,
                   formats: tuple[str, ...], min_n: int, charts: str, background: bool = True
                   ) -> tuple[dict[str, Path], dict[str, Any]]:
    files: dict[str, Path] = {}
    report = None
    if publish:   # the report renders in a child process while this one writes the files and the database
        meta = {"run_id": run_id, "date": started.date().isoformat(),
                "data_source": f"{wave.responses.source.name}, {wave.population.source.name}",
                "codebook_version": f"{codebook.name} {codebook.version}",
                "method": "Kalibrerade vikter (raking mot kön och ålder per område och år); "
                          "Taylorlinjäriserade standardfel; 95 % konfidensintervall på logitskalan"}
        pub_est = pd.concat([e.estimates.assign(domain="district", group=None), e.by_group], ignore_index=True) \
            if len(e.by_group) else e.estimates
        args = (pub_est, e.comparisons, tr.trend, codebook, meta, out_dir / "report")
        kwargs = dict(formats=formats, min_n=min_n, charts=chart_selection(codebook, charts))
        if background and _can_fork(store.url):
            report = _Background(_publish_with_store, store.url, *args, **kwargs)
        else:
            from reports.publish import publish_report
            report = _Done(publish_report(*args, store=store, **kwargs))
    files["weights"] = write_csv(w.weights, out_dir / "weights.csv")
    files["estimates"] = write_csv(e.estimates[list(CONTRACT_ESTIMATE_COLUMNS)], out_dir / "estimates.csv")
    files["trend"] = write_csv(tr.contract_rows(), out_dir / "trend.csv")
    files["estimates_full"] = write_csv(e.estimates, out_dir / "estimates_full.csv")
    files["comparisons"] = write_csv(e.comparisons, out_dir / "comparisons.csv")
    files["diagnostics"] = write_csv(w.diagnostics, out_dir / "weight_diagnostics.csv")
    files["trend_full"] = write_csv(tr.trend, out_dir / "trend_full.csv")
    for key, frame, name in (("trend_shares", tr.shares, "trend_shares.csv"),
                             ("trend_districts", tr.districts, "trend_districts.csv"),
                             ("trend_tests", tr.tests, "trend_tests.csv")):
        if len(frame):
            files[key] = write_csv(frame, out_dir / name)
    if len(e.by_group):
        files["by_group"] = write_csv(e.by_group, out_dir / "estimates_by_group.csv")
    if len(e.index):
        files["index"] = write_csv(e.index, out_dir / "problem_index.csv")
    resp = wave.responses.data
    lineage = {
        "run_id": run_id,
        "started_at": started.isoformat(timespec="seconds"),
        "inputs": [{"role": r.source.kind, "file": r.source.name, "sha256": r.source.sha256,
                    "format": r.source.format, "encoding": r.source.encoding, "delimiter": r.source.delimiter,
                    "rows": r.source.n_rows, "accepted": int(len(r.data)), "quarantined_rows":
                    int(r.quarantine["source_row"].nunique()) if len(r.quarantine) else 0}
                   for r in (wave.responses, wave.population)],
        "codebook": {"name": codebook.name, "version": codebook.version},
        "code_version": code_version(),
        "python": platform.python_version(),
        "database": {"dialect": store.dialect, "load": load_status},
        "parameters": parameters,
        "counts": {"respondents": int(len(resp)), "strata": int(w.design.n_strata),
                   "estimates": int(len(e.estimates)), "suppressed": int(e.estimates["suppressed"].sum()),
                   "calibration_iterations": int(w.calibration.iterations),
                   "max_margin_error": float(w.calibration.max_margin_error)},
        "notes": notes,
        "steps": steps,
    }
    store.save_run_outputs(run_id, weights=w.weights, diagnostics=w.diagnostics, estimates=e.estimates,
                           comparisons=e.comparisons, trend=tr.long(), lineage=lineage, finish=report is None)
    if report is not None:
        pub = report.result()
        files["report"] = pub.index if pub.index is not None else out_dir / "report"
        lineage["publish"] = {"tables": len(pub.tables), "files": len(pub.files), "notes": pub.notes,
                              "seconds": pub.seconds}
        store.finish_run(run_id, lineage)
    return files, lineage


def _publish_with_store(db_url: str, *args: Any, **kwargs: Any):
    """``publish_report`` with its own connection to the database (safe in a forked child)."""
    from reports.publish import publish_report
    from survey.data.store import Store
    store = Store(db_url, migrate=False)
    try:
        return publish_report(*args, store=store, **kwargs)
    finally:
        store.close()


def _load_in_child(db_url: str, wave, replace: bool):
    """``Store.load_wave`` with its own connection (safe in a forked child); returns (report, seconds)."""
    from survey.data.store import Store
    t0 = time.perf_counter()
    store = Store(db_url, migrate=False)
    try:
        return store.load_wave(wave, replace=replace), time.perf_counter() - t0
    finally:
        store.close()


def _can_fork(db_url: str) -> bool:
    """Whether the report may render in a forked child: fork exists, the database is not in memory, and
    ``TRYGGHET_PUBLISH_INLINE`` is not set."""
    import multiprocessing as mp
    import os
    in_memory = db_url.startswith("sqlite") and db_url.split("///")[-1] in ("", ":memory:", "sqlite://")
    return (os.environ.get("TRYGGHET_PUBLISH_INLINE") != "1" and "fork" in mp.get_all_start_methods()
            and not in_memory)


@dataclass
class _Done:
    """A result computed in this process (the same interface as :class:`_Background`)."""

    value: Any

    def result(self) -> Any:
        return self.value


class _Background:
    """Run ``fn(db_url, ...)`` in a forked child process (it inherits the frames: nothing is pickled on the way
    in) and hand back its result; an exception in the child is raised by ``result()``."""

    def __init__(self, fn: Callable, db_url: str, *args: Any, **kwargs: Any) -> None:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor
        self._pool = ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("fork"))
        self._future = self._pool.submit(fn, db_url, *args, **kwargs)

    def result(self) -> Any:
        try:
            return self._future.result()
        finally:
            self._pool.shutdown()


def write_lineage(out_dir: Path, lineage: dict[str, Any], steps: dict[str, float]) -> Path:
    """``run.json`` with the final step timings."""
    lineage["steps"] = {k: round(v, 4) for k, v in steps.items()}
    lineage["finished_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    path = Path(out_dir) / "run.json"
    path.write_text(json.dumps(lineage, indent=2, ensure_ascii=False, default=_json_default), encoding="utf-8")
    return path


def run(responses: str | Path, population: str | Path, out: str | Path, *, db: str | None = None,
        codebook: Codebook | str | Path | None = None, mapping: str | Path | None = None,
        replace: bool = False, weighting: WeightingOptions = WeightingOptions(),
        estimation: EstimationOptions = EstimationOptions(), publish: bool = True,
        formats: tuple[str, ...] = DEFAULT_FORMATS, max_bad_share: float = 0.05,
        read_opts: dict | None = None, progress: Callable[[str], None] | None = None,
        charts: str = "headline", district_trends: bool = False) -> RunResult:
    """Run the whole pipeline on one wave and write the outputs under ``out``."""
    clock = _Clock()
    say = progress or (lambda _msg: None)
    out_dir = Path(out)
    cb = codebook if isinstance(codebook, Codebook) else load_codebook(codebook)
    started = datetime.now(timezone.utc)
    say("läser och validerar")
    with clock.step("validate"):
        wave = read_step(responses, population, cb, mapping, max_bad_share=max_bad_share, read_opts=read_opts)
    read_s = float(getattr(wave, "read_seconds", 0.0) or 0.0)
    clock.steps["read"] += read_s
    clock.steps["validate"] -= read_s
    notes = list(wave.notes)
    say("sparar i databasen")
    from survey.data.store import Store
    store = Store(db)              # opens (and migrates) the database before any child process touches it
    if _can_fork(store.url):       # the load (one transaction) runs in a child while this process computes
        loading: _Done | _Background = _Background(_load_in_child, store.url, wave, replace)
    else:
        t0 = time.perf_counter()
        loading = _Done((store.load_wave(wave, replace=replace), time.perf_counter() - t0))
    resp, pop = wave.responses.data, wave.population.data
    say("viktar")
    with clock.step("weight"):
        w = weight(resp, pop, weighting)
    notes.extend(w.notes)
    say("skattar andelar")
    with clock.step("estimate"):
        e = estimate(resp, w, cb, estimation)
    say("skattar trender")
    with clock.step("trend"):
        tr = trend_step(resp, w, cb, level=estimation.level, district_trends=district_trends)
    with clock.step("store"):      # waiting for the load, if it is not done yet
        report, load_seconds = loading.result()
    clock.steps["store"] = load_seconds
    notes.append(f"database: {report.status}")
    if isinstance(loading, _Background):
        notes.append("the database load ran concurrently with weight, estimate and trend")
    say("publicerar")
    parameters = run_parameters(weighting, estimation, max_bad_share, replace)
    with clock.step("publish"):
        run_id, files, lineage = publish_step(store, report, wave, cb, w, e, tr, out_dir, parameters,
                                              started=started, notes=notes, steps=clock.steps, publish=publish,
                                              formats=formats, min_n=estimation.min_n, charts=charts)
    files["run"] = write_lineage(out_dir, lineage, clock.steps)
    return RunResult(run_id=run_id, out_dir=out_dir, files=files, steps=clock.steps, lineage=lineage,
                     weighting=w, estimation=e, trend=tr.trend, notes=notes)


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, Path):
        return str(o)
    return str(o)
