"""Tasks shared by the flows: one task per pipeline step, each a thin wrapper over ``survey``.

Frames travel between tasks in memory; ``cache_policy=NO_CACHE`` because hashing a million-row frame
costs more than the step (shared/notes/stack.md).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from prefect import task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from survey.pipeline import runner
from survey.data.codebook import Codebook, load_codebook
from survey.pipeline.steps import EstimationOptions, EstimationResult, WeightingOptions, WeightingResult, estimate, weight


@task(name="read-validate", cache_policy=NO_CACHE)
def read_validate(responses: str, population: str, codebook: Codebook, mapping: str | None,
                  max_bad_share: float):
    return runner.read_step(responses, population, codebook, mapping, max_bad_share=max_bad_share)


@task(name="store", cache_policy=NO_CACHE)
def store_wave(wave, db: str | None, replace: bool):
    return runner.store_step(wave, db, replace)


@task(name="weight", cache_policy=NO_CACHE)
def weight_task(responses: pd.DataFrame, population: pd.DataFrame, options: WeightingOptions) -> WeightingResult:
    return weight(responses, population, options)


@task(name="estimate", cache_policy=NO_CACHE)
def estimate_task(responses: pd.DataFrame, weighting: WeightingResult, codebook: Codebook,
                  options: EstimationOptions) -> EstimationResult:
    return estimate(responses, weighting, codebook, options)


@task(name="trend", cache_policy=NO_CACHE)
def trend_task(responses: pd.DataFrame, weighting: WeightingResult, codebook: Codebook,
               district_trends: bool = False):
    return runner.trend_step(responses, weighting, codebook, district_trends=district_trends)


@task(name="load-from-database", cache_policy=NO_CACHE)
def load_from_store(db: str | None, years: list[int] | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    from survey.data.store import Store
    store = Store(db)
    return store.responses(years), store.population(years)


def codebook_of(name: str | None) -> Codebook:
    return load_codebook(name)


def ingest_artifact(wave, report: Any) -> None:
    """Table artifact: rows read, accepted and quarantined by reason, per file."""
    rows: list[dict[str, Any]] = []
    for r in (wave.responses, wave.population):
        q = r.quarantine
        rows.append({"fil": r.source.name, "rader": r.source.n_rows, "godkända": len(r.data),
                     "karantän": int(q["source_row"].nunique()) if len(q) else 0, "skäl": "",
                     "databas": getattr(report, "status", "")})
        if len(q):
            for reason, k in q.groupby("reason")["source_row"].nunique().items():
                rows.append({"fil": r.source.name, "rader": "", "godkända": "", "karantän": int(k),
                             "skäl": str(reason), "databas": ""})
    create_table_artifact(key="ingest-summary", table=rows, description="Inläsning: rader per fil och karantän per skäl")


def write_frame(frame: pd.DataFrame, out: str | Path, name: str) -> Path:
    Path(out).mkdir(parents=True, exist_ok=True)
    return runner.write_csv(frame, Path(out) / name)
