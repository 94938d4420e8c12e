"""The long CSV of a table, in two dialects with the same columns and rows (one line per row × column ×
statistic; ``value`` empty for a hidden cell, ``text`` the display text; every value already rounded to its
display precision):

- ``tables/<id>.csv``, machine-readable: UTF-8, comma, dot decimal;
- ``tables/<id>_excel.csv``, for Swedish Excel (which opens a double-clicked CSV with the regional list
  separator and decimal mark): UTF-8 with BOM (so Excel reads å, ä, ö right), semicolon, decimal comma,
  numbers written without exponent (``0,00001``, not ``1e-05``).

Text columns are neutralised against formula injection (:mod:`reports.safe`) in both; the numeric ``value``
column is never touched.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from reports.formats import is_missing
from reports.results import PublishedFile
from reports.safe import neutralise
from reports.tabledata import TableData

EXCEL_SUFFIX = "_excel"  # tables/<id>_excel.csv beside tables/<id>.csv


COLUMNS = (
    "table_id",
    "row_key",
    "row_label",
    "column_key",
    "column_label",
    "stat",
    "year",
    "district",
    "indicator",
    "group",
    "value",
    "text",
    "suppressed",
)  # the columns of TableData.long_frame, in its order
VALUE = COLUMNS.index("value")


def _base(t: TableData) -> list[list[Any]]:
    """The rows of :meth:`TableData.long_frame` as lists, text columns neutralised, ``suppressed`` as
    ``true``/``false`` (shared by both dialects; ``value`` still a float or ``None``)."""
    rlab, clab = dict(t.rows), dict(t.columns)
    cell: dict[tuple[str, str], tuple[list[Any], list[Any]]] = {}  # the columns one display cell shares
    out = []
    for r, c, s, v, text, h in t.records():
        parts = cell.get((r, c))
        if parts is None:
            prov = t.provenance(r, c)
            head = [t.table_id, r, rlab.get(r, r), c, clab.get(c, c)]
            tail = [prov.get("year", ""), prov.get("district", ""), prov.get("indicator", ""), prov.get("group", "")]
            parts = cell[(r, c)] = ([neutralise(x) for x in head], [neutralise(x) for x in tail])
        out.append(
            [*parts[0], neutralise(s), *parts[1], None if is_missing(v) else float(v), neutralise(text)]
            + ["true" if h else "false"]
        )
    return out


def _write(path: Path, rows: list[list[Any]], number: Callable[[float], str], **dialect: Any) -> Path:
    """The CSV as pandas' ``to_csv`` wrote it (csv module, minimal quoting, empty for a missing value)."""
    enc = dialect.pop("encoding")
    buf = io.StringIO(newline="")
    w = csv.writer(buf, quoting=csv.QUOTE_MINIMAL, **dialect)
    w.writerow(COLUMNS)
    w.writerows(
        [*row[:VALUE], "" if row[VALUE] is None or row[VALUE] != row[VALUE] else number(row[VALUE]), *row[VALUE + 1 :]]
        for row in rows
    )
    with open(path, "w", encoding=enc, newline="") as fh:
        fh.write(buf.getvalue())
    return path


def long_csv(t: TableData, path: Path, base: list[list[Any]] | None = None) -> Path:
    """Write one table as machine-readable long CSV to ``path`` (UTF-8, comma, dot decimal)."""
    return _write(path, _base(t) if base is None else base, repr, encoding="utf-8", lineterminator="\n")


def swedish_decimal(v: float) -> str:
    """``0.274`` → ``0,274``; ``1e-05`` → ``0,00001``; ``30.0`` → ``30`` (no exponent, no thousands separator)."""
    return _decimal(v) if v != 0 else _positional(v)  # ±0 apart: a cache would give -0.0 the text of 0.0


def _positional(v: float) -> str:
    return str(np.format_float_positional(v, trim="-")).replace(".", ",")


_decimal = lru_cache(maxsize=1 << 16)(_positional)


def excel_csv(t: TableData, path: Path, base: list[list[Any]] | None = None) -> Path:
    """Write one table as long CSV for Swedish Excel to ``path`` (UTF-8 with BOM, semicolon, decimal comma)."""
    rows = _base(t) if base is None else base
    return _write(path, rows, swedish_decimal, encoding="utf-8-sig", delimiter=";", lineterminator="\r\n")


def write_csv(tables: Sequence[TableData], out_dir: Path) -> list[PublishedFile]:
    """``out_dir/tables/<table_id>.csv`` and ``<table_id>_excel.csv`` (format ``csv-sv``) for every table."""
    d = Path(out_dir) / "tables"
    d.mkdir(parents=True, exist_ok=True)
    files = []
    for t in tables:
        base = _base(t)
        files.append(PublishedFile("table", t.table_id, "csv", long_csv(t, d / f"{t.table_id}.csv", base)))
        files.append(
            PublishedFile("table", t.table_id, "csv-sv", excel_csv(t, d / f"{t.table_id}{EXCEL_SUFFIX}.csv", base))
        )
    return files
