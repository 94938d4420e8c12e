"""Tests of survey.data.store against SQLite (a temp file) and the real PostgreSQL server (own schema per test)."""

# ruff: noqa: F811  (the pytest fixtures db_url and store come from tests.store_support)
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from survey.data.store import STR, Store, copy_out, head_revision, loading, metadata
from survey.data.store import runs as store_runs
from survey.errors import StoreError
from tests.store_support import TABLES, counts, db_url, make_wave, run_frames, store  # noqa: F401

_run_frames = run_frames


# --- migrations ----------------------------------------------------------------------------------------


def test_the_written_head_is_alembics_and_the_revision_is_read_as_alembic_reads_it(db_url: str) -> None:
    from alembic.runtime.migration import MigrationContext

    from survey.data.store.engine import scripts_head

    assert head_revision() == scripts_head()  # a new migration script updates HEAD_REVISION
    s = Store(db_url, migrate=False)
    assert s.schema_revision() is None  # no alembic_version table yet
    s.upgrade("0003")
    with s.engine.connect() as conn:
        assert s.schema_revision() == MigrationContext.configure(conn).get_current_revision() == "0003"
    s.upgrade()
    assert s.schema_revision() == head_revision()
    s.close()


def test_opening_a_database_at_head_imports_no_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 't.sqlite'}"
    Store(url).close()
    code = f"import sys; from survey.data.store import Store; Store({url!r}).close(); print('alembic' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, check=False)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "False"


def test_migrations_create_schema_and_are_a_noop_the_second_time(db_url: str) -> None:
    engine = sa.create_engine(db_url)
    assert not set(TABLES) & set(sa.inspect(engine).get_table_names())
    s = Store(db_url)
    assert s.schema_revision() == head_revision() == "0007"
    names = set(sa.inspect(engine).get_table_names())
    assert set(TABLES) <= names and "alembic_version" in names
    s.load_wave(make_wave([2022]))
    before = counts(s)
    s.close()
    s2 = Store(db_url)  # second open: nothing to do, data intact
    assert s2.schema_revision() == head_revision()
    assert counts(s2) == before
    # the migration scripts and the SQLAlchemy tables describe the same schema
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
    s2.close()
    engine.dispose()


# --- loading -----------------------------------------------------------------------------------------


def test_round_trip_of_canonical_data(store: Store) -> None:
    wave = make_wave([2022, 2023], n=300)
    report = store.load_wave(wave)
    assert report.status == "loaded" and report.statuses == {"responses": "loaded", "population": "loaded"}
    assert (report.rows_accepted, report.rows_quarantined, report.population_rows, report.free_text_rows) == (
        300,
        2,
        len(wave.population.data),
        3,
    )

    got = store.responses()
    pd.testing.assert_frame_equal(got, wave.responses.data, check_exact=True)
    assert list(got.dtypes.astype(str)) == list(wave.responses.data.dtypes.astype(str))
    pd.testing.assert_frame_equal(store.population(), wave.population.data, check_exact=True)

    only_2023 = wave.responses.data[wave.responses.data["year"] == 2023].reset_index(drop=True)
    pd.testing.assert_frame_equal(store.responses(years=[2023]), only_2023, check_exact=True)
    assert len(store.responses(years=[1999])) == 0
    assert list(store.population(years=[2022])["year"].unique()) == [2022]

    ft = store.free_text()
    pd.testing.assert_frame_equal(ft.drop(columns="source_file_id"), wave.responses.free_text)

    q = store.quarantine()
    assert list(q.columns) == [
        "source_file_id",
        "file",
        "source_row",
        "resp_id",
        "year",
        "column",
        "value",
        "check",
        "reason",
        "record",
    ]
    assert q["reason"].tolist() == ["kod 7 finns inte", "år är inte ett tal"]
    assert q["resp_id"].isna().tolist() == [False, True]
    assert q["source_row"].tolist() == [302, 303]
    assert (store.quarantine(report.responses_source_id)["source_file_id"] == report.responses_source_id).all()

    src = store.sources()
    assert src["kind"].tolist() == ["responses", "population"]
    assert src["years"].tolist() == ["2022,2023", "2022,2023"]
    assert src["active"].all()


def test_items_outside_the_contract_round_trip(store: Store) -> None:
    wave = make_wave([2022], n=50)
    data = wave.responses.data
    extra = pd.array([1, None, 3, 4, 5] * 10, dtype="Int64")
    data.insert(data.columns.get_loc("source_row"), "q_extra_lighting", extra)
    store.load_wave(wave)
    pd.testing.assert_frame_equal(store.responses(), data, check_exact=True)


def test_empty_store_reads(store: Store) -> None:
    assert len(store.responses()) == 0 and list(store.responses().columns)[-1] == "source_row"
    assert len(store.population()) == 0 and len(store.free_text()) == 0 and len(store.quarantine()) == 0
    assert len(store.sources()) == 0 and len(store.runs()) == 0 and len(store.published_tables()) == 0


def test_same_file_twice_is_unchanged(store: Store) -> None:
    wave = make_wave([2022])
    first = store.load_wave(wave)
    before = counts(store)
    again = store.load_wave(make_wave([2022]))
    assert again.status == "unchanged"
    assert again.source_ids == first.source_ids
    assert counts(store) == before


def test_different_file_for_a_loaded_wave_needs_replace(store: Store) -> None:
    old = make_wave([2022], n=100, seed=1, tag="v1")
    first = store.load_wave(old)
    new = make_wave([2022], n=80, seed=2, tag="v2")
    with pytest.raises(StoreError, match="--replace"):
        store.load_wave(new)
    assert len(store.responses()) == 100

    report = store.load_wave(new, replace=True)
    assert report.status == "replaced"
    assert sorted(report.superseded) == sorted(first.source_ids)
    pd.testing.assert_frame_equal(store.responses(), new.responses.data)
    pd.testing.assert_frame_equal(store.population(), new.population.data)
    src = store.sources().set_index("id")
    assert not src.loc[first.responses_source_id, "active"]
    assert src.loc[first.responses_source_id, "superseded_by"] == report.responses_source_id
    assert src.loc[report.responses_source_id, "active"]
    assert counts(store)["responses"] == 180  # the old version is kept
    assert len(store.quarantine(first.responses_source_id)) == 2

    # another wave (other years) loads beside it; reloading the old version needs replace again
    store.load_wave(make_wave([2023], n=40, seed=3))
    assert sorted(store.responses()["year"].unique()) == [2022, 2023]
    with pytest.raises(StoreError, match="ersatts"):
        store.load_wave(old)
    back = store.load_wave(old, replace=True)
    assert back.responses_source_id == first.responses_source_id
    pd.testing.assert_frame_equal(store.responses(years=[2022]), old.responses.data)


def test_partly_overlapping_years_are_refused(store: Store) -> None:
    store.load_wave(make_wave([2022, 2023]))
    with pytest.raises(StoreError, match="--replace"):
        store.load_wave(make_wave([2023, 2024], tag="x"))
    with pytest.raises(StoreError, match="saknar år 2022"):  # replacing would lose 2022
        store.load_wave(make_wave([2023, 2024], tag="x"), replace=True)
    assert len(store.sources()) == 2


def test_failure_mid_load_leaves_nothing_written(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    store.load_wave(make_wave([2021], n=30))
    before = counts(store)

    def boom(*args: Any, **kwargs: Any) -> int:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(loading, "insert_free_text", boom)
    with pytest.raises(RuntimeError, match="disk on fire"):
        store.load_wave(make_wave([2022], n=500))
    assert counts(store) == before

    # a failing replacement leaves the old version active
    with pytest.raises(RuntimeError):
        store.load_wave(make_wave([2021], n=20, tag="v2"), replace=True)
    assert counts(store) == before
    assert store.sources()["active"].all() and len(store.responses()) == 30

    monkeypatch.undo()
    assert store.load_wave(make_wave([2022], n=500)).status == "loaded"


def test_integrity_problems_become_store_errors(store: Store) -> None:
    wave = make_wave([2022], n=20)
    wave.responses.data.loc[3, "source_row"] = wave.responses.data.loc[4, "source_row"]
    with pytest.raises(StoreError, match="inget skrevs"):
        store.load_wave(wave)
    assert counts(store)["source_files"] == 0


# --- runs ----------------------------------------------------------------------------------------------


def test_run_outputs_round_trip(store: Store) -> None:
    report = store.load_wave(make_wave([2022], n=40))
    params = {
        "method": "raking",
        "trim": None,
        "alpha": np.float64(0.05),
        "cap": np.nan,
        "years": np.array([2022]),
        "note": "NaN stays text",
    }
    run_id = store.begin_run(params, "abc123", "1.0", report.source_ids)
    assert store.runs().set_index("run_id").loc[run_id, "status"] == "running"
    frames = _run_frames(store.responses())
    lineage = {"inputs": [{"name": "resp.csv", "sha256": "00"}], "steps": {"store": 0.5}}
    store.save_run_outputs(run_id, **frames, lineage=lineage)

    out = store.run_outputs(run_id)
    assert out.run["status"] == "succeeded" and out.run["lineage"] == lineage
    assert out.run["parameters"] == {
        "method": "raking",
        "trim": None,
        "alpha": 0.05,
        "cap": None,
        "years": [2022],
        "note": "NaN stays text",
    }
    assert out.input_source_ids == sorted(report.source_ids)
    w = frames["weights"].sort_values(["year", "resp_id"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(out.weights, w, check_exact=True)
    for name in ("diagnostics", "estimates", "comparisons", "trend"):
        pd.testing.assert_frame_equal(getattr(out, name), frames[name], check_exact=True)

    with pytest.raises(StoreError, match="redan succeeded"):
        store.save_run_outputs(run_id, **frames, lineage=lineage)
    with pytest.raises(StoreError, match="finns inte i databasen"):
        store.begin_run({}, "x", "1.0", [99999])


def test_run_without_optional_outputs_and_failure_rolls_back(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    report = store.load_wave(make_wave([2022], n=40))
    frames = _run_frames(store.responses())
    run_id = store.begin_run({}, "abc", "1.0", report.source_ids)
    before = counts(store)

    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("estimates table exploded")

    monkeypatch.setattr(store_runs, "insert_run_frame", boom)
    with pytest.raises(RuntimeError):
        store.save_run_outputs(
            run_id,
            weights=frames["weights"],
            diagnostics=frames["diagnostics"],
            estimates=frames["estimates"],
            lineage={},
        )
    assert counts(store) == before
    monkeypatch.undo()
    store.save_run_outputs(
        run_id,
        weights=frames["weights"],
        diagnostics=frames["diagnostics"],
        estimates=frames["estimates"],
        lineage={"steps": {}},
    )
    out = store.run_outputs(run_id)
    assert out.comparisons is None and out.trend is None
    pd.testing.assert_frame_equal(out.estimates, frames["estimates"])

    failed = store.begin_run({}, "abc", "1.0", [])
    store.fail_run(failed, "calibration did not converge")
    assert store.runs().set_index("run_id").loc[failed, "status"] == "failed"


# --- published tables ----------------------------------------------------------------------------------


def _cells(scale: float = 1.0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "row_key": ["Rissne", "Rissne", "Duvbo"],
            "column_key": ["andel", "n", "andel"],
            "value": [0.25 * scale, 20.0, None],
            "text": ["25 %", "20", ".."],
            "suppressed": [False, False, True],
        }
    )


def test_a_failed_run_publishes_nothing_and_a_run_ends_with_its_tables(store: Store) -> None:
    """``publish_tables(finish=run)`` publishes and marks the run succeeded in one transaction (both or
    neither); a failed run's tables are refused."""
    from survey.data.store import TableVersion

    failed = store.begin_run({}, "abc", "1.0", [])
    store.fail_run(failed, "avbruten")
    with pytest.raises(StoreError, match=f"körning {failed} misslyckades"):
        store.publish_table("T1", 2022, failed, _cells(), "Otrygghet", {})
    assert store.published_tables().empty

    run_id = store.begin_run({}, "abc", "1.0", [])
    tables = [
        TableVersion("T1", 2022, run_id, _cells(), "Otrygghet", {}),
        TableVersion("T2", 2022, run_id, _cells(), "B", {}),
    ]
    assert store.publish_tables(tables, finish=run_id, lineage={"rows": 3}) == [1, 1]
    row = store.runs().set_index("run_id").loc[run_id]
    assert row["status"] == "succeeded" and row["lineage"] == {"rows": 3}
    # ending a run that has ended already is refused, and its tables with it: nothing of them is stored
    with pytest.raises(StoreError, match="redan succeeded"):
        store.publish_tables(tables, finish=run_id)
    assert store.published_tables()["version"].tolist() == [1, 1]


def test_published_versions_are_never_overwritten(store: Store) -> None:
    run_id = store.begin_run({}, "abc", "1.0", [])
    v1 = store.publish_table("T1", 2022, run_id, _cells(1.0), "Otrygghet efter mörkrets inbrott", {"note": "första"})
    v2 = store.publish_table("T1", 2022, run_id, _cells(2.0), "Otrygghet (rättad)", {"note": "andra"})
    assert (v1, v2) == (1, 2)
    assert store.publish_table("T1", 2023, None, _cells(), "Annat år", {}) == 1

    meta, cells = store.published_table("T1", 2022)
    assert meta["version"] == 2 and meta["title"] == "Otrygghet (rättad)" and meta["meta"] == {"note": "andra"}
    assert cells["value"].tolist()[0] == 0.5
    meta1, cells1 = store.published_table("T1", 2022, version=1)
    assert meta1["meta"] == {"note": "första"}
    pd.testing.assert_frame_equal(
        cells1, _cells(1.0).astype({"row_key": STR, "column_key": STR, "text": STR, "value": "float64"})
    )
    listing = store.published_tables()
    assert listing[["table_id", "year", "version"]].values.tolist() == [
        ["T1", 2022, 1],
        ["T1", 2022, 2],
        ["T1", 2023, 1],
    ]
    with pytest.raises(StoreError, match="ingen version 9"):
        store.published_table("T1", 2022, version=9)

    # the database itself refuses to change a published version
    for stmt in ("UPDATE published_cells SET value = 0.99", "DELETE FROM published_tables"):
        with pytest.raises(sa.exc.DBAPIError, match="immutable"), store.engine.begin() as conn:
            conn.execute(sa.text(stmt))
    assert store.published_table("T1", 2022, version=1)[1]["value"].tolist()[0] == 0.25


def test_a_runs_tables_are_published_all_together_or_not_at_all(store: Store) -> None:
    from survey.data.store import TableVersion

    run_id = store.begin_run({}, "abc", "1.0", [])
    assert store.publish_table("T1", 2022, run_id, _cells(1.0), "Första", {}) == 1
    batch = [
        TableVersion("T1", 2022, run_id, _cells(2.0), "Rättad", {}),
        TableVersion("T1", 2022, run_id, _cells(3.0), "Rättad igen", {}),  # the same table twice: 2, then 3
        TableVersion("T4", 2022, run_id, _cells(), "Ny", {"kind": "district"}),
    ]
    assert store.publish_tables(batch) == [2, 3, 1]
    assert store.published_table("T1", 2022)[1]["value"].tolist()[0] == 0.75
    assert store.published_table("T1", 2022, version=2)[1]["value"].tolist()[0] == 0.5  # each version its cells
    t4 = store.published_table("T4", 2022)[1]
    assert t4["row_key"].tolist() == _cells()["row_key"].tolist() and t4["text"].tolist() == _cells()["text"].tolist()
    assert store.publish_tables([]) == []
    before = store.published_tables()
    gone = TableVersion("T5", 2022, "no-such-run", _cells(), "Fel", {})  # refused inside the transaction
    with pytest.raises(StoreError, match="ingen körning"):
        store.publish_tables([TableVersion("T6", 2022, run_id, _cells(), "Hade gått", {}), gone])
    pd.testing.assert_frame_equal(store.published_tables(), before)  # T6 was not published either
    bad = _cells()
    bad.loc[2, "value"] = 0.4  # a suppressed cell with a value: refused before anything is written
    with pytest.raises(StoreError, match="undertryckt"):
        store.publish_tables(
            [
                TableVersion("T7", 2022, run_id, _cells(), "Hade gått", {}),
                TableVersion("T8", 2022, run_id, bad, "Fel", {}),
            ]
        )
    assert len(store.published_tables()) == len(before)


def test_suppressed_cells_with_a_value_are_refused(store: Store) -> None:
    bad = _cells()
    bad.loc[2, "value"] = 0.4
    with pytest.raises(StoreError, match="undertryckt"):
        store.publish_table("T2", 2022, None, bad, "Titel", {})
    assert len(store.published_tables()) == 0
    # and the database refuses it too, if anybody goes around the Store
    with pytest.raises(sa.exc.IntegrityError), store.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO published_tables (table_id, year, version, created_at) "
                "VALUES ('T3', 2022, 1, CURRENT_TIMESTAMP)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO published_cells (table_id, year, version, position, row_key, "
                "column_key, value, suppressed) VALUES ('T3', 2022, 1, 0, 'a', 'b', 0.5, "
                "TRUE)"
            )
        )


# --- integration with survey.data.ingest and survey.data.synth ------------------------------------------------------


def test_ingested_wave_round_trips(store: Store, tmp_path) -> None:
    """A wave read by survey.data.ingest from synth CSV files comes back from the store identical."""
    ingest = pytest.importorskip("survey.data.ingest")
    synth = pytest.importorskip("survey.data.synth")
    r, p = synth.generate_wave(600, 3, 2, 11)
    rpath, ppath = synth.write_wave(r, p, tmp_path)
    wave = ingest.load_wave(rpath, ppath)
    report = store.load_wave(wave)
    assert report.status == "loaded" and report.rows_accepted == len(wave.responses.data)
    pd.testing.assert_frame_equal(store.responses(), wave.responses.data.reset_index(drop=True), check_exact=True)
    pd.testing.assert_frame_equal(store.population(), wave.population.data.reset_index(drop=True), check_exact=True)
    ft = store.free_text().drop(columns="source_file_id")
    assert ft["comment"].tolist() == wave.responses.free_text["comment"].tolist()
    assert store.load_wave(ingest.load_wave(rpath, ppath)).status == "unchanged"


def test_bench_smoke() -> None:
    """bench.bench_ingest runs end to end on a small wave (SQLite only)."""
    pytest.importorskip("survey.data.synth")
    from bench.bench_ingest import run

    results = run(2000, ["sqlite"], full=False)
    assert [r["step"] for r in results] == ["store load_wave", "read responses()", "save_run_outputs weights"]
    assert all(r["rows_per_s"] > 0 for r in results)


# --- opening --------------------------------------------------------------------------------------------


def test_default_url_comes_from_the_environment(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'env.db'}"
    monkeypatch.setenv("TRYGGHET_DATABASE_URL", url)
    with Store() as s:
        assert s.url == url and s.schema_revision() == head_revision()
    assert (tmp_path / "env.db").exists()


def test_unreachable_database_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="Kan inte öppna databasen: anslutningen .* misslyckades"):
        Store("postgresql+psycopg://postgres@127.0.0.1:1/nowhere?connect_timeout=2")


def test_a_file_in_the_wrong_slot_is_refused(store: Store) -> None:
    wave = make_wave([2022])
    wave.responses.source.kind = "population"
    with pytest.raises(StoreError, match="vågens responses-fil"):
        store.load_wave(wave)
    assert counts(store)["source_files"] == 0


def test_copy_out_errors_leave_the_connection_usable(store: Store) -> None:
    if store.dialect != "postgresql":
        pytest.skip("COPY TO STDOUT is the PostgreSQL read path")
    with store.engine.connect() as conn:
        dbapi = conn.connection.driver_connection
        assert copy_out(dbapi, "COPY (SELECT x FROM generate_series(1, 3) x) TO STDOUT").read() == b"1\n2\n3\n"
        for bad in (
            "COPY (SELECT 1/0) TO STDOUT",  # fails at once
            "COPY (SELECT 1/(x - 5000) FROM generate_series(1, 9999) x) TO STDOUT",
        ):  # mid-stream
            with pytest.raises(StoreError, match="division by zero"):
                copy_out(dbapi, bad)
            conn.rollback()
            assert conn.execute(sa.text("SELECT 42")).scalar() == 42
    store.load_wave(make_wave([2022], n=20))
    assert len(store.responses()) == 20


def test_upgrade_from_0001_keeps_data_and_derives_status_and_versions(db_url: str) -> None:
    """A database written by the first schema: sources get status and versions, runs their steps."""
    old = Store(db_url, migrate=False)
    old.upgrade("0001")
    now = "2025-01-01 00:00:00+00:00"
    with old.engine.begin() as conn:
        for i, (years, active) in enumerate([("2022", False), ("2022", True), ("2023", False)]):
            conn.execute(
                sa.text(
                    "INSERT INTO source_files (id, sha256, name, kind, years, loaded_at, active, superseded_by) "
                    "VALUES (:id, :sha, :name, 'responses', :years, :ts, :active, NULL)"
                ),
                {"id": i + 1, "sha": f"{i}" * 64, "name": f"f{i}.csv", "years": years, "ts": now, "active": active},
            )
        conn.execute(sa.text("UPDATE source_files SET superseded_by = 2 WHERE id = 1"))
        conn.execute(
            sa.text("INSERT INTO runs (run_id, started_at, status) VALUES ('r1', :ts, 'succeeded')"), {"ts": now}
        )
        conn.execute(sa.text("INSERT INTO estimates (run_id, indicator, estimate) VALUES ('r1', 'x', 0.5)"))
    old.close()
    s = Store(db_url)
    assert s.schema_revision() == head_revision()
    src = s.sources().set_index("id")
    assert src["status"].tolist() == ["replaced", "active", "withdrawn"]
    assert src["version"].tolist() == [1, 2, 1]
    assert src.loc[2, "replaces"] == "1"
    assert s.run_steps("r1")["step"].tolist() == ["estimate"]
    assert s.run_outputs("r1").estimates["estimate"].tolist() == [0.5]
    s.close()


def test_threads_migrating_different_databases_do_not_mix(tmp_path) -> None:
    """Alembic's proxies are process-wide: eight threads creating four databases at once all end at head."""
    import threading

    errors: list[str] = []

    def open_store(i: int) -> None:
        try:
            with Store(f"sqlite:///{tmp_path / f'db{i % 4}.sqlite'}") as s:
                assert s.schema_revision() == head_revision()
        except Exception as exc:  # collected and shown by the assertion below
            errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=open_store, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_sqlite_file_in_a_missing_folder_is_created(tmp_path: Path) -> None:
    """``--db sqlite:///new/folder/t.db`` works like ``--out``: the folder is made (a run once read and
    validated 1M rows and then failed with "unable to open database file")."""
    from survey.data.store import Store

    path = tmp_path / "not" / "yet" / "t.db"
    store = Store(f"sqlite:///{path}")
    try:
        assert path.is_file() and store.sources().empty
    finally:
        store.close()
    blocked = tmp_path / "a-file"
    blocked.write_text("x")
    with pytest.raises(StoreError, match="Kan inte skapa mappen för databasen"):
        Store(f"sqlite:///{blocked}/t.db")


def test_run_ids_are_uuid7_and_grow_with_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """RFC 9562 version 7: the milliseconds since 1970 in the first 48 bits, version 7, the RFC's variant, the
    rest random; ids of later runs sort after earlier ones as text (the weights' key grows at its end)."""
    import uuid

    from survey.data.store import runs as store_runs

    times = [1_764_000_000_000, 1_764_000_000_001, 1_764_000_000_001, 1_800_000_000_123]
    ids = []
    for ms in times:
        monkeypatch.setattr(store_runs.time, "time_ns", lambda ms=ms: ms * 1_000_000 + 999_999)
        ids.append(store_runs.new_run_id())
    parsed = [uuid.UUID(i) for i in ids]
    assert [u.int >> 80 for u in parsed] == times
    assert {u.version for u in parsed} == {7} and {u.variant for u in parsed} == {uuid.RFC_4122}
    assert len(set(ids)) == 4 and all(len(i) == 36 and i == str(u) for i, u in zip(ids, parsed))
    assert ids[0] < ids[1] and ids[0] < ids[2] < ids[3] and ids[1] < ids[3]
