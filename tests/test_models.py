"""survey.models: design-based GLMs, Wald tests, margins, series breaks, trends, Fay–Herriot.

Numbers are checked against R ``survey`` 4.1.1: the shared oracle's expected trend.csv, the api textbook
reference, values computed with R (code in comments) and a live run of reference.R on a fresh wave.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import expit

sys.path.insert(0, str(Path(__file__).resolve().parent / "r"))
from oracle import REFERENCE_R, read_population, read_responses, rel_err, run_r

from survey.data.codebook import Indicator, SeriesBreak
from survey.design import stratified_design
from survey.errors import ModelError
from survey.models import (
    district_trends,
    district_trends_differ,
    fay_herriot,
    fit_trend_model,
    fit_trends,
    predicted_shares,
    small_area_shares,
    svyglm,
    trend_rows,
    wald_test,
)
from survey.pipeline.steps import weight
from survey.variance import linearized_vcov

SHARED = Path(__file__).resolve().parents[2] / "shared"
SAMPLE = SHARED / "data" / "sample-wave"
API = SHARED / "data" / "api"

PROBLEMS = (
    "littering",
    "dark_places",
    "graffiti",
    "vandalism",
    "youth_groups",
    "drug_dealing",
    "drunk_people",
    "traffic",
)


def contract_indicators() -> list[Indicator]:
    """The 15 indicators of the data contract, built by hand (numerator codes of the contract)."""
    five = (1, 2, 3, 4, 9)
    inds = [
        Indicator("unsafe_after_dark", "q_safe_after_dark", (3, 4, 5), (1, 2, 3, 4, 5, 6, 9)),
        Indicator("safe_after_dark", "q_safe_after_dark", (1, 2), (1, 2, 3, 4, 5, 6, 9)),
        Indicator("worried_crime", "q_worry_crime", (1, 2), five),
    ]
    inds += [Indicator(f"problem_{p}", f"q_problem_{p}", (1, 2), five) for p in PROBLEMS]
    inds += [Indicator(f"victim_{k}", f"q_victim_{k}", (1,), (1, 2, 9)) for k in ("violence", "theft", "vandalism")]
    inds.append(Indicator("police_care", "q_police_care", (1, 2), five))
    return inds


@pytest.fixture(scope="module")
def wave():
    r = read_responses(SAMPLE / "responses.csv")
    p = read_population(SAMPLE / "population.csv")
    return r, weight(r, p).design


@pytest.fixture(scope="module")
def trend(wave):
    r, design = wave
    return fit_trends(design, r, contract_indicators())


# --- conformance: the oracle's trend.csv --------------------------------------------------------------


def compare_to_oracle(ours: pd.DataFrame, expected: pd.DataFrame) -> dict[str, float]:
    m = ours.merge(expected, on=["indicator", "term"], how="outer", suffixes=("", "_r"), indicator=True)
    assert (m["_merge"] == "both").all(), m.loc[m["_merge"] != "both", ["indicator", "term"]].head()
    return {"estimate": rel_err(m["estimate"], m["estimate_r"]), "se": rel_err(m["se"], m["se_r"])}


def test_trend_matches_oracle_sample_wave(trend):
    errs = compare_to_oracle(trend, pd.read_csv(SAMPLE / "expected" / "trend.csv"))
    # Observed: coefficients 1.0e-9, SEs 4.7e-8 relative. The SE floor is R's, not ours: R stops glm at
    # |dev - dev_old| / (|dev| + 0.1) < 1e-12 on the uncentred (1, year) columns, and refitting the oracle
    # with year centred (tests/r/trend_centred.R) agrees with our coefficients to 3.7e-12.
    assert errs["estimate"] < 5e-9, errs
    assert errs["se"] < 2e-7, errs


def test_trend_contract_shape(trend):
    assert list(trend.columns[:4]) == ["indicator", "term", "estimate", "se"]
    assert len(trend) == 15 * 7
    terms = trend.loc[trend["indicator"] == "unsafe_after_dark", "term"].tolist()
    # reference district = code-point first ("Duvbo"); "Älvsjö-Ängby" sorts last, not first
    assert terms == [
        "(Intercept)",
        "year",
        "district[Hallonbergen]",
        "district[Rissne]",
        "district[Ursvik]",
        "district[Väsby centrum]",
        "district[Älvsjö-Ängby]",
    ]
    assert (trend["note"] == "").all()


def test_trend_df_is_domain_psus_minus_strata(trend, wave):
    r, _ = wave
    # df.residual = (respondents in the domain - 18 strata) + 1 - 7 coefficients (R svyglm)
    for ind in contract_indicators():
        n_dom = int(r[ind.item].notna().sum())
        assert (trend.loc[trend.indicator == ind.name, "df"] == n_dom - 18 + 1 - 7).all()


def test_fast_path_equals_full_influence_matrix(wave):
    """The per-stratum factorisation V = sum_h s_h a_h a_h' equals linearized_vcov of the n x p influence."""
    r, design = wave
    ind = contract_indicators()[3]
    fit = fit_trend_model(design, r, ind)
    res = fit.result
    ans = r[ind.item].to_numpy(dtype=float, na_value=np.nan)
    dom = ~np.isnan(ans)
    y = np.isin(ans, ind.numerator).astype(float)
    districts = r["district"].to_numpy()
    x = np.column_stack(
        [np.ones(len(r)), r["year"].to_numpy(float)] + [(districts == d).astype(float) for d in fit.districts[1:]]
    )
    eta = x @ res.coef
    mu = expit(eta)
    w = design.weights * dom
    a = (x * (w * mu * (1 - mu))[:, None]).T @ x
    u = np.where(dom, y - mu, 0.0)[:, None] * np.linalg.solve(a, x.T).T
    v = linearized_vcov(design, u)
    assert rel_err(np.sqrt(np.diag(v)), res.se) < 1e-7  # uncentred here: ~1e-8 rounding
    # and the row-level path of svyglm (no cell=) gives the same numbers as the cell path
    res_rows = svyglm(design, y, x, res.terms, domain=dom)
    assert rel_err(res_rows.coef, res.coef) < 1e-10
    assert rel_err(res_rows.se, res.se) < 1e-9
    assert res_rows.df == res.df == int(dom.sum()) - 18


# --- api textbook cases (R survey 4.1.1) ----------------------------------------------------------------


@pytest.fixture(scope="module")
def apistrat():
    s = pd.read_csv(API / "apistrat.csv")
    return s, stratified_design(s.stype, s.pw, fpc=s.fpc)


def test_api_linear_svyglm(apistrat):
    import json

    s, d = apistrat
    ref = next(
        e
        for e in json.loads((API / "reference.json").read_text())["results"]
        if e["id"] == "dstrat_svyglm_api00_ell_meals_mobility"
    )["result"]
    x = np.column_stack([np.ones(len(s)), s.ell, s.meals, s.mobility])
    res = svyglm(d, s.api00.to_numpy(float), x, ref["term"], family="gaussian")
    assert rel_err(res.coef, ref["estimate"]) < 1e-12
    assert rel_err(res.se, ref["se"]) < 1e-12
    assert rel_err(res.t, ref["t"]) < 1e-12
    assert rel_err(res.p_value, ref["p"]) < 1e-10
    assert res.df_residual == ref["df_residual"] == 194
    assert res.dispersion == pytest.approx(ref["dispersion"], rel=1e-12)


def test_api_wald_linear(apistrat):
    # R: m <- svyglm(api00 ~ ell + meals + mobility, design = dstrat)
    #    regTermTest(m, ~ell + mobility)            -> F 1.04630561884845763, df 2, ddf 194, p 0.35320635988564558
    #    regTermTest(m, ~ell + mobility, df = Inf)  -> chisq 2.09261123769691526, p 0.35123294353349926
    s, d = apistrat
    x = np.column_stack([np.ones(len(s)), s.ell, s.meals, s.mobility])
    res = svyglm(d, s.api00.to_numpy(float), x, ["(Intercept)", "ell", "meals", "mobility"], family="gaussian")
    t = wald_test(res, ["ell", "mobility"])
    assert (t.df, t.ddf) == (2, 194)
    assert pytest.approx(1.04630561884845763, rel=1e-12) == t.F
    assert t.p_value == pytest.approx(0.35320635988564558, rel=1e-10)
    assert t.chisq == pytest.approx(2.09261123769691526, rel=1e-12)
    assert t.p_value_chisq == pytest.approx(0.35123294353349926, rel=1e-10)
    assert wald_test(res, ["ell", "mobility"], df=np.inf).p_value == pytest.approx(0.35123294353349926, rel=1e-10)


def test_api_logistic_domain_and_wald(apistrat):
    # R: g <- svyglm(I(sch.wide == "Yes") ~ ell + meals + mobility, design = subset(dstrat, enroll > 400),
    #                family = quasibinomial(), control = glm.control(epsilon = 1e-14, maxit = 100))
    #    coef, SE(g), g$df.residual (130), degf(subset) (133), summary(g)$dispersion, deviance(g),
    #    regTermTest(g, ~meals + mobility) -> F 1.1551749132649536, df 2, ddf 130, p 0.31821434157589229
    s, d = apistrat
    x = np.column_stack([np.ones(len(s)), s.ell, s.meals, s.mobility])
    y = (s["sch.wide"] == "Yes").to_numpy(float)
    res = svyglm(d, y, x, ["(Intercept)", "ell", "meals", "mobility"], domain=(s.enroll > 400).to_numpy())
    assert (
        rel_err(res.coef, [0.69216623913168795, 0.01104776168726743, -0.0094428532997644279, 0.042320777785710209])
        < 1e-9
    )
    assert (
        rel_err(res.se, [0.40441902041820416, 0.015317523792244565, 0.01078510675071623, 0.028228824059284001]) < 1e-9
    )
    assert (res.df, res.df_residual) == (133, 130)
    assert res.converged
    assert res.dispersion == pytest.approx(1.0272496554371542, rel=1e-9)
    assert res.deviance == pytest.approx(144.86255161951209, rel=1e-9)
    t = wald_test(res, ["meals", "mobility"])
    assert pytest.approx(1.1551749132649536, rel=1e-8) == t.F
    assert t.ddf == 130
    assert t.p_value == pytest.approx(0.31821434157589229, rel=1e-8)


def test_wald_single_term_is_t_squared(trend, wave):
    r, design = wave
    res = fit_trend_model(design, r, contract_indicators()[0]).result
    t = wald_test(res, "year")
    j = res.index("year")
    assert pytest.approx(res.t[j] ** 2, rel=1e-12) == t.F
    assert t.p_value == pytest.approx(res.p_value[j], rel=1e-10)
    assert wald_test(res, "district").df == 5  # factor group: district[...]
    with pytest.raises(ModelError):
        wald_test(res, "sex")


# --- margins, odds ratios, percentage points --------------------------------------------------------------


def test_margins_odds_ratio_and_pp_by_hand(wave):
    r, design = wave
    ind = contract_indicators()[0]
    fit = fit_trend_model(design, r, ind)
    res = fit.result
    b, v = res.coef, res.vcov
    q = stats.t.ppf(0.975, res.df_residual)
    sh = predicted_shares(fit)
    row = sh[(sh.year == 2023) & (sh.district == "Rissne")].iloc[0]
    x = np.zeros(len(b))
    x[0], x[1], x[res.index("district[Rissne]")] = 1, 2023, 1
    eta, se_eta = x @ b, np.sqrt(x @ v @ x)
    assert row.estimate == pytest.approx(expit(eta), rel=1e-12)
    assert row.se == pytest.approx(expit(eta) * (1 - expit(eta)) * se_eta, rel=1e-10)
    assert row.ci_low == pytest.approx(expit(eta - q * se_eta), rel=1e-10)
    assert row.ci_high == pytest.approx(expit(eta + q * se_eta), rel=1e-10)
    assert len(sh) == 18 and sh.estimate.between(0, 1).all()

    tr = district_trends(fit).set_index("district")
    j = res.index("year")
    assert tr.odds_ratio.to_numpy() == pytest.approx(np.full(6, np.exp(b[j])), rel=1e-12)
    assert tr.loc["Duvbo", "or_ci_low"] == pytest.approx(np.exp(b[j] - q * res.se[j]), rel=1e-12)

    # pp per year = average over the district's year cells (weights W_dt) of p (1 - p) b_year; the SE by the
    # delta method with a numerical gradient
    cells = fit.cells[fit.cells.district == "Rissne"]
    xs = np.zeros((len(cells), len(b)))
    xs[:, 0], xs[:, 1], xs[:, res.index("district[Rissne]")] = 1, cells.year, 1
    wt = cells.weight.to_numpy() / cells.weight.sum()

    def ame(beta):
        p = expit(xs @ beta)
        return beta[j] * (wt @ (p * (1 - p)))

    # numerical gradient in the year-centred parametrisation (b = T bc), where differences are well conditioned
    tm = np.eye(len(b))
    tm[0, j] = -2023.0
    bc, vc = np.linalg.solve(tm, b), np.linalg.solve(tm, np.linalg.solve(tm, v).T)
    h = 1e-6
    grad = np.array([(ame(tm @ (bc + h * e)) - ame(tm @ (bc - h * e))) / (2 * h) for e in np.eye(len(b))])
    assert tr.loc["Rissne", "pp_per_year"] == pytest.approx(100 * ame(b), rel=1e-12)
    assert tr.loc["Rissne", "pp_se"] == pytest.approx(100 * np.sqrt(grad @ vc @ grad), rel=1e-6)


def test_interaction_model_and_trends_differ(wave):
    r, design = wave
    fit = fit_trend_model(design, r, contract_indicators()[0], interaction=True)
    res = fit.result
    assert sum(t.startswith("year:district[") for t in res.terms) == 5
    tr = district_trends(fit).set_index("district")
    jy = res.index("year")
    jr = res.index("year:district[Rissne]")
    assert tr.loc["Rissne", "log_or"] == pytest.approx(res.coef[jy] + res.coef[jr], rel=1e-12)
    c = np.zeros(len(res.coef))
    c[[jy, jr]] = 1
    assert tr.loc["Rissne", "log_or_se"] == pytest.approx(np.sqrt(c @ res.vcov @ c), rel=1e-12)
    t = district_trends_differ(fit)
    assert t.df == 5 and t.ddf == res.df_residual
    idx = [res.index(f"year:district[{d}]") for d in fit.districts[1:]]
    bb = res.coef[idx]
    assert t.chisq == pytest.approx(bb @ np.linalg.solve(res.vcov[np.ix_(idx, idx)], bb), rel=1e-12)
    assert 0 < t.p_value < 1


# --- series breaks --------------------------------------------------------------------------------------


def test_series_break_fits_only_after_the_break(wave):
    r, design = wave
    inds = contract_indicators()
    brk = SeriesBreak(2023, "new question wording", ("q_safe_after_dark",))
    out = fit_trends(design, r, inds, series_breaks=[brk])
    plain = fit_trends(design, r, inds)
    hit = out.indicator.isin(["unsafe_after_dark", "safe_after_dark"])
    assert out.loc[hit, "note"].str.contains("serieavbrott 2023 \\(new question wording\\)").all()
    assert (out.loc[~hit, "note"] == "").all()
    pd.testing.assert_frame_equal(out[~hit].reset_index(drop=True), plain[~hit].reset_index(drop=True))
    # equals the model fitted on the 2023-2024 respondents' domain (rows kept in the design)
    ans = r["q_safe_after_dark"].to_numpy(dtype=float, na_value=np.nan)
    seg = ~np.isnan(ans) & (r.year >= 2023).to_numpy()
    fit = fit_trend_model(design, r, inds[0], series_breaks=[brk])
    assert fit.years == (2023, 2024)
    assert fit.result.n == int(seg.sum())
    x = fit.x_cells
    from survey.models.trends import trend_cells

    direct = svyglm(
        design, np.isin(ans, (3, 4, 5)).astype(float), x, fit.result.terms, domain=seg, cell=trend_cells(design, r).cell
    )
    got = out[out.indicator == "unsafe_after_dark"]
    assert rel_err(got.estimate.to_numpy(), direct.coef) < 1e-12
    assert not np.allclose(got.estimate.to_numpy(), plain[plain.indicator == "unsafe_after_dark"].estimate)


def test_series_break_leaving_one_year_gives_no_trend(wave):
    r, design = wave
    ind = contract_indicators()[0]
    fit = fit_trend_model(design, r, ind, series_breaks=[SeriesBreak(2024, "new mode", ())])
    rows = trend_rows(fit)
    yr = rows[rows.term == "year"].iloc[0]
    assert np.isnan(yr.estimate) and np.isnan(yr.se)
    assert "bara ett år (2024)" in yr.note and "serieavbrott 2024" in yr.note
    assert rows.term.tolist()[:2] == ["(Intercept)", "year"]
    assert district_trends(fit).empty
    # breaks outside the data's years change nothing
    same = fit_trend_model(
        design, r, ind, series_breaks=[SeriesBreak(2022, "first year", ()), SeriesBreak(2030, "future", ())]
    )
    assert same.note == "" and same.years == (2022, 2023, 2024)


# --- Fay–Herriot -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["PR", "REML"])
def test_fay_herriot_hand_case(method):
    # theta = 0..4, psi = 0.5, intercept only: S = sum (theta - 2)^2 = 10, A = S / (m - 1) - psi = 2 (REML =
    # moments in this balanced case), gamma = 0.8, EBLUP = 2 + 0.8 (theta - 2);
    # g1 = 0.4, g2 = (0.2)^2 (A + psi) / m = 0.02, Var(A) = 2 (A + psi)^2 / m = 2.5,
    # g3 = psi^2 / (A + psi)^3 * 2.5 = 0.04, MSE = g1 + g2 + 2 g3 = 0.5
    fh = fay_herriot(np.arange(5.0), np.full(5, 0.5), method=method)
    assert fh.a == pytest.approx(2.0, rel=1e-9)
    assert fh.estimate == pytest.approx([0.4, 1.2, 2.0, 2.8, 3.6], rel=1e-9)
    assert fh.gamma == pytest.approx(np.full(5, 0.8), rel=1e-9)
    assert fh.g2 == pytest.approx(np.full(5, 0.02), rel=1e-9)
    assert fh.g3 == pytest.approx(np.full(5, 0.04), rel=1e-9)
    assert fh.mse == pytest.approx(np.full(5, 0.5), rel=1e-9)


def test_fay_herriot_zero_variance_shrinks_to_mean():
    fh = fay_herriot(np.array([1.0, 1.1, 0.9, 1.0]), np.full(4, 1.0), method="PR")
    assert fh.a == 0.0
    assert fh.estimate == pytest.approx(np.full(4, 1.0))
    with pytest.raises(ModelError):
        fay_herriot(np.array([1.0, 2.0]), np.array([1.0, 0.0]))


def test_small_area_shares_logit_scale():
    # logit(p) = 0..4 with equal psi = 0.5 on the logit scale: the hand case above, back-transformed
    p = expit(np.arange(5.0))
    se = np.sqrt(0.5) * p * (1 - p)
    est = pd.DataFrame(
        {
            "year": 2024,
            "district": list("ABCDE"),
            "indicator": "x",
            "estimate": p,
            "se": se,
            "n": [10, 200, 300, 25, 400],
        }
    )
    est = pd.concat(
        [
            est,
            pd.DataFrame(
                {
                    "year": [2024],
                    "district": ["Totalt"],
                    "indicator": ["x"],
                    "estimate": [0.5],
                    "se": [0.01],
                    "n": [935],
                }
            ),
        ]
    )
    out = small_area_shares(est, method="PR", max_n=30)
    assert len(out) == 5 and (out.estimate_type == "modelled").all()
    m = expit(np.array([0.4, 1.2, 2.0, 2.8, 3.6]))
    assert out.modelled.to_numpy() == pytest.approx(m, rel=1e-12)
    assert out.modelled_se.to_numpy() == pytest.approx(m * (1 - m) * np.sqrt(0.5), rel=1e-12)
    assert out.use_modelled.tolist() == [True, False, False, True, False]
    assert out.estimate.to_numpy() == pytest.approx(p)  # the direct estimate stays beside it


# --- errors ---------------------------------------------------------------------------------------------


def test_errors(wave):
    r, design = wave
    n = design.n
    with pytest.raises(ModelError, match="inga svarande"):
        svyglm(design, np.zeros(n), np.ones((n, 1)), ["(Intercept)"], domain=np.zeros(n, bool))
    with pytest.raises(ModelError, match="inte full rang"):
        svyglm(design, np.zeros(n), np.ones((n, 2)), ["(Intercept)", "b"])
    with pytest.raises(ModelError, match="\\[0, 1\\]"):
        svyglm(design, np.full(n, 2.0), np.ones((n, 1)), ["(Intercept)"])
    with pytest.raises(ModelError, match="saknar kolumnen"):
        fit_trends(design, r, [Indicator("x", "q_missing", (1,), (1, 2))])


# --- live R: a fresh wave through reference.R ----------------------------------------------------------------


@pytest.mark.rlive
def test_trend_live_r_fresh_wave(tmp_path):
    """Shuffle each item's answers (blanks included) within year with a new seed: same register variables
    (the calibration stays feasible), new indicator values; compare with reference.R's trend.csv."""
    src = pd.read_csv(SAMPLE / "responses.csv", dtype=str, keep_default_na=False)
    rng = np.random.default_rng(20261123)
    for c in [c for c in src.columns if c.startswith("q_")]:
        for _, idx in src.groupby("year").groups.items():
            src.loc[idx, c] = rng.permutation(src.loc[idx, c].to_numpy())
    src = src.drop(columns=["comment"])
    resp = tmp_path / "responses.csv"
    src.to_csv(resp, index=False)
    out = run_r(
        REFERENCE_R, [resp, SAMPLE / "population.csv"], [resp, SAMPLE / "population.csv"], out_name="out", timeout=600
    )
    r = read_responses(resp)
    design = weight(r, read_population(SAMPLE / "population.csv")).design
    errs = compare_to_oracle(fit_trends(design, r, contract_indicators()), pd.read_csv(out / "trend.csv"))
    assert errs["estimate"] < 1e-8, errs
    assert errs["se"] < 1e-6, errs


# --- the flow's logic (plain function; real flow runs are the lead's integration tests) -----------------


def test_trend_outputs(wave):
    from survey.data.codebook import load_codebook
    from survey.models import trend_outputs

    r = read_responses(SAMPLE / "responses.csv")
    w = weight(r, read_population(SAMPLE / "population.csv"))
    cb = load_codebook()
    res = trend_outputs(w.design, r, cb.indicators, series_breaks=cb.series_breaks, district_trends_model=True)
    out = {"trend": res.trend, "shares": res.shares, "districts": res.districts, "tests": res.tests}
    errs = compare_to_oracle(
        out["trend"][["indicator", "term", "estimate", "se"]], pd.read_csv(SAMPLE / "expected" / "trend.csv")
    )
    assert errs["estimate"] < 5e-9 and errs["se"] < 2e-7
    assert len(out["shares"]) == 15 * 18 and len(out["districts"]) == 15 * 6 and len(out["tests"]) == 15
    long = res.long()
    assert long["model"].value_counts().to_dict() == {"margins": 270, "trend": 105, "district_trend": 90, "wald": 15}
    assert out["tests"]["df"].eq(5).all() and out["tests"]["p_value"].between(0, 1).all()
    assert out["shares"]["ci_low"].le(out["shares"]["estimate"]).all()
    assert out["shares"]["estimate"].le(out["shares"]["ci_high"]).all()
