"""Every ``trygghet ...`` command a text of the library names exists, and the schema-upgrade advice works.

The texts are every string literal (f-strings with ``{}`` for their values) of ``survey/``, ``reports/`` and
``flows/`` (messages, notes, docstrings), read with ``ast``, and the Jinja templates of ``reports/``. A command
in backticks (`` `trygghet db roles` ``, ``` ``trygghet sources list`` ```) must exist with its subcommand when
it is a group; an unquoted mention (``kör trygghet run först``) must have an existing subcommand when its first
word is a group (``trygghet tables list``); an unquoted first word that is no command is prose ("trygghet läser
bara det första bladet"). Existing means ``trygghet <cmd> [<sub>] --help`` exits 0 (typer's CliRunner).

The message of an outdated schema opened without the right to change it (survey/data/store/engine.py) once
named ``trygghet db upgrade``, which does not exist; it now names ``trygghet db roles --db <adress>``, and on
PostgreSQL that command, run once as the administrator, upgrades the schema, gives the new tables to the owner
role and grants them, after which the pipeline and reader logins that were refused can work.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from survey.cli import app

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("survey", "reports", "flows")
BACKTICKED = re.compile(r"`{1,2}trygghet ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?")
MENTION = re.compile(r"(?<![\w/.-])trygghet ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?")


def _text(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
    return None


def texts() -> list[tuple[str, int, str]]:
    """(file, line, text) of every string literal of the packages and every template of reports/."""
    out: list[tuple[str, int, str]] = []
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            rel = str(path.relative_to(ROOT))
            tree = ast.parse(path.read_text(encoding="utf-8"))
            inner = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
            for node in ast.walk(tree):
                text = _text(node) if id(node) not in inner else None
                if text and "trygghet " in text:
                    out.append((rel, getattr(node, "lineno", 0), text))
        for path in sorted((ROOT / pkg).rglob("*")):
            if path.suffix in {".html", ".j2", ".jinja", ".txt", ".md"} and path.is_file():
                text = path.read_text(encoding="utf-8")
                if "trygghet " in text:
                    out.append((str(path.relative_to(ROOT)), 0, text))
    return out


@cache
def commands() -> dict[str, Any]:
    """The top-level commands of the CLI (a group has ``commands`` of its own; typer vendors click)."""
    return dict(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


def is_group(command: Any) -> bool:
    return hasattr(command, "commands")


def named_commands() -> dict[tuple[str, ...], list[str]]:
    """Each command path the texts name (``("db", "roles")``, ``("run",)``), with where it is named; an
    unquoted mention whose first word is no command is left out (prose)."""
    found: dict[tuple[str, ...], list[str]] = {}
    top = commands()
    for rel, line, text in texts():
        quoted = {m.start() + m.group(0).index("trygghet") for m in BACKTICKED.finditer(text)}
        for m in MENTION.finditer(text):
            cmd, sub = m.group(1), m.group(2)
            if m.start() not in quoted and cmd not in top:
                continue  # prose: "trygghet läser ...", "trygghet använder ..."
            path = (cmd, sub) if is_group(top.get(cmd)) and sub else (cmd,)
            found.setdefault(path, []).append(f"{rel}:{line}: {m.group(0)}")
    return found


def test_the_texts_name_commands_at_all():
    """The collection sees the known mentions (so an empty result cannot pass unnoticed)."""
    named = named_commands()
    assert {("db", "roles"), ("sources", "list"), ("sources", "withdraw"), ("run",), ("ingest",)} <= set(named)
    assert not any(p[0] == "läser" for p in named)


def test_every_named_command_exists():
    runner = CliRunner()
    missing = {}
    for path, where in sorted(named_commands().items()):
        res = runner.invoke(app, [*path, "--help"])
        if res.exit_code != 0:
            missing[" ".join(path)] = where
    assert missing == {}, missing


def test_a_command_that_does_not_exist_is_caught():
    """The check itself: `trygghet db upgrade` (the old advice) is not a command."""
    res = CliRunner().invoke(app, ["db", "upgrade", "--help"])
    assert res.exit_code != 0
    fake = "Kör `trygghet db upgrade` först."
    m = BACKTICKED.search(fake)
    assert m is not None and (m.group(1), m.group(2)) == ("db", "upgrade")


@pytest.mark.postgres
def test_the_upgrade_advice_works_on_postgresql():
    """An outdated schema refuses the pipeline login with the advice; `trygghet db roles --db <admin URL>` run
    once upgrades the schema, hands the new objects to the owner role and grants them."""
    from survey.data.store import AccessRefused, Store, head_revision
    from tests.store_support import pg_schema, schema_url
    from tests.test_store_roles import _login_url, _members, _roles

    with pg_schema() as schema, _roles(schema) as (names, logins):
        old = Store(schema_url(schema), migrate=False)
        old.upgrade("0002")
        old.create_roles(names, _members(logins))
        old.close()
        with pytest.raises(AccessRefused) as info:
            Store(_login_url(logins["pipeline"], schema))
        text = str(info.value)
        assert "`trygghet db roles --db <adress>` en gång som administratör" in text and "db upgrade" not in text
        res = CliRunner().invoke(
            app,
            ["db", "roles", "--db", schema_url(schema), "--owner-role", names.owner, "--pipeline-role",
             names.pipeline, "--reader-role", names.reader],
        )  # fmt: skip
        assert res.exit_code == 0, res.output
        with Store(_login_url(logins["pipeline"], schema)) as pipeline:
            assert pipeline.schema_revision() == head_revision()
        with Store(_login_url(logins["reader"], schema)) as reader:
            assert reader.published_view("v_published_tables").empty  # a view of a later migration, granted
        with Store(schema_url(schema)) as admin, admin.engine.connect() as conn:
            sql = f"SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = '{schema}'"
            assert [r[0] for r in conn.exec_driver_sql(sql)] == [names.owner]
