"""Numeric auxiliaries (issue 9): calibration to continuous register totals beside categorical margins, and
the GREG (calibration-residual) variance, against live R

    calibrate(svydesign(id = ~1, strata = ~district, weights = ~d0, data = wave2022),
              ~0 + district:sex + income, population = c(N_district_sex, X_income), calfun = ...)

and ``svymean(~y, subset(cal, ...))`` per district and for the whole year.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "r"))
from inline import run_r_code
from oracle import SAMPLE_WAVE, read_population, read_responses, rel_err

from survey.calibration import Margin, calibrate, margins_from_population
from survey.design import stratified_design
from survey.errors import CalibrationError
from survey.estimation import domain_ratios

AGES = ("16-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75-84")


@pytest.fixture(scope="module")
def wave2022():
    r = read_responses(SAMPLE_WAVE / "responses.csv")
    pop = read_population(SAMPLE_WAVE / "population.csv")
    r = r[r["year"] == 2022].reset_index(drop=True)
    pop = pop[pop["year"] == 2022].reset_index(drop=True)
    age = r["age_group"].map({a: i for i, a in enumerate(AGES)}).to_numpy(float)
    # a continuous register variable (income, kSEK) per respondent
    r["income"] = 180 + 25 * age + 30 * (r["sex"] == 2) + 3.5 * (r["resp_id"].astype(int) % 17)
    return r, pop


def _margins(r: pd.DataFrame, pop: pd.DataFrame) -> list[Margin]:
    t = (
        pop.groupby(["year", "district", "sex"], as_index=False)["population"]
        .sum()
        .rename(columns={"population": "total"})
    )
    ht = float((r["design_weight"] * r["income"]).sum())
    inc = pd.DataFrame({"year": [2022], "total": [1.04 * ht * pop["population"].sum() / r["design_weight"].sum()]})
    return [Margin(("district", "sex"), t), Margin((), inc, value="income")]


@pytest.mark.rlive
@pytest.mark.parametrize("method,bounds", [("linear", None), ("raking", None), ("logit", (0.2, 6.0))])
def test_numeric_auxiliary_matches_R(tmp_path, wave2022, method, bounds):
    r, pop = wave2022
    margins = _margins(r, pop)
    cal = calibrate(r, r["design_weight"].to_numpy(), margins, by=("year",), method=method, bounds=bounds)
    d0 = cal.model.start_weights(r["design_weight"].to_numpy())
    # the margins are met: district × sex counts and the income total
    assert cal.max_relative_error < 1e-12
    assert (cal.weights * r["income"]).sum() == pytest.approx(margins[1].totals["total"].iloc[0], rel=1e-12)
    y = np.where(r["q_safe_after_dark"].isna(), np.nan, r["q_safe_after_dark"].isin([3, 4, 5]).astype(float))
    keys = sorted(set(zip(r["district"], r["sex"])))
    x = pd.DataFrame(
        {f"x{i}": ((r["district"] == dn) & (r["sex"] == s)).astype(float).to_numpy() for i, (dn, s) in enumerate(keys)}
    )
    totals = [float(margins[0].totals.set_index(["district", "sex"]).loc[k, "total"]) for k in keys]
    totals.append(float(margins[1].totals["total"].iloc[0]))
    df = pd.concat(
        [
            pd.DataFrame(
                {
                    "district": r["district"],
                    "d0": d0,
                    "income": r["income"],
                    "y": np.nan_to_num(y),
                    "ans": (~np.isnan(y)).astype(int),
                }
            ),
            x,
        ],
        axis=1,
    )
    csv, popf = tmp_path / "aux.csv", tmp_path / "aux_pop.txt"
    df.to_csv(csv, index=False, float_format="%.17g", encoding="utf-8")
    popf.write_text("\n".join(f"{v:.17g}" for v in totals))
    bnd = f", bounds = c({bounds[0]}, {bounds[1]})" if bounds else ""
    res = run_r_code(
        f"""
        df <- read.csv("{csv}", encoding = "UTF-8", stringsAsFactors = FALSE)
        pop <- scan("{popf}", quiet = TRUE)
        xs <- grep("^x", names(df), value = TRUE)
        d <- svydesign(id = ~1, strata = ~district, weights = ~d0, data = df)
        f <- as.formula(paste("~0 +", paste(xs, collapse = " + "), "+ income"))
        cal <- calibrate(d, f, population = pop, calfun = "{method}"{bnd}, maxit = 200, epsilon = 1e-12)
        out("w", weights(cal))
        est <- se <- c()
        for (dist in c(sort(unique(df$district), method = "radix"), "Totalt")) {{
          m <- svymean(~y, subset(cal, ans == 1 & (dist == "Totalt" | district == dist)))
          est <- c(est, coef(m)); se <- c(se, SE(m)) }}
        out("est", est); out("se", se)""",
        [csv, popf],
    )
    assert rel_err(cal.weights, res["w"]) < 1e-11
    design = stratified_design(r["district"].to_numpy(), r["design_weight"].to_numpy()).with_weights(
        cal.weights, cal.model
    )
    base = (~np.isnan(y)).astype(float)
    num = np.nan_to_num(y) * base
    one = np.zeros(len(r), dtype=np.int64)
    est, se = [], []
    for dist in sorted(r["district"].unique()) + ["Totalt"]:
        mask = np.ones(len(r)) if dist == "Totalt" else (r["district"] == dist).to_numpy(float)
        out = domain_ratios(design, num[:, None], base[:, None], one, 1, mask=mask)
        est.append(out.estimate[0, 0])
        se.append(out.se[0, 0])
    assert rel_err(est, res["est"]) < 1e-11
    assert rel_err(se, res["se"]) < 1e-10
    # the auxiliary matters: the SEs differ from those of the categorical margins alone
    plain = calibrate(r, r["design_weight"].to_numpy(), margins[:1], by=("year",), method=method, bounds=bounds)
    assert rel_err(plain.weights, cal.weights) > 1e-4


def test_numeric_margins_from_the_population_file(wave2022):
    """margins_from_population sums a population column (e.g. people born abroad per cell) to the margin;
    calibrating to it meets the total per district, hand-checked."""
    r, pop = wave2022
    r = r.assign(born_abroad=r["born_abroad"].astype(float))
    share = (r["design_weight"] * r["born_abroad"]).groupby(r["district"]).sum() / r.groupby("district")[
        "design_weight"
    ].sum()
    pop = pop.assign(born_abroad=pop["population"] * 1.02 * pop["district"].map(share))
    margins = margins_from_population(
        pop, [("district", "sex"), ("district", "age_group")], {"born_abroad": ("district",)}
    )
    assert margins[2].value == "born_abroad"
    cal = calibrate(r, r["design_weight"].to_numpy(), margins, by=("year",))
    got = pd.Series(cal.weights * r["born_abroad"].to_numpy()).groupby(r["district"].to_numpy()).sum()
    want = pop.groupby("district")["born_abroad"].sum()
    np.testing.assert_allclose(got.to_numpy(), want.reindex(got.index).to_numpy(), rtol=1e-12)
    assert "district=Duvbo×born_abroad" not in cal.model.columns and "born_abroad" in cal.model.columns


def test_numeric_auxiliary_errors(wave2022):
    r, pop = wave2022
    margins = _margins(r, pop)
    with pytest.raises(CalibrationError, match=r"hjälpvariabeln 'income' saknas .* för 1 svarande"):
        calibrate(
            r.assign(income=r["income"].where(r.index != 5)), r["design_weight"].to_numpy(), margins, by=("year",)
        )
    with pytest.raises(CalibrationError, match="ingen svarande med ett värde skilt från 0"):
        calibrate(r.assign(income=0.0), r["design_weight"].to_numpy(), margins, by=("year",))
