"""The database password never appears in a message, log line or exception text (issue 11), on every path:
driver missing, URL unparsable, connection refused, bad user, bad database, refusals, run errors, and the URL
taken from ``TRYGGHET_DATABASE_URL``. Each failure is a StoreError whose text, repr, chained traceback and
the captured logs are searched for the password in clear and percent-encoded."""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from survey.data.store import Store, mask_url, scrub
from survey.errors import StoreError
from tests.store_support import PG_BASE, db_url, require_pg  # noqa: F401

SECRET = "s3cr3t-pw/ö@x"  # characters that must be percent-encoded in a URL
ENCODED = quote(SECRET, safe="")
FORMS = (SECRET, ENCODED, "s3cr3t")


def _with_password(url: str, user: str = "postgres") -> str:
    return sa.make_url(url).set(username=user, password=SECRET).render_as_string(hide_password=False)


def _assert_clean(exc: BaseException, logs: str = "") -> str:
    text = "".join(traceback.format_exception(exc)) + repr(exc) + str(exc) + logs
    for form in FORMS:
        assert form not in text, f"{form!r} leaked"
    return str(exc)


def _failure(url: str, caplog: pytest.LogCaptureFixture) -> str:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(StoreError) as info:
        Store(url)
    return _assert_clean(info.value, caplog.text)


def test_missing_driver(caplog: pytest.LogCaptureFixture) -> None:
    msg = _failure(f"postgresql+pg8000://analytiker:{ENCODED}@127.0.0.1:5432/test", caplog)
    assert "drivrutinen 'pg8000' är inte installerad" in msg and "analytiker:***@127.0.0.1" in msg


def test_missing_psycopg_behind_a_psycopg2_url(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``postgresql+psycopg2://`` is read as psycopg 3; with psycopg absent the driver is missing."""
    monkeypatch.setitem(sys.modules, "psycopg", None)  # `import psycopg` now raises ImportError
    msg = _failure(f"postgresql+psycopg2://analytiker:{ENCODED}@127.0.0.1:5432/test", caplog)
    assert "drivrutinen 'psycopg' är inte installerad" in msg


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql+psycopg://analytiker:{ENCODED}@127.0.0.1:notaport/test",
        f"postgresql+psycopg://analytiker:{ENCODED}@[::1/test",
        f"mysql+pymysql://analytiker:{ENCODED}@127.0.0.1/test",
    ],
)
def test_unusable_urls(url: str, caplog: pytest.LogCaptureFixture) -> None:
    msg = _failure(url, caplog)
    assert msg.startswith(("Kan inte använda databasadressen", "Databasen", "Kan inte använda databasen"))


def test_connection_refused(caplog: pytest.LogCaptureFixture) -> None:
    msg = _failure(f"postgresql+psycopg2://postgres:{ENCODED}@127.0.0.1:1/test?connect_timeout=2", caplog)
    assert "anslutningen till databasen postgresql+psycopg2://postgres:***@127.0.0.1:1/test" in msg


@pytest.mark.postgres
def test_bad_user_and_bad_database(caplog: pytest.LogCaptureFixture) -> None:
    require_pg()
    msg = _failure(_with_password(PG_BASE, user="ingen_sadan_roll"), caplog)
    assert 'role "ingen_sadan_roll" does not exist' in msg
    bad_db = sa.make_url(_with_password(PG_BASE)).set(database="ingen_sadan_databas")
    msg = _failure(bad_db.render_as_string(hide_password=False), caplog)
    assert "ingen_sadan_databas" in msg


def test_url_from_the_environment(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRYGGHET_DATABASE_URL", f"postgresql+psycopg://postgres:{ENCODED}@127.0.0.1:1/test")
    caplog.set_level(logging.DEBUG)
    with pytest.raises(StoreError) as info:
        Store()
    assert "TRYGGHET_DATABASE_URL" in _assert_clean(info.value, caplog.text)


@pytest.mark.postgres
def test_a_working_store_never_shows_the_password(caplog: pytest.LogCaptureFixture) -> None:
    """Trust authentication ignores the password, so the store opens; nothing it says holds the password."""
    require_pg()
    caplog.set_level(logging.DEBUG)
    with Store(_with_password(PG_BASE)) as s:
        shown = repr(s) + s.safe_url + str(s.engine)
        run_id = s.begin_run({}, "test", "1.0", [])
        s.fail_run(run_id, f"OperationalError: could not connect to {s.url}")
        error = s.runs().set_index("run_id").loc[run_id, "error"]
        with pytest.raises(StoreError) as info:
            s.published_table("finns_inte", 2022)
        _assert_clean(info.value, caplog.text + shown + error)
        assert "postgres:***@127.0.0.1" in s.safe_url and "***" in error


def test_mask_and_scrub() -> None:
    assert mask_url(f"postgresql+psycopg://u:{ENCODED}@h:5432/db") == "postgresql+psycopg://u:***@h:5432/db"
    assert mask_url(f"postgresql://u:{ENCODED}@h:bad/db") == "postgresql://u:***@h:bad/db"  # unparsable
    assert mask_url("sqlite:///trygghet.db") == "sqlite:///trygghet.db"
    url = f"postgresql://u:{ENCODED}@h/db"
    assert (
        scrub(f"failed for {SECRET} and {ENCODED} at {url}", url) == "failed for *** and *** at postgresql://u:***@h/db"
    )


def test_a_read_only_sqlite_file_is_named_as_such(tmp_path: Path) -> None:
    """SQLite's "attempt to write a readonly database" (a real one: the file opened read-only) is said as
    what it is; it had been the server message that asks to check the user, the password and the server."""
    from survey.data.store.values import os_user

    path = tmp_path / "ro.db"
    with Store(f"sqlite:///{path}") as store:
        ro = sa.create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
        with pytest.raises(sa.exc.OperationalError) as info, ro.begin() as conn:
            conn.exec_driver_sql("INSERT INTO alembic_version VALUES ('x')")
        ro.dispose()
        err = store.translate(info.value, "spara vågen")
        assert str(err) == (
            f"Kan inte spara vågen: databasfilen i sqlite:///{path} går inte att skriva i för användaren {os_user()} "
            "(filen eller mappen den ligger i är skrivskyddad). Ge skrivrätt till båda, eller ange en annan fil "
            "med --db sqlite:///fil.db."
        )
