"""Non-response analysis (issue 9): response rates, weighting-class and propensity adjustment, hand-computed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from survey.errors import CalibrationError
from survey.nonresponse import cell_adjustment, propensity_adjustment, response_rates


@pytest.fixture()
def gross() -> pd.DataFrame:
    """Ten sampled persons in two districts; A: d = 10, B: d = 20 (men) / 30 (women)."""
    return pd.DataFrame(
        {
            "district": ["A"] * 5 + ["B"] * 5,
            "sex": [1, 1, 2, 2, 2, 1, 1, 2, 2, 2],
            "age_group": ["16-24", "25-34", "16-24", "25-34", "25-34", "16-24", "16-24", "25-34", "25-34", "16-24"],
            "design_weight": [10.0] * 5 + [20.0, 20.0, 30.0, 30.0, 30.0],
            "responded": [1, 0, 1, 1, 0, 1, 0, 0, 1, 1],
        }
    )


def test_response_rates_by_hand(gross):
    rr = response_rates(gross, ("district", "sex"))
    assert rr[["district", "sex"]].values.tolist() == [["A", 1], ["A", 2], ["B", 1], ["B", 2]]
    assert rr["sampled"].tolist() == [2, 3, 2, 3] and rr["responded"].tolist() == [1, 2, 1, 2]
    np.testing.assert_allclose(rr["rate"], [1 / 2, 2 / 3, 1 / 2, 2 / 3])
    np.testing.assert_allclose(rr["weighted_sampled"], [20, 30, 40, 90])
    np.testing.assert_allclose(rr["weighted_rate"], [10 / 20, 20 / 30, 20 / 40, 60 / 90])
    full = response_rates(gross)  # district × sex × age_group
    assert len(full) == 7 and full["sampled"].sum() == 10  # the seven cells with sampled persons
    unw = response_rates(gross, ("district",), weight=None)
    np.testing.assert_allclose(unw["weighted_rate"], unw["rate"])
    np.testing.assert_allclose(unw["rate"], [3 / 5, 3 / 5])


def test_cell_adjustment_by_hand(gross):
    """Cells district × sex: A-men 20/10 = 2, A-women 30/20 = 1.5, B-men 40/20 = 2, B-women 90/60 = 1.5."""
    adj = cell_adjustment(gross, ("district", "sex"))
    np.testing.assert_allclose(adj.weights, [20, 0, 15, 15, 0, 40, 0, 0, 45, 45])
    np.testing.assert_allclose(adj.cells["factor"], [2, 1.5, 2, 1.5])
    assert adj.weights.sum() == pytest.approx(gross["design_weight"].sum())  # the gross weight is kept
    bal = adj.balance[adj.balance["variable"] == "sex"]
    np.testing.assert_allclose(bal["gross_share"], [60 / 180, 120 / 180])
    np.testing.assert_allclose(bal["respondent_share"], [30 / 110, 80 / 110])
    np.testing.assert_allclose(bal["adjusted_share"], bal["gross_share"])  # classes balance their variables
    assert adj.summary["min_factor"] == 1.5 and adj.summary["max_factor"] == 2.0
    w = adj.weights[adj.weights > 0]
    assert adj.summary["kish_deff"] == pytest.approx(len(w) * (w**2).sum() / w.sum() ** 2)


def test_cell_without_respondents_is_named(gross):
    g = gross.copy()
    g.loc[(g["district"] == "B") & (g["sex"] == 1), "responded"] = 0
    with pytest.raises(CalibrationError, match="cellen district B, sex 1 har 2 i urvalet men inga svarande"):
        cell_adjustment(g, ("district", "sex"))
    with pytest.raises(CalibrationError, match="måste vara 0 eller 1"):
        cell_adjustment(g.assign(responded=2), ("district",))


def test_saturated_propensity_equals_cells(gross):
    """One categorical covariate: the weighted logistic MLE is the cell's weighted response rate, so 1 / p is
    the weighting-class factor (A: 30/50 → 5/3; B: 80/130 → 13/8)."""
    adj = propensity_adjustment(gross, ("district",))
    np.testing.assert_allclose(adj.propensity, [30 / 50] * 5 + [80 / 130] * 5, rtol=1e-12)
    np.testing.assert_allclose(adj.weights, cell_adjustment(gross, ("district",)).weights, rtol=1e-12)


def test_main_effects_propensity_score_equations(gross):
    """Two covariates: the fit solves the weighted score equations sum d (r - p) x = 0 (intercept, district B,
    sex 2); 1 / p weights; two propensity classes of equal gross weight act as weighting classes."""
    adj = propensity_adjustment(gross, ("district", "sex"))
    d, r, p = gross["design_weight"].to_numpy(), gross["responded"].to_numpy(float), adj.propensity
    x = np.column_stack([np.ones(10), gross["district"] == "B", gross["sex"] == 2]).astype(float)
    np.testing.assert_allclose(x.T @ (d * (r - p)), 0.0, atol=1e-9)
    np.testing.assert_allclose(adj.weights, np.where(r > 0, d / p, 0.0), rtol=1e-12)
    cls = propensity_adjustment(gross, ("district", "sex"), classes=2)
    assert cls.cells["sampled"].sum() == 10 and len(cls.cells) == 2
    assert cls.weights.sum() == pytest.approx(d.sum())
