"""Models on the calibrated design: survey-weighted GLMs (:mod:`.glm`), trends (:mod:`.trends`) and
Fay–Herriot small-area estimates (:mod:`.small_area`)."""

from __future__ import annotations

from survey.models.glm import FAMILIES, SurveyGLMResult, svyglm
from survey.models.small_area import FayHerriotResult, fay_herriot, small_area_shares
from survey.models.trends import (
    TREND_COLUMNS,
    TrendFit,
    TrendOutputs,
    district_trends,
    district_trends_differ,
    fit_trend_model,
    fit_trend_models,
    fit_trends,
    predicted_shares,
    trend_outputs,
    trend_rows,
)
from survey.models.wald import WaldTestResult, wald_test

__all__ = [
    "FAMILIES",
    "TREND_COLUMNS",
    "FayHerriotResult",
    "SurveyGLMResult",
    "TrendFit",
    "TrendOutputs",
    "WaldTestResult",
    "district_trends",
    "district_trends_differ",
    "fay_herriot",
    "fit_trend_model",
    "fit_trend_models",
    "fit_trends",
    "predicted_shares",
    "small_area_shares",
    "svyglm",
    "trend_outputs",
    "trend_rows",
    "wald_test",
]
