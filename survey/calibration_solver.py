"""The calibration functions and the one Newton solver used for every calibration (full sample and replicates).

Calibration (Deville & Särndal 1992; Lumley 2010, ch. 7) finds ``lambda`` with
``sum_c D_c F(x_c' lambda) x_c = X`` (``D_c`` = the summed starting weights of cell ``c``). It is the
stationary point of the convex *dual*

    Phi(lambda) = sum_c D_c G(x_c' lambda) - lambda' X,     G' = F,

(Deville & Särndal 1992, sec. 3; ``F`` is non-decreasing, so ``G`` is convex), whose gradient is minus the
misfit ``X - sum_c D_c F(x_c' lambda) x_c`` and whose Hessian is ``sum_c D_c F'(x_c' lambda) x_c x_c'``.

:func:`solve_calibration` runs Newton's method on ``K`` independent problems at once (calibration blocks,
or blocks × replicates): the step ``H^+ misfit`` (generalised inverse, so redundant columns are harmless,
as R's ``MASS::ginv`` in ``survey:::grake``), damped by step halving until the step is finite and either
lowers ``Phi`` (Armijo rule) or lowers the largest scaled misfit. Full steps are taken whenever they
help, so on well-posed problems the iterations are R's. A problem has converged when every
``|misfit_j| < tol_j`` (the callers use ``tol = epsilon (1 + |X_j|)``, R ``grake``'s rule); a problem
whose step cannot be improved by 40 halvings has stalled and is reported as not converged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from survey.errors import CalibrationError

METHODS: tuple[str, ...] = ("raking", "linear", "logit")
HALVINGS = 40
CLIPPED_SLOPE = 1e-2


@dataclass(frozen=True)
class CalibrationFunction:
    """``F`` (the g-weight as a function of ``u = x' lambda``), ``F'`` and an antiderivative ``G`` of ``F``.

    * ``linear``: ``F(u) = 1 + u``; ``raking``: ``F(u) = exp(u)``; both truncated to ``bounds`` when given
      (as R ``survey::calibrate``);
    * ``logit`` (Deville & Särndal's case 6), ``L < 1 < U``, ``A = (U - L) / ((U - 1)(1 - L))``:
      ``F(u) = L + (U - L) expit(A u - log c)``, ``c = (U - 1) / (1 - L)``, the same function as
      R's ``cal.logit`` (``[L (U - 1) + U (1 - L) e^{Au}] / [U - 1 + (1 - L) e^{Au}]``).
    """

    method: str
    lower: float
    upper: float

    @property
    def bounds(self) -> tuple[float, float] | None:
        return None if (self.lower, self.upper) == (-np.inf, np.inf) else (self.lower, self.upper)

    def _logit(self) -> tuple[float, float]:
        lo, hi = self.lower, self.upper
        return (hi - lo) / ((hi - 1.0) * (1.0 - lo)), np.log((hi - 1.0) / (1.0 - lo))

    def value(self, u: np.ndarray) -> np.ndarray:
        lo, hi = self.lower, self.upper
        if self.method == "linear":
            return np.clip(1.0 + u, lo, hi)
        if self.method == "raking":
            with np.errstate(over="ignore"):
                return np.clip(np.exp(u), lo, hi)
        a, logc = self._logit()
        return lo + (hi - lo) * expit(a * u - logc)

    def derivative(self, u: np.ndarray) -> np.ndarray:
        lo, hi = self.lower, self.upper
        if self.method == "linear":
            return ((1.0 + u > lo) & (1.0 + u < hi)).astype(float)
        if self.method == "raking":
            with np.errstate(over="ignore"):
                e = np.exp(u)
            return np.where((e > lo) & (e < hi), e, 0.0)
        a, logc = self._logit()
        s = expit(a * u - logc)
        return (hi - lo) * a * s * (1.0 - s)

    def newton_derivative(self, u: np.ndarray) -> np.ndarray:
        """``F'`` for the Newton matrix: where a truncated ``F`` sits on a bound (``F' = 0``), a small positive
        slope ``CLIPPED_SLOPE × F(bound)`` instead, so that the matrix stays positive definite in the
        direction of a column whose cells are all on a bound and Newton can move them back inside (the
        damped step still descends ``Phi``; at a solution with cells on the bounds it only slows the last
        iterations). Without truncation, ``F'`` itself."""
        d = self.derivative(u)
        if self.method == "logit" or self.bounds is None:
            return d
        f = self.value(u)
        return np.where(d > 0, d, CLIPPED_SLOPE * np.abs(f))

    def integral(self, u: np.ndarray) -> np.ndarray:
        """``G(u)``, continuous with ``G' = F`` (defined up to a constant, which ``Phi`` does not need)."""
        lo, hi = self.lower, self.upper
        if self.method == "logit":
            a, logc = self._logit()
            return lo * u + (hi - lo) / a * np.logaddexp(0.0, a * u - logc)
        if self.method == "linear":
            a, b = lo - 1.0, hi - 1.0
            v = np.clip(u, a, b)
            out = v + v * v / 2.0
        else:
            a = np.log(lo) if lo > 0 else -np.inf
            b = np.log(hi) if hi > 0 else -np.inf
            v = np.clip(u, a, b)
            with np.errstate(over="ignore"):
                out = np.exp(v)
        if np.isfinite(a):
            out = out + lo * np.minimum(u - a, 0.0)
        if np.isfinite(b):
            out = out + hi * np.maximum(u - b, 0.0)
        return out


def calibration_function(method: str, bounds: tuple[float, float] | None = None) -> CalibrationFunction:
    """The calibration function of ``method`` with ``bounds`` on ``g`` (required, ``L < 1 < U``, for logit)."""
    if method not in METHODS:
        raise CalibrationError(f"okänd kalibreringsmetod {method!r} (--method); välj en av {', '.join(METHODS)}")
    lo, hi = (-np.inf, np.inf) if bounds is None else (float(bounds[0]), float(bounds[1]))
    if not lo < hi:
        raise CalibrationError(f"gränserna måste uppfylla lower < upper (--lower/--upper), fick {bounds}")
    if method == "logit":
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise CalibrationError("logit-kalibrering kräver ändliga gränser lower < 1 < upper (--lower/--upper)")
        if not lo < 1.0 < hi:
            raise CalibrationError(f"logit-kalibrering kräver lower < 1 < upper (--lower/--upper), fick {bounds}")
    return CalibrationFunction(method, lo, hi)


@dataclass(frozen=True, eq=False)
class NewtonSolution:
    """Result of :func:`solve_calibration` for ``K`` problems.

    Attributes:
        g: (K, C) ``F(x_c' lambda)`` per cell.
        lam: (K, p) the Lagrange multipliers.
        iterations: (K,) Newton iterations used.
        converged: (K,) whether every ``|misfit_j| < tol_j``.
        misfit: (K, p) ``X - sum_c D_c g_c x_c`` at the end.
    """

    g: np.ndarray
    lam: np.ndarray
    iterations: np.ndarray
    converged: np.ndarray
    misfit: np.ndarray


def _evaluate(
    fn: CalibrationFunction, x: np.ndarray, dc: np.ndarray, target: np.ndarray, lam: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(u, misfit, Phi)`` for problems ``x`` (K, C, p), ``dc`` (K, C) at ``lam`` (K, p)."""
    u = np.einsum("kcp,kp->kc", x, lam)
    with np.errstate(over="ignore", invalid="ignore"):
        misfit = target - np.einsum("kc,kcp->kp", dc * fn.value(u), x)
        phi = np.einsum("kc,kc->k", dc, fn.integral(u)) - np.einsum("kp,kp->k", lam, target)
    return u, misfit, phi


def _pinv_step(jac: np.ndarray, misfit: np.ndarray) -> np.ndarray:
    """``H^+ misfit``; a problem whose ``H`` overflowed gets step 0 (it then stalls: not converged)."""
    finite = np.all(np.isfinite(jac), axis=(1, 2)) & np.all(np.isfinite(misfit), axis=1)
    if not finite.all():
        jac, misfit = np.where(finite[:, None, None], jac, 0.0), np.where(finite[:, None], misfit, 0.0)
    try:
        ginv = np.linalg.pinv(jac, rcond=1e-13, hermitian=True)
    except np.linalg.LinAlgError as exc:  # only on non-finite input, which _evaluate rules out
        raise CalibrationError(f"kalibreringens Newton-steg kunde inte beräknas ({exc})") from exc
    return np.einsum("kpq,kq->kp", ginv, misfit)


def _newton_step(
    fn: CalibrationFunction, x: np.ndarray, dc: np.ndarray, u: np.ndarray, misfit: np.ndarray
) -> np.ndarray:
    """``H^+ misfit`` with ``H = sum_c D_c F'(u_c) x_c x_c'`` (K, p, p). Where more than a tenth of the misfit
    lies outside the range of ``H`` (cells of a truncated ``F`` stuck on a bound), the step of the matrix
    with :meth:`CalibrationFunction.newton_derivative` instead."""
    jac = np.einsum("kc,kcp,kcq->kpq", dc * fn.derivative(u), x, x)
    step = _pinv_step(jac, misfit)
    if fn.bounds is None or fn.method == "logit":
        return step
    lost = np.linalg.norm(misfit - np.einsum("kpq,kq->kp", jac, step), axis=1)
    stuck = lost > 0.1 * np.linalg.norm(misfit, axis=1)
    if stuck.any():
        jr = np.einsum("kc,kcp,kcq->kpq", dc[stuck] * fn.newton_derivative(u[stuck]), x[stuck], x[stuck])
        step[stuck] = _pinv_step(jr, misfit[stuck])
    return step


def _polish(
    fn: CalibrationFunction,
    x: np.ndarray,
    dc: np.ndarray,
    target: np.ndarray,
    tol: np.ndarray,
    lam: np.ndarray,
    misfit: np.ndarray,
    converged: np.ndarray,
) -> None:
    """One more Newton step for the converged problems, kept where it lowers the largest scaled misfit: the
    stopping rule leaves up to ``epsilon`` of misfit, the quadratic last step takes it to rounding level, so
    the weights agree with any other exact solver to ~1e-15 and not only to ~epsilon (in place)."""
    k = np.flatnonzero(converged)
    if len(k) == 0:
        return
    u = np.einsum("kcp,kp->kc", x[k], lam[k])
    cand = lam[k] + _newton_step(fn, x[k], dc[k], u, misfit[k])
    _, cm, _ = _evaluate(fn, x[k], dc[k], target[k], cand)
    better = np.all(np.isfinite(cm), axis=1) & (
        np.max(np.abs(cm) / tol[k], axis=1) < np.max(np.abs(misfit[k]) / tol[k], axis=1)
    )
    lam[k[better]] = cand[better]
    misfit[k[better]] = cm[better]


def solve_calibration(
    x: np.ndarray,
    dc: np.ndarray,
    target: np.ndarray,
    tol: np.ndarray,
    fn: CalibrationFunction,
    *,
    lam0: np.ndarray | None = None,
    maxit: int = 100,
) -> NewtonSolution:
    """Damped Newton for ``K`` calibration problems on cell totals (see the module docstring).

    Args:
        x: (K, C, p) model rows of the cells of each problem (all-zero rows pad smaller problems).
        dc: (K, C) cell totals of the starting weights (0 at pads).
        target: (K, p) population totals (0 in unused columns).
        tol: (K, p) absolute tolerance on the misfit.
        fn: the calibration function.
        lam0: (K, p) starting ``lambda`` (default 0, i.e. ``g = F(0) = 1``).
        maxit: Newton iterations at most.
    """
    k_, _, p = x.shape
    lam = np.zeros((k_, p)) if lam0 is None else np.array(lam0, dtype=float)
    iterations = np.zeros(k_, dtype=np.int64)
    converged = np.zeros(k_, dtype=bool)
    u, misfit, phi = _evaluate(fn, x, dc, target, lam)
    restart = ~(np.all(np.isfinite(misfit), axis=1) & np.isfinite(phi))
    if restart.any():  # a start that overflows: from lambda = 0 instead
        lam[restart] = 0.0
        u, misfit, phi = _evaluate(fn, x, dc, target, lam)
    misfit_all = misfit.copy()
    todo = np.arange(k_)
    for it in range(maxit + 1):
        done = np.all(np.abs(misfit) < tol[todo], axis=1)
        converged[todo[done]] = True
        todo, u, misfit, phi = todo[~done], u[~done], misfit[~done], phi[~done]
        if len(todo) == 0 or it == maxit:
            break
        xk, dk, tk, tolk = x[todo], dc[todo], target[todo], tol[todo]
        step = _newton_step(fn, xk, dk, u, misfit)
        worst = np.max(np.abs(misfit) / tolk, axis=1)
        slope = np.einsum("kp,kp->k", misfit, step)
        t = np.ones(len(todo))
        new_lam = lam[todo].copy()
        new_u, new_mis, new_phi = u.copy(), misfit.copy(), phi.copy()
        pending = np.ones(len(todo), dtype=bool)
        for _ in range(HALVINGS):
            idx = np.flatnonzero(pending)
            cand = lam[todo[idx]] + t[idx, None] * step[idx]
            cu, cm, cp = _evaluate(fn, xk[idx], dk[idx], tk[idx], cand)
            ok = (
                np.all(np.isfinite(cm), axis=1)
                & np.isfinite(cp)
                & (
                    (cp <= phi[idx] - 1e-4 * t[idx] * slope[idx])
                    | (np.max(np.abs(cm) / tolk[idx], axis=1) < worst[idx])
                )
            )
            acc = idx[ok]
            new_lam[acc], new_u[acc], new_mis[acc], new_phi[acc] = cand[ok], cu[ok], cm[ok], cp[ok]
            pending[acc] = False
            if not pending.any():
                break
            t[pending] /= 2.0
        stalled = pending  # no acceptable step: leave as not converged
        lam[todo] = new_lam
        iterations[todo] = it + 1
        misfit_all[todo] = new_mis
        keep = ~stalled
        todo, u, misfit, phi = todo[keep], new_u[keep], new_mis[keep], new_phi[keep]
        if len(todo) == 0:
            break
    misfit_all[todo] = misfit
    _polish(fn, x, dc, target, tol, lam, misfit_all, converged)
    u_all = np.einsum("kcp,kp->kc", x, lam)
    return NewtonSolution(g=fn.value(u_all), lam=lam, iterations=iterations, converged=converged, misfit=misfit_all)
