"""The report's summary (sammanfattning): short Swedish sentences generated from the published numbers.

Every number in a sentence is a published value (rounded like the tables, from the protected estimates and
the comparisons), and every claim of a change or a difference follows the report's one significance rule
(:class:`reports.signals.SignalRule`). Hidden cells (primary or secondary suppression) are never mentioned.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from reports.formats import TOTAL, swedish_number, swedish_p, swedish_percent, swedish_pp
from reports.labels import indicator_group, indicator_label, indicator_order
from reports.method_section import always_hidden, hidden_counts, respondent_counts, respondents_rows
from reports.signals import SignalRule
from reports.tables import district_estimates
from survey.data.codebook import Codebook

HEADLINE_GROUPS = ("trygghet", "oro", "polis")
MAX_SENTENCES = 12


def subject(label: str) -> str:
    """``Andel otrygga …`` → ``andelen otrygga …`` (the subject of a sentence)."""
    return ("andelen " + label[len("Andel ") :]) if label.startswith("Andel ") else label[:1].lower() + label[1:]


def p_phrase(rule: SignalRule, p: float | None = None, text: str | None = None) -> str:
    """``justerat p (Benjamini–Hochberg) = 0,012`` or ``… < 0,001``."""
    t = text if text is not None else swedish_p(p, alpha=rule.alpha)
    return f"{rule.p_label} {t.replace('<', '< ')}" if t.startswith("<") else f"{rule.p_label} = {t}"


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _visible(prot: pd.DataFrame) -> dict[tuple[int, str, str], Any]:
    """The shown district estimates by (year, district, indicator), each a row (named tuple) of the frame."""
    est = district_estimates(prot)
    est = est[~est["hidden"].astype(bool)]
    keys = zip(est["year"].tolist(), est["district"].tolist(), est["indicator"].tolist())
    return {(int(y), str(d), str(i)): r for (y, d, i), r in zip(keys, est.itertuples(index=False))}


def _comparisons(comparisons: pd.DataFrame | None, kind: str) -> pd.DataFrame:
    if comparisons is None or comparisons.empty:
        return pd.DataFrame(columns=["year", "district", "indicator", "difference", "p_adjusted", "other"])
    c = comparisons[comparisons["comparison"] == kind]
    if "p_adjusted" not in c.columns:
        c = c.assign(p_adjusted=c["p_value"])
    return c


def level_sentences(
    vis: Mapping[tuple, Any], year: int, inds: Sequence[str], codebook: Codebook | None, level_percent: int = 95
) -> list[str]:
    """``Totalt`` for the headline indicators in the latest year, with their ``level_percent`` % CIs."""
    out = []
    for i in inds:
        e = vis.get((year, TOTAL, i))
        if e is not None:
            out.append(
                f"{_cap(subject(indicator_label(codebook, i)))} var {swedish_percent(e.estimate)} i Totalt "
                f"{year} ({level_percent} % konfidensintervall {swedish_number(e.ci_low * 100, 1)}–"
                f"{swedish_percent(e.ci_high)})."
            )
    return out


def change_sentences(
    vis: Mapping[tuple, Any],
    comparisons: pd.DataFrame | None,
    year: int,
    prev: int | None,
    inds: Sequence[str],
    codebook: Codebook | None,
    rule: SignalRule,
) -> list[str]:
    """Significant changes since the previous year (both years published)."""
    if prev is None:
        return []
    c = _comparisons(comparisons, "previous_year")
    c = c[(c["year"].astype(int) == year) & c["indicator"].isin(list(inds))]
    rank = {i: k for k, i in enumerate(inds)}
    found = []
    for d, i, diff, p in zip(
        c["district"].astype(str).tolist(),
        c["indicator"].astype(str).tolist(),
        c["difference"].astype(float).tolist(),
        c["p_adjusted"].astype(float).tolist(),
    ):
        now, before = vis.get((year, d, i)), vis.get((prev, d, i))
        if now is not None and before is not None and rule.significant(p):
            verb = "ökade" if diff > 0 else "minskade"
            found.append(
                (
                    (rank[i], d == TOTAL, d),
                    f"{_cap(subject(indicator_label(codebook, i)))} i {d} {verb} "
                    f"från {swedish_percent(before.estimate)} {prev} till {swedish_percent(now.estimate)} "
                    f"{year} ({swedish_pp(diff)} procentenheter, {p_phrase(rule, p)}).",
                )
            )
    return [text for _, text in sorted(found)]


def totalt_sentences(
    vis: Mapping[tuple, Any],
    comparisons: pd.DataFrame | None,
    year: int,
    inds: Sequence[str],
    codebook: Codebook | None,
    rule: SignalRule,
) -> list[str]:
    """Districts significantly above or below Totalt in the latest year, per headline indicator."""
    c = _comparisons(comparisons, "vs_totalt")
    c = c[c["year"].astype(int) == year]
    out = []
    for i in inds:
        tot = vis.get((year, TOTAL, i))
        if tot is None:
            continue
        parts: dict[str, list[tuple[str, Any]]] = {"högre": [], "lägre": []}
        ci = c[c["indicator"] == i]
        for district, difference, p_adj in zip(
            ci["district"].tolist(), ci["difference"].tolist(), ci["p_adjusted"].tolist()
        ):
            e = vis.get((year, str(district), i))
            if e is not None and rule.significant(p_adj):
                parts["högre" if difference > 0 else "lägre"].append((str(district), e.estimate))
        for word, found in parts.items():
            if found:
                names = [f"{d} ({swedish_percent(v)})" for d, v in sorted(found)]
                listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " och " + names[-1]
                out.append(
                    f"I {listed} var {subject(indicator_label(codebook, i))} statistiskt säkerställt "
                    f"{word} än i Totalt ({swedish_percent(tot.estimate)}) {year}."
                )
    return out


def trend_sentences(trend_table: Any, codebook: Codebook | None, years: Sequence[int], rule: SignalRule) -> list[str]:
    """Significant trends from the published trend table (odds ratio per year, adjusted p)."""
    if trend_table is None:
        return []
    idx = trend_table.index()
    out = []
    for rk, _ in trend_table.rows:
        orr, sig, p = idx.get((rk, "or", "or")), idx.get((rk, "or", "sig")), idx.get((rk, "or", "p"))
        if orr and sig and sig[1] and orr[0] is not None:
            verb = "ökade" if orr[0] > 1 else "minskade"
            out.append(
                f"Under {years[0]}–{years[-1]} {verb} {subject(indicator_label(codebook, rk))} "
                f"(oddskvot per år {orr[1]}, {p_phrase(rule, text=p[1])})."
            )
    return out


def summary_blocks(
    prot: pd.DataFrame,
    comparisons: pd.DataFrame | None,
    codebook: Codebook | None,
    rule: SignalRule,
    trend_table: Any = None,
) -> list[dict[str, Any]]:
    """The summary as blocks ``{"heading": …, "sentences": […]}`` for the index template."""
    est = district_estimates(prot)
    years = sorted(int(y) for y in est["year"].unique())
    if not years:
        return []
    year, prev = years[-1], (years[-2] if len(years) > 1 else None)
    inds = indicator_order(codebook, est["indicator"].astype(str))
    headline = [i for i in inds if indicator_group(codebook, i) in HEADLINE_GROUPS] or inds[:3]
    vis = _visible(prot)
    changes = change_sentences(vis, comparisons, year, prev, inds, codebook, rule)
    more = len(changes) - MAX_SENTENCES
    changes = changes[:MAX_SENTENCES] + ([f"… och {more} förändringar till; se tabellerna."] if more > 0 else [])
    if prev is not None and not changes:
        changes = [f"Inga statistiskt säkerställda förändringar sedan {prev} ({rule.criterion()})."]
    blocks = [
        {"heading": f"Läget {year}", "sentences": level_sentences(vis, year, headline, codebook, rule.level_percent)},
        {"heading": f"Förändringar sedan {prev}" if prev else "", "sentences": changes},
        {
            "heading": "Områden som skiljer sig från Totalt",
            "sentences": totalt_sentences(vis, comparisons, year, headline, codebook, rule),
        },
        {"heading": "Trend", "sentences": trend_sentences(trend_table, codebook, years, rule)},
    ]
    return [b for b in blocks if b["sentences"]]


def respondents(prot: pd.DataFrame, min_n: int) -> dict[str, Any]:
    """Respondents per district and year for the method section: the largest ``n`` over the indicators;
    under ``min_n`` shown as ``färre än min_n`` (never the exact small count), with the complementary
    suppression of :func:`reports.method_section.hidden_counts` (``..``). ``counts`` and ``seed`` let the index
    page protect this table and the gross sample's table together (:func:`reports.method_section.method_hidden`)."""
    counts, seed = respondent_counts(prot), always_hidden(prot)
    table = respondents_rows(counts, hidden_counts([counts], min_n, seed=seed), min_n)
    return {**table, "counts": counts, "seed": seed}
