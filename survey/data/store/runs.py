"""Runs: their record, the steps done under a run id, their output frames and their lineage.

A run is created by :meth:`RunStore.begin_run` (status ``running``) with the source versions it reads and
its parameters. Each step then stores its results under the run id, and ``run_steps`` records the step as
done in the same transaction:

* ``weight``: :meth:`survey.data.store.weights.WeightStore.save_weights` (weights, diagnostics, the
  calibration specification and the design);
* ``estimate``: :meth:`RunStore.save_estimates` (estimates, comparisons, by-group estimates, problem index);
* ``trend``: :meth:`RunStore.save_trend` (trend terms, model-based shares, district trends, Wald tests);
* any other step (``publish``): :meth:`RunStore.record_step` with a JSON ``meta``.

A step's outputs are written once: saving a step again, or saving into a run that is no longer running, is a
:class:`StoreError`. :meth:`RunStore.finish_run` / :meth:`RunStore.fail_run` end the run.
:meth:`RunStore.save_run_outputs` stores weight, estimate and trend at once (what ``trygghet run`` does).

Frames keep their exact columns and dtypes: fixed columns of each table hold the values directly, any other
column goes to ``extras`` (JSON, floats written with ``repr``, so they read back exactly), and
``runs.outputs_meta`` records every frame's column order and dtypes.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from survey.errors import StoreError

from .bulk import bulk_insert
from .engine import scrub
from .reads import WaveReader
from .schema import RUN_FRAMES, estimates, fixed_columns, run_inputs, run_steps, runs, source_files
from .values import clean_json, json_records, now, years_key


@dataclass
class RunRecord:
    """A run's record without its data: what the publish step needs besides the frames."""

    run: dict[str, Any]
    sources: pd.DataFrame  # the source versions the run read: id, kind, name, sha256, years, ...
    steps: pd.DataFrame  # step, finished_at, seconds, meta (one row per step done)

    @property
    def run_id(self) -> str:
        return str(self.run["run_id"])

    @property
    def parameters(self) -> dict[str, Any]:
        return self.run.get("parameters") or {}

    @property
    def lineage(self) -> dict[str, Any]:
        return self.run.get("lineage") or {}

    @property
    def codebook(self) -> tuple[str | None, str | None]:
        """(name, version) of the codebook the run used."""
        return self.run.get("codebook_name"), self.run.get("codebook_version")

    @property
    def steps_done(self) -> list[str]:
        return self.steps["step"].tolist()


@dataclass
class RunOutputs:
    """A run's stored record and outputs (frames have the columns and dtypes they were saved with; a frame
    that was not saved is None). ``weights`` is None for a role that may not read respondent weights."""

    run: dict[str, Any]
    input_source_ids: list[int]
    weights: pd.DataFrame | None
    diagnostics: pd.DataFrame | None
    estimates: pd.DataFrame | None
    comparisons: pd.DataFrame | None
    trend: pd.DataFrame | None
    by_group: pd.DataFrame | None = None
    index: pd.DataFrame | None = None
    trend_shares: pd.DataFrame | None = None
    trend_districts: pd.DataFrame | None = None
    trend_tests: pd.DataFrame | None = None
    steps: list[str] = field(default_factory=list)


@dataclass
class RunResults:
    """Everything the ``publish`` step reads from a run id (see ``WeightStore.run_results``)."""

    record: RunRecord
    diagnostics: pd.DataFrame | None = None
    estimates: pd.DataFrame | None = None
    comparisons: pd.DataFrame | None = None
    by_group: pd.DataFrame | None = None
    index: pd.DataFrame | None = None
    trend: pd.DataFrame | None = None
    trend_shares: pd.DataFrame | None = None
    trend_districts: pd.DataFrame | None = None
    trend_tests: pd.DataFrame | None = None


def direct_columns(table: sa.Table, df: pd.DataFrame) -> list[str]:
    """The columns of ``df`` stored in ``table``'s own columns; the others go to ``extras`` (JSON). A text
    column holding other values too (``comparisons.other``: a year or a district) goes to ``extras``, which
    keeps each value's type."""
    out = []
    for c in fixed_columns(table):
        if c not in df.columns:
            continue
        if isinstance(table.c[c].type, sa.String) and df[c].dtype == object:
            values = df[c].dropna()
            if len(values) and not all(isinstance(v, str) for v in values.tolist()):
                continue
        out.append(c)
    return out


def frame_meta(frames: Mapping[str, pd.DataFrame | None]) -> dict[str, Any]:
    """Column order, dtypes and directly stored columns of each frame (what ``read_run_frame`` restores)."""
    return {
        name: {
            "columns": [str(c) for c in df.columns],
            "dtypes": {str(c): str(t) for c, t in df.dtypes.items()},
            "direct": direct_columns(RUN_FRAMES[name], df),
        }
        for name, df in frames.items()
        if df is not None
    }


def insert_run_frame(conn: Connection, table: sa.Table, run_id: str, name: str, df: pd.DataFrame) -> None:
    """Insert a small output frame into its run table (fixed columns direct, the rest to ``extras``, one JSON
    object per row built a column at a time), by the bulk path of the large tables."""
    if not len(df):
        return
    fixed = direct_columns(table, df)
    extra = [c for c in df.columns if c not in fixed]
    tag = {"frame": name} if "frame" in table.c else {}
    frame = df[fixed].reset_index(drop=True)
    frame["extras"] = pd.Series(json_records(df[extra]) if extra else [None] * len(df), dtype=object)
    bulk_insert(conn, table, frame, {"run_id": run_id, **tag})


def _restore_dtypes(df: pd.DataFrame, dtypes: Mapping[str, Any]) -> pd.DataFrame:
    for c in df.columns:
        dt = dtypes.get(c)
        try:
            if dt in ("float64", "float32"):
                df[c] = pd.to_numeric(df[c].astype("Float64"), errors="coerce").astype(dt)
            elif dt:
                df[c] = df[c].astype(dt)
        except (TypeError, ValueError):
            pass  # keep the stored values as they are rather than fail a read
    return df


def read_run_frame(conn: Connection, name: str, run_id: str, meta: Mapping[str, Any] | None) -> pd.DataFrame | None:
    """A frame saved by :func:`insert_run_frame`, with the columns and dtypes of ``meta`` (None when the
    frame was not saved)."""
    table = RUN_FRAMES[name]
    stmt = sa.select(table).where(table.c.run_id == run_id).order_by(table.c.id)
    if "frame" in table.c:
        stmt = stmt.where(table.c.frame == name)
    rows = conn.execute(stmt).mappings().all()
    if meta is None:
        if not rows:
            return None
        return pd.DataFrame([dict(r) for r in rows]).drop(columns=["id", "run_id", "frame"], errors="ignore")
    columns = meta["columns"]
    fixed = set(meta.get("direct", fixed_columns(table)))
    data: dict[str, list[Any]] = {c: [] for c in columns}
    for r in rows:
        extras = json.loads(r["extras"]) if r["extras"] else {}
        for c in columns:
            data[c].append(r[c] if c in fixed else extras.get(c))
    df = pd.DataFrame({c: pd.Series(v, dtype=object) for c, v in data.items()}, columns=columns)
    return _restore_dtypes(df, meta["dtypes"])


def require_running(conn: Connection, run_id: str) -> dict[str, Any]:
    """The run's row; a StoreError unless it exists and is still running."""
    row = conn.execute(sa.select(runs).where(runs.c.run_id == run_id)).mappings().first()
    if row is None:
        raise StoreError(f"Det finns ingen körning {run_id!r} i databasen.")
    if row["status"] != "running":
        raise StoreError(
            f"Körning {run_id} är redan {row['status']} (run is already {row['status']}); en "
            f"avslutad körnings resultat ändras aldrig. Starta en ny körning i stället."
        )
    return dict(row)


def mark_succeeded(conn: Connection, run_id: str, lineage: dict[str, Any] | None = None) -> None:
    """Inside ``conn``: the running run ``run_id`` marked succeeded, with its final lineage (``None`` keeps
    the stored one); a StoreError unless it is running."""
    require_running(conn, run_id)
    values: dict[str, Any] = {"status": "succeeded", "finished_at": now()}
    if lineage is not None:
        values["lineage"] = clean_json(lineage)
    conn.execute(runs.update().where(runs.c.run_id == run_id).values(**values))


def input_ids(conn: Connection, run_id: str, kind: str | None = None) -> list[int]:
    """The source versions a run read (optionally of one kind), inside ``conn``."""
    stmt = sa.select(run_inputs.c.source_file_id).where(run_inputs.c.run_id == run_id)
    if kind is not None:
        stmt = stmt.join(source_files, source_files.c.id == run_inputs.c.source_file_id).where(
            source_files.c.kind == kind
        )
    return sorted(conn.execute(stmt).scalars())


def latest_run_query(statuses: Sequence[str], with_estimates: bool) -> sa.Select[Any]:
    """The newest run with one of ``statuses`` (and, optionally, stored estimates)."""
    stmt = sa.select(runs.c.run_id).where(runs.c.status.in_(list(statuses)))
    if with_estimates:
        stmt = stmt.where(sa.exists().where(estimates.c.run_id == runs.c.run_id))
    return stmt.order_by(runs.c.started_at.desc()).limit(1)  # served by ix_runs_started_at


def new_run_id() -> str:
    """A new run id, chosen by the client (a run can be named before its row is written): a UUID of version 7
    (RFC 9562, section 5.7: the Unix time in milliseconds in the first 48 bits, then 74 random bits), so that
    later runs have larger ids. Every key that starts with the run id (the weights' primary key) then grows
    at its end, not at a random place: on PostgreSQL, four saves of 1M weights into one table took 1.5-2.4 s
    each with such ids against 1.7-3.7 s with random ones, slower with each run already stored."""
    ms = (time.time_ns() // 1_000_000) & ((1 << 48) - 1)
    rand = int.from_bytes(os.urandom(10), "big")  # 80 random bits: 12 for rand_a, 62 for rand_b
    rand_a, rand_b = (rand >> 62) & 0xFFF, rand & ((1 << 62) - 1)
    value = (ms << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b  # version 7, variant 10
    return str(uuid.UUID(int=value))


class RunStore(WaveReader):
    """Runs, their steps and output frames (see the module docstring)."""

    def begin_run(
        self,
        parameters: dict[str, Any],
        code_version: str,
        codebook_version: str,
        input_source_ids: Sequence[int],
        *,
        codebook_name: str | None = None,
        years: Sequence[int] | None = None,
        run_id: str | None = None,
    ) -> str:
        """Record a new run (status "running") and the source versions it reads; returns the run id (a UUID v7,
        or ``run_id`` when the caller chose it before, :func:`new_run_id`).

        ``years`` (default: all years of the sources) is what :meth:`run_responses` returns.
        """
        run_id = run_id or new_run_id()
        ids = sorted({int(i) for i in input_source_ids})
        with self.writing("starta en körning") as conn:
            found = set(conn.execute(sa.select(source_files.c.id).where(source_files.c.id.in_(ids or [-1]))).scalars())
            missing = [i for i in ids if i not in found]
            if missing:
                raise StoreError(
                    f"Kan inte starta körningen: källfil(er) {', '.join(map(str, missing))} finns "
                    f"inte i databasen (source file ids not in the database)."
                )
            conn.execute(
                runs.insert().values(
                    run_id=run_id,
                    started_at=now(),
                    status="running",
                    code_version=code_version,
                    codebook_version=codebook_version,
                    codebook_name=codebook_name,
                    years=None if years is None else years_key(years),
                    parameters=clean_json(parameters),
                )
            )
            if ids:
                conn.execute(run_inputs.insert(), [{"run_id": run_id, "source_file_id": i} for i in ids])
        return run_id

    def fail_run(self, run_id: str, error: str) -> None:
        """Mark a running run as failed with a message (the sources it used show the failure)."""
        with self.writing("markera körningen som misslyckad") as conn:
            require_running(conn, run_id)
            conn.execute(
                runs.update()
                .where(runs.c.run_id == run_id)
                .values(status="failed", finished_at=now(), error=scrub(error, self.url))
            )

    def finish_run(self, run_id: str, lineage: dict[str, Any] | None = None) -> None:
        """Mark a running run as succeeded, with its final lineage (``None`` keeps the stored lineage)."""
        with self.writing("avsluta körningen") as conn:
            mark_succeeded(conn, run_id, lineage)

    # -- steps ---------------------------------------------------------------------------------------------

    def store_step(
        self,
        conn: Connection,
        run_id: str,
        step: str,
        frames: Mapping[str, pd.DataFrame | None],
        *,
        seconds: float | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> None:
        """Inside ``conn``'s transaction: the frames of a step, their dtypes, and the step marked done."""
        row = require_running(conn, run_id)
        done = conn.execute(
            sa.select(run_steps.c.step).where(run_steps.c.run_id == run_id, run_steps.c.step == step)
        ).first()
        if done is not None:
            raise StoreError(
                f"Steget {step!r} är redan gjort i körning {run_id}; ett stegs resultat skrivs "
                f"bara en gång. Starta en ny körning för att göra om det."
            )
        for name, df in frames.items():
            if df is not None and len(df):
                insert_run_frame(conn, RUN_FRAMES[name], run_id, name, df)
        if frames:
            outputs = {**(row["outputs_meta"] or {}), **frame_meta(frames)}
            conn.execute(runs.update().where(runs.c.run_id == run_id).values(outputs_meta=outputs))
        conn.execute(
            run_steps.insert().values(
                run_id=run_id, step=step, finished_at=now(), seconds=seconds, meta=clean_json(dict(meta or {}))
            )
        )

    def save_step(
        self,
        run_id: str,
        step: str,
        frames: Mapping[str, pd.DataFrame | None],
        *,
        seconds: float | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> None:
        """:meth:`store_step` in its own transaction, data errors as :class:`StoreError`."""
        unknown = [n for n in frames if n not in RUN_FRAMES]
        if unknown:
            raise StoreError(f"Okänd resultattabell {unknown[0]!r}; kända: {', '.join(RUN_FRAMES)}.")
        try:
            with self.writing(f"spara steget {step}") as conn:
                self.store_step(conn, run_id, step, frames, seconds=seconds, meta=meta)
        except self.data_errors as exc:
            raise StoreError(
                f"Kan inte spara steget {step} i körning {run_id} (inget skrevs): {getattr(exc, 'orig', exc)}"
            ) from exc

    def save_estimates(
        self,
        run_id: str,
        estimates: pd.DataFrame,
        comparisons: pd.DataFrame | None = None,
        by_group: pd.DataFrame | None = None,
        index: pd.DataFrame | None = None,
        *,
        seconds: float | None = None,
    ) -> None:
        """The ``estimate`` step's frames under ``run_id``."""
        if "indicator" not in estimates.columns:
            raise StoreError(f"Kan inte spara körning {run_id}: skattningarna saknar kolumnen 'indicator'.")
        self.save_step(
            run_id,
            "estimate",
            {"estimates": estimates, "comparisons": comparisons, "by_group": by_group, "index": index},
            seconds=seconds,
        )

    def save_trend(
        self,
        run_id: str,
        trend: pd.DataFrame,
        shares: pd.DataFrame | None = None,
        districts: pd.DataFrame | None = None,
        tests: pd.DataFrame | None = None,
        *,
        seconds: float | None = None,
    ) -> None:
        """The ``trend`` step's frames under ``run_id`` (``survey.models.TrendOutputs``' four frames)."""
        self.save_step(
            run_id,
            "trend",
            {"trend": trend, "trend_shares": shares, "trend_districts": districts, "trend_tests": tests},
            seconds=seconds,
        )

    def record_step(
        self, run_id: str, step: str, *, seconds: float | None = None, meta: Mapping[str, Any] | None = None
    ) -> None:
        """Mark a step without frames (e.g. ``publish``, with the tables and files it wrote in ``meta``)."""
        self.save_step(run_id, step, {}, seconds=seconds, meta=meta)

    def run_steps(self, run_id: str) -> pd.DataFrame:
        """The steps done in a run, in the order they were done: step, finished_at, seconds, meta."""
        with self.reading("läsa körningens steg") as conn:
            return self.steps_frame(conn, run_id)

    @staticmethod
    def steps_frame(conn: Connection, run_id: str) -> pd.DataFrame:
        """The steps done in a run (inside ``conn``): step, finished_at, seconds, meta."""
        rows = conn.execute(
            sa.select(run_steps.c.step, run_steps.c.finished_at, run_steps.c.seconds, run_steps.c.meta)
            .where(run_steps.c.run_id == run_id)
            .order_by(run_steps.c.finished_at, run_steps.c.step)
        ).all()
        return pd.DataFrame(rows, columns=["step", "finished_at", "seconds", "meta"])

    # -- reading runs --------------------------------------------------------------------------------------

    def runs(self) -> pd.DataFrame:
        """Every run, oldest first, with its input source ids and the steps done."""
        with self.reading("läsa körningarna") as conn:
            rows = conn.execute(sa.select(runs).order_by(runs.c.started_at)).mappings().all()
            inputs = conn.execute(sa.select(run_inputs)).all()
            steps = conn.execute(
                sa.select(run_steps.c.run_id, run_steps.c.step).order_by(run_steps.c.finished_at)
            ).all()
        by_run: dict[str, list[int]] = {}
        for r in inputs:
            by_run.setdefault(r.run_id, []).append(r.source_file_id)
        done: dict[str, list[str]] = {}
        for s in steps:
            done.setdefault(s.run_id, []).append(s.step)
        cols = [c.name for c in runs.columns if c.name != "outputs_meta"] + ["input_source_ids", "steps"]
        return pd.DataFrame(
            [
                {
                    **{k: v for k, v in r.items() if k != "outputs_meta"},
                    "input_source_ids": sorted(by_run.get(r["run_id"], [])),
                    "steps": done.get(r["run_id"], []),
                }
                for r in rows
            ],
            columns=cols,
        )

    def latest_run_id(self, *, statuses: Sequence[str] = ("succeeded",), with_estimates: bool = True) -> str | None:
        """The newest run with one of ``statuses`` that has estimates (what ``compare`` shows), or None."""
        with self.reading("läsa körningarna") as conn:
            return conn.execute(latest_run_query(statuses, with_estimates)).scalar()

    def run_row(self, conn: Connection, run_id: str) -> dict[str, Any]:
        """A run's ``runs`` row (inside ``conn``); a StoreError when there is no such run."""
        row = conn.execute(sa.select(runs).where(runs.c.run_id == run_id)).mappings().first()
        if row is None:
            raise StoreError(f"Det finns ingen körning {run_id!r} i databasen.")
        return dict(row)

    def run_frames(
        self, conn: Connection, run_id: str, names: Sequence[str] = tuple(RUN_FRAMES)
    ) -> dict[str, pd.DataFrame | None]:
        """Some output frames of a run (inside ``conn``)."""
        meta = self.run_row(conn, run_id)["outputs_meta"] or {}
        return {name: read_run_frame(conn, name, run_id, meta.get(name)) for name in names}

    def run_record(self, run_id: str) -> RunRecord:
        """A run's record, the source versions it read (names, hashes, versions) and its steps."""
        sf = source_files
        with self.reading("läsa körningen") as conn:
            row = self.run_row(conn, run_id)
            src = conn.execute(
                sa.select(
                    sf.c.id,
                    sf.c.kind,
                    sf.c.name,
                    sf.c.sha256,
                    sf.c.years,
                    sf.c.version,
                    sf.c.status,
                    sf.c.format,
                    sf.c.n_rows,
                )
                .join(run_inputs, run_inputs.c.source_file_id == sf.c.id)
                .where(run_inputs.c.run_id == run_id)
                .order_by(sf.c.id)
            ).all()
            steps = self.steps_frame(conn, run_id)
        sources = pd.DataFrame(
            src, columns=["id", "kind", "name", "sha256", "years", "version", "status", "format", "n_rows"]
        )
        return RunRecord(run={k: v for k, v in row.items() if k != "outputs_meta"}, sources=sources, steps=steps)

    def run_input_ids(self, run_id: str, kind: str | None = None) -> list[int]:
        """The source versions a run read (optionally of one kind)."""
        with self.reading("läsa körningens källfiler") as conn:
            self.run_row(conn, run_id)
            return input_ids(conn, run_id, kind)

    def run_years(self, run_id: str) -> list[int] | None:
        """The years a run covers (None: every year of its sources)."""
        with self.reading("läsa körningen") as conn:
            key = self.run_row(conn, run_id)["years"]
        return None if not key else [int(y) for y in key.split(",")]

    def run_responses(self, run_id: str) -> pd.DataFrame:
        """The responses the run read: its own source versions (even if replaced since) and years."""
        return self.responses(self.run_years(run_id), source_ids=self.run_input_ids(run_id, "responses"))

    def run_population(self, run_id: str) -> pd.DataFrame:
        """The population the run calibrated to: its own source versions and years."""
        return self.population(self.run_years(run_id), source_ids=self.run_input_ids(run_id, "population"))
