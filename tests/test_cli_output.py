"""What the command line prints about the data: ``trygghet run`` reports the quarantine as ``ingest`` does, and
a value from a file (a district name, a quarantined cell, a path) reaches the terminal as text: its control and
bidi characters written as ``<U+XXXX>`` (survey.labels.visible), its brackets never read as Rich markup."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from survey.cli import app
from survey.labels import visible
from tests.conftest import SAMPLE_WAVE

RESP, POP = SAMPLE_WAVE / "responses.csv", SAMPLE_WAVE / "population.csv"


def _cli(*args: object):
    return CliRunner().invoke(app, [*map(str, args)], terminal_width=4000, prog_name="trygghet")


def _run(tmp_path: Path, *lang: str, responses: Path = RESP, population: Path = POP, out: Path | None = None):
    """``trygghet [--lang X] run`` on the files, HTML only (a database of its own per call)."""
    out = out or tmp_path / f"ut{len(list(tmp_path.glob('ut*')))}"
    db = f"sqlite:///{tmp_path / (out.name + '.db')}"
    files = ("--responses", responses, "--population", population, "--out", out, "--db", db)
    return _cli(*lang, "run", *files, "--formats", "html", "--charts", "none")


def _flat(text: str) -> str:
    return " ".join(text.replace("│", " ").split())


def _bad_wave(tmp_path: Path) -> Path:
    frame = pd.read_csv(RESP, dtype=str, keep_default_na=False)
    frame.loc[:4, "sex"] = "7"  # 5 rows
    frame.loc[5:6, "district"] = ""  # 2 rows
    frame.loc[7, "q_safe_after_dark"] = "\x1b[31m8"  # 1 row, an escape sequence in the value (its reason: repr)
    path = tmp_path / "svar.csv"
    frame.to_csv(path, index=False)
    return path


def test_visible_writes_hidden_characters_as_code_points() -> None:
    assert visible("R\x1b[31möd") == "R<U+001B>[31möd"
    assert visible("Duvbo\u202egnp.exe") == "Duvbo<U+202E>gnp.exe"
    assert visible("a\u200bb\ufeff\x7f\x85") == "a<U+200B>b<U+FEFF><U+007F><U+0085>"
    assert visible("två\nrader\tx", keep="\n") == "två\nrader<U+0009>x"
    assert visible("Väsby centrum [norra]") == "Väsby centrum [norra]"


def test_run_reports_the_quarantine_and_shows_no_escape_sequence(tmp_path) -> None:
    wave = _bad_wave(tmp_path)
    res = _run(tmp_path, responses=wave, out=tmp_path / "ut")
    assert res.exit_code == 0, res.output
    flat = _flat(res.output)
    assert "8 av 3022 rader i svar.csv ligger i karantän; trygghet quarantine show visar dem" in flat, flat
    assert "karantän, kolumn sex: 5 rader, t.ex. '7' är inte en giltig kod för sex (1, 2)" in flat, flat
    assert "karantän, kolumn district: 2 rader, t.ex. district är tomt" in flat, flat
    assert "karantän, kolumn q_safe_after_dark: 1 rad: '\\x1b[31m8' är inte ett heltal" in flat, flat
    assert "\x1b" not in res.output
    res = _cli("quarantine", "show", "--db", f"sqlite:///{tmp_path / 'ut.db'}")
    assert res.exit_code == 0 and "\x1b" not in res.output, res.output
    assert "<U+001B>[31m8" in _flat(res.output), res.output
    flat = _flat(_run(tmp_path, "--lang", "en", responses=wave, out=tmp_path / "en").output)
    assert "8 of 3022 rows of svar.csv are quarantined; trygghet quarantine show lists them" in flat, flat
    assert "quarantine, column sex: 5 rows, e.g. '7' is not a valid code for sex (1, 2)" in flat, flat
    assert "quarantine, column q_safe_after_dark: 1 row: '\\x1b[31m8' is not an integer" in flat, flat


def test_a_clean_run_has_no_quarantine_note(tmp_path) -> None:
    res = _run(tmp_path)
    assert res.exit_code == 0 and "karantän" not in res.output, res.output


def test_brackets_in_a_path_are_text_not_markup(tmp_path) -> None:
    """An output folder named ``x[/bold]`` was a MarkupError after the whole run (exit 1)."""
    out = tmp_path / "x[/bold]" / "[red]ut"
    res = _run(tmp_path, out=out)
    assert res.exit_code == 0, res.output
    flat = _flat(res.output)
    assert f"Analysfiler: {out.resolve()}" in flat and f"Rapport: {out.resolve() / 'report' / 'index.html'}" in flat


def test_an_error_naming_a_hostile_value_shows_its_code_points(tmp_path) -> None:
    pop = pd.read_csv(POP, dtype=str, keep_default_na=False)
    pop.loc[0, "district"] = "R\x1b]0;pwned\x07d"
    path = tmp_path / "bef.csv"
    pop.to_csv(path, index=False)
    res = _run(tmp_path, population=path)
    assert res.exit_code == 2, res.output
    assert "\x1b" not in res.output and "\x07" not in res.output
    assert "R<U+001B>]0;pwned<U+0007>d" in res.output, res.output


def test_an_xlsx_the_file_system_refuses_is_one_paragraph_not_a_fault(tmp_path) -> None:
    """XlsxWriter's FileCreateError is the file system's refusal like every other writer's (it was reported
    as a fault of trygghet's own); its reason in Swedish."""
    assert _run(tmp_path, out=tmp_path / "ut").exit_code == 0
    (tmp_path / "fil").write_text("x")
    db = f"sqlite:///{tmp_path / 'ut.db'}"
    for fmt in ("xlsx", "csv"):
        res = _cli(
            "tables",
            "export",
            "--db",
            db,
            "--year",
            "2024",
            "--table",
            "trend",
            "--format",
            fmt,
            "--out",
            tmp_path / "fil" / f"t.{fmt}",
        )
        assert res.exit_code == 2, res.output
        text = _flat(res.output)
        assert (
            text == f"Fel: Kan inte använda {tmp_path / 'fil'}: det finns redan en fil med det namnet "
            "(filsystemet vägrade). Välj en annan sökväg."
        ), text


def test_a_contract_file_whose_name_is_a_folder_is_named_not_a_fault(tmp_path) -> None:
    """``OUT/estimates.csv`` is a folder: Arrow's "Expected file path" carried no errno and was reported as a
    fault of trygghet's own (exit 1); now the file system's refusal with the path, exit 2."""
    out = tmp_path / "ut"
    (out / "estimates.csv").mkdir(parents=True)
    res = _run(tmp_path, out=out)
    assert res.exit_code == 2, res.output
    assert _flat(res.output).endswith(
        f"Fel: Kan inte använda {out / 'estimates.csv'}: det är en mapp, inte en fil (filsystemet vägrade). "
        "Välj en annan sökväg."
    ), res.output


def test_the_store_commands_answer_in_swedish_for_what_is_not_there(tmp_path) -> None:
    """No English inside a Swedish message, a grammatical gender that agrees, a source that does not exist
    named instead of an empty table, and a suppression limit under 1 refused as run does."""
    assert _run(tmp_path, out=tmp_path / "ut").exit_code == 0
    db = f"sqlite:///{tmp_path / 'ut.db'}"
    said = {
        ("compare", "Rissne", "Duvbo", "--db", db, "--run", "saknas"): "Fel: Det finns ingen körning 'saknas' i "
        "databasen.",
        ("compare", "Rissne", "Duvbo", "--db", db, "--indicator", "otrygg"): "Fel: Okänd indikator ”otrygg”.",
        ("compare", "Rissne", "Duvbo", "--db", db, "--min-n", "0"): "Fel: --min-n måste vara ≥ 1, inte '0'. Se "
        "trygghet compare --help.",
        ("quarantine", "show", "99", "--db", db): "Fel: Det finns ingen källfil med id 99 i databasen (se "
        "`trygghet sources list`).",
    }
    for args, start in said.items():
        res = _cli(*args)
        assert res.exit_code == 2 and _flat(res.output).startswith(start), (args, res.output)
    assert _cli("sources", "withdraw", "1", "--db", db, "--reason", "fel leverans").exit_code == 0
    res = _cli("sources", "replace", "1", RESP, "--db", db)
    assert res.exit_code == 2 and "är inte aktiv (återkallad)" in _flat(res.output), res.output


def test_formats_asked_for_without_a_report_are_noted(tmp_path) -> None:
    files = ("--responses", RESP, "--population", POP, "--db", f"sqlite:///{tmp_path / 'd.db'}")
    res = _cli("run", *files, "--out", tmp_path / "a", "--no-publish", "--formats", "png")
    assert res.exit_code == 0, res.output
    assert "--formats png används inte: --no-publish skriver bara analysfilerna" in _flat(res.output)
    assert not (tmp_path / "a" / "report").exists()
    res = _cli("run", *files, "--out", tmp_path / "b", "--no-publish")
    assert res.exit_code == 0 and "--formats" not in res.output, res.output


def test_ingest_summarises_the_quarantine_per_column_as_run_does(tmp_path) -> None:
    """40 different bad values in one column: one line for the column (it was one line per distinct value)."""
    frame = pd.read_csv(RESP, dtype=str, keep_default_na=False)
    frame.loc[:39, "born_abroad"] = [f"x{i}" for i in range(40)]
    frame.loc[40:41, "district"] = ""
    wave = tmp_path / "svar.csv"
    frame.to_csv(wave, index=False)
    res = _cli("ingest", wave, "--population", POP, "--db", f"sqlite:///{tmp_path / 'db.sqlite'}")
    assert res.exit_code == 0, res.output
    lines = [" ".join(line.split()) for line in res.output.splitlines() if line.startswith("  ")]
    assert lines == [
        "karantän, kolumn born_abroad: 40 rader, t.ex. 'x0' är inte ett heltal",
        "karantän, kolumn district: 2 rader, t.ex. district är tomt",
        "trygghet quarantine show visar raderna.",
    ], res.output
    assert "3022 rader, 2980 godkända, 42 i karantän." in _flat(res.output), res.output


def test_a_no_break_space_in_a_district_name_is_a_space(tmp_path) -> None:
    """'Väsby\\u00a0centrum' (a no-break space from a word processor) is the population file's 'Väsby centrum':
    every row accepted (all 70 rows were quarantined as an unknown district and the district left the run)."""
    frame = pd.read_csv(RESP, dtype=str, keep_default_na=False)
    vasby = frame["district"] == "Väsby centrum"
    frame.loc[vasby, "district"] = "Väsby\u00a0centrum"
    frame.loc[vasby & (frame.index % 2 == 0), "district"] = "Väsby\u2009centrum\u3000"  # a thin space, an ideographic
    wave = tmp_path / "svar.csv"
    frame.to_csv(wave, index=False)
    res = _cli("ingest", wave, "--population", POP, "--db", f"sqlite:///{tmp_path / 'db.sqlite'}")
    assert res.exit_code == 0, res.output
    assert "3022 rader, 3022 godkända, 0 i karantän." in _flat(res.output), res.output
    assert vasby.sum() > 50


def test_a_file_that_is_not_a_database_is_named_not_a_program_error(tmp_path) -> None:
    """--db at a text file: one Swedish line and exit 2, before any work (it was 'ett oväntat fel ... Det är ett
    programfel', exit 1); the file is left as it was."""
    db = tmp_path / "anteckningar.db"
    db.write_text("inte en databas\n", encoding="utf-8")
    url = f"sqlite:///{db}"
    out = tmp_path / "ut"
    for args in (("ingest", RESP, "--population", POP, "--db", url), ("tables", "list", "--db", url)):
        res = _cli(*args)
        assert res.exit_code == 2, res.output
        assert _flat(res.output) == (
            f"Fel: Kan inte öppna databasen: filen i {url} är ingen SQLite-databas (den finns men är något annat, "
            "eller skadad). Ange en annan fil med --db sqlite:///fil.db, eller flytta undan den."
        ), res.output
    res = _cli("run", "--responses", RESP, "--population", POP, "--out", out, "--db", url)
    assert res.exit_code == 2 and "är ingen SQLite-databas" in res.output and not out.exists(), res.output
    assert db.read_text(encoding="utf-8") == "inte en databas\n"


def test_suppression_csv_lists_what_the_tables_hide(tmp_path) -> None:
    """``suppression.csv`` beside ``estimates.csv``: its primary district rows are exactly the contract's
    ``suppressed`` rows, and its secondary rows (n ≥ 30, hidden so that Väsby centrum cannot be derived from
    Totalt) are the estimates the published CSV shows as '..' although ``estimates.csv`` says false."""
    out = tmp_path / "ut"
    db = f"sqlite:///{tmp_path / 'ut.db'}"
    res = _cli("run", "--responses", RESP, "--population", POP, "--out", out, "--db", db, "--formats", "csv")
    assert res.exit_code == 0, res.output
    sup = pd.read_csv(out / "suppression.csv")
    est = pd.read_csv(out / "estimates.csv")
    key = ["year", "district", "indicator"]
    district = sup[sup["domain"] == "district"]
    primary = district[district["suppressed_reason"] == "primary"][key]
    flagged = est[est["suppressed"]][key]
    assert len(primary) > 0 and set(map(tuple, primary.values)) == set(map(tuple, flagged.values))
    secondary = district[district["suppressed_reason"] == "secondary"]
    assert len(secondary) > 0 and (secondary["n"] >= 30).all()
    shown = pd.read_csv(out / "report" / "tables" / "district_unsafe_after_dark.csv", dtype=str)
    for _, r in secondary[secondary["indicator"] == "unsafe_after_dark"].iterrows():
        cells = shown[(shown["district"] == r["district"]) & (shown["year"] == str(r["year"]))]
        assert len(cells) and (cells["text"] == "..").all(), (r.to_dict(), cells)
    assert not est.merge(secondary[key], on=key)["suppressed"].any()


def test_a_very_long_name_is_cut_in_the_message(tmp_path) -> None:
    """A 5,000-character district in the population file: the error names its length and shows 60 characters of
    it (it echoed all 5,000)."""
    pop = pd.read_csv(POP, dtype=str, keep_default_na=False)
    pop.loc[0, "district"] = "Y" * 5000
    path = tmp_path / "bef.csv"
    pop.to_csv(path, index=False)
    res = _cli("ingest", RESP, "--population", path, "--db", f"sqlite:///{tmp_path / 'db.sqlite'}")
    assert res.exit_code == 2, res.output
    text = _flat(res.output)
    assert "district är 5000 tecken långt (högst 100) (cell 2022/" + "Y" * 59 + "…/1/16-24)" in text, text
    assert len(text) < 400, text
