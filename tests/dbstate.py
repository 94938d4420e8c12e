"""The state of a database as numbers to compare: every table's row count and a hash of its content.

``db_state(url)`` -> ``{table: (rows, sha256)}``; the hash is over the rows sorted by their text, so that it
does not depend on the order the database returns them in. Works on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa


def db_state(url: str) -> dict[str, tuple[int, str]]:
    """Row count and content hash of every table (alembic_version included: a migration is a change too)."""
    eng = sa.create_engine(url)
    try:
        with eng.connect() as c:
            out = {}
            for table in sorted(sa.inspect(c).get_table_names()):
                rows = c.execute(sa.text(f'select * from "{table}"')).all()
                lines = sorted(repr(tuple(r)) for r in rows)
                out[table] = (len(rows), hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest())
            return out
    finally:
        eng.dispose()
