"""What the database drivers can do at all, without the store (``python -m bench.bench_ingest --ceiling``).

The store's rates mean little without the rate of the driver underneath: these measurements put the rows of a
wave into a copy of the ``responses`` table (same columns, types and primary key) with nothing but the driver,
their Python values or bytes prepared before the clock starts:

* ``driver insert``: SQLite through ``sqlite3`` (multi-row ``INSERT ... VALUES`` statements of 200 rows with
  ``executemany``, one transaction); PostgreSQL through psycopg ``COPY ... FROM STDIN`` of CSV bytes;
* ``copy in database``: the same rows copied from one table to the other by ``INSERT ... SELECT`` inside the
  database, the rate no client can beat (no values cross the driver);
* ``driver read``: every row fetched back (SQLite: ``fetchmany`` tuples; PostgreSQL: ``COPY ... TO STDOUT``
  bytes), nothing converted.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa

from survey.data.store.schema import responses

ROWS_PER_STATEMENT = 200


def _tables(engine: sa.Engine) -> tuple[sa.Table, sa.Table]:
    md = sa.MetaData()
    a = responses.to_metadata(md, name="ceiling_a")
    b = responses.to_metadata(md, name="ceiling_b")
    for t in (a, b):
        t.primary_key.name = f"pk_{t.name}"  # index names are unique per schema on PostgreSQL
    md.create_all(engine)
    return a, b


def _frame(data: pd.DataFrame, table: sa.Table) -> pd.DataFrame:
    frame = data[[c.name for c in table.columns if c.name in data.columns]].copy()
    frame.insert(0, "source_file_id", 1)
    return frame


def _steps(raw: Any, label: str, n: int, measure: Any, *work: Any) -> list[dict]:
    """Run the insert, copy and read functions measured, then close the connection ``raw``."""
    out: list[dict] = []
    try:
        for step, fn in zip(("driver insert", "copy in database", "driver read"), work):
            r: dict[str, Any] = {"db": label, "step": f"ceiling: {step}"}
            with measure(r, n):
                fn()
            out.append(r)
    finally:
        raw.close()
    return out


def _sqlite(frame: pd.DataFrame, engine: sa.Engine, label: str, measure: Any) -> list[dict]:
    a, b = _tables(engine)
    n, k = frame.shape
    values = np.empty((n, k), dtype=object)
    for j, c in enumerate(frame.columns):
        s = frame[c]
        values[:, j] = s.astype(object).where(s.notna(), None).to_numpy()
    full = n - n % ROWS_PER_STATEMENT
    params = values[:full].reshape(-1, ROWS_PER_STATEMENT * k).tolist()
    rest = values[full:].ravel().tolist()
    row = "(" + ", ".join("?" * k) + ")"
    head = f"INSERT INTO {a.name} ({', '.join(frame.columns)}) VALUES "
    raw = engine.raw_connection()
    dbapi: Any = raw.driver_connection

    def insert() -> None:
        dbapi.execute("BEGIN IMMEDIATE")
        dbapi.executemany(head + ", ".join([row] * ROWS_PER_STATEMENT), params)
        if rest:
            dbapi.execute(head + ", ".join([row] * (n - full)), rest)
        dbapi.execute("COMMIT")

    def copy() -> None:
        dbapi.execute("BEGIN IMMEDIATE")
        dbapi.execute(f"INSERT INTO {b.name} SELECT * FROM {a.name} WHERE 1")  # WHERE: no page-copy shortcut
        dbapi.execute("COMMIT")

    def read() -> None:
        cur = dbapi.execute(f"SELECT * FROM {a.name} ORDER BY source_file_id, source_row")
        while cur.fetchmany(100_000):
            pass

    return _steps(raw, label, n, measure, insert, copy, read)


def _postgres(frame: pd.DataFrame, engine: sa.Engine, label: str, measure: Any) -> list[dict]:
    a, b = _tables(engine)
    n = len(frame)
    buf = io.BytesIO()
    pacsv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), buf, pacsv.WriteOptions(include_header=False))
    data = buf.getvalue()
    cols = ", ".join(f'"{c}"' for c in frame.columns)
    raw = engine.raw_connection()
    dbapi: Any = raw.driver_connection

    def insert() -> None:
        with dbapi.cursor() as cur, cur.copy(f"COPY {a.name} ({cols}) FROM STDIN WITH (FORMAT csv)") as copy:
            for start in range(0, len(data), 1 << 20):
                copy.write(data[start : start + (1 << 20)])
        dbapi.commit()

    def copy() -> None:
        dbapi.execute(f"INSERT INTO {b.name} SELECT * FROM {a.name}")
        dbapi.commit()

    def read() -> None:
        sql = f"COPY (SELECT * FROM {a.name} ORDER BY source_file_id, source_row) TO STDOUT WITH (FORMAT csv)"
        with dbapi.cursor() as cur, cur.copy(sql) as out_copy:
            for _ in out_copy:
                pass
        dbapi.rollback()

    return _steps(raw, label, n, measure, insert, copy, read)


def driver_ceiling(data: pd.DataFrame, url: str, label: str, server: Any = None) -> list[dict]:
    """The ceiling measurements (see the module docstring) on the fresh database ``url``."""
    from functools import partial

    from bench.bench_ingest import measure

    sqlite = sa.make_url(url).get_backend_name() == "sqlite"
    engine = sa.create_engine(url, connect_args={"isolation_level": None} if sqlite else {})
    try:
        frame = _frame(data, responses)
        if sqlite:
            return _sqlite(frame, engine, label, measure)
        return _postgres(frame, engine, label, partial(measure, server=server))
    finally:
        engine.dispose()
        if server is not None:
            server.close()
