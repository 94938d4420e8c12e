"""Reading an Excel ``.xlsx`` workbook as text, refusing what would silently change answers.

* **Formula cells without a cached value** (a workbook written by a program that does not calculate, or saved
  without calculation) would read as blank answers. They reject the file, naming the sheet, the cell (``D7``),
  its row and column and how many there are. Formulas with cached values are read as their values, noted.
* **Title rows above the header** (a heading such as "Trygghetsundersökning 2024", often merged across the
  columns, and blank rows) are skipped with a note when every row above the header has at most one filled
  cell; the header is the first row with two or more filled cells among the first ten. Row numbers stay the
  sheet's own.
* **Merged cells in the header or the data** keep their value only in the first cell (the others would read
  as blank): rejected, naming the range, its rows and its column.
* **Other sheets with data**: one with the same columns as the first sheet (answers split over sheets) rejects
  the file; any other is noted as not read. An empty first sheet with data elsewhere is rejected.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as arrow

from survey.data.readers import ReadInfo, _to_text_frame, cell_text, clean_name
from survey.errors import InputError

_MERGE = re.compile(rb'<mergeCell ref="([A-Z]+)(\d+):([A-Z]+)(\d+)"')
_FORMULA = re.compile(rb"<f[ >/]")
_TITLE_SCAN = 10


def _col_letter(i: int) -> str:
    """0 -> 'A', 26 -> 'AA'."""
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def _col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def _sheet_xml(path: Path) -> list[bytes]:
    """The XML of every worksheet in workbook order (empty list entries where unreadable)."""
    from xml.etree import ElementTree as ET

    ns = {
        "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
        "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    }
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(
            f"är inte en läsbar .xlsx-arbetsbok (zip-filen är trasig eller avkortad: {type(exc).__name__})", path.name
        ) from None
    with zf:
        names = set(zf.namelist())
        if "xl/workbook.xml" not in names:
            raise InputError(
                "är en zip-fil men ingen Excel-arbetsbok (xl/workbook.xml saknas); är det en annan "
                "sorts fil med .xlsx-namn?",
                path.name,
            )
        try:
            wb = ET.fromstring(zf.read("xl/workbook.xml"))
            rels = ET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
        except (ET.ParseError, KeyError, zipfile.BadZipFile, OSError, EOFError):
            raise InputError(
                "är inte en läsbar .xlsx-arbetsbok (arbetsbokens struktur är trasig; är filen avkortad?)", path.name
            ) from None
        target = {r.get("Id"): r.get("Target", "") for r in rels}
        out = []
        for sheet in wb.iterfind("m:sheets/m:sheet", ns):
            t = target.get(sheet.get(f"{{{ns['r']}}}id"), "")
            t = t.lstrip("/") if t.startswith("/") else "xl/" + t
            try:
                out.append(zf.read(t) if t in names else b"")
            except (zipfile.BadZipFile, OSError, EOFError, KeyError):
                raise InputError(
                    "är inte en läsbar .xlsx-arbetsbok (ett blad är trasigt; är filen avkortad?)", path.name
                ) from None
        return out


def _header_row(rows: list[tuple[Any, ...]]) -> int:
    """0-based index of the header: the first of the first rows with >= 2 filled cells (titles above)."""
    for i, values in enumerate(rows[:_TITLE_SCAN]):
        filled = sum(cell_text(v) is not None for v in values)
        if filled >= 2:
            return i
    return next((i for i, v in enumerate(rows) if any(cell_text(c) is not None for c in v)), 0)


def read_xlsx(path: Path) -> tuple[Any, ReadInfo]:
    """The first sheet of a workbook as a text frame (index = the sheet's row number); see the module doc."""
    import openpyxl

    xml = _sheet_xml(path)
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        raise InputError(f"är inte en läsbar .xlsx-arbetsbok ({type(exc).__name__})", path.name) from None
    try:
        sheets = [(ws.title, list(ws.iter_rows(min_row=1, values_only=True))) for ws in wb.worksheets]
    finally:
        wb.close()
    if not sheets:
        raise InputError("arbetsboken har inga kalkylblad", path.name, 1)
    title, rows = sheets[0]
    notes: list[str] = []
    others = _other_sheets(sheets, path.name, notes)
    h = _header_row(rows)
    if not rows or not any(cell_text(v) is not None for v in rows[h]):
        raise InputError(f"är tom (bladet {title!r} har ingen rubrikrad)", path.name, 1)
    header = list(rows[h])
    while header and header[-1] is None:
        header.pop()
    width = len(header)
    if h > 0:
        heading = next((cell_text(v) for r in rows[:h] for v in r if cell_text(v) is not None), None)
        notes.append(
            f"{path.name}: blad {title!r}: rad 1–{h} ovanför kolumnnamnen hoppades över"
            + (f" (rubrik {heading!r})" if heading else "")
            + f"; kolumnnamnen står på rad {h + 1}"
        )
    names = [clean_name(v) for v in header]
    _merged(xml[0] if xml else b"", h + 1, names, title, path.name)
    if xml and _FORMULA.search(xml[0]):
        _formulas(path, rows, h, names, title, notes)
    records, numbers = [], []
    for r in range(h + 1, len(rows)):
        values = rows[r]
        cells = [cell_text(v) for v in values[:width]]
        if any(cell_text(v) is not None for v in values[width:]):
            c = next(i for i, v in enumerate(values) if i >= width and cell_text(v) is not None)
            raise InputError(
                f"blad {title!r}, cell {_col_letter(c)}{r + 1}: ett värde utanför de {width} "
                "namngivna kolumnerna (kolumnen saknar namn på rubrikraden)",
                path.name,
                r + 1,
                f"{_col_letter(c)} (utan namn)",
            )
        if all(c is None for c in cells):
            continue
        records.append(cells + [None] * (width - len(cells)))
        numbers.append(r + 1)
    cols: list[Any] = list(zip(*records)) if records else [[] for _ in names]
    table = arrow.table({f"c{i}": arrow.array(c, type=arrow.string()) for i, c in enumerate(cols)})
    info = ReadInfo("xlsx", notes=notes, header_row=h + 1, other_sheets=others)
    return _to_text_frame(table, names, np.asarray(numbers, dtype=np.int64)), info


def _other_sheets(sheets: list[tuple[str, list[tuple[Any, ...]]]], name: str, notes: list[str]) -> dict[str, set[str]]:
    """Data on sheets after the first: same columns -> error, anything else -> a note; returns the column names
    of each sheet with data that is not read (for the message when the first sheet lacks a column)."""
    first_title, first_rows = sheets[0]
    first_header = set()
    if first_rows:
        h = _header_row(first_rows)
        first_header = {clean_name(v) for v in first_rows[h] if cell_text(v) is not None}
    others: dict[str, set[str]] = {}
    for title, rows in sheets[1:]:
        filled = [r for r in rows if any(cell_text(v) is not None for v in r)]
        if not filled:
            continue
        if not first_header:
            raise InputError(
                f"det första bladet {first_title!r} är tomt, men bladet {title!r} har data; flytta "
                "det bladet först eller spara det som en egen fil",
                name,
                1,
            )
        hdr = {clean_name(v) for v in rows[_header_row(rows)] if cell_text(v) is not None}
        if len(hdr & first_header) >= max(2, len(first_header) // 2):
            raise InputError(
                f"arbetsboken har svar på flera blad: bladet {title!r} har samma kolumner som "
                f"{first_title!r} ({len(filled) - 1} rader). trygghet läser bara det första bladet och "
                "skulle tappa de andra bladens rader; lägg alla svar på ett blad eller spara varje "
                "blad som en egen fil",
                name,
                1,
            )
        notes.append(
            f"{name}: bladet {title!r} ({len(filled)} ifyllda rader) lästes inte; trygghet läser bara "
            f"det första bladet, {first_title!r}"
        )
        others[title] = hdr
    return others


def _merged(xml: bytes, header_row: int, names: list[str], title: str, name: str) -> None:
    """Merged ranges that reach the header or data rows reject the file."""
    for c1, r1, c2, r2 in _MERGE.findall(xml):
        r1, r2 = int(r1), int(r2)
        if r2 < header_row:
            continue  # a merged title above the header
        i = _col_index(c1.decode())
        column = names[i] if i < len(names) else f"{c1.decode()} (utan namn)"
        ref = f"{c1.decode()}{r1}:{c2.decode()}{r2}"
        raise InputError(
            f"blad {title!r} har sammanfogade celler {ref} (rad {r1}–{r2}): bara den första cellen har "
            "ett värde och de andra skulle läsas som tomma svar. Dela upp de sammanfogade cellerna och "
            "fyll i varje cell, eller exportera som CSV",
            name,
            max(r1, header_row),
            column,
        )


def _formulas(path: Path, rows: list[tuple[Any, ...]], h: int, names: list[str], title: str, notes: list[str]) -> None:
    """Formula cells: without a cached value -> error; with one -> a note."""
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=False)
    try:
        uncached, cached = [], 0
        for r, values in enumerate(wb.worksheets[0].iter_rows(min_row=1, values_only=True)):
            for c, v in enumerate(values):
                if isinstance(v, str) and v.startswith("="):
                    shown = rows[r][c] if r < len(rows) and c < len(rows[r]) else None
                    if shown is None:
                        uncached.append((r + 1, c, v))
                    else:
                        cached += 1
    finally:
        wb.close()
    if uncached:
        r, c, f = uncached[0]
        column = names[c] if c < len(names) else f"{_col_letter(c)} (utan namn)"
        examples = ", ".join(f"{_col_letter(cc)}{rr}" for rr, cc, _ in uncached[:5])
        raise InputError(
            f"blad {title!r}, cell {_col_letter(c)}{r}: formeln {f[:60]!r} har inget sparat värde "
            f"({len(uncached)} sådana celler: {examples}). Filen har skrivits av ett program som inte "
            "räknar ut formler, och trygghet läser aldrig en formel som ett tomt svar. Öppna filen i "
            "Excel och spara den igen, eller exportera den som CSV",
            path.name,
            r,
            column,
        )
    if cached:
        notes.append(f"{path.name}: blad {title!r}: {cached} celler är formler; deras sparade värden lästes")
