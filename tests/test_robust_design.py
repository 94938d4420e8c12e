"""Census strata and the lonely-PSU policies (issue 9) against live R ``survey`` 4.1.1.

R: ``svydesign(id = ~1, strata = ~stype, weights = ~pw, data = ..., fpc = ...)`` with
``options(survey.lonely.psu = ...)``; svymean(~api00) and svytotal(~enroll).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "r"))
from inline import run_r_code
from oracle import API, rel_err

from survey.design import LONELY_POLICIES, stratified_design
from survey.errors import DesignError
from survey.estimation import domain_ratios
from survey.replication import bootstrap_replicates, domain_replicates, jackknife_replicates, replicate_variance
from survey.variance import linearized_vcov

TOL = 1e-12
STRAT = API / "apistrat.csv"


def _mean_total(design, df: pd.DataFrame) -> tuple[float, float, float]:
    w = design.weights
    y = df["api00"].to_numpy(float)
    W = w.sum()
    m = (w * y).sum() / W
    se_m = float(np.sqrt(linearized_vcov(design, (y - m) / W)[0, 0]))
    se_t = float(np.sqrt(linearized_vcov(design, df["enroll"].to_numpy(float))[0, 0]))
    return m, se_m, se_t


def _lonely_frame() -> pd.DataFrame:
    """apistrat with a single high school (the first H row): stratum H has one PSU."""
    st = pd.read_csv(STRAT)
    keep = (st["stype"] != "H").to_numpy().copy()
    keep[np.flatnonzero(st["stype"] == "H")[0]] = True
    return st[keep].reset_index(drop=True)


R_LONELY = """
a <- read.csv("{path}")
keep <- a$stype != "H" | seq_len(nrow(a)) == which(a$stype == "H")[1]
a <- a[keep, ]
{census}
"""


def _r_stats(policy: str, fpc: str | None, census: str = "") -> dict:
    fpc_arg = f", fpc = ~{fpc}" if fpc else ""
    code = (
        R_LONELY.format(path=STRAT, census=census)
        + f"""
options(survey.lonely.psu = "{policy}")
d <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = a{fpc_arg})
m <- svymean(~api00, d); t <- svytotal(~enroll, d)
out("m", coef(m)); out("se_m", SE(m)); out("se_t", SE(t))"""
    )
    return run_r_code(code, [STRAT])


@pytest.mark.rlive
@pytest.mark.parametrize("policy", ["remove", "average", "certainty", "adjust"])
@pytest.mark.parametrize("fpc", [False, True])
def test_lonely_psu_policies_match_R(policy, fpc):
    """Every policy R offers for a stratum with one PSU; 'average' multiplies the other strata's variance by
    H / (H - L) = 3 / 2 here, 'remove' equals 'certainty' for one-stage designs (as in R)."""
    df = _lonely_frame()
    r = _r_stats(policy, "fpc" if fpc else None)
    d = stratified_design(
        df["stype"].to_numpy(), df["pw"].to_numpy(), fpc=df["fpc"].to_numpy() if fpc else None, lonely_psu=policy
    )
    m, se_m, se_t = _mean_total(d, df)
    assert rel_err(m, r["m"][0]) < 1e-14
    assert rel_err(se_m, r["se_m"][0]) < TOL, (se_m, r["se_m"][0])
    assert rel_err(se_t, r["se_t"][0]) < TOL, (se_t, r["se_t"][0])


def test_average_is_the_hand_computed_factor():
    """'average' = 'certainty' × H / (H - L) (three strata, one lonely)."""
    df = _lonely_frame()
    args = (df["stype"].to_numpy(), df["pw"].to_numpy())
    se_c = _mean_total(stratified_design(*args, lonely_psu="certainty"), df)[2]
    se_a = _mean_total(stratified_design(*args, lonely_psu="average"), df)[2]
    assert se_a == pytest.approx(se_c * np.sqrt(3 / 2), rel=1e-14)


def test_policies_are_documented():
    from survey import design

    for policy in LONELY_POLICIES:
        assert f'``"{policy}"``' in design.__doc__
    with pytest.raises(DesignError, match=r"okänd regel för ensamma PSU:er .*'drop'"):
        stratified_design(np.array([0, 0]), np.ones(2), lonely_psu="drop")


# --- census strata ------------------------------------------------------------------------------------


@pytest.mark.rlive
def test_single_psu_census_stratum_is_not_lonely():
    """The one high school is the whole stratum (fpc = 1): zero variance, and no lonely-PSU error under the
    default 'fail' (R: onestrat returns 0 for f = 1 before it looks at survey.lonely.psu)."""
    df = _lonely_frame()
    fpc = np.where(df["stype"] == "H", 1.0, df["fpc"].to_numpy(float))
    r = _r_stats("fail", "fpc2", census='a$fpc2 <- ifelse(a$stype == "H", 1, a$fpc)')
    d = stratified_design(df["stype"].to_numpy(), df["pw"].to_numpy(), fpc=fpc)  # lonely_psu = 'fail'
    m, se_m, se_t = _mean_total(d, df)
    assert rel_err(se_m, r["se_m"][0]) < TOL and rel_err(se_t, r["se_t"][0]) < TOL
    # the H stratum adds nothing: the same SE as without the high school's variance contribution
    n_h, scale, _ = d.stratum_scale()
    assert scale[list(d.strata_labels).index("H")] == 0.0


@pytest.mark.rlive
def test_census_stratum_with_many_psus_contributes_zero():
    """All 50 sampled high schools as the whole stratum (fpc = 50): its contribution is zero; R agrees."""
    st = pd.read_csv(STRAT)
    fpc = np.where(st["stype"] == "H", 50.0, st["fpc"].to_numpy(float))
    r = run_r_code(
        f"""
        a <- read.csv("{STRAT}"); a$fpc2 <- ifelse(a$stype == "H", 50, a$fpc)
        d <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = a, fpc = ~fpc2)
        m <- svymean(~api00, d); t <- svytotal(~enroll, d)
        out("m", coef(m)); out("se_m", SE(m)); out("se_t", SE(t))
        h <- subset(d, stype == "H"); out("se_h", SE(svytotal(~enroll, h)))""",
        [STRAT],
    )
    d = stratified_design(st["stype"].to_numpy(), st["pw"].to_numpy(), fpc=fpc)
    _, se_m, se_t = _mean_total(d, st)
    assert rel_err(se_m, r["se_m"][0]) < TOL and rel_err(se_t, r["se_t"][0]) < TOL
    res = domain_ratios(d, st["enroll"].to_numpy(float), None, (st["stype"] == "H").to_numpy().astype(np.int64), 2)
    assert res.se[1, 0] == 0.0 and r["se_h"][0] == 0.0


def test_census_stratum_in_replicates():
    """A single-PSU census stratum under 'fail' gets no replicates and no error; the JKn variance of a total
    equals the linearisation, which gives the census stratum zero."""
    df = _lonely_frame()
    fpc = np.where(df["stype"] == "H", 1.0, df["fpc"].to_numpy(float))
    d = stratified_design(df["stype"].to_numpy(), df["pw"].to_numpy(), fpc=fpc)
    y = df["enroll"].to_numpy(float)
    one = np.zeros(len(df), dtype=np.int64)
    jk = jackknife_replicates(d)
    assert jk.n_replicates == len(df) - 1
    est = domain_replicates(jk, y, None, one, 1)
    assert np.sqrt(replicate_variance(est))[0, 0] == pytest.approx(_mean_total(d, df)[2], rel=1e-11)
    bs = bootstrap_replicates(d, 20, seed=1)
    h_psu = np.flatnonzero(d.psu_strata()[0] == list(d.strata_labels).index("H"))
    np.testing.assert_array_equal(bs.psu_factors(0, 20)[h_psu], 1.0)


@pytest.mark.parametrize("policy", ["average", "remove"])
def test_replicate_policies(policy):
    """JKn under 'remove' and 'average' equals the linearisation of a total (the JKn identity for totals)."""
    df = _lonely_frame()
    d = stratified_design(df["stype"].to_numpy(), df["pw"].to_numpy(), lonely_psu=policy)
    y = df["enroll"].to_numpy(float)
    est = domain_replicates(jackknife_replicates(d), y, None, np.zeros(len(df), dtype=np.int64), 1)
    assert np.sqrt(replicate_variance(est, mse=True))[0, 0] == pytest.approx(_mean_total(d, df)[2], rel=1e-11)
    with pytest.raises(DesignError, match=r"'adjust'.* finns inte för JKn"):
        jackknife_replicates(stratified_design(df["stype"].to_numpy(), df["pw"].to_numpy(), lonely_psu="adjust"))
