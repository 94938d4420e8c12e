"""Swedish number formatting and the display precision of every published statistic.

Characters (pinned in tests): decimal comma; U+00A0 NO-BREAK SPACE as thousands separator and before ``%``
(Språkrådet/Isof: "100 %", formkrav.se: "3 923 234,127"); U+2212 MINUS SIGN for negative numbers; U+2013 EN
DASH between CI bounds; ``..`` for a suppressed cell and ``.`` where a value is not available
(official-statistics teckenförklaring).

Every published number is rounded to the precision it is shown with (:func:`shown`): shares and differences
to 0,1 procent/procentenhet, counts to integers, odds ratios to three decimals, p-values to three decimals
(more when three decimals would put the printed value on the other side of the significance level than the
exact value, so a marker always agrees with the printed p). Full-precision shares never leave the report.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from survey.labels import TOTAL_LABEL

NBSP = "\u00a0"
MINUS = "\u2212"
EN_DASH = "\u2013"
SUPPRESSED = ".."
NOT_AVAILABLE = "."  # teckenförklaring: uppgift kan inte förekomma / saknas
TOTAL = TOTAL_LABEL
SIG_MARK = "*"  # significant change or difference (see reports.signals)
ABOVE_MARK = "\u25b2"  # ▲ significantly above Totalt
BELOW_MARK = "\u25bc"  # ▼ significantly below Totalt

# Statistics a display cell can carry, in XLSX column order, with Swedish labels.
STAT_LABELS: dict[str, str] = {
    "est": "Andel",
    "lo": "KI nedre",
    "hi": "KI övre",
    "n": "n",
    "chg": "Förändring (procentenheter)",
    "chg_p": "Justerat p (förändring)",
    "chg_sig": "Sign. förändring",
    "tot_p": "Justerat p (mot Totalt)",
    "tot_sig": "Mot Totalt",
    "sig": "Sign.",
    "diff": "Skillnad (procentenheter)",
    "p": "Justerat p",
    "or": "Oddskvot",
}
# Statistic -> value kind, which decides the Swedish text, the rounding and the Excel number format.
STAT_KIND: dict[str, str] = {
    "est": "share",
    "lo": "share",
    "hi": "share",
    "n": "count",
    "sig": "flag",
    "chg": "pp",
    "chg_p": "p",
    "chg_sig": "flag",
    "tot_p": "p",
    "tot_sig": "direction",
    "diff": "pp",
    "p": "p",
    "or": "ratio",
}


def is_missing(x: Any) -> bool:
    """None, NaN or ``pd.NA``."""
    return x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x))


def swedish_number(x: float | int | None, decimals: int = 0, *, sign: bool = False, missing: str = SUPPRESSED) -> str:
    """Format a number the Swedish way: ``12 345,7`` with U+00A0 between thousands and a decimal comma.

    Negative numbers get U+2212 MINUS SIGN; ``sign=True`` adds ``+`` to positive ones. A value that rounds to
    zero has no sign. ``None``/NaN give ``missing`` (default ``..``).
    """
    if x is None or is_missing(x):  # None spelt out: narrows the type
        return missing
    return _swedish_number(float(x), decimals, sign)


@lru_cache(maxsize=1 << 16)  # ±0 share a key and a text (a value that rounds to zero has no sign)
def _swedish_number(x: float, decimals: int, sign: bool) -> str:
    """:func:`swedish_number` of a float (a report prints the same few thousand numbers many times)."""
    body = f"{abs(x):,.{decimals}f}"
    rounded_zero = float(body.replace(",", "")) == 0.0
    body = body.replace(",", NBSP).replace(".", ",")
    if rounded_zero:
        return body
    if x < 0:
        return MINUS + body
    return ("+" + body) if sign else body


def swedish_percent(x: float | None, decimals: int = 1, *, missing: str = SUPPRESSED) -> str:
    """A share (0–1) as Swedish per cent: ``0.274`` → ``27,4 %`` (U+00A0 before ``%``)."""
    if x is None or is_missing(x):
        return missing
    return swedish_number(float(x) * 100.0, decimals) + NBSP + "%"


def swedish_pp(x: float | None, decimals: int = 1, *, missing: str = SUPPRESSED) -> str:
    """A difference of shares in procentenheter, signed: ``0.032`` → ``+3,2``, ``-0.032`` → ``−3,2``."""
    if x is None or is_missing(x):
        return missing
    return swedish_number(float(x) * 100.0, decimals, sign=True)


def p_decimals(p: float, alpha: float = 0.05) -> int:
    """Decimals a p-value is printed with: 3, or more when rounding to 3 would cross ``alpha``
    (0.0496 is printed ``0,0496``, never ``0,050`` beside a significance marker)."""
    d = 3
    while d < 8 and (round(p, d) < alpha) != (p < alpha):
        d += 1
    return d


def swedish_p(p: float | None, *, alpha: float = 0.05, missing: str = NOT_AVAILABLE) -> str:
    """A p-value: ``0,032``; below 0.001 ``<0,001``; see :func:`p_decimals` near ``alpha``."""
    if p is None or is_missing(p):
        return missing
    p = float(p)
    return "<0,001" if p < 0.001 else swedish_number(p, p_decimals(p, alpha))


def shown(stat: str, value: float | None, *, alpha: float = 0.05) -> float | None:
    """``value`` rounded to the precision it is displayed with (see the module docstring)."""
    if value is None or is_missing(value):
        return None
    v = float(value)
    return _shown_cached(STAT_KIND[stat], v, alpha) if v != 0 else _shown(STAT_KIND[stat], v, alpha)


def _shown(kind: str, v: float, alpha: float) -> float:
    if kind in ("share", "pp"):  # then the double nearest to the printed decimal: 0.189, not 0.18899999999999997
        return round(round(v * 100.0, 1) / 100.0, 3)
    if kind == "count":
        return float(round(v))
    if kind == "ratio":
        return round(v, 3)
    if kind == "p":
        return float(f"{v:.1e}") if v < 0.001 else round(v, p_decimals(v, alpha))
    return v


_shown_cached = lru_cache(maxsize=1 << 16)(_shown)  # ±0 never cached: 0.0 == -0.0 as keys

# decimals of the vectorised rounding by value kind (round(v * scale, d) / scale, as :func:`_shown`)
_ARRAY_ROUNDING: dict[str, tuple[float, int]] = {"share": (100.0, 1), "pp": (100.0, 1), "ratio": (1.0, 3)}


def shown_array(stat: str, values: Any, *, alpha: float = 0.05) -> np.ndarray:
    """:func:`shown` of every element of ``values`` (NaN where missing), equal to it element for element.

    Python's ``round(x, d)`` rounds the exact binary value of ``x``; ``np.round`` rounds ``x·10^d``, which
    can land on the other side of a half when that product is within a rounding error of ``k + ½``. Those
    few elements (and p-values, whose decimals depend on ``alpha``: :func:`p_decimals`) are rounded by
    :func:`shown` itself, so the arrays never disagree with a table's cell."""
    v = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    kind = STAT_KIND[stat]
    out = v.copy()
    if kind == "count":
        return np.rint(v) + 0.0  # half to even on the exact value, like round(); + 0.0: float(round(-0.3)) is 0.0
    if kind == "p":
        # three decimals unless below 0.001 or the rounding crosses alpha: those by shown() itself
        r3 = np.round(v, 3)
        slow = (v < 0.001) | ((r3 < alpha) != (v < alpha)) | _near_half(v, 3)
        out = r3
    elif kind in _ARRAY_ROUNDING:
        scale, d = _ARRAY_ROUNDING[kind]
        x = v * scale
        out = np.round(np.round(x, d) / scale, d + 2) if scale == 100.0 else np.round(x, d) / scale
        slow = _near_half(x, d)
    else:
        return out
    slow &= ~np.isnan(v)
    for i in np.flatnonzero(slow):
        out[i] = shown(stat, float(v[i]), alpha=alpha)
    return out


def _near_half(x: np.ndarray, d: int) -> np.ndarray:
    """Elements whose ``x·10^d`` is within a few rounding errors of a half (``np.round`` may differ there)."""
    with np.errstate(invalid="ignore"):
        y = np.abs(x) * 10.0**d
        frac = y - np.floor(y)
        return np.abs(frac - 0.5) <= 1e-9 * np.maximum(1.0, y)


@lru_cache(maxsize=1 << 16)  # the texts of ±0 are the same (no sign on a zero), so one key serves both
def cell_text(stat: str, value: float | None, *, alpha: float = 0.05) -> str:
    """Swedish display text of one statistic (markers: ``*`` for a flag, ▲/▼ for a direction)."""
    kind = STAT_KIND[stat]
    if kind == "share":
        return swedish_percent(value)
    if kind == "count":
        return swedish_number(value, 0)
    if kind == "pp":
        return swedish_pp(value)
    if kind == "p":
        return swedish_p(value, alpha=alpha)
    if kind == "ratio":
        return swedish_number(value, 3)
    if kind == "direction":
        return ABOVE_MARK if (value or 0) > 0 else (BELOW_MARK if (value or 0) < 0 else "")
    return SIG_MARK if value else ""


def parse_swedish(text: str) -> float | None:
    """The number in a Swedish display text (``27,4 %``, ``−3,2``, ``<0,001`` → 0.001); None for ``..``/``.``."""
    s = text.strip().replace(NBSP, "").replace(" ", "").replace("%", "").replace(MINUS, "-").lstrip("<")
    s = s.replace(",", ".")
    try:
        return float(s)
    except ValueError:
        return None
