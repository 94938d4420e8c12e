"""The published numbers of a ``make demo``-style run cannot be used to back-solve a suppressed cell.

Attacker: reads the published files (rounded shares: known within ±0,05 procentenheter) and knows more
than is published — the weighted base of every cell (the exact weights of the relation ``Totalt = weighted
mean of the districts``) and the Fay–Herriot model's parameters ``A``, ``beta``, ``V(beta)``, ``Var(A)``
(fitted here with survey.models.fay_herriot; mostly determined by the published districts). Sensitive: every
cell with fewer than 30 respondents (or flagged), i.e. primary suppression.

1. Differencing (reports/disclosure.py, complementary suppression): for every year × indicator a linear
   programme over every district and sex/age cell, the published ones within their rounding, the others
   in [0, 1], bound by every exact relation (Totalt = Σ districts, district = Σ its sex or age groups,
   group's Totalt = Σ the districts' cells of the group): the smallest and largest share of each sensitive
   cell. Required: at least 5 procentenheter apart (±2,5) — the interval rule of reports/disclosure.py
   (before it, two age-group cells of the demo came out 2,1 and 4,9 pe wide: hidden cells summing to almost
   0); and ``n`` of the tiny district is not bounded below 30 by the tables.
2. Fay–Herriot (reports/smallarea.py): the rows published for hidden cells, with what the attacker knows,
   leave every sensitive direct share at least 5 procentenheter undetermined (brute force over the
   district's direct share and its weight gamma < 0,5); the control shows that the Prasad–Rao interval the
   table printed before this rule gave the direct share back within a procentenhet.
"""

from __future__ import annotations

import csv
import math

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog
from scipy.special import expit, logit
from scipy.stats import norm

from tests.demo_run import TINY, demo_run

MIN_N = 30  # the sensitive cells: fewer respondents than the default --min-n
HALF_WIDTH = 0.025  # the stated rule: a sensitive share stays undetermined within at least ±2,5 pe
STEP = 0.001  # published shares are rounded to 0,1 %
Z = float(norm.ppf(0.975))


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return demo_run(tmp_path_factory)


def _published(demo) -> dict[tuple[int, str, str, str], dict[str, float]]:
    """(year, district, indicator, group) -> {stat: value} of every published share and count of the
    district and sex/age tables (long CSVs), as an attacker reads them; hidden cells are absent."""
    out: dict[tuple[int, str, str, str], dict[str, float]] = {}
    files = [*demo.report.glob("tables/district_*.csv"), *demo.report.glob("tables/groups_*.csv")]
    for f in files:
        if f.name.endswith("_excel.csv"):
            continue
        with open(f, encoding="utf-8", newline="") as fh:
            for r in csv.DictReader(fh):
                if r["value"] and r["stat"] in ("est", "n") and r["year"]:
                    key = (int(r["year"]), r["district"], r["indicator"], r["group"])
                    out.setdefault(key, {})[r["stat"]] = float(r["value"])
    return out


def _cells(demo) -> pd.DataFrame:
    est = demo.estimates
    est = est[est["domain"].isin(["district", "sex", "age_group"])].copy()
    est["group"] = est["group"].fillna("").astype(str)
    est["sensitive"] = (est["n"] < MIN_N) | est["suppressed"].astype(str).str.lower().eq("true")
    return est.reset_index(drop=True)


def _relations(cells: pd.DataFrame) -> list[tuple[list[int], int]]:
    """(member rows, margin row) of every exact relation among one year × indicator's cells."""
    pos = {(r.district, r.group): i for i, r in enumerate(cells.itertuples(index=False))}
    dom = dict(zip(zip(cells["district"], cells["group"]), cells["domain"]))
    rel = []
    districts = sorted({d for d, g in pos if g == "" and d != "Totalt"})
    rel.append(([pos[(d, "")] for d in districts], pos[("Totalt", "")]))
    for domain in ("sex", "age_group"):
        groups = sorted({g for (d, g), m in dom.items() if m == domain})
        for d in [*districts, "Totalt"]:
            rel.append(([pos[(d, g)] for g in groups if (d, g) in pos], pos[(d, "")]))
        for g in groups:
            rel.append(([pos[(d, g)] for d in districts if (d, g) in pos], pos[("Totalt", g)]))
    return rel


def _lp_intervals(cells: pd.DataFrame, pub: dict) -> list[tuple[int, str, str, str, float, float]]:
    """(year, district, indicator, group, lowest, highest) share of every sensitive cell that a linear
    programme over the published cells (within their rounding) and every exact relation allows."""
    out = []
    for (y, ind), c in cells.groupby(["year", "indicator"]):
        c = c.reset_index(drop=True)
        w = c["weighted_base"].to_numpy(float)
        bounds = []
        for r in c.itertuples(index=False):
            v = pub.get((int(y), r.district, ind, r.group), {}).get("est")
            bounds.append((0.0, 1.0) if v is None else (max(0.0, v - STEP / 2), min(1.0, v + STEP / 2)))
        rel = _relations(c)
        a_eq = np.zeros((len(rel), len(c)))
        for k, (members, margin) in enumerate(rel):
            assert abs(w[members].sum() - w[margin]) <= 1e-9 * w[margin]  # the relation is exact
            a_eq[k, members] = w[members]
            a_eq[k, margin] = -w[margin]
        for i in np.flatnonzero(c["sensitive"].to_numpy()):
            assert (int(y), c.at[i, "district"], ind, c.at[i, "group"]) not in pub  # it is hidden
            obj = np.zeros(len(c))
            obj[i] = 1.0
            lo = linprog(obj, A_eq=a_eq, b_eq=np.zeros(len(rel)), bounds=bounds, method="highs")
            hi = linprog(-obj, A_eq=a_eq, b_eq=np.zeros(len(rel)), bounds=bounds, method="highs")
            assert lo.status == 0 and hi.status == 0
            truth = float(c.at[i, "estimate"])  # NaN: nobody answered
            assert math.isnan(truth) or lo.fun - 1e-9 <= truth <= -hi.fun + 1e-9  # consistent with the truth
            out.append((int(y), c.at[i, "district"], str(ind), c.at[i, "group"], lo.fun, -hi.fun))
    return out


def test_a_district_hidden_to_protect_another_does_not_show_all_its_groups(tmp_path, monkeypatch):
    """Lilla Alby (35 a year) is hidden beside smaller cells, but its sex and age-group cells were published, and
    the calibration makes the district share their population-weighted mean: it came back exactly, and from it
    hidden age-group cells of 7–9 respondents within 0,4–2 procentenheter (found by a black-box sweep, at
    ``--min-n 10``). Now a hidden district shows at most all but one of its groups, and every sensitive cell
    stays at least 5 procentenheter undetermined by the linear programme over every published cell."""
    import subprocess
    import sys
    from pathlib import Path

    exe = str(Path(sys.executable).with_name("trygghet"))
    synth = ["--n", "10000", "--districts", "10", "--years", "5", "--seed", "7"]
    subprocess.run([exe, "synth", *synth, "--out", str(tmp_path / "w")], check=True, capture_output=True)
    r = pd.read_csv(tmp_path / "w" / "responses.csv", dtype=str, keep_default_na=False)
    p = pd.read_csv(tmp_path / "w" / "population.csv", dtype={"district": str})
    ds, last = sorted(r["district"].unique()), sorted(r["year"].unique())[-1]
    parts = []
    for (y, d), g in r.groupby(["year", "district"]):
        if d == ds[4]:
            g = g.sample(35, random_state=1)
        elif d == ds[5]:
            g = g.sample(12, random_state=1)
        elif d == ds[6]:
            g = g[g["sex"] == "1"]  # men only
        elif d == ds[7] and y == last:
            g = g.sample(5, random_state=1)
        parts.append(g)
    p.loc[(p["district"] == ds[6]) & (p["sex"] == 2), "population"] = 0
    pd.concat(parts).to_csv(tmp_path / "svar.csv", index=False)
    p.to_csv(tmp_path / "bef.csv", index=False)
    out = tmp_path / "ut"
    run = [exe, "run", "--responses", str(tmp_path / "svar.csv"), "--population", str(tmp_path / "bef.csv")]
    run += ["--out", str(out), "--db", f"sqlite:///{tmp_path / 'db.sqlite'}", "--formats", "csv", "--charts"]
    run += ["none", "--collapse", "age_group:5", "--min-n", "10"]
    subprocess.run(run, check=True, capture_output=True, timeout=900)
    full = pd.read_csv(out / "estimates_full.csv")
    by_group = pd.read_csv(out / "estimates_by_group.csv", dtype={"group": str})
    est = pd.concat([full.assign(domain="district", group=None), by_group])
    monkeypatch.setattr(sys.modules[__name__], "MIN_N", 10)
    run_ = type("Run", (), {"estimates": est, "report": out / "report"})
    cells, pub = _cells(run_), _published(run_)
    hidden = [
        (y, d, i)
        for (y, d, i) in cells.loc[cells["group"] == "", ["year", "district", "indicator"]].itertuples(
            index=False, name=None
        )
        if (int(y), d, i, "") not in pub
    ]
    assert (last_alby := [h for h in hidden if h[1] == ds[4] and str(h[0]) == last]), hidden[:5]
    for y, d, i in last_alby:  # not every sex cell of the hidden district shown
        assert sum((int(y), d, i, g) in pub for g in ("Man", "Kvinna")) < 2
    intervals = _lp_intervals(cells, pub)
    narrow = sorted((hi - lo, y, d, i, g) for y, d, i, g, lo, hi in intervals if hi - lo < 2 * HALF_WIDTH)
    assert len(intervals) > 1000 and not narrow, narrow[:5]


def test_differencing_cannot_narrow_a_suppressed_share(demo):
    intervals = _lp_intervals(_cells(demo), _published(demo))
    widths = [hi - lo for _y, _d, _i, _g, lo, hi in intervals]
    tiny = [(lo, hi) for _y, d, _i, g, lo, hi in intervals if d == TINY and g == ""]
    assert len(widths) > 1000
    assert min(widths) >= 2 * HALF_WIDTH, sorted(widths)[:10]
    # the tiny district: every interval spans a third of [0, 1] at least, half of them all of it
    spans = sorted(hi - lo for lo, hi in tiny)
    assert len(tiny) == 4 * 15 and spans[0] >= 0.3 and spans[len(spans) // 2] >= 0.99, (spans, tiny)


def test_differencing_cannot_narrow_the_tiny_districts_n(demo):
    """n of Totalt minus the published districts' n is the sum of the hidden districts' n: at least 30."""
    pub = _published(demo)
    cells = _cells(demo)
    dist = cells[cells["group"] == ""]
    for (y, ind), c in dist.groupby(["year", "indicator"]):
        n_total = pub[(int(y), "Totalt", ind, "")]["n"]
        shown = sum(pub[k]["n"] for k in pub if k[0] == y and k[2] == ind and k[3] == "" and k[1] != "Totalt")
        hidden = c[~c["district"].isin([k[1] for k in pub if k[0] == y and k[2] == ind and k[3] == ""])]
        assert TINY in set(hidden["district"]) and len(hidden) >= 2
        assert n_total - shown == hidden["n"].sum() >= 30  # an upper bound of no use for a cell under 30


# ------------------------------------------------------------------------------------------ Fay–Herriot
def _model(demo, year: int, indicator: str) -> tuple[float, float, float, float]:
    """(A, beta, V(beta), Var(A)) of the year × indicator's Fay–Herriot fit (logit, REML), as the attacker
    is assumed to know them."""
    from survey.models import fay_herriot

    e = demo.estimates
    s = e[(e["domain"] == "district") & (e["year"] == year) & (e["indicator"] == indicator)]
    s = s[s["district"] != "Totalt"]
    p, se = s["estimate"].to_numpy(float), s["se"].to_numpy(float)
    ok = (p > 0) & (p < 1) & (se > 0)
    fh = fay_herriot(logit(p[ok]), se[ok] ** 2 / (p[ok] * (1 - p[ok])) ** 2)
    return fh.a, float(fh.beta[0]), float(fh.beta_vcov[0, 0]), fh.a_var


def _pr_mse(gamma: np.ndarray, a: float, vb: float, va: float) -> np.ndarray:
    """Prasad–Rao g1 + g2 + 2 g3 of an area with weight gamma (intercept model, psi = A (1 − gamma)/gamma)."""
    return a * (1 - gamma) + (1 - gamma) ** 2 * vb + 2 * (1 - gamma) ** 2 * gamma * va / a


def _fh_rows(demo) -> list[dict[str, float | str | int]]:
    with open(demo.report / "tables" / "small_area.csv", encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["value"]]
    out: dict[tuple[str, str], dict] = {}
    for r in rows:
        k = (r["row_key"].removesuffix(" (modell)"), r["column_key"])
        out.setdefault(k, {"district": k[0], "indicator": k[1], "year": int(r["year"])})[r["stat"]] = float(r["value"])
    return list(out.values())


def _truth(demo, year: int, district: str, indicator: str) -> float:
    e = demo.estimates
    s = e[
        (e["domain"] == "district") & (e["year"] == year) & (e["district"] == district) & (e["indicator"] == indicator)
    ]
    assert int(s["n"].iloc[0]) < 30
    return float(s["estimate"].iloc[0])


def _consistent(est: float, beta: float, lo_hi=None, mse=None) -> np.ndarray:
    """Direct shares (grid, step 0,05 pe) for which some gamma < 0,5 makes the model publish ``est`` (and,
    with ``lo_hi`` and ``mse(gamma)``, that interval), within rounding, and the rule's 0,5 pe distance holds."""
    p = np.arange(0.00025, 1, 0.0005)
    gam = np.linspace(0.0005, 0.4995, 1000)
    theta = gam[None, :] * logit(p)[:, None] + (1 - gam[None, :]) * beta
    fh = expit(theta)
    ok = (np.abs(fh - est) <= STEP / 2) & (np.abs(fh - p[:, None]) > 0.005)
    if lo_hi is not None:
        half = Z * np.sqrt(mse(gam))[None, :]
        ok &= np.abs(expit(theta - half) - lo_hi[0]) <= STEP / 2
        ok &= np.abs(expit(theta + half) - lo_hi[1]) <= STEP / 2
    return p[ok.any(axis=1)]


def test_prasad_rao_interval_would_give_the_direct_estimate_back(demo):
    """Control: the interval from the district's own Prasad–Rao MSE (what the table printed before this rule)
    publishes gamma; with the rounded share and interval the direct estimate comes back within a pe."""
    from survey.models import small_area_shares

    rows = _fh_rows(demo)
    assert len(rows) >= 5
    e = demo.estimates
    recovered = []
    for r in rows:
        a, beta, vb, va = _model(demo, r["year"], r["indicator"])
        s = e[(e["domain"] == "district") & (e["year"] == r["year"]) & (e["indicator"] == r["indicator"])]
        fh = small_area_shares(s[["year", "district", "indicator", "estimate", "se", "n"]]).set_index("district")
        f = fh.loc[r["district"]]
        half = Z * f["modelled_se"] / (f["modelled"] * (1 - f["modelled"]))
        old = [
            round(v * 1000) / 1000
            for v in (f["modelled"], expit(logit(f["modelled"]) - half), expit(logit(f["modelled"]) + half))
        ]
        p = _consistent(old[0], beta, (old[1], old[2]), lambda g, a=a, vb=vb, va=va: _pr_mse(g, a, vb, va))
        truth = _truth(demo, r["year"], r["district"], r["indicator"])
        assert len(p) and p.min() - 0.0005 <= truth <= p.max() + 0.0005
        recovered.append(p.max() - p.min())
    assert sum(w < 0.01 for w in recovered) >= len(recovered) - 1, recovered  # all but the gamma≈0 row


def test_published_model_rows_cannot_be_back_solved(demo):
    """Every published Fay–Herriot row: its interval is the gamma-free bound max_{gamma<0,5} MSE(gamma) (so
    it tells nothing of gamma), and share plus interval leave the direct share undetermined over at least
    5 pe, the true one among them."""
    from survey.models import small_area_shares

    rows = _fh_rows(demo)
    assert len(rows) >= 5
    e = demo.estimates
    grid = np.linspace(0.0, 0.5, 500_001)
    for r in rows:
        a, beta, vb, va = _model(demo, r["year"], r["indicator"])
        mse_max = float(_pr_mse(grid, a, vb, va).max())
        s = e[(e["domain"] == "district") & (e["year"] == r["year"]) & (e["indicator"] == r["indicator"])]
        f = (
            small_area_shares(s[["year", "district", "indicator", "estimate", "se", "n"]])
            .set_index("district")
            .loc[r["district"]]
        )
        assert f["gamma"] < 0.5 and abs(r["est"] - round(f["modelled"] * 1000) / 1000) < 1e-12
        half = Z * math.sqrt(mse_max)
        assert abs(r["lo"] - expit(logit(f["modelled"]) - half)) <= STEP / 2 + 1e-9
        assert abs(r["hi"] - expit(logit(f["modelled"]) + half)) <= STEP / 2 + 1e-9
        p = _consistent(r["est"], beta, (r["lo"], r["hi"]), lambda g, m=mse_max: np.full_like(g, m))
        truth = _truth(demo, r["year"], r["district"], r["indicator"])
        assert len(p) * 0.0005 >= 2 * HALF_WIDTH, (r, len(p) * 0.0005)
        assert np.min(np.abs(p - truth)) <= 0.0005, (r, truth)


def _frame() -> pd.DataFrame:
    """One year, eight published districts near 95 %, two tiny ones: one near the others, one at 99,9 %."""
    shares = [0.90, 0.92, 0.93, 0.95, 0.96, 0.97, 0.94, 0.91]
    rows = [
        {"year": 2025, "district": f"D{k}", "indicator": "x", "estimate": p, "se": 0.012, "n": 400}
        for k, p in enumerate(shares)
    ]
    rows += [
        {"year": 2025, "district": "Liten", "indicator": "x", "estimate": 0.80, "se": 0.09, "n": 20},
        {"year": 2025, "district": "Extrem", "indicator": "x", "estimate": 0.999, "se": 0.0012, "n": 20},
        {"year": 2025, "district": "Totalt", "indicator": "x", "estimate": 0.93, "se": 0.005, "n": 3240},
    ]
    df = pd.DataFrame(rows)
    df["ci_low"], df["ci_high"] = df["estimate"] - 2 * df["se"], (df["estimate"] + 2 * df["se"]).clip(upper=1)
    df["suppressed"], df["domain"], df["group"] = df["n"] < 30, "district", None
    return df


def test_a_row_that_would_pin_the_direct_share_is_withheld():
    """A model estimate so far out that every consistent direct share lies within 5 pe (here the half-line
    above 97,x %) is not published; the other tiny district's is."""
    from reports.disclosure import protect
    from reports.smallarea import modelled_shares
    from survey.models import fay_herriot, small_area_shares

    df = _frame()
    fh = small_area_shares(df[["year", "district", "indicator", "estimate", "se", "n"]]).set_index("district")
    assert fh.loc["Liten", "gamma"] < 0.5 and fh.loc["Extrem", "gamma"] < 0.5  # both pass the old gate
    d = df[df["district"] != "Totalt"]
    fit = fay_herriot(logit(d["estimate"]), d["se"] ** 2 / (d["estimate"] * (1 - d["estimate"])) ** 2)
    beta = float(fit.beta[0])
    width = {
        k: len(_consistent(round(fh.loc[k, "modelled"] * 1000) / 1000, beta)) * 0.0005 for k in ("Liten", "Extrem")
    }
    assert width["Extrem"] < 2 * HALF_WIDTH <= width["Liten"], width
    got = modelled_shares(protect(df, 30), 2025)
    assert list(got["district"]) == ["Liten"]
    assert got["backsolve_low"].iloc[0] <= 0.80 <= got["backsolve_high"].iloc[0]
