"""Versioned codebooks and vendor mappings.

A codebook (YAML under ``schemas/codebooks/``) defines the survey's items (Swedish question text, answer
codes with Swedish labels, which code is "vet ej"), the indicators computed from them (numerator codes;
the base is every listed code, blank answers are outside the base), the register variables used for
weighting, and series breaks. The default codebook implements ``shared/spec/data-contract.md`` v1.

A vendor mapping (YAML under ``schemas/mappings/``) renames a vendor's columns onto canonical names and
recodes its values onto canonical codes.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Item:
    """One question: canonical column name, Swedish text and its answer codes (code -> Swedish label)."""

    name: str
    text_sv: str
    codes: dict[int, str]
    dont_know: tuple[int, ...] = ()


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
    group: str = ""          # e.g. "trygghet", "problem", "utsatthet", "polis" (for report tables)


@dataclass(frozen=True)
class SeriesBreak:
    """No trend is fitted across ``year`` for ``items`` (all items when empty)."""

    year: int
    reason: str
    items: tuple[str, ...] = ()


@dataclass(frozen=True)
class Codebook:
    name: str
    version: str
    items: tuple[Item, ...]
    indicators: tuple[Indicator, ...]
    age_groups: tuple[str, ...]
    sexes: dict[int, str] = field(default_factory=lambda: {1: "Man", 2: "Kvinna"})
    series_breaks: tuple[SeriesBreak, ...] = ()

    def item(self, name: str) -> Item:
        for it in self.items:
            if it.name == name:
                return it
        raise KeyError(name)

    @property
    def item_names(self) -> tuple[str, ...]:
        return tuple(it.name for it in self.items)
