"""Reading the stored waves back as canonical frames (ARCHITECTURE.md dtypes, source-row order).

Reads return the *active* source versions unless given ``source_ids`` (a run reads exactly the versions it
used, see :meth:`survey.data.store.runs.RunStore.run_responses`). The statements are built by the public
``*_query`` functions, which the index test explains (every one of them must be answered from an index).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from survey.errors import StoreError

from .bulk import arrow_types, bulk_select
from .engine import Database
from .schema import (
    CONTRACT_ITEMS,
    FREE_TEXT_DTYPES,
    POPULATION_DTYPES,
    QUARANTINE_COLUMNS,
    QUARANTINE_DTYPES,
    RESPONSE_BASE,
    free_text,
    population,
    quarantine,
    responses,
    source_files,
)


def _ids(ids: Sequence[int]) -> list[int]:
    return [int(i) for i in ids] or [-1]


def active_ids_query(kind: str) -> sa.Select[Any]:
    """Ids of the active source versions of one kind, oldest first."""
    sf = source_files
    return sa.select(sf.c.id).where(sf.c.kind == kind, sf.c.status == "active").order_by(sf.c.id)


def responses_query(ids: Sequence[int], names: Sequence[str], years: Sequence[int] | None) -> sa.Select[Any]:
    """Columns ``names`` of the responses of some sources (optionally some years), in source-row order."""
    stmt = (
        sa.select(*[responses.c[n] for n in names])
        .where(responses.c.source_file_id.in_(_ids(ids)))
        .order_by(responses.c.source_file_id, responses.c.source_row)
    )
    if years is not None:
        stmt = stmt.where(responses.c.year.in_([int(y) for y in years] or [-1]))
    return stmt


def population_query(ids: Sequence[int], years: Sequence[int] | None) -> sa.Select[Any]:
    """The population rows of some sources (optionally some years), in file order."""
    stmt = (
        sa.select(*[population.c[n] for n in POPULATION_DTYPES])
        .where(population.c.source_file_id.in_(_ids(ids)))
        .order_by(population.c.source_file_id, population.c.row_no)
    )
    if years is not None:
        stmt = stmt.where(population.c.year.in_([int(y) for y in years] or [-1]))
    return stmt


def free_text_query(ids: Sequence[int]) -> sa.Select[Any]:
    """The free-text comments of some sources."""
    names = ["source_file_id", *FREE_TEXT_DTYPES]
    return (
        sa.select(*[free_text.c[n] for n in names])
        .where(free_text.c.source_file_id.in_(_ids(ids)))
        .order_by(free_text.c.id)
    )


def source_row(conn: Connection, source_id: int) -> Any:
    """The ``source_files`` row of ``source_id``; a :class:`StoreError` naming it when there is none."""
    row = conn.execute(sa.select(source_files).where(source_files.c.id == int(source_id))).first()
    if row is None:
        raise StoreError(f"Det finns ingen källfil med id {source_id} i databasen (se `trygghet sources list`).")
    return row


def quarantine_query(ids: Sequence[int]) -> sa.Select[Any]:
    """The quarantine records of some sources."""
    names = ["source_file_id", *QUARANTINE_COLUMNS]
    return (
        sa.select(*[quarantine.c[n] for n in names])
        .where(quarantine.c.source_file_id.in_(_ids(ids)))
        .order_by(quarantine.c.id)
    )


def active_ids(conn: Connection, kind: str) -> list[int]:
    """Ids of the active source versions of one kind."""
    return list(conn.execute(active_ids_query(kind)).scalars())


def _item_columns(conn: Connection, ids: list[int]) -> list[str]:
    """The items (``q_*``) of some response sources, in the order their files had them."""
    if not ids:
        return list(CONTRACT_ITEMS)
    col_lists = (
        conn.execute(sa.select(source_files.c.columns).where(source_files.c.id.in_(ids)).order_by(source_files.c.id))
        .scalars()
        .all()
    )
    present: list[str] = []
    for cols in col_lists:
        present += [c for c in (cols or []) if c not in present]
    return [c for c in present if c.startswith("q_")]


class WaveReader(Database):
    """Canonical responses, population, free text and quarantine of the stored sources."""

    def active_source_ids(self, years: Sequence[int] | None = None) -> list[int]:
        """Ids of the active responses and population versions (those covering any of ``years``)."""
        with self.reading("läsa källfilerna") as conn:
            sf = source_files
            rows = conn.execute(sa.select(sf.c.id, sf.c.years).where(sf.c.status == "active").order_by(sf.c.id)).all()
        wanted = None if years is None else {str(int(y)) for y in years}
        return [r.id for r in rows if wanted is None or wanted & set(r.years.split(","))]

    def responses(
        self, years: Sequence[int] | None = None, *, with_source: bool = False, source_ids: Sequence[int] | None = None
    ) -> pd.DataFrame:
        """Canonical responses of the active sources (or of ``source_ids``), optionally of some years, in
        source-row order."""
        with self.reading("läsa svaren") as conn:
            ids = active_ids(conn, "responses") if source_ids is None else [int(i) for i in source_ids]
            items = _item_columns(conn, ids)
            fixed = [c for c in items if c in CONTRACT_ITEMS]
            extra = [c for c in items if c not in CONTRACT_ITEMS]
            names = ["source_file_id", *RESPONSE_BASE, *fixed, "source_row"] + (["extra_items"] if extra else [])
            dtypes = {**RESPONSE_BASE, **{q: "Int64" for q in fixed}, "source_row": "int64", "source_file_id": "int64"}
            stmt = responses_query(ids, names, years)
            types = arrow_types(responses, names)
            df = bulk_select(conn, stmt, types, dtypes, order=("source_file_id", "source_row"), large=True)
        if extra:
            parsed = [json.loads(s) if s else {} for s in df.pop("extra_items").tolist()]
            for c in extra:
                df[c] = pd.array([d.get(c) for d in parsed], dtype="Int64")
        order = [*RESPONSE_BASE, *items, "source_row"]
        return df[(["source_file_id"] if with_source else []) + order].reset_index(drop=True)

    def population(
        self, years: Sequence[int] | None = None, *, source_ids: Sequence[int] | None = None
    ) -> pd.DataFrame:
        """Population (calibration targets) of the active sources (or of ``source_ids``), in file order."""
        names = list(POPULATION_DTYPES)
        with self.reading("läsa befolkningen") as conn:
            ids = active_ids(conn, "population") if source_ids is None else [int(i) for i in source_ids]
            df = bulk_select(conn, population_query(ids, years), arrow_types(population, names), POPULATION_DTYPES)
        return df.reset_index(drop=True)

    def free_text(self) -> pd.DataFrame:
        """Free-text comments of the active response sources (personal data: never publish)."""
        names = ["source_file_id", *FREE_TEXT_DTYPES]
        with self.reading("läsa fritextsvaren") as conn:
            return bulk_select(
                conn,
                free_text_query(active_ids(conn, "responses")),
                arrow_types(free_text, names),
                {"source_file_id": "int64", **FREE_TEXT_DTYPES},
            )

    def quarantine(self, source_file_id: int | None = None) -> pd.DataFrame:
        """Quarantined rows of one source, or of every active source when ``source_file_id`` is None."""
        names = ["source_file_id", *QUARANTINE_COLUMNS]
        with self.reading("läsa karantänen") as conn:
            if source_file_id is None:
                ids = active_ids(conn, "responses") + active_ids(conn, "population")
            else:
                ids = [int(source_row(conn, source_file_id).id)]
            return bulk_select(
                conn,
                quarantine_query(ids),
                arrow_types(quarantine, names),
                {"source_file_id": "int64", **QUARANTINE_DTYPES},
            )
