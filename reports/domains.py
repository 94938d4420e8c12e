"""Sex and age group per district: one table per indicator (rows = districts and ``Totalt``, columns = the
groups of each domain) for the latest year, from the estimation's district × group domains.

Disclosure: the cells come from :func:`reports.disclosure.protect`, whose relations cover both margins of
the two-way table district × group (the groups of a district with the district's share, and the districts'
cells of one group with that group's ``Totalt``), so a hidden cell can be derived neither within a district
nor within a group. Hidden cells show ``..`` in every statistic.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from reports.disclosure import ensure_protected
from reports.formats import TOTAL
from reports.labels import district_order, indicator_label, indicator_order, method_note, short_label, source_line
from reports.signals import SignalRule
from reports.tabledata import CellBuilder, TableData
from reports.tables import DOMAIN_LABELS, standard_footnotes
from survey.data.codebook import Codebook

KIND = "district_domain"


def domain_rows(estimates: pd.DataFrame) -> pd.DataFrame:
    """The rows of the sex and age-group domains (every district and ``Totalt``)."""
    if "domain" not in estimates.columns or "group" not in estimates.columns:
        return estimates.iloc[0:0]
    return estimates[estimates["domain"].isin(list(DOMAIN_LABELS))]


def _year_rows(estimates: pd.DataFrame, year: int) -> pd.DataFrame:
    return estimates[estimates["year"].astype(int) == int(year)]


def share_cells(est: pd.DataFrame, alpha: float, row: str = "district", column: str = "group") -> CellBuilder:
    """One share cell (share, CI, n; ``..`` when hidden) per row of a protected frame, keyed by the values
    of its ``row`` and ``column`` columns."""
    cb = CellBuilder(alpha)
    cols = [row, column, "estimate", "ci_low", "ci_high", "n", "hidden"]
    for rk, ck, e, lo, hi, n, h in est[cols].itertuples(index=False, name=None):
        cb.add(str(rk), str(ck), {"est": e, "lo": lo, "hi": hi, "n": n}, bool(h))
    return cb


def _columns(est: pd.DataFrame) -> tuple[list[tuple[str, str]], dict[str, str]]:
    columns: list[tuple[str, str]] = []
    spanners: dict[str, str] = {}
    for dom, lab in DOMAIN_LABELS.items():
        for g in sorted(est.loc[est["domain"] == dom, "group"].astype(str).unique()):
            columns.append((g, g))
            spanners[g] = lab
    return columns, spanners


def district_domain_table(
    estimates: pd.DataFrame,
    codebook: Codebook | None,
    indicator: str,
    year: int,
    run_meta: Mapping[str, Any],
    *,
    min_n: int = 30,
) -> TableData | None:
    """``indicator`` by sex and age group in every district and ``Totalt`` for ``year``; ``None`` when the
    estimates have no district × group domains for it."""
    est = _year_rows(domain_rows(ensure_protected(estimates, min_n)), year)
    est = est[est["indicator"] == indicator]
    if est.empty or set(est["district"].astype(str)) == {TOTAL}:
        return None
    columns, spanners = _columns(est)
    districts = district_order(est["district"].astype(str).unique())
    cb = share_cells(est, SignalRule.from_run(run_meta).alpha)
    label = indicator_label(codebook, indicator)
    notes = standard_footnotes(min_n, SignalRule.from_run(run_meta), signals=False) + [
        "Dolda uppgifter (..) skyddas i båda riktningarna: varken områdets andel eller gruppens andel i "
        "Totalt gör det möjligt att räkna fram en dold cell.",
        method_note(run_meta),
    ]
    return TableData(
        table_id=f"groups_{indicator}",
        year=int(year),
        title=f"{label}, efter kön och åldersgrupp per område, {year}",
        subtitle="Andel i procent",
        kind=KIND,
        rows=[(d, d) for d in districts],
        columns=columns,
        stats=["est", "lo", "hi", "n"],
        dims={"row": "district", "column": "group", "fixed": {"year": int(year), "indicator": indicator}},
        cells=cb.frame(),
        stub_label="Område",
        column_spanners=spanners,
        footnotes=notes,
        source_note=source_line(run_meta, codebook),
        sheet_name=f"Kön, ålder – {short_label(label)}",
    )


def district_domain_tables(
    estimates: pd.DataFrame, codebook: Codebook | None, year: int, run_meta: Mapping[str, Any], *, min_n: int = 30
) -> list[TableData]:
    """:func:`district_domain_table` for every indicator with district × group domains (codebook order)."""
    est = _year_rows(domain_rows(ensure_protected(estimates, min_n)), year)
    by_indicator = {str(k): g for k, g in est.groupby(est["indicator"].astype(str), sort=False)}  # split once
    out = []
    for ind in indicator_order(codebook, list(by_indicator)):
        t = district_domain_table(by_indicator[ind], codebook, ind, year, run_meta, min_n=min_n)
        if t is not None:
            out.append(t)
    return out
