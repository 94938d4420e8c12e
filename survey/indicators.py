"""Indicator definitions as plain values: what the statistics core needs to know about a share.

Loading them from a YAML codebook is the data layer's job (:mod:`survey.data.codebook`); the core
(:mod:`survey.estimation`, :mod:`survey.models`) only reads these frozen dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Indicator:
    """A share: respondents whose answer to ``item`` is in ``numerator``, among all who answered it.

    ``base`` lists the codes in the denominator (default: every code of the item, "vet ej" included).
    """

    name: str
    item: str
    numerator: tuple[int, ...]
    base: tuple[int, ...]
    label_sv: str = ""
    group: str = ""  # e.g. "trygghet", "problem", "utsatthet", "polis" (for report tables)


@dataclass(frozen=True)
class SeriesBreak:
    """No trend is fitted across ``year`` for ``items`` (all items when empty)."""

    year: int
    reason: str
    items: tuple[str, ...] = ()
