"""The report's method section (issue 12) read back from ``index.html`` of a real ``trygghet run`` on the shared
sample wave with a gross sample and ``--fieldwork``, in Swedish and in English: population and ages, fieldwork,
respondents per district and year, sample and response rate per district and year, weighting variables,
variance method, CI method, suppression rule, comparison rule, codebook version and run id. Every expected
number is computed here from the input files and ``estimates.csv`` (formatted here, not by ``reports``)."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from survey.cli import app
from tests.conftest import SAMPLE_WAVE
from tests.test_pipeline_nonresponse import make_gross

RESP, POP = SAMPLE_WAVE / "responses.csv", SAMPLE_WAVE / "population.csv"
FIELDWORK = "postenkät med webbsvar, 2 september–14 oktober"
NBSP = "\u00a0"
SMALL = "Väsby centrum"  # 21, 28 and 21 respondents: under the threshold of 30


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("method")
    make_gross(d / "brutto.csv")
    out = {}
    for lang in ("sv", "en"):
        args = ["run", "--responses", str(RESP), "--population", str(POP), "--out", str(d / lang)]
        args += ["--db", f"sqlite:///{d / lang}.db", "--formats", "html", "--charts", "none"]
        args += ["--gross-sample", str(d / "brutto.csv"), "--fieldwork", FIELDWORK]
        res = CliRunner().invoke(app, ["--lang", lang, *args])
        assert res.exit_code == 0, res.output
        out[lang] = d / lang
    out["gross"] = d / "brutto.csv"
    return out


def _section(out: Path) -> str:
    """The method section of the index page (from its heading to the next one of the same level)."""
    page = (out / "report" / "index.html").read_text(encoding="utf-8")
    return page.split('<h2 id="metod">', 1)[1].split("<h2", 1)[0]


def _paragraphs(section: str) -> list[str]:
    return [html.unescape(re.sub(r"<[^>]+>", "", p)) for p in re.findall(r"<p>(.*?)</p>", section, re.S)]


def _tables(section: str) -> list[list[list[str]]]:
    """Every table of the section: rows of cell texts (header rows included)."""
    return [
        [
            [html.unescape(c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)]
            for row in re.findall(r"<tr>(.*?)</tr>", t)
        ]
        for t in re.findall(r"<table.*?</table>", section, re.S)
    ]


def _int(v: float, lang: str) -> str:
    return f"{int(v):,}".replace(",", NBSP if lang == "sv" else ",")


def _pct(x: float, lang: str) -> str:
    s = f"{100 * x:.1f}"
    return s.replace(".", ",") + NBSP + "%" if lang == "sv" else s + "%"


def _district_rows(rows: list[list[str]]) -> dict[str, list[str]]:
    return {r[0]: r[1:] for r in rows if r and r[0] not in ("Område", "District", "Urval", "Sample")}


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_method_section_has_every_element(runs, lang) -> None:
    out = runs[lang]
    section = _section(out)
    paras = _paragraphs(section)
    text = " ".join(paras)
    run_id = json.loads((out / "run.json").read_text(encoding="utf-8"))["run_id"]
    pop = pd.read_csv(POP)
    totals = pop.groupby("year")["population"].sum()
    groups = "16-24, 25-34, 35-44, 45-54, 55-64, 65-74, 75-84"
    parts = [f"{_int(v, lang)} ({y})" for y, v in totals.items()]
    listing = f"{parts[0]}, {parts[1]} {'och' if lang == 'sv' else 'and'} {parts[2]}"
    if lang == "sv":
        want = [
            f"Population: befolkningen 16–84 år (åldersgrupperna {groups}) i 6 områden; enligt "
            f"befolkningsstatistiken {listing} personer.",
            f"Insamling: {FIELDWORK}. Undersökningsår: 2022–2024.",
            "Kalibrerade vikter (raking mot kön och ålder per område och år); Taylorlinjäriserade standardfel; "
            "95 % konfidensintervall på logitskalan; svarsandel i bruttourvalet",
            "Röjandekontroll: en andel redovisas inte (..) när färre än 30 har besvarat frågan",
            "En skillnad markeras när justerat p (Benjamini–Hochberg) < 0,05 (5 % nivå); det p-värde som skrivs ut "
            "är det justerade.",
            f"Kodbok trygghet v1; körning {run_id}.",
        ]
    else:
        want = [
            f"Population: the population aged 16–84 (the age groups {groups}) in 6 districts; according to the "
            f"population statistics {listing} persons.",
            f"Fieldwork: {FIELDWORK}. Survey years: 2022–2024.",
            "Calibrated weights (raking to sex and age per district and year); Taylor-linearised standard errors; "
            "95% confidence intervals on the logit scale; response rate in the gross sample",
            "Disclosure control: a share is not published (..) when fewer than 30 answered the question",
            "A difference is marked when adjusted p (Benjamini–Hochberg) < 0.05 (5% level); the p-value printed is "
            "the adjusted one.",
            f"Codebook trygghet v1; run {run_id}.",
        ]
    for w in want:
        assert w.replace(" %", NBSP + "%") in text or w in text, (w, text)

    # respondents per district and year: the largest n over the indicators (estimates.csv), small ones hidden,
    # and beside them (..) the other districts complementary suppression hides (tests/test_report_count_suppression)
    resp_table, rate_table = _tables(section)
    est = pd.read_csv(out / "estimates.csv")
    n = est.groupby(["district", "year"])["n"].max()
    got = _district_rows(resp_table)
    assert resp_table[0] == ["Område" if lang == "sv" else "District", "2022", "2023", "2024"]
    fewer = "färre än 30" if lang == "sv" else "fewer than 30"
    beside = {y: set() for y in (2022, 2023, 2024)}
    for (d, y), v in n.items():
        shown = got[d][[2022, 2023, 2024].index(y)]
        if shown == ".." and v >= 30 and d != "Totalt":
            beside[y].add(d)
        else:
            assert shown == (fewer if v < 30 else _int(v, lang)), (d, y)
    assert all(len(beside[y]) >= 1 for y in beside), beside  # Väsby centrum is small in every year

    # sample, respondents and response rate per district and year: the gross sample counted here
    g = pd.read_csv(runs["gross"])
    counts = g.groupby(["district", "year"])["responded"].agg(["size", "sum"])
    tot = g.groupby("year")["responded"].agg(["size", "sum"])
    counts = pd.concat([counts, tot.set_index(pd.MultiIndex.from_product([["Totalt"], tot.index]))])
    heads = ["Urval", "Svarande", "Svarsandel"] if lang == "sv" else ["Sample", "Respondents", "Response rate"]
    assert rate_table[0][1:] == ["2022", "2023", "2024"] and rate_table[1] == heads * 3
    got = _district_rows(rate_table)
    assert set(got) == set(counts.index.get_level_values(0))
    for (d, y), (sampled, responded) in counts.iterrows():
        k = 3 * [2022, 2023, 2024].index(y)
        shown = (
            [_int(sampled, lang), fewer, ".."]
            if responded < 30
            else [_int(sampled, lang), "..", ".."]
            if d in beside[y]  # the same districts hidden in both tables
            else [_int(sampled, lang), _int(responded, lang), _pct(responded / sampled, lang)]
        )
        assert got[d][k : k + 3] == shown, (d, y)
    assert got[SMALL][1] == fewer and got[SMALL][2] == ".."
    title = "Urval, svarande och svarsandel per område och år" if lang == "sv" else "Sample, respondents and"
    assert title in html.unescape(section)


def test_the_variance_method_is_the_runs(tmp_path) -> None:
    """The method line names the variance the run used (``--variance``), in Swedish and English."""
    from reports.translate import english_sentence
    from survey.pipeline.config import build_config
    from survey.pipeline.outputs import method_text

    base = {"responses": RESP, "population": POP}
    lines = {
        v: method_text(build_config(None, {**base, "variance": v}))
        for v in ("linearisation", "jackknife", "bootstrap:200")
    }
    assert "; Taylorlinjäriserade standardfel; 95 % konfidensintervall på logitskalan" in lines["linearisation"]
    assert (
        "; standardfel med jackknife (JKn, varje replikat kalibrerat för sig) för områden och Totalt, "
        in lines["jackknife"]
    )
    assert (
        "standardfel med bootstrap (Rao–Wu, 200 replikat, varje replikat kalibrerat för sig)" in lines["bootstrap:200"]
    )
    for line in lines.values():
        assert (
            "Taylorlinjäriserade för kön, ålder, svarsfördelningar och trender" in line
            or "Taylorlinjäriserade standardfel" in line
        )
    en = {v: english_sentence("Metod: " + line + ".") for v, line in lines.items()}
    assert "; Taylor-linearised standard errors; 95% confidence intervals on the logit scale." in en["linearisation"]
    assert (
        "; jackknife (JKn, each replicate calibrated on its own) standard errors for districts and Totalt, "
        "Taylor-linearised for sex, age, answer distributions and trends; 95% confidence" in en["jackknife"]
    )
    assert (
        "bootstrap (Rao–Wu, 200 replicates, each replicate calibrated on its own) standard errors"
        in en["bootstrap:200"]
    )
    assert not any(re.search(r"standardfel|replikat\b|kalibrerat", t) for t in en.values()), en


def test_without_fieldwork_or_gross_sample(tmp_path) -> None:
    """No ``--fieldwork``: the survey years only; no gross sample: no rate table (a small unit test of the pieces)."""
    from reports.method_section import fieldwork_paragraph, response_rate_table, years_text

    assert fieldwork_paragraph({}, [2022, 2023, 2024]) == (
        "Insamling: undersökningsår 2022–2024 (insamlingsperioden och -sättet anges inte i körningen)."
    )
    assert years_text([2020, 2024]) == "2020 och 2024" and years_text([2024]) == "2024"
    assert response_rate_table({}, 30) is None
    rates = [
        {"year": 2024, "district": "A", "sex": 1, "age_group": "16-24", "sampled": 100, "responded": 20},
        {"year": 2024, "district": "A", "sex": 2, "age_group": "16-24", "sampled": 50, "responded": 9},
        {"year": 2024, "district": "B", "sex": 1, "age_group": "16-24", "sampled": 80, "responded": 41},
    ]
    t = response_rate_table({"response_rates": rates}, 30)
    assert t is not None and t["rows"] == [
        ("A", [("150", "färre än 30", "..")]),
        ("B", [("80", "..", "..")]),  # else A = 70 - 41 (complementary suppression)
        ("Totalt", [("230", "70", "30,4\u00a0%")]),
    ]
