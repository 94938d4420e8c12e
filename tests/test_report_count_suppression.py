"""No hidden count of respondents can be worked out from what the report publishes (complementary suppression).

The method section hides the number of respondents of a district × year under 30 (``färre än 30``, its response
rate ``..``). ``Totalt`` is the sum of the districts, so with one district hidden its count was ``Totalt − Σ
others`` (in the respondents table and in the gross sample's table: 16 of 986 in 2022 on this wave). Now a run
on ``generate_wave(3000, 5, 3, 11, tiny_district=True)`` (Väsby centrum: 16, 16 and 26 respondents), with and
without a gross sample, is read back from what is published (``report/index.html`` and the tables' CSV files),
and an attacker's bounds are computed here from those numbers alone:

* each count table, per year: ``k = Totalt − Σ published`` is the hidden districts' sum; a ``färre än 30``
  count lies in ``[0, 29]``, a ``..`` count is at least 30 and at least every ``n`` published for that district
  in that year (a district table's ``n``, the sum of its sex or age groups' ``n`` when all are published, an
  answer table's ``n``), and at most its published sample (``Urval``). The feasible interval of each
  ``färre än 30`` count, ``[max(0, k − Σ upper), min(29, k − Σ lower)]``, must be all of ``[0, 29]``;
* every estimate table's ``n`` (district tables, per year × indicator): a hidden small district's ``n`` must
  keep ``[0, 29]`` given ``Totalt``'s ``n``, the published ``n`` and the other hidden districts' bounds (at
  most their published count, else their sample).

Without the complementary suppression both checks fail (the exact count follows; the small district's ``n``
is at least 11 of its 16 from the partner's published count); the unit tests pin the rule of
:func:`reports.method_section.hidden_counts` on hand-made tables (the sample table's own case is in
tests/test_report_method.py).
"""

from __future__ import annotations

import html
import math
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from reports.formats import SUPPRESSED, TOTAL
from reports.method_section import count_text, hidden_counts
from survey.cli import app
from survey.data.synth import TINY_DISTRICT, generate_wave, write_wave
from tests.test_pipeline_nonresponse import make_gross

MIN_N = 30
AGES = ("16-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75-84")
FEWER = "färre än 30"


@pytest.fixture(scope="module", params=["gross", "plain"])
def run(request, tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp(request.param)
    r, p = generate_wave(3000, 5, 3, 11, tiny_district=True)
    rp, pp = write_wave(r, p, d / "in")
    args = ["run", "--responses", str(rp), "--population", str(pp), "--out", str(d / "out")]
    args += ["--db", f"sqlite:///{d / 'db.sqlite'}", "--formats", "html,csv", "--charts", "none"]
    if request.param == "gross":
        make_gross(d / "brutto.csv", r)
        args += ["--gross-sample", str(d / "brutto.csv")]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    return d / "out" / "report"


# --- what the report publishes, read back ------------------------------------------------------------------


def method_tables(report: Path) -> list[list[list[str]]]:
    page = (report / "index.html").read_text(encoding="utf-8")
    section = page.split('<h2 id="metod">', 1)[1].split("<h2", 1)[0]
    return [
        [
            [html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)]
            for row in re.findall(r"<tr>(.*?)</tr>", t, re.S)
        ]
        for t in re.findall(r"<table.*?</table>", section, re.S)
    ]


def number(text: str) -> float | None:
    """A published count (``1 023``) as a number; None for ``färre än 30``, ``..`` or blank."""
    t = text.replace("\u00a0", "").replace(" ", "")
    return float(t) if re.fullmatch(r"\d+", t) else None


Cells = dict[int, dict[str, str]]  # per year, district -> the published text


def count_tables(report: Path) -> tuple[Cells, Cells, Cells]:
    """(respondents, responded, sampled): per year, district -> the published text."""
    tables = method_tables(report)
    resp = tables[0]
    years = [int(y) for y in resp[0][1:]]
    respondents = {y: {row[0]: row[1 + k] for row in resp[1:]} for k, y in enumerate(years)}
    responded: Cells = {}
    sampled: Cells = {}
    if len(tables) > 1:
        rates = tables[1]
        years = [int(y) for y in rates[0][1:]]
        for k, y in enumerate(years):
            sampled[y] = {row[0]: row[1 + 3 * k] for row in rates[2:]}
            responded[y] = {row[0]: row[2 + 3 * k] for row in rates[2:]}
    return respondents, responded, sampled


def published_n(report: Path) -> pd.DataFrame:
    """Every published ``n`` of the estimate tables' CSV files: table, year, district, group, indicator, n
    (NaN when hidden)."""
    parts = []
    for f in sorted((report / "tables").glob("*.csv")):
        if f.name.endswith("_excel.csv"):
            continue
        t = pd.read_csv(f, keep_default_na=False, na_values=[""])
        if "stat" not in t.columns or not (t["stat"] == "n").any():
            continue
        t = t[t["stat"] == "n"]
        parts.append(
            pd.DataFrame(
                {
                    "table": t["table_id"].astype(str),
                    "year": t["year"].astype(int),
                    "district": t["district"].astype(str),
                    "group": t["group"].astype(object).fillna("").astype(str),
                    "column": t["column_key"].astype(str),
                    "indicator": t["indicator"].fillna("").astype(str),
                    "n": pd.to_numeric(t["value"], errors="coerce").where(~t["suppressed"].astype(bool)),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def n_lower_bounds(n: pd.DataFrame) -> dict[tuple[int, str], float]:
    """Per year × district the largest number of respondents the published ``n`` prove: a district's own ``n``
    (district and answer tables) and the sum of a table's group cells of one district when all are published."""
    out: dict[tuple[int, str], float] = {}
    for (y, d), g in n.groupby(["year", "district"]):
        best = float(g["n"].max()) if g["n"].notna().any() else 0.0
        grouped = g[g["table"].str.startswith("groups")]
        for _, cells in grouped.groupby(["table", "indicator"]):
            sexes = cells[cells["group"].isin(["Man", "Kvinna"])].drop_duplicates("group")
            ages = cells[cells["group"].isin(AGES)].drop_duplicates("group")
            for part, size in ((sexes, 2), (ages, len(AGES))):
                if len(part) == size and part["n"].notna().all():
                    best = max(best, float(part["n"].sum()))
        out[(int(y), str(d))] = best
    return out


def feasible(k: float, others: list[tuple[float, float]], top: float) -> tuple[float, float]:
    """The interval of a hidden count in ``[0, top]`` whose hidden partners lie in ``[lo_m, hi_m]`` and whose sum
    with them is ``k``."""
    return max(0.0, k - sum(hi for _, hi in others)), min(top, k - sum(lo for lo, _ in others))


def count_bounds(text: str, sample: float, proven: float) -> tuple[float, float]:
    """What an attacker knows of a hidden count: ``färre än 30`` in [0, 29], ``..`` at least 30 and what the
    published ``n`` prove; both at most the published sample."""
    if text == FEWER:
        return 0.0, min(MIN_N - 1.0, sample)
    return max(float(MIN_N), proven), sample


def n_upper(district: str, tables: tuple[dict[str, str], ...]) -> float:
    """A district's ``n`` is at most its published count of respondents (the largest ``n``) or sample."""
    known = [number(t.get(district, "")) for t in tables]
    return min([v for v in known if v is not None], default=math.inf)


# --- the checks ------------------------------------------------------------------------------------------


def test_no_hidden_count_follows_from_totalt_and_the_published_counts(run):
    respondents, responded, sampled = count_tables(run)
    lower = n_lower_bounds(published_n(run))
    checked = 0
    for table in (respondents, responded):
        for y, cells in table.items():
            hidden = [d for d, t in cells.items() if d != TOTAL and t in (FEWER, SUPPRESSED)]
            if not hidden:
                continue
            assert number(cells[TOTAL]) is not None
            assert len(hidden) >= 2, (y, hidden)  # never a single hidden count
            k = number(cells[TOTAL]) - sum(number(t) for d, t in cells.items() if d != TOTAL and d not in hidden)
            sample = {d: number(t) or math.inf for d, t in sampled.get(y, {}).items()}
            for h in (d for d in hidden if cells[d] == FEWER):
                rest = [m for m in hidden if m != h]
                others = [count_bounds(cells[m], sample.get(m, math.inf), lower.get((y, m), 0.0)) for m in rest]
                lo, hi = feasible(k, others, min(MIN_N - 1.0, sample.get(h, math.inf)))
                assert (lo, hi) == (0.0, min(MIN_N - 1.0, sample.get(h, math.inf))), (y, h, lo, hi, k)
                checked += 1
    assert checked >= 3  # Väsby centrum in every year (and in both tables with a gross sample)
    assert all(respondents[y][TINY_DISTRICT] == FEWER for y in respondents)


def test_no_hidden_n_of_an_estimate_follows(run):
    respondents, responded, sampled = count_tables(run)
    n = published_n(run)
    district = n[n["table"].str.startswith("district_") & (n["group"] == "")]
    checked = 0
    for (table, y), cells in district.groupby(["table", "year"]):
        cells = cells.drop_duplicates("district").set_index("district")["n"]
        hidden = [d for d in cells.index if d != TOTAL and pd.isna(cells[d])]
        if TINY_DISTRICT not in hidden:
            continue
        assert len(hidden) >= 2 and pd.notna(cells[TOTAL])
        k = cells[TOTAL] - cells.drop(index=[TOTAL, *hidden]).sum()
        tables = (respondents[y], responded.get(y, {}), sampled.get(y, {}))
        others = [(0.0, n_upper(m, tables)) for m in hidden if m != TINY_DISTRICT]
        assert feasible(k, others, MIN_N - 1.0) == (0.0, MIN_N - 1.0), (table, y, k, others)
        checked += 1
    assert checked >= 15 * 3


def test_the_method_text_states_the_rule(run):
    page = html.unescape((run / "index.html").read_text(encoding="utf-8"))
    assert "döljs också antalet för minst ett annat område samma år (..)" in page
    if (run.parent / "response_rates.csv").exists():
        assert "kan vara vilket som helst från 0 till 29 (sekundär undertryckning)" in page


# --- the rule on hand-made tables -----------------------------------------------------------------------------


def table(counts: dict[str, float], year: int = 2024) -> pd.DataFrame:
    return pd.DataFrame({year: {**counts, TOTAL: sum(counts.values())}})


def test_rule_one_small_district_hides_the_smallest_that_is_enough():
    # V = 20: a partner of c leaves V in [0, min(29, 20 + c - 30)]: c >= 39 is needed, 35 is not enough
    h = hidden_counts([table({"V": 20, "A": 35, "B": 45, "C": 200})], MIN_N)
    assert h == {(2024, "V"): "primary", (2024, "B"): "secondary"}
    # the partner's published sample bounds it too: B (45 of 50 sampled) lets V be at least 65 - 50 = 15
    up = table({"V": 40, "A": 40, "B": 50, "C": 400})
    h = hidden_counts([table({"V": 20, "A": 35, "B": 45, "C": 200})], MIN_N, upper=up)
    assert h == {(2024, "V"): "primary", (2024, "C"): "secondary"}


def test_rule_two_small_districts_and_the_margin():
    # A = 20, B = 25: k = 45 proves A >= 16; a third district is hidden
    h = hidden_counts([table({"A": 20, "B": 25, "C": 300, "D": 500})], MIN_N)
    assert h == {(2024, "A"): "primary", (2024, "B"): "primary", (2024, "C"): "secondary"}
    # nothing else to hide: Totalt goes
    h = hidden_counts([table({"A": 20})], MIN_N)
    assert h == {(2024, "A"): "primary", (2024, TOTAL): "secondary"}
    # no small district: nothing hidden, whatever the estimate tables' partners
    assert hidden_counts([table({"A": 40, "B": 50})], MIN_N, seed={2024: {"A"}}) == {}


def test_rule_is_shared_by_the_tables_and_seeded_by_the_estimate_partners():
    t1 = table({"V": 20, "A": 100, "B": 60})
    t2 = table({"V": 22, "A": 101, "B": 62})
    h = hidden_counts([t1, t2], MIN_N, seed={2024: {"A"}})
    assert h == {(2024, "V"): "primary", (2024, "A"): "secondary"}


def test_rule_a_count_small_in_one_table_only():
    """Väsby-like: 29 answered some question (respondents table) but 31 responded (sample table): hidden in both,
    '..' where the count is not small, and the partner protects it in the table where it is."""
    t1, t2 = table({"V": 29, "A": 100, "B": 200}), table({"V": 31, "A": 101, "B": 202})
    h = hidden_counts([t1, t2], MIN_N)
    assert h == {(2024, "V"): "primary", (2024, "A"): "secondary"}
    assert count_text(29, "primary", MIN_N) == FEWER and count_text(31, "primary", MIN_N) == SUPPRESSED
    assert count_text(101, "secondary", MIN_N) == SUPPRESSED and count_text(1023, None, MIN_N) == "1\u00a0023"
