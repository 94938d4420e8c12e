"""The database: SQLAlchemy 2 tables, Alembic migrations, transactional loads, runs and published tables.

One ``Store`` wraps one database (SQLite or PostgreSQL). Opening it brings the schema up to date with the
Alembic scripts in ``survey/data/migrations``. Every write method runs in ONE transaction: an exception leaves
nothing half-written.

Bulk paths (responses, quarantine, free text, weights): PostgreSQL uses ``COPY ... FROM STDIN`` fed by
Arrow's CSV writer; SQLite uses ``executemany`` of plain tuples on the raw DBAPI cursor. Bulk reads use
``COPY ... TO STDOUT`` (PostgreSQL) or a raw cursor (SQLite), both decoded through Arrow into the canonical
pandas dtypes of ARCHITECTURE.md.

Source files: a file is identified by (kind, sha256). Its *wave key* is the set of years it covers. Loading
the same file again is a no-op ("unchanged"); a different file for a wave already loaded needs
``replace=True``, which keeps the old version marked superseded. Reads return active sources only.

Published tables are versioned and never overwritten: publishing again creates version + 1 (database
triggers also refuse UPDATE and DELETE of published rows).
"""
from __future__ import annotations

import dataclasses
import io
import json
from importlib import resources
import math
import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from survey.errors import StoreError

# --- the contract's items and canonical dtypes ------------------------------------------------------

#: Every item of data contract v1, in contract order. Each has its own SMALLINT column.
CONTRACT_ITEMS: tuple[str, ...] = (
    "q_safe_after_dark", "q_worry_crime",
    "q_problem_littering", "q_problem_dark_places", "q_problem_graffiti", "q_problem_vandalism",
    "q_problem_youth_groups", "q_problem_drug_dealing", "q_problem_drunk_people", "q_problem_traffic",
    "q_victim_violence", "q_victim_theft", "q_victim_vandalism",
    "q_police_care",
)

STR = pd.StringDtype(na_value=np.nan)  # pandas 3 default ``str`` dtype

#: Canonical responses columns before the items, with their pandas dtypes.
RESPONSE_BASE: dict[str, Any] = {
    "resp_id": STR, "year": "int64", "district": STR, "sex": "int64", "age_group": STR,
    "born_abroad": "Int64", "design_weight": "float64",
}
POPULATION_DTYPES: dict[str, Any] = {
    "year": "int64", "district": STR, "sex": "int64", "age_group": STR, "population": "int64",
}
QUARANTINE_COLUMNS: tuple[str, ...] = (
    "file", "source_row", "resp_id", "year", "column", "value", "check", "reason", "record",
)
QUARANTINE_DTYPES: dict[str, Any] = {
    "file": STR, "source_row": "Int64", "resp_id": STR, "year": "Int64", "column": STR, "value": STR,
    "check": STR, "reason": STR, "record": STR,
}
FREE_TEXT_DTYPES: dict[str, Any] = {"resp_id": STR, "year": "Int64", "comment": STR}
WEIGHT_DTYPES: dict[str, Any] = {"resp_id": STR, "year": "int64", "weight": "float64"}
KINDS = ("responses", "population")

# --- tables -------------------------------------------------------------------------------------------

metadata = sa.MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})
TS = sa.DateTime(timezone=True)
DOUBLE = sa.Double()


def _sid(foreign_key: bool = True) -> sa.Column:
    """``source_file_id``. The bulk tables go without a FOREIGN KEY: PostgreSQL checks one per row with a
    trigger, which halves COPY throughput; the store writes them only with the id it has just inserted in
    the same transaction, and never deletes sources."""
    fk = [sa.ForeignKey("source_files.id")] if foreign_key else []
    return sa.Column("source_file_id", sa.Integer, *fk, nullable=False)


def _rid(primary_key: bool = False, foreign_key: bool = True) -> sa.Column:
    """``run_id`` (without FOREIGN KEY on the bulk ``weights`` table, as for ``_sid``)."""
    fk = [sa.ForeignKey("runs.run_id")] if foreign_key else []
    return sa.Column("run_id", sa.String(36), *fk, nullable=False, primary_key=primary_key)


source_files = sa.Table(
    "source_files", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("path", sa.Text),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("format", sa.Text),
    sa.Column("encoding", sa.Text),
    sa.Column("delimiter", sa.Text),
    sa.Column("decimal", sa.Text),
    sa.Column("codebook_version", sa.Text),
    sa.Column("mapping", sa.Text),
    sa.Column("n_rows", sa.Integer),
    sa.Column("years", sa.Text, nullable=False),        # wave key: sorted years, comma separated
    sa.Column("columns", sa.JSON),                      # column order of the canonical frame
    sa.Column("notes", sa.JSON),
    sa.Column("loaded_at", TS, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("superseded_by", sa.Integer, sa.ForeignKey("source_files.id")),
    sa.UniqueConstraint("kind", "sha256", name="uq_source_files_kind_sha256"),
    sa.CheckConstraint("kind IN ('responses', 'population')", name="kind"),
)

responses = sa.Table(
    "responses", metadata,
    _sid(foreign_key=False),
    sa.Column("source_row", sa.Integer, nullable=False),
    sa.Column("resp_id", sa.Text, nullable=False),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("district", sa.Text, nullable=False),
    sa.Column("sex", sa.SmallInteger, nullable=False),
    sa.Column("age_group", sa.Text, nullable=False),
    sa.Column("born_abroad", sa.SmallInteger),
    sa.Column("design_weight", DOUBLE),
    *[sa.Column(q, sa.SmallInteger) for q in CONTRACT_ITEMS],
    sa.Column("extra_items", sa.Text),                  # JSON object of items outside the contract
    sa.PrimaryKeyConstraint("source_file_id", "source_row"),
)

free_text = sa.Table(
    "free_text", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    _sid(foreign_key=False),
    sa.Column("resp_id", sa.Text),
    sa.Column("year", sa.Integer),
    sa.Column("comment", sa.Text),
)

quarantine = sa.Table(
    "quarantine", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    _sid(foreign_key=False),
    sa.Column("file", sa.Text),
    sa.Column("source_row", sa.Integer),
    sa.Column("resp_id", sa.Text),
    sa.Column("year", sa.Integer),
    sa.Column("column", sa.Text),
    sa.Column("value", sa.Text),
    sa.Column("check", sa.Text),
    sa.Column("reason", sa.Text),
    sa.Column("record", sa.Text),
    sa.Index("ix_quarantine_source_file_id", "source_file_id"),
)

population = sa.Table(
    "population", metadata,
    _sid(),
    sa.Column("row_no", sa.Integer, nullable=False),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("district", sa.Text, nullable=False),
    sa.Column("sex", sa.SmallInteger, nullable=False),
    sa.Column("age_group", sa.Text, nullable=False),
    sa.Column("population", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("source_file_id", "row_no"),
    sa.UniqueConstraint("source_file_id", "year", "district", "sex", "age_group",
                        name="uq_population_cell"),
)

runs = sa.Table(
    "runs", metadata,
    sa.Column("run_id", sa.String(36), primary_key=True),
    sa.Column("started_at", TS, nullable=False),
    sa.Column("finished_at", TS),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("code_version", sa.Text),
    sa.Column("codebook_version", sa.Text),
    sa.Column("parameters", sa.JSON),
    sa.Column("lineage", sa.JSON),
    sa.Column("outputs_meta", sa.JSON),                 # column order and dtypes of each output frame
    sa.Column("error", sa.Text),
    sa.CheckConstraint("status IN ('running', 'succeeded', 'failed')", name="status"),
)

run_inputs = sa.Table(
    "run_inputs", metadata,
    _rid(primary_key=True),
    sa.Column("source_file_id", sa.Integer, sa.ForeignKey("source_files.id"), primary_key=True),
)

weights = sa.Table(
    "weights", metadata,
    _rid(foreign_key=False),
    sa.Column("resp_id", sa.Text, nullable=False),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("weight", DOUBLE),
    sa.PrimaryKeyConstraint("run_id", "year", "resp_id"),
)

WEIGHTS_TABLE = weights  # save_run_outputs has a parameter named ``weights``

weight_diagnostics = sa.Table(
    "weight_diagnostics", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    _rid(),
    sa.Column("year", sa.Integer),
    sa.Column("district", sa.Text),
    sa.Column("n", sa.Integer),
    sa.Column("sum_weights", DOUBLE),
    sa.Column("min", DOUBLE),
    sa.Column("max", DOUBLE),
    sa.Column("ratio", DOUBLE),
    sa.Column("kish_deff", DOUBLE),
    sa.Column("ess", DOUBLE),
    sa.Column("iterations", sa.Integer),
    sa.Column("max_margin_error", DOUBLE),
    sa.Column("extras", sa.Text),
    sa.Index("ix_weight_diagnostics_run_id", "run_id"),
)

estimates = sa.Table(
    "estimates", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    _rid(),
    sa.Column("year", sa.Integer),
    sa.Column("district", sa.Text),
    sa.Column("indicator", sa.Text),
    sa.Column("estimate", DOUBLE),
    sa.Column("se", DOUBLE),
    sa.Column("ci_low", DOUBLE),
    sa.Column("ci_high", DOUBLE),
    sa.Column("n", sa.Integer),
    sa.Column("suppressed", sa.Boolean),
    sa.Column("df", DOUBLE),
    sa.Column("deff", DOUBLE),
    sa.Column("extras", sa.Text),
    sa.Index("ix_estimates_run_id", "run_id"),
)

comparisons = sa.Table(
    "comparisons", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    _rid(),
    sa.Column("year", sa.Integer),
    sa.Column("district", sa.Text),
    sa.Column("indicator", sa.Text),
    sa.Column("comparison", sa.Text),
    sa.Column("other", sa.Text),
    sa.Column("difference", DOUBLE),
    sa.Column("se", DOUBLE),
    sa.Column("ci_low", DOUBLE),
    sa.Column("ci_high", DOUBLE),
    sa.Column("p_value", DOUBLE),
    sa.Column("p_adjusted", DOUBLE),
    sa.Column("significant", sa.Boolean),
    sa.Column("extras", sa.Text),
    sa.Index("ix_comparisons_run_id", "run_id"),
)

trend = sa.Table(
    "trend", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    _rid(),
    sa.Column("indicator", sa.Text),
    sa.Column("term", sa.Text),
    sa.Column("estimate", DOUBLE),
    sa.Column("se", DOUBLE),
    sa.Column("model", sa.Text),
    sa.Column("district", sa.Text),
    sa.Column("extras", sa.Text),
    sa.Index("ix_trend_run_id", "run_id"),
)

published_tables = sa.Table(
    "published_tables", metadata,
    sa.Column("table_id", sa.Text, nullable=False),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("run_id", sa.String(36), sa.ForeignKey("runs.run_id")),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("title", sa.Text),
    sa.Column("meta", sa.JSON),
    sa.PrimaryKeyConstraint("table_id", "year", "version"),
)

published_cells = sa.Table(
    "published_cells", metadata,
    sa.Column("table_id", sa.Text, nullable=False),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("position", sa.Integer, nullable=False),   # order of the cell in the published frame
    sa.Column("row_key", sa.Text, nullable=False),
    sa.Column("column_key", sa.Text, nullable=False),
    sa.Column("value", DOUBLE),
    sa.Column("text", sa.Text),
    sa.Column("suppressed", sa.Boolean, nullable=False),
    sa.PrimaryKeyConstraint("table_id", "year", "version", "row_key", "column_key"),
    sa.ForeignKeyConstraint(["table_id", "year", "version"],
                            ["published_tables.table_id", "published_tables.year",
                             "published_tables.version"],
                            name="fk_published_cells_table"),
    sa.CheckConstraint("NOT (suppressed AND value IS NOT NULL)", name="suppressed_without_value"),
)

#: Fixed columns of the small run-output tables; any other column of a frame goes to ``extras`` (JSON).
RUN_TABLES: dict[str, sa.Table] = {
    "diagnostics": weight_diagnostics, "estimates": estimates, "comparisons": comparisons, "trend": trend,
}


def _fixed_columns(table: sa.Table) -> list[str]:
    return [c.name for c in table.columns if c.name not in ("id", "run_id", "extras")]


# --- results --------------------------------------------------------------------------------------------

@dataclass
class LoadReport:
    """What ``Store.load_wave`` did.

    ``status`` is "unchanged" when both files were already loaded, "replaced" when a file superseded an
    earlier version of its wave, otherwise "loaded". ``statuses`` gives the status per kind.
    """

    status: str
    responses_source_id: int
    population_source_id: int
    statuses: dict[str, str]
    rows_accepted: int
    rows_quarantined: int
    population_rows: int
    free_text_rows: int
    superseded: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def source_ids(self) -> list[int]:
        return [self.responses_source_id, self.population_source_id]


@dataclass
class RunOutputs:
    """A run's stored record and outputs (frames have the columns and dtypes they were saved with)."""

    run: dict[str, Any]
    input_source_ids: list[int]
    weights: pd.DataFrame
    diagnostics: pd.DataFrame
    estimates: pd.DataFrame
    comparisons: pd.DataFrame | None
    trend: pd.DataFrame | None


# --- helpers --------------------------------------------------------------------------------------------

def _now() -> datetime:
    return datetime.now(timezone.utc)


def _q(name: str) -> str:
    """Quote an identifier (both dialects accept double quotes; ``column``/``check`` are keywords)."""
    return '"' + name.replace('"', '""') + '"'


def _py(value: Any) -> Any:
    """A pandas/numpy scalar as a plain Python value, NA as None."""
    if value is None:
        return None
    if isinstance(value, (float, np.floating)) and math.isnan(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def _json_default(value: Any) -> Any:
    v = _py(value)
    if v is value:
        return str(value)
    return v


def _dumps(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, default=_json_default, ensure_ascii=False)


def _clean_json(value: Any) -> Any:
    """A structure made JSON-safe: numpy scalars and arrays to Python, NaN/inf/NA to None, paths and
    dates to strings, dataclasses to dicts."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _clean_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset, np.ndarray)):
        return [_clean_json(v) for v in (value.tolist() if isinstance(value, np.ndarray) else value)]
    if isinstance(value, np.generic):
        return _clean_json(value.item())
    if value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _clean_json(dataclasses.asdict(value))
    return str(value)


def _attr(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _years_key(years: Iterable[int]) -> str:
    return ",".join(str(y) for y in sorted(set(int(y) for y in years)))


def _frame_years(data: pd.DataFrame | None, quarantine_df: pd.DataFrame | None) -> list[int]:
    """The years a file covers: those of its accepted rows, else those of its quarantined rows."""
    for df in (data, quarantine_df):
        if df is not None and "year" in df.columns and len(df):
            years = pd.to_numeric(df["year"], errors="coerce").dropna().unique()
            if len(years):
                return sorted(int(y) for y in years)
    return []


def _object_column(s: pd.Series) -> list:
    """A column as a list of plain Python values with None for NA (what sqlite3 binds)."""
    if s.dtype == object:
        return [None if (v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))) else
                (v.item() if isinstance(v, np.generic) else v) for v in s.tolist()]
    if s.dtype.kind in "iub" and not s.hasnans:
        return s.tolist()
    return s.to_numpy(dtype=object, na_value=None).tolist()


def _arrow_column(s: pd.Series, pa_type: pa.DataType) -> pa.Array:
    if isinstance(s.dtype, pd.StringDtype) or s.dtype == object:
        return pa.array(s.astype(STR), type=pa.large_string(), from_pandas=True)
    return pa.array(s, type=pa_type, from_pandas=True)


_SA_TO_ARROW = {sa.SmallInteger: pa.int16(), sa.BigInteger: pa.int64(), sa.Integer: pa.int64(),
                sa.Double: pa.float64(), sa.Boolean: pa.bool_(), sa.Text: pa.large_string(),
                sa.String: pa.large_string(), sa.JSON: pa.large_string()}


def _arrow_type(col: sa.Column) -> pa.DataType:
    for sa_type, pa_type in _SA_TO_ARROW.items():
        if isinstance(col.type, sa_type):
            return pa_type
    raise NotImplementedError(f"no Arrow type for column {col.name} ({col.type})")


def _to_dtypes(table: pa.Table, dtypes: dict[str, Any]) -> pd.DataFrame:
    """An Arrow table as pandas with the given dtypes (nullable ints come back as Int64, not float)."""
    mapper = {pa.int16(): pd.Int64Dtype(), pa.int32(): pd.Int64Dtype(), pa.int64(): pd.Int64Dtype(),
              pa.bool_(): pd.BooleanDtype()}.get
    df = table.to_pandas(types_mapper=mapper)
    for name, dtype in dtypes.items():
        if name in df.columns and str(df[name].dtype) != str(dtype):
            df[name] = df[name].astype(dtype)
    return df


def _copy_out(dbapi: Any, sql: str) -> io.BytesIO:
    """Run ``COPY ... TO STDOUT`` on a psycopg connection and return the bytes.

    COPY sends one message per row; reading them with libpq directly costs a third of psycopg's Copy
    iterator (0.2 against 0.5 CPU seconds for 500,000 rows). The connection is left as psycopg expects
    it: the COPY's results are consumed, the transaction stays open.
    """
    from psycopg import pq

    pg = dbapi.pgconn
    pg.send_query(sql.encode())
    res = pg.get_result()
    if res is None or res.status != pq.ExecStatus.COPY_OUT:
        message = res.error_message.decode(errors="replace") if res is not None else "no result"
        while pg.get_result() is not None:
            pass
        raise StoreError(f"Reading from the database failed: {message.strip()}")
    buf = io.BytesIO()
    write = buf.write
    while True:
        n, data = pg.get_copy_data(0)
        if n < 0:
            break
        write(data)
    res = pg.get_result()
    while pg.get_result() is not None:
        pass
    if res is None or res.status != pq.ExecStatus.COMMAND_OK:
        message = res.error_message.decode(errors="replace") if res is not None else "no result"
        raise StoreError(f"Reading from the database failed: {message.strip()}")
    buf.seek(0)
    return buf


# --- the store ------------------------------------------------------------------------------------------

class Store:
    """A trygghet database. ``url`` defaults to ``$TRYGGHET_DATABASE_URL`` or ``sqlite:///trygghet.db``.

    PostgreSQL URLs use psycopg 3: ``postgresql+psycopg://user@host:5432/db`` (a schema can be chosen with
    ``?options=-csearch_path%3Dmyschema``). Opening the store runs the Alembic migrations up to head.
    """

    def __init__(self, url: str | None = None, *, migrate: bool = True) -> None:
        self.url = url or os.environ.get("TRYGGHET_DATABASE_URL") or "sqlite:///trygghet.db"
        try:
            self.engine = self._make_engine(self.url)
        except (sa.exc.ArgumentError, ImportError) as exc:
            raise StoreError(f"Cannot use the database URL {self.url!r}: {exc}") from exc
        self.dialect = self.engine.dialect.name
        if self.dialect not in ("sqlite", "postgresql"):
            raise StoreError(f"Unsupported database {self.dialect!r}: use sqlite:/// or postgresql+psycopg://")
        # Write transactions take SQLite's write lock up front (BEGIN IMMEDIATE) to avoid upgrade deadlocks.
        self._writer = self.engine.execution_options(trygghet_write=True)
        # Data that breaks a database rule, raised by SQLAlchemy or (on the bulk paths) by the driver.
        dbapi = self.engine.dialect.loaded_dbapi
        self._data_errors: tuple[type[BaseException], ...] = (
            sa.exc.IntegrityError, sa.exc.DataError, dbapi.IntegrityError, dbapi.DataError)
        if migrate:
            self.upgrade()

    # -- engine and migrations ---------------------------------------------------------------------

    @staticmethod
    def _make_engine(url: str) -> Engine:
        u = sa.make_url(url)
        if u.get_backend_name() == "sqlite":
            kwargs: dict[str, Any] = {"connect_args": {"timeout": 60}}
            if u.database in (None, "", ":memory:"):
                kwargs["poolclass"] = sa.pool.StaticPool
            engine = sa.create_engine(u, **kwargs)

            @event.listens_for(engine, "connect")
            def _on_connect(dbapi_conn: Any, _record: Any) -> None:
                dbapi_conn.isolation_level = None   # we issue BEGIN ourselves (see _on_begin)
                cur = dbapi_conn.cursor()
                for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON",
                               "cache_size=-65536", "temp_store=MEMORY"):
                    cur.execute(f"PRAGMA {pragma}")
                cur.close()

            @event.listens_for(engine, "begin")
            def _on_begin(conn: Connection) -> None:
                write = conn.get_execution_options().get("trygghet_write")
                conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

            return engine
        if u.get_backend_name() == "postgresql" and u.get_driver_name() in ("psycopg2", "default", ""):
            u = u.set(drivername="postgresql+psycopg")
        return sa.create_engine(u, pool_pre_ping=True)

    def _alembic_config(self, connection: Connection):
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(resources.files("survey.data") / "migrations"))
        cfg.attributes["connection"] = connection
        return cfg

    def upgrade(self, revision: str = "head") -> None:
        """Bring the schema up to ``revision`` (idempotent; serialised on PostgreSQL by an advisory lock)."""
        from alembic import command

        try:
            with self._writer.begin() as conn:
                if self.dialect == "postgresql":
                    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext(current_schema()))")
                command.upgrade(self._alembic_config(conn), revision)
        except sa.exc.OperationalError as exc:
            raise StoreError(f"Cannot open the database {self._safe_url()}: {exc.orig}") from exc

    def schema_revision(self) -> str | None:
        """The Alembic revision the database is at (None for an empty database)."""
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def _safe_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        """Release the connection pool."""
        self.engine.dispose()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- bulk write/read primitives -----------------------------------------------------------------

    def _bulk_insert(self, conn: Connection, table: sa.Table, df: pd.DataFrame,
                     constants: dict[str, Any] | None = None) -> int:
        """Insert ``df`` (columns named as ``table``'s) plus constant columns, by COPY or executemany."""
        constants = constants or {}
        n = len(df)
        if n == 0:
            return 0
        cols = [c for c in table.columns if c.name in constants or c.name in df.columns]
        names = [c.name for c in cols]
        col_sql = ", ".join(_q(c) for c in names)
        dbapi = conn.connection.driver_connection
        if self.dialect == "postgresql":
            arrays = [pa.array(np.full(n, constants[c.name]) if not isinstance(constants[c.name], str)
                               else [constants[c.name]] * n, type=_arrow_type(c))
                      if c.name in constants else _arrow_column(df[c.name], _arrow_type(c)) for c in cols]
            atable = pa.Table.from_arrays(arrays, names=names)
            opts = pacsv.WriteOptions(include_header=False, batch_size=8192)
            with dbapi.cursor() as cur:
                # The queued writer sends from a thread, so encoding the next batch overlaps the server's work.
                from psycopg.copy import QueuedLibpqWriter
                writer = QueuedLibpqWriter(cur)
                with cur.copy(f"COPY {_q(table.name)} ({col_sql}) FROM STDIN WITH (FORMAT csv)",
                              writer=writer) as copy:
                    for batch in atable.to_batches(max_chunksize=100_000):
                        buf = io.BytesIO()
                        pacsv.write_csv(batch, buf, opts)
                        copy.write(buf.getvalue())
        else:
            columns = [[constants[c]] * n if c in constants else _object_column(df[c]) for c in names]
            sql = f"INSERT INTO {_q(table.name)} ({col_sql}) VALUES ({', '.join('?' * len(names))})"
            cur = dbapi.cursor()
            try:
                cur.executemany(sql, zip(*columns))
            finally:
                cur.close()
        return n

    def _bulk_select(self, conn: Connection, stmt: sa.Select, arrow_types: dict[str, pa.DataType],
                     dtypes: dict[str, Any]) -> pd.DataFrame:
        """Run ``stmt`` and return a DataFrame with ``dtypes`` (COPY TO STDOUT on PostgreSQL)."""
        names = list(arrow_types)
        sql = str(stmt.compile(dialect=self.engine.dialect, compile_kwargs={"literal_binds": True}))
        dbapi = conn.connection.driver_connection
        if self.dialect == "postgresql":
            buf = _copy_out(dbapi, f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)")
            if buf.getbuffer().nbytes == 0:
                atable = pa.table({n: pa.array([], type=t) for n, t in arrow_types.items()})
            else:
                atable = pacsv.read_csv(
                    buf,
                    read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 24),
                    parse_options=pacsv.ParseOptions(newlines_in_values=True),
                    convert_options=pacsv.ConvertOptions(
                        column_types=arrow_types, strings_can_be_null=True,
                        quoted_strings_can_be_null=False, true_values=["t"], false_values=["f"]))
        else:
            # Batches of rows become Arrow record batches at once, so the Python tuples never all coexist.
            # Arrow converts the row tuples as struct values in C++ (4x faster than transposing in Python).
            schema = pa.schema([(n, arrow_types[n]) for n in names])
            row_type = pa.struct(list(schema))
            batches = []
            cur = dbapi.cursor()
            try:
                cur.execute(sql)
                while rows := cur.fetchmany(100_000):
                    batches.append(pa.RecordBatch.from_struct_array(pa.array(rows, type=row_type)))
                    del rows
            finally:
                cur.close()
            atable = pa.Table.from_batches(batches, schema=schema)
        return _to_dtypes(atable, dtypes)

    # -- loading a wave ----------------------------------------------------------------------------

    def load_wave(self, wave: Any, *, replace: bool = False) -> LoadReport:
        """Store a validated wave (``survey.data.ingest.Wave``: responses and population ``IngestResult``s).

        One transaction. The same file again (same sha256) is a no-op ("unchanged"). A different file for
        a wave already loaded (same kind, same years) needs ``replace=True``: the old version stays,
        marked superseded, and reads return the new one. A file whose years only partly overlap an
        active file of its kind is refused.
        """
        parts = {"responses": _attr(wave, "responses"), "population": _attr(wave, "population")}
        for kind, part in parts.items():
            if part is None or _attr(part, "source") is None:
                raise StoreError(f"The wave has no {kind} file; both responses and population are needed.")
        statuses: dict[str, str] = {}
        ids: dict[str, int] = {}
        superseded: list[int] = []
        notes: list[str] = list(_attr(wave, "notes", None) or [])
        try:
            with self._writer.begin() as conn:
                if self.dialect == "postgresql":   # one load at a time (SQLite: BEGIN IMMEDIATE does it)
                    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext('trygghet.load_wave'))")
                for kind, part in parts.items():
                    status, sid, old = self._load_part(conn, kind, part, replace)
                    statuses[kind], ids[kind] = status, sid
                    superseded += old
                    if old:
                        notes.append(f"{kind}: source {sid} replaces source(s) "
                                     f"{', '.join(map(str, old))}, kept as superseded")
        except self._data_errors as exc:
            raise StoreError(f"The wave breaks a database rule and was not stored (nothing was written): "
                             f"{getattr(exc, 'orig', exc)}") from exc
        values = set(statuses.values())
        status = ("unchanged" if values == {"unchanged"} else
                  "replaced" if "replaced" in values else "loaded")
        r, p = parts["responses"], parts["population"]

        def rows(df: pd.DataFrame | None) -> int:
            return 0 if df is None else len(df)

        return LoadReport(status=status, responses_source_id=ids["responses"],
                          population_source_id=ids["population"], statuses=statuses,
                          rows_accepted=rows(_attr(r, "data")),
                          rows_quarantined=rows(_attr(r, "quarantine")) + rows(_attr(p, "quarantine")),
                          population_rows=rows(_attr(p, "data")), free_text_rows=rows(_attr(r, "free_text")),
                          superseded=superseded, notes=notes)

    def _load_part(self, conn: Connection, kind: str, part: Any, replace: bool) -> tuple[str, int, list[int]]:
        """Load one file of a wave inside ``conn``'s transaction; returns (status, source id, superseded)."""
        src = _attr(part, "source")
        data: pd.DataFrame = _attr(part, "data")
        qdf: pd.DataFrame | None = _attr(part, "quarantine")
        sha = _attr(src, "sha256")
        name = _attr(src, "name") or str(_attr(src, "path") or "?")
        if not sha:
            raise StoreError(f"{name}: the source file has no sha256; cannot store it.")
        if _attr(src, "kind") not in (None, kind):
            raise StoreError(f"{name}: a {_attr(src, 'kind')} file was given as the wave's {kind} file.")
        if data is None:
            raise StoreError(f"{name}: the {kind} file has no data frame.")
        years = _frame_years(data, qdf)
        key = _years_key(years)
        sf = source_files
        existing = conn.execute(sa.select(sf.c.id, sf.c.active, sf.c.years)
                                .where(sf.c.kind == kind, sf.c.sha256 == sha)).first()
        actives = conn.execute(sa.select(sf.c.id, sf.c.name, sf.c.years)
                               .where(sf.c.kind == kind, sf.c.active)).all()
        same = [a for a in actives if a.years == key and (existing is None or a.id != existing.id)]
        overlap = [a for a in actives if a not in same and (existing is None or a.id != existing.id)
                   and set(a.years.split(",")) & set(key.split(","))]
        if overlap:
            a = overlap[0]
            raise StoreError(
                f"{name}: its {kind} for year(s) {key or 'none'} overlap the stored file {a.name!r} "
                f"(source {a.id}, year(s) {a.years}) without covering the same years. A replacement must "
                f"cover exactly the same years as the file it replaces.")
        if existing is not None and existing.active:
            return "unchanged", existing.id, []
        if same and not replace:
            a = same[0]
            raise StoreError(
                f"{name}: {kind} for year(s) {key} are already stored from another file, {a.name!r} "
                f"(source {a.id}). Pass --replace (replace=True) to load this file as the new version; "
                f"the old one is kept as superseded.")
        if existing is not None:  # an older version loaded again: make it the active one
            if not replace:
                raise StoreError(f"{name}: this file was loaded before and later superseded. Pass --replace "
                                 f"(replace=True) to make it the active version again.")
            sid = existing.id
            conn.execute(sf.update().where(sf.c.id == sid).values(active=True, superseded_by=None))
        else:
            sid = conn.execute(sf.insert().values(
                sha256=sha, name=name, path=str(_attr(src, "path")) if _attr(src, "path") else None,
                kind=kind, format=_attr(src, "format"), encoding=_attr(src, "encoding"),
                delimiter=_attr(src, "delimiter"), decimal=_attr(src, "decimal"),
                codebook_version=_attr(src, "codebook_version"), mapping=_dumps(_attr(src, "mapping")),
                n_rows=_py(_attr(src, "n_rows")), years=key, columns=[str(c) for c in data.columns],
                notes=_clean_json(list(_attr(part, "notes", None) or [])) or None,
                loaded_at=_now(), active=True).returning(sf.c.id)).scalar_one()
            if kind == "responses":
                self._insert_responses(conn, sid, data)
                self._insert_free_text(conn, sid, _attr(part, "free_text"))
            else:
                self._insert_population(conn, sid, data)
            self._insert_quarantine(conn, sid, qdf)
        old = [a.id for a in same]
        if old:
            conn.execute(sf.update().where(sf.c.id.in_(old)).values(active=False, superseded_by=sid))
        return ("replaced" if old else "loaded"), sid, old

    def _insert_responses(self, conn: Connection, sid: int, data: pd.DataFrame) -> int:
        missing = [c for c in ("resp_id", "year", "district", "sex", "age_group", "source_row")
                   if c not in data.columns]
        if missing:
            raise StoreError(f"The responses frame lacks the canonical column(s) {', '.join(missing)}.")
        extra = [c for c in data.columns if c.startswith("q_") and c not in CONTRACT_ITEMS]
        df = data
        if extra:
            df = data.copy()
            ext = data[extra]
            df["extra_items"] = [json.dumps({k: _py(v) for k, v in zip(extra, row)})
                                 for row in ext.itertuples(index=False, name=None)]
        return self._bulk_insert(conn, responses, df, {"source_file_id": sid})

    def _insert_free_text(self, conn: Connection, sid: int, df: pd.DataFrame | None) -> int:
        if df is None or not len(df):
            return 0
        return self._bulk_insert(conn, free_text, df, {"source_file_id": sid})

    def _insert_quarantine(self, conn: Connection, sid: int, df: pd.DataFrame | None) -> int:
        if df is None or not len(df):
            return 0
        q = pd.DataFrame({c: df[c] if c in df.columns else None for c in QUARANTINE_COLUMNS}, index=df.index)
        for c in ("source_row", "year"):
            q[c] = pd.to_numeric(q[c], errors="coerce").astype("Int64")
        for c in ("file", "resp_id", "column", "value", "check", "reason", "record"):
            q[c] = [None if v is None or (not isinstance(v, (str, dict, list)) and pd.isna(v))
                    else (v if isinstance(v, str) else _dumps(v)) for v in q[c].tolist()]
        return self._bulk_insert(conn, quarantine, q, {"source_file_id": sid})

    def _insert_population(self, conn: Connection, sid: int, df: pd.DataFrame) -> int:
        p = df.copy()
        p["row_no"] = np.arange(len(p), dtype=np.int64)
        return self._bulk_insert(conn, population, p, {"source_file_id": sid})

    # -- reads ---------------------------------------------------------------------------------------

    def sources(self) -> pd.DataFrame:
        """Every stored source file (active and superseded), oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(source_files).order_by(source_files.c.id)).mappings().all()
        df = pd.DataFrame([dict(r) for r in rows], columns=[c.name for c in source_files.columns])
        return df.astype({"id": "int64", "active": "bool", "superseded_by": "Int64", "n_rows": "Int64"})

    def _active_ids(self, conn: Connection, kind: str) -> list[int]:
        sf = source_files
        return list(conn.execute(sa.select(sf.c.id).where(sf.c.kind == kind, sf.c.active)
                                 .order_by(sf.c.id)).scalars())

    def responses(self, years: Sequence[int] | None = None, *, with_source: bool = False) -> pd.DataFrame:
        """Canonical responses of the active sources (optionally of some years), in source-row order."""
        with self.engine.connect() as conn:
            ids = self._active_ids(conn, "responses")
            col_lists = conn.execute(sa.select(source_files.c.columns)
                                     .where(source_files.c.id.in_(ids))).scalars().all() if ids else []
            present: list[str] = []
            for cols in col_lists:
                present += [c for c in (cols or []) if c not in present]
            items = [c for c in present if c.startswith("q_")] if col_lists else list(CONTRACT_ITEMS)
            fixed = [c for c in items if c in CONTRACT_ITEMS]
            extra = [c for c in items if c not in CONTRACT_ITEMS]
            names = ["source_file_id", *RESPONSE_BASE, *fixed, "source_row"] + (["extra_items"] if extra else [])
            stmt = (sa.select(*[responses.c[n] for n in names])
                    .where(responses.c.source_file_id.in_(ids or [-1]))
                    .order_by(responses.c.source_file_id, responses.c.source_row))
            if years is not None:
                stmt = stmt.where(responses.c.year.in_([int(y) for y in years] or [-1]))
            arrow_types = {n: _arrow_type(responses.c[n]) for n in names}
            dtypes = {**RESPONSE_BASE, **{q: "Int64" for q in fixed}, "source_row": "int64",
                      "source_file_id": "int64"}
            df = self._bulk_select(conn, stmt, arrow_types, dtypes)
        if extra:
            parsed = [json.loads(s) if s else {} for s in df.pop("extra_items").tolist()]
            for c in extra:
                df[c] = pd.array([d.get(c) for d in parsed], dtype="Int64")
        order = [*RESPONSE_BASE, *items, "source_row"]
        df = df[(["source_file_id"] if with_source else []) + order]
        return df.reset_index(drop=True)

    def population(self, years: Sequence[int] | None = None) -> pd.DataFrame:
        """Population (calibration targets) of the active sources, in file order."""
        names = list(POPULATION_DTYPES)
        with self.engine.connect() as conn:
            ids = self._active_ids(conn, "population")
            stmt = (sa.select(*[population.c[n] for n in names])
                    .where(population.c.source_file_id.in_(ids or [-1]))
                    .order_by(population.c.source_file_id, population.c.row_no))
            if years is not None:
                stmt = stmt.where(population.c.year.in_([int(y) for y in years] or [-1]))
            df = self._bulk_select(conn, stmt, {n: _arrow_type(population.c[n]) for n in names},
                                   POPULATION_DTYPES)
        return df.reset_index(drop=True)

    def free_text(self) -> pd.DataFrame:
        """Free-text comments of the active response sources (personal data: never publish)."""
        names = ["source_file_id", *FREE_TEXT_DTYPES]
        with self.engine.connect() as conn:
            ids = self._active_ids(conn, "responses")
            stmt = (sa.select(*[free_text.c[n] for n in names])
                    .where(free_text.c.source_file_id.in_(ids or [-1])).order_by(free_text.c.id))
            return self._bulk_select(conn, stmt, {n: _arrow_type(free_text.c[n]) for n in names},
                                     {"source_file_id": "int64", **FREE_TEXT_DTYPES})

    def quarantine(self, source_file_id: int | None = None) -> pd.DataFrame:
        """Quarantined rows of one source, or of every active source when ``source_file_id`` is None."""
        names = ["source_file_id", *QUARANTINE_COLUMNS]
        with self.engine.connect() as conn:
            if source_file_id is None:
                ids = self._active_ids(conn, "responses") + self._active_ids(conn, "population")
            else:
                ids = [int(source_file_id)]
            stmt = (sa.select(*[quarantine.c[n] for n in names])
                    .where(quarantine.c.source_file_id.in_(ids or [-1])).order_by(quarantine.c.id))
            return self._bulk_select(conn, stmt, {n: _arrow_type(quarantine.c[n]) for n in names},
                                     {"source_file_id": "int64", **QUARANTINE_DTYPES})

    # -- runs ----------------------------------------------------------------------------------------

    def begin_run(self, parameters: dict, code_version: str, codebook_version: str,
                  input_source_ids: list[int]) -> str:
        """Record a new run (status "running") and its input sources; returns the run id (a uuid4)."""
        run_id = str(uuid.uuid4())
        ids = sorted({int(i) for i in input_source_ids})
        with self._writer.begin() as conn:
            found = set(conn.execute(sa.select(source_files.c.id).where(source_files.c.id.in_(ids or [-1])))
                        .scalars())
            missing = [i for i in ids if i not in found]
            if missing:
                raise StoreError(f"Cannot start the run: source file id(s) {', '.join(map(str, missing))} "
                                 f"are not in the database.")
            conn.execute(runs.insert().values(
                run_id=run_id, started_at=_now(), status="running", code_version=code_version,
                codebook_version=codebook_version, parameters=_clean_json(parameters)))
            if ids:
                conn.execute(run_inputs.insert(), [{"run_id": run_id, "source_file_id": i} for i in ids])
        return run_id

    def fail_run(self, run_id: str, error: str) -> None:
        """Mark a running run as failed with a message."""
        with self._writer.begin() as conn:
            self._running(conn, run_id)
            conn.execute(runs.update().where(runs.c.run_id == run_id)
                         .values(status="failed", finished_at=_now(), error=error))

    def _running(self, conn: Connection, run_id: str) -> None:
        status = conn.execute(sa.select(runs.c.status).where(runs.c.run_id == run_id)).scalar()
        if status is None:
            raise StoreError(f"There is no run {run_id!r} in the database.")
        if status != "running":
            raise StoreError(f"Run {run_id} is already {status}; a finished run's outputs are never changed. "
                             f"Start a new run instead.")

    def save_run_outputs(self, run_id: str, *, weights: pd.DataFrame, diagnostics: pd.DataFrame,
                         estimates: pd.DataFrame, comparisons: pd.DataFrame | None = None,
                         trend: pd.DataFrame | None = None, lineage: dict, finish: bool = True) -> None:
        """Store a run's outputs and lineage (run.json) in one transaction and mark it succeeded (with
        ``finish=False`` the run stays "running" until :meth:`finish_run` or :meth:`fail_run`)."""
        for name, col in (("weights", "resp_id"), ("weights", "year"), ("weights", "weight"),
                          ("estimates", "indicator")):
            frame = weights if name == "weights" else estimates
            if col not in frame.columns:
                raise StoreError(f"Cannot save run {run_id}: the {name} frame has no column {col!r}.")
        frames = {"diagnostics": diagnostics, "estimates": estimates, "comparisons": comparisons,
                  "trend": trend}
        meta = {name: {"columns": [str(c) for c in df.columns],
                       "dtypes": {str(c): str(t) for c, t in df.dtypes.items()}}
                for name, df in frames.items() if df is not None}
        try:
            with self._writer.begin() as conn:
                self._running(conn, run_id)
                self._bulk_insert(conn, WEIGHTS_TABLE, weights[["resp_id", "year", "weight"]],
                                  {"run_id": run_id})
                for name, df in frames.items():
                    if df is not None and len(df):
                        self._insert_run_table(conn, RUN_TABLES[name], run_id, df)
                done = {"status": "succeeded", "finished_at": _now()} if finish else {}
                conn.execute(runs.update().where(runs.c.run_id == run_id).values(
                    lineage=_clean_json(lineage), outputs_meta=meta, **done))
        except self._data_errors as exc:
            raise StoreError(f"Cannot save the outputs of run {run_id} (nothing was written): "
                             f"{getattr(exc, 'orig', exc)}") from exc

    @staticmethod
    def _insert_run_table(conn: Connection, table: sa.Table, run_id: str, df: pd.DataFrame) -> None:
        fixed = [c for c in _fixed_columns(table) if c in df.columns]
        extra = [c for c in df.columns if c not in fixed]
        records = []
        fixed_cols = [df[c].tolist() for c in fixed]
        extra_cols = [df[c].tolist() for c in extra]
        for i in range(len(df)):
            rec = {"run_id": run_id, **{c: _py(v[i]) for c, v in zip(fixed, fixed_cols)}}
            if extra:
                rec["extras"] = json.dumps({str(c): _py(v[i]) for c, v in zip(extra, extra_cols)},
                                           default=_json_default, ensure_ascii=False)
            records.append(rec)
        keys = ["run_id", *fixed] + (["extras"] if extra else [])
        conn.execute(table.insert(), [{k: r.get(k) for k in keys} for r in records])

    def finish_run(self, run_id: str, lineage: dict) -> None:
        """Mark a run whose outputs were saved with ``finish=False`` as succeeded, with its final lineage."""
        with self._writer.begin() as conn:
            self._running(conn, run_id)
            conn.execute(runs.update().where(runs.c.run_id == run_id).values(
                status="succeeded", finished_at=_now(), lineage=_clean_json(lineage)))

    def runs(self) -> pd.DataFrame:
        """Every run, oldest first, with its input source ids."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(runs).order_by(runs.c.started_at)).mappings().all()
            inputs = conn.execute(sa.select(run_inputs)).all()
        by_run: dict[str, list[int]] = {}
        for r in inputs:
            by_run.setdefault(r.run_id, []).append(r.source_file_id)
        cols = [c.name for c in runs.columns if c.name != "outputs_meta"] + ["input_source_ids"]
        return pd.DataFrame([{**{k: v for k, v in r.items() if k != "outputs_meta"},
                              "input_source_ids": sorted(by_run.get(r["run_id"], []))} for r in rows],
                            columns=cols)

    def run_outputs(self, run_id: str) -> RunOutputs:
        """A run's record and outputs, with the columns and dtypes they were saved with."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(runs).where(runs.c.run_id == run_id)).mappings().first()
            if row is None:
                raise StoreError(f"There is no run {run_id!r} in the database.")
            inputs = sorted(conn.execute(sa.select(run_inputs.c.source_file_id)
                                         .where(run_inputs.c.run_id == run_id)).scalars())
            w = self._bulk_select(
                conn, sa.select(weights.c.resp_id, weights.c.year, weights.c.weight)
                .where(weights.c.run_id == run_id).order_by(weights.c.year, weights.c.resp_id),
                {"resp_id": pa.large_string(), "year": pa.int64(), "weight": pa.float64()}, WEIGHT_DTYPES)
            meta = row["outputs_meta"] or {}
            frames = {name: self._read_run_table(conn, table, run_id, meta.get(name))
                      for name, table in RUN_TABLES.items()}
        run = {k: v for k, v in row.items() if k != "outputs_meta"}
        return RunOutputs(run=run, input_source_ids=inputs, weights=w, **frames)

    @staticmethod
    def _read_run_table(conn: Connection, table: sa.Table, run_id: str,
                        meta: dict | None) -> pd.DataFrame | None:
        rows = conn.execute(sa.select(table).where(table.c.run_id == run_id).order_by(table.c.id)).mappings().all()
        if meta is None:
            return None if not rows else pd.DataFrame([dict(r) for r in rows]).drop(columns=["id", "run_id"])
        columns, dtypes = meta["columns"], meta["dtypes"]
        fixed = set(_fixed_columns(table))
        data = {c: [] for c in columns}
        for r in rows:
            extras = json.loads(r["extras"]) if r["extras"] else {}
            for c in columns:
                data[c].append(r[c] if c in fixed else extras.get(c))
        df = pd.DataFrame({c: pd.Series(v, dtype=object) for c, v in data.items()}, columns=columns)
        for c in columns:
            dt = dtypes.get(c)
            try:
                if dt in ("float64", "float32"):
                    df[c] = pd.to_numeric(df[c].astype("Float64"), errors="coerce").astype(dt)
                elif dt:
                    df[c] = df[c].astype(dt)
            except (TypeError, ValueError):
                pass  # keep the stored values as they are rather than fail a read
        return df

    # -- published tables -----------------------------------------------------------------------------

    def publish_table(self, table_id: str, year: int, run_id: str | None, cells: pd.DataFrame,
                      title: str, meta: dict | None = None) -> int:
        """Store a new version of a published table and return its version (1, 2, ...).

        ``cells`` is long format: ``row_key``, ``column_key``, ``value`` (number or NA), optional ``text``
        and ``suppressed`` (default False). A suppressed cell must carry no value. Versions are never
        overwritten.
        """
        for c in ("row_key", "column_key"):
            if c not in cells.columns:
                raise StoreError(f"Cannot publish {table_id} {year}: the cells have no column {c!r}.")
        n = len(cells)
        value = (pd.to_numeric(cells["value"], errors="raise").astype("float64") if "value" in cells.columns
                 else pd.Series(np.nan, index=cells.index))
        supp = (cells["suppressed"].fillna(False).astype(bool) if "suppressed" in cells.columns
                else pd.Series(False, index=cells.index))
        bad = cells.index[supp.to_numpy() & value.notna().to_numpy()]
        if len(bad):
            first = cells.loc[bad[0]]
            raise StoreError(
                f"Cannot publish {table_id} {year}: {len(bad)} suppressed cell(s) carry a value "
                f"(first: row {first['row_key']!r}, column {first['column_key']!r}). Suppressed cells must "
                f"have an empty value; the value must never reach a published table.")
        dup = cells.duplicated(["row_key", "column_key"])
        if dup.any():
            first = cells.loc[dup.idxmax()]
            raise StoreError(f"Cannot publish {table_id} {year}: the cell (row {first['row_key']!r}, "
                             f"column {first['column_key']!r}) appears more than once.")
        text = cells["text"] if "text" in cells.columns else pd.Series([None] * n, index=cells.index)
        pt = published_tables
        for attempt in range(3):
            try:
                with self._writer.begin() as conn:
                    if run_id is not None and conn.execute(
                            sa.select(runs.c.run_id).where(runs.c.run_id == run_id)).first() is None:
                        raise StoreError(f"Cannot publish {table_id} {year}: there is no run {run_id!r}.")
                    version = (conn.execute(sa.select(sa.func.max(pt.c.version))
                                            .where(pt.c.table_id == table_id, pt.c.year == int(year)))
                               .scalar() or 0) + 1
                    conn.execute(pt.insert().values(table_id=table_id, year=int(year), version=version,
                                                    run_id=run_id, created_at=_now(), title=title,
                                                    meta=_clean_json(meta or {})))
                    records = [{"table_id": table_id, "year": int(year), "version": version, "position": i,
                                "row_key": str(r), "column_key": str(c), "value": _py(v), "text": _py(t),
                                "suppressed": bool(s)}
                               for i, (r, c, v, t, s) in enumerate(zip(
                                   cells["row_key"].tolist(), cells["column_key"].tolist(), value.tolist(),
                                   text.tolist(), supp.tolist()))]
                    if records:
                        conn.execute(published_cells.insert(), records)
                return version
            except sa.exc.IntegrityError as exc:
                if attempt == 2:   # a concurrent publisher took the same version twice over
                    raise StoreError(f"Cannot publish {table_id} {year}: {exc.orig}") from exc
        raise AssertionError("unreachable")

    def published_tables(self) -> pd.DataFrame:
        """Every published table version (table_id, year, version, run_id, created_at, title, meta)."""
        pt = published_tables
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(pt).order_by(pt.c.table_id, pt.c.year, pt.c.version)).mappings().all()
        return pd.DataFrame([dict(r) for r in rows], columns=[c.name for c in pt.columns])

    def published_table(self, table_id: str, year: int, version: int | None = None
                        ) -> tuple[dict[str, Any], pd.DataFrame]:
        """A published table's metadata and cells (latest version unless ``version`` is given)."""
        pt, pc = published_tables, published_cells
        with self.engine.connect() as conn:
            stmt = sa.select(pt).where(pt.c.table_id == table_id, pt.c.year == int(year))
            stmt = (stmt.where(pt.c.version == int(version)) if version is not None
                    else stmt.order_by(pt.c.version.desc()).limit(1))
            row = conn.execute(stmt).mappings().first()
            if row is None:
                what = f"version {version} of " if version is not None else ""
                raise StoreError(f"There is no {what}published table {table_id!r} for {year}.")
            rows = conn.execute(sa.select(pc.c.row_key, pc.c.column_key, pc.c.value, pc.c.text, pc.c.suppressed)
                                .where(pc.c.table_id == table_id, pc.c.year == int(year),
                                       pc.c.version == row["version"]).order_by(pc.c.position)).all()
        cells = pd.DataFrame(rows, columns=["row_key", "column_key", "value", "text", "suppressed"])
        cells = cells.astype({"row_key": STR, "column_key": STR, "value": "float64", "text": STR,
                              "suppressed": "bool"})
        return dict(row), cells
