"""A published table as a data cube, the common ground of the open-data formats of SCB's PxWeb
(:mod:`reports.pxweb`, PC-Axis ``.px``; :mod:`reports.jsonstat`, JSON-stat 2.0).

A :class:`TableData` has display rows × display columns × statistics; the cube has the same three
dimensions (row, column, statistic, the statistic fastest) and one value per combination, in row-major
order. Values are written in the unit a reader of the table sees: shares and differences in procent and
procentenheter (``0.274`` → ``27.4``), counts as integers, odds ratios and p-values as published; markers as
numbers (1 = significant, ▲ = 1, ▼ = −1, 0 = none). Each value has a status:

- ``..`` (:data:`reports.formats.SUPPRESSED`): hidden by the disclosure rule, value missing;
- ``.`` (:data:`reports.formats.NOT_AVAILABLE`): the statistic does not exist for that cell (no change in the
  first year, no comparison), value missing;
- ``None``: a published number.

The values are the table's own cells (already rounded to display precision by
:class:`reports.tabledata.CellBuilder`), so a cube never carries more than the table shows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reports.formats import NOT_AVAILABLE, SUPPRESSED
from reports.labels import cube_texts
from reports.results import PublishedFile
from reports.tabledata import TableData

# Decimals a value kind is published with in the cube (p-values: as many as the published value needs).
KIND_DECIMALS = {"share": 1, "pp": 1, "count": 0, "ratio": 3, "flag": 0, "direction": 0}


@dataclass(frozen=True)
class Dimension:
    """One dimension: machine id, label, and its categories as codes with labels (display order)."""

    id: str
    label: str
    codes: list[str]
    labels: list[str]


@dataclass(frozen=True)
class Cube:
    """The cube of one table (see the module docstring); ``values``/``status`` are row-major over ``dims``."""

    table_id: str
    title: str
    contents: str
    source: str
    notes: list[str]
    dims: list[Dimension]
    values: list[float | None]
    status: list[str | None]
    units: dict[str, str]  # statistic code -> unit label
    decimals: dict[str, int]  # statistic code -> decimals shown
    lang: str

    @property
    def size(self) -> list[int]:
        return [len(d.codes) for d in self.dims]

    @property
    def stat_dim(self) -> Dimension:
        return self.dims[-1]

    @property
    def time_dim(self) -> str | None:
        return next((d.id for d in self.dims if d.id == "year"), None)


def unique_labels(codes: Sequence[str], labels: Sequence[str]) -> list[str]:
    """Labels made unique within a dimension (both formats require it): a repeated one gets ``(code)``."""
    seen: dict[str, int] = {}
    for lab in labels:
        seen[lab] = seen.get(lab, 0) + 1
    return [f"{lab} ({c})" if seen[lab] > 1 else lab for c, lab in zip(codes, labels)]


def cube_value(kind: str, value: float) -> float:
    """The number in the cube: shares and differences ×100 (procent, procentenheter), the rest as is."""
    v = value * 100.0 if kind in ("share", "pp") else value
    d = KIND_DECIMALS.get(kind)
    return round(v, d) if d is not None else v


def value_decimals(v: float) -> int:
    """Decimals of a number written without exponent (``0.00023`` → 5)."""
    s = str(np.format_float_positional(v, trim="-"))
    return len(s.split(".")[1]) if "." in s else 0


def to_cube(t: TableData, *, lang: str | None = None) -> Cube:
    """The cube of a table (see the module docstring), labelled in ``lang`` (default: the table's language,
    ``dims["lang"]``, Swedish unless :func:`reports.translate.translate_table` made it English); built once
    per table and language (PC-Axis and JSON-stat share it)."""
    lang = lang or str(t.dims.get("lang", "sv"))
    return t.memo(f"cube:{lang}", lambda: _cube(t, lang))


def _cube(t: TableData, lang: str) -> Cube:
    tx = cube_texts(lang)
    idx = t.index()
    column_stats = t.column_stats()
    row_codes = [str(k) for k, _ in t.rows]
    col_codes = [str(k) for k, _ in t.columns]
    col_labels = [
        f"{t.column_spanners[k]}: {lab}" if t.column_spanners.get(k) not in (None, "", "År", "Year") else lab
        for k, lab in t.columns
    ]
    stats = list(t.stats)
    values: list[float | None] = []
    status: list[str | None] = []
    decimals = {s: 0 for s in stats}
    kinds: dict[str, str] = {}
    for r in row_codes:
        for c in col_codes:
            for s in stats:
                entry = idx.get((r, c, s))
                kind = t.stat_kind(c, s, column_stats)
                kinds.setdefault(s, kind)
                if entry is None or (entry[0] is None and not entry[2]):
                    values.append(None)
                    status.append(NOT_AVAILABLE)
                elif entry[2]:
                    values.append(None)
                    status.append(SUPPRESSED)
                else:
                    v = cube_value(kind, float(entry[0]))
                    values.append(v)
                    status.append(None)
                    d = KIND_DECIMALS.get(kind)
                    decimals[s] = max(decimals[s], d if d is not None else value_decimals(v))
    row_id, col_id = str(t.dims["row"]), str(t.dims["column"])
    if col_id == row_id:  # never in trygghet's tables; both formats need distinct ids
        col_id += "_column"
    dims = [
        Dimension(
            row_id,
            t.stub_label or tx.dim_label(row_id),
            row_codes,
            unique_labels(row_codes, [lab for _, lab in t.rows]),
        ),
        Dimension(col_id, tx.dim_label(col_id), col_codes, unique_labels(col_codes, col_labels)),
        Dimension("stat", tx.stat_dim, stats, [tx.stat_label(s) for s in stats]),
    ]
    return Cube(
        table_id=t.table_id,
        title=t.title + (f" ({t.subtitle})" if t.subtitle else ""),
        contents=t.title,
        source=t.source_note,
        notes=[n for n in t.footnotes if n],
        dims=dims,
        values=values,
        status=status,
        units={s: tx.unit(kinds.get(s, "share")) for s in stats},
        decimals=decimals,
        lang=lang,
    )


def write_each(
    tables: Sequence[TableData],
    out_dir: Path,
    fmt: str,
    ending: str,
    write: Callable[..., Path],
    **options: str | None,
) -> list[PublishedFile]:
    """``out_dir/tables/<table_id><ending>`` written by ``write(table, path, **options)`` for every table."""
    d = Path(out_dir) / "tables"
    d.mkdir(parents=True, exist_ok=True)
    return [PublishedFile("table", t.table_id, fmt, write(t, d / f"{t.table_id}{ending}", **options)) for t in tables]
