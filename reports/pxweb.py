"""PC-Axis (``.px``) files of the published tables, the format SCB's PxWeb and PX-Win read and Swedish
open-data portals load.

Written from the table's cube (:mod:`reports.cube`) after Statistics Sweden's "PX file format
specification" (2013; scb.se › Statistikprogram för PX-filer › PX-filformatet):

- keywords in the specification's order, one ``KEYWORD=value;`` each; strings in double quotes (a ``"`` in
  a text becomes ``'``: the format has no escape), lines at most 256 characters (a long text continues
  as further quoted strings on the next lines, a long list after a comma);
- ``CODEPAGE="utf-8"`` (the texts use –, −, ”, ▲ that ISO-8859-1 lacks), ``LANGUAGE="sv"`` (or ``"en"``),
  ``AXIS-VERSION="2013"``, ``CREATION-DATE``/``LAST-UPDATED`` as ``CCYYMMDD hh:mm``;
- ``STUB`` = the table's rows, ``HEADING`` = its columns and the statistic; the statistic is the
  ``CONTVARIABLE`` with ``UNITS`` and ``LAST-UPDATED`` per value; ``VALUES`` are the labels, ``CODES`` the
  machine keys; ``TIMEVAL`` when the columns are years;
- ``DECIMALS`` = the most decimals any value has, ``SHOWDECIMALS=0`` and ``PRECISION`` per statistic with
  decimals (shares 1, p-values 3 or more);
- ``DATA``: one record per stub row (on several lines when long, each ending in a space), the heading
  fastest, space-separated; a suppressed cell is ``".."`` and a
  statistic that does not exist for the cell ``"."`` (the dot codes of the specification, explained by
  ``DATASYMBOL1``/``DATASYMBOL2`` and the notes).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from reports.cube import Cube, to_cube, write_each
from reports.formats import NOT_AVAILABLE, SUPPRESSED
from reports.results import PublishedFile
from reports.tabledata import TableData

MAX_LINE = 256
SUBJECT = {"sv": "Trygghet", "en": "Safety"}


def px_string(text: str, indent: int = 0) -> str:
    """A quoted PX string; texts too long for one line continue as quoted strings on the next lines."""
    text = " ".join(str(text).replace('"', "'").split())
    room = MAX_LINE - 40 - indent
    parts: list[str] = []
    while len(text) > room:
        cut = text.rfind(" ", 0, room)
        cut = cut if cut > 0 else room
        parts.append(text[:cut])
        text = text[cut:].lstrip()
    parts.append(text)
    return "\r\n".join(f'"{p}"' for p in parts)


def px_list(items: Sequence[str]) -> str:
    """``"a","b",…`` broken after a comma before a line would pass 256 characters."""
    lines, line = [], ""
    for q in (px_string(i) for i in items):
        if line and len(line) + len(q) + 2 > MAX_LINE - 40:
            lines.append(line + ",")
            line = q
        else:
            line = f"{line},{q}" if line else q
    lines.append(line)
    return "\r\n".join(lines)


def px_number(v: float) -> str:
    """A data value with a dot decimal and no exponent (``27.4``, ``0.00023``, ``30``)."""
    return str(np.format_float_positional(v, trim="-"))


def px_timestamp(updated: str | None) -> str:
    """``2026-12-02`` (or a datetime text) as ``20261202 00:00``; now (UTC) when not given."""
    if updated:
        try:
            return datetime.fromisoformat(str(updated)).strftime("%Y%m%d %H:%M")
        except ValueError:
            pass
    return datetime.now(UTC).strftime("%Y%m%d %H:%M")


def _data_lines(cube: Cube) -> list[str]:
    per_row = int(np.prod(cube.size[1:]))
    lines = []
    for r in range(cube.size[0]):
        cells = []
        for k in range(r * per_row, (r + 1) * per_row):
            v, s = cube.values[k], cube.status[k]
            cells.append(f'"{s}"' if v is None else px_number(v))
        line = ""
        for c in cells:  # one stub row a record, continued on further lines before 256 characters
            if len(line) + len(c) + 1 > MAX_LINE:
                lines.append(line)
                line = ""
            line += c + " "
        lines.append(line)
    return lines


def px_text(t: TableData, *, lang: str | None = None, updated: str | None = None) -> str:
    """The PX file of one table (see the module docstring)."""
    cube = to_cube(t, lang=lang)
    lang = cube.lang
    stamp = px_timestamp(updated)
    row, col, stat = cube.dims
    kw: list[tuple[str, str]] = [
        ("CHARSET", '"ANSI"'),
        ("AXIS-VERSION", '"2013"'),
        ("CODEPAGE", '"utf-8"'),
        ("LANGUAGE", f'"{lang}"'),
        ("CREATION-DATE", f'"{stamp}"'),
        ("DECIMALS", str(min(15, max(cube.decimals.values(), default=0)))),
        ("SHOWDECIMALS", "0"),
        ("MATRIX", px_string(cube.table_id)),
        ("SUBJECT-CODE", '"TRYGG"'),
        ("SUBJECT-AREA", px_string(SUBJECT.get(lang, SUBJECT["sv"]))),
        ("TITLE", px_string(cube.title)),
        ("CONTENTS", px_string(cube.contents)),
        ("UNITS", px_string(cube.units[stat.codes[0]])),
        ("STUB", px_string(row.label)),
        ("HEADING", px_list([col.label, stat.label])),
        ("CONTVARIABLE", px_string(stat.label)),
    ]
    for d in cube.dims:
        kw.append((f'VALUES("{d.label}")', px_list(d.labels)))
    if col.id == "year" and all(c.isdigit() and len(c) == 4 for c in col.codes):
        kw.append((f'TIMEVAL("{col.label}")', "TLIST(A1)," + px_list(col.codes)))
    for d in cube.dims:
        kw.append((f'CODES("{d.label}")', px_list(d.codes)))
    for code, lab in zip(stat.codes, stat.labels):
        if cube.decimals[code]:
            kw.append((f'PRECISION("{stat.label}","{lab}")', str(min(6, cube.decimals[code]))))
    for code, lab in zip(stat.codes, stat.labels):
        kw.append((f'UNITS("{lab}")', px_string(cube.units[code])))
        kw.append((f'LAST-UPDATED("{lab}")', f'"{stamp}"'))
    kw.append(("SOURCE", px_string(cube.source)))
    if cube.notes:
        kw.append(("NOTE", px_string(" ".join(cube.notes))))
    kw += [("DATASYMBOL1", f'"{NOT_AVAILABLE}"'), ("DATASYMBOL2", f'"{SUPPRESSED}"')]
    body = [f"{k}={v};" for k, v in kw]
    return "\r\n".join([*body, "DATA=", *_data_lines(cube)]) + ";\r\n"


def px_file(t: TableData, path: Path, *, lang: str | None = None, updated: str | None = None) -> Path:
    """Write one table's PX file to ``path`` (UTF-8, no BOM, CRLF line ends)."""
    Path(path).write_bytes(px_text(t, lang=lang, updated=updated).encode("utf-8"))
    return Path(path)


def write_px(
    tables: Sequence[TableData], out_dir: Path, *, lang: str | None = None, updated: str | None = None
) -> list[PublishedFile]:
    """``out_dir/tables/<table_id>.px`` for every table."""
    return write_each(tables, out_dir, "px", ".px", px_file, lang=lang, updated=updated)
