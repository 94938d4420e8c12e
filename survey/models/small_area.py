"""Small-area estimates: the Fay–Herriot area-level model on direct survey estimates (Fay & Herriot 1979;
Prasad & Rao 1990; Datta & Lahiri 2000; Rao & Molina 2015, ch. 6).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from survey.errors import ModelError
from survey.labels import TOTAL_LABEL


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


def fay_herriot(
    direct: np.ndarray,
    psi: np.ndarray,
    x: np.ndarray | None = None,
    *,
    method: Literal["REML", "PR"] = "REML",
    maxiter: int = 100,
    tol: float = 1e-10,
) -> FayHerriotResult:
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
        a_var = float(2.0 * np.sum((a + psi) ** 2) / m**2)
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
        raise ModelError(f"okänd Fay–Herriot-metod {method!r}; välj 'REML' eller 'PR'")
    vinv = 1.0 / (a + psi)
    bv = np.linalg.inv(xm.T @ (xm * vinv[:, None]))
    beta = bv @ (xm.T @ (vinv * th))
    syn = xm @ beta
    gamma = a / (a + psi)
    est = gamma * th + (1 - gamma) * syn
    g1 = gamma * psi
    g2 = (1 - gamma) ** 2 * np.einsum("ij,jk,ik->i", xm, bv, xm)
    g3 = psi**2 / (a + psi) ** 3 * a_var
    return FayHerriotResult(
        estimate=est,
        mse=g1 + g2 + 2 * g3,
        gamma=gamma,
        synthetic=syn,
        beta=beta,
        beta_vcov=bv,
        a=a,
        a_var=a_var,
        method=method,
        g1=g1,
        g2=g2,
        g3=g3,
    )


Array = np.ndarray
# scale -> (transform, inverse, derivative of the inverse, variance of the transform by the delta method)
_SCALES: dict[
    str,
    tuple[
        Callable[[Array], Array], Callable[[Array], Array], Callable[[Array], Array], Callable[[Array, Array], Array]
    ],
] = {
    "logit": (
        lambda p: np.asarray(logit(p)),
        lambda t: np.asarray(expit(t)),
        lambda t: np.asarray(expit(t) * (1 - expit(t))),
        lambda p, se: se**2 / (p * (1 - p)) ** 2,
    ),
    "arcsine": (
        lambda p: np.arcsin(np.sqrt(p)),
        lambda t: np.sin(t) ** 2,
        lambda t: np.sin(2 * t),
        lambda p, se: se**2 / (4 * p * (1 - p)),
    ),
}


def small_area_shares(
    estimates: pd.DataFrame,
    *,
    method: Literal["REML", "PR"] = "REML",
    scale: Literal["logit", "arcsine"] = "logit",
    max_n: int | None = None,
) -> pd.DataFrame:
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
    est = estimates[estimates["district"] != TOTAL_LABEL].copy()
    if scale not in _SCALES:
        raise ModelError(f"okänd skala {scale!r}; välj 'logit' eller 'arcsine'")
    fwd, inv, dinv, vfwd = _SCALES[scale]
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
