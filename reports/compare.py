"""Two districts — or a district and ``Totalt`` — side by side: shares, the difference in procentenheter with
its CI and adjusted p-value from ``comparisons.csv``, publication-safe (hidden cells stay hidden).

Names are matched case-insensitively; an unknown name gives a Swedish error with "menade du …?"
suggestions (:mod:`difflib`).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import pandas as pd

from reports.disclosure import as_bool, ensure_protected
from reports.formats import TOTAL
from reports.labels import indicator_label, indicator_order
from reports.pages import compare_html
from reports.signals import SignalRule
from reports.tabledata import TableData
from reports.tables import comparison_table, district_estimates
from reports.translate import translate_table
from survey.data.codebook import Codebook
from survey.errors import PublishError

COMPARE_COLUMNS = [
    "year",
    "indicator",
    "label",
    "district_a",
    "estimate_a",
    "ci_low_a",
    "ci_high_a",
    "n_a",
    "hidden_a",
    "district_b",
    "estimate_b",
    "ci_low_b",
    "ci_high_b",
    "n_b",
    "hidden_b",
    "difference",
    "se",
    "ci_low",
    "ci_high",
    "p_value",
    "p_adjusted",
    "significant",
]
PAIR_COLUMNS = ["year", "indicator", "difference", "se", "ci_low", "ci_high", "p_value", "p_adjusted"]


def resolve_name(name: str, known: Iterable[str], what: Literal["område", "indikator"] = "område") -> str:
    """The known spelling of ``name`` (exact, else case-insensitive); otherwise a :class:`PublishError`
    with the closest names ("menade du …?") and the list of known names."""
    names = sorted({str(k) for k in known})
    if name in names:
        return name
    folded = {k.casefold(): k for k in names}
    if name.casefold() in folded:
        return folded[name.casefold()]
    close = difflib.get_close_matches(name.casefold(), list(folded), n=3, cutoff=0.6)
    hint = (" Menade du " + " eller ".join(f"”{folded[c]}”" for c in close) + "?") if close else ""
    if what == "indikator":
        raise PublishError(f"Okänd indikator ”{name}”.{hint} Kända: {', '.join(names)}.")
    raise PublishError(f"Okänt område ”{name}”.{hint} Kända: {', '.join(names)}.")


def _check(estimates: pd.DataFrame) -> None:
    need = {"year", "district", "indicator", "estimate", "ci_low", "ci_high", "n", "suppressed"}
    missing = sorted(need - set(estimates.columns))
    if missing:
        raise PublishError(f"Skattningarna saknar kolumnerna {', '.join(missing)}.")


def pair_comparisons(comparisons: pd.DataFrame | None, a: str, b: str) -> pd.DataFrame:
    """The comparisons of ``a`` against ``b``: ``vs_district`` rows (either direction) or, when one side is
    Totalt, the ``vs_totalt`` rows; rows of b against a are negated (difference and CI)."""
    empty = pd.DataFrame(columns=PAIR_COLUMNS).astype({"year": "int64", "indicator": "object"})
    if comparisons is None or comparisons.empty:
        return empty
    kind = "vs_totalt" if TOTAL in (a, b) else "vs_district"
    c = comparisons[comparisons["comparison"] == kind].copy()
    c["other"] = c["other"].astype(str)
    ab = c[(c["district"] == a) & (c["other"] == b)]
    ba = c[(c["district"] == b) & (c["other"] == a)].copy()
    if not ba.empty:
        ba["difference"] = -ba["difference"]
        ba["ci_low"], ba["ci_high"] = -ba["ci_high"], -ba["ci_low"]
    both = pd.concat(
        [ab, ba[~ba.set_index(["year", "indicator"]).index.isin(ab.set_index(["year", "indicator"]).index)]],
        ignore_index=True,
    )
    if "p_adjusted" not in both.columns:
        both["p_adjusted"] = both["p_value"]
    both = both[PAIR_COLUMNS].copy()
    both["year"] = both["year"].astype(int)
    both["indicator"] = both["indicator"].astype(str)
    return both


def _select(est: pd.DataFrame, indicators: Sequence[str] | None, years: Sequence[int] | None) -> pd.DataFrame:
    if indicators:
        known = set(est["indicator"].astype(str))
        wanted = [resolve_name(str(i), known, "indikator") for i in indicators]
        est = est[est["indicator"].isin(wanted)]
    if years:
        have = sorted({int(y) for y in est["year"]})
        bad = sorted({int(y) for y in years} - set(have))
        if bad:
            raise PublishError(
                f"År {', '.join(map(str, bad))} finns inte i skattningarna; det finns {', '.join(map(str, have))}."
            )
        est = est[est["year"].astype(int).isin([int(y) for y in years])]
    return est


def compare_districts(
    estimates: pd.DataFrame,
    comparisons: pd.DataFrame | None,
    a: str,
    b: str,
    indicators: Sequence[str] | None = None,
    years: Sequence[int] | None = None,
    *,
    min_n: int = 30,
    codebook: Codebook | None = None,
    rule: SignalRule | None = None,
) -> pd.DataFrame:
    """One row per year × indicator with both shares (CI, n), the difference ``a − b`` (a share difference;
    ×100 = procentenheter) with CI, p-values and ``significant`` (adjusted p below alpha).

    Publication-safe: when either share is hidden (primary or secondary suppression) its numbers and the
    difference are NaN and ``hidden_*`` is True. A pair without comparison rows gives NaN differences.
    """
    _check(estimates)
    rule = rule or SignalRule.from_run({}, comparisons)
    est = district_estimates(ensure_protected(estimates, min_n))
    known = set(est["district"].astype(str))
    a, b = resolve_name(a, known), resolve_name(b, known)
    if a == b:
        raise PublishError(f"Välj två olika områden att jämföra (båda är ”{a}”).")
    est = _select(est, indicators, years)
    cols = ["year", "indicator", "estimate", "ci_low", "ci_high", "n", "hidden"]
    m = est[est["district"] == a][cols].merge(
        est[est["district"] == b][cols], on=["year", "indicator"], suffixes=("_a", "_b"), how="outer"
    )
    m["year"] = m["year"].astype(int)
    m = m.merge(pair_comparisons(comparisons, a, b), on=["year", "indicator"], how="left")
    out = pd.DataFrame(
        {
            "year": m["year"],
            "indicator": m["indicator"].astype(str),
            "label": [indicator_label(codebook, i) for i in m["indicator"].astype(str)],
        }
    )
    for side, name in (("a", a), ("b", b)):
        out[f"district_{side}"] = name
        h = m[f"hidden_{side}"].map(lambda v: True if pd.isna(v) else as_bool(v)).astype(bool)
        for c in ("estimate", "ci_low", "ci_high", "n"):
            out[f"{c}_{side}"] = m[f"{c}_{side}"].astype("float64").where(~h)
        out[f"hidden_{side}"] = h
    either = out["hidden_a"] | out["hidden_b"]
    for c in ("difference", "se", "ci_low", "ci_high", "p_value", "p_adjusted"):
        out[c] = m[c].astype("float64").where(~either)
    out["significant"] = [rule.significant(p) for p in out["p_adjusted"]]
    order = {n: k for k, n in enumerate(indicator_order(codebook, out["indicator"]))}
    out = out.assign(_o=out["indicator"].map(order)).sort_values(["year", "_o"]).drop(columns="_o")
    return out.reset_index(drop=True)[COMPARE_COLUMNS]


def compare_page(
    compared: pd.DataFrame,
    codebook: Codebook | None,
    a: str,
    b: str,
    run_meta: Mapping[str, Any],
    *,
    min_n: int = 30,
    back_link: str | None = "../index.html",
    rule: SignalRule | None = None,
) -> tuple[str, list[TableData]]:
    """A standalone HTML page comparing two districts (one table per year, latest first) and its tables; in
    English when ``run_meta["lang"] == "en"``."""
    rule = rule or SignalRule.from_run(run_meta)
    years = sorted({int(y) for y in compared["year"]}, reverse=True)
    tables = [comparison_table(compared, codebook, a, b, y, run_meta, min_n=min_n, rule=rule) for y in years]
    if run_meta.get("lang") == "en":  # the page in English (reports.translate; the page words: reports.pages)
        tables = [translate_table(t, "en") for t in tables]
    return compare_html(tables, a, b, back_link=back_link), tables
