"""Labels and texts derived from the codebook and the run: indicator labels and groups, question footnotes,
the source line, ordering of districts and indicators, file-name slugs."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reports.formats import STAT_LABELS, TOTAL
from survey.data.codebook import Codebook, Indicator

GROUP_LABELS = {
    "trygghet": "Trygghet",
    "oro": "Oro",
    "problem": "Problem i bostadsområdet",
    "utsatthet": "Utsatthet för brott",
    "polis": "Polisen",
}

DEFAULT_METHOD = (
    "vägda andelar; vikter kalibrerade (raking) mot befolkningen efter område × kön och "
    "område × åldersgrupp; standardfel med Taylorlinjärisering som tar hänsyn till kalibreringen; "
    "konfidensintervall på logitskala"
)
DEFAULT_SOURCE = "Trygghetsundersökning"


def district_order(districts: Iterable[str]) -> list[str]:
    """Districts in plain code-point order, ``Totalt`` last."""
    names = {str(d) for d in districts}
    return sorted(names - {TOTAL}) + ([TOTAL] if TOTAL in names else [])


def indicator_order(codebook: Codebook | None, names: Iterable[str]) -> list[str]:
    """Indicator names without duplicates, in codebook order (unknown names last, in given order)."""
    out = list(dict.fromkeys(str(n) for n in names))
    if codebook is not None:
        order = {i.name: k for k, i in enumerate(codebook.indicators)}
        out.sort(key=lambda i: order.get(i, len(order)))
    return out


def indicator_of(codebook: Codebook | None, name: str) -> Indicator | None:
    for ind in codebook.indicators if codebook else ():
        if ind.name == name:
            return ind
    return None


def indicator_label(codebook: Codebook | None, name: str) -> str:
    ind = indicator_of(codebook, name)
    return (ind.label_sv or name) if ind is not None else name


def indicator_group(codebook: Codebook | None, name: str) -> str:
    """The report group of an indicator: the codebook's ``group`` or, failing that, its name prefix."""
    ind = indicator_of(codebook, name)
    if ind is not None and ind.group:
        return ind.group
    for prefix, group in (("problem_", "problem"), ("victim_", "utsatthet"), ("police_", "polis")):
        if name.startswith(prefix):
            return group
    return "trygghet"


def question_text(codebook: Codebook | None, name: str) -> str:
    """``Fråga: <wording> Andelen avser svaren <codes>.`` for an indicator, or ``""``."""
    ind = indicator_of(codebook, name)
    if ind is None or codebook is None:
        return ""
    try:
        item = codebook.item(ind.item)
    except KeyError:
        return ""
    codes = ", ".join(f"{c} {lab}" for c, lab in item.codes.items() if c in ind.numerator)
    return f"Fråga: {item.text_sv} Andelen avser svaren {codes}." if codes else f"Fråga: {item.text_sv}"


def question_notes(texts: Sequence[str]) -> list[str]:
    """One footnote for several questions that differ only in the middle ("Hur stort problem är … ?")."""
    if len(texts) <= 1:
        return [f"Fråga: {t}" for t in texts]
    pre = os.path.commonprefix(list(texts))
    suf = os.path.commonprefix([t[::-1] for t in texts])[::-1]
    pre = pre[: pre.rfind(" ") + 1] if " " in pre else ""
    suf = suf[suf.find(" ") :] if " " in suf else ""
    if len(pre) < 8:
        return [f"Fråga: {t}" for t in texts]
    middles = [t[len(pre) : len(t) - len(suf)].strip() for t in texts]
    return [f"Fråga: {pre.strip()} … {suf.strip()} (… = {', '.join(middles)})."]


def short_label(label: str) -> str:
    """A column-header form of an indicator label: ``Andel som ser klotter som ett stort problem`` → ``Klotter``."""
    s = label
    for pat in (
        r"^Andel som ser ",
        r" som ett stort problem$",
        r"^Andel utsatta för ",
        r" senaste 12 månaderna$",
        r"^Andel (som )?",
    ):
        s = re.sub(pat, "", s)
    s = s.strip()
    return (s[:1].upper() + s[1:]) if s else label


def slugify(s: str) -> str:
    """ASCII file-name slug: ``Älvsjö-Ängby`` → ``alvsjo-angby``."""
    tr = str.maketrans({"å": "a", "ä": "a", "ö": "o", "Å": "a", "Ä": "a", "Ö": "o", "é": "e", "ü": "u"})
    s = s.translate(tr).lower()
    return "".join(ch if ch.isalnum() else "-" for ch in s).strip("-")


def method_note(run_meta: Mapping[str, Any]) -> str:
    """``Metod: …`` from ``run_meta["method"]`` (or the default method)."""
    return "Metod: " + str(run_meta.get("method", DEFAULT_METHOD)).rstrip(".") + "."


def codebook_name(run_meta: Mapping[str, Any], codebook: Codebook | None) -> str:
    if codebook is not None:
        return f"{codebook.name} v{codebook.version}"
    return str(run_meta.get("codebook_version", "okänd"))


def source_line(run_meta: Mapping[str, Any], codebook: Codebook | None) -> str:
    """``Källa: <source>, <date>; kodbok <name> v<version>; körning <run id>.``"""
    src = run_meta.get("data_source", DEFAULT_SOURCE)
    date = run_meta.get("date", "")
    cb = f"kodbok {codebook_name(run_meta, codebook)}"
    if codebook is None and run_meta.get("codebook_version"):
        cb = f"kodbok v{run_meta['codebook_version']}"
    parts = [f"Källa: {src}" + (f", {date}" if date else ""), cb]
    if run_meta.get("run_id", ""):
        parts.append(f"körning {run_meta['run_id']}")
    return "; ".join(parts) + "."


# --- the open-data formats' dimension, statistic and unit labels (reports.cube), Swedish and English ---------
CUBE_TEXTS: dict[str, dict[str, dict[str, str]]] = {
    "sv": {
        "dim": {
            "district": "Område",
            "year": "År",
            "indicator": "Indikator",
            "group": "Kön och åldersgrupp",
            "measure": "Mått",
            "stat": "Uppgift",
        },
        "stat": {**STAT_LABELS, "n": "Antal svarande (n)"},
        "unit": {
            "share": "procent",
            "pp": "procentenheter",
            "count": "antal",
            "p": "p-värde",
            "ratio": "oddskvot",
            "flag": "markering (1 = statistiskt säkerställd, 0 = inte)",
            "direction": "markering (1 = högre, -1 = lägre än Totalt, 0 = ingen skillnad)",
        },
    },
    "en": {
        "dim": {
            "district": "District",
            "year": "Year",
            "indicator": "Indicator",
            "group": "Sex and age group",
            "measure": "Measure",
            "stat": "Statistic",
        },
        "stat": {
            "est": "Share",
            "lo": "CI lower",
            "hi": "CI upper",
            "n": "Respondents (n)",
            "chg": "Change (percentage points)",
            "chg_p": "Adjusted p (change)",
            "chg_sig": "Significant change",
            "tot_p": "Adjusted p (vs Totalt)",
            "tot_sig": "vs Totalt",
            "sig": "Significant",
            "diff": "Difference (percentage points)",
            "p": "Adjusted p",
            "or": "Odds ratio",
        },
        "unit": {
            "share": "per cent",
            "pp": "percentage points",
            "count": "number",
            "p": "p-value",
            "ratio": "odds ratio",
            "flag": "marker (1 = statistically significant, 0 = not)",
            "direction": "marker (1 = higher, -1 = lower than Totalt, 0 = no difference)",
        },
    },
}


@dataclass(frozen=True)
class CubeTexts:
    """The labels of one language for :mod:`reports.cube` (unknown keys fall back to the key itself)."""

    lang: str

    def _get(self, part: str, key: str) -> str:
        return CUBE_TEXTS.get(self.lang, CUBE_TEXTS["sv"])[part].get(key, key)

    @property
    def stat_dim(self) -> str:
        return self._get("dim", "stat")

    def dim_label(self, dim: str) -> str:
        return self._get("dim", dim.removesuffix("_column"))

    def stat_label(self, stat: str) -> str:
        return self._get("stat", stat)

    def unit(self, kind: str) -> str:
        return self._get("unit", kind)


def cube_texts(lang: str = "sv") -> CubeTexts:
    return CubeTexts(lang if lang in CUBE_TEXTS else "sv")
