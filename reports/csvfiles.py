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

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from reports.results import PublishedFile
from reports.safe import safe_text_columns
from reports.tabledata import TableData

TEXT_COLUMNS = (
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
    "text",
)
EXCEL_SUFFIX = "_excel"  # tables/<id>_excel.csv beside tables/<id>.csv


def _base(t: TableData) -> pd.DataFrame:
    """The long frame with its text columns neutralised (shared by both dialects)."""
    df = safe_text_columns(t.long_frame(), TEXT_COLUMNS)
    df["suppressed"] = df["suppressed"].map(lambda b: "true" if b else "false")
    return df


def _with_values(df: pd.DataFrame, number: Callable[[float], str]) -> pd.DataFrame:
    out = df.copy()
    out["value"] = [("" if v is None or v != v else number(float(v))) for v in df["value"]]
    return out


def long_csv(t: TableData, path: Path, base: pd.DataFrame | None = None) -> Path:
    """Write one table as machine-readable long CSV to ``path`` (UTF-8, comma, dot decimal)."""
    frame = _with_values(_base(t) if base is None else base, repr)
    frame.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
    return path


def swedish_decimal(v: float) -> str:
    """``0.274`` → ``0,274``; ``1e-05`` → ``0,00001``; ``30.0`` → ``30`` (no exponent, no thousands separator)."""
    return str(np.format_float_positional(v, trim="-")).replace(".", ",")


def excel_csv(t: TableData, path: Path, base: pd.DataFrame | None = None) -> Path:
    """Write one table as long CSV for Swedish Excel to ``path`` (UTF-8 with BOM, semicolon, decimal comma)."""
    frame = _with_values(_base(t) if base is None else base, swedish_decimal)
    frame.to_csv(path, index=False, sep=";", encoding="utf-8-sig", lineterminator="\r\n")
    return path


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
