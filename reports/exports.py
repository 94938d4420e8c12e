"""The published-table store's exports and the CLI command functions ``tables list``, ``tables export``
and ``compare`` (registered by ``survey/cli.py``)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from reports.compare import compare_districts, compare_page
from reports.csvfiles import excel_csv, long_csv
from reports.images import chrome_env, render_image
from reports.jsonstat import SUFFIX as JSONSTAT_SUFFIX
from reports.jsonstat import jsonstat_file
from reports.labels import slugify
from reports.pxweb import px_file
from reports.signals import SignalRule
from reports.tabledata import TableData
from reports.terminal import print_table
from reports.translate import translate_table
from reports.xlsx import write_xlsx
from survey.data.codebook import Codebook
from survey.errors import CodebookError, PublishError

EXPORT_FORMATS = ("html", "xlsx", "csv", "csv-sv", "px", "jsonstat", "png", "pdf", "json")
# the file name ending of each format (``<table_id>_<year><ending>`` when --out is a folder)
TEXTS = {  # the commands' own words; the tables themselves are translated by reports.translate
    "sv": {
        "title": "Publicerade tabeller",
        "heads": "Tabell|År|Version|Körning|Publicerad|Rubrik",
        "wrote": "Skrev {path}",
    },
    "en": {"title": "Published tables", "heads": "Table|Year|Version|Run|Published|Title", "wrote": "Wrote {path}"},
}
RUN_STATUSES = ("succeeded", "running", "failed")  # load_run: a run's estimates count once they are stored
EXPORT_ENDINGS = {"csv-sv": "_excel.csv", "jsonstat": JSONSTAT_SUFFIX}


def open_store(db: str | None) -> Any:
    """The store the published tables are read from (a SQLite file must exist: these commands only read)."""
    from survey.data.store import Store

    return Store(db, existing=True)


def table_from_store(store: Any, table_id: str, year: int, version: int | None = None) -> TableData:
    """A published table read back from the store."""
    row, cells = store.published_table(table_id, year, version)
    meta = row.get("meta") if isinstance(row.get("meta"), dict) else row
    if not meta or "rows" not in meta:
        raise PublishError(
            f"Den publicerade tabellen {table_id} {year} saknar layoutuppgifter; den publicerades inte av trygghet."
        )
    return TableData.from_store(meta, cells)


def export_table(
    store: Any, table_id: str, year: int, fmt: str, out: Path, *, version: int | None = None, lang: str | None = None
) -> Path:
    """Write a published table (latest version unless ``version``) as html/xlsx/csv/csv-sv (Swedish Excel)/
    px (PC-Axis)/jsonstat (JSON-stat 2)/png/pdf/json; ``lang="en"`` writes the table in English
    (:func:`reports.translate.translate_table`), otherwise in the language it was published in.

    ``out`` is a file path or a directory (then ``<table_id>_<year>.<fmt>``, ``_excel.csv`` for csv-sv,
    ``.jsonstat.json`` for jsonstat).
    """
    fmt = fmt.lower().lstrip(".")
    if fmt not in EXPORT_FORMATS:
        raise PublishError(f"Okänt format ”{fmt}” för --format; välj ett av {', '.join(EXPORT_FORMATS)}.")
    t = table_from_store(store, table_id, year, version)
    if lang:
        t = translate_table(t, lang)
    out = Path(out)
    ending = EXPORT_ENDINGS.get(fmt, f".{fmt}")
    path = out / f"{table_id}_{year}{ending}" if (out.is_dir() or not out.suffix) else out
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "html":
        path.write_text(t.standalone_html(back_link=None), encoding="utf-8")
    elif fmt == "csv":
        long_csv(t, path)
    elif fmt == "csv-sv":
        excel_csv(t, path)
    elif fmt == "px":
        px_file(t, path)
    elif fmt == "jsonstat":
        jsonstat_file(t, path)
    elif fmt == "xlsx":
        write_xlsx([t], path)
    elif fmt == "json":
        cells = json.loads(t.store_cells().to_json(orient="records", force_ascii=False))
        path.write_text(json.dumps({"meta": t.meta(), "cells": cells}, ensure_ascii=False, indent=1), encoding="utf-8")
    else:
        with chrome_env():
            render_image(t, path)
    return path


def tables_list_command(db: str | None = None, *, lang: str = "sv") -> pd.DataFrame:
    """``trygghet tables list``: every published table with its versions (printed with Rich)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    df = open_store(db).published_tables()
    tx = TEXTS.get(lang, TEXTS["sv"])
    rt = Table(title=tx["title"])
    for c in tx["heads"].split("|"):
        rt.add_column(c)
    for r in df.itertuples(index=False):
        rt.add_row(
            *[
                Text(str(v))
                for v in (r.table_id, r.year, r.version, r.run_id or "", str(r.created_at)[:19], r.title or "")
            ]
        )
    Console().print(rt)
    return df


def tables_export_command(
    year: int, table: str, fmt: str, out: Path, db: str | None = None, version: int | None = None, *, lang: str = "sv"
) -> Path:
    """``trygghet tables export``: write a published table from the store (in English when ``lang="en"``);
    prints the path."""
    from rich.console import Console
    from rich.text import Text

    path = export_table(open_store(db), table, year, fmt, Path(out), version=version, lang=lang)
    Console().print(Text(TEXTS.get(lang, TEXTS["sv"])["wrote"].format(path=path)))
    return path


def parse_years(values: Sequence[int | str] | None) -> list[int] | None:
    """Years given as ``2024 2025``, ``2024,2025`` or ``2023-2025`` (ints or strings, any mix)."""
    if not values:
        return None
    years: list[int] = []
    for v in values:
        for part in re.split(r"[,\s]+", str(v).strip()):
            if not part:
                continue
            m = re.fullmatch(r"(\d{4})(?:[-–](\d{4}))?", part)
            if m is None:
                raise PublishError(
                    f"Ogiltigt år ”{part}” för --years; skriv t.ex. --years 2024 2025, 2024,2025 eller 2023-2025."
                )
            lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
            years += list(range(min(lo, hi), max(lo, hi) + 1))
    return sorted(set(years))


def compare_command(
    a: str,
    b: str,
    indicators: Sequence[str] | None = None,
    years: Sequence[int | str] | None = None,
    db: str | None = None,
    out: Path | None = None,
    *,
    run_id: str | None = None,
    min_n: int = 30,
    lang: str = "sv",
) -> pd.DataFrame:
    """``trygghet compare A B`` (B may be ``Totalt``): the two over all indicators, from a run in the store
    (the latest run with estimates unless ``run_id``) or from a directory with ``estimates.csv`` and
    ``comparisons.csv`` (``db`` given as a path). Names are case-insensitive; ``years`` accepts
    ``[2024, 2025]``, ``["2024", "2025"]``, ``["2024,2025"]`` or ``["2023-2025"]``. Prints a Rich table per
    year; writes an HTML page to ``out`` when given."""
    estimates, comparisons, meta, codebook = load_run(db, run_id)
    rule = SignalRule.from_run(meta, comparisons)
    cmp = compare_districts(
        estimates, comparisons, a, b, indicators, parse_years(years), min_n=min_n, codebook=codebook, rule=rule
    )
    if cmp.empty:
        raise PublishError(f"Inga skattningar för {a} och {b} de valda åren.")
    a, b = str(cmp["district_a"].iloc[0]), str(cmp["district_b"].iloc[0])  # the known spellings
    page, tables = compare_page(cmp, codebook, a, b, {**meta, "lang": lang}, min_n=min_n, back_link=None, rule=rule)
    for t in tables:
        print_table(translate_table(t, lang))  # the terminal and the page in English with --lang en
    if out is not None:
        out = Path(out)
        path = out / f"compare_{slugify(a)}_{slugify(b)}.html" if (out.is_dir() or not out.suffix) else out
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(page, encoding="utf-8")
    return cmp


def rule_meta(parameters: Mapping[str, Any] | None) -> dict[str, Any]:
    """``alpha``, ``adjust`` and ``level`` found anywhere in a run's parameters (flat or nested)."""
    found: dict[str, Any] = {}

    def walk(d: Any) -> None:
        if isinstance(d, Mapping):
            for k, v in d.items():
                if k in ("alpha", "adjust", "level") and not isinstance(v, Mapping) and v is not None:
                    found.setdefault(k, v)
                walk(v)

    walk(parameters or {})
    return found


def _default_codebook() -> Codebook | None:
    try:
        from survey.data.codebook import load_codebook

        return load_codebook()
    except (CodebookError, OSError):
        return None


def load_run(
    db: str | None, run_id: str | None
) -> tuple[pd.DataFrame, pd.DataFrame | None, dict[str, Any], Codebook | None]:
    """Estimates, comparisons, run metadata and codebook of a run (store or output directory)."""
    codebook = _default_codebook()
    if db and "://" not in db and Path(db).exists():
        d = Path(db)
        d = d.parent if d.is_file() else d
        if not (d / "estimates.csv").exists():
            raise PublishError(
                f"{d} har ingen estimates.csv; ange utkatalogen från trygghet run eller en databas-URL med --db."
            )
        est = pd.read_csv(d / "estimates.csv")
        full = d / "estimates_full.csv"
        if full.exists():
            est = pd.read_csv(full)
        comp = pd.read_csv(d / "comparisons.csv") if (d / "comparisons.csv").exists() else None
        meta: dict[str, Any] = {}
        if (d / "run.json").exists():
            meta = json.loads((d / "run.json").read_text(encoding="utf-8"))
        return (
            est,
            comp,
            {
                "run_id": meta.get("run_id", ""),
                "date": str(meta.get("started_at", ""))[:10],
                **rule_meta(meta.get("parameters")),
            },
            codebook,
        )
    store = open_store(db)
    if run_id is None:  # the newest run with stored estimates, whatever its status (one indexed query)
        run_id = store.latest_run_id(statuses=RUN_STATUSES, with_estimates=True)
        if run_id is None:
            raise PublishError("Databasen har ingen körning med skattningar; kör trygghet run först.")
    outs = store.run_outputs(run_id, include_weights=False)  # compare never needs the respondents' weights
    started = outs.run.get("started_at")
    meta = {"run_id": run_id, "date": str(started)[:10] if started else "", **rule_meta(outs.run.get("parameters"))}
    return outs.estimates, outs.comparisons, meta, codebook
