"""Real Prefect flow runs (temporary local API) of the step flows, chained through one database.

The statistics inside are tested against R elsewhere; here the numbers the flows write must equal the
oracle's (the same functions, wired as tasks), and every flow must run end to end.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import SAMPLE_WAVE

EXPECTED = SAMPLE_WAVE / "expected"


@pytest.mark.slow
def test_step_flows_chain_through_the_database(tmp_path: Path) -> None:
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    from flows.estimate_indicators import estimate_indicators
    from flows.ingest_wave import ingest_wave
    from flows.model_trends import model_trends
    from flows.publish_tables import publish_tables
    from flows.weight_wave import weight_wave

    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    out = tmp_path / "out"
    with prefect_test_harness(), temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        loaded = ingest_wave(str(SAMPLE_WAVE / "responses.csv"), str(SAMPLE_WAVE / "population.csv"), db=db)
        again = ingest_wave(str(SAMPLE_WAVE / "responses.csv"), str(SAMPLE_WAVE / "population.csv"), db=db)
        weighted = weight_wave(out=str(out), db=db)
        estimated = estimate_indicators(out=str(out), db=db)
        modelled = model_trends(out=str(out / "trend"), db=db)
        est = pd.read_csv(out / "estimates.csv")
        published = publish_tables(est, pd.read_csv(out / "comparisons.csv"),
                                   pd.read_csv(out / "trend" / "trend.csv"), None,
                                   {"run_id": "flow-test", "date": "2026-11-23"}, str(out / "report"))
    assert loaded == {"status": "loaded", "accepted": 3022, "quarantined_rows": 0}
    assert again["status"] == "unchanged"
    assert weighted["respondents"] == 3022 and weighted["max_margin_error"] < 1e-6
    assert estimated == {"estimates": 315, "suppressed": 45}
    assert modelled["trend_rows"] == 105
    w = pd.read_csv(out / "weights.csv", dtype={"resp_id": str}).merge(
        pd.read_csv(EXPECTED / "weights.csv", dtype={"resp_id": str}), on=["resp_id", "year"])
    assert len(w) == 3022 and np.max(np.abs(w["weight_x"] / w["weight_y"] - 1)) < 1e-10
    m = est.merge(pd.read_csv(EXPECTED / "estimates.csv"), on=["year", "district", "indicator"])
    assert len(m) == 315 and np.nanmax(np.abs(m["se_x"] / m["se_y"] - 1)) < 1e-10
    t = pd.read_csv(out / "trend" / "trend.csv").merge(pd.read_csv(EXPECTED / "trend.csv"), on=["indicator", "term"])
    assert len(t) == 105 and np.max(np.abs(t["estimate_x"] / t["estimate_y"] - 1)) < 1e-6
    assert (out / "report" / "index.html").exists()
    assert published is not None
