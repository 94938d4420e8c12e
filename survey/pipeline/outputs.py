"""What a run leaves behind: the data contract's files, the analysts' extras, ``run.json`` and the report.

Contract CSVs (``shared/spec/data-contract.md``): dot decimal, round-trip-exact floats, empty = missing,
``true``/``false``. ``run.json`` holds the lineage: inputs with sha256, codebook and code version, the
effective configuration (database password masked), the Prefect flow run when there is one, step timings.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
from datetime import UTC, datetime
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from survey.data.codebook import Codebook
from survey.data.store.values import process_alive
from survey.pipeline.config import RunConfig

if TYPE_CHECKING:  # the statistics' modules are imported once the wave's load runs (runner.import_statistics)
    from survey.pipeline.adjustment import NonresponseResult
    from survey.pipeline.steps import EstimationResult, WeightingResult

# `trygghet run` charts the headline indicator by default: a 21-panel chart costs ~1.3 s
HEADLINE_INDICATORS: tuple[str, ...] = ("unsafe_after_dark",)


def chart_selection(codebook: Codebook, charts: str) -> bool | list[str]:
    """``all`` → every indicator, ``none`` → no charts, ``headline`` → the headline indicator (the first
    indicator of the codebook when it has no ``unsafe_after_dark``)."""
    if charts == "all":
        return True
    if charts == "none":
        return False
    names = [i.name for i in codebook.indicators]
    return [n for n in HEADLINE_INDICATORS if n in names] or names[:1]


@lru_cache(maxsize=1)
def code_version() -> str:
    """Package version plus the git commit of the checkout when there is one (read once per process: a run
    records it in the run's row and in its lineage)."""
    try:
        version = metadata.version("trygghet")
    except metadata.PackageNotFoundError:  # pragma: no cover
        version = "unknown"
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            check=False,
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):  # pragma: no cover
        commit = ""
    return f"{version}+{commit}" if commit else version


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Contract CSV written by Arrow: shortest round-trip floats, quotes only where needed (about 15×
    faster than pandas' ``%.17g`` on a million rows)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    out = frame.copy(deep=False)
    for c in out.columns:
        dt = out[c].dtype
        if isinstance(dt, pd.CategoricalDtype) or pd.api.types.is_object_dtype(dt):
            out[c] = out[c].astype("string")
    table = pa.Table.from_pandas(out, preserve_index=False)
    # opened by Python first: a refusal is an OSError with errno and file name (a folder of that name, no
    # permission), which the CLI explains; Arrow's own ("Expected file path") carried neither
    open(path, "wb").close()
    pacsv.write_csv(table, path, write_options=pacsv.WriteOptions(quoting_style="needed"))
    return path


def contract_columns(estimates: pd.DataFrame) -> list[str]:
    """The contract's columns of ``estimates.csv``, with ``years_pooled`` (the pooled years, e.g.
    ``2023–2024``) after ``year`` when the run pooled years (``--pool``)."""
    from survey.pipeline.steps import CONTRACT_ESTIMATE_COLUMNS, POOL_LABEL

    cols = list(CONTRACT_ESTIMATE_COLUMNS)
    return cols[:1] + [POOL_LABEL] + cols[1:] if POOL_LABEL in estimates.columns else cols


def write_outputs(
    out_dir: Path, w: WeightingResult, e: EstimationResult, tr: Any, *, replicate_weights: bool = False
) -> dict[str, Path]:
    """``weights.csv``, ``estimates.csv``, ``trend.csv`` and the extras (those with rows); with replicate
    variance ``replicate_weights.json`` (how R's ``svrepdesign`` reads them) and, when
    ``replicate_weights``, the replicate weights themselves (``replicate_weights.csv``: n × R numbers)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    frames: list[tuple[str, pd.DataFrame | None, str]] = [
        ("weights", w.weights, "weights.csv"),
        ("estimates", e.estimates[contract_columns(e.estimates)], "estimates.csv"),
        ("trend", tr.contract_rows(), "trend.csv"),
        ("estimates_full", e.estimates, "estimates_full.csv"),
        ("comparisons", e.comparisons, "comparisons.csv"),
        ("diagnostics", w.diagnostics, "weight_diagnostics.csv"),
        ("trend_full", tr.trend, "trend_full.csv"),
        ("trend_shares", tr.shares, "trend_shares.csv"),
        ("trend_districts", tr.districts, "trend_districts.csv"),
        ("trend_tests", tr.tests, "trend_tests.csv"),
        ("by_group", e.by_group, "estimates_by_group.csv"),
        ("index", e.index, "problem_index.csv"),
    ]
    always = {"weights", "estimates", "trend", "estimates_full", "comparisons", "diagnostics", "trend_full"}
    files = {
        key: write_csv(frame, out_dir / name)
        for key, frame, name in frames
        if frame is not None and (key in always or len(frame))
    }
    if w.nonresponse is not None:  # --gross-sample: rates, adjustment diagnostics and balance
        nr = w.nonresponse
        for key, frame, name in (
            ("response_rates", nr.rates, "response_rates.csv"),
            ("nonresponse_diagnostics", nr.diagnostics, "nonresponse_diagnostics.csv"),
            ("nonresponse_balance", nr.balance, "nonresponse_balance.csv"),
        ):
            if len(frame):
                files[key] = write_csv(frame, out_dir / name)
    if e.replicates is not None:  # for analysts: R's svrepdesign reads them (the JSON says how)
        from survey.replicate_estimation import export_replicate_weights, replicate_design_meta

        meta = replicate_design_meta(e.replicates)
        if replicate_weights:
            rep, meta = export_replicate_weights(e.replicates, w.weights[["resp_id", "year"]])
            files["replicate_weights"] = write_csv(rep, out_dir / "replicate_weights.csv")
        meta["file"] = "replicate_weights.csv" if replicate_weights else None
        path = out_dir / "replicate_weights.json"
        path.write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8")
        files["replicate_weights_meta"] = path
    return files


def quarantine_notes(responses: Any) -> list[str]:
    """The run's notes on the responses' quarantine (``trygghet ingest`` reports the same rows): how many
    rows of the file are quarantined, then per column (most rows first) its number of rows and the first
    row's reason as an example; none when no row is. A row failing in two columns counts in both."""
    q = responses.quarantine
    if not len(q):
        return []
    head = (
        f"{q['source_row'].nunique()} av {responses.source.n_rows} rader i {responses.source.name} "
        "ligger i karantän; trygghet quarantine show visar dem"
    )
    first = q.sort_values("source_row", kind="stable").drop_duplicates("column")
    rows = q.groupby("column")["source_row"].nunique()
    first = first.assign(rows=first["column"].map(rows)).sort_values("rows", ascending=False, kind="stable")
    return [head] + [
        f"karantän, kolumn {c}: 1 rad: {r}" if k == 1 else f"karantän, kolumn {c}: {k} rader, t.ex. {r}"
        for c, k, r in zip(first["column"], first["rows"], first["reason"])
    ]


def run_parameters(config: RunConfig, flow_run: dict[str, Any] | None = None) -> dict[str, Any]:
    """The run's parameters as stored with it: the effective configuration (password masked)."""
    params: dict[str, Any] = {
        "config": config.public_dict(),
        "process": {"host": socket.gethostname(), "pid": os.getpid()},
    }
    if flow_run:
        params["prefect"] = flow_run
    return params


def _percent(x: float) -> str:
    return f"{100 * x:.1f}".replace(".", ",") + " %"


def nonresponse_text(nr: NonresponseResult) -> str:
    """The method line's part on the gross sample: the response rate per year and the adjustment."""
    rates = ", ".join(f"{y}: {_percent(v['rate'])}" for y, v in nr.year_rates().items())
    how = {
        "cell": "bortfallsjusterade designvikter (viktningsklasser område × kön × ålder) före kalibreringen",
        "propensity": "bortfallsjusterade designvikter (1 / skattad svarsbenägenhet, logistisk regression på "
        "område, kön och ålder) före kalibreringen",
        "none": "ingen bortfallsjustering före kalibreringen",
    }[nr.method]
    return f"svarsandel i bruttourvalet {rates} (per område, kön och ålder i response_rates.csv); {how}"


def variance_text(config: RunConfig) -> str:
    """The method line's standard errors: Taylor, or the replicates of ``--variance`` for the district and
    Totalt tables (the groups, answer distributions and trend models stay linearised)."""
    kind, replicates = config.variance_method
    if kind == "linearisation":
        return "Taylorlinjäriserade standardfel"
    how = "jackknife (JKn" if kind == "jackknife" else f"bootstrap (Rao–Wu, {replicates} replikat"
    return (
        f"standardfel med {how}, varje replikat kalibrerat för sig) för områden och Totalt, "
        "Taylorlinjäriserade för kön, ålder, svarsfördelningar och trender"
    )


def method_text(config: RunConfig, estimates: pd.DataFrame | None = None, nr: NonresponseResult | None = None) -> str:
    """The report's method line: calibration, variance, interval, with ``--pool`` the pooled years (the
    periods of ``estimates``' ``years_pooled``) and with ``--gross-sample`` the response rates."""
    method = {"raking": "raking", "linear": "linjär kalibrering (GREG)", "logit": "logit-kalibrering"}
    aux = f" och totalen av {', '.join(config.aux)} per område och år" if config.aux else ""
    text = (
        f"Kalibrerade vikter ({method[config.method]} mot kön och ålder per område och år{aux}); "
        f"{variance_text(config)}; {round(config.level * 100)} % konfidensintervall på logitskalan"
    )
    if config.pool > 1:
        from survey.pipeline.steps import POOL_LABEL

        periods = ""
        if estimates is not None and POOL_LABEL in estimates.columns:
            pairs = estimates[["year", POOL_LABEL]].drop_duplicates().sort_values("year")
            periods = " (" + ", ".join(f"{lab} under {y}" for y, lab in pairs.itertuples(index=False)) + ")"
        text += (
            f"; sammanslagna år: varje område skattas över {config.pool} på varandra följande "
            f"undersökningsår och redovisas under periodens sista år{periods}; jämförelsen med föregående "
            f"period gäller perioden som slutar {config.pool} undersökningsår tidigare"
        )
    if nr is not None:
        text += "; " + nonresponse_text(nr)
    return text


def report_meta(
    config: RunConfig,
    run_id: str,
    wave: Any,
    codebook: Codebook,
    started: datetime,
    estimates: pd.DataFrame | None = None,
    nr: NonresponseResult | None = None,
) -> dict[str, Any]:
    """What the report says about the run (title, municipality and source from the configuration)."""
    meta: dict[str, Any] = {
        "run_id": run_id,
        "date": started.date().isoformat(),
        "data_source": f"{wave.responses.source.name}, {wave.population.source.name}",
        "codebook_version": f"{codebook.name} {codebook.version}",
        "method": method_text(config, estimates, nr),
        # the significance rule the report states and applies (markers ⇔ adjusted p < alpha)
        "alpha": config.alpha,
        "adjust": config.adjust,
        "level": config.level,
        "lang": config.lang,  # the tables' language (reports.translate)
    }
    if nr is not None:  # the rates per year × district × sex × age group, for the report's method section
        meta["response_rates"] = nr.rates.to_dict(orient="records")
    texts = config.report_texts
    if "source" in texts:
        meta["data_source"] = texts["source"]
    if "title" in texts:
        meta["title"] = texts["title"]
    for key in ("municipality", "contact", "fieldwork"):
        if key in texts:
            meta[key] = texts[key]
    pop = wave.population.data  # the method section's population per year and district (register totals)
    meta["population"] = pop.groupby(["year", "district"], as_index=False)["population"].sum().to_dict("records")
    return meta


def publish(
    config: RunConfig,
    run_id: str,
    wave: Any,
    codebook: Codebook,
    e: EstimationResult,
    tr: Any,
    started: datetime,
    nr: NonresponseResult | None = None,
) -> Any:
    """The report under ``OUT/report/`` (``reports.publish``); its tables reach the store as the run ends
    (``runner.finish``)."""
    from reports.publish import publish_report

    pub_est = (
        pd.concat([e.estimates.assign(domain="district", group=None), e.by_group], ignore_index=True)
        if len(e.by_group)
        else e.estimates
    )
    pub = publish_report(
        pub_est,
        e.comparisons,
        tr.trend,
        codebook,
        report_meta(config, run_id, wave, codebook, started, e.estimates, nr),
        Path(config.out) / "report",
        formats=config.formats,
        min_n=config.min_n,
        charts=chart_selection(codebook, config.charts),
        district_trends=getattr(tr, "districts", None),
    )
    write_suppression(Path(config.out), pub)
    return pub


def write_suppression(out_dir: Path, pub: Any) -> Path | None:
    """``suppression.csv`` beside the analysis files: every estimate the published tables hide, with its reason
    (``primary``: too few respondents or too uncertain, ``estimates.csv``'s ``suppressed``; ``secondary``:
    hidden so that another hidden cell cannot be derived from the published ones), so that a program reading
    ``estimates.csv`` can hide what the report hides."""
    if pub.suppression is None:
        return None
    return write_csv(pub.suppression, out_dir / "suppression.csv")


def lineage(
    run_id: str,
    started: datetime,
    wave: Any,
    codebook: Codebook,
    store: Any,
    load_status: str,
    parameters: dict[str, Any],
    w: WeightingResult,
    e: EstimationResult,
    notes: list[str],
    steps: dict[str, float],
) -> dict[str, Any]:
    """The lineage of a run (``run.json`` and the ``runs`` table)."""
    resp = wave.responses.data
    out: dict[str, Any] = {
        "run_id": run_id,
        "started_at": started.isoformat(timespec="seconds"),
        "inputs": [
            {
                "role": r.source.kind,
                "file": r.source.name,
                "sha256": r.source.sha256,
                "format": r.source.format,
                "encoding": r.source.encoding,
                "delimiter": r.source.delimiter,
                "rows": r.source.n_rows,
                "accepted": int(len(r.data)),
                "quarantined_rows": int(r.quarantine["source_row"].nunique()) if len(r.quarantine) else 0,
            }
            for r in (wave.responses, wave.population)
        ]
        + ([w.nonresponse.source] if w.nonresponse is not None and w.nonresponse.source else []),
        "codebook": {"name": codebook.name, "version": codebook.version},
        "code_version": code_version(),
        "python": platform.python_version(),
        "database": {"dialect": store.dialect, "load": load_status},
        "parameters": parameters,
        "counts": {
            "respondents": int(len(resp)),
            "strata": int(w.design.n_strata),
            "estimates": int(len(e.estimates)),
            "suppressed": int(e.estimates["suppressed"].sum()),
            **calibration_counts(w),
        },
        "notes": notes,
        "steps": steps,
    }
    if w.nonresponse is not None:
        out["nonresponse"] = w.nonresponse.summary()
    if e.replicates is not None:  # the infeasible-replicate rule: empty cells merged, counted here
        out["replicate_variance"] = {
            "kind": e.replicates.kind,
            "replicates": int(e.replicates.n_replicates),
            "collapsed_cells": int(e.replicates.collapsed),
        }
    if "prefect" in parameters:
        out["prefect"] = parameters["prefect"]
    return out


def calibration_counts(w: WeightingResult) -> dict[str, float | int]:
    """Iterations and the largest margin error of the calibration (empty when read back from the store)."""
    if w.calibration is None:
        return {}
    return {
        "calibration_iterations": int(w.calibration.iterations),
        "max_margin_error": float(w.calibration.max_margin_error),
    }


def write_lineage(out_dir: Path, lineage: dict[str, Any], steps: dict[str, float]) -> Path:
    """``run.json`` with the final step timings."""
    lineage["steps"] = {k: round(v, 4) for k, v in steps.items()}
    lineage["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    path = Path(out_dir) / "run.json"
    path.write_text(json.dumps(lineage, indent=2, ensure_ascii=False, default=_json_default), encoding="utf-8")
    return path


def _json_default(o: Any) -> Any:
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    return str(o)


def reap_interrupted_runs(store: Any) -> list[str]:
    """Mark as failed the runs still "running" that were started by a process of this machine that no
    longer exists (killed with SIGKILL, a power cut): their outputs are incomplete and never shown as
    results. Returns their run ids. Runs of other machines are left alone."""
    runs = store.runs()
    if runs.empty:
        return []
    host = socket.gethostname()
    reaped = []
    for row in runs[runs["status"] == "running"].itertuples(index=False):
        proc = (row.parameters or {}).get("process") or {}
        if proc.get("host") == host and isinstance(proc.get("pid"), int) and not process_alive(proc["pid"]):
            store.fail_run(row.run_id, f"avbruten: processen {proc['pid']} avslutades innan körningen var klar")
            reaped.append(row.run_id)
    return reaped
