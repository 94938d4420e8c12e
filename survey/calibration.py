"""Weighting: design weights, non-response adjustment, calibration (raking, linear/GREG, logit), trimming.

Calibration (Deville & Särndal 1992; Särndal 2007; Lumley 2010, ch. 7) finds final weights
``w_i = d_i F(x_i' lambda)`` that reproduce known population totals ``sum_i w_i x_i = X``, where
``x_i`` holds the 0/1 dummies of the calibration margins. The calibration function ``F`` is

* ``"linear"`` (GREG, Deville & Särndal's case 1):  ``F(u) = 1 + u``;
* ``"raking"`` (multiplicative, case 2):             ``F(u) = exp(u)``;
* ``"logit"`` (bounded, case 6), with ``L < 1 < U``:
  ``F(u) = [L (U - 1) + U (1 - L) exp(A u)] / [U - 1 + (1 - L) exp(A u)]``, ``A = (U - L) / ((U - 1)(1 - L))``,

and, as in R ``survey::calibrate``, ``bounds`` truncate ``F`` for ``linear`` and ``raking``.
``lambda`` is found by Newton's method with a generalised inverse (so redundant dummies, e.g. sex and
age both summing to the district total, are harmless), stopping when every
``|misfit| / (1 + |X|) < epsilon`` (R ``survey:::grake``'s rule).

Margins are categorical. All margins share the variables that define independent *blocks* (``by``,
e.g. year, plus every variable common to all margins, e.g. district): the calibration matrix is
block-diagonal, so each block is solved on its own, and because ``x_i`` only depends on the
respondent's *cell* (the combination of margin levels inside the block), the whole solve works on
cell totals of ``d``: a few hundred cells instead of a million rows.

Infeasible calibration is an error that names the cell: a level with population > 0 and no
respondents, or respondents in a level whose population is 0. Non-convergence is an error, never a
silent result.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Mapping, Sequence

import numpy as np
import pandas as pd

from survey.design import factorize_groups
from survey.errors import CalibrationError

Method = Literal["raking", "linear", "logit"]
METHODS: tuple[str, ...] = ("raking", "linear", "logit")


@dataclass(frozen=True)
class Margin:
    """A calibration margin: population totals over the cross-classification of ``variables``.

    ``totals`` has one row per cell with the ``by`` variables of the calibration, ``variables`` and a
    column ``total``.
    """

    variables: tuple[str, ...]
    totals: pd.DataFrame


@dataclass(frozen=True, eq=False)
class CalibrationModel:
    """The block-diagonal calibration model matrix, stored by cells (what the variance needs).

    Row ``i`` has model-matrix row ``cell_x[cell[i]]`` in the columns of block ``block[i]``.
    """

    block: np.ndarray          # (n,) block code per row
    cell: np.ndarray           # (n,) cell code per row
    cell_block: np.ndarray     # (C,) block code of each cell
    cell_x: np.ndarray         # (C, p) model-matrix row of each cell (block-local columns)
    block_labels: tuple        # label (tuple of block-variable values) of each block
    block_vars: tuple[str, ...]
    columns: tuple[str, ...]   # names of the p block-local columns, e.g. "sex=2"
    method: str
    bounds: tuple[float, float] | None


@dataclass(frozen=True)
class CalibrationResult:
    """Calibrated weights, the model, and diagnostics."""

    weights: np.ndarray
    g: np.ndarray
    model: CalibrationModel
    iterations: int
    max_margin_error: float
    max_relative_error: float
    diagnostics: pd.DataFrame
    notes: tuple[str, ...] = field(default_factory=tuple)


# --- calibration functions F(u) and F'(u) ----------------------------------------------------------

def _calfun(method: str, bounds: tuple[float, float] | None):
    lo, hi = (-np.inf, np.inf) if bounds is None else bounds
    if method == "linear":
        def f(u):
            return np.clip(1.0 + u, lo, hi)

        def df(u):
            return ((1.0 + u > lo) & (1.0 + u < hi)).astype(float)
    elif method == "raking":
        def f(u):
            return np.clip(np.exp(u), lo, hi)

        def df(u):
            e = np.exp(u)
            return np.where((e > lo) & (e < hi), e, 0.0)
    elif method == "logit":
        if bounds is None or not (np.isfinite(lo) and np.isfinite(hi)):
            raise CalibrationError("logit calibration needs finite bounds (lower < 1 < upper)")
        if not lo < 1.0 < hi:
            raise CalibrationError(f"logit calibration needs lower < 1 < upper, got {bounds}")
        a = (hi - lo) / ((hi - 1.0) * (1.0 - lo))

        def f(u):
            e = np.exp(np.clip(a * u, -700, 700))
            return (lo * (hi - 1.0) + hi * (1.0 - lo) * e) / (hi - 1.0 + (1.0 - lo) * e)

        def df(u):
            e = np.exp(np.clip(a * u, -700, 700))
            den = hi - 1.0 + (1.0 - lo) * e
            return a * (1.0 - lo) * e * (hi * den - (lo * (hi - 1.0) + hi * (1.0 - lo) * e)) / den ** 2
    else:
        raise CalibrationError(f"unknown calibration method {method!r}; use one of {METHODS}")
    return f, df


# --- building the model ---------------------------------------------------------------------------

def _codes(frame: pd.DataFrame, cols: Sequence[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """Group codes (code-point sorted) of the rows of ``frame`` over ``cols`` and the unique keys."""
    return factorize_groups(frame, list(cols))


def _label(keys: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in keys.items())


@dataclass(frozen=True)
class _Built:
    model: CalibrationModel
    targets: np.ndarray         # (B, p)
    active: np.ndarray          # (B, p) bool: column used in block
    notes: tuple[str, ...]


def build_model(data: pd.DataFrame, margins: Sequence[Margin], by: Sequence[str],
                design_weights: np.ndarray, method: str = "raking",
                bounds: tuple[float, float] | None = None,
                collapse: Mapping[str, int] | None = None) -> _Built:
    """Block-diagonal calibration model from categorical margins, with feasibility checks.

    ``collapse`` (variable -> minimum respondents) merges, within a block, a level of that variable that has
    population but fewer respondents than the minimum into an adjacent level (see :func:`collapse_levels`).
    """
    if not margins:
        raise CalibrationError("calibration needs at least one margin")
    by = list(by)
    for m in margins:
        missing = [v for v in list(m.variables) + by if v not in data.columns]
        if missing:
            raise CalibrationError(f"margin {m.variables}: the data have no column {missing[0]!r}")
        missing = [v for v in list(m.variables) + by + ["total"] if v not in m.totals.columns]
        if missing:
            raise CalibrationError(f"margin {m.variables}: the totals have no column {missing[0]!r}")
    common = [v for v in margins[0].variables if all(v in m.variables for m in margins)]
    block_vars = by + [v for v in common if v not in by]
    block, block_keys = _codes(data, block_vars)
    n_blocks = len(block_keys)
    block_labels = tuple(tuple(r) for r in block_keys.itertuples(index=False)) if block_vars else ((),)
    d = np.asarray(design_weights, dtype=float)

    # columns: one dummy per level of each margin's within-block variables
    col_names: list[str] = []
    level_code_cols: list[np.ndarray] = []
    offsets: list[int] = []
    margin_levels: list[pd.DataFrame] = []
    notes: list[str] = []
    targets_parts: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []
    for m in margins:
        rest = [v for v in m.variables if v not in block_vars]
        tot = m.totals
        # block of each totals row; totals for blocks without respondents are ignored with a note
        key_cols = block_vars
        if key_cols:
            bk = block_keys.assign(_b=np.arange(n_blocks))
            tb = tot.merge(bk, on=key_cols, how="left")["_b"].to_numpy()
            unknown = np.isnan(tb.astype(float))
            if unknown.any():
                n_unk = tot.loc[unknown, key_cols].drop_duplicates().shape[0]
                notes.append(f"margin {'×'.join(m.variables)}: totals of {n_unk} "
                             f"{'×'.join(key_cols)} without respondents ignored")
            tot = tot.loc[~unknown]
            tb = tb[~unknown].astype(np.int64)
        else:
            tb = np.zeros(len(tot), dtype=np.int64)
        if rest:
            row_level, levels = _codes(data, rest)
            # levels that only the totals have are appended (population > 0 there is infeasible, checked below)
            tot_keys = pd.MultiIndex.from_frame(tot[rest]) if len(rest) > 1 else pd.Index(tot[rest[0]])
            lev_keys = pd.MultiIndex.from_frame(levels) if len(rest) > 1 else pd.Index(levels[rest[0]])
            tot_level = lev_keys.get_indexer(tot_keys)
            new_keys = tot_keys[tot_level < 0].unique()
            if len(new_keys):
                extra_levels = pd.DataFrame(list(new_keys) if len(rest) > 1 else {rest[0]: list(new_keys)},
                                            columns=rest)
                levels = pd.concat([levels, extra_levels], ignore_index=True)
                lev_keys = pd.MultiIndex.from_frame(levels) if len(rest) > 1 else pd.Index(levels[rest[0]])
                tot_level = lev_keys.get_indexer(tot_keys)
            tot_level = tot_level.astype(np.int64)
            names = ["×".join(f"{v}={val}" for v, val in zip(rest, r)) for r in levels.itertuples(index=False)]
        else:
            levels = pd.DataFrame(index=[0])
            row_level = np.zeros(len(data), dtype=np.int64)
            tot_level = np.zeros(len(tot), dtype=np.int64)
            names = ["(" + "×".join(m.variables) + ")"]
        tvals = pd.to_numeric(tot["total"], errors="coerce").to_numpy(float)
        if np.any(~np.isfinite(tvals)) or np.any(tvals < 0):
            raise CalibrationError(f"margin {'×'.join(m.variables)}: totals must be finite and >= 0")
        if collapse and len(rest) == 1 and rest[0] in collapse:
            row_level, tot_level, merged = collapse_levels(
                block, row_level, tb, tot_level, tvals, levels[rest[0]].tolist(), int(collapse[rest[0]]))
            notes.extend(f"{_label(dict(zip(block_vars, block_labels[b])))}: {rest[0]} {a} merged with {b2} "
                         f"({k} respondent(s) < {int(collapse[rest[0]])})" for b, a, b2, k in merged)
        offsets.append(len(col_names))
        col_names.extend(names)
        level_code_cols.append(row_level)
        margin_levels.append(levels)
        targets_parts.append((offsets[-1], tb, tot_level, tvals))

    if collapse:
        within = {v for m in margins for v in m.variables if v not in block_vars}
        unknown_vars = sorted(set(collapse) - within)
        if unknown_vars:
            raise CalibrationError(f"collapse: {unknown_vars[0]!r} is not a variable of a margin within "
                                   f"{'×'.join(block_vars) or 'the population'} (margins: "
                                   f"{', '.join('×'.join(m.variables) for m in margins)})")
    p = len(col_names)
    targets = np.zeros((n_blocks, p))
    has_target = np.zeros((n_blocks, p), dtype=bool)
    for off, tb, tl, tv in targets_parts:
        np.add.at(targets, (tb, off + tl), tv)
        has_target[tb, off + tl] = True

    # cells: unique (block, level of every margin)
    parts = [block, *level_code_cols]
    dims = [int(x.max()) + 1 if len(x) else 1 for x in parts]
    cell, uniq = pd.factorize(np.ravel_multi_index(tuple(parts), dims), sort=True)
    cell = cell.astype(np.int64)
    unr = np.unravel_index(uniq, dims)
    cell_block = np.asarray(unr[0], dtype=np.int64)
    cell_x = np.zeros((len(uniq), p))
    for j, off in enumerate(offsets):
        cell_x[np.arange(len(uniq)), off + np.asarray(unr[j + 1], dtype=np.int64)] = 1.0

    # feasibility: per block and column, respondents and population (summed over cells, not rows)
    n_cell = np.bincount(cell, minlength=len(cell_block)).astype(float)
    n_resp = np.zeros((n_blocks, p))
    np.add.at(n_resp, cell_block, cell_x * n_cell[:, None])

    def where(b: int, col: int) -> str:
        parts = dict(zip(block_vars, block_labels[b]))
        return (_label(parts) + ", " if parts else "") + col_names[col].replace("=", " ")

    no_total = (n_resp > 0) & ~has_target
    if no_total.any():
        b, c = np.argwhere(no_total)[0]
        raise CalibrationError(f"no population total for {where(b, c)}, which has {int(n_resp[b, c])} respondents")
    empty = (targets > 0) & (n_resp == 0)
    if empty.any():
        b, c = np.argwhere(empty)[0]
        raise CalibrationError(
            f"calibration infeasible: {where(b, c)} has population {targets[b, c]:g} but no respondents "
            f"({int(empty.sum())} such cell(s)); merge it with a neighbouring category (trygghet run --collapse "
            f"{col_names[c].split('=')[0]}) or drop the margin")
    zero_pop = (targets == 0) & (n_resp > 0)
    if zero_pop.any():
        b, c = np.argwhere(zero_pop)[0]
        raise CalibrationError(f"{where(b, c)} has {int(n_resp[b, c])} respondent(s) but population 0")
    active = n_resp > 0
    model = CalibrationModel(block=block, cell=cell, cell_block=cell_block, cell_x=cell_x,
                             block_labels=block_labels, block_vars=tuple(block_vars),
                             columns=tuple(col_names), method=method, bounds=bounds)
    return _Built(model=model, targets=targets, active=active, notes=tuple(notes))


def collapse_levels(block: np.ndarray, row_level: np.ndarray, tot_block: np.ndarray, tot_level: np.ndarray,
                    totals: np.ndarray, levels: list, min_respondents: int
                    ) -> tuple[np.ndarray, np.ndarray, list[tuple[int, object, object, int]]]:
    """The collapsing rule for small calibration cells, block by block.

    Levels are ordered (code-point order of their labels: age groups ``16-24`` < ... < ``75-84``). While a
    level of a block has population > 0 but fewer than ``min_respondents`` respondents, it is merged into the
    adjacent level (in that order) that has fewer respondents (the lower one on a tie); merged levels count
    as one. Only blocks that need it are touched; every merge is returned (block, level, into, respondents)
    for the log. Merging changes the calibration model of that block only (fewer, wider cells).
    """
    n_levels = len(levels)
    n_blocks = int(max(block.max(initial=-1), tot_block.max(initial=-1))) + 1
    counts = np.bincount(block * n_levels + row_level, minlength=n_blocks * n_levels).reshape(n_blocks, n_levels)
    pop = np.bincount(tot_block * n_levels + tot_level, weights=totals,
                      minlength=n_blocks * n_levels).reshape(n_blocks, n_levels)
    order = sorted(range(n_levels), key=lambda j: str(levels[j]))
    mapping = np.tile(np.arange(n_levels), (n_blocks, 1))
    merged: list[tuple[int, object, object, int]] = []
    for b in np.flatnonzero(((pop > 0) & (counts < min_respondents)).any(axis=1)):   # only blocks in need
        groups = [[j] for j in order]                       # ordered groups of levels
        while True:
            n_g = [int(counts[b, g].sum()) for g in groups]
            p_g = [float(pop[b, g].sum()) for g in groups]
            small = [i for i in range(len(groups)) if p_g[i] > 0 and n_g[i] < min_respondents]
            if not small or len(groups) == 1:
                break
            i = small[0]
            nbrs = [k for k in (i - 1, i + 1) if 0 <= k < len(groups)]
            k = min(nbrs, key=lambda kk: (n_g[kk], kk))
            merged.append((int(b), levels[groups[i][0]], levels[groups[k][0]], n_g[i]))
            lo, hi = sorted((i, k))
            groups[lo:hi + 1] = [groups[lo] + groups[hi]]
        for g in groups:
            mapping[b, g] = g[0]
    return mapping[block, row_level], mapping[tot_block, tot_level], merged


# --- solving ---------------------------------------------------------------------------------------

def _solve(built: _Built, d: np.ndarray, method: str, bounds, maxit: int, epsilon: float
           ) -> tuple[np.ndarray, int, np.ndarray]:
    """Newton iterations in all blocks at once on cell totals; returns (g per row, iterations, misfit)."""
    m = built.model
    f, df = _calfun(method, bounds)
    n_blocks, p = built.targets.shape
    dc = np.bincount(m.cell, weights=d, minlength=len(m.cell_block))   # D_c = sum of d in cell
    xx = m.cell_x[:, :, None] * m.cell_x[:, None, :]
    lam = np.zeros((n_blocks, p))
    target = built.targets
    scale = 1.0 + np.abs(target)

    def fitted(lam_: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        u = np.einsum("cp,cp->c", m.cell_x, lam_[m.cell_block])
        fu = f(u)
        tot = np.zeros((n_blocks, p))
        np.add.at(tot, m.cell_block, (dc * fu)[:, None] * m.cell_x)
        return u, tot

    u, tot = fitted(lam)
    misfit = target - tot
    it = 0
    while np.any(np.abs(misfit) / scale >= epsilon):
        if it >= maxit:
            worst = np.unravel_index(np.argmax(np.abs(misfit) / scale), misfit.shape)
            parts = dict(zip(m.block_vars, m.block_labels[worst[0]]))
            raise CalibrationError(
                f"{method} calibration did not converge in {maxit} iterations: {_label(parts)}, "
                f"{m.columns[worst[1]]} misses its total by {misfit[worst]:.4g} "
                f"(relative {abs(misfit[worst]) / scale[worst]:.2g}); the margins may be inconsistent or "
                f"the bounds too tight")
        jac = np.zeros((n_blocks, p, p))
        np.add.at(jac, m.cell_block, (dc * df(u))[:, None, None] * xx)
        step = np.einsum("bpq,bq->bp", np.linalg.pinv(jac, rcond=1e-13, hermitian=True), misfit)
        new = lam + step
        u, tot = fitted(new)
        halvings = 0
        while not np.all(np.isfinite(tot)) and halvings < 50:
            step /= 2
            new = lam + step
            u, tot = fitted(new)
            halvings += 1
        lam = new
        misfit = target - tot
        it += 1
    g_cell = f(np.einsum("cp,cp->c", m.cell_x, lam[m.cell_block]))
    return g_cell[m.cell], it, misfit


def calibrate(data: pd.DataFrame, design_weights: np.ndarray, margins: Sequence[Margin], *,
              by: Sequence[str] = (), method: Method = "raking",
              bounds: tuple[float, float] | None = None, trim: tuple[float, float] | None = None,
              maxit: int = 100, epsilon: float = 1e-12,
              collapse: Mapping[str, int] | None = None) -> CalibrationResult:
    """Calibrate ``design_weights`` to the margins, independently within each ``by`` group.

    Args:
        data: one row per respondent with the ``by`` and margin variables.
        design_weights: ``d_i > 0``.
        margins: population totals, e.g. ``[Margin(("district", "sex"), t1), Margin(("district", "age_group"), t2)]``.
        by: calibration groups (e.g. ``("year",)``); margins are met within each.
        method: ``"raking"``, ``"linear"`` or ``"logit"`` (see module docstring).
        bounds: ``(L, U)`` on ``g = w / d``: required by logit; truncation for linear and raking (as R).
        trim: ``(lower, upper)`` on ``g``: when the calibrated ``g`` leave these bounds, calibrate again with
            ``F`` truncated to them, so that the weights meet both the margins (to ``epsilon``) and the bounds;
            infeasible bounds raise.
        maxit, epsilon: Newton's iteration limit and convergence tolerance ``|misfit| / (1 + |X|)``.
        collapse: ``{variable: minimum respondents}``: merge small cells of that variable within a block into
            an adjacent level (:func:`collapse_levels`), each merge logged in ``notes``; without it a level with
            population and no respondents is an error naming the cell.

    Returns:
        :class:`CalibrationResult` with ``weights = d * g``.
    """
    if method not in METHODS:
        raise CalibrationError(f"unknown calibration method {method!r}; use one of {METHODS}")
    if bounds is not None and not bounds[0] < bounds[1]:
        raise CalibrationError(f"bounds must satisfy lower < upper, got {bounds}")
    if trim is not None and not (0 < trim[0] < trim[1]):
        raise CalibrationError(f"trim must satisfy 0 < lower < upper, got {trim}")
    d = np.asarray(design_weights, dtype=float)
    if len(d) != len(data):
        raise CalibrationError(f"{len(d)} design weights for {len(data)} rows")
    if not np.all(np.isfinite(d)) or np.any(d <= 0):
        raise CalibrationError("design weights must be finite and > 0")
    built = build_model(data, margins, by, d, method, bounds, collapse)
    g, iterations, misfit = _solve(built, d, method, bounds, maxit, epsilon)
    notes = list(built.notes)
    if trim is not None:
        lo, hi = trim
        if np.any(g < lo * (1 - 1e-9)) or np.any(g > hi * (1 + 1e-9)):
            # re-calibrate with F truncated to [lo, hi] (R survey's bounded calibration): the margins are met
            # exactly and every g lies within the bounds; infeasible bounds fail to converge and raise
            lb = (max(lo, bounds[0]), min(hi, bounds[1])) if bounds is not None else (lo, hi)
            if method == "logit":
                raise CalibrationError("trim= with logit calibration: pass the bounds of the logit instead")
            try:
                g, it_b, misfit = _solve(built, d, method, lb, maxit, epsilon)
            except CalibrationError as exc:
                raise CalibrationError(f"trimming to g in [{lo}, {hi}] with re-calibration is infeasible: {exc}") from exc
            iterations += it_b
            notes.append(f"g trimmed to [{lo}, {hi}] with re-calibration (bounded {method})")
    w = d * g
    scale = 1.0 + np.abs(built.targets)
    diag = weight_diagnostics(w, d, built.model.block, built.model.block_labels, built.model.block_vars)
    diag["iterations"] = iterations
    diag["max_margin_error"] = np.abs(misfit).max(axis=1)
    return CalibrationResult(weights=w, g=g, model=built.model, iterations=iterations,
                             max_margin_error=float(np.abs(misfit).max()),
                             max_relative_error=float((np.abs(misfit) / scale).max()),
                             diagnostics=diag, notes=tuple(notes))


def poststratify(data: pd.DataFrame, design_weights: np.ndarray, variables: Sequence[str],
                 totals: pd.DataFrame, *, by: Sequence[str] = ()) -> CalibrationResult:
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
        raise CalibrationError(f"non-response adjustment: cell {bad!r} has sampled units but no respondents")
    return np.where(resp, d * (tot / rtot)[codes], 0.0)


def trim_weights(weights: np.ndarray, lower: float, upper: float, *, maxit: int = 100) -> np.ndarray:
    """Trim weights to ``[lower, upper]`` keeping their sum, as R ``survey::trimWeights(..., strict = TRUE)``:
    weights outside are set to the bound and the trimmed amount is spread equally over the weights that
    were not outside, repeated until none is outside. Margins are NOT re-met: use ``calibrate(..., trim=)``
    for trimming with re-calibration.
    """
    w = np.asarray(weights, dtype=float).copy()
    if not lower < upper:
        raise CalibrationError(f"trim bounds must satisfy lower < upper, got ({lower}, {upper})")
    total = w.sum()
    if not len(w) * lower <= total <= len(w) * upper:
        raise CalibrationError(f"cannot trim {len(w)} weights summing to {total:g} into [{lower}, {upper}]")
    for _ in range(maxit):
        outside = (w < lower) | (w > upper)
        if not outside.any():
            return w
        if outside.all():
            break
        new = np.clip(w, lower, upper)
        new[~outside] += (w - new).sum() / (~outside).sum()
        w = new
    raise CalibrationError(f"trimming {len(w)} weights summing to {w.sum():g} into [{lower}, {upper}] did not "
                           f"converge in {maxit} rounds")


def kish_deff(w: np.ndarray) -> float:
    """Kish's design effect due to unequal weights: ``n sum w^2 / (sum w)^2`` (Kish 1965)."""
    w = np.asarray(w, dtype=float)
    return float(len(w) * np.sum(w ** 2) / np.sum(w) ** 2)


def weight_diagnostics(w: np.ndarray, d: np.ndarray, groups: np.ndarray, labels: tuple,
                       names: Sequence[str]) -> pd.DataFrame:
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
    out["kish_deff"] = n * s2 / s1 ** 2
    out["ess"] = s1 ** 2 / s2
    out["min_g"] = gmin
    out["max_g"] = gmax
    return out
