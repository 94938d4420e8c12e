"""What a publication wrote: :class:`PublishedFile` per file and the :class:`PublishResult` of a report."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from reports.tabledata import TableData


@dataclass(frozen=True)
class PublishedFile:
    """One written file: ``kind`` is table/chart/workbook/index/compare, ``fmt`` its extension."""

    kind: str
    table_id: str
    fmt: str
    path: Path


@dataclass
class PublishResult:
    """What :func:`reports.publish.publish_report` wrote.

    ``suppression`` lists every hidden estimate with ``suppressed_reason`` (``primary``: too few respondents or
    flagged by the estimation; ``secondary``: hidden so that a primary cell cannot be derived from the
    published cells and totals). It is not published; the runner may keep it beside the analysis files.
    """

    out_dir: Path
    index: Path | None
    files: list[PublishedFile] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    versions: dict[str, int] = field(default_factory=dict)  # table_id -> store version
    notes: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    suppression: pd.DataFrame | None = None
    #: the tables as built, for :func:`reports.publish.publish_to_store` after the report when it was written
    #: with ``store=None`` (``trygghet run`` stores the run's outputs in a thread meanwhile)
    built: list[TableData] = field(default_factory=list, repr=False)

    def paths(self, fmt: str | None = None, kind: str | None = None) -> list[Path]:
        """Written paths, optionally only of one format and/or kind."""
        return [f.path for f in self.files if (fmt is None or f.fmt == fmt) and (kind is None or f.kind == kind)]
