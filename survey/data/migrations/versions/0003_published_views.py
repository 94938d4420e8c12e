"""SQL views over the published-table store, one per table family, for report tools.

The columns and rules are documented in ``survey/data/store/published.py``; the SQL is in
``survey/data/store/views.py`` (one definition for every migration that creates or changes the views; 0004
recreates them, so a database that ran the first version of this script is brought to the same views).

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

from alembic import op

from survey.data.store.views import drop_views, replace_views

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the views."""
    replace_views(op.execute, op.get_bind().dialect.name)


def downgrade() -> None:
    """Drop the views."""
    drop_views(op.execute)
