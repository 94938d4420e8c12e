"""Calibration (survey.calibration) against R ``survey`` 4.1.1, its contracts, and its error paths.

Live R references come from tests/r/api_checks.R (``rlive``); each test names the R call.
Data: shared/data/api (apiclus1: one-stage cluster sample of 15 districts, pw constant; apistrat:
stratified by school type) and the shared sample wave.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "r"))
from oracle import API, SAMPLE_WAVE, api_reference, read_population, read_responses, rel_err

from survey.calibration import Margin, calibrate, poststratify, trim_weights
from survey.design import stratified_design
from survey.errors import CalibrationError
from survey.pipeline.steps import WeightingOptions, weight
from survey.variance import linearized_vcov


@pytest.fixture(scope="module")
def api():
    c1 = pd.read_csv(API / "apiclus1.csv")
    st = pd.read_csv(API / "apistrat.csv")
    ap = pd.read_csv(API / "apipop.csv")
    t_stype = ap.groupby("stype").size().rename("total").reset_index()
    t_sw = ap.groupby("sch.wide").size().rename("total").reset_index()
    return c1, st, [Margin(("stype",), t_stype), Margin(("sch.wide",), t_sw)], t_stype, t_sw


@pytest.fixture(scope="module")
def R():
    return api_reference()


def _clus1_design(c1):
    return stratified_design(
        np.zeros(len(c1)), c1["pw"].to_numpy(), psu=c1["dnum"].to_numpy(), fpc=c1["fpc"].to_numpy()
    )


def _mean_total_se(design, df):
    """svymean(~api00) and svytotal(~enroll): estimates and linearised SEs."""
    w = design.weights
    y = df["api00"].to_numpy(float)
    e = df["enroll"].to_numpy(float)
    W = w.sum()
    m = (w * y).sum() / W
    se_m = np.sqrt(linearized_vcov(design, (y - m) / W)[0, 0])
    se_t = np.sqrt(linearized_vcov(design, e)[0, 0])
    return m, se_m, (w * e).sum(), se_t


# (R key, our calibrate keywords, observed max rel. error of the weights, of the SEs) -- the R calls are
# calibrate(dclus1, ~stype + sch.wide, pop, calfun = ..., bounds = ..., maxit = 200, epsilon = 1e-13)
CASES = [
    ("linear", dict(method="linear"), 1e-13, 1e-13),
    ("linear_bounded", dict(method="linear", bounds=(0.9, 1.9)), 1e-12, 1e-12),
    ("logit", dict(method="logit", bounds=(0.5, 2.5)), 1e-11, 1e-11),  # observed 5e-13 / 3e-13
    ("logit_tight", dict(method="logit", bounds=(0.85, 2.0)), 1e-11, 1e-11),  # observed 7e-13 / 3e-13
    ("raking", dict(method="raking"), 1e-13, 1e-13),
    ("raking_bounded", dict(method="raking", bounds=(0.9, 1.9)), 1e-12, 1e-12),
]


@pytest.mark.rlive
@pytest.mark.parametrize("key,kw,tol_w,tol_se", CASES, ids=[c[0] for c in CASES])
def test_calibrate_options_match_R(api, R, key, kw, tol_w, tol_se):
    """Weights, svymean(~api00) and svytotal(~enroll) with SEs after R calibrate(dclus1, ...). ``prescale=False``
    is R's convention (bounds relative to the delivered pw, which sum to 6194.0003, not 6194); the default
    pre-scaling is checked against R on pre-scaled weights in test_robust_calibration.py."""
    c1, _, margins, _, _ = api
    cal = calibrate(c1, c1["pw"].to_numpy(), margins, prescale=False, **kw)
    ref = R[key]
    assert rel_err(cal.weights, ref["weights"]) < tol_w
    design = _clus1_design(c1).with_weights(cal.weights, cal.model)
    m, se_m, t, se_t = _mean_total_se(design, c1)
    assert rel_err(m, ref["mean_api00"]) < 1e-12
    assert rel_err(t, ref["total_enroll"]) < max(tol_w, 1e-12)
    assert rel_err(se_m, ref["se_mean_api00"]) < tol_se
    assert rel_err(se_t, ref["se_total_enroll"]) < tol_se
    if "bounds" in kw:
        lo, hi = kw["bounds"]
        assert cal.g.min() >= lo * (1 - 1e-12) and cal.g.max() <= hi * (1 + 1e-12)


@pytest.mark.rlive
def test_bounds_bind(api, R):
    """The bounded cases are real tests: unbounded raking has g outside [0.9, 1.9] (R rake: 0.88 .. 1.98),
    and the bounded weights (R calibrate(..., bounds = c(0.9, 1.9))) sit on both bounds."""
    c1, _, margins, _, _ = api
    g_free = np.asarray(R["raking"]["weights"]) / c1["pw"].to_numpy()
    assert g_free.min() < 0.9 and g_free.max() > 1.9
    g_b = np.asarray(R["raking_bounded"]["weights"]) / c1["pw"].to_numpy()
    assert abs(g_b.min() - 0.9) < 1e-12 and abs(g_b.max() - 1.9) < 1e-12


@pytest.mark.rlive
def test_poststratify_matches_R(api, R):
    """postStratify(dclus1, ~stype, pop.types) and postStratify(dstrat, ~sch.wide, pop.sw) (design weights
    vary within the post-strata there; R's post-stratification variance equals the GREG one)."""
    c1, st, _, t_stype, t_sw = api
    cal = poststratify(c1, c1["pw"].to_numpy(), ["stype"], t_stype)
    ref = R["post_clus1"]
    assert rel_err(cal.weights, ref["weights"]) < 1e-13
    _, se_m, _, se_t = _mean_total_se(_clus1_design(c1).with_weights(cal.weights, cal.model), c1)
    assert rel_err(se_m, ref["se_mean_api00"]) < 1e-13
    assert rel_err(se_t, ref["se_total_enroll"]) < 1e-13

    cal = poststratify(st, st["pw"].to_numpy(), ["sch.wide"], t_sw)
    ref = R["post_strat_schwide"]
    assert rel_err(cal.weights, ref["weights"]) < 1e-13
    dst = stratified_design(st["stype"].to_numpy(), st["pw"].to_numpy(), fpc=st["fpc"].to_numpy())
    m, se_m, _, se_t = _mean_total_se(dst.with_weights(cal.weights, cal.model), st)
    assert rel_err(m, ref["mean_api00"]) < 1e-13
    assert rel_err(se_m, ref["se_mean_api00"]) < 1e-13
    assert rel_err(se_t, ref["se_total_enroll"]) < 1e-13


@pytest.mark.rlive
def test_trim_weights_matches_R_when_one_group_is_free(api, R):
    """trimWeights(dstrat, lower = 18, upper = 40, strict = TRUE): with a single untrimmed weight class the
    spreading rule does not matter."""
    _, st, _, _, _ = api
    ours = trim_weights(st["pw"].to_numpy(), 18, 40)
    assert rel_err(ours, R["trim_dstrat"]["weights"]) < 1e-14
    assert abs(ours.sum() - st["pw"].sum()) < 1e-9


@pytest.mark.rlive
@pytest.mark.parametrize("key,lo,hi", [("trim_rclus1", 31, 60), ("trim_rclus1_b", 30, 50)])
def test_trim_weights_matches_R(R, key, lo, hi):
    """trimWeights(rclus1_tight, lower, upper, strict = TRUE) weights."""
    ours = trim_weights(np.asarray(R["rclus1_tight_weights"]), lo, hi)
    assert rel_err(ours, R[key]["weights"]) < 1e-8


def test_trim_weights_contract(api):
    """Whatever the spreading rule: sum kept, all weights inside the bounds, untouched when inside."""
    c1, _, margins, _, _ = api
    w = calibrate(c1, c1["pw"].to_numpy(), margins).weights
    for lo, hi in [(31, 60), (30, 50), (32, 45)]:
        t = trim_weights(w, lo, hi)
        assert abs(t.sum() - w.sum()) < 1e-9 * w.sum()
        assert t.min() >= lo * (1 - 1e-12) and t.max() <= hi * (1 + 1e-12)
    assert np.array_equal(trim_weights(w, 1, 100), w)
    with pytest.raises(CalibrationError, match=r"kan inte trimma 183 vikter"):
        trim_weights(w, 40, 45)  # 183 * 40 > sum = 6194


@pytest.mark.parametrize(
    "method,trim", [("raking", (0.85, 1.9)), ("raking", (0.5, 1.8)), ("linear", (0.5, 1.8)), ("raking", (0.5, 1.95))]
)
def test_trim_with_recalibration_contract(api, method, trim):
    """calibrate(..., trim=(lo, hi)) (ours: cap g, re-calibrate, repeat): the margins are met to 1e-8 and
    every g is within the bounds (to the documented 1e-9)."""
    c1, _, margins, t_stype, t_sw = api
    cal = calibrate(c1, c1["pw"].to_numpy(), margins, method=method, trim=trim)
    lo, hi = trim
    assert cal.g.min() >= lo * (1 - 1e-9) and cal.g.max() <= hi * (1 + 1e-9)
    w = pd.Series(cal.weights)
    for var, t in (("stype", t_stype), ("sch.wide", t_sw)):
        got = w.groupby(c1[var].to_numpy()).sum()
        assert np.max(np.abs(got.to_numpy() / t.set_index(var)["total"].reindex(got.index).to_numpy() - 1)) < 1e-8
    assert cal.max_relative_error < 1e-8


def test_trim_too_tight_raises(api):
    c1, _, margins, _, _ = api
    with pytest.raises(CalibrationError, match=r"trimning till g i \[0\.99, 1\.2\] med omkalibrering är omöjlig"):
        calibrate(c1, c1["pw"].to_numpy(), margins, trim=(0.99, 1.2))


@pytest.mark.rlive
def test_trim_feasible_with_both_bounds_binding(api, R):
    """trim=(0.9, 1.9) binds on both sides; R calibrate(dclus1, ~stype + sch.wide, pop, calfun = 'raking',
    bounds = c(0.9, 1.9)) shows it is feasible. (Before the lead's fix, the cap-and-recalibrate loop raised.)"""
    c1, _, margins, _, _ = api
    cal = calibrate(c1, c1["pw"].to_numpy(), margins, method="raking", trim=(0.9, 1.9), prescale=False)
    assert cal.g.min() >= 0.9 * (1 - 1e-9) and cal.g.max() <= 1.9 * (1 + 1e-9)
    assert cal.max_relative_error < 1e-12
    assert rel_err(cal.weights, R["raking_bounded"]["weights"]) < 1e-12


# --- error paths: each message names the cell -------------------------------------------------------


@pytest.fixture(scope="module")
def wave():
    return read_responses(SAMPLE_WAVE / "responses.csv"), read_population(SAMPLE_WAVE / "population.csv")


def test_infeasible_cell_named(wave):
    r, pop = wave
    r2 = r[~((r["year"] == 2022) & (r["district"] == "Rissne") & (r["age_group"] == "75-84"))]
    with pytest.raises(
        CalibrationError,
        match=r"omöjlig: year 2022, district Rissne, age_group 75-84 har populationen \d+ "
        r"men inga svarande",
    ):
        weight(r2, pop)


def test_zero_population_with_respondents_named(wave):
    r, pop = wave
    p2 = pop.copy()
    p2.loc[(p2["year"] == 2023) & (p2["district"] == "Duvbo") & (p2["age_group"] == "16-24"), "population"] = 0
    n = int(((r["year"] == 2023) & (r["district"] == "Duvbo") & (r["age_group"] == "16-24")).sum())
    assert n > 0
    with pytest.raises(
        CalibrationError, match=rf"year 2023, district Duvbo, age_group 16-24 har {n} svarande men populationen 0"
    ):
        weight(r, p2)


def test_unknown_method(wave):
    r, pop = wave
    with pytest.raises(CalibrationError, match=r"okänd kalibreringsmetod 'foo'"):
        weight(r, pop, WeightingOptions(method="foo"))


def test_logit_needs_bounds(wave):
    r, pop = wave
    with pytest.raises(CalibrationError, match=r"logit-kalibrering kräver ändliga gränser"):
        weight(r, pop, WeightingOptions(method="logit"))
    with pytest.raises(CalibrationError, match=r"lower < 1 < upper"):
        weight(r, pop, WeightingOptions(method="logit", bounds=(1.1, 3.0)))


def test_inconsistent_margins_named(wave):
    """Inconsistent margins: women of 2024 Ursvik +500 in the sex margin, age margin unchanged. The check before
    any iteration names the block, both margins and both totals (9263 + 500 = 9763)."""
    r, pop = wave
    t_sex = (
        pop.groupby(["year", "district", "sex"], as_index=False)["population"]
        .sum()
        .rename(columns={"population": "total"})
    )
    t_age = (
        pop.groupby(["year", "district", "age_group"], as_index=False)["population"]
        .sum()
        .rename(columns={"population": "total"})
    )
    t_sex.loc[(t_sex["year"] == 2024) & (t_sex["district"] == "Ursvik") & (t_sex["sex"] == 2), "total"] += 500
    with pytest.raises(
        CalibrationError,
        match=r"marginalerna är inkonsistenta i year 2024, district Ursvik: "
        r"district×sex summerar till 9763 men district×age_group till 9263",
    ):
        calibrate(
            r,
            r["design_weight"].to_numpy(),
            [Margin(("district", "sex"), t_sex), Margin(("district", "age_group"), t_age)],
            by=("year",),
        )


def test_population_of_district_without_respondents_is_a_note(wave):
    """Population rows of a year × district without respondents are ignored with a note (not an error),
    and the weights of the other strata are unchanged."""
    r, pop = wave
    extra = pop[(pop["year"] == 2022) & (pop["district"] == "Duvbo")].assign(district="Zzz-ingen")
    w0 = weight(r, pop)
    w1 = weight(r, pd.concat([pop, extra], ignore_index=True))
    assert any("utan svarande används inte" in n for n in w1.notes)
    assert np.max(np.abs(w1.calibration.weights - w0.calibration.weights)) == 0.0


# --- non-response adjustment, design weights and diagnostics: hand-computed cases ----------------------


def test_nonresponse_adjust_hand_computed():
    """Weighting classes (Särndal & Lundström 2005): w = d * sum_c d / sum_{c, resp} d for respondents."""
    from survey.calibration import nonresponse_adjust

    d = np.array([10.0, 10.0, 10.0, 20.0, 20.0, 5.0])
    cells = np.array(["a", "a", "a", "b", "b", "b"])
    resp = np.array([True, False, True, True, False, True])
    w = nonresponse_adjust(d, cells, resp)
    # cell a: 30 / 20 = 1.5; cell b: 45 / 25 = 1.8
    np.testing.assert_allclose(w, [15.0, 0.0, 15.0, 36.0, 0.0, 9.0], rtol=1e-15)
    assert w.sum() == pytest.approx(d.sum(), rel=1e-15)  # the gross sample's weight is kept
    with pytest.raises(CalibrationError, match="cellen 'b' har urvalspersoner men inga svarande"):
        nonresponse_adjust(d, cells, np.array([True, True, True, False, False, False]))


def test_design_weights_from_population_and_diagnostics():
    from survey.calibration import design_weights_from_population, kish_deff, weight_diagnostics

    strata = np.array([0, 0, 1, 1, 1])
    d = design_weights_from_population(strata, np.array([100.0, 300.0]))
    np.testing.assert_allclose(d, [50.0, 50.0, 100.0, 100.0, 100.0])
    w = np.array([40.0, 60.0, 50.0, 100.0, 150.0])
    # Kish: n sum w^2 / (sum w)^2
    assert kish_deff(w) == pytest.approx(5 * (40**2 + 60**2 + 50**2 + 100**2 + 150**2) / 400**2, rel=1e-15)
    diag = weight_diagnostics(w, d, strata, (("A",), ("B",)), ["district"])
    a, b = diag.iloc[0], diag.iloc[1]
    assert (a["district"], a["n"], a["sum_weights"], a["min_weight"], a["max_weight"]) == ("A", 2, 100.0, 40.0, 60.0)
    assert a["weight_ratio"] == pytest.approx(1.5) and b["weight_ratio"] == pytest.approx(3.0)
    assert a["kish_deff"] == pytest.approx(2 * (40**2 + 60**2) / 100**2, rel=1e-15)
    assert b["ess"] == pytest.approx(300**2 / (50**2 + 100**2 + 150**2), rel=1e-15)
    assert (b["min_g"], b["max_g"]) == (pytest.approx(0.5), pytest.approx(1.5))


# --- the collapsing rule for small cells ---------------------------------------------------------------


def _sample_frames():
    from survey.data.ingest import read_population, read_responses

    return (
        read_responses(SAMPLE_WAVE / "responses.csv").data.copy(),
        read_population(SAMPLE_WAVE / "population.csv").data.copy(),
    )


def test_collapse_equals_recoding_by_hand():
    """Merging Duvbo 2023's empty 75-84 into 65-74 (the only neighbour) must give exactly the weights and
    estimates of a wave where that district-year's 75-84 was recoded to 65-74 by hand, in the data and in
    the population; other districts and years keep all seven age groups."""
    from survey.data.codebook import load_codebook
    from survey.errors import CalibrationError as CE
    from survey.pipeline.steps import WeightingOptions, estimate, weight

    r, p = _sample_frames()
    cell = (r["year"] == 2023) & (r["district"] == "Duvbo") & (r["age_group"] == "75-84")
    assert cell.sum() > 0
    r = r[~cell].reset_index(drop=True)
    with pytest.raises(CE, match="year 2023, district Duvbo, age_group 75-84.*--collapse age_group"):
        weight(r, p)
    w = weight(r, p, WeightingOptions(collapse=(("age_group", 1),)))
    assert any("year 2023, district Duvbo: age_group 75-84 slogs ihop med 65-74 (0 svarande < 1)" in n for n in w.notes)
    p2 = p.copy()
    sel = (p2["year"] == 2023) & (p2["district"] == "Duvbo") & (p2["age_group"] == "75-84")
    p2.loc[sel, "age_group"] = "65-74"
    by_hand = weight(r, p2)
    np.testing.assert_allclose(w.weights["weight"], by_hand.weights["weight"], rtol=1e-12)
    cb = load_codebook()
    a, b = estimate(r, w, cb).estimates, estimate(r, by_hand, cb).estimates
    for c in ("estimate", "se", "ci_low", "ci_high"):
        np.testing.assert_allclose(a[c], b[c], rtol=1e-10, atol=1e-15)
    # other strata are untouched: Duvbo 2022 still meets its 75-84 total
    keep = (r["year"] == 2022) & (r["district"] == "Duvbo") & (r["age_group"] == "75-84")
    target = p[(p["year"] == 2022) & (p["district"] == "Duvbo") & (p["age_group"] == "75-84")]["population"].sum()
    assert w.weights["weight"][keep.to_numpy()].sum() == pytest.approx(target, rel=1e-10)


def test_collapse_rule_picks_the_smaller_neighbour_and_repeats():
    from survey.calibration import collapse_levels

    levels = ["16-24", "25-34", "35-44", "45-54"]
    # block 0: 25-34 has 1 respondent (< 3): neighbours 16-24 (10) and 35-44 (2) -> into 35-44; the merged
    # group has 3 >= 3, done. block 1: nothing to do.
    row_block = np.array([0] * 10 + [0] + [0] * 2 + [0] * 8 + [1] * 12)
    row_level = np.array([0] * 10 + [1] + [2] * 2 + [3] * 8 + [0, 1, 2, 3] * 3)
    tot_block = np.repeat([0, 1], 4)
    tot_level = np.tile(np.arange(4), 2)
    rl, tl, merged = collapse_levels(row_block, row_level, tot_block, tot_level, np.full(8, 100.0), levels, 3)
    assert merged == [(0, "25-34", "35-44", 1)]
    assert set(rl[row_block == 0]) == {0, 1, 3} and set(tl[tot_block == 0]) == {0, 1, 3}
    assert np.array_equal(rl[row_block == 1], [0, 1, 2, 3] * 3) and np.array_equal(tl[tot_block == 1], [0, 1, 2, 3])
