"""The published-table store and its SQL views for report tools.

Tables: ``published_tables`` (one row per version of a table and year: ``table_id``, ``year``, ``version``,
``run_id``, ``created_at``, ``title``, ``meta`` = the layout of ``reports.tables.TableData.meta``) and
``published_cells`` (long format: ``row_key``, ``column_key`` = ``<column>|<statistic>``, ``value``, ``text``
as printed, ``suppressed``). Versions are never overwritten: publishing again creates version + 1, and
database triggers refuse UPDATE and DELETE of published rows. A suppressed cell has no value (CHECK).

Views (``survey/data/store/views.py``, created by migrations 0003–0006; stable: columns are only ever
added), one per table family, documented column by column in ``docs/table-store.md``. Values are as
published: the publisher stores every value rounded to the precision it is shown with (shares and
procentenheter to 0.1 percentage points, odds ratios to 3 decimals, p-values as printed), and the views pass
them through. Shares, changes and differences are proportions (0.274 = 27,4 %). ``n`` is the unweighted
count. A row is ``suppressed`` when its share is; its values are then NULL, and so is every change or
comparison that involves a suppressed cell. Every view ends with ``table_id``, ``version``, ``run_id``,
``published_at``.

=========================== ===============================================================================
view                        rows (tables) and key
=========================== ===============================================================================
``v_published_estimates``   district tables (``district_<indicator>``), the newest publication of each:
                            ``year, district, indicator``; share, CI, ``n``, ``suppressed``, ``change``
                            (since the previous year), ``change_p``, ``change_significant``, ``vs_total_p``,
                            ``vs_total`` (1 above, -1 below, 0 not significantly different Totalt)
``v_published_groups``      indicator-group tables per year (``problems``, ``victimisation``, ``trust``):
                            ``table_id, district, indicator``; the columns of ``v_published_estimates``
``v_published_by_group``    sex and age group per year: ``Totalt`` from ``groups``, every other district
                            from ``groups_<indicator>``: ``year, district, indicator, domain`` (Kön /
                            Åldersgrupp), ``group``; share, CI, ``n``, ``suppressed``
``v_published_answers``     answer distributions (``answers_<item>``): ``year, district, item, code``;
                            ``answer`` (label), share, CI, ``n`` (the item's base), ``suppressed``
``v_published_small_area``  Fay–Herriot model estimates (``small_area``): ``year, district, indicator``;
                            ``model_estimate``, CI, ``suppressed`` (none offered), ``estimate_type``
``v_published_comparisons`` two districts compared per year (``cmp_*``): ``year, indicator, district_a,
                            district_b``; both shares, ``difference``, its CI, ``p_value``, ``significant``
``v_published_trend``       trend per year (``trend``): ``year, indicator``; ``odds_ratio``, CI,
                            ``p_value``, ``significant``
``v_published_cells``       every cell of the current version of each table and year
``v_published_tables``      the current version of each table and year, with its ``kind``
=========================== ===============================================================================

``v_published_district_trends``: per-district trends (``district_trends``), key ``year, district, indicator``;
``pp_per_year`` (procentenheter per year as a proportion), CI, ``p_value``, ``significant``, ``suppressed``.

"Current" is the highest version of a (table, year); ``v_published_estimates`` takes, per district table,
the newest publication (latest ``created_at``), whose columns hold every year of that run. The role
``report_reader`` may read these views (see :mod:`survey.data.store.roles`). Example::

    SELECT year, district, estimate, ci_low, ci_high FROM v_published_estimates
    WHERE indicator = 'unsafe_after_dark' AND NOT suppressed ORDER BY year, district;
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from survey.errors import StoreError

from .bulk import bulk_insert
from .engine import Database
from .runs import mark_succeeded
from .schema import STR, published_cells, published_tables, runs
from .values import clean_json, now

#: The views and their columns, in order (the contract report tools rely on).
PROVENANCE = ("table_id", "version", "run_id", "published_at")
SHARE = ("estimate", "ci_low", "ci_high", "n")
SIGNALS = ("change", "change_p", "change_significant", "vs_total_p", "vs_total")
PUBLISHED_VIEWS: dict[str, tuple[str, ...]] = {
    "v_published_estimates": ("year", "district", "indicator", *SHARE, "suppressed", *SIGNALS, *PROVENANCE),
    "v_published_groups": ("year", "district", "indicator", *SHARE, "suppressed", *SIGNALS, *PROVENANCE),
    "v_published_by_group": ("year", "district", "indicator", "domain", "group", *SHARE, "suppressed", *PROVENANCE),
    "v_published_comparisons": (
        "year",
        "indicator",
        "district_a",
        "district_b",
        *[f"{c}_a" for c in SHARE],
        *[f"{c}_b" for c in SHARE],
        "difference",
        "ci_low",
        "ci_high",
        "p_value",
        "significant",
        "suppressed",
        *PROVENANCE,
    ),
    "v_published_trend": (
        "year",
        "indicator",
        "odds_ratio",
        "ci_low",
        "ci_high",
        "p_value",
        "significant",
        *PROVENANCE,
    ),
    "v_published_answers": ("year", "district", "item", "code", "answer", *SHARE, "suppressed", *PROVENANCE),
    "v_published_small_area": (
        "year",
        "district",
        "indicator",
        "model_estimate",
        "ci_low",
        "ci_high",
        "suppressed",
        "estimate_type",
        *PROVENANCE,
    ),
    "v_published_district_trends": (
        "year",
        "district",
        "indicator",
        "pp_per_year",
        "ci_low",
        "ci_high",
        "p_value",
        "significant",
        "suppressed",
        *PROVENANCE,
    ),
    "v_published_cells": (
        "table_id",
        "kind",
        "year",
        "version",
        "run_id",
        "published_at",
        "position",
        "row_key",
        "column_key",
        "stat",
        "value",
        "text",
        "suppressed",
    ),
    "v_published_tables": ("table_id", "year", "version", "kind", "title", "run_id", "published_at"),
}
#: The row order of :meth:`PublishedStore.published_view` (the columns a view has, in this order).
VIEW_ORDER = ("table_id", "year", "indicator", "item", "district", "domain", "group", "code", "row_key", "position")
_FLAGS = ("suppressed", "change_significant", "significant")
_INTEGERS = ("year", "version", "n", "n_a", "n_b", "position", "vs_total")


def _check_cells(table_id: str, year: int, cells: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(value, suppressed, text) of cells to publish, or a StoreError naming the first bad cell."""
    for c in ("row_key", "column_key"):
        if c not in cells.columns:
            raise StoreError(f"Kan inte publicera {table_id} {year}: cellerna saknar kolumnen {c!r}.")
    value = (
        pd.to_numeric(cells["value"], errors="raise").astype("float64")
        if "value" in cells.columns
        else pd.Series(np.nan, index=cells.index)
    )
    supp = (
        cells["suppressed"].fillna(False).astype(bool)
        if "suppressed" in cells.columns
        else pd.Series(False, index=cells.index)
    )
    bad = cells.index[supp.to_numpy() & value.notna().to_numpy()]
    if len(bad):
        first = cells.loc[bad[0]]
        raise StoreError(
            f"Kan inte publicera {table_id} {year}: {len(bad)} undertryckt(a) cell(er) har ett värde "
            f"(suppressed cell; första: rad {first['row_key']!r}, kolumn {first['column_key']!r}). En "
            f"undertryckt cell ska vara tom; värdet får aldrig nå en publicerad tabell."
        )
    dup = cells.duplicated(["row_key", "column_key"])
    if dup.any():
        first = cells[dup].iloc[0]
        raise StoreError(
            f"Kan inte publicera {table_id} {year}: cellen (rad {first['row_key']!r}, kolumn "
            f"{first['column_key']!r}) finns mer än en gång."
        )
    text = cells["text"] if "text" in cells.columns else pd.Series([None] * len(cells), index=cells.index)
    return value, supp, text


def _require_runs(conn: sa.Connection, tables: Sequence[TableVersion]) -> None:
    """Refuse the publication when a run the tables name is not in the store or has failed (each run
    looked up once; the message names its first table): a failed run's results are never published."""
    first: dict[str, TableVersion] = {}
    for t in tables:
        if t.run_id is not None:
            first.setdefault(t.run_id, t)
    for run_id, t in first.items():
        status = conn.execute(sa.select(runs.c.status).where(runs.c.run_id == run_id)).scalar()
        if status is None:
            raise StoreError(f"Kan inte publicera {t.table_id} {t.year}: det finns ingen körning {run_id!r}.")
        if status == "failed":
            raise StoreError(
                f"Kan inte publicera {t.table_id} {t.year}: körning {run_id} misslyckades, och en misslyckad "
                f"körnings resultat publiceras aldrig. Gör en ny körning."
            )


def _insert_versions(
    conn: sa.Connection, checked: Sequence[tuple[TableVersion, pd.Series, pd.Series, pd.Series]]
) -> list[int]:
    """Insert each table as its next version (one past the stored maximum of its ``table_id`` and year, and
    past an earlier table of the same publication with the same ones) and return the versions. The tables'
    rows go in one statement and every table's cells in one bulk insert (49 tables and 33,000 cells a run:
    a table at a time cost 0.3 s of DataFrames and statements)."""
    pt = published_tables
    tables = [t for t, *_ in checked]
    versions: list[int] = []
    taken: dict[tuple[str, int], int] = {}
    for t in tables:
        key = (t.table_id, int(t.year))
        if key not in taken:
            stored = conn.execute(
                sa.select(sa.func.max(pt.c.version)).where(pt.c.table_id == key[0], pt.c.year == key[1])
            ).scalar()
            taken[key] = int(stored or 0)
        taken[key] += 1
        versions.append(taken[key])
    created = now()
    conn.execute(
        pt.insert(),
        [
            {
                "table_id": t.table_id,
                "year": int(t.year),
                "version": v,
                "run_id": t.run_id,
                "created_at": created,
                "title": t.title,
                "meta": clean_json(t.meta or {}),
            }
            for t, v in zip(tables, versions, strict=True)
        ],
    )
    sizes = [len(t.cells) for t in tables]
    if sum(sizes):  # the cells by the bulk path (NA values and texts as NULL)
        cells = pd.DataFrame(
            {
                "table_id": np.repeat(np.array([t.table_id for t in tables], dtype=object), sizes),
                "year": np.repeat(np.array([int(t.year) for t in tables], dtype=np.int64), sizes),
                "version": np.repeat(np.array(versions, dtype=np.int64), sizes),
                "position": np.concatenate([np.arange(n, dtype=np.int64) for n in sizes]),
                "row_key": [str(r) for t in tables for r in t.cells["row_key"].tolist()],
                "column_key": [str(c) for t in tables for c in t.cells["column_key"].tolist()],
                "value": np.concatenate([value.to_numpy(dtype=np.float64) for _, value, _, _ in checked]),
                "text": [x for *_, text in checked for x in text.tolist()],
                "suppressed": np.concatenate([supp.to_numpy(dtype=bool) for _, _, supp, _ in checked]),
            }
        )
        bulk_insert(conn, published_cells, cells)
    return versions


@dataclass(frozen=True)
class TableVersion:
    """One table to publish as a new version (:meth:`PublishedStore.publish_tables`); ``cells`` as
    :meth:`PublishedStore.publish_table` takes them."""

    table_id: str
    year: int
    run_id: str | None
    cells: pd.DataFrame
    title: str
    meta: dict[str, Any] | None = None


class PublishedStore(Database):
    """Versioned published tables, and the report views over them."""

    def publish_table(
        self,
        table_id: str,
        year: int,
        run_id: str | None,
        cells: pd.DataFrame,
        title: str,
        meta: dict[str, Any] | None = None,
    ) -> int:
        """Store a new version of a published table and return its version (1, 2, ...).

        ``cells`` is long format: ``row_key``, ``column_key``, ``value`` (number or NA), optional ``text``
        and ``suppressed`` (default False). A suppressed cell must carry no value. Versions are never
        overwritten.
        """
        return self.publish_tables([TableVersion(table_id, year, run_id, cells, title, meta)])[0]

    def publish_tables(
        self, tables: Sequence[TableVersion], *, finish: str | None = None, lineage: dict[str, Any] | None = None
    ) -> list[int]:
        """Store a new version of each table (:meth:`publish_table`) in one transaction and return their
        versions: a run's tables are published all together or not at all, so a reader of the views never
        sees half a publication (and one commit instead of one per table: 49 tables a run).

        ``finish``: the running run marked succeeded (with ``lineage``, :meth:`RunStore.finish_run`) in the
        same transaction, so that its tables become current together with the run: a run that fails before
        its end publishes nothing (the views take the newest version, whatever became of its run)."""
        if not tables and finish is None:
            return []
        checked = [(t, *_check_cells(t.table_id, t.year, t.cells)) for t in tables]
        one = tables[0] if len(tables) == 1 else None
        for attempt in range(3):
            try:
                with self.writing("publicera tabellen" if one else "publicera tabellerna") as conn:
                    _require_runs(conn, tables)
                    versions = _insert_versions(conn, checked) if tables else []
                    if finish is not None:
                        mark_succeeded(conn, finish, lineage)
                    return versions
            except (sa.exc.IntegrityError, self.engine.dialect.loaded_dbapi.IntegrityError) as exc:
                if attempt == 2:  # a concurrent publisher took the same version twice over
                    why = getattr(exc, "orig", exc)
                    if one is not None:
                        raise StoreError(f"Kan inte publicera {one.table_id} {one.year}: {why}") from exc
                    raise StoreError(
                        f"Kan inte publicera de {len(tables)} tabellerna (inget publicerades): {why}"
                    ) from exc
        raise StoreError("Kan inte publicera tabellerna.")  # pragma: no cover - the loop returns

    def published_tables(self) -> pd.DataFrame:
        """Every published table version (table_id, year, version, run_id, created_at, title, meta)."""
        pt = published_tables
        with self.reading("läsa de publicerade tabellerna") as conn:
            rows = conn.execute(sa.select(pt).order_by(pt.c.table_id, pt.c.year, pt.c.version)).mappings().all()
        return pd.DataFrame([dict(r) for r in rows], columns=[c.name for c in pt.columns])

    def published_table(
        self, table_id: str, year: int, version: int | None = None
    ) -> tuple[dict[str, Any], pd.DataFrame]:
        """A published table's metadata and cells (latest version unless ``version`` is given)."""
        pt, pc = published_tables, published_cells
        with self.reading("läsa den publicerade tabellen") as conn:
            stmt = sa.select(pt).where(pt.c.table_id == table_id, pt.c.year == int(year))
            stmt = (
                stmt.where(pt.c.version == int(version))
                if version is not None
                else stmt.order_by(pt.c.version.desc()).limit(1)
            )
            row = conn.execute(stmt).mappings().first()
            if row is None:
                what = f"version {version} av " if version is not None else ""
                raise StoreError(f"Det finns ingen {what}publicerad tabell {table_id!r} för {year}.")
            rows = conn.execute(
                sa.select(pc.c.row_key, pc.c.column_key, pc.c.value, pc.c.text, pc.c.suppressed)
                .where(pc.c.table_id == table_id, pc.c.year == int(year), pc.c.version == row["version"])
                .order_by(pc.c.position)
            ).all()
        cells = pd.DataFrame(rows, columns=["row_key", "column_key", "value", "text", "suppressed"])
        cells = cells.astype({"row_key": STR, "column_key": STR, "value": "float64", "text": STR, "suppressed": "bool"})
        return dict(row), cells

    def published_view(self, name: str, where: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """The rows of one report view (``PUBLISHED_VIEWS``), optionally filtered by equal columns, in the
        view's column order; flags as pandas ``boolean`` (NA where the view has NULL)."""
        if name not in PUBLISHED_VIEWS:
            raise StoreError(f"Okänd rapportvy {name!r}; vyerna är {', '.join(PUBLISHED_VIEWS)}.")
        columns = PUBLISHED_VIEWS[name]
        view = sa.table(name, *[sa.column(c) for c in columns])
        stmt = sa.select(*[view.c[c] for c in columns])
        for col, val in (where or {}).items():
            if col not in columns:
                raise StoreError(f"Vyn {name} har ingen kolumn {col!r}; kolumnerna är {', '.join(columns)}.")
            stmt = stmt.where(view.c[col] == val)
        order = [c for c in VIEW_ORDER if c in columns]
        with self.reading(f"läsa rapportvyn {name}") as conn:
            rows = conn.execute(stmt.order_by(*[view.c[c] for c in order])).all()
        df = pd.DataFrame(rows, columns=list(columns))
        for c in _FLAGS:
            if c in df.columns:
                df[c] = df[c].astype("boolean")
        for c in _INTEGERS:
            if c in df.columns:
                df[c] = df[c].astype("Int64")
        return df
