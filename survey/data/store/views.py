"""The SQL of the report views over the published-table store (documented in :mod:`.published`).

The migrations that create or change views call :func:`replace_views`, so every database at head has
exactly these definitions. The views read only ``published_tables`` and ``published_cells`` (revision 0001);
a future view that needs a later column must first freeze this definition for the older migrations.

The published values are already rounded to the precision they are shown with (the publisher stores
``reports.formats.shown`` values), so the views pass them through unchanged.
"""

from __future__ import annotations

from collections.abc import Callable

from survey.labels import MODEL_SUFFIX, TOTAL_LABEL

VIEW_NAMES: tuple[str, ...] = (
    "v_published_estimates",
    "v_published_groups",
    "v_published_by_group",
    "v_published_comparisons",
    "v_published_trend",
    "v_published_answers",
    "v_published_small_area",
    "v_published_district_trends",
    "v_published_cells",
    "v_published_tables",
)

#: The current version of each (table_id, year); and the newest publication of each table_id.
CURRENT_BY_YEAR = "SELECT table_id, year, max(version) AS version FROM published_tables GROUP BY table_id, year"
NEWEST_BY_TABLE = (
    "SELECT table_id, year, version FROM (SELECT table_id, year, version, ROW_NUMBER() OVER "
    "(PARTITION BY table_id ORDER BY created_at DESC, year DESC, version DESC) AS rn "
    "FROM published_tables) newest WHERE rn = 1"
)
PROVENANCE = "cl.table_id, cl.version, cl.run_id, cl.published_at"
GROUP_PROVENANCE = "cl.table_id, cl.table_year, cl.version, cl.run_id, cl.published_at"
TOTAL = TOTAL_LABEL  # the row of all districts


class ViewSQL:
    """The dialect-specific pieces: JSON access and splitting ``<column>|<stat>`` at the last ``|``."""

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

    def pair_label(self, col: str, array: str, key: str) -> str:
        """The second element of the ``[key, label]`` pair of the JSON array ``col.array`` whose first is ``key``."""
        if self.pg:
            return f"(SELECT e.value ->> 1 FROM json_array_elements({col} -> '{array}') e WHERE e.value ->> 0 = {key})"
        return (
            f"(SELECT json_extract(j.value, '$[1]') FROM json_each({col}, '$.{array}') j "
            f"WHERE json_extract(j.value, '$[0]') = {key})"
        )

    def split(self, col: str) -> tuple[str, str]:
        if self.pg:
            return f"regexp_replace({col}, '\\|[^|]*$', '')", f"substring({col} from '[^|]*$')"
        head = f"rtrim({col}, replace({col}, '|', ''))"
        return f"substr({col}, 1, length({head}) - 1)", f"substr({col}, length({head}) + 1)"


def cells_sql(sql: ViewSQL, current: str, *, kinds: tuple[str, ...] = (), labels: bool = False) -> str:
    """Cells of the chosen table versions, the column key split, the table's dimensions as text; only the
    tables of ``kinds`` when given; ``labels``: also the column's label (``column_label``) from the layout."""
    key, stat = sql.split("c.column_key")
    dims = {
        "fixed_indicator": ("dims", "fixed", "indicator"),
        "fixed_district": ("dims", "fixed", "district"),
        "estimate_type": ("dims", "fixed", "estimate_type"),
        "district_a": ("dims", "column_districts", "a"),
        "district_b": ("dims", "column_districts", "b"),
    }
    extracted = ", ".join(f"{sql.json_text('t.meta', *path)} AS {name}" for name, path in dims.items())
    label = f", {sql.pair_label('t.meta', 'columns', key)} AS column_label" if labels else ""
    kind = sql.json_text("t.meta", "kind")
    where = f"\n        WHERE {kind} IN (" + ", ".join(f"'{k}'" for k in kinds) + ")" if kinds else ""
    return f"""
        SELECT c.table_id, t.year AS table_year, c.version, t.run_id, t.created_at AS published_at,
               {sql.json_text("t.meta", "kind")} AS kind, c.position, c.row_key, {key} AS column_key,
               {stat} AS stat, c.value, c.text, c.suppressed, {extracted},
               {sql.json_key("t.meta", "column_spanners", key)} AS spanner{label}
        FROM published_cells c
        JOIN ({current}) cur ON cur.table_id = c.table_id AND cur.year = c.year AND cur.version = c.version
        JOIN published_tables t ON t.table_id = c.table_id AND t.year = c.year AND t.version = c.version{where}"""


def stat(name: str, column: str | None = None) -> str:
    cond = f"cl.stat = '{name}'" + (f" AND cl.column_key = '{column}'" if column else "")
    return f"max(CASE WHEN {cond} THEN cl.value END)"


def flag(name: str, column: str | None = None) -> str:
    v = stat(name, column)
    return f"CASE WHEN {v} IS NULL THEN NULL ELSE {v} = 1 END"


def share(column: str | None = None, suffix: str = "") -> str:
    return (
        f"{stat('est', column)} AS estimate{suffix}, {stat('lo', column)} AS ci_low{suffix}, "
        f"{stat('hi', column)} AS ci_high{suffix}, CAST({stat('n', column)} AS INTEGER) AS n{suffix}"
    )


def suppressed(columns: tuple[str, ...] = (), main: str = "est") -> str:
    """A row is suppressed when its main statistic (``main``, in one of ``columns`` when given) is."""
    where = " AND cl.column_key IN (" + ", ".join(f"'{c}'" for c in columns) + ")" if columns else ""
    return f"max(CASE WHEN cl.stat = '{main}'{where} AND cl.suppressed THEN 1 ELSE 0 END) = 1 AS suppressed"


SIGNALS = (
    f"{stat('chg')} AS change, {stat('chg_p')} AS change_p, {flag('chg_sig')} AS change_significant, "
    f"{stat('tot_p')} AS vs_total_p, CAST({stat('tot_sig')} AS INTEGER) AS vs_total"
)


def view_bodies(dialect: str) -> dict[str, str]:
    """``{view name: SELECT ...}`` in the SQL of ``dialect``."""
    sql = ViewSQL(dialect)
    by_year, newest = cells_sql(sql, CURRENT_BY_YEAR), cells_sql(sql, NEWEST_BY_TABLE)
    groups = cells_sql(sql, CURRENT_BY_YEAR, kinds=("domain", "district_domain"))
    answers = cells_sql(sql, CURRENT_BY_YEAR, kinds=("distribution",), labels=True)
    small = cells_sql(sql, CURRENT_BY_YEAR, kinds=("small_area",))
    trends = cells_sql(sql, CURRENT_BY_YEAR, kinds=("district_trend",))
    kind = sql.json_text("t.meta", "kind")
    return {
        "v_published_tables": f"""
            SELECT t.table_id, t.year, t.version, {kind} AS kind, t.title, t.run_id, t.created_at AS published_at
            FROM published_tables t JOIN ({CURRENT_BY_YEAR}) cur
              ON cur.table_id = t.table_id AND cur.year = t.year AND cur.version = t.version""",
        "v_published_cells": f"""
            SELECT cl.table_id, cl.kind, cl.table_year AS year, cl.version, cl.run_id, cl.published_at,
                   cl.position, cl.row_key, cl.column_key, cl.stat, cl.value, cl.text, cl.suppressed
            FROM ({by_year}) cl""",
        "v_published_estimates": f"""
            SELECT CAST(cl.column_key AS INTEGER) AS year, cl.row_key AS district, cl.fixed_indicator AS indicator,
                   {share()}, {suppressed()}, {SIGNALS}, {PROVENANCE}
            FROM ({newest}) cl WHERE cl.kind = 'district'
            GROUP BY {GROUP_PROVENANCE}, cl.row_key, cl.column_key, cl.fixed_indicator""",
        "v_published_groups": f"""
            SELECT cl.table_year AS year, cl.row_key AS district, cl.column_key AS indicator,
                   {share()}, {suppressed()}, {SIGNALS}, {PROVENANCE}
            FROM ({by_year}) cl WHERE cl.kind = 'group'
            GROUP BY {GROUP_PROVENANCE}, cl.row_key, cl.column_key""",
        "v_published_by_group": f"""
            SELECT cl.table_year AS year,
                   CASE WHEN cl.kind = 'domain' THEN cl.fixed_district ELSE cl.row_key END AS district,
                   CASE WHEN cl.kind = 'domain' THEN cl.row_key ELSE cl.fixed_indicator END AS indicator,
                   cl.spanner AS domain, cl.column_key AS "group", {share()}, {suppressed()}, {PROVENANCE}
            FROM ({groups}) cl WHERE cl.kind = 'domain' OR cl.row_key <> '{TOTAL}'
            GROUP BY {GROUP_PROVENANCE}, cl.kind, cl.fixed_district, cl.fixed_indicator, cl.row_key, cl.spanner,
                     cl.column_key""",
        "v_published_comparisons": f"""
            SELECT cl.table_year AS year, cl.row_key AS indicator, cl.district_a, cl.district_b,
                   {share("a", "_a")}, {share("b", "_b")}, {stat("diff", "diff")} AS difference,
                   {stat("lo", "diff")} AS ci_low, {stat("hi", "diff")} AS ci_high, {stat("p", "diff")} AS p_value,
                   {flag("sig", "diff")} AS significant, {suppressed(("a", "b"))}, {PROVENANCE}
            FROM ({by_year}) cl WHERE cl.kind = 'compare'
            GROUP BY {GROUP_PROVENANCE}, cl.row_key, cl.district_a, cl.district_b""",
        "v_published_trend": f"""
            SELECT cl.table_year AS year, cl.row_key AS indicator, {stat("or")} AS odds_ratio,
                   {stat("lo")} AS ci_low, {stat("hi")} AS ci_high, {stat("p")} AS p_value,
                   {flag("sig")} AS significant, {PROVENANCE}
            FROM ({by_year}) cl WHERE cl.kind = 'trend'
            GROUP BY {GROUP_PROVENANCE}, cl.row_key""",
        "v_published_answers": f"""
            SELECT cl.table_year AS year, cl.row_key AS district, cl.fixed_indicator AS item, cl.column_key AS code,
                   max(cl.column_label) AS answer, {share()}, {suppressed()}, {PROVENANCE}
            FROM ({answers}) cl
            GROUP BY {GROUP_PROVENANCE}, cl.row_key, cl.fixed_indicator, cl.column_key""",
        "v_published_small_area": f"""
            SELECT cl.table_year AS year,
                   CASE WHEN cl.row_key LIKE '%{MODEL_SUFFIX}'
                        THEN substr(cl.row_key, 1, length(cl.row_key) - {len(MODEL_SUFFIX)}) ELSE cl.row_key END
                        AS district,
                   cl.column_key AS indicator, {stat("est")} AS model_estimate, {stat("lo")} AS ci_low,
                   {stat("hi")} AS ci_high, {suppressed()}, cl.estimate_type, {PROVENANCE}
            FROM ({small}) cl
            GROUP BY {GROUP_PROVENANCE}, cl.row_key, cl.column_key, cl.estimate_type""",
        "v_published_district_trends": f"""
            SELECT cl.table_year AS year, cl.row_key AS district, cl.column_key AS indicator,
                   {stat("diff")} AS pp_per_year, {stat("lo")} AS ci_low, {stat("hi")} AS ci_high,
                   {stat("p")} AS p_value, {flag("sig")} AS significant, {suppressed(main="diff")}, {PROVENANCE}
            FROM ({trends}) cl
            GROUP BY {GROUP_PROVENANCE}, cl.row_key, cl.column_key""",
    }


def replace_views(execute: Callable[[str], object], dialect: str) -> None:
    """Drop the report views (if there) and create them anew; ``execute`` runs one SQL statement."""
    for name in VIEW_NAMES:
        execute(f"DROP VIEW IF EXISTS {name}")
    for name, body in view_bodies(dialect).items():
        execute(f"CREATE VIEW {name} AS {body}")


def drop_views(execute: Callable[[str], object]) -> None:
    """Drop the report views."""
    for name in VIEW_NAMES:
        execute(f"DROP VIEW IF EXISTS {name}")
