"""The Swedish sentence for a bad value of an option (pydantic's error of the run configuration, or of the
command line's own typed options): :func:`explain_value`. Used by :mod:`survey.pipeline.config` and
:mod:`survey.cli_lang`; the English forms are in :mod:`survey.pipeline.english`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

TYPE_KINDS = (
    "int_parsing",
    "int_from_float",
    "int_type",
    "float_parsing",
    "float_type",
    "finite_number",
    "bool_parsing",
    "bool_type",
    "string_type",
)
BOUNDS = {"greater_than": ">", "greater_than_equal": "≥", "less_than": "<", "less_than_equal": "≤"}


def explain_value(err: Mapping[str, Any], flag: str, forms: str = "") -> str | None:
    """The Swedish sentence for one pydantic error of a bad value given to ``flag`` (``--min-n``, or an
    argument's name): a value outside the allowed ones, outside a bound, of the wrong type, an empty list, or
    a text of the wrong form (``forms``: the forms it takes); ``None`` for any other kind of error."""
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    given = err.get("input")
    if kind == "literal_error":
        return f"Ogiltigt värde {given!r} för {flag}. Tillåtna värden: {ctx.get('expected', '')}.".replace(
            "'", ""
        ).replace(" or ", " eller ")
    if kind in BOUNDS:
        return f"{flag} måste vara {BOUNDS[kind]} {next(iter(ctx.values()), '')}, inte {given!r}."
    if kind in TYPE_KINDS:
        what = {
            "int_parsing": "ett heltal",
            "int_from_float": "ett heltal",
            "int_type": "ett heltal",
            "float_parsing": "ett tal",
            "float_type": "ett tal",
            "finite_number": "ett ändligt tal",
            "bool_parsing": "true eller false",
            "bool_type": "true eller false",
            "string_type": "ett textvärde",
        }[kind]
        return f"{flag} måste vara {what}, inte {given!r}."
    if kind == "too_short":
        return f"{flag} behöver minst {ctx.get('min_length', 1)} värde, inte {given!r}."
    if kind == "string_pattern_mismatch":
        return f"Ogiltigt värde {given!r} för {flag}. Tillåtna värden: {forms or ctx.get('pattern', '')}."
    return None
