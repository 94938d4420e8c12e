"""Signals that agree with the numbers (issue 12): one rule — a marker exactly when the printed, adjusted
p-value is below alpha — read back from the CSV, XLSX, HTML and terminal outputs of a published synthetic wave;
changes in procentenheter with direction; above/below Totalt; ``compare A Totalt``; names and years."""

from __future__ import annotations

import csv
import json
import re
from html.parser import HTMLParser

import pandas as pd
import pytest
from openpyxl import load_workbook

from reports.exports import parse_years
from reports.formats import ABOVE_MARK, BELOW_MARK, MINUS, parse_swedish, swedish_p
from reports.publish import PublishError, compare_command, compare_districts, publish_report
from tests.test_publish import pipeline_wave

ALPHA = 0.05


@pytest.fixture(scope="module")
def wave(tmp_path_factory):
    """A synthetic wave through the pipeline's weighting and estimation (comparisons with BH-adjusted p)."""
    est, e, _, cb = pipeline_wave(9000, 6, 3, 5)
    d = tmp_path_factory.mktemp("signals")
    res = publish_report(
        est,
        e.comparisons,
        None,
        cb,
        {"run_id": "sig", "alpha": ALPHA, "adjust": "fdr_bh"},
        d / "report",
        formats=("html", "xlsx", "csv"),
        charts=False,
        compare=[("Duvbo", "Hallonbergen"), ("Duvbo", "Totalt")],
    )
    run_dir = d / "run"
    run_dir.mkdir()
    e.estimates.to_csv(run_dir / "estimates_full.csv", index=False)
    e.estimates.to_csv(run_dir / "estimates.csv", index=False)
    e.comparisons.to_csv(run_dir / "comparisons.csv", index=False)
    (run_dir / "run.json").write_text(
        json.dumps({"run_id": "sig", "parameters": {"config": {"alpha": ALPHA, "adjust": "fdr_bh"}}}), encoding="utf-8"
    )
    return res, e.comparisons, run_dir


def _below(text: str) -> bool:
    return parse_swedish(text) < ALPHA


def test_csv_marker_iff_printed_p(wave):
    res, comparisons, _ = wave
    checked = {"chg": 0, "tot": 0, "sig": 0}
    differs = 0
    for f in res.paths(fmt="csv"):
        cells: dict[tuple[str, str], dict[str, dict[str, str]]] = {}
        with open(f, encoding="utf-8", newline="") as fh:
            for r in csv.DictReader(fh):
                cells.setdefault((r["row_key"], r["column_key"]), {})[r["stat"]] = r
        for (rk, ck), c in cells.items():
            for mark, p, kind in (("chg_sig", "chg_p", "chg"), ("tot_sig", "tot_p", "tot"), ("sig", "p", "sig")):
                if mark not in c or c[mark]["suppressed"] == "true" or c[p]["text"] in (".", ".."):
                    continue
                assert bool(c[mark]["text"]) == _below(c[p]["text"]), (f.name, rk, ck, c[mark], c[p])
                checked[kind] += 1
            if (
                f.stem.startswith("district_")
                and "tot_sig" in c
                and c["tot_sig"]["text"]
                and c["tot_sig"]["suppressed"] == "false"
            ):
                row = comparisons[
                    (comparisons.comparison == "vs_totalt")
                    & (comparisons.district == rk)
                    & (comparisons.year == int(ck))
                    & (comparisons.indicator == f.stem[9:])
                ]
                if len(row):  # ▲ above, ▼ below Totalt: the sign of the difference
                    assert c["tot_sig"]["text"] == (ABOVE_MARK if row.iloc[0].difference > 0 else BELOW_MARK)
            if "chg_p" in c and c["chg_p"]["suppressed"] == "false" and f.stem.startswith("district_"):
                row = comparisons[
                    (comparisons.comparison == "previous_year")
                    & (comparisons.district == rk)
                    & (comparisons.year == int(ck))
                    & (comparisons.indicator == f.stem[9:])
                ].iloc[0]
                assert c["chg_p"]["text"] == swedish_p(row.p_adjusted, alpha=ALPHA)  # the adjusted p
                differs += swedish_p(row.p_value, alpha=ALPHA) != c["chg_p"]["text"]
                chg = c["chg"]["text"].removeprefix("'")  # "+1,3" is neutralised in CSV as "'+1,3"
                assert chg[0] in "+" + MINUS or chg == "0,0"  # the direction of the change
    assert min(checked.values()) > 5 and differs > 10, (checked, differs)


def test_xlsx_marker_iff_printed_p(wave):
    res, _, _ = wave
    wb = load_workbook(res.out_dir / "tabeller.xlsx")
    pairs = {
        "Sign. förändring": "Justerat p (förändring)",
        "Mot Totalt": "Justerat p (mot Totalt)",
        "Sign.": "Justerat p",
    }
    checked = 0
    for ws in wb.worksheets:
        head = [ws.cell(5, c).value for c in range(1, ws.max_column + 1)]
        for j, label in enumerate(head, start=1):
            if label not in pairs:
                continue
            assert head[j - 2] == pairs[label], (ws.title, head)
            for r in range(6, ws.max_row + 1):
                p, mark = ws.cell(r, j - 1).value, ws.cell(r, j).value
                if not isinstance(p, (int, float)):
                    continue
                assert bool(mark) == (p < ALPHA), (ws.title, r, j, p, mark)
                checked += 1
    assert checked > 100


class _Cells(HTMLParser):
    """Display cells of the report's tables: each a list of spans ``[class, text, mark]`` (the first is the
    main value)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.cells: list[dict] = []
        self.stack: list[str] = []
        self.cell_depth: int | None = None

    def handle_starttag(self, tag, attrs):
        cls = dict(attrs).get("class") or ""
        if tag == "div" and cls == "cell":
            self.cells.append({"lines": []})
            self.cell_depth = len(self.stack)
        elif tag == "span" and self.cell_depth is not None and cls != "mk":
            self.cells[-1]["lines"].append([cls, "", ""])
        self.stack.append(cls)

    def handle_endtag(self, tag):
        if self.stack:
            self.stack.pop()
        if self.cell_depth is not None and len(self.stack) <= self.cell_depth:
            self.cell_depth = None

    def handle_data(self, data):
        if self.cell_depth is None or not self.cells[-1]["lines"]:
            return
        line = self.cells[-1]["lines"][-1]
        line[2 if self.stack[-1] == "mk" else 1] += data


def test_html_marker_iff_printed_p(wave):
    res, _, _ = wave
    counts = {"chg": 0, "tot": 0, "sig": 0}
    for f in res.paths(fmt="html"):
        if f.name == "index.html":
            continue
        parser = _Cells()
        parser.feed(f.read_text(encoding="utf-8"))
        for cell in parser.cells:
            lines = cell["lines"]
            main = lines[0]
            for k, (cls, text, mark) in enumerate(lines):
                if cls == "chg":
                    p = lines[k + 1][1]
                    assert p.startswith("just.\u00a0p")
                    assert (mark == "*") == _below(p.split("p", 1)[1].lstrip("\u00a0= ")), (f.name, lines)
                    counts["chg"] += 1
                if text.startswith("jfr\u00a0Totalt"):
                    assert bool(set(main[2]) & {ABOVE_MARK, BELOW_MARK}) == _below(
                        text.rsplit("p", 1)[1].lstrip("\u00a0= ")
                    ), (f.name, lines)
                    counts["tot"] += 1
                if text.startswith("just.\u00a0p") and (k == 0 or lines[k - 1][0] != "chg"):
                    assert ("*" in main[2]) == _below(text.split("p", 1)[1].lstrip("\u00a0= ")), (f.name, lines)
                    counts["sig"] += 1
    assert min(counts.values()) > 5, counts


def test_legend_and_method_state_the_rule(wave):
    res, _, _ = wave
    page = res.index.read_text(encoding="utf-8")
    assert "justerat p (Benjamini–Hochberg) &lt; 0,05" in page
    assert (
        "Benjamini–Hochbergs metod inom varje familj" in page and "det p-värde som skrivs ut är det justerade" in page
    )
    table = (res.out_dir / "tables" / "district_unsafe_after_dark.html").read_text(encoding="utf-8")
    assert "justerat p (Benjamini–Hochberg) &lt; 0,05" in table


def _terminal_rows(out: str) -> list[list[str]]:
    """The last column of each body row of the printed Rich tables, one string per line of the cell."""
    blocks, current = [], None
    for line in out.splitlines():
        if line.startswith(("┡", "├")):
            current = []
            blocks.append(current)
        elif line.startswith("│") and current is not None:
            current.append(line.strip("│").split("│")[-1].strip())
        elif line.startswith("└"):
            current = None
    return [b for b in blocks if b]


def test_compare_with_totalt_in_the_terminal(wave, capsys):
    _, comparisons, run_dir = wave
    hidden = compare_command("Rissne", "Totalt", None, None, str(run_dir))  # Rissne: secondary suppression
    assert hidden["hidden_a"].all() and hidden["difference"].isna().all() and hidden["estimate_a"].isna().all()
    capsys.readouterr()
    cmp = compare_command("duvbo", "TOTALT", None, ["2023", "2024"], str(run_dir))
    assert set(cmp["district_a"]) == {"Duvbo"} and set(cmp["district_b"]) == {"Totalt"}
    assert sorted(set(cmp["year"])) == [2023, 2024] and cmp["difference"].notna().all()
    ref = comparisons[
        (comparisons.comparison == "vs_totalt")
        & (comparisons.district == "Duvbo")
        & comparisons.year.isin([2023, 2024])
    ]
    m = cmp.merge(ref, on=["year", "indicator"], suffixes=("", "_ref"))
    assert len(m) == len(cmp) and (m["difference"] - m["difference_ref"]).abs().max() < 1e-12
    out = capsys.readouterr().out
    rows = _terminal_rows(out)
    assert len(rows) == len(cmp)
    for lines in rows:
        p = next(x for x in lines if x.startswith("just."))
        assert lines[0] != "." and re.match(r"^[+\u2212]?\d", lines[0])
        assert lines[0].endswith("*") == _below(p.split("p", 1)[1].lstrip("\u00a0= ")), lines


def test_names_case_insensitive_with_suggestions_and_years(wave):
    res, comparisons, run_dir = wave
    with pytest.raises(PublishError, match="Menade du ”Rissne”"):
        compare_command("Risne", "Totalt", None, None, str(run_dir))
    with pytest.raises(PublishError, match="Menade du ”unsafe_after_dark”"):
        compare_command("Duvbo", "Totalt", ["unsafe_aftr_dark"], None, str(run_dir))
    assert parse_years(["2024", "2025"]) == [2024, 2025] and parse_years(["2023-2025"]) == [2023, 2024, 2025]
    assert parse_years([2024, "2025,2026"]) == [2024, 2025, 2026] and parse_years(None) is None
    with pytest.raises(PublishError, match="--years"):
        parse_years(["förra året"])
    with pytest.raises(PublishError, match="finns inte"):
        compare_command("Duvbo", "Totalt", None, [1999], str(run_dir))


def test_compare_district_pair_uses_adjusted_p(wave):
    _, comparisons, run_dir = wave
    est = pd.read_csv(run_dir / "estimates_full.csv")
    c = compare_districts(est, comparisons, "Hallonbergen", "Duvbo")
    ref = comparisons[
        (comparisons.comparison == "vs_district")
        & (comparisons.district == "Hallonbergen")
        & (comparisons.other == "Duvbo")
    ]
    if ref.empty:  # stored the other way round: the difference is negated
        ref = comparisons[
            (comparisons.comparison == "vs_district")
            & (comparisons.district == "Duvbo")
            & (comparisons.other == "Hallonbergen")
        ].assign(difference=lambda x: -x.difference)
    m = c.merge(ref, on=["year", "indicator"], suffixes=("", "_ref"))
    assert len(m) == len(c) and (m["difference"] - m["difference_ref"]).abs().max() < 1e-12
    assert (m["significant"] == (m["p_adjusted_ref"] < ALPHA)).all() and m["difference"].notna().all()


def test_the_vectorised_marker_rule_is_the_rule():
    """``significant_array`` (the comparison page's columns) marks exactly what ``significant`` marks: below
    alpha, not at it, never a missing p."""
    import numpy as np

    from reports.signals import SignalRule

    rule = SignalRule(alpha=0.05)
    p = np.array([0.0496, 0.05, 0.0501, np.nan, 0.0, 1e-12])
    assert rule.significant_array(p).tolist() == [True, False, False, False, True, True]
    assert rule.significant_array(p).tolist() == [rule.significant(x) for x in p.tolist()]
