"""Pooled years for small districts (as Brå pools NTU years for small areas): each district estimated over
``k`` consecutive waves.

The pooled design stacks the respondents of the waves ``t - k + 1 .. t`` (the consecutive waves present in
the data, in year order). Nothing of the design changes: the strata stay year × district, every wave keeps
its own calibration (blocks year × district) and the weights are divided by ``k``, so weighted totals are
annual averages over the window. A district's pooled share is the ratio over the stacked rows,

    p = sum_{i in D, year in window} (w_i / k) y_i / sum_{i in D, year in window} (w_i / k)

(the ``1 / k`` cancels: it is the share of all respondent-years), and its variance is the linearised
variance of the stacked design (Lumley 2010, sec. 2.3 and 7.4): the waves are independent samples in
disjoint strata, so the stratum contributions of the ``k`` waves add up, each with the calibration
residuals of its own wave. The estimate is a domain of the full design (district × window as a 0/1
mask), so the variance is exactly R's ``svydesign(id = ~1, strata = ~year:district, weights = ~w / k)``
on the stacked rows, calibrated per wave (tests/test_robust_pooling.py).

Output rows are labelled: ``year`` is the window's label (``"2023–2024"``), ``year_from``/``year_to`` its
first and last wave, ``pooled`` the number of waves ``k``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import SupportsInt

import numpy as np
import pandas as pd

from survey.design import Design, factorize_groups
from survey.errors import DesignError
from survey.estimation import TOTAL_LABEL, domain_ratios, indicator_matrices
from survey.indicators import Indicator
from survey.replicate_estimation import with_intervals


def pooled_windows(years: Iterable[SupportsInt], k: int) -> list[tuple[int, ...]]:
    """Windows of ``k`` consecutive waves (the waves present, sorted): ``[2022, 2023, 2024]``, k = 2 →
    ``[(2022, 2023), (2023, 2024)]``. ``k = 1`` gives every wave alone."""
    ys = sorted({int(y) for y in years})
    if k < 1:
        raise DesignError(f"pool måste vara minst 1, fick {k}")
    if k > len(ys):
        raise DesignError(f"pool={k} kräver minst {k} undersökningsår, data har {len(ys)} ({', '.join(map(str, ys))})")
    return [tuple(ys[i - k + 1 : i + 1]) for i in range(k - 1, len(ys))]


def window_label(window: Sequence[int]) -> str:
    """``"2023–2024"`` (en dash); a single wave keeps its year."""
    return str(window[0]) if len(window) == 1 else f"{window[0]}–{window[-1]}"


def _window_frame(
    design: Design,
    num: np.ndarray,
    base: np.ndarray,
    dcode: np.ndarray,
    dnames: list[str],
    in_window: np.ndarray,
    names: Sequence[str],
) -> pd.DataFrame:
    """Pooled shares per district and Totalt for one window (domains of the full design, masked)."""
    frames = []
    for codes, labels in ((dcode, dnames), (np.zeros(len(dcode), dtype=np.int64), [TOTAL_LABEL])):
        res = domain_ratios(design, num, base, codes, len(labels), mask=in_window.astype(float))
        g, k = res.estimate.shape
        f = pd.DataFrame(
            {
                "district": np.repeat(np.asarray(labels, dtype=object), k),
                "indicator": np.tile(np.asarray(names, dtype=object), g),
                "estimate": res.estimate.ravel(),
                "se": res.se.ravel(),
                "n": res.n.ravel(),
                "df": res.df.ravel(),
                "deff": res.deff.ravel(),
                "weighted_base": res.weighted_base.ravel(),
            }
        )
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


def pooled_share_estimates(
    design: Design,
    data: pd.DataFrame,
    indicators: Sequence[Indicator],
    k: int = 2,
    *,
    min_n: int = 30,
    max_rse: float | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Pooled shares per district and Totalt for every window of ``k`` consecutive waves (module docstring).

    ``design`` is the weighted design of all waves (strata year × district, e.g. ``weight(...).design``),
    ``data`` its rows. Returns the estimates frame (``year`` = window label, ``district``, ``indicator``,
    ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``n``, ``suppressed``, ``df``, ``deff``, ``weighted_base``
    (annual average), the other CIs) plus ``year_from``, ``year_to`` and ``pooled``, in window order, then
    districts in code-point order and Totalt last, indicators in the given order. A district without
    respondents in a window is left out of that window.
    """
    years = data["year"].to_numpy(np.int64)
    windows = pooled_windows(years, k)
    pooled = design.with_weights(design.weights / k, design.calibration)
    y, base = indicator_matrices(data, indicators)
    num = y * base
    dcode, dkeys = factorize_groups(data, ["district"])
    dnames = [str(v) for v in dkeys["district"]]
    names = [ind.name for ind in indicators]
    out = []
    for window in windows:
        in_window = np.isin(years, window)
        f = _window_frame(pooled, num, base, dcode, dnames, in_window, names)
        present = set(data.loc[in_window, "district"].astype(str))
        f = f[f["district"].isin(present | {TOTAL_LABEL})]
        f.insert(0, "year", window_label(window))
        f["year_from"], f["year_to"], f["pooled"] = window[0], window[-1], k
        out.append(f)
    est = pd.concat(out, ignore_index=True)
    est = with_intervals(est, min_n, max_rse, level)
    cols = [
        "year",
        "district",
        "indicator",
        "estimate",
        "se",
        "ci_low",
        "ci_high",
        "n",
        "suppressed",
        "df",
        "deff",
        "weighted_base",
        "ci_low_kg",
        "ci_high_kg",
        "ci_low_wilson",
        "ci_high_wilson",
        "year_from",
        "year_to",
        "pooled",
    ]
    return est[cols].reset_index(drop=True)
