"""reports.formats.shown_array: whole columns rounded exactly as one cell is (shown), half-way cases included.

Expected values come from the decimal module (the exact binary value of the float rounded half to even),
not from the code under test."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np
import pytest

from reports.formats import shown, shown_array


def _decimal_round(x: float, d: int) -> float:
    return float(Decimal(x).quantize(Decimal(1).scaleb(-d), rounding=ROUND_HALF_EVEN))


def test_half_way_products_follow_the_exact_value_not_numpy():
    # 0.0115 * 100 is 1.1499999…: 1,1 %, where np.round gives 1.2; 0.2745 * 100 is 27.4500000…03: 27,5 %,
    # where np.round gives 27.4 (the traps the function avoids)
    assert np.round(0.0115 * 100.0, 1) == 1.2 and np.round(0.2745 * 100.0, 1) == 27.4
    values = (0.0115, 0.2745, 0.0015, 0.1235, -0.0035, 0.0125)
    got = shown_array("est", values)
    # the double nearest to the printed decimal (0.011, not 0.011000000000000001): the decimal percent / 100
    assert got.tolist() == [float(Decimal(_decimal_round(v * 100.0, 1)).quantize(Decimal("0.1")) / 100) for v in values]
    assert got[:4].tolist() == pytest.approx([0.011, 0.275, 0.001, 0.123], abs=1e-15)
    # odds ratios to three decimals: 2.675 is 2.67499999…
    assert np.round(2.6755, 3) == 2.676 and _decimal_round(2.6755, 3) == 2.675
    assert shown_array("or", [2.6755, 1.0005]).tolist() == [2.675, _decimal_round(1.0005, 3)]


def test_missing_counts_and_signs():
    got = shown_array("n", [12.5, 13.5, -0.3, None, float("nan")])
    assert got[:3].tolist() == [12.0, 14.0, 0.0] and math.copysign(1.0, got[2]) == 1.0
    assert np.isnan(got[3]) and np.isnan(got[4])
    assert np.isnan(shown_array("diff", [None])[0])


def test_p_values_keep_the_decimals_that_agree_with_alpha():
    got = shown_array("p", [0.0496, 0.04951, 0.0504, 0.00042, 0.5, 0.0015], alpha=0.05)
    # 0.0496 would print 0,050 at three decimals beside a marker: four decimals; 0.0504 stays at 0,050 (both
    # sides of alpha agree); below 0.001 two significant digits; 0.0015 is stored as 0.00150000000000000003
    assert got.tolist() == [0.0496, 0.0495, 0.05, 0.00042, 0.5, 0.002]


@pytest.mark.parametrize("stat", ["est", "lo", "diff", "chg", "or", "n", "p", "tot_p"])
def test_equals_shown_element_by_element(stat):
    rng = np.random.default_rng(7)
    values = np.concatenate(
        [
            rng.uniform(-1, 1, 20_000),
            np.round(rng.uniform(0, 1, 20_000), 3) + 0.0005,  # half-way shares and ratios
            np.arange(-2000, 2001) / 4000,
            rng.uniform(0.04, 0.06, 5_000),  # p near alpha
            rng.uniform(0, 0.002, 5_000),
            [0.0, -0.0, np.nan],
        ]
    )
    got = shown_array(stat, values, alpha=0.05)
    for v, g in zip(values.tolist(), got.tolist()):
        s = shown(stat, v, alpha=0.05)
        if s is None:
            assert math.isnan(g)
        else:
            assert g == s and math.copysign(1.0, g) == math.copysign(1.0, s), (stat, v, g, s)
