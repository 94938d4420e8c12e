"""The CLI end to end in English (issue 12): ``trygghet --lang en …`` on error paths of every layer (a bad file,
a bad option, a calibration failure, a design error, the database, publishing, a model) prints one English
paragraph ``Error: …`` with exit code 2 and no traceback; ``synth``'s and a run's progress, notes and summary are
English too. The Swedish checks are those of ``test_lang_messages`` (å, ä, ö, common Swedish words and the words
of the Swedish message templates); the data's own names (districts such as Älvsjö-Ängby, file names) aside."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from survey.cli import _fail, app
from survey.errors import ModelError
from survey.pipeline import i18n
from tests.conftest import SAMPLE_WAVE
from tests.lang_sites import SWEDISH_LETTERS, swedish_words
from tests.test_lang import write_estimates
from tests.test_lang_messages import vocabulary

RESP, POP = SAMPLE_WAVE / "responses.csv", SAMPLE_WAVE / "population.csv"
DISTRICTS = sorted(set(pd.read_csv(POP)["district"]), key=len, reverse=True)


def _cli(*args: str):
    return CliRunner().invoke(app, ["--lang", "en", *map(str, args)], terminal_width=4000)


def _swedish_left(text: str, *paths: Path) -> list[str]:
    """The Swedish words of a CLI output, the paths and the data's district names aside."""
    for p in sorted(map(str, paths), key=len, reverse=True):
        text = text.replace(p, " ")
    for name in DISTRICTS:
        text = text.replace(name, " ")
    return [w for w in swedish_words(text, vocabulary())] + SWEDISH_LETTERS.findall(text)


def _english_error(res, *paths: Path) -> str:
    """The error of a CLI result: exit code 2, no traceback, one paragraph beginning ``Error: ``, all English."""
    assert res.exit_code == 2, (res.exit_code, res.output, res.exception)
    out = res.output
    assert "Traceback" not in out and isinstance(res.exception, SystemExit), res.exception
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), out
    assert _swedish_left(lines[0], *paths) == [], lines[0]
    return lines[0]


def _run(tmp_path: Path, *extra: object, responses: Path = RESP, population: Path = POP) -> list[object]:
    return [
        "run",
        "--responses",
        responses,
        "--population",
        population,
        "--out",
        tmp_path / "out",
        "--db",
        f"sqlite:///{tmp_path / 'db.sqlite'}",
        "--formats",
        "csv",
        "--charts",
        "none",
        *extra,
    ]


# --- a bad file (data layer) -------------------------------------------------------------------------------------


def test_bad_files_in_english(tmp_path):
    nul = tmp_path / "nul.csv"
    nul.write_bytes(b"a,b\x00c\n1,2\n")
    text = _english_error(_cli(*_run(tmp_path, responses=nul)), tmp_path)
    assert text.startswith("Error: nul.csv, row 1, column ") and "contains NUL bytes (0x00)" in text, text
    wide = tmp_path / "wide.csv"
    wide.write_text("resp_id,year,district\n1,2024,X,extra,more\n", encoding="utf-8")
    text = _english_error(_cli(*_run(tmp_path, responses=wide)), tmp_path)
    assert text == (
        "Error: wide.csv, row 2: has 5 fields where the header row has 3 (more than the header row, delimiter ','); "
        "the file may be truncated, have mixed delimiters, or a field containing the delimiter without quotes"
    ), text
    book = tmp_path / "broken.xlsx"
    book.write_bytes(b"PK\x03\x04garbage")
    text = _english_error(_cli(*_run(tmp_path, responses=book)), tmp_path)
    assert (
        text == "Error: broken.xlsx: is not a readable .xlsx workbook (the zip file is broken or truncated: BadZipFile)"
    )


def test_a_rejected_wave_names_its_reasons_in_english(tmp_path):
    bad = tmp_path / "wave.csv"
    frame = pd.read_csv(RESP, dtype=str, keep_default_na=False)
    frame.loc[: len(frame) // 2, "sex"] = "7"  # half the rows with a code the codebook does not have
    frame.to_csv(bad, index=False)
    text = _english_error(_cli(*_run(tmp_path, responses=bad)), tmp_path)
    assert text.startswith("Error: wave.csv, row 2, column sex: the wave is rejected: "), text
    assert "failed the row checks, more than the 5.0% allowed (--max-bad-share). Failures by check and column: " in text
    assert re.search(r"First examples: wave\.csv row 2, column sex: '7' is not a valid code for sex \(1, 2\)", text), (
        text
    )


# --- a bad option (pipeline layer) -------------------------------------------------------------------------------


def test_bad_options_in_english(tmp_path):
    text = _english_error(_cli(*_run(tmp_path, "--trim-lower", "2", "--trim-upper", "3")), tmp_path)
    assert text == "Error: --trim-lower/--trim-upper: the trim bounds must enclose 1: trim_lower < 1 < trim_upper"
    text = _english_error(_cli(*_run(tmp_path, "--collapse", "foo")), tmp_path)
    assert text.startswith("Error: --collapse: 'foo': write VARIABLE or VARIABLE:SMALLEST, where VARIABLE is one of ")
    text = _english_error(_cli(*_run(tmp_path, "--method", "logit")), tmp_path)
    assert text.startswith("Error: --method logit: logit calibration needs both lower and upper"), text
    text = _english_error(_cli(*_run(tmp_path, "--maxit", "many")), tmp_path)
    assert text == "Error: --maxit must be an integer, not 'many'.", text
    cfg = tmp_path / "run.yaml"
    cfg.write_text("- method\n- raking\n", encoding="utf-8")
    text = _english_error(_cli("run", "--config", cfg), tmp_path)
    assert text == f"Error: The configuration file {cfg} should be a YAML mapping (key: value).", text
    assert not (tmp_path / "db.sqlite").exists()  # refused before any work


# --- calibration and design (core) -------------------------------------------------------------------------------


def test_calibration_failures_in_english(tmp_path):
    text = _english_error(_cli(*_run(tmp_path, "--method", "logit", "--lower", "0.99", "--upper", "1.01")), tmp_path)
    assert text.startswith("Error: the bounds [0.99, 1.01] for the g-weights cannot be met: year "), text
    assert text.endswith("widen the bounds (--lower/--upper), merge the cell (--collapse) or use raking without bounds")
    text = _english_error(_cli(*_run(tmp_path, "--maxit", "1")), tmp_path)
    assert re.match(r"Error: raking calibration did not converge in 1 iterations \(\d+ blocks\): in year \d{4}, ", text)
    assert "The margins' totals agree; try more iterations (--maxit, now 1), collapsing small cells" in text, text
    assert text.endswith("or another method (--method linear)"), text


def test_a_design_error_in_english(tmp_path):
    text = _english_error(_cli(*_run(tmp_path, "--pool", "5")), tmp_path)
    assert text == "Error: pool=5 needs at least 5 survey years, the data have 3 (2022, 2023, 2024)"


# --- the database (data layer: store) ----------------------------------------------------------------------------


def test_store_errors_in_english(tmp_path):
    text = _english_error(_cli(*_run(tmp_path, "--db", "mysql://host/db")), tmp_path)
    assert text.startswith("Error: The database mysql://host/db is not supported: trygghet uses SQLite"), text
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    res = _cli("ingest", RESP, "--population", POP, "--db", db)
    assert res.exit_code == 0, res.output
    assert _swedish_left(res.output, tmp_path, SAMPLE_WAVE) == [], res.output
    other = tmp_path / "pop2.csv"
    pop = pd.read_csv(POP)
    pop.loc[0, "population"] += 1
    pop.to_csv(other, index=False)
    text = _english_error(_cli("ingest", RESP, "--population", other, "--db", db), tmp_path, SAMPLE_WAVE)
    assert text.startswith(
        "Error: pop2.csv: population for year 2022,2023,2024 already comes from another file, 'population.csv' "
        "(source 2, the same years). Give --replace (replace=True)"
    ), text
    text = _english_error(_cli("sources", "withdraw", "999", "--db", db), tmp_path)
    assert text == "Error: There is no source file with id 999 in the database (see `trygghet sources list`)."


def test_quarantine_reasons_in_english(tmp_path):
    """ingest's summary and its quarantine reasons, ``quarantine list`` and ``quarantine show``."""
    wave = tmp_path / "wave.csv"
    frame = pd.read_csv(RESP, dtype=str, keep_default_na=False)
    frame.loc[:4, "sex"] = "7"
    frame.loc[5:6, "district"] = ""
    frame.to_csv(wave, index=False)
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    res = _cli("ingest", wave, "--population", POP, "--db", db)
    assert res.exit_code == 0, res.output
    flat = " ".join(res.output.split())
    assert "wave.csv: csv, utf-8, delimiter ','; 3022 rows, 3015 accepted, 7 quarantined. Database: loaded." in flat
    assert "quarantine, column sex: 5 rows, e.g. '7' is not a valid code for sex (1, 2)" in flat, flat
    assert "quarantine, column district: 2 rows, e.g. district is empty" in flat, flat
    assert "trygghet quarantine show lists the rows." in flat, flat
    assert _swedish_left(res.output, tmp_path, SAMPLE_WAVE) == [], res.output
    for args in (("quarantine", "list"), ("quarantine", "show")):
        res = _cli(*args, "--db", db)
        assert res.exit_code == 0, res.output
        assert "'7' is not a valid code for sex (1, 2)" in " ".join(res.output.replace("│", " ").split()), res.output
        assert _swedish_left(res.output, tmp_path) == [], res.output


# --- publishing (publish layer) ----------------------------------------------------------------------------------


@pytest.fixture()
def estimates_dir(tmp_path):
    return write_estimates(tmp_path / "run")


def test_publish_errors_in_english(tmp_path, estimates_dir):
    text = _english_error(_cli("compare", "Rissne", "Rissne", "--db", estimates_dir), tmp_path)
    assert text == "Error: Choose two different districts to compare (both are ”Rissne”)."
    text = _english_error(_cli("compare", "Rissne", "Hallonbergen", "--db", estimates_dir, "--years", "1990"), tmp_path)
    assert text.startswith("Error: Year 1990 is not in the estimates; there are 2022, 2023, 2024"), text
    text = _english_error(_cli("compare", "Rissne", "Hallonbergen", "--db", tmp_path), tmp_path)
    assert text == (
        f"Error: {tmp_path} has no estimates.csv; give the output folder of trygghet run or a database URL with --db."
    )
    text = _english_error(_cli("compare", "Rissne", "Hallonbergen", "--db", estimates_dir, "--years", "20x4"), tmp_path)
    assert text == "Error: Invalid year ”20x4” for --years; write e.g. --years 2024 2025, 2024,2025 or 2023-2025."


# --- a model (core) ----------------------------------------------------------------------------------------------


def test_a_model_error_in_english(capsys):
    """A model error of the core through the CLI's error frame (no command reaches one with valid input: the
    report catches Fay–Herriot's own)."""
    import numpy as np

    from survey.design import stratified_design
    from survey.models.glm import svyglm

    design = stratified_design(np.zeros(4), np.ones(4))
    with pytest.raises(ModelError) as caught:
        svyglm(design, np.array([0.0, 1.0, 0.0, 1.0]), np.ones((4, 1)), ["1"], family="poisson")
    i18n.set_lang("en")
    try:
        with pytest.raises(SystemExit) as ended:
            _fail(caught.value)
    finally:
        i18n.set_lang("sv")
    assert ended.value.code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert err == "Error: unknown family 'poisson'; choose one of ('quasibinomial', 'gaussian')", err


# --- synth and a whole run ---------------------------------------------------------------------------------------


def test_synth_in_english(tmp_path):
    res = _cli("synth", "--n", "1500", "--districts", "3", "--years", "2", "--out", tmp_path / "s")
    assert res.exit_code == 0, res.output
    assert "1,500 respondents, 2 years × 3 districts" in res.output and "Synthetic wave written to" in res.output
    assert _swedish_left(res.output, tmp_path) == [], res.output
    text = _english_error(_cli("synth", "--n", "10", "--out", tmp_path / "x"), tmp_path)
    assert text == (
        "Error: synth: --n 10 is too small for 3 years × 8 districts: every year and district needs at least 8 "
        "respondents for the calibration to be solvable"
    )


@pytest.mark.slow
def test_a_run_with_notes_in_english(tmp_path):
    res = _cli(*_run(tmp_path, "--collapse", "age_group:60"))
    assert res.exit_code == 0, res.output
    out = res.output
    assert "Done. Run " in out and "Steps: read " in out and "  database: loaded" in out
    flat = " ".join(out.split())
    notes = re.findall(r"year \d{4}, district [^:]+: age_group \S+ was merged with \S+ \(\d+ respondents < 60\)", flat)
    assert len(notes) > 10 and len(notes) == flat.count(" was merged with "), notes[:3]
    assert _swedish_left(out, tmp_path) == [], out


def test_the_error_frame_is_english_for_every_error_class(capsys):
    """Each error class's message through the frame: ``Error: `` and the English message, one line."""
    from survey.errors import CalibrationError, CodebookError, ConfigError, DesignError, PublishError, StoreError

    cases = [
        (CalibrationError("kalibreringen behöver minst en marginal"), "the calibration needs at least one margin"),
        (
            DesignError("designvikterna måste vara ändliga och större än 0"),
            "the design weights must be finite and greater than 0",
        ),
        (CodebookError("kod.yaml: för djupt nästlad"), "kod.yaml: nested too deeply"),
        (StoreError("Databasanslutningen är stängd."), "The database connection is closed."),
        (
            PublishError("Det finns inga skattningar per område att publicera."),
            "There are no estimates by district to publish.",
        ),
        (ConfigError("Ange både --responses och --population."), "Give both --responses and --population."),
    ]
    i18n.set_lang("en")
    try:
        for exc, en in cases:
            with pytest.raises(SystemExit):
                _fail(exc)
            assert capsys.readouterr().err.strip() == f"Error: {en}", (exc, en)
    finally:
        i18n.set_lang("sv")


def test_printed_paths_are_never_broken_across_lines(tmp_path: Path) -> None:
    """A path longer than the terminal is printed whole on one line (the terminal wraps it, a copy of it
    works): Rich's hard wrapping once split ``.../repor`` / ``t/index.html`` in the run's last line."""
    out = tmp_path.joinpath(*(["a-rather-long-folder-name"] * 6), "input")
    res = CliRunner().invoke(app, ["synth", "--n", "200", "--districts", "2", "--years", "1", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert str(out.resolve()) in res.output.splitlines()[-1], res.output


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_a_refusal_of_the_file_system_is_one_paragraph_with_its_path(tmp_path: Path, lang: str) -> None:
    """``synth --out`` where a file stands: the file system's error with the path, exit 2 (the user's to fix, as
    every input error), no traceback (it was a FileExistsError traceback)."""
    (tmp_path / "fil").write_text("x")
    res = CliRunner().invoke(app, ["--lang", lang, "synth", "--n", "1000", "--out", str(tmp_path / "fil")])
    assert res.exit_code == 2 and isinstance(res.exception, SystemExit), (res.output, res.exception)
    text = " ".join(res.output.split())
    assert "Traceback" not in res.output and str(tmp_path / "fil") in text
    assert text.startswith("Fel: Kan inte använda" if lang == "sv" else "Error: Cannot use"), text
    assert ("det finns redan en fil med det namnet" if lang == "sv" else "File exists") in text
    assert "utrymme" not in text and "space" not in text  # only a full disk asks for room


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_an_unforeseen_error_is_one_paragraph_that_says_it_is_a_fault(tmp_path, monkeypatch, lang) -> None:
    """Any other exception: its kind and text in one paragraph that says to report it, exit 1; the traceback only
    with ``TRYGGHET_DEBUG=1``."""
    from survey.pipeline import commands

    def broken(*args, **kwargs):
        raise ValueError("cannot handle a non-unique multi-index!")

    monkeypatch.setattr(commands, "synth", broken)
    monkeypatch.delenv("TRYGGHET_DEBUG", raising=False)
    res = CliRunner().invoke(app, ["--lang", lang, "synth", "--n", "1000", "--out", str(tmp_path / "o")])
    assert res.exit_code == 1 and isinstance(res.exception, SystemExit), (res.output, res.exception)
    text = " ".join(res.output.split())
    assert "Traceback" not in res.output
    assert "ValueError: cannot handle a non-unique multi-index!" in text
    assert ("programfel" if lang == "sv" else "fault of the program") in text and "TRYGGHET_DEBUG=1" in text
    monkeypatch.setenv("TRYGGHET_DEBUG", "1")
    res = CliRunner().invoke(app, ["--lang", lang, "synth", "--n", "1000", "--out", str(tmp_path / "o")])
    assert isinstance(res.exception, ValueError)
