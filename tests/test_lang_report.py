"""The report in English (issue 12, ``--lang en``): charts, the index and the other report pages, the compare page;
the Swedish report unchanged."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree

import pandas as pd
import pytest
from typer.testing import CliRunner

from reports.charts import trend_chart
from survey.cli import app
from tests.conftest import SAMPLE_WAVE
from tests.test_publish import RUN_META, load_estimates, make_codebook
from tests.test_report_interactive import _open, browser  # noqa: F401 (the headless Chromium fixture)

RESP, POP = SAMPLE_WAVE / "responses.csv", SAMPLE_WAVE / "population.csv"

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
    flat = " ".join(en)  # the source line is wrapped to the chart's width
    assert (
        "; run r1. Shares with fewer than 30 respondents are not published. Some shares are also hidden so that a "
        "hidden share cannot be worked out." in flat
    ), joined
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
    assert any(t.startswith("Källa: ") for t in sv)
    assert (
        "Andelar med färre än 30 svarande redovisas inte. Vissa andelar döljs också så att en dold andel inte kan "
        "räknas fram." in " ".join(sv)
    )


# --- trygghet --lang en run on the sample wave: every page -------------------------------------------------------


class _Text(HTMLParser):
    """The visible text nodes of a page (no script, no style), and the ``title``/``alt``/``aria-label``
    attributes a reader meets."""

    def __init__(self) -> None:
        super().__init__()
        self.nodes: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._skip += tag in ("script", "style")
        self.nodes += [str(v) for k, v in attrs if k in ("alt", "aria-label", "title") and v]

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("script", "style")

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        if text and not self._skip:
            self.nodes.append(text)


def _nodes(path: Path) -> list[str]:
    p = _Text()
    p.feed(path.read_text(encoding="utf-8"))
    return p.nodes


def _ui_nodes(path: Path) -> list[str]:
    """The text nodes outside quoted codebook wordings (a question footnote keeps its Swedish question)."""
    return [t for t in _nodes(path) if not t.startswith("Question (Swedish wording)")]


def _cli(*args: str):
    return CliRunner().invoke(app, list(args), terminal_width=200)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The sample wave run in Swedish and in English (HTML and CSV, the headline chart), and the compare page."""
    out = {}
    for lang in ("sv", "en"):
        d = tmp_path_factory.mktemp(lang)
        db = f"sqlite:///{d / 'db.sqlite'}"
        pre = ["--lang", "en"] if lang == "en" else []
        args = ["run", "--responses", str(RESP), "--population", str(POP), "--out", str(d / "out"), "--db", db]
        res = _cli(*pre, *args, "--formats", "html,csv")
        assert res.exit_code == 0, res.output
        cmp = _cli(*pre, "compare", "Rissne", "Hallonbergen", "--db", db, "--out", str(d / "compare.html"))
        assert cmp.exit_code == 0, cmp.output
        out[lang] = d
    return out


def _pages(d: Path) -> list[Path]:
    report = d / "out" / "report"
    return sorted(report.rglob("*.html")) + [d / "compare.html"]


@pytest.mark.slow
def test_english_run_has_no_swedish_ui_words_on_any_page(runs):
    en = runs["en"]
    pages = _pages(en)
    names = {p.name for p in pages}
    assert {"index.html", "compare.html", "svarsfordelningar.html", "kon_och_alder.html"} <= names, names
    assert len([p for p in pages if p.parent.name == "tables"]) >= 10  # every table page
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert '<html lang="en">' in html, page
        for node in _ui_nodes(page):
            assert not SWEDISH_RE.search(node), (page.name, node)
            assert not re.search(r"\d,\d(?!\d\d)|\d\u00a0%", node), (page.name, node)  # 27.4%, not 27,4 %
    index = _nodes(en / "out" / "report" / "index.html")
    for heading in ("Summary", "Tables", "Charts", "Downloads", "Key to symbols", "Method", "Notes"):
        assert heading in index, heading
    assert any(t.startswith("Source: ") for t in index)
    assert any(" was " in t and " in Totalt " in t for t in index)  # the summary's sentences
    compare = _nodes(en / "compare.html")
    assert "Rissne compared with Hallonbergen" in compare
    charts = sorted((en / "out" / "report" / "charts").glob("*.svg"))
    assert charts
    for chart in charts:
        for t in _svg_texts(chart):
            if not t.startswith("Source: "):
                assert not SWEDISH_RE.search(t), (chart.name, t)


SWEDISH_HEADINGS = ["Sammanfattning", "Jämför områden", "Tabeller", "Diagram", "Ladda ner", "Teckenförklaring", "Metod"]


@pytest.mark.slow
def test_swedish_run_keeps_its_swedish_pages(runs):
    sv = runs["sv"]
    index = _nodes(sv / "out" / "report" / "index.html")
    html = (sv / "out" / "report" / "index.html").read_text(encoding="utf-8")
    assert '<html lang="sv">' in html
    for heading in SWEDISH_HEADINGS + ["Anmärkningar", "Antal svarande per område och år"]:
        assert heading in index, heading
    assert any(t.startswith("Källa: ") for t in index)
    assert "Summary" not in index and "Key to symbols" not in index
    assert "Rissne jämfört med Hallonbergen" in _nodes(sv / "compare.html")
    assert "← Till rapportens startsida" in _nodes(sv / "out" / "report" / "tables" / "district_unsafe_after_dark.html")
    # the same files in both languages
    rel = lambda d: sorted(p.relative_to(d) for p in (d / "out" / "report").rglob("*") if p.is_file())  # noqa: E731
    assert rel(sv) == rel(runs["en"])


def test_swedish_report_byte_identical_with_or_without_lang_sv(tmp_path):
    """Index, table pages, collections, compare pages and the chart: lang sv writes the bytes of no option."""
    from reports.publish import publish_report
    from tests.test_publish import SAMPLE, make_comparisons

    est = load_estimates()
    cmp = make_comparisons(est)
    trend = pd.read_csv(SAMPLE / "expected" / "trend.csv")
    dirs = {}
    for name, extra in (("plain", {}), ("sv", {"lang": "sv"})):
        res = publish_report(
            est,
            cmp,
            trend,
            make_codebook(),
            {**RUN_META, "run_id": "r1", **extra},
            tmp_path / name,
            formats=("html", "csv"),
            charts=["unsafe_after_dark"],
            compare=[("Rissne", "Hallonbergen")],
        )
        dirs[name] = res.out_dir
    files = sorted(p.relative_to(dirs["plain"]) for p in dirs["plain"].rglob("*") if p.is_file())
    assert any(f.suffix == ".svg" for f in files) and any(f.name == "index.html" for f in files)
    for f in files:
        assert (dirs["plain"] / f).read_bytes() == (dirs["sv"] / f).read_bytes(), f


@pytest.mark.slow
def test_interactive_page_in_english_in_the_browser(runs, browser):  # noqa: F811 (the imported fixture)
    """jamfor.html of the English run, drawn by headless Chromium: the page's and its script's words English,
    the numbers in English notation (the same values as the Swedish page's data)."""
    _open(browser, runs["en"] / "out", ("Rissne", "Hallonbergen"), "unsafe_after_dark")
    text = str(browser.execute_script("return document.body.innerText;"))
    for line in text.splitlines():
        assert not SWEDISH_RE.search(line), line
        assert not re.search(r"\d,\d(?!\d\d)|\d\u00a0%", line), line
    for words in ("Compare districts", "Difference between two districts", "Ranking", "Rissne minus Hallonbergen"):
        assert words in text, words
    assert re.search(r"\b\d{1,2}\.\d%", text) and re.search(r"\b(Yes|No)\b", text)
    assert "Share feeling unsafe outdoors alone late in the evening" in text
    sv = (runs["sv"] / "out" / "report" / "jamfor.html").read_text(encoding="utf-8")
    assert '"words"' not in sv and "Jämför områden" in sv  # the Swedish page carries no English words


@pytest.mark.parametrize("adjust", ["fdr_bh", "holm", "none"])
def test_legend_and_method_in_english_for_every_adjustment(adjust):
    from reports.pages import legend, method_paragraphs
    from reports.signals import SignalRule

    rule = SignalRule(alpha=0.05, adjust=adjust, level=0.95)
    meta = {"method": "Kalibrerade vikter (raking mot kön och ålder per område och år); Taylorlinjäriserade "
            "standardfel; 95 % konfidensintervall på logitskalan"}  # fmt: skip
    en = [text for _, text in legend(rule, 30, "en")] + method_paragraphs(meta, rule, 30, "en")
    for text in en:
        assert not SWEDISH_RE.search(text) and not re.search(r"[åäöÅÄÖ]", text), text
    crit = {"fdr_bh": "adjusted p (Benjamini–Hochberg) < 0.05", "holm": "adjusted p (Holm) < 0.05"}
    assert (crit.get(adjust) or "p (unadjusted) < 0.05") in " ".join(en)
    assert en[len(legend(rule, 30, "en"))].startswith("Calibrated weights (raking to sex and age per district")
    sv = [text for _, text in legend(rule, 30)] + method_paragraphs(meta, rule, 30)
    assert sv == [text for _, text in legend(rule, 30, "sv")] + method_paragraphs(meta, rule, 30, "sv")
    assert any("konfidensintervall" in t for t in sv)


def test_the_runs_method_line_with_pooling_and_nonresponse_in_english():
    from reports.translate import english_sentence

    sv = (
        "Metod: Kalibrerade vikter (linjär kalibrering (GREG) mot kön och ålder per område och år och totalen av "
        "income per område och år); Taylorlinjäriserade standardfel; 95 % konfidensintervall på logitskalan; "
        "sammanslagna år: varje område skattas över 2 på varandra följande undersökningsår och redovisas under "
        "periodens sista år (2023–2024 under 2024); jämförelsen med föregående period gäller perioden som slutar 2 "
        "undersökningsår tidigare; svarsandel i bruttourvalet 2024: 41,2 % (per område, kön och ålder i "
        "response_rates.csv); ingen bortfallsjustering före kalibreringen."
    )
    assert english_sentence(sv) == (
        "Method: Calibrated weights (linear calibration (GREG) to sex and age per district and year and the total "
        "of income per district and year); Taylor-linearised standard errors; 95% confidence intervals on the "
        "logit scale; pooled years: each district is estimated over 2 consecutive survey years and shown under "
        "the period's last year (2023–2024 under 2024); the comparison with the previous period is with the period "
        "ending 2 survey years earlier; response rate in the gross sample 2024: 41.2% (per district, sex and age "
        "in response_rates.csv); no non-response adjustment before calibration."
    )
