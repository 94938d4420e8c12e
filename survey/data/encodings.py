"""How the bytes of a text file are decoded, decided by the file's own evidence.

Rules (in this order; every decision is reported in ``Decoded.encoding`` and ``Decoded.notes``):

1. A byte-order mark decides: UTF-8 (``utf-8-sig``), UTF-16 LE/BE (``utf-16``), UTF-32 (``utf-32``). The rest of
   the file must then decode strictly.
2. UTF-16 without a BOM is recognised by its NUL bytes: ASCII text in UTF-16-LE has a NUL at almost every odd
   byte position (BE: even). It is decoded as ``utf-16-le`` / ``utf-16-be`` with a note.
3. A file that decodes strictly as UTF-8 is UTF-8.
4. A file that does not decode as UTF-8 but contains valid multi-byte UTF-8 sequences (UTF-8-encoded å, ä, ö, ...)
   is "mostly UTF-8 with stray bytes" or a mix of encodings. It is **rejected**, naming the row and column of
   the first bad byte and how many there are. Decoding it as cp1252 would garble every UTF-8 letter of the
   file (``Ã¤`` for ``ä``) without anybody noticing; replacing the bad byte would silently change an answer
   or a comment. The person who sent the file can re-save it, or say ``--encoding`` for the whole file.
5. A file without any UTF-8 multi-byte sequence is in a single-byte Windows/DOS/Mac encoding. Of cp1252,
   cp850 (Swedish DOS) and mac_roman the one that reads most like Swedish text is used (:func:`_legacy_score`),
   cp1252 on a tie; latin-1 files decode identically under cp1252 and are reported as cp1252. The three code
   pages put Swedish letters where the others have typographic punctuation (cp1252's quotes are cp850's ä and
   ö, its € and – mac_roman's Ä and ñ), so a character is judged in its word: a word is Swedish when its
   letters beyond ASCII are Swedish ones (å, ä, ö, é, ü) and its case is that of a word (lower, Capitalised or
   upper case), and punctuation counts for the reading where it stands between words.
   ``charset-normalizer`` was measured on this job and dropped: it names cp1252 Swedish text ``mac_roman``
   and cp850 text ``cp1252``.
6. An explicit ``encoding`` is used as given (strictly). If the text it gives shows the marks of UTF-8 read
   as a single-byte encoding (``Ã¥``, ``Ã¤``, ``Ã¶``, ...), the file is refused: the encoding is wrong.
   When automatic detection yields such marks in a UTF-8 file, the text was garbled before it reached
   trygghet: it is kept as it is and a note names the first place.

Every refusal is an :class:`~survey.errors.InputError` in Swedish naming the file, the row and the column.
"""

from __future__ import annotations

import codecs
import re
import string
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from survey.errors import InputError

#: Given the text (bad bytes as lone surrogates) and a character offset: (row, column name) of that place.
Locator = Callable[[str, int], tuple[int | None, str | None]]

LEGACY = ("cp1252", "cp850", "mac_roman")
_AAO = frozenset("åäöÅÄÖ")
_SWEDISH = _AAO | frozenset("éÉüÜ")
_ASCII_LETTERS = frozenset(string.ascii_letters)
#: Punctuation of Windows and Mac typography that Swedish text uses (quotes, dashes, €, …, NBSP).
_TYPOGRAPHY = frozenset("–—“”‘’„…€•°§½«»´·\u00a0")
_IN_WORD = frozenset("–—’´")  # a dash or an apostrophe may stand between two letters
_NON_ASCII_WORD = re.compile(r"[^\W\d_]*[^\x00-\x7f\W\d_][^\W\d_]*")
_NON_ASCII_SYMBOL = re.compile(r"(?=(.)([^\x00-\x7f\w])(.))", re.S)  # with the characters either side
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
# UTF-8 read as cp1252/latin-1: a lead byte Ã/Â followed by what a continuation byte 0x80-0xBF becomes.
_MOJIBAKE = re.compile(
    "Ã[\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc"
    "\u2013-\u203a\u20ac\u2122]|Â[\u00a0-\u00bf]"
)


@dataclass
class Decoded:
    """Decoded text (BOM removed), the encoding as reported in lineage, and notes for the person."""

    text: str
    encoding: str
    notes: list[str] = field(default_factory=list)


def _where(locate: Locator, text: str, pos: int) -> tuple[int | None, str | None, str]:
    row, column = locate(text, pos)
    said = ", ".join(p for p in (f"rad {row}" if row else None, f"kolumn {column}" if column else None) if p)
    return row, column, said


def _strict(raw: bytes, enc: str, name: str, locate: Locator, how: str) -> str:
    """Decode strictly; a bad byte is an error naming its row and column."""
    try:
        return raw.decode(enc)
    except UnicodeDecodeError as exc:
        text = (
            raw.decode(enc, errors="surrogateescape")
            if enc.replace("_", "-") in ("utf-8", "utf-8-sig")
            else raw[: exc.start].decode(enc, errors="replace") + "\udcff"
        )
        pos = len(raw[: exc.start].decode(enc, errors="replace"))
        row, column, _ = _where(locate, text, pos)
        byte = raw[exc.start]
        end = " (filen slutar mitt i ett tecken: den verkar avkortad)" if exc.end >= len(raw) else ""
        raise InputError(
            f"kan inte avkodas som {how}: byten 0x{byte:02x} är inte giltig {how}{end}. Ange rätt teckenkodning "
            "med --encoding (cp1252 för svenska Windows-filer) eller låt trygghet avgöra den själv",
            name,
            row,
            column,
        ) from None


def _utf16_without_bom(raw: bytes) -> str | None:
    """``utf-16-le``/``utf-16-be`` when the NUL bytes say so (ASCII-heavy text), else None."""
    sample = raw[:4096]
    if len(sample) < 8:
        return None
    even, odd = sample[0::2], sample[1::2]
    even_zero, odd_zero = even.count(0) / len(even), odd.count(0) / len(odd)
    if odd_zero > 0.3 and even_zero < 0.05:
        return "utf-16-le"
    if even_zero > 0.3 and odd_zero < 0.05:
        return "utf-16-be"
    return None


def _reject_binary(raw: bytes, name: str) -> None:
    """More than 1 % control bytes (NUL, 0x01-0x08, 0x0e-0x1f) in the first 8 kB: not a text file."""
    head = raw[:8192]
    ctrl = sum(head.count(bytes([b])) for b in (*range(0, 9), *range(14, 32)))
    if ctrl > max(2, len(head) // 100):
        raise InputError(
            f"är binär data och ingen textfil ({ctrl} styrtecken bland de första {len(head)} byten); "
            "är det en annan sorts fil med CSV-namn, eller en trasig fil?",
            name,
        )


def _legacy_score(text: str) -> int:
    """How Swedish ``text`` reads, over its characters beyond ASCII: a letter in a Swedish word (only
    :data:`_SWEDISH` letters beyond ASCII, a word's case) +3 for å, ä, ö, +1 for é, ü, in any other word -2 (a
    lone Swedish letter, the words å and ö, 0); typographic punctuation (:data:`_TYPOGRAPHY`) +1 where it does
    not stand between two letters, 0 for a dash or an apostrophe there (Väsby–centrum, don’t), else -2; any
    other symbol -2."""
    score = 0
    for word, n in Counter(_NON_ASCII_WORD.findall(text)).items():
        if set(word) - _SWEDISH <= _ASCII_LETTERS and _word_case(word):
            score += 0 if len(word) == 1 else n * sum(3 if c in _AAO else 1 for c in word if not c.isascii())
        else:
            score -= 2 * n * sum(not c.isascii() for c in word)
    for (before, ch, after), n in Counter(_NON_ASCII_SYMBOL.findall(f"\n{text}\n")).items():
        inside = before.isalpha() and after.isalpha()
        if ch in _TYPOGRAPHY:
            score += (0 if ch in _IN_WORD else -2) * n if inside else n
        else:
            score -= 2 * n
    return score


def _word_case(word: str) -> bool:
    """A word's case: all lower, all upper, or Capitalised."""
    return word.islower() or word.isupper() or (word[0].isupper() and word[1:].islower())


def _legacy(raw: bytes) -> str:
    """The single-byte encoding of ``LEGACY`` that reads the file most like Swedish text (cp1252 on a tie)."""
    lines = [ln for ln in raw[: 1 << 20].split(b"\n") if not ln.isascii()][:2000]
    sample = b"\n".join(lines)
    best, best_score = "cp1252", None
    for enc in LEGACY:
        try:
            score = _legacy_score(sample.decode(enc))
        except UnicodeDecodeError:
            continue
        if best_score is None or score > best_score:
            best, best_score = enc, score
    if best_score is None:  # cp1252 has five undefined bytes; latin-1 decodes everything
        return "latin-1"
    return best


def _stray_bytes(raw: bytes, name: str, locate: Locator, exc: UnicodeDecodeError, n_utf8: int) -> InputError:
    text = raw.decode("utf-8", errors="surrogateescape")
    bad = re.findall("[\udc80-\udcff]", text)
    row, column, _ = _where(locate, text, text.index(bad[0]))
    return InputError(
        f"är nästan helt UTF-8 ({n_utf8} UTF-8-kodade tecken som å, ä, ö) men byten 0x{raw[exc.start]:02x} "
        f"här är inte giltig UTF-8 ({len(bad)} sådana byte i filen). Filen har blandade teckenkodningar "
        "eller en enstaka felaktig byte, oftast efter en redigering i ett annat program; att läsa den som "
        "cp1252 skulle förvränga alla å, ä och ö. Spara filen som UTF-8 igen hos leverantören, eller ange "
        "--encoding om hela filen verkligen har en och samma kodning",
        name,
        row,
        column,
    )


def _mojibake(text: str) -> re.Match[str] | None:
    """The first UTF-8-read-as-cp1252 mark; a plain substring test first (the regex is 20x slower)."""
    starts = [i for i in (text.find("Ã"), text.find("Â")) if i >= 0]
    return _MOJIBAKE.search(text, min(starts)) if starts else None


def decode_text(raw: bytes, name: str, encoding: str | None, locate: Locator) -> Decoded:
    """Decode a text file's bytes by the rules of this module (see the module docstring)."""
    if encoding is not None:
        return _explicit(raw, name, encoding, locate)
    for bom, enc, label in (
        (codecs.BOM_UTF32_LE, "utf-32", "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32", "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig", "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16", "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16", "utf-16"),
    ):
        if raw.startswith(bom):
            text = _strict(raw, enc, name, locate, label.upper().replace("-SIG", " med BOM"))
            return _checked(Decoded(text.lstrip("\ufeff"), label), name, locate)
    wide = _utf16_without_bom(raw)
    if wide is None:
        _reject_binary(raw, name)
    if wide is not None:
        text = _strict(raw, wide, name, locate, wide.upper())
        ctrl = len(re.findall("[\x00-\x08\x0e-\x1f]", text[:4096]))
        if ctrl > max(2, len(text[:4096]) // 100):
            raise InputError(
                f"är binär data och ingen textfil ({ctrl} styrtecken i början); är det en annan sorts "
                "fil med CSV-namn, eller en trasig fil?",
                name,
            )
        return _checked(
            Decoded(text, wide, [f"{name}: teckenkodningen {wide.upper()} utan BOM avgjordes av filens nollbyte"]),
            name,
            locate,
        )
    try:
        return _checked(Decoded(raw.decode("utf-8"), "utf-8"), name, locate)
    except UnicodeDecodeError as exc:
        n_utf8 = len(_UTF8_MULTIBYTE.findall(raw))
        if exc.end >= len(raw) and exc.reason == "unexpected end of data":
            text = raw.decode("utf-8", errors="surrogateescape")
            row, column, _ = _where(locate, text, len(text) - 1)
            raise InputError(
                "slutar mitt i ett UTF-8-tecken: filen verkar avkortad. Hämta filen igen hela", name, row, column
            ) from None
        if n_utf8:
            raise _stray_bytes(raw, name, locate, exc, n_utf8) from None
    enc = _legacy(raw)
    text = raw.decode(enc)
    return Decoded(
        text,
        enc,
        [] if enc == "cp1252" else [f"{name}: teckenkodningen {enc} valdes (tecknen liknar svensk text mest så)"],
    )


def plain_utf8(raw: bytes, name: str) -> str | None:
    """``'utf-8'`` or ``'utf-8-sig'`` when ``decode_text(raw, name, None, ...)`` would give that encoding, no
    notes and no error, decided on the bytes without making the text; else None (call ``decode_text``).

    The same rules in the same order: a UTF-32/UTF-16 byte-order mark or UTF-16 without one, binary data, a
    NUL byte, a second BOM after the first (``decode_text`` strips every leading BOM), the bytes of ``Ã`` or
    ``Â`` (a possible mojibake note) or any invalid UTF-8 (validated by Arrow) all say None.
    """
    import numpy as np
    import pyarrow as arrow

    start = 0
    if raw.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None
    if raw.startswith(codecs.BOM_UTF8):
        start = len(codecs.BOM_UTF8)
        if raw.startswith(codecs.BOM_UTF8, start):
            return None
    else:
        if _utf16_without_bom(raw) is not None:
            return None
        try:
            _reject_binary(raw, name)
        except InputError:
            return None
    if raw.find(b"\x00") >= 0:
        return None
    for cont, seq in ((b"\x83", b"\xc3\x83"), (b"\x82", b"\xc3\x82")):  # memchr first; the pair is slower
        if raw.find(cont) >= 0 and raw.find(seq) >= 0:
            return None
    offsets = arrow.py_buffer(np.array([start, len(raw)], dtype=np.int64))
    try:
        arrow.Array.from_buffers(arrow.large_string(), 1, [None, offsets, arrow.py_buffer(raw)]).validate(full=True)
    except arrow.ArrowInvalid:
        return None
    return "utf-8-sig" if start else "utf-8"


def _explicit(raw: bytes, name: str, encoding: str, locate: Locator) -> Decoded:
    try:
        enc = codecs.lookup(encoding).name
    except LookupError:
        raise InputError(
            f"okänd teckenkodning {encoding!r} (--encoding); använd t.ex. utf-8, cp1252 eller utf-16", name
        ) from None
    text = _strict(raw, enc, name, locate, encoding).lstrip("\ufeff")
    m = _mojibake(text)
    if m is not None and enc not in ("utf-8", "utf-8-sig"):
        row, column, _ = _where(locate, text, m.start())
        raise InputError(
            f"med --encoding {encoding} blir texten förvrängd ({m.group()!r} här och "
            f"{len(_MOJIBAKE.findall(text)) - 1} gånger till): så ser UTF-8-kodade å, ä och ö ut när de läses "
            f"som {encoding}. Filen är troligen UTF-8: ta bort --encoding eller ange --encoding utf-8",
            name,
            row,
            column,
        )
    return Decoded(text, enc)


def _checked(dec: Decoded, name: str, locate: Locator) -> Decoded:
    """A note when correctly decoded text already carries UTF-8-read-as-cp1252 marks (garbled at the source)."""
    m = _mojibake(dec.text)
    if m is not None:
        _, _, said = _where(locate, dec.text, m.start())
        dec.notes.append(
            f"{name}: texten innehåller {m.group()!r} ({said}, {len(_MOJIBAKE.findall(dec.text))} "
            "gånger): den verkar ha förvrängts innan den skickades (UTF-8 som lästs som cp1252 och "
            "sparats igen); kontrollera kommentarer och namn hos leverantören"
        )
    return dec


__all__ = ["Decoded", "decode_text", "LEGACY"]
