"""The report views follow the publisher's statistics: change since the previous year (``chg``, ``chg_p``,
``chg_sig``) and the comparison with Totalt (``tot_p``, ``tot_sig``); ``suppressed`` is the share's own.

The views are dropped and created from ``survey/data/store/views.py``, so a database that ran the first
version of 0003 ends with the same views as a new one.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

from alembic import op

from survey.data.store.views import replace_views

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Recreate the views."""
    replace_views(op.execute, op.get_bind().dialect.name)


def downgrade() -> None:
    """Views stay as they are (0003 has the same definition now)."""
