"""Prefect flow ``model_trends``: trend models of the stored wave, their margins and tests, and optionally
Fay–Herriot small-area estimates. One task per step (never per indicator or row); the statistics are the
pure functions of ``survey.models``, tested directly in tests/test_models.py.

Outputs in ``out``: ``trend.csv`` (contract columns + df, t, p_value, note), ``trend_shares.csv`` (model-based
share per district × year with CI), ``trend_districts.csv`` (odds ratio and percentage points per year per
district), ``trend_tests.csv`` (Wald tests: do the district trends differ?), and with ``small_area``
``small_area.csv`` (direct and ``modelled`` shares side by side).
"""
from __future__ import annotations

from typing import Annotated

import pandas as pd
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from pydantic import Field

from flows.common import codebook_of, estimate_task, load_from_store, weight_task, write_frame
from survey.data.codebook import Codebook
from survey.models import small_area_shares, trend_outputs
from survey.pipeline.steps import EstimationOptions, WeightingOptions, WeightingResult


@task(name="trend-models", cache_policy=NO_CACHE)
def trend_models_task(responses: pd.DataFrame, weighting: WeightingResult, codebook: Codebook,
                      level: float) -> dict[str, pd.DataFrame]:
    out = trend_outputs(weighting.design, responses, codebook.indicators, series_breaks=codebook.series_breaks,
                        level=level, district_trends_model=True)
    return {"trend": out.trend, "shares": out.shares, "districts": out.districts, "tests": out.tests}


@task(name="small-area", cache_policy=NO_CACHE)
def small_area_task(estimates: pd.DataFrame, max_n: int) -> pd.DataFrame:
    return small_area_shares(estimates, method="REML", scale="logit", max_n=max_n)


@task(name="write-trend-outputs", cache_policy=NO_CACHE)
def write_outputs(frames: dict[str, pd.DataFrame], out: str) -> list[str]:
    names = {"trend": "trend.csv", "shares": "trend_shares.csv", "districts": "trend_districts.csv",
             "tests": "trend_tests.csv", "small_area": "small_area.csv"}
    return [str(write_frame(frame, out, names[key])) for key, frame in frames.items()]


@flow(name="model_trends", log_prints=True)
def model_trends(out: str = "out", db: str | None = None, years: list[int] | None = None,
                 codebook: str | None = None, level: Annotated[float, Field(gt=0, lt=1)] = 0.95,
                 small_area: bool = False, small_area_max_n: Annotated[int, Field(ge=1)] = 30) -> dict:
    """Trend models of the wave in the database → ``trend*.csv`` (and ``small_area.csv``)."""
    cb = codebook_of(codebook)
    responses, population = load_from_store(db, years)
    w = weight_task(responses, population, WeightingOptions())
    frames = trend_models_task(responses, w, cb, level)
    if small_area:
        e = estimate_task(responses, w, cb, EstimationOptions(level=level))
        frames["small_area"] = small_area_task(e.estimates, small_area_max_n)
    files = write_outputs(frames, out)
    return {"files": files, "indicators": len(cb.indicators), "trend_rows": len(frames["trend"])}
