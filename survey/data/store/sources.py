"""The stored source files: every version, its status and lineage (``trygghet sources list|withdraw|replace``).

Each row of ``source_files`` is one file version. ``status`` is

* ``active``: read by every command (at most one active version covers a year of a kind);
* ``replaced``: a newer version took its place; ``superseded_by`` names it;
* ``withdrawn``: taken out of use (``withdraw_source``), e.g. a file found to be truncated.

``version`` counts the versions of a file's wave: a replacement gets one more than the version it replaces.
``status_changed_at``, ``status_changed_by`` and ``status_reason`` say when, by whom and why the status last
changed. Nothing is ever deleted: a withdrawn or replaced version keeps its rows, its quarantine and the runs
that used it, and loading it again with ``--replace`` makes it active again.

A failing run does not roll its wave back (the load is its own transaction, and the data are kept to be
inspected and run again); instead :meth:`SourceRegistry.sources` shows, for every version, the number of runs
that used it and the status of the latest (``last_run_status``: ``failed`` marks a wave whose run failed,
``None`` a wave no run has used yet).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import sqlalchemy as sa

from survey.errors import StoreError

from .loading import WaveLoader, check_part, insert_source, part_reading, same_reading, set_status, stored_readings
from .reads import source_row
from .schema import run_inputs, runs, source_files
from .values import attr, key_years

STATUS_SV = {"active": "aktiv", "replaced": "ersatt", "withdrawn": "återkallad"}  # a source's status in a message

SOURCE_LIST_COLUMNS: tuple[str, ...] = (
    "status",
    "version",
    "replaces",
    "status_changed_at",
    "status_changed_by",
    "status_reason",
    "runs",
    "last_run_id",
    "last_run_status",
)


@dataclass
class SourceReplacement:
    """What ``replace_source`` did: ``old_id`` is now ``replaced`` by ``new_id`` (status "replaced"), or the
    file was the stored one already (status "unchanged")."""

    status: str
    kind: str
    old_id: int
    new_id: int
    old_years: str
    new_years: str
    rows_accepted: int
    rows_quarantined: int
    notes: list[str] = field(default_factory=list)


def _run_summary(conn: sa.Connection) -> pd.DataFrame:
    """Per source id: number of runs that used it, and the id and status of the latest."""
    rows = conn.execute(
        sa.select(run_inputs.c.source_file_id, runs.c.run_id, runs.c.status, runs.c.started_at).join(
            runs, runs.c.run_id == run_inputs.c.run_id
        )
    ).all()
    df = pd.DataFrame(rows, columns=["id", "run_id", "status", "started_at"])
    if df.empty:
        return pd.DataFrame(columns=["runs", "last_run_id", "last_run_status"], index=pd.Index([], name="id"))
    last = df.sort_values(["started_at", "run_id"]).groupby("id").tail(1).set_index("id")
    return pd.DataFrame(
        {"runs": df.groupby("id").size(), "last_run_id": last["run_id"], "last_run_status": last["status"]}
    )


class SourceRegistry(WaveLoader):
    """Listing, withdrawing and replacing stored source file versions."""

    def sources(self, kind: str | None = None) -> pd.DataFrame:
        """Every stored source version (active, replaced and withdrawn), oldest first, with its lineage
        (``superseded_by``, ``replaces``) and the runs that used it (see the module docstring)."""
        sf = source_files
        with self.reading("läsa källfilerna") as conn:
            stmt = sa.select(sf).order_by(sf.c.id)
            if kind is not None:
                stmt = stmt.where(sf.c.kind == kind)
            rows = conn.execute(stmt).mappings().all()
            summary = _run_summary(conn)
        base = [c.name for c in sf.columns if c.name not in SOURCE_LIST_COLUMNS]
        df = pd.DataFrame([dict(r) for r in rows], columns=[c.name for c in sf.columns])
        by = df.dropna(subset=["superseded_by"]).groupby("superseded_by")["id"]
        replaces = {int(float(str(k))): ",".join(str(int(i)) for i in sorted(v)) for k, v in by}
        df["replaces"] = [replaces.get(int(i), "") for i in df["id"]]
        df = df.join(summary, on="id")
        df["runs"] = df["runs"].fillna(0)
        df = df[base + list(SOURCE_LIST_COLUMNS)]
        return df.astype(
            {
                "id": "int64",
                "active": "bool",
                "superseded_by": "Int64",
                "n_rows": "Int64",
                "version": "int64",
                "runs": "int64",
            }
        )

    def source(self, source_id: int) -> dict[str, Any]:
        """One stored source version (its ``source_files`` row: kind, name, years, status, ...)."""
        with self.reading("läsa källfilen") as conn:
            return dict(source_row(conn, source_id)._mapping)

    def withdraw_source(self, source_id: int, *, reason: str | None = None, by: str | None = None) -> dict[str, Any]:
        """Take an active source version out of use (its rows stay; ``--replace`` loads it again).

        Returns the source's row after the change.
        """
        with self.writing("dra tillbaka källfilen") as conn:
            row = source_row(conn, source_id)
            if row.status != "active":
                now_is = f"ersatt av källa {row.superseded_by}" if row.status == "replaced" else "tillbakadragen"
                raise StoreError(f"Källa {source_id} ({row.name!r}) används redan inte: den är {now_is}.")
            set_status(conn, [int(source_id)], "withdrawn", by=by, reason=reason or "tillbakadragen")
            return dict(source_row(conn, source_id)._mapping)

    def replace_source(
        self, source_id: int, part: Any, *, reason: str | None = None, by: str | None = None
    ) -> SourceReplacement:
        """Replace the active source ``source_id`` by a validated file of the same kind (an ``IngestResult``
        of ``survey.data.ingest.read_responses``/``read_population``), in one transaction.

        The new file may cover other years than the old one (the user named the version to replace), but
        not years of another active file of its kind. The old version stays, status ``replaced``.
        """
        with self.writing("ersätta källfilen") as conn:
            old = source_row(conn, source_id)
            if old.status != "active":
                raise StoreError(
                    f"Källa {source_id} ({old.name!r}) är inte aktiv ({STATUS_SV.get(old.status, old.status)}); "
                    f"bara den gällande versionen kan ersättas (se `trygghet sources list`)."
                )
            name, sha, key = check_part(old.kind, part)
            readings = stored_readings(conn, old.kind, sha)
            existing = same_reading(readings, part_reading(part))
            if existing is not None and existing.id == old.id:
                return SourceReplacement(
                    "unchanged",
                    old.kind,
                    old.id,
                    old.id,
                    old.years,
                    key,
                    0,
                    0,
                    [f"{name} är redan den sparade versionen av källa {old.id}"],
                )
            self._refuse_others(conn, old, name, key)
            if existing is not None:
                new_id = existing.id
                set_status(conn, [new_id], "active", by=by, reason=f"ersätter källa {old.id}")
            else:
                new_id = insert_source(conn, old.kind, part, key, old.version + 1, another_reading=bool(readings))
            set_status(
                conn, [old.id], "replaced", by=by, superseded_by=new_id, reason=reason or f"ersatt av källa {new_id}"
            )
        data, q = attr(part, "data"), attr(part, "quarantine")
        return SourceReplacement(
            "replaced",
            old.kind,
            old.id,
            new_id,
            old.years,
            key,
            0 if data is None else len(data),
            0 if q is None else len(q),
            [f"{old.kind}: källa {new_id} ersätter källa {old.id}"],
        )

    @staticmethod
    def _refuse_others(conn: sa.Connection, old: Any, name: str, key: str) -> None:
        sf = source_files
        years = key_years(key)
        others = conn.execute(
            sa.select(sf.c.id, sf.c.name, sf.c.years).where(
                sf.c.kind == old.kind, sf.c.status == "active", sf.c.id != old.id
            )
        ).all()
        clash = [o for o in others if o.years == key or key_years(o.years) & years]
        if clash:
            o = clash[0]
            raise StoreError(
                f"{name}: filens år {key} överlappar en annan aktiv källa, {o.name!r} (källa {o.id}, "
                f"år {o.years}). Ersätt den källan i stället, eller dra tillbaka den först."
            )
