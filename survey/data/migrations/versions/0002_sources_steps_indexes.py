"""Source versions with status and lineage, runs chained by steps, designs with the weights, indexes.

* ``source_files``: ``status`` (active / replaced / withdrawn), ``version``, who changed the status, when and
  why; existing rows get ``replaced`` (superseded) or ``withdrawn`` (inactive without successor) and their
  version number within their kind and years.
* ``runs``: ``codebook_name`` and ``years``; ``run_steps`` (which steps are done); ``run_designs``.
* ``weights``: the design arrays per respondent (position, design weight, stratum, PSU, fpc, calibration
  block and cell); ``trend.frame`` tells the trend step's frames apart; ``estimates_by_group`` and
  ``problem_index`` tables.
* Indexes on the columns the store filters by, so reading the newest wave or run does not scan the
  older ones: ``source_files (kind, status)``, ``free_text (source_file_id)``, ``run_inputs
  (source_file_id)``, ``runs (started_at)``, ``published_tables (run_id)``.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
STATUSES = "status IN ('active', 'replaced', 'withdrawn')"


def _source_files() -> None:
    op.add_column("source_files", sa.Column("status", sa.String(16), nullable=False, server_default="active"))
    op.add_column("source_files", sa.Column("version", sa.Integer, nullable=False, server_default="1"))
    op.add_column("source_files", sa.Column("status_changed_at", TS))
    op.add_column("source_files", sa.Column("status_changed_by", sa.Text))
    op.add_column("source_files", sa.Column("status_reason", sa.Text))
    op.execute("UPDATE source_files SET status = 'replaced' WHERE NOT active AND superseded_by IS NOT NULL")
    op.execute("UPDATE source_files SET status = 'withdrawn' WHERE NOT active AND superseded_by IS NULL")
    op.execute(
        "UPDATE source_files SET version = (SELECT count(*) FROM source_files s2 WHERE s2.kind = "
        "source_files.kind AND s2.years = source_files.years AND s2.id <= source_files.id)"
    )
    op.create_index("ix_source_files_kind_status", "source_files", ["kind", "status"])
    if op.get_bind().dialect.name == "postgresql":
        op.create_check_constraint(op.f("ck_source_files_status"), "source_files", STATUSES)
    else:  # SQLite adds CHECK constraints only by rebuilding the table; triggers do the same job
        for action in ("INSERT", "UPDATE"):
            op.execute(
                f"CREATE TRIGGER source_files_status_{action.lower()} BEFORE {action} ON source_files "
                f"WHEN NEW.status NOT IN ('active', 'replaced', 'withdrawn') "
                f"BEGIN SELECT RAISE(ABORT, 'source_files.status must be active, replaced or withdrawn'); END"
            )


def _output_table(name: str, *columns: sa.Column[Any]) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        *columns,
        sa.Column("extras", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.run_id"], name=op.f(f"fk_{name}_run_id_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
    )
    op.create_index(f"ix_{name}_run_id", name, ["run_id"], unique=False)


def _estimate_columns() -> list[sa.Column[Any]]:
    return [sa.Column("year", sa.Integer), sa.Column("district", sa.Text), sa.Column("indicator", sa.Text)]


def _share_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("estimate", sa.Double),
        sa.Column("se", sa.Double),
        sa.Column("ci_low", sa.Double),
        sa.Column("ci_high", sa.Double),
        sa.Column("n", sa.Integer),
        sa.Column("suppressed", sa.Boolean),
        sa.Column("df", sa.Double),
        sa.Column("deff", sa.Double),
    ]


def _runs() -> None:
    op.add_column("runs", sa.Column("codebook_name", sa.Text))
    op.add_column("runs", sa.Column("years", sa.Text))
    op.create_index("ix_runs_started_at", "runs", ["started_at"])
    op.create_index("ix_run_inputs_source_file_id", "run_inputs", ["source_file_id"])
    op.create_table(
        "run_steps",
        sa.Column("run_id", sa.String(36), nullable=False),
        sa.Column("step", sa.String(32), nullable=False),
        sa.Column("finished_at", TS, nullable=False),
        sa.Column("seconds", sa.Double),
        sa.Column("meta", sa.JSON),
        sa.ForeignKeyConstraint(["run_id"], ["runs.run_id"], name=op.f("fk_run_steps_run_id_runs")),
        sa.PrimaryKeyConstraint("run_id", "step", name=op.f("pk_run_steps")),
    )
    op.create_table(
        "run_designs",
        sa.Column("run_id", sa.String(36), nullable=False),
        sa.Column("design", sa.JSON),
        sa.Column("calibration", sa.JSON),
        sa.ForeignKeyConstraint(["run_id"], ["runs.run_id"], name=op.f("fk_run_designs_run_id_runs")),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_run_designs")),
    )
    for step, table in (("weight", "weight_diagnostics"), ("estimate", "estimates"), ("trend", "trend")):
        op.execute(
            f"INSERT INTO run_steps (run_id, step, finished_at) SELECT run_id, '{step}', "
            f"COALESCE(finished_at, started_at) FROM runs WHERE EXISTS "
            f"(SELECT 1 FROM {table} t WHERE t.run_id = runs.run_id)"
        )


def _outputs() -> None:
    for name, kind in (
        ("position", sa.Integer),
        ("design_weight", sa.Double),
        ("stratum", sa.Integer),
        ("psu", sa.Integer),
        ("fpc", sa.Double),
        ("cal_block", sa.Integer),
        ("cal_cell", sa.Integer),
    ):
        op.add_column("weights", sa.Column(name, kind))
    op.add_column("trend", sa.Column("frame", sa.String(32), nullable=False, server_default="trend"))
    _output_table(
        "estimates_by_group",
        *_estimate_columns(),
        sa.Column("domain", sa.Text),
        sa.Column("group", sa.Text),
        *_share_columns(),
    )
    _output_table("problem_index", *_estimate_columns(), *_share_columns())


def upgrade() -> None:
    """Upgrade schema."""
    _source_files()
    _runs()
    _outputs()
    op.create_index("ix_free_text_source_file_id", "free_text", ["source_file_id"])
    op.create_index("ix_published_tables_run_id", "published_tables", ["run_id"])


def downgrade() -> None:
    """Downgrade schema (the data of the new columns and tables are dropped)."""
    op.drop_index("ix_published_tables_run_id", table_name="published_tables")
    op.drop_index("ix_free_text_source_file_id", table_name="free_text")
    for name in ("problem_index", "estimates_by_group"):
        op.drop_index(f"ix_{name}_run_id", table_name=name)
        op.drop_table(name)
    op.drop_table("run_designs")
    op.drop_table("run_steps")
    op.drop_index("ix_run_inputs_source_file_id", table_name="run_inputs")
    op.drop_index("ix_runs_started_at", table_name="runs")
    op.drop_index("ix_source_files_kind_status", table_name="source_files")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(op.f("ck_source_files_status"), "source_files", type_="check")
    else:
        for action in ("insert", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS source_files_status_{action}")
    with op.batch_alter_table("trend") as batch:
        batch.drop_column("frame")
    with op.batch_alter_table("weights") as batch:
        for name in ("cal_cell", "cal_block", "fpc", "psu", "stratum", "design_weight", "position"):
            batch.drop_column(name)
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("years")
        batch.drop_column("codebook_name")
    with op.batch_alter_table("source_files") as batch:
        for name in ("status_reason", "status_changed_by", "status_changed_at", "version", "status"):
            batch.drop_column(name)
