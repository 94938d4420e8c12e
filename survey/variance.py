"""Design-based variance: Taylor linearisation with the calibration (GREG) adjustment, and replicates.

Linearisation (Binder 1983; Wolter 2007, ch. 6; Särndal, Swensson & Wretman 1992, sec. 5.5 and 6.6).
An estimator whose linearisation is ``sum_i w_i u_i`` (``u`` = the influence value per unit of weight,
e.g. ``u_i = 1[i in D] (y_i - p) / W_D`` for a domain share) has the variance estimated by:

1. **Calibration residuals** (Deville & Särndal 1992; Lumley 2010, sec. 7.4): when the weights are
   calibrated on ``x``, ``u`` is replaced by its residual from the design-weighted regression on ``x``,
   ``e_i = u_i - x_i' B``, ``B = (sum_i d_i x_i x_i')^- sum_i d_i x_i u_i`` (``d`` = design weights, not
   the calibrated ones). The calibration matrix is block-diagonal, so ``B`` is solved block by block
   on cell totals. This is what R ``survey`` does after ``calibrate()``
   (``qr.resid(qr(X sqrt(d)), x / (g sqrt(d))) * g sqrt(d)`` in ``svyrecvar``).
2. ``z_i = w_i e_i``, summed to PSU totals ``t_hj``.
3. **Stratified, with replacement** (first stage, ultimate clusters):
   ``V = sum_h (1 - f_h) n_h / (n_h - 1) sum_j (t_hj - tbar_h)(t_hj - tbar_h)'``, with ``n_h`` the PSUs of
   stratum ``h`` (ALL of them, also for domains) and ``f_h = n_h / N_h`` when a finite population
   correction is given.

Everything is vectorised over rows and over the columns of ``u`` (indicators × domains): group sums
are sparse matrix products, the per-block solves are stacked.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from survey.design import Design


def group_sum(codes: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    """``out[g] = sum_{i: codes_i = g} values_i`` for 1-D or 2-D ``values`` (rows = observations)."""
    if values.ndim == 1:
        return np.bincount(codes, weights=values, minlength=n_groups)
    if values.shape[1] <= 4:
        return np.stack(
            [np.bincount(codes, weights=values[:, j], minlength=n_groups) for j in range(values.shape[1])], axis=1
        )
    m = sp.csr_matrix((np.ones(len(codes)), (codes, np.arange(len(codes)))), shape=(n_groups, len(codes)))
    return np.asarray(m @ values)


def greg_projector(design: Design) -> tuple[np.ndarray, np.ndarray]:
    """Per calibration block, ``(sum_c D_c x_c x_c')^-``, cached on the design; and cell totals ``D_c``
    (``D`` = the design weights; a factor constant within a block, such as the pre-scaling, cancels in ``B``)."""
    key = "greg_projector"
    if key not in design._cache:
        m = design.calibration_model("GREG-justeringen av variansen")
        dc = np.bincount(m.cell, weights=design.design_weights, minlength=len(m.cell_block))
        n_blocks = len(m.block_labels)
        p = m.cell_x.shape[1]
        gram = np.zeros((n_blocks, p, p))
        np.add.at(gram, m.cell_block, dc[:, None, None] * m.cell_x[:, :, None] * m.cell_x[:, None, :])
        design._cache[key] = (np.linalg.pinv(gram, rcond=1e-13, hermitian=True), dc)
    return design._cache[key]


def calibration_residuals(design: Design, u: np.ndarray) -> np.ndarray:
    """``u - x' B`` with ``B`` the design-weighted regression of ``u`` on the calibration model, per block.

    Returns ``u`` unchanged when the design is not calibrated. ``u`` is (n,) or (n, k).
    """
    m = design.calibration
    if m is None:
        return u
    one = u.ndim == 1
    u2 = u[:, None] if one else u
    ginv, _ = greg_projector(design)
    n_cells = len(m.cell_block)
    s = group_sum(m.cell, design.design_weights[:, None] * u2, n_cells)  # (C, k)
    h = np.zeros((len(m.block_labels), m.cell_x.shape[1], u2.shape[1]))
    np.add.at(h, m.cell_block, m.cell_x[:, :, None] * s[:, None, :])  # (B, p, k)
    beta = ginv @ h  # (B, p, k)
    fitted = np.einsum("cp,cpk->ck", m.cell_x, beta[m.cell_block])  # (C, k)
    r = u2 - fitted[m.cell]
    return r[:, 0] if one else r


def _psu_totals(design: Design, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PSU totals of ``z`` (P, k), stratum of each PSU and ``n_h``."""
    psu_stratum, n_h = design.psu_strata()
    t = z if design.psu is None else group_sum(design.psu, z, len(psu_stratum))
    return t, psu_stratum, n_h


def _centred(design: Design, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centred PSU totals and the per-PSU scale ``(1 - f_h) n_h / (n_h - 1)`` (lonely-PSU policy applied)."""
    z2 = z[:, None] if z.ndim == 1 else z
    t, ps, n_h = _psu_totals(design, z2)
    means = group_sum(ps, t, design.n_strata) / np.maximum(n_h, 1)[:, None]
    centre = means[ps]
    _, scale_h, uncentred = design.stratum_scale()
    if uncentred.any():
        # R survey's "adjust": the lonely PSU's total is not centred (centred at 0, the population mean of an
        # influence function)
        centre = np.where(uncentred[ps][:, None], 0.0, centre)
    return t - centre, scale_h[ps], ps


def stratum_variances(design: Design, z: np.ndarray) -> np.ndarray:
    """Per-stratum variance contributions ``V_h`` (H, k) of the totals of ``z`` (rows = respondents)."""
    tc, scale, ps = _centred(design, z)
    return group_sum(ps, scale[:, None] * tc * tc, design.n_strata)


def stratum_covariances(design: Design, za: np.ndarray, zb: np.ndarray) -> np.ndarray:
    """Per-stratum covariance contributions (H, k) between matching columns of ``za`` and ``zb``."""
    ta, scale, ps = _centred(design, za)
    tb, _, _ = _centred(design, zb)
    return group_sum(ps, scale[:, None] * ta * tb, design.n_strata)


def total_vcov(design: Design, z: np.ndarray) -> np.ndarray:
    """Full covariance matrix (k, k) of the totals of the columns of ``z`` (already weighted and residualised)."""
    tc, scale, _ = _centred(design, z)
    return (tc * scale[:, None]).T @ tc


def linearized_vcov(design: Design, u: np.ndarray) -> np.ndarray:
    """Covariance (k, k) of estimators with linearisation ``sum_i w_i u_i``: calibration residuals of ``u``,
    times the final weights, then the stratified with-replacement variance (see module docstring).
    """
    u2 = u[:, None] if u.ndim == 1 else u
    e = calibration_residuals(design, u2)
    return total_vcov(design, design.weights[:, None] * e)
