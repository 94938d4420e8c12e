"""Replicate-weight variance: re-calibration of every replicate, replicate estimates and variances.

The alternative to Taylor linearisation (``survey.variance``). The schemes (JKn, Rao–Wu and Canty–Davison
bootstrap) are in :mod:`survey.replicate_weights`; this module re-calibrates their replicates and
estimates with them:

    V(theta) = scale * sum_r rscale_r (theta_r - c)^2,

with ``c = theta`` (``mse=True``) or ``c = mean_{r: rscale_r > 0} theta_r`` (``mse=False``, R's default
``getOption("survey.replicates.mse") = FALSE``; ``survey:::svrVar``).

**Re-calibration** (:func:`recalibrate_model`, :func:`recalibrate`; Lumley 2010 sec. 7.4; R ``calibrate()``
on an ``svyrep.design``): each replicate is calibrated again, from its own starting weights
``d*_i a_{p(i) r}`` (``d*`` = the design weights pre-scaled by the full sample's factors, see
:mod:`survey.calibration`), to the same population totals with the same method, bounds, ``maxit`` and
``epsilon``: ``w_ir = d*_i a_{p(i) r} g_{c(i) r}``. The model depends on a row only through its cell ``c``,
so replicate ``r`` needs only the cell totals ``D_cr = sum_{i in c} d*_i a_{p(i) r}`` (a sparse
(cells × PSUs) product) and the one Newton solver (:func:`survey.calibration_solver.solve_calibration`)
runs for all (block, replicate) problems at once; a block whose cell totals a replicate leaves unchanged
(the jackknife outside the deleted PSU's stratum) keeps the full-sample ``g``. Each replicate solve starts
from the full-sample ``lambda`` (R starts from 0; both converge to the same ``g`` under the same rule).
With ``trim_mode="once"`` the one-shot trim is applied in every replicate as in the full sample.

**Infeasible replicates** (``infeasible="collapse"``, the default): when a replicate leaves a margin level
that has population without any respondent of positive weight (the jackknife deleted the only 75-84-year-old
of a district, or the bootstrap did not draw any), the level is collapsed *in that replicate only*: its
population total moves to the adjacent level of the same margin (column order = the code-point order of the
levels) that still has respondents, the one with fewer when both neighbours have (the rule of
``--collapse VAR:1``); a numeric auxiliary without support drops its constraint in that replicate. Every
replicate is kept, so no variance is lost, and the calibration changes only where the full-sample model
cannot be estimated; the number of collapsed (replicate, cell) pairs is reported in
``ReplicateWeights.collapsed``. A replicate that still does not converge (margins that its respondents
cannot meet together) has, round by round, the level with the worst scaled misfit merged the same way;
misfits equal to a relative 1e-9 count as tied and the first in column order is merged, so rounding in the
last digit of the cell totals never picks a different level. (Dropping such replicates and rescaling would
bias the variance down: exactly the replicates in which the small cells matter would be missing.)
``infeasible="error"`` raises a :class:`~survey.errors.CalibrationError` naming the replicate and the cell
instead.

**Domain estimates** (:func:`domain_replicates`): ``theta_r(g, k) = sum_{i in g} w_ir num_ik /
sum_{i in g} w_ir den_ik`` (a share) or the numerator alone (a total); all domains and indicators at
once as a sparse (domain × indicator, rows) product with the dense (rows, chunk of replicates)
replicate weights. Cost: ``O(n k R)`` multiply–adds plus ``O(R × blocks × Newton)`` small solves; for the
element-sampled JKn ``R = n``, so ``O(n^2 k)`` — use the bootstrap for large element-sampled waves.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from survey.calibration import (
    BlockProblems,
    CalibrationModel,
    Margin,
    block_problems,
    build_model,
    nonconvergence_error,
    trim_once,
)
from survey.calibration_solver import CalibrationFunction, NewtonSolution, calibration_function, solve_calibration
from survey.errors import CalibrationError, DesignError
from survey.replicate_weights import (
    CHUNK_ELEMENTS,
    BootstrapMethod,
    ReplicateWeights,
    bootstrap_replicates,
    jackknife_replicates,
)

Infeasible = Literal["collapse", "error"]

__all__ = [
    "CHUNK_ELEMENTS",
    "BootstrapMethod",
    "CellRecalibration",
    "ReplicateEstimates",
    "ReplicateWeights",
    "bootstrap_replicates",
    "domain_replicates",
    "domain_shares",
    "full_recalibration",
    "jackknife_replicates",
    "merge_column",
    "recalibrate",
    "recalibrate_cells",
    "recalibrate_model",
    "replicate_variance",
]


# --- re-calibration of every replicate -------------------------------------------------------------


def merge_column(
    model: CalibrationModel, x: np.ndarray, target: np.ndarray, tol: np.ndarray, support: np.ndarray, k: int, j: int
) -> None:
    """Collapse column ``j`` of problem ``k`` in place (the rule of the module docstring): a categorical level
    joins the adjacent level of its margin that has respondents of positive weight (the one with fewer when
    both do), its cells now counting in that level and its total added to that level's; a numeric auxiliary,
    or a level with no such neighbour, loses its constraint."""
    numeric = model.numeric if model.numeric is not None else np.zeros(target.shape[1], dtype=bool)
    same = np.flatnonzero((model.column_margin == model.column_margin[j]) & (support[k] > 0))
    same = same[same != j]
    if not numeric[j] and len(same):
        left, right = same[same < j], same[same > j]
        cands = ([int(left[-1])] if len(left) else []) + ([int(right[0])] if len(right) else [])
        into = min(cands, key=lambda c: (support[k, c], c))
        x[k, :, into] += x[k, :, j]
        target[k, into] += target[k, j]
        tol[k, into] += tol[k, j]
        support[k, into] += support[k, j]
    x[k, :, j] = 0.0
    target[k, j] = 0.0
    support[k, j] = 0.0


@dataclass(frozen=True, eq=False)
class CellRecalibration:
    """The full sample's calibration on cell totals and what every replicate solve shares: ``dc_full`` (C,)
    the cell totals of the starting weights ``d*``, ``full_g`` (C,) the full-sample ``g`` per cell."""

    model: CalibrationModel
    problems: BlockProblems
    fn: CalibrationFunction
    lam_full: np.ndarray
    infeasible: str
    dc_full: np.ndarray
    full_g: np.ndarray
    iterations: int


def full_recalibration(model: CalibrationModel, dc_full: np.ndarray, infeasible: Infeasible) -> CellRecalibration:
    """Calibrate the full sample from its cell totals ``dc_full`` (C,) of ``d*`` with ``model``'s method,
    bounds, ``maxit``, ``epsilon`` and one-shot trim.

    Raises:
        CalibrationError: the full sample does not converge.
    """
    n_cells = len(model.cell_block)
    problems = block_problems(model, dc_full, model.epsilon)
    fn = calibration_function(model.method, model.bounds)
    full = solve_calibration(problems.x, problems.pad(dc_full), problems.target, problems.tol, fn, maxit=model.maxit)
    if not full.converged.all():
        every = np.arange(model.n_blocks)
        raise nonconvergence_error(model, problems, full, every, fn, model.maxit, what="hela urvalet")
    g_full = (
        full.g
        if model.trim is None or model.trim_mode != "once"
        else _trim_once_cells(full.g, problems.pad(dc_full), model.trim)
    )
    full_g = np.ones(n_cells + 1)
    full_g[problems.idx] = g_full
    return CellRecalibration(
        model=model,
        problems=problems,
        fn=fn,
        lam_full=full.lam,
        infeasible=infeasible,
        dc_full=np.asarray(dc_full, dtype=float),
        full_g=full_g[:n_cells],
        iterations=int(full.iterations.max(initial=0)),
    )


def recalibrate_cells(
    rc: CellRecalibration, dcr: np.ndarray, positive: Callable[[], np.ndarray], r0: int
) -> tuple[np.ndarray, int, int]:
    """Re-calibrate replicates ``r0..r0+c-1`` from their cell totals ``dcr`` (C, c) of ``d* a``;
    ``positive()`` gives (C, c) respondents of positive weight per cell (asked for only when some block
    changed). A block whose cell totals are the full sample's (to 1e-13) keeps the full-sample ``g``.
    Returns (``g`` (C, c), largest Newton iterations, collapsed (replicate, cell) pairs)."""
    model, problems = rc.model, rc.problems
    n_cells, n_rep = dcr.shape
    cell_g = np.repeat(rc.full_g[:, None], n_rep, axis=1)
    dc_full = rc.dc_full[:, None]
    changed_cell = np.abs(dcr - dc_full) > 1e-13 * np.maximum(dc_full, 1e-300)
    changed = np.zeros((model.n_blocks, n_rep), dtype=bool)
    np.logical_or.at(changed, model.cell_block, changed_cell)
    bk, rk = np.nonzero(changed)
    if len(bk) == 0:
        return cell_g, 0, 0
    ncr = positive()
    dcp = np.vstack([dcr, np.zeros((1, n_rep))])[problems.idx[bk], rk[:, None]]
    n_pad = np.vstack([ncr, np.zeros((1, n_rep))])[problems.idx[bk], rk[:, None]]
    g, it, n_col = _solve_replicates(rc, bk, rk, dcp, n_pad, r0)
    cols = np.broadcast_to(rk[:, None], problems.idx[bk].shape)
    real = problems.idx[bk] < n_cells
    cell_g[problems.idx[bk][real], cols[real]] = g[real]
    return cell_g, it, n_col


def _solve_replicates(
    rc: CellRecalibration, bk: np.ndarray, rk: np.ndarray, dcp: np.ndarray, n_pad: np.ndarray, r0: int
) -> tuple[np.ndarray, int, int]:
    """Solve the (block ``bk``, replicate ``r0 + rk``) problems with padded cell totals ``dcp`` (K, Cmax);
    ``n_pad`` (K, Cmax) respondents of positive weight per cell. Infeasible problems are collapsed (module
    docstring) until they converge. Returns (g (K, Cmax), iterations, collapsed (problem, column) pairs)."""
    pr, m = rc.problems, rc.model
    x, target, tol = pr.x[bk], pr.target[bk].copy(), pr.tol[bk].copy()
    support = np.einsum("kc,kcp->kp", n_pad, np.abs(x))
    empty = (target != 0) & (support <= 0)
    if empty.any() and rc.infeasible == "error":
        k, c = np.argwhere(empty)[0]
        raise CalibrationError(
            f"replikat {r0 + int(rk[k]) + 1}: kalibreringen går inte att lösa: {m.where(int(bk[k]), int(c))} "
            f"har populationen {m.targets[bk[k], c]:g} men ingen svarande med positiv vikt; slå ihop "
            f"kategorin eller använd infeasible='collapse'"
        )
    for k, c in np.argwhere(empty):  # rare: a loop over the infeasible (replicate, cell) pairs
        merge_column(m, x, target, tol, support, int(k), int(c))
    collapsed = int(empty.sum())
    sol = solve_calibration(x, dcp, target, tol, rc.fn, lam0=rc.lam_full[bk], maxit=m.maxit)
    g, lam, iters, conv, mis = sol.g, sol.lam, sol.iterations, sol.converged, sol.misfit
    for _ in range(target.shape[1]):  # each round merges one more cell of every failing problem
        bad = np.flatnonzero(~conv)
        if len(bad) == 0 or rc.infeasible == "error":
            break
        worst = np.abs(mis[bad]) / np.maximum(tol[bad], 1e-300)
        for i, k in enumerate(bad):
            cols = np.flatnonzero(target[k] != 0)
            w = worst[i, cols]
            merge_column(m, x, target, tol, support, int(k), int(cols[np.flatnonzero(w >= w.max() * (1 - 1e-9))[0]]))
        collapsed += len(bad)
        sol = solve_calibration(
            x[bad], dcp[bad], target[bad], tol[bad], rc.fn, lam0=rc.lam_full[bk[bad]], maxit=m.maxit
        )
        g[bad], lam[bad], iters[bad], conv[bad] = sol.g, sol.lam, iters[bad] + sol.iterations, sol.converged
        mis[bad] = sol.misfit
    if not conv.all():
        k = int(np.flatnonzero(~conv)[0])
        final = NewtonSolution(g=g, lam=lam, iterations=iters, converged=conv, misfit=mis)
        raise nonconvergence_error(m, pr, final, bk, rc.fn, m.maxit, what=f"replikat {r0 + int(rk[k]) + 1}")
    if m.trim is not None and m.trim_mode == "once":
        g = _trim_once_cells(g, dcp, m.trim)
    return g, int(iters.max(initial=0)), collapsed


def _trim_once_cells(g: np.ndarray, dcp: np.ndarray, trim: tuple[float, float]) -> np.ndarray:
    """:func:`survey.calibration.trim_once` on (K, Cmax) cell factors (one block per problem)."""
    k_, c_ = g.shape
    block = np.repeat(np.arange(k_), c_)
    out, _ = trim_once(g.ravel(), dcp.ravel(), block, *trim)
    return out.reshape(k_, c_)


def _positive(ncp: sp.csr_matrix, a: np.ndarray) -> np.ndarray:
    """Respondents of positive replicate weight per cell: ``ncp`` (cells × PSUs) counts, ``a`` (PSUs, c)."""
    return np.asarray(ncp @ (a > 0))


def recalibrate_model(
    replicates: ReplicateWeights, model: CalibrationModel, *, infeasible: Infeasible = "collapse"
) -> ReplicateWeights:
    """Calibrate the full sample and every replicate with ``model`` (e.g. ``design.calibration`` after
    :func:`survey.calibration.calibrate`): the same targets, pre-scaling, method, bounds, ``maxit``,
    ``epsilon`` and trim as the full sample (module docstring; R ``calibrate()`` on an ``svyrep.design``).

    Per replicate the cell totals are ``D_r = M a_r`` with ``M`` the sparse (cells × PSUs) matrix of summed
    ``d*``; (block, replicate) problems whose cell totals differ from the full sample's are solved together.
    Infeasible replicates follow ``infeasible`` (module docstring).

    Raises:
        CalibrationError: the full sample is infeasible or a replicate does not converge (naming it and the cell).
    """
    if len(model.cell) != replicates.n:
        raise CalibrationError(
            f"en kalibreringsmodell med {len(model.cell)} rader för en replikatdesign med {replicates.n} rader"
        )
    d0 = model.start_weights(replicates.design_weights)
    n_cells = len(model.cell_block)
    mcp = sp.csr_matrix((d0, (model.cell, replicates.psu)), shape=(n_cells, replicates.n_psu))
    ncp = sp.csr_matrix((np.ones(replicates.n), (model.cell, replicates.psu)), shape=(n_cells, replicates.n_psu))
    rc = full_recalibration(model, np.asarray(mcp @ np.ones(replicates.n_psu)), infeasible)
    n_rep = replicates.n_replicates
    cell_g = np.empty((n_cells, n_rep))
    max_it, collapsed = rc.iterations, 0
    step = replicates.chunk_size(replicates.n_psu)
    for r0 in range(0, n_rep, step):
        r1 = min(n_rep, r0 + step)
        a = replicates.psu_factors(r0, r1)
        g, it, n_col = recalibrate_cells(rc, np.asarray(mcp @ a), partial(_positive, ncp, a), replicates.first + r0)
        cell_g[:, r0:r1] = g
        max_it, collapsed = max(max_it, it), collapsed + n_col
    return replace(
        replicates,
        design_weights=d0,
        calibration=model,
        cell_g=cell_g,
        full_cell_g=rc.full_g,
        iterations=max_it,
        collapsed=collapsed,
    )


def recalibrate(
    replicates: ReplicateWeights,
    data: pd.DataFrame,
    margins: Sequence[Margin],
    *,
    by: Sequence[str] = (),
    method: str = "raking",
    bounds: tuple[float, float] | None = None,
    maxit: int = 100,
    epsilon: float = 1e-12,
    prescale: bool = True,
    infeasible: Infeasible = "error",
) -> ReplicateWeights:
    """Build the calibration model of ``margins`` on ``data`` (the rows of the design, in its order) and
    re-calibrate the full sample and every replicate with it (:func:`recalibrate_model`; the arguments as
    :func:`survey.calibration.calibrate`, whose ``prescale`` default it shares)."""
    if len(data) != replicates.n:
        raise CalibrationError(f"{len(data)} datarader för en replikatdesign med {replicates.n} rader")
    calibration_function(method, bounds)
    model = build_model(data, margins, by, replicates.design_weights, method, bounds).model
    model = model.with_settings(maxit=int(maxit), epsilon=float(epsilon))
    if not prescale:
        model = model.with_settings(prescale=np.ones(model.n_blocks))
    return recalibrate_model(replicates, model, infeasible=infeasible)


# --- replicate estimates and variances -------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ReplicateEstimates:
    """Full-sample estimates (G, k), replicate estimates (R, G, k) and the variance multipliers."""

    estimate: np.ndarray
    replicates: np.ndarray
    scale: float
    rscales: np.ndarray


def replicate_variance(estimator: ReplicateEstimates, *, mse: bool = False) -> np.ndarray:
    """``V = scale sum_r rscale_r (theta_r - c)^2`` per cell of the estimate (R ``survey:::svrVar``).

    ``c`` is the full-sample estimate when ``mse`` is True, else the mean of the replicate estimates with
    ``rscale > 0`` (R's default ``mse = FALSE``). Replicates whose estimate is NaN (e.g. a domain that a
    bootstrap replicate left empty) are left out cell by cell (R drops them with a warning).
    """
    th = estimator.replicates
    rs = np.asarray(estimator.rscales, dtype=float).reshape((-1,) + (1,) * (th.ndim - 1))
    ok = ~np.isnan(th)
    if mse:
        centre = estimator.estimate
    else:
        use = ok & (rs > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            centre = np.where(use, th, 0.0).sum(axis=0) / use.sum(axis=0)
    dev = np.where(ok, th - centre, 0.0)
    return estimator.scale * np.sum(rs * dev * dev, axis=0)


def domain_replicates(
    replicates: ReplicateWeights,
    num: np.ndarray,
    den: np.ndarray | None,
    domain: np.ndarray,
    n_domains: int,
    *,
    mask: np.ndarray | None = None,
) -> ReplicateEstimates:
    """Domain ratios ``sum_D w num / sum_D w den`` (or totals, ``den`` None) with the full-sample and every
    replicate's weights, for all domains × columns at once.

    ``num``/``den``: (n,) or (n, k); ``domain``: (n,) codes ``0..n_domains-1`` (rows with code < 0 belong to
    no domain); ``mask``: (n,) 0/1 restriction of every domain. A domain with zero weighted base gives NaN.
    """
    num = np.asarray(num, dtype=float)
    num = num[:, None] if num.ndim == 1 else num
    n, k = num.shape
    if n != replicates.n:
        raise DesignError(f"{n} rader med värden för en replikatdesign med {replicates.n} rader")
    domain = np.asarray(domain, dtype=np.int64)
    m = np.ones(n) if mask is None else np.asarray(mask, dtype=float)
    m = m * (domain >= 0)
    dom = np.where(domain >= 0, domain, 0)
    rows = np.repeat(dom * k, k) + np.tile(np.arange(k), n)  # (domain, column) per entry
    cols = np.repeat(np.arange(n), k)

    def op(values: np.ndarray) -> sp.csr_matrix:
        return sp.csr_matrix(((values * m[:, None]).ravel(), (rows, cols)), shape=(n_domains * k, n))

    s_num = op(num)
    s_den = None
    if den is not None:
        den = np.asarray(den, dtype=float)
        s_den = op(den[:, None] if den.ndim == 1 else den)

    def ratio(w: np.ndarray) -> np.ndarray:  # w: (n, c) -> (c, G, k)
        top = np.asarray(s_num @ w)
        if s_den is not None:
            with np.errstate(invalid="ignore", divide="ignore"):
                bottom = np.asarray(s_den @ w)
                top = np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1.0), np.nan)
        return top.T.reshape(w.shape[1], n_domains, k)

    est = ratio(replicates.full_weights()[:, None])[0]
    n_rep = replicates.n_replicates
    reps = np.empty((n_rep, n_domains, k))
    step = replicates.chunk_size()
    for r0 in range(0, n_rep, step):
        r1 = min(n_rep, r0 + step)
        reps[r0:r1] = ratio(replicates.replicate_weights(r0, r1))
    return ReplicateEstimates(
        estimate=est, replicates=reps, scale=replicates.scale, rscales=np.asarray(replicates.rscales, dtype=float)
    )


def domain_shares(
    replicates: ReplicateWeights,
    num: np.ndarray,
    den: np.ndarray,
    domain: np.ndarray,
    n_domains: int,
    *,
    mask: np.ndarray | None = None,
    mse: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """``(estimate, se)`` (G, k) of domain shares with replicate variance (see :func:`domain_replicates`)."""
    est = domain_replicates(replicates, num, den, domain, n_domains, mask=mask)
    return est.estimate, np.sqrt(replicate_variance(est, mse=mse))
