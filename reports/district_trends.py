"""Per-district trends in procentenheter per year (issue 12): one table, rows = districts, columns = indicators,
each cell the district's average yearly change with its confidence interval and adjusted p-value, from the
district × year interaction model of ``trygghet run --district-trends`` (``survey.models.district_trends``:
``pp_per_year`` = 100 · β_d · mean p(1 − p) over the district's cells, the average marginal effect of one
year, with its delta-method SE ``pp_se``, interval ``pp_ci_low``/``pp_ci_high`` from the t distribution with
``df`` degrees of freedom).

The rule of :mod:`reports.signals`: the p-value is that of ``t = pp_per_year / pp_se`` (two-sided, ``df``),
adjusted over the districts of one indicator (one family per indicator), and ``*`` marks an adjusted p below
``alpha``; the printed p is the adjusted one, the interval is unadjusted.

Disclosure: a district's trend for an indicator is hidden (``..``) when the district's share of that indicator
is hidden in any year of the run (with the other years and the trend a hidden year could be approximated).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import t as t_dist

from reports.disclosure import ensure_protected
from reports.formats import TOTAL
from reports.labels import (
    GROUP_LABELS,
    district_order,
    indicator_group,
    indicator_label,
    indicator_order,
    method_note,
    short_label,
    source_line,
)
from reports.page_texts import english_criterion
from reports.signals import SignalRule, adjust_family
from reports.tabledata import CellBuilder, TableData
from reports.tables import district_estimates
from survey.data.codebook import Codebook

KIND = "district_trend"
TABLE_ID = "district_trends"
NEEDED = ("indicator", "district", "pp_per_year", "pp_se", "pp_ci_low", "pp_ci_high", "df")


def trend_p_values(trends: pd.DataFrame, adjust: str) -> pd.Series:
    """Adjusted two-sided p-values of ``pp_per_year / pp_se`` (t with ``df``), one family per indicator."""
    with np.errstate(divide="ignore", invalid="ignore"):
        z = trends["pp_per_year"].to_numpy(float) / trends["pp_se"].to_numpy(float)
        raw = 2 * t_dist.sf(np.abs(z), trends["df"].to_numpy(float))
    raw = np.where(np.isfinite(raw), raw, np.nan)
    adjusted = np.full(len(trends), np.nan)
    for _, idx in trends.groupby("indicator", sort=False).groups.items():
        pos = trends.index.get_indexer(idx)
        ok = pos[~np.isnan(raw[pos])]
        if len(ok):
            adjusted[ok] = adjust_family(raw[ok], adjust)
    return pd.Series(adjusted, index=trends.index)


def texts(run_meta: Mapping[str, Any], rule: SignalRule, min_n: int) -> dict[str, Any]:
    """The table's words: Swedish, or English with ``run_meta["lang"] == "en"`` (the cells' own lines are
    translated when the page is rendered, :func:`reports.translate.english_parts`)."""
    level = rule.level_percent
    if run_meta.get("lang") == "en":
        crit = english_criterion(rule)
        return {
            "title": "Trend by district: change in percentage points per year, {span}",
            "subtitle": f"pp per year with {level}% confidence interval",
            "stub": "District",
            "sheet": "Trend by district",
            "notes": [
                f"Change in percentage points per year (pp per year), with {level}% confidence interval "
                "(unadjusted) and adjusted p; positive = the share increases. Estimated with a weighted logistic "
                "regression with district × year (interaction model): the district's average change of the share "
                "per year (average marginal effect).",
                f"* Statistically significant trend ({crit}, adjusted over the districts for each indicator).",
                f".. The trend is not published: the district's share is hidden in some year (too few "
                f"respondents, fewer than {min_n}, too uncertain or hidden to protect another figure).",
            ],
        }
    return {
        "title": "Trend per område: förändring i procentenheter per år, {span}",
        "subtitle": f"pe per år med {level} % konfidensintervall",
        "stub": "Område",
        "sheet": "Trend per område",
        "notes": [
            f"Förändring i procentenheter per år (pe per år), med {level} % konfidensintervall (ojusterat) och "
            f"{rule.p_label}; positivt = andelen ökar. Skattat med en vägd logistisk regression med område × år "
            "(interaktionsmodell): områdets genomsnittliga förändring av andelen per år (genomsnittlig "
            "marginaleffekt).",
            f"* Statistiskt säkerställd trend ({rule.criterion()}, justerat över områdena för varje indikator).",
            f".. Trenden redovisas inte: områdets andel är dold något år (för få svarande, färre än {min_n}, för "
            "osäker eller dold för att skydda en annan uppgift).",
        ],
    }


def _hidden(protected: pd.DataFrame) -> set[tuple[str, str]]:
    """(district, indicator) whose share is hidden in some year."""
    est = district_estimates(protected)
    rows = est[est["hidden"].astype(bool)] if "hidden" in est.columns else est.iloc[0:0]
    return set(zip(rows["district"].astype(str), rows["indicator"].astype(str)))


def district_trend_table(
    trends: pd.DataFrame | None,
    estimates: pd.DataFrame,
    codebook: Codebook | None,
    year: int,
    run_meta: Mapping[str, Any],
    *,
    min_n: int = 30,
    rule: SignalRule | None = None,
) -> TableData | None:
    """The per-district trends of ``trends`` (``TrendOutputs.districts``) as a table of ``year`` (the run's
    latest); ``None`` without per-district trends. ``estimates`` (raw or protected) decide what is hidden."""
    if trends is None or trends.empty or not set(NEEDED) <= set(trends.columns):
        return None
    tr = trends[trends["district"].astype(str) != TOTAL].reset_index(drop=True)
    if tr.empty:
        return None
    rule = rule or SignalRule.from_run(run_meta)
    prot = ensure_protected(estimates, min_n)
    hidden = _hidden(prot)
    p = trend_p_values(tr, rule.adjust)
    inds = indicator_order(codebook, tr["indicator"].astype(str))
    districts = district_order(tr["district"].astype(str).unique())
    idx = {(str(d), str(i)): k for k, (d, i) in enumerate(zip(tr["district"], tr["indicator"]))}
    cb = CellBuilder(rule.alpha)
    for d in districts:
        for i in inds:
            k = idx.get((d, i))
            if k is None:
                continue
            r = tr.iloc[k]
            values = {
                "diff": float(r["pp_per_year"]) / 100,
                "lo": float(r["pp_ci_low"]) / 100,
                "hi": float(r["pp_ci_high"]) / 100,
                "p": p.iloc[k],
                "sig": 1.0 if rule.significant(p.iloc[k]) else 0.0,
            }
            cb.add(d, i, values, (d, i) in hidden, kinds={"lo": "diff", "hi": "diff"})
    years = sorted(int(y) for y in district_estimates(prot)["year"].unique())
    span = f"{years[0]}–{years[-1]}" if len(years) > 1 else str(year)
    words = texts(run_meta, rule, min_n)
    return TableData(
        table_id=TABLE_ID,
        year=int(year),
        title=words["title"].format(span=span),
        subtitle=words["subtitle"],
        kind=KIND,
        rows=[(d, d) for d in districts],
        columns=[(i, short_label(indicator_label(codebook, i))) for i in inds],
        stats=["diff", "lo", "hi", "p", "sig"],
        dims={"row": "district", "column": "indicator", "fixed": {"year": int(year), "measure": "pp_per_year"}},
        cells=cb.frame(),
        stub_label=words["stub"],
        column_spanners={i: GROUP_LABELS.get(indicator_group(codebook, i), indicator_group(codebook, i)) for i in inds},
        footnotes=[*words["notes"], method_note(run_meta)],
        source_note=source_line(run_meta, codebook),
        sheet_name=words["sheet"],
    )
