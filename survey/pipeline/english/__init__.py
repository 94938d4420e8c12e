"""English renderings of trygghet's Swedish messages (``--lang en``), for :func:`survey.pipeline.i18n.english`.

The catalogs (:mod:`.core`, :mod:`.data`, :mod:`.store`, :mod:`.run`) map each Swedish message *template* to its
English template. A template is the message as written at its raise site (or note, progress text, helper
argument) with ``{}`` for every value put in: ``f"marginalen {m.name}: svaren har ingen kolumn {missing[0]!r}"``
is ``"marginalen {}: svaren har ingen kolumn {}"``; a literal brace is ``{{``/``}}``. The English template takes
the values as ``{}`` in the same order or as ``{0}``, ``{1}`` … in any order; values that stand side by side in
the Swedish (``{}{}``) are caught together and must stay side by side in the English. ``tests/test_lang_messages``
collects every template from the source and fails when one has no English here (or when an entry is no longer
used), so the keys are always exactly the source's texts.

:func:`render` matches a whole message against the templates (the most specific first: the longest literal
text), and renders each value it caught in English too, so a value that is itself a Swedish text (a reason, a
nested error, ``"läsa svaren"`` in ``"Kan inte {} i databasen …"``, the parts of a list joined by ``", "``) comes
out in English. A message with a label before ``": "`` (an input error's ``file, rad 3, kolumn q_1: …``, an
option ``--trim: …``) is rendered as label and message. What matches nothing keeps its words, with the location
words (``rad`` → ``row``, ``kolumn`` → ``column``) and a list's ``eller`` in English.

Numbers: the messages format numbers with Python (``0.05``, ``5.0%``), the English way, in both languages; a
value written the Swedish way (``0,05``, ``1 843``, ``27,4 %``) is put in English notation (``0.05``, ``1,843``,
``27.4%``), as :mod:`reports.translate` does for English tables.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, lru_cache

from survey.pipeline.english import core, data, run, store

NBSP = "\u00a0"
FIELD = re.compile(r"\{\}")
# what stays when nothing matches: the words of a location and of a list
PHRASES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(^|, )rad (\d+)(?=, |: |$)"), r"\1row \2"),
    (re.compile(r"(^|, )rader (\d+)–(\d+)(?=, |: |$)"), r"\1rows \2–\3"),
    (re.compile(r"(^|, )kolumn (?=[^,]*$)"), r"\1column "),
    (re.compile(r"(^|, )blad (?=[^,]*$)"), r"\1sheet "),
    (re.compile(r"(?<=\S) eller (?=\S)"), " or "),
)
SWEDISH_NUMBER = re.compile(rf"[−+-]?\d{{1,3}}(?:[ {NBSP}]\d{{3}})*(?:,\d+)?(?:[ {NBSP}]?%)?")


def catalog() -> dict[str, str]:
    """Every Swedish template with its English one."""
    out: dict[str, str] = {}
    for part in (core.MESSAGES, data.MESSAGES, store.MESSAGES, run.MESSAGES):
        out.update(part)
    return out


@dataclass(frozen=True)
class Entry:
    swedish: str
    english: str
    pattern: re.Pattern[str]
    literals: tuple[str, ...]  # the literal texts between the fields, for a quick check before the regex
    slots: tuple[int, ...]  # per regex group: the first of the fields it catches
    fields: int
    weight: int  # the literal text's length (spaces aside): the most specific template is tried first
    weak: bool  # a connective: begins and ends with a value around a few letters (``{} eller {}``)


def _split(template: str) -> list[str | None]:
    """A template's literal texts and fields (None), braces unescaped."""
    out: list[str | None] = []
    buf, i = "", 0
    while i < len(template):
        two = template[i : i + 2]
        if two in ("{{", "}}"):
            buf, i = buf + two[0], i + 2
        elif two == "{}":
            out += [buf, None] if buf else [None]
            buf, i = "", i + 2
        else:
            buf, i = buf + template[i], i + 1
    return out + ([buf] if buf else [])


def compile_entry(swedish: str, english: str) -> Entry:
    parts = _split(swedish)
    regex, slots, literals, n, prev_field = "", [], [], 0, False
    for p in parts:
        if p is None:
            if not prev_field:
                regex += "(.*?)"
                slots.append(n)
            n += 1
            prev_field = True
        else:
            regex += re.escape(p)
            literals.append(p)
            prev_field = False
    return Entry(
        swedish,
        english,
        re.compile(regex, re.S),
        tuple(literals),
        tuple(slots),
        n,
        sum(len(s.strip()) for s in literals),
        parts[0] is None and parts[-1] is None and sum(len(s) for s in literals) <= 12,
    )


@cache
def entries() -> tuple[Entry, ...]:
    """The compiled catalog, most specific first (compiled at the first English message, not at import)."""
    found = [compile_entry(sv, en) for sv, en in catalog().items() if any(p for p in _split(sv) if p)]
    return tuple(sorted(found, key=lambda e: (-e.weight, len(e.slots), -e.fields, e.swedish)))


def _fill(entry: Entry, values: list[str]) -> str:
    full = [""] * entry.fields
    for slot, value in zip(entry.slots, values):
        full[slot] = value
    return entry.english.format(*full)


def _matches(text: str, strong: bool = False) -> Iterator[tuple[Entry, re.Match[str]]]:
    """The templates ``text`` matches whole, the most specific first."""
    for entry in entries():
        if (strong and entry.weak) or any(lit not in text for lit in entry.literals):
            continue
        m = entry.pattern.fullmatch(text)
        if m:
            yield entry, m


def _match(text: str, strong: bool = False) -> tuple[Entry, re.Match[str]] | None:
    return next(_matches(text, strong), None)


def _render_match(entry: Entry, m: re.Match[str]) -> str:
    values = []
    for i, value in enumerate(m.groups()):
        end = entry.slots[i + 1] if i + 1 < len(entry.slots) else entry.fields
        values.append(_merged(value) if end - entry.slots[i] > 1 else render_value(value))
    return _fill(entry, values)


def whole(text: str, strong: bool = False) -> str | None:
    """``text`` rendered by the first template it matches whole (its values rendered too), or None; ``strong``:
    not by a connective (a template that begins and ends with a value around a few letters, ``{} i {}``)."""
    found = _match(text, strong)
    return None if found is None else _render_match(*found)


def _best(text: str) -> str | None:
    """The reading of ``text``: by a template that begins with the text's own words (the most specific one), else
    a label (an input error's ``file, rad 3, kolumn q_1``, an option) before the first ``": "`` after which such a
    template matches, else by a template that begins with a value, the whole text or after a label, whichever
    template is the more specific (a template beginning with a value would otherwise swallow the label)."""
    best: tuple[int, int, str, Entry, re.Match[str]] | None = None
    for entry, m in _matches(text):
        if not entry.swedish.startswith("{}"):  # the text's own beginning: the message's template
            return _render_match(entry, m)
        if best is None:
            best = (entry.weight, 0, "", entry, m)
    cuts = [m.start() for m in re.finditer(": ", text)]
    for cut in cuts:  # the first label whose message begins with a template's own words
        for entry, m in _matches(text[cut + 2 :]):
            if not entry.swedish.startswith("{}"):
                return render(text[:cut]) + ": " + _render_match(entry, m)
    for cut in cuts:
        found = _match(text[cut + 2 :])
        if found is not None and (best is None or found[0].weight > best[0]):
            best = (found[0].weight, cut, text[:cut], *found)
    if best is None:
        return None
    _, cut, label, entry, m = best
    return (render(label) + ": " if cut else "") + _render_match(entry, m)


def _merged(value: str) -> str:
    """Values that stood side by side (``{}{}``): the text, then a fragment that begins with its own words
    (``" (avgränsare ';': …)"`` after a list of columns) when one ends it."""
    for entry in entries():
        lead = entry.literals[0] if entry.literals and not entry.swedish.startswith("{}") else ""
        if len(lead) < 2:
            continue
        at = value.rfind(lead)
        while at > 0:
            m = entry.pattern.fullmatch(value[at:])
            if m:
                return render_value(value[:at]) + _fill(entry, [render_value(v) for v in m.groups()])
            at = value.rfind(lead, 0, at)
    return render_value(value)


def _labelled(text: str) -> str | None:
    """``label: message``: the first split where the message matches a template (else the first split)."""
    cuts = [m.start() for m in re.finditer(": ", text)]
    for cut in cuts:
        tail = whole(text[cut + 2 :])
        if tail is not None:
            return render(text[:cut]) + ": " + tail
    if cuts:
        return render(text[: cuts[0]]) + ": " + render(text[cuts[0] + 2 :])
    return None


def _joined(text: str) -> str | None:
    """A list joined with ``"; "`` or ``", "`` whose every part (two or more) matches a template that is more than a
    connective (``{} eller {}``), the shortest parts first."""
    for sep in ("; ", ", "):
        if sep in text:
            got = _parts(text, sep, 0, [m.start() for m in re.finditer(re.escape(sep), text)] + [len(text)], {})
            if got is not None and len(got) > 1:
                return sep.join(got)
    return None


def _parts(text: str, sep: str, start: int, ends: list[int], memo: dict[int, list[str] | None]) -> list[str] | None:
    """The rendered parts of ``text[start:]`` split at ``ends`` (each a template's match), or None."""
    if start in memo:
        return memo[start]
    memo[start] = None
    for end in ends:
        if end <= start:
            continue
        if end == len(text) and start == 0:
            break  # the whole text is not a list
        part = whole(text[start:end], strong=True)
        if part is None:
            continue
        rest = [] if end == len(text) else _parts(text, sep, end + len(sep), ends, memo)
        if rest is not None:
            memo[start] = [part, *rest]
            break
    return memo[start]


def _words(text: str) -> str:
    """What matches nothing: a first word of the catalog (``tabellen responses``), the location and list words."""
    head, sep, rest = text.partition(" ")
    if sep and " " not in head:
        first = whole(head)
        if first is not None:
            return first + " " + render(rest)
    for pat, rep in PHRASES:
        text = pat.sub(rep, text)
    return text


def number(text: str) -> str:
    """``0,05`` → ``0.05``, ``1 843`` → ``1,843``, ``27,4 %`` → ``27.4%``; other texts unchanged."""
    if not SWEDISH_NUMBER.fullmatch(text) or not re.search(rf"[,{NBSP} %]", text):
        return text
    out = re.sub(rf"[ {NBSP}]?%$", "%", text)
    out = out.replace(",", ".")
    return re.sub(rf"(?<=\d)[ {NBSP}](?=\d{{3}})", ",", out)


@lru_cache(maxsize=8192)
def render_value(text: str) -> str:
    """A value caught by a template: a list of texts (``"; "``, ``", "``) part by part, else as a message."""
    if not text.strip() or SWEDISH_NUMBER.fullmatch(text):
        return render(text)
    out = _joined(text)
    return render(text) if out is None else out


@lru_cache(maxsize=8192)
def render(text: str) -> str:
    """The English rendering of a Swedish message (module docstring). Every step renders shorter texts only."""
    if not text.strip():
        return text
    if SWEDISH_NUMBER.fullmatch(text):
        return number(text)
    out = _best(text)
    if out is None:
        out = _labelled(text)
    return _words(text) if out is None else out
