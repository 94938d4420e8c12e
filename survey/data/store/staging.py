"""Staged bulk rows on SQLite: written outside the GIL, moved into the store inside the caller's transaction.

``sqlite3`` binds every value of a multi-row INSERT in Python, holding the GIL (1M weights: about 1 s of the
process's one interpreter, contending with whatever else runs). ADBC's SQLite driver writes an Arrow table from C
without the GIL, but on a connection of its own, so it cannot write into the caller's transaction. The rows are
therefore staged: :func:`stage_rows` writes them with ADBC into a fresh file of their own (a private temporary
folder), the caller's write connection attaches that file before its transaction begins (SQLite allows ATTACH
only outside a transaction; :meth:`survey.data.store.engine.Database.writing_with`), and :func:`insert_staged`
moves them with one ``INSERT ... SELECT`` (SQLite's own C loop; ``sqlite3`` releases the GIL while it steps).
The rows land in the same transaction as everything else the caller writes, committed or rolled back with it;
:func:`discard` removes the folder afterwards. Values arrive exactly: a double is stored as the same 8-byte
REAL on both paths, text and integers as they are, NULL as NULL.

Only for a SQLite file (not an in-memory database or a URL with options) and at least :data:`STAGE_MIN_ROWS`
rows, and only where the ADBC driver is installed; :func:`stage_rows` returns None otherwise and the caller
inserts as before (:func:`survey.data.store.bulk.bulk_insert`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .bulk import arrow_frame
from .drivers import import_driver
from .values import process_alive, quote

#: Bytes per page of a new SQLite file (SQLite's default is 4096). The store is written in bulk (1M rows of
#: responses and of weights per run): with 32 KiB pages, a 1M-row ``INSERT ... SELECT`` and its WAL commit
#: and checkpoint take ~30-45 % less time (fewer pages, B-tree splits and WAL frames), at the cost of more
#: bytes read for a single-row lookup, which the store rarely does. An existing file keeps its page size.
PAGE_SIZE = 32768
#: the staging folders' prefix in the temporary folder; the process id follows (:func:`reap_stale`)
PREFIX = "trygghet-stage-"
#: Fewer rows than this are inserted directly (staging costs a file and a connection: ~10 ms).
STAGE_MIN_ROWS = 100_000
#: The schema name of the attached staging file within the caller's connection.
STAGE_SCHEMA = "trygghet_stage"


@dataclass(frozen=True)
class Stage:
    """Rows written to ``path`` (table ``table``, columns ``columns`` in the store's order)."""

    path: Path
    table: str
    columns: tuple[str, ...]
    rows: int


def stage_applies(database: str | None, rows: int) -> bool:
    """Whether :func:`stage_rows` stages ``rows`` rows into ``database`` (a plain SQLite file, enough rows,
    the ADBC driver installed)."""
    return database is not None and rows >= STAGE_MIN_ROWS and import_driver()


def stage_rows(
    database: str | None, table: sa.Table, df: pd.DataFrame, constants: dict[str, Any] | None = None
) -> Stage | None:
    """``df`` (plus constant columns) as ``table``'s columns written by ADBC into a staging file, or None when
    staging does not apply (``database`` None: not a plain SQLite file; fewer than :data:`STAGE_MIN_ROWS`
    rows; no ADBC driver) or the staging file cannot be written (the caller inserts directly then)."""
    if not stage_applies(database, len(df)):
        return None
    import adbc_driver_sqlite.dbapi as adbc

    names, data = arrow_frame(table, df, constants or {})
    reap_stale()
    folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))
    stage = Stage(path=folder / "stage.sqlite", table=table.name, columns=tuple(names), rows=len(df))
    try:
        with adbc.connect(str(stage.path)) as con, con.cursor() as cur:
            cur.execute(f"PRAGMA page_size={PAGE_SIZE}")  # the fresh file's pages as the store's
            cur.adbc_ingest(table.name, data, mode="create")
            con.commit()
    except (adbc.Error, OSError, pa.ArrowException):  # e.g. a full temporary folder: the direct insert instead
        discard(stage)
        return None
    return stage


def insert_staged(conn: Connection, table: sa.Table, stage: Stage, constants: dict[str, Any] | None = None) -> int:
    """Move the staged rows into ``table`` within ``conn``'s transaction (the file attached as
    :data:`STAGE_SCHEMA`), with ``constants`` (bound parameters) as further columns of every row; returns
    the number of rows."""
    consts = constants or {}
    cols = ", ".join(quote(c) for c in (*stage.columns, *consts))
    values = ", ".join([*(quote(c) for c in stage.columns), *("?" for _ in consts)])
    conn.exec_driver_sql(
        f"INSERT INTO {quote(table.name)} ({cols}) SELECT {values} FROM {STAGE_SCHEMA}.{quote(stage.table)}",
        tuple(consts.values()),
    )
    return stage.rows


def discard(stage: Stage) -> None:
    """Remove the staging file and its folder."""
    shutil.rmtree(stage.path.parent, ignore_errors=True)


def reap_stale(root: Path | None = None) -> list[Path]:
    """Remove the staging folders (``trygghet-stage-<pid>-…`` in the temporary folder ``root``) of processes
    that no longer exist: a run killed with SIGKILL could not discard its own (10 MB at 300,000 respondents).
    Another user's folders, and those of a live process, are left alone. Returns the folders removed."""
    gone = []
    for folder in Path(root or tempfile.gettempdir()).glob(f"{PREFIX}*-*"):
        pid = folder.name[len(PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and folder.stat().st_uid == os.getuid() and not process_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            gone.append(folder)
    return gone
