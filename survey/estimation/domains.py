"""Domain ratios (shares, means) and totals on the full design: the dense reference path."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from survey.design import Design
from survey.errors import DesignError
from survey.variance import calibration_residuals, group_sum, stratum_variances

CI_METHODS = ("logit", "korn_graubard", "wilson")


@dataclass(frozen=True, eq=False)
class DomainEstimates:
    """Estimates for ``G`` domains × ``k`` columns (indicators). Arrays are (G, k)."""

    estimate: np.ndarray
    se: np.ndarray
    n: np.ndarray  # respondents in the domain's base (unweighted n)
    df: np.ndarray  # PSUs in the domain − strata in the domain
    weighted_base: np.ndarray  # W_D = sum_D w (ratio) or NaN (total)
    deff: np.ndarray
    domain_of_stratum: np.ndarray
    influence: np.ndarray | None = None  # (n_rows, k): z = w × residualised u of each row's own domain


def domain_of(units: np.ndarray, domain: np.ndarray, n_units: int, what: str) -> np.ndarray:
    """The single domain of each unit (stratum or calibration block); error when a unit straddles domains."""
    of_unit = np.full(n_units, -1, dtype=np.int64)
    of_unit[units] = domain  # some row's domain per unit; all rows must agree with it
    if not np.array_equal(of_unit[units], domain):
        raise DesignError(
            f"en {what} spänner över flera domäner: ange domänvariabeln som varierar inom "
            f"{what} som mask (t.ex. kön) och den sammanfallande delen (t.ex. år × område) som domän"
        )
    return of_unit


def domain_ratios(  # long: the dense reference estimator, kept whole to mirror the formula
    design: Design,
    num: np.ndarray,
    den: np.ndarray | None,
    domain: np.ndarray,
    n_domains: int,
    *,
    mask: np.ndarray | None = None,
    keep_influence: bool = False,
) -> DomainEstimates:
    """Ratios ``sum_D w num / sum_D w den`` (or totals when ``den`` is None) per domain and column.

    ``num``/``den`` are (n, k) (``den`` is usually the 0/1 base indicator and ``num = den × y``).
    ``domain`` (n,) holds codes ``0..n_domains-1`` of an aligned partition; ``mask`` (n,) restricts it.
    Element-sampled designs (without ``keep_influence``) take the per-atom moment path
    (:mod:`survey.estimation.moments`); this function's body is the dense reference.
    """
    num = np.asarray(num, dtype=float)
    if num.ndim == 1:
        num = num[:, None]
    w = design.weights
    domain = np.asarray(domain, dtype=np.int64)
    dom_h = domain_of(design.strata, domain, design.n_strata, "stratum")
    if design.calibration is not None:
        domain_of(design.calibration.block, domain, len(design.calibration.block_labels), "kalibreringsblock")
    if design.psu is None and not keep_influence:  # element sampling: per-atom moments, no n × k matrices
        from survey.estimation.moments import atom_ratios

        den2 = None if den is None else np.asarray(den, dtype=float).reshape(len(w), -1)
        return atom_ratios(design, num, den2, dom_h, n_domains, mask)
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
    var_h = stratum_variances(design, z)  # (H, k)
    used = dom_h >= 0
    var = group_sum(dom_h[used], var_h[used], n_domains)
    n = group_sum(domain, in_base.astype(float), n_domains).round().astype(np.int64)
    # degrees of freedom: PSUs with a domain member minus strata with a domain member
    psu = design.psu_codes()
    psu_stratum, _ = design.psu_strata()
    psu_in = group_sum(psu, in_base.astype(float), len(psu_stratum)) > 0  # (P, k)
    psu_dom = dom_h[psu_stratum]
    n_psu_d = group_sum(psu_dom, psu_in.astype(float), n_domains)
    strata_in = group_sum(psu_stratum, psu_in.astype(float), design.n_strata) > 0
    n_strata_d = group_sum(dom_h[used], strata_in[used].astype(float), n_domains)
    df = (n_psu_d - n_strata_d).round().astype(np.int64)
    se = np.sqrt(var)
    if is_ratio and den is not None:
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
    return DomainEstimates(
        estimate=est,
        se=se,
        n=n,
        df=df,
        weighted_base=bottom,
        deff=deff,
        domain_of_stratum=dom_h,
        influence=z if keep_influence else None,
    )
