"""Survey-weighted generalised linear models with design-based covariance, Wald tests, margins, trends,
and a Fay–Herriot small-area model.

**Coefficients** (Binder 1983; Lumley 2010, ch. 5; R ``survey::svyglm``). The pseudo-maximum-likelihood
estimator ``b`` solves the weighted score equations over the domain ``D``

    sum_{i in D} w_i x_i (y_i - mu_i) = 0,    mu_i = h(x_i' b),

with ``w`` the final (calibrated) weights and a canonical link ``h`` (logit for ``quasibinomial``, identity
for ``gaussian``). The fit is done by statsmodels' ``GLM`` (IRLS) with ``var_weights``. When the model
matrix only depends on a *cell* of the respondent (e.g. ``year + district``: the cell is year × district),
the rows are first collapsed to cell totals ``W_c = sum w_i``, ``ybar_c = sum w_i y_i / W_c``; the score
equations, hence the coefficients, are identical and the fit costs a few hundred cells instead of a
million rows.

**Covariance** (Binder 1983, sec. 3; Lumley 2010, sec. 5.2.2; ``survey:::svy.varcoef``). With
``A = sum_{i in D} w_i v(mu_i) x_i x_i'`` (``v(mu) = mu (1 - mu)`` for the logit, 1 for the identity),
the estimator is linearised as ``b - beta ~= sum_i w_i u_i`` with the influence value per unit weight

    u_i = 1[i in D] A^-1 x_i (y_i - mu_i)            (0 outside D; every row stays in the design).

Its covariance is :func:`survey.variance.linearized_vcov` of ``u``: calibration (GREG) residuals of
``u``, times ``w``, then the stratified with-replacement variance. Fast path (exact, not an
approximation): when ``x`` is constant within every stratum (on the domain rows) and every calibration
block lies inside one stratum, ``u_i = r_i a_h`` with a scalar ``r_i = 1[i in D](y_i - mu_i)`` and
``a_h = A^-1 x_h``; residualisation and variance are linear, so ``V = sum_h s_h a_h a_h'`` where ``s_h``
is the stratum-``h`` variance contribution of the calibration residuals of ``r``: one ``n``-vector per
model instead of an ``n × p`` matrix.

Degrees of freedom: ``df`` = PSUs with domain respondents − strata with domain respondents
(``degf(subset)``); t tests and Wald CIs use R's ``df.residual = df + 1 − p`` (``summary.svyglm``,
``confint.svyglm``); :func:`wald_test` uses the same denominator df as ``regTermTest``.

**Precision.** Numeric covariates (e.g. ``year`` ≈ 2023) are centred internally at their weighted domain
mean and the intercept, its variance and covariances are transformed back (``b = T b_c``,
``V = T V_c T'``): the columns 1 and ``year`` are nearly collinear otherwise.

**Small areas** (Fay & Herriot 1979; Prasad & Rao 1990; Datta & Lahiri 2000; Rao & Molina 2015, ch. 6):
see :func:`fay_herriot` and :func:`small_area_shares`.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Iterable, Literal, Sequence

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from scipy.special import expit, logit, xlogy

from survey.indicators import Indicator, SeriesBreak
from survey.design import Design
from survey.errors import ModelError
from survey.variance import calibration_residuals, linearized_vcov, stratum_variances

Family = Literal["quasibinomial", "gaussian"]
FAMILIES: tuple[str, ...] = ("quasibinomial", "gaussian")


# --------------------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class SurveyGLMResult:
    """A fitted design-based GLM (the numbers of R ``summary(svyglm(...))``).

    Attributes:
        terms: coefficient names, e.g. ``("(Intercept)", "year", "district[Rissne]")``.
        coef, se, vcov: coefficients, design-based SEs and covariance (``vcov(svyglm)``).
        df: design degrees of freedom of the domain: PSUs − strata with domain respondents.
        df_residual: ``df + 1 − p`` (R ``svyglm``'s ``df.residual``), used for t, p-values and CIs.
        t, p_value: Wald t statistics and two-sided p-values with ``df_residual``.
        family: ``"quasibinomial"`` or ``"gaussian"``.
        converged, iterations: IRLS status (statsmodels) and score check.
        n: respondents in the domain.
        deviance: deviance with R's rescaled prior weights ``w_i / wbar``, ``wbar`` the mean of
            ``w_j 1[j in D]`` over all rows for a calibrated design, over ``D`` otherwise (as R subsets).
        dispersion: R ``summary.svyglm``'s dispersion: ``svyvar`` of the Pearson residuals
            ``(y - mu) / sqrt(v(mu))`` over the domain, ``n_D / (n_D - 1)`` times their weighted variance.
        naive_vcov: ``A^-1`` in R's scaling (``svyglm$naive.cov``: rescaled weights).
    """

    terms: tuple[str, ...]
    coef: np.ndarray
    se: np.ndarray
    vcov: np.ndarray
    df: int
    df_residual: int
    t: np.ndarray
    p_value: np.ndarray
    family: str
    converged: bool
    iterations: int
    n: int
    deviance: float
    dispersion: float
    naive_vcov: np.ndarray

    def index(self, term: str) -> int:
        try:
            return self.terms.index(term)
        except ValueError:
            raise ModelError(f"term {term!r} is not in the model (terms: {', '.join(self.terms)})") from None

    def table(self) -> pd.DataFrame:
        """Coefficient table: ``term, estimate, se, t, p_value, df``."""
        return pd.DataFrame({"term": list(self.terms), "estimate": self.coef, "se": self.se, "t": self.t,
                             "p_value": self.p_value, "df": self.df_residual})

    def confint(self, level: float = 0.95) -> np.ndarray:
        """Wald intervals ``b ∓ t(1 − α/2, df_residual) se`` (R ``confint.svyglm(method = "Wald")``)."""
        q = stats.t.ppf(0.5 + level / 2, self.df_residual) if self.df_residual > 0 else np.nan
        return np.column_stack([self.coef - q * self.se, self.coef + q * self.se])


@dataclass(frozen=True)
class WaldTestResult:
    """R ``regTermTest(model, terms, method = "Wald")``.

    ``F = b' V^-1 b / q`` on ``(q, ddf)`` degrees of freedom; ``chisq = q F`` with its chi-square p-value.
    """

    terms: tuple[str, ...]
    chisq: float
    df: int
    ddf: float
    F: float
    p_value: float
    p_value_chisq: float


# --------------------------------------------------------------------------------------------------
# the GLM
# --------------------------------------------------------------------------------------------------

def _variance_fn(family: str, mu: np.ndarray) -> np.ndarray:
    return mu * (1.0 - mu) if family == "quasibinomial" else np.ones_like(mu)


def _centres(x: np.ndarray, weight: np.ndarray, terms: Sequence[str]) -> tuple[np.ndarray, int | None]:
    """Centre of each column (0 for the intercept and 0/1 columns) and the intercept's position."""
    p = x.shape[1]
    c = np.zeros(p)
    icpt = [j for j in range(p) if np.all(x[:, j] == 1.0)]
    if not icpt:
        return c, None
    wt = weight / weight.sum()
    for j in range(p):
        col = x[:, j]
        if j == icpt[0] or np.all((col == 0.0) | (col == 1.0)):
            continue
        c[j] = float(wt @ col)
    return c, icpt[0]


def _stratum_structure(design: Design) -> bool:
    """True when every calibration block lies inside one stratum (or the design is not calibrated)."""
    key = "models.block_in_stratum"
    if key not in design._cache:
        m = design.calibration
        ok = True
        if m is not None:
            nb = len(m.block_labels)
            lo = np.full(nb, np.iinfo(np.int64).max)
            hi = np.full(nb, -1)
            np.minimum.at(lo, m.block, design.strata)
            np.maximum.at(hi, m.block, design.strata)
            ok = bool(np.all((hi < 0) | (lo == hi)))
        design._cache[key] = ok
    return design._cache[key]


def svyglm(design: Design, y: np.ndarray, x: np.ndarray, terms: Sequence[str], *,
           domain: np.ndarray | None = None, cell: np.ndarray | None = None,
           family: Family = "quasibinomial", centre: bool = True, with_dispersion: bool = True,
           tol: float = 1e-14, maxiter: int = 100) -> SurveyGLMResult:
    """Design-based GLM ``y ~ x`` on ``domain`` of ``design`` (R ``svyglm(..., design = subset(d, D))``).

    Args:
        design: the (calibrated) design; one row per respondent, in the order of ``y``.
        y: (n,) response; values outside the domain are ignored (NaN allowed there).
        x: model matrix: (n, p) rows per respondent, or, with ``cell``, (C, p) rows per cell.
        terms: the p coefficient names.
        domain: (n,) bool; default all rows. Rows outside keep their place in the design (zero weight).
        cell: (n,) int codes into the rows of ``x`` (values outside the domain are ignored); collapses the
            fit to cells and enables the per-stratum variance fast path (see module docstring).
        family: ``"quasibinomial"`` (logit link; y in [0, 1]) or ``"gaussian"`` (identity link).
        centre: centre numeric (non-0/1) columns internally when there is an intercept (results are for
            the uncentred parametrisation).
        with_dispersion: compute R's dispersion (one more pass over the rows); NaN otherwise.
        tol, maxiter: statsmodels IRLS convergence (absolute deviance change, weights scaled to mean 1).

    Returns:
        :class:`SurveyGLMResult`. Raises :class:`ModelError` on an empty domain, a rank-deficient model
        matrix or a response outside the family's range.
    """
    if family not in FAMILIES:
        raise ModelError(f"unknown family {family!r}; use one of {FAMILIES}")
    n = design.n
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    terms = tuple(terms)
    if len(y) != n:
        raise ModelError(f"y has {len(y)} values for a design of {n} rows")
    if x.ndim != 2 or x.shape[1] != len(terms):
        raise ModelError(f"model matrix of shape {x.shape} for {len(terms)} terms")
    dom = np.ones(n, dtype=bool) if domain is None else np.asarray(domain, dtype=bool)
    if len(dom) != n:
        raise ModelError(f"domain has {len(dom)} values for a design of {n} rows")
    w = design.weights
    dom = dom & (w != 0)
    n_dom = int(np.count_nonzero(dom))
    if n_dom == 0:
        raise ModelError("the model's domain has no respondents")
    # full-length arrays with zeros outside the domain (no boolean fancy indexing: 1M rows, 15 models)
    wz = np.where(dom, w, 0.0)
    yz = np.where(dom, y, 0.0)
    if not np.all(np.isfinite(yz)):
        raise ModelError("the response is missing (NaN) for some respondents in the domain")
    if family == "quasibinomial" and (yz.min() < 0 or yz.max() > 1):
        raise ModelError("quasibinomial needs a response in [0, 1]")

    # ---- collapse to cells (rows are their own cells when cell is None) ---------------------------
    if cell is None:
        if x.shape[0] != n:
            raise ModelError(f"model matrix has {x.shape[0]} rows for a design of {n} rows (give cell=)")
        cell = np.arange(n, dtype=np.int64)
    else:
        cell = np.asarray(cell, dtype=np.int64)
        if len(cell) != n:
            raise ModelError(f"cell has {len(cell)} codes for a design of {n} rows")
        if cell.min() < 0:
            cell = np.where(dom, cell, 0)
        if cell.max() >= x.shape[0] or cell.min() < 0:
            raise ModelError("cell codes of domain rows must index the rows of x")
    n_cells = x.shape[0]
    wy = wz * yz
    s0 = np.bincount(cell, weights=wz, minlength=n_cells)
    s1 = np.bincount(cell, weights=wy, minlength=n_cells)
    s2 = np.bincount(cell, weights=wy * yz, minlength=n_cells)
    binary = bool(np.all((yz == 0.0) | (yz == 1.0)))
    ent = (np.bincount(cell, weights=wz * (xlogy(yz, yz) + xlogy(1 - yz, 1 - yz)), minlength=n_cells)
           if family == "quasibinomial" and not binary else np.zeros(n_cells))
    used = np.flatnonzero(s0 > 0)
    xc = x[used]
    s0, s1, s2, ent = s0[used], s1[used], s2[used], ent[used]
    remap = np.full(n_cells, -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    code = remap[cell]                          # -1 only outside the domain
    ybar = s1 / s0

    # ---- centring and rank ----------------------------------------------------------------------
    c, icpt = _centres(xc, s0, terms) if centre else (np.zeros(len(terms)), None)
    xcc = xc - c
    p = len(terms)
    if np.linalg.matrix_rank(xcc * np.sqrt(s0 / s0.max())[:, None]) < p:
        raise ModelError(f"the model matrix is rank deficient on the domain (terms: {', '.join(terms)}); "
                         f"a level without respondents or a constant covariate?")

    # ---- fit (statsmodels IRLS on cells; var_weights scaled to mean 1) -----------------------------
    # R's svyglm rescales the weights by their mean over the subset design's rows: a calibrated design keeps
    # every row (zero weight outside D), an uncalibrated one drops the rows outside D ("[.survey.design2")
    wmean = float(wz.sum()) / (n if design.calibration is not None else n_dom)
    fam = sm.families.Binomial() if family == "quasibinomial" else sm.families.Gaussian()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")    # non-integer binomial counts, separation: checked below
        fit = sm.GLM(ybar, xcc, family=fam, var_weights=s0 / s0.mean()).fit(
            method="IRLS", tol=tol, atol=tol, rtol=0.0, maxiter=maxiter)
    bc = np.asarray(fit.params, dtype=float)
    iters = int(fit.fit_history["iteration"])
    eta = xcc @ bc
    mu = expit(eta) if family == "quasibinomial" else eta
    vmu = _variance_fn(family, mu)
    a_mat = (xcc * (s0 * vmu)[:, None]).T @ xcc
    a_inv = np.linalg.inv(a_mat)
    step = a_inv @ (xcc.T @ (s1 - s0 * mu))          # one more Newton step: ~0 at the optimum
    converged = (bool(fit.converged) or bool(np.max(np.abs(step)) < 1e-10 * (1 + np.max(np.abs(bc))))) \
        and bool(np.all(np.isfinite(bc)))

    # ---- influence and covariance -----------------------------------------------------------------
    r = np.where(dom, yz - mu[code], 0.0)      # y_i - mu_i in the domain, 0 outside
    a_cells = xcc @ a_inv                      # (C, p): a_c = A^-1 x_c
    vc = None
    if _stratum_structure(design) and not (design.lonely_psu == "adjust"
                                           and np.any(design.psu_strata()[1] == 1)):
        # is the cell (hence x) constant within each stratum on the domain rows?
        first = np.full(design.n_strata, -1, dtype=np.int64)
        first[design.strata[::-1]] = code[::-1]          # code of each stratum's first row
        if not np.all(code == first[design.strata]):     # rows outside D may differ: check D only
            first[:] = -1
            ds, dc = design.strata[dom], code[dom]
            first[ds[::-1]] = dc[::-1]
            ok = bool(np.all(dc == first[ds]))
        else:
            ok = True
        if ok:
            e = calibration_residuals(design, r)
            s_h = stratum_variances(design, w * e)[:, 0]
            has = first >= 0
            a_h = a_cells[first[has]]
            vc = (a_h * s_h[has][:, None]).T @ a_h
    if vc is None:
        u = r[:, None] * a_cells[code]
        vc = linearized_vcov(design, u)

    # ---- back to the uncentred parametrisation ------------------------------------------------------
    tmat = np.eye(p)
    if icpt is not None:
        tmat[icpt, :] -= c
        tmat[icpt, icpt] = 1.0
    b = tmat @ bc
    vcov = tmat @ vc @ tmat.T
    vcov = (vcov + vcov.T) / 2
    se = np.sqrt(np.diag(vcov))

    # ---- R's df, deviance, dispersion ----------------------------------------------------------------
    n_psu_dom = n_dom if design.psu is None else int(np.count_nonzero(np.bincount(design.psu, weights=dom)))
    df = n_psu_dom - int(np.count_nonzero(np.bincount(design.strata, weights=dom, minlength=design.n_strata)))
    df_res = df + 1 - p
    tval = b / se
    pval = 2 * stats.t.sf(np.abs(tval), df_res) if df_res > 0 else np.full(p, np.nan)
    if family == "quasibinomial":
        dev = 2.0 * float(np.sum(ent - s1 * np.log(mu) - (s0 - s1) * np.log1p(-mu))) / wmean
    else:
        dev = float(np.sum(s2 - 2 * mu * s1 + mu * mu * s0)) / wmean
    dispersion = np.nan
    if with_dispersion and n_dom > 1:
        # svyvar of the Pearson residuals (y - mu) / sqrt(v(mu)) (residuals.svyglm: the prior weights
        # cancel against the sampling weights), with svyvar's n / (n - 1) (summary.svyglm)
        pr = r / np.sqrt(np.where(dom, vmu[code], 1.0))
        prbar = float(wz @ pr) / float(s0.sum())
        dispersion = float(wz @ ((pr - prbar) ** 2)) / float(s0.sum()) * n_dom / (n_dom - 1)
    naive = tmat @ a_inv @ tmat.T * wmean
    return SurveyGLMResult(terms=terms, coef=b, se=se, vcov=vcov, df=df, df_residual=df_res, t=tval,
                           p_value=pval, family=family, converged=converged, iterations=iters,
                           n=n_dom, deviance=dev, dispersion=dispersion, naive_vcov=naive)


def _match_terms(result: SurveyGLMResult, terms: str | Sequence[str]) -> list[int]:
    """Indices of coefficients named by ``terms``: exact names, or a factor/term group (``"district"``
    matches ``district[...]``; ``"year:district"`` matches ``year:district[...]``)."""
    wanted = [terms] if isinstance(terms, str) else list(terms)
    idx: list[int] = []
    for t in wanted:
        hit = [j for j, name in enumerate(result.terms) if name == t or name.startswith(t + "[")]
        if not hit:
            raise ModelError(f"no coefficient matches {t!r} (terms: {', '.join(result.terms)})")
        idx.extend(j for j in hit if j not in idx)
    return idx


def wald_test(result: SurveyGLMResult, terms: str | Sequence[str], *, null: Sequence[float] | None = None,
              df: float | None = None) -> WaldTestResult:
    """Wald test that the coefficients of ``terms`` are ``null`` (default 0): R
    ``regTermTest(model, terms, method = "Wald")`` (Lumley 2010, sec. 5.2.3).

    ``chisq = (b − b0)' V^-1 (b − b0)``, ``F = chisq / q`` on ``(q, ddf)`` df with ``ddf`` =
    ``result.df_residual`` unless ``df`` is given; ``df = inf`` gives the chi-square test only
    (``F`` and its p-value then equal the chi-square version's statistic / q and p-value).
    """
    idx = _match_terms(result, terms)
    b = result.coef[idx]
    if null is not None:
        b = b - np.asarray(null, dtype=float)
    v = result.vcov[np.ix_(idx, idx)]
    chisq = float(b @ np.linalg.solve(v, b))
    q = len(idx)
    ddf = float(result.df_residual if df is None else df)
    f = chisq / q
    p_chi = float(stats.chi2.sf(chisq, q))
    p_f = float(stats.f.sf(f, q, ddf)) if np.isfinite(ddf) and ddf > 0 else p_chi
    return WaldTestResult(terms=tuple(result.terms[j] for j in idx), chisq=chisq, df=q, ddf=ddf, F=f,
                          p_value=p_f, p_value_chisq=p_chi)


# --------------------------------------------------------------------------------------------------
# trend models: indicator ~ year + district [+ year:district]
# --------------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class _Prepared:
    """Row → year × district cell codes, shared by all indicators of one data frame."""

    cell: np.ndarray            # (n,) code of (year, district)
    cell_year: np.ndarray       # (C,) int
    cell_district: np.ndarray   # (C,) str (object)
    year: np.ndarray            # (n,) int


def _prepare(design: Design, data: pd.DataFrame) -> _Prepared:
    if len(data) != design.n:
        raise ModelError(f"data has {len(data)} rows for a design of {design.n} rows (same rows, same order)")
    for col in ("year", "district"):
        if col not in data.columns:
            raise ModelError(f"data has no column {col!r}")
    year = data["year"].to_numpy(dtype=np.int64)
    ycode, yuniq = pd.factorize(year, sort=True)
    dcode, duniq = pd.factorize(data["district"].astype(str), sort=True)     # code-point order
    nd = len(duniq)
    full = ycode.astype(np.int64) * nd + dcode
    present = np.flatnonzero(np.bincount(full, minlength=len(yuniq) * nd))
    remap = np.full(len(yuniq) * nd, -1, dtype=np.int64)
    remap[present] = np.arange(len(present))
    codes = remap[full]
    cy = np.asarray(yuniq, dtype=np.int64)[present // nd]
    cdist = np.asarray(duniq, dtype=object)[present % nd]
    return _Prepared(cell=codes.astype(np.int64), cell_year=cy, cell_district=cdist, year=year)


@dataclass(frozen=True, eq=False)
class TrendFit:
    """One indicator's trend model ``y ~ year + district`` (``+ year:district`` with ``interaction``).

    ``result`` is ``None`` when no model could be fitted (the ``note`` says why). ``cells`` has one row
    per year × district of the fitted segment with respondents in the domain: ``year``, ``district``,
    ``n`` (respondents), ``weight`` (sum of calibrated weights), ``share`` (direct weighted share).
    """

    indicator: str
    result: SurveyGLMResult | None
    cells: pd.DataFrame
    reference: str | None
    districts: tuple[str, ...]
    years: tuple[int, ...]
    interaction: bool
    has_year: bool
    note: str = ""
    x_cells: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), repr=False)


def _latest_break(indicator: Indicator, breaks: Iterable[SeriesBreak], years: np.ndarray) -> SeriesBreak | None:
    """The latest series break that affects the indicator's item and falls inside the data's years."""
    if len(years) == 0:
        return None
    lo, hi = int(years.min()), int(years.max())
    hits = [b for b in breaks if (not b.items or indicator.item in b.items) and lo < int(b.year) <= hi]
    return max(hits, key=lambda b: int(b.year)) if hits else None


def _fit_one(design: Design, data: pd.DataFrame, prep: _Prepared, indicator: Indicator,
             series_breaks: Sequence[SeriesBreak], interaction: bool) -> TrendFit:
    if indicator.item not in data.columns:
        raise ModelError(f"indicator {indicator.name}: data has no column {indicator.item!r}")
    ans = data[indicator.item].to_numpy(dtype="float64", na_value=np.nan)
    base = np.isin(ans, np.asarray(indicator.base, dtype=float)) if indicator.base else ~np.isnan(ans)
    y = np.isin(ans, np.asarray(indicator.numerator, dtype=float)).astype(float)
    dom = base & (design.weights != 0)
    notes: list[str] = []
    n_cells = len(prep.cell_year)
    brk = _latest_break(indicator, series_breaks,
                        np.unique(prep.cell_year[np.bincount(prep.cell, weights=dom, minlength=n_cells) > 0]))
    if brk is not None:
        dom &= prep.year >= int(brk.year)
        notes.append(f"series break {int(brk.year)} ({brk.reason}): no trend across the break; "
                     f"fitted on {int(brk.year)} onwards only")
    empty = TrendFit(indicator=indicator.name, result=None,
                     cells=pd.DataFrame(columns=["year", "district", "n", "weight", "share"]),
                     reference=None, districts=(), years=(), interaction=interaction, has_year=False)
    if not dom.any():
        notes.append("no respondents in the domain: no model")
        return TrendFit(**{**empty.__dict__, "note": "; ".join(notes)})
    wz = np.where(dom, design.weights, 0.0)
    cn = np.bincount(prep.cell, weights=dom, minlength=n_cells).astype(np.int64)
    cw = np.bincount(prep.cell, weights=wz, minlength=n_cells)
    cy1 = np.bincount(prep.cell, weights=wz * y, minlength=n_cells)
    used = cn > 0
    districts = tuple(sorted(set(prep.cell_district[used].tolist())))
    years = tuple(sorted(set(prep.cell_year[used].tolist())))
    reference = districts[0]
    has_year = len(years) > 1
    if not has_year:
        notes.append(f"only one year ({years[0]}) in the domain: no year trend")
    others = districts[1:]
    terms = ["(Intercept)"] + (["year"] if has_year else []) + [f"district[{d}]" for d in others]
    if interaction and has_year:
        terms += [f"year:district[{d}]" for d in others]
    cols = [np.ones(n_cells)]
    if has_year:
        cols.append(prep.cell_year.astype(float))
    dummies = [(prep.cell_district == d).astype(float) for d in others]
    cols += dummies
    if interaction and has_year:
        cols += [dm * prep.cell_year for dm in dummies]
    x = np.column_stack(cols)
    cells = pd.DataFrame({"year": prep.cell_year[used], "district": prep.cell_district[used].astype(str),
                          "n": cn[used], "weight": cw[used], "share": cy1[used] / cw[used]})
    cells = cells.sort_values(["district", "year"], kind="stable").reset_index(drop=True)
    res = svyglm(design, y, x, terms, domain=dom, cell=prep.cell, family="quasibinomial",
                 with_dispersion=False)
    if not res.converged:
        notes.append("the logistic fit did not converge (separation: a share of 0 or 1?)")
    return TrendFit(indicator=indicator.name, result=res, cells=cells, reference=reference,
                    districts=districts, years=years, interaction=interaction, has_year=has_year,
                    note="; ".join(notes), x_cells=x)


def fit_trend_model(design: Design, data: pd.DataFrame, indicator: Indicator, *,
                    series_breaks: Sequence[SeriesBreak] = (), interaction: bool = False) -> TrendFit:
    """Fit one indicator's trend model on the domain of its non-blank answers (after the latest series
    break that concerns its item). ``data`` holds the canonical responses in the design's row order.

    The model is ``logit P(y = 1) = b0 + b_year year + b_d [+ g_d year]`` with ``year`` numeric (not
    centred in the output) and ``district`` a factor whose reference level is the district that sorts
    first in code-point order (Python ``sorted()``).
    """
    return _fit_one(design, data, _prepare(design, data), indicator, series_breaks, interaction)


TREND_COLUMNS = ["indicator", "term", "estimate", "se", "df", "t", "p_value", "note"]


def trend_rows(fit: TrendFit) -> pd.DataFrame:
    """The contract's trend rows of one fit (``indicator, term, estimate, se`` + ``df, t, p_value, note``).

    A model without ``year`` (one year after a series break) still writes a ``year`` row with empty numbers.
    """
    if fit.result is None:
        return pd.DataFrame({"indicator": [fit.indicator], "term": ["year"], "estimate": [np.nan],
                             "se": [np.nan], "df": [np.nan], "t": [np.nan], "p_value": [np.nan],
                             "note": [fit.note]})[TREND_COLUMNS]
    r = fit.result
    out = pd.DataFrame({"indicator": fit.indicator, "term": list(r.terms), "estimate": r.coef, "se": r.se,
                        "df": float(r.df_residual), "t": r.t, "p_value": r.p_value, "note": fit.note})
    if not fit.has_year:
        row = pd.DataFrame({"indicator": [fit.indicator], "term": ["year"], "estimate": [np.nan],
                            "se": [np.nan], "df": [np.nan], "t": [np.nan], "p_value": [np.nan],
                            "note": [fit.note]})
        out = pd.concat([out.iloc[:1], row, out.iloc[1:]], ignore_index=True)
    return out[TREND_COLUMNS]


def fit_trends(design: Design, data: pd.DataFrame, indicators: Sequence[Indicator], *,
               series_breaks: Sequence[SeriesBreak] = ()) -> pd.DataFrame:
    """The contract's ``trend.csv`` rows for every indicator: ``svyglm(y ~ year + district,
    family = quasibinomial(), design = subset(calibrated, answered))`` (reference.R section 5).

    Columns ``indicator, term, estimate, se`` then ``df`` (R's ``df.residual``), ``t``, ``p_value``,
    ``note`` (series breaks, non-convergence). Terms: ``(Intercept)``, ``year``, ``district[<name>]``.
    """
    prep = _prepare(design, data)
    frames = [trend_rows(_fit_one(design, data, prep, ind, series_breaks, False)) for ind in indicators]
    if not frames:
        return pd.DataFrame(columns=TREND_COLUMNS)
    return pd.concat(frames, ignore_index=True)


def fit_trend_models(design: Design, data: pd.DataFrame, indicators: Sequence[Indicator], *,
                     series_breaks: Sequence[SeriesBreak] = (), interaction: bool = False) -> list[TrendFit]:
    """:func:`fit_trend_model` for several indicators, sharing the cell coding."""
    prep = _prepare(design, data)
    return [_fit_one(design, data, prep, ind, series_breaks, interaction) for ind in indicators]


# --------------------------------------------------------------------------------------------------
# margins
# --------------------------------------------------------------------------------------------------

def _tq(df: float, level: float) -> float:
    return float(stats.t.ppf(0.5 + level / 2, df)) if df > 0 else np.nan


def predicted_shares(fit: TrendFit, *, level: float = 0.95) -> pd.DataFrame:
    """Model-based share per district × year of the fitted segment, with a CI.

    With covariates ``year`` and ``district`` only, marginal standardisation over the domain's covariate
    distribution within a district × year reduces to the prediction of that cell:
    ``p = expit(x'b)``, ``se = p (1 − p) sqrt(x'Vx)`` (delta method, R ``predict(..., type = "response")``),
    CI ``expit(x'b ∓ t(df_residual) sqrt(x'Vx))`` on the logit scale.

    Columns: ``indicator, year, district, estimate, se, ci_low, ci_high, n, direct`` (direct = the weighted
    share of the cell, for comparison), ``df``.
    """
    cols = ["indicator", "year", "district", "estimate", "se", "ci_low", "ci_high", "n", "direct", "df"]
    if fit.result is None:
        return pd.DataFrame(columns=cols)
    r = fit.result
    x = _cell_matrix(fit, fit.cells["year"].to_numpy(), fit.cells["district"].to_numpy())
    eta = x @ r.coef
    se_eta = np.sqrt(np.einsum("ij,jk,ik->i", x, r.vcov, x))
    p = expit(eta)
    q = _tq(r.df_residual, level)
    return pd.DataFrame({"indicator": fit.indicator, "year": fit.cells["year"].to_numpy(),
                         "district": fit.cells["district"].to_numpy(), "estimate": p, "se": p * (1 - p) * se_eta,
                         "ci_low": expit(eta - q * se_eta), "ci_high": expit(eta + q * se_eta),
                         "n": fit.cells["n"].to_numpy(), "direct": fit.cells["share"].to_numpy(),
                         "df": r.df_residual})[cols]


def _cell_matrix(fit: TrendFit, years: np.ndarray, districts: np.ndarray) -> np.ndarray:
    """Model-matrix rows for (year, district) pairs in the fit's parametrisation."""
    r = fit.result
    x = np.zeros((len(years), len(r.terms)))
    x[:, 0] = 1.0
    yrs = np.asarray(years, dtype=float)
    for j, t in enumerate(r.terms):
        if t == "year":
            x[:, j] = yrs
        elif t.startswith("district["):
            x[:, j] = (np.asarray(districts) == t[len("district["):-1]).astype(float)
        elif t.startswith("year:district["):
            x[:, j] = (np.asarray(districts) == t[len("year:district["):-1]).astype(float) * yrs
    return x


def district_trends(fit: TrendFit, *, level: float = 0.95) -> pd.DataFrame:
    """Per-district trend: odds ratio per year and percentage points per year, with CIs.

    * Log odds ratio per year of district ``d``: ``beta_d = b_year`` (+ ``g_d`` with the interaction);
      ``OR = exp(beta_d)``, CI ``exp(beta_d ∓ t se)`` with ``se = sqrt(c'Vc)``.
    * Percentage points per year: the average marginal effect of year over the district's domain
      (weights of its year cells fixed, Graubard & Korn 1999 predictive margins):
      ``AME_d = beta_d · sum_t W_dt p_dt (1 − p_dt) / W_d``; delta-method gradient
      ``m c + beta_d sum_t (W_dt / W_d) p_dt (1 − p_dt)(1 − 2 p_dt) x_dt``, ``m`` the weighted mean of
      ``p (1 − p)``. Reported ×100 (``pp_per_year``).

    Columns: ``indicator, district, log_or, log_or_se, odds_ratio, or_ci_low, or_ci_high, pp_per_year,
    pp_se, pp_ci_low, pp_ci_high, df, note``. Empty when the model has no year term.
    """
    cols = ["indicator", "district", "log_or", "log_or_se", "odds_ratio", "or_ci_low", "or_ci_high",
            "pp_per_year", "pp_se", "pp_ci_low", "pp_ci_high", "df", "note"]
    if fit.result is None or not fit.has_year:
        return pd.DataFrame(columns=cols)
    r = fit.result
    q = _tq(r.df_residual, level)
    jy = r.index("year")
    out = []
    for d in fit.districts:
        c = np.zeros(len(r.terms))
        c[jy] = 1.0
        if fit.interaction and d != fit.reference:
            c[r.index(f"year:district[{d}]")] = 1.0
        beta = float(c @ r.coef)
        se_b = float(np.sqrt(c @ r.vcov @ c))
        cl = fit.cells[fit.cells["district"] == d]
        x = _cell_matrix(fit, cl["year"].to_numpy(), cl["district"].to_numpy())
        p = expit(x @ r.coef)
        wt = cl["weight"].to_numpy() / cl["weight"].sum()
        m = float(wt @ (p * (1 - p)))
        ame = beta * m
        grad = m * c + beta * ((wt * p * (1 - p) * (1 - 2 * p)) @ x)
        se_a = float(np.sqrt(grad @ r.vcov @ grad))
        out.append({"indicator": fit.indicator, "district": d, "log_or": beta, "log_or_se": se_b,
                    "odds_ratio": np.exp(beta), "or_ci_low": np.exp(beta - q * se_b),
                    "or_ci_high": np.exp(beta + q * se_b), "pp_per_year": 100 * ame, "pp_se": 100 * se_a,
                    "pp_ci_low": 100 * (ame - q * se_a), "pp_ci_high": 100 * (ame + q * se_a),
                    "df": r.df_residual, "note": fit.note})
    return pd.DataFrame(out, columns=cols)


def district_trends_differ(fit: TrendFit) -> WaldTestResult:
    """Do the districts' trends differ? Wald test of all ``year:district[...]`` interaction terms."""
    if fit.result is None or not fit.interaction or not fit.has_year:
        raise ModelError(f"{fit.indicator}: needs a fit with interaction=True and at least two years")
    return wald_test(fit.result, "year:district")


# --------------------------------------------------------------------------------------------------
# small areas: Fay–Herriot
# --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FayHerriotResult:
    """EBLUP of the Fay–Herriot area-level model (on the scale it was fitted).

    Model: ``theta_hat_d = x_d' beta + v_d + e_d``, ``v_d ~ (0, A)``, ``e_d ~ (0, psi_d)`` with ``psi_d``
    the (known) design variances. ``estimate = gamma theta_hat + (1 − gamma) x' beta_hat``,
    ``gamma_d = A / (A + psi_d)``; ``mse`` is Prasad & Rao's (1990) second-order approximation
    ``g1 + g2 + 2 g3``.
    """

    estimate: np.ndarray
    mse: np.ndarray
    gamma: np.ndarray
    synthetic: np.ndarray
    beta: np.ndarray
    beta_vcov: np.ndarray
    a: float
    a_var: float
    method: str
    g1: np.ndarray
    g2: np.ndarray
    g3: np.ndarray


def fay_herriot(direct: np.ndarray, psi: np.ndarray, x: np.ndarray | None = None, *,
                method: Literal["REML", "PR"] = "REML", maxiter: int = 100, tol: float = 1e-10) -> FayHerriotResult:
    """Fay & Herriot (1979) EBLUP with the between-area variance ``A`` by REML (Fisher scoring) or by
    Prasad & Rao's (1990) moments, and the Prasad–Rao MSE.

    * Moments: ``A = max(0, [sum e_d^2 − sum psi_d (1 − h_dd)] / (m − p))``, ``e`` the OLS residuals,
      ``h_dd = x_d'(X'X)^-1 x_d``; ``Var(A) ≈ 2 m^-2 sum (A + psi_d)^2``.
    * REML: score ``−tr(P)/2 + y'PPy/2``, information ``tr(PP)/2``, ``P = V^-1 − V^-1 X (X'V^-1X)^-1 X'V^-1``;
      truncated at 0; ``Var(A) ≈ 2 / sum (A + psi_d)^-2`` (Datta & Lahiri 2000).
    * ``g1 = gamma psi``, ``g2 = (1 − gamma)^2 x'(X'V^-1X)^-1 x``, ``g3 = psi^2 (A + psi)^-3 Var(A)``.
    """
    th = np.asarray(direct, dtype=float)
    psi = np.asarray(psi, dtype=float)
    m = len(th)
    xm = np.ones((m, 1)) if x is None else np.asarray(x, dtype=float).reshape(m, -1)
    p = xm.shape[1]
    if m <= p:
        raise ModelError(f"Fay–Herriot needs more areas ({m}) than covariates ({p})")
    if not (np.all(np.isfinite(th)) and np.all(np.isfinite(psi)) and np.all(psi > 0)):
        raise ModelError("Fay–Herriot needs finite direct estimates and sampling variances > 0")
    xtx_inv = np.linalg.inv(xm.T @ xm)
    e = th - xm @ (xtx_inv @ (xm.T @ th))
    h = np.einsum("ij,jk,ik->i", xm, xtx_inv, xm)
    a_pr = max(0.0, float((e @ e - np.sum(psi * (1 - h))) / (m - p)))
    if method == "PR":
        a = a_pr
        a_var = float(2.0 * np.sum((a + psi) ** 2) / m ** 2)
    elif method == "REML":
        a = a_pr if a_pr > 0 else float(np.median(psi))
        for _ in range(maxiter):
            vinv = 1.0 / (a + psi)
            xv = xm * vinv[:, None]
            pm = np.diag(vinv) - xv @ np.linalg.solve(xm.T @ xv, xv.T)
            py = pm @ th
            score = -0.5 * np.trace(pm) + 0.5 * py @ py
            info = 0.5 * np.sum(pm * pm)
            new = max(0.0, a + score / info)
            if abs(new - a) < tol * (1 + a):
                a = new
                break
            a = new
        a_var = float(2.0 / np.sum(1.0 / (a + psi) ** 2))
    else:
        raise ModelError(f"unknown Fay–Herriot method {method!r}; use 'REML' or 'PR'")
    vinv = 1.0 / (a + psi)
    bv = np.linalg.inv(xm.T @ (xm * vinv[:, None]))
    beta = bv @ (xm.T @ (vinv * th))
    syn = xm @ beta
    gamma = a / (a + psi)
    est = gamma * th + (1 - gamma) * syn
    g1 = gamma * psi
    g2 = (1 - gamma) ** 2 * np.einsum("ij,jk,ik->i", xm, bv, xm)
    g3 = psi ** 2 / (a + psi) ** 3 * a_var
    return FayHerriotResult(estimate=est, mse=g1 + g2 + 2 * g3, gamma=gamma, synthetic=syn, beta=beta,
                            beta_vcov=bv, a=a, a_var=a_var, method=method, g1=g1, g2=g2, g3=g3)


def small_area_shares(estimates: pd.DataFrame, *, method: Literal["REML", "PR"] = "REML",
                      scale: Literal["logit", "arcsine"] = "logit", max_n: int | None = None) -> pd.DataFrame:
    """Fay–Herriot shrinkage of the direct district shares, per ``year`` × ``indicator``.

    ``estimates`` has ``year, district, indicator, estimate, se, n`` (the estimates contract; ``Totalt``
    rows are ignored). Each year × indicator's districts form the areas (intercept-only linking model) on
    the ``logit`` scale (``theta = logit p``, ``psi = se^2 / (p (1 − p))^2``) or the ``arcsine`` scale
    (``theta = asin(sqrt p)``, ``psi = se^2 / (4 p (1 − p))``). Districts with ``p`` in {0, 1} or ``se = 0``
    do not enter the fit and get the synthetic estimate ``x'beta`` with MSE ``A + x'Var(beta)x``.
    Back-transform: ``modelled = h^-1(theta_EBLUP)``, ``modelled_se = h^-1'(theta) sqrt(mse)`` (delta).

    Returns the direct columns plus ``modelled`` (labelled as such), ``modelled_se``, ``gamma``,
    ``estimate_type`` (``"modelled"`` or ``"modelled (synthetic)"``), ``use_modelled`` (``n < max_n``
    when given, else True) and ``method``.
    """
    need = {"year", "district", "indicator", "estimate", "se", "n"}
    if not need <= set(estimates.columns):
        raise ModelError(f"small_area_shares needs columns {sorted(need)}")
    est = estimates[estimates["district"] != "Totalt"].copy()
    if scale == "logit":
        fwd = logit
        def inv(t): return expit(t)
        def dinv(t): return expit(t) * (1 - expit(t))
        def vfwd(p, se): return se ** 2 / (p * (1 - p)) ** 2
    elif scale == "arcsine":
        def fwd(p): return np.arcsin(np.sqrt(p))
        def inv(t): return np.sin(t) ** 2
        def dinv(t): return np.sin(2 * t)
        def vfwd(p, se): return se ** 2 / (4 * p * (1 - p))
    else:
        raise ModelError(f"unknown scale {scale!r}; use 'logit' or 'arcsine'")
    parts = []
    for (_, _), g in est.groupby(["year", "indicator"], sort=True):
        g = g.copy()
        p = g["estimate"].to_numpy(dtype=float)
        se = g["se"].to_numpy(dtype=float)
        ok = np.isfinite(p) & np.isfinite(se) & (p > 0) & (p < 1) & (se > 0)
        g["modelled"] = np.nan
        g["modelled_se"] = np.nan
        g["gamma"] = np.nan
        g["estimate_type"] = "modelled"
        if ok.sum() >= 3:
            fh = fay_herriot(fwd(p[ok]), vfwd(p[ok], se[ok]), method=method)
            th = np.empty(len(g))
            mse = np.empty(len(g))
            gam = np.zeros(len(g))
            th[ok], mse[ok], gam[ok] = fh.estimate, fh.mse, fh.gamma
            th[~ok] = fh.beta[0]
            mse[~ok] = fh.a + fh.beta_vcov[0, 0]
            g["modelled"] = inv(th)
            g["modelled_se"] = np.abs(dinv(th)) * np.sqrt(mse)
            g["gamma"] = gam
            g.loc[~ok, "estimate_type"] = "modelled (synthetic)"
        else:
            g["estimate_type"] = "direct only (fewer than 3 usable areas)"
        g["use_modelled"] = (g["n"] < max_n) if max_n is not None else True
        g["method"] = f"Fay-Herriot {method}, {scale} scale"
        parts.append(g)
    return pd.concat(parts, ignore_index=True) if parts else est


@dataclass(frozen=True, eq=False)
class TrendOutputs:
    """Everything the trend step publishes: the contract rows, model-based shares per district × year,
    per-district trends (odds ratio and percentage points per year, from the district × year interaction
    model) and the Wald tests of whether the district trends differ (empty when not asked for)."""

    trend: pd.DataFrame
    shares: pd.DataFrame
    districts: pd.DataFrame
    tests: pd.DataFrame

    def contract_rows(self) -> pd.DataFrame:
        """The data contract's ``trend.csv``: ``indicator, term, estimate, se``. A term that the data cannot
        estimate (``year`` when one year remains, after a series break or in a one-year wave) is left out,
        as R ``svyglm`` leaves out an aliased coefficient; ``trend`` keeps it with its note."""
        t = self.trend
        unestimable = t["estimate"].isna() & t["se"].isna()
        return t.loc[~unestimable, ["indicator", "term", "estimate", "se"]].reset_index(drop=True)

    def long(self) -> pd.DataFrame:
        """One long frame for the store's ``trend`` table: ``model`` tells the kind of row."""
        parts = [self.trend.assign(model="trend", district=None)]
        if len(self.shares):
            parts.append(self.shares.assign(model="margins", term="share[" + self.shares["year"].astype(str) + "]"))
        if len(self.districts):
            parts.append(self.districts.assign(model="district_trend", term="trend"))
        if len(self.tests):
            parts.append(self.tests.assign(model="wald", term=self.tests["test"], estimate=self.tests["F"],
                                           se=np.nan, district=None))
        return pd.concat(parts, ignore_index=True)


def trend_outputs(design: Design, data: pd.DataFrame, indicators: Sequence[Indicator], *,
                  series_breaks: Sequence[SeriesBreak] = (), level: float = 0.95,
                  district_trends_model: bool = False) -> TrendOutputs:
    """Contract trend rows and the model-based shares of the main-effects models (one fit per indicator);
    with ``district_trends_model`` also the district × year interaction models' per-district trends and the
    Wald test that the district trends differ."""
    main = fit_trend_models(design, data, indicators, series_breaks=series_breaks)
    rows = [trend_rows(f) for f in main]
    trend = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=TREND_COLUMNS)
    shares = [predicted_shares(f, level=level) for f in main if f.result is not None]
    districts: list[pd.DataFrame] = []
    tests: list[dict] = []
    if district_trends_model:
        for f in fit_trend_models(design, data, indicators, series_breaks=series_breaks, interaction=True):
            if f.result is None:
                continue
            districts.append(district_trends(f, level=level))
            if f.has_year and len(f.districts) > 1:
                t = district_trends_differ(f)
                tests.append({"indicator": f.indicator, "test": "district trends differ (year:district)",
                              "F": t.F, "df": t.df, "ddf": t.ddf, "p_value": t.p_value, "chisq": t.chisq,
                              "p_value_chisq": t.p_value_chisq, "note": f.note})
    return TrendOutputs(trend=trend,
                        shares=pd.concat(shares, ignore_index=True) if shares else pd.DataFrame(),
                        districts=pd.concat(districts, ignore_index=True) if districts else pd.DataFrame(),
                        tests=pd.DataFrame(tests))
