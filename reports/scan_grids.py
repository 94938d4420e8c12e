"""Number matching in tables labelled with names (HTML, XLSX) for the disclosure scanner (:mod:`reports.scan`).

A great-tables cell shows a share with its CI and small lines (n, change in procentenheter, p-values); an XLSX
sheet has per-cent formatted cells. Only share-like numbers are matched (the main value when it is a per cent,
and its CI; numbers followed by ``%``; per-cent formatted XLSX cells), against the hidden shares of the
cell's labels: its row label and column headers (district, sex/age group, a year), the column keys of the
``headers`` ids and the indicator the table id names. Where the labels name no indicator (an XLSX sheet), the
indicator of a column (or row) is the one whose visible estimates equal at least 90 % of its shares.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Sequence
from html.parser import HTMLParser
from typing import Any

from reports.formats import TOTAL
from reports.scan_cells import SHARE_TOL, CellIndex

_NUM_RE = re.compile(
    r"(?<![\d.,])[+\-\u2212]?\d{1,3}(?:[ \u00a0\u202f]\d{3})*(?:[.,]\d+)|"
    r"(?<![\d.,])[+\-\u2212]?\d+[.,]\d+"
)
PERCENT_AFTER = re.compile(r"[ \u00a0\u202f]*%")
_YEAR = re.compile(r"(?<!\d)\d{4}(?!\d)")


def numbers(text: str) -> list[float]:
    """Decimal numbers in a display text (Swedish or English notation; integers are ignored)."""
    out = []
    for m in _NUM_RE.finditer(text):
        s = m.group(0).replace("\u2212", "-").replace(" ", "").replace("\u00a0", "").replace("\u202f", "")
        with contextlib.suppress(ValueError):
            out.append(float(s.replace(",", ".")))
    return out


def percent_numbers(text: str) -> list[float]:
    """Numbers directly followed by ``%`` (``27,4 %``), as fractions."""
    out = []
    for m in _NUM_RE.finditer(text):
        if PERCENT_AFTER.match(text, m.end()):
            out += [x / 100.0 for x in numbers(m.group(0))]
    return out


class ShareGrid:
    """The hidden and visible shares of the estimates, by district, for display-precision matching in tables
    labelled with names (HTML, XLSX): ``(year, district, indicator, group, (est, lo, hi))``."""

    def __init__(self, idx: CellIndex) -> None:
        self.idx = idx
        self.hidden: dict[str, list[tuple[int, str, str, str, tuple[float, ...]]]] = {}
        self.visible: dict[str, list[tuple[int, str, str, str, tuple[float, ...]]]] = {}
        for (y, d, i, g), e in idx.cells.items():
            vals = tuple(v for v in (e.estimate, e.ci_low, e.ci_high) if not math.isnan(v))
            (self.hidden if e.hidden else self.visible).setdefault(d, []).append((y, d, i, g, vals))
        self.year_tokens = {str(y) for y in idx.years}
        self.answer_items = {i for (_, _, i, g) in idx.cells if g and i.startswith("q_")}

    def _candidates(self, pool: dict[str, list], tokens: set[str]) -> list[tuple[str, tuple[float, ...]]]:
        ds = tokens & self.idx.districts
        ys = {int(t) for t in tokens & self.year_tokens}
        inds = tokens & self.idx.indicators
        gs = tokens & self.idx.groups
        out = []
        for d in ds or {TOTAL}:
            for y, _, i, g, vals in pool.get(d, ()):
                if (ys and y not in ys) or (inds and i not in inds):
                    continue
                if (gs and g not in gs) or (not gs and g and i not in (inds & self.answer_items)):
                    continue
                out.append((f"{d} {y} {i}{' ' + g if g else ''}", vals))
        return out

    def indicators_shown(self, tokens: set[str], x: float) -> set[str]:
        """The indicators with a visible share (any group when no group is named) shown as ``x``."""
        ds = tokens & self.idx.districts
        ys = {int(t) for t in tokens & self.year_tokens}
        gs = tokens & self.idx.groups
        return {
            i
            for d in ds or {TOTAL}
            for y, _, i, g, vals in self.visible.get(d, ())
            if not (ys and y not in ys) and not (gs and g not in gs) and any(abs(v - x) <= SHARE_TOL for v in vals)
        }

    def hit(self, tokens: set[str], x: float) -> tuple[str, float] | None:
        """A hidden share (its cell and value) shown as ``x`` at display precision in a cell labelled
        ``tokens``, and no visible share of the same labels shown so."""
        if not tokens & (self.idx.districts | self.idx.groups):
            return None
        hidden = self._candidates(self.hidden, tokens)
        found = next(((k, v) for k, vals in hidden for v in vals if abs(v - x) <= SHARE_TOL), None)
        if found is None:
            return None
        if any(abs(v - x) <= SHARE_TOL for _, vals in self._candidates(self.visible, tokens) for v in vals):
            return None
        return found


class HtmlGrids(HTMLParser):
    """HTML tables as grids: per table the header rows and body rows, each cell ``(text, span, shares,
    header keys)``; ``shares`` are the share-like numbers (the main value when it is a per cent and its CI,
    else numbers followed by ``%``), header keys the column keys of great-tables' ``headers`` ids."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[dict[str, Any]] = []
        self._stack: list[dict[str, Any]] = []
        self._row: list[tuple[str, int, list[float], set[str]]] | None = None
        self._cell: list[str] | None = None
        self._parts: dict[str, list[str]] = {}
        self._classes: list[str] = []
        self._span = 1
        self._headers: set[str] = set()
        self._in_head = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table":
            label = a.get("aria-labelledby") or ""
            tid = label[2:].removesuffix("-title") if label.startswith("t-") else ""
            self._stack.append({"head": [], "body": [], "id": tid})
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr" and self._stack:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell, self._parts, self._classes = [], {}, []
            try:
                self._span = max(1, int(a.get("colspan") or 1))
            except ValueError:
                self._span = 1
            prefix = f"t-{self._stack[-1]['id']}-"
            self._headers = {h[len(prefix) :] for h in (a.get("headers") or "").split() if h.startswith(prefix)}
        elif tag == "span" and self._cell is not None:
            self._classes.append((a.get("class") or "").split(" ")[0])
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self._classes:
            self._classes.pop()
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            text = " ".join("".join(self._cell).split())
            main, ci = "".join(self._parts.get("v", [])), "".join(self._parts.get("ci", []))
            if any(k in self._parts for k in ("v", "ci", "nn", "chg")):  # a great-tables cell (reports/gt.py)
                shares = [x / 100.0 for x in numbers(main) + numbers(ci)] if "%" in main else []
            else:
                shares = percent_numbers(text)
            self._row.append((text, self._span, shares, self._headers))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._stack:
            expanded = [cell for cell in self._row for _ in range(cell[1])]
            self._stack[-1]["head" if self._in_head else "body"].append(expanded)
            self._row = None
        elif tag == "thead":
            self._in_head = False
        elif tag == "table" and self._stack:
            self.tables.append(self._stack.pop())

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
            cls = next((c for c in reversed(self._classes) if c in ("v", "ci", "nn", "chg", "mk")), None)
            if cls == "mk":
                return
            self._parts.setdefault(cls or "", []).append(data)


def id_tokens(table_id: str, idx: CellIndex) -> set[str]:
    """The indicator a table id names (``district_<indicator>``, ``answers_<item>``)."""
    parts = table_id.split("_")
    return {t for k in range(1, len(parts)) for t in ("_".join(parts[k:]),) if t in idx.indicators}


def grid_hits(
    head: Sequence[Sequence[str | None]],
    body: list[list[tuple[Any, list[float], set[str]]]],
    grid: ShareGrid,
    extra: set[str],
) -> list[str]:
    """Share-like numbers of a table cell must not show a hidden share of the cell's labels (row label,
    column labels and keys, the table's indicator, else the indicator inferred for its column or row) at
    display precision: one message per such number."""
    found = []
    years = grid.year_tokens
    indicators = grid.idx.indicators

    def labels(j: int) -> set[str]:  # the column's header texts, and the one year a header text names
        texts = [str(h[j]).strip() for h in head if j < len(h) and h[j] is not None]
        named = [set(_YEAR.findall(t)) & years for t in texts]
        words = {w for t in texts if len(t) < 40 for w in t.split()}  # "Kön Kvinna": spanner and label
        return set(texts) | words | {y for ys in named if len(ys) == 1 for y in ys}

    table = labels(0) | extra  # a title naming one year (a sex/age table of 2025) applies to every column
    cells = []
    for r, row in enumerate(body):
        row_label = str(row[0][0]).strip() if row and row[0][0] is not None else ""
        for j, (cell, shares, keys) in enumerate(row[1:], start=1):
            if shares:
                cells.append((r, j, cell, shares, {row_label, *keys} | table | labels(j)))
    unnamed = [c for c in cells if not c[4] & indicators]  # labels that do not name the indicator
    by_col = _infer_indicators(grid, [(c[1], c[3][0], c[4]) for c in unnamed])
    by_row = _infer_indicators(grid, [(c[0], c[3][0], c[4]) for c in unnamed])
    for r, j, cell, shares, tokens in cells:
        inferred = None if tokens & indicators else (by_col.get(j) or by_row.get(r))
        for x in shares:
            hit = grid.hit(tokens | ({inferred} if inferred else set()), x)
            if hit is not None:
                found.append(f"cell {cell!r} shows the hidden value {hit[1]:.4f} of {hit[0]}")
    return found


def _infer_indicators(grid: ShareGrid, cells: list[tuple[int, float, set[str]]]) -> dict[int, str]:
    """For a table whose labels do not name its indicators (an XLSX sheet), the indicator of each column
    (or row): the one whose visible estimates, under the cells' other labels, equal at least 90 % of the
    column's main shares (and at least two), better than any other."""
    counts: dict[int, dict[str, int]] = {}
    sizes: dict[int, int] = {}
    for k, x, tokens in cells:
        sizes[k] = sizes.get(k, 0) + 1
        for i in grid.indicators_shown(tokens, x):
            counts.setdefault(k, {})[i] = counts.setdefault(k, {}).get(i, 0) + 1
    out = {}
    for k, c in counts.items():
        ranked = sorted(c.items(), key=lambda t: -t[1])
        best, hits = ranked[0]
        if hits >= max(2, 0.9 * sizes[k]) and (len(ranked) == 1 or ranked[1][1] < hits):
            out[k] = best
    return out
