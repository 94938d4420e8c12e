"""A report view for every published table family: ``v_published_by_group`` also holds the sex and age
groups of each district (the ``groups_<indicator>`` tables), and the new ``v_published_answers`` (answer
distributions, ``answers_<item>``) and ``v_published_small_area`` (the Fay–Herriot model estimates,
``small_area``).

The views are dropped and created from ``survey/data/store/views.py`` (documented in
``docs/table-store.md``), so every database at head has the same definitions whichever revision it came from.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

from alembic import op

from survey.data.store.views import replace_views

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The views this revision adds (its downgrade drops them; the others keep their columns).
ADDED = ("v_published_answers", "v_published_small_area")


def upgrade() -> None:
    """Recreate the views."""
    replace_views(op.execute, op.get_bind().dialect.name)


def downgrade() -> None:
    """Drop the views this revision added; ``v_published_by_group`` keeps its district rows (same columns)."""
    for name in ADDED:
        op.execute(f"DROP VIEW IF EXISTS {name}")
