"""Bulk reads on PostgreSQL through ADBC's driver on a second connection (``bulk._read_postgres_adbc``): the
same rows, bit for bit, as COPY on the caller's connection; the caller's snapshot, not a newer one; the
caller's own connection where the second one cannot see what it sees (rows written in its transaction) or
cannot connect at all. Against the real server, never a mocked one."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import numpy as np
import pandas as pd
import psycopg
import pytest
import sqlalchemy as sa
from psycopg.conninfo import conninfo_to_dict

from survey.data.store import Store
from survey.data.store import bulk as store_bulk
from survey.data.store.reads import RESPONSE_BASE, responses_query
from survey.data.store.schema import responses
from tests.store_support import PG_BASE, make_wave, pg_schema, schema_url

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_url() -> Iterator[str]:
    with pg_schema() as schema:
        yield schema_url(schema)


@pytest.fixture
def adbc_calls(monkeypatch) -> list[bool]:
    """Whether each bulk read on PostgreSQL went through ADBC (True) or fell back to COPY (False)."""
    calls: list[bool] = []
    real = store_bulk._read_postgres_adbc

    def spy(dbapi, sql, types):
        table = real(dbapi, sql, types)
        calls.append(table is not None)
        return table

    monkeypatch.setattr(store_bulk, "_read_postgres_adbc", spy)
    return calls


def _hostile_wave(n: int = 3_000):
    wave = make_wave([2022, 2023], n=n)
    data = wave.responses.data
    data.loc[data.index % 7 == 0, "district"] = 'O\'Brien "citat",\nny rad; Å\\ ä'
    data.loc[data.index % 11 == 0, "design_weight"] = np.nan
    special = [0.1 + 0.2, 1 / 3, np.pi * 1e300, 5e-324, -0.0, 2.0**-1074 * 3, 123456789.123456789]
    data.loc[data.index[: len(special)], "design_weight"] = special
    return wave


def _query(conn: sa.Connection) -> tuple[sa.Select, dict, dict]:
    ids = [r[0] for r in conn.execute(sa.text("SELECT id FROM source_files WHERE kind = 'responses' ORDER BY id"))]
    names = ["source_file_id", *RESPONSE_BASE, "source_row"]
    types = store_bulk.arrow_types(responses, names)
    dtypes = {**RESPONSE_BASE, "source_row": "int64", "source_file_id": "int64"}
    return responses_query(ids, names, None), types, dtypes


def test_responses_read_through_adbc_are_the_rows_copy_reads(pg_url: str, adbc_calls: list[bool]) -> None:
    wave = _hostile_wave()
    with Store(pg_url) as store:
        store.load_wave(wave)
        got = store.responses()
        pd.testing.assert_frame_equal(got, wave.responses.data, check_exact=True)
        assert adbc_calls == [True]
        w = got["design_weight"].to_numpy()
        expected = wave.responses.data["design_weight"].to_numpy()
        np.testing.assert_array_equal(w.view(np.int64)[~np.isnan(w)], expected.view(np.int64)[~np.isnan(expected)])
        assert np.signbit(w[4]) and w[3] == 5e-324  # -0.0 and the smallest subnormal, bit for bit
        with store.reading("läsa") as conn:
            stmt, types, dtypes = _query(conn)
            by_copy = store_bulk.bulk_select(conn, stmt, types, dtypes, order=("source_file_id", "source_row"))
        by_copy = by_copy.drop(columns="source_file_id")
        pd.testing.assert_frame_equal(got[by_copy.columns.tolist()], by_copy, check_exact=True)


def test_the_second_connection_reads_the_callers_snapshot(pg_url: str, adbc_calls: list[bool]) -> None:
    with Store(pg_url) as store, Store(pg_url) as other:
        store.load_wave(make_wave([2022], n=400, tag="first"))
        with store.engine.connect() as conn:
            conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            assert conn.exec_driver_sql("SELECT count(*) FROM responses").scalar() == 400  # the snapshot is taken
            other.load_wave(make_wave([2023], n=300, tag="second"))  # committed after it
            stmt, types, dtypes = _query(conn)
            stmt = sa.select(*stmt.selected_columns).order_by(responses.c.source_file_id, responses.c.source_row)
            got = store_bulk.bulk_select(conn, stmt, types, dtypes, large=True)
            by_copy = store_bulk.bulk_select(conn, stmt, types, dtypes)
            conn.rollback()
        assert adbc_calls == [True]
        assert len(got) == 400 and set(got["year"]) == {2022}  # not the 300 rows committed after the snapshot
        pd.testing.assert_frame_equal(got, by_copy, check_exact=True)
        assert len(store.responses()) == 700  # a new read sees both


def test_a_transaction_that_has_written_reads_on_its_own_connection(pg_url: str, adbc_calls: list[bool]) -> None:
    with Store(pg_url) as store:
        store.load_wave(make_wave([2022], n=500))
        with store.engine.connect() as conn:
            stmt, types, dtypes = _query(conn)
            conn.exec_driver_sql("DELETE FROM responses WHERE mod(source_row, 5) = 0")  # not committed
            got = store_bulk.bulk_select(conn, stmt, types, dtypes, large=True)
            conn.rollback()
        assert adbc_calls == [False]  # another connection would still see the deleted rows
        assert len(got) == 400 and not (got["source_row"] % 5 == 0).any()
        assert len(store.responses()) == 500


def test_a_refused_second_connection_falls_back_to_copy(pg_url: str, adbc_calls: list[bool]) -> None:
    wave = make_wave([2022], n=600)
    with Store(pg_url) as store:
        store.load_wave(wave)
    schema = pg_url.rsplit("%3D", 1)[1]
    role = f"r_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_BASE)
    with admin.begin() as conn:  # one connection at most: the store's own
        conn.exec_driver_sql(f'CREATE ROLE "{role}" LOGIN CONNECTION LIMIT 1')
        conn.exec_driver_sql(f'GRANT USAGE ON SCHEMA {schema} TO "{role}"')
        conn.exec_driver_sql(f'GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO "{role}"')
    try:
        url = sa.make_url(pg_url).set(username=role).render_as_string(hide_password=False)
        with Store(url, migrate=False) as limited:
            got = limited.responses()
        pd.testing.assert_frame_equal(got, wave.responses.data, check_exact=True)
        assert adbc_calls == [False]
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP OWNED BY "{role}"')
            conn.exec_driver_sql(f'DROP ROLE "{role}"')
        admin.dispose()


@pytest.mark.parametrize("password", ["plain", "it's", "back\\slash \\' ", "mellan rum = 'x'", 'å"ä'])
def test_the_second_connection_gets_the_password_exactly(password: str) -> None:
    url = sa.make_url(PG_BASE)
    with psycopg.connect(
        host=url.host, port=url.port, dbname=url.database, user=url.username, password=password
    ) as conn:
        info = conninfo_to_dict(store_bulk._conninfo(conn))
        assert info["password"] == password
        assert info["dbname"] == url.database and info["user"] == url.username
        assert info["client_encoding"] == "UTF8"


def test_a_latin1_database_stores_and_reads_the_characters(adbc_calls: list[bool]) -> None:
    """Text goes as UTF-8 whatever the database's encoding; the server converts (a LATIN1 database stored the
    UTF-8 bytes of "Ä" as the two LATIN1 characters "Ã\\x84" before, read back "right" only by COPY)."""
    name = f"t_latin1_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_BASE, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name} ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0")
    try:
        url = sa.make_url(PG_BASE).set(database=name).render_as_string(hide_password=False)
        wave = make_wave([2022], n=300)
        wave.responses.data.loc[::3, "district"] = "Älvsjö-Ängby"
        with Store(url) as store:
            store.load_wave(wave)
            got = store.responses()
            with store.reading("läsa") as conn:
                stmt, types, dtypes = _query(conn)
                by_copy = store_bulk.bulk_select(conn, stmt, types, dtypes, order=("source_file_id", "source_row"))
                sql = "SELECT count(*), min(length(district)) FROM responses WHERE district = %(d)s"
                stored = conn.exec_driver_sql(sql, {"d": "Älvsjö-Ängby"}).one()
        assert adbc_calls == [True]
        pd.testing.assert_frame_equal(got, wave.responses.data, check_exact=True)
        pd.testing.assert_frame_equal(got[by_copy.columns[1:].tolist()], by_copy.drop(columns="source_file_id"))
        assert tuple(stored) == (100, 12)  # twelve LATIN1 characters on the server, not sixteen
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()
