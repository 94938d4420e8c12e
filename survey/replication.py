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
``ReplicateWeights.collapsed``. (Dropping such replicates and rescaling would bias the variance down:
exactly the replicates in which the small cells matter would be missing.) ``infeasible="error"`` raises
a :class:`~survey.errors.CalibrationError` naming the replicate and the cell instead.

**Domain estimates** (:func:`domain_replicates`): ``theta_r(g, k) = sum_{i in g} w_ir num_ik /
sum_{i in g} w_ir den_ik`` (a share) or the numerator alone (a total); all domains and indicators at
once as a sparse (domain × indicator, rows) product with the dense (rows, chunk of replicates)
replicate weights. Cost: ``O(n k R)`` multiply–adds plus ``O(R × blocks × Newton)`` small solves; for the
element-sampled JKn ``R = n``, so ``O(n^2 k)`` — use the bootstrap for large element-sampled waves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
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
    "ReplicateEstimates",
    "ReplicateWeights",
    "bootstrap_replicates",
    "domain_replicates",
    "domain_shares",
    "jackknife_replicates",
    "merge_column",
    "recalibrate",
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
class _Recal:
    """What every replicate solve shares."""

    model: CalibrationModel
    problems: BlockProblems
    fn: CalibrationFunction
    lam_full: np.ndarray
    infeasible: str


def _solve_replicates(
    rc: _Recal, bk: np.ndarray, rk: np.ndarray, dcp: np.ndarray, n_pad: np.ndarray, r0: int
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
            merge_column(m, x, target, tol, support, int(k), int(cols[np.argmax(worst[i, cols])]))
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
    n_cells, n_blocks = len(model.cell_block), model.n_blocks
    mcp = sp.csr_matrix((d0, (model.cell, replicates.psu)), shape=(n_cells, replicates.n_psu))
    ncp = sp.csr_matrix((np.ones(replicates.n), (model.cell, replicates.psu)), shape=(n_cells, replicates.n_psu))
    dc_full = np.asarray(mcp @ np.ones(replicates.n_psu))
    problems = block_problems(model, dc_full, model.epsilon)
    fn = calibration_function(model.method, model.bounds)
    all_b = np.arange(n_blocks)
    full = solve_calibration(problems.x, problems.pad(dc_full), problems.target, problems.tol, fn, maxit=model.maxit)
    if not full.converged.all():
        raise nonconvergence_error(model, problems, full, all_b, fn, model.maxit, what="hela urvalet")
    g_full = (
        full.g
        if model.trim is None or model.trim_mode != "once"
        else _trim_once_cells(full.g, problems.pad(dc_full), model.trim)
    )
    full_g = np.ones(n_cells + 1)
    full_g[problems.idx] = g_full
    full_g = full_g[:n_cells]
    rc = _Recal(model=model, problems=problems, fn=fn, lam_full=full.lam, infeasible=infeasible)
    n_rep = replicates.n_replicates
    cell_g = np.repeat(full_g[:, None], n_rep, axis=1)
    max_it, collapsed = int(full.iterations.max(initial=0)), 0
    step = replicates.chunk_size(replicates.n_psu)
    for r0 in range(0, n_rep, step):
        r1 = min(n_rep, r0 + step)
        a = replicates.psu_factors(r0, r1)
        dcr = np.asarray(mcp @ a)  # (C, chunk)
        changed_cell = np.abs(dcr - dc_full[:, None]) > 1e-13 * np.maximum(dc_full[:, None], 1e-300)
        changed = np.zeros((n_blocks, r1 - r0), dtype=bool)
        np.logical_or.at(changed, model.cell_block, changed_cell)
        bk, rk = np.nonzero(changed)
        if len(bk) == 0:
            continue
        ncr = np.asarray(ncp @ (a > 0).astype(float))  # respondents of positive weight
        dcp = np.vstack([dcr, np.zeros((1, r1 - r0))])[problems.idx[bk], rk[:, None]]
        n_pad = np.vstack([ncr, np.zeros((1, r1 - r0))])[problems.idx[bk], rk[:, None]]
        g, it, n_col = _solve_replicates(rc, bk, rk, dcp, n_pad, r0)
        max_it, collapsed = max(max_it, it), collapsed + n_col
        cols = np.broadcast_to((r0 + rk)[:, None], problems.idx[bk].shape)
        real = problems.idx[bk] < n_cells
        cell_g[problems.idx[bk][real], cols[real]] = g[real]
    return replace(
        replicates,
        design_weights=d0,
        calibration=model,
        cell_g=cell_g,
        full_cell_g=full_g,
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
