"""The report's HTML pages, every one rendered by a Jinja2 template with autoescaping
(``reports/templates``): a standalone page per table, the comparison page and the index.

Table markup comes from great-tables (which escapes titles, labels and notes) with cells rendered by the
``cell.html`` template; it is inserted as trusted markup. Every other text — district names, titles, notes,
paths — is escaped by the template engine.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from markupsafe import Markup

from reports.disclosure import suppression_rule_text
from reports.formats import NOT_AVAILABLE, SUPPRESSED, swedish_number
from reports.gt import table_html
from reports.labels import DEFAULT_METHOD, DEFAULT_SOURCE, GROUP_LABELS, codebook_name, indicator_group, indicator_label
from reports.method_section import (
    fieldwork_paragraph,
    method_hidden,
    population_paragraph,
    respondents_rows,
    response_rate_table,
)
from reports.page_texts import (
    english_legend,
    english_method,
    english_notes,
    english_respondents,
    english_summary,
    page_word,
    texts,
)
from reports.results import PublishedFile
from reports.signals import SignalRule
from reports.tabledata import TableData
from reports.templating import render
from survey.data.codebook import Codebook

SECTION_OF_KIND = {
    "group": "Sammanställningar senaste året",
    "domain": "Sammanställningar senaste året",
    "trend": "Trend",
    "district_trend": "Trend",
    "compare": "Jämförelser mellan områden",
    "district_domain": "Kön och åldersgrupp per område",
    "distribution": "Svarsfördelningar per fråga (alla svarsalternativ)",
    "small_area": "Små områden: modellskattning (Fay–Herriot)",
}
FORMAT_LINKS = {
    "html": "Tabell (HTML)",
    "png": "PNG",
    "pdf": "PDF",
    "csv": "CSV",
    "csv-sv": "CSV (svensk Excel)",
    "px": "PC-Axis",
    "jsonstat": "JSON-stat",
    "xlsx": "Excel",
}


PRINT_WIDTH = 1047  # px of an A4 landscape page (297 mm) less its 2 × 10 mm margins, at 96 px per inch
MIN_PRINT_ZOOM = 0.62  # smaller than this, a table is split into parts of whole columns for print
PART_ZOOM = 0.8  # the zoom a part of a split table is cut for


def _width(t: TableData) -> int:
    """The table's width on screen in px (great-tables' fixed column widths; borders included)."""
    from reports.gt import widths

    stub, cols = widths(t)
    return stub + sum(cols) + 4


def _wide(tables: Sequence[TableData]) -> bool:
    return any(_width(t) > 1100 for t in tables)


def _zoom(t: TableData) -> float:
    """The print zoom that makes the table as wide as the page at most (1: it fits as it is)."""
    return round(min(1.0, PRINT_WIDTH / _width(t)), 3)


def _part(t: TableData, k: int, n: int, columns: list[tuple[str, str]]) -> TableData:
    """Columns ``columns`` of ``t`` as part ``k`` of ``n`` (the stub on each; notes under the last)."""
    keys = {c for c, _ in columns}
    word = "part {k} of {n}" if t.dims.get("lang") == "en" else "del {k} av {n}"
    return replace(
        t,
        table_id=f"{t.table_id}-{k}",
        title=f"{t.title} ({word.format(k=k, n=n)})",
        columns=columns,
        cells=t.cells[t.cells["column_key"].astype(str).isin(keys)],
        column_spanners={c: s for c, s in t.column_spanners.items() if c in keys},
        footnotes=t.footnotes if k == n else [],
        source_note=t.source_note if k == n else "",
    )


def print_parts(t: TableData) -> list[tuple[TableData, float]]:
    """``[(table, print zoom)]``: the table itself with the zoom that fits it to an A4 landscape page, or —
    when that zoom would be below :data:`MIN_PRINT_ZOOM` — parts of whole columns (the stub repeated) that each
    fit at about :data:`PART_ZOOM` or larger."""
    if _zoom(t) >= MIN_PRINT_ZOOM or len(t.columns) < 2:
        return [(t, _zoom(t))]
    from reports.gt import widths

    stub, cols = widths(t)
    room = PRINT_WIDTH / PART_ZOOM - stub - 4
    groups: list[list[tuple[str, str]]] = [[]]
    used = 0.0
    for col, w in zip(t.columns, cols):
        if groups[-1] and used + w > room:
            groups.append([])
            used = 0.0
        groups[-1].append(col)
        used += w
    parts = [_part(t, k, len(groups), g) for k, g in enumerate(groups, start=1)]
    return [(p, _zoom(p)) for p in parts]


def table_blocks(tables: Sequence[TableData]) -> list[dict[str, Any]]:
    """What the page templates render per table: the screen table (``html``, its ``zoom`` in print) and, for a
    table too wide for one printed page, the print-only ``parts`` (``html``, ``zoom``)."""
    blocks = []
    for t in tables:
        parts = print_parts(t)
        split = len(parts) > 1
        blocks.append(
            {
                "html": Markup(table_html(t)),
                "zoom": parts[0][1] if not split else 1.0,
                "parts": [{"html": Markup(table_html(p)), "zoom": z} for p, z in parts] if split else [],
            }
        )
    return blocks


def _lang(tables: Sequence[TableData]) -> str:
    """The language of the tables (``dims["lang"]``, :mod:`reports.translate`): ``sv`` or ``en``."""
    return "en" if tables and tables[0].dims.get("lang") == "en" else "sv"


def table_page(t: TableData, *, back_link: str | None = "index.html") -> str:
    """A complete offline HTML page (no external CSS, JS or fonts) with one table."""
    lang = _lang([t])
    return render(
        "table.html",
        title=t.title,
        back_link=back_link,
        wide=_wide([t]),
        tables=table_blocks([t]),
        lang=lang,
        back_text=texts(lang)["back"],
    )


def compare_html(tables: Sequence[TableData], a: str, b: str, *, back_link: str | None = "../index.html") -> str:
    """A standalone page comparing two districts (one table per year)."""
    lang = _lang(tables)
    return render(
        "compare.html",
        title=f"{a} compared with {b}" if lang == "en" else f"{a} jämfört med {b}",
        lang=lang,
        back_text=texts(lang)["back"],
        back_link=back_link,
        wide=_wide(tables),
        tables=table_blocks(tables),
    )


def legend(rule: SignalRule, min_n: int, lang: str = "sv") -> list[tuple[str, str]]:
    """The teckenförklaring: symbols of the tables with their meaning."""
    if lang == "en":
        return english_legend(rule, min_n)
    return [
        (
            SUPPRESSED,
            f"Uppgiften redovisas inte: för få svarande (färre än {min_n}) eller för osäker, eller "
            "undertryckt för att en annan dold uppgift inte ska kunna räknas fram ur Totalt.",
        ),
        (NOT_AVAILABLE, "Uppgift saknas (ingen jämförelse beräknad)."),
        *rule.legend(),
        ("( )", f"{swedish_number(rule.level * 100, 0)}\u00a0% konfidensintervall (för skillnader ojusterat)."),
        ("pe", "Procentenheter: skillnad mellan två andelar."),
        ("n", "Ovägt antal svarande som besvarat frågan."),
    ]


def method_paragraphs(run_meta: Mapping[str, Any], rule: SignalRule, min_n: int, lang: str = "sv") -> list[str]:
    """The method section: estimation, the comparison rule, suppression and rounding."""
    if lang == "en":
        return english_method(run_meta, rule, min_n, DEFAULT_METHOD)
    method = str(run_meta.get("method", DEFAULT_METHOD)).rstrip(".")
    return [
        method[:1].upper() + method[1:] + ".",
        "Andelar beräknas bland dem som besvarat frågan; ”vet ej” ingår i basen. Skillnader anges i procentenheter.",
        rule.method_text(),
        suppression_rule_text(min_n),
        "Svarsfördelningarna visar varje svarsalternativ, även ”vet ej” och ”ingen uppfattning”, som andel "
        "av dem som besvarat frågan. En fördelning redovisas inte alls för ett område där någon andel eller "
        "någon indikator för frågan är dold, och samma regel om minst två dolda områden gäller.",
        "För områden med för få svarande erbjuds i en egen tabell en modellskattning (Fay–Herriot): ett vägt "
        "medel av områdets egna svar och medelvärdet för alla områden, med ett intervall från modellens "
        "medelkvadratfel. Den ges bara när modellen vilar till mindre än hälften på områdets egna svar, och "
        "den ersätter aldrig den direkta skattningen.",
    ]


COLLECTIONS = {  # kind -> (file at the report's root, page title): every table of the kind on one page
    "distribution": ("svarsfordelningar.html", "Svarsfördelningar per fråga, alla svarsalternativ"),
    "district_domain": ("kon_och_alder.html", "Kön och åldersgrupp per område"),
}


def write_collections(tables: Sequence[TableData], out_dir: Path) -> list[PublishedFile]:
    """``out_dir/<file>`` of :data:`COLLECTIONS`: the tables of one kind on one page (when there are any)."""
    files = []
    for kind, (name, title) in COLLECTIONS.items():
        ts = [t for t in tables if t.kind == kind]
        if ts:
            lang = _lang(ts)
            page = render(
                "compare.html",
                title=page_word(title, lang),
                lang=lang,
                back_text=texts(lang)["back"],
                back_link="index.html",
                wide=_wide(ts),
                tables=table_blocks(ts),
            )
            p = Path(out_dir) / name
            p.write_text(page, encoding="utf-8")
            files.append(PublishedFile("collection", kind, "html", p))
    return files


def _rel(p: Path, out_dir: Path) -> str:
    return os.path.relpath(p, out_dir).replace(os.sep, "/")


def _sections(
    tables: Sequence[TableData], by_table: Mapping[str, Mapping[str, Path]], out_dir: Path, codebook: Codebook | None
) -> list[dict[str, Any]]:
    sections: dict[str, list[dict[str, Any]]] = {}
    pages: dict[str, str] = {}
    lang = _lang(tables)
    for t in tables:
        if t.kind in COLLECTIONS and "html" in by_table.get(t.kind, {}):
            pages[page_word(SECTION_OF_KIND[t.kind], lang)] = _rel(by_table[t.kind]["html"], out_dir)
        if t.kind == "district":
            sec = GROUP_LABELS.get(indicator_group(codebook, t.dims["fixed"]["indicator"]), "Övrigt")
        else:
            sec = SECTION_OF_KIND.get(t.kind, "Övrigt")
        fm = by_table.get(t.table_id, {})
        sections.setdefault(page_word(sec, lang), []).append(
            {
                "title": t.title,
                "href": _rel(fm["html"], out_dir) if "html" in fm else None,
                "links": [(page_word(lab, lang), _rel(fm[k], out_dir)) for k, lab in FORMAT_LINKS.items() if k in fm],
            }
        )
    return [{"title": k, "entries": v, "page": pages.get(k)} for k, v in sections.items()]


def _charts(
    by_table: Mapping[str, Mapping[str, Path]], out_dir: Path, codebook: Codebook | None, lang: str = "sv"
) -> list[dict[str, Any]]:
    from reports.translate import EN_INDICATORS

    out = []
    for tid, fm in by_table.items():
        if "png" in fm and tid.startswith("trend_"):
            out.append(
                {
                    "png": _rel(fm["png"], out_dir),
                    "svg": _rel(fm["svg"], out_dir) if "svg" in fm else None,
                    "label": EN_INDICATORS[tid[6:]][0]
                    if lang == "en" and tid[6:] in EN_INDICATORS
                    else indicator_label(codebook, tid[len("trend_") :]),
                }
            )
    return out


def write_index(
    tables: Sequence[TableData],
    files: Sequence[PublishedFile],
    out_dir: Path,
    run_meta: Mapping[str, Any],
    codebook: Codebook | None,
    *,
    notes: Sequence[str] = (),
    min_n: int = 30,
    rule: SignalRule | None = None,
    summary: Sequence[Mapping[str, Any]] = (),
    respondents: Mapping[str, Any] | None = None,
) -> Path:
    """``out_dir/index.html``: the summary first, then every table (all formats), the charts, the legend,
    the method section (population and ages, fieldwork, the run's method, respondents per district and year,
    with a gross sample the sample and response rates; :mod:`reports.method_section`) and the notes.
    ``run_meta`` may carry the report texts ``title``, ``municipality``, ``data_source``, ``contact``,
    ``description``, ``fieldwork``, and the run's ``population`` and ``response_rates`` records."""
    out_dir = Path(out_dir)
    rule = rule or SignalRule.from_run(run_meta)
    by_table: dict[str, dict[str, Path]] = {}
    for f in files:
        by_table.setdefault(f.table_id, {})[f.fmt] = f.path
    workbook = next((f.path for f in files if f.kind == "workbook"), None)
    interactive = next((f.path for f in files if f.kind == "interactive"), None)
    years = sorted(
        {int(c) for t in tables if t.kind == "district" for c, _ in t.columns} | {int(t.year) for t in tables}
    )
    lang = "en" if run_meta.get("lang") == "en" else "sv"
    word = "Results" if lang == "en" else "Resultat"
    lead = run_meta.get("description") or (
        f"{word} {years[0]}–{years[-1]}" if len(years) > 1 else f"{word} {years[0] if years else ''}"
    )
    hidden = None
    if respondents is not None and "counts" in respondents:  # one complementary suppression for both count tables
        hidden = method_hidden(run_meta, min_n, respondents["counts"], respondents.get("seed"))
        respondents = respondents_rows(respondents["counts"], hidden, min_n)
    if lang == "en":
        summary, respondents = english_summary(summary), english_respondents(respondents)
        notes = english_notes(notes)
    page = render(
        "index.html",
        lang=lang,
        t=texts(lang),
        back_text=texts(lang)["back"],
        title=page_word(str(run_meta.get("title", "Trygghetsundersökning: resultat per område")), lang),
        back_link=None,
        wide=False,
        lead=str(lead),
        source=str(run_meta.get("data_source", DEFAULT_SOURCE)),
        date=str(run_meta.get("date", "")),
        codebook=codebook_name(run_meta, codebook),
        run_id=str(run_meta.get("run_id", "")),
        summary=list(summary),
        respondents=respondents,
        municipality=str(run_meta.get("municipality") or ""),
        contact=str(run_meta.get("contact") or ""),
        workbook=_rel(workbook, out_dir) if workbook else None,
        interactive=_rel(interactive, out_dir) if interactive else None,
        sections=_sections(tables, by_table, out_dir, codebook),
        charts=_charts(by_table, out_dir, codebook, lang),
        legend=legend(rule, min_n, lang),
        method=[
            *([pop] if (pop := population_paragraph(run_meta, codebook, lang)) else []),
            fieldwork_paragraph(run_meta, years, lang),
            *method_paragraphs(run_meta, rule, min_n, lang),
        ],
        rates=response_rate_table(run_meta, min_n, lang, hidden),
        notes=list(notes),
    )
    p = out_dir / "index.html"
    p.write_text(page, encoding="utf-8")
    return p
