"""Spreadsheet-safe text (CSV/formula injection, OWASP "CSV Injection").

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is prefixed with a single
quote, so Excel, LibreOffice and Google Sheets show it as text instead of evaluating it (a district named
``=HYPERLINK("http://x","klicka")`` stays that text). Numbers are never touched: they are written as numbers
(a negative share difference stays ``-0.032`` in a CSV ``value`` column and a number in XLSX); only text
columns and text cells are neutralised. In XLSX every text cell is moreover written as a string (XlsxWriter's
``write_string``, with Excel's quote-prefix style on neutralised cells: :mod:`reports.xlsx`), never as a formula.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: Any) -> Any:
    """``text`` with a leading ``'`` when it starts with a formula trigger; anything else unchanged."""
    if isinstance(text, str) and text.startswith(TRIGGERS):
        return "'" + text
    return text


def safe_text_columns(df: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """A copy of ``df`` with the given text columns neutralised (numbers in other columns untouched)."""
    out = df.copy()
    for c in columns:
        if c in out.columns:
            out[c] = pd.Series([neutralise(v) for v in out[c].tolist()], index=out.index, dtype=object)
    return out
