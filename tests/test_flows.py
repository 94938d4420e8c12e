"""Real Prefect flow runs of the step flows, chained through one database by run id.

ingest → weight (linear calibration) → estimate → trend → publish, each flow taking only what the previous
one stored; the numbers must be those of ``trygghet run --method linear`` on the same wave (and, for the
default raking, the oracle's).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from survey.pipeline.config import build_config
from survey.pipeline.runner import run
from tests.conftest import SAMPLE_WAVE

EXPECTED = SAMPLE_WAVE / "expected"


@pytest.mark.slow
def test_step_flows_chain_through_the_database(tmp_path: Path, prefect_api) -> None:
    from flows.estimate_indicators import estimate_indicators
    from flows.ingest_wave import ingest_wave
    from flows.model_trends import model_trends
    from flows.publish_tables import publish_tables
    from flows.weight_wave import weight_wave
    from survey.data.store import Store

    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    files = {"responses": SAMPLE_WAVE / "responses.csv", "population": SAMPLE_WAVE / "population.csv"}
    config = build_config(
        None, {**files, "db": db, "method": "linear", "out": tmp_path / "steps", "district_trends": True}
    )
    loaded = ingest_wave(config)
    again = ingest_wave(config)
    run_id = weight_wave(config)
    estimated = estimate_indicators(run_id, db)
    modelled = model_trends(run_id, db)
    published = publish_tables(run_id, db, out=str(tmp_path / "steps"))
    assert loaded["status"] == "loaded" and loaded["accepted"] == 3022 and loaded["quarantined_rows"] == 0
    assert again["status"] == "unchanged"
    assert estimated == {"run_id": run_id, "estimates": 315, "suppressed": 45}
    assert modelled["trend_rows"] == 105
    assert published["run_id"] == run_id and (tmp_path / "steps" / "report" / "index.html").exists()
    # the district trends the trend step stored are published, as by trygghet run (they were left out)
    dtt = pd.read_csv(tmp_path / "steps" / "report" / "tables" / "district_trends.csv")
    assert len(dtt) > 0 and (tmp_path / "steps" / "suppression.csv").exists()

    # the same wave through `trygghet run --method linear` (its own database)
    whole = run(
        build_config(
            None,
            {
                **files,
                "db": f"sqlite:///{tmp_path / 'whole.sqlite'}",
                "method": "linear",
                "out": tmp_path / "whole",
                "publish": False,
            },
        )
    )
    store = Store(db)
    try:
        stored = store.run_outputs(run_id)
        record = store.run_record(run_id)
    finally:
        store.close()
    assert record.run["status"] == "succeeded"
    assert record.steps_done == ["weight", "estimate", "trend", "publish"]
    assert record.parameters["weighting"]["method"] == "linear"
    w = stored.weights.merge(
        pd.read_csv(tmp_path / "whole" / "weights.csv", dtype={"resp_id": str}),
        on=["resp_id", "year"],
        validate="one_to_one",
    )
    assert len(w) == 3022 and np.array_equal(w["weight_x"].to_numpy(), w["weight_y"].to_numpy())
    ours = stored.estimates.merge(
        pd.read_csv(tmp_path / "whole" / "estimates.csv"), on=["year", "district", "indicator"], validate="one_to_one"
    )
    assert len(ours) == 315
    for c in ("estimate", "se", "ci_low", "ci_high"):
        np.testing.assert_array_equal(ours[c + "_x"].to_numpy(), ours[c + "_y"].to_numpy())
    trend = stored.trend.merge(pd.read_csv(tmp_path / "whole" / "trend.csv"), on=["indicator", "term"])
    assert len(trend) == 105
    np.testing.assert_array_equal(trend["se_x"].to_numpy(), trend["se_y"].to_numpy())
    # linear calibration differs from the oracle's raking, but meets the same margins
    raking = pd.read_csv(EXPECTED / "estimates.csv").merge(stored.estimates, on=["year", "district", "indicator"])
    assert np.nanmax(np.abs(raking["estimate_x"] - raking["estimate_y"])) > 1e-6
    assert whole.run_id != run_id
    # a finished `trygghet run` is published later from its run id alone (by-group and index stored too)
    from survey.pipeline import stepwise

    pub = stepwise.publish_run(whole.run_id, f"sqlite:///{tmp_path / 'whole.sqlite'}", tmp_path / "later")
    assert (tmp_path / "later" / "report" / "index.html").exists() and len(pub.tables) > 0


def test_a_step_without_its_predecessor_is_a_clear_error(tmp_path: Path) -> None:
    """estimate on a run whose weights were never stored names the missing step (no traceback for users)."""
    from survey.data.store import Store
    from survey.errors import StoreError
    from survey.pipeline import commands, stepwise

    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    config = build_config(
        None, {"responses": SAMPLE_WAVE / "responses.csv", "population": SAMPLE_WAVE / "population.csv", "db": db}
    )
    _wave, report = commands.ingest(config)
    store = Store(db)
    try:
        run_id = store.begin_run({"config": config.public_dict()}, "test", "1", report.source_ids)
    finally:
        store.close()
    with pytest.raises(StoreError, match="viktsteget"):
        stepwise.estimate_run(run_id, db)
    with pytest.raises(StoreError, match=r"^Databasen har ingen inläst våg för år 1999: läs in den med"):
        stepwise.weight_run(config, years=[1999])  # a wave is stored, of other years
    eng = sa.create_engine(db)
    with eng.connect() as c:
        assert c.execute(sa.text("select count(*) from estimates")).scalar_one() == 0
    eng.dispose()
    # a failed run is never published, not even by the publish step on its own
    with Store(db) as store:
        store.fail_run(run_id, "avbruten")
    with pytest.raises(StoreError, match=f"Körning {run_id} misslyckades; en misslyckad körnings resultat publiceras"):
        stepwise.publish_run(run_id, db, tmp_path / "failed")
    assert not (tmp_path / "failed").exists()


def test_publishing_a_run_without_its_trend_step_is_refused(tmp_path: Path) -> None:
    """weight → estimate → publish, the trend step skipped: the report would lack its trend table, so the
    publish step names the missing step (it had published 48 tables and marked the run succeeded)."""
    from survey.data.store import Store
    from survey.errors import StoreError
    from survey.pipeline import commands, stepwise

    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    config = build_config(
        None,
        {
            "responses": SAMPLE_WAVE / "responses.csv",
            "population": SAMPLE_WAVE / "population.csv",
            "db": db,
            "out": tmp_path / "out",
        },
    )
    commands.ingest(config)
    run_id = stepwise.weight_run(config)
    stepwise.estimate_run(run_id, db)
    with pytest.raises(
        StoreError, match=r"inga trender att publicera: kör trendsteget först \(gjorda steg: weight, estimate\)"
    ):
        stepwise.publish_run(run_id, db, tmp_path / "out")
    with Store(db, migrate=False) as store:
        assert store.published_tables().empty
        assert store.run_record(run_id).run["status"] == "running"


@pytest.mark.parametrize("step", ["estimate_run", "trend_run", "publish_run"])
def test_a_step_on_a_database_that_does_not_exist_names_it_and_creates_nothing(tmp_path: Path, step: str) -> None:
    """A step by run id on a SQLite file that is not there (a misspelt path): the message names the file and
    no empty database is made (it had been created, and the message was SQLite's English "no such table")."""
    from survey.errors import StoreError
    from survey.pipeline import stepwise

    missing = tmp_path / "nodb.db"
    with pytest.raises(StoreError, match=f"^Databasen {missing} finns inte. Ange --db med en databas"):
        getattr(stepwise, step)("01a2534d-53b5-79d1-be37-c8646ca68300", f"sqlite:///{missing}")
    assert not missing.exists()


# --- a flow's relative paths: the data folder, never the checkout ---------------------------------------
def test_flow_config_takes_relative_paths_against_the_data_folder(tmp_path: Path, monkeypatch) -> None:
    from survey.pipeline.surveys import flow_config

    monkeypatch.setenv("TRYGGHET_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("TRYGGHET_DATABASE_URL", raising=False)
    data = tmp_path / "data"
    given = build_config(None, {"responses": "in/svar.csv", "population": "in/bef.csv", "codebook": "kb/egen.yaml"})
    c = flow_config(given, "run-1")
    assert (c.responses, c.population, c.codebook) == (
        data / "in/svar.csv",
        data / "in/bef.csv",
        str(data / "kb/egen.yaml"),
    )
    assert c.out == data / "runs" / "out" / "run-1" and flow_config(given, "run-2").out == data / "runs/out/run-2"
    assert c.db == f"sqlite:///{data / 'db' / 'trygghet.sqlite'}"
    assert flow_config(given.model_copy(update={"db": "sqlite:///mine.db"}), "k").db == f"sqlite:///{data / 'mine.db'}"
    monkeypatch.setenv("TRYGGHET_DATABASE_URL", "postgresql+psycopg://trygghet@db/x")
    kept = flow_config(given.model_copy(update={"out": tmp_path / "abs", "responses": tmp_path / "a.csv"}), "k")
    assert kept.db is None and kept.out == tmp_path / "abs" and kept.responses == tmp_path / "a.csv"


@pytest.mark.slow
def test_flows_with_a_relative_out_write_under_the_data_folder_one_folder_per_run(
    tmp_path: Path, prefect_api, monkeypatch
) -> None:
    """trygghet_run with the default ``out`` and relative inputs, run twice from another folder (the
    worker's checkout): each run in ``<data>/runs/out/<flow-run id>/``, the database in ``<data>/db``,
    nothing in the current folder; publish-tables with a relative ``out`` → ``<data>/runs/<out>/<run id>``."""
    import json
    import shutil

    from flows.publish_tables import publish_tables
    from flows.run_wave import trygghet_run

    data, checkout = tmp_path / "data", tmp_path / "checkout"
    (data / "in").mkdir(parents=True)
    checkout.mkdir()
    for name in ("responses.csv", "population.csv"):
        shutil.copy(SAMPLE_WAVE / name, data / "in" / name)
    monkeypatch.setenv("TRYGGHET_DATA_DIR", str(data))
    monkeypatch.delenv("TRYGGHET_DATABASE_URL", raising=False)
    monkeypatch.chdir(checkout)
    config = build_config(None, {"responses": "in/responses.csv", "population": "in/population.csv", "publish": False})
    runs = [trygghet_run(config), trygghet_run(config)]
    folders = [Path(r["files"]["run"]).parent for r in runs]
    assert folders[0] != folders[1] and list(checkout.iterdir()) == []
    for res, folder in zip(runs, folders, strict=True):
        lineage = json.loads((folder / "run.json").read_text(encoding="utf-8"))
        assert folder == data / "runs" / "out" / lineage["prefect"]["flow_run_id"]
        assert lineage["run_id"] == res["run_id"] and (folder / "estimates.csv").is_file()
    db = f"sqlite:///{data / 'db' / 'trygghet.sqlite'}"
    eng = sa.create_engine(db)
    with eng.connect() as c:
        ids = set(c.execute(sa.text("select run_id from runs where status = 'succeeded'")).scalars())
    eng.dispose()
    assert ids == {r["run_id"] for r in runs}
    pub = publish_tables(runs[0]["run_id"], out="published")
    assert Path(pub["index"]).is_relative_to(data / "runs" / "published" / runs[0]["run_id"])
    assert list(checkout.iterdir()) == []
