"""Confidence intervals for a share: logit (the contract), Korn–Graubard, Wilson (see the package docstring)."""

from __future__ import annotations

import numpy as np
from scipy import stats

# An SE this small against sqrt(p (1 - p)) is rounding, not sampling variance (an effective sample size
# above 1e16): the intervals treat it as 0 and fall back to the respondent count, as for an SE of exactly 0.
_ROUNDING = 1e-8


def effective_n(p: np.ndarray, se: np.ndarray, n: np.ndarray) -> np.ndarray:
    """``p (1 - p) / se^2`` (Korn & Graubard 1998), or ``n`` where the SE is 0 or rounding."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(se > _ROUNDING * np.sqrt(p * (1 - p)), p * (1 - p) / se**2, n)


def logit_ci(p: np.ndarray, se: np.ndarray, df: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """``expit(logit p ∓ t_{df} se / (p (1 - p)))``; ``[p, p]`` at p in {0, 1}; NaN when df < 1 or p is NaN."""
    p = np.asarray(p, dtype=float)
    q = stats.t.ppf(0.5 + level / 2, np.where(df >= 1, df, 1))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # exp overflow: the limit 0 or 1
        interior = (p > 0) & (p < 1)
        pp = np.where(interior, p, 0.5)
        half = q * se / (pp * (1 - pp))
        lg = np.log(pp / (1 - pp))
        lo = np.where(interior, 1 / (1 + np.exp(-(lg - half))), p)
        hi = np.where(interior, 1 / (1 + np.exp(-(lg + half))), p)
    bad = ~(df >= 1) | np.isnan(p)
    return np.where(bad, np.nan, lo), np.where(bad, np.nan, hi)


def korn_graubard_ci(
    p: np.ndarray, se: np.ndarray, n: np.ndarray, df: np.ndarray, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Korn & Graubard (1998) Clopper–Pearson interval with the df-adjusted effective sample size."""
    alpha = 1 - level
    p = np.asarray(p, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        n_eff = effective_n(p, se, n)
        ok = (df >= 1) & (n > 1)
        ratio = stats.t.ppf(alpha / 2, np.where(ok, n - 1, 1)) / stats.t.ppf(alpha / 2, np.where(ok, df, 1))
        n_eff = n_eff * ratio**2
        x = n_eff * p
        lo = np.where(x > 0, stats.beta.ppf(alpha / 2, x, n_eff - x + 1), 0.0)
        hi = np.where(n_eff - x > 0, stats.beta.ppf(1 - alpha / 2, x + 1, n_eff - x), 1.0)
    bad = ~ok | np.isnan(p)
    return np.where(bad, np.nan, lo), np.where(bad, np.nan, hi)


def wilson_ci(
    p: np.ndarray, se: np.ndarray, n: np.ndarray, df: np.ndarray, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval with the effective sample size ``p (1 - p) / se^2`` and a t quantile."""
    p = np.asarray(p, dtype=float)
    q = stats.t.ppf(0.5 + level / 2, np.where(df >= 1, df, 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        n_eff = effective_n(p, se, n)
        q2n = q * q / n_eff
        centre = (p + q2n / 2) / (1 + q2n)
        half = q / (1 + q2n) * np.sqrt(p * (1 - p) / n_eff + q2n / (4 * n_eff))
        lo, hi = np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)
    bad = ~(df >= 1) | np.isnan(p) | ~(n_eff > 0)
    return np.where(bad, np.nan, lo), np.where(bad, np.nan, hi)
