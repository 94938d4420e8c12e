"""The report's table HTML: :func:`reports.gt.table_html` writes the rows into great-tables' rendering of
the first row (:mod:`reports.gt_body`); the page must be byte for byte what great-tables writes when it
renders every cell itself (:func:`reports.gt.full_html`), for every kind of table, in both languages,
with row groups, escaping and repeated ids; a first row that does not match falls back to great-tables.
Also the shared machinery of the fast publication: a table's lookups follow its cell frame, and the garbage
collector's freezing of the run's heap during a publication is undone after it."""

from __future__ import annotations

import pandas as pd
import pytest

from reports import gt
from reports.gt_body import splice_body
from reports.publish import build_tables
from reports.tabledata import CellBuilder, TableData
from tests.test_publish import SAMPLE, load_estimates, make_codebook, make_comparisons, pipeline_wave


@pytest.fixture(scope="module")
def wave():
    return pipeline_wave(6000, 6, 2, 11)


def _same(tables: list[TableData]) -> None:
    for t in tables:
        assert gt.fast_html(t) == gt.full_html(t), t.table_id


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_every_pipeline_table_as_great_tables_renders_it(wave, lang):
    est, e, _, cb = wave
    districts = sorted(set(est["district"]) - {"Totalt"})
    meta = {"run_id": "r1", "date": "2026-12-01", "lang": lang}
    tables = build_tables(est, e.comparisons, None, cb, meta, compare=[(districts[0], districts[1])])
    kinds = {t.kind for t in tables}
    assert {"district", "group", "domain", "district_domain", "distribution", "compare"} <= kinds
    assert any(t.row_groups for t in tables)  # the comparison table groups its rows
    _same(tables)


def test_sample_wave_tables_with_trend_and_hidden_cells():
    est = load_estimates()
    trend = pd.read_csv(SAMPLE / "expected" / "trend.csv")
    meta = {"run_id": "r1", "date": "2026-11-20"}
    tables = build_tables(est, make_comparisons(est), trend, make_codebook(), meta, compare=[("Rissne", "Totalt")])
    assert "trend" in {t.kind for t in tables}
    html = {t.table_id: gt.table_html(t) for t in tables}
    assert '<span class="v sup">..</span>' in html["district_unsafe_after_dark"]  # Ursvik 2022: n = 25
    _same(tables)


def _table(rows, groups, columns, label="Område") -> TableData:
    cb = CellBuilder()
    for rk, _ in rows:
        for ck, _ in columns:
            cb.add(rk, ck, {"est": 0.274, "lo": 0.25, "hi": 0.3, "n": 1843.0}, rk == "hid")
    return TableData(
        table_id='odd<id> & "x"',
        year=2024,
        title="Titel <b>&</b>",
        subtitle="",
        kind="district",
        rows=rows,
        columns=columns,
        stats=["est", "lo", "hi", "n"],
        dims={"row": "district", "column": "year", "fixed": {"indicator": "x"}},
        cells=cb.frame(),
        stub_label=label,
        row_groups=groups,
        column_spanners={ck: "År" for ck, _ in columns[:2]},
        footnotes=["Not <i>1</i>"],
        source_note="Källa: test",
    )


def test_escaping_group_order_and_repeated_ids():
    rows = [("a", 'Område <A> & "B"'), ("hid", "stub-2"), ("c", "Grupp"), ("d", "d"), ("e", "")]
    # groups out of order (great-tables sorts them), an empty group, a group named like an id already used
    groups = {"a": "Öster", "hid": "", "c": "Väster", "d": "Öster", "e": "År"}
    cols = [("stub-2", "stub-2"), ("2024", "2024"), ("Område", "Område")]
    t = _table(rows, groups, cols, label="Område")
    fast = gt.fast_html(t)
    assert fast == gt.full_html(t)
    assert fast.count("gt_group_heading_row") == 3 and "gt_empty_group_heading" in fast
    assert "Område &lt;A&gt; &amp; &quot;B&quot;" in fast
    _same([_table(rows, {}, cols), _table(rows[:1], {}, cols[:1]), _table(rows[:1], {"a": "G"}, cols)])


def test_first_row_mismatch_falls_back_to_great_tables():
    t = _table([("a", "A"), ("b", "B")], {}, [("2024", "2024")])
    cells = gt.display_cells(t)
    frame = gt.display_frame(t, cells, rows=1)
    skeleton = gt.to_gt(t, frame).as_raw_html()
    args = (gt.css_id(t.table_id), ["A", "B"], None, ["2024"], cells)
    assert splice_body(skeleton, *args) is not None
    assert splice_body(skeleton.replace('class="gt_row gt_right"', 'class="gt_row gt_center"'), *args) is None
    assert splice_body(skeleton.replace("<tbody", "<tbodyx"), *args) is None


def test_render_once_reuses_the_rendering_within_the_block():
    t = _table([("a", "A")], {}, [("2024", "2024")])
    with gt.render_once():
        first = gt.table_html(t)
        t.title = "Ändrad"  # inside the block a table is rendered once
        assert gt.table_html(t) is first
    assert "Ändrad" in gt.table_html(t)


def test_lookups_follow_the_cell_frame():
    t = _table([("a", "A")], {}, [("2024", "2024")])
    assert t.index()[("a", "2024", "est")][0] == pytest.approx(0.274)
    assert t.index() is t.index() and t.column_stats() == {"2024": {"est", "lo", "hi", "n"}}
    other = _table([("a", "A")], {}, [("2025", "2025")])
    t.cells = other.cells  # another frame: the lookups are built again
    assert ("a", "2025", "est") in t.index() and set(t.column_stats()) == {"2025"}


HEAP_FROZEN_CHECK = """
import gc
from survey.heap import freeze_heap, heap_frozen

before = gc.get_freeze_count()
seen = []

@heap_frozen
def inner():
    seen.append(gc.get_freeze_count())

@heap_frozen
def outer():
    n = gc.get_freeze_count()
    made = [[i] for i in range(1000)]  # objects made after this freeze, frozen by the inner one
    inner()
    assert seen[0] >= n + 1000 and gc.get_freeze_count() >= n + 1000, (n, seen)  # the thaw left to this one
    return len(made)

assert before == 0
assert outer() == 1000
assert gc.get_freeze_count() == 0
thaw = freeze_heap()
assert gc.get_freeze_count() > 0
thaw()
assert gc.get_freeze_count() == 0
gc.disable()
thaw = freeze_heap()  # a disabled collector is left alone
assert gc.get_freeze_count() == 0
thaw()
print("ok")
"""


def test_heap_frozen_during_a_publication_and_undone_after():
    """In a process of its own: the freeze count is the process's, and a test worker may have threads of
    earlier tests (a flow's task runner) publishing beside this one."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", HEAP_FROZEN_CHECK], capture_output=True, text=True, timeout=300)
    assert (done.returncode, done.stdout.strip()) == (0, "ok"), done.stderr
