"""SQL views over the published-table store, one per table family, for report tools.

The columns and rules are documented in ``survey/data/store/published.py`` (module docstring); this script
only creates them, in the SQL of each dialect (JSON access and string functions differ).

Revision ID: 0003
Revises: 0002
"""
from typing import Sequence, Union

from alembic import op

revision: str = "0003"
down_revision: Union[str, Sequence[str], None] = "0002"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

VIEWS = ("v_published_estimates", "v_published_groups", "v_published_by_group", "v_published_comparisons",
         "v_published_trend", "v_published_cells", "v_published_tables")

#: The current version of each (table_id, year); and the newest publication of each table_id.
CURRENT_BY_YEAR = "SELECT table_id, year, max(version) AS version FROM published_tables GROUP BY table_id, year"
NEWEST_BY_TABLE = ("SELECT table_id, year, version FROM (SELECT table_id, year, version, ROW_NUMBER() OVER "
                   "(PARTITION BY table_id ORDER BY created_at DESC, year DESC, version DESC) AS rn "
                   "FROM published_tables) newest WHERE rn = 1")


class _SQL:
    """The dialect-specific pieces of the views."""

    def __init__(self, dialect: str) -> None:
        self.pg = dialect == "postgresql"

    def json_text(self, col: str, *path: str) -> str:
        if self.pg:
            return col + "".join(f" -> '{p}'" for p in path[:-1]) + f" ->> '{path[-1]}'"
        return f"json_extract({col}, '$.{'.'.join(path)}')"

    def json_key(self, col: str, obj: str, key: str) -> str:
        if self.pg:
            return f"({col} -> '{obj}' ->> {key})"
        return f"(SELECT j.value FROM json_each({col}, '$.{obj}') j WHERE j.key = {key})"

    def split(self, col: str) -> tuple[str, str]:
        """(key, stat) of a stored column key ``<column>|<stat>`` (split at the last ``|``)."""
        if self.pg:
            return f"regexp_replace({col}, '\\|[^|]*$', '')", f"substring({col} from '[^|]*$')"
        head = f"rtrim({col}, replace({col}, '|', ''))"
        return f"substr({col}, 1, length({head}) - 1)", f"substr({col}, length({head}) + 1)"

    def rounded(self, expr: str, digits: int, scale: int = 1) -> str:
        """``expr`` rounded as the tables print it: ``digits`` decimals of ``expr * scale``."""
        if self.pg:
            return (f"CAST(round(CAST(({expr}) * {scale} AS numeric), {digits}) / {scale} "
                    f"AS double precision)")
        return f"(round(({expr}) * {scale}, {digits}) / {float(scale)!r})"


def _cells(sql: _SQL, current: str) -> str:
    """Cells of the chosen table versions, with the column key split and the table's dimensions as text."""
    key, stat = sql.split("c.column_key")
    return f"""
        SELECT c.table_id, t.year AS table_year, c.version, t.run_id, t.created_at AS published_at,
               {sql.json_text('t.meta', 'kind')} AS kind, c.position, c.row_key, {key} AS column_key,
               {stat} AS stat, c.value, c.text, c.suppressed,
               {sql.json_text('t.meta', 'dims', 'fixed', 'indicator')} AS fixed_indicator,
               {sql.json_text('t.meta', 'dims', 'fixed', 'district')} AS fixed_district,
               {sql.json_text('t.meta', 'dims', 'column_districts', 'a')} AS district_a,
               {sql.json_text('t.meta', 'dims', 'column_districts', 'b')} AS district_b,
               {sql.json_key('t.meta', 'column_spanners', key)} AS spanner
        FROM published_cells c
        JOIN ({current}) cur ON cur.table_id = c.table_id AND cur.year = c.year AND cur.version = c.version
        JOIN published_tables t ON t.table_id = c.table_id AND t.year = c.year AND t.version = c.version"""


def _stat(name: str, column: str | None = None) -> str:
    cond = f"cl.stat = '{name}'" + (f" AND cl.column_key = '{column}'" if column else "")
    return f"max(CASE WHEN {cond} THEN cl.value END)"


def _flag(name: str, column: str | None = None) -> str:
    v = _stat(name, column)
    return f"CASE WHEN {v} IS NULL THEN NULL ELSE {v} = 1 END"


def _share(sql: _SQL, column: str | None = None, suffix: str = "") -> str:
    return ", ".join(f"{sql.rounded(_stat(s, column), 1, 100)} AS {name}{suffix}"
                     for s, name in (("est", "estimate"), ("lo", "ci_low"), ("hi", "ci_high"))) + \
        f", CAST({_stat('n', column)} AS INTEGER) AS n{suffix}"


SUPPRESSED = "max(CASE WHEN cl.suppressed THEN 1 ELSE 0 END) = 1 AS suppressed"
PROVENANCE = "cl.table_id, cl.version, cl.run_id, cl.published_at"
GROUP_PROVENANCE = "cl.table_id, cl.table_year, cl.version, cl.run_id, cl.published_at"


def _views(sql: _SQL) -> dict[str, str]:
    by_year, newest = _cells(sql, CURRENT_BY_YEAR), _cells(sql, NEWEST_BY_TABLE)
    return {
        "v_published_tables": f"""
            SELECT t.table_id, t.year, t.version, {sql.json_text('t.meta', 'kind')} AS kind, t.title, t.run_id,
                   t.created_at AS published_at
            FROM published_tables t JOIN ({CURRENT_BY_YEAR}) cur
              ON cur.table_id = t.table_id AND cur.year = t.year AND cur.version = t.version""",
        "v_published_cells": f"""
            SELECT cl.table_id, cl.kind, cl.table_year AS year, cl.version, cl.run_id, cl.published_at,
                   cl.position, cl.row_key, cl.column_key, cl.stat, cl.value, cl.text, cl.suppressed
            FROM ({by_year}) cl""",
        "v_published_estimates": f"""
            SELECT CAST(cl.column_key AS INTEGER) AS year, cl.row_key AS district, cl.fixed_indicator AS indicator,
                   {_share(sql)}, {SUPPRESSED}, {_flag('sig')} AS change_significant, {PROVENANCE}
            FROM ({newest}) cl WHERE cl.kind = 'district'
            GROUP BY {GROUP_PROVENANCE}, cl.row_key, cl.column_key, cl.fixed_indicator""",
        "v_published_groups": f"""
            SELECT cl.table_year AS year, cl.row_key AS district, cl.column_key AS indicator,
                   {_share(sql)}, {SUPPRESSED}, {_flag('sig')} AS change_significant, {PROVENANCE}
            FROM ({by_year}) cl WHERE cl.kind = 'group'
            GROUP BY {GROUP_PROVENANCE}, cl.row_key, cl.column_key""",
        "v_published_by_group": f"""
            SELECT cl.table_year AS year, cl.fixed_district AS district, cl.row_key AS indicator,
                   cl.spanner AS domain, cl.column_key AS "group", {_share(sql)}, {SUPPRESSED}, {PROVENANCE}
            FROM ({by_year}) cl WHERE cl.kind = 'domain'
            GROUP BY {GROUP_PROVENANCE}, cl.fixed_district, cl.row_key, cl.spanner, cl.column_key""",
        "v_published_comparisons": f"""
            SELECT cl.table_year AS year, cl.row_key AS indicator, cl.district_a, cl.district_b,
                   {_share(sql, 'a', '_a')}, {_share(sql, 'b', '_b')},
                   {sql.rounded(_stat('diff', 'diff'), 1, 100)} AS difference,
                   {sql.rounded(_stat('lo', 'diff'), 1, 100)} AS ci_low,
                   {sql.rounded(_stat('hi', 'diff'), 1, 100)} AS ci_high,
                   {_stat('p', 'diff')} AS p_value, {_flag('sig', 'diff')} AS significant, {SUPPRESSED},
                   {PROVENANCE}
            FROM ({by_year}) cl WHERE cl.kind = 'compare'
            GROUP BY {GROUP_PROVENANCE}, cl.row_key, cl.district_a, cl.district_b""",
        "v_published_trend": f"""
            SELECT cl.table_year AS year, cl.row_key AS indicator,
                   {sql.rounded(_stat('or'), 3)} AS odds_ratio, {sql.rounded(_stat('lo'), 3)} AS ci_low,
                   {sql.rounded(_stat('hi'), 3)} AS ci_high, {_stat('p')} AS p_value,
                   {_flag('sig')} AS significant, {PROVENANCE}
            FROM ({by_year}) cl WHERE cl.kind = 'trend'
            GROUP BY {GROUP_PROVENANCE}, cl.row_key""",
    }


def upgrade() -> None:
    """Create the views."""
    for name, body in _views(_SQL(op.get_bind().dialect.name)).items():
        op.execute(f"CREATE VIEW {name} AS {body}")


def downgrade() -> None:
    """Drop the views."""
    for name in VIEWS:
        op.execute(f"DROP VIEW IF EXISTS {name}")
