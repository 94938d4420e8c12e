"""Prefect flows for the analysts' two read-only commands: ``compare`` (the comparison page of two
districts) and ``tables export`` (one published table in one format), both from the table store.

They call :func:`survey.pipeline.commands.compare` / :func:`~survey.pipeline.commands.tables_export`, the
same functions as ``trygghet compare`` and ``trygghet tables export``. The database comes from ``db`` (a URL
without a password), a Prefect Secret block (``db_secret``) or ``$TRYGGHET_DATABASE_URL``; files go to
``out`` or ``<data>/reports/<flow-run id>/``. Their artifacts link the file and count rows: no cell values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.common import RETRY_DELAYS_S, TASK_TIMEOUT_S, database_url, flow_run_info, retry_on_connection_error
from survey.pipeline import commands
from survey.pipeline.surveys import data_dir, run_key

_DB_TASK: dict[str, Any] = {
    "cache_policy": NO_CACHE,
    "timeout_seconds": TASK_TIMEOUT_S,
    "retries": len(RETRY_DELAYS_S),
    "retry_delay_seconds": list(RETRY_DELAYS_S),
    "retry_condition_fn": retry_on_connection_error,
}
FLOW_TIMEOUT_S = 2 * TASK_TIMEOUT_S


def _out_folder(out: str | None, kind: str) -> Path:
    if out:
        p = Path(out).expanduser()
        return p if p.is_absolute() else data_dir() / p
    return data_dir() / "reports" / kind / (flow_run_info().get("flow_run_id") or run_key())


@task(name="compare", **_DB_TASK)
def compare_task(
    a: str,
    b: str,
    indicators: list[str] | None,
    years: list[int] | None,
    db: str | None,
    out: Path,
    run_id: str | None,
    min_n: int,
) -> int:
    return len(commands.compare(a, b, indicators, years, db, out, run_id=run_id, min_n=min_n))


@flow(name="compare", timeout_seconds=FLOW_TIMEOUT_S, log_prints=True)
def compare(
    a: str,
    b: str = "Totalt",
    run_id: str | None = None,
    indicators: list[str] | None = None,
    years: list[int] | None = None,
    min_n: int = 30,
    db: str | None = None,
    db_secret: str | None = None,
    out: str | None = None,
) -> dict[str, Any]:
    """Comparison page of districts ``a`` and ``b`` (``Totalt`` = the whole municipality), from run
    ``run_id`` (default the latest with estimates) → ``OUT/compare_<a>_<b>.html``."""
    from prefect.artifacts import create_markdown_artifact

    folder = _out_folder(out, "compare")
    page = folder / f"jämförelse_{a}_{b}.html".replace("/", "-").replace(" ", "_")
    rows = compare_task(a, b, indicators, years, database_url(db, db_secret), page, run_id, min_n)
    print(f"Jämförelse {a} – {b}: {page}")
    create_markdown_artifact(
        key="compare",
        description=f"Jämförelse {a} – {b}",
        markdown=(
            f"# Jämförelse {a} – {b}\n\n- Sida: [{page.name}]({page.resolve().as_uri()})\n"
            f"- trygghet-körning: `{run_id or 'senaste'}`\n- Rader: {rows} (värdena finns på sidan, med små celler "
            f"undertryckta)\n"
        ),
    )
    return {"page": str(page), "rows": rows}


@task(name="tables-export", **_DB_TASK)
def export_task(year: int, table: str, fmt: str, out: Path, db: str | None, version: int | None) -> Path:
    return commands.tables_export(year, table, fmt, out, db, version)


@flow(name="tables_export", timeout_seconds=FLOW_TIMEOUT_S, log_prints=True)
def tables_export(
    year: int,
    table: str,
    format: Literal["html", "xlsx", "csv", "csv-sv", "px", "jsonstat", "png", "pdf", "json"] = "xlsx",
    version: int | None = None,
    db: str | None = None,
    db_secret: str | None = None,
    out: str | None = None,
) -> dict[str, Any]:
    """One published table (``trygghet tables list``) of ``year`` in ``format`` (latest version unless
    ``version``) → ``OUT/``."""
    from prefect.artifacts import create_markdown_artifact

    folder = _out_folder(out, "tables")
    folder.mkdir(parents=True, exist_ok=True)
    path = Path(export_task(year, table, format, folder, database_url(db, db_secret), version))
    print(f"Tabell {table} {year} ({format}): {path}")
    create_markdown_artifact(
        key="tables-export",
        description=f"Tabell {table} {year}",
        markdown=(
            f"# Tabell {table} {year}\n\n- Fil: [{path.name}]({path.resolve().as_uri()})\n"
            f"- Version: {version or 'senaste'}\n"
        ),
    )
    return {"file": str(path)}
