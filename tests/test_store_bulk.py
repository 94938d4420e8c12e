"""The store's bulk paths on larger frames than the other store tests use: multi-row SQLite INSERTs over
several blocks with a remainder, dictionary-coded text, NA in every dtype, and the run frames' JSON extras
(compared with the standard library's ``json.dumps`` of each row)."""

# ruff: noqa: F811  (the pytest fixtures db_url and store come from tests.store_support)
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from survey.data.store import STR, Store
from survey.data.store import bulk as store_bulk
from survey.data.store.values import json_default, json_records, py_value
from tests.store_support import db_url, make_wave, store  # noqa: F401


def test_large_wave_round_trips_exactly(store: Store, monkeypatch) -> None:
    # 9,011 rows: blocks of 1,000 rows (set below), 200-row statements and a remainder of 11 rows; more than
    # 4,096 rows, so districts and age groups take the dictionary-coded path
    monkeypatch.setattr(store_bulk, "SQLITE_BLOCK", 1_000)
    wave = make_wave([2022, 2023, 2024], n=9_011)
    data = wave.responses.data
    data.loc[data.index % 17 == 0, "district"] = 'O\'Brien "citat"; ;'  # quotes survive the literal path
    report = store.load_wave(wave)
    assert report.rows_accepted == 9_011
    got = store.responses()
    pd.testing.assert_frame_equal(got, data, check_exact=True)
    weights = data[["resp_id", "year"]].copy()
    weights["weight"] = data["design_weight"].fillna(1.0) * np.pi
    run_id = store.begin_run({"test": True}, "test", "1.0", report.source_ids)
    store.save_run_outputs(
        run_id,
        weights=weights,
        diagnostics=pd.DataFrame({"year": [2022]}),
        estimates=pd.DataFrame({"indicator": ["x"], "estimate": [0.5]}),
        lineage={},
    )
    back = store.run_outputs(run_id).weights
    expected = weights.sort_values(["year", "resp_id"]).reset_index(drop=True)
    np.testing.assert_array_equal(back["weight"].to_numpy(), expected["weight"].to_numpy())  # bit for bit
    assert back["resp_id"].tolist() == expected["resp_id"].tolist()


def _mixed_frame() -> pd.DataFrame:
    df = pd.DataFrame(
        {
            "a": [1.0, np.nan, 0.1, 1e-7, np.inf, -np.inf, 2.0, 1 / 3],
            "b": pd.array([1, None, 3, 4, 5, 6, 7, 8], dtype="Int64"),
            "c": pd.Series(["x", None, 'q"uo\\te', "Ä", "\n", "", "a", "b"], dtype=STR),
            "d": [True, False, True, False, True, False, True, False],
            "e": pd.array([True, None, False, True, True, True, True, True], dtype="boolean"),
            "f": [2022, "Rissne", None, np.int64(3), np.float64(np.nan), 1.5, [1, 2], {"k": 1}],
            "g": np.arange(8, dtype=np.int64),
            "h": pd.Categorical(["u", "v", None, "u", "v", "u", "v", "u"]),
            "i": np.array([1.5, 2, 3, 4, 5, 6, 7, np.nan], dtype=np.float32),
            "j": pd.to_datetime(["2024-01-01"] * 7 + [None]),
            "k": np.arange(8, dtype=np.uint64) + np.uint64(2**63),
        }
    )
    df.index = range(10, 18)
    return df


def test_json_records_are_what_json_dumps_writes_per_row() -> None:
    df = _mixed_frame()
    expected = [
        json.dumps({str(c): py_value(v) for c, v in zip(df.columns, row)}, default=json_default, ensure_ascii=False)
        for row in df.itertuples(index=False, name=None)
    ]
    assert json_records(df) == expected
    assert json_records(df.iloc[:, :0]) == ["{}"] * len(df)


def test_run_frame_with_every_dtype_round_trips(store: Store) -> None:
    report = store.load_wave(make_wave([2022], n=20))
    run_id = store.begin_run({"test": True}, "test", "1.0", report.source_ids)
    est = _mixed_frame().drop(columns=["f", "j"]).reset_index(drop=True)
    est.insert(0, "indicator", [f"ind{i}" for i in range(len(est))])
    est["estimate"] = np.linspace(0.1, 0.9, len(est)) / 3
    est["suppressed"] = [True, False] * 4
    est.index = range(100, 100 + len(est))
    store.save_run_outputs(
        run_id, weights=pd.DataFrame(columns=["resp_id", "year", "weight"]), diagnostics=None, estimates=est, lineage={}
    )
    got = store.run_outputs(run_id).estimates
    pd.testing.assert_frame_equal(got, est.reset_index(drop=True), check_exact=True)


def test_columns_null_in_the_first_rows_read_back_exactly(store: Store) -> None:
    # SQLite files are read by ADBC, which fixes a column's type from the rows it reads first: NULL for the
    # first 2,500 rows (more than its default batch of 1,024) and values after must still read back exactly
    wave = make_wave([2022, 2023], n=3_000)
    data = wave.responses.data
    head = data.index < 2_500
    data.loc[head, "design_weight"] = np.nan
    data.loc[~head, "design_weight"] = np.linspace(0.1, 7.0, int((~head).sum())) / 3
    data.loc[head, "born_abroad"] = pd.NA
    item = next(c for c in data.columns if c.startswith("q_"))
    data.loc[head, item] = pd.NA
    store.load_wave(wave)
    got = store.responses()
    pd.testing.assert_frame_equal(got, data, check_exact=True)
    assert got["design_weight"].isna().sum() == 2_500 and got[item].isna().sum() >= 2_500


def test_a_sqlite_file_is_read_by_adbc_and_memory_by_sqlite3(tmp_path, monkeypatch) -> None:
    wave = make_wave([2022], n=500)
    expected = wave.responses.data
    calls: list[str] = []
    real = store_bulk._read_sqlite_rows

    def rows(dbapi, sql, types):
        calls.append(sql)
        return real(dbapi, sql, types)

    monkeypatch.setattr(store_bulk, "_read_sqlite_rows", rows)
    with Store(f"sqlite:///{tmp_path / 'file.db'}") as s:
        s.load_wave(wave)
        pd.testing.assert_frame_equal(s.responses(), expected, check_exact=True)
    assert calls == []  # the file was read by ADBC, not by sqlite3's row tuples
    with Store("sqlite://") as s:
        s.load_wave(wave)
        pd.testing.assert_frame_equal(s.responses(), expected, check_exact=True)
    assert len(calls) == 1 and "FROM responses" in calls[0]  # in memory: only its own connection sees it


def test_in_order_sorts_like_order_by_and_keeps_sorted_tables() -> None:
    import pyarrow as pa

    rows = [(2, 5, "b"), (1, 9, "z"), (2, 1, "a"), (1, 9, "y"), (None, 0, "n"), (1, 2, "c"), (2, 1, "a")]
    table = pa.table({k: list(col) for k, col in zip("xyz", zip(*rows))})
    got = store_bulk.in_order(table, ["x", "y", "z"])
    nulls_last = sorted(rows, key=lambda r: (r[0] is None, r[0] or 0, r[1], r[2]))
    assert list(zip(*(got.column(k).to_pylist() for k in "xyz"))) == nulls_last
    ordered = pa.table({"x": [1, 1, 2, 3], "y": [4, 7, 0, 0]})
    assert store_bulk.in_order(ordered, ["x", "y"]) is ordered  # recognised as sorted, not copied
    ties = pa.table({"x": [1, 1, 2], "y": [5, 4, 0]})
    assert store_bulk.in_order(ties, ["x", "y"]).column("y").to_pylist() == [4, 5, 0]


def test_in_order_compares_text_by_its_bytes() -> None:
    """Text keys as SQLite's BINARY and PostgreSQL's C collation order them (bytes: "B" < "a" < "Å")."""
    import pyarrow as pa

    table = pa.table({"year": [2023, 2022, 2022, 2022, 2022], "id": ["a", "Å", "a", "B", "b"]})
    got = store_bulk.in_order(table, ["year", "id"])
    assert list(zip(got.column("year").to_pylist(), got.column("id").to_pylist())) == [
        (2022, "B"),
        (2022, "a"),
        (2022, "b"),
        (2022, "Å"),
        (2023, "a"),
    ]
    assert store_bulk.in_order(got, ["year", "id"]) is got  # recognised as sorted
    assert store_bulk.in_order(table.slice(0, 1), ["year", "id"]).num_rows == 1


def test_sort_indices_sort_like_a_lexicographic_sort_with_nulls_last() -> None:
    """One stable sort per key gives the order of Python's sort of the key tuples (NULLs after every value,
    key by key), on integer, text and float keys with many ties."""
    import pyarrow as pa

    rng = np.random.default_rng(7)
    n = 2_000
    a = rng.integers(0, 4, n).tolist()
    b = [None if k % 17 == 0 else f"id{k:02d}" for k in rng.integers(0, 40, n).tolist()]
    c = [None if k == 0 else float(k) / 3 for k in rng.integers(0, 6, n).tolist()]
    table = pa.table({"a": a, "b": b, "c": c, "row": list(range(n))})
    got = store_bulk.sort_indices(table, ["a", "b", "c"]).to_pylist()
    last = (1, 0)  # None after every value

    def key(i: int) -> tuple:
        return tuple((0, v) if v is not None else last for v in (a[i], b[i], c[i])) + (i,)  # stable: then the row

    assert got == sorted(range(n), key=key)
    assert store_bulk.sort_indices(table.slice(0, 0), ["a", "b"]).to_pylist() == []


def test_bulk_rows_go_in_key_order_and_keep_their_position(store: Store, monkeypatch) -> None:
    """Weights in any order are written in the order of the table's key (each row to the B-tree's last leaf:
    1M shuffled rows cost SQLite 11× the time of sorted ones) and keep the position they came in."""
    from survey.data.store import staging
    from tests.store_support import run_frames

    monkeypatch.setattr(staging, "STAGE_MIN_ROWS", 1)  # a SQLite file stages them, as at 1M
    report = store.load_wave(make_wave([2022, 2023], n=60))
    run_id = store.begin_run({}, "abc123", "1.0", report.source_ids)
    frames = run_frames(store.responses())
    shuffled = frames["weights"].sample(frac=1.0, random_state=3).reset_index(drop=True)
    assert not shuffled[["year", "resp_id"]].equals(shuffled.sort_values(["year", "resp_id"])[["year", "resp_id"]])
    store.save_run_outputs(run_id, **{**frames, "weights": shuffled}, lineage={})
    physical = "ctid" if store.dialect == "postgresql" else "rowid"
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql(f"SELECT year, resp_id, position, weight FROM weights ORDER BY {physical}").all()
    assert [r[:2] for r in rows] == sorted(r[:2] for r in rows)
    stored = pd.DataFrame(rows, columns=["year", "resp_id", "position", "weight"]).sort_values("position")
    assert stored["position"].tolist() == list(range(len(shuffled)))
    assert stored["resp_id"].tolist() == shuffled["resp_id"].tolist()
    assert stored["weight"].tolist() == shuffled["weight"].tolist()  # bit for bit, in the order they came


def test_missing_values_are_stored_as_null_and_not_null_columns_refuse_them(store: Store) -> None:
    import pytest
    import sqlalchemy as sa

    from survey.errors import StoreError

    wave = make_wave([2022], n=300)
    data = wave.responses.data
    item = next(c for c in data.columns if c.startswith("q_"))
    data.loc[data.index % 3 == 0, item] = pd.NA
    data.loc[data.index % 5 == 0, "design_weight"] = np.nan
    store.load_wave(wave)
    with store.engine.connect() as conn:
        nulls = conn.execute(
            sa.text(f"SELECT count(*) - count({item}), count(*) - count(design_weight) FROM responses")
        ).one()
        texts = conn.execute(sa.text(f"SELECT count(*) FROM responses WHERE CAST({item} AS TEXT) = 'nan'")).scalar()
    expected = (int(data[item].isna().sum()), int(data["design_weight"].isna().sum()))
    assert expected[0] >= 100 and expected[1] >= 60
    assert tuple(nulls) == expected and texts == 0  # NULL, not a NaN value
    bad = make_wave([2023], n=50, tag="bad")
    bad.responses.data.loc[7, "district"] = np.nan  # district is NOT NULL
    before = store.responses()
    with pytest.raises(StoreError, match="bryter mot en regel"):
        store.load_wave(bad)
    pd.testing.assert_frame_equal(store.responses(), before)
