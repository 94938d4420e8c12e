"""How a source file was read: ``source_files.file_sha256`` (the file's bytes) and ``reading`` (a digest of the
reading: format, encoding, delimiter, decimal mark, header row, the codebook and the vendor mapping). The same
file read another way (a corrected mapping, say) is another source version; ``sha256`` stays the row's identity
(the file's hash for its first reading, the hash of file and reading for a later one). Rows loaded before this
revision keep both columns empty: their reading is unknown and matches any.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the two columns (nullable: no table rebuild on SQLite)."""
    op.add_column("source_files", sa.Column("file_sha256", sa.String(64), nullable=True))
    op.add_column("source_files", sa.Column("reading", sa.String(64), nullable=True))


def downgrade() -> None:
    """Drop them (SQLite 3.35+ drops a column in place)."""
    op.drop_column("source_files", "reading")
    op.drop_column("source_files", "file_sha256")
