"""Loading a validated wave: one transaction per wave, idempotent, every file version kept.

A source file is identified by (kind, sha256); its *wave key* is the set of years it covers.

* The same file again is a no-op ("unchanged").
* A different file whose years meet those of an active file of its kind needs ``replace=True`` (CLI
  ``--replace``). It then replaces every active file of its kind whose years it meets, provided it covers all
  their years: a corrected file for the same years, or a complete file after a truncated one that lost its
  last year(s). The old versions stay in the database with status ``replaced`` and ``superseded_by``.
* A replacement that would drop years of a stored file (it covers only some of them) is refused; withdraw
  that file first (``trygghet sources withdraw``) or replace it explicitly (``trygghet sources replace``,
  :meth:`survey.data.store.sources.SourceRegistry.replace_source`).
* A file loaded before and later replaced or withdrawn becomes the active version again with ``replace=True``.

A run that fails later does not roll the load back: the wave stays stored and ``Store.sources()`` shows the
failed run beside each file it used (``last_run_status`` = ``failed``), see :mod:`survey.data.store.sources`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from survey.errors import StoreError

from .bulk import bulk_insert
from .engine import Database
from .schema import CONTRACT_ITEMS, QUARANTINE_COLUMNS, free_text, population, quarantine, responses, source_files
from .staging import Stage, insert_staged, stage_applies, stage_rows
from .values import attr, clean_json, dumps, frame_years, key_years, now, os_user, py_value, years_key


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


# --- inserting one file's rows (module functions: tests replace them to simulate a failure) -------------------


def responses_rows(data: pd.DataFrame) -> pd.DataFrame:
    """The rows a responses file stores: its columns, with the items outside the contract in
    ``extra_items`` (JSON)."""
    missing = [c for c in ("resp_id", "year", "district", "sex", "age_group", "source_row") if c not in data.columns]
    if missing:
        raise StoreError(f"Svarstabellen saknar de kanoniska kolumnerna {', '.join(missing)}.")
    extra = [c for c in data.columns if c.startswith("q_") and c not in CONTRACT_ITEMS]
    if not extra:
        return data
    df = data.copy()
    df["extra_items"] = [
        json.dumps({k: py_value(v) for k, v in zip(extra, row)})
        for row in data[extra].itertuples(index=False, name=None)
    ]
    return df


def insert_responses(conn: Connection, sid: int, data: pd.DataFrame, stage: Stage | None = None) -> int:
    """The accepted rows of a responses file (:func:`responses_rows`), from ``stage`` when they were staged
    (:func:`survey.data.store.staging.stage_rows`)."""
    if stage is not None:
        return insert_staged(conn, responses, stage, {"source_file_id": sid})
    return bulk_insert(conn, responses, responses_rows(data), {"source_file_id": sid})


def insert_free_text(conn: Connection, sid: int, df: pd.DataFrame | None) -> int:
    """Free-text comments of a responses file (their own table; never published)."""
    if df is None or not len(df):
        return 0
    return bulk_insert(conn, free_text, df, {"source_file_id": sid})


def insert_quarantine(conn: Connection, sid: int, df: pd.DataFrame | None) -> int:
    """The quarantine records of a file (file, row, column, value, check, reason, record)."""
    if df is None or not len(df):
        return 0
    q = pd.DataFrame({c: df[c] if c in df.columns else None for c in QUARANTINE_COLUMNS}, index=df.index)
    for c in ("source_row", "year"):
        q[c] = pd.to_numeric(q[c], errors="coerce").astype("Int64")
    for c in ("file", "resp_id", "column", "value", "check", "reason", "record"):
        q[c] = [
            None
            if v is None or (not isinstance(v, (str, dict, list)) and pd.isna(v))
            else (v if isinstance(v, str) else dumps(v))
            for v in q[c].tolist()
        ]
    return bulk_insert(conn, quarantine, q, {"source_file_id": sid})


def insert_population(conn: Connection, sid: int, df: pd.DataFrame) -> int:
    """The population (calibration targets) of a population file, numbered in file order."""
    p = df.copy()
    p["row_no"] = np.arange(len(p), dtype=np.int64)
    return bulk_insert(conn, population, p, {"source_file_id": sid})


def insert_source(
    conn: Connection,
    kind: str,
    part: Any,
    key: str,
    version: int,
    stage: Stage | None = None,
    *,
    another_reading: bool = False,
) -> int:
    """A new ``source_files`` row (status active) and the file's rows (a responses file's from ``stage``
    when given); returns its id. ``another_reading``: the file is stored already, read another way: the row's
    identity ``sha256`` is then the hash of the file's and the reading's (``file_sha256`` is the file's)."""
    src = attr(part, "source")
    sha, reading = attr(src, "sha256"), part_reading(part)
    identity = hashlib.sha256(f"{sha}:{reading}".encode()).hexdigest() if another_reading else sha
    data: pd.DataFrame = attr(part, "data")
    sf = source_files
    name = attr(src, "name") or str(attr(src, "path") or "?")
    sid = conn.execute(
        sf.insert()
        .values(
            sha256=identity,
            file_sha256=sha,
            reading=reading,
            name=name,
            path=str(attr(src, "path")) if attr(src, "path") else None,
            kind=kind,
            format=attr(src, "format"),
            encoding=attr(src, "encoding"),
            delimiter=attr(src, "delimiter"),
            decimal=attr(src, "decimal"),
            codebook_version=attr(src, "codebook_version"),
            mapping=dumps(attr(src, "mapping")),
            n_rows=py_value(attr(src, "n_rows")),
            years=key,
            columns=[str(c) for c in data.columns],
            notes=clean_json(list(attr(part, "notes", None) or [])) or None,
            loaded_at=now(),
            active=True,
            status="active",
            version=version,
        )
        .returning(sf.c.id)
    ).scalar_one()
    if kind == "responses":
        insert_responses(conn, sid, data, stage)
        insert_free_text(conn, sid, attr(part, "free_text"))
    else:
        insert_population(conn, sid, data)
    insert_quarantine(conn, sid, attr(part, "quarantine"))
    return int(sid)


def set_status(
    conn: Connection,
    ids: list[int],
    status: str,
    *,
    by: str | None,
    reason: str | None = None,
    superseded_by: int | None = None,
) -> None:
    """Change the status of source versions, recording when, by whom and why."""
    if not ids:
        return
    conn.execute(
        source_files.update()
        .where(source_files.c.id.in_(ids))
        .values(
            status=status,
            active=status == "active",
            superseded_by=superseded_by,
            status_changed_at=now(),
            status_changed_by=by or os_user(),
            status_reason=reason,
        )
    )


def stored_readings(conn: Connection, kind: str, sha: str) -> list[Any]:
    """Every stored reading of the file of ``kind`` with content ``sha`` (``id``, ``status``, ``years``,
    ``reading``, the reading's ``mapping``, ``codebook_version``, ``encoding``, ``delimiter``, ``decimal``)."""
    sf = source_files
    cols = (sf.c.id, sf.c.status, sf.c.years, sf.c.reading, sf.c.mapping, sf.c.codebook_version, sf.c.encoding)
    stmt = sa.select(*cols, sf.c.delimiter, sf.c.decimal).where(
        sf.c.kind == kind, sa.or_(sf.c.sha256 == sha, sf.c.file_sha256 == sha)
    )
    return list(conn.execute(stmt.order_by(sf.c.id)).all())


def stored_source(conn: Connection, kind: str, sha: str, reading: str | None = None) -> Any:
    """The stored file of ``kind`` with content ``sha`` read as ``reading`` (a row loaded before readings were
    recorded matches any; None: any reading), or None."""
    return same_reading(stored_readings(conn, kind, sha), reading)


def part_reading(part: Any) -> str | None:
    """The digest of how a wave's file was read (``SourceFile.reading``), None when not recorded."""
    return attr(attr(part, "source"), "reading", None) or None


def same_reading(rows: list[Any], reading: str | None) -> Any:
    """The row of ``rows`` read as ``reading`` (a row without a recorded reading matches any), or None."""
    return next((r for r in rows if reading is None or r.reading in (None, reading)), None)


def _other_reading(name: str, part: Any, rows: list[Any]) -> str:
    """The refusal of a file stored already, read another way, without ``replace``."""
    src = attr(part, "source")
    old = next((r for r in rows if r.status == "active"), rows[-1])
    labels = {
        "mapping": "mappning",
        "codebook_version": "kodbok",
        "encoding": "teckenkodning",
        "delimiter": "avgränsare",
        "decimal": "decimaltecken",
    }
    differ = [c for c in labels if (dumps(attr(src, c)) if c == "mapping" else attr(src, c)) != getattr(old, c)]
    said = ", ".join(labels[c] for c in differ) if differ else "mappningens eller kodbokens innehåll"
    return (
        f"{name}: filen är redan inläst (källa {old.id}) men lästes då på ett annat sätt ({said}), så raderna blir "
        f"andra. Ange --replace (replace=True) för att spara den nya läsningen som en ny version; den gamla "
        f"behålls som ersatt."
    )


def check_part(kind: str, part: Any) -> tuple[str, str, str]:
    """(name, sha256, wave key) of a wave's file, or a StoreError saying what is missing."""
    src = attr(part, "source")
    data = attr(part, "data")
    name = attr(src, "name") or str(attr(src, "path") or "?")
    sha = attr(src, "sha256")
    if not sha:
        raise StoreError(f"{name}: källfilen saknar sha256 och kan inte sparas.")
    if attr(src, "kind") not in (None, kind):
        raise StoreError(
            f"{name}: en {attr(src, 'kind')}-fil angavs som vågens {kind}-fil "
            f"(a {attr(src, 'kind')} file was given as the wave's {kind} file)."
        )
    if data is None:
        raise StoreError(f"{name}: {kind}-filen har ingen datatabell.")
    return name, sha, years_key(frame_years(data, attr(part, "quarantine")))


def _refuse_overlap(name: str, kind: str, key: str, touching: list[Any], replace: bool) -> None:
    """The errors of a file whose years meet active files of its kind (see the module docstring)."""
    a = touching[0]
    if not replace:
        what = "samma år" if a.years == key else f"år {a.years}, som delvis är samma som filens år {key}"
        raise StoreError(
            f"{name}: {kind} för år {key} finns redan från en annan fil, {a.name!r} (källa {a.id}, {what}). "
            f"Ange --replace (replace=True) för att spara filen som ny version; den gamla sparas som "
            f"ersatt och kan visas med `trygghet sources list`."
        )
    years = key_years(key)
    lost = [t for t in touching if not key_years(t.years) <= years]
    if lost:
        t = lost[0]
        missing = ",".join(str(y) for y in sorted(key_years(t.years) - years))
        raise StoreError(
            f"{name}: filens {kind} för år {key} överlappar den sparade filen {t.name!r} (källa {t.id}, år "
            f"{t.years}) men saknar år {missing}; en ersättning måste täcka alla år i filen den ersätter. "
            f"Dra tillbaka den gamla filen först (`trygghet sources withdraw {t.id}`) eller ersätt den "
            f"uttryckligen (`trygghet sources replace {t.id} FIL`)."
        )


class WaveLoader(Database):
    """``load_wave``: a validated wave into the database in one transaction."""

    def load_wave(self, wave: Any, *, replace: bool = False, by: str | None = None, staged: bool = False) -> LoadReport:
        """Store a validated wave (``survey.data.ingest.Wave``: responses and population ``IngestResult``s).

        One transaction; see the module docstring for "unchanged", ``replace`` and refusals. ``by`` is
        recorded as who replaced older versions (default: the operating-system user). ``staged``: a large
        responses file on a SQLite file is written outside the GIL (:meth:`stage_responses`), for a load that
        runs beside other Python work (``trygghet run``'s statistics); alone, the direct insert is faster
        (1M rows: 2.2 against 2.6-3.0 s), beside the statistics the staged one leaves them the interpreter.
        """
        parts = {"responses": attr(wave, "responses"), "population": attr(wave, "population")}
        for kind, part in parts.items():
            if part is None or attr(part, "source") is None:
                raise StoreError(f"Vågen saknar {kind}-fil; både svar och befolkning behövs.")
        statuses: dict[str, str] = {}
        ids: dict[str, int] = {}
        superseded: list[int] = []
        notes: list[str] = list(attr(wave, "notes", None) or [])
        stage = self.stage_responses(parts["responses"]) if staged else None
        try:
            with self.writing_with("spara vågen", stage) as conn:
                if self.dialect == "postgresql":  # one load at a time (SQLite: BEGIN IMMEDIATE does it)
                    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext('trygghet.load_wave'))")
                for kind, part in parts.items():
                    status, sid, old = self.load_part(
                        conn, kind, part, replace, by=by, stage=stage if kind == "responses" else None
                    )
                    statuses[kind], ids[kind] = status, sid
                    superseded += old
                    if old:
                        notes.append(
                            f"{kind}: källa {sid} ersätter källa {', '.join(map(str, old))}, som sparas som ersatt"
                        )
        except self.data_errors as exc:
            raise StoreError(
                f"Vågen bryter mot en regel i databasen och sparades inte (inget skrevs): {getattr(exc, 'orig', exc)}"
            ) from exc
        return _report(parts, statuses, ids, superseded, notes)

    def stage_responses(self, part: Any) -> Stage | None:
        """A large responses file's rows staged for :meth:`load_wave` on a SQLite file
        (:mod:`survey.data.store.staging`: written by ADBC outside the GIL, so the statistics beside the load
        keep the interpreter), or None: staging does not apply, or the file is stored already (unchanged)."""
        data = attr(part, "data")
        if data is None or not stage_applies(self.sqlite_path, len(data)):
            return None
        with self.reading("läsa källfilerna") as conn:
            stored = stored_source(conn, "responses", attr(attr(part, "source"), "sha256"), part_reading(part))
        if stored is not None and stored.status == "active":
            return None
        return stage_rows(self.sqlite_path, responses, responses_rows(data))

    def load_part(
        self,
        conn: Connection,
        kind: str,
        part: Any,
        replace: bool,
        *,
        by: str | None = None,
        stage: Stage | None = None,
    ) -> tuple[str, int, list[int]]:
        """Load one file of a wave inside ``conn``'s transaction; returns (status, source id, superseded).
        ``stage``: the file's rows staged by :meth:`stage_responses` (inserted only if the file is new)."""
        name, sha, key = check_part(kind, part)
        sf = source_files
        readings = stored_readings(conn, kind, sha)
        existing = same_reading(readings, part_reading(part))
        if existing is not None and existing.status == "active":
            return "unchanged", existing.id, []
        if existing is None and readings and not replace and any(r.status == "active" for r in readings):
            raise StoreError(_other_reading(name, part, readings))
        actives = conn.execute(
            sa.select(sf.c.id, sf.c.name, sf.c.years, sf.c.version)
            .where(sf.c.kind == kind, sf.c.status == "active")
            .order_by(sf.c.id)
        ).all()
        if existing is not None and not replace:
            was = "ersatts" if existing.status == "replaced" else "dragits tillbaka"
            raise StoreError(
                f"{name}: filen har sparats förut och sedan {was} (källa {existing.id}). Ange "
                f"--replace (replace=True) för att göra den till den gällande versionen igen."
            )
        years = key_years(key)
        touching = [a for a in actives if a.years == key or key_years(a.years) & years]
        if touching:
            _refuse_overlap(name, kind, key, touching, replace)
        if existing is not None:  # an older version loaded again: make it the active one
            sid = existing.id
            set_status(conn, [sid], "active", by=by, reason="sparad igen med --replace")
        else:
            version = 1 + max((a.version for a in touching), default=0)
            sid = insert_source(conn, kind, part, key, version, stage, another_reading=bool(readings))
        old = [a.id for a in touching]
        set_status(conn, old, "replaced", by=by, superseded_by=sid, reason=f"ersatt av källa {sid}")
        return ("replaced" if old else "loaded"), sid, old


def _report(
    parts: dict[str, Any], statuses: dict[str, str], ids: dict[str, int], superseded: list[int], notes: list[str]
) -> LoadReport:
    values = set(statuses.values())
    status = "unchanged" if values == {"unchanged"} else "replaced" if "replaced" in values else "loaded"
    r, p = parts["responses"], parts["population"]

    def rows(df: pd.DataFrame | None) -> int:
        return 0 if df is None else len(df)

    return LoadReport(
        status=status,
        responses_source_id=ids["responses"],
        population_source_id=ids["population"],
        statuses=statuses,
        rows_accepted=rows(attr(r, "data")),
        rows_quarantined=rows(attr(r, "quarantine")) + rows(attr(p, "quarantine")),
        population_rows=rows(attr(p, "data")),
        free_text_rows=rows(attr(r, "free_text")),
        superseded=superseded,
        notes=notes,
    )
