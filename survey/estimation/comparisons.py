"""Comparisons of shares (previous year, Totalt, between districts) with multiple-comparison adjustment."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from survey.estimation.shares import ShareTables
from survey.labels import TOTAL_LABEL

ADJUST_METHODS = ("holm", "fdr_bh", "none")


def adjust_pvalues(p: np.ndarray, method: str = "fdr_bh") -> np.ndarray:
    """Holm (1979) step-down or Benjamini–Hochberg (1995) step-up adjusted p-values over the non-missing
    ``p`` (NaN kept), by statsmodels' ``multipletests``; ``none`` returns ``p``."""
    if method not in ADJUST_METHODS:
        raise ValueError(f"okänd justering {method!r}; välj en av {ADJUST_METHODS}")
    p = np.asarray(p, dtype=float)
    ok = ~np.isnan(p)
    if method == "none" or not ok.any():
        return p.copy()
    out = np.full_like(p, np.nan)
    out[ok] = multipletests(p[ok], method=method)[1]
    return out


def _tests(diff: np.ndarray, se: np.ndarray, df: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    q = stats.t.ppf(0.5 + level / 2, np.maximum(df, 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        tstat = diff / se
        p = np.where(se > 0, 2 * stats.t.sf(np.abs(tstat), np.maximum(df, 1)), np.where(diff == 0, 1.0, 0.0))
    bad = np.isnan(diff) | np.isnan(se) | (df < 1)
    return (np.where(bad, np.nan, diff - q * se), np.where(bad, np.nan, diff + q * se), np.where(bad, np.nan, p))


def compare(
    tables: ShareTables, *, level: float = 0.95, adjust: str = "fdr_bh", alpha: float = 0.05
) -> pd.DataFrame:  # long: three comparison families, each a block call with its 14 arguments one a line
    """Differences with design-based SE, CI, t-test and adjusted p-values.

    * ``previous_year``: each district and ``Totalt`` vs the previous survey year in the data. Different
      years lie in different strata and calibration blocks, so the covariance is exactly 0.
    * ``vs_totalt``: each district vs its year's ``Totalt``, with the overlap:
      ``V(p_d - p_T) = V_d + V_T - 2 C_dT`` (C from the two influence columns, stratum by stratum).
    * ``vs_district``: every pair of districts in a year (disjoint strata: covariance 0).

    Test: ``t = diff / se`` with df = the union domain's degrees of freedom (sum of both for disjoint
    domains, Totalt's for district vs Totalt). p-values are adjusted within each family
    (comparison × year × indicator) by Holm or Benjamini–Hochberg; ``significant`` is ``p_adjusted < alpha``.
    """
    d, t = tables.district, tables.total
    k = len(tables.indicators)
    names = np.asarray(tables.indicators, dtype=object)
    dk = tables.district_keys
    year_index = {int(yv): i for i, yv in enumerate(tables.years)}
    rows: list[pd.DataFrame] = []

    def block(
        kind: str,
        year: np.ndarray,
        district: np.ndarray,
        other: np.ndarray,
        a_est: np.ndarray,
        a_se: np.ndarray,
        a_n: np.ndarray,
        a_df: np.ndarray,
        b_est: np.ndarray,
        b_se: np.ndarray,
        b_n: np.ndarray,
        b_df: np.ndarray,
        cov: float | np.ndarray,
        df: np.ndarray,
    ) -> None:
        diff = a_est - b_est
        se = np.sqrt(np.maximum(a_se**2 + b_se**2 - 2 * cov, 0.0))
        lo, hi, p = _tests(diff, se, df, level)
        rows.append(
            pd.DataFrame(
                {
                    "year": np.repeat(year, k),
                    "district": np.repeat(district, k),
                    "indicator": np.tile(names, len(year)),
                    "comparison": kind,
                    "other": np.repeat(other, k),
                    "estimate": a_est.ravel(),
                    "other_estimate": b_est.ravel(),
                    "difference": diff.ravel(),
                    "se": se.ravel(),
                    "ci_low": lo.ravel(),
                    "ci_high": hi.ravel(),
                    "df": df.ravel(),
                    "p_value": p.ravel(),
                    "n": a_n.ravel(),
                    "other_n": b_n.ravel(),
                }
            )
        )

    # previous year (districts present in both years, and Totalt)
    yrs = sorted(year_index)
    prev = {yv: yrs[i - 1] for i, yv in enumerate(yrs) if i > 0}
    ia, ib = _previous_year_pairs(dk, prev)
    if len(ia):
        block(
            "previous_year",
            dk["year"].to_numpy()[ia],
            dk["district"].to_numpy()[ia],
            np.asarray([prev[int(v)] for v in dk["year"].to_numpy()[ia]], dtype=object),
            d.estimate[ia],
            d.se[ia],
            d.n[ia],
            d.df[ia],
            d.estimate[ib],
            d.se[ib],
            d.n[ib],
            d.df[ib],
            0.0,
            d.df[ia] + d.df[ib],
        )
    ta = np.asarray([year_index[yv] for yv in yrs if yv in prev], dtype=np.int64)
    if len(ta):
        tb = np.asarray([year_index[prev[yv]] for yv in yrs if yv in prev], dtype=np.int64)
        block(
            "previous_year",
            tables.years[ta],
            np.repeat(TOTAL_LABEL, len(ta)).astype(object),
            tables.years[tb].astype(object),
            t.estimate[ta],
            t.se[ta],
            t.n[ta],
            t.df[ta],
            t.estimate[tb],
            t.se[tb],
            t.n[tb],
            t.df[tb],
            0.0,
            t.df[ta] + t.df[tb],
        )
    # district vs Totalt of the same year
    ty = np.asarray([year_index[int(v)] for v in dk["year"]], dtype=np.int64)
    cov = tables.cov_district_total if tables.cov_district_total is not None else np.full(d.estimate.shape, np.nan)
    block(
        "vs_totalt",
        dk["year"].to_numpy(),
        dk["district"].to_numpy(),
        np.repeat(TOTAL_LABEL, len(dk)).astype(object),
        d.estimate,
        d.se,
        d.n,
        d.df,
        t.estimate[ty],
        t.se[ty],
        t.n[ty],
        t.df[ty],
        cov,
        t.df[ty],
    )
    # district pairs within a year
    pa, pb = _district_pairs(dk)
    if len(pa):
        block(
            "vs_district",
            dk["year"].to_numpy()[pa],
            dk["district"].to_numpy()[pa],
            dk["district"].to_numpy()[pb],
            d.estimate[pa],
            d.se[pa],
            d.n[pa],
            d.df[pa],
            d.estimate[pb],
            d.se[pb],
            d.n[pb],
            d.df[pb],
            0.0,
            d.df[pa] + d.df[pb],
        )
    out = pd.concat(rows, ignore_index=True)
    pv = out["p_value"].to_numpy(float)
    padj = np.full(len(out), np.nan)
    for fam in out.groupby(["comparison", "year", "indicator"], sort=False).indices.values():
        padj[fam] = adjust_pvalues(pv[fam], adjust)  # one small family (≤ districts²) at a time
    out["p_adjusted"] = padj
    out["significant"] = out["p_adjusted"] < alpha
    out["adjustment"] = adjust
    return out


def _previous_year_pairs(dk: pd.DataFrame, prev: dict[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Rows (a, b) of the district keys: the same district in a year and in its previous survey year."""
    key_index = {(int(a), b): i for i, (a, b) in enumerate(zip(dk["year"], dk["district"]))}
    ia: list[int] = []
    ib: list[int] = []
    for i, (yv, dist) in enumerate(zip(dk["year"].astype(int), dk["district"])):
        if yv in prev and (prev[yv], dist) in key_index:
            ia.append(i)
            ib.append(key_index[(prev[yv], dist)])
    return np.asarray(ia, dtype=np.int64), np.asarray(ib, dtype=np.int64)


def _district_pairs(dk: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Rows (a, b), a before b, of every pair of districts within a year."""
    pa: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
    pb: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
    for _year, grp in dk.groupby("year", sort=True):
        idx = grp.index.to_numpy()
        a, b = np.triu_indices(len(idx), k=1)
        pa.append(idx[a])
        pb.append(idx[b])
    return np.concatenate(pa).astype(np.int64), np.concatenate(pb).astype(np.int64)
