"""The store's hot queries and their query plans: a store holding many waves and runs must answer every
query of a run on the newest wave from an index, never by scanning the older waves' rows.

:func:`hot_queries` builds the statements the store runs (with the same builders it uses), each with the
index that must answer it; :func:`query_plan` explains a statement (``EXPLAIN QUERY PLAN`` on SQLite,
``EXPLAIN`` with sequential scans disabled on PostgreSQL, so the plan shows whether an index *can* serve the
query, independent of table sizes), :func:`full_scans` lists the tables a plan reads without an index and
:func:`uses_index` says whether a plan is served by the query's index.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .reads import active_ids_query, free_text_query, population_query, quarantine_query, responses_query
from .runs import latest_run_query
from .schema import (
    RESPONSE_BASE,
    RUN_FRAMES,
    published_cells,
    published_tables,
    run_inputs,
    run_steps,
    runs,
    source_files,
    weights,
)

SOURCE_INDEXES = ("ix_source_files_kind_status", "uq_source_files_kind_sha256")


@dataclass(frozen=True)
class HotQuery:
    """A statement of the store and the index (by table and name) that must serve it."""

    statement: sa.Select[Any]
    table: str
    index: str | tuple[str, ...]  # the index (or any of them), "pk" for the table's primary key


def hot_queries(source_id: int, year: int, run_id: str) -> dict[str, HotQuery]:
    """The queries a run on the newest wave (source ``source_id``, year ``year``) and its run ``run_id`` make."""
    names = ["source_file_id", *RESPONSE_BASE, "source_row"]
    out = {
        # both indexes of source_files lead with ``kind``; on small tables the planner may take either
        "active sources": HotQuery(active_ids_query("responses"), "source_files", SOURCE_INDEXES),
        "source by hash": HotQuery(
            sa.select(source_files.c.id).where(source_files.c.kind == "responses", source_files.c.sha256 == "0" * 64),
            "source_files",
            SOURCE_INDEXES,
        ),
        "responses": HotQuery(responses_query([source_id], names, [year]), "responses", "pk"),
        "population": HotQuery(population_query([source_id], [year]), "population", "pk"),
        "free text": HotQuery(free_text_query([source_id]), "free_text", "ix_free_text_source_file_id"),
        "quarantine": HotQuery(quarantine_query([source_id]), "quarantine", "ix_quarantine_source_file_id"),
        "weights": HotQuery(
            sa.select(weights.c.resp_id, weights.c.weight).where(weights.c.run_id == run_id), "weights", "pk"
        ),
        "run inputs": HotQuery(sa.select(run_inputs).where(run_inputs.c.run_id == run_id), "run_inputs", "pk"),
        "runs of a source": HotQuery(
            sa.select(run_inputs.c.run_id).where(run_inputs.c.source_file_id == source_id),
            "run_inputs",
            "ix_run_inputs_source_file_id",
        ),
        "run steps": HotQuery(sa.select(run_steps).where(run_steps.c.run_id == run_id), "run_steps", "pk"),
        "run": HotQuery(sa.select(runs).where(runs.c.run_id == run_id), "runs", "pk"),
        "latest run": HotQuery(latest_run_query(("succeeded",), False), "runs", "ix_runs_started_at"),
        "published table": HotQuery(
            sa.select(published_tables)
            .where(published_tables.c.table_id == "district_x", published_tables.c.year == year)
            .order_by(published_tables.c.version.desc())
            .limit(1),
            "published_tables",
            "pk",
        ),
        "published cells": HotQuery(
            sa.select(published_cells).where(
                published_cells.c.table_id == "district_x",
                published_cells.c.year == year,
                published_cells.c.version == 1,
            ),
            "published_cells",
            "pk",
        ),
    }
    for name, table in RUN_FRAMES.items():
        out[f"run frame {name}"] = HotQuery(
            sa.select(table.c.id).where(table.c.run_id == run_id), table.name, f"ix_{table.name}_run_id"
        )
    return out


def _sql(conn: Connection, stmt: sa.Select[Any]) -> str:
    return str(stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))


def query_plan(conn: Connection, stmt: sa.Select[Any]) -> list[str]:
    """The plan of ``stmt``, one line per node (PostgreSQL: with ``enable_seqscan`` off)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        return [r[0] for r in conn.exec_driver_sql("EXPLAIN " + _sql(conn, stmt))]
    return [r[-1] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + _sql(conn, stmt))]


def index_names(table: str, index: str | tuple[str, ...], dialect: str) -> tuple[str, ...]:
    """The names a plan may show for ``index`` of ``table``: "pk" is the primary key's index; on SQLite a
    primary key (not an INTEGER PRIMARY KEY) or the first UNIQUE constraint is ``sqlite_autoindex_<table>_1``."""

    def one(name: str) -> str:
        if dialect == "postgresql":
            return f"pk_{table}" if name == "pk" else name
        return f"sqlite_autoindex_{table}_1" if name == "pk" or name.startswith("uq_") else name

    return tuple(one(n) for n in ((index,) if isinstance(index, str) else index))


def uses_index(plan: list[str], query: HotQuery, dialect: str) -> bool:
    """Whether ``plan`` reads no table in full and uses one of the query's indexes."""
    names = index_names(query.table, query.index, dialect)
    return not full_scans(plan, dialect) and any(n in line for line in plan for n in names)


def full_scans(plan: list[str], dialect: str) -> list[str]:
    """The plan lines that read a table without an index."""
    if dialect == "postgresql":
        return [line for line in plan if "Seq Scan" in line]
    return [
        line
        for line in plan
        if line.startswith("SCAN ") and " INDEX " not in line and "INTEGER PRIMARY KEY" not in line
    ]
