"""(Quasi-)complete separation in a logistic model fitted on cell totals, and what is left estimable.

**Separation** (Albert & Anderson 1984; Lesaffre & Albert 1989). Cell ``c`` of the model matrix ``X``
(rows ``x_c``) has weight ``s0_c > 0`` and weighted successes ``s1_c``. The maximum-likelihood estimate of
``logit mu_c = x_c' b`` exists (is finite) if and only if no direction ``d != 0`` has

    x_c' d >= 0  where every answer is 1  (s1_c = s0_c),
    x_c' d <= 0  where every answer is 0  (s1_c = 0),
    x_c' d  = 0  where the cell has both,

with ``x_c' d != 0`` somewhere. Along such a ``d`` the likelihood keeps rising: ``b + t d`` for ``t -> inf``
fits the cells with ``x_c' d != 0`` at exactly 0 or 1, and some coefficients diverge; R's ``glm`` (hence
``svyglm``) then stops at an arbitrary large ``b`` with an arbitrary SE ("fitted probabilities numerically
0 or 1 occurred"). The directions form a convex cone, so one direction reaches every cell that any direction
reaches; the linear programme of Konis (2007, R ``safeBinaryRegression``) finds it:

    max sum_k t_k   over d, t,   0 <= t_k <= sigma_k x_k' d  (pure cells k, sigma = +1 / -1),
                                  x_c' d = 0                 (mixed cells),

and the *separated cells* are those with ``t_k = 1`` at the optimum (the problem is solved on the centred
and column-scaled matrix: separation depends only on the column space of ``X``).

**What stays estimable.** In the limit the other cells keep a finite fit: the pseudo-MLE on the cells
that are not separated, ``X_K``. A coefficient ``b_j`` (of the parametrisation the caller asked for) is
finite and identified iff ``e_j`` lies in the row space of ``X_K``, i.e. row ``j`` of a basis of the null
space of ``X_K`` is zero. Its estimate and design-based covariance are those of the fit on ``X_K`` (rows of
separated cells have ``y - mu = 0`` exactly, so they add nothing to the influence values). The fit uses the
estimable columns plus, in column order, the further columns that complete the column space of ``X_K``
(their coefficients are not reported).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog

from survey.errors import ModelError

PURE_TOL = 1e-12  # a cell whose mean is within this (relative) of 0 or 1 is pure
NULL_TOL = 1e-8  # a null-space row this small (relative to its scale) is zero


def _scaled(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scale = np.abs(x).max(axis=0) if len(x) else np.ones(x.shape[1])
    scale = np.where(scale > 0, scale, 1.0)
    return x / scale, scale


def separated_cells(xcc: np.ndarray, s0: np.ndarray, s1: np.ndarray) -> np.ndarray:
    """Cells fitted at exactly 0 or 1 in the limit (module docstring): bool (C,).

    ``xcc``: (C, p) cell rows (centred numeric columns give a better conditioned programme; any matrix with
    the same column space gives the same cells); ``s0``, ``s1``: weight and weighted successes per cell
    (``s0 > 0``).
    """
    xcc = np.asarray(xcc, dtype=float)
    s0 = np.asarray(s0, dtype=float)
    s1 = np.asarray(s1, dtype=float)
    if len(xcc) > 1:  # rows with the same covariates are one cell (row-level fits: a row is pure by itself)
        rows = np.ascontiguousarray(xcc + 0.0)  # -0.0 and 0.0 alike
        key = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()
        _, first, inv = np.unique(key, return_index=True, return_inverse=True)
        if len(first) < len(xcc):
            m = len(first)
            return separated_cells(rows[first], np.bincount(inv, s0, m), np.bincount(inv, s1, m))[inv]
    ones = s1 >= s0 * (1.0 - PURE_TOL)
    zeros = s1 <= s0 * PURE_TOL
    pure = ones | zeros
    out = np.zeros(len(s0), dtype=bool)
    if not pure.any():  # every cell mixed: x_c' d = 0 on all cells, d = 0 (full rank)
        return out
    xs, _ = _scaled(xcc)
    p = xs.shape[1]
    sig = np.where(ones[pure], 1.0, -1.0)
    xp, xm = xs[pure], xs[~pure]
    m = len(xp)
    cost = np.concatenate([np.zeros(p), -np.ones(m)])
    a_ub = np.hstack([-sig[:, None] * xp, np.eye(m)])  # t_k - sigma_k x_k' d <= 0
    a_eq = np.hstack([xm, np.zeros((len(xm), m))]) if len(xm) else None
    res = linprog(
        cost,
        A_ub=a_ub,
        b_ub=np.zeros(m),
        A_eq=a_eq,
        b_eq=np.zeros(len(xm)) if len(xm) else None,
        bounds=[(None, None)] * p + [(0.0, 1.0)] * m,
        method="highs",
    )
    if res.status != 0:
        raise ModelError(f"separationskontrollen av den logistiska modellen misslyckades ({res.message})")
    out[np.flatnonzero(pure)[res.x[p:] > 0.5]] = True
    return out


def _rank(x: np.ndarray) -> int:
    return int(np.linalg.matrix_rank(x)) if x.size else 0


def estimable_columns(x_keep: np.ndarray, centres: np.ndarray, icpt: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Which coefficients are identified by the cells ``x_keep`` (module docstring), and the columns to fit.

    ``x_keep``: the non-separated cells' rows, numeric columns centred at ``centres`` when ``icpt`` (the
    intercept's column) is given; estimability is judged for the *uncentred* coefficients
    ``b = T b_c`` (``b_icpt = b_c,icpt - sum_j c_j b_c,j``). Returns ``(estimable, fit_columns)``: bool (p,)
    and the sorted column indices of the fit (estimable ones first chosen, then completing columns).
    """
    p = x_keep.shape[1]
    xs, scale = _scaled(x_keep)
    if len(xs):
        _, sv, vt = np.linalg.svd(xs, full_matrices=True)
        rank = int(np.sum(sv > max(xs.shape) * np.finfo(float).eps * (sv[0] if len(sv) else 0.0)))
    else:
        vt, rank = np.eye(p), 0
    null_c = vt[rank:].T / scale[:, None]  # null space of x_keep in the centred coefficients
    tmat = np.eye(p)
    if icpt is not None:
        tmat[icpt, :] -= centres
        tmat[icpt, icpt] = 1.0
    null_b = tmat @ null_c
    ref = np.abs(tmat) @ (1.0 / scale)  # the size of each uncentred coefficient's terms
    estimable = np.linalg.norm(null_b, axis=1) <= NULL_TOL * ref
    cols = [int(j) for j in np.flatnonzero(estimable)]
    if _rank(xs[:, cols]) < len(cols):
        raise ModelError("de skattbara termerna är linjärt beroende på cellerna utan separation")
    for j in range(p):  # complete the column space of the kept cells, in column order
        if not estimable[j] and len(cols) < rank and _rank(xs[:, sorted(cols + [j])]) > len(cols):
            cols.append(j)
    return estimable, np.asarray(sorted(cols), dtype=np.int64)
