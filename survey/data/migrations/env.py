"""Alembic environment of trygghet.

``Store.upgrade`` runs this programmatically and hands over its connection in
``config.attributes["connection"]`` (inside the caller's transaction). Run standalone, it connects to
``sqlalchemy.url`` from the config, or ``$TRYGGHET_DATABASE_URL``.
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from alembic import context

from survey.data.store import metadata

config = context.config


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("TRYGGHET_DATABASE_URL") or "sqlite:///trygghet.db"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    raise NotImplementedError("trygghet migrations run online only (Store(url) runs them on open)")
run_migrations_online()
