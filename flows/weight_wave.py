"""Prefect flow ``weight_wave``: calibrate the stored wave and write weights and diagnostics."""
from __future__ import annotations

from typing import Annotated, Literal

from prefect import flow
from prefect.artifacts import create_table_artifact
from pydantic import Field

from flows.common import load_from_store, weight_task, write_frame
from survey.pipeline.steps import WeightingOptions


@flow(name="weight_wave", log_prints=True)
def weight_wave(out: str = "out", db: str | None = None, years: list[int] | None = None,
                method: Literal["raking", "linear", "logit"] = "raking",
                lower: Annotated[float, Field(gt=0)] | None = None, upper: Annotated[float, Field(gt=1)] | None = None,
                trim_lower: Annotated[float, Field(gt=0)] | None = None,
                trim_upper: Annotated[float, Field(gt=1)] | None = None) -> dict:
    """Weights of the wave in the database (raking by default) → ``weights.csv``, ``weight_diagnostics.csv``."""
    responses, population = load_from_store(db, years)
    bounds = (lower, upper) if lower is not None and upper is not None else None
    trim = (trim_lower, trim_upper) if trim_lower is not None and trim_upper is not None else None
    w = weight_task(responses, population, WeightingOptions(method=method, bounds=bounds, trim=trim))
    write_frame(w.weights, out, "weights.csv")
    write_frame(w.diagnostics, out, "weight_diagnostics.csv")
    diag = w.diagnostics.round(4).astype(str).to_dict(orient="records")
    create_table_artifact(key="weight-diagnostics", table=diag,
                          description="Viktdiagnostik per år och område (Kish deff, effektivt n, min/max)")
    return {"respondents": len(w.weights), "iterations": w.calibration.iterations,
            "max_margin_error": w.calibration.max_margin_error}
