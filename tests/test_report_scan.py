"""The disclosure scanner (reports/scan.py) is precise: nothing on a clean ``make demo``-style run, while a
hidden cell's value planted into any published format is found.

The hidden cells are those of reports.disclosure.protect (primary and secondary suppression; the suppression
rule itself is tested against the differencing attack in tests/test_report_disclosure.py and
tests/test_report_backsolve.py). Planted values are the hidden share *rounded to display precision* (the
hardest case: what a careless builder would print instead of ``..``), except where said.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from reports.disclosure import protect
from reports.publish import export_table, scan_disclosure
from tests.demo_run import TINY, demo_run

INDICATOR = "unsafe_after_dark"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return demo_run(tmp_path_factory)


@pytest.fixture(scope="module")
def prot(demo):
    return protect(demo.estimates, 30)


def _scan(demo, path: Path, **kw):
    return scan_disclosure(path, demo.estimates, min_n=30, comparisons=demo.comparisons, **kw)


def _pct(v: float) -> str:
    return f"{round(v * 100, 1):.1f}".replace(".", ",")


def _cell(prot: pd.DataFrame, year: int, district: str, indicator: str, group: str | None = None) -> pd.Series:
    sel = (prot["year"] == year) & (prot["district"] == district) & (prot["indicator"] == indicator)
    sel &= prot["group"].isna() if group is None else (prot["group"].astype(str) == group)
    return prot[sel].iloc[0]


# ------------------------------------------------------------------------------------------ clean run
def test_clean_demo_run_has_no_findings(demo):
    """Every artefact of the run (HTML pages and tables, XLSX, both CSV dialects, PX, JSON-stat, SVG/PNG, the
    comparison page) and the published-table store: no respondent id, no comment, no hidden value."""
    from survey.data.store import Store

    files = [f for f in demo.report.rglob("*") if f.is_file()]
    kinds = pd.Series([f.name.split(".", 1)[1] for f in files]).value_counts()
    assert kinds["csv"] >= 100 and kinds["px"] >= 40 and kinds["jsonstat.json"] >= 40 and kinds["html"] >= 40
    assert kinds["xlsx"] == 1
    comments = demo.responses["comment"]
    assert (comments.str.len() > 20).sum() > 100  # the wave has free text to look for
    found = scan_disclosure(
        demo.report,
        demo.estimates,
        min_n=30,
        respondent_ids=demo.responses["resp_id"],
        free_text=comments,
        comparisons=demo.comparisons,
        store=Store(demo.db_url),
    )
    assert found == [], "\n".join(map(str, found[:20]))


# ------------------------------------------------------------------------------------------ by key
def _frame() -> pd.DataFrame:
    """Three districts over three years; C is tiny in 2025 (primary), A is its partner (secondary)."""
    rows = []
    share = {"A": 0.40, "B": 0.30, "C": 0.5123456789, "Totalt": 0.35}
    size = {"A": 1000, "B": 2000, "C": 100, "Totalt": 3100}
    for y in (2024, 2025, 2026):
        for d in ("A", "B", "C", "Totalt"):
            n = 10 if (d == "C" and y == 2025) else 300
            p = share[d] + (y - 2024) / 1000
            rows.append(
                {
                    "year": y,
                    "district": d,
                    "indicator": "x",
                    "estimate": p,
                    "se": 0.02,
                    "ci_low": p - 0.04,
                    "ci_high": p + 0.04,
                    "n": n,
                    "suppressed": n < 30,
                    "weighted_base": size[d],
                }
            )
    return pd.DataFrame(rows)


def _tidy(path: Path, rows: list[tuple]) -> Path:
    header = ["table_id", "row_key", "column_key", "stat", "year", "district", "indicator", "group", "value"]
    header += ["text", "suppressed"]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for stat, year, district, value in rows:
            w.writerow(["t", district, year, stat, year, district, "x", "", value, "", "false"])
    return path


def test_long_csv_is_checked_by_key_not_by_coincidence(tmp_path):
    """A published number equal to a hidden share is no finding under another key (a change of +51,3 pe or
    district B showing 51,3 %); the hidden key's own cells, a change from a hidden year, a comparison with a
    hidden Totalt partner and a difference with a hidden district are."""
    est = _frame()
    prot = protect(est, 30).set_index(["year", "district"])
    assert prot.loc[(2025, "C"), "suppressed_reason"] == "primary"
    assert prot.loc[(2025, "A"), "suppressed_reason"] == "secondary"
    hidden = round(float(prot.loc[(2025, "C"), "estimate"]), 3)  # 0.514
    clean = _tidy(
        tmp_path / "clean.csv",
        [("est", 2025, "B", hidden), ("chg", 2025, "B", hidden), ("tot_p", 2026, "B", hidden), ("n", 2025, "B", 10)],
    )
    assert scan_disclosure(clean, est) == []
    cases = {  # planted row -> (kinds, the hidden cell named)
        ("est", 2025, "C", hidden): ({"suppressed_with_value", "hidden_value"}, "C 2025 (primary)"),  # itself
        ("n", 2025, "C", 10): ({"suppressed_with_value", "hidden_value"}, "C 2025 (primary)"),  # its count
        ("lo", 2025, "C", 0.1): ({"suppressed_with_value"}, "C 2025 (primary)"),  # any value of it
        ("est", 2025, "A", 0.3): ({"suppressed_with_value"}, "A 2025 (secondary)"),  # the secondary partner
        ("chg", 2026, "C", 0.001): ({"suppressed_with_value"}, "C 2025 (primary)"),  # change from hidden 2025
        ("chg_p", 2026, "A", 0.5): ({"suppressed_with_value"}, "A 2025 (secondary)"),
        ("diff", 2025, "B \u2013 C", 0.2): ({"suppressed_with_value"}, "C 2025 (primary)"),  # difference with C
    }
    for row, (kinds, who) in cases.items():
        found = scan_disclosure(_tidy(tmp_path / "leak.csv", [row]), est)
        assert {f.kind for f in found} == kinds, (row, found)
        assert any(who in f.detail for f in found), (row, found)


# ------------------------------------------------------------------------------------------ planted leaks
def _copy(demo, tmp_path: Path, rel: str) -> Path:
    dst = tmp_path / Path(rel).name
    shutil.copy(demo.report / rel, dst)
    return dst


def _edit_long_csv(path: Path, match: dict[str, str], value: float, excel: bool = False) -> None:
    """Write ``value`` (a share, rounded to display precision) into the hidden cell ``match`` of a long CSV."""
    text = path.read_text(encoding="utf-8-sig" if excel else "utf-8")
    sep = ";" if excel else ","
    rows = list(csv.reader(io.StringIO(text), delimiter=sep))
    head = rows[0]
    hits = [r for r in rows[1:] if all(r[head.index(k)] == v for k, v in match.items())]
    assert len(hits) == 1, (match, len(hits))
    r = hits[0]
    assert r[head.index("suppressed")] == "true" and r[head.index("value")] == ""
    r[head.index("value")] = repr(value).replace(".", ",") if excel else repr(value)
    r[head.index("text")] = _pct(value) + "\u00a0%"
    r[head.index("suppressed")] = "false"  # the builder forgot the cell is hidden
    buf = io.StringIO()
    csv.writer(buf, delimiter=sep, lineterminator="\r\n" if excel else "\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8-sig" if excel else "utf-8")


def _assert_found(found, kinds: set[str], who: str) -> None:
    assert kinds <= {f.kind for f in found}, found
    assert all(who in f.detail for f in found if f.kind in kinds), found


def test_planted_in_long_csv_both_dialects(demo, prot, tmp_path):
    y = demo.latest
    tiny = _cell(prot, y, TINY, INDICATOR)
    assert tiny["suppressed_reason"] == "primary"
    match = {"district": TINY, "year": str(y), "stat": "est"}
    rel = f"tables/district_{INDICATOR}.csv"
    assert _scan(demo, demo.report / rel) == []
    f = _copy(demo, tmp_path, rel)
    _edit_long_csv(f, match, round(float(tiny["estimate"]), 3))
    _assert_found(_scan(demo, f), {"suppressed_with_value", "hidden_value"}, TINY)
    g = _copy(demo, tmp_path, f"tables/district_{INDICATOR}_excel.csv")
    assert _scan(demo, g) == []
    _edit_long_csv(g, match, round(float(tiny["estimate"]), 3), excel=True)
    _assert_found(_scan(demo, g), {"suppressed_with_value", "hidden_value"}, TINY)


def test_planted_secondary_group_and_answer_cells_in_csv(demo, prot, tmp_path):
    """A secondary-suppressed district, a hidden sex/age cell and a hidden answer-code cell: each found."""
    y = demo.latest
    sec = prot[(prot["domain"] == "district") & (prot["suppressed_reason"] == "secondary") & (prot["year"] == y)]
    s = sec[sec["indicator"] == INDICATOR].iloc[0]
    f = _copy(demo, tmp_path, f"tables/district_{INDICATOR}.csv")
    _edit_long_csv(f, {"district": s["district"], "year": str(y), "stat": "est"}, round(float(s["estimate"]), 3))
    _assert_found(_scan(demo, f), {"suppressed_with_value", "hidden_value"}, str(s["district"]))

    groups = prot[(prot["domain"] == "age_group") & prot["hidden"] & (prot["year"] == y)]
    grp = groups[(groups["indicator"] == INDICATOR) & (groups["district"] != TINY)].iloc[0]
    f = _copy(demo, tmp_path, f"tables/groups_{INDICATOR}.csv")
    match = {"district": grp["district"], "group": str(grp["group"]), "stat": "est"}
    _edit_long_csv(f, match, round(float(grp["estimate"]), 3))
    _assert_found(
        _scan(demo, f), {"suppressed_with_value", "hidden_value"}, f"{grp['district']}, {INDICATOR}, {grp['group']}"
    )

    answers = prot[(prot["domain"] == "answer") & prot["hidden"] & (prot["year"] == y)]
    ans = answers[answers["indicator"] == "q_safe_after_dark"].iloc[0]
    f = _copy(demo, tmp_path, "tables/answers_q_safe_after_dark.csv")
    match = {"district": ans["district"], "group": str(ans["group"]), "stat": "est"}
    _edit_long_csv(f, match, round(float(ans["estimate"]), 3))
    _assert_found(
        _scan(demo, f),
        {"suppressed_with_value", "hidden_value"},
        f"{ans['district']}, q_safe_after_dark, {ans['group']}",
    )


def test_planted_in_html_table_and_text(demo, prot, tmp_path):
    y = demo.latest
    tiny = _cell(prot, y, TINY, INDICATOR)
    rel = f"tables/district_{INDICATOR}.html"
    assert _scan(demo, demo.report / rel) == []
    f = _copy(demo, tmp_path, rel)
    s = f.read_text(encoding="utf-8")
    start = s.index(f">{TINY}</th>")
    end = s.index("</tr>", start)
    row = s[start:end]
    k = row.rindex('<span class="v sup">..</span>')  # the latest year's cell
    row = row[:k] + f'<span class="v">{_pct(tiny["estimate"])}\u00a0%</span>' + row[k + 29 :]
    f.write_text(s[:start] + row + s[end:], encoding="utf-8")
    _assert_found(_scan(demo, f), {"hidden_value"}, f"{TINY} {y} {INDICATOR}")
    # free text: a hidden share at more than display precision is found; a ratio-shaped number is not
    small = prot[prot["hidden"] & prot["estimate"].between(0.011, 0.099)].iloc[0]["estimate"]
    g = _copy(demo, tmp_path, "index.html")
    text = g.read_text(encoding="utf-8")
    g.write_text(
        text.replace("</main>", f"<p>Oddskvot {small * 100:.3f}</p></main>".replace(".", ",")), encoding="utf-8"
    )
    assert _scan(demo, g) == []  # 1,064 is how an odds ratio is printed: no per cent
    g.write_text(
        text.replace("</main>", f"<p>Andel {tiny['estimate'] * 100:.2f}\u00a0%</p></main>".replace(".", ",")),
        encoding="utf-8",
    )
    assert {x.kind for x in _scan(demo, g)} == {"hidden_value"}


def test_planted_in_xlsx(demo, prot, tmp_path):
    y = demo.latest
    tiny = _cell(prot, y, TINY, INDICATOR)
    f = _copy(demo, tmp_path, "tabeller.xlsx")
    wb = load_workbook(f)
    ws = wb.worksheets[0]
    assert str(ws["A1"].value).startswith("Andel otrygga")  # the district table of the indicator
    head = next(r for r in range(1, 10) if ws.cell(r, 1).value == "Område")
    col = next(c for c in range(2, ws.max_column + 1) if str(ws.cell(head, c).value) == str(y))  # its share column
    row = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == TINY)
    assert ws.cell(row, col).value == ".."
    ws.cell(row, col).value = round(float(tiny["estimate"]), 3)
    ws.cell(row, col).number_format = '0.0" "%'
    wb.save(f)
    _assert_found(_scan(demo, f), {"hidden_value"}, f"{TINY} {y}")


def _px_set(path: Path, coords: dict[str, str], value: str) -> None:
    """Replace the DATA entry at ``coords`` (variable label -> value label) of a PX file."""
    text = path.read_text(encoding="utf-8")
    names = re.findall(r'"([^"]*)"', re.search(r"^STUB=(.*);$", text, re.M).group(1))
    names += re.findall(r'"([^"]*)"', re.search(r"^HEADING=(.*);$", text, re.M).group(1))
    values = {
        n: re.findall(r'"([^"]*)"', re.search(rf'^VALUES\("{re.escape(n)}"\)=(.*?);$', text, re.M | re.S).group(1))
        for n in names
    }
    pos = 0
    for n in names:
        pos = pos * len(values[n]) + values[n].index(coords[n])
    head, data = text.split("DATA=\n", 1)
    tokens = data.rstrip().rstrip(";").split()
    assert tokens[pos] == '".."', tokens[pos]
    tokens[pos] = value
    path.write_text(head + "DATA=\n" + " ".join(tokens) + ";\n", encoding="utf-8")


def test_planted_in_px_and_jsonstat(demo, prot, tmp_path):
    y = demo.latest
    tiny = _cell(prot, y, TINY, INDICATOR)
    shown = f"{round(float(tiny['estimate']) * 100, 1):.1f}"  # cubes are in procent
    rel = f"tables/district_{INDICATOR}.px"
    assert _scan(demo, demo.report / rel) == []
    f = _copy(demo, tmp_path, rel)
    _px_set(f, {"Område": TINY, "År": str(y), "Uppgift": "Andel"}, shown)
    _assert_found(_scan(demo, f), {"suppressed_with_value", "hidden_value"}, TINY)

    rel = f"tables/district_{INDICATOR}.jsonstat.json"
    assert _scan(demo, demo.report / rel) == []
    f = _copy(demo, tmp_path, rel)
    js = json.loads(f.read_text(encoding="utf-8"))
    pos = 0
    for dim, size in zip(js["id"], js["size"]):
        index = js["dimension"][dim]["category"]["index"]
        index = index if isinstance(index, list) else sorted(index, key=index.get)
        pos = pos * size + index.index({"district": TINY, "year": str(y), "stat": "est"}[dim])
    assert js["value"][pos] is None
    js["value"][pos] = float(shown)
    if isinstance(js.get("status"), dict):
        js["status"].pop(str(pos), None)
    else:
        js["status"][pos] = None
    f.write_text(json.dumps(js, ensure_ascii=False), encoding="utf-8")
    _assert_found(_scan(demo, f), {"suppressed_with_value", "hidden_value"}, TINY)


def test_planted_in_table_json_export_and_comparison_page(demo, prot, tmp_path):
    from survey.data.store import Store

    y = demo.latest
    tiny = _cell(prot, y, TINY, INDICATOR)
    f = export_table(Store(demo.db_url), f"district_{INDICATOR}", y, "json", tmp_path / "t.json")
    assert _scan(demo, f) == []
    obj = json.loads(f.read_text(encoding="utf-8"))
    cell = next(c for c in obj["cells"] if c["row_key"] == TINY and c["column_key"] == f"{y}|est")
    cell.update(value=round(float(tiny["estimate"]), 3), text=_pct(tiny["estimate"]) + " %", suppressed=False)
    f.write_text(json.dumps(obj, ensure_ascii=False), encoding="utf-8")
    _assert_found(_scan(demo, f), {"suppressed_with_value", "hidden_value"}, TINY)

    g = _copy(demo, tmp_path, "jamfor.html")
    assert _scan(demo, g) == []
    page = g.read_text(encoding="utf-8")
    m = re.search(r'(<script type="application/json" id="data">)(.*?)(</script>)', page, re.S)
    data = json.loads(m.group(2))
    assert TINY not in data["estimates"][INDICATOR]  # absent from the page's data
    v = round(float(tiny["estimate"]), 3)
    data["estimates"][INDICATOR][TINY] = {str(y): [v, _pct(v) + "\u00a0%", None, None, ".", 20]}
    blob = json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")
    g.write_text(page[: m.start(2)] + blob + page[m.end(2) :], encoding="utf-8")
    _assert_found(_scan(demo, g), {"suppressed_with_value"}, TINY)


def test_planted_model_estimate_equal_to_the_hidden_direct(demo, prot, tmp_path):
    """A Fay–Herriot row showing the hidden direct estimate instead of the model estimate is found."""
    rel = "tables/small_area.csv"
    assert _scan(demo, demo.report / rel) == []
    f = _copy(demo, tmp_path, rel)
    rows = list(csv.DictReader(io.StringIO(f.read_text(encoding="utf-8"))))
    r = next(r for r in rows if r["stat"] == "est" and r["value"])
    direct = _cell(prot, int(r["year"]), r["row_key"].removesuffix(" (modell)"), r["column_key"])
    assert direct["suppressed_reason"] == "primary"
    r["value"] = repr(round(float(direct["estimate"]), 3))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    f.write_text(buf.getvalue(), encoding="utf-8")
    _assert_found(_scan(demo, f), {"hidden_value"}, r["row_key"])


def test_a_tiny_published_p_value_is_not_a_hidden_noise_level_se():
    """A hidden comparison whose SE is floating noise (1.486e-11, machine-dependent) is no hidden value, so a
    published p-value of 1.4e-11 (two significant digits) is no finding; a hidden share printed at full
    precision and the hidden comparison's difference still are."""
    from reports.scan import _Sensitive

    est = _frame()
    hidden = float(est.loc[(est["year"] == 2025) & (est["district"] == "C"), "estimate"].iloc[0])
    comparisons = pd.DataFrame(
        [
            {
                "comparison": "previous_year",
                "district": "C",
                "other": 2024,
                "year": 2025,
                "indicator": "x",
                "difference": 0.0376,
                "se": 1.486489544782895e-11,
                "ci_low": 0.0376,
                "ci_high": 0.0376,
            }
        ]
    )
    sens = _Sensitive(est, comparisons, 30, [], [])
    assert sens.numeric_hit(1.4e-11) is None
    assert sens.numeric_hit(1.486489544782895e-11) is None  # noise reveals nothing
    assert sens.numeric_hit(hidden) == hidden and sens.numeric_hit(hidden * 100) == hidden * 100
    assert sens.numeric_hit(0.0376) == 0.0376  # the hidden comparison's informative difference
