"""The report in English (issue 12, ``--lang en``): charts, the index and the other report pages, the compare page;
the Swedish report unchanged."""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree import ElementTree

from reports.charts import trend_chart
from tests.test_publish import RUN_META, load_estimates, make_codebook

SVG_NS = "{http://www.w3.org/2000/svg}"
# Swedish UI words that must not be left in an English page or chart (codebook question texts aside)
SWEDISH_UI = (
    "Sammanfattning",
    "Andel",
    "andel",
    "Källa",
    "Område",
    "område",
    "Metod",
    "procentenheter",
    "konfidensintervall",
    "Redovisas",
    "redovisas",
    "svarande",
    "kodbok",
    "körning",
    "Tabeller",
    "Jämför",
    "jämfört",
    "Förändring",
    "Skillnad",
    "Diagram",
    "Ladda ner",
)
SWEDISH_RE = re.compile(r"\b(" + "|".join(re.escape(w) for w in SWEDISH_UI) + r")\b")


def _svg_texts(path: Path) -> list[str]:
    """The text objects of a chart's SVG (``svg.fonttype = none`` keeps them as ``<text>``), one per element."""
    root = ElementTree.parse(path).getroot()
    return [re.sub(r"[ \t\n]+", " ", "".join(el.itertext())).strip() for el in root.iter(f"{SVG_NS}text")]


def _chart(tmp_path: Path, lang: str | None) -> list[str]:
    meta = {**RUN_META, "run_id": "r1", **({"lang": lang} if lang else {})}
    (svg,) = trend_chart(
        load_estimates(),
        "unsafe_after_dark",
        make_codebook(),
        tmp_path / (lang or "plain") / "c",
        meta,
        formats=("svg",),
    )
    return _svg_texts(svg)


def test_chart_in_english(tmp_path):
    en = _chart(tmp_path, "en")
    joined = " | ".join(en)
    assert (
        "Share feeling unsafe outdoors alone late in the evening: share by district and year, with 95% "
        "confidence interval" in en
    ), joined
    assert any(t.startswith("Source: Trygghetsundersökning (syntetiska testdata), 2026-11-20; codebook ") for t in en)
    assert any(t.endswith("; run r1. Shares with fewer than 30 respondents are not published.") for t in en), joined
    assert "20%" in en and "0%" in en and not any("\u00a0%" in t for t in en)  # 20% on the axis, not 20 %
    assert "Some years not published" in en  # Ursvik 2022 (n = 25) is hidden
    for t in en:
        if not t.startswith("Source: "):  # the configured source name is the municipality's own
            assert not SWEDISH_RE.search(t), t
        assert not re.search(r"\d,\d", t), t


def test_chart_swedish_unchanged_with_or_without_the_option(tmp_path):
    sv, plain = _chart(tmp_path, "sv"), _chart(tmp_path, None)
    assert sv == plain
    assert (tmp_path / "sv" / "c.svg").read_bytes() == (tmp_path / "plain" / "c.svg").read_bytes()
    assert "Andel otrygga ute ensam sent en kväll: andel per område och år, med 95 % konfidensintervall" in sv
    assert "20\u00a0%" in sv and "Vissa år redovisas inte" in sv
    assert any(t.startswith("Källa: ") and t.endswith("Andelar med färre än 30 svarande redovisas inte.") for t in sv)
