"""Domain estimation: shares, means and totals per domain with design-based SEs, CIs and comparisons.

A *domain* (Särndal, Swensson & Wretman 1992, ch. 10; Lumley 2010, sec. 2.3) is estimated on the full
design with zero weight outside it; rows are never dropped, so each stratum keeps all its PSUs in the
variance. For a share (ratio) over domain ``D``

    p = sum_D w_i y_i / sum_D w_i,     u_i = 1[i in D] (y_i - p) / W_D,

and its variance is the linearised variance of ``sum_i w_i u_i`` (``survey.variance``), including the
calibration residuals. A total has ``u_i = 1[i in D] y_i``.

All domains of an *aligned partition* (every stratum and every calibration block lies inside one domain,
as year × district and year are for the default design) are computed at once: the influence of each
row's own domain fills one column per indicator, so the whole table is a handful of sparse products,
whatever the number of domains. A further 0/1 ``mask`` (e.g. women) restricts every domain of the
partition (e.g. "women in each year × district").

Confidence intervals for a share (level ``1 - alpha``, ``df`` = PSUs in the domain − strata in the domain):

* ``logit`` (the contract; what R ``svyciprop(method = "logit")`` intends):
  ``expit(logit(p) ∓ t_{df} se / (p (1 - p)))``; ``[p, p]`` when p is 0 or 1;
* ``korn_graubard`` (Korn & Graubard 1998): Clopper–Pearson with the effective sample size
  ``n* = p (1 - p) / se^2 · (t_{n-1} / t_{df})^2`` (as R ``svyciprop(method = "beta")``, except that
  ``n`` is the domain's respondents, where R uses every row of the design);
* ``wilson`` (Wilson 1927 with the effective sample size ``n* = p (1 - p) / se^2`` and the t quantile).

Design effect (Kish 1965; as R ``svymean(deff = TRUE)`` for a with-replacement design):
``deff = se^2 / (s^2 / n)``, ``s^2 = n / (n - 1) sum_D w (y - p)^2 / W_D``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from survey.indicators import Indicator
from survey.design import Design, factorize_groups
from survey.errors import DesignError
from survey.variance import calibration_residuals, group_sum, stratum_covariances, stratum_variances

TOTAL_LABEL = "Totalt"
CI_METHODS = ("logit", "korn_graubard", "wilson")
ADJUST_METHODS = ("holm", "fdr_bh", "none")


@dataclass(frozen=True, eq=False)
class DomainEstimates:
    """Estimates for ``G`` domains × ``k`` columns (indicators). Arrays are (G, k)."""

    estimate: np.ndarray
    se: np.ndarray
    n: np.ndarray              # respondents in the domain's base (unweighted n)
    df: np.ndarray             # PSUs in the domain − strata in the domain
    weighted_base: np.ndarray  # W_D = sum_D w (ratio) or NaN (total)
    deff: np.ndarray
    domain_of_stratum: np.ndarray
    influence: np.ndarray | None = None   # (n_rows, k): z = w × residualised u of each row's own domain


def _domain_of(units: np.ndarray, domain: np.ndarray, n_units: int, what: str) -> np.ndarray:
    """The single domain of each unit (stratum or calibration block); error when a unit straddles domains."""
    lo = np.full(n_units, np.iinfo(np.int64).max)
    hi = np.full(n_units, -1, dtype=np.int64)
    np.minimum.at(lo, units, domain)
    np.maximum.at(hi, units, domain)
    if np.any((hi >= 0) & (lo != hi)):
        raise DesignError(f"a {what} spans several domains: pass the domain variable that varies within "
                          f"{what}s as a mask (e.g. sex), and the aligned part (e.g. year × district) as domain")
    return np.where(hi >= 0, hi, -1)


def domain_ratios(design: Design, num: np.ndarray, den: np.ndarray | None, domain: np.ndarray,
                  n_domains: int, *, mask: np.ndarray | None = None,
                  keep_influence: bool = False) -> DomainEstimates:
    """Ratios ``sum_D w num / sum_D w den`` (or totals when ``den`` is None) per domain and column.

    ``num``/``den`` are (n, k) (``den`` is usually the 0/1 base indicator and ``num = den × y``).
    ``domain`` (n,) holds codes ``0..n_domains-1`` of an aligned partition; ``mask`` (n,) restricts it.
    """
    num = np.asarray(num, dtype=float)
    if num.ndim == 1:
        num = num[:, None]
    w = design.weights
    domain = np.asarray(domain, dtype=np.int64)
    dom_h = _domain_of(design.strata, domain, design.n_strata, "stratum")
    if design.calibration is not None:
        _domain_of(design.calibration.block, domain, len(design.calibration.block_labels), "calibration block")
    m = np.ones(len(w)) if mask is None else np.asarray(mask, dtype=float)
    is_ratio = den is not None
    if is_ratio:
        den = np.asarray(den, dtype=float)
        if den.ndim == 1:
            den = den[:, None]
        in_base = (den != 0) & (m[:, None] != 0)
    else:
        in_base = np.broadcast_to((m != 0)[:, None], num.shape)
    wm = (w * m)[:, None]
    top = group_sum(domain, wm * num, n_domains)
    if is_ratio:
        bottom = group_sum(domain, wm * den, n_domains)
        with np.errstate(invalid="ignore", divide="ignore"):
            est = top / bottom
            scale = np.where(bottom > 0, 1.0 / bottom, 0.0)
        u = m[:, None] * (num - np.nan_to_num(est)[domain] * den) * scale[domain]
    else:
        bottom = np.full_like(top, np.nan)
        est = top
        u = m[:, None] * num
    z = w[:, None] * calibration_residuals(design, u)
    var_h = stratum_variances(design, z)                                  # (H, k)
    used = dom_h >= 0
    var = group_sum(dom_h[used], var_h[used], n_domains)
    n = group_sum(domain, in_base.astype(float), n_domains).round().astype(np.int64)
    # degrees of freedom: PSUs with a domain member minus strata with a domain member
    psu = design.psu_codes()
    psu_stratum, _ = design.psu_strata()
    psu_in = group_sum(psu, in_base.astype(float), len(psu_stratum)) > 0   # (P, k)
    psu_dom = dom_h[psu_stratum]
    n_psu_d = group_sum(psu_dom, psu_in.astype(float), n_domains)
    strata_in = group_sum(psu_stratum, psu_in.astype(float), design.n_strata) > 0
    n_strata_d = group_sum(dom_h[used], strata_in[used].astype(float), n_domains)
    df = (n_psu_d - n_strata_d).round().astype(np.int64)
    se = np.sqrt(var)
    if is_ratio:
        # s^2 = n/(n-1) sum_D w (y - p)^2 / W_D for y = num/den on the base
        with np.errstate(invalid="ignore", divide="ignore"):
            ybar = np.nan_to_num(est)[domain]
            yv = np.where(den != 0, num / np.where(den != 0, den, 1.0), 0.0)
            ss = group_sum(domain, wm * den * (yv - ybar) ** 2, n_domains) / bottom
            s2 = ss * n / (n - 1)
            deff = var / (s2 / n)
    else:
        deff = np.full_like(var, np.nan)
    if not is_ratio:
        est = np.where(n > 0, est, np.nan)
    se = np.where(n > 0, se, np.nan)
    return DomainEstimates(estimate=est, se=se, n=n, df=df, weighted_base=bottom, deff=deff,
                           domain_of_stratum=dom_h, influence=z if keep_influence else None)


# --- confidence intervals -----------------------------------------------------------------------

def logit_ci(p: np.ndarray, se: np.ndarray, df: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """``expit(logit p ∓ t_{df} se / (p (1 - p)))``; ``[p, p]`` at p in {0, 1}; NaN when df < 1 or p is NaN."""
    p = np.asarray(p, dtype=float)
    q = stats.t.ppf(0.5 + level / 2, np.where(df >= 1, df, 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        interior = (p > 0) & (p < 1)
        pp = np.where(interior, p, 0.5)
        half = q * se / (pp * (1 - pp))
        lg = np.log(pp / (1 - pp))
        lo = np.where(interior, 1 / (1 + np.exp(-(lg - half))), p)
        hi = np.where(interior, 1 / (1 + np.exp(-(lg + half))), p)
    bad = ~(df >= 1) | np.isnan(p)
    return np.where(bad, np.nan, lo), np.where(bad, np.nan, hi)


def korn_graubard_ci(p: np.ndarray, se: np.ndarray, n: np.ndarray, df: np.ndarray,
                     level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Korn & Graubard (1998) Clopper–Pearson interval with the df-adjusted effective sample size."""
    alpha = 1 - level
    p = np.asarray(p, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        n_eff = np.where(se > 0, p * (1 - p) / se ** 2, n)
        ok = (df >= 1) & (n > 1)
        ratio = stats.t.ppf(alpha / 2, np.where(ok, n - 1, 1)) / stats.t.ppf(alpha / 2, np.where(ok, df, 1))
        n_eff = n_eff * ratio ** 2
        x = n_eff * p
        lo = np.where(x > 0, stats.beta.ppf(alpha / 2, x, n_eff - x + 1), 0.0)
        hi = np.where(n_eff - x > 0, stats.beta.ppf(1 - alpha / 2, x + 1, n_eff - x), 1.0)
    bad = ~ok | np.isnan(p)
    return np.where(bad, np.nan, lo), np.where(bad, np.nan, hi)


def wilson_ci(p: np.ndarray, se: np.ndarray, n: np.ndarray, df: np.ndarray,
              level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval with the effective sample size ``p (1 - p) / se^2`` and a t quantile."""
    p = np.asarray(p, dtype=float)
    q = stats.t.ppf(0.5 + level / 2, np.where(df >= 1, df, 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        n_eff = np.where(se > 0, p * (1 - p) / se ** 2, n)
        q2n = q * q / n_eff
        centre = (p + q2n / 2) / (1 + q2n)
        half = q / (1 + q2n) * np.sqrt(p * (1 - p) / n_eff + q2n / (4 * n_eff))
        lo, hi = np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)
    bad = ~(df >= 1) | np.isnan(p) | ~(n_eff > 0)
    return np.where(bad, np.nan, lo), np.where(bad, np.nan, hi)


# --- the fast path: sufficient statistics per atom -------------------------------------------------
#
# For a 0/1 indicator on an element-sampled design (each respondent its own PSU), the influence value of
# row i for domain g is z_i = w_i (e_i - f_i), where e_i depends only on the row's answer state
# s_i in {0: outside the base, 1: base and y = 0, 2: base and y = 1} and its domain, and the calibration
# fit f_i = x_i' B only on its calibration cell. So every sum the variance needs,
#     sum_h z_i, sum_h z_i^2, sum_h z_i^A z_i^B,
# is a combination of per-"atom" sums of w, w^2 and d, an atom being (stratum, calibration cell, extra
# domain codes) × answer state. The row-level work is four bincounts per indicator; the rest is algebra on
# a few thousand atoms. Identical in exact arithmetic to ``domain_ratios`` (the dense reference).


@dataclass(frozen=True, eq=False)
class AtomStats:
    """Per-atom sums for every indicator: arrays (A, 3, k) over answer states 0/1/2."""

    code: np.ndarray          # (n,) atom of each row
    stratum: np.ndarray       # (A,)
    cell: np.ndarray | None   # (A,) calibration cell
    extra: np.ndarray         # (A, m) extra domain codes (e.g. sex, age group)
    sw: np.ndarray            # (A, 3, k) sum of w
    sw2: np.ndarray           # (A, 3, k) sum of w^2
    sd: np.ndarray            # (A, 3, k) sum of d
    count: np.ndarray         # (A, 3, k) rows


def indicator_states(data: pd.DataFrame, indicators: Sequence[Indicator]) -> np.ndarray:
    """(n, k) int8 answer state: 0 = blank or outside the base, 1 = in base not numerator, 2 = numerator."""
    out = np.zeros((len(data), len(indicators)), dtype=np.int8)
    for j, ind in enumerate(indicators):
        v = data[ind.item].to_numpy(dtype="int64", na_value=-1)
        top = int(max(max(ind.base, default=0), max(ind.numerator, default=0), v.max(initial=0))) + 2
        lut = np.zeros(top, dtype=np.int8)
        lut[np.asarray(ind.base, dtype=np.int64) + 1] = 1
        lut[np.asarray(ind.numerator, dtype=np.int64) + 1] = 2
        lut[0] = 0
        out[:, j] = lut[np.clip(v + 1, 0, top - 1)]
    return out


def atom_stats(design: Design, states: np.ndarray, extra: Sequence[np.ndarray] = ()) -> AtomStats:
    """Per-atom, per-state sums of w, w^2, d and counts (see the note above)."""
    if design.psu is not None:
        raise DesignError("the atom path needs element sampling (no PSUs); use domain_ratios")
    parts = [design.strata]
    if design.calibration is not None:
        parts.append(design.calibration.cell)
    parts.extend(np.asarray(e, dtype=np.int64) for e in extra)
    dims = [int(p_.max()) + 1 if len(p_) else 1 for p_ in parts]
    key = np.ravel_multi_index(tuple(parts), dims)
    code, uniq = pd.factorize(key, sort=True)
    code = code.astype(np.int64)
    n_atoms = len(uniq)
    unr = np.unravel_index(uniq, dims)
    cal = design.calibration is not None
    w, d = design.weights, design.design_weights
    w2 = w * w
    k = states.shape[1]
    size = 3 * n_atoms
    sw = np.empty((n_atoms, 3, k))
    sw2 = np.empty_like(sw)
    sd = np.empty_like(sw)
    cnt = np.empty_like(sw)
    base_key = code * 3
    for j in range(k):       # a loop over indicators; each step is vectorised over all rows
        key_j = base_key + states[:, j]
        sw[:, :, j] = np.bincount(key_j, weights=w, minlength=size).reshape(n_atoms, 3)
        sw2[:, :, j] = np.bincount(key_j, weights=w2, minlength=size).reshape(n_atoms, 3)
        sd[:, :, j] = np.bincount(key_j, weights=d, minlength=size).reshape(n_atoms, 3)
        cnt[:, :, j] = np.bincount(key_j, minlength=size).reshape(n_atoms, 3)
    extra_arr = np.stack(unr[1 + cal:], axis=1) if len(unr) > 1 + cal else np.zeros((n_atoms, 0), dtype=np.int64)
    return AtomStats(code=code, stratum=np.asarray(unr[0], dtype=np.int64),
                     cell=np.asarray(unr[1], dtype=np.int64) if cal else None, extra=extra_arr,
                     sw=sw, sw2=sw2, sd=sd, count=cnt)


@dataclass(frozen=True, eq=False)
class _Partition:
    res: DomainEstimates
    e: np.ndarray      # (A, 3, k) influence per unit weight by state, before the calibration fit
    f: np.ndarray      # (A, k) calibration fit x' B of each atom
    s1: np.ndarray     # (H, k) sum of z per stratum


def _stratum_scale(design: Design) -> tuple[np.ndarray, np.ndarray]:
    """PSUs (= rows, element sampling) per stratum and the variance factor (see ``Design.stratum_scale``)."""
    n_h, scale, _ = design.stratum_scale()
    return n_h, scale


def _atom_partition(design: Design, st: AtomStats, dom_h: np.ndarray, n_domains: int,
                    atom_mask: np.ndarray | None) -> _Partition:
    """Ratios of an aligned partition (domain of each stratum ``dom_h``) from atom sums."""
    n_atoms, _, k = st.sw.shape
    dom_a = dom_h[st.stratum]
    inside = dom_a >= 0
    if atom_mask is not None:
        inside &= atom_mask
    sel = inside[:, None]
    w_base = (st.sw[:, 1] + st.sw[:, 2]) * sel
    y_tot = st.sw[:, 2] * sel
    da = np.where(dom_a >= 0, dom_a, 0)
    big_w = np.zeros((n_domains, k))
    big_y = np.zeros((n_domains, k))
    np.add.at(big_w, da, w_base)
    np.add.at(big_y, da, y_tot)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = big_y / big_w
        inv = np.where(big_w > 0, 1.0 / big_w, 0.0)
    pa, inva = np.nan_to_num(p)[da], inv[da]
    e = np.zeros((n_atoms, 3, k))
    e[:, 1] = np.where(sel, -pa * inva, 0.0)
    e[:, 2] = np.where(sel, (1 - pa) * inva, 0.0)
    f = np.zeros((n_atoms, k))
    if design.calibration is not None:
        from survey.variance import _projector
        m = design.calibration
        ginv, _ = _projector(design)
        xa = m.cell_x[st.cell]                               # (A, p)
        ba = m.cell_block[st.cell]                           # (A,)
        de = np.einsum("ask,ask->ak", st.sd, e)              # sum_s d e per atom
        h = np.zeros((len(m.block_labels), xa.shape[1], k))
        np.add.at(h, ba, xa[:, :, None] * de[:, None, :])
        beta = ginv @ h
        f = np.einsum("ap,apk->ak", xa, beta[ba])
    sw_all = st.sw.sum(axis=1)
    sw2_all = st.sw2.sum(axis=1)
    a1 = np.einsum("ask,ask->ak", st.sw, e) - f * sw_all
    a2 = (np.einsum("ask,ask->ak", st.sw2, e * e) - 2 * f * np.einsum("ask,ask->ak", st.sw2, e)
          + f * f * sw2_all)
    n_h, scale = _stratum_scale(design)
    s1 = np.zeros((design.n_strata, k))
    s2 = np.zeros((design.n_strata, k))
    np.add.at(s1, st.stratum, a1)
    np.add.at(s2, st.stratum, a2)
    with np.errstate(invalid="ignore", divide="ignore"):
        centred = s2 - s1 * s1 / np.maximum(n_h, 1)[:, None]
    uncentred = design.stratum_scale()[2]
    if uncentred.any():
        centred[uncentred] = s2[uncentred]    # R survey's "adjust": the lonely PSU total is centred at 0
    v_h = scale[:, None] * np.maximum(centred, 0.0)
    used = dom_h >= 0
    var = group_sum(dom_h[used], v_h[used], n_domains)
    cnt_base = (st.count[:, 1] + st.count[:, 2]) * sel
    n = np.zeros((n_domains, k))
    np.add.at(n, da, cnt_base)
    per_stratum = np.zeros((design.n_strata, k))
    np.add.at(per_stratum, st.stratum, cnt_base)
    strata_in = group_sum(dom_h[used], (per_stratum[used] > 0).astype(float), n_domains)
    n = n.round().astype(np.int64)
    df = (n - strata_in.round()).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        deff = var / (p * (1 - p) / (n - 1))
    se = np.where(n > 0, np.sqrt(var), np.nan)
    res = DomainEstimates(estimate=p, se=se, n=n, df=df, weighted_base=big_w, deff=deff, domain_of_stratum=dom_h)
    return _Partition(res=res, e=e, f=f, s1=s1)


def _atom_cross(design: Design, st: AtomStats, a: _Partition, b: _Partition) -> np.ndarray:
    """Per-stratum covariance contributions (H, k) between two partitions' influence columns."""
    sw2_all = st.sw2.sum(axis=1)
    cross = (np.einsum("ask,ask->ak", st.sw2, a.e * b.e) - b.f * np.einsum("ask,ask->ak", st.sw2, a.e)
             - a.f * np.einsum("ask,ask->ak", st.sw2, b.e) + a.f * b.f * sw2_all)
    n_h, scale = _stratum_scale(design)
    sab = np.zeros((design.n_strata, st.sw.shape[2]))
    np.add.at(sab, st.stratum, cross)
    centred = sab - a.s1 * b.s1 / np.maximum(n_h, 1)[:, None]
    uncentred = design.stratum_scale()[2]
    if uncentred.any():
        centred[uncentred] = sab[uncentred]
    return scale[:, None] * centred


# --- indicator shares for the canonical wave ------------------------------------------------------

def indicator_matrices(data: pd.DataFrame, indicators: Sequence[Indicator]) -> tuple[np.ndarray, np.ndarray]:
    """``(y, base)`` as (n, k) float arrays: base = answer is one of the indicator's base codes
    (blank = outside), y = base and answer in the numerator codes."""
    n, k = len(data), len(indicators)
    y = np.zeros((n, k))
    base = np.zeros((n, k))
    for j, ind in enumerate(indicators):           # a loop over indicators, vectorised over rows
        v = data[ind.item].to_numpy(dtype="float64", na_value=np.nan)
        b = np.isin(v, np.asarray(ind.base, dtype=float))
        base[:, j] = b
        y[:, j] = b & np.isin(v, np.asarray(ind.numerator, dtype=float))
    return y, base


@dataclass(frozen=True, eq=False)
class ShareTables:
    """Estimates per year × district and per year (Totalt), plus what comparisons need."""

    estimates: pd.DataFrame
    district: DomainEstimates
    total: DomainEstimates
    district_keys: pd.DataFrame   # year, district per district-domain code
    years: np.ndarray             # year per Totalt-domain code
    indicators: tuple[str, ...]
    cov_district_total: np.ndarray | None   # (G_district, k) Cov(district, its year's Totalt)


def _suppress(n: np.ndarray, est: np.ndarray, se: np.ndarray, min_n: int, max_rse: float | None) -> np.ndarray:
    out = n < min_n
    if max_rse is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            rse = se / est
        out = out | ~(rse <= max_rse)
    return out


def _frame(res: DomainEstimates, keys: pd.DataFrame, names: Sequence[str], min_n: int,
           max_rse: float | None, level: float) -> pd.DataFrame:
    """Long table (one row per domain × indicator) with every CI and the suppression flag."""
    lo, hi = logit_ci(res.estimate, res.se, res.df, level)
    kg_lo, kg_hi = korn_graubard_ci(res.estimate, res.se, res.n, res.df, level)
    wi_lo, wi_hi = wilson_ci(res.estimate, res.se, res.n, res.df, level)
    g_, k_ = res.estimate.shape
    f = keys.loc[keys.index.repeat(k_)].reset_index(drop=True)
    f["indicator"] = np.tile(np.asarray(names, dtype=object), g_)
    f["estimate"], f["se"] = res.estimate.ravel(), res.se.ravel()
    f["ci_low"], f["ci_high"], f["n"] = lo.ravel(), hi.ravel(), res.n.ravel()
    f["suppressed"] = _suppress(res.n, res.estimate, res.se, min_n, max_rse).ravel()
    f["df"], f["deff"], f["weighted_base"] = res.df.ravel(), res.deff.ravel(), res.weighted_base.ravel()
    f["ci_low_kg"], f["ci_high_kg"] = kg_lo.ravel(), kg_hi.ravel()
    f["ci_low_wilson"], f["ci_high_wilson"] = wi_lo.ravel(), wi_hi.ravel()
    empty = f["n"] == 0
    f.loc[empty, ["estimate", "se", "ci_low", "ci_high", "deff"]] = np.nan
    return f


def _partitions(design: Design, data: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame, np.ndarray, np.ndarray]:
    """Codes of the year × district and year partitions (and their keys)."""
    dcode, dkeys = factorize_groups(data, ["year", "district"])
    ycode, ykeys = factorize_groups(data, ["year"])
    return dcode, dkeys, ycode, ykeys["year"].to_numpy()


def estimate_shares(design: Design, data: pd.DataFrame, indicators: Sequence[Indicator], *,
                    min_n: int = 30, max_rse: float | None = None, level: float = 0.95,
                    mask: np.ndarray | None = None, with_comparisons: bool = True,
                    atoms: AtomStats | None = None) -> ShareTables:
    """Weighted shares per year × district and per year (``Totalt``) for every indicator.

    ``suppressed`` is ``n < min_n`` (contract default 30), or a relative SE above ``max_rse`` when given.
    ``mask`` restricts every domain (e.g. to women) without dropping rows. Element-sampled designs use the
    atom path (sufficient statistics; pass ``atoms`` to reuse them); clustered designs or row masks the
    dense ``domain_ratios``.
    """
    names = tuple(ind.name for ind in indicators)
    dcode, dkeys, ycode, years = _partitions(design, data)
    cov = None
    if design.psu is None and mask is None:
        st = atoms if atoms is not None else atom_stats(design, indicator_states(data, indicators))
        dom_d = _domain_of(design.strata, dcode, design.n_strata, "stratum")
        dom_y = _domain_of(design.strata, ycode, design.n_strata, "stratum")
        if design.calibration is not None:
            _domain_of(design.calibration.block, dcode, len(design.calibration.block_labels), "calibration block")
        pd_ = _atom_partition(design, st, dom_d, len(dkeys), None)
        pt_ = _atom_partition(design, st, dom_y, len(years), None)
        dres, tres = pd_.res, pt_.res
        if with_comparisons:
            cov_h = _atom_cross(design, st, pd_, pt_)
            cov = group_sum(dom_d[dom_d >= 0], cov_h[dom_d >= 0], len(dkeys))
    else:
        y, base = indicator_matrices(data, indicators)
        num = y * base
        dres = domain_ratios(design, num, base, dcode, len(dkeys), mask=mask, keep_influence=with_comparisons)
        tres = domain_ratios(design, num, base, ycode, len(years), mask=mask, keep_influence=with_comparisons)
        if with_comparisons:
            cov_h = stratum_covariances(design, dres.influence, tres.influence)
            used = dres.domain_of_stratum >= 0
            cov = group_sum(dres.domain_of_stratum[used], cov_h[used], len(dkeys))
    tkeys = pd.DataFrame({"year": years, "district": TOTAL_LABEL})
    est = pd.concat([_frame(dres, dkeys, names, min_n, max_rse, level),
                     _frame(tres, tkeys, names, min_n, max_rse, level)], ignore_index=True)
    # contract order: year; districts in code-point order, then Totalt; indicators in codebook order
    est["_t"] = est["district"] == TOTAL_LABEL
    est["_i"] = est["indicator"].map({nm: i for i, nm in enumerate(names)})
    est = est.sort_values(["year", "_t", "district", "_i"], kind="stable").drop(columns=["_t", "_i"])
    return ShareTables(estimates=est.reset_index(drop=True), district=dres, total=tres, district_keys=dkeys,
                       years=years, indicators=names, cov_district_total=cov)


def group_codes(data: pd.DataFrame, groups: Sequence[str]) -> tuple[list[np.ndarray], list[list]]:
    """Codes (code-point sorted; missing = 0, never used as a mask value) and levels of each group variable."""
    codes, levels = [], []
    for var in groups:
        c, u = pd.factorize(data[var], sort=True)
        codes.append(np.where(c < 0, 0, c).astype(np.int64))
        levels.append(list(u))
    return codes, levels


def estimate_group_shares(design: Design, data: pd.DataFrame, indicators: Sequence[Indicator],
                          groups: Sequence[str], *, labels: dict[str, dict] | None = None, min_n: int = 30,
                          max_rse: float | None = None, level: float = 0.95,
                          atoms: AtomStats | None = None) -> pd.DataFrame:
    """``Totalt`` per year within each level of each variable in ``groups`` (e.g. sex, age group).

    Each level is a domain "year ∩ level" on the full design (rows outside get zero weight). Returns the
    estimate columns plus ``domain`` (the variable) and ``group`` (the level's label).
    """
    names = tuple(ind.name for ind in indicators)
    _, _, ycode, years = _partitions(design, data)
    labels = labels or {}
    codes, levels = group_codes(data, groups)
    frames = []
    tkeys = pd.DataFrame({"year": years, "district": TOTAL_LABEL})
    if design.psu is None:
        st = atoms if atoms is not None else atom_stats(design, indicator_states(data, indicators), extra=codes)
        if st.extra.shape[1] != len(groups):
            raise ValueError("atoms were built without the group codes: use atom_stats(..., extra=group_codes(...)[0])")
        dom_y = _domain_of(design.strata, ycode, design.n_strata, "stratum")
    for j, var in enumerate(groups):
        for v, level_value in enumerate(levels[j]):
            if design.psu is None:
                res = _atom_partition(design, st, dom_y, len(years), st.extra[:, j] == v).res
            else:
                y, base = indicator_matrices(data, indicators)
                res = domain_ratios(design, y * base, base, ycode, len(years), mask=codes[j] == v)
            f = _frame(res, tkeys, names, min_n, max_rse, level)
            f.insert(2, "domain", var)
            f.insert(3, "group", labels.get(var, {}).get(level_value, str(level_value)))
            frames.append(f)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


# --- comparisons ----------------------------------------------------------------------------------

def adjust_pvalues(p: np.ndarray, method: str = "fdr_bh") -> np.ndarray:
    """Holm (1979) step-down or Benjamini–Hochberg (1995) step-up adjusted p-values (NaN kept)."""
    if method not in ADJUST_METHODS:
        raise ValueError(f"unknown adjustment {method!r}; use one of {ADJUST_METHODS}")
    p = np.asarray(p, dtype=float)
    out = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if m == 0 or method == "none":
        return p.copy()
    pv = p[ok]
    order = np.argsort(pv, kind="stable")
    ps = pv[order]
    if method == "holm":
        adj = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * ps))
    else:
        adj = np.minimum.accumulate((m / np.arange(1, m + 1) * ps)[::-1])[::-1]
        adj = np.minimum(adj, 1.0)
    res = np.empty(m)
    res[order] = adj
    out[ok] = res
    return out


def _tests(diff: np.ndarray, se: np.ndarray, df: np.ndarray, level: float):
    q = stats.t.ppf(0.5 + level / 2, np.maximum(df, 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        tstat = diff / se
        p = np.where(se > 0, 2 * stats.t.sf(np.abs(tstat), np.maximum(df, 1)),
                     np.where(diff == 0, 1.0, 0.0))
    bad = np.isnan(diff) | np.isnan(se) | (df < 1)
    return (np.where(bad, np.nan, diff - q * se), np.where(bad, np.nan, diff + q * se), np.where(bad, np.nan, p))


def compare(tables: ShareTables, *, level: float = 0.95, adjust: str = "fdr_bh",
            alpha: float = 0.05) -> pd.DataFrame:
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
    rows = []

    def block(kind, year, district, other, a_est, a_se, a_n, a_df, b_est, b_se, b_n, b_df, cov, df):
        diff = a_est - b_est
        se = np.sqrt(np.maximum(a_se ** 2 + b_se ** 2 - 2 * cov, 0.0))
        lo, hi, p = _tests(diff, se, df, level)
        rows.append(pd.DataFrame({
            "year": np.repeat(year, k), "district": np.repeat(district, k), "indicator": np.tile(names, len(year)),
            "comparison": kind, "other": np.repeat(other, k),
            "estimate": a_est.ravel(), "other_estimate": b_est.ravel(), "difference": diff.ravel(),
            "se": se.ravel(), "ci_low": lo.ravel(), "ci_high": hi.ravel(), "df": df.ravel(), "p_value": p.ravel(),
            "n": a_n.ravel(), "other_n": b_n.ravel()}))

    # previous year (districts present in both years, and Totalt)
    yrs = sorted(year_index)
    prev = {yv: yrs[i - 1] for i, yv in enumerate(yrs) if i > 0}
    key_index = {(int(a), b): i for i, (a, b) in enumerate(zip(dk["year"], dk["district"]))}
    ia, ib = [], []
    for i, (yv, dist) in enumerate(zip(dk["year"].astype(int), dk["district"])):
        if yv in prev and (prev[yv], dist) in key_index:
            ia.append(i)
            ib.append(key_index[(prev[yv], dist)])
    ia, ib = np.asarray(ia, dtype=np.int64), np.asarray(ib, dtype=np.int64)
    if len(ia):
        block("previous_year", dk["year"].to_numpy()[ia], dk["district"].to_numpy()[ia],
              np.asarray([prev[int(v)] for v in dk["year"].to_numpy()[ia]], dtype=object),
              d.estimate[ia], d.se[ia], d.n[ia], d.df[ia], d.estimate[ib], d.se[ib], d.n[ib], d.df[ib],
              0.0, d.df[ia] + d.df[ib])
    ta = np.asarray([year_index[yv] for yv in yrs if yv in prev], dtype=np.int64)
    if len(ta):
        tb = np.asarray([year_index[prev[yv]] for yv in yrs if yv in prev], dtype=np.int64)
        block("previous_year", tables.years[ta], np.repeat(TOTAL_LABEL, len(ta)).astype(object),
              tables.years[tb].astype(object), t.estimate[ta], t.se[ta], t.n[ta], t.df[ta],
              t.estimate[tb], t.se[tb], t.n[tb], t.df[tb], 0.0, t.df[ta] + t.df[tb])
    # district vs Totalt of the same year
    ty = np.asarray([year_index[int(v)] for v in dk["year"]], dtype=np.int64)
    cov = tables.cov_district_total if tables.cov_district_total is not None else np.full(d.estimate.shape, np.nan)
    block("vs_totalt", dk["year"].to_numpy(), dk["district"].to_numpy(), np.repeat(TOTAL_LABEL, len(dk)).astype(object),
          d.estimate, d.se, d.n, d.df, t.estimate[ty], t.se[ty], t.n[ty], t.df[ty], cov, t.df[ty])
    # district pairs within a year
    pa, pb = [], []
    for yv, grp in dk.groupby("year", sort=True):
        idx = grp.index.to_numpy()
        a, b = np.triu_indices(len(idx), k=1)
        pa.append(idx[a])
        pb.append(idx[b])
    if pa:
        pa, pb = np.concatenate(pa), np.concatenate(pb)
        if len(pa):
            block("vs_district", dk["year"].to_numpy()[pa], dk["district"].to_numpy()[pa],
                  dk["district"].to_numpy()[pb], d.estimate[pa], d.se[pa], d.n[pa], d.df[pa],
                  d.estimate[pb], d.se[pb], d.n[pb], d.df[pb], 0.0, d.df[pa] + d.df[pb])
    out = pd.concat(rows, ignore_index=True)
    pv = out["p_value"].to_numpy(float)
    padj = np.full(len(out), np.nan)
    for idx in out.groupby(["comparison", "year", "indicator"], sort=False).indices.values():
        padj[idx] = adjust_pvalues(pv[idx], adjust)      # one small family (≤ districts²) at a time
    out["p_adjusted"] = padj
    out["significant"] = out["p_adjusted"] < alpha
    out["adjustment"] = adjust
    return out


# --- a mean-score index ---------------------------------------------------------------------------

def score_index(data: pd.DataFrame, items: Sequence[str], scores: dict[int, float]) -> tuple[np.ndarray, np.ndarray]:
    """Per respondent: mean score over the answered ``items`` with a score (codes without one, e.g. 9 "vet ej",
    and blanks are skipped); returns ``(score, base)`` where base = at least one scored answer.

    The domain estimate is the ratio ``sum_D w s / sum_D w`` (a mean), linearised as a ratio.
    """
    top = int(max(scores)) + 2
    lut_score = np.zeros(top)
    lut_hit = np.zeros(top, dtype=bool)
    for c, val in scores.items():
        lut_score[int(c) + 1] = val
        lut_hit[int(c) + 1] = True
    total = np.zeros(len(data))
    count = np.zeros(len(data))
    for it in items:                                 # a loop over items, vectorised over rows
        v = data[it].to_numpy(dtype="int64", na_value=-1) + 1
        v[(v < 0) | (v >= top)] = 0          # blank and codes without a score (e.g. 9 "vet ej") → slot 0: no score
        total += lut_score[v]
        count += lut_hit[v]
    base = (count > 0).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(count > 0, total / np.maximum(count, 1), 0.0)
    return score, base
