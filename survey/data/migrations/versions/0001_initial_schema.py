"""Initial schema: sources, responses, free text, quarantine, population, runs and their outputs,
published tables (with triggers that make published rows immutable).

Revision ID: 0001
Revises:
Create Date: 2026-11-23 18:47:30.205570

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "runs",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("code_version", sa.Text(), nullable=True),
        sa.Column("codebook_version", sa.Text(), nullable=True),
        sa.Column("parameters", sa.JSON(), nullable=True),
        sa.Column("lineage", sa.JSON(), nullable=True),
        sa.Column("outputs_meta", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('running', 'succeeded', 'failed')", name=op.f("ck_runs_status")),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_runs")),
    )
    op.create_table(
        "source_files",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("format", sa.Text(), nullable=True),
        sa.Column("encoding", sa.Text(), nullable=True),
        sa.Column("delimiter", sa.Text(), nullable=True),
        sa.Column("decimal", sa.Text(), nullable=True),
        sa.Column("codebook_version", sa.Text(), nullable=True),
        sa.Column("mapping", sa.Text(), nullable=True),
        sa.Column("n_rows", sa.Integer(), nullable=True),
        sa.Column("years", sa.Text(), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=True),
        sa.Column("notes", sa.JSON(), nullable=True),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("superseded_by", sa.Integer(), nullable=True),
        sa.CheckConstraint("kind IN ('responses', 'population')", name=op.f("ck_source_files_kind")),
        sa.ForeignKeyConstraint(
            ["superseded_by"], ["source_files.id"], name=op.f("fk_source_files_superseded_by_source_files")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source_files")),
        sa.UniqueConstraint("kind", "sha256", name="uq_source_files_kind_sha256"),
    )
    op.create_table(
        "comparisons",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("district", sa.Text(), nullable=True),
        sa.Column("indicator", sa.Text(), nullable=True),
        sa.Column("comparison", sa.Text(), nullable=True),
        sa.Column("other", sa.Text(), nullable=True),
        sa.Column("difference", sa.Double(), nullable=True),
        sa.Column("se", sa.Double(), nullable=True),
        sa.Column("ci_low", sa.Double(), nullable=True),
        sa.Column("ci_high", sa.Double(), nullable=True),
        sa.Column("p_value", sa.Double(), nullable=True),
        sa.Column("p_adjusted", sa.Double(), nullable=True),
        sa.Column("significant", sa.Boolean(), nullable=True),
        sa.Column("extras", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.run_id"], name=op.f("fk_comparisons_run_id_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comparisons")),
    )
    op.create_index("ix_comparisons_run_id", "comparisons", ["run_id"], unique=False)

    op.create_table(
        "estimates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("district", sa.Text(), nullable=True),
        sa.Column("indicator", sa.Text(), nullable=True),
        sa.Column("estimate", sa.Double(), nullable=True),
        sa.Column("se", sa.Double(), nullable=True),
        sa.Column("ci_low", sa.Double(), nullable=True),
        sa.Column("ci_high", sa.Double(), nullable=True),
        sa.Column("n", sa.Integer(), nullable=True),
        sa.Column("suppressed", sa.Boolean(), nullable=True),
        sa.Column("df", sa.Double(), nullable=True),
        sa.Column("deff", sa.Double(), nullable=True),
        sa.Column("extras", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.run_id"], name=op.f("fk_estimates_run_id_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_estimates")),
    )
    op.create_index("ix_estimates_run_id", "estimates", ["run_id"], unique=False)

    op.create_table(
        "free_text",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source_file_id", sa.Integer(), nullable=False),
        sa.Column("resp_id", sa.Text(), nullable=True),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_free_text")),
    )
    op.create_table(
        "population",
        sa.Column("source_file_id", sa.Integer(), nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("district", sa.Text(), nullable=False),
        sa.Column("sex", sa.SmallInteger(), nullable=False),
        sa.Column("age_group", sa.Text(), nullable=False),
        sa.Column("population", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_file_id"], ["source_files.id"], name=op.f("fk_population_source_file_id_source_files")
        ),
        sa.PrimaryKeyConstraint("source_file_id", "row_no", name=op.f("pk_population")),
        sa.UniqueConstraint("source_file_id", "year", "district", "sex", "age_group", name="uq_population_cell"),
    )
    op.create_table(
        "published_tables",
        sa.Column("table_id", sa.Text(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("meta", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.run_id"], name=op.f("fk_published_tables_run_id_runs")),
        sa.PrimaryKeyConstraint("table_id", "year", "version", name=op.f("pk_published_tables")),
    )
    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source_file_id", sa.Integer(), nullable=False),
        sa.Column("file", sa.Text(), nullable=True),
        sa.Column("source_row", sa.Integer(), nullable=True),
        sa.Column("resp_id", sa.Text(), nullable=True),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("column", sa.Text(), nullable=True),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("check", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("record", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine")),
    )
    op.create_index("ix_quarantine_source_file_id", "quarantine", ["source_file_id"], unique=False)

    op.create_table(
        "responses",
        sa.Column("source_file_id", sa.Integer(), nullable=False),
        sa.Column("source_row", sa.Integer(), nullable=False),
        sa.Column("resp_id", sa.Text(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("district", sa.Text(), nullable=False),
        sa.Column("sex", sa.SmallInteger(), nullable=False),
        sa.Column("age_group", sa.Text(), nullable=False),
        sa.Column("born_abroad", sa.SmallInteger(), nullable=True),
        sa.Column("design_weight", sa.Double(), nullable=True),
        sa.Column("q_safe_after_dark", sa.SmallInteger(), nullable=True),
        sa.Column("q_worry_crime", sa.SmallInteger(), nullable=True),
        sa.Column("q_problem_littering", sa.SmallInteger(), nullable=True),
        sa.Column("q_problem_dark_places", sa.SmallInteger(), nullable=True),
        sa.Column("q_problem_graffiti", sa.SmallInteger(), nullable=True),
        sa.Column("q_problem_vandalism", sa.SmallInteger(), nullable=True),
        sa.Column("q_problem_youth_groups", sa.SmallInteger(), nullable=True),
        sa.Column("q_problem_drug_dealing", sa.SmallInteger(), nullable=True),
        sa.Column("q_problem_drunk_people", sa.SmallInteger(), nullable=True),
        sa.Column("q_problem_traffic", sa.SmallInteger(), nullable=True),
        sa.Column("q_victim_violence", sa.SmallInteger(), nullable=True),
        sa.Column("q_victim_theft", sa.SmallInteger(), nullable=True),
        sa.Column("q_victim_vandalism", sa.SmallInteger(), nullable=True),
        sa.Column("q_police_care", sa.SmallInteger(), nullable=True),
        sa.Column("extra_items", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("source_file_id", "source_row", name=op.f("pk_responses")),
    )
    op.create_table(
        "run_inputs",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("source_file_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.run_id"], name=op.f("fk_run_inputs_run_id_runs")),
        sa.ForeignKeyConstraint(
            ["source_file_id"], ["source_files.id"], name=op.f("fk_run_inputs_source_file_id_source_files")
        ),
        sa.PrimaryKeyConstraint("run_id", "source_file_id", name=op.f("pk_run_inputs")),
    )
    op.create_table(
        "trend",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("indicator", sa.Text(), nullable=True),
        sa.Column("term", sa.Text(), nullable=True),
        sa.Column("estimate", sa.Double(), nullable=True),
        sa.Column("se", sa.Double(), nullable=True),
        sa.Column("model", sa.Text(), nullable=True),
        sa.Column("district", sa.Text(), nullable=True),
        sa.Column("extras", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.run_id"], name=op.f("fk_trend_run_id_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trend")),
    )
    op.create_index("ix_trend_run_id", "trend", ["run_id"], unique=False)

    op.create_table(
        "weight_diagnostics",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("district", sa.Text(), nullable=True),
        sa.Column("n", sa.Integer(), nullable=True),
        sa.Column("sum_weights", sa.Double(), nullable=True),
        sa.Column("min", sa.Double(), nullable=True),
        sa.Column("max", sa.Double(), nullable=True),
        sa.Column("ratio", sa.Double(), nullable=True),
        sa.Column("kish_deff", sa.Double(), nullable=True),
        sa.Column("ess", sa.Double(), nullable=True),
        sa.Column("iterations", sa.Integer(), nullable=True),
        sa.Column("max_margin_error", sa.Double(), nullable=True),
        sa.Column("extras", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.run_id"], name=op.f("fk_weight_diagnostics_run_id_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_weight_diagnostics")),
    )
    op.create_index("ix_weight_diagnostics_run_id", "weight_diagnostics", ["run_id"], unique=False)

    op.create_table(
        "weights",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("resp_id", sa.Text(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("weight", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("run_id", "year", "resp_id", name=op.f("pk_weights")),
    )
    op.create_table(
        "published_cells",
        sa.Column("table_id", sa.Text(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("row_key", sa.Text(), nullable=False),
        sa.Column("column_key", sa.Text(), nullable=False),
        sa.Column("value", sa.Double(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("suppressed", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "NOT (suppressed AND value IS NOT NULL)", name=op.f("ck_published_cells_suppressed_without_value")
        ),
        sa.ForeignKeyConstraint(
            ["table_id", "year", "version"],
            ["published_tables.table_id", "published_tables.year", "published_tables.version"],
            name="fk_published_cells_table",
        ),
        sa.PrimaryKeyConstraint(
            "table_id", "year", "version", "row_key", "column_key", name=op.f("pk_published_cells")
        ),
    )
    _immutable_published()


_PUBLISHED = ("published_tables", "published_cells")


def _immutable_published() -> None:
    """Published versions are never overwritten: the database refuses UPDATE and DELETE on them."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE FUNCTION trygghet_published_immutable() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'published tables are immutable: publish a new version instead';
            END $$ LANGUAGE plpgsql
        """)
        for table in _PUBLISHED:
            op.execute(
                f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION trygghet_published_immutable()"
            )
    else:
        for table in _PUBLISHED:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'published tables are immutable: publish a new "
                    f"version instead'); END"
                )


def downgrade() -> None:
    """Downgrade schema."""
    bind = op.get_bind()
    for table in _PUBLISHED:
        if bind.dialect.name == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_immutable ON {table}")
        else:
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")
    if bind.dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS trygghet_published_immutable()")
    op.drop_table("published_cells")
    op.drop_table("weights")
    op.drop_index("ix_weight_diagnostics_run_id", table_name="weight_diagnostics")

    op.drop_table("weight_diagnostics")
    op.drop_index("ix_trend_run_id", table_name="trend")

    op.drop_table("trend")
    op.drop_table("run_inputs")
    op.drop_table("responses")
    op.drop_index("ix_quarantine_source_file_id", table_name="quarantine")

    op.drop_table("quarantine")
    op.drop_table("published_tables")
    op.drop_table("population")
    op.drop_table("free_text")
    op.drop_index("ix_estimates_run_id", table_name="estimates")

    op.drop_table("estimates")
    op.drop_index("ix_comparisons_run_id", table_name="comparisons")

    op.drop_table("comparisons")
    op.drop_table("source_files")
    op.drop_table("runs")
