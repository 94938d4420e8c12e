"""A store holding 20 waves and 20 runs answers every query of a run on the newest wave from an index (issue
11, load): the plans of the store's own statements (``survey.data.store.plans.hot_queries``) name the index
and read no table in full. Plans, not timings: on SQLite ``EXPLAIN QUERY PLAN``, on PostgreSQL ``EXPLAIN``
after ``ANALYZE`` with sequential scans disabled (so a missing index shows as a ``Seq Scan``)."""

# ruff: noqa: F811  (the pytest fixtures db_url and store come from tests.store_support)
from __future__ import annotations

import pandas as pd

from survey.data.store import Store
from survey.data.store.plans import hot_queries, query_plan, uses_index
from tests.store_support import db_url, make_wave, run_frames, store  # noqa: F401

WAVES = 20


def _fill(store: Store) -> tuple[int, int, str]:
    """20 one-year waves, one run each with outputs and a published table; (newest source, year, run)."""
    for k in range(WAVES):
        year = 2000 + k
        report = store.load_wave(make_wave([year], n=40, seed=k, tag=f"w{k}"))
        run_id = store.begin_run({}, "test", "1.0", report.source_ids, years=[year])
        frames = run_frames(store.responses([year]))
        frames["estimates"] = frames["estimates"].assign(year=year)
        store.save_run_outputs(run_id, **frames, lineage={})
        cells = pd.DataFrame({"row_key": ["Rissne"], "column_key": [f"{year}|est"], "value": [0.5]})
        store.publish_table("district_x", year, run_id, cells, "x", {"kind": "district"})
    with store.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    return report.responses_source_id, year, run_id


def test_every_hot_query_of_the_newest_wave_uses_an_index(store: Store) -> None:
    source_id, year, run_id = _fill(store)
    assert len(store.sources()) == 2 * WAVES and len(store.runs()) == WAVES
    problems = {}
    for name, q in hot_queries(source_id, year, run_id).items():
        with store.engine.connect() as conn:
            plan = query_plan(conn, q.statement)
        if not uses_index(plan, q, store.dialect):
            problems[name] = plan
    assert problems == {}


def test_a_missing_index_is_detected(store: Store) -> None:
    """The check is not vacuous: without its index, the free-text query scans the table."""
    source_id, year, run_id = _fill(store)
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_free_text_source_file_id")
    q = hot_queries(source_id, year, run_id)["free text"]
    with store.engine.connect() as conn:
        plan = query_plan(conn, q.statement)
    assert not uses_index(plan, q, store.dialect)
