"""``v_published_district_trends``: the per-district trends in procentenheter per year (table
``district_trends``, ``reports.district_trends``).

The views are dropped and created from ``survey/data/store/views.py`` (documented in ``docs/table-store.md``).

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

from alembic import op

from survey.data.store.views import replace_views

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Recreate the views."""
    replace_views(op.execute, op.get_bind().dialect.name)


def downgrade() -> None:
    """Drop the view this revision added."""
    op.execute("DROP VIEW IF EXISTS v_published_district_trends")
