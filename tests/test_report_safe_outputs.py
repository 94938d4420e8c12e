"""Safe outputs (issue 11): no text from the data becomes a formula in the report's CSVs, tabeller.xlsx or
``tables export --format csv|xlsx``; negative numbers stay numbers."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openpyxl import load_workbook

from reports.publish import export_table, publish_report
from reports.safe import TRIGGERS, neutralise
from tests.test_publish import RUN_META, load_estimates, make_codebook, make_comparisons

HOSTILE = {
    "Duvbo": '=HYPERLINK("http://x","klicka")',
    "Hallonbergen": "+1",
    "Rissne": "-2+3",
    "Ursvik": "@SUM(A1)",
    "Älvsjö-Ängby": "\tTab",
}
TEXT_COLUMNS = (
    "table_id",
    "row_key",
    "row_label",
    "column_key",
    "column_label",
    "stat",
    "district",
    "indicator",
    "group",
    "text",
)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    from survey.data.store import Store

    d = tmp_path_factory.mktemp("safe")
    est = load_estimates()
    est["district"] = est["district"].replace(HOSTILE)
    cmp = make_comparisons(est, ((HOSTILE["Duvbo"], "+1"),))
    store = Store(f"sqlite:///{d / 'db.sqlite'}")
    run_id = store.begin_run({}, "test", "trygghet-v1", [])
    res = publish_report(
        est,
        cmp,
        None,
        make_codebook(),
        {**RUN_META, "run_id": run_id},
        d / "report",
        store=store,
        formats=("html", "xlsx", "csv"),
        charts=False,
        compare=[(HOSTILE["Duvbo"], "+1")],
    )
    exported = [
        export_table(store, "district_unsafe_after_dark", 2024, "csv", d / "exp.csv"),
        export_table(store, "district_unsafe_after_dark", 2024, "xlsx", d / "exp.xlsx"),
        export_table(store, "problems", 2024, "xlsx", d / "exp_problems.xlsx"),
    ]
    return res, exported


def test_neutralise_rule():
    assert neutralise('=HYPERLINK("http://x","klicka")') == '\'=HYPERLINK("http://x","klicka")'
    for t in ("+1", "-2+3", "@SUM(A1)", "\tx", "\rx"):
        assert neutralise(t) == "'" + t
    assert neutralise("Rissne") == "Rissne" and neutralise("\u22123,2") == "\u22123,2"
    assert neutralise(-0.5) == -0.5 and neutralise(None) is None


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_csv_text_cells_are_neutralised_and_numbers_stay_numbers(hostile):
    res, exported = hostile
    files = [*res.paths(fmt="csv"), exported[0]]
    assert len(files) >= 6
    negatives = 0
    for f in files:
        rows = _csv_rows(f)
        for r in rows:
            for c in TEXT_COLUMNS:
                assert not r.get(c, "").startswith(TRIGGERS), (f.name, c, r[c])
            if r["value"]:
                v = float(r["value"])  # the value column is a plain number
                negatives += v < 0
                assert not r["value"].startswith("'")
    assert negatives > 0
    rows = _csv_rows(res.out_dir / "tables" / "district_unsafe_after_dark.csv")
    names = {r["row_key"] for r in rows}
    assert {"'" + v for v in HOSTILE.values()} <= names
    assert {r["row_label"] for r in rows} == names


def _xlsx_cells(path: Path):
    wb = load_workbook(path)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.value is not None:
                    yield ws, cell


def test_xlsx_never_holds_a_formula(hostile):
    res, exported = hostile
    books = [res.out_dir / "tabeller.xlsx", exported[1], exported[2]]
    for book in books:
        seen, negatives = set(), 0
        for ws, cell in _xlsx_cells(book):
            assert cell.data_type != "f", (book.name, ws.title, cell.coordinate, cell.value)
            if isinstance(cell.value, str):
                assert cell.data_type == "s" and not cell.value.startswith(TRIGGERS), (ws.title, cell.value)
                seen.add(cell.value)
            elif isinstance(cell.value, (int, float)) and cell.value < 0:
                negatives += 1  # a negative change stays a number
        assert {"'" + v for v in HOSTILE.values()} <= seen, book.name
        assert negatives > 0, book.name
    wb = load_workbook(books[0])
    assert any(str(w["A1"].value).startswith("'=HYPERLINK") for w in wb.worksheets)  # the comparison's title
    cell = next(c for _, c in _xlsx_cells(books[0]) if c.value == "'" + HOSTILE["Duvbo"])
    assert cell.quotePrefix is True
