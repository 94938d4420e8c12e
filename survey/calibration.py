"""Weighting: calibration (raking, linear/GREG, logit) to categorical and numeric margins, trimming.

Calibration (Deville & Särndal 1992; Särndal 2007; Lumley 2010, ch. 7) finds final weights
``w_i = d*_i F(x_i' lambda)`` that reproduce known population totals ``sum_i w_i x_i = X``; ``x_i`` holds
the 0/1 dummies of categorical margins and the values of numeric auxiliaries
(:mod:`survey.calibration_model`), ``F`` is the calibration function of the method
(:mod:`survey.calibration_solver`: ``linear`` = GREG, ``raking``, ``logit``; ``bounds`` truncate ``F`` for
linear and raking, as in R ``survey::calibrate``), and ``lambda`` is found by the one damped Newton solver
of :func:`survey.calibration_solver.solve_calibration`, block by block (the calibration matrix is
block-diagonal), on cell totals. Convergence: every ``|misfit_j| / (1 + |X_j|) < epsilon`` (R
``survey:::grake``'s rule), at most ``maxit`` Newton steps.

**Design weights on any scale.** ``d*_i = d_i s_b`` are the design weights brought to the population total of
their calibration block ``b`` (``s_b`` of :func:`survey.calibration_model.prescale_factors`) before
calibrating (``prescale=True``, the default). Unbounded raking and linear calibration do not depend on
this (the span of ``x`` contains the block's intercept); bounded and logit calibration do, because their
bounds are on ``g = w / d*``: with the pre-scaling the calibrated weights are the same whether the vendor
delivered ``d`` normalised to mean 1, to the sample size or to the population. ``prescale=False`` gives R
``calibrate()``'s convention (bounds relative to the delivered ``d``; the same when ``d`` already sums to
the population in every block). R's ``grake`` rescales, by one factor for the whole design, only when the
population totals exceed the weighted sample totals 20-fold.

Infeasible calibration is an error that names the cell: a level with population > 0 and no respondents,
respondents in a level whose population is 0, margins whose totals disagree, bounds that a cell cannot
meet. Non-convergence is an error naming the margin and cell and what to try, never a silent result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from survey.calibration_model import (
    CalibrationModel,
    CalibrationProblem,
    Margin,
    build_model,
    cell_label,
    check_bounds,
    collapse_levels,
    margins_from_population,
)
from survey.calibration_solver import (
    METHODS,
    CalibrationFunction,
    NewtonSolution,
    calibration_function,
    solve_calibration,
)
from survey.errors import CalibrationError

Method = Literal["raking", "linear", "logit"]
TrimMode = Literal["recalibrate", "once"]
TRIM_MODES: tuple[str, ...] = ("recalibrate", "once")

__all__ = [
    "METHODS",
    "TRIM_MODES",
    "BlockProblems",
    "CalibrationModel",
    "CalibrationProblem",
    "CalibrationResult",
    "Margin",
    "block_problems",
    "build_model",
    "calibrate",
    "cell_label",
    "collapse_levels",
    "design_weights_from_population",
    "kish_deff",
    "margins_from_population",
    "nonconvergence_error",
    "nonresponse_adjust",
    "poststratify",
    "solve_blocks",
    "trim_once",
    "trim_weights",
    "weight_diagnostics",
]


@dataclass(frozen=True)
class CalibrationResult:
    """Calibrated weights ``w = d* g`` (``d*`` = the pre-scaled design weights), the model, and diagnostics."""

    weights: np.ndarray
    g: np.ndarray
    model: CalibrationModel
    iterations: int
    max_margin_error: float
    max_relative_error: float
    diagnostics: pd.DataFrame
    notes: tuple[str, ...] = field(default_factory=tuple)


# --- the block problems the solver sees -----------------------------------------------------------


@dataclass(frozen=True, eq=False)
class BlockProblems:
    """The cells of each calibration block padded to the largest block (pad = cell code ``C``, a zero row),
    with numeric columns scaled to unit design-weighted mean size (``g`` does not change; the conditioning of
    ``H`` does), population totals and the absolute tolerances ``epsilon (1 + |X|)``, all in scaled units."""

    idx: np.ndarray  # (B, Cmax)
    x: np.ndarray  # (B, Cmax, p)
    target: np.ndarray  # (B, p)
    tol: np.ndarray  # (B, p)
    col_scale: np.ndarray  # (B, p)

    def pad(self, cell_values: np.ndarray, blocks: np.ndarray | None = None) -> np.ndarray:
        """(C,) cell values as (K, Cmax) for ``blocks`` (all blocks by default), 0 at pads."""
        ext = np.append(np.asarray(cell_values, dtype=float), 0.0)
        return ext[self.idx if blocks is None else self.idx[blocks]]


def block_problems(model: CalibrationModel, dc: np.ndarray, epsilon: float) -> BlockProblems:
    """Padded block layout of ``model`` (``dc``: cell totals of the starting weights, for the scaling)."""
    n_cells, n_blocks = len(model.cell_block), model.n_blocks
    order = np.argsort(model.cell_block, kind="stable")
    per = np.bincount(model.cell_block, minlength=n_blocks)
    start = np.concatenate([[0], np.cumsum(per)[:-1]])
    slot = np.arange(n_cells) - start[model.cell_block[order]]
    idx = np.full((n_blocks, int(per.max()) if n_blocks else 0), n_cells, dtype=np.int64)
    idx[model.cell_block[order], slot] = order
    x = np.vstack([model.cell_x, np.zeros((1, model.cell_x.shape[1]))])[idx]
    d_pad = np.append(dc, 0.0)[idx]
    size = np.einsum("bc,bcp->bp", d_pad, np.abs(x)) / np.maximum(d_pad.sum(axis=1), 1e-300)[:, None]
    numeric = model.numeric if model.numeric is not None else np.zeros(x.shape[2], dtype=bool)
    col_scale = np.where(numeric[None, :] & (size > 0), size, 1.0)
    target = model.targets / col_scale
    return BlockProblems(
        idx=idx,
        x=x / col_scale[:, None, :],
        target=target,
        tol=epsilon * (1.0 + np.abs(model.targets)) / col_scale,
        col_scale=col_scale,
    )


def solve_blocks(
    problems: BlockProblems,
    d_pad: np.ndarray,
    blocks: np.ndarray,
    fn: CalibrationFunction,
    maxit: int,
    lam0: np.ndarray | None = None,
) -> NewtonSolution:
    """Newton on the problems of ``blocks`` (K,) with padded cell totals ``d_pad`` (K, Cmax)."""
    return solve_calibration(
        problems.x[blocks], d_pad, problems.target[blocks], problems.tol[blocks], fn, lam0=lam0, maxit=maxit
    )


def nonconvergence_error(
    model: CalibrationModel,
    problems: BlockProblems,
    sol: NewtonSolution,
    blocks: np.ndarray,
    fn: CalibrationFunction,
    maxit: int,
    what: str = "",
) -> CalibrationError:
    """The error for problems that did not converge: the worst margin and cell, by how much, what to try."""
    k_bad = np.flatnonzero(~sol.converged)
    rel = np.abs(sol.misfit[k_bad]) * problems.col_scale[blocks[k_bad]] / (1.0 + np.abs(model.targets[blocks[k_bad]]))
    i, col = np.unravel_index(np.nanargmax(rel), rel.shape)
    b = int(blocks[k_bad[i]])
    miss = sol.misfit[k_bad[i], col] * problems.col_scale[b, col]
    margin = model.margin_names[model.column_margin[col]] if model.margin_names else "?"
    var = model.columns[col].split("=")[0].split("×")[0]
    tips = [f"fler iterationer (--maxit, nu {maxit})"]
    if fn.bounds is not None:
        tips.append(f"vidare gränser än [{fn.lower:g}, {fn.upper:g}] (--lower/--upper)")
    tips += [
        f"slå ihop små celler (--collapse {var})",
        "en annan metod (--method linear)" if model.method != "linear" else "en annan metod (--method raking)",
    ]
    pre = f"{what}: " if what else ""
    return CalibrationError(
        f"{pre}{model.method}-kalibreringen konvergerade inte på {maxit} iterationer ({len(k_bad)} block): "
        f"i {model.where(b)} missar marginalen {margin}, cellen {model.columns[col].replace('=', ' ')}, sin "
        f"totalsumma {model.targets[b, col]:g} med {miss:.4g} (relativt {rel[i, col]:.2g}). Marginalernas "
        f"totaler stämmer överens; prova {', '.join(tips[:-1])} eller {tips[-1]}"
    )


def _solve_all(
    model: CalibrationModel, d0: np.ndarray, fn: CalibrationFunction, maxit: int, epsilon: float
) -> tuple[np.ndarray, int, np.ndarray]:
    """Solve every block from the starting weights ``d0``: (g per cell, iterations, misfit (B, p))."""
    dc = np.bincount(model.cell, weights=d0, minlength=len(model.cell_block))
    if fn.bounds is not None:
        check_bounds(model, dc, fn.lower, fn.upper)
    problems = block_problems(model, dc, epsilon)
    blocks = np.arange(model.n_blocks)
    lam0, warm = None, 0
    if fn.bounds is not None and fn.method != "logit":
        # warm start from the untruncated solution: when the bounds do not bind it is the answer
        free = solve_blocks(problems, problems.pad(dc), blocks, calibration_function(fn.method), maxit)
        lam0 = np.where(free.converged[:, None], free.lam, 0.0)
        warm = int(free.iterations.max(initial=0))
    sol = solve_blocks(problems, problems.pad(dc), blocks, fn, maxit, lam0=lam0)
    if not sol.converged.all():
        raise nonconvergence_error(model, problems, sol, blocks, fn, maxit)
    g_cell = np.ones(len(model.cell_block) + 1)
    g_cell[problems.idx] = sol.g
    return g_cell[:-1], warm + int(sol.iterations.max(initial=0)), sol.misfit * problems.col_scale


def trim_once(
    g: np.ndarray, start_weights: np.ndarray, block: np.ndarray, lower: float, upper: float
) -> tuple[np.ndarray, int]:
    """R ``calibrate(..., trim = c(lower, upper))``'s one-shot trimming of ``g``, within each block: ``g`` outside
    the bounds is set to the bound, and the trimmed weight ``sum (g - g_trimmed) d*`` of the block is spread
    over the block's untrimmed rows as the same addition ``/ sum_untrimmed d*`` to their ``g``. The total
    weight of every block is kept, the margins are NOT re-met, and the spreading can push an untrimmed ``g``
    past a bound (R does not repeat). Returns (trimmed g, number of rows trimmed)."""
    g = np.asarray(g, dtype=float)
    d0 = np.asarray(start_weights, dtype=float)
    new = np.clip(g, lower, upper)
    outside = (g < lower) | (g > upper)
    n_b = int(block.max(initial=-1)) + 1
    excess = np.bincount(block, weights=(g - new) * d0, minlength=n_b)
    room = np.bincount(block, weights=np.where(outside, 0.0, d0), minlength=n_b)
    if np.any((excess != 0) & (room <= 0)):
        raise CalibrationError(
            f"trim=({lower}, {upper}) en gång: ett kalibreringsblock har alla vikter utanför "
            f"gränserna, så det trimmade överskottet kan inte fördelas"
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        add = np.where(room > 0, excess / room, 0.0)
    return np.where(outside, new, new + add[block]), int(outside.sum())


def _check_args(
    method: str,
    bounds: tuple[float, float] | None,
    trim: tuple[float, float] | None,
    trim_mode: str,
    d: npt.NDArray[np.float64],
    n: int,
    maxit: int,
) -> CalibrationFunction:
    fn = calibration_function(method, bounds)
    if trim is not None and not (0 < trim[0] < trim[1]):
        raise CalibrationError(
            f"trimgränserna måste uppfylla 0 < lower < upper (--trim-lower/--trim-upper), fick {trim}"
        )
    if trim_mode not in TRIM_MODES:
        raise CalibrationError(f"okänt trimningssätt {trim_mode!r}; välj ett av {TRIM_MODES}")
    if int(maxit) < 1:
        raise CalibrationError(f"maxit måste vara minst 1, fick {maxit}")
    if len(d) != n:
        raise CalibrationError(f"{len(d)} designvikter för {n} rader")
    if not np.all(np.isfinite(d)) or np.any(d <= 0):
        raise CalibrationError("designvikterna måste vara ändliga tal > 0")
    return fn


def _recalibrating_trim(
    model: CalibrationModel,
    d0: np.ndarray,
    g_cell: np.ndarray,
    fn: CalibrationFunction,
    trim: tuple[float, float],
    maxit: int,
    epsilon: float,
) -> tuple[npt.NDArray[np.float64], int, npt.NDArray[np.float64], str] | None:
    """When ``g`` leaves ``trim``, calibrate again with ``F`` truncated to ``trim`` (∩ ``bounds``): the margins
    are met to ``epsilon`` and every ``g`` is within the bounds, or the bounds are infeasible and it raises.
    None when every ``g`` is already within ``trim``; else (g per cell, iterations, misfit, the note)."""
    lo, hi = trim
    if not (np.any(g_cell < lo * (1 - 1e-9)) or np.any(g_cell > hi * (1 + 1e-9))):
        return None
    if fn.method == "logit":
        raise CalibrationError(
            "trimning med logit-kalibrering: ange logit-gränserna (--lower/--upper) i stället för "
            "--trim-lower/--trim-upper"
        )
    lb = (max(lo, fn.lower), min(hi, fn.upper))
    try:
        g_cell, it, misfit = _solve_all(model, d0, calibration_function(fn.method, lb), maxit, epsilon)
    except CalibrationError as exc:
        raise CalibrationError(
            f"trimning till g i [{lo}, {hi}] med omkalibrering är omöjlig: {exc}; vidga trimgränserna "
            f"(--trim-lower/--trim-upper) eller trimma en gång (--trim-mode once)"
        ) from exc
    return g_cell, it, misfit, f"g trimmade till [{lo}, {hi}] med omkalibrering ({fn.method} med gränser)"


def calibrate(  # long: argument checks, blocks and the trim loop read in order; formatted one argument a line
    data: pd.DataFrame,
    design_weights: np.ndarray,
    margins: Sequence[Margin],
    *,
    by: Sequence[str] = (),
    method: Method = "raking",
    bounds: tuple[float, float] | None = None,
    trim: tuple[float, float] | None = None,
    trim_mode: TrimMode = "recalibrate",
    maxit: int = 100,
    epsilon: float = 1e-12,
    collapse: Mapping[str, int] | None = None,
    prescale: bool = True,
) -> CalibrationResult:
    """Calibrate ``design_weights`` to the margins, independently within each ``by`` group.

    Args:
        data: one row per respondent with the ``by`` and margin variables (and numeric auxiliaries).
        design_weights: ``d_i > 0``, on any scale (see ``prescale``).
        margins: population totals, e.g. ``[Margin(("district", "sex"), t1), Margin(("district", "age_group"),
            t2), Margin(("district",), t3, value="born_abroad")]``.
        by: calibration groups (e.g. ``("year",)``); margins are met within each.
        method: ``"raking"``, ``"linear"`` or ``"logit"``.
        bounds: ``(L, U)`` on ``g = w / d*``: required by logit; truncation for linear and raking (as R).
        trim: ``(lower, upper)`` on ``g``, applied when the calibrated ``g`` leave them, as ``trim_mode`` says:
            ``"recalibrate"`` (default): calibrate again with ``F`` truncated to the bounds, so the weights meet
            both the margins (to ``epsilon``) and the bounds (infeasible bounds raise);
            ``"once"``: R ``calibrate(..., trim = c(lower, upper))``: ``g`` clipped once and the trimmed weight
            spread over the untrimmed rows of the block (:func:`trim_once`): the block totals are kept, the
            margins are NOT met any more, and untrimmed ``g`` may end up slightly outside the bounds.
        maxit, epsilon: Newton's iteration limit and convergence tolerance ``|misfit| / (1 + |X|)``.
        collapse: ``{variable: minimum respondents}``: merge small cells of that variable within a block into
            an adjacent level (:func:`collapse_levels`), each merge logged in ``notes``; without it a level with
            population and no respondents is an error naming the cell.
        prescale: bring ``d`` to the population total of each block first (module docstring); False = R's
            convention for the bounds.

    Returns:
        :class:`CalibrationResult` with ``weights = d* g``; ``model`` carries everything re-calibration of
        replicates needs (targets, pre-scaling, method, bounds, trim, maxit, epsilon).
    """
    d = np.asarray(design_weights, dtype=float)
    fn = _check_args(method, bounds, trim, trim_mode, d, len(data), maxit)
    problem = build_model(data, margins, by, d, method, bounds, collapse)
    model = problem.model.with_settings(maxit=int(maxit), epsilon=float(epsilon), trim=trim, trim_mode=trim_mode)
    if not prescale:
        model = model.with_settings(prescale=np.ones(model.n_blocks))
    d0 = model.start_weights(d)
    g_cell, iterations, misfit = _solve_all(model, d0, fn, int(maxit), epsilon)
    notes = list(problem.notes)
    g = g_cell[model.cell]
    if trim is not None and trim_mode == "recalibrate":
        trimmed = _recalibrating_trim(model, d0, g_cell, fn, trim, int(maxit), epsilon)
        if trimmed is not None:
            g_cell, it_b, misfit, note = trimmed
            g, iterations = g_cell[model.cell], iterations + it_b
            notes.append(note)
    elif trim is not None:
        g, n_trim = trim_once(g, d0, model.block, *trim)
        if n_trim:
            w_tmp = d0 * g
            tot = np.zeros(model.targets.shape)
            np.add.at(tot, model.block, w_tmp[:, None] * model.cell_x[model.cell])
            misfit = model.targets - tot
            notes.append(
                f"g trimmade en gång till [{trim[0]}, {trim[1]}] ({n_trim} vikter; marginalerna hålls inte längre, "
                f"som med R:s calibrate(trim=))"
            )
    w = d0 * g
    scale = 1.0 + np.abs(model.targets)
    diag = weight_diagnostics(w, d0, model.block, model.block_labels, model.block_vars)
    diag["iterations"] = iterations
    diag["max_margin_error"] = np.abs(misfit).max(axis=1)
    diag["prescale"] = model.prescale
    return CalibrationResult(
        weights=w,
        g=g,
        model=model,
        iterations=iterations,
        max_margin_error=float(np.abs(misfit).max()),
        max_relative_error=float((np.abs(misfit) / scale).max()),
        diagnostics=diag,
        notes=tuple(notes),
    )


def poststratify(
    data: pd.DataFrame,
    design_weights: np.ndarray,
    variables: Sequence[str],
    totals: pd.DataFrame,
    *,
    by: Sequence[str] = (),
) -> CalibrationResult:
    """Post-stratification (Holt & Smith 1979): ``w_i = d_i N_c / sum_{j in c} d_j`` in each cell ``c``.

    The linear calibration on the single crossed margin ``variables`` (closed form, one Newton step).
    """
    return calibrate(data, design_weights, [Margin(tuple(variables), totals)], by=by, method="linear")


# --- design weights, non-response, trimming, diagnostics -----------------------------------------


def design_weights_from_population(strata: np.ndarray, stratum_population: np.ndarray) -> np.ndarray:
    """``d_i = N_h / n_h``: population of the stratum over its respondents (contract default)."""
    n_h = np.bincount(strata)
    return np.asarray(stratum_population, dtype=float)[strata] / n_h[strata]


def nonresponse_adjust(design_weights: np.ndarray, cells: np.ndarray, respondent: np.ndarray) -> np.ndarray:
    """Weighting-class non-response adjustment (Särndal & Lundström 2005, ch. 7).

    For the gross sample (respondents and non-respondents), ``w_i = d_i * sum_{c} d / sum_{c, resp} d``
    for respondents of cell ``c`` and 0 for non-respondents. A cell with sample but no respondents is an
    error (its weight would be lost).
    """
    d = np.asarray(design_weights, dtype=float)
    resp = np.asarray(respondent, dtype=bool)
    cells = np.asarray(cells)
    codes, uniq = pd.factorize(pd.Series(cells), sort=True)
    tot = np.bincount(codes, weights=d)
    rtot = np.bincount(codes, weights=d * resp, minlength=len(tot))
    if np.any(rtot == 0):
        bad = uniq[np.flatnonzero(rtot == 0)[0]]
        raise CalibrationError(
            f"bortfallsjustering: cellen {bad!r} har urvalspersoner men inga svarande; slå ihop den med en "
            f"angränsande cell"
        )
    return np.where(resp, d * (tot / rtot)[codes], 0.0)


def trim_weights(weights: np.ndarray, lower: float, upper: float, *, maxit: int = 100) -> np.ndarray:
    """Trim weights to ``[lower, upper]`` keeping their sum, as R ``survey::trimWeights(..., strict = TRUE)``:
    weights outside are set to the bound and the trimmed amount is spread equally over the weights that
    were not outside, repeated until none is outside. Margins are NOT re-met: use ``calibrate(..., trim=)``
    for trimming with re-calibration.
    """
    w = np.asarray(weights, dtype=float).copy()
    if not lower < upper:
        raise CalibrationError(f"trimgränserna måste uppfylla lower < upper, fick ({lower}, {upper})")
    total = w.sum()
    if not len(w) * lower <= total <= len(w) * upper:
        raise CalibrationError(
            f"kan inte trimma {len(w)} vikter med summan {total:g} till [{lower}, {upper}]: summan måste ligga "
            f"mellan {len(w)} × lower och {len(w)} × upper"
        )
    for _ in range(maxit):
        outside = (w < lower) | (w > upper)
        if not outside.any():
            return w
        if outside.all():
            break
        new = np.clip(w, lower, upper)
        new[~outside] += (w - new).sum() / (~outside).sum()
        w = new
    raise CalibrationError(
        f"trimningen av {len(w)} vikter med summan {w.sum():g} till [{lower}, {upper}] konvergerade inte på "
        f"{maxit} varv; vidga gränserna"
    )


def kish_deff(w: np.ndarray) -> float:
    """Kish's design effect due to unequal weights: ``n sum w^2 / (sum w)^2`` (Kish 1965)."""
    w = np.asarray(w, dtype=float)
    return float(len(w) * np.sum(w**2) / np.sum(w) ** 2)


def weight_diagnostics(
    w: np.ndarray, d: np.ndarray, groups: np.ndarray, labels: tuple[tuple[Any, ...], ...], names: Sequence[str]
) -> pd.DataFrame:
    """Per group: n, sum of weights, min, max, max/min, Kish deff, effective n, min and max of g = w/d."""
    groups = np.asarray(groups)
    k = len(labels)
    n = np.bincount(groups, minlength=k)
    s1 = np.bincount(groups, weights=w, minlength=k)
    s2 = np.bincount(groups, weights=w * w, minlength=k)
    ext = pd.DataFrame({"g": groups, "w": w, "r": w / d}).groupby("g", sort=True).agg(["min", "max"])
    ext = ext.reindex(range(k))
    wmin, wmax = ext[("w", "min")].to_numpy(), ext[("w", "max")].to_numpy()
    gmin, gmax = ext[("r", "min")].to_numpy(), ext[("r", "max")].to_numpy()
    out = pd.DataFrame(list(labels), columns=list(names)) if names else pd.DataFrame(index=range(k))
    out["n"] = n
    out["sum_weights"] = s1
    out["min_weight"] = wmin
    out["max_weight"] = wmax
    out["weight_ratio"] = wmax / wmin
    out["kish_deff"] = n * s2 / s1**2
    out["ess"] = s1**2 / s2
    out["min_g"] = gmin
    out["max_g"] = gmax
    return out
