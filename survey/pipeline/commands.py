"""The operations behind the CLI's other commands, so that the shell only ever talks to the pipeline layer.

Each is a thin call into the data or publishing layer with the same checks as ``trygghet run``: options go
through :class:`~survey.pipeline.config.RunConfig` where they are run options.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from survey.pipeline.config import RunConfig
from survey.pipeline.runner import load_step, open_store, prepare_step, read_step


def synth(n: int, districts: int, years: int, seed: int, out: Path, tiny_district: bool, *, lang: str = "sv") -> None:
    """``trygghet synth``: a synthetic wave in canonical form under ``out`` (summary in ``lang``)."""
    from survey.data.synth import synth_command

    synth_command(n, districts, years, seed, out, tiny_district, lang=lang)


def ingest(config: RunConfig) -> tuple[Any, Any]:
    """``trygghet ingest``: check, read, validate and load one wave (no statistics); ``(wave, report)``."""
    codebook = prepare_step(config)
    wave = read_step(config, codebook)
    store = open_store(config)
    try:
        report, _seconds = load_step(store.url, wave, config.replace)
    finally:
        store.close()
    return wave, report


def quarantine(db: str | None, source: int | None = None) -> pd.DataFrame:
    """The quarantined rows (all, or of one source file)."""
    from survey.data.store import Store

    store = Store(db, existing=True)
    try:
        return store.quarantine(source)
    finally:
        store.close()


def tables_list(db: str | None, *, lang: str = "sv") -> pd.DataFrame:
    from reports.publish import tables_list_command

    return tables_list_command(db, lang=lang)


def tables_export(
    year: int, table: str, fmt: str, out: Path, db: str | None, version: int | None, *, lang: str = "sv"
) -> Path:
    from reports.publish import tables_export_command

    return tables_export_command(year, table, fmt, out, db, version, lang=lang)


def compare(
    a: str,
    b: str,
    indicators: Sequence[str] | None,
    years: Sequence[int | str] | None,
    db: str | None,
    out: Path | None,
    *,
    run_id: str | None = None,
    min_n: int = 30,
    lang: str = "sv",
) -> pd.DataFrame:
    from reports.publish import compare_command

    return compare_command(a, b, indicators, years, db, out, run_id=run_id, min_n=min_n, lang=lang)


def sources(db: str | None) -> pd.DataFrame:
    """``trygghet sources list``: every stored source version with its status, lineage and runs."""
    from survey.data.store import Store

    with Store(db, existing=True) as store:
        return store.sources()


def withdraw_source(db: str | None, source_id: int, reason: str | None) -> dict[str, Any]:
    """``trygghet sources withdraw ID``: take a source version out of use (its rows and lineage stay)."""
    from survey.data.store import Store

    with Store(db, existing=True) as store:
        return store.withdraw_source(source_id, reason=reason, by=_who())


def replace_source(config: RunConfig, source_id: int, file: str | Path, reason: str | None) -> Any:
    """``trygghet sources replace ID FILE``: a validated file of the same kind replaces the source."""
    from survey.data import ingest
    from survey.data.codebook import load_codebook
    from survey.data.store import Store

    codebook = load_codebook(config.codebook)
    with Store(config.db, existing=True) as store:
        kind = store.source(source_id)["kind"]
        part = (
            ingest.read_responses(file, codebook, config.mapping, **config.read_opts)  # type: ignore[arg-type]
            if kind == "responses"
            else ingest.read_population(file, codebook)
        )
        return store.replace_source(source_id, part, reason=reason, by=_who())


def create_roles(
    db: str | None,
    readers: Sequence[str],
    pipeline: Sequence[str],
    names: tuple[str, str, str] | None = None,
) -> str:
    """``trygghet db roles``: the owner, pipeline and read-only ``report_reader`` roles (PostgreSQL), with
    ``names`` = (owner, pipeline, reader) when not the documented defaults. Returns a Swedish summary."""
    from survey.data.store import RoleNames, Store

    roles = RoleNames(*names) if names else RoleNames()
    with Store(db) as store:
        report = store.create_roles(roles, members={"reader": list(readers), "pipeline": list(pipeline)})
    members = [f"{u} → {roles.reader}" for u in readers] + [f"{u} → {roles.pipeline}" for u in pipeline]
    return (
        f"Roller klara i schemat {report.schema}: {roles.owner} (ägare), {roles.pipeline} (pipeline), "
        f"{roles.reader} (läsroll); {len(report.statements)} SQL-satser."
        + (f" Medlemmar: {', '.join(members)}." if members else "")
    )


def _who() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # pragma: no cover - no user name in a container
        return "okänd"
