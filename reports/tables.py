"""The report's tables, built from the estimates, comparisons and trend as :class:`TableData`.

Disclosure rule applied by every builder (see :mod:`reports.disclosure`): a cell whose estimate is hidden
(primary or secondary suppression) gets ``value=None`` and ``text=".."`` in every statistic, and every
change, difference or marker involving a hidden cell is hidden as well. Markers follow the one rule of
:mod:`reports.signals`: ``*`` / ▲ / ▼ exactly when the printed (adjusted) p-value is below ``alpha``.

The names below that lived here before the split (formatting, labels, TableData) are re-exported.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from reports.disclosure import as_bool, domains_of, ensure_protected, hidden_mask
from reports.formats import (
    EN_DASH,
    MINUS,
    NBSP,
    NOT_AVAILABLE,
    SIG_MARK,
    STAT_KIND,
    STAT_LABELS,
    SUPPRESSED,
    TOTAL,
    cell_text,
    swedish_number,
    swedish_p,
    swedish_percent,
    swedish_pp,
)
from reports.labels import (
    GROUP_LABELS,
    district_order,
    indicator_group,
    indicator_label,
    indicator_of,
    indicator_order,
    method_note,
    question_notes,
    question_text,
    short_label,
    slugify,
    source_line,
)
from reports.signals import SignalRule, adjust_family
from reports.tabledata import CELL_COLUMNS, CellBuilder, TableData
from survey.data.codebook import Codebook

__all__ = [
    "TableData",
    "CellBuilder",
    "CELL_COLUMNS",
    "district_table",
    "group_table",
    "domain_table",
    "comparison_table",
    "trend_table",
    "district_estimates",
    "hidden_mask",
    "standard_footnotes",
    "NBSP",
    "MINUS",
    "EN_DASH",
    "SUPPRESSED",
    "NOT_AVAILABLE",
    "TOTAL",
    "SIG_MARK",
    "STAT_KIND",
    "STAT_LABELS",
    "GROUP_LABELS",
    "cell_text",
    "swedish_number",
    "swedish_percent",
    "swedish_pp",
    "swedish_p",
    "district_order",
    "indicator_group",
    "indicator_label",
    "indicator_of",
    "question_text",
    "short_label",
    "slugify",
    "source_line",
    "method_note",
    "as_bool",
]

SHARE_STATS = ["est", "lo", "hi", "n"]
SIGNAL_STATS = ["chg", "chg_p", "chg_sig", "tot_p", "tot_sig"]
GROUP_TITLES = {
    "problem": (
        "problems",
        "Problem i bostadsområdet: andel som anser att det är ett mycket eller ganska stort problem",
        "Problem i bostadsområdet",
    ),
    "utsatthet": ("victimisation", "Utsatthet för brott de senaste 12 månaderna", "Utsatthet för brott"),
    "polis": ("trust", "Förtroende: polisen bryr sig om de lokala problemen", "Förtroende för polisen"),
}
DOMAIN_LABELS = {"sex": "Kön", "age_group": "Åldersgrupp"}


def district_estimates(estimates: pd.DataFrame) -> pd.DataFrame:
    """The district-level rows (domain ``district`` or no domain column)."""
    return estimates[(domains_of(estimates) == "district").to_numpy()]


def _est_index(est: pd.DataFrame, extra_keys: Sequence[str] = ()) -> dict[tuple, tuple]:
    """(year, district, indicator, *extra) -> (estimate, ci_low, ci_high, n, hidden) of a protected frame."""
    keys = ["year", "district", "indicator", *extra_keys]
    out = {}
    for rec in est[keys + ["estimate", "ci_low", "ci_high", "n", "hidden"]].itertuples(index=False, name=None):
        k = (int(rec[0]), str(rec[1]), str(rec[2]), *[str(x) for x in rec[3 : 3 + len(extra_keys)]])
        out[k] = (*rec[3 + len(extra_keys) : -1], bool(rec[-1]))
    return out


def _comparison_index(comparisons: pd.DataFrame | None, kind: str) -> dict[tuple, tuple[float, float]]:
    """(year, district, indicator) -> (difference, adjusted p) of the comparisons of ``kind``."""
    if comparisons is None or comparisons.empty:
        return {}
    c = comparisons[comparisons["comparison"] == kind]
    p = c["p_adjusted"] if "p_adjusted" in c.columns else c["p_value"]
    keys = zip(c["year"].astype(int).tolist(), c["district"].astype(str).tolist(), c["indicator"].astype(str).tolist())
    return dict(zip(keys, zip(c["difference"].astype(float).tolist(), p.astype(float).tolist())))


class Signals:
    """Change since the previous year and the comparison with Totalt for each published share cell."""

    def __init__(self, comparisons: pd.DataFrame | None, rule: SignalRule) -> None:
        self.rule = rule
        self.change = _comparison_index(comparisons, "previous_year")
        self.totalt = _comparison_index(comparisons, "vs_totalt")

    def cell(
        self, idx: Mapping[tuple, tuple], year: int, district: str, indicator: str, previous: int | None
    ) -> tuple[dict[str, Any], list[str]]:
        """The values of one share cell and the statistics hidden because they involve a hidden cell."""
        e = idx[(year, district, indicator)]
        values: dict[str, Any] = {"est": e[0], "lo": e[1], "hi": e[2], "n": e[3]}
        hidden: list[str] = []
        prev = idx.get((previous, district, indicator)) if previous is not None else None
        chg = self.change.get((year, district, indicator))
        if prev is not None and chg is not None:
            if prev[4]:
                hidden += ["chg", "chg_p", "chg_sig"]
            values.update(chg=chg[0], chg_p=chg[1], chg_sig=1.0 if self.rule.significant(chg[1]) else 0.0)
        tot = self.totalt.get((year, district, indicator))
        if district != TOTAL and tot is not None:
            if idx.get((year, TOTAL, indicator), (None,) * 4 + (True,))[4]:
                hidden += ["tot_p", "tot_sig"]
            values.update(tot_p=tot[1], tot_sig=float(np.sign(tot[0])) if self.rule.significant(tot[1]) else 0.0)
        return values, hidden


def standard_footnotes(min_n: int, rule: SignalRule | None = None, *, signals: bool = True) -> list[str]:
    """The footnotes of a share table: what a cell shows, the base, the markers and ``..``."""
    rule = rule or SignalRule()
    notes = [
        f"Andel i procent. Under varje andel: {rule.level_percent} % konfidensintervall inom parentes och ovägt antal "
        "svarande (n).",
        "Bas: alla som besvarat frågan, inklusive ”vet ej”/”ingen uppfattning”; obesvarade frågor ingår inte.",
    ]
    if signals:
        notes += [
            rule.change_note() + f" (just. p = {rule.p_label}.)",
            rule.totalt_note() + f" Raden ”jfr{NBSP}Totalt{NBSP}p” anger det justerade p-värdet.",
        ]
    notes.append(
        f"{SUPPRESSED} Uppgiften redovisas inte: för få svarande (färre än {min_n}), för osäker, eller "
        "dold för att en annan dold uppgift inte ska kunna räknas fram; då redovisas inte heller "
        "förändringar och skillnader som bygger på den."
    )
    return notes


def _previous_years(years: Sequence[int]) -> dict[int, int]:
    ys = sorted(years)
    return {y: ys[k - 1] for k, y in enumerate(ys) if k > 0}


def district_table(
    estimates: pd.DataFrame,
    comparisons: pd.DataFrame | None,
    codebook: Codebook | None,
    indicator: str,
    run_meta: Mapping[str, Any],
    *,
    min_n: int = 30,
    rule: SignalRule | None = None,
    signals: Signals | None = None,
) -> TableData:
    """Rows = districts and ``Totalt``, columns = years; share, CI, n, change since the previous year (pp,
    adjusted p, ``*``) and the comparison with Totalt (adjusted p, ▲/▼) per cell. ``signals`` (built once
    from ``comparisons``) saves rebuilding its lookups for every table."""
    rule = rule or SignalRule.from_run(run_meta, comparisons)
    est = district_estimates(ensure_protected(estimates, min_n))
    est = est[est["indicator"] == indicator]
    years = sorted(int(y) for y in est["year"].unique())
    prev = _previous_years(years)
    idx = _est_index(est)
    sig = signals or Signals(comparisons, rule)
    cb = CellBuilder(rule.alpha)
    for d in district_order(est["district"].unique()):
        for y in years:
            if (y, d, indicator) in idx:
                values, hidden_stats = sig.cell(idx, y, d, indicator, prev.get(y))
                cb.add(d, str(y), values, idx[(y, d, indicator)][4], hidden_stats=hidden_stats)
    label = indicator_label(codebook, indicator)
    notes = [n for n in [question_text(codebook, indicator)] if n]
    notes += standard_footnotes(min_n, rule) + [method_note(run_meta)]
    span = f"{years[0]}–{years[-1]}" if len(years) > 1 else (f"{years[0]}" if years else "")
    return TableData(
        table_id=f"district_{indicator}",
        year=max(years) if years else 0,
        title=f"{label}, per område och år",
        subtitle=f"Andel i procent, {span}" if span else "",
        kind="district",
        rows=[(d, d) for d in district_order(est["district"].unique())],
        columns=[(str(y), str(y)) for y in years],
        stats=SHARE_STATS + SIGNAL_STATS,
        dims={"row": "district", "column": "year", "fixed": {"indicator": indicator}},
        cells=cb.frame(),
        stub_label="Område",
        column_spanners={str(y): "År" for y in years},
        footnotes=notes,
        source_note=source_line(run_meta, codebook),
        sheet_name=short_label(label),
    )


def group_table(
    estimates: pd.DataFrame,
    comparisons: pd.DataFrame | None,
    codebook: Codebook | None,
    group: str,
    year: int,
    run_meta: Mapping[str, Any],
    *,
    min_n: int = 30,
    table_id: str | None = None,
    title: str | None = None,
    rule: SignalRule | None = None,
    signals: Signals | None = None,
) -> TableData | None:
    """Rows = districts and ``Totalt``, columns = the indicators of ``group``, for one year (with the change
    since the previous year and the comparison with Totalt). ``None`` when the group has no estimates."""
    rule = rule or SignalRule.from_run(run_meta, comparisons)
    allest = district_estimates(ensure_protected(estimates, min_n))
    est = allest[allest["year"].astype(int) == int(year)]
    inds = indicator_order(codebook, [i for i in est["indicator"].astype(str) if indicator_group(codebook, i) == group])
    if not inds:
        return None
    est = est[est["indicator"].isin(inds)]
    districts = district_order(est["district"].unique())
    idx = _est_index(allest)
    earlier = sorted(int(y) for y in allest["year"].unique() if int(y) < int(year))
    sig = signals or Signals(comparisons, rule)
    cb = CellBuilder(rule.alpha)
    for d in districts:
        for i in inds:
            if (int(year), d, i) in idx:
                values, hidden_stats = sig.cell(idx, int(year), d, i, earlier[-1] if earlier else None)
                cb.add(d, i, values, idx[(int(year), d, i)][4], hidden_stats=hidden_stats)
    default_id, default_title, sheet = GROUP_TITLES.get(
        group, (f"group_{group}", group.capitalize(), group.capitalize())
    )
    notes = []
    if codebook is not None:
        notes += question_notes(
            sorted(
                {
                    codebook.item(ind.item).text_sv
                    for ind in codebook.indicators
                    if ind.name in inds and ind.item in codebook.item_names
                }
            )
        )
    notes += standard_footnotes(min_n, rule) + [method_note(run_meta)]
    return TableData(
        table_id=table_id or default_id,
        year=int(year),
        title=title or default_title,
        subtitle=f"Andel i procent, {year}",
        kind="group",
        rows=[(d, d) for d in districts],
        columns=[(i, short_label(indicator_label(codebook, i))) for i in inds],
        stats=SHARE_STATS + SIGNAL_STATS,
        dims={"row": "district", "column": "indicator", "fixed": {"year": int(year)}},
        cells=cb.frame(),
        stub_label="Område",
        footnotes=notes,
        source_note=source_line(run_meta, codebook),
        sheet_name=sheet,
    )


def domain_table(
    estimates: pd.DataFrame, codebook: Codebook | None, year: int, run_meta: Mapping[str, Any], *, min_n: int = 30
) -> TableData | None:
    """``Totalt`` by sex and age group: rows = indicators, columns = groups (spanners Kön, Åldersgrupp).

    Needs the optional ``domain``/``group`` columns; returns ``None`` when the estimates have no such domains.
    """
    if "domain" not in estimates.columns or "group" not in estimates.columns:
        return None
    prot = ensure_protected(estimates, min_n)
    est = prot[
        (prot["domain"].isin(list(DOMAIN_LABELS)))
        & (prot["district"] == TOTAL)
        & (prot["year"].astype(int) == int(year))
    ]
    if est.empty:
        return None
    idx = _est_index(est, extra_keys=["group"])
    inds = indicator_order(codebook, est["indicator"].astype(str))
    columns: list[tuple[str, str]] = []
    spanners: dict[str, str] = {}
    for dom, lab in DOMAIN_LABELS.items():
        for g in sorted(est.loc[est["domain"] == dom, "group"].astype(str).unique()):
            columns.append((g, g))
            spanners[g] = lab
    cb = CellBuilder(SignalRule.from_run(run_meta).alpha)
    for i in inds:
        for g, _ in columns:
            e = idx.get((int(year), TOTAL, i, g))
            if e is not None:
                cb.add(i, g, {"est": e[0], "lo": e[1], "hi": e[2], "n": e[3]}, e[4])
    notes = standard_footnotes(min_n, SignalRule.from_run(run_meta), signals=False) + [method_note(run_meta)]
    return TableData(
        table_id="groups",
        year=int(year),
        title=f"Samtliga områden efter kön och åldersgrupp, {year}",
        subtitle="Andel i procent",
        kind="domain",
        rows=[(i, indicator_label(codebook, i)) for i in inds],
        columns=columns,
        stats=list(SHARE_STATS),
        dims={"row": "indicator", "column": "group", "fixed": {"year": int(year), "district": TOTAL}},
        cells=cb.frame(),
        stub_label="Indikator",
        column_spanners=spanners,
        footnotes=notes,
        source_note=source_line(run_meta, codebook),
        sheet_name="Kön och åldersgrupp",
    )


def comparison_table(
    compared: pd.DataFrame,
    codebook: Codebook | None,
    a: str,
    b: str,
    year: int,
    run_meta: Mapping[str, Any],
    *,
    min_n: int = 30,
    table_id: str | None = None,
    rule: SignalRule | None = None,
) -> TableData:
    """Two districts (or a district and Totalt) over all indicators for one year: both shares, the difference
    (procentenheter) with CI and adjusted p, ``*`` when that p is below alpha.

    ``compared`` is the frame of :func:`reports.compare.compare_districts` (already disclosure-checked).
    """
    rule = rule or SignalRule.from_run(run_meta)
    df = compared[compared["year"].astype(int) == int(year)]
    cb = CellBuilder(rule.alpha)
    rows, groups = [], {}
    for r in df.to_dict("records"):  # Python values (float64 and bool columns), as itertuples gives them
        ind = str(r["indicator"])
        rows.append((ind, indicator_label(codebook, ind)))
        groups[ind] = GROUP_LABELS.get(indicator_group(codebook, ind), indicator_group(codebook, ind))
        cb.add(
            ind, "a", {"est": r["estimate_a"], "lo": r["ci_low_a"], "hi": r["ci_high_a"], "n": r["n_a"]}, r["hidden_a"]
        )
        cb.add(
            ind, "b", {"est": r["estimate_b"], "lo": r["ci_low_b"], "hi": r["ci_high_b"], "n": r["n_b"]}, r["hidden_b"]
        )
        p = r["p_adjusted"] if not pd.isna(r["p_adjusted"]) else r["p_value"]
        cb.add(
            ind,
            "diff",
            {
                "diff": r["difference"],
                "lo": r["ci_low"],
                "hi": r["ci_high"],
                "p": p,
                "sig": 1.0 if rule.significant(p) else 0.0,
            },
            r["hidden_a"] or r["hidden_b"],
            kinds={"lo": "diff", "hi": "diff"},
        )
    notes = [
        f"Andel i procent med {rule.level_percent} % konfidensintervall och ovägt antal svarande (n). Skillnad = {a} "
        f"minus {b}, i procentenheter, med ojusterat {rule.level_percent} % konfidensintervall och {rule.p_label} "
        "(”just. p”).",
        rule.compare_note(),
        f"{SUPPRESSED} Uppgiften redovisas inte: för få svarande (färre än {min_n}), för osäker eller dold "
        "för att skydda en annan dold uppgift; då redovisas inte heller skillnaden.",
        method_note(run_meta),
    ]
    return TableData(
        table_id=table_id or f"cmp_{slugify(a)}_{slugify(b)}_{year}",
        year=int(year),
        title=f"{a} jämfört med {b}, {year}",
        subtitle="Andel i procent och skillnad i procentenheter",
        kind="compare",
        rows=rows,
        columns=[("a", a), ("b", b), ("diff", "Skillnad (procentenheter)")],
        stats=["est", "diff", "lo", "hi", "n", "p", "sig"],
        dims={
            "row": "indicator",
            "column": "district",
            "fixed": {"year": int(year)},
            "column_districts": {"a": a, "b": b, "diff": f"{a} {EN_DASH} {b}"},
        },
        cells=cb.frame(),
        stub_label="Indikator",
        row_groups=groups,
        footnotes=notes,
        source_note=source_line(run_meta, codebook),
        sheet_name=f"{a} mot {b} {year}",
    )


def trend_table(
    trend: pd.DataFrame,
    codebook: Codebook | None,
    year: int,
    run_meta: Mapping[str, Any],
    *,
    rule: SignalRule | None = None,
) -> TableData | None:
    """Yearly trend per indicator from the survey-weighted logistic model: odds ratio per year with CI and
    the Wald p-value adjusted over the table's indicators (``*`` when below alpha)."""
    if trend is None or trend.empty:
        return None
    t = trend[trend["term"] == "year"]
    if t.empty:
        return None
    rule = rule or SignalRule.from_run(run_meta)
    inds = indicator_order(codebook, t["indicator"].astype(str))
    first = t.drop_duplicates("indicator").set_index(t.drop_duplicates("indicator")["indicator"].astype(str))
    b = first.loc[inds, "estimate"].to_numpy(float)
    se = first.loc[inds, "se"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, b / se, np.nan)
    p = adjust_family(
        np.array([math.erfc(abs(v) / math.sqrt(2)) if not np.isnan(v) else np.nan for v in z]), rule.adjust
    )
    q = 1.959964
    cb = CellBuilder(rule.alpha)
    for k, ind in enumerate(inds):
        cb.add(
            ind,
            "or",
            {
                "or": math.exp(b[k]),
                "lo": math.exp(b[k] - q * se[k]),
                "hi": math.exp(b[k] + q * se[k]),
                "p": p[k],
                "sig": 1.0 if rule.significant(p[k]) else 0.0,
            },
            False,
            kinds={"lo": "or", "hi": "or"},
        )
    return TableData(
        table_id="trend",
        year=int(year),
        title="Trend: förändring per år",
        subtitle="Oddskvot per år från vägd logistisk regression (indikator ~ år + område)",
        kind="trend",
        rows=[(i, indicator_label(codebook, i)) for i in inds],
        columns=[("or", "Oddskvot per år")],
        stats=["or", "lo", "hi", "p", "sig"],
        dims={"row": "indicator", "column": "measure", "fixed": {}},
        cells=cb.frame(),
        stub_label="Indikator",
        footnotes=[
            "Oddskvot över 1 = andelen ökar över tid, under 1 = minskar. "
            f"{rule.level_percent} % konfidensintervall och Waldtest från designbaserade standardfel "
            f"(normalapproximation); {rule.p_label}.",
            rule.trend_note(),
            method_note(run_meta),
        ],
        source_note=source_line(run_meta, codebook),
        sheet_name="Trend",
    )
