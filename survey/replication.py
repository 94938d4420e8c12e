"""Replicate-weight variance: stratified jackknife (JKn), Rao–Wu rescaling bootstrap, re-calibration.

The alternative to Taylor linearisation (``survey.variance``). A replicate scheme turns the design
weights ``d_i`` into ``R`` sets of replicate weights ``d_i a_{p(i) r}`` (``a`` = factors per primary
sampling unit ``p`` and replicate ``r``); an estimator ``theta`` is recomputed with every set, and

    V(theta) = scale * sum_r rscale_r (theta_r - c)^2,

with ``c = theta`` (``mse=True``) or ``c = mean_{r: rscale_r > 0} theta_r`` (``mse=False``, R's default
``getOption("survey.replicates.mse") = FALSE``; ``survey:::svrVar``). References: Rust & Rao (1996),
Wolter (2007) ch. 4 (jackknife) and ch. 5 (bootstrap), Lumley (2010) sec. 2.5, Rao & Wu (1988).

Schemes (PSU ``j`` of stratum ``h``, ``n_h`` PSUs, ``f_h = n_h / N_h`` when the design has an fpc, else 0):

* **JKn** (:func:`jackknife_replicates`; R ``as.svrepdesign(type = "JKn")``, ``survey:::jknweights``;
  for one stratum the same as ``type = "JK1"``): one replicate per PSU. In replicate ``(h, j)``
  ``a = 0`` for PSU ``j``, ``a = n_h / (n_h - 1)`` for the other PSUs of ``h``, ``a = 1`` elsewhere;
  ``rscale = (n_h - 1) / n_h (1 - f_h)``, ``scale = 1``. Strata with ``f_h = 1`` give no replicates
  (R's ``survey.drop.replicates = TRUE``). Stored as the deleted PSU per replicate (no P × R matrix).
* **Rao–Wu rescaling bootstrap** (:func:`bootstrap_replicates`, ``method = "rao_wu"``, the default;
  Rao & Wu 1988, Rao, Wu & Yue 1992): per stratum ``m_h = n_h - 1`` PSUs drawn with replacement,
  ``k_hj`` = times PSU ``j`` is drawn, ``lambda_h = sqrt(m_h (1 - f_h) / (n_h - 1)) = sqrt(1 - f_h)`` and
  ``a_hj = 1 - lambda_h + lambda_h (n_h / m_h) k_hj``; ``scale = 1 / (R - 1)``, ``rscale = 1``.
  Without fpc this is exactly R's ``as.svrepdesign(type = "subbootstrap")`` (``survey:::subbootweights``:
  ``a = n_h / (n_h - 1) k_hj``, scale ``1 / (R - 1)``), and the factors can be handed to R as
  ``svrepdesign(repweights = a, type = "bootstrap", combined.weights = FALSE)``, whose default scale is
  the same ``1 / (R - 1)``.
* **Canty–Davison bootstrap** (``method = "canty_davison"``; R ``as.svrepdesign(type = "bootstrap")``,
  ``survey:::bootweights`` without fpc): ``m_h = n_h`` draws, ``a_hj = k_hj``,
  ``scale = nbar / ((nbar - 1)(R - 1))`` with ``nbar`` the harmonic mean of ``n_h`` (R's convention;
  it is unbiased only when all ``n_h`` are equal, which is why Rao–Wu is the default here).

Bootstrap factors are stored as PSU × R draw counts (``uint8``) with a per-PSU affine map
``a = alpha_p + beta_p k`` (1 byte per PSU and replicate: a 1M-PSU design with 200 replicates takes
200 MB, never an n × R float matrix). Replicate weights are formed chunk by chunk of replicates.

**Re-calibration** (:func:`recalibrate`; Lumley 2010 sec. 7.4; R ``calibrate()`` on an
``svyrep.design``): each replicate is calibrated again, from its own design weights ``d a_r``, to the
same population totals, ``w_ir = d_i a_{p(i) r} g_{c(i) r}``. The calibration model depends on a row
only through its cell ``c`` (``survey.calibration``), so replicate ``r`` needs only the cell totals
``D_cr = sum_{i in c} d_i a_{p(i) r}`` (a sparse (cells × PSUs) product) and the Newton solve of
``survey.calibration._solve`` runs for all (block, replicate) problems at once (a batch dimension);
a block whose cell totals a replicate leaves unchanged (the jackknife outside the deleted PSU's
stratum) keeps the full-sample ``g``. Each replicate solve starts from the full-sample ``lambda``
(R starts from 0; both converge to the same ``g`` under the same stopping rule).

**Domain estimates** (:func:`domain_replicates`): ``theta_r(g, k) = sum_{i in g} w_ir num_ik /
sum_{i in g} w_ir den_ik`` (a share) or the numerator alone (a total); all domains and indicators at
once as a sparse (domain × indicator, rows) product with the dense (rows, chunk of replicates)
replicate weights. Cost: ``O(n k R)`` multiply–adds plus ``O(R × blocks × Newton)`` small solves; for the
element-sampled JKn ``R = n``, so ``O(n^2 k)`` — use the bootstrap for large element-sampled waves.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from survey.calibration import CalibrationModel, Margin, _calfun, _label, build_model
from survey.design import Design
from survey.errors import CalibrationError, DesignError

BootstrapMethod = Literal["rao_wu", "canty_davison"]
CHUNK_ELEMENTS = 4_000_000      # size of a dense (rows or PSUs) × replicates chunk, in values


@dataclass(frozen=True, eq=False)
class ReplicateWeights:
    """Replicate factors of a design, stored compactly, plus (after :func:`recalibrate`) the per-cell ``g``.

    Replicate weight of row ``i`` in replicate ``r``: ``d_i * a[psu_i, r] * g[cell_i, r]`` with
    ``g = 1`` when not re-calibrated. Full-sample weight: ``d_i * g_full[cell_i]``.

    Attributes:
        kind: ``"JKn"``, ``"bootstrap"`` (Rao–Wu) or ``"canty_davison"``.
        psu: PSU code per row (``0..P-1``).
        psu_stratum: stratum code per PSU.
        design_weights: ``d`` per row.
        scale, rscales: the variance multipliers ``V = scale sum_r rscales_r (theta_r - c)^2``.
        deleted: JKn: the deleted PSU of each replicate.
        jk_factor: JKn: ``n_h / (n_h - 1)`` per PSU.
        counts: bootstrap: (P, R) uint8 draw counts ``k``.
        alpha, beta: bootstrap: per-PSU ``a = alpha + beta k``.
        calibration: the calibration model (cells) when re-calibrated, else None.
        cell_g: (C, R) calibration factors ``g`` per cell and replicate, or None.
        full_cell_g: (C,) full-sample ``g`` per cell, or None.
        iterations: largest number of Newton iterations of any replicate (0 when not re-calibrated).
    """

    kind: str
    psu: np.ndarray
    psu_stratum: np.ndarray
    design_weights: np.ndarray
    scale: float
    rscales: np.ndarray
    deleted: np.ndarray | None = None
    jk_factor: np.ndarray | None = None
    counts: np.ndarray | None = None
    alpha: np.ndarray | None = None
    beta: np.ndarray | None = None
    calibration: CalibrationModel | None = None
    cell_g: np.ndarray | None = None
    full_cell_g: np.ndarray | None = None
    iterations: int = 0

    @property
    def n(self) -> int:
        return len(self.psu)

    @property
    def n_psu(self) -> int:
        return len(self.psu_stratum)

    @property
    def n_replicates(self) -> int:
        return len(self.rscales)

    def chunk_size(self, rows: int | None = None) -> int:
        """Replicates per chunk so that a dense (rows × chunk) block holds about ``CHUNK_ELEMENTS`` values."""
        rows = max(self.n, self.n_psu) if rows is None else rows
        return max(1, min(self.n_replicates, CHUNK_ELEMENTS // max(rows, 1)))

    def psu_factors(self, start: int, stop: int) -> np.ndarray:
        """``a[:, start:stop]``: (P, stop - start) float64 replicate factors per PSU."""
        if self.deleted is not None:
            dele = self.deleted[start:stop]
            h = self.psu_stratum[dele]
            same = self.psu_stratum[:, None] == h[None, :]
            a = np.where(same, self.jk_factor[:, None], 1.0)
            a[dele, np.arange(len(dele))] = 0.0
            return a
        return self.alpha[:, None] + self.beta[:, None] * self.counts[:, start:stop].astype(np.float64)

    def full_weights(self) -> np.ndarray:
        """Full-sample weights ``d * g_full`` (``d`` when not re-calibrated)."""
        if self.full_cell_g is None:
            return self.design_weights.copy()
        return self.design_weights * self.full_cell_g[self.calibration.cell]

    def replicate_weights(self, start: int, stop: int) -> np.ndarray:
        """Replicate weights of rows (n, stop - start) for replicates ``start..stop-1`` (one chunk)."""
        w = self.design_weights[:, None] * self.psu_factors(start, stop)[self.psu]
        if self.cell_g is not None:
            w *= self.cell_g[self.calibration.cell, start:stop]
        return w

    def row_factors_frame(self, start: int = 0, stop: int | None = None) -> pd.DataFrame:
        """Row-level replicate factors ``a[psu_i, r]`` (no ``d``, no ``g``) as a frame ``rep1..repR``,
        e.g. to hand them to R's ``svrepdesign(repweights=..., combined.weights = FALSE)``."""
        stop = self.n_replicates if stop is None else stop
        a = self.psu_factors(start, stop)[self.psu]
        return pd.DataFrame(a, columns=[f"rep{r + 1}" for r in range(start, stop)])


# --- building the replicate schemes ----------------------------------------------------------------

def _lonely(design: Design, n_h: np.ndarray, scheme: str) -> np.ndarray:
    """Strata with a single PSU: error under 'fail' and 'adjust'; skipped (no variance) under 'certainty'."""
    lonely = n_h == 1
    if lonely.any() and design.lonely_psu != "certainty":
        h = int(np.flatnonzero(lonely)[0])
        what = ("its variance cannot be estimated (lonely-PSU policy 'fail'; choose 'certainty')"
                if design.lonely_psu == "fail" else
                f"the lonely-PSU policy {design.lonely_psu!r} is not implemented for {scheme} replicates "
                f"(use 'certainty' or linearisation)")
        raise DesignError(f"stratum {design.strata_labels[h]!r} has a single PSU; {what}")
    return lonely


def jackknife_replicates(design: Design) -> ReplicateWeights:
    """Stratified delete-one-PSU jackknife, JKn (Wolter 2007, sec. 4.5; R ``as.svrepdesign(type="JKn")``).

    Replicate ``(h, j)``: ``a = 0`` for PSU ``j`` of stratum ``h``, ``n_h / (n_h - 1)`` for the other PSUs
    of ``h``, 1 elsewhere; ``rscale_{hj} = (n_h - 1) / n_h (1 - f_h)``, ``scale = 1``, so
    ``V = sum_h (1 - f_h) (n_h - 1) / n_h sum_j (theta_(hj) - c)^2``. Replicates are ordered by stratum
    code, then PSU code. Single-PSU strata follow the design's lonely-PSU policy ('certainty' drops them);
    census strata (``f_h = 1``) give no replicates. Base weights are ``design.design_weights``
    (use :func:`recalibrate` to re-calibrate every replicate).
    """
    psu_stratum, n_h = design.psu_strata()
    _lonely(design, n_h, "JKn")
    f = design.sampling_fractions()
    n_ps = n_h[psu_stratum]
    keep = (n_ps > 1) & (f[psu_stratum] < 1.0)
    order = np.lexsort((np.arange(len(psu_stratum)), psu_stratum))
    deleted = order[keep[order]].astype(np.int64)
    if len(deleted) == 0:
        raise DesignError("no jackknife replicates: every stratum is a census or has a single PSU")
    with np.errstate(divide="ignore", invalid="ignore"):
        jk = np.where(n_ps > 1, n_ps / np.maximum(n_ps - 1, 1), 1.0)
    hd = psu_stratum[deleted]
    rscales = (n_h[hd] - 1) / n_h[hd] * (1.0 - f[hd])
    return ReplicateWeights(kind="JKn", psu=design.psu_codes(), psu_stratum=psu_stratum,
                            design_weights=np.asarray(design.design_weights, dtype=float), scale=1.0,
                            rscales=rscales, deleted=deleted, jk_factor=jk)


def bootstrap_replicates(design: Design, replicates: int = 200, seed: int | None = 0, *,
                         method: BootstrapMethod = "rao_wu") -> ReplicateWeights:
    """Rescaling bootstrap replicates (see the module docstring for both methods and their R equivalents).

    ``rao_wu`` (Rao & Wu 1988): ``m_h = n_h - 1`` draws with replacement per stratum,
    ``a_hj = 1 - lambda_h + lambda_h n_h / (n_h - 1) k_hj``, ``lambda_h = sqrt(1 - f_h)``;
    ``V = 1 / (R - 1) sum_r (theta_r - c)^2``. ``canty_davison``: ``m_h = n_h``, ``a_hj = k_hj``,
    ``scale = nbar / ((nbar - 1)(R - 1))`` (R's ``type = "bootstrap"``; no fpc).
    The draws come from ``numpy.random.default_rng(seed)``.
    """
    if replicates < 2:
        raise DesignError(f"the bootstrap needs at least 2 replicates, got {replicates}")
    if method not in ("rao_wu", "canty_davison"):
        raise DesignError(f"unknown bootstrap method {method!r}; use 'rao_wu' or 'canty_davison'")
    psu_stratum, n_h = design.psu_strata()
    lonely = _lonely(design, n_h, "bootstrap")
    f = design.sampling_fractions()
    if method == "canty_davison" and design.fpc is not None:
        raise DesignError("the canty_davison bootstrap is implemented without fpc; use method='rao_wu'")
    n_psu = len(psu_stratum)
    m_h = np.where(lonely, 0, n_h - 1 if method == "rao_wu" else n_h).astype(np.int64)
    order = np.lexsort((np.arange(n_psu), psu_stratum))          # PSUs grouped by stratum
    start_h = np.concatenate([[0], np.cumsum(n_h)[:-1]])
    draw_h = np.repeat(np.arange(design.n_strata), m_h)          # stratum of each draw
    n_draw = len(draw_h)
    rng = np.random.default_rng(seed)
    counts = np.zeros((n_psu, replicates), dtype=np.uint8)
    step = max(1, min(replicates, CHUNK_ELEMENTS // max(n_draw, n_psu, 1)))
    for r0 in range(0, replicates, step):
        r1 = min(replicates, r0 + step)
        u = rng.random((r1 - r0, n_draw))
        pos = start_h[draw_h][None, :] + np.minimum((u * n_h[draw_h][None, :]).astype(np.int64),
                                                    n_h[draw_h][None, :] - 1)
        psu = order[pos]                                          # (chunk, draws)
        key = psu * (r1 - r0) + np.arange(r1 - r0)[:, None]
        c = np.bincount(key.ravel(), minlength=n_psu * (r1 - r0)).reshape(n_psu, r1 - r0)
        if c.max(initial=0) > 255:
            raise DesignError("a PSU was drawn more than 255 times in one bootstrap replicate")
        counts[:, r0:r1] = c
    if method == "rao_wu":
        lam = np.sqrt(1.0 - f)[psu_stratum]
        n_ps = n_h[psu_stratum].astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            beta = np.where(n_ps > 1, lam * n_ps / np.maximum(n_ps - 1, 1), 0.0)
        alpha = np.where(n_ps > 1, 1.0 - lam, 1.0)
        scale = 1.0 / (replicates - 1)
        kind = "bootstrap"
    else:
        beta = np.where(lonely[psu_stratum], 0.0, 1.0)
        alpha = 1.0 - beta
        nbar = 1.0 / np.mean(1.0 / n_h[n_h > 0])
        scale = nbar / ((nbar - 1.0) * (replicates - 1))
        kind = "canty_davison"
    return ReplicateWeights(kind=kind, psu=design.psu_codes(), psu_stratum=psu_stratum,
                            design_weights=np.asarray(design.design_weights, dtype=float), scale=scale,
                            rscales=np.ones(replicates), counts=counts, alpha=alpha, beta=beta)


# --- re-calibration of every replicate -------------------------------------------------------------

@dataclass(frozen=True)
class _Blocks:
    """Cells of each calibration block, padded to the largest block (pad = an all-zero extra cell)."""

    idx: np.ndarray      # (B, Cmax) cell codes, pad = C
    x: np.ndarray        # (B, Cmax, p) model rows, zeros at pads


def _blocks(model: CalibrationModel) -> _Blocks:
    n_cells = len(model.cell_block)
    n_blocks = len(model.block_labels)
    order = np.argsort(model.cell_block, kind="stable")
    per = np.bincount(model.cell_block, minlength=n_blocks)
    c_max = int(per.max()) if n_blocks else 0
    start = np.concatenate([[0], np.cumsum(per)[:-1]])
    slot = np.arange(n_cells) - start[model.cell_block[order]]
    idx = np.full((n_blocks, c_max), n_cells, dtype=np.int64)
    idx[model.cell_block[order], slot] = order
    x_ext = np.vstack([model.cell_x, np.zeros((1, model.cell_x.shape[1]))])
    return _Blocks(idx=idx, x=x_ext[idx])


def batch_solve(x: np.ndarray, dc: np.ndarray, target: np.ndarray, lam0: np.ndarray, method: str,
                bounds: tuple[float, float] | None, maxit: int, epsilon: float
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Newton's method for ``K`` independent calibration problems on cell totals (a batch version of
    ``survey.calibration._solve``, same stopping rule ``|misfit| / (1 + |X|) < epsilon`` and step halving).

    Args:
        x: (K, C, p) model rows of the cells of each problem (zero rows for padding).
        dc: (K, C) cell totals of the design (or replicate) weights.
        target: (K, p) population totals.
        lam0: (K, p) starting ``lambda``.
    Returns:
        ``(g, lam, iterations)``: (K, C) calibration factors per cell, (K, p) ``lambda``, and (K,) the
        Newton iterations per problem (``-1`` where it did not converge).
    """
    f, df = _calfun(method, bounds)
    lam = lam0.astype(float).copy()
    scale = 1.0 + np.abs(target)
    iters = np.zeros(len(x), dtype=np.int64)

    def fitted(xk, dk, lk):
        u = np.einsum("kcp,kp->kc", xk, lk)
        return u, np.einsum("kc,kcp->kp", dk * f(u), xk)

    todo = np.arange(len(x))
    u, tot = fitted(x, dc, lam)
    misfit = target - tot
    it = 0
    while True:
        bad = np.any(np.abs(misfit) / scale[todo] >= epsilon, axis=1)
        todo, u, misfit = todo[bad], u[bad], misfit[bad]
        if len(todo) == 0 or it >= maxit:
            break
        xk, dk = x[todo], dc[todo]
        jac = np.einsum("kc,kcp,kcq->kpq", dk * df(u), xk, xk)
        step = np.einsum("kpq,kq->kp", np.linalg.pinv(jac, rcond=1e-13, hermitian=True), misfit)
        new = lam[todo] + step
        u, tot = fitted(xk, dk, new)
        for _ in range(50):
            ok = np.all(np.isfinite(tot), axis=1)
            if ok.all():
                break
            step[~ok] /= 2
            new[~ok] = lam[todo[~ok]] + step[~ok]
            u[~ok], tot[~ok] = fitted(xk[~ok], dk[~ok], new[~ok])
        lam[todo] = new
        misfit = target[todo] - tot
        it += 1
        iters[todo] = it
    iters[todo] = -1
    g = f(np.einsum("kcp,kp->kc", x, lam))
    return g, lam, iters


def recalibrate(replicates: ReplicateWeights, data: pd.DataFrame, margins: Sequence[Margin], *,
                by: Sequence[str] = (), method: str = "raking", bounds: tuple[float, float] | None = None,
                maxit: int = 100, epsilon: float = 1e-12) -> ReplicateWeights:
    """Calibrate the full sample and every replicate to ``margins`` (as R ``calibrate()`` on an
    ``svyrep.design``): ``w_ir = d_i a_{p(i) r} g_{c(i) r}`` with ``g_r`` solving
    ``sum_i d_i a_ir g_ir x_i = X`` (same ``method``, ``bounds``, ``maxit``, ``epsilon`` as
    :func:`survey.calibration.calibrate`; trimming is not supported here).

    ``data`` has the rows of the design, in the design's order. Per replicate the cell totals are
    ``D_r = M a_r`` with ``M`` the sparse (cells × PSUs) matrix of summed ``d``; (block, replicate)
    problems whose cell totals differ from the full sample's are solved together by :func:`batch_solve`.

    Raises:
        CalibrationError: when the full sample or a replicate is infeasible (a margin level with population
            and no respondent of positive replicate weight: e.g. the jackknife deleted the only respondent
            of an age group in a district, or the bootstrap did not draw any) or does not converge; the
            message names the replicate and the cell.
    """
    d = replicates.design_weights
    if len(data) != replicates.n:
        raise CalibrationError(f"{len(data)} data rows for a replicate design of {replicates.n} rows")
    built = build_model(data, margins, by, d, method, bounds)
    m = built.model
    blk = _blocks(m)
    n_cells, n_blocks = len(m.cell_block), len(m.block_labels)
    p = m.cell_x.shape[1]
    mcp = sp.csr_matrix((d, (m.cell, replicates.psu)), shape=(n_cells, replicates.n_psu))
    dc_full = np.asarray(mcp @ np.ones(replicates.n_psu))

    def where(b: int, col: int) -> str:
        parts = dict(zip(m.block_vars, m.block_labels[b]))
        return (_label(parts) + ", " if parts else "") + m.columns[col].replace("=", " ")

    def solve(bk: np.ndarray, dcp: np.ndarray, lam0: np.ndarray, what) -> tuple[np.ndarray, np.ndarray, int]:
        tgt = built.targets[bk]
        col_tot = np.einsum("kc,kcp->kp", dcp, blk.x[bk])
        empty = (tgt > 0) & (col_tot <= 0)
        if empty.any():
            k, c = np.argwhere(empty)[0]
            raise CalibrationError(f"{what(k)}: calibration infeasible: {where(bk[k], c)} has population "
                                   f"{tgt[k, c]:g} but no respondent with a positive weight ({int(empty.sum())} "
                                   f"such replicate cell(s)); collapse the category or do not re-calibrate")
        g, lam, iters = batch_solve(blk.x[bk], dcp, tgt, lam0, method, bounds, maxit, epsilon)
        if np.any(iters < 0):
            k = int(np.flatnonzero(iters < 0)[0])
            raise CalibrationError(f"{what(k)}: {method} calibration did not converge in {maxit} iterations "
                                   f"in {_label(dict(zip(m.block_vars, m.block_labels[bk[k]])))}")
        return g, lam, int(iters.max(initial=0))

    dc_ext = np.append(dc_full, 0.0)
    all_b = np.arange(n_blocks)
    g_full_b, lam_full, it_full = solve(all_b, dc_ext[blk.idx], np.zeros((n_blocks, p)), lambda k: "full sample")
    full_g = np.ones(n_cells + 1)
    full_g[blk.idx] = g_full_b
    full_g = full_g[:n_cells]

    n_rep = replicates.n_replicates
    cell_g = np.repeat(full_g[:, None], n_rep, axis=1)
    max_it = it_full
    step = replicates.chunk_size(replicates.n_psu)
    for r0 in range(0, n_rep, step):
        r1 = min(n_rep, r0 + step)
        dcr = np.asarray(mcp @ replicates.psu_factors(r0, r1))                # (C, chunk)
        changed_cell = np.abs(dcr - dc_full[:, None]) > 1e-13 * np.maximum(dc_full[:, None], 1e-300)
        changed = np.zeros((n_blocks, r1 - r0), dtype=bool)
        np.logical_or.at(changed, m.cell_block, changed_cell)
        bk, rk = np.nonzero(changed)
        if len(bk) == 0:
            continue
        dcr_ext = np.vstack([dcr, np.zeros((1, r1 - r0))])
        dcp = dcr_ext[blk.idx[bk], rk[:, None]]                               # (K, Cmax)
        g, _, it = solve(bk, dcp, lam_full[bk], lambda k: f"replicate {r0 + int(rk[k]) + 1}")
        max_it = max(max_it, it)
        cols = np.broadcast_to((r0 + rk)[:, None], blk.idx[bk].shape)
        real = blk.idx[bk] < n_cells
        cell_g[blk.idx[bk][real], cols[real]] = g[real]
    return replace(replicates, calibration=m, cell_g=cell_g, full_cell_g=full_g, iterations=max_it)


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


def domain_replicates(replicates: ReplicateWeights, num: np.ndarray, den: np.ndarray | None,
                      domain: np.ndarray, n_domains: int, *, mask: np.ndarray | None = None) -> ReplicateEstimates:
    """Domain ratios ``sum_D w num / sum_D w den`` (or totals, ``den`` None) with the full-sample and every
    replicate's weights, for all domains × columns at once.

    ``num``/``den``: (n,) or (n, k); ``domain``: (n,) codes ``0..n_domains-1`` (rows with code < 0 belong to
    no domain); ``mask``: (n,) 0/1 restriction of every domain. A domain with zero weighted base gives NaN.
    """
    num = np.asarray(num, dtype=float)
    num = num[:, None] if num.ndim == 1 else num
    n, k = num.shape
    if n != replicates.n:
        raise DesignError(f"{n} rows of values for a replicate design of {replicates.n} rows")
    domain = np.asarray(domain, dtype=np.int64)
    m = np.ones(n) if mask is None else np.asarray(mask, dtype=float)
    m = m * (domain >= 0)
    dom = np.where(domain >= 0, domain, 0)
    rows = np.repeat(dom * k, k) + np.tile(np.arange(k), n)                   # (domain, column) per entry
    cols = np.repeat(np.arange(n), k)

    def op(values: np.ndarray) -> sp.csr_matrix:
        return sp.csr_matrix(((values * m[:, None]).ravel(), (rows, cols)), shape=(n_domains * k, n))

    s_num = op(num)
    s_den = None
    if den is not None:
        den = np.asarray(den, dtype=float)
        s_den = op(den[:, None] if den.ndim == 1 else den)

    def ratio(w: np.ndarray) -> np.ndarray:          # w: (n, c) -> (c, G, k)
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
    return ReplicateEstimates(estimate=est, replicates=reps, scale=replicates.scale,
                              rscales=np.asarray(replicates.rscales, dtype=float))


def domain_shares(replicates: ReplicateWeights, num: np.ndarray, den: np.ndarray, domain: np.ndarray,
                  n_domains: int, *, mask: np.ndarray | None = None, mse: bool = False
                  ) -> tuple[np.ndarray, np.ndarray]:
    """``(estimate, se)`` (G, k) of domain shares with replicate variance (see :func:`domain_replicates`)."""
    est = domain_replicates(replicates, num, den, domain, n_domains, mask=mask)
    return est.estimate, np.sqrt(replicate_variance(est, mse=mse))
