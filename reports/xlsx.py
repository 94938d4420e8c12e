"""XLSX workbooks: one sheet per table, real numbers with number formats that display the Swedish way.

A share is stored as a fraction rounded to its display precision (0.274) with ``0.0" "%`` (U+00A0), shown as
``27,4 %`` in Swedish Excel; differences in procentenheter are stored ×100 with a signed format; a hidden
cell holds the text ``..`` in every statistic. Sheet names are Swedish (the table's ``sheet_name``). Every text
cell is written as a string, never a formula, and neutralised against formula injection (:mod:`reports.safe`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from reports.formats import NOT_AVAILABLE, STAT_LABELS, SUPPRESSED, TOTAL, p_decimals
from reports.labels import CUBE_TEXTS
from reports.safe import put_text
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
    """One workbook, one sheet per table (see the module docstring); deterministic document properties."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    for t in tables:
        write_sheet(wb.create_sheet(sheet_name(t.sheet_name or t.table_id, used)), t, alpha=alpha)
    wb.properties.creator = "trygghet"
    fixed = datetime(2000, 1, 1)  # no timestamps that differ run to run
    wb.properties.created = fixed
    wb.properties.modified = fixed
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


@lru_cache(maxsize=1)
def _styles() -> dict[str, Any]:
    """The workbook's few style objects, created once (openpyxl styles are immutable and shared)."""
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    return {
        "bold": Font(bold=True),
        "plain": Font(),
        "head_fill": PatternFill("solid", fgColor="E8EEF4"),
        "left": Alignment(horizontal="left", vertical="center", wrap_text=True),
        "center": Alignment(horizontal="center", vertical="center", wrap_text=True),
        "right": Alignment(horizontal="right"),
        "flag": Alignment(horizontal="center"),
        "rule": Border(bottom=Side(style="thin", color="1F3A5F")),
        "title": Font(bold=True, size=13, color="1F3A5F"),
        "subtitle": Font(italic=True, color="5B6770"),
        "group": Font(bold=True, color="1F3A5F"),
        "note": Font(size=9, color="5B6770"),
    }


def _layout(t: TableData) -> list[tuple[str, str, list[str]]]:
    present = set(zip(t.cells["column_key"], t.cells["stat"]))
    return [(ck, lab, [s for s in t.stats if (ck, s) in present]) for ck, lab in t.columns]


def _header(ws: Any, t: TableData, layout: list[tuple[str, str, list[str]]], h1: int, h2: int) -> int:
    """Two header rows (display column, statistic); returns the last column used."""
    put_text(ws.cell(h1, 1), t.stub_label or "")
    ws.merge_cells(start_row=h1, start_column=1, end_row=h2, end_column=1)
    col = 2
    for ck, lab, stats in layout:
        if not stats:
            continue
        spanner = t.column_spanners.get(ck)
        put_text(ws.cell(h1, col), f"{spanner} {lab}" if spanner and spanner not in ("År", "Year") else lab)
        if len(stats) > 1:
            ws.merge_cells(start_row=h1, start_column=col, end_row=h1, end_column=col + len(stats) - 1)
        for j, s in enumerate(stats):
            head = EN_HEAD_LABELS.get(s, s) if t.dims.get("lang") == "en" else HEAD_LABELS.get(s, STAT_LABELS[s])
            put_text(ws.cell(h2, col + j), head)
        col += len(stats)
    st = _styles()
    for r in (h1, h2):
        for c in range(1, col):
            cell = ws.cell(r, c)
            cell.font, cell.fill = st["bold"], st["head_fill"]
            cell.alignment = st["center"] if c > 1 else st["left"]
            if r == h2:
                cell.border = st["rule"]
    return col - 1


def _put(cell: Any, kind: str, entry: tuple[Any, str, bool], alpha: float, lang: str = "sv") -> None:
    value, text, hidden = entry
    if hidden or (value is None and kind not in ("flag", "direction")):
        put_text(cell, SUPPRESSED if hidden else (text if text in (NOT_AVAILABLE, SUPPRESSED) else NOT_AVAILABLE))
        cell.alignment = _styles()["right"]
    elif kind in ("flag", "direction"):
        if text:
            put_text(cell, text)
        cell.alignment = _styles()["flag"]
    else:
        cell.value = xlsx_value(kind, float(value))
        cell.number_format = number_format(kind, float(value), alpha, lang)


def write_sheet(ws: Any, t: TableData, *, alpha: float = 0.05) -> None:
    """Title, subtitle, two header rows, one row per table row (row groups as bold lines), footnotes."""
    from openpyxl.utils import get_column_letter

    st = _styles()
    idx = t.index()
    layout = _layout(t)
    put_text(ws["A1"], t.title).font = st["title"]
    put_text(ws["A2"], t.subtitle).font = st["subtitle"]
    last_col = _header(ws, t, layout, 4, 5)
    column_stats = t.column_stats()
    row, current_group = 6, None
    for rk, rlab in t.rows:
        g = t.row_groups.get(rk)
        if g and g != current_group:
            put_text(ws.cell(row, 1), g).font = st["group"]
            row, current_group = row + 1, g
        put_text(ws.cell(row, 1), rlab).font = st["bold"] if rk == TOTAL else st["plain"]
        col = 2
        for ck, _, stats in layout:
            for s in stats:
                _put(
                    ws.cell(row, col),
                    t.stat_kind(ck, s, column_stats),
                    idx.get((rk, ck, s), (None, NOT_AVAILABLE, False)),
                    alpha,
                    str(t.dims.get("lang", "sv")),
                )
                col += 1
        row += 1
    row += 1
    for note in [*t.footnotes, t.source_note]:
        if note:
            put_text(ws.cell(row, 1), note).font = st["note"]
            row += 1
    ws.column_dimensions["A"].width = max([len(lab) for _, lab in t.rows] + [len(t.stub_label), 12]) + 2
    for c in range(2, last_col + 1):
        ws.column_dimensions[get_column_letter(c)].width = 11
    ws.freeze_panes = ws.cell(6, 2)
