"""The report's and the CLI's language (issue 12): Swedish throughout by default (and byte-identical with or
without the option), English with ``--lang en``: progress, the run summary, notes, the error frame and the
common input errors, ``synth``, the tables' titles, labels, footnotes and number notation in every format;
``trygghet --version``."""

from __future__ import annotations

import json
import re
from importlib.metadata import version
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from reports.publish import publish_report
from reports.translate import english_text
from survey.cli import app
from survey.errors import InputError
from survey.pipeline import i18n
from tests.conftest import SAMPLE_WAVE
from tests.test_publish import RUN_META, SAMPLE, load_estimates, make_codebook, make_comparisons

RESP, POP = SAMPLE_WAVE / "responses.csv", SAMPLE_WAVE / "population.csv"
# Swedish words that must not be left in an English table's texts
SWEDISH = re.compile(
    r"\b(Andel|andel|Område|procent|procentenheter|Källa|Metod|Förändring|Uppgiften|Skillnad|jämfört|Oddskvot)\b"
)


def _cli(*args: str):
    return CliRunner().invoke(app, list(args), terminal_width=400)


def _flat(text: str) -> str:
    return " ".join(text.split())


# --- --version ------------------------------------------------------------------------------------------------


def test_version_from_the_package_metadata():
    res = _cli("--version")
    assert res.exit_code == 0, res.output
    assert res.output.strip() == f"trygghet {version('trygghet')}"
    assert re.fullmatch(r"trygghet \d+\.\d+\.\d+\S*", res.output.strip())


# --- the CLI ----------------------------------------------------------------------------------------------------


def _run_args(tmp_path: Path, *extra: str) -> list[str]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    return [
        "run",
        "--responses",
        str(RESP),
        "--population",
        str(POP),
        "--out",
        str(tmp_path / "out"),
        "--db",
        f"sqlite:///{tmp_path / 'db.sqlite'}",
        "--formats",
        "csv,px",
        "--charts",
        "none",
        *extra,
    ]


@pytest.mark.slow
def test_run_speaks_swedish_by_default_and_english_with_lang_en(tmp_path):
    sv = _cli(*_run_args(tmp_path / "sv"))
    assert sv.exit_code == 0, sv.output
    assert "Klart. Körning" in sv.output and "svarande" in sv.output and "Steg: " in sv.output
    assert "Analysfiler: " in sv.output and "Rapport: " in sv.output
    assert "Done." not in sv.output
    assert "databas: inläst" in sv.output and re.search(r"Steg: läsa \d+,\d\d s, validera ", sv.output)
    en = _cli("--lang", "en", *_run_args(tmp_path / "en"))
    assert en.exit_code == 0, en.output
    assert "Done. Run" in en.output and "respondents" in en.output and "estimates" in en.output
    assert "Steps: " in en.output and "Analysis files: " in en.output and "Report: " in en.output
    assert "Klart" not in en.output and "svarande" not in en.output
    assert "database: loaded" in en.output  # a runner note, translated
    assert re.search(r"Steps: read \d+\.\d\d s, validate ", en.output)
    # the tables of the English run are English; the numbers are the Swedish run's
    sv_csv = pd.read_csv(tmp_path / "sv" / "out" / "report" / "tables" / "district_unsafe_after_dark.csv")
    en_csv = pd.read_csv(tmp_path / "en" / "out" / "report" / "tables" / "district_unsafe_after_dark.csv")
    pd.testing.assert_series_equal(sv_csv["value"], en_csv["value"])
    assert (en_csv["suppressed"] == sv_csv["suppressed"]).all()
    assert set(en_csv["text"]) - {"..", ".", "*", "", "▲", "▼"} and not any(
        re.search(r",\d(?!\d\d)", str(t)) for t in en_csv["text"]
    )
    px = (tmp_path / "en" / "out" / "report" / "tables" / "district_unsafe_after_dark.px").read_text(encoding="utf-8")
    assert 'LANGUAGE="en";' in px and 'STUB="District";' in px and 'HEADING="Year","Statistic";' in px
    # run --lang en (the option of the run itself) works the same way
    own = _cli(*_run_args(tmp_path / "own", "--lang", "en"))
    assert own.exit_code == 0 and "Done. Run" in own.output, own.output


def test_errors_are_swedish_by_default_and_english_with_lang_en(tmp_path):
    missing = tmp_path / "finns-inte.csv"
    sv = _cli(*_run_args(tmp_path, "--responses", str(missing)))
    assert sv.exit_code == 2 and "Traceback" not in sv.output
    assert _flat(sv.output).startswith("Fel: Filen") and "finns inte (eller är ingen fil)" in _flat(sv.output)
    en = _cli("--lang", "en", *_run_args(tmp_path, "--responses", str(missing)))
    assert en.exit_code == 2 and "Traceback" not in en.output
    assert _flat(en.output) == f"Error: The file {missing} does not exist (or is not a file)."
    bad = _cli("--lang", "en", *_run_args(tmp_path, "--formats", "html,docx"))
    assert bad.exit_code == 2
    text = _flat(bad.output)
    assert text.startswith("Error: Invalid value docx for --formats. Allowed values: html, xlsx, csv, px, jsonstat,")
    assert text.endswith("png or pdf."), text
    low = _flat(_cli("--lang", "en", *_run_args(tmp_path, "--min-n", "0")).output)
    assert low == "Error: --min-n must be ≥ 1, not '0'.", low
    cfg = tmp_path / "c.yaml"
    cfg.write_text("metod: linear\n", encoding="utf-8")
    unknown = _flat(_cli("--lang", "en", "run", "--config", str(cfg)).output)
    assert unknown.startswith("Error: Unknown setting 'metod'. Did you mean 'method'? Allowed: responses,"), unknown
    assert not (tmp_path / "db.sqlite").exists()
    wrong = _cli("--lang", "de", "synth")
    assert wrong.exit_code == 2 and "Ogiltigt värde de för --lang" in _flat(wrong.output)


def test_common_input_errors_in_english(tmp_path):
    bad = tmp_path / "svar.csv"
    bad.write_text("resp_id;year\n1;2024\n", encoding="utf-8")
    sv = _flat(_cli(*_run_args(tmp_path, "--responses", str(bad))).output)
    assert sv.startswith("Fel: svar.csv, rad 1, kolumn ") and "saknar obligatoriska kolumner" in sv, sv
    en = _flat(_cli("--lang", "en", *_run_args(tmp_path, "--responses", str(bad))).output)
    assert en.startswith("Error: svar.csv, row 1, column "), en
    assert "lacks the required columns" in en and "the file has resp_id, year" in en and "saknar" not in en
    # the library's messages, rendered
    assert i18n.english(str(InputError("filen finns inte (eller är en mapp)", "x.csv"))) == (
        "x.csv: the file does not exist (or is a folder)"
    )
    assert i18n.english(str(InputError("är tom", "x.csv", 1))) == "x.csv, row 1: is empty"
    assert i18n.english("Okänt område ”Risne”. Menade du ”Rissne”? Kända: Duvbo, Rissne.") == (
        "Unknown district ”Risne”. Did you mean ”Rissne”? Known: Duvbo, Rissne."
    )
    assert i18n.english("Databasen har ingen körning med skattningar; kör trygghet run först.") == (
        "The database has no run with estimates; run trygghet run first."
    )


def write_estimates(d: Path) -> Path:
    """An output folder of ``trygghet run`` with the sample estimates and comparisons (for compare)."""
    d.mkdir(parents=True, exist_ok=True)
    est = load_estimates()
    est.to_csv(d / "estimates.csv", index=False)
    make_comparisons(est).to_csv(d / "comparisons.csv", index=False)
    return d


def test_compare_errors_and_tables_in_english(tmp_path):
    d = write_estimates(tmp_path / "run")
    typo = _cli("--lang", "en", "compare", "Risne", "Hallonbergen", "--db", str(d))
    assert typo.exit_code == 2
    assert _flat(typo.output).startswith("Error: Unknown district ”Risne”. Did you mean ”Rissne”? Known:"), typo.output
    ok = _cli("--lang", "en", "compare", "Rissne", "Hallonbergen", "--db", str(d), "--years", "2024")
    assert ok.exit_code == 0, ok.output
    assert "Rissne compared with Hallonbergen, 2024" in ok.output and "jämfört" not in ok.output
    sv = _cli("compare", "Rissne", "Hallonbergen", "--db", str(d), "--years", "2024")
    assert "Rissne jämfört med Hallonbergen, 2024" in sv.output


def test_synth_in_swedish_and_english(tmp_path):
    sv = _cli("synth", "--n", "1500", "--districts", "3", "--years", "2", "--out", str(tmp_path / "sv"))
    assert sv.exit_code == 0, sv.output
    assert "1\u00a0500 svarande, 2 år × 3 områden" in sv.output and "Syntetisk våg skriven till" in sv.output
    assert "respondents" not in sv.output
    en = _cli("--lang", "en", "synth", "--n", "1500", "--districts", "3", "--years", "2", "--out", str(tmp_path / "en"))
    assert en.exit_code == 0, en.output
    assert "1,500 respondents, 2 years × 3 districts" in en.output and "Synthetic wave written to" in en.output
    small = _cli("synth", "--n", "10", "--out", str(tmp_path / "x"))
    assert small.exit_code == 2 and "är för litet för" in _flat(small.output) and "too small" not in small.output


# --- the tables -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    d = tmp_path_factory.mktemp("lang")
    est = load_estimates()
    cmp = make_comparisons(est)
    trend = pd.read_csv(SAMPLE / "expected" / "trend.csv")
    out = {}
    for name, meta in (("plain", RUN_META), ("sv", {**RUN_META, "lang": "sv"}), ("en", {**RUN_META, "lang": "en"})):
        out[name] = publish_report(
            est,
            cmp,
            trend,
            make_codebook(),
            {**meta, "run_id": "r1"},
            d / name,
            formats=("html", "xlsx", "csv", "px", "jsonstat"),
            charts=False,
            compare=[("Rissne", "Hallonbergen")],
        )
    return out


def test_swedish_is_byte_identical_with_or_without_the_option(published):
    plain, sv = published["plain"], published["sv"]
    files = sorted(p.relative_to(plain.out_dir) for p in plain.out_dir.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(sv.out_dir) for p in sv.out_dir.rglob("*") if p.is_file())
    for f in files:
        if f.suffix != ".xlsx":  # zip timestamps aside, the sheets are compared below
            assert (plain.out_dir / f).read_bytes() == (sv.out_dir / f).read_bytes(), f
    a, b = load_workbook(plain.out_dir / "tabeller.xlsx"), load_workbook(sv.out_dir / "tabeller.xlsx")
    assert a.sheetnames == b.sheetnames
    for ws in a.worksheets:
        assert [[c.value for c in r] for r in ws.iter_rows()] == [[c.value for c in r] for r in b[ws.title].iter_rows()]


def test_english_tables_in_every_format(published):
    sv, en = published["sv"], published["en"]
    assert sv.tables == en.tables
    for tid in en.tables:
        s = pd.read_csv(sv.out_dir / "tables" / f"{tid}.csv", keep_default_na=False)
        e = pd.read_csv(en.out_dir / "tables" / f"{tid}.csv", keep_default_na=False)
        assert (s["value"].astype(str) == e["value"].astype(str)).all()  # the same numbers
        for st, et in zip(s["text"].astype(str), e["text"].astype(str)):
            assert et == english_text(st)
            if st.endswith("\u00a0%"):
                assert et == st.replace("\u00a0%", "%").replace(",", "."), (st, et)
        for col in ("row_label", "column_label"):
            for lab in e[col].astype(str):
                assert not SWEDISH.search(lab), (tid, lab)
        doc = json.loads((en.out_dir / "tables" / f"{tid}.jsonstat.json").read_text(encoding="utf-8"))
        assert not SWEDISH.search(doc["label"]), doc["label"]
        assert doc["source"].startswith("Source: ") and doc["extension"]["lang"] == "en"
        for note in doc.get("note", []):
            if not note.startswith("Question (Swedish wording)"):
                assert not SWEDISH.search(note), (tid, note)
        assert doc["dimension"]["stat"]["label"] == "Statistic"
    doc = json.loads((en.out_dir / "tables" / "district_unsafe_after_dark.jsonstat.json").read_text(encoding="utf-8"))
    assert doc["label"].startswith("Share feeling unsafe outdoors alone late in the evening, by district and year")
    assert doc["dimension"]["stat"]["category"]["label"]["est"] == "Share"
    assert doc["dimension"]["stat"]["category"]["unit"]["est"]["label"] == "per cent"
    html = (en.out_dir / "tables" / "district_unsafe_after_dark.html").read_text(encoding="utf-8")
    assert "adj.\u00a0p" in html and "\u00a0pp" in html and "just.\u00a0p" not in html
    assert re.search(r"\(\d+\.\d–\d+\.\d\)", html) and not re.search(r"\(\d+,\d–\d+,\d\)", html)
    wb = load_workbook(en.out_dir / "tabeller.xlsx")
    assert "Unsafe after dark" in wb.sheetnames and "Neighbourhood problems" not in wb.sheetnames
    ws = wb["Unsafe after dark"]
    assert ws["A1"].value.startswith("Share feeling unsafe") and ws["A4"].value == "District"
    assert [ws.cell(5, c).value for c in range(2, 6)] == ["Share", "CI lower", "CI upper", "n"]
    swb = load_workbook(sv.out_dir / "tabeller.xlsx")
    sws = swb[swb.sheetnames[0]]
    rows = lambda sheet: [[c.value for c in r][1:] for r in sheet.iter_rows(min_row=6, max_row=12)]  # noqa: E731
    assert rows(ws) == rows(sws)  # the same numbers and markers


def test_stored_words_shown_in_the_language():
    try:
        assert i18n.set_lang("sv") == "sv"
        assert [i18n.value_word(w) for w in ("responses", "active", "withdrawn", "succeeded")] == [
            "svar",
            "aktiv",
            "återkallad",
            "lyckad",
        ]
        assert i18n.status_word("unchanged") == "oförändrad (redan inläst)"
        assert i18n.steps_line({"read": 0.125, "publish": 12.5}) == "läsa 0,12 s, publicera 12,50 s"
        i18n.set_lang("en")
        assert i18n.value_word("withdrawn") == "withdrawn" and i18n.status_word("loaded") == "loaded"
        assert i18n.steps_line({"read": 0.125}) == "read 0.12 s"
    finally:
        i18n.set_lang("sv")
