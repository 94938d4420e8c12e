"""The long, machine-readable CSV of a table: UTF-8, comma, dot decimal, one line per row × column ×
statistic; ``value`` empty for a hidden cell, ``text`` the Swedish display text; every value already rounded
to its display precision. Text columns are neutralised against formula injection (:mod:`reports.safe`);
the numeric ``value`` column is never touched."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

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


def long_csv(t: TableData, path: Path) -> Path:
    """Write one table as long CSV to ``path``."""
    df = safe_text_columns(t.long_frame(), TEXT_COLUMNS)
    df["value"] = [("" if v is None or v != v else repr(float(v))) for v in df["value"]]
    df["suppressed"] = df["suppressed"].map(lambda b: "true" if b else "false")
    df.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
    return path


def write_csv(tables: Sequence[TableData], out_dir: Path) -> list[PublishedFile]:
    """``out_dir/tables/<table_id>.csv`` for every table."""
    d = Path(out_dir) / "tables"
    d.mkdir(parents=True, exist_ok=True)
    return [PublishedFile("table", t.table_id, "csv", long_csv(t, d / f"{t.table_id}.csv")) for t in tables]
