"""The publication of one run: :func:`publish_report` builds every table once and writes it in each format,
the charts, the index page and the published-table versions.

The work is done by modules of their own: :mod:`reports.tables` (the tables), :mod:`reports.disclosure`
(primary and secondary suppression, rounding), :mod:`reports.signals` (the significance rule),
:mod:`reports.pages` (Jinja2 pages), :mod:`reports.xlsx`, :mod:`reports.csvfiles`, :mod:`reports.images`
(Chromium), :mod:`reports.charts`, :mod:`reports.compare`, :mod:`reports.exports` (the table store and the
CLI commands), :mod:`reports.scan` (the disclosure scanner). Their public names are re-exported here, so
``reports.publish`` stays the one entry point of the runner, the CLI and the Prefect flow
``flows/publish_tables.py`` (which runs one task per output kind over the same functions).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from reports.charts import write_charts
from reports.compare import COMPARE_COLUMNS, compare_districts, compare_page, resolve_name
from reports.csvfiles import write_csv
from reports.disclosure import protect, suppression_list
from reports.distributions import distribution_tables
from reports.district_trends import district_trend_table
from reports.domains import district_domain_tables
from reports.exports import (
    EXPORT_FORMATS,
    compare_command,
    export_table,
    table_from_store,
    tables_export_command,
    tables_list_command,
)
from reports.formats import MINUS, NBSP, SUPPRESSED, swedish_number, swedish_p, swedish_percent, swedish_pp
from reports.gt import render_once
from reports.images import chromium_available, chromium_wrapper, write_images
from reports.interactive import write_interactive
from reports.jsonstat import write_jsonstat
from reports.labels import indicator_order
from reports.pages import write_collections, write_index
from reports.pxweb import write_px
from reports.results import PublishedFile, PublishResult
from reports.scan import DisclosureFinding, scan_disclosure
from reports.signals import SignalRule
from reports.smallarea import small_area_table
from reports.summary import respondents, summary_blocks
from reports.tabledata import TableData
from reports.tables import (
    Signals,
    comparison_table,
    district_estimates,
    district_table,
    domain_table,
    group_table,
    trend_table,
)
from reports.terminal import print_table, rich_table
from reports.translate import translate_table
from reports.xlsx import COUNT_FORMAT, P_FORMAT, PP_FORMAT, RATIO_FORMAT, SHARE_FORMAT, write_xlsx
from survey.data.codebook import Codebook
from survey.errors import PublishError
from survey.heap import heap_frozen

__all__ = [
    "PublishError",
    "PublishResult",
    "PublishedFile",
    "DisclosureFinding",
    "publish_report",
    "build_tables",
    "write_html",
    "write_xlsx",
    "write_csv",
    "write_px",
    "write_jsonstat",
    "write_images",
    "write_charts",
    "write_index",
    "publish_to_store",
    "swedish_percent",
    "swedish_number",
    "swedish_pp",
    "swedish_p",
    "export_table",
    "table_from_store",
    "compare_districts",
    "compare_page",
    "rich_table",
    "print_table",
    "scan_disclosure",
    "chromium_wrapper",
    "chromium_available",
    "tables_list_command",
    "tables_export_command",
    "compare_command",
    "resolve_name",
    "NBSP",
    "MINUS",
    "SUPPRESSED",
    "COMPARE_COLUMNS",
    "EXPORT_FORMATS",
    "SHARE_FORMAT",
    "COUNT_FORMAT",
    "PP_FORMAT",
    "P_FORMAT",
    "RATIO_FORMAT",
    "SignalRule",
]


def _check_estimates(estimates: pd.DataFrame) -> None:
    need = {"year", "district", "indicator", "estimate", "ci_low", "ci_high", "n", "suppressed"}
    missing = sorted(need - set(estimates.columns))
    if missing:
        raise PublishError(f"Skattningarna saknar kolumnerna {', '.join(missing)}; de behövs för rapporten.")


def build_tables(
    estimates: pd.DataFrame,
    comparisons: pd.DataFrame | None,
    trend: pd.DataFrame | None,
    codebook: Codebook | None,
    run_meta: Mapping[str, Any],
    *,
    min_n: int = 30,
    compare: Sequence[tuple[str, str]] = (),
    notes: list[str] | None = None,
    district_trends: pd.DataFrame | None = None,
) -> list[TableData]:
    """Every table of the report: one district table per indicator, problems, victimisation and trust for
    the latest year, ``Totalt`` by sex and age group (when the estimates have those domains), the trend
    table, and one comparison table per requested district pair (latest year).

    ``estimates`` may be raw or already :func:`reports.disclosure.protect`-ed. Skipped tables are explained
    in ``notes`` (appended to). ``run_meta["lang"] == "en"``: the tables in English (:mod:`reports.translate`).
    """
    notes = notes if notes is not None else []
    _check_estimates(estimates)
    prot = estimates if "suppressed_reason" in estimates.columns else protect(estimates, min_n)
    est = district_estimates(prot)
    if est.empty:
        raise PublishError("Det finns inga skattningar per område att publicera.")
    rule = SignalRule.from_run(run_meta, comparisons)
    year = int(est["year"].max())
    signals = Signals(comparisons, rule)
    by_indicator = {str(k): g for k, g in est.groupby(est["indicator"].astype(str), sort=False)}  # split once
    tables = [
        district_table(by_indicator[i], comparisons, codebook, i, run_meta, min_n=min_n, rule=rule, signals=signals)
        for i in indicator_order(codebook, est["indicator"].astype(str))
    ]
    for group in ("problem", "utsatthet", "polis"):
        t = group_table(est, comparisons, codebook, group, year, run_meta, min_n=min_n, rule=rule, signals=signals)
        if t is None:
            notes.append(f"Tabellen för gruppen ”{group}” saknas: inga sådana indikatorer i skattningarna.")
        else:
            tables.append(t)
    dt = domain_table(prot, codebook, year, run_meta, min_n=min_n)
    if dt is None:
        notes.append(
            "Tabellen efter kön och åldersgrupp saknas: skattningarna har inga sådana domäner "
            "(kolumnerna domain/group)."
        )
    else:
        tables.append(dt)
    tables += district_domain_tables(prot, codebook, year, run_meta, min_n=min_n)
    tables += distribution_tables(prot, codebook, year, run_meta, min_n=min_n)
    small = small_area_table(prot, codebook, year, run_meta, min_n=min_n)
    tables += [small] if small is not None else []
    tt = trend_table(trend, codebook, year, run_meta, rule=rule) if trend is not None else None
    if tt is None:
        notes.append("Trendtabellen saknas: ingen trendmodell i körningen.")
    else:
        tables.append(tt)
    dtt = district_trend_table(district_trends, prot, codebook, year, run_meta, min_n=min_n, rule=rule)
    tables += [dtt] if dtt is not None else []  # --district-trends: pe per år per district
    for a, b in compare:
        cmp = compare_districts(prot, comparisons, a, b, years=[year], min_n=min_n, codebook=codebook, rule=rule)
        tables.append(
            comparison_table(
                cmp,
                codebook,
                str(cmp["district_a"].iloc[0]),
                str(cmp["district_b"].iloc[0]),
                year,
                run_meta,
                min_n=min_n,
                rule=rule,
            )
        )
    lang = str(run_meta.get("lang", "sv"))
    return [translate_table(t, lang) for t in tables] if lang != "sv" else tables


def write_html(tables: Sequence[TableData], out_dir: Path) -> list[PublishedFile]:
    """``out_dir/tables/<table_id>.html``: standalone offline pages."""
    d = Path(out_dir) / "tables"
    d.mkdir(parents=True, exist_ok=True)
    files = []
    for t in tables:
        p = d / f"{t.table_id}.html"
        p.write_text(t.standalone_html(back_link="../index.html"), encoding="utf-8")
        files.append(PublishedFile("table", t.table_id, "html", p))
    return files


def publish_to_store(
    store: Any,
    tables: Sequence[TableData],
    run_id: str | None,
    *,
    finish: bool = False,
    lineage: dict[str, Any] | None = None,
) -> dict[str, int]:
    """Publish every table as a new version in the store, all in one transaction; returns
    ``{table_id: version}``. ``finish``: the run ``run_id`` is marked succeeded in the same transaction, with
    ``lineage`` when given (``Store.publish_tables(finish=...)``)."""
    from survey.data.store import TableVersion

    versions = store.publish_tables(
        [TableVersion(t.table_id, t.year, run_id, t.store_cells(), t.title, t.meta()) for t in tables],
        finish=run_id if finish else None,
        lineage=lineage,
    )
    return {t.table_id: int(v) for t, v in zip(tables, versions, strict=True)}


def _write_formats(
    res: PublishResult,
    tables: list[TableData],
    out_dir: Path,
    formats: Sequence[str],
    lap: Any,
    alpha: float,
    run_meta: Mapping[str, Any],
) -> None:
    if "html" in formats:
        res.files += write_html(tables, out_dir)
        lap("html")
    if "csv" in formats:
        res.files += write_csv(tables, out_dir)
        lap("csv")
    if "xlsx" in formats:
        res.files.append(
            PublishedFile("workbook", "tabeller", "xlsx", write_xlsx(tables, out_dir / "tabeller.xlsx", alpha=alpha))
        )
        lap("xlsx")
    updated = run_meta.get("date") or None  # the tables carry their language (reports.translate)
    if "px" in formats:
        res.files += write_px(tables, out_dir, updated=updated)
        lap("px")
    if "jsonstat" in formats:
        res.files += write_jsonstat(tables, out_dir, updated=updated)
        lap("jsonstat")
    img = [f for f in ("png", "pdf") if f in formats]
    if img:
        if chromium_available():
            res.files += write_images(tables, out_dir, img)
        else:
            res.notes.append("PNG och PDF av tabellerna saknas: Chromium finns inte på datorn.")
        lap("images")


@heap_frozen
def publish_report(
    estimates: pd.DataFrame,
    comparisons: pd.DataFrame | None,
    trend: pd.DataFrame | None,
    codebook: Codebook | None,
    run_meta: dict,
    out_dir: Path,
    *,
    store: Any = None,
    formats: Sequence[str] = ("html", "xlsx", "csv", "png", "pdf"),
    min_n: int = 30,
    charts: bool | Sequence[str] = True,
    compare: Sequence[tuple[str, str]] = (),
    district_trends: pd.DataFrame | None = None,
) -> PublishResult:
    """Write the publication: tables in ``formats``, charts, ``out_dir/index.html``; publish to ``store``.

    ``run_meta`` keys used: ``run_id``, ``date``, ``data_source``, ``codebook_version`` (when no codebook),
    ``method``, ``title``, ``description``, ``alpha``, ``adjust``, ``level``, ``lang``. PNG/PDF need Chromium; without
    it they are skipped with a note. ``res.suppression`` lists the hidden estimates with their reason.
    """
    unknown = sorted(set(formats) - set(EXPORT_FORMATS))
    if unknown:
        raise PublishError(f"Okänt format för rapporten: {', '.join(unknown)}; välj bland {', '.join(EXPORT_FORMATS)}.")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    res = PublishResult(out_dir=out_dir, index=None)
    clock = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        res.seconds[step] = round(now - clock, 3)
        clock = now

    _check_estimates(estimates)
    prot = protect(estimates, min_n)
    res.suppression = suppression_list(prot)
    rule = SignalRule.from_run(run_meta, comparisons)
    tables = build_tables(
        prot,
        comparisons,
        trend,
        codebook,
        run_meta,
        min_n=min_n,
        compare=compare,
        notes=res.notes,
        district_trends=district_trends,
    )
    res.tables, res.built = [t.table_id for t in tables], tables
    lap("build")
    with render_once():  # a table's HTML is embedded in its page and in a collection page: rendered once
        _write_formats(res, tables, out_dir, formats, lap, rule.alpha, run_meta)
        if charts:  # True: every indicator; a sequence: those indicators (matplotlib costs ~1–3 s per chart)
            res.files += write_charts(
                prot, codebook, run_meta, out_dir, min_n=min_n, indicators=None if charts is True else list(charts)
            )
            lap("charts")
        if "html" in formats:  # the interactive comparison page (self-contained, offline)
            page = write_interactive(prot, comparisons, codebook, run_meta, out_dir, min_n=min_n, rule=rule)
            res.files.append(PublishedFile("interactive", "jamfor", "html", page))
            res.files += write_collections(tables, out_dir)
            lap("interactive")
        if store is not None:
            res.versions = publish_to_store(store, tables, run_meta.get("run_id"))
            lap("store")
    _write_index_page(res, tables, prot, comparisons, codebook, run_meta, min_n=min_n, rule=rule)
    lap("index")
    return res


def _write_index_page(
    res: PublishResult,
    tables: list[TableData],
    prot: pd.DataFrame,
    comparisons: pd.DataFrame | None,
    codebook: Codebook | None,
    run_meta: Mapping[str, Any],
    *,
    min_n: int,
    rule: SignalRule,
) -> None:
    """``res.out_dir/index.html`` with the summary and the respondents, linking every file in ``res``."""
    trend_t = next((t for t in tables if t.kind == "trend"), None)
    res.index = write_index(
        tables,
        res.files,
        res.out_dir,
        run_meta,
        codebook,
        notes=res.notes,
        min_n=min_n,
        rule=rule,
        summary=summary_blocks(prot, comparisons, codebook, rule, trend_t),
        respondents=respondents(prot, min_n),
    )
    res.files.append(PublishedFile("index", "index", "html", res.index))
