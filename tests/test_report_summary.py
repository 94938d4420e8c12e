"""The summary (sammanfattning, issue 12): first on the index page, Swedish sentences whose every number is a
published number, claims that follow the significance rule, hidden districts never mentioned; the method
section with respondents per district and year and the report texts."""

from __future__ import annotations

import html
import re

import pandas as pd

from reports.disclosure import protect
from reports.formats import swedish_number, swedish_p, swedish_percent, swedish_pp
from reports.signals import SignalRule
from reports.summary import change_sentences, summary_blocks
from tests.test_report_signals import ALPHA, wave  # noqa: F401 - the module fixture

CHANGE = re.compile(
    r"^(?P<subject>.+) i (?P<district>.+) (?P<verb>ökade|minskade) från (?P<a>[\d,]+\u00a0%) "
    r"(?P<y0>\d{4}) till (?P<b>[\d,]+\u00a0%) (?P<y1>\d{4}) \((?P<pp>[+\u2212][\d,]+) procentenheter, "
    r"justerat p \(Benjamini–Hochberg\) (?:= (?P<p>[\d,]+)|< (?P<lt>0,001))\)\.$"
)
LEVEL = re.compile(
    r"^(?P<subject>.+) var (?P<v>[\d,]+\u00a0%) i Totalt (?P<y>\d{4}) \(95 % konfidensintervall "
    r"(?P<lo>[\d,]+)–(?P<hi>[\d,]+\u00a0%)\)\.$"
)


def _summary(page: str) -> list[str]:
    sec = page[page.index('<section id="sammanfattning"') : page.index("</section>")]
    return [html.unescape(s) for s in re.findall(r"<li>(.*?)</li>", sec, flags=re.S)]


def test_summary_is_first_and_every_number_is_published(wave):  # noqa: F811
    res, comparisons, run_dir = wave
    est = pd.read_csv(run_dir / "estimates_full.csv")
    prot = protect(est, 30)
    page = res.index.read_text(encoding="utf-8")
    assert page.index("Sammanfattning") < page.index('<h2 id="tabeller">Tabeller</h2>')
    sentences = _summary(page)
    assert len(sentences) >= 5
    labels = {}
    from survey.data.codebook import load_codebook

    for ind in load_codebook().indicators:
        labels["Andelen " + ind.label_sv[len("Andel ") :]] = ind.name
    hidden = set(prot.loc[prot["hidden"] & (prot["year"] == prot["year"].max()), "district"])
    assert "Rissne" in hidden and not [s for s in sentences if any(f" {d} " in s or f" {d}," in s for d in hidden)]
    levels = [m for m in map(LEVEL.match, sentences) if m]
    assert levels
    for m in levels:
        e = est[(est.district == "Totalt") & (est.year == int(m["y"])) & (est.indicator == labels[m["subject"]])].iloc[
            0
        ]
        assert m["v"] == swedish_percent(e.estimate) and m["hi"] == swedish_percent(e.ci_high)
        assert m["lo"] == swedish_number(e.ci_low * 100, 1)
    for m in filter(None, map(CHANGE.match, sentences)):
        ind, d, y1 = labels[m["subject"]], m["district"], int(m["y1"])
        c = comparisons[
            (comparisons.comparison == "previous_year")
            & (comparisons.district == d)
            & (comparisons.year == y1)
            & (comparisons.indicator == ind)
        ].iloc[0]
        assert c.p_adjusted < ALPHA and m["pp"] == swedish_pp(c.difference)
        assert (m["verb"] == "ökade") == (c.difference > 0)
        assert m["b"] == swedish_percent(c.estimate) and m["a"] == swedish_percent(c.other_estimate)
    assert any("statistiskt säkerställt" in s for s in sentences)
    for s in sentences:
        if "statistiskt säkerställt" in s:
            ind = next(v for k, v in labels.items() if k[0].lower() + k[1:] in s)
            word = "högre" if "högre" in s else "lägre"
            for d, v in re.findall(r"(?:I |, | och )([^,(]+?) \(([\d,]+\u00a0%)\)", s.split(" var ")[0]):
                c = comparisons[
                    (comparisons.comparison == "vs_totalt")
                    & (comparisons.district == d)
                    & (comparisons.year == est.year.max())
                    & (comparisons.indicator == ind)
                ].iloc[0]
                assert (
                    c.p_adjusted < ALPHA
                    and (c.difference > 0) == (word == "högre")
                    and v == swedish_percent(c.estimate)
                )


def test_change_sentence_wording():
    """The sentence of the issue, from hand-made numbers."""
    est = pd.DataFrame(
        {
            "year": [2024, 2025],
            "district": ["Rissne", "Rissne"],
            "indicator": ["unsafe_after_dark"] * 2,
            "estimate": [0.57412, 0.50281],
            "ci_low": [0.5, 0.44],
            "ci_high": [0.65, 0.56],
            "n": [360, 370],
            "suppressed": [False, False],
        }
    )
    vis = {(int(r.year), r.district, r.indicator): r for r in protect(est, 30).itertuples(index=False)}
    cmp = pd.DataFrame(
        {
            "year": [2025],
            "district": ["Rissne"],
            "indicator": ["unsafe_after_dark"],
            "comparison": ["previous_year"],
            "other": ["2024"],
            "difference": [0.50281 - 0.57412],
            "p_value": [0.004],
            "p_adjusted": [0.0123],
        }
    )
    from survey.data.codebook import load_codebook

    s = change_sentences(vis, cmp, 2025, 2024, ["unsafe_after_dark"], load_codebook(), SignalRule())
    assert s == [
        "Andelen otrygga ute ensam sent en kväll i Rissne minskade från 57,4\u00a0% 2024 till "
        "50,3\u00a0% 2025 (\u22127,1 procentenheter, justerat p (Benjamini–Hochberg) = 0,012)."
    ]
    assert swedish_p(0.0123) == "0,012"
    assert (
        change_sentences(vis, cmp.assign(p_adjusted=0.06), 2025, 2024, ["unsafe_after_dark"], None, SignalRule()) == []
    )
    blocks = summary_blocks(protect(est, 30), cmp.assign(p_adjusted=0.06), None, SignalRule())
    assert any("Inga statistiskt säkerställda förändringar sedan 2024" in t for b in blocks for t in b["sentences"])


def test_method_section_and_report_texts(wave):  # noqa: F811
    res, _, _ = wave
    page = res.index.read_text(encoding="utf-8")
    method = page[page.index('<h2 id="metod">') : page.index("<h2>Anmärkningar</h2>")]
    assert "Antal svarande per område och år" in method and "färre än 30" in method
    assert "Röjandekontroll" in method and "sekundär undertryckning" in method
    assert "Benjamini–Hochbergs metod" in method and "Kodbok" in method and "körning sig" in method
    tiny = re.search(r"<th>Väsby centrum</th>(.*?)</tr>", method).group(1)
    assert re.findall(r"<td>(.*?)</td>", tiny) == ["färre än 30"] * 3  # never the exact small count
