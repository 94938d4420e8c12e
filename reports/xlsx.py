"""XLSX workbooks: one sheet per table, real numbers with number formats that display the Swedish way.

A share is stored as a fraction rounded to its display precision (0.274) with ``0.0" "%`` (U+00A0), shown as
``27,4 %`` in Swedish Excel; differences in procentenheter are stored ×100 with a signed format; a hidden
cell holds the text ``..`` in every statistic. Sheet names are Swedish (the table's ``sheet_name``). Every text
cell is written as a string (XlsxWriter's ``write_string``, never ``write_formula``), neutralised against formula
injection with Excel's quote-prefix style on a neutralised cell (:mod:`reports.safe`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from reports.formats import NBSP, NOT_AVAILABLE, STAT_LABELS, SUPPRESSED, TOTAL, p_decimals
from reports.labels import CUBE_TEXTS
from reports.safe import neutralise
from reports.tabledata import TableData

# Excel number formats. The dot and comma in a format code are the decimal and grouping *placeholders*:
# Swedish Excel shows 0.274 with SHARE_FORMAT as "27,4 %" and 1843 with COUNT_FORMAT as "1 843".
SHARE_FORMAT = '0.0"\u00a0"%'
COUNT_FORMAT = "#,##0"
PP_FORMAT = '+0.0;"\u2212"0.0;0.0'
P_FORMAT = '[<0.001]"<0,001";0.000'
RATIO_FORMAT = "0.000"
FORMATS = {"share": SHARE_FORMAT, "count": COUNT_FORMAT, "pp": PP_FORMAT, "p": P_FORMAT, "ratio": RATIO_FORMAT}
HEAD_LABELS = {"diff": "Skillnad", "p": "Justerat p", "chg": "Förändring (pe)"}
EN_HEAD_LABELS = {**CUBE_TEXTS["en"]["stat"], "diff": "Difference", "p": "Adjusted p", "chg": "Change (pp)", "n": "n"}
EN_P_FORMAT = '[<0.001]"<0.001";0.000'


def xlsx_value(kind: str, value: float | None) -> float | None:
    """The number stored in the sheet: counts as integers, procentenheter ×100, the rest as is."""
    if value is None:
        return None
    if kind == "count":
        return int(round(value))
    return value * 100.0 if kind == "pp" else value


def number_format(kind: str, value: float, alpha: float = 0.05, lang: str = "sv") -> str:
    """The cell's number format; a p-value near alpha gets the decimals it is printed with (the text shown
    below 0.001 is ``<0,001``, in English ``<0.001``)."""
    if kind == "p" and value >= 0.001:
        d = p_decimals(value, alpha)
        return "0." + "0" * d
    return EN_P_FORMAT if (kind == "p" and lang == "en") else FORMATS[kind]


def sheet_name(name: str, used: set[str]) -> str:
    """A valid, unique sheet name (≤ 31 characters, none of ``[]:*?/\\``)."""
    base = re.sub(r"[\[\]:*?/\\]", "_", name).strip("'")[:31] or "Tabell"
    out, i = base, 2
    while out.lower() in used:
        suffix = f" ({i})"
        out, i = base[: 31 - len(suffix)] + suffix, i + 1
    used.add(out.lower())
    return out


def write_xlsx(tables: Sequence[TableData], path: Path, *, alpha: float = 0.05) -> Path:
    """One workbook, one sheet per table (see the module docstring), written by XlsxWriter; deterministic
    document properties and file (fixed dates, no timestamps that differ run to run)."""
    import xlsxwriter

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # text is only ever written with write_string; these options keep write() from guessing as well;
    # in_memory: the sheets' XML is assembled in memory, not in one temporary file per part (~30 % faster)
    wb = xlsxwriter.Workbook(
        str(path),
        {"strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False, "in_memory": True},
    )
    wb.set_properties({"author": "trygghet", "created": datetime(2000, 1, 1)})
    styles = _Styles(wb)
    used: set[str] = set()
    for t in tables:
        write_sheet(wb.add_worksheet(sheet_name(t.sheet_name or t.table_id, used)), t, styles, alpha=alpha)
    try:
        wb.close()
    except xlsxwriter.exceptions.FileCreateError as exc:  # the file system's refusal, as every other writer's
        raise exc.args[0] if exc.args and isinstance(exc.args[0], OSError) else OSError(str(exc)) from None
    return path


# the sheet's few cell styles (XlsxWriter format properties)
STYLES: dict[str, dict[str, Any]] = {
    "plain": {},
    "bold": {"bold": True},
    "title": {"bold": True, "font_size": 13, "font_color": "#1F3A5F"},
    "subtitle": {"italic": True, "font_color": "#5B6770"},
    "group": {"bold": True, "font_color": "#1F3A5F"},
    "note": {"font_size": 9, "font_color": "#5B6770"},
    "head": {"bold": True, "bg_color": "#E8EEF4", "pattern": 1, "valign": "vcenter", "text_wrap": True},
    "right": {"align": "right"},
    "flag": {"align": "center"},
}
RULE = {"bottom": 1, "bottom_color": "#1F3A5F"}


class _Styles:
    """The workbook's formats, created once per (style, number format, quote prefix)."""

    def __init__(self, wb: Any) -> None:
        self.wb = wb
        self.cache: dict[tuple[str, str, str | None, bool], Any] = {}

    def get(self, style: str, *, align: str = "", num_format: str | None = None, quote: bool = False) -> Any:
        """``align``: ``left``/``center`` for the header cells, ``_rule`` added for the rule under them."""
        key = (style, align, num_format, quote)
        fmt = self.cache.get(key)
        if fmt is None:
            props = dict(STYLES[style])
            if align:
                props["align"] = align.removesuffix("_rule")
            if align.endswith("_rule"):
                props.update(RULE)
            if num_format is not None:
                props["num_format"] = num_format
            if quote:
                props["quote_prefix"] = True
            fmt = self.cache[key] = self.wb.add_format(props)
        return fmt


def put_string(ws: Any, styles: _Styles, row: int, col: int, text: str, style: str = "plain", align: str = "") -> None:
    """Text into a cell (0-based), always as a string, never a formula: neutralised (:mod:`reports.safe`),
    with Excel's quote-prefix style when it was."""
    safe = neutralise(text)
    ws.write_string(row, col, safe, styles.get(style, align=align, quote=safe is not text))


def _layout(t: TableData) -> list[tuple[str, str, list[str]]]:
    present = set(zip(t.cells["column_key"].tolist(), t.cells["stat"].tolist()))
    return [(ck, lab, [s for s in t.stats if (ck, s) in present]) for ck, lab in t.columns]


def _header(ws: Any, st: _Styles, t: TableData, layout: list[tuple[str, str, list[str]]], h1: int) -> int:
    """Two header rows (display column, statistic) from 0-based row ``h1``; returns the last column used."""
    h2 = h1 + 1
    stub = t.stub_label or ""
    ws.merge_range(h1, 0, h2, 0, "", st.get("head", align="left_rule", quote=neutralise(stub) != stub))
    put_string(ws, st, h1, 0, stub, "head", "left_rule")
    col = 1
    lang_en = t.dims.get("lang") == "en"
    for ck, lab, stats in layout:
        if not stats:
            continue
        spanner = t.column_spanners.get(ck)
        head = f"{spanner} {lab}" if spanner and spanner not in ("År", "Year") else lab
        if len(stats) > 1:
            safe = neutralise(head)
            ws.merge_range(h1, col, h1, col + len(stats) - 1, "", st.get("head", align="center", quote=safe != head))
        put_string(ws, st, h1, col, head, "head", "center")
        for j, s in enumerate(stats):
            label = EN_HEAD_LABELS.get(s, s) if lang_en else HEAD_LABELS.get(s, STAT_LABELS[s])
            put_string(ws, st, h2, col + j, label, "head", "center_rule")
        col += len(stats)
    return col - 1


def _put(
    ws: Any, st: _Styles, at: tuple[int, int], kind: str, entry: tuple[Any, str, bool], alpha: float, lang: str
) -> None:
    """One statistic: a number with its number format, or the text of a hidden or missing value."""
    (row, col), (value, text, hidden) = at, entry
    if hidden or (value is None and kind not in ("flag", "direction")):
        shown = SUPPRESSED if hidden else (text if text in (NOT_AVAILABLE, SUPPRESSED) else NOT_AVAILABLE)
        put_string(ws, st, row, col, shown, "right")
    elif kind in ("flag", "direction"):
        if text:
            put_string(ws, st, row, col, text, "flag")
        else:
            ws.write_blank(row, col, None, st.get("flag"))
    else:
        v = float(value)
        ws.write_number(row, col, xlsx_value(kind, v), st.get("plain", num_format=number_format(kind, v, alpha, lang)))


# the footnotes that describe the HTML cell (the CI in brackets under the share, a line "jfr Totalt p") in
# the words of the sheet, where every statistic has a column of its own (Swedish, and English tables)
WORKBOOK_NOTES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"Under varje andel: (\d+) % konfidensintervall inom parentes och ovägt antal svarande \(n\)\."),
        r"Kolumnerna KI nedre och KI övre: \1 % konfidensintervall; n: ovägt antal svarande.",
    ),
    (
        re.compile(
            r"Below each share: (\d+)% confidence interval in brackets and the unweighted number of "
            r"respondents \(n\)\."
        ),
        r"The columns CI lower and CI upper: \1% confidence interval; n: the unweighted number of respondents.",
    ),
    (re.compile(f"Raden ”jfr{NBSP}Totalt{NBSP}p” anger"), "Kolumnen ”Justerat p (mot Totalt)” anger"),
    (re.compile(f"The line ”vs{NBSP}Totalt{NBSP}p” gives"), "The column ”Adjusted p (vs Totalt)” gives"),
)


def workbook_note(note: str) -> str:
    """A table's footnote as the workbook says it (:data:`WORKBOOK_NOTES`); any other note as it is."""
    for pattern, repl in WORKBOOK_NOTES:
        note = pattern.sub(repl, note)
    return note


def _width(w: float) -> float:
    """XlsxWriter's column width giving ``w`` in the file: it adds 5 px of padding to ``w`` characters of
    7 px (``(7 w + 5) / 7``); the sheets keep the widths they had (written as is by openpyxl before)."""
    return w - 5 / 7 + 1e-9


def write_sheet(ws: Any, t: TableData, st: _Styles, *, alpha: float = 0.05) -> None:
    """Title, subtitle, two header rows, one row per table row (row groups as bold lines), footnotes."""
    idx = t.index()
    layout = _layout(t)
    lang = str(t.dims.get("lang", "sv"))
    put_string(ws, st, 0, 0, t.title, "title")
    put_string(ws, st, 1, 0, t.subtitle, "subtitle")
    last_col = _header(ws, st, t, layout, 3)
    column_stats = t.column_stats()
    kinds = {(ck, s): t.stat_kind(ck, s, column_stats) for ck, _, stats in layout for s in stats}
    row, current_group = 5, None
    for rk, rlab in t.rows:
        g = t.row_groups.get(rk)
        if g and g != current_group:
            put_string(ws, st, row, 0, g, "group")
            row, current_group = row + 1, g
        put_string(ws, st, row, 0, rlab, "bold" if rk == TOTAL else "plain")
        col = 1
        for ck, _, stats in layout:
            for s in stats:
                entry = idx.get((rk, ck, s), (None, NOT_AVAILABLE, False))
                _put(ws, st, (row, col), kinds[(ck, s)], entry, alpha, lang)
                col += 1
        row += 1
    row += 1
    for note in [*t.footnotes, t.source_note]:
        if note:
            put_string(ws, st, row, 0, workbook_note(note), "note")
            row += 1
    ws.set_column(0, 0, _width(max([len(lab) for _, lab in t.rows] + [len(t.stub_label), 12]) + 2))
    if last_col >= 1:
        ws.set_column(1, last_col, _width(11))
    ws.freeze_panes(5, 1)
