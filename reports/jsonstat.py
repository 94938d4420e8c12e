"""JSON-stat 2.0 datasets of the published tables (the JSON format of SCB's PxWeb API and of many
open-data portals; json-stat.org, "JSON-stat 2.0 Format").

Written from the table's cube (:mod:`reports.cube`): one ``dataset`` with ``id``/``size`` (row, column,
statistic), each ``dimension`` with ``category.index`` (the machine keys in display order) and
``category.label``; the statistic dimension has the ``metric`` role with a ``unit`` (label, decimals) per
statistic, a year column the ``time`` role. ``value`` is the row-major array (the last dimension fastest)
with ``null`` for a missing value, and ``status`` (an object: value position → symbol) says why: ``..``
suppressed by the disclosure rule, ``.`` the statistic does not exist for that cell. ``label``, ``source``,
``updated`` (ISO 8601 date) and ``note`` (the table's footnotes) carry the metadata; ``extension`` the
table id and language.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reports.cube import Cube, to_cube, write_each
from reports.results import PublishedFile
from reports.tabledata import TableData

SUFFIX = ".jsonstat.json"


def _dimension(cube: Cube, k: int) -> dict[str, Any]:
    d = cube.dims[k]
    category: dict[str, Any] = {"index": d.codes, "label": dict(zip(d.codes, d.labels))}
    if d.id == "stat":
        category["unit"] = {c: {"label": cube.units[c], "decimals": cube.decimals[c]} for c in d.codes}
    return {"label": d.label, "category": category}


def jsonstat_doc(t: TableData, *, lang: str | None = None, updated: str | None = None) -> dict[str, Any]:
    """The JSON-stat 2.0 dataset of one table (see the module docstring)."""
    cube = to_cube(t, lang=lang)
    role: dict[str, list[str]] = {"metric": ["stat"]}
    if cube.time_dim:
        role["time"] = [cube.time_dim]
    doc: dict[str, Any] = {
        "version": "2.0",
        "class": "dataset",
        "label": cube.title,
        "source": cube.source,
        "updated": str(updated)[:10] if updated else datetime.now(UTC).date().isoformat(),
        "id": [d.id for d in cube.dims],
        "size": cube.size,
        "role": role,
        "dimension": {d.id: _dimension(cube, k) for k, d in enumerate(cube.dims)},
        "value": cube.values,
        "status": {str(k): s for k, s in enumerate(cube.status) if s is not None},
        "extension": {"table_id": cube.table_id, "lang": cube.lang},
    }
    if cube.notes:
        doc["note"] = cube.notes
    return doc


def jsonstat_file(t: TableData, path: Path, *, lang: str | None = None, updated: str | None = None) -> Path:
    """Write one table's JSON-stat dataset to ``path`` (UTF-8)."""
    text = json.dumps(jsonstat_doc(t, lang=lang, updated=updated), ensure_ascii=False, indent=1, allow_nan=False)
    Path(path).write_text(text + "\n", encoding="utf-8")
    return Path(path)


def write_jsonstat(
    tables: Sequence[TableData], out_dir: Path, *, lang: str | None = None, updated: str | None = None
) -> list[PublishedFile]:
    """``out_dir/tables/<table_id>.jsonstat.json`` for every table."""
    return write_each(tables, out_dir, "jsonstat", SUFFIX, jsonstat_file, lang=lang, updated=updated)
