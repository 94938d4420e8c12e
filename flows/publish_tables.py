"""Prefect 3 flow ``publish_tables``: the publication step, one task per output kind.

The tasks wrap the plain functions of :mod:`reports.publish` (which hold all logic and are unit-tested
directly); frames travel between tasks in memory with ``cache_policy=NO_CACHE`` (hashing frames is slow).
The flow ends with a markdown artifact that links every output.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import pandas as pd
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from reports.tables import TableData
from reports import publish as pub
from survey.data.codebook import Codebook


@task(name="build-tables", cache_policy=NO_CACHE)
def build_tables_task(estimates: pd.DataFrame, comparisons: pd.DataFrame | None, trend: pd.DataFrame | None,
                      codebook: Codebook | None, run_meta: dict, min_n: int,
                      compare: Sequence[tuple[str, str]], notes: list[str]) -> list[TableData]:
    return pub.build_tables(estimates, comparisons, trend, codebook, run_meta, min_n=min_n, compare=compare,
                            notes=notes)


@task(name="html", cache_policy=NO_CACHE)
def html_task(tables: list[TableData], out_dir: Path) -> list[pub.PublishedFile]:
    return pub.write_html(tables, out_dir)


@task(name="csv", cache_policy=NO_CACHE)
def csv_task(tables: list[TableData], out_dir: Path) -> list[pub.PublishedFile]:
    return pub.write_csv(tables, out_dir)


@task(name="xlsx", cache_policy=NO_CACHE)
def xlsx_task(tables: list[TableData], out_dir: Path) -> list[pub.PublishedFile]:
    path = pub.write_xlsx(tables, Path(out_dir) / "tabeller.xlsx")
    return [pub.PublishedFile("workbook", "tabeller", "xlsx", path)]


@task(name="png", cache_policy=NO_CACHE)
def png_task(tables: list[TableData], out_dir: Path) -> list[pub.PublishedFile]:
    return pub.write_images(tables, out_dir, ("png",))


@task(name="pdf", cache_policy=NO_CACHE)
def pdf_task(tables: list[TableData], out_dir: Path) -> list[pub.PublishedFile]:
    return pub.write_images(tables, out_dir, ("pdf",))


@task(name="charts", cache_policy=NO_CACHE)
def charts_task(estimates: pd.DataFrame, codebook: Codebook | None, run_meta: dict, out_dir: Path,
                min_n: int) -> list[pub.PublishedFile]:
    return pub.write_charts(estimates, codebook, run_meta, out_dir, min_n=min_n)


@task(name="store", cache_policy=NO_CACHE)
def store_task(store: Any, tables: list[TableData], run_id: str | None) -> dict[str, int]:
    return pub.publish_to_store(store, tables, run_id)


@task(name="index", cache_policy=NO_CACHE)
def index_task(tables: list[TableData], files: list[pub.PublishedFile], out_dir: Path, run_meta: dict,
               codebook: Codebook | None, notes: list[str], min_n: int) -> Path:
    return pub.write_index(tables, files, out_dir, run_meta, codebook, notes=notes, min_n=min_n)


def artifact_markdown(result: pub.PublishResult) -> str:
    """Markdown listing every output (relative to the report folder) and the store versions."""
    lines = [f"# Publicerade tabeller ({len(result.tables)})", "",
             f"Rapport: [{result.index}]({result.index.as_uri() if result.index else ''})", "",
             "| tabell | format | fil | version |", "|---|---|---|---|"]
    for f in result.files:
        rel = f.path.relative_to(result.out_dir) if f.path.is_relative_to(result.out_dir) else f.path
        lines.append(f"| {f.table_id} | {f.fmt} | [{rel}]({f.path.resolve().as_uri()}) | "
                     f"{result.versions.get(f.table_id, '')} |")
    if result.notes:
        lines += ["", "## Anmärkningar", *[f"- {n}" for n in result.notes]]
    return "\n".join(lines) + "\n"


@flow(name="publish_tables", validate_parameters=False)
def publish_tables(estimates: pd.DataFrame, comparisons: pd.DataFrame | None, trend: pd.DataFrame | None,
                   codebook: Codebook | None, run_meta: dict, out_dir: Path, *, store: Any = None,
                   formats: Sequence[str] = ("html", "xlsx", "csv", "png", "pdf"), min_n: int = 30,
                   charts: bool = True, compare: Sequence[tuple[str, str]] = ()) -> pub.PublishResult:
    """The publication of one run, as :func:`reports.publish.publish_report` but one task per output kind."""
    from prefect.artifacts import create_markdown_artifact

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    res = pub.PublishResult(out_dir=out_dir, index=None)
    tables = build_tables_task(estimates, comparisons, trend, codebook, run_meta, min_n, compare, res.notes)
    res.tables = [t.table_id for t in tables]
    writers = {"html": html_task, "csv": csv_task, "xlsx": xlsx_task}
    for fmt, tk in writers.items():
        if fmt in formats:
            res.files += tk(tables, out_dir)
    if pub.chromium_available():
        if "png" in formats:
            res.files += png_task(tables, out_dir)
        if "pdf" in formats:
            res.files += pdf_task(tables, out_dir)
    elif {"png", "pdf"} & set(formats):
        res.notes.append("PNG och PDF av tabellerna saknas: Chromium finns inte på datorn.")
    if charts:
        res.files += charts_task(estimates, codebook, run_meta, out_dir, min_n)
    if store is not None:
        res.versions = store_task(store, tables, run_meta.get("run_id"))
    res.index = index_task(tables, res.files, out_dir, run_meta, codebook, res.notes, min_n)
    res.files.append(pub.PublishedFile("index", "index", "html", res.index))
    create_markdown_artifact(markdown=artifact_markdown(res), key="published-tables",
                             description="Publicerade tabeller, diagram och rapport")
    return res
