"""Database roles on PostgreSQL (``trygghet db roles``): who may change, write and read what.

Three group roles (NOLOGIN; people and services log in as their own users and are made members):

=====================  ======================================================================================
``trygghet_owner``     owns every trygghet table, view and function and may CREATE in the schema: the only
                       role that runs migrations (``Store(url)`` upgrades an outdated schema as this role).
``trygghet_pipeline``  SELECT, INSERT and UPDATE on every table (no DELETE, no DDL): loads waves, records
                       runs and their outputs, publishes tables. Tables the owner creates later are granted
                       by default privileges.
``report_reader``      SELECT on the published tables, the report views, runs and their aggregate outputs
                       (``estimates``, ``comparisons``, ``trend``, ``estimates_by_group``,
                       ``problem_index``, ``weight_diagnostics``, ``runs``, ``run_inputs``, ``run_steps``,
                       ``source_files``: names and hashes of the input files, which every table cites)
                       and ``alembic_version``; never responses, free text, quarantine, weights, population
                       or designs (:data:`survey.data.store.schema.PRIVATE_TABLES`). New tables are not
                       granted by default: run ``trygghet db roles`` again after an upgrade.
=====================  ======================================================================================

Everything is granted in the current schema (``search_path``) and the function is idempotent. It must run as
a role that may create roles and change owners (a superuser or the database owner). SQLite has no roles:
protect the file with file permissions instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa

from survey.errors import StoreError

from .engine import Database
from .schema import PRIVATE_TABLES, REPORT_TABLES, metadata

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
FUNCTIONS = ("trygghet_published_immutable()",)


@dataclass(frozen=True)
class RoleNames:
    """The names of the three roles (tests use their own, the defaults are the documented ones)."""

    owner: str = "trygghet_owner"
    pipeline: str = "trygghet_pipeline"
    reader: str = "report_reader"

    def __post_init__(self) -> None:
        for role in (self.owner, self.pipeline, self.reader):
            if not _NAME.match(role):
                raise StoreError(
                    f"Ogiltigt rollnamn {role!r}: använd små bokstäver, siffror och _ "
                    f"(högst 63 tecken, inte en siffra först)."
                )


@dataclass
class RolesReport:
    """What :func:`create_roles` did: the schema and the statements it ran."""

    schema: str
    statements: list[str] = field(default_factory=list)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _create_role(role: str) -> str:
    return (
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN "
        f"CREATE ROLE {_ident(role)} NOLOGIN; END IF; END $$"
    )


def role_statements(
    schema: str,
    tables: Sequence[str],
    views: Sequence[str],
    functions: Sequence[str],
    names: RoleNames,
    members: Mapping[str, Sequence[str]] | None = None,
) -> list[str]:
    """The SQL of :func:`create_roles` for the tables and views that exist in ``schema``."""
    s, o, p, r = _ident(schema), _ident(names.owner), _ident(names.pipeline), _ident(names.reader)
    ours = set(metadata.tables)
    report = ({t.name for t in REPORT_TABLES} - {t.name for t in PRIVATE_TABLES}) | set(views) | {"alembic_version"}

    def q(rel: str) -> str:
        return f"{s}.{_ident(rel)}"

    sql = [_create_role(n) for n in (names.owner, names.pipeline, names.reader)]
    sql += [f"GRANT USAGE, CREATE ON SCHEMA {s} TO {o}", f"GRANT USAGE ON SCHEMA {s} TO {p}, {r}"]
    sql += [f"ALTER TABLE {q(t)} OWNER TO {o}" for t in tables]
    sql += [f"ALTER VIEW {q(v)} OWNER TO {o}" for v in views]
    sql += [f"ALTER FUNCTION {s}.{f} OWNER TO {o}" for f in functions]
    sql += [f"REVOKE ALL ON {q(t)} FROM {p}, {r}" for t in (*tables, *views)]
    sql += [f"GRANT SELECT, INSERT, UPDATE ON {q(t)} TO {p}" for t in tables if t in ours]
    sql += [f"GRANT SELECT ON {q(t)} TO {p}" for t in (*views, "alembic_version") if t in (*tables, *views)]
    sql += [
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {p}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA {s} GRANT SELECT, INSERT, UPDATE ON TABLES TO {p}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA {s} GRANT USAGE, SELECT ON SEQUENCES TO {p}",
    ]
    sql += [f"GRANT SELECT ON {q(t)} TO {r}" for t in (*tables, *views) if t in report]
    for role, users in (members or {}).items():
        group = {"owner": names.owner, "pipeline": names.pipeline, "reader": names.reader}.get(role, role)
        sql += [f"GRANT {_ident(group)} TO {_ident(u)}" for u in users]
    return sql


class RoleAdmin(Database):
    """``create_roles``: the owner, pipeline and report_reader roles of the current schema."""

    def create_roles(
        self, names: RoleNames = RoleNames(), members: Mapping[str, Sequence[str]] | None = None
    ) -> RolesReport:
        """Create (or bring up to date) the three roles and their privileges in the current schema, in one
        transaction. ``members`` maps ``owner``/``pipeline``/``reader`` to login users made members."""
        if self.dialect != "postgresql":
            raise StoreError(
                "Databasroller finns bara i PostgreSQL; en SQLite-fil skyddas med filens rättigheter (t.ex. chmod 600)."
            )
        with self.writing("skapa databasrollerna") as conn:
            schema = conn.exec_driver_sql("SELECT current_schema()").scalar()
            if schema is None:
                raise StoreError("Databasen har inget aktuellt schema (search_path är tomt).")
            insp = sa.inspect(conn)
            tables, views = insp.get_table_names(schema), insp.get_view_names(schema)
            functions = [
                f
                for f in FUNCTIONS
                if conn.exec_driver_sql(f"SELECT to_regprocedure('{schema}.{f}')").scalar() is not None
            ]
            statements = role_statements(schema, tables, views, functions, names, members)
            for stmt in statements:
                conn.exec_driver_sql(stmt)
        return RolesReport(schema=schema, statements=statements)
