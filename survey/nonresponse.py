"""Non-response analysis and adjustment before calibration (Särndal & Lundström 2005, ch. 6–9;
Lumley 2010, sec. 9.2; Valliant, Dever & Kreuter 2013, ch. 13).

Input: the *gross sample*, one row per sampled person, respondents and non-respondents, with register
variables (``district``, ``sex``, ``age_group``), a 0/1 (or boolean) ``responded`` flag and the design
weight ``d`` (the inverse inclusion probability; absent = equal weights).

* :func:`response_rates`: per cell of ``by`` (default district × sex × age_group) the sampled and
  responding counts and the unweighted rate ``r_c / n_c`` and weighted rate
  ``sum_{resp, c} d / sum_{c} d`` (the estimated population response rate).
* :func:`cell_adjustment` (weighting classes): ``a_i = sum_c d / sum_{resp, c} d`` for the respondents of
  cell ``c``, so the respondents carry the whole gross sample's weight cell by cell (the inverse of the
  weighted response rate of the cell). A cell with sampled persons and no respondent is an error naming it.
* :func:`propensity_adjustment`: the response propensity ``p_i = expit(x_i' beta)`` from a design-weighted
  logistic regression of ``responded`` on the main effects of ``covariates`` (maximising
  ``sum_i d_i [r_i log p_i + (1 - r_i) log(1 - p_i)]``), then either the inverse propensity ``a_i = 1 / p_i``
  or, with ``classes = K``, propensity classes (weighted quantiles of ``p``) used as weighting classes —
  more stable when some ``p_i`` are small. With one categorical covariate the logistic model is saturated and
  ``1 / p`` equals the cell adjustment.

The adjusted weights ``d a`` of the respondents are the design weights to calibrate from
(:func:`survey.calibration.calibrate`). Diagnostics: the adjustment factors' range, the Kish design effect
of the adjusted weights, propensities below 0.05, and per level of each covariate the (weighted) share in the
gross sample against the share among respondents before and after adjustment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from survey.design import factorize_groups
from survey.errors import CalibrationError

DEFAULT_CELLS: tuple[str, ...] = ("district", "sex", "age_group")


@dataclass(frozen=True, eq=False)
class NonresponseAdjustment:
    """Adjusted weights (0 for non-respondents), the factor per row, and diagnostics."""

    weights: np.ndarray  # (n_gross,) d a for respondents, 0 otherwise
    factor: np.ndarray  # (n_gross,) a (NaN for non-respondents)
    propensity: np.ndarray | None  # (n_gross,) estimated response propensity (propensity_adjustment)
    cells: pd.DataFrame  # per adjustment cell / class: sampled, responded, rates, factor
    balance: pd.DataFrame  # per covariate level: gross, respondent and adjusted shares
    summary: dict[str, float]


def _inputs(gross: pd.DataFrame, responded: str, weight: str | None) -> tuple[np.ndarray, np.ndarray]:
    if responded not in gross:
        raise CalibrationError(f"bruttourvalet har ingen kolumn {responded!r} (1 = svarade, 0 = svarade inte)")
    r = pd.to_numeric(gross[responded], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    if np.any(~np.isin(r, [0.0, 1.0])):
        i = int(np.flatnonzero(~np.isin(r, [0.0, 1.0]))[0])
        raise CalibrationError(f"kolumnen {responded!r} måste vara 0 eller 1 för alla i bruttourvalet (rad {i + 2})")
    if weight is None or weight not in gross:
        return r.astype(bool), np.ones(len(gross))
    d = pd.to_numeric(gross[weight], errors="coerce").to_numpy(float)
    if np.any(~np.isfinite(d)) or np.any(d <= 0):
        raise CalibrationError(f"kolumnen {weight!r} måste vara ett tal > 0 för alla i bruttourvalet")
    return r.astype(bool), d


def response_rates(
    gross: pd.DataFrame,
    by: Sequence[str] = DEFAULT_CELLS,
    *,
    responded: str = "responded",
    weight: str | None = "design_weight",
) -> pd.DataFrame:
    """Per cell of ``by``: ``sampled``, ``responded``, ``rate`` (unweighted), ``weighted_sampled``,
    ``weighted_responded`` and ``weighted_rate`` (module docstring)."""
    r, d = _inputs(gross, responded, weight)
    code, keys = factorize_groups(gross, list(by))
    k = len(keys)
    out = keys.copy() if by else pd.DataFrame(index=range(1))
    out["sampled"] = np.bincount(code, minlength=k)
    out["responded"] = np.bincount(code, weights=r.astype(float), minlength=k).astype(np.int64)
    out["rate"] = out["responded"] / out["sampled"]
    out["weighted_sampled"] = np.bincount(code, weights=d, minlength=k)
    out["weighted_responded"] = np.bincount(code, weights=d * r, minlength=k)
    out["weighted_rate"] = out["weighted_responded"] / out["weighted_sampled"]
    return out


def _balance(
    gross: pd.DataFrame, covariates: Sequence[str], r: np.ndarray, d: np.ndarray, w: np.ndarray
) -> pd.DataFrame:
    """Per covariate level: weighted share in the gross sample, among respondents (d) and adjusted (d a)."""
    rows = []
    for var in covariates:
        code, keys = factorize_groups(gross, [var])
        k = len(keys)
        g = np.bincount(code, weights=d, minlength=k)
        resp = np.bincount(code, weights=d * r, minlength=k)
        adj = np.bincount(code, weights=w, minlength=k)
        rows.append(
            pd.DataFrame(
                {
                    "variable": var,
                    "level": keys[var].astype(str),
                    "gross_share": g / g.sum(),
                    "respondent_share": resp / resp.sum(),
                    "adjusted_share": adj / adj.sum(),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def _summary(factor: np.ndarray, w: np.ndarray, r: np.ndarray) -> dict[str, float]:
    a, wr = factor[r], w[r]
    return {
        "respondents": float(r.sum()),
        "sampled": float(len(r)),
        "min_factor": float(a.min()),
        "max_factor": float(a.max()),
        "kish_deff": float(len(wr) * np.sum(wr**2) / np.sum(wr) ** 2),
        "sum_weights": float(w.sum()),
    }


def _classes(code: np.ndarray, keys: pd.DataFrame, r: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, pd.DataFrame]:
    """Weighting-class factors per row and the per-class table; a class without respondents is an error."""
    k = len(keys)
    tot = np.bincount(code, weights=d, minlength=k)
    rtot = np.bincount(code, weights=d * r, minlength=k)
    if np.any(rtot == 0):
        c = int(np.flatnonzero(rtot == 0)[0])
        label = ", ".join(f"{v} {keys[v].iloc[c]}" for v in keys.columns)
        raise CalibrationError(
            f"bortfallsjustering: cellen {label} har {int(np.sum(code == c))} i urvalet men "
            f"inga svarande; slå ihop den med en angränsande cell"
        )
    factor = tot / rtot
    table = keys.copy()
    table["sampled"] = np.bincount(code, minlength=k)
    table["responded"] = np.bincount(code, weights=r.astype(float), minlength=k).astype(np.int64)
    table["weighted_rate"] = rtot / tot
    table["factor"] = factor
    return factor[code], table


def cell_adjustment(
    gross: pd.DataFrame,
    cells: Sequence[str] = DEFAULT_CELLS,
    *,
    responded: str = "responded",
    weight: str | None = "design_weight",
) -> NonresponseAdjustment:
    """Weighting-class adjustment (module docstring): ``a = sum_c d / sum_{resp, c} d`` for respondents."""
    r, d = _inputs(gross, responded, weight)
    code, keys = factorize_groups(gross, list(cells))
    a_row, table = _classes(code, keys, r, d)
    factor = np.where(r, a_row, np.nan)
    w = np.where(r, d * a_row, 0.0)
    return NonresponseAdjustment(
        weights=w,
        factor=factor,
        propensity=None,
        cells=table,
        balance=_balance(gross, cells, r, d, w),
        summary=_summary(factor, w, r),
    )


def _logistic(x: np.ndarray, r: np.ndarray, d: np.ndarray, maxit: int = 50) -> np.ndarray:
    """Design-weighted logistic regression by Newton–Raphson (IRLS); returns the fitted propensities."""
    beta = np.zeros(x.shape[1])
    for _ in range(maxit):
        eta = x @ beta
        p = 1.0 / (1.0 + np.exp(-eta))
        grad = x.T @ (d * (r - p))
        hess = (x * (d * p * (1 - p))[:, None]).T @ x
        step = np.linalg.lstsq(hess, grad, rcond=None)[0]
        beta = beta + step
        if np.max(np.abs(step)) < 1e-12 * (1 + np.max(np.abs(beta))):
            break
    return 1.0 / (1.0 + np.exp(-(x @ beta)))


def propensity_adjustment(
    gross: pd.DataFrame,
    covariates: Sequence[str] = DEFAULT_CELLS,
    *,
    classes: int | None = None,
    responded: str = "responded",
    weight: str | None = "design_weight",
) -> NonresponseAdjustment:
    """Logistic response-propensity adjustment (module docstring): main effects of ``covariates``
    (reference = first level of each), ``a = 1 / p`` or, with ``classes``, weighting classes of ``p``
    (weighted quantiles, ``classes`` of about equal gross weight)."""
    r, d = _inputs(gross, responded, weight)
    parts = [np.ones((len(gross), 1))]
    for var in covariates:
        code, keys = factorize_groups(gross, [var])
        parts.append(np.eye(len(keys))[code][:, 1:])
    p = _logistic(np.hstack(parts), r.astype(float), d)
    if classes is None:
        factor = np.where(r, 1.0 / p, np.nan)
        w = np.where(r, d / p, 0.0)
        cls = pd.DataFrame({"propensity_min": [p.min()], "propensity_max": [p.max()]})
    else:
        order = np.argsort(p, kind="stable")
        cum = np.cumsum(d[order]) / d.sum()
        code = np.empty(len(p), dtype=np.int64)
        code[order] = np.minimum((cum * classes - 1e-12).astype(np.int64), classes - 1)
        keys = pd.DataFrame({"propensity_class": np.arange(classes) + 1})
        a_row, cls = _classes(code, keys, r, d)
        factor = np.where(r, a_row, np.nan)
        w = np.where(r, d * a_row, 0.0)
    summary = _summary(factor, w, r)
    summary.update(min_propensity=float(p.min()), low_propensity=float(np.sum(p < 0.05)))
    return NonresponseAdjustment(
        weights=w, factor=factor, propensity=p, cells=cls, balance=_balance(gross, covariates, r, d, w), summary=summary
    )
