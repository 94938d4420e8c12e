"""PostgreSQL roles (issue 11): owner, pipeline and report_reader, each tested by logging in as a real LOGIN
member (trust authentication) and checking what it may and may not do; refusals are StoreErrors with a
Swedish message, never a permission traceback. Role names are per test (roles are cluster-wide)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd
import pytest
import sqlalchemy as sa

from survey.data.store import AccessRefused, RoleNames, Store, head_revision
from survey.data.store.schema import PRIVATE_TABLES
from tests.store_support import PG_BASE, make_wave, pg_schema, run_frames, schema_url

pytestmark = pytest.mark.postgres


def _login_url(user: str, schema: str) -> str:
    return schema_url(schema, sa.make_url(PG_BASE).set(username=user).render_as_string(hide_password=False))


@contextmanager
def _roles(schema: str) -> Iterator[tuple[RoleNames, dict[str, str]]]:
    """Role names of this schema and one LOGIN user per role (made a member by create_roles); dropped after."""
    names = RoleNames(owner=f"{schema}_owner", pipeline=f"{schema}_pipeline", reader=f"{schema}_reader")
    logins = {k: f"{schema}_{k}_login" for k in ("owner", "pipeline", "reader")}
    admin = sa.create_engine(PG_BASE)
    with admin.begin() as conn:
        for user in logins.values():
            conn.exec_driver_sql(f'CREATE ROLE "{user}" LOGIN')
    try:
        yield names, logins
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            for role in (*logins.values(), names.owner, names.pipeline, names.reader):
                if conn.exec_driver_sql(f"SELECT 1 FROM pg_roles WHERE rolname = '{role}'").first():
                    conn.exec_driver_sql(f'DROP OWNED BY "{role}"')
                    conn.exec_driver_sql(f'DROP ROLE "{role}"')
        admin.dispose()


def _members(logins: dict[str, str]) -> dict[str, list[str]]:
    return {k: [v] for k, v in logins.items()}


def _filled(url: str) -> tuple[str, int]:
    """A store with a wave, a finished run and a published table; returns (run id, responses source id)."""
    with Store(url) as s:
        report = s.load_wave(make_wave([2022], n=60))
        run_id = s.begin_run({}, "test", "1.0", report.source_ids)
        s.save_run_outputs(run_id, **run_frames(s.responses()), lineage={"steps": {}})
        cells = pd.DataFrame(
            {
                "row_key": ["Rissne"],
                "column_key": ["2022|est"],
                "value": [0.25],
                "text": ["25,0 %"],
                "suppressed": [False],
            }
        )
        s.publish_table("district_unsafe_after_dark", 2022, run_id, cells, "Otrygga", {"kind": "district"})
        return run_id, report.responses_source_id


def _refused(call, *args) -> str:
    with pytest.raises(AccessRefused) as info:
        call(*args)
    text = str(info.value)
    assert "får inte" in text and "behörighet" in text and "Traceback" not in text
    assert info.value.__cause__ is None and info.value.__suppress_context__  # no driver traceback chained
    return text


def test_report_reader_reads_published_tables_and_estimates_only() -> None:
    with pg_schema() as schema, _roles(schema) as (names, logins):
        admin_url = schema_url(schema)
        run_id, sid = _filled(admin_url)
        with Store(admin_url) as admin:
            report = admin.create_roles(names, _members(logins))
        assert report.schema == schema
        with Store(_login_url(logins["reader"], schema)) as reader:  # opens without migrating
            assert reader.published_tables()["table_id"].tolist() == ["district_unsafe_after_dark"]
            assert reader.published_table("district_unsafe_after_dark", 2022)[1]["value"].tolist() == [0.25]
            view = reader.published_view("v_published_estimates")
            assert view[["district", "indicator", "estimate"]].values.tolist() == [["Rissne", None, 0.25]]
            assert reader.runs()["run_id"].tolist() == [run_id] and reader.latest_run_id() == run_id
            out = reader.run_outputs(run_id)  # what `compare` reads: no weights for this role
            assert out.weights is None
            assert out.estimates["estimate"].tolist() == [0.25, 1 / 3]
            assert out.comparisons["difference"].tolist() == [-0.08]
            for call, args in (
                (reader.responses, ()),
                (reader.free_text, ()),
                (reader.quarantine, ()),
                (reader.population, ()),
                (reader.run_weights, (run_id,)),
                (reader.load_wave, (make_wave([2023]),)),
                (reader.withdraw_source, (sid,)),
            ):
                text = _refused(call, *args)
                assert logins["reader"] in text
                # the roles by their own names, as the catalogue has them (not only the default names)
                assert (
                    f"(rollerna den är medlem i: '{names.reader}'; trygghets tabeller ägs av '{names.owner}')" in text
                )
            msg = _refused(reader.responses)
            assert "läsa svaren" in msg and "responses" in msg
        raw = sa.create_engine(_login_url(logins["reader"], schema))
        with raw.connect() as conn:
            for table in [t.name for t in PRIVATE_TABLES]:
                with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                    conn.execute(sa.text(f"SELECT count(*) FROM {table}"))
                conn.rollback()
        raw.dispose()


def test_pipeline_writes_data_but_cannot_delete_or_change_the_schema() -> None:
    with pg_schema() as schema, _roles(schema) as (names, logins):
        with Store(schema_url(schema)) as admin:
            admin.create_roles(names, _members(logins))
        url = _login_url(logins["pipeline"], schema)
        run_id, _ = _filled(url)  # load, run, outputs and publishing all work
        with Store(url) as pipe:
            assert len(pipe.responses()) == 60 and pipe.run_outputs(run_id).weights is not None
            assert pipe.run_record(run_id).run["status"] == "succeeded"
        raw = sa.create_engine(url)
        for stmt in (
            "DELETE FROM responses",
            "DROP TABLE weights",
            "CREATE TABLE x (a int)",
            "TRUNCATE published_cells",
        ):
            with raw.begin() as conn, pytest.raises(sa.exc.ProgrammingError, match="permission denied|must be owner"):
                conn.execute(sa.text(stmt))
        raw.dispose()


def test_only_the_owner_upgrades_an_outdated_schema() -> None:
    with pg_schema() as schema, _roles(schema) as (names, logins):
        old = Store(schema_url(schema), migrate=False)
        old.upgrade("0002")
        old.create_roles(names, _members(logins))
        old.close()
        text = _refused(Store, _login_url(logins["pipeline"], schema))
        assert f"behöver uppgraderas till version {head_revision()}" in text and "trygghet_owner" in text
        with Store(_login_url(logins["owner"], schema)) as owner:
            assert owner.schema_revision() == head_revision()
        with Store(schema_url(schema)) as admin:
            admin.create_roles(names, _members(logins))  # grants the new views
        with Store(_login_url(logins["reader"], schema)) as reader:
            assert reader.published_view("v_published_tables").empty
            assert reader.schema_revision() == head_revision()


def test_roles_need_postgresql(tmp_path) -> None:
    from survey.errors import StoreError

    with Store(f"sqlite:///{tmp_path / 'x.db'}") as s, pytest.raises(StoreError, match="bara i PostgreSQL"):
        s.create_roles()
    with pytest.raises(StoreError, match="Ogiltigt rollnamn"):
        RoleNames(reader="Robert'); DROP TABLE x;--")


def test_db_roles_command_creates_the_roles_and_members(tmp_path) -> None:
    """``trygghet db roles`` through the CLI: a Swedish summary, the report reader then reads published tables
    and is refused responses with a message, not a traceback; on SQLite a one-paragraph error and exit 2."""
    from typer.testing import CliRunner

    from survey.cli import app

    runner = CliRunner()
    with pg_schema() as schema, _roles(schema) as (names, logins):
        url = schema_url(schema)
        _filled(url)
        res = runner.invoke(
            app,
            ["db", "roles", "--db", url, "--reader", logins["reader"], "--pipeline", logins["pipeline"],
             "--owner-role", names.owner, "--pipeline-role", names.pipeline, "--reader-role", names.reader],
            terminal_width=250,
        )  # fmt: skip
        assert res.exit_code == 0, res.output
        said = " ".join(res.output.split())  # Rich wraps at its own width
        assert f"Roller klara i schemat {schema}" in said and "Traceback" not in said
        assert f"{logins['reader']} → {names.reader}" in said and f"{logins['pipeline']} → {names.pipeline}" in said
        with Store(_login_url(logins["reader"], schema)) as reader:
            assert reader.published_tables()["table_id"].tolist() == ["district_unsafe_after_dark"]
            _refused(reader.responses)
        again = runner.invoke(
            app, ["db", "roles", "--db", url, "--owner-role", names.owner, "--pipeline-role", names.pipeline,
                  "--reader-role", names.reader],
        )  # fmt: skip
        assert again.exit_code == 0, again.output  # idempotent
    lite = runner.invoke(app, ["db", "roles", "--db", f"sqlite:///{tmp_path / 'x.db'}"])
    assert lite.exit_code == 2 and "bara i PostgreSQL" in lite.output and "Traceback" not in lite.output
    bad = runner.invoke(app, ["db", "roles", "--db", f"sqlite:///{tmp_path / 'x.db'}", "--reader-role", "Bad-Name"])
    assert bad.exit_code == 2 and "Ogiltigt rollnamn" in bad.output
