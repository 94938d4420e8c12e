"""The method section's facts about the survey itself (issue 12), in Swedish and English: who the population
is (ages from the codebook's register groups, the register totals per year from the run's population file),
when and how the answers were collected (``--fieldwork``, a report text), and — when the run had a gross sample
(``--gross-sample``, ``docs/gross-sample.md``) — the sample, the respondents and the response rate per district
and year.

Inputs are the run's ``run_meta`` keys ``population`` (records ``year, district, population``),
``fieldwork`` (text) and ``response_rates`` (the records of ``response_rates.csv``: ``year, district, sex,
age_group, sampled, responded, rate, ...``). Each is optional: without it the paragraph says less, or the
table is left out.

Disclosure: a district × year with fewer respondents than ``min_n`` shows ``färre än min_n`` instead of its
number of respondents, and ``..`` instead of its response rate (which with the sample would give the number
away), as the respondents table of the method section does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

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
        "(..). Per kön och åldersgrupp i analysfilen response_rates.csv.",
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
        "without an exact number and rate (..). By sex and age group in the analysis file response_rates.csv.",
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


def response_rate_table(run_meta: Mapping[str, Any], min_n: int, lang: str = "sv") -> dict[str, Any] | None:
    """Per district (and ``Totalt``) and year: sample, respondents and response rate from the gross sample's
    rates (``run_meta["response_rates"]``); None without a gross sample. ``{"title", "years", "heads",
    "rows": [(district, [(sampled, responded, rate) per year])], "note"}``, every value display text."""
    rates = pd.DataFrame(run_meta.get("response_rates") or [])
    if rates.empty or not {"year", "district", "sampled", "responded"} <= set(rates.columns):
        return None
    w = _w(lang)
    per = rates.groupby(["district", "year"])[["sampled", "responded"]].sum()
    total = rates.groupby("year")[["sampled", "responded"]].sum()
    total.index = pd.MultiIndex.from_product([[TOTAL], total.index], names=["district", "year"])
    per = pd.concat([per, total])
    years = sorted(int(y) for y in rates["year"].unique())
    rows = []
    for d in district_order(per.index.get_level_values("district").unique()):
        cells = []
        for y in years:
            if (d, y) not in per.index:
                cells.append(("", "", ""))
                continue
            sampled, responded = (float(v) for v in per.loc[(d, y), ["sampled", "responded"]].to_numpy(float))
            if responded < min_n:
                cells.append((_number(sampled, lang), w["fewer"].format(min_n=min_n), SUPPRESSED))
                continue
            rate = swedish_percent(responded / sampled) if sampled else SUPPRESSED
            cells.append(
                (_number(sampled, lang), _number(responded, lang), english_text(rate) if lang == "en" else rate)
            )
        rows.append((d, cells))
    return {
        "title": w["rates_title"],
        "years": years,
        "heads": (w["sampled"], w["responded"], w["rate"]),
        "rows": rows,
        "note": w["rates_note"].format(min_n=min_n),
    }


__all__ = ["age_span", "years_text", "population_paragraph", "fieldwork_paragraph", "response_rate_table"]
