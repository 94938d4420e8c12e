"""Every message trygghet shows a person has English (issue 12), complete by construction.

:mod:`tests.lang_sites` collects, with ``ast``, every message template of ``survey/``, ``reports/`` and ``flows/``:
the message of every ``TrygghetError`` subclass raised (and of a builtin error with a Swedish message: a pydantic
validator's ``ValueError`` becomes a ``ConfigError``), every note and progress text, the texts passed through
helpers to them, and the texts their values may hold. These tests fail when

- a template has no English in the catalogs of :mod:`survey.pipeline.english` (a new Swedish-only error),
- a catalog entry is no longer a template of the source (a changed wording: its English must follow),
- a Swedish-looking literal of ``survey/`` is in none of the collected templates and not listed in
  :data:`NOT_MESSAGES` with its reason (a message the collector cannot see: make it visible or list it),
- the English rendering of a message built from any template, with representative values and with each value a
  text the source shows it may hold (an input error with its file, row and column), has Swedish left.
"""

from __future__ import annotations

import re
import string
from functools import cache

import pytest

from survey.errors import InputError
from survey.pipeline.english import catalog, compile_entry, entries, number
from survey.pipeline.i18n import english
from tests.lang_sites import (
    WORD,
    Collector,
    Leftover,
    Template,
    collect_source,
    leftovers,
    literal_text,
    load_modules,
    looks_swedish,
    needs_english,
    swedish_words,
)

# Swedish literals of survey/ that are not messages of the library, with the reason
NOT_MESSAGES: dict[tuple[str, str | None], str] = {
    ("survey/data/synth.py", None): (
        "synthetic data (district, person and street names, free-text answers); synth's summary has its own "
        "English (synth_command(lang=...), test_lang)"
    ),
    (
        "survey/pipeline/outputs.py",
        None,
    ): "the report's method line: English through reports.translate (test_lang_report)",
    ("survey/data/codebook.py", "Född i Sverige"): "an answer label of the codebook (data)",
    ("survey/data/codebook.py", "Född utomlands"): "an answer label of the codebook (data)",
    ("survey/data/encodings.py", "åäöÅÄÖ"): "letters the encoding guess counts, not a text",
    ("survey/data/encodings.py", "rad {}"): "a location: the location words of survey.pipeline.english (PHRASES)",
    ("survey/data/encodings.py", "kolumn {}"): "a location: the location words of survey.pipeline.english (PHRASES)",
    ("survey/errors.py", "rad {}"): "InputError's location: the location words of survey.pipeline.english (PHRASES)",
    ("survey/errors.py", "kolumn {}"): "InputError's location: the location words of survey.pipeline.english (PHRASES)",
    ("survey/data/validate.py", "[fritext utelämnad]"): "stands for withheld free text in a quarantine record (data)",
}
NEUTRAL = [f"X{i}" for i in range(1, 20)]  # values that are neither Swedish nor English words


@cache
def collected() -> tuple[list[Template], Collector]:
    c = Collector(load_modules())
    return c.collect(), c


@cache
def left_literals() -> list[Leftover]:
    return leftovers(collected()[1])


@cache
def vocabulary() -> frozenset[str]:
    """Words of the Swedish templates that no English template uses (``FIL``, ``viktar``, ``avvisas`` …)."""
    sv = {w.lower() for key in catalog() for w in WORD.findall(literal_text(key))}
    en = {w.lower() for text in catalog().values() for w in WORD.findall(literal_text(text))}
    return frozenset(w for w in sv - en if not w.isdigit())


def _covered(template: str, keys: dict[str, str]) -> bool:
    """A literal that is part of a concatenation with values around it is covered by the template with them."""
    return any(k in keys for k in (template, "{}" + template, template + "{}", "{}" + template + "{}"))


def test_every_message_template_has_english():
    templates, _ = collected()
    keys = catalog()
    missing = sorted(
        {f"{t.path}:{t.line}: {t.text!r}" for t in templates if needs_english(t.text) and t.text not in keys}
    )
    assert missing == [], "add the English of these templates to survey/pipeline/english/*.py:\n" + "\n".join(missing)


def test_every_catalog_entry_is_a_template_of_the_source():
    used = {t.text for t in collected()[0]}
    for left in left_literals():
        for t in left.templates:
            used |= {t, "{}" + t, t + "{}", "{}" + t + "{}"}
    stale = sorted(k for k in catalog() if k not in used)
    assert stale == [], "no longer in the source (reworded or removed?):\n" + "\n".join(stale)


def _exempt(path: str, text: str) -> bool:
    return (path, None) in NOT_MESSAGES or (path, text) in NOT_MESSAGES


def test_every_swedish_literal_is_a_collected_message_or_listed():
    """The net under the collector: a Swedish text of the library that reaches a person by a path the collector
    does not follow (a tuple returned, a dataclass field) must still have English, or be listed as no message."""
    keys = catalog()
    unknown = []
    for left in left_literals():
        if _exempt(left.path, left.text) or all(_covered(t, keys) for t in left.templates):
            continue
        unknown.append(f"{left.path}:{left.line}: {left.templates}")
    assert unknown == [], (
        "Swedish texts no message site reaches: give them English in survey/pipeline/english/*.py, or list them "
        "in NOT_MESSAGES with the reason they are no message:\n" + "\n".join(unknown)
    )
    # every listed exemption is still needed
    listed = {(left.path, left.text) for left in left_literals()} | {(left.path, None) for left in left_literals()}
    assert set(NOT_MESSAGES) <= listed, set(NOT_MESSAGES) - listed


def _fields(template: str) -> list[str | None]:
    return [p[1] for p in string.Formatter().parse(template.replace("{{", "").replace("}}", ""))]


def test_catalog_templates_agree():
    """An English template takes the Swedish template's values: ``{}`` as many, or ``{0}``… within range; values
    side by side in the Swedish stay side by side (in order) in the English; nothing Swedish in the English."""
    bad = []
    for sv, en in catalog().items():
        n = compile_entry(sv, en).fields
        names = [f for f in _fields(en) if f is not None]
        if any(f == "" for f in names):
            if len(names) != n or any(f != "" for f in names):
                bad.append(f"{sv!r}: {len(names)} fields in the English, {n} in the Swedish")
        elif any(not f.isdigit() or int(f) >= n for f in names):
            bad.append(f"{sv!r}: fields {names} for {n} values")
        for m in re.finditer(r"(?<!\{)\{\}(\{\})+", sv.replace("{{", "")):
            k = m.group().count("{}")
            start = sv[: m.start()].replace("{{", "").count("{}")
            side = "{}" * k if "{}" in en else "".join(f"{{{start + i}}}" for i in range(k))
            if side not in en:
                bad.append(f"{sv!r}: the values {start}..{start + k - 1} must stay side by side as {side}")
        words = swedish_words(literal_text(en))
        if words:
            bad.append(f"{sv!r}: Swedish in the English: {words}")
    assert bad == [], "\n".join(bad)


def _sample(template: str, values: list[str]) -> str:
    vals = iter(values)
    return re.sub(r"(?<!\{)\{\}(?!\})", lambda _m: next(vals), template).replace("{{", "{").replace("}}", "}")


@cache
def fragments() -> dict[str, Template]:
    return {f.text: f for f in collected()[0] if f.kind == "fragment"}


def _samples(t: Template) -> list[str]:
    """The template with neutral values, and with each value in turn set to each text it may hold."""
    n = t.text.replace("{{", "").count("{}")
    base = NEUTRAL[:n]
    out = [_sample(t.text, base)]
    frags = fragments()
    for i, texts in enumerate(t.fields[:n]):
        for text in texts:
            if not needs_english(text):
                continue
            frag = frags.get(text)
            k = text.replace("{{", "").count("{}")
            value = _sample(text, NEUTRAL[10 : 10 + k]) if frag is not None or k else text
            out.append(_sample(t.text, base[:i] + [value] + base[i + 1 :]))
    if t.error == "InputError":
        file, row, column = t.location
        out = [
            str(InputError(s, "data.csv" if file else None, 7 if row else None, "q_1" if column else None)) for s in out
        ]
    return out + [f"--some-option: {out[0]}"]


def _left_swedish(text: str) -> list[str]:
    for v in NEUTRAL + ["data.csv", "q_1", "some-option"]:
        text = text.replace(v, " ")
    return swedish_words(text, vocabulary())


@pytest.mark.parametrize("kind", ["site", "fragment"])
def test_english_of_every_message_has_no_swedish_left(kind):
    """Every site's message (with each value a text it may hold) and every fragment on its own, in English."""
    left = []
    for t in collected()[0]:
        if t.kind != kind or not needs_english(t.text):
            continue
        samples = _samples(t) if kind == "site" else [_sample(t.text, NEUTRAL[: t.text.replace("{{", "").count("{}")])]
        for sample in samples:
            words = _left_swedish(english(sample))
            if words:
                left.append(f"{t.path}:{t.line}: {english(sample)!r} (Swedish: {words})")
    assert left == [], "\n".join(left)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (  # an f-string error
            "from survey.errors import StoreError\n"
            "def f(x):\n"
            "    raise StoreError(f'Något helt nytt gick fel med {x!r}.')\n",
            "Något helt nytt gick fel med {}.",
        ),
        (  # a message passed through a helper, built by concatenation
            "from survey.errors import InputError\n"
            "def _fail(reason, name):\n"
            "    raise InputError(f'filen avvisas: {reason}', name)\n"
            "def check(name, n):\n"
            "    _fail('kolumnen ' + str(n) + ' är ny och okänd', name)\n",
            "kolumnen {} är ny och okänd",
        ),
        (  # a note and a value chosen from a dict
            "WHY = {'a': 'ett nytt skäl utan översättning'}\n"
            "def f(notes, k):\n"
            "    notes.append(f'raden hoppades över: {WHY[k]}')\n",
            "ett nytt skäl utan översättning",
        ),
    ],
)
def test_a_new_swedish_only_message_is_found(source, expected):
    found = {t.text for t in collect_source("survey/new_module.py", source)}
    assert expected in found, found
    assert expected not in catalog() and needs_english(expected)


def test_rendering_examples():
    """Nested and composed messages, values in English too."""
    cases = {
        # an input error's location, a list and a hint beside it
        "svar.csv, rad 1, kolumn sex: saknar obligatoriska kolumner sex, age_group; filen har resp_id, year "
        "(avgränsare ',': är det rätt avgränsare?)": "svar.csv, row 1, column sex: lacks the required columns sex, "
        "age_group; the file has resp_id, year (delimiter ',': is it the right delimiter?)",
        # an action inside the store's error, a Swedish object word of PostgreSQL's refusal
        "Kan inte läsa svaren i databasen sqlite:///x.db: tabellen responses.": (
            "Cannot read the responses in the database sqlite:///x.db: the table responses."
        ),
        # a list of tips joined by ", " and " eller ", a prefix value side by side with the method
        "replikat 3: raking-kalibreringen konvergerade inte på 50 iterationer (2 block): i year 2024, district X "
        "missar marginalen m, cellen sex 1, sin totalsumma 100 med 0.5 (relativt 0.01). Marginalernas totaler "
        "stämmer överens; prova fler iterationer (--maxit, nu 50), vidare gränser än [0.3, 3] (--lower/--upper), "
        "slå ihop små celler (--collapse sex) eller en annan metod (--method linear)": (
            "replicate 3: raking calibration did not converge in 50 iterations (2 blocks): in year 2024, district X "
            "the margin m, cell sex 1, misses its total 100 by 0.5 (relative 0.01). The margins' totals agree; try "
            "more iterations (--maxit, now 50), wider bounds than [0.3, 3] (--lower/--upper), collapsing small "
            "cells (--collapse sex) or another method (--method linear)"
        ),
        # quarantine reasons inside the rejection, each example with its location
        "x.csv, rad 5, kolumn sex: vågen avvisas: 30 av 100 rader (30,0\u00a0%) klarade inte radkontrollerna, fler "
        "än de 5,0\u00a0% som tillåts (--max-bad-share). Fel per kontroll och kolumn: code i sex: 20; missing i "
        "district: 10. Första exemplen: x.csv rad 5, kolumn sex: '9' är inte en giltig kod för sex (1, 2); x.csv "
        "rad 6, kolumn district: district är tomt.": (
            "x.csv, row 5, column sex: the wave is rejected: 30 of 100 rows (30.0%) failed the row checks, more "
            "than the 5.0% allowed (--max-bad-share). Failures by check and column: code in sex: 20; missing in "
            "district: 10. First examples: x.csv row 5, column sex: '9' is not a valid code for sex (1, 2); x.csv "
            "row 6, column district: district is empty."
        ),
        # an optional value before the words of the template (version 3 of)
        "Det finns ingen version 3 av publicerad tabell 'x' för 2024.": (
            "There is no version 3 of the published table 'x' for 2024."
        ),
        "bruttourvalet avvisas: 'x' är inte en giltig kod för sex (1, 2) (3 rader till)": (
            "the gross sample is rejected: 'x' is not a valid code for sex (1, 2) (3 more rows)"
        ),
        # a nested error as a value
        "trimning till g i [0.5, 2] med omkalibrering är omöjlig: kalibreringen behöver minst en marginal; vidga "
        "trimgränserna (--trim-lower/--trim-upper) eller trimma en gång (--trim-mode once)": (
            "trimming to g in [0.5, 2] with recalibration is impossible: the calibration needs at least one margin; "
            "widen the trim bounds (--trim-lower/--trim-upper) or trim once (--trim-mode once)"
        ),
        "Det finns ingen körning 'r9' i databasen.": "There is no run 'r9' in the database.",
        # a population row's reason, then its cell and the count of further rows, each a fragment of its own
        "befolkningsfilen avvisas: district 'Totalt' är reserverat: 'Totalt' är raden för alla områden tillsammans "
        "och '<område> (modell)' en modellskattning; byt namn på området i båda filerna (cell 2022/Totalt/1/16-24) "
        "(41 rader till är felaktiga)": (
            "the population file is rejected: district 'Totalt' is reserved: 'Totalt' is the row of all districts "
            "together and '<district> (modell)' a model estimate; rename the district in both files (cell "
            "2022/Totalt/1/16-24) (41 more rows invalid)"
        ),
        "ett fritt, okänt meddelande": "ett fritt, okänt meddelande",  # no template: unchanged
    }
    for sv, en in cases.items():
        assert english(sv) == en, (sv, english(sv))


def test_numbers_in_english_notation():
    assert [number(t) for t in ("0,05", "1\u00a0843", "27,4\u00a0%", "−3,2", "2024", "a,b")] == [
        "0.05",
        "1,843",
        "27.4%",
        "−3.2",
        "2024",
        "a,b",
    ]
    # a Swedish number as a value of a message
    assert english("pool måste vara minst 1, fick 0,5") == "pool must be at least 1, got 0.5"


def test_most_specific_template_first():
    weights = [e.weight for e in entries()]
    assert weights == sorted(weights, reverse=True)
    assert not any(looks_swedish(literal_text(e.english)) for e in entries())
