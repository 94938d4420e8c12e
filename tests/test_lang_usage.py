"""The command line's own usage errors (a misspelt flag or command, a missing or malformed value, a value
given to a flag that takes none) are one paragraph in the CLI's language, ``Fel: …`` / ``Error: …`` with the
command's ``--help`` named and exit code 2, never Click's English panel or a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from survey.cli import app

CASES = [
    (
        ["run", "--yeer", "2026"],
        "Fel: Okänd flagga --yeer för trygghet run. Se trygghet run --help.",
        "Error: No such option --yeer for trygghet run. See trygghet run --help.",
    ),
    (
        ["compare", "A", "B", "--year", "2024"],
        "Fel: Okänd flagga --year för trygghet compare. Menade du --years? Se trygghet compare --help.",
        "Error: No such option --year for trygghet compare. Did you mean --years? See trygghet compare --help.",
    ),
    (
        ["qarantine", "list"],
        "Fel: Okänt kommando qarantine. Kommandon: run, synth, ingest, compare, config, quarantine, tables, "
        "sources, db. Menade du quarantine? Se trygghet --help.",
        "Error: No such command qarantine. Commands: run, synth, ingest, compare, config, quarantine, tables, "
        "sources, db. Did you mean quarantine? See trygghet --help.",
    ),
    (
        ["quarantine"],
        "Fel: Ange ett kommando: list, show. Se trygghet quarantine --help.",
        "Error: Give a command: list, show. See trygghet quarantine --help.",
    ),
    (
        ["ingest", "svar.csv"],
        "Fel: Ange --population: Befolkningsfil. Se trygghet ingest --help.",
        "Error: Give --population: Population file. See trygghet ingest --help.",
    ),
    (
        ["ingest"],
        "Fel: Ange FILE: Svarsfil. Se trygghet ingest --help.",
        "Error: Give FILE: Responses file. See trygghet ingest --help.",
    ),
    (
        ["ingest", "a.csv", "b.csv", "--population", "p.csv"],
        "Fel: Oväntade argument: b.csv. Se trygghet ingest --help.",
        "Error: Unexpected extra arguments: b.csv. See trygghet ingest --help.",
    ),
    (
        ["ingest", "a.csv", "--db"],
        "Fel: --db behöver ett värde. Se trygghet ingest --help.",
        "Error: --db requires a value. See trygghet ingest --help.",
    ),
    (
        ["run", "--replace=ja"],
        "Fel: --replace tar inget värde. Se trygghet run --help.",
        "Error: --replace does not take a value. See trygghet run --help.",
    ),
    (
        ["synth", "--n", "tolv"],
        "Fel: --n måste vara ett heltal, inte 'tolv'. Se trygghet synth --help.",
        "Error: --n must be an integer, not 'tolv'. See trygghet synth --help.",
    ),
    (
        ["synth", "--districts", "0"],
        "Fel: --districts måste vara ≥ 1, inte '0'. Se trygghet synth --help.",
        "Error: --districts must be ≥ 1, not '0'. See trygghet synth --help.",
    ),
    (
        ["quarantine", "show", "tre"],
        "Fel: SOURCE måste vara ett heltal, inte 'tre'. Se trygghet quarantine show --help.",
        "Error: SOURCE must be an integer, not 'tre'. See trygghet quarantine show --help.",
    ),
]


def _invoke(args: list[str], env: dict[str, str] | None = None):
    return CliRunner().invoke(app, args, terminal_width=4000, env=env, prog_name="trygghet")


def _one_line(res) -> str:
    assert res.exit_code == 2, (res.exit_code, res.output, res.exception)
    assert isinstance(res.exception, SystemExit), res.exception
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1, res.output
    assert "Usage" not in res.output and "╭" not in res.output and "Traceback" not in res.output
    return lines[0]


@pytest.mark.parametrize(("args", "sv", "en"), CASES, ids=lambda a: " ".join(a) if isinstance(a, list) else "")
def test_usage_errors_in_swedish_and_english(args, sv, en):
    assert _one_line(_invoke(args)) == sv
    assert _one_line(_invoke(["--lang", "en", *args])) == en
    assert _one_line(_invoke(args, env={"TRYGGHET_LANG": "en"})) == en


def test_a_lang_after_a_command_that_does_not_take_it():
    """Only ``run`` and ``config show`` take ``--lang`` after the command; elsewhere it stands before it, and the
    message is in the language asked for."""
    assert _one_line(_invoke(["ingest", "a.csv", "--lang", "en"])) == (
        "Error: --lang goes before the command: trygghet --lang en ingest. See trygghet ingest --help."
    )
    assert _one_line(_invoke(["quarantine", "list", "--lang", "sv"])) == (
        "Fel: --lang står före kommandot: trygghet --lang sv quarantine list. Se trygghet quarantine list --help."
    )


def test_help_and_version_are_unchanged():
    bare = _invoke([])
    assert bare.exit_code == 2 and "run" in bare.output and "Fel" not in bare.output  # the help, as before
    assert _invoke(["--help"]).exit_code == 0
    assert _invoke(["quarantine", "--help"]).exit_code == 0
    version = _invoke(["--version"])
    assert version.exit_code == 0 and version.output.startswith("trygghet ")


def test_the_console_script_prints_the_same_line():
    """The real process: ``sys.argv`` instead of the runner's arguments, Rich writing to a pipe."""
    env = {k: v for k, v in os.environ.items() if k != "TRYGGHET_LANG"}
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("trygghet")), "synth", "--n", "0"],
        capture_output=True,
        text=True,
        env={**env, "COLUMNS": "400"},
        timeout=300,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip() == "Fel: --n måste vara ≥ 1, inte '0'. Se trygghet synth --help."
