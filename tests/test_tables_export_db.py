"""``trygghet tables export`` takes its database the way every other command does (issue 12): ``--db`` as a
SQLite URL (relative or absolute), a PostgreSQL URL (``postgresql+psycopg://`` or plain ``postgresql://``),
or, without ``--db``, ``$TRYGGHET_DATABASE_URL``; a bad address gets the same Swedish error as ``tables list``
and ``sources list``. Real databases (a SQLite file, a fresh schema on the PostgreSQL server); the exported
file is compared byte for byte with the one the publication wrote."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reports.publish import publish_report
from survey.cli import app
from survey.data.store import Store
from tests.store_support import pg_schema, schema_url
from tests.test_publish import RUN_META, load_estimates, make_codebook, make_comparisons

TABLE = "trust"


def _publish(url: str, out: Path) -> Path:
    """The sample estimates published into ``url``; the report directory."""
    est = load_estimates()
    store = Store(url)
    try:
        cmp, codebook = make_comparisons(est), make_codebook()
        publish_report(est, cmp, None, codebook, RUN_META, out, store=store, formats=("csv",), charts=False)
    finally:
        store.close()
    return out


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def published(request, tmp_path_factory):
    """``(backend, url, report directory)`` of a database with the sample run's tables."""
    d = tmp_path_factory.mktemp(f"export_{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{d / 'store.db'}"
        yield "sqlite", url, _publish(url, d / "report")
        return
    with pg_schema() as schema:
        url = schema_url(schema)
        yield "postgresql", url, _publish(url, d / "report")


def _forms(backend: str, url: str, cwd: Path) -> dict[str, str]:
    """The ``--db`` forms of one database."""
    if backend == "sqlite":
        path = Path(url.removeprefix("sqlite:///"))
        return {"absolute": url, "relative": f"sqlite:///{path.relative_to(cwd)}"}
    return {"psycopg": url, "plain": url.replace("postgresql+psycopg://", "postgresql://")}


def _invoke(args: list[str], env: dict[str, str | None] | None = None):
    return CliRunner().invoke(app, args, env={"TRYGGHET_DATABASE_URL": None, **(env or {})})


def _export(out: Path, *db: str, env: dict[str, str | None] | None = None):
    args = ["tables", "export", "--year", "2024", "--table", TABLE, "--format", "csv", "--out", str(out)]
    return _invoke([*args, *db], env)


def test_every_db_form_exports_the_published_table(published, tmp_path, monkeypatch) -> None:
    backend, url, report = published
    # run from a folder above the database file (the relative SQLite form)
    cwd = Path(url.removeprefix("sqlite:///")).parent.parent if backend == "sqlite" else tmp_path
    monkeypatch.chdir(cwd)
    published_csv = (report / "tables" / f"{TABLE}.csv").read_bytes()
    listed = None
    for name, form in _forms(backend, url, cwd).items():
        res = _export(tmp_path / f"{name}.csv", "--db", form)
        assert res.exit_code == 0, (name, res.output)
        assert "Skrev" in res.output
        assert (tmp_path / f"{name}.csv").read_bytes() == published_csv, name
        lst = _invoke(["tables", "list", "--db", form])  # another command, the same form, the same tables
        assert lst.exit_code == 0, lst.output
        ids = set(re.findall(r"│ (\w+)\s+│ 2024", lst.output))
        assert {TABLE, "problems", "victimisation"} <= ids  # (Rich wraps the long ids)
        assert listed in (None, ids)
        listed = ids
    # no --db: $TRYGGHET_DATABASE_URL, as for every command
    res = _export(tmp_path / "env.csv", env={"TRYGGHET_DATABASE_URL": url})
    assert res.exit_code == 0, res.output
    assert (tmp_path / "env.csv").read_bytes() == published_csv
    # --db wins over the variable
    res = _export(tmp_path / "both.csv", "--db", url, env={"TRYGGHET_DATABASE_URL": "sqlite:///nowhere/x.db"})
    assert res.exit_code == 0, res.output
    assert (tmp_path / "both.csv").read_bytes() == published_csv


@pytest.mark.parametrize(
    ("db", "words"),
    [
        ("store.db", "Kan inte använda databasadressen store.db"),
        ("mysql://u@h/x", "Databasen mysql://u@h/x stöds inte"),
        ("postgresql+nosuchdriver://u@h/x", "Kan inte använda databasadressen postgresql+nosuchdriver://u@h/x"),
    ],
)
def test_a_bad_db_gets_the_same_error_as_the_other_commands(tmp_path, monkeypatch, db, words) -> None:
    monkeypatch.chdir(tmp_path)
    outputs = []
    for args in (
        ["tables", "export", "--year", "2024", "--table", TABLE, "--db", db],
        ["tables", "list", "--db", db],
        ["sources", "list", "--db", db],
    ):
        res = _invoke(args)
        text = " ".join(res.output.split())
        assert res.exit_code != 0 and words in text, (args, res.output)
        assert "Traceback" not in res.output
        outputs.append((res.exit_code, text))
    assert len(set(outputs)) == 1  # the very same message and exit code
    assert not list(tmp_path.iterdir())  # nothing created
