"""The body rows of a great-tables table, written the way great-tables writes them, for the tables of
:mod:`reports.gt` (one stub column, optional row groups, right-aligned cells, no styles, footnote marks,
summary rows, striping or indents).

great-tables renders a table cell by cell through its data-frame backend (about 80 µs a cell, 0.1 s for a
district table); the report has thousands of cells. :func:`reports.gt.table_html` therefore lets
great-tables render the table with its first row only — title, column labels, spanners, widths, CSS,
source notes and that row — and :func:`splice_body` writes every row into it. The row great-tables wrote
is the check: the rows are written only when this module writes that first row byte for byte as
great-tables did, ids and ``headers`` included; otherwise the caller renders the whole table with
great-tables. ``tests/test_report_gt.py`` compares both renderings of every kind of table.

Escaping is great-tables' own: :func:`html.escape` of row and group labels, ids and ``headers``; the cell
contents are the autoescaped output of ``cell.html``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from markupsafe import Markup

from reports.templating import render

TBODY_OPEN = '<tbody class="gt_table_body">\n'
TBODY_CLOSE = "\n</tbody>"
_ID = re.compile(r' id="([^"]*)"')
_HEADERS = re.compile(r' headers="([^"]*)"')  # only the body cells have one


def sanitize_id(text: str) -> str:
    """great-tables' id from a label: no markup, spaces or punctuation (``_sanitize_id``)."""
    text = html.unescape(re.sub(r"<[^>]+>", "", text))
    return re.sub(r"[^\w.:-]+", "-", text).strip("-")


class IdRegistry:
    """Ids unique within a table, prefixed by the table id, a repeated one suffixed ``-2``, ``-3``, ...
    (great-tables' ``_IdRegistry``), starting from the ids the table's header already uses."""

    def __init__(self, table_id: str, used: set[str]) -> None:
        prefix = sanitize_id(table_id)
        self.prefix = f"{prefix}-" if prefix else ""
        self.used = set(used)

    def make(self, base: str, fallback: str) -> str:
        name = sanitize_id(html.escape(base)) or fallback
        candidate, n = f"{self.prefix}{name}", 2
        while candidate in self.used:
            candidate, n = f"{self.prefix}{name}-{n}", n + 1
        self.used.add(candidate)
        return candidate


def ordered_rows(groups: Sequence[str]) -> list[int]:
    """Row indices of a grouped table in great-tables' order: group by group in the order the groups first
    appear, each group's rows in row order."""
    first: dict[str, int] = {}
    for i, g in enumerate(groups):
        first.setdefault(g, i)
    return sorted(range(len(groups)), key=lambda i: first[groups[i]])  # stable: row order within a group


def _rows(  # long: one row dictionary per row, for the template
    table_id: str,
    used: set[str],
    labels: Sequence[str],
    groups: Sequence[str] | None,
    col_headers: Sequence[str],
    cells: Sequence[Sequence[str]],
    order: Iterable[int],
) -> str:
    """The ``<tr>`` elements of the rows ``order`` (indices into ``labels``; ``cells[c][i]``), rendered by
    ``gt_rows.html`` with the values escaped by :func:`html.escape` (great-tables' escaping)."""
    ids = IdRegistry(table_id, used)
    rows: list[dict[str, Any]] = []
    current: str | None = None
    gid = ""
    ncol = 1 + len(col_headers)
    for i in order:
        row: dict[str, Any] = {"group": None}
        row_ids = []
        if groups is not None:
            if current is None or groups[i] != current:
                current = groups[i]
                gid = ids.make(current, "group")
                row["group"] = {
                    "cls": "gt_empty_group_heading" if current == "" else "gt_group_heading_row",
                    "ncol": ncol,
                    "scope": "colgroup" if ncol > 1 else "col",
                    "id": Markup(html.escape(gid)),
                    "label": Markup(html.escape(current)),
                }
            row_ids.append(gid)
        sid = ids.make(f"stub-{i + 1}", "stub")
        row_ids.append(sid)
        own = " ".join(row_ids) + " "
        row["id"], row["label"] = Markup(html.escape(sid)), Markup(html.escape(labels[i]))
        row["cells"] = [(Markup(html.escape(own + h)), Markup(c[i])) for h, c in zip(col_headers, cells)]
        rows.append(row)
    return render("gt_rows.html", rows=rows).removesuffix("\n")


def splice_body(
    skeleton: str,
    table_id: str,
    labels: Sequence[str],
    groups: Sequence[str] | None,
    columns: Sequence[str],
    cells: Mapping[str, Sequence[str]],
) -> str | None:
    """``skeleton`` (great-tables' HTML of the table with its first row only) with every row; ``None`` when
    this module does not write that first row exactly as great-tables did."""
    a = skeleton.find(TBODY_OPEN)
    b = skeleton.find(TBODY_CLOSE, a + 1)
    if a < 0 or b < 0 or not labels:
        return None
    head, first, tail = skeleton[:a], skeleton[a + len(TBODY_OPEN) : b], skeleton[b:]
    used = {html.unescape(x) for x in _ID.findall(head + tail)}
    found = [html.unescape(h).split(" ") for h in _HEADERS.findall(first)]
    n_row = 2 if groups is not None else 1  # the row's own headers: its group and its stub cell
    if len(found) != len(columns) or any(len(h) <= n_row for h in found):
        return None
    col_headers = [" ".join(h[n_row:]) for h in found]
    col_cells = [cells[c] for c in columns]
    if _rows(table_id, used, labels[:1], None if groups is None else groups[:1], col_headers, col_cells, [0]) != first:
        return None
    order = ordered_rows(groups) if groups is not None else range(len(labels))
    return head + TBODY_OPEN + _rows(table_id, used, labels, groups, col_headers, col_cells, order) + tail
