"""Replicate-weight variance (survey/replication.py): JKn, Rao–Wu bootstrap, re-calibration.

Numbers are checked against LIVE R ``survey`` (``@pytest.mark.rlive``: skipped without ``Rscript`` and the
``survey`` package, unless the environment variable ``CI`` is set, where a missing R is a failure).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from survey.calibration import Margin
from survey.data.synth import generate_wave
from survey.design import Design, stratified_design
from survey.errors import CalibrationError, DesignError
from survey.estimation import domain_ratios
from survey.pipeline.steps import weight
from survey.replication import (
    bootstrap_replicates,
    domain_replicates,
    domain_shares,
    jackknife_replicates,
    recalibrate,
    replicate_variance,
)

SHARED = Path(__file__).resolve().parents[2] / "shared"
SAMPLE_WAVE = SHARED / "data" / "sample-wave"
API = SHARED / "data" / "api"
AGES = ("16-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75-84")


# --- R helpers ----------------------------------------------------------------------------------------


def _have_r() -> bool:
    if shutil.which("Rscript") is None:
        return False
    res = subprocess.run(["Rscript", "-e", "suppressMessages(library(survey))"], check=False, capture_output=True)
    return res.returncode == 0


HAVE_R = _have_r()


def _need_r() -> None:
    if not HAVE_R:
        if os.environ.get("CI"):
            pytest.fail("Rscript with the survey package is required in CI")
        pytest.skip("Rscript with the survey package is not available")


def run_r(code: str) -> dict[str, np.ndarray]:
    """Run R code that prints lines ``name value value ...`` (17 significant digits); parse them."""
    _need_r()
    res = subprocess.run(
        ["Rscript", "-e", "suppressMessages(library(survey))\n" + code],
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 0, res.stderr
    out = {}
    for line in res.stdout.splitlines():
        parts = line.split()
        if parts and parts[0].startswith("@"):
            out[parts[0][1:]] = np.asarray([float(v) for v in parts[1:]])
    return out


R_OUT = 'out <- function(name, x) cat("@", name, " ", paste(sprintf("%.17g", x), collapse = " "), "\\n", sep = "")\n'


# --- data helpers ---------------------------------------------------------------------------------


def contract_margins(pop: pd.DataFrame) -> list[Margin]:
    """The contract's raking margins (district × sex, district × age_group, within year)."""
    out = []
    for mv in (("district", "sex"), ("district", "age_group")):
        tot = pop.groupby(["year", *mv], as_index=False, sort=True)["population"].sum()
        out.append(Margin(mv, tot.rename(columns={"population": "total"})))
    return out


def read_wave() -> tuple[pd.DataFrame, pd.DataFrame]:
    resp = pd.read_csv(SAMPLE_WAVE / "responses.csv", dtype={"resp_id": str, "district": str, "age_group": str})
    pop = pd.read_csv(SAMPLE_WAVE / "population.csv", dtype={"district": str, "age_group": str})
    return resp, pop


def shares(resp: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(num, base) of unsafe_after_dark (3, 4, 5 of q_safe_after_dark) and worried_crime (1, 2)."""
    a = resp["q_safe_after_dark"].to_numpy(dtype=float, na_value=np.nan)
    b = resp["q_worry_crime"].to_numpy(dtype=float, na_value=np.nan)
    base = np.column_stack([~np.isnan(a), ~np.isnan(b)]).astype(float)
    num = np.column_stack([np.isin(a, [3, 4, 5]), np.isin(b, [1, 2])]).astype(float)
    return num, base


def r_model_matrix(resp: pd.DataFrame, pop: pd.DataFrame, strata: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """reference.R's full-rank raking matrix: per stratum 1[h], 1[h] woman, 1[h] age a (a != 16-24)."""
    keys = sorted(set(zip(resp["year"], resp["district"])))
    cols, totals = {}, []
    for h, (y, dname) in enumerate(keys):
        in_h = (strata == h).astype(float)
        p_h = pop[(pop["year"] == y) & (pop["district"] == dname)]
        cols[f"x{h}_all"] = in_h
        totals.append(p_h["population"].sum())
        cols[f"x{h}_woman"] = in_h * (resp["sex"].to_numpy() == 2)
        totals.append(p_h.loc[p_h["sex"] == 2, "population"].sum())
        for j, age in enumerate(AGES[1:]):
            cols[f"x{h}_a{j}"] = in_h * (resp["age_group"].to_numpy() == age)
            totals.append(p_h.loc[p_h["age_group"] == age, "population"].sum())
    return pd.DataFrame(cols), np.asarray(totals, dtype=float)


def wave_2022_without_tiny(districts: tuple[str, ...] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sample wave, 2022, without `Väsby centrum` (whose single-respondent age groups make a JKn
    replicate's re-raking infeasible, see test_jkn_recalibration_infeasible_names_the_cell), or only
    ``districts`` (R's calibrate() on an svrep design costs ~0.1 s per replicate, and JKn has one per row)."""
    resp, pop = read_wave()
    keep = (resp["year"] == 2022) & (resp["district"] != "Väsby centrum")
    pkeep = (pop["year"] == 2022) & (pop["district"] != "Väsby centrum")
    if districts is not None:
        keep &= resp["district"].isin(districts)
        pkeep &= pop["district"].isin(districts)
    return resp[keep].reset_index(drop=True), pop[pkeep].reset_index(drop=True)


# --- structure, without R ------------------------------------------------------------------------


def small_design(fpc: bool = False) -> Design:
    strata = np.array(["a"] * 4 + ["b"] * 3 + ["c"] * 2)
    psu = np.array([1, 1, 2, 3, 1, 2, 3, 1, 2])
    d = np.array([2.0, 2, 2, 2, 5, 5, 5, 1, 1])
    f = np.array([10.0] * 4 + [6] * 3 + [2] * 2) if fpc else None
    return stratified_design(strata, d, psu=psu, fpc=f)


def test_jkn_factors_and_scales():
    des = small_design(fpc=True)
    jk = jackknife_replicates(des)
    # stratum c is a census (2 of 2 PSUs): no replicates (R drops them); a has 3 PSUs, b has 3
    assert jk.n_replicates == 6
    assert jk.deleted.tolist() == [0, 1, 2, 3, 4, 5]
    np.testing.assert_allclose(jk.rscales, [2 / 3 * (1 - 3 / 10)] * 3 + [2 / 3 * (1 - 3 / 6)] * 3, rtol=1e-15)
    a = jk.psu_factors(0, jk.n_replicates)
    assert a.shape == (8, 6)  # PSU level, never rows × replicates
    np.testing.assert_array_equal(a[:, 0], [0, 1.5, 1.5, 1, 1, 1, 1, 1])
    np.testing.assert_array_equal(a[:, 4], [1, 1, 1, 1.5, 0, 1.5, 1, 1])
    w = jk.replicate_weights(0, 2)
    np.testing.assert_array_equal(w[:, 0], des.design_weights * a[des.psu, 0])


def test_jkn_total_equals_linearisation():
    """For a total, JKn (either centring) equals the stratified with-replacement linearisation exactly."""
    rng = np.random.default_rng(3)
    n = 400
    strata = rng.integers(0, 7, n)
    psu = rng.integers(0, 6, n)
    des = stratified_design(strata, rng.uniform(1, 9, n), psu=psu)
    y = rng.normal(size=(n, 3))
    jk = jackknife_replicates(des)
    est = domain_replicates(jk, y, None, np.zeros(n, dtype=np.int64), 1)
    lin = domain_ratios(des, y, None, np.zeros(n, dtype=np.int64), 1)
    np.testing.assert_allclose(est.estimate, lin.estimate, rtol=1e-13)
    for mse in (False, True):
        np.testing.assert_allclose(np.sqrt(replicate_variance(est, mse=mse)), lin.se, rtol=1e-11)


def test_bootstrap_factors():
    des = small_design()
    bs = bootstrap_replicates(des, 500, seed=7)
    assert bs.draw_counts(0, 500).dtype == np.uint8 and bs.draw_counts(0, 500).shape == (8, 500)
    a = bs.psu_factors(0, 500)
    _, n_h = des.psu_strata()
    # Rao–Wu with m_h = n_h - 1: sum of counts n_h - 1, sum of factors n_h in every stratum and replicate
    for h in range(des.n_strata):
        in_h = des.psu_strata()[0] == h
        np.testing.assert_array_equal(bs.draw_counts(0, 500)[in_h].sum(axis=0), n_h[h] - 1)
        np.testing.assert_allclose(a[in_h].sum(axis=0), n_h[h], rtol=1e-14)
    assert bs.scale == 1 / 499
    again = bootstrap_replicates(des, 500, seed=7)
    np.testing.assert_array_equal(again.draw_counts(0, 500), bs.draw_counts(0, 500))
    cd = bootstrap_replicates(des, 500, seed=7, method="canty_davison")
    nbar = 1 / np.mean(1 / n_h)
    assert cd.scale == pytest.approx(nbar / ((nbar - 1) * 499), rel=1e-15)
    for h in range(des.n_strata):
        np.testing.assert_array_equal(cd.draw_counts(0, 500)[des.psu_strata()[0] == h].sum(axis=0), n_h[h])


def test_errors():
    lonely = stratified_design(np.array(["a", "a", "b"]), np.ones(3))
    with pytest.raises(DesignError, match="enda PSU"):
        jackknife_replicates(lonely)
    with pytest.raises(DesignError, match="enda PSU"):
        bootstrap_replicates(lonely, 10)
    ok = stratified_design(np.array(["a", "a", "b"]), np.ones(3), lonely_psu="certainty")
    assert jackknife_replicates(ok).n_replicates == 2
    with pytest.raises(DesignError, match="minst 2"):
        bootstrap_replicates(ok, 1)


def test_jkn_recalibration_infeasible_names_the_cell():
    """Deleting the only 75-84-year-old of Väsby centrum 2022 leaves the raking of that replicate infeasible."""
    resp, pop = read_wave()
    wr = weight(resp, pop)
    jk = jackknife_replicates(wr.design)
    with pytest.raises(
        CalibrationError,
        match=r"replikat \d+: kalibreringen går inte att lösa: year 2022, district "
        r"Väsby centrum, age_group 75-84",
    ):
        recalibrate(jk, resp, contract_margins(pop), by=("year",))


def test_recalibrated_full_sample_matches_calibrate():
    resp, pop = wave_2022_without_tiny()
    wr = weight(resp, pop)
    bs = recalibrate(bootstrap_replicates(wr.design, 20, seed=1), resp, contract_margins(pop), by=("year",))
    np.testing.assert_allclose(bs.full_weights(), wr.design.weights, rtol=1e-11)


# --- against live R -------------------------------------------------------------------------------


@pytest.mark.rlive
def test_jkn_apistrat_vs_r():
    api = pd.read_csv(API / "apistrat.csv")
    des = stratified_design(api["stype"].to_numpy(), api["pw"].to_numpy())
    jk = jackknife_replicates(des)
    est = domain_replicates(jk, api["api00"].to_numpy(), np.ones(len(api)), np.zeros(len(api), dtype=np.int64), 1)
    r = run_r(
        R_OUT
        + f"""
        a <- read.csv("{API / "apistrat.csv"}")
        d <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = a)
        m <- svymean(~api00, as.svrepdesign(d, type = "JKn"))
        out("est", coef(m)); out("se", SE(m))
        out("se_mse", SE(svymean(~api00, as.svrepdesign(d, type = "JKn", mse = TRUE))))"""
    )
    assert abs(est.estimate[0, 0] - r["est"][0]) < 1e-10
    assert abs(np.sqrt(replicate_variance(est))[0, 0] - r["se"][0]) < 1e-10
    assert abs(np.sqrt(replicate_variance(est, mse=True))[0, 0] - r["se_mse"][0]) < 1e-10


@pytest.mark.rlive
@pytest.mark.parametrize("method", ["raking", "linear"])
def test_jk1_clus1_calibrated_vs_r(method):
    api = pd.read_csv(API / "apiclus1.csv")
    des = stratified_design(
        np.zeros(len(api)), api["pw"].to_numpy(), psu=api["dnum"].to_numpy(), fpc=api["fpc"].to_numpy()
    )
    margins = [
        Margin(("stype",), pd.DataFrame({"stype": ["E", "H", "M"], "total": [4421, 755, 1018]})),
        Margin(("sch.wide",), pd.DataFrame({"sch.wide": ["No", "Yes"], "total": [1072, 5122]})),
    ]
    rc = recalibrate(jackknife_replicates(des), api, margins, method=method)
    one = np.zeros(len(api), dtype=np.int64)
    y = api[["api00", "api99"]].to_numpy(float)
    est = domain_replicates(rc, y, np.ones_like(y), one, 1)
    r = run_r(
        R_OUT
        + f"""
        a <- read.csv("{API / "apiclus1.csv"}")
        d <- svydesign(id = ~dnum, weights = ~pw, data = a, fpc = ~fpc)
        r <- calibrate(as.svrepdesign(d, type = "JK1"), ~stype + sch.wide, population = c(6194, 755, 1018, 5122),
                       calfun = "{method}", epsilon = 1e-12, maxit = 100)
        m <- svymean(~api00 + api99, r)
        out("est", coef(m)); out("se", SE(m))"""
    )
    np.testing.assert_allclose(est.estimate[0], r["est"], rtol=1e-12)
    assert np.max(np.abs(np.sqrt(replicate_variance(est))[0] - r["se"])) < 1e-8


def _wave_r_script(csv: Path, popfile: Path, setup: str, cal: str) -> str:
    return (
        R_OUT
        + f"""
        df <- read.csv("{csv}", encoding = "UTF-8", stringsAsFactors = FALSE)
        pop <- scan("{popfile}", quiet = TRUE)
        xs <- grep("^x", names(df), value = TRUE)
        {setup}
        {cal}
        for (y in c("y1", "y2")) {{
          est <- se <- c()
          for (dist in c(sort(unique(df$district), method = "radix"), "Totalt")) {{
            keep <- !is.na(df[[y]]) & (dist == "Totalt" | df$district == dist)
            m <- svymean(as.formula(paste0("~", y)), cal[keep, ])
            est <- c(est, coef(m)); se <- c(se, SE(m))
          }}
          out(paste0("est_", y), est); out(paste0("se_", y), se)
        }}"""
    )


def _export_wave(
    tmp_path: Path, resp: pd.DataFrame, pop: pd.DataFrame, strata: np.ndarray, extra: pd.DataFrame | None = None
) -> tuple[Path, Path]:
    x, totals = r_model_matrix(resp, pop, strata)
    num, base = shares(resp)
    df = pd.DataFrame(
        {
            "stratum": strata,
            "district": resp["district"].to_numpy(),
            "dw": resp["design_weight"].to_numpy(float),
            "y1": np.where(base[:, 0] > 0, num[:, 0], np.nan),
            "y2": np.where(base[:, 1] > 0, num[:, 1], np.nan),
        }
    )
    df = pd.concat([df, x] + ([extra] if extra is not None else []), axis=1)
    csv, popfile = tmp_path / "wave.csv", tmp_path / "pop.txt"
    df.to_csv(csv, index=False, float_format="%.17g", encoding="utf-8")
    popfile.write_text("\n".join(f"{t:.17g}" for t in totals))
    return csv, popfile


def _ours_by_district(reps, resp: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(estimates, SEs) as (districts + Totalt, 2) in R's loop order."""
    num, base = shares(resp)
    dcode, names = pd.factorize(resp["district"], sort=True)
    e_d, s_d = domain_shares(reps, num, base, dcode.astype(np.int64), len(names))
    e_t, s_t = domain_shares(reps, num, base, np.zeros(len(resp), dtype=np.int64), 1)
    return np.vstack([e_d, e_t]), np.vstack([s_d, s_t])


@pytest.mark.rlive
def test_jkn_reraking_sample_wave_vs_r(tmp_path):
    resp, pop = wave_2022_without_tiny(("Duvbo", "Hallonbergen", "Älvsjö-Ängby"))
    wr = weight(resp, pop)
    rc = recalibrate(jackknife_replicates(wr.design), resp, contract_margins(pop), by=("year",))
    assert rc.n_replicates == len(resp)
    est, se = _ours_by_district(rc, resp)
    csv, popfile = _export_wave(tmp_path, resp, pop, wr.design.strata)
    r = run_r(
        _wave_r_script(
            csv,
            popfile,
            "d <- svydesign(id = ~1, strata = ~stratum, weights = ~dw, data = df)\n"
            "rep <- as.svrepdesign(d, type = 'JKn')",
            "cal <- calibrate(rep, as.formula(paste('~0+', paste(xs, collapse = '+'))), "
            "population = pop, calfun = 'raking', epsilon = 1e-12, maxit = 100)",
        )
    )
    for j, y in enumerate(("y1", "y2")):
        np.testing.assert_allclose(est[:, j], r[f"est_{y}"], rtol=1e-12)
        assert np.max(np.abs(se[:, j] - r[f"se_{y}"])) < 1e-8, (se[:, j], r[f"se_{y}"])
    # loose sanity check: the re-raked JKn SEs are near the linearisation SEs (here 5-22 % larger: small
    # age-group cells, e.g. n = 130 in Älvsjö-Ängby, make the jackknife of the raking conservative)
    lin = domain_ratios(wr.design, *shares(resp), pd.factorize(resp["district"], sort=True)[0].astype(np.int64), 3)
    assert np.all(np.abs(se[:3] / lin.se - 1) < 0.25)


@pytest.mark.rlive
def test_bootstrap_same_factors_vs_r(tmp_path):
    # districts whose smallest age group has >= 13 respondents: Älvsjö-Ängby's 3 respondents aged 16-24
    # are all left out of about 5 % of the bootstrap replicates, whose re-raking is then infeasible
    resp, pop = wave_2022_without_tiny(("Hallonbergen", "Rissne", "Ursvik"))
    wr = weight(resp, pop)
    bs = bootstrap_replicates(wr.design, 60, seed=2024)
    rc = recalibrate(bs, resp, contract_margins(pop), by=("year",))
    est0, se0 = _ours_by_district(bs, resp)  # without re-calibration, design weights
    est, se = _ours_by_district(rc, resp)
    csv, popfile = _export_wave(tmp_path, resp, pop, wr.design.strata, extra=bs.row_factors_frame())
    setup = (
        "reps <- df[, grep('^rep', names(df))]\n"
        "rep <- svrepdesign(data = df, repweights = reps, weights = ~dw, type = 'bootstrap', "
        "combined.weights = FALSE)\n"
        "stopifnot(abs(rep$scale - 1/59) < 1e-15)\n"
        "for (y in c('y1', 'y2')) { se <- c()\n"
        "  for (dist in c(sort(unique(df$district), method = 'radix'), 'Totalt')) {\n"
        "    keep <- !is.na(df[[y]]) & (dist == 'Totalt' | df$district == dist)\n"
        "    se <- c(se, SE(svymean(as.formula(paste0('~', y)), rep[keep, ]))) }\n"
        "  out(paste0('se0_', y), se) }"
    )
    r = run_r(
        _wave_r_script(
            csv,
            popfile,
            setup,
            "cal <- calibrate(rep, as.formula(paste('~0+', paste(xs, collapse = '+'))), "
            "population = pop, calfun = 'raking', epsilon = 1e-12, maxit = 100, "
            "compress = FALSE)",
        )
    )  # survey 4.1.1's default compress = NA fails here
    for j, y in enumerate(("y1", "y2")):
        assert np.max(np.abs(se0[:, j] - r[f"se0_{y}"])) < 1e-10
        np.testing.assert_allclose(est[:, j], r[f"est_{y}"], rtol=1e-12)
        assert np.max(np.abs(se[:, j] - r[f"se_{y}"])) < 1e-8, (se[:, j], r[f"se_{y}"])
    assert not np.allclose(se0, se)


# --- statistical sanity ---------------------------------------------------------------


def _all_items(resp: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    qs = [c for c in resp.columns if c.startswith("q_")]
    v = np.column_stack([resp[c].to_numpy(dtype=float, na_value=np.nan) for c in qs])
    base = (~np.isnan(v)).astype(float)
    return np.isin(v, [1, 2]).astype(float) * base, base


def test_bootstrap_se_close_to_linearisation():
    """Rao–Wu bootstrap (200 replicates, re-raked) vs calibration-aware linearisation on a synthetic wave."""
    resp, pop = generate_wave(20000, 6, 2, seed=11)
    wr = weight(resp, pop)
    rc = recalibrate(bootstrap_replicates(wr.design, 200, seed=5), resp, contract_margins(pop), by=("year",))
    num, base = _all_items(resp)
    ycode, years = pd.factorize(resp["year"], sort=True)
    dcode = resp.groupby(["year", "district"], sort=True).ngroup().to_numpy(np.int64)
    for code, n_dom, tol_each in ((ycode.astype(np.int64), len(years), 0.15), (dcode, int(dcode.max()) + 1, 0.15)):
        est, se = domain_shares(rc, num, base, code, n_dom)
        lin = domain_ratios(wr.design, num, base, code, n_dom)
        np.testing.assert_allclose(est, lin.estimate, rtol=1e-10)
        ratio = se / lin.se
        assert np.all(np.abs(ratio - 1) < tol_each), ratio
        assert abs(np.median(ratio) - 1) < 0.05


def test_rao_wu_fpc_variance_of_a_total():
    """With an fpc, E*[(t* - t)^2] of the Rao–Wu bootstrap is (1 - f_h) n_h / (n_h - 1) sum (t_hj - tbar)^2 for
    a total: 4000 replicates reproduce the linearisation SE (which applies the fpc) to Monte-Carlo error."""
    rng = np.random.default_rng(8)
    n = 300
    strata = np.repeat(np.arange(3), 100)
    fpc = np.repeat([150.0, 400.0, 1000.0], 100)  # f_h = 2/3, 1/4, 1/10
    des = stratified_design(strata, fpc / 100, fpc=fpc)
    y = rng.gamma(2.0, 3.0, size=(n, 1))
    bs = bootstrap_replicates(des, 4000, seed=9)
    est = domain_replicates(bs, y, None, np.zeros(n, dtype=np.int64), 1)
    lin = domain_ratios(des, y, None, np.zeros(n, dtype=np.int64), 1)
    assert np.sqrt(replicate_variance(est, mse=True))[0, 0] == pytest.approx(lin.se[0, 0], rel=0.04)
