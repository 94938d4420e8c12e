"""Taylor-linearisation variance (survey.variance) on the textbook api data.

References: shared/data/api/reference.json (R survey 4.1.1, exported by export_api.R; each entry's R call
is its ``r_code``) and, for lonely PSUs, live R via tests/r/api_checks.R (``rlive``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "r"))
from oracle import API, api_reference, rel_err

from survey.calibration import Margin, calibrate
from survey.design import stratified_design
from survey.errors import DesignError
from survey.estimation import domain_ratios, logit_ci
from survey.variance import linearized_vcov

REF = {r["id"].split(" ")[0]: r for r in json.loads((API / "reference.json").read_text())["results"]}
TOL = 1e-12  # observed ~1e-14 .. 1e-13


@pytest.fixture(scope="module")
def data():
    return pd.read_csv(API / "apistrat.csv"), pd.read_csv(API / "apiclus1.csv"), pd.read_csv(API / "apipop.csv")


def dstrat(st):
    return stratified_design(st["stype"].to_numpy(), st["pw"].to_numpy(), fpc=st["fpc"].to_numpy())


def dclus1(c1):
    return stratified_design(
        np.zeros(len(c1)), c1["pw"].to_numpy(), psu=c1["dnum"].to_numpy(), fpc=c1["fpc"].to_numpy()
    )


def rclus1_tight(c1, ap):
    t1 = ap.groupby("stype").size().rename("total").reset_index()
    t2 = ap.groupby("sch.wide").size().rename("total").reset_index()
    cal = calibrate(c1, c1["pw"].to_numpy(), [Margin(("stype",), t1), Margin(("sch.wide",), t2)])
    return dclus1(c1).with_weights(cal.weights, cal.model), cal


def mean_se(design, y):
    w = design.weights
    W = w.sum()
    m = (w * y).sum() / W
    return m, float(np.sqrt(linearized_vcov(design, (y - m) / W)[0, 0]))


def total_se(design, y):
    return (design.weights * y).sum(), float(np.sqrt(linearized_vcov(design, y)[0, 0]))


def _check(ref, name, est, se):
    assert rel_err(est, ref["result"]["estimate"][name]) < TOL
    assert rel_err(se, ref["result"]["se"][name]) < TOL


def test_dstrat_mean_total(data):
    """svymean(~api00, dstrat); svytotal(~enroll, dstrat) -- stratified, with fpc."""
    st, _, _ = data
    d = dstrat(st)
    _check(REF["dstrat_svymean_api00"], "api00", *mean_se(d, st["api00"].to_numpy(float)))
    _check(REF["dstrat_svytotal_enroll"], "enroll", *total_se(d, st["enroll"].to_numpy(float)))


def test_dclus1_mean_total(data):
    """svymean(~api00, dclus1); svytotal(~enroll, dclus1) -- one-stage cluster sample with fpc."""
    _, c1, _ = data
    d = dclus1(c1)
    _check(REF["dclus1_svymean_api00"], "api00", *mean_se(d, c1["api00"].to_numpy(float)))
    _check(REF["dclus1_svytotal_enroll"], "enroll", *total_se(d, c1["enroll"].to_numpy(float)))


def test_rclus1_tight(data):
    """rake(dclus1, list(~stype, ~sch.wide), ..., control = list(maxit = 100, epsilon = 1e-12)): weights,
    svymean(~api00) and svytotal(~enroll) with the calibration in the SE; and the same weights as fixed
    design weights (no calibration term)."""
    _, c1, ap = data
    d, cal = rclus1_tight(c1, ap)
    ws = REF["rclus1_tight_weights_summary"]["result"]
    assert abs(cal.weights.sum() - ws["sum"]) < 1e-9
    assert rel_err(cal.weights.min(), ws["min"]) < TOL and rel_err(cal.weights.max(), ws["max"]) < TOL
    assert rel_err(cal.weights[0], ws["first"]) < TOL
    cells = REF["rclus1_tight_weights_by_stype_schwide"]["result"]
    for key, val in cells.items():
        s, sw = key.split("|")
        first = np.flatnonzero((c1["stype"] == s).to_numpy() & (c1["sch.wide"] == sw).to_numpy())[0]
        assert rel_err(cal.weights[first], val) < TOL
    _check(REF["rclus1_tight_svymean_api00"], "api00", *mean_se(d, c1["api00"].to_numpy(float)))
    _check(REF["rclus1_tight_svytotal_enroll"], "enroll", *total_se(d, c1["enroll"].to_numpy(float)))
    fixed = dclus1(c1).with_weights(cal.weights, None)
    fixed = stratified_design(np.zeros(len(c1)), cal.weights, psu=c1["dnum"].to_numpy(), fpc=c1["fpc"].to_numpy())
    _check(REF["rclus1_tight_fixed_weights_svymean_api00"], "api00", *mean_se(fixed, c1["api00"].to_numpy(float)))


def test_rake_default_control_is_not_converged(data):
    """rclus1 (rake's default maxit = 10, epsilon = 1) is NOT the converged raking: our converged SE matches
    rclus1_tight, and differs from rclus1's by ~1e-6 relative -- the reason tight is the reference."""
    _, c1, ap = data
    d, _ = rclus1_tight(c1, ap)
    m, se = mean_se(d, c1["api00"].to_numpy(float))
    loose = REF["rclus1_svymean_api00"]["result"]
    assert 1e-8 < rel_err(se, loose["se"]["api00"]) < 1e-5


def test_degf(data):
    """degf(dstrat) = 197 (200 - 3 strata); degf(dclus1) = 14 (15 PSUs - 1) -- via domain_ratios' df."""
    st, c1, _ = data
    one = np.ones(len(st))
    res = domain_ratios(dstrat(st), one, one, np.zeros(len(st), dtype=np.int64), 1)
    assert res.df[0, 0] == REF["dstrat_degf"]["result"]["value"] == 197
    one = np.ones(len(c1))
    res = domain_ratios(dclus1(c1), one, one, np.zeros(len(c1), dtype=np.int64), 1)
    assert res.df[0, 0] == REF["dclus1_degf"]["result"]["value"] == 14


def test_svyby_stype(data):
    """svyby(~api00, ~stype, dstrat, svymean) via domain_ratios (each stratum lies in one domain)."""
    st, _, _ = data
    codes, levels = pd.factorize(st["stype"], sort=True)
    ref = REF["dstrat_svyby_api00_stype_svymean"]["result"]
    assert list(levels) == ref["stype"]
    y = st["api00"].to_numpy(float)
    res = domain_ratios(dstrat(st), y, np.ones(len(st)), codes.astype(np.int64), len(levels))
    assert rel_err(res.estimate[:, 0], ref["estimate"]) < TOL
    assert rel_err(res.se[:, 0], ref["se"]) < TOL


def test_svyciprop_logit(data):
    """svyciprop(~I(sch.wide == 'Yes'), dstrat, method = 'logit'): estimate, SE (= svymean's), CI with
    df = 197. R's CI comes from svyglm's IRLS (default glm epsilon 1e-8), so it agrees to ~1e-9 only."""
    st, _, _ = data
    y = (st["sch.wide"] == "Yes").to_numpy(float)
    res = domain_ratios(dstrat(st), y, np.ones(len(st)), np.zeros(len(st), dtype=np.int64), 1)
    ref = REF["dstrat_svyciprop_schwide_logit"]["result"]
    wald = REF["dstrat_svymean_schwide_yes"]["result"]
    assert rel_err(res.estimate[0, 0], wald["estimate"]['I(sch.wide == "Yes")TRUE']) < TOL
    assert rel_err(res.estimate[0, 0], ref["estimate"]) < 1e-9  # svyglm's expit(coef), IRLS-precise
    assert rel_err(res.se[0, 0], ref["se"]) < TOL
    assert res.df[0, 0] == ref["ci_df"]
    lo, hi = logit_ci(res.estimate, res.se, res.df, ref["level"])
    assert rel_err(lo[0, 0], ref["ci_lower"]) < 1e-8
    assert rel_err(hi[0, 0], ref["ci_upper"]) < 1e-8


def test_vcov_is_symmetric_and_consistent(data):
    """Joint covariance of two means: its diagonal equals the separate variances, and it is symmetric."""
    _, c1, ap = data
    d, _ = rclus1_tight(c1, ap)
    w = d.weights
    W = w.sum()
    ys = np.column_stack([c1["api00"], c1["api99"]]).astype(float)
    m = (w[:, None] * ys).sum(0) / W
    V = linearized_vcov(d, (ys - m) / W)
    assert np.allclose(V, V.T, rtol=0, atol=1e-14 * np.abs(V).max())
    for j in range(2):
        assert rel_err(np.sqrt(V[j, j]), mean_se(d, ys[:, j])[1]) < 1e-14


# --- lonely PSUs ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lonely(data):
    """apistrat with a single high school (the first H row): stratum 'H' has one PSU."""
    st, _, _ = data
    keep = (st["stype"] != "H").to_numpy().copy()
    keep[np.flatnonzero(st["stype"] == "H")[0]] = True
    return st[keep].reset_index(drop=True)


def test_lonely_psu_fail_names_stratum(lonely):
    d = stratified_design(lonely["stype"].to_numpy(), lonely["pw"].to_numpy())
    with pytest.raises(DesignError, match=r"stratum 'H' har en enda PSU"):
        mean_se(d, lonely["api00"].to_numpy(float))


@pytest.mark.rlive
@pytest.mark.parametrize("policy", ["certainty", "adjust"])
@pytest.mark.parametrize("fpc", [False, True])
def test_lonely_psu_policies_match_R(lonely, policy, fpc):
    """options(survey.lonely.psu = policy); svymean(~api00) and svytotal(~enroll) on
    svydesign(id = ~1, strata = ~stype, weights = ~pw, data = lonely[, fpc = ~fpc])."""
    R = api_reference()
    assert R["lonely_rows"] == [
        int(i)
        for i in np.flatnonzero(
            (pd.read_csv(API / "apistrat.csv")["stype"] != "H").to_numpy()
            | (np.arange(200) == np.flatnonzero(pd.read_csv(API / "apistrat.csv")["stype"] == "H")[0])
        )
    ]
    ref = R[f"lonely_{policy}" + ("_fpc" if fpc else "")]
    d = stratified_design(
        lonely["stype"].to_numpy(),
        lonely["pw"].to_numpy(),
        fpc=lonely["fpc"].to_numpy() if fpc else None,
        lonely_psu=policy,
    )
    m, se = mean_se(d, lonely["api00"].to_numpy(float))
    assert rel_err(m, ref["mean"]) < 1e-14
    assert rel_err(se, ref["se_mean"]) < TOL, (se, ref["se_mean"])
    if policy == "certainty":
        _, se_t = total_se(d, lonely["enroll"].to_numpy(float))
        assert rel_err(se_t, ref["se_total"]) < TOL, (se_t, ref["se_total"])


@pytest.mark.rlive
@pytest.mark.parametrize("fpc", [False, True])
def test_lonely_psu_adjust_total_matches_R(lonely, fpc):
    """options(survey.lonely.psu = 'adjust'); svytotal(~enroll, svydesign(id = ~1, strata = ~stype,
    weights = ~pw, data = lonely[, fpc = ~fpc]))."""
    ref = api_reference()["lonely_adjust" + ("_fpc" if fpc else "")]
    d = stratified_design(
        lonely["stype"].to_numpy(),
        lonely["pw"].to_numpy(),
        fpc=lonely["fpc"].to_numpy() if fpc else None,
        lonely_psu="adjust",
    )
    _, se_t = total_se(d, lonely["enroll"].to_numpy(float))
    assert rel_err(se_t, ref["se_total"]) < TOL, (se_t, ref["se_total"])


def test_lonely_psu_adjust_hand_computed(lonely):
    """The documented 'adjust' rule (R's), by hand: V = sum over strata with n_h > 1 of
    n_h/(n_h-1) sum (t - tbar_h)^2, plus t_1^2 (not centred) for the lonely stratum."""
    t = (lonely["pw"] * lonely["enroll"]).to_numpy(float)
    v = 0.0
    for _s, grp in pd.Series(t).groupby(lonely["stype"].to_numpy()):
        x = grp.to_numpy()
        v += x @ x if len(x) == 1 else len(x) / (len(x) - 1) * ((x - x.mean()) @ (x - x.mean()))
    d = stratified_design(lonely["stype"].to_numpy(), lonely["pw"].to_numpy(), lonely_psu="adjust")
    assert rel_err(total_se(d, lonely["enroll"].to_numpy(float))[1], np.sqrt(v)) < 1e-13
