"""The table object every output format is rendered from.

A :class:`TableData` is a long-format cell frame (one row per row × column × statistic) plus JSON-serialisable
metadata (title, rows, columns, footnotes, dimensions). HTML, PNG, PDF (great-tables), XLSX, CSV, the
published-table store and the terminal all render that one object, so a table exported later from the store
looks exactly like the one published in the run.

Cells are built by :class:`CellBuilder`, which applies the disclosure rule once per display cell (a hidden
cell gets ``value=None`` and ``text=".."`` in every statistic) and rounds every value to its displayed
precision (:func:`reports.formats.shown`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from reports.formats import NOT_AVAILABLE, STAT_KIND, SUPPRESSED, cell_text, is_missing, shown

CELL_COLUMNS = ["row_key", "column_key", "stat", "value", "text", "suppressed"]
T = TypeVar("T")


@dataclass
class TableData:
    """One publishable table: long-format cells plus everything needed to render it in any format.

    ``rows``/``columns`` are ``(key, label)`` pairs in display order; ``stats`` lists the statistics each
    display cell carries; ``dims`` says what the row and column keys are (``{"row": "district", "column":
    "year", "fixed": {"indicator": ...}}``) so every cell can be traced back to its estimate.
    """

    table_id: str
    year: int
    title: str
    subtitle: str
    kind: str
    rows: list[tuple[str, str]]
    columns: list[tuple[str, str]]
    stats: list[str]
    dims: dict[str, Any]
    cells: pd.DataFrame
    stub_label: str = ""
    row_groups: dict[str, str] = field(default_factory=dict)  # row_key -> group label
    column_spanners: dict[str, str] = field(default_factory=dict)  # column_key -> spanner label
    footnotes: list[str] = field(default_factory=list)
    source_note: str = ""
    sheet_name: str = ""  # Swedish XLSX sheet name
    # lookups computed once per cell frame (every output format reads them); see :meth:`memo`
    _memo: dict[str, tuple[pd.DataFrame, Any]] = field(default_factory=dict, init=False, repr=False, compare=False)

    # ----- serialisation (store) -----
    def meta(self) -> dict[str, Any]:
        """JSON-serialisable metadata; with :meth:`store_cells` it reconstructs the table exactly."""
        return {
            "table_id": self.table_id,
            "year": int(self.year),
            "title": self.title,
            "subtitle": self.subtitle,
            "kind": self.kind,
            "rows": [list(r) for r in self.rows],
            "columns": [list(c) for c in self.columns],
            "stats": list(self.stats),
            "dims": self.dims,
            "stub_label": self.stub_label,
            "row_groups": dict(self.row_groups),
            "column_spanners": dict(self.column_spanners),
            "footnotes": list(self.footnotes),
            "source_note": self.source_note,
            "sheet_name": self.sheet_name,
            "format_version": 2,
        }

    def store_cells(self) -> pd.DataFrame:
        """Cells in the store's format: ``row_key, column_key, value, text, suppressed``.

        The statistic is folded into the column key as ``<column>|<stat>`` (``2024|est``, ``2024|lo``).
        """
        recs = self.records()
        return pd.DataFrame(
            {
                "row_key": [str(r) for r, *_ in recs],
                "column_key": [f"{c}|{s}" for _, c, s, *_ in recs],
                "value": [None if is_missing(v) else float(v) for *_, v, _, _ in recs],
                "text": [str(t) for *_, t, _ in recs],
                "suppressed": [bool(h) for *_, h in recs],
            },
            index=self.cells.index,
        )

    @classmethod
    def from_store(cls, meta: Mapping[str, Any], cells: pd.DataFrame) -> TableData:
        """Rebuild a table from :meth:`meta` and :meth:`store_cells` (as read back from the store)."""
        split = cells["column_key"].astype(str).str.rsplit("|", n=1, expand=True)
        frame = pd.DataFrame(
            {
                "row_key": cells["row_key"].astype(str),
                "column_key": split[0],
                "stat": split[1],
                "value": [None if is_missing(v) else float(v) for v in cells["value"]],
                "text": cells["text"].astype(str),
                "suppressed": cells["suppressed"].astype(bool),
            }
        )
        return cls(
            table_id=meta["table_id"],
            year=int(meta["year"]),
            title=meta["title"],
            subtitle=meta.get("subtitle", ""),
            kind=meta["kind"],
            rows=[tuple(r) for r in meta["rows"]],
            columns=[tuple(c) for c in meta["columns"]],
            stats=list(meta["stats"]),
            dims=dict(meta["dims"]),
            cells=frame,
            stub_label=meta.get("stub_label", ""),
            row_groups=dict(meta.get("row_groups", {})),
            column_spanners=dict(meta.get("column_spanners", {})),
            footnotes=list(meta.get("footnotes", [])),
            source_note=meta.get("source_note", ""),
            sheet_name=meta.get("sheet_name", ""),
        )

    # ----- lookups -----
    def memo(self, name: str, compute: Callable[[], T]) -> T:
        """``compute()`` once per cell frame: recomputed when :attr:`cells` is another frame (the cells are
        never changed in place; the result is shared, callers must not change it)."""
        hit = self._memo.get(name)
        if hit is None or hit[0] is not self.cells:
            hit = self._memo[name] = (self.cells, compute())
        return hit[1]

    def index(self) -> dict[tuple[str, str, str], tuple[Any, str, bool]]:
        """``(row_key, column_key, stat) -> (value, text, suppressed)``."""
        return self.memo("index", lambda: {(r, c, s): (v, t, bool(h)) for r, c, s, v, t, h in self.records()})

    def _columns(self) -> zip:
        """The cell columns as plain Python lists, zipped (much faster than row iteration on arrow strings)."""
        return zip(*(self.cells[c].tolist() for c in CELL_COLUMNS))

    def records(self) -> list[tuple[Any, ...]]:
        """The cells as ``(row_key, column_key, stat, value, text, suppressed)`` tuples, in frame order."""
        return self.memo("records", lambda: list(self._columns()))

    def column_stats(self) -> dict[str, set[str]]:
        """The statistics present in each display column."""

        def compute() -> dict[str, set[str]]:
            out: dict[str, set[str]] = {}
            for rec in self.records():
                out.setdefault(str(rec[1]), set()).add(rec[2])
            return out

        return self.memo("column_stats", compute)

    def stat_kind(self, ck: str, stat: str, column_stats: dict[str, set[str]] | None = None) -> str:
        """Value kind of a statistic within a display column (CI bounds of a difference are in pp)."""
        if stat in ("lo", "hi"):
            keys = (column_stats if column_stats is not None else self.column_stats()).get(ck, set())
            if "diff" in keys:
                return "pp"
            if "or" in keys:
                return "ratio"
        return STAT_KIND[stat]

    def provenance(self, row_key: str, column_key: str) -> dict[str, Any]:
        """The estimate behind a cell: ``{"year":…, "district":…, "indicator":…, ["group":…]}``."""
        out = dict(self.dims.get("fixed", {}))
        out[self.dims["row"]] = row_key
        out[self.dims["column"]] = self.dims.get("column_districts", {}).get(column_key, column_key)
        return out

    def long_frame(self) -> pd.DataFrame:
        """Cells with labels and provenance columns (for CSV): a tidy, machine-readable form."""
        rlab = dict(self.rows)
        clab = dict(self.columns)
        recs = []
        for r, c, s, v, t, h in self.records():
            prov = self.provenance(r, c)
            recs.append(
                {
                    "table_id": self.table_id,
                    "row_key": r,
                    "row_label": rlab.get(r, r),
                    "column_key": c,
                    "column_label": clab.get(c, c),
                    "stat": s,
                    "year": prov.get("year", ""),
                    "district": prov.get("district", ""),
                    "indicator": prov.get("indicator", ""),
                    "group": prov.get("group", ""),
                    "value": None if is_missing(v) else float(v),
                    "text": t,
                    "suppressed": bool(h),
                }
            )
        return pd.DataFrame.from_records(recs)

    # ----- rendering (see reports.gt and reports.pages) -----
    def to_gt(self) -> Any:
        """The great-tables object (Swedish headings, footnotes and source line)."""
        from reports.gt import to_gt

        return to_gt(self)

    def standalone_html(self, *, back_link: str | None = "index.html") -> str:
        """A complete offline HTML page (no external CSS, JS or fonts) with the table."""
        from reports.pages import table_page

        return table_page(self, back_link=back_link)


class CellBuilder:
    """Accumulates cells, applying the disclosure rule once per display cell and rounding every value to
    the precision it is shown with."""

    def __init__(self, alpha: float = 0.05) -> None:
        self.cols: tuple[list[Any], ...] = tuple([] for _ in CELL_COLUMNS)  # one list per CELL_COLUMNS column
        self.alpha = alpha

    def add(
        self,
        rk: str,
        ck: str,
        values: Mapping[str, Any],
        hidden: bool,
        kinds: Mapping[str, str] | None = None,
        hidden_stats: Sequence[str] = (),
    ) -> None:
        """One display cell; ``hidden`` hides all its statistics, ``hidden_stats`` some of them (a change
        from a hidden year); ``kinds`` overrides the statistic used for rounding and text (``lo`` of a
        difference is rounded like ``diff``)."""
        rks, cks, stats, vals, texts, supps = self.cols
        for stat, v in values.items():
            rks.append(rk)
            cks.append(ck)
            stats.append(stat)
            if hidden or stat in hidden_stats:
                vals.append(None)
                texts.append(SUPPRESSED)
                supps.append(True)
                continue
            as_stat = (kinds or {}).get(stat, stat)
            val = shown(as_stat, v, alpha=self.alpha)
            flag = STAT_KIND[as_stat] in ("flag", "direction")
            vals.append(val)
            texts.append(cell_text(as_stat, val, alpha=self.alpha) if (val is not None or flag) else NOT_AVAILABLE)
            supps.append(False)

    def frame(self) -> pd.DataFrame:
        """The cells in CELL_COLUMNS order; ``value`` holds floats and None (object dtype)."""
        data: dict[str, Any] = dict(zip(CELL_COLUMNS, self.cols))
        data["value"] = pd.Series(data["value"], dtype=object)
        data["suppressed"] = np.array(data["suppressed"], dtype=bool)
        return pd.DataFrame(data, columns=CELL_COLUMNS)
