"""Prefect flow ``estimate_indicators``: weight the stored wave and estimate every indicator."""
from __future__ import annotations

from typing import Annotated, Literal

from prefect import flow
from prefect.artifacts import create_table_artifact
from pydantic import Field

from flows.common import codebook_of, estimate_task, load_from_store, weight_task, write_frame
from survey.pipeline.steps import EstimationOptions, WeightingOptions


@flow(name="estimate_indicators", log_prints=True)
def estimate_indicators(out: str = "out", db: str | None = None, years: list[int] | None = None,
                        codebook: str | None = None, min_n: Annotated[int, Field(ge=1)] = 30,
                        max_rse: Annotated[float, Field(gt=0)] | None = None,
                        adjust: Literal["holm", "fdr_bh", "none"] = "fdr_bh") -> dict:
    """Shares per year × district and Totalt with calibration-aware SEs, comparisons and group tables."""
    cb = codebook_of(codebook)
    responses, population = load_from_store(db, years)
    w = weight_task(responses, population, WeightingOptions())
    e = estimate_task(responses, w, cb, EstimationOptions(min_n=min_n, max_rse=max_rse, adjust=adjust))
    from survey.pipeline.steps import CONTRACT_ESTIMATE_COLUMNS
    write_frame(e.estimates[list(CONTRACT_ESTIMATE_COLUMNS)], out, "estimates.csv")
    write_frame(e.comparisons, out, "comparisons.csv")
    head = e.estimates[e.estimates["indicator"] == cb.indicators[0].name]
    create_table_artifact(key="headline-estimates", description=f"{cb.indicators[0].label_sv} per år och område",
                          table=head[["year", "district", "estimate", "ci_low", "ci_high", "n", "suppressed"]]
                          .round(4).astype(str).to_dict(orient="records"))
    return {"estimates": len(e.estimates), "suppressed": int(e.estimates["suppressed"].sum())}
