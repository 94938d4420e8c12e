"""The report pages' own words in Swedish and English (issue 12, ``--lang en``): the index's headings,
navigation, links and notes (:data:`PAGE_TEXTS`, passed to the templates as ``t``), the section names, the
legend and the method text in English (:func:`english_legend`, :func:`english_method`), and the summary's
generated sentences in English (:func:`english_summary`).

The Swedish texts are exactly the ones the templates and :mod:`reports.pages` always wrote, so a Swedish
report stays byte-identical. What stays Swedish in an English report: district names (``Totalt`` too),
codebook question wordings and the texts a run configures (title, municipality, source, contact, method line).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from reports.formats import ABOVE_MARK, BELOW_MARK, NBSP, NOT_AVAILABLE, SIG_MARK, SUPPRESSED
from reports.translate import EN_GROUPS, EN_INDICATORS, SV_LABELS, english_sentence, english_text

PAGE_TEXTS: dict[str, dict[str, str]] = {
    "sv": {
        "back": "← Till rapportens startsida",
        "source": "Källa",
        "codebook": "Kodbok",
        "codebook_lc": "kodbok",
        "run": "Körning",
        "run_lc": "körning",
        "contents": "Innehåll",
        "summary": "Sammanfattning",
        "compare": "Jämför områden",
        "tables": "Tabeller",
        "charts": "Diagram",
        "downloads": "Ladda ner",
        "legend": "Teckenförklaring",
        "method": "Metod",
        "open_interactive": "Öppna den interaktiva jämförelsen",
        "interactive_text": ": välj områden, indikator och år och se andelar med konfidensintervall, skillnaden i "
        "procentenheter, utvecklingen över tid och en rangordning av områdena. Sidan fungerar utan "
        "internetanslutning.",
        "workbook_before": "Alla tabeller i en arbetsbok: ",
        "workbook_after": ", ett blad per tabell.",
        "all_on_one_page": "alla på en sida",
        "chart_alt": "Diagram",
        "no_charts": "Inga diagram.",
        "download_workbook": "Alla tabeller i en Excel-arbetsbok (XLSX)",
        "download_csv": "Varje tabell finns också som CSV (maskinläsbar och för svensk Excel)",
        "download_px": " och, där de skapats, PC-Axis och JSON-stat",
        "download_see": ": se länkarna vid tabellerna ovan.",
        "download_interactive": "Den interaktiva jämförelsen som fristående fil (HTML)",
        "respondents": "Antal svarande per område och år",
        "district": "Område",
        "respondents_note": "Antal svarande är det högsta antalet som besvarat någon av frågorna; områden med "
        "färre än gränsen anges utan exakt antal, och då döljs också antalet för minst ett annat område samma år "
        "(..), så att det dolda antalet inte kan räknas fram ur Totalt och de andra områdena.",
        "notes": "Anmärkningar",
        "none": "Inga.",
        "footer": "Rapporten är fristående och fungerar utan internetanslutning.",
        "contact": "Kontakt",
    },
    "en": {
        "back": "← To the report's front page",
        "source": "Source",
        "codebook": "Codebook",
        "codebook_lc": "codebook",
        "run": "Run",
        "run_lc": "run",
        "contents": "Contents",
        "summary": "Summary",
        "compare": "Compare districts",
        "tables": "Tables",
        "charts": "Charts",
        "downloads": "Downloads",
        "legend": "Key to symbols",
        "method": "Method",
        "open_interactive": "Open the interactive comparison",
        "interactive_text": ": pick districts, an indicator and years and see shares with confidence intervals, the "
        "difference in percentage points, the trend over time and a ranking of the districts. The page works "
        "without an internet connection.",
        "workbook_before": "Every table in one workbook: ",
        "workbook_after": ", one sheet per table.",
        "all_on_one_page": "all on one page",
        "chart_alt": "Chart",
        "no_charts": "No charts.",
        "download_workbook": "Every table in one Excel workbook (XLSX)",
        "download_csv": "Every table is also a CSV file (machine-readable, and one for Swedish Excel)",
        "download_px": " and, where made, PC-Axis and JSON-stat",
        "download_see": ": see the links beside the tables above.",
        "download_interactive": "The interactive comparison as a standalone file (HTML)",
        "respondents": "Respondents per district and year",
        "district": "District",
        "respondents_note": "The number of respondents is the largest number who answered any of the questions; "
        "districts under the threshold are shown without an exact number, and the number of at least one other "
        "district of the same year is then hidden too (..), so that the hidden number cannot be worked out from "
        "Totalt and the other districts.",
        "notes": "Notes",
        "none": "None.",
        "footer": "The report is self-contained and works without an internet connection.",
        "contact": "Contact",
    },
}
# reports.pages' section names, format links and one-page titles, in English
EN_PAGE_WORDS: dict[str, str] = {
    **EN_GROUPS,
    "Övrigt": "Other",
    "Sammanställningar senaste året": "Overviews of the latest year",
    "Trend": "Trend",
    "Jämförelser mellan områden": "Comparisons between districts",
    "Kön och åldersgrupp per område": "Sex and age group per district",
    "Svarsfördelningar per fråga (alla svarsalternativ)": "Answer distributions per question (every answer option)",
    "Små områden: modellskattning (Fay–Herriot)": "Small areas: model estimate (Fay–Herriot)",
    "Tabell (HTML)": "Table (HTML)",
    "CSV (svensk Excel)": "CSV (Swedish Excel)",
    "Svarsfördelningar per fråga, alla svarsalternativ": "Answer distributions per question, every answer option",
    "Trygghetsundersökning: resultat per område": "Safety survey: results by district",
}


def texts(lang: str) -> dict[str, str]:
    """The page words of ``lang`` (Swedish for anything but ``en``)."""
    return PAGE_TEXTS["en" if lang == "en" else "sv"]


def page_word(text: str, lang: str) -> str:
    """A section name, format link or page title of :mod:`reports.pages` in ``lang``."""
    return EN_PAGE_WORDS.get(text, text) if lang == "en" else text


def _criterion(rule: Any) -> str:
    p = "p (unadjusted)" if rule.adjust == "none" else f"adjusted p ({rule.adjust_label})"
    return f"{p} < {english_text(rule.alpha_text)}"


def english_criterion(rule: Any) -> str:
    """The marker rule in English: ``adjusted p (Benjamini–Hochberg) < 0.05``."""
    return _criterion(rule)


def english_legend(rule: Any, min_n: int) -> list[tuple[str, str]]:
    """:func:`reports.pages.legend` in English."""
    crit = _criterion(rule)
    return [
        (
            SUPPRESSED,
            f"Not published: too few respondents (fewer than {min_n}) or too uncertain, or suppressed so that "
            "another hidden figure cannot be derived from Totalt.",
        ),
        (NOT_AVAILABLE, "Not available (no comparison computed)."),
        (SIG_MARK, f"Statistically significant change or difference: {crit}."),
        (
            f"{ABOVE_MARK} {BELOW_MARK}",
            f"Statistically significantly higher or lower than Totalt the same year: {crit}.",
        ),
        ("p", f"The p-value printed is the {crit.split(' < ')[0]}, the one the marker is based on."),
        ("( )", f"{rule.level_percent}% confidence interval (unadjusted for differences)."),
        ("pp", "Percentage points: the difference between two shares."),
        ("n", "Unweighted number of respondents who answered the question."),
    ]


def english_method(run_meta: Mapping[str, Any], rule: Any, min_n: int, default_method: str) -> list[str]:
    """:func:`reports.pages.method_paragraphs` in English (a method line the run sets stays as given)."""
    method = str(run_meta.get("method", default_method)).rstrip(".")
    method = english_sentence("Metod: " + method + ".").removeprefix("Method: ")
    adj = (
        "without adjustment for multiple comparisons"
        if rule.adjust == "none"
        else f"adjusted for multiple comparisons by {rule.adjust_label}'s method within each family of comparisons "
        "(the same kind of comparison, year and indicator; for the trend all indicators of the table)"
    )
    alpha = english_text(rule.alpha_percent)
    return [
        method[:1].upper() + method[1:],
        "Shares are computed among those who answered the question; ”don't know” is part of the base. "
        "Differences are given in percentage points.",
        "Statistically significant differences: every change from the previous year, difference between a "
        "district and Totalt of the same year and difference between two districts is tested two-sided with "
        "the difference divided by its design-based standard error (for a district against Totalt taking into "
        f"account that the district is part of Totalt). The p-values are {adj}. A difference is marked when "
        f"{_criterion(rule)} ({alpha} level); the p-value printed is the adjusted one. The confidence intervals "
        f"of differences are unadjusted {rule.level_percent}% intervals and may therefore exclude zero "
        "without the difference being marked.",
        f"Disclosure control: a share is not published (..) when fewer than {min_n} answered the question or "
        "when the estimate is too uncertain (primary suppression). Since Totalt is a weighted mean of the "
        "districts' shares (in the same way a district's share is a weighted mean of its sex and age groups', "
        "and Totalt of a group a mean of the group's shares in the districts), at least two figures of the "
        "same year and indicator are always hidden: when only one is hidden, the smallest district (or group) "
        "at least as large is hidden too (secondary suppression), so that the hidden figure cannot be derived "
        "from Totalt and the other districts; a hidden district never shows all its sex or age groups. Should "
        "the published figures together still pin a hidden share within less than 5 percentage points (tested "
        "with every relation at once), one more figure is hidden. Changes and differences based on a hidden "
        "figure are not published either. Every published share and difference is rounded to one decimal, in "
        "every file.",
        "The answer distributions show every answer option, ”don't know” and ”no opinion” too, as a share of "
        "those who answered the question. A distribution is not published at all for a district where any "
        "share or any indicator of the question is hidden, and the same rule of at least two hidden districts "
        "applies.",
        "For districts with too few respondents a model estimate (Fay–Herriot) is offered in a table of its "
        "own: a weighted mean of the district's own answers and the mean of all districts, with an interval "
        "from the model's mean squared error. It is given only where the model rests less than half on the "
        "district's own answers, and it never replaces the direct estimate.",
    ]


def _subjects() -> list[tuple[str, str]]:
    """(Swedish, English) sentence subjects of the v1 indicators: ``andelen otrygga …`` → ``the share feeling
    unsafe …``, capitalised forms first."""
    pairs = []
    for name, sv in SV_LABELS.items():
        en = EN_INDICATORS[name][0]
        sv_subject, en_subject = "andelen " + sv[len("Andel ") :], "the s" + en[1:]
        pairs += [(sv_subject[:1].upper() + sv_subject[1:], "The s" + en[1:]), (sv_subject, en_subject)]
    return sorted(pairs, key=lambda p: -len(p[0]))


_VERB = {"ökade": "increased", "minskade": "decreased", "högre": "higher", "lägre": "lower"}
SUMMARY_PATTERNS: list[tuple[str, str]] = [
    (r"^Läget (\d+)$", r"The situation in \1"),
    (r"^Förändringar sedan (\d+)$", r"Changes since \1"),
    (r"^Områden som skiljer sig från Totalt$", "Districts that differ from Totalt"),
    (
        r"^(.+) var ([^ ]+) i Totalt (\d+) \((\d+) % konfidensintervall (.+?)\)\.$",
        r"\1 was \2 in Totalt in \3 (\4% confidence interval \5).",
    ),
    (
        r"^(.+) i (.+?) (ökade|minskade) från ([^ ]+) (\d+) till ([^ ]+) (\d+) \(([^ ]+) procentenheter, (.+)\)\.$",
        r"\1 in \2 \3 from \4 in \5 to \6 in \7 (\8 percentage points, \9).",
    ),
    (
        r"^I (.+) var (.+) statistiskt säkerställt (högre|lägre) än i Totalt \((.+?)\) (\d+)\.$",
        r"In \1, \2 was statistically significantly \3 than in Totalt (\4) in \5.",
    ),
    (
        r"^Under (\d+)–(\d+) (ökade|minskade) (.+) \(oddskvot per år (.+)\)\.$",
        r"Over \1–\2 \4 \3 (odds ratio per year \5).",
    ),
    (r"^… och (\d+) förändringar till; se tabellerna\.$", r"… and \1 more changes; see the tables."),
    (
        r"^Inga statistiskt säkerställda förändringar sedan (\d+) \((.+)\)\.$",
        r"No statistically significant changes since \1 (\2).",
    ),
    (r"\b(ökade|minskade|högre|lägre)\b", "VERB"),
    (r"\) och ", ") and "),
    (r"justerat p \((.+?)\)", r"adjusted p (\1)"),
    (r"p \(ojusterat\)", "p (unadjusted)"),
    (rf"(\d){NBSP}%", r"\1%"),
    (r"(\d),(\d)", r"\1.\2"),
]
_SUMMARY = [(re.compile(p), r) for p, r in SUMMARY_PATTERNS]


def english_sentence_of_summary(text: str) -> str:
    """One heading or sentence of :func:`reports.summary.summary_blocks` in English (a form without a pattern
    keeps its Swedish words; test_lang_report checks that the sample wave's summary has none left)."""
    out = str(text)
    for sv, en in _subjects():
        out = out.replace(sv, en)
    for pat, rep in _SUMMARY:
        out = pat.sub(lambda m: _VERB[m.group(1)], out) if rep == "VERB" else pat.sub(rep, out)
    return out


def english_summary(blocks: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The summary blocks with their headings and sentences in English."""
    return [
        {
            **b,
            "heading": english_sentence_of_summary(b.get("heading") or "") if b.get("heading") else b.get("heading"),
            "sentences": [english_sentence_of_summary(s) for s in b.get("sentences", [])],
        }
        for b in blocks
    ]


def english_respondents(resp: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The method section's respondents table in English notation: ``1 843`` → ``1,843``, ``färre än 30`` →
    ``fewer than 30``."""
    if resp is None:
        return None
    rows = [(d, [english_text(str(v)).replace("färre än", "fewer than") for v in vals]) for d, vals in resp["rows"]]
    return {**resp, "rows": rows}


NOTE_PATTERNS: list[tuple[str, str]] = [
    (
        r"^Tabellen för gruppen ”(.+?)” saknas: inga sådana indikatorer i skattningarna\.$",
        r"The table of the group ”\1” is missing: no such indicators in the estimates.",
    ),
    (
        r"^Tabellen efter kön och åldersgrupp saknas: skattningarna har inga sådana domäner \(kolumnerna (.+?)\)\.$",
        r"The table by sex and age group is missing: the estimates have no such domains (the columns \1).",
    ),
    (
        r"^Trendtabellen saknas: ingen trendmodell i körningen\.$",
        "The trend table is missing: no trend model in the run.",
    ),
    (
        r"^PNG och PDF av tabellerna saknas: Chromium finns inte på datorn\.$",
        "PNG and PDF of the tables are missing: Chromium is not installed.",
    ),
]
_NOTES = [(re.compile(p), r) for p, r in NOTE_PATTERNS]


def english_notes(notes: Sequence[str]) -> list[str]:
    """The index's notes (:func:`reports.publish.build_tables`' missing tables) in English; others unchanged."""
    out = []
    for note in notes:
        for pat, rep in _NOTES:
            note = pat.sub(rep, note)
        out.append(note)
    return out


# the interactive comparison page (reports/templates/interactive.html and interactive.js)
PAGE_TEXTS["sv"].update(
    {
        "ia_intro": "Välj områden, en indikator och år. Sidan fungerar utan internetanslutning; alla uppgifter finns "
        "i filen. Dolda uppgifter (..) finns inte i sidans data.",
        "ia_districts": "Områden",
        "ia_indicator": "Indikator",
        "ia_years": "År",
        "ia_shares": "Andelar",
        "ia_diff": "Skillnad mellan två områden",
        "ia_year": "År",
        "ia_diff_pp": "Skillnad (procentenheter)",
        "ia_ci_unadjusted": "konfidensintervall (ojusterat)",
        "ia_adj_p": "Justerat p",
        "ia_significant": "Signifikant",
        "ia_diff_note": "Skillnad = första valda området minus det andra, i procentenheter. * = skillnaden är "
        "statistiskt säker: {p_label} under signifikansnivån. Uppgiften saknas (.) när ingen jämförelse beräknats, "
        "och redovisas inte (..) när någon av andelarna är dold.",
        "ia_trend": "Utveckling över tid",
        "ia_ranking": "Rangordning",
        "ia_place": "Plats",
        "ia_district": "Område",
        "ia_share": "Andel",
        "ia_ci": "Konfidensintervall",
        "ia_source": "Källa: {source}; körning {run_id}. Andelar med {level}",
        "ia_source_end": " konfidensintervall; .. = uppgiften redovisas inte (för få svarande, för osäker eller dold "
        "för att skydda en annan uppgift).",
    }
)
PAGE_TEXTS["en"].update(
    {
        "ia_intro": "Pick districts, an indicator and years. The page works without an internet connection; every "
        "figure is in the file. Hidden figures (..) are not in the page's data.",
        "ia_districts": "Districts",
        "ia_indicator": "Indicator",
        "ia_years": "Years",
        "ia_shares": "Shares",
        "ia_diff": "Difference between two districts",
        "ia_year": "Year",
        "ia_diff_pp": "Difference (percentage points)",
        "ia_ci_unadjusted": "confidence interval (unadjusted)",
        "ia_adj_p": "Adjusted p",
        "ia_significant": "Significant",
        "ia_diff_note": "Difference = the first district chosen minus the second, in percentage points. * = the "
        "difference is statistically significant: {p_label} below the significance level. Not available (.) when "
        "no comparison was computed, and not published (..) when either share is hidden.",
        "ia_trend": "Over time",
        "ia_ranking": "Ranking",
        "ia_place": "Rank",
        "ia_district": "District",
        "ia_share": "Share",
        "ia_ci": "Confidence interval",
        "ia_source": "Source: {source}; run {run_id}. Shares with {level}",
        "ia_source_end": " confidence intervals; .. = not published (too few respondents, too uncertain or hidden "
        "to protect another figure).",
    }
)
# the script's words (interactive.js reads them from the page data's "words"; Swedish when absent)
IA_SCRIPT_WORDS_EN = {
    "district": "District",
    "choose_two": "Choose two districts to see the difference.",
    "first_two": " (the two districts chosen first)",
    "yes": "Yes",
    "no": "No",
    "chart_label": "Share per year for the chosen districts",
    "rank_title": "The districts by share {year}, highest first; .. = not published.",
    "percent": "%",
}


def english_interactive_data(data: Mapping[str, Any]) -> dict[str, Any]:
    """The interactive page's data in English: texts in English notation (``27.4%``, ``+3.2``), indicator
    labels and groups, the p-value label, and the script's words (``words``). Values are unchanged."""

    def est(row: list[Any]) -> list[Any]:
        return [row[0], english_text(row[1]), row[2], row[3], english_text(row[4]), row[5]]

    def cmp(row: list[Any]) -> list[Any]:
        return [row[0], *(english_text(x) for x in row[1:5]), row[5]]

    return {
        **data,
        "indicators": [
            {
                **i,
                "label": EN_INDICATORS[i["id"]][0] if i["id"] in EN_INDICATORS else english_sentence(i["label"]),
                "group": EN_GROUPS.get(i["group"], i["group"]),
            }
            for i in data["indicators"]
        ],
        "estimates": {
            ind: {d: {y: est(r) for y, r in by_y.items()} for d, by_y in by_d.items()}
            for ind, by_d in data["estimates"].items()
        },
        "comparisons": {
            ind: {y: {k: cmp(r) for k, r in by_k.items()} for y, by_k in by_y.items()}
            for ind, by_y in data["comparisons"].items()
        },
        "p_label": english_sentence(str(data["p_label"])),
        "words": IA_SCRIPT_WORDS_EN,
    }
