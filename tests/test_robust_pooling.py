"""Pooled years (issue 9): each district over k consecutive waves, against live R on the stacked waves

    svydesign(id = ~1, strata = ~stratum (year × district), weights = ~I(dw / 2), data = rows of 2023-2024)
    calibrate(..., ~0 + per-stratum raking dummies, population = totals / 2, calfun = "raking")

and ``svymean`` per district and for all districts.
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

from survey.data.codebook import load_codebook
from survey.errors import DesignError
from survey.estimation import estimate_shares
from survey.pipeline.steps import prepare, weight
from survey.pooling import pooled_share_estimates, pooled_windows, window_label
from tests.test_replication import r_model_matrix, shares


@pytest.fixture(scope="module")
def wave():
    r = prepare(read_responses(SAMPLE_WAVE / "responses.csv"))
    p = read_population(SAMPLE_WAVE / "population.csv")
    return r, p, weight(r, p), load_codebook()


def test_windows_and_labels():
    assert pooled_windows([2024, 2022, 2023, 2023], 2) == [(2022, 2023), (2023, 2024)]
    assert pooled_windows([2022, 2023, 2024], 3) == [(2022, 2023, 2024)]
    assert window_label((2023, 2024)) == "2023–2024" and window_label((2024,)) == "2024"
    with pytest.raises(DesignError, match="pool=4 kräver minst 4 undersökningsår"):
        pooled_windows([2022, 2023, 2024], 4)


def test_pool_1_is_the_annual_table(wave):
    r, _, w, cb = wave
    one = pooled_share_estimates(w.design, r, cb.indicators, 1)
    annual = estimate_shares(w.design, r, cb.indicators, with_comparisons=False).estimates
    assert one["year"].tolist() == annual["year"].astype(str).tolist()
    for c in ("estimate", "se", "ci_low", "ci_high", "n", "df"):
        np.testing.assert_allclose(one[c].to_numpy(float), annual[c].to_numpy(float), rtol=1e-12, atol=1e-15)


@pytest.mark.rlive
def test_pooled_two_waves_match_R_on_the_stacked_design(tmp_path, wave):
    r, p, w, cb = wave
    est = pooled_share_estimates(w.design, r, cb.indicators, 2)
    assert sorted(est["year"].unique()) == ["2022–2023", "2023–2024"]
    win = est[est["year"] == "2023–2024"]
    assert (win["year_from"] == 2023).all() and (win["year_to"] == 2024).all() and (win["pooled"] == 2).all()
    keep = r["year"].isin([2023, 2024]).to_numpy()
    rs = r[keep].reset_index(drop=True)
    ps = p[p["year"].isin([2023, 2024])].reset_index(drop=True)
    strata = rs.groupby(["year", "district"], observed=True, sort=True).ngroup().to_numpy()
    x, totals = r_model_matrix(rs, ps, strata)
    num, base = shares(rs)
    df = pd.DataFrame(
        {
            "stratum": strata,
            "district": rs["district"].astype(str).to_numpy(),
            "dw": rs["design_weight"].to_numpy(float),
            "y1": num[:, 0],
            "a1": base[:, 0].astype(int),
            "y2": num[:, 1],
            "a2": base[:, 1].astype(int),
        }
    )
    df = pd.concat([df, x], axis=1)
    csv, popf = tmp_path / "stack.csv", tmp_path / "stack_pop.txt"
    df.to_csv(csv, index=False, float_format="%.17g", encoding="utf-8")
    popf.write_text("\n".join(f"{t:.17g}" for t in totals))
    res = run_r_code(
        f"""
        df <- read.csv("{csv}", encoding = "UTF-8", stringsAsFactors = FALSE)
        pop <- scan("{popf}", quiet = TRUE) / 2
        xs <- grep("^x", names(df), value = TRUE)
        d <- svydesign(id = ~1, strata = ~stratum, weights = ~I(dw / 2), data = df)
        cal <- calibrate(d, as.formula(paste("~0 +", paste(xs, collapse = " + "))), population = pop,
                         calfun = "raking", epsilon = 1e-12, maxit = 100)
        for (j in 1:2) {{
          y <- paste0("y", j); a <- paste0("a", j); est <- se <- tot <- c()
          for (dist in c(sort(unique(df$district), method = "radix"), "Totalt")) {{
            sub <- cal[df[[a]] == 1 & (dist == "Totalt" | df$district == dist), ]
            m <- svymean(as.formula(paste0("~", y)), sub)
            est <- c(est, coef(m)); se <- c(se, SE(m)); tot <- c(tot, sum(weights(sub))) }}
          out(paste0("est", j), est); out(paste0("se", j), se); out(paste0("base", j), tot) }}""",
        [csv, popf],
    )
    for j, ind in enumerate(("unsafe_after_dark", "worried_crime"), start=1):
        got = win[win["indicator"] == ind]
        assert got["district"].iloc[-1] == "Totalt"
        assert rel_err(got["estimate"].to_numpy(), res[f"est{j}"]) < 1e-12
        assert rel_err(got["se"].to_numpy(), res[f"se{j}"]) < 1e-10
        assert rel_err(got["weighted_base"].to_numpy(), res[f"base{j}"]) < 1e-12  # annual averages
    # pooling helps: the pooled SE of a district is smaller than either year's
    annual = estimate_shares(w.design, r, cb.indicators, with_comparisons=False).estimates
    a = annual[(annual["district"] == "Väsby centrum") & (annual["indicator"] == "unsafe_after_dark")]
    pooled = win[(win["district"] == "Väsby centrum") & (win["indicator"] == "unsafe_after_dark")]
    assert pooled["n"].iloc[0] == a[a["year"].isin([2023, 2024])]["n"].sum()
    assert pooled["se"].iloc[0] < a[a["year"].isin([2023, 2024])]["se"].min()
