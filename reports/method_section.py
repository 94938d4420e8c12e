"""The method section's facts about the survey itself (issue 12), in Swedish and English: who the population
is (ages from the codebook's register groups, the register totals per year from the run's population file),
when and how the answers were collected (``--fieldwork``, a report text), and — when the run had a gross sample
(``--gross-sample``, ``docs/gross-sample.md``) — the sample, the respondents and the response rate per district
and year.

Inputs are the run's ``run_meta`` keys ``population`` (records ``year, district, population``),
``fieldwork`` (text) and ``response_rates`` (the records of ``response_rates.csv``: ``year, district, sex,
age_group, sampled, responded, rate, ...``). Each is optional: without it the paragraph says less, or the
table is left out.

Disclosure (:func:`hidden_counts`): a district × year with fewer respondents than ``min_n`` shows ``färre än
min_n`` instead of its number of respondents, and ``..`` instead of its response rate (which with the sample
would give the number away). As ``Totalt`` is the sum of the districts, a hidden count would follow by
differencing (``Totalt − Σ others``); so within each year the counts get the complementary suppression of
statistical agencies (Hundepool et al., *Statistical Disclosure Control*, 2012, ch. 4; τ-ARGUS' singleton and
protection-interval rules), the same in the respondents table and in the sample table:

* never exactly one hidden district: the smallest other district is hidden too (``..``), and
* protection interval: from ``Totalt`` and the published counts an attacker knows the hidden districts' sum
  ``k``, that a ``färre än min_n`` count lies in ``[0, min_n − 1]``, that a ``..`` count is at least ``min_n``
  and, with a gross sample, at most the district's published sample. Each hidden small count must still be
  able to take every value of ``[0, min_n − 1]``: ``max(0, k − Σ upper) = 0`` and
  ``min(min_n − 1, k − Σ lower) = min_n − 1`` over the other hidden districts; else the smallest further
  district that makes it so (the largest, when none does) is hidden too, and ``Totalt`` when none is left.
* the districts the estimate tables hide in every indicator of the year (:func:`reports.disclosure.protect`'s
  partners of a small district) are hidden in the counts too: their published count would bound their hidden
  ``n`` and give the small district's ``n`` away.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from reports.disclosure import domains_of
from reports.formats import SUPPRESSED, TOTAL, swedish_number, swedish_percent
from reports.labels import district_order
from reports.translate import english_text
from survey.data.codebook import Codebook

WORDS = {
    "sv": {
        "population": "Population: befolkningen {ages} år{groups}{districts}",
        "groups": " (åldersgrupperna {groups})",
        "districts": " i {n} områden",
        "register": "; enligt befolkningsstatistiken {totals} personer",
        "register_one": "; enligt befolkningsstatistiken {total} personer {year}",
        "fieldwork": "Insamling: {fieldwork}. Undersökningsår: {years}.",
        "no_fieldwork": "Insamling: undersökningsår {years} (insamlingsperioden och -sättet anges inte i körningen).",
        "and": "och",
        "persons_in": "{total} ({year})",
        "fewer": "färre än {min_n}",
        "rates_title": "Urval, svarande och svarsandel per område och år",
        "sampled": "Urval",
        "responded": "Svarande",
        "rate": "Svarsandel",
        "rates_note": "Urval = antal personer i bruttourvalet; svarande = de vars svar godtogs; svarsandel = "
        "svarande / urval (ovägd). Områden med färre svarande än {min_n} anges utan exakt antal och svarsandel "
        "(..). {counts} Per kön och åldersgrupp i analysfilen response_rates.csv.",
        "counts_rule": "Eftersom Totalt är summan av områdena döljs då också antalet svarande (..) för minst ett "
        "annat område samma år, det minsta som behövs för att det dolda antalet fortfarande kan vara vilket "
        "som helst från 0 till {top} (sekundär undertryckning); samma områden döljs i båda tabellerna över "
        "svarande.",
    },
    "en": {
        "population": "Population: the population aged {ages}{groups}{districts}",
        "groups": " (the age groups {groups})",
        "districts": " in {n} districts",
        "register": "; according to the population statistics {totals} persons",
        "register_one": "; according to the population statistics {total} persons in {year}",
        "fieldwork": "Fieldwork: {fieldwork}. Survey years: {years}.",
        "no_fieldwork": "Fieldwork: survey years {years} (the fieldwork period and mode are not given in the run).",
        "and": "and",
        "persons_in": "{total} ({year})",
        "fewer": "fewer than {min_n}",
        "rates_title": "Sample, respondents and response rate by district and year",
        "sampled": "Sample",
        "responded": "Respondents",
        "rate": "Response rate",
        "rates_note": "Sample = persons in the gross sample; respondents = those whose answers were accepted; "
        "response rate = respondents / sample (unweighted). Districts with fewer than {min_n} respondents are shown "
        "without an exact number and rate (..). {counts} By sex and age group in the analysis file "
        "response_rates.csv.",
        "counts_rule": "As Totalt is the sum of the districts, the number of respondents of at least one other "
        "district of the same year is then hidden too (..), the smallest that keeps the hidden number free to be "
        "anything from 0 to {top} (secondary suppression); the same districts are hidden in both tables of "
        "respondents.",
    },
}


def _w(lang: str) -> dict[str, str]:
    return WORDS["en" if lang == "en" else "sv"]


def _number(x: float, lang: str, decimals: int = 0) -> str:
    s = swedish_number(x, decimals)
    return english_text(s) if lang == "en" else s


def _listing(parts: Sequence[str], lang: str) -> str:
    """``a, b och c`` (``a, b and c``)."""
    if len(parts) < 2:
        return "".join(parts)
    return ", ".join(parts[:-1]) + f" {_w(lang)['and']} " + parts[-1]


def age_span(codebook: Codebook | None) -> tuple[str, list[str]] | None:
    """``("16–84", ["16-24", …, "75-84"])`` from the codebook's register age groups (None without them)."""
    groups = [str(g) for g in (codebook.age_groups if codebook is not None else ())]
    bounds = [re.findall(r"\d+", g) for g in groups]
    if not groups or not bounds[0] or not bounds[-1]:
        return None
    return f"{bounds[0][0]}–{bounds[-1][-1]}", groups


def years_text(years: Sequence[int], lang: str = "sv") -> str:
    """``2022–2024`` for consecutive years, else ``2020, 2022 och 2024``."""
    ys = sorted({int(y) for y in years})
    if len(ys) > 2 and ys == list(range(ys[0], ys[-1] + 1)):
        return f"{ys[0]}–{ys[-1]}"
    return _listing([str(y) for y in ys], lang)


def population_paragraph(run_meta: Mapping[str, Any], codebook: Codebook | None, lang: str = "sv") -> str | None:
    """Who the survey is about: the ages, the number of districts and the register population per year."""
    span = age_span(codebook)
    pop = pd.DataFrame(run_meta.get("population") or [], columns=["year", "district", "population"])
    if span is None and pop.empty:
        return None
    w = _w(lang)
    ages, groups = span if span is not None else ("", [])
    text = w["population"].format(
        ages=ages,
        groups=w["groups"].format(groups=", ".join(groups)) if groups else "",
        districts=w["districts"].format(n=pop["district"].nunique()) if len(pop) else "",
    )
    if len(pop):
        totals = pop.groupby("year")["population"].sum().sort_index()
        pairs = list(zip(totals.index.to_numpy(int).tolist(), totals.to_numpy(float).tolist()))
        if len(pairs) == 1:
            text += w["register_one"].format(total=_number(pairs[0][1], lang), year=pairs[0][0])
        else:
            parts = [w["persons_in"].format(total=_number(v, lang), year=y) for y, v in pairs]
            text += w["register"].format(totals=_listing(parts, lang))
    return text + "."


def fieldwork_paragraph(run_meta: Mapping[str, Any], years: Sequence[int], lang: str = "sv") -> str:
    """When and how the answers were collected (the run's ``fieldwork`` text) and the survey years."""
    w = _w(lang)
    fieldwork = str(run_meta.get("fieldwork") or "").strip().rstrip(".")
    if fieldwork:
        return w["fieldwork"].format(fieldwork=fieldwork, years=years_text(years, lang))
    return w["no_fieldwork"].format(years=years_text(years, lang))


# --------------------------------------------------------------------------------------------------
# complementary suppression of the counts (module docstring)
# --------------------------------------------------------------------------------------------------

Hidden = dict[tuple[int, str], str]  # (year, district or Totalt) -> "primary" | "secondary"


def always_hidden(protected: pd.DataFrame | None) -> dict[int, set[str]]:
    """Per year, the districts whose district-level estimate :func:`reports.disclosure.protect` hides in every
    indicator of the year (a small district and its partners)."""
    if protected is None or protected.empty or "hidden" not in protected.columns:
        return {}
    est = protected[(domains_of(protected) == "district").to_numpy()]
    est = est[est["district"].astype(str) != TOTAL]
    every = est["hidden"].astype(bool).groupby([est["year"].astype(int), est["district"].astype(str)]).all()
    out: dict[int, set[str]] = {}
    for key in every.index[every.to_numpy(bool)]:
        y, d = key
        out.setdefault(int(y), set()).add(str(d))
    return out


def respondent_counts(protected: pd.DataFrame) -> pd.DataFrame:
    """Respondents per district (and ``Totalt``) × year for the method section: the largest ``n`` over the
    indicators (rows districts, columns years)."""
    est = protected[(domains_of(protected) == "district").to_numpy()]
    return est.groupby(["district", "year"])["n"].max().unstack("year")


def _column(table: pd.DataFrame, year: int) -> tuple[dict[str, float], float | None]:
    """The districts' counts of one year (without blanks) and the ``Totalt`` count (None when not there)."""
    if year not in table.columns:
        return {}, None
    col = pd.to_numeric(table[year], errors="coerce")
    counts = {str(d): float(v) for d, v in col.items() if str(d) != TOTAL and pd.notna(v)}
    total = col.get(TOTAL)
    return counts, (float(total) if total is not None and pd.notna(total) else None)


def _protected(
    counts: Mapping[str, float], total: float, hidden: Mapping[str, str], min_n: int, upper: Mapping[str, float]
) -> bool:
    """Does every hidden small count keep its whole range ``[0, min(min_n − 1, its upper bound)]`` given
    ``Totalt``, the published counts and what is known of the other hidden ones (module docstring)?"""
    inside = [d for d in counts if d in hidden]
    k = total - sum(v for d, v in counts.items() if d not in hidden)
    for h in (d for d in inside if hidden[d] == "primary"):
        others = [m for m in inside if m != h]
        low = sum(0.0 if hidden[m] == "primary" else float(min_n) for m in others)
        high = sum(
            min(min_n - 1.0, upper.get(m, np.inf)) if hidden[m] == "primary" else upper.get(m, np.inf) for m in others
        )
        top = min(min_n - 1.0, upper.get(h, np.inf))
        if max(0.0, k - high) > 0 or min(top, k - low) < top:
            return False
    return True


def _next_hidden(
    counts: Mapping[str, float], total: float, hidden: Mapping[str, str], min_n: int, upper: Mapping[str, float]
) -> str | None:
    """The district (or ``Totalt``) that one table of one year still needs hidden, None when it is protected."""
    inside = [d for d in counts if d in hidden]
    if not inside or (len(inside) > 1 and _protected(counts, total, hidden, min_n, upper)):
        return None
    order = {d: k for k, d in enumerate(district_order(list(counts)))}
    visible = sorted((d for d in counts if d not in hidden), key=lambda d: (counts[d], order[d]))
    for d in visible:  # the smallest district that is enough
        trial = {**hidden, d: "secondary"}
        if _protected(counts, total, trial, min_n, upper):
            return d
    return visible[-1] if visible else TOTAL


def hidden_counts(
    tables: Sequence[pd.DataFrame],
    min_n: int,
    *,
    seed: Mapping[int, set[str]] | None = None,
    upper: pd.DataFrame | None = None,
) -> Hidden:
    """The counts to hide in every table of ``tables`` (rows districts and ``Totalt``, columns years), year by
    year: ``primary`` under ``min_n`` in any table, ``secondary`` by the rules of the module docstring (``seed``:
    the estimate tables' partners, :func:`always_hidden`; ``upper``: a published upper bound of each count, the
    gross sample). The same districts are hidden in every table."""
    years = sorted({int(y) for t in tables for y in t.columns})
    out: Hidden = {}
    for y in years:
        columns = [_column(t, y) for t in tables]
        hidden: dict[str, str] = {}
        for counts, _ in columns:
            hidden.update({d: "primary" for d, v in counts.items() if v < min_n})
        if not hidden:
            continue
        known = {d for counts, _ in columns for d in counts}
        hidden.update({d: "secondary" for d in sorted((seed or {}).get(y, set()) & known) if d not in hidden})
        bound = _column(upper, y)[0] if upper is not None else {}
        changed = True
        while changed:
            changed = False
            for counts, total in columns:
                if total is None or TOTAL in hidden:
                    continue
                # in this table a count is small by its own value (a district small in the other table only is
                # a '..' here, at least min_n)
                local = {d: "primary" if counts.get(d, min_n) < min_n else "secondary" for d in hidden}
                extra = _next_hidden(counts, total, local, min_n, bound)
                if extra is not None:
                    hidden[extra], changed = "secondary", True
        out.update({(y, d): r for d, r in hidden.items()})
    return out


def count_text(value: Any, reason: str | None, min_n: int, lang: str = "sv") -> str:
    """A count as published: blank when missing, ``färre än min_n`` when hidden and small, ``..`` when hidden
    beside a small one (or small in another table only), else the number."""
    if value is None or pd.isna(value):
        return ""
    if reason is not None and float(value) < min_n:
        return _w(lang)["fewer"].format(min_n=min_n)
    if reason is not None:
        return SUPPRESSED
    return _number(float(value), lang)


def _rate_counts(run_meta: Mapping[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """``sampled`` and ``responded`` per district (and ``Totalt``) × year of the gross sample's rates."""
    rates = pd.DataFrame(run_meta.get("response_rates") or [])
    if rates.empty or not {"year", "district", "sampled", "responded"} <= set(rates.columns):
        return None
    per = rates.groupby(["district", "year"])[["sampled", "responded"]].sum()
    total = rates.groupby("year")[["sampled", "responded"]].sum()
    total.index = pd.MultiIndex.from_product([[TOTAL], total.index], names=["district", "year"])
    per = pd.concat([per, total]).astype(float)
    return per["sampled"].unstack("year"), per["responded"].unstack("year")


def method_hidden(
    run_meta: Mapping[str, Any],
    min_n: int,
    counts: pd.DataFrame | None = None,
    seed: Mapping[int, set[str]] | None = None,
) -> Hidden:
    """The hidden counts of the method section: those of the respondents table (``counts``, from
    :func:`respondent_counts`) and of the gross sample's table together, bounded by the published sample."""
    rc = _rate_counts(run_meta)
    tables = ([counts] if counts is not None else []) + ([rc[1]] if rc is not None else [])
    return hidden_counts(tables, min_n, seed=seed, upper=rc[0] if rc is not None else None)


def respondents_rows(counts: pd.DataFrame, hidden: Hidden, min_n: int) -> dict[str, Any]:
    """The respondents table (Swedish; ``reports.page_texts.english_respondents`` for English):
    ``{"years", "rows": [(district, [text per year])]}``."""
    years = [int(y) for y in counts.columns]
    by_district = dict(zip(counts.index, counts.to_numpy(float).tolist()))  # each district's row, by year
    rows = []
    for d in district_order(counts.index):
        rows.append((d, [count_text(v, hidden.get((y, str(d))), min_n) for y, v in zip(years, by_district[d])]))
    return {"years": years, "rows": rows}


def response_rate_table(
    run_meta: Mapping[str, Any], min_n: int, lang: str = "sv", hidden: Hidden | None = None
) -> dict[str, Any] | None:
    """Per district (and ``Totalt``) and year: sample, respondents and response rate from the gross sample's
    rates (``run_meta["response_rates"]``); None without a gross sample. ``{"title", "years", "heads",
    "rows": [(district, [(sampled, responded, rate) per year])], "note"}``, every value display text.
    ``hidden``: the method section's hidden counts (:func:`method_hidden`; by default this table's own)."""
    rc = _rate_counts(run_meta)
    if rc is None:
        return None
    sampled, responded = rc
    hidden = method_hidden(run_meta, min_n) if hidden is None else hidden
    w = _w(lang)
    years = sorted(int(y) for y in sampled.columns)
    samp = dict(zip(sampled.index, sampled[years].to_numpy(float).tolist()))
    resp = dict(zip(responded.index, responded[years].to_numpy(float).tolist()))
    rows = []
    for d in district_order(sampled.index):
        cells = []
        for y, s, r in zip(years, samp[d], resp[d]):
            if np.isnan(s):
                cells.append(("", "", ""))
                continue
            reason = hidden.get((y, str(d)))
            if reason is not None:
                cells.append((_number(s, lang), count_text(r, reason, min_n, lang), SUPPRESSED))
                continue
            rate = swedish_percent(r / s) if s else SUPPRESSED
            cells.append((_number(s, lang), _number(r, lang), english_text(rate) if lang == "en" else rate))
        rows.append((d, cells))
    return {
        "title": w["rates_title"],
        "years": years,
        "heads": (w["sampled"], w["responded"], w["rate"]),
        "rows": rows,
        "note": w["rates_note"].format(min_n=min_n, counts=w["counts_rule"].format(top=min_n - 1)),
    }


__all__ = [
    "age_span",
    "always_hidden",
    "count_text",
    "fieldwork_paragraph",
    "hidden_counts",
    "method_hidden",
    "population_paragraph",
    "respondent_counts",
    "respondents_rows",
    "response_rate_table",
    "years_text",
]
