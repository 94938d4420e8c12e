"""The one significance rule of the report, and its wording in legends, footnotes and the method text.

Rule (the same in HTML, XLSX, CSV, PNG/PDF and the terminal): every difference — change since the previous
survey year, district against ``Totalt`` of the same year, district against district, and the yearly trend —
is tested two-sided with ``t = skillnad / SE`` (design-based SE; for district against Totalt with the
covariance of the overlap, see ``survey.estimation.compare``). The p-values are adjusted for multiple
comparisons (Benjamini–Hochberg 1995 by default, or Holm 1979) within each family: one comparison kind, one
year and one indicator (the trend: all indicators of the trend table). A marker is printed exactly when the
*adjusted* p-value is below ``alpha`` (default 0.05), and the p-value printed beside the marker is that
adjusted p-value. Confidence intervals of differences are unadjusted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from reports.formats import ABOVE_MARK, BELOW_MARK, SIG_MARK, is_missing, swedish_number

ADJUST_LABELS = {"fdr_bh": "Benjamini–Hochberg", "holm": "Holm", "none": "ingen justering"}


@dataclass(frozen=True)
class SignalRule:
    """Significance level, multiple-comparison adjustment and CI level of the published markers."""

    alpha: float = 0.05
    adjust: str = "fdr_bh"
    level: float = 0.95

    @classmethod
    def from_run(cls, run_meta: Mapping[str, Any], comparisons: pd.DataFrame | None = None) -> SignalRule:
        """``run_meta["alpha"]``/``["adjust"]`` when given; else the ``adjustment`` column of the comparisons."""
        adjust = run_meta.get("adjust")
        if adjust is None and comparisons is not None and "adjustment" in comparisons.columns and len(comparisons):
            adjust = str(comparisons["adjustment"].iloc[0])
        return cls(
            alpha=float(run_meta.get("alpha", 0.05)),
            adjust=str(adjust or "fdr_bh"),
            level=float(run_meta.get("level", 0.95)),
        )

    @property
    def level_percent(self) -> int:
        """The confidence level in per cent as the tables print it (``95`` for ``level = 0.95``)."""
        return round(self.level * 100)

    @property
    def adjust_label(self) -> str:
        return ADJUST_LABELS.get(self.adjust, self.adjust)

    @property
    def p_label(self) -> str:
        """How the printed p-value is labelled: ``justerat p (Benjamini–Hochberg)``."""
        return "p (ojusterat)" if self.adjust == "none" else f"justerat p ({self.adjust_label})"

    @property
    def alpha_text(self) -> str:
        return swedish_number(self.alpha, 2 if round(self.alpha, 2) == self.alpha else 3)

    @property
    def alpha_percent(self) -> str:
        """The significance level as Swedish per cent: ``5 %``."""
        return swedish_number(self.alpha * 100, 0 if self.alpha * 100 == round(self.alpha * 100) else 1) + "\u00a0%"

    def significant(self, p: Any) -> bool:
        """The marker rule: the (adjusted) p-value is below ``alpha``."""
        return not is_missing(p) and float(p) < self.alpha

    def significant_array(self, p: np.ndarray) -> np.ndarray:
        """:meth:`significant` of every element of a float array (NaN, a missing p, is never significant)."""
        with np.errstate(invalid="ignore"):
            return np.asarray(p, dtype=float) < self.alpha

    def criterion(self) -> str:
        return f"{self.p_label} < {self.alpha_text}"

    def change_note(self) -> str:
        return (
            f"Förändring sedan föregående år i procentenheter; {SIG_MARK} statistiskt säkerställd förändring "
            f"({self.criterion()}). Det p-värde som anges är det justerade."
        )

    def totalt_note(self) -> str:
        return f"{ABOVE_MARK}/{BELOW_MARK} Statistiskt säkerställt högre/lägre än Totalt samma år ({self.criterion()})."

    def compare_note(self) -> str:
        return f"{SIG_MARK} Statistiskt säkerställd skillnad ({self.criterion()})."

    def trend_note(self) -> str:
        return f"{SIG_MARK} Statistiskt säkerställd trend ({self.criterion()}, justerat över indikatorerna i tabellen)."

    def legend(self) -> list[tuple[str, str]]:
        """(symbol, explanation) pairs for the report's teckenförklaring."""
        return [
            (SIG_MARK, f"Statistiskt säkerställd förändring eller skillnad: {self.criterion()}."),
            (
                f"{ABOVE_MARK} {BELOW_MARK}",
                f"Statistiskt säkerställt högre respektive lägre än Totalt samma år: {self.criterion()}.",
            ),
            ("p", f"Det p-värde som skrivs ut är {self.p_label}, samma som markeringen bygger på."),
        ]

    def method_text(self) -> str:
        """The comparison rule for the method section."""
        adj = (
            "utan justering för multipla jämförelser"
            if self.adjust == "none"
            else f"justerade för multipla jämförelser med {self.adjust_label}s metod inom varje familj av "
            "jämförelser (samma jämförelsetyp, år och indikator; för trenden alla indikatorer i tabellen)"
        )
        return (
            "Statistiskt säkerställda skillnader: varje förändring från föregående år, skillnad mellan ett "
            "område och Totalt samma år och skillnad mellan två områden testas tvåsidigt med skillnaden "
            "delad med dess designbaserade standardfel (för område mot Totalt med hänsyn till att området "
            f"ingår i Totalt). p-värdena är {adj}. En skillnad markeras när {self.criterion()} "
            f"({self.alpha_percent} nivå); det p-värde som skrivs ut är det justerade. Konfidensintervallen "
            f"för skillnader är ojusterade {swedish_number(self.level * 100, 0)}\u00a0% intervall och kan "
            "därför utesluta noll utan att skillnaden markeras."
        )


def adjust_family(p: np.ndarray, method: str) -> np.ndarray:
    """Adjusted p-values of one family (the estimation core's Holm/BH implementation)."""
    from survey.estimation import adjust_pvalues

    return adjust_pvalues(np.asarray(p, dtype=float), method if method in ("holm", "fdr_bh", "none") else "fdr_bh")
