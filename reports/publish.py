"""Publication layer: Swedish-formatted tables (HTML, PNG, PDF, XLSX, CSV), charts, the offline report,
published-table versions in the store, district comparisons, terminal rendering and disclosure control.

Entry point: :func:`publish_report`. Every table is a :class:`reports.tables.TableData` (long-format cells +
metadata) rendered to each format by one function per output kind (the Prefect flow
``flows/publish_tables.py`` runs one task per kind over the same functions).

Disclosure control: the builders hide every statistic of a cell whose estimate is flagged ``suppressed`` or
has ``n < min_n`` (text ``..``, no number anywhere, also not in XLSX or HTML attributes), and every
difference or change marker involving such a cell. :func:`scan_disclosure` checks written artefacts for
respondent ids, free text and hidden values; tests run it over every output of a run.

Characters: decimal comma; U+00A0 NO-BREAK SPACE as thousands separator and before ``%``; U+2212 MINUS
SIGN for negative numbers (HTML, PNG, PDF, CSV ``text`` column, terminal; XLSX uses a number format with
U+2212 too); ``..`` for a suppressed cell; ``.`` where a comparison is not available.
"""
from __future__ import annotations

import contextlib
import html
import json
from importlib import resources
import math
import os
import re
import shutil
import stat
import string
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

import pandas as pd

from reports.tables import (EN_DASH, MINUS, NBSP, NOT_AVAILABLE, STAT_KIND, STAT_LABELS, SUPPRESSED,
                            TOTAL, TableData, _as_bool, comparison_table, district_estimates, district_order,
                            domain_table, district_table, group_table, hidden_mask, indicator_group,
                            indicator_label, slugify, strip_external, swedish_number, swedish_p,
                            swedish_percent, swedish_pp, trend_table, PAGE_CSS, GROUP_LABELS)
from survey.data.codebook import Codebook
from survey.errors import PublishError

__all__ = [
    "PublishError", "PublishResult", "PublishedFile", "DisclosureFinding", "publish_report", "build_tables",
    "write_html", "write_xlsx", "write_csv", "write_images", "write_charts", "write_index", "publish_to_store",
    "swedish_percent", "swedish_number", "swedish_pp", "swedish_p", "export_table", "compare_districts",
    "compare_page", "rich_table", "print_table", "scan_disclosure", "chromium_wrapper", "chromium_available",
    "tables_list_command", "tables_export_command", "compare_command", "NBSP", "MINUS", "SUPPRESSED",
]

TEMPLATES = Path(str(resources.files("reports") / "templates"))
EXPORT_FORMATS = ("html", "xlsx", "csv", "png", "pdf", "json")

# Excel number formats. The dot and comma in a format code are the decimal and grouping *placeholders*:
# Swedish Excel shows 0.274 with SHARE_FORMAT as "27,4 %" and 1843 with COUNT_FORMAT as "1 843".
SHARE_FORMAT = '0.0"\u00a0"%'
COUNT_FORMAT = "#,##0"
PP_FORMAT = '+0.0;"\u2212"0.0;0.0'
P_FORMAT = "0.000"
RATIO_FORMAT = "0.000"


# ---------------------------------------------------------------------------------------------------------
# Result types
# ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PublishedFile:
    """One written file: ``kind`` is table/chart/workbook/index/compare, ``fmt`` its extension."""

    kind: str
    table_id: str
    fmt: str
    path: Path


@dataclass
class PublishResult:
    """What :func:`publish_report` wrote."""

    out_dir: Path
    index: Path | None
    files: list[PublishedFile] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    versions: dict[str, int] = field(default_factory=dict)     # table_id -> store version
    notes: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def paths(self, fmt: str | None = None, kind: str | None = None) -> list[Path]:
        """Written paths, optionally only of one format and/or kind."""
        return [f.path for f in self.files if (fmt is None or f.fmt == fmt) and (kind is None or f.kind == kind)]


# ---------------------------------------------------------------------------------------------------------
# Building the tables
# ---------------------------------------------------------------------------------------------------------
def build_tables(estimates: pd.DataFrame, comparisons: pd.DataFrame | None, trend: pd.DataFrame | None,
                 codebook: Codebook | None, run_meta: Mapping[str, Any], *, min_n: int = 30,
                 compare: Sequence[tuple[str, str]] = (), notes: list[str] | None = None) -> list[TableData]:
    """Every table of the report: one district table per indicator, problems, victimisation and trust for
    the latest year, ``Totalt`` by sex and age group (when the estimates have those domains), the trend
    table, and one comparison table per requested district pair (latest year).

    Skipped tables are explained in ``notes`` (appended to).
    """
    notes = notes if notes is not None else []
    _check_estimates(estimates)
    est = district_estimates(estimates)
    if est.empty:
        raise PublishError("There are no district estimates to publish.")
    year = int(est["year"].max())
    inds = list(dict.fromkeys(est["indicator"].astype(str)))
    if codebook is not None:
        order = [i.name for i in codebook.indicators]
        inds.sort(key=lambda i: order.index(i) if i in order else len(order))
    tables = [district_table(estimates, comparisons, codebook, i, run_meta, min_n=min_n) for i in inds]
    for group in ("problem", "utsatthet", "polis"):
        t = group_table(estimates, comparisons, codebook, group, year, run_meta, min_n=min_n)
        if t is None:
            notes.append(f"Tabellen för gruppen ”{group}” saknas: inga sådana indikatorer i skattningarna.")
        else:
            tables.append(t)
    dt = domain_table(estimates, codebook, year, run_meta, min_n=min_n)
    if dt is None:
        notes.append("Tabellen efter kön och åldersgrupp saknas: skattningarna har inga sådana domäner "
                     "(kolumnerna domain/group).")
    else:
        tables.append(dt)
    tt = trend_table(trend, codebook, year, run_meta) if trend is not None else None
    if tt is None:
        notes.append("Trendtabellen saknas: ingen trendmodell i körningen.")
    else:
        tables.append(tt)
    for a, b in compare:
        cmp = compare_districts(estimates, comparisons, a, b, years=[year], min_n=min_n, codebook=codebook)
        tables.append(comparison_table(cmp, codebook, a, b, year, run_meta, min_n=min_n))
    return tables


def _check_estimates(estimates: pd.DataFrame) -> None:
    need = {"year", "district", "indicator", "estimate", "ci_low", "ci_high", "n", "suppressed"}
    missing = sorted(need - set(estimates.columns))
    if missing:
        raise PublishError(f"The estimates lack the column(s) {', '.join(missing)}.")


# ---------------------------------------------------------------------------------------------------------
# Writers: one function per output kind
# ---------------------------------------------------------------------------------------------------------
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


def write_csv(tables: Sequence[TableData], out_dir: Path) -> list[PublishedFile]:
    """``out_dir/tables/<table_id>.csv``: the long, machine-readable form (UTF-8, comma, dot decimal,
    ``value`` empty for a suppressed cell, ``text`` the Swedish display text)."""
    d = Path(out_dir) / "tables"
    d.mkdir(parents=True, exist_ok=True)
    files = []
    for t in tables:
        p = d / f"{t.table_id}.csv"
        _long_csv(t, p)
        files.append(PublishedFile("table", t.table_id, "csv", p))
    return files


def _long_csv(t: TableData, path: Path) -> None:
    df = t.long_frame()
    df["value"] = [("" if v is None or pd.isna(v) else repr(float(v))) for v in df["value"]]
    df["suppressed"] = df["suppressed"].map(lambda b: "true" if b else "false")
    df.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")


def _column_stats(t: TableData) -> dict[str, set[str]]:
    """The statistics present in each display column (one pass over the cells)."""
    return {str(ck): set(g) for ck, g in t.cells.groupby("column_key", sort=False)["stat"]}


def _stat_kind(t: TableData, ck: str, stat: str, column_stats: dict[str, set[str]] | None = None) -> str:
    """Value kind of a statistic within a display column (CI bounds of a difference are in pp)."""
    if stat in ("lo", "hi"):
        keys = (column_stats if column_stats is not None else _column_stats(t)).get(ck, set())
        if "diff" in keys:
            return "pp"
        if "or" in keys:
            return "ratio"
    return STAT_KIND[stat]


def _xlsx_value(kind: str, value: float | None) -> float | None:
    if value is None:
        return None
    if kind == "count":
        return int(round(value))
    return value * 100.0 if kind == "pp" else value


_XLSX_FORMATS = {"share": SHARE_FORMAT, "count": COUNT_FORMAT, "pp": PP_FORMAT, "p": P_FORMAT,
                 "ratio": RATIO_FORMAT}


def write_xlsx(tables: Sequence[TableData], path: Path) -> Path:
    """One workbook, one sheet per table: real numbers with Swedish-displaying number formats.

    A share is stored as a fraction (0.274) with ``0.0" "%`` (U+00A0), shown as ``27,4 %`` in Swedish
    Excel; differences in procentenheter are stored ×100 with a signed format; a suppressed cell holds the
    text ``..`` in every statistic.
    """
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    for t in tables:
        name = _sheet_name(t.table_id, used)
        _write_sheet(wb.create_sheet(name), t)
    # Deterministic document properties: no timestamps that differ run to run.
    wb.properties.creator = "trygghet"
    fixed = datetime(2000, 1, 1)
    wb.properties.created = fixed
    wb.properties.modified = fixed
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def _sheet_name(table_id: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", "_", table_id)[:31]
    name, i = base, 2
    while name.lower() in used:
        suffix = f"~{i}"
        name, i = base[:31 - len(suffix)] + suffix, i + 1
    used.add(name.lower())
    return name


def _write_sheet(ws: Any, t: TableData) -> None:
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    idx = {(r, c, s): (v, tx, h) for r, c, s, v, tx, h in t.cells[
        ["row_key", "column_key", "stat", "value", "text", "suppressed"]].itertuples(index=False, name=None)}
    present = set(zip(t.cells["column_key"], t.cells["stat"]))
    layout = [(ck, lab, [s for s in t.stats if (ck, s) in present]) for ck, lab in t.columns]
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="E8EEF4")
    thin = Side(style="thin", color="1F3A5F")
    ws["A1"] = t.title
    ws["A1"].font = Font(bold=True, size=13, color="1F3A5F")
    ws["A2"] = t.subtitle
    ws["A2"].font = Font(italic=True, color="5B6770")
    h1, h2, first = 4, 5, 6
    ws.cell(h1, 1, t.stub_label or "")
    ws.merge_cells(start_row=h1, start_column=1, end_row=h2, end_column=1)
    col = 2
    for ck, lab, stats in layout:
        if not stats:
            continue
        ws.cell(h1, col, f"{t.column_spanners[ck]} {lab}" if ck in t.column_spanners and
                t.column_spanners[ck] not in ("År",) else lab)
        if len(stats) > 1:
            ws.merge_cells(start_row=h1, start_column=col, end_row=h1, end_column=col + len(stats) - 1)
        for j, s in enumerate(stats):
            label = STAT_LABELS[s]
            if s == "diff":
                label = "Skillnad"
            ws.cell(h2, col + j, label)
        col += len(stats)
    last_col = col - 1
    for r in (h1, h2):
        for c in range(1, last_col + 1):
            cell = ws.cell(r, c)
            cell.font = bold
            cell.fill = head_fill
            cell.alignment = Alignment(horizontal="center" if c > 1 else "left", vertical="center",
                                       wrap_text=True)
        ws.cell(h2, 1).border = Border(bottom=thin)
    for c in range(1, last_col + 1):
        ws.cell(h2, c).border = Border(bottom=thin)
    row = first
    current_group = None
    column_stats = _column_stats(t)
    for rk, rlab in t.rows:
        g = t.row_groups.get(rk)
        if g and g != current_group:
            ws.cell(row, 1, g).font = Font(bold=True, color="1F3A5F")
            row += 1
            current_group = g
        ws.cell(row, 1, rlab).font = bold if rk == TOTAL else Font()
        col = 2
        for ck, _, stats in layout:
            for s in stats:
                v, tx, hidden = idx.get((rk, ck, s), (None, NOT_AVAILABLE, False))
                cell = ws.cell(row, col)
                kind = _stat_kind(t, ck, s, column_stats)
                if hidden:
                    cell.value = SUPPRESSED
                    cell.alignment = Alignment(horizontal="right")
                elif kind == "flag":
                    cell.value = tx or None
                    cell.alignment = Alignment(horizontal="center")
                elif v is None:
                    cell.value = NOT_AVAILABLE
                    cell.alignment = Alignment(horizontal="right")
                else:
                    cell.value = _xlsx_value(kind, float(v))
                    cell.number_format = _XLSX_FORMATS[kind]
                col += 1
        row += 1
    row += 1
    for note in [*t.footnotes, t.source_note]:
        if note:
            ws.cell(row, 1, note).font = Font(size=9, color="5B6770")
            row += 1
    ws.column_dimensions["A"].width = max([len(lab) for _, lab in t.rows] + [len(t.stub_label), 12]) + 2
    for c in range(2, last_col + 1):
        ws.column_dimensions[get_column_letter(c)].width = 11
    ws.freeze_panes = ws.cell(first, 2)


def chromium_binary() -> str | None:
    """The Chromium/Chrome executable, or ``None``."""
    for cand in ("/usr/lib/chromium/chromium",):
        if os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def chromium_available() -> bool:
    return chromium_binary() is not None


CHROMIUM_FLAGS = ("--no-sandbox", "--disable-dev-shm-usage", "--disable-component-update", "--disable-quic",
                  "--disable-background-networking", "--no-first-run")


def chromium_wrapper(cache_dir: Path | None = None) -> Path:
    """Write (once) a wrapper script that runs Chromium with the flags it needs as root in a container.

    Debian's ``/usr/bin/chromium`` resets ``CHROMIUM_FLAGS``, so the wrapper calls the real binary.
    """
    binary = chromium_binary()
    if binary is None:
        raise PublishError("PNG and PDF need Chromium (apt-get install chromium); it was not found.")
    d = Path(cache_dir) if cache_dir else Path(tempfile.gettempdir()) / f"trygghet-chromium-{os.getuid()}"
    d.mkdir(parents=True, exist_ok=True)
    script = d / "chromium-wrapper.sh"
    body = f'#!/bin/sh\nexec "{binary}" {" ".join(CHROMIUM_FLAGS)} "$@"\n'
    if not script.exists() or script.read_text() != body:
        tmp = d / f".wrapper-{os.getpid()}"
        tmp.write_text(body)
        tmp.chmod(stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
        os.replace(tmp, script)
    return script


@contextlib.contextmanager
def _chrome_env() -> Iterator[None]:
    """CHROME_PATH pointing at the wrapper for the duration; the headless browser is closed afterwards."""
    old = os.environ.get("CHROME_PATH")
    os.environ["CHROME_PATH"] = str(chromium_wrapper())
    try:
        yield
    finally:
        try:
            import nokap

            nokap.close()
        except Exception:  # noqa: BLE001 - closing a browser that failed to start is not an error
            pass
        if old is None:
            os.environ.pop("CHROME_PATH", None)
        else:
            os.environ["CHROME_PATH"] = old


def write_images(tables: Sequence[TableData], out_dir: Path, fmts: Sequence[str] = ("png", "pdf")
                 ) -> list[PublishedFile]:
    """PNG and/or PDF of each table through headless Chromium (``GT.gtsave``), once per table and format."""
    d = Path(out_dir) / "tables"
    d.mkdir(parents=True, exist_ok=True)
    files = []
    with _chrome_env():
        for t in tables:
            gt = t.to_gt()
            for fmt in fmts:
                p = d / f"{t.table_id}.{fmt}"
                try:
                    gt.gtsave(p, expand=16, zoom=2 if fmt == "png" else 1, vwidth=1200)
                except Exception as exc:  # nokap raises its own error types
                    raise PublishError(f"Rendering {t.table_id}.{fmt} with Chromium failed: {exc}") from exc
                files.append(PublishedFile("table", t.table_id, fmt, p))
    return files


def write_charts(estimates: pd.DataFrame, codebook: Codebook | None, run_meta: Mapping[str, Any],
                 out_dir: Path, *, min_n: int = 30, indicators: Sequence[str] | None = None
                 ) -> list[PublishedFile]:
    """``out_dir/charts/trend_<indicator>.png|svg``: trend per district with CI bands."""
    from reports.charts import trend_chart

    est = district_estimates(estimates)
    inds = list(indicators) if indicators else list(dict.fromkeys(est["indicator"].astype(str)))
    if codebook is not None:
        order = [i.name for i in codebook.indicators]
        inds.sort(key=lambda i: order.index(i) if i in order else len(order))
    files = []
    for ind in inds:
        for p in trend_chart(estimates, ind, codebook, Path(out_dir) / "charts" / f"trend_{ind}", run_meta,
                             min_n=min_n):
            files.append(PublishedFile("chart", f"trend_{ind}", p.suffix[1:], p))
    return files


def publish_to_store(store: Any, tables: Sequence[TableData], run_id: str | None) -> dict[str, int]:
    """Publish every table as a new version in the store; returns ``{table_id: version}``."""
    return {t.table_id: int(store.publish_table(t.table_id, t.year, run_id, t.store_cells(), t.title, t.meta()))
            for t in tables}


# ---------------------------------------------------------------------------------------------------------
# Index page
# ---------------------------------------------------------------------------------------------------------
def write_index(tables: Sequence[TableData], files: Sequence[PublishedFile], out_dir: Path,
                run_meta: Mapping[str, Any], codebook: Codebook | None, *, notes: Sequence[str] = (),
                min_n: int = 30) -> Path:
    """``out_dir/index.html``: offline report page linking every table (all formats) and chart."""
    out_dir = Path(out_dir)
    by_table: dict[str, dict[str, Path]] = {}
    for f in files:
        by_table.setdefault(f.table_id, {})[f.fmt] = f.path
    workbook = next((f.path for f in files if f.kind == "workbook"), None)

    def rel(p: Path) -> str:
        return html.escape(os.path.relpath(p, out_dir).replace(os.sep, "/"))

    def links(tid: str) -> str:
        fm = by_table.get(tid, {})
        names = {"html": "Tabell (HTML)", "png": "PNG", "pdf": "PDF", "csv": "CSV", "xlsx": "Excel"}
        return " · ".join(f'<a href="{rel(fm[k])}">{v}</a>' for k, v in names.items() if k in fm)

    sections: dict[str, list[str]] = {}
    for t in tables:
        if t.kind == "district":
            ind = t.dims["fixed"]["indicator"]
            sec = GROUP_LABELS.get(indicator_group(codebook, ind), "Övrigt")
        else:
            sec = {"group": "Sammanställningar senaste året", "domain": "Sammanställningar senaste året",
                   "trend": "Trend", "compare": "Jämförelser mellan områden"}.get(t.kind, "Övrigt")
        first = by_table.get(t.table_id, {}).get("html")
        title = (f'<a href="{rel(first)}">{html.escape(t.title)}</a>' if first else html.escape(t.title))
        sections.setdefault(sec, []).append(
            f'<li><span class="t">{title}</span><span class="f">{links(t.table_id)}</span></li>')
    table_html = "\n".join(f"<h3>{html.escape(sec)}</h3>\n<ul class=\"tables\">\n" + "\n".join(items) + "\n</ul>"
                           for sec, items in sections.items())
    chart_items = []
    for tid, fm in by_table.items():
        if "png" in fm and tid.startswith("trend_"):
            ind = tid[len("trend_"):]
            extra = f' · <a href="{rel(fm["svg"])}">SVG</a>' if "svg" in fm else ""
            chart_items.append(
                f'<figure><a href="{rel(fm["png"])}"><img src="{rel(fm["png"])}" alt="Diagram: '
                f'{html.escape(indicator_label(codebook, ind))}" loading="lazy"></a><figcaption>'
                f'{html.escape(indicator_label(codebook, ind))}<br><a href="{rel(fm["png"])}">PNG</a>{extra}'
                f"</figcaption></figure>")
    wb = (f'<p class="wb">Alla tabeller i en arbetsbok: <a href="{rel(workbook)}">Excel (XLSX)</a>, ett blad per '
          f"tabell.</p>" if workbook else "")
    note_html = ("<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>") if notes else \
        "<p>Inga.</p>"
    years = sorted({int(c) for t in tables if t.kind == "district" for c, _ in t.columns} |
                   {int(t.year) for t in tables})
    cb = f"{codebook.name} v{codebook.version}" if codebook else str(run_meta.get("codebook_version", "okänd"))
    tpl = string.Template((TEMPLATES / "index.html").read_text(encoding="utf-8"))
    page = tpl.substitute(
        title=html.escape(str(run_meta.get("title", "Trygghetsundersökning: resultat per område"))),
        page_css=PAGE_CSS,
        lead=html.escape(str(run_meta.get("description",
                                          f"Resultat {years[0]}–{years[-1]}" if len(years) > 1 else
                                          f"Resultat {years[0] if years else ''}"))),
        workbook=wb, tables=table_html, charts="\n".join(chart_items) or "<p>Inga diagram.</p>",
        notes=note_html, min_n=str(min_n),
        source=html.escape(str(run_meta.get("data_source", "Trygghetsundersökning"))),
        date=html.escape(str(run_meta.get("date", ""))), codebook=html.escape(cb),
        date_sep=", " if run_meta.get("date") else "",
        run_id=html.escape(str(run_meta.get("run_id", ""))),
        method=html.escape(str(run_meta.get("method", "Vägda andelar; vikter kalibrerade (raking) mot "
                                            "befolkningen efter område × kön och område × åldersgrupp; "
                                            "standardfel med Taylorlinjärisering; 95 % konfidensintervall "
                                            "på logitskala."))))
    p = out_dir / "index.html"
    p.write_text(page, encoding="utf-8")
    return p


# ---------------------------------------------------------------------------------------------------------
# The whole report
# ---------------------------------------------------------------------------------------------------------
def publish_report(estimates: pd.DataFrame, comparisons: pd.DataFrame | None, trend: pd.DataFrame | None,
                   codebook: Codebook | None, run_meta: dict, out_dir: Path, *, store: Any = None,
                   formats: Sequence[str] = ("html", "xlsx", "csv", "png", "pdf"), min_n: int = 30,
                   charts: bool | Sequence[str] = True, compare: Sequence[tuple[str, str]] = ()) -> PublishResult:
    """Write the publication: tables in ``formats``, charts, ``out_dir/index.html``; publish to ``store``.

    ``run_meta`` keys used: ``run_id``, ``date``, ``data_source``, ``codebook_version`` (when no codebook),
    ``method``, ``title``, ``description``. PNG/PDF need Chromium; without it they are skipped with a note.
    """
    unknown = sorted(set(formats) - set(EXPORT_FORMATS))
    if unknown:
        raise PublishError(f"Unknown output format(s): {', '.join(unknown)}.")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    res = PublishResult(out_dir=out_dir, index=None)
    clock = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        res.seconds[step] = round(now - clock, 3)
        clock = now

    tables = build_tables(estimates, comparisons, trend, codebook, run_meta, min_n=min_n, compare=compare,
                          notes=res.notes)
    res.tables = [t.table_id for t in tables]
    lap("build")
    if "html" in formats:
        res.files += write_html(tables, out_dir)
        lap("html")
    if "csv" in formats:
        res.files += write_csv(tables, out_dir)
        lap("csv")
    if "xlsx" in formats:
        p = write_xlsx(tables, out_dir / "tabeller.xlsx")
        res.files.append(PublishedFile("workbook", "tabeller", "xlsx", p))
        lap("xlsx")
    img = [f for f in ("png", "pdf") if f in formats]
    if img:
        if chromium_available():
            res.files += write_images(tables, out_dir, img)
        else:
            res.notes.append("PNG och PDF av tabellerna saknas: Chromium finns inte på datorn.")
        lap("images")
    if charts:   # True: every indicator; a sequence: those indicators (matplotlib costs ~1–3 s per chart)
        res.files += write_charts(estimates, codebook, run_meta, out_dir, min_n=min_n,
                                  indicators=None if charts is True else list(charts))
        lap("charts")
    if store is not None:
        res.versions = publish_to_store(store, tables, run_meta.get("run_id"))
        lap("store")
    res.index = write_index(tables, res.files, out_dir, run_meta, codebook, notes=res.notes, min_n=min_n)
    res.files.append(PublishedFile("index", "index", "html", res.index))
    lap("index")
    return res


# ---------------------------------------------------------------------------------------------------------
# District comparison
# ---------------------------------------------------------------------------------------------------------
COMPARE_COLUMNS = ["year", "indicator", "label", "district_a", "estimate_a", "ci_low_a", "ci_high_a", "n_a",
                   "hidden_a", "district_b", "estimate_b", "ci_low_b", "ci_high_b", "n_b", "hidden_b",
                   "difference", "se", "ci_low", "ci_high", "p_value", "p_adjusted", "significant"]


def compare_districts(estimates: pd.DataFrame, comparisons: pd.DataFrame | None, a: str, b: str,
                      indicators: Sequence[str] | None = None, years: Sequence[int] | None = None, *,
                      min_n: int = 30, codebook: Codebook | None = None) -> pd.DataFrame:
    """Two districts side by side over all (or the given) indicators and years.

    Returns one row per year × indicator with both shares (and CIs, n), the difference ``a − b`` (as a
    share difference; ×100 = procentenheter) with its CI, p-values and significance, taken from the
    ``vs_district`` rows of ``comparisons`` (either direction). Publication-safe: when either share is
    hidden (suppressed or ``n < min_n``) its numbers and the difference are NaN and ``hidden_*`` is True.
    A pair without comparison rows gives NaN differences (shown as ``.``).
    """
    _check_estimates(estimates)
    est = district_estimates(estimates)
    known = set(est["district"].astype(str))
    for d in (a, b):
        if d not in known:
            raise PublishError(f"Unknown district {d!r}; known: {', '.join(district_order(known))}.")
    est = est.assign(_hidden=hidden_mask(est, min_n).to_numpy())
    if indicators:
        bad = sorted(set(indicators) - set(est["indicator"].astype(str)))
        if bad:
            raise PublishError(f"Unknown indicator(s): {', '.join(bad)}.")
        est = est[est["indicator"].isin(list(indicators))]
    if years:
        est = est[est["year"].astype(int).isin([int(y) for y in years])]
    cols = ["year", "indicator", "estimate", "ci_low", "ci_high", "n", "_hidden"]
    ea = est[est["district"] == a][cols]
    eb = est[est["district"] == b][cols]
    m = ea.merge(eb, on=["year", "indicator"], suffixes=("_a", "_b"), how="outer")
    m["year"] = m["year"].astype(int)
    cmp = _pair_comparisons(comparisons, a, b)
    m = m.merge(cmp, on=["year", "indicator"], how="left")
    out = pd.DataFrame({
        "year": m["year"], "indicator": m["indicator"].astype(str),
        "label": [indicator_label(codebook, i) for i in m["indicator"].astype(str)],
        "district_a": a, "estimate_a": m["estimate_a"], "ci_low_a": m["ci_low_a"], "ci_high_a": m["ci_high_a"],
        "n_a": m["n_a"], "hidden_a": m["_hidden_a"].fillna(True).astype(bool),
        "district_b": b, "estimate_b": m["estimate_b"], "ci_low_b": m["ci_low_b"], "ci_high_b": m["ci_high_b"],
        "n_b": m["n_b"], "hidden_b": m["_hidden_b"].fillna(True).astype(bool),
        "difference": m["difference"], "se": m["se"], "ci_low": m["ci_low"], "ci_high": m["ci_high"],
        "p_value": m["p_value"], "p_adjusted": m["p_adjusted"],
        "significant": m["significant"].map(lambda v: _as_bool(v) if not pd.isna(v) else False).astype(bool)})
    for side in ("a", "b"):
        h = out[f"hidden_{side}"]
        for c in ("estimate", "ci_low", "ci_high", "n"):
            out[f"{c}_{side}"] = out[f"{c}_{side}"].astype("float64").where(~h)
    either = out["hidden_a"] | out["hidden_b"]
    for c in ("difference", "se", "ci_low", "ci_high", "p_value", "p_adjusted"):
        out[c] = out[c].astype("float64").where(~either)
    out.loc[either, "significant"] = False
    if codebook is not None:
        order = {i.name: k for k, i in enumerate(codebook.indicators)}
        out["_o"] = out["indicator"].map(lambda i: order.get(i, len(order)))
    else:
        out["_o"] = 0
    out = out.sort_values(["year", "_o", "indicator"]).drop(columns="_o").reset_index(drop=True)
    return out[COMPARE_COLUMNS]


def _pair_comparisons(comparisons: pd.DataFrame | None, a: str, b: str) -> pd.DataFrame:
    """The ``vs_district`` comparisons of a against b (rows of b against a are negated)."""
    cols = ["year", "indicator", "difference", "se", "ci_low", "ci_high", "p_value", "p_adjusted", "significant"]
    if comparisons is None or comparisons.empty:
        return pd.DataFrame(columns=cols).astype({"year": "int64", "indicator": "object"})
    c = comparisons[comparisons["comparison"] == "vs_district"].copy()
    c["other"] = c["other"].astype(str)
    ab = c[(c["district"] == a) & (c["other"] == b)]
    ba = c[(c["district"] == b) & (c["other"] == a)].copy()
    if not ba.empty:
        ba["difference"] = -ba["difference"]
        ba["ci_low"], ba["ci_high"] = -ba["ci_high"], -ba["ci_low"]
    both = pd.concat([ab, ba[~ba.set_index(["year", "indicator"]).index.isin(
        ab.set_index(["year", "indicator"]).index)]], ignore_index=True)
    for col in ("p_adjusted",):
        if col not in both.columns:
            both[col] = float("nan")
    both = both[cols].copy()
    both["year"] = both["year"].astype(int)
    both["indicator"] = both["indicator"].astype(str)
    return both


def compare_page(compared: pd.DataFrame, codebook: Codebook | None, a: str, b: str,
                 run_meta: Mapping[str, Any], *, min_n: int = 30, back_link: str | None = "../index.html"
                 ) -> tuple[str, list[TableData]]:
    """A standalone HTML page comparing two districts (one table per year, latest first)."""
    years = sorted({int(y) for y in compared["year"]}, reverse=True)
    tables = [comparison_table(compared, codebook, a, b, y, run_meta, min_n=min_n) for y in years]
    body = "\n".join(strip_external(t.to_gt().as_raw_html()) for t in tables)
    back = (f'<p class="back"><a href="{html.escape(back_link)}">← Till rapportens startsida</a></p>'
            if back_link else "")
    page = (f'<!DOCTYPE html>\n<html lang="sv">\n<head>\n<meta charset="utf-8">\n<title>{html.escape(a)} '
            f"jämfört med {html.escape(b)}</title>\n<style>{PAGE_CSS} .gt_table {{ margin-bottom: 28px; }}"
            f"</style>\n</head>\n<body>\n{back}\n<main>\n{body}\n</main>\n</body>\n</html>\n")
    return page, tables


# ---------------------------------------------------------------------------------------------------------
# Store exports and terminal rendering
# ---------------------------------------------------------------------------------------------------------
def table_from_store(store: Any, table_id: str, year: int, version: int | None = None) -> TableData:
    """A published table read back from the store."""
    row, cells = store.published_table(table_id, year, version)
    meta = row.get("meta") if isinstance(row.get("meta"), dict) else row
    if not meta or "rows" not in meta:
        raise PublishError(f"The published table {table_id} {year} has no layout metadata; it was not "
                           f"published by reports.publish.")
    return TableData.from_store(meta, cells)


def export_table(store: Any, table_id: str, year: int, fmt: str, out: Path, *, version: int | None = None
                 ) -> Path:
    """Write a published table (latest version unless ``version``) as html/xlsx/csv/png/pdf/json.

    ``out`` is a file path or a directory (then ``<table_id>_<year>.<fmt>``).
    """
    fmt = fmt.lower().lstrip(".")
    if fmt not in EXPORT_FORMATS:
        raise PublishError(f"Unknown format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}.")
    t = table_from_store(store, table_id, year, version)
    out = Path(out)
    path = out / f"{table_id}_{year}.{fmt}" if (out.is_dir() or not out.suffix) else out
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "html":
        path.write_text(t.standalone_html(back_link=None), encoding="utf-8")
    elif fmt == "csv":
        _long_csv(t, path)
    elif fmt == "xlsx":
        write_xlsx([t], path)
    elif fmt == "json":
        path.write_text(json.dumps({"meta": t.meta(), "cells": json.loads(
            t.store_cells().to_json(orient="records", force_ascii=False))}, ensure_ascii=False, indent=1),
            encoding="utf-8")
    else:
        with _chrome_env():
            t.to_gt().gtsave(path, expand=16, zoom=2 if fmt == "png" else 1, vwidth=1200)
    return path


def rich_table(t: TableData) -> Any:
    """A Rich table for the terminal: share (with change marker) and CI on a second, dim line."""
    from rich.table import Table
    from rich.text import Text

    idx = {(r, c, s): (v, tx, h) for r, c, s, v, tx, h in t.cells[
        ["row_key", "column_key", "stat", "value", "text", "suppressed"]].itertuples(index=False, name=None)}
    rt = Table(title=t.title, caption=t.source_note, caption_justify="left", show_lines=False)
    rt.add_column(t.stub_label or "", style="bold")
    for _, lab in t.columns:
        rt.add_column(lab, justify="right")
    for rk, rlab in t.rows:
        cells = []
        for ck, _ in t.columns:
            main = next((idx[(rk, ck, s)] for s in ("est", "diff", "or") if (rk, ck, s) in idx), None)
            if main is None:
                cells.append(Text(NOT_AVAILABLE))
                continue
            if main[2]:
                cells.append(Text(SUPPRESSED))
                continue
            txt = Text(main[1])
            sig = idx.get((rk, ck, "sig"))
            if sig and sig[1]:
                txt.append(sig[1], style="bold red")
            lo, hi = idx.get((rk, ck, "lo")), idx.get((rk, ck, "hi"))
            if lo and hi and lo[0] is not None and hi[0] is not None:
                txt.append(f"\n({lo[1].replace(NBSP + '%', '')}{EN_DASH}{hi[1].replace(NBSP + '%', '')})",
                           style="dim")
            cells.append(txt)
        rt.add_row(rlab, *cells)
    return rt


def print_table(t: TableData, console: Any = None) -> None:
    """Print a table with Rich, followed by its footnotes."""
    from rich.console import Console

    console = console or Console()
    console.print(rich_table(t))
    for note in t.footnotes:
        console.print(note, style="dim")


# ---------------------------------------------------------------------------------------------------------
# Disclosure scanner
# ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DisclosureFinding:
    """Something a published artefact must not contain."""

    path: str
    kind: str        # respondent_id | free_text | hidden_value | suppressed_with_value
    detail: str

    def __str__(self) -> str:
        return f"{self.path}: {self.kind}: {self.detail}"


_NUM_RE = re.compile(r"(?<![\d.,])[+\-\u2212]?\d{1,3}(?:[ \u00a0\u202f]\d{3})*(?:[.,]\d+)|"
                     r"(?<![\d.,])[+\-\u2212]?\d+[.,]\d+")
_SCANNED_TEXT = {".html", ".htm", ".svg", ".csv", ".json", ".md", ".txt", ".xml"}


class _Grids(HTMLParser):
    """Collects HTML tables as grids of (header labels per column, body rows of cell texts)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[dict[str, list]] = []
        self._stack: list[dict[str, list]] = []
        self._row: list[tuple[str, int]] | None = None
        self._cell: list[str] | None = None
        self._span = 1
        self._in_head = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table":
            self._stack.append({"head": [], "body": []})
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr" and self._stack:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
            try:
                self._span = max(1, int(a.get("colspan") or 1))
            except ValueError:
                self._span = 1
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append((" ".join("".join(self._cell).split()), self._span))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._stack:
            expanded = [txt for txt, span in self._row for _ in range(span)]
            self._stack[-1]["head" if self._in_head else "body"].append(expanded)
            self._row = None
        elif tag == "thead":
            self._in_head = False
        elif tag == "table" and self._stack:
            self.tables.append(self._stack.pop())

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _numbers(text: str) -> list[float]:
    """Decimal numbers in a display text (Swedish or English notation; integers are ignored)."""
    out = []
    for m in _NUM_RE.finditer(text):
        s = m.group(0).replace("\u2212", "-").replace(" ", "").replace("\u00a0", "").replace("\u202f", "")
        s = s.replace(",", ".")
        try:
            out.append(float(s))
        except ValueError:
            pass
    return out


class _Sensitive:
    """The values and strings a publication must not contain, derived from the estimates and inputs."""

    def __init__(self, estimates: pd.DataFrame, comparisons: pd.DataFrame | None, min_n: int,
                 respondent_ids: Iterable[Any], free_text: Iterable[Any]) -> None:
        est = estimates.copy()
        if "domain" in est.columns and "group" in est.columns:
            dom = est["domain"].astype("object").where(est["domain"].notna(), "district")
            est["_entity"] = est["district"].astype(str).where(dom == "district", est["group"].astype(str))
        else:
            est["_entity"] = est["district"].astype(str)
        hid = hidden_mask(est, min_n)
        stats = [c for c in ("estimate", "ci_low", "ci_high", "se") if c in est.columns]
        self.hidden_by_entity: dict[str, list[float]] = {}
        self.visible_by_entity: dict[str, list[float]] = {}
        self.hidden_values: list[float] = []
        for rec, h in zip(est[["_entity", *stats]].itertuples(index=False), hid):
            vals = [float(v) for v in rec[1:] if not pd.isna(v)]
            target = self.hidden_by_entity if h else self.visible_by_entity
            target.setdefault(rec[0], []).extend(vals[:3] if "se" in stats else vals)
            if h:
                self.hidden_values.extend(vals)
        # differences that involve a hidden estimate would reveal it
        self.hidden_diffs: list[float] = []
        if comparisons is not None and not comparisons.empty:
            key = {(int(y), str(d), str(i)): bool(h) for (y, d, i), h in zip(
                est[["year", "district", "indicator"]].itertuples(index=False), hid)}
            for r in comparisons.itertuples(index=False):
                other = str(r.other)
                oy, od = (int(float(other)), str(r.district)) if r.comparison == "previous_year" else (
                    int(r.year), TOTAL if r.comparison == "vs_totalt" else other)
                if key.get((int(r.year), str(r.district), str(r.indicator)), False) or key.get(
                        (oy, od, str(r.indicator)), False):
                    self.hidden_diffs += [float(v) for v in (r.difference, r.se, r.ci_low, r.ci_high)
                                          if not pd.isna(v)]
        self.hidden_values = [v for v in self.hidden_values if v not in (0.0, 1.0)]
        self.hidden_diffs = [v for v in self.hidden_diffs if v != 0.0]
        self.fingerprints = self._fingerprints()
        ids = sorted({str(i) for i in respondent_ids if str(i).strip() and len(str(i).strip()) >= 4},
                     key=len, reverse=True)
        self.id_re = (re.compile(r"(?<![\w.,\-])(?:" + "|".join(map(re.escape, ids)) + r")(?![\w,\-]|\.\d)")
                      if ids else None)
        frags: set[str] = set()
        for t in free_text:
            if t is None or (isinstance(t, float) and math.isnan(t)):
                continue
            norm = " ".join(str(t).split())
            if len(norm) >= 10:
                frags.add(norm)
            for part in re.split(r"[\n\r]+|(?<=[.!?;])\s+", str(t)):
                part = " ".join(part.split())
                if len(part) >= 12:
                    frags.add(part)
        self.fragments = sorted(frags, key=len, reverse=True)

    def _fingerprints(self) -> dict[str, float]:
        """High-precision renderings of hidden values that can never occur by chance in a publication."""
        fp: dict[str, float] = {}
        for v in self.hidden_values + self.hidden_diffs:
            a = abs(v)
            for s in (repr(a), f"{a:.4f}", f"{a * 100:.2f}", f"{a * 100:.3f}"):
                if s.rstrip("0").rstrip(".") in ("", "0") or len(s.replace(".", "").lstrip("0")) < 4:
                    continue
                fp[s] = v
                fp[s.replace(".", ",")] = v
        return fp

    def numeric_hit(self, x: float) -> float | None:
        """A hidden value equal to ``x`` at full precision (as fraction, ×100 or pp)."""
        for v in self.hidden_values + self.hidden_diffs:
            for cand in (v, v * 100):
                if math.isclose(x, cand, rel_tol=1e-9, abs_tol=1e-12):
                    return v
        return None

    def display_hit(self, entity: str, x: float) -> float | None:
        """``x`` (a share in [0, 1]) matches a hidden value of ``entity`` at display precision (0.1 %)
        and no visible value of it."""
        tol = 0.0005 + 1e-9
        hit = next((v for v in self.hidden_by_entity.get(entity, ()) if abs(v - x) <= tol), None)
        if hit is None:
            return None
        if any(abs(v - x) <= tol for v in self.visible_by_entity.get(entity, ())):
            return None
        return hit


def _scan_text(path: str, text: str, sens: _Sensitive) -> list[DisclosureFinding]:
    found: list[DisclosureFinding] = []
    variants = {text, html.unescape(text)}
    norm = " ".join(html.unescape(text).split())
    for t in variants:
        if sens.id_re is not None:
            m = sens.id_re.search(t)
            if m:
                found.append(DisclosureFinding(path, "respondent_id", f"respondent id {m.group(0)!r}"))
                break
    for frag in sens.fragments:
        if frag in norm:
            found.append(DisclosureFinding(path, "free_text", f"free text {frag[:40]!r}"))
            break
    for t in variants:
        for fp, v in sens.fingerprints.items():
            i = t.find(fp)
            while i >= 0:
                before = t[i - 1] if i > 0 else ""
                after = t[i + len(fp)] if i + len(fp) < len(t) else ""
                if not before.isdigit() and not after.isdigit():
                    found.append(DisclosureFinding(path, "hidden_value", f"{fp!r} renders hidden value {v!r}"))
                    break
                i = t.find(fp, i + 1)
            else:
                continue
            break
    return found


def _scan_grid(path: str, head: list[list[str]], body: list[list[Any]], sens: _Sensitive,
               entities: set[str]) -> list[DisclosureFinding]:
    """Cells in a row or column labelled with a district/group must not show its hidden values."""
    found = []
    for row in body:
        if not row:
            continue
        row_label = str(row[0]).strip() if row[0] is not None else ""
        for j, cell in enumerate(row[1:], start=1):
            labels = {row_label} | {str(h[j]).strip() for h in head if j < len(h) and h[j] is not None}
            ents = labels & entities
            if not ents or cell is None:
                continue
            xs = [float(cell)] if isinstance(cell, (int, float)) and not isinstance(cell, bool) else \
                [x / 100.0 for x in _numbers(str(cell))]
            for x in xs:
                for e in ents:
                    v = sens.display_hit(e, x)
                    if v is not None:
                        found.append(DisclosureFinding(path, "hidden_value",
                                                       f"cell {cell!r} ({e}) shows hidden value {v:.4f}"))
    return found


def _scan_xlsx(path: Path, sens: _Sensitive, entities: set[str]) -> list[DisclosureFinding]:
    from openpyxl import load_workbook

    found = []
    wb = load_workbook(path, data_only=False)
    for ws in wb.worksheets:
        grid: list[list[Any]] = [[c.value for c in row] for row in ws.iter_rows()]
        for rng in ws.merged_cells.ranges:   # spread merged header labels over their columns
            v = ws.cell(rng.min_row, rng.min_col).value
            for r in range(rng.min_row, rng.max_row + 1):
                for c in range(rng.min_col, rng.max_col + 1):
                    grid[r - 1][c - 1] = v
        texts = []
        for r, row in enumerate(grid):
            for c, v in enumerate(row):
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    hit = sens.numeric_hit(float(v))
                    if hit is not None:
                        found.append(DisclosureFinding(f"{path}[{ws.title}]", "hidden_value",
                                                       f"number {v!r} at row {r + 1} col {c + 1} is a hidden value"))
                elif v is not None:
                    texts.append(str(v))
        found += _scan_text(f"{path}[{ws.title}]", "\n".join(texts), sens)
        # percent-formatted numbers compared at display precision, keyed by row/column labels
        cells = list(ws.iter_rows())
        shares: list[list[Any]] = []
        for r, row in enumerate(cells):
            shares.append([(grid[r][c] if (isinstance(grid[r][c], str) or grid[r][c] is None or
                                           "%" in (cell.number_format or "")) else None)
                           for c, cell in enumerate(row)])
        heads = [row for row in shares if row and not any(isinstance(v, (int, float)) for v in row)]
        found += _scan_grid(f"{path}[{ws.title}]", heads, shares, sens, entities)
    return found


def _scan_csv(path: Path, text: str, sens: _Sensitive, entities: set[str]) -> list[DisclosureFinding]:
    import csv
    import io

    found = []
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return found
    header = rows[0]
    for k, row in enumerate(rows[1:], start=2):
        rec = dict(zip(header, row))
        if "suppressed" in rec and rec["suppressed"].strip().lower() == "true":
            if rec.get("value", "").strip() or rec.get("text", SUPPRESSED).strip() != SUPPRESSED:
                found.append(DisclosureFinding(str(path), "suppressed_with_value", f"line {k}: {row}"))
        for v in row:
            try:
                x = float(v)
            except ValueError:
                continue
            if "." in v and sens.numeric_hit(x) is not None:
                found.append(DisclosureFinding(str(path), "hidden_value", f"line {k}: {v}"))
        ents = {v for v in row if v in entities}
        for e in ents:
            for v in row:
                for x in _numbers(v):
                    xx = x / 100.0 if ("%" in v or "," in v) else x
                    if sens.display_hit(e, xx) is not None:
                        found.append(DisclosureFinding(str(path), "hidden_value", f"line {k}: {v!r} ({e})"))
    return found


def _png_text(data: bytes) -> str:
    """Text chunks (tEXt/iTXt/zTXt) of a PNG: the only text a PNG carries besides its pixels."""
    import struct
    import zlib

    out, i = [], 8
    while i + 8 <= len(data):
        (length,) = struct.unpack(">I", data[i:i + 4])
        ctype = data[i + 4:i + 8]
        chunk = data[i + 8:i + 8 + length]
        if ctype in (b"tEXt", b"iTXt"):
            out.append(chunk.decode("latin-1" if ctype == b"tEXt" else "utf-8", "replace"))
        elif ctype == b"zTXt":
            key, _, rest = chunk.partition(b"\0")
            with contextlib.suppress(zlib.error):
                out.append(key.decode("latin-1") + " " + zlib.decompress(rest[1:]).decode("latin-1"))
        i += 12 + length
    return "\n".join(out)


def scan_disclosure(paths: Path | Iterable[Path], estimates: pd.DataFrame, *, min_n: int = 30,
                    respondent_ids: Iterable[Any] = (), free_text: Iterable[Any] = (),
                    comparisons: pd.DataFrame | None = None, store: Any = None) -> list[DisclosureFinding]:
    """Check published artefacts; returns the findings (empty = clean).

    ``paths``: files and/or directories (searched recursively). Looks for
    - respondent ids (whole tokens, ids of 4+ characters) and free-text comments (whole comments and
      sentences of 12+ characters) in every text artefact, XLSX strings, SVG text and PNG text chunks;
    - hidden estimates (suppressed, ``n < min_n``) and differences involving them: at full precision in XLSX
      numbers, CSV fields and store values; as high-precision renderings (``0.3124``, ``31,24``) in any text;
      at display precision (``31,2 %``) in any cell of an HTML table, XLSX sheet or CSV line whose row or
      column is labelled with the district (or sex/age group) the hidden value belongs to, unless the same
      rounded value is also a visible value of that district;
    - suppressed cells (CSV, store) that carry a value or a text other than ``..``.
    Limits: PDF content streams are compressed glyph runs and are not read (PDF/PNG are renderings of the
    same great-tables HTML that is scanned); rounded differences (procentenheter) are only found at high
    precision; ids shorter than 4 characters and comments shorter than 10 are not searched.
    """
    sens = _Sensitive(estimates, comparisons, min_n, respondent_ids, free_text)
    entities = set(sens.hidden_by_entity)
    files: list[Path] = []
    for p in ([paths] if isinstance(paths, (str, Path)) else paths):
        p = Path(p)
        files += sorted(x for x in p.rglob("*") if x.is_file()) if p.is_dir() else [p]
    found: list[DisclosureFinding] = []
    for f in files:
        suf = f.suffix.lower()
        if suf in _SCANNED_TEXT:
            text = f.read_text(encoding="utf-8", errors="replace")
            found += _scan_text(str(f), text, sens)
            if suf in (".html", ".htm"):
                parser = _Grids()
                parser.feed(text)
                for tb in parser.tables:
                    found += _scan_grid(str(f), tb["head"], tb["body"], sens, entities)
            elif suf == ".csv":
                found += _scan_csv(f, text, sens, entities)
        elif suf == ".xlsx":
            found += _scan_xlsx(f, sens, entities)
        elif suf == ".png":
            found += _scan_text(str(f), _png_text(f.read_bytes()), sens)
        elif suf == ".pdf":
            # only the uncompressed parts (document info, metadata) are readable text
            found += _scan_text(str(f), f.read_bytes().decode("latin-1"), sens)
    if store is not None:
        listing = store.published_tables()
        for r in listing.itertuples(index=False):
            meta, cells = store.published_table(r.table_id, int(r.year), int(r.version))
            where = f"store:{r.table_id}/{r.year}/v{r.version}"
            found += _scan_text(where, json.dumps(meta, default=str, ensure_ascii=False) + "\n" +
                                "\n".join(cells["text"].astype(str)) + "\n" +
                                "\n".join(cells["row_key"].astype(str)), sens)
            bad = cells[cells["suppressed"].astype(bool) & (cells["value"].notna() |
                                                            (cells["text"].astype(str) != SUPPRESSED))]
            for b in bad.itertuples(index=False):
                found.append(DisclosureFinding(where, "suppressed_with_value", f"{b.row_key}/{b.column_key}"))
            for v, rk in zip(cells["value"], cells["row_key"].astype(str)):
                if not pd.isna(v) and sens.numeric_hit(float(v)) is not None:
                    found.append(DisclosureFinding(where, "hidden_value", f"value {v!r} in row {rk}"))
    return found


# ---------------------------------------------------------------------------------------------------------
# CLI command functions (registered by survey/cli.py)
# ---------------------------------------------------------------------------------------------------------
def _open_store(db: str | None) -> Any:
    from survey.data.store import Store

    return Store(db)


def tables_list_command(db: str | None = None) -> pd.DataFrame:
    """``trygghet tables list``: every published table with its versions (printed with Rich)."""
    from rich.console import Console
    from rich.table import Table

    store = _open_store(db)
    df = store.published_tables()
    rt = Table(title="Publicerade tabeller")
    for c in ("Tabell", "År", "Version", "Körning", "Publicerad", "Rubrik"):
        rt.add_column(c)
    for r in df.itertuples(index=False):
        rt.add_row(str(r.table_id), str(r.year), str(r.version), str(r.run_id or ""),
                   str(r.created_at)[:19], str(r.title or ""))
    Console().print(rt)
    return df


def tables_export_command(year: int, table: str, fmt: str, out: Path, db: str | None = None,
                          version: int | None = None) -> Path:
    """``trygghet tables export``: write a published table from the store; prints the path."""
    from rich.console import Console

    path = export_table(_open_store(db), table, year, fmt, Path(out), version=version)
    Console().print(f"Skrev {path}")
    return path


def compare_command(a: str, b: str, indicators: Sequence[str] | None = None,
                    years: Sequence[int] | None = None, db: str | None = None, out: Path | None = None,
                    *, run_id: str | None = None, min_n: int = 30) -> pd.DataFrame:
    """``trygghet compare A B``: the two districts over all indicators, from a run in the store (the latest
    run with estimates unless ``run_id``) or from a directory with ``estimates.csv`` and
    ``comparisons.csv`` (``db`` given as a path). Prints a Rich table per year; writes an HTML page to
    ``out`` when given."""
    estimates, comparisons, meta, codebook = _load_run(db, run_id)
    cmp = compare_districts(estimates, comparisons, a, b, indicators, years, min_n=min_n, codebook=codebook)
    if cmp.empty:
        raise PublishError(f"No estimates for {a} and {b} in the chosen years.")
    page, tables = compare_page(cmp, codebook, a, b, meta, min_n=min_n, back_link=None)
    for t in tables:
        print_table(t)
    if out is not None:
        out = Path(out)
        path = out / f"compare_{slugify(a)}_{slugify(b)}.html" if (out.is_dir() or not out.suffix) else out
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(page, encoding="utf-8")
    return cmp


def _load_run(db: str | None, run_id: str | None
              ) -> tuple[pd.DataFrame, pd.DataFrame | None, dict[str, Any], Codebook | None]:
    codebook = None
    with contextlib.suppress(Exception):
        from survey.data.codebook import load_codebook

        codebook = load_codebook()
    if db and "://" not in db and Path(db).exists():
        d = Path(db)
        d = d.parent if d.is_file() else d
        est = pd.read_csv(d / "estimates.csv")
        comp = pd.read_csv(d / "comparisons.csv") if (d / "comparisons.csv").exists() else None
        meta: dict[str, Any] = {}
        if (d / "run.json").exists():
            meta = json.loads((d / "run.json").read_text(encoding="utf-8"))
        return est, comp, {"run_id": meta.get("run_id", ""), "date": meta.get("date", "")}, codebook
    store = _open_store(db)
    runs = store.runs()
    if run_id is None:
        for rid in reversed(runs["run_id"].tolist()):
            outs = store.run_outputs(rid)
            if outs.estimates is not None and not outs.estimates.empty:
                run_id = rid
                break
        else:
            raise PublishError("The database has no run with estimates; run `trygghet run` first.")
    outs = store.run_outputs(run_id)
    started = outs.run.get("started_at")
    return outs.estimates, outs.comparisons, {"run_id": run_id, "date": str(started)[:10] if started else ""}, \
        codebook
