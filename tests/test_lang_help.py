"""``--help`` in English (issue 12): ``trygghet --lang en <cmd> --help``, ``trygghet <cmd> --lang en --help`` and
``TRYGGHET_LANG=en`` show every command's, argument's and option's help in English (the run options from the
English half of their RunConfig description); Swedish stays the default and unchanged. Click's own words
(Usage, Options, Show this message and exit.) are English in both languages."""

from __future__ import annotations

import re
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from survey.cli import app
from survey.pipeline.config import RunConfig

SWEDISH_LETTERS = re.compile(r"[åäöÅÄÖ]")


def _commands() -> list[list[str]]:
    """Every command path of the CLI, groups included: [[], ['run'], ['config'], ['config', 'show'], …]."""
    out: list[list[str]] = []
    todo: list[tuple[list[str], Any]] = [([], typer.main.get_command(app))]
    while todo:
        path, cmd = todo.pop()
        out.append(path)
        todo.extend((path + [name], sub) for name, sub in getattr(cmd, "commands", {}).items())
    return sorted(out)


def _help(*args: str, env: dict[str, str] | None = None) -> str:
    res = CliRunner().invoke(app, [*args, "--help"], terminal_width=400, env={"COLUMNS": "400", **(env or {})})
    assert res.exit_code == 0, res.output
    return " ".join(res.output.replace("│", " ").split())


COMMANDS = _commands()


def test_the_tree_is_all_there():
    assert len(COMMANDS) >= 18 and ["run"] in COMMANDS and ["sources", "replace"] in COMMANDS


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "trygghet")
def test_help_in_english_with_every_form_of_the_option(path):
    en = _help("--lang", "en", *path)
    assert not SWEDISH_LETTERS.search(en), en
    assert "Usage:" in en and "Show this message and exit." in en
    assert _help(*path, env={"TRYGGHET_LANG": "en"}) == en
    if path in (["run"], ["config", "show"]):  # the run's own option, after the command
        assert _help(*path, "--lang", "en") == en
    if not path:  # --help before --lang
        res = CliRunner().invoke(app, ["--help", "--lang", "en"], env={"COLUMNS": "400"})
        assert res.output.replace("│", " ").split() == en.split()


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "trygghet")
def test_help_stays_swedish_by_default(path):
    sv = _help(*path)
    assert _help("--lang", "sv", *path) == sv and _help(*path, env={"TRYGGHET_LANG": "sv"}) == sv
    assert SWEDISH_LETTERS.search(sv), sv
    assert "Usage:" in sv  # Click's own words are English in both languages


def test_the_texts_themselves():
    sv, en = _help("run"), _help("--lang", "en", "run")
    assert "Kör hela kedjan: läs, validera, spara, vikta, skatta, trender, publicera." in sv
    assert "Run the whole chain: read, validate, store, weight, estimate, trends, publish." in en
    for field in RunConfig.model_fields.values():  # every run option in its language, whole
        desc = field.description or ""
        sv_half, _, en_half = desc.rpartition(" / ")
        assert " ".join(sv_half.split()) in sv, sv_half
        assert " ".join(en_half.split()) in en, en_half
    assert "(repeatable)" in en and "(kan upprepas)" in sv
    assert "District A, e.g. Rissne" in _help("--lang", "en", "compare")
    assert "Område A, t.ex. Rissne" in _help("compare")
    assert "trygghet: safety surveys from vendor files to published tables." in _help("--lang", "en")
