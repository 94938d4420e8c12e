"""The report names the confidence level the run used: with ``level: 0.9`` the intervals are 90 % intervals,
and no page, table, workbook sheet or chart may call them 95 % ones (the footnotes, the summary sentences, the
answer distributions, sex and age, the trend table and the chart's legend and title said 95 % whatever the
level)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from openpyxl import load_workbook

from survey.pipeline.config import build_config
from survey.pipeline.runner import run
from tests.conftest import SAMPLE_WAVE


def _texts(report: Path) -> dict[str, str]:
    out = {str(p.relative_to(report)): p.read_text(encoding="utf-8") for p in report.rglob("*.html")}
    out.update({str(p.relative_to(report)): p.read_text(encoding="utf-8") for p in report.rglob("*.svg")})
    for book in report.rglob("*.xlsx"):
        wb = load_workbook(book)
        cells = [v for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row if isinstance(v, str)]
        out[str(book.relative_to(report))] = "\n".join(cells)
    return out


@pytest.mark.parametrize(
    ("lang", "said", "never"),
    [("sv", "90 % konfidensintervall", r"95\s?%"), ("en", "90% confidence interval", r"95\s?%")],
)
def test_a_non_default_level_is_named_everywhere(tmp_path, lang, said, never) -> None:
    wave = SAMPLE_WAVE
    config = build_config(
        None,
        {
            "responses": wave / "responses.csv",
            "population": wave / "population.csv",
            "out": tmp_path / "ut",
            "db": f"sqlite:///{tmp_path / 'd.db'}",
            "level": 0.9,
            "lang": lang,
            "formats": ["html", "xlsx"],
        },
    )
    res = run(config)
    texts = _texts(res.out_dir / "report")
    wrong = {name: re.findall(rf".{{0,40}}{never}.{{0,30}}", text)[:2] for name, text in texts.items()}
    assert {k: v for k, v in wrong.items() if v} == {}
    saying = {name for name, text in texts.items() if said in text.replace("\u00a0", " ")}
    assert "index.html" in saying and "tabeller.xlsx" in saying
    assert any(name.startswith("charts/") and name.endswith(".svg") for name in saying), sorted(saying)
    assert "svarsfordelningar.html" in saying and "kon_och_alder.html" in saying
    if lang == "en":  # a count of a thousand or more in English notation (it was converted twice: "1.978")
        counts = [m for t in texts.values() for m in re.findall(r"n\u00a0=\u00a0(\d[\d.,]*)", t)]
        assert any("," in m for m in counts) and not any(re.fullmatch(r"\d+\.\d{3}", m) for m in counts)


def test_english_cell_lines_convert_only_the_swedish_numbers() -> None:
    from reports.translate import english_parts

    parts = {
        "main": "27.4",
        "lines": [
            ("ci", "(16,8–30,3)", None),
            ("nn", "n\u00a0=\u00a01,978", None),
            ("nn", "just.\u00a0p\u00a0=\u00a00.032", None),
        ],
    }
    assert english_parts(parts)["lines"] == [
        ("ci", "(16.8–30.3)", None),
        ("nn", "n\u00a0=\u00a01,978", None),
        ("nn", "adj.\u00a0p\u00a0=\u00a00.032", None),
    ]


def test_the_workbook_describes_its_own_columns_not_the_html_cell() -> None:
    """In the sheet the CI and the p-value against Totalt have columns of their own: no 'inom parentes',
    no 'raden jfr Totalt p'."""
    from reports.xlsx import workbook_note

    nb = "\u00a0"
    assert (
        workbook_note(
            "Andel i procent. Under varje andel: 90 % konfidensintervall inom parentes och ovägt antal svarande (n)."
        )
        == "Andel i procent. Kolumnerna KI nedre och KI övre: 90 % konfidensintervall; n: ovägt antal svarande."
    )
    assert workbook_note(f"… < 0,05). Raden ”jfr{nb}Totalt{nb}p” anger det justerade p-värdet.") == (
        "… < 0,05). Kolumnen ”Justerat p (mot Totalt)” anger det justerade p-värdet."
    )
    assert (
        workbook_note(
            "Share in per cent. Below each share: 95% confidence interval in brackets and the unweighted number of "
            "respondents (n)."
        )
        == "Share in per cent. The columns CI lower and CI upper: 95% confidence interval; n: the unweighted number "
        "of respondents."
    )
    assert workbook_note("Källa: SCB.") == "Källa: SCB."
