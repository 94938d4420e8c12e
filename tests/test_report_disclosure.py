"""Disclosure control (issue 11): secondary suppression and rounding stop the differencing attack.

A synthetic wave with a tiny district (``Väsby centrum``, 14–29 respondents, under 1,5 % of the population) is
weighted and estimated by the pipeline and published. An attacker who knows the public population per district
reads the published files and computes the hidden share as
``(N_T p_T − Σ_published N_d p_d) / N_hidden``, and the hidden ``n`` as ``n_T − Σ_published n_d``.
Without secondary suppression (the old publication) this recovers the hidden share within about a
procentenhet and its ``n`` exactly; with the rule it fails by far, and every value of the hidden cell in
[0, 1] stays consistent with the published numbers.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from reports.disclosure import protect
from reports.publish import export_table, publish_report, scan_disclosure
from tests.test_publish import pipeline_wave

TINY = "Väsby centrum"
INDICATORS = ("unsafe_after_dark", "worried_crime", "problem_littering", "victim_theft", "police_care")


@pytest.fixture(scope="module")
def wave(tmp_path_factory):
    """Estimates of a synthetic wave (pipeline weighting and estimation) and its population."""
    est, e, pop, cb = pipeline_wave(6000, 6, 2, 11)
    return est, e.comparisons, pop, cb


@pytest.fixture(scope="module")
def published(wave, tmp_path_factory):
    from survey.data.store import Store

    est, cmp, _, cb = wave
    d = tmp_path_factory.mktemp("sdc")
    store = Store(f"sqlite:///{d / 'db.sqlite'}")
    run_id = store.begin_run({}, "test", "trygghet-v1", [])
    res = publish_report(
        est,
        cmp,
        None,
        cb,
        {"run_id": run_id, "date": "2026-12-01"},
        d / "report",
        store=store,
        formats=("html", "xlsx", "csv"),
        charts=["unsafe_after_dark"],
    )
    return res, store


def _published_shares(report: Path, indicator: str) -> dict[tuple[int, str], tuple[float, int] | None]:
    """(year, district) -> (share, n) as an attacker reads them from the district table's CSV; None = ``..``."""
    with open(report / "tables" / f"district_{indicator}.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    out: dict[tuple[int, str], dict[str, str]] = {}
    for r in rows:
        out.setdefault((int(r["column_key"]), r["row_key"]), {})[r["stat"]] = r["value"]
    return {k: (float(v["est"]), int(float(v["n"]))) if v.get("est") else None for k, v in out.items()}


def _attack(
    cells: dict[tuple[int, str], tuple[float, int] | None], population: pd.Series, year: int
) -> tuple[float, int, list[str]]:
    """The differencing attack on one year: (recovered share of the tiny district, recovered n, hidden)."""
    districts = [d for (y, d) in cells if y == year and d != "Totalt"]
    hidden = [d for d in districts if cells[(year, d)] is None]
    p_t, n_t = cells[(year, "Totalt")]
    n_total = population.loc[year].sum()
    visible = [d for d in districts if d not in hidden]
    rest = sum(population.loc[(year, d)] * cells[(year, d)][0] for d in visible)
    share = (n_total * p_t - rest) / population.loc[(year, TINY)]
    return share, n_t - sum(cells[(year, d)][1] for d in visible), hidden


def _truth(est: pd.DataFrame, year: int, district: str, indicator: str) -> pd.Series:
    return est[
        (est["year"] == year)
        & (est["district"] == district)
        & (est["indicator"] == indicator)
        & (est["domain"] == "district")
    ].iloc[0]


def test_without_secondary_suppression_the_attack_works(wave):
    """The control: primary suppression only, full precision (the publication before this rule)."""
    est, _, pop, _ = wave
    population = pop.groupby(["year", "district"])["population"].sum()
    prot = protect(est, 30, secondary=False)
    dist = prot[prot["domain"] == "district"]
    errors = []
    for ind in INDICATORS:
        for year in (2022, 2023):
            sub = dist[(dist["indicator"] == ind) & (dist["year"] == year)]
            cells = {(year, r.district): (None if r.hidden else (r.estimate, int(r.n))) for r in sub.itertuples()}
            share, n, hidden = _attack(cells, population, year)
            truth = _truth(est, year, TINY, ind)
            assert hidden == [TINY] and n == truth["n"] < 30  # the hidden n comes out exactly
            errors.append(abs(share - truth["estimate"]))
    assert np.median(errors) < 0.03 and max(errors) < 0.06, errors  # within a few procentenheter


def test_secondary_suppression_defeats_the_attack(wave, published):
    est, _, pop, _ = wave
    res, _ = published
    population = pop.groupby(["year", "district"])["population"].sum()
    for ind in INDICATORS:
        cells = _published_shares(res.out_dir, ind)
        for year in (2022, 2023):
            share, n, hidden = _attack(cells, population, year)
            truth = _truth(est, year, TINY, ind)
            assert TINY in hidden and len(hidden) >= 2
            partner = [d for d in hidden if d != TINY]
            assert all(population.loc[(year, d)] >= population.loc[(year, TINY)] for d in partner)
            assert abs(share - truth["estimate"]) > 0.10, (ind, year, share, truth["estimate"])
            # every share of the tiny district in [0, 1] is consistent with what is published
            p_t = cells[(year, "Totalt")][0]
            k = population.loc[year].sum() * p_t - sum(
                population.loc[(year, d)] * cells[(year, d)][0]
                for (y, d), c in cells.items()
                if y == year and d != "Totalt" and c is not None
            )
            n_s = sum(population.loc[(year, d)] for d in partner)
            lo = max(0.0, (k - n_s) / population.loc[(year, TINY)])
            hi = min(1.0, k / population.loc[(year, TINY)])
            assert lo <= 0.02 and hi >= 0.98, (ind, year, lo, hi)
            # n: the difference is the sum of the hidden cells, not the tiny one, and not a small count
            assert n != truth["n"] and n >= 30


def test_secondary_cells_are_marked_in_data_and_shown_as_dots(wave, published):
    res, store = published
    supp = res.suppression
    tiny = supp[supp["district"] == TINY]
    assert set(tiny["suppressed_reason"]) == {"primary"}
    secondary = supp[supp["suppressed_reason"] == "secondary"]
    assert len(secondary) and TINY not in set(secondary["district"])
    row = secondary.iloc[0]
    _, cells = store.published_table(f"district_{row['indicator']}", 2023)
    mine = cells[(cells["row_key"] == row["district"]) & cells["column_key"].str.startswith(f"{row['year']}|")]
    assert len(mine) and mine["suppressed"].all() and (mine["text"] == "..").all() and mine["value"].isna().all()


def _is_rounded(x: float, step: float = 0.001) -> bool:
    return abs(x / step - round(x / step)) < 1e-6


def test_published_shares_are_rounded_in_every_file(wave, published, tmp_path):
    est, cmp, _, _ = wave
    res, store = published
    share_stats = {"est", "lo", "hi", "chg"}
    for f in res.paths(fmt="csv"):
        with open(f, encoding="utf-8", newline="") as fh:
            for r in csv.DictReader(fh):
                if r["value"] and r["stat"] in share_stats:
                    assert _is_rounded(float(r["value"])), (f.name, r)
    wb = load_workbook(res.out_dir / "tabeller.xlsx")
    checked = 0
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, float) and "%" in c.number_format:
                    assert _is_rounded(c.value), (ws.title, c.coordinate, c.value)
                    checked += 1
                elif isinstance(c.value, float) and c.number_format.startswith("+0.0"):
                    assert _is_rounded(c.value, 0.1), (ws.title, c.coordinate, c.value)
    assert checked > 100
    j = export_table(store, "district_unsafe_after_dark", 2023, "json", tmp_path / "t.json")
    cells = json.loads(j.read_text(encoding="utf-8"))["cells"]
    shares = [c["value"] for c in cells if c["value"] is not None and c["column_key"].split("|")[1] in share_stats]
    assert shares and all(_is_rounded(v) for v in shares)
    html = (res.out_dir / "tables" / "district_unsafe_after_dark.html").read_text(encoding="utf-8")
    full = _truth(est, 2023, "Duvbo", "unsafe_after_dark")["estimate"]
    assert repr(full) not in html and f"{full * 100:.2f}".replace(".", ",") not in html
    # the scanner finds no hidden value (primary or secondary) anywhere, the store included
    assert scan_disclosure(res.out_dir, est, min_n=30, comparisons=cmp, store=store) == []


def _frame(sizes: dict[str, int], n: dict[str, int], domain: str = "district", district: str | None = None):
    rows = []
    for k, s in sizes.items():
        rows.append(
            {
                "year": 2024,
                "district": district or k,
                "indicator": "x",
                "estimate": 0.3,
                "ci_low": 0.2,
                "ci_high": 0.4,
                "n": n[k],
                "suppressed": n[k] < 30,
                "weighted_base": s,
                "domain": domain,
                "group": None if domain == "district" else k,
            }
        )
    return pd.DataFrame(rows)


def test_protect_rule_cases():
    n = {"A": 12, "B": 300, "C": 200, "D": 500, "Totalt": 1012}
    sizes = {"A": 800, "B": 9000, "C": 5000, "D": 20000, "Totalt": 34800}
    p = protect(_frame(sizes, n), 30).set_index("district")
    assert p.loc["A", "suppressed_reason"] == "primary" and p.loc["C", "suppressed_reason"] == "secondary"
    assert not p.loc[["B", "D", "Totalt"], "hidden"].any()  # the smallest cell at least as large
    two = protect(_frame(sizes, {**n, "C": 20}), 30).set_index("district")  # two primary cells: nothing more
    assert set(two.loc[two["hidden"], "suppressed_reason"]) == {"primary"} and two["hidden"].sum() == 2
    big = protect(_frame({**sizes, "A": 6000}, n), 30).set_index("district")  # partner ≥ the hidden size
    assert big.loc["B", "suppressed_reason"] == "secondary" and not big.loc["C", "hidden"]
    alone = protect(_frame({"A": 800, "Totalt": 800}, {"A": 12, "Totalt": 12}), 30).set_index("district")
    assert alone["hidden"].all()  # Totalt would equal A
    # groups within Totalt: one small age group hides another, Totalt stays
    ages = _frame(
        {"16-24": 500, "25-34": 900, "35-44": 700},
        {"16-24": 10, "25-34": 400, "35-44": 300},
        domain="age_group",
        district="Totalt",
    )
    both = pd.concat([_frame(sizes, n), ages], ignore_index=True)
    q = protect(both, 30)
    g = q[q["domain"] == "age_group"].set_index("group")
    assert g.loc["16-24", "suppressed_reason"] == "primary" and g.loc["35-44", "suppressed_reason"] == "secondary"
    assert not q[(q["district"] == "Totalt") & (q["domain"] == "district")]["hidden"].any()


def test_interval_rule_hides_a_third_cell_when_two_hidden_ones_sum_to_almost_nothing():
    """Two tiny districts hidden, but nobody in A and 1 % in B: Totalt minus the others gives
    ``800 p_A + 900 p_B = 9``, so p_A ≤ 1,1 %. The interval rule hides a third district (the first of the
    ones that widen A's interval to all of [0, 1]); then any p_A in [0, 1] fits."""
    sizes = {"A": 800, "B": 900, "C": 5000, "D": 20000, "Totalt": 26700}
    n = {"A": 12, "B": 20, "C": 200, "D": 500, "Totalt": 732}
    frame = _frame(sizes, n)
    share = {"A": 0.0, "B": 0.01, "C": 0.3, "D": 0.2}
    share["Totalt"] = sum(sizes[k] * share[k] for k in "ABCD") / sizes["Totalt"]
    frame["estimate"] = frame["district"].map(share)
    old = protect(frame, 30, interval_rule=False).set_index("district")
    assert list(old.index[old["hidden"]]) == ["A", "B"]  # two hidden: the old rule was satisfied
    k = sizes["A"] * share["A"] + sizes["B"] * share["B"]
    assert k / sizes["A"] < 0.012  # ... and p_A was known to be under 1,2 %
    p = protect(frame, 30).set_index("district")
    assert p.loc["C", "suppressed_reason"] == "secondary" and not p.loc[["D", "Totalt"], "hidden"].any()
    k += sizes["C"] * share["C"]
    rest = sizes["B"] + sizes["C"]
    assert min(1, k / sizes["A"]) - max(0, (k - rest) / sizes["A"]) == 1.0


def test_a_hidden_district_does_not_show_every_group():
    """C is hidden as A's partner (the rule above); its Man and Kvinna cells (100 respondents each) would give
    it back as their weighted mean (800·p_man + 4200·p_kvinna = 5000·p_C under the calibration), and A with it
    from Totalt. Both are hidden here (A's groups need partners in their columns, C's the smallest at least as
    large), B's and D's and Totalt stay; the linear programme in tests/test_report_backsolve.py checks the
    case where only the hidden-margin rule catches it."""
    n = {"A": 12, "B": 300, "C": 200, "D": 500, "Totalt": 1012}
    sizes = {"A": 800, "B": 9000, "C": 5000, "D": 20000, "Totalt": 34800}
    sex = [
        _frame({"Man": s_m, "Kvinna": s - s_m}, {"Man": k // 2, "Kvinna": k - k // 2}, domain="sex", district=d)
        for d, s, k, s_m in [(d, sizes[d], n[d], sizes[d] * 4 // 25) for d in sizes]
    ]
    p = protect(pd.concat([_frame(sizes, n), *sex], ignore_index=True), 30)
    dist = p[p["domain"] == "district"].set_index("district")
    assert dist.loc["C", "suppressed_reason"] == "secondary" and dist.loc["A", "suppressed_reason"] == "primary"
    groups = p[p["domain"] == "sex"].set_index(["district", "group"])
    assert groups.loc[[("C", "Kvinna"), ("C", "Man")], "suppressed_reason"].tolist() == ["secondary"] * 2
    assert not groups.loc[[("B", "Man"), ("B", "Kvinna"), ("D", "Man"), ("D", "Kvinna")], "hidden"].any()
    assert (
        not groups.loc[[("Totalt", "Man"), ("Totalt", "Kvinna")], "hidden"].any() and not dist.loc["Totalt", "hidden"]
    )
    old = protect(pd.concat([_frame(sizes, n), *sex[3:]], ignore_index=True), 30)  # without C's and A's groups
    assert old.loc[old["district"] == "C", "hidden"].all()
