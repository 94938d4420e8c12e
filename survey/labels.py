"""Labels that every layer shares and no input may use as a name of its own.

``TOTAL_LABEL`` is the row of all districts together (estimates, comparisons, the report's tables and the
database's views); ``MODEL_SUFFIX`` marks a small-area model row (``"<district> (modell)"``). A district in
an input file named like either would be published as something it is not, or collide with it (two rows of
one key), so :func:`survey.data.validate.bad_names` refuses such names.

``HIDDEN_CHARACTERS`` are the characters a name must not contain because they are invisible or act on the
text around them (C0 and C1 controls such as ESC, which starts a terminal's escape sequences; bidi overrides
and isolates, which reverse text; zero-width characters and the BOM). Where such a character must be shown
(an error message naming the rejected value, a quarantined cell on the terminal), :func:`visible` writes it
as ``<U+XXXX>``.
"""

from __future__ import annotations

import re

TOTAL_LABEL = "Totalt"
MODEL_SUFFIX = " (modell)"
HIDDEN_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]")


def reserved(name: str) -> bool:
    """Whether ``name`` is, or would be read as, a reserved label (case and surrounding blanks ignored)."""
    folded = name.strip().casefold()
    return folded == TOTAL_LABEL.casefold() or folded.endswith(MODEL_SUFFIX.strip().casefold())


def visible(text: str, keep: str = "") -> str:
    """``text`` with every :data:`HIDDEN_CHARACTERS` character except those in ``keep`` (``"\\n"`` for a
    message of several lines) written as ``<U+XXXX>``: ``visible("R\\x1b[31möd")`` is ``"R<U+001B>[31möd"``."""
    return HIDDEN_CHARACTERS.sub(lambda m: m.group() if m.group() in keep else f"<U+{ord(m.group()):04X}>", text)
