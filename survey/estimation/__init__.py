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

from survey.estimation.atoms import AtomStats, atom_stats, indicator_states
from survey.estimation.comparisons import ADJUST_METHODS, adjust_pvalues, compare
from survey.estimation.domains import CI_METHODS, DomainEstimates, domain_ratios
from survey.estimation.index import score_index
from survey.estimation.intervals import korn_graubard_ci, logit_ci, wilson_ci
from survey.estimation.shares import (
    ShareTables,
    estimate_distributions,
    estimate_group_shares,
    estimate_shares,
    group_codes,
    indicator_matrices,
)
from survey.labels import TOTAL_LABEL

__all__ = [
    "ADJUST_METHODS",
    "CI_METHODS",
    "TOTAL_LABEL",
    "AtomStats",
    "DomainEstimates",
    "ShareTables",
    "adjust_pvalues",
    "atom_stats",
    "compare",
    "domain_ratios",
    "estimate_distributions",
    "estimate_group_shares",
    "estimate_shares",
    "group_codes",
    "indicator_matrices",
    "indicator_states",
    "korn_graubard_ci",
    "logit_ci",
    "score_index",
    "wilson_ci",
]
