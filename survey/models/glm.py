"""Survey-weighted generalised linear models with design-based covariance, and Wald tests.

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
``confint.svyglm``); :func:`survey.models.wald.wald_test` uses the same denominator df as ``regTermTest``.

**Precision.** Numeric covariates (e.g. ``year`` ≈ 2023) are centred internally at their weighted domain
mean and the intercept, its variance and covariances are transformed back (``b = T b_c``,
``V = T V_c T'``): the columns 1 and ``year`` are nearly collinear otherwise.

"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit, xlogy
from statsmodels.genmod import families
from statsmodels.genmod.generalized_linear_model import GLM  # not statsmodels.api: ~1 s less to import

from survey.design import Design
from survey.errors import ModelError
from survey.estimation.atoms import atom_vcov
from survey.models.separation import estimable_columns, separated_cells
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
        inestimable: terms that diverge under (quasi-)complete separation of a logistic model
            (:mod:`survey.models.separation`); their coefficient, SE, t and p are NaN (R reports arbitrary
            large values there), the other terms are the limit of the fit, ``df_residual`` counts them all.
        separated: bool per row of the model matrix ``x`` (per cell with ``cell=``): fitted at exactly 0 or 1.
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
    inestimable: tuple[str, ...] = ()
    separated: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    def index(self, term: str) -> int:
        try:
            return self.terms.index(term)
        except ValueError:
            raise ModelError(f"termen {term!r} finns inte i modellen (termer: {', '.join(self.terms)})") from None

    def table(self) -> pd.DataFrame:
        """Coefficient table: ``term, estimate, se, t, p_value, df``."""
        return pd.DataFrame(
            {
                "term": list(self.terms),
                "estimate": self.coef,
                "se": self.se,
                "t": self.t,
                "p_value": self.p_value,
                "df": self.df_residual,
            }
        )

    def confint(self, level: float = 0.95) -> np.ndarray:
        """Wald intervals ``b ∓ t(1 − α/2, df_residual) se`` (R ``confint.svyglm(method = "Wald")``)."""
        q = stats.t.ppf(0.5 + level / 2, self.df_residual) if self.df_residual > 0 else np.nan
        return np.column_stack([self.coef - q * self.se, self.coef + q * self.se])


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
    return bool(design._cache[key])


def svyglm(
    design: Design,
    y: np.ndarray,
    x: np.ndarray,
    terms: Sequence[str],
    *,
    domain: np.ndarray | None = None,
    cell: np.ndarray | None = None,
    family: Family = "quasibinomial",
    centre: bool = True,
    with_dispersion: bool = True,
    tol: float = 1e-14,
    maxiter: int = 100,
) -> SurveyGLMResult:
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
        raise ModelError(f"okänd familj {family!r}; välj en av {FAMILIES}")
    terms = tuple(terms)
    dom, wz, yz = _domain_response(design, y, x, terms, domain, family)
    cells = _collapse(design.n, x, dom, wz, yz, cell, family)
    fit = _solve(cells, terms, family, centre, tol, maxiter)
    n_dom = int(np.count_nonzero(dom))
    r = np.where(dom, yz - fit.mu[cells.code], 0.0)  # y_i - mu_i in the domain, 0 outside
    vc = _coef_vcov(design, dom, r, fit.xcc @ fit.a_inv, cells.code)
    n_psu_dom = n_dom if design.psu is None else int(np.count_nonzero(np.bincount(design.psu, weights=dom)))
    df = n_psu_dom - int(np.count_nonzero(np.bincount(design.strata, weights=dom, minlength=design.n_strata)))
    dispersion = np.nan
    if with_dispersion and n_dom > 1:
        # svyvar of the Pearson residuals (y - mu) / sqrt(v(mu)) (residuals.svyglm: the prior weights
        # cancel against the sampling weights), with svyvar's n / (n - 1) (summary.svyglm)
        v = _variance_fn(family, fit.mu)[cells.code]
        pr = r / np.sqrt(np.where(dom & (v > 0), v, 1.0))
        prbar = float(wz @ pr) / float(cells.s0.sum())
        dispersion = float(wz @ ((pr - prbar) ** 2)) / float(cells.s0.sum()) * n_dom / (n_dom - 1)
    return _summary(design, fit, cells, terms, family, vc, n_dom, df, dispersion)


@dataclass(frozen=True, eq=False)
class GLMAtoms:
    """A 0/1 response's sufficient statistics for :func:`svyglm_atoms` on an element-sampled design.

    An *atom* is a set of rows sharing their stratum, calibration cell and model cell (row of ``x``); per
    atom and answer state (0 outside the domain, 1 in it with y = 0, 2 in it with y = 1): the sums of the
    final weights ``sw``, their squares ``sw2``, the design weights ``sd`` and the rows ``count``, (A, 3)
    each (``survey.estimation.atom_stats`` computes them for many indicators at once).
    """

    stratum: np.ndarray  # (A,)
    cal_cell: np.ndarray | None  # (A,) calibration cell (None: the design is not calibrated)
    cell: np.ndarray  # (A,) row of the model matrix
    sw: np.ndarray
    sw2: np.ndarray
    sd: np.ndarray
    count: np.ndarray


def svyglm_atoms(
    design: Design,
    atoms: GLMAtoms,
    x: np.ndarray,
    terms: Sequence[str],
    *,
    family: Family = "quasibinomial",
    centre: bool = True,
    with_dispersion: bool = True,
    tol: float = 1e-14,
    maxiter: int = 100,
) -> SurveyGLMResult:
    """:func:`svyglm` of a 0/1 response with a per-cell model matrix ``x`` (C, p), from atom sums alone.

    The same estimator, in the same order of operations on the cells: the cell totals are
    ``s0_c = sum sw[:, 1:]``, ``s1_c = sum sw[:, 2]``; the influence value of a row in state ``s`` of an
    atom in cell ``c`` is ``e_s = (s - 1 - mu_c) A^-1 x_c`` (0 in state 0), so its calibration residual and
    stratified variance are :func:`survey.estimation.atoms.atom_vcov` of ``e``. No pass over the rows.
    Requires element sampling and no zero weights (a zero-weight row is outside every domain).
    """
    if family not in FAMILIES:
        raise ModelError(f"okänd familj {family!r}; välj en av {FAMILIES}")
    if design.psu is not None:
        raise ModelError("svyglm_atoms kräver elementurval (inga PSU:er); använd svyglm")
    terms = tuple(terms)
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or x.shape[1] != len(terms):
        raise ModelError(f"model matrix of shape {x.shape} for {len(terms)} terms")
    n_dom = int(round(float(atoms.count[:, 1:].sum())))
    if n_dom == 0:
        raise ModelError("modellens domän har inga svarande")
    n_cells = x.shape[0]
    s0 = np.bincount(atoms.cell, weights=atoms.sw[:, 1] + atoms.sw[:, 2], minlength=n_cells)
    s1 = np.bincount(atoms.cell, weights=atoms.sw[:, 2], minlength=n_cells)
    used = np.flatnonzero(s0 > 0)
    remap = np.full(n_cells, -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    cells = _CellTotals(
        x=x[used],
        s0=s0[used],
        s1=s1[used],
        s2=s1[used],
        ent=np.zeros(len(used)),
        code=remap[atoms.cell],
        rows=used,
        n_rows=n_cells,
    )
    fit = _solve(cells, terms, family, centre, tol, maxiter)
    ca = np.where(cells.code >= 0, cells.code, 0)
    inside = cells.code >= 0
    mu_a = np.where(inside, fit.mu[ca], 0.0)
    g = (fit.xcc @ fit.a_inv)[ca] * inside[:, None]  # (A, q): A^-1 x_c (q = the fitted columns)
    e = np.zeros((len(ca), 3, g.shape[1]))
    e[:, 1] = -mu_a[:, None] * g
    e[:, 2] = (1.0 - mu_a)[:, None] * g
    vc = atom_vcov(design, atoms.stratum, atoms.cal_cell, atoms.sw, atoms.sw2, atoms.sd, e)
    per_stratum = np.bincount(atoms.stratum, weights=atoms.count[:, 1:].sum(axis=1), minlength=design.n_strata)
    df = n_dom - int(np.count_nonzero(per_stratum))
    dispersion = np.nan
    if with_dispersion and n_dom > 1:
        v_a = _variance_fn(family, mu_a)
        v_a = np.where(inside & (v_a > 0), v_a, 1.0)  # separated cells: residual 0
        pr = np.stack([-mu_a, 1.0 - mu_a], axis=1) / np.sqrt(v_a)[:, None]  # states 1, 2
        wsum = float(cells.s0.sum())
        prbar = float(np.sum(atoms.sw[:, 1:] * pr)) / wsum
        dispersion = float(np.sum(atoms.sw[:, 1:] * (pr - prbar) ** 2)) / wsum * n_dom / (n_dom - 1)
    return _summary(design, fit, cells, terms, family, vc, n_dom, df, dispersion)


@dataclass(frozen=True, eq=False)
class _Fit:
    c: np.ndarray  # column centres (p,)
    icpt: int | None  # the intercept's column
    cols: np.ndarray  # the fitted columns (all p unless separation left some unidentified)
    estimable: np.ndarray  # (p,) bool: the coefficient is reported
    separated: np.ndarray  # (C,) bool: the cell is fitted at exactly 0 or 1 (separation)
    xcc: np.ndarray  # centred cell rows of the fitted columns (C, q); 0 in separated cells
    bc: np.ndarray  # coefficients of the fitted columns (centred parametrisation)
    mu: np.ndarray  # fitted mean per cell
    a_inv: np.ndarray  # A^-1 (centred, fitted columns)
    iterations: int
    converged: bool


def _solve(cells: _CellTotals, terms: tuple[str, ...], family: str, centre: bool, tol: float, maxiter: int) -> _Fit:
    """Centre the numeric columns, check the rank on the domain and fit on the cells; under separation
    (quasibinomial) fit the cells that are not separated on the columns that identify them
    (:mod:`survey.models.separation`)."""
    p = len(terms)
    c, icpt = _centres(cells.x, cells.s0, terms) if centre else (np.zeros(p), None)
    xcc = cells.x - c
    if np.linalg.matrix_rank(xcc * np.sqrt(cells.s0 / cells.s0.max())[:, None]) < p:
        raise ModelError(
            f"modellmatrisen har inte full rang på domänen (termer: {', '.join(terms)}); "
            f"en nivå utan svarande eller en konstant kovariat?"
        )
    n_cells = len(cells.s0)
    sep = separated_cells(xcc, cells.s0, cells.s1) if family == "quasibinomial" else np.zeros(n_cells, dtype=bool)
    if sep.all():
        raise ModelError(
            "alla svar i modellens domän är 0 (eller alla 1) där modellen kan skilja dem åt (fullständig "
            "separation): ingen koefficient kan skattas"
        )
    estimable, cols = np.ones(p, dtype=bool), np.arange(p)
    if sep.any():
        estimable, cols = estimable_columns(xcc[~sep], c, icpt)
        if icpt is not None and icpt not in cols:  # centring needs the intercept among the fitted columns
            c, icpt, xcc = np.zeros(p), None, cells.x.copy()
    keep = ~sep
    xk = xcc[:, cols]
    bc, mu_k, a_inv, iters, converged = _fit_cells(xk[keep], cells.s0[keep], cells.s1[keep], family, tol, maxiter)
    mu = np.where(cells.s1 >= cells.s0 / 2, 1.0, 0.0)  # the limit in separated cells
    mu[keep] = mu_k
    xk = np.where(keep[:, None], xk, 0.0)
    return _Fit(
        c=c,
        icpt=icpt,
        cols=cols,
        estimable=estimable,
        separated=sep,
        xcc=xk,
        bc=bc,
        mu=mu,
        a_inv=a_inv,
        iterations=iters,
        converged=converged,
    )


def _summary(
    design: Design,
    fit: _Fit,
    cells: _CellTotals,
    terms: tuple[str, ...],
    family: str,
    vc: np.ndarray,
    n_dom: int,
    df: int,
    dispersion: float,
) -> SurveyGLMResult:
    """Back to the uncentred parametrisation (``b = T b_c``, ``V = T V_c T'``); R's t, p, deviance. Terms
    left unidentified by separation get NaN; ``df_residual`` counts every term, as R's ``svyglm`` does."""
    p = len(terms)
    cols = fit.cols
    tmat = np.eye(len(cols))
    if fit.icpt is not None:
        ic = int(np.flatnonzero(cols == fit.icpt)[0])
        tmat[ic, :] -= fit.c[cols]
        tmat[ic, ic] = 1.0
    b, vcov, naive = _expand(p, cols, fit.estimable, tmat @ fit.bc, tmat @ vc @ tmat.T, tmat @ fit.a_inv @ tmat.T)
    vcov = (vcov + vcov.T) / 2
    se = np.sqrt(np.diag(vcov))
    df_res = df + 1 - p
    tval = b / se
    pval = 2 * stats.t.sf(np.abs(tval), df_res) if df_res > 0 else np.full(p, np.nan)
    # R's svyglm rescales the weights by their mean over the subset design's rows: a calibrated design keeps
    # every row (zero weight outside D), an uncalibrated one drops the rows outside D ("[.survey.design2")
    keep = ~fit.separated  # separated cells fit exactly: no deviance
    s0, s1, mu = cells.s0[keep], cells.s1[keep], fit.mu[keep]
    wmean = float(cells.s0.sum()) / (design.n if design.calibration is not None else n_dom)
    if family == "quasibinomial":
        dev = 2.0 * float(np.sum(cells.ent[keep] - s1 * np.log(mu) - (s0 - s1) * np.log1p(-mu))) / wmean
    else:
        dev = float(np.sum(cells.s2[keep] - 2 * mu * s1 + mu * mu * s0)) / wmean
    naive = naive * wmean
    separated = np.zeros(cells.n_rows, dtype=bool)
    separated[cells.rows] = fit.separated
    return SurveyGLMResult(
        terms=terms,
        coef=b,
        se=se,
        vcov=vcov,
        df=df,
        df_residual=df_res,
        t=tval,
        p_value=pval,
        family=family,
        converged=fit.converged,
        iterations=fit.iterations,
        n=n_dom,
        deviance=dev,
        dispersion=dispersion,
        naive_vcov=naive,
        inestimable=tuple(t for t, ok in zip(terms, fit.estimable) if not ok),
        separated=separated,
    )


def _expand(
    p: int, cols: np.ndarray, estimable: np.ndarray, b: np.ndarray, vcov: np.ndarray, naive: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The fitted columns' coefficients and covariances in the p terms, NaN for the unidentified ones."""
    if len(cols) == p and estimable.all():
        return b, vcov, naive
    bb, vv, nn = np.full(p, np.nan), np.full((p, p), np.nan), np.full((p, p), np.nan)
    bb[cols], vv[np.ix_(cols, cols)], nn[np.ix_(cols, cols)] = b, vcov, naive
    bb[~estimable] = np.nan
    vv[~estimable, :] = vv[:, ~estimable] = np.nan
    nn[~estimable, :] = nn[:, ~estimable] = np.nan
    return bb, vv, nn


def _domain_response(
    design: Design, y: np.ndarray, x: np.ndarray, terms: tuple[str, ...], domain: np.ndarray | None, family: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Checked domain, and the weights and response with zeros outside it (full length: no boolean fancy
    indexing of 1M rows per model)."""
    n = design.n
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    if len(y) != n:
        raise ModelError(f"y har {len(y)} värden för en design med {n} rader")
    if x.ndim != 2 or x.shape[1] != len(terms):
        raise ModelError(f"model matrix of shape {x.shape} for {len(terms)} terms")
    dom = np.ones(n, dtype=bool) if domain is None else np.asarray(domain, dtype=bool)
    if len(dom) != n:
        raise ModelError(f"domänen har {len(dom)} värden för en design med {n} rader")
    dom = dom & (design.weights != 0)
    if not dom.any():
        raise ModelError("modellens domän har inga svarande")
    wz = np.where(dom, design.weights, 0.0)
    yz = np.where(dom, y, 0.0)
    if not np.all(np.isfinite(yz)):
        raise ModelError("svaret saknas (NaN) för några svarande i domänen")
    if family == "quasibinomial" and (yz.min() < 0 or yz.max() > 1):
        raise ModelError("quasibinomial kräver ett svar i [0, 1]")
    return dom, wz, yz


@dataclass(frozen=True, eq=False)
class _CellTotals:
    """The domain collapsed to the cells of the model matrix that have weight: ``s0 = sum w``,
    ``s1 = sum w y``, ``s2 = sum w y^2``, ``ent`` (the binomial entropy term of the deviance), the cells'
    rows of ``x``, and each row's cell (``-1`` outside the domain)."""

    x: np.ndarray
    s0: np.ndarray
    s1: np.ndarray
    s2: np.ndarray
    ent: np.ndarray
    code: np.ndarray
    rows: np.ndarray  # the used cells' rows of x
    n_rows: int  # rows of x


def _collapse(
    n: int, x: np.ndarray, dom: np.ndarray, wz: np.ndarray, yz: np.ndarray, cell: np.ndarray | None, family: str
) -> _CellTotals:
    x = np.asarray(x, dtype=float)
    if cell is None:  # rows are their own cells
        if x.shape[0] != n:
            raise ModelError(f"modellmatrisen har {x.shape[0]} rader för en design med {n} rader (ange cell=)")
        cell = np.arange(n, dtype=np.int64)
    else:
        cell = np.asarray(cell, dtype=np.int64)
        if len(cell) != n:
            raise ModelError(f"cell har {len(cell)} koder för en design med {n} rader")
        if cell.min() < 0:
            cell = np.where(dom, cell, 0)
        if cell.max() >= x.shape[0] or cell.min() < 0:
            raise ModelError("domänradernas cellkoder måste peka på rader i x")
    n_cells = x.shape[0]
    wy = wz * yz
    s0 = np.bincount(cell, weights=wz, minlength=n_cells)
    s1 = np.bincount(cell, weights=wy, minlength=n_cells)
    s2 = np.bincount(cell, weights=wy * yz, minlength=n_cells)
    binary = bool(np.all((yz == 0.0) | (yz == 1.0)))
    ent = (
        np.bincount(cell, weights=wz * (xlogy(yz, yz) + xlogy(1 - yz, 1 - yz)), minlength=n_cells)
        if family == "quasibinomial" and not binary
        else np.zeros(n_cells)
    )
    used = np.flatnonzero(s0 > 0)
    remap = np.full(n_cells, -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    return _CellTotals(
        x=x[used], s0=s0[used], s1=s1[used], s2=s2[used], ent=ent[used], code=remap[cell], rows=used, n_rows=n_cells
    )


def _fit_cells(
    xcc: np.ndarray, s0: np.ndarray, s1: np.ndarray, family: str, tol: float, maxiter: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, bool]:
    """statsmodels IRLS on the cell means with ``var_weights`` = cell weights scaled to mean 1; returns
    the coefficients, the fitted means, ``A^-1`` (``A = sum w v(mu) x x'``), iterations and convergence.
    A singular ``A`` (fitted means numerically 0 or 1 without exact separation) is a :class:`ModelError`."""
    fam = families.Binomial() if family == "quasibinomial" else families.Gaussian()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # non-integer binomial counts, separation: checked below
        fit = GLM(s1 / s0, xcc, family=fam, var_weights=s0 / s0.mean()).fit(
            method="IRLS", tol=tol, atol=tol, rtol=0.0, maxiter=maxiter
        )
    bc = np.asarray(fit.params, dtype=float)
    eta = xcc @ bc
    mu = expit(eta) if family == "quasibinomial" else eta
    try:
        a_inv = np.linalg.inv((xcc * (s0 * _variance_fn(family, mu))[:, None]).T @ xcc)
    except np.linalg.LinAlgError:
        a_inv = np.full((len(bc), len(bc)), np.nan)
    if not np.all(np.isfinite(a_inv)):
        raise ModelError(
            "informationsmatrisen för modellen är singulär (skattade andelar numeriskt 0 eller 1): "
            "koefficienterna kan inte skattas"
        )
    step = a_inv @ (xcc.T @ (s1 - s0 * mu))  # one more Newton step: ~0 at the optimum
    converged = (bool(fit.converged) or bool(np.max(np.abs(step)) < 1e-10 * (1 + np.max(np.abs(bc))))) and bool(
        np.all(np.isfinite(bc))
    )
    return bc, mu, a_inv, int(fit.fit_history["iteration"]), converged


def _coef_vcov(design: Design, dom: np.ndarray, r: np.ndarray, a_cells: np.ndarray, code: np.ndarray) -> np.ndarray:
    """Linearised covariance of the coefficients from ``u_i = r_i a_{c(i)}`` (module docstring), by the
    per-stratum fast path when the cell is constant within each stratum on the domain rows."""
    w = design.weights
    if _stratum_structure(design) and not (design.lonely_psu == "adjust" and np.any(design.psu_strata()[1] == 1)):
        first = np.full(design.n_strata, -1, dtype=np.int64)
        first[design.strata[::-1]] = code[::-1]  # code of each stratum's first row
        ok = True
        if not np.all(code == first[design.strata]):  # rows outside D may differ: check D only
            first[:] = -1
            ds, dc = design.strata[dom], code[dom]
            first[ds[::-1]] = dc[::-1]
            ok = bool(np.all(dc == first[ds]))
        if ok:
            e = calibration_residuals(design, r)
            s_h = stratum_variances(design, w * e)[:, 0]
            has = first >= 0
            a_h = a_cells[first[has]]
            vcov: np.ndarray = (a_h * s_h[has][:, None]).T @ a_h
            return vcov
    return linearized_vcov(design, r[:, None] * a_cells[code])
