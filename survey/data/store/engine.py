"""The connection to one database: URL, engine, secrets-safe messages, migrations, refused operations.

URL: the ``url`` argument, else ``$TRYGGHET_DATABASE_URL``, else ``sqlite:///trygghet.db``
(:func:`database_url`). PostgreSQL URLs use psycopg 3 (``postgresql://`` and ``postgresql+psycopg2://`` are
read as ``postgresql+psycopg://``); a schema is chosen with ``?options=-csearch_path%3Dmyschema``.

Secrets: the password of a URL never appears in a message, log line or exception text. Every message that
names the database uses :func:`mask_url` (``postgresql+psycopg://user:***@host/db``), and any text that comes
from the driver passes :func:`scrub` first. Errors raised while the URL is parsed or the driver loaded are
re-raised ``from None``, so not even a chained traceback holds the URL.

Migrations: opening a :class:`Database` with ``migrate=True`` compares the database's Alembic revision with the
scripts' head and runs the upgrade only when they differ, so a role without DDL rights (``trygghet_pipeline``,
``report_reader``) opens a current schema without touching it; an outdated schema it may not change is a
:class:`StoreError` saying which role can upgrade it.

Refusals: a PostgreSQL ``permission denied`` (SQLSTATE 42501) anywhere in a store operation becomes
:class:`AccessRefused` with a Swedish message naming the role, the operation and the table; a connection that
fails becomes a :class:`StoreError` naming the masked URL. Neither carries the driver's traceback.
"""

from __future__ import annotations

import functools
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote as url_quote

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from survey.errors import StoreError

from .bulk import CopyFailed, sqlite_path
from .staging import PAGE_SIZE, Stage, discard
from .values import os_user

ENV_URL = "TRYGGHET_DATABASE_URL"
DEFAULT_URL = "sqlite:///trygghet.db"
MASK = "***"
PERMISSION_DENIED = "42501"


class AccessRefused(StoreError):
    """The database role may not do what was asked (PostgreSQL ``permission denied``)."""


def database_url(url: str | None = None) -> str:
    """The URL to use: ``url``, else ``$TRYGGHET_DATABASE_URL``, else ``sqlite:///trygghet.db``."""
    return url or os.environ.get(ENV_URL) or DEFAULT_URL


_USERINFO = re.compile(r"(?P<head>[a-zA-Z][\w+.-]*://[^:/@\s]*):(?P<password>[^@\s]*)@")


def mask_url(url: str | None) -> str:
    """``url`` with its password replaced by ``***`` (also when the URL cannot be parsed)."""
    if not url:
        return ""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return _USERINFO.sub(lambda m: f"{m['head']}:{MASK}@", url)


def url_password(url: str | None) -> str | None:
    """The password of ``url`` (None when it has none or cannot be parsed)."""
    if not url:
        return None
    try:
        password = sa.make_url(url).password
    except Exception:
        m = _USERINFO.search(url)
        password = m["password"] if m else None
    return str(password) if password else None


def scrub(text: str, url: str | None) -> str:
    """``text`` with every occurrence of the URL's password (plain or percent-encoded) and of any
    ``scheme://user:password@`` replaced by ``***``."""
    out = str(text)
    password = url_password(url)
    if password:
        for form in {password, url_quote(password, safe=""), url_quote(password)}:
            if form:
                out = out.replace(form, MASK)
    return _USERINFO.sub(lambda m: f"{m['head']}:{MASK}@", out)


def _sqlite_engine(u: sa.URL) -> Engine:
    kwargs: dict[str, Any] = {"connect_args": {"timeout": 60}}
    if u.database in (None, "", ":memory:"):
        kwargs["poolclass"] = sa.pool.StaticPool
    elif not u.database.startswith("file:"):  # the file's folder, like --out, is made when missing
        try:
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"Kan inte skapa mappen för databasen {u.database}: {exc.strerror or exc}. Välj en annan "
                f"sökväg (--db sqlite:///fil.db)."
            ) from None
    engine = sa.create_engine(u, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see _on_begin)
        cur = dbapi_conn.cursor()
        for pragma in (
            f"page_size={PAGE_SIZE}",  # a new file only (before its first table; ignored for an existing one)
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "foreign_keys=ON",
            "cache_size=-65536",
            "temp_store=MEMORY",
        ):
            cur.execute(f"PRAGMA {pragma}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("trygghet_write")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def require_sqlite_file(url: str) -> None:
    """:class:`StoreError` when ``url`` names a plain SQLite file that does not exist (PostgreSQL, an in-memory
    database or a URL that cannot be parsed: nothing to check here)."""
    try:
        path = sqlite_path(sa.make_url(url))
    except sa.exc.ArgumentError:
        return  # make_engine says what is wrong with the URL
    if path is not None and not Path(path).is_file():
        raise StoreError(
            f"Databasen {path} finns inte. Ange --db med en databas som trygghet har skrivit (t.ex. "
            f"sqlite:///out/trygghet.db) eller sätt {ENV_URL}."
        )


def make_engine(url: str) -> Engine:
    """A SQLAlchemy engine for a trygghet database URL; :class:`StoreError` (password masked) when the URL
    cannot be parsed, names an unsupported database or a driver that is not installed."""
    shown = mask_url(url)
    try:
        u = sa.make_url(url)
        backend = u.get_backend_name()
        if backend == "sqlite":
            return _sqlite_engine(u)
        if backend != "postgresql":
            raise StoreError(
                f"Databasen {shown} stöds inte: trygghet använder SQLite (sqlite:///fil.db) "
                f"eller PostgreSQL (postgresql+psycopg://användare@värd:5432/databas)."
            )
        if u.get_driver_name() in ("psycopg2", "default", ""):
            u = u.set(drivername="postgresql+psycopg")
        # text goes both ways as UTF-8 (what the bulk paths' Arrow CSV and strings hold), whatever the database's
        # encoding: the server converts (a LATIN1 database got UTF-8 bytes stored as LATIN1 characters before)
        return sa.create_engine(u, pool_pre_ping=True, connect_args={"client_encoding": "utf8"})
    except ImportError as exc:
        module = getattr(exc, "name", None) or scrub(str(exc), url)
        raise StoreError(
            f"Kan inte använda databasen {shown}: drivrutinen {module!r} är inte installerad. "
            f"Använd postgresql+psycopg:// (psycopg 3 följer med trygghet) eller sqlite:///."
        ) from None
    except (sa.exc.ArgumentError, ValueError) as exc:
        raise StoreError(
            f"Kan inte använda databasadressen {shown}: {scrub(str(exc), url)}. Skriv den som "
            f"sqlite:///fil.db eller postgresql+psycopg://användare@värd:5432/databas."
        ) from None


def alembic_config(connection: Connection | None = None) -> Any:
    """The Alembic configuration of ``survey/data/migrations`` (with ``connection`` handed to env.py)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("survey.data") / "migrations"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


#: The newest revision of the migration scripts (``survey/data/migrations/versions``), written here so that
#: opening a database that is at it needs no Alembic import (~0.3 s); a test checks it against Alembic's head.
HEAD_REVISION = "0007"


def head_revision() -> str:
    """The newest revision of the migration scripts (:data:`HEAD_REVISION`)."""
    return HEAD_REVISION


@functools.lru_cache(maxsize=1)
def scripts_head() -> str:
    """The head of the migration scripts as Alembic reads them."""
    from alembic.script import ScriptDirectory

    return str(ScriptDirectory.from_config(alembic_config()).get_current_head())


def sqlstate(exc: BaseException) -> str | None:
    """PostgreSQL's SQLSTATE of a driver error (wrapped by SQLAlchemy or not)."""
    orig = getattr(exc, "orig", None) or exc
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


_DENIED = re.compile(r"permission denied for (table|view|schema|sequence|function|relation) (\S+)")
_OBJECT_SV = {
    "table": "tabellen",
    "view": "vyn",
    "schema": "schemat",
    "sequence": "sekvensen",
    "function": "funktionen",
    "relation": "tabellen",
}


def _refusal_detail(message: str) -> str:
    """``tabellen responses`` from PostgreSQL's ``permission denied for table responses`` (else the message)."""
    m = _DENIED.search(message)
    if m:
        return f"{_OBJECT_SV[m[1]]} {m[2]}"
    return " ".join(message.split()).removeprefix("ERROR:").strip()


#: SQLite's OperationalErrors that are about reaching the file, not about a statement.
_SQLITE_CONNECTION = ("unable to open database", "database is locked", "disk I/O error", "readonly database")

#: Alembic's ``context`` and ``op`` are process-wide proxies: two threads migrating two databases at once
#: would run each other's operations. Migrations in one process therefore take turns (the lock is taken
#: before the database's own write lock, so no thread waits for one while holding the other).
_ALEMBIC_LOCK = threading.Lock()


class Database:
    """One database: the engine, its dialect, guarded connections and migrations.

    ``reading(action)`` and ``writing(action)`` open a connection (``writing``: one transaction, SQLite's write
    lock taken up front with BEGIN IMMEDIATE) and turn refusals and connection failures into
    :class:`StoreError` s whose message says what could not be done (``action``, Swedish, e.g. "läsa svaren").
    """

    def __init__(self, url: str | None = None, *, migrate: bool = True, existing: bool = False) -> None:
        """``existing``: a SQLite file must be there already (the commands that only read or change what is
        stored: a missing file is a mistyped ``--db``, not a new empty database)."""
        self.url = database_url(url)
        if existing:
            require_sqlite_file(self.url)
        self.engine = make_engine(self.url)
        self.dialect = self.engine.dialect.name
        self.writer = self.engine.execution_options(trygghet_write=True)
        dbapi = self.engine.dialect.loaded_dbapi
        self.dbapi_error: type[BaseException] = dbapi.Error
        #: Data that breaks a database rule, raised by SQLAlchemy or (on the bulk paths) by the driver.
        self.data_errors: tuple[type[BaseException], ...] = (
            sa.exc.IntegrityError,
            sa.exc.DataError,
            dbapi.IntegrityError,
            dbapi.DataError,
        )
        if migrate:
            self.ensure_schema()

    @property
    def safe_url(self) -> str:
        """The URL with the password masked (for every message and log line)."""
        return mask_url(self.url)

    @property
    def sqlite_path(self) -> str | None:
        """The database's file when it is a plain SQLite file (None for PostgreSQL, an in-memory database
        or a URL with options)."""
        return sqlite_path(self.engine.url)

    def current_role(self) -> str:
        """The role the database sees (PostgreSQL ``current_user``, which ``SET ROLE`` changes)."""
        if self.dialect == "postgresql":
            try:
                with self.engine.connect() as conn:
                    return str(conn.exec_driver_sql("SELECT current_user").scalar())
            except Exception:
                pass
        return self.engine.url.username or os_user()

    def role_context(self) -> tuple[str, str, str]:
        """For a refusal's message: the current role, the roles it is a member of (directly or through
        others, quoted and comma-separated, ``–`` for none) and the owner of the ``runs`` table (``–``
        when unknown), read from PostgreSQL's catalogue, so that roles with names of their own are named."""
        role = self.current_role()
        if self.dialect != "postgresql":
            return role, "–", "–"
        try:
            with self.engine.connect() as conn:
                groups = conn.exec_driver_sql(
                    "SELECT rolname FROM pg_roles WHERE pg_has_role(current_user, oid, 'MEMBER') "
                    "AND rolname <> current_user AND left(rolname, 3) <> 'pg_' ORDER BY rolname"
                ).scalars()
                names = ", ".join(repr(str(g)) for g in groups) or "–"
                owner = conn.exec_driver_sql(
                    "SELECT tableowner FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'runs'"
                ).scalar()
        except Exception:
            return role, "–", "–"
        return role, names, repr(str(owner)) if owner else "–"

    def may_read(self, conn: Connection, table: sa.Table) -> bool:
        """Whether the current role may SELECT from ``table`` (always on SQLite)."""
        if self.dialect != "postgresql":
            return True
        return bool(conn.execute(sa.text("SELECT has_table_privilege(:t, 'SELECT')"), {"t": table.name}).scalar())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.safe_url!r})"

    # -- guarded connections ---------------------------------------------------------------------------

    def translate(self, exc: BaseException, action: str) -> StoreError | None:
        """The :class:`StoreError` for a refused or failed database operation, or None for other errors."""
        if sqlstate(exc) == PERMISSION_DENIED:
            detail = _refusal_detail(scrub(str(getattr(exc, "orig", None) or exc), self.url))
            role, groups, owner = self.role_context()
            return AccessRefused(
                f"Databasrollen {role!r} får inte {action} i databasen {self.safe_url} ({detail}). Rollen saknar "
                f"behörighet för det (rollerna den är medlem i: {groups}; trygghets tabeller ägs av {owner}). "
                f"Med rollerna från `trygghet db roles` läser läsrollen (standardnamn report_reader) bara "
                f"publicerade tabeller, skattningar och rapportvyerna, pipelinerollen (trygghet_pipeline) läser "
                f"och skriver data och körningar, och bara ägarrollen (trygghet_owner) ändrar schemat."
            )
        if isinstance(exc, CopyFailed):
            return None
        orig = getattr(exc, "orig", None)
        if self.dialect == "sqlite" and "file is not a database" in str(orig or exc):
            return StoreError(
                f"Kan inte {action}: filen i {self.safe_url} är ingen SQLite-databas (den finns men är något "
                f"annat, eller skadad). Ange en annan fil med --db sqlite:///fil.db, eller flytta undan den."
            )
        if isinstance(exc, sa.exc.OperationalError) or isinstance(orig or exc, self._operational()):
            detail = scrub(" ".join(str(orig or exc).split()), self.url)
            if self.dialect == "sqlite" and "readonly database" in detail:  # no server, user or password here
                return StoreError(
                    f"Kan inte {action}: databasfilen i {self.safe_url} går inte att skriva i för användaren "
                    f"{os_user()} (filen eller mappen den ligger i är skrivskyddad). Ge skrivrätt till båda, "
                    f"eller ange en annan fil med --db sqlite:///fil.db."
                )
            if self.dialect == "sqlite" and not any(m in detail for m in _SQLITE_CONNECTION):
                return StoreError(f"Kan inte {action} i databasen {self.safe_url}: {detail}.")
            return StoreError(
                f"Kan inte {action}: anslutningen till databasen {self.safe_url} misslyckades "
                f"({detail}). Kontrollera adressen (--db eller {ENV_URL}), användaren och "
                f"lösenordet, och att servern är igång."
            )
        return None

    def _operational(self) -> type[BaseException]:
        return self.engine.dialect.loaded_dbapi.OperationalError

    @contextmanager
    def guard(self, action: str) -> Iterator[None]:
        """Turn refusals and connection failures inside the block into :class:`StoreError`."""
        try:
            yield
        except (sa.exc.DBAPIError, self.dbapi_error, StoreError) as exc:
            error = self.translate(exc, action)
            if error is None:
                raise
            raise error from None

    @contextmanager
    def reading(self, action: str) -> Iterator[Connection]:
        """A connection for reads (its transaction is rolled back at the end)."""
        with self.guard(action), self.engine.connect() as conn:
            yield conn

    @contextmanager
    def writing(self, action: str) -> Iterator[Connection]:
        """One write transaction: committed at the end of the block, rolled back by any exception."""
        with self.guard(action), self.writer.begin() as conn:
            yield conn

    @contextmanager
    def writing_with(self, action: str, stage: Stage | None) -> Iterator[Connection]:
        """:meth:`writing` with ``stage``'s file attached as ``trygghet_stage`` for the transaction
        (:mod:`survey.data.store.staging`): SQLite attaches only outside a transaction, so before BEGIN, and
        detaches after the commit or rollback (a connection that cannot detach is dropped from the pool); the
        staging file is removed afterwards, whatever happened. ``stage`` None: :meth:`writing`."""
        if stage is None:
            with self.writing(action) as conn:
                yield conn
            return
        try:
            with self.guard(action), self.writer.connect() as conn:
                raw = conn.connection.driver_connection
                if raw is None:
                    raise StoreError("Databasanslutningen är stängd.")
                raw.execute("ATTACH DATABASE ? AS trygghet_stage", (str(stage.path),))
                try:
                    with conn.begin():
                        yield conn
                finally:
                    try:
                        raw.execute("DETACH DATABASE trygghet_stage")
                    except self.dbapi_error:
                        conn.invalidate()
        finally:
            discard(stage)

    # -- migrations -------------------------------------------------------------------------------------

    def schema_revision(self, action: str = "läsa databasens schemaversion") -> str | None:
        """The Alembic revision the database is at (None for an empty database): the one row of Alembic's
        ``alembic_version`` table, read with plain SQL; Alembic itself reads a table with several rows
        (branches, which trygghet's linear history never makes)."""
        with self.reading(action) as conn:
            if not sa.inspect(conn).has_table("alembic_version"):
                return None
            rows = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all()
            if len(rows) <= 1:
                return str(rows[0]) if rows else None
            from alembic.runtime.migration import MigrationContext

            return MigrationContext.configure(conn).get_current_revision()

    def ensure_schema(self) -> None:
        """Upgrade the schema to head unless it is there already (then nothing is written)."""
        if self.schema_revision("öppna databasen") != head_revision():
            self.upgrade()

    def upgrade(self, revision: str = "head") -> None:
        """Bring the schema up to ``revision`` (idempotent; serialised on PostgreSQL by an advisory lock)."""
        from alembic import command

        try:
            with _ALEMBIC_LOCK, self.writing("uppgradera databasschemat") as conn:
                if self.dialect == "postgresql":
                    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext(current_schema()))")
                command.upgrade(alembic_config(conn), revision)
        except AccessRefused as exc:
            raise AccessRefused(
                f"Databasschemat i {self.safe_url} behöver uppgraderas till version {head_revision()}, men "
                f"rollen {self.current_role()!r} får inte ändra schemat. Kör `trygghet db roles --db <adress>` "
                f"en gång som administratör (uppgraderar schemat, ger ägarrollen trygghet_owner de nya tabellerna "
                f"och rollerna deras behörigheter), eller öppna databasen en gång som ägarrollen, och försök igen. "
                f"({exc})"
            ) from None

    def close(self) -> None:
        """Release the connection pool."""
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
