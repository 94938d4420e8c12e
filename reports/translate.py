"""English tables (``--lang en``): :func:`translate_table` turns a table built in Swedish into its English
form, and :func:`english_text` a Swedish display text into English notation.

What is translated: title, subtitle, stub and spanner labels, column and row labels (indicators by their
codebook name, groups, sexes), row groups, footnotes (the standard notes of :mod:`reports.tables` and
:mod:`reports.signals`, the default method line, question footnotes), the source line, the XLSX sheet name,
and every cell text: ``27,4 %`` → ``27.4%``, ``−3,2`` → ``−3.2``, ``1 843`` → ``1,843``, ``<0,001`` →
``<0.001`` (``..``, ``.``, ``*``, ▲ and ▼ stay). Values are never touched. A text without an English form
(a codebook's Swedish question wording, a method line a run sets) stays Swedish. The table records its
language in ``dims["lang"]`` (kept by the table store), so the XLSX, PX and JSON-stat writers label it in
English too. The Swedish table is never changed: Swedish output stays byte-identical.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from reports.formats import NBSP
from reports.labels import DEFAULT_METHOD, GROUP_LABELS
from reports.tabledata import TableData

# English labels of the trygghet-v1 indicators: (label, short column label)
EN_INDICATORS: dict[str, tuple[str, str]] = {
    "unsafe_after_dark": ("Share feeling unsafe outdoors alone late in the evening", "Unsafe after dark"),
    "safe_after_dark": ("Share feeling safe outdoors alone late in the evening", "Safe after dark"),
    "worried_crime": ("Share worried about crime in society", "Worried about crime"),
    "problem_littering": ("Share who see littering as a big problem", "Littering"),
    "problem_dark_places": ("Share who see badly lit places as a big problem", "Badly lit places"),
    "problem_graffiti": ("Share who see graffiti as a big problem", "Graffiti"),
    "problem_vandalism": ("Share who see vandalism as a big problem", "Vandalism"),
    "problem_youth_groups": ("Share who see disruptive youth gangs as a big problem", "Disruptive youth gangs"),
    "problem_drug_dealing": ("Share who see drug dealing as a big problem", "Drug dealing"),
    "problem_drunk_people": ("Share who see disruptive drunk people as a big problem", "Disruptive drunk people"),
    "problem_traffic": ("Share who see traffic as a big problem", "Traffic"),
    "victim_violence": ("Share exposed to violence or threats in the last 12 months", "Violence or threats"),
    "victim_theft": ("Share exposed to theft in the last 12 months", "Theft"),
    "victim_vandalism": ("Share exposed to vandalism in the last 12 months", "Vandalism (exposed)"),
    "police_care": ("Share who agree that the police care about local problems", "Police care"),
}
# the v1 codebook's Swedish labels (label_sv), so that a label inside any title is translated too
SV_LABELS: dict[str, str] = {
    "unsafe_after_dark": "Andel otrygga ute ensam sent en kväll",
    "safe_after_dark": "Andel trygga ute ensam sent en kväll",
    "worried_crime": "Andel oroliga över brottsligheten i samhället",
    "problem_littering": "Andel som ser nedskräpning som ett stort problem",
    "problem_dark_places": "Andel som ser dåligt upplysta platser som ett stort problem",
    "problem_graffiti": "Andel som ser klotter som ett stort problem",
    "problem_vandalism": "Andel som ser skadegörelse som ett stort problem",
    "problem_youth_groups": "Andel som ser störande ungdomsgäng som ett stort problem",
    "problem_drug_dealing": "Andel som ser narkotikaförsäljning som ett stort problem",
    "problem_drunk_people": "Andel som ser störande berusade personer som ett stort problem",
    "problem_traffic": "Andel som ser trafiken som ett stort problem",
    "victim_violence": "Andel utsatta för våld eller hot om våld senaste 12 månaderna",
    "victim_theft": "Andel utsatta för stöld senaste 12 månaderna",
    "victim_vandalism": "Andel utsatta för skadegörelse senaste 12 månaderna",
    "police_care": "Andel som instämmer i att polisen bryr sig om de lokala problemen",
}
EN_GROUPS = {
    "Trygghet": "Safety",
    "Oro": "Worry",
    "Problem i bostadsområdet": "Problems in the neighbourhood",
    "Utsatthet för brott": "Victimisation",
    "Polisen": "The police",
}
EN_FIXED = {
    **EN_GROUPS,
    "Område": "District",
    "Svar": "Answer",
    "Indikator": "Indicator",
    "År": "Year",
    "Kön": "Sex",
    "Åldersgrupp": "Age group",
    "Man": "Men",
    "Kvinna": "Women",
    "Skillnad (procentenheter)": "Difference (percentage points)",
    "Oddskvot per år": "Odds ratio per year",
    "Andel i procent": "Share in per cent",
    "Andel i procent och skillnad i procentenheter": "Share in per cent and difference in percentage points",
    "Oddskvot per år från vägd logistisk regression (indikator ~ år + område)": (
        "Odds ratio per year from a weighted logistic regression (indicator ~ year + district)"
    ),
    "Problem i bostadsområdet: andel som anser att det är ett mycket eller ganska stort problem": (
        "Problems in the neighbourhood: share who consider it a very or fairly big problem"
    ),
    "Utsatthet för brott de senaste 12 månaderna": "Victimisation in the last 12 months",
    "Förtroende: polisen bryr sig om de lokala problemen": "Trust: the police care about local problems",
    "Förtroende för polisen": "Trust in the police",
    "Kön och åldersgrupp": "Sex and age group",
    "Trend: förändring per år": "Trend: change per year",
    "Trend": "Trend",
    "Andel i procent per svarsalternativ": "Share in per cent per answer option",
    "Andel i procent, modellskattning – inte direkt skattning": (
        "Share in per cent, model estimate – not a direct estimate"
    ),
    "Små områden (modell)": "Small areas (model)",
    "Metod: " + DEFAULT_METHOD + ".": (
        "Method: weighted shares; weights calibrated (raking) to the population by district × sex and "
        "district × age group; standard errors by Taylor linearisation accounting for the calibration; "
        "confidence intervals on the logit scale."
    ),
}
_CRIT = r"\((.+?) < ([\d,]+)\)"
EN_PATTERNS: list[tuple[str, str]] = [
    # the small-area table (reports.smallarea)
    (
        r"^Andel i procent, modellskattning \(Fay–Herriot\), med (\d+) % intervall från modellens medelkvadratfel "
        r"\(MSE\)\. Erbjuds bara för områden vars direkta skattning inte redovisas för att för få har svarat \(färre "
        r"än (\d+)\) eller för att den är för osäker; den ersätter inte direktskattningen och jämförs inte med andra "
        r"områden\.$",
        r"Share in per cent, model estimate (Fay–Herriot), with a \1% interval from the model's mean squared error "
        r"(MSE). Offered only for districts whose direct estimate is not published because too few answered (fewer "
        r"than \2) or because it is too uncertain; it does not replace the direct estimate and is not compared with "
        r"other districts.",
    ),
    (
        r"^Modell: Fay–Herriot \(områdesnivå\), per år och indikator, .*$",
        r"Model: Fay–Herriot (area level), per year and indicator, with the districts as small areas on the logit "
        r"scale and a common mean; the between-area variance is estimated by REML and the MSE by the Prasad–Rao "
        r"approximation (Rao & Molina 2015, ch. 6). The estimate is a weighted mean of the district's direct "
        r"estimate and the common mean, with less weight on the district's own answers the fewer they are.",
    ),
    (
        r"^\.\. Ingen modellskattning: direktskattningen redovisas i områdestabellen, .*$",
        r".. No model estimate: the direct estimate is published in the district table, or is hidden to protect "
        r"another district, or the model rests more than half on the district's own few answers (the model "
        r"estimate would then in practice be the hidden direct estimate).",
    ),
    (
        r"^Skydd mot återräkning: .*±(\d+),(\d+) procentenheter.*$",
        r"Protection against back-calculation: the interval rests on the largest mean squared error the model "
        r"can have when the district's own answers weigh less than half, not on the district's own, so it does "
        r"not show how much the estimate rests on the district's answers. A model estimate is published only "
        r"when, also together with the model's common mean, it leaves the hidden direct estimate undetermined "
        r"within at least ±\1.\2 percentage points; otherwise .. is shown.",
    ),
    (r"modellskattning \(Fay–Herriot\)", "model estimate (Fay–Herriot)"),
    # the answer distributions (reports.distributions) and sex and age per district (reports.domains)
    (
        r"^Andel i procent av dem som besvarat frågan \(alla svarsalternativ, även ”vet ej”\), med (\d+) % "
        r"konfidensintervall; n = ovägt antal som besvarat frågan i området\. Andelarna summerar till 100 %\.$",
        r"Share in per cent of those who answered the question (every answer option, ”don't know” too), with \1% "
        r"confidence interval; n = unweighted number who answered the question in the district. The shares add up "
        r"to 100%.",
    ),
    (
        r"^\.\. Fördelningen redovisas inte: för få svarande \(färre än (\d+)\), någon andel för osäker, en "
        r"indikator för frågan dold i området, eller dold för att en annan dold fördelning inte ska kunna räknas "
        r"fram ur Totalt\.$",
        r".. The distribution is not published: too few respondents (fewer than \1), a share too uncertain, an "
        r"indicator of the question hidden in the district, or hidden so that another hidden distribution cannot "
        r"be derived from Totalt.",
    ),
    (
        r"^Dolda uppgifter \(\.\.\) skyddas i båda riktningarna: varken områdets andel eller gruppens andel i "
        r"Totalt gör det möjligt att räkna fram en dold cell\.$",
        r"Hidden figures (..) are protected both ways: neither the district's share nor the group's share in "
        r"Totalt makes it possible to derive a hidden cell.",
    ),
    # the run's method line (survey.pipeline.outputs.method_text; --pool and --gross-sample parts stay Swedish)
    (r" och totalen av (.+?) per område och år\)", r" and the total of \1 per district and year)"),
    (
        r"Kalibrerade vikter \((raking|linjär kalibrering \(GREG\)|logit-kalibrering) mot kön och ålder per område "
        r"och år(.*?)\); (Taylorlinjäriserade standardfel|standardfel med [^;]+); (\d+) % konfidensintervall på "
        r"logitskalan",
        r"Calibrated weights (\1 to sex and age per district and year\2); \3; \4% confidence intervals on the logit "
        r"scale",
    ),
    (r"\bTaylorlinjäriserade standardfel\b", "Taylor-linearised standard errors"),
    (  # --variance jackknife | bootstrap:R (survey.pipeline.outputs.variance_text)
        r"standardfel med (jackknife \(JKn|bootstrap \(Rao–Wu, (\d+) replikat), varje replikat kalibrerat för sig\) "
        r"för områden och Totalt, Taylorlinjäriserade för kön, ålder, svarsfördelningar och trender",
        r"\1, each replicate calibrated on its own) standard errors for districts and Totalt, Taylor-linearised for "
        r"sex, age, answer distributions and trends",
    ),
    (r"\(Rao–Wu, (\d+) replikat,", r"(Rao–Wu, \1 replicates,"),
    (
        r"; sammanslagna år: varje område skattas över (\d+) på varandra följande undersökningsår och redovisas "
        r"under periodens sista år( \(.+?\))?; jämförelsen med föregående period gäller perioden som slutar (\d+) "
        r"undersökningsår tidigare",
        r"; pooled years: each district is estimated over \1 consecutive survey years and shown under the period's "
        r"last year\2; the comparison with the previous period is with the period ending \3 survey years earlier",
    ),
    (
        r"; svarsandel i bruttourvalet (.+?) \(per område, kön och ålder i response_rates\.csv\); ",
        r"; response "
        r"rate in the gross sample \1 (per district, sex and age in response_rates.csv); ",
    ),  # fmt: skip
    (
        r"bortfallsjusterade designvikter \(viktningsklasser område × kön × ålder\) före kalibreringen",
        "non-response adjusted design weights (weighting classes district × sex × age) before calibration",
    ),
    (
        r"bortfallsjusterade designvikter \(1 / skattad svarsbenägenhet, logistisk regression på område, kön och "
        r"ålder\) före kalibreringen",
        "non-response adjusted design weights (1 / estimated response propensity, logistic regression on "
        "district, sex and age) before calibration",
    ),
    (r"ingen bortfallsjustering före kalibreringen", "no non-response adjustment before calibration"),
    (r"\(linjär kalibrering \(GREG\) to", "(linear calibration (GREG) to"),
    (r"\(logit-kalibrering to", "(logit calibration to"),
    (r"^Andel i procent, (.+)$", r"Share in per cent, \1"),
    (r"^Samtliga områden efter kön och åldersgrupp, (\d+)$", r"All districts by sex and age group, \1"),
    (r"^(.+) jämfört med (.+), (\d+)$", r"\1 compared with \2, \3"),
    (r"^(.+), per område och år$", r"\1, by district and year"),
    (r"^(.+), efter kön och åldersgrupp per område, (\d+)$", r"\1, by sex and age group per district, \2"),
    (r"^Svarsfördelning: (.+), (\d+)$", r"Answer distribution: \1, \2"),
    (r"^Små områden: (.+), (\d+)$", r"Small areas: \1, \2"),
    (r"^Svar (\S+)$", r"Answers \1"),
    (r"^Kön, ålder – (.+)$", r"Sex, age – \1"),
    (r"^(.+) mot (.+) (\d+)$", r"\1 vs \2 \3"),
    (
        rf"^Andel i procent\. Under varje andel: (\d+)[ {NBSP}]?% konfidensintervall inom parentes och ovägt antal "
        r"svarande \(n\)\.$",
        r"Share in per cent. Below each share: \1% confidence interval in brackets and the unweighted number of "
        r"respondents (n).",
    ),
    (
        r"^Bas: alla som besvarat frågan, inklusive ”vet ej”/”ingen uppfattning”; obesvarade frågor ingår inte\.$",
        r"Base: everyone who answered the question, including ”don't know”/”no opinion”; unanswered questions are "
        r"not included.",
    ),
    (
        r"^Förändring sedan föregående år i procentenheter; \* statistiskt säkerställd förändring "
        + _CRIT
        + r"\. Det p-värde som anges är det justerade\. \(just\. p = (.+)\.\)$",
        r"Change since the previous year in percentage points; * statistically significant change (\1 < \2). "
        r"The p-value shown is the adjusted one (adj. p = \3).",
    ),
    (
        r"^▲/▼ Statistiskt säkerställt högre/lägre än Totalt samma år "
        + _CRIT
        + rf"\. Raden ”jfr{NBSP}Totalt{NBSP}p” anger det justerade p-värdet\.$",
        rf"▲/▼ Statistically significantly higher/lower than Totalt the same year (\1 < \2). The line "
        rf"”vs{NBSP}Totalt{NBSP}p” gives the adjusted p-value.",
    ),
    (
        r"^\.\. Uppgiften redovisas inte: för få svarande \(färre än (\d+)\), för osäker, eller dold för att en annan "
        r"dold uppgift inte ska kunna räknas fram; då redovisas inte heller förändringar och skillnader som bygger "
        r"på den\.$",
        r".. Not published: too few respondents (fewer than \1), too uncertain, or hidden so that another hidden "
        r"figure cannot be derived; changes and differences based on it are not published either.",
    ),
    (
        r"^\.\. Uppgiften redovisas inte: för få svarande \(färre än (\d+)\), för osäker eller dold för att skydda en "
        r"annan dold uppgift; då redovisas inte heller skillnaden\.$",
        r".. Not published: too few respondents (fewer than \1), too uncertain, or hidden to protect another "
        r"hidden figure; the difference is not published either.",
    ),
    (
        rf"^Andel i procent med (\d+)[ {NBSP}]?% konfidensintervall och ovägt antal svarande \(n\)\. Skillnad = (.+) "
        rf"minus (.+), i procentenheter, med ojusterat (\d+)[ {NBSP}]?% konfidensintervall och (.+) \(”just\. p”\)\.$",
        r"Share in per cent with \1% confidence interval and the unweighted number of respondents (n). Difference "
        r"= \2 minus \3, in percentage points, with an unadjusted \4% confidence interval and \5 (”adj. p”).",
    ),
    (r"^\* Statistiskt säkerställd skillnad " + _CRIT + r"\.$", r"* Statistically significant difference (\1 < \2)."),
    (
        r"^\* Statistiskt säkerställd trend \((.+?) < ([\d,]+), justerat över indikatorerna i tabellen\)\.$",
        r"* Statistically significant trend (\1 < \2, adjusted over the indicators of the table).",
    ),
    (
        rf"^Oddskvot över 1 = andelen ökar över tid, under 1 = minskar\. (\d+)[ {NBSP}]?% konfidensintervall och "
        r"Waldtest från designbaserade standardfel \(normalapproximation\); (.+)\.$",
        r"An odds ratio above 1 = the share increases over time, below 1 = decreases. \1% confidence interval and "
        r"Wald test from design-based standard errors (normal approximation); \2.",
    ),
    (r"^Fråga: (.+?) Andelen avser svaren (.+)\.$", r"Question (Swedish wording): \1 The share counts the answers \2."),
    (r"^Fråga: ", "Question (Swedish wording): "),
    (r"^Metod: ", "Method: "),
    (r"^Källa: (.+?); kodbok (.+?)(; körning (.+))?\.$", r"Source: \1; codebook \2; run \4."),
    (r"; run \.$", "."),
    # the wording of the significance rule inside any note
    (r"justerat p \((.+?)\)", r"adjusted p (\1)"),
    (r"p \(ojusterat\)", "p (unadjusted)"),
    (r"ingen justering", "no adjustment"),
    (r"(\d),(\d)", r"\1.\2"),
    (r"(\d) %(?=[,;) ]|$)", r"\1%"),
]
_COMPILED = [(re.compile(p), r) for p, r in EN_PATTERNS]


def english_sentence(text: str) -> str:
    """A Swedish table text (title, note, label) in English, or unchanged when there is no English form."""
    if text in EN_FIXED:
        return EN_FIXED[text]
    out = text
    for name, sv in SV_LABELS.items():  # a codebook label anywhere in the text
        if sv in out:
            out = out.replace(sv, EN_INDICATORS[name][0])
    for pat, rep in _COMPILED:
        out = pat.sub(rep, out)
    return out


def english_text(text: str) -> str:
    """A Swedish display text in English notation: ``27,4 %`` → ``27.4%``, ``1 843`` → ``1,843``."""
    return str(text).replace(NBSP + "%", "%").replace(",", ".").replace(NBSP, ",")


LINE_WORDS = (
    (f"just.{NBSP}p", f"adj.{NBSP}p"),
    (f"jfr{NBSP}Totalt{NBSP}p", f"vs{NBSP}Totalt{NBSP}p"),
    (f"{NBSP}pe", f"{NBSP}pp"),
    (" till ", " to "),
)


def english_line(text: str) -> str:
    """A small line of an HTML/terminal cell in English: ``(16,8–30,3)``, ``just. p = 0,032``, ``+3,2 pe``."""
    for sv, en in LINE_WORDS:
        text = text.replace(sv, en)
    text = re.sub(r"(\d),(\d)", r"\1.\2", text)
    return re.sub(rf"(\d){NBSP}(\d{{3}})", r"\1,\2", text)


def english_words(text: str) -> str:
    """A small line's words in English (:data:`LINE_WORDS`), its numbers as they are."""
    for sv, en in LINE_WORDS:
        text = text.replace(sv, en)
    return text


def english_parts(parts: dict[str, Any]) -> dict[str, Any]:
    """:func:`reports.gt.cell_parts` of an English table: the small lines in English (the main text already is).
    Only the CI line is formatted from the numbers the Swedish way (:func:`reports.gt._ci_text`) and needs
    :func:`english_line`; the other lines take their numbers from the cells' texts, which
    :func:`translate_table` has put in English notation already (``n = 1,978``: converting it again made
    ``1.978``), so only their words change."""
    lines = [
        (cls, english_line(text) if cls == "ci" else english_words(text), mark) for cls, text, mark in parts["lines"]
    ]
    return {**parts, "lines": lines}


def _label(kind: str, key: str, label: str, *, short: bool) -> str:
    if kind == "indicator" and key in EN_INDICATORS:
        return EN_INDICATORS[key][1 if short else 0]
    if label.endswith(" (modell)"):  # a small-area row (reports.smallarea.ROW_SUFFIX)
        return label.removesuffix(" (modell)") + " (model)"
    return EN_FIXED.get(label, label)


def translate_table(t: TableData, lang: str = "en") -> TableData:
    """``t`` in ``lang`` (only ``en`` changes anything; see the module docstring)."""
    if lang != "en" or t.dims.get("lang") == "en":
        return t
    row_kind, col_kind = str(t.dims.get("row")), str(t.dims.get("column"))
    cells = t.cells.copy()
    cells["text"] = [english_text(x) for x in cells["text"].astype(str).tolist()]
    title = t.title
    fixed = t.dims.get("fixed", {})
    if t.kind == "district" and fixed.get("indicator") in EN_INDICATORS:
        title = EN_INDICATORS[fixed["indicator"]][0] + ", by district and year"
        sheet = EN_INDICATORS[fixed["indicator"]][1]
    else:
        title = english_sentence(title)
        sheet = english_sentence(t.sheet_name) if t.sheet_name else ""
    return replace(
        t,
        title=title,
        subtitle=english_sentence(t.subtitle) if t.subtitle else "",
        rows=[(k, _label(row_kind, k, lab, short=False)) for k, lab in t.rows],
        columns=[(k, _label(col_kind, k, lab, short=True)) for k, lab in t.columns],
        dims={**t.dims, "lang": "en"},
        cells=cells,
        stub_label=EN_FIXED.get(t.stub_label, t.stub_label),
        row_groups={k: EN_GROUPS.get(v, GROUP_LABELS.get(v, v)) for k, v in t.row_groups.items()},
        column_spanners={k: EN_FIXED.get(v, v) for k, v in t.column_spanners.items()},
        footnotes=[english_sentence(n) for n in t.footnotes],
        source_note=english_sentence(t.source_note) if t.source_note else "",
        sheet_name=sheet,
    )
