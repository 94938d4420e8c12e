"""The database of trygghet: SQLAlchemy 2 tables, Alembic migrations, transactional loads, runs chained by
steps, the published-table store with its report views, and PostgreSQL roles.

One :class:`Store` wraps one database (SQLite or PostgreSQL). Opening it brings the schema up to date with the
Alembic scripts in ``survey/data/migrations`` (only when it is not already current). Every write method runs
in ONE transaction: an exception leaves nothing half-written. ``Store`` is a facade composed of one part per
concept, each in its own module:

================  ==========================================================================================
module            what
================  ==========================================================================================
``schema``        the tables, canonical dtypes, which tables are private and which report_reader may read
``engine``        URL (``$TRYGGHET_DATABASE_URL``), engine, password-masked messages, migrations, refusals
``bulk``          COPY / executemany writes and COPY / cursor reads through Arrow
``loading``       ``load_wave``: idempotent, versioned, replacing loads
``sources``       ``sources``, ``withdraw_source``, ``replace_source`` (``trygghet sources ...``)
``reads``         canonical responses, population, free text and quarantine of the active sources
``runs``          ``begin_run``, steps (``save_estimates``, ``save_trend``, ``record_step``), ``finish_run``,
                  ``fail_run``, ``runs``, ``run_record``, ``run_responses``
``weights``       ``save_weights`` / ``run_weights`` (weights with the design and calibration specification),
                  ``save_run_outputs``, ``run_outputs``, ``run_results``
``published``     ``publish_table``, ``published_table(s)``, the report views (``published_view``), documented
``views``         the SQL of the report views (one definition for the migrations)
``roles``         ``create_roles`` (``trygghet db roles``)
``plans``         the hot queries and their query plans (the index test)
================  ==========================================================================================
"""

from __future__ import annotations

from .bulk import CopyFailed, copy_out
from .engine import AccessRefused, Database, database_url, head_revision, mask_url, scrub
from .loading import LoadReport
from .published import PUBLISHED_VIEWS, PublishedStore, TableVersion
from .roles import RoleAdmin, RoleNames, RolesReport
from .runs import RunOutputs, RunRecord, RunResults
from .schema import CONTRACT_ITEMS, STR, metadata
from .sources import SourceRegistry, SourceReplacement
from .weights import StoredWeights, WeightStore


class Store(SourceRegistry, WeightStore, PublishedStore, RoleAdmin):
    """A trygghet database. ``url`` defaults to ``$TRYGGHET_DATABASE_URL`` or ``sqlite:///trygghet.db``.

    PostgreSQL URLs use psycopg 3: ``postgresql+psycopg://user@host:5432/db`` (a schema can be chosen with
    ``?options=-csearch_path%3Dmyschema``). Opening the store runs the Alembic migrations up to head when the
    schema is not current (``migrate=False``: never).
    """

    def __enter__(self) -> Store:
        return self


__all__ = [
    "AccessRefused",
    "CONTRACT_ITEMS",
    "CopyFailed",
    "Database",
    "LoadReport",
    "PUBLISHED_VIEWS",
    "RoleNames",
    "RolesReport",
    "RunOutputs",
    "RunRecord",
    "RunResults",
    "STR",
    "SourceReplacement",
    "Store",
    "StoredWeights",
    "TableVersion",
    "copy_out",
    "database_url",
    "head_revision",
    "mask_url",
    "metadata",
    "scrub",
]
