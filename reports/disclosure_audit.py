"""The audit of secondary suppression: the attacker's linear programme (Hundepool et al., *Statistical
Disclosure Control*, 2012, ch. 4.3, "auditing"; τ-ARGUS's audit of a suppression pattern).

:func:`reports.disclosure.protect`'s rules look at one relation at a time (members and their margin). An
attacker combines them: within one year × indicator every district and sex/age cell is tied to the others by
the exact relations ``W_margin p_margin = Σ W_m p_m`` (Totalt and the districts; a district and its groups;
a group's Totalt and the districts' cells of that group), every published share is known within its rounding
(±0,05 procentenheter) and every hidden one lies in [0, 1]. Minimising and maximising a hidden share over
that polytope gives the interval the published tables leave it in. The audit solves these programmes for
every primary-hidden share and, where the interval is narrower than ``MIN_WIDTH``, hides one more published
cell of a relation the share is in (the one with the largest weighted base: it widens the interval most),
then lets the rules of ``protect`` run again; until no interval is too narrow.

The programmes are solved with HiGHS (``highspy``): one model per year × indicator, whose objective alone
changes between the solves (the simplex starts from the previous basis). Every solution is a feasible point,
so a cell that has already taken values ``MIN_WIDTH`` apart in the solutions so far needs no programme of its
own (a wave of 42 districts with many small cells: 34 s of solves before, 2.6 s with it and eight first
points).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from reports.formats import shown_array

STEP = 0.001  # a published share is rounded to 0,1 %: known within ±STEP / 2


def narrow_cells(
    relations: Sequence[tuple[np.ndarray, int]],
    base: np.ndarray,
    share: np.ndarray,
    hidden: np.ndarray,
    sensitive: np.ndarray,
    min_width: float,
) -> list[tuple[int, list[int]]]:
    """The sensitive (primary-hidden) cells of one connected set of ``relations`` (member positions, margin
    position) whose share the published cells pin within less than ``min_width``: ``(cell, the cells that
    share a relation with it)``. ``base``: weighted bases (the relations' weights); ``share``: the shares
    (full precision; the published ones enter rounded)."""
    import highspy

    rows = sorted({int(i) for m, g in relations for i in (*m, g)})
    col = {r: k for k, r in enumerate(rows)}
    at = np.asarray(rows)
    printed = shown_array("est", share[at])  # what the tables print, rounded as they round it
    known = ~hidden[at] & np.isfinite(printed)
    lo = np.where(known, np.maximum(0.0, printed - STEP / 2), 0.0)
    hi = np.where(known, np.minimum(1.0, printed + STEP / 2), 1.0)
    starts, index, value = [0], [], []
    for members, margin in relations:  # W_margin x_margin - Σ W_m x_m = 0
        index += [col[margin], *(col[int(m)] for m in members)]
        value += [float(base[margin]), *(-float(base[int(m)]) for m in members)]
        starts.append(len(index))
    h = highspy._core._Highs()  # the solver without the Python wrapper's callbacks (which print a banner)
    h.setOptionValue("output_flag", False)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = len(rows), len(relations)
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = np.zeros(len(rows)), lo, hi
    lp.row_lower_ = lp.row_upper_ = np.zeros(len(relations))
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_, lp.a_matrix_.index_ = np.array(starts), np.array(index)
    lp.a_matrix_.value_ = np.array(value)
    h.passModel(lp)
    # every solution is a feasible point: the smallest and largest value each cell took in one is a lower
    # bound of its interval's width, so a cell already seen that far apart needs no programme of its own
    seen_lo, seen_hi = np.full(len(rows), np.inf), np.full(len(rows), -np.inf)
    todo = [r for r in rows if sensitive[r] and hidden[r] and np.isfinite(share[r])]
    free = np.array([col[r] for r in rows if hidden[r]])
    rng = np.random.default_rng(0)  # a few first points: all hidden cells up, all down, and six mixes
    costs = [np.ones(len(free)), -np.ones(len(free)), *(rng.choice([-1.0, 1.0], len(free)) for _ in range(6))]

    def solve() -> float:
        """The optimum (NaN when none), its point added to what each cell has been seen at."""
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:  # pragma: no cover - always feasible
            return float("nan")
        x = np.asarray(h.getSolution().col_value)
        np.minimum(seen_lo, x, out=seen_lo)
        np.maximum(seen_hi, x, out=seen_hi)
        return float(h.getInfo().objective_function_value)

    for cost in costs if len(free) else []:
        h.changeColsCost(len(free), free, cost)
        solve()
    if len(free):
        h.changeColsCost(len(free), free, np.zeros(len(free)))
    out = []
    for r in todo:
        k = col[r]
        if seen_hi[k] - seen_lo[k] >= min_width:
            continue
        ends = []
        for sign in (1.0, -1.0):
            h.changeColCost(k, sign)
            ends.append(sign * solve())
        h.changeColCost(k, 0.0)
        if ends[1] - ends[0] < min_width:
            near = sorted({int(i) for m, g in relations if r in m or r == g for i in (*m, g)} - {r})
            out.append((r, near))
    return out
