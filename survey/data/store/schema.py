"""The database tables (SQLAlchemy 2 Core) and the canonical dtypes they hold.

The Alembic scripts in ``survey/data/migrations`` create exactly these tables (a test compares them);
``metadata`` is what Alembic's autogenerate compares against. Tables by concept:

* sources: ``source_files`` (one row per stored file version, with its status and lineage);
* wave data: ``responses``, ``free_text`` (personal data, never published), ``quarantine``, ``population``;
* runs: ``runs``, ``run_inputs`` (which source versions a run used), ``run_steps`` (which steps are done),
  ``weights`` (per respondent, with the design arrays), ``run_designs`` (the small parts of the design),
  and the run-output tables ``weight_diagnostics``, ``estimates``, ``estimates_by_group``,
  ``problem_index``, ``comparisons``, ``trend``;
* publication: ``published_tables`` and ``published_cells`` (immutable; database triggers refuse UPDATE and
  DELETE) and, from migration 0003, the SQL views of :mod:`survey.data.store.published`.

The bulk tables (``responses``, ``free_text``, ``quarantine``, ``weights``) go without FOREIGN KEYs:
PostgreSQL checks one per row with a trigger, which halves COPY throughput; the store writes them only
with the id it has just inserted in the same transaction, and never deletes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

# --- the contract's items and canonical dtypes ------------------------------------------------------

#: Every item of data contract v1, in contract order. Each has its own SMALLINT column.
CONTRACT_ITEMS: tuple[str, ...] = (
    "q_safe_after_dark",
    "q_worry_crime",
    "q_problem_littering",
    "q_problem_dark_places",
    "q_problem_graffiti",
    "q_problem_vandalism",
    "q_problem_youth_groups",
    "q_problem_drug_dealing",
    "q_problem_drunk_people",
    "q_problem_traffic",
    "q_victim_violence",
    "q_victim_theft",
    "q_victim_vandalism",
    "q_police_care",
)

STR = pd.StringDtype(na_value=np.nan)  # pandas 3 default ``str`` dtype

#: Canonical responses columns before the items, with their pandas dtypes.
RESPONSE_BASE: dict[str, Any] = {
    "resp_id": STR,
    "year": "int64",
    "district": STR,
    "sex": "int64",
    "age_group": STR,
    "born_abroad": "Int64",
    "design_weight": "float64",
}
POPULATION_DTYPES: dict[str, Any] = {
    "year": "int64",
    "district": STR,
    "sex": "int64",
    "age_group": STR,
    "population": "int64",
}
QUARANTINE_COLUMNS: tuple[str, ...] = (
    "file",
    "source_row",
    "resp_id",
    "year",
    "column",
    "value",
    "check",
    "reason",
    "record",
)
QUARANTINE_DTYPES: dict[str, Any] = {
    "file": STR,
    "source_row": "Int64",
    "resp_id": STR,
    "year": "Int64",
    "column": STR,
    "value": STR,
    "check": STR,
    "reason": STR,
    "record": STR,
}
FREE_TEXT_DTYPES: dict[str, Any] = {"resp_id": STR, "year": "Int64", "comment": STR}
WEIGHT_DTYPES: dict[str, Any] = {"resp_id": STR, "year": "int64", "weight": "float64"}
KINDS = ("responses", "population")

# --- tables -------------------------------------------------------------------------------------------

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)
TS = sa.DateTime(timezone=True)
DOUBLE: sa.Double[float] = sa.Double()


def source_id_column(foreign_key: bool = True) -> sa.Column[Any]:
    """``source_file_id`` (without FOREIGN KEY on the bulk tables, see the module docstring)."""
    fk = [sa.ForeignKey("source_files.id")] if foreign_key else []
    return sa.Column("source_file_id", sa.Integer, *fk, nullable=False)


def run_id_column(primary_key: bool = False, foreign_key: bool = True) -> sa.Column[Any]:
    """``run_id`` (without FOREIGN KEY on the bulk ``weights`` table)."""
    fk = [sa.ForeignKey("runs.run_id")] if foreign_key else []
    return sa.Column("run_id", sa.String(36), *fk, nullable=False, primary_key=primary_key)


source_files = sa.Table(
    "source_files",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("sha256", sa.String(64), nullable=False),  # identity: the file's hash (for a later reading: of both)
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
    sa.Column("years", sa.Text, nullable=False),  # wave key: sorted years, comma separated
    sa.Column("columns", sa.JSON),  # column order of the canonical frame
    sa.Column("notes", sa.JSON),
    sa.Column("loaded_at", TS, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),  # == (status == 'active'), kept for old readers
    sa.Column("superseded_by", sa.Integer, sa.ForeignKey("source_files.id")),
    sa.Column("status", sa.String(16), nullable=False, server_default="active"),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("status_changed_at", TS),
    sa.Column("status_changed_by", sa.Text),
    sa.Column("status_reason", sa.Text),
    sa.Column("file_sha256", sa.String(64)),  # the file's bytes (migration 0007; empty before)
    sa.Column("reading", sa.String(64)),  # digest of how it was read (survey.data.reading; empty before 0007)
    sa.UniqueConstraint("kind", "sha256", name="uq_source_files_kind_sha256"),
    sa.CheckConstraint("kind IN ('responses', 'population')", name="kind"),
    sa.CheckConstraint("status IN ('active', 'replaced', 'withdrawn')", name="status"),  # SQLite: triggers
    sa.Index("ix_source_files_kind_status", "kind", "status"),
)

responses = sa.Table(
    "responses",
    metadata,
    source_id_column(foreign_key=False),
    sa.Column("source_row", sa.Integer, nullable=False),
    sa.Column("resp_id", sa.Text, nullable=False),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("district", sa.Text, nullable=False),
    sa.Column("sex", sa.SmallInteger, nullable=False),
    sa.Column("age_group", sa.Text, nullable=False),
    sa.Column("born_abroad", sa.SmallInteger),
    sa.Column("design_weight", DOUBLE),
    *[sa.Column(q, sa.SmallInteger) for q in CONTRACT_ITEMS],
    sa.Column("extra_items", sa.Text),  # JSON object of items outside the contract
    sa.PrimaryKeyConstraint("source_file_id", "source_row"),
)

free_text = sa.Table(
    "free_text",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    source_id_column(foreign_key=False),
    sa.Column("resp_id", sa.Text),
    sa.Column("year", sa.Integer),
    sa.Column("comment", sa.Text),
    sa.Index("ix_free_text_source_file_id", "source_file_id"),
)

quarantine = sa.Table(
    "quarantine",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    source_id_column(foreign_key=False),
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
    "population",
    metadata,
    source_id_column(),
    sa.Column("row_no", sa.Integer, nullable=False),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("district", sa.Text, nullable=False),
    sa.Column("sex", sa.SmallInteger, nullable=False),
    sa.Column("age_group", sa.Text, nullable=False),
    sa.Column("population", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("source_file_id", "row_no"),
    sa.UniqueConstraint("source_file_id", "year", "district", "sex", "age_group", name="uq_population_cell"),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("run_id", sa.String(36), primary_key=True),
    sa.Column("started_at", TS, nullable=False),
    sa.Column("finished_at", TS),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("code_version", sa.Text),
    sa.Column("codebook_version", sa.Text),
    sa.Column("parameters", sa.JSON),
    sa.Column("lineage", sa.JSON),
    sa.Column("outputs_meta", sa.JSON),  # column order and dtypes of each output frame
    sa.Column("error", sa.Text),
    sa.Column("codebook_name", sa.Text),
    sa.Column("years", sa.Text),  # the years the run covers ("" or NULL: all)
    sa.CheckConstraint("status IN ('running', 'succeeded', 'failed')", name="status"),
    sa.Index("ix_runs_started_at", "started_at"),
)

run_inputs = sa.Table(
    "run_inputs",
    metadata,
    run_id_column(primary_key=True),
    sa.Column("source_file_id", sa.Integer, sa.ForeignKey("source_files.id"), primary_key=True),
    sa.Index("ix_run_inputs_source_file_id", "source_file_id"),
)

run_steps = sa.Table(
    "run_steps",
    metadata,
    run_id_column(primary_key=True),
    sa.Column("step", sa.String(32), primary_key=True),
    sa.Column("finished_at", TS, nullable=False),
    sa.Column("seconds", DOUBLE),
    sa.Column("meta", sa.JSON),
)

run_designs = sa.Table(
    "run_designs",
    metadata,
    run_id_column(primary_key=True),
    sa.Column("design", sa.JSON),  # strata labels, lonely-PSU policy, calibration model
    sa.Column("calibration", sa.JSON),  # summary: iterations, margin errors, notes
)

weights = sa.Table(
    "weights",
    metadata,
    run_id_column(foreign_key=False),
    sa.Column("resp_id", sa.Text, nullable=False),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("weight", DOUBLE),
    sa.Column("position", sa.Integer),  # row order of the weighted frame
    sa.Column("design_weight", DOUBLE),
    sa.Column("stratum", sa.Integer),
    sa.Column("psu", sa.Integer),
    sa.Column("fpc", DOUBLE),
    sa.Column("cal_block", sa.Integer),
    sa.Column("cal_cell", sa.Integer),
    sa.PrimaryKeyConstraint("run_id", "year", "resp_id"),
)


def _output_table(name: str, *columns: sa.Column[Any]) -> sa.Table:
    """A small run-output table: ``id``, ``run_id``, the fixed columns and ``extras`` (JSON of any other
    column of the frame)."""
    return sa.Table(
        name,
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        run_id_column(),
        *columns,
        sa.Column("extras", sa.Text),
        sa.Index(f"ix_{name}_run_id", "run_id"),
    )


def _estimate_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("estimate", DOUBLE),
        sa.Column("se", DOUBLE),
        sa.Column("ci_low", DOUBLE),
        sa.Column("ci_high", DOUBLE),
        sa.Column("n", sa.Integer),
        sa.Column("suppressed", sa.Boolean),
        sa.Column("df", DOUBLE),
        sa.Column("deff", DOUBLE),
    ]


def _domain_columns() -> list[sa.Column[Any]]:
    return [sa.Column("year", sa.Integer), sa.Column("district", sa.Text), sa.Column("indicator", sa.Text)]


weight_diagnostics = _output_table(
    "weight_diagnostics",
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
)

estimates = _output_table("estimates", *_domain_columns(), *_estimate_columns())

comparisons = _output_table(
    "comparisons",
    *_domain_columns(),
    sa.Column("comparison", sa.Text),
    sa.Column("other", sa.Text),
    sa.Column("difference", DOUBLE),
    sa.Column("se", DOUBLE),
    sa.Column("ci_low", DOUBLE),
    sa.Column("ci_high", DOUBLE),
    sa.Column("p_value", DOUBLE),
    sa.Column("p_adjusted", DOUBLE),
    sa.Column("significant", sa.Boolean),
)

trend = _output_table(
    "trend",
    sa.Column("indicator", sa.Text),
    sa.Column("term", sa.Text),
    sa.Column("estimate", DOUBLE),
    sa.Column("se", DOUBLE),
    sa.Column("model", sa.Text),
    sa.Column("district", sa.Text),
    sa.Column("frame", sa.String(32), nullable=False, server_default="trend"),
)

estimates_by_group = _output_table(
    "estimates_by_group",
    *_domain_columns(),
    sa.Column("domain", sa.Text),
    sa.Column("group", sa.Text),
    *_estimate_columns(),
)

problem_index = _output_table("problem_index", *_domain_columns(), *_estimate_columns())

published_tables = sa.Table(
    "published_tables",
    metadata,
    sa.Column("table_id", sa.Text, nullable=False),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("run_id", sa.String(36), sa.ForeignKey("runs.run_id")),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("title", sa.Text),
    sa.Column("meta", sa.JSON),
    sa.PrimaryKeyConstraint("table_id", "year", "version"),
    sa.Index("ix_published_tables_run_id", "run_id"),
)

published_cells = sa.Table(
    "published_cells",
    metadata,
    sa.Column("table_id", sa.Text, nullable=False),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("position", sa.Integer, nullable=False),  # order of the cell in the published frame
    sa.Column("row_key", sa.Text, nullable=False),
    sa.Column("column_key", sa.Text, nullable=False),
    sa.Column("value", DOUBLE),
    sa.Column("text", sa.Text),
    sa.Column("suppressed", sa.Boolean, nullable=False),
    sa.PrimaryKeyConstraint("table_id", "year", "version", "row_key", "column_key"),
    sa.ForeignKeyConstraint(
        ["table_id", "year", "version"],
        ["published_tables.table_id", "published_tables.year", "published_tables.version"],
        name="fk_published_cells_table",
    ),
    sa.CheckConstraint("NOT (suppressed AND value IS NOT NULL)", name="suppressed_without_value"),
)

#: A run's output frames and the table each is stored in. Frames of the ``trend`` table are told apart by
#: its ``frame`` column (the frame's name).
RUN_FRAMES: dict[str, sa.Table] = {
    "diagnostics": weight_diagnostics,
    "estimates": estimates,
    "comparisons": comparisons,
    "by_group": estimates_by_group,
    "index": problem_index,
    "trend": trend,
    "trend_shares": trend,
    "trend_districts": trend,
    "trend_tests": trend,
}

#: Tables holding personal data or respondent-level values: never readable by ``report_reader``.
PRIVATE_TABLES: tuple[sa.Table, ...] = (responses, free_text, quarantine, weights, population, run_designs)

#: Tables ``report_reader`` may read (with the SQL views of migration 0003 and ``alembic_version``).
#: ``source_files`` holds names, hashes and years of the input files, which every published table names.
REPORT_TABLES: tuple[sa.Table, ...] = (
    published_tables,
    published_cells,
    runs,
    run_inputs,
    run_steps,
    estimates,
    comparisons,
    trend,
    estimates_by_group,
    problem_index,
    weight_diagnostics,
    source_files,
)


def fixed_columns(table: sa.Table) -> list[str]:
    """The columns of a run-output table a frame's values go to directly (the rest go to ``extras``)."""
    return [c.name for c in table.columns if c.name not in ("id", "run_id", "extras", "frame")]
