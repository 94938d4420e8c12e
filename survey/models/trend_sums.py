"""What a trend model needs from the respondents: year × district cells and, per indicator, the cell totals
and the fit, either from the rows or from atom sums shared by all indicators.

The trend models' covariates (``year``, ``district``) are constant within a year × district cell, so the
fit needs only the cells' weight and numerator totals, and the design-based covariance only per-atom
sums (an atom = stratum × calibration cell × model cell; :mod:`survey.estimation.atoms`): one pass over
the rows serves every indicator (:func:`trend_sources`). The row path (:class:`RowSums`) serves clustered
designs, zero weights and indicators without base codes, and cross-checks the atom path in the tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from survey.design import Design
from survey.errors import ModelError
from survey.estimation.atoms import AtomStats, atom_stats, indicator_states
from survey.indicators import Indicator
from survey.models.glm import GLMAtoms, SurveyGLMResult, svyglm, svyglm_atoms


@dataclass(frozen=True, eq=False)
class TrendCells:
    """Row → year × district cell codes, shared by all indicators of one data frame."""

    cell: np.ndarray  # (n,) code of (year, district)
    cell_year: np.ndarray  # (C,) int
    cell_district: np.ndarray  # (C,) str (object)
    year: np.ndarray  # (n,) int
    cell_rank: np.ndarray  # (C,) position of each cell in (district, year) order


def _codes(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes (code-point order) and levels of a column; a categorical's own codes when they are sorted."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        cats = col.cat.categories
        if cats.is_monotonic_increasing and not col.hasnans:
            return col.cat.codes.to_numpy().astype(np.int64), np.asarray(cats.astype(str), dtype=object)
    codes, uniq = pd.factorize(col.astype(str), sort=True)
    return codes.astype(np.int64), np.asarray(uniq, dtype=object)


def trend_cells(design: Design, data: pd.DataFrame) -> TrendCells:
    if len(data) != design.n:
        raise ModelError(f"data har {len(data)} rader för en design med {design.n} rader (samma rader i samma ordning)")
    for col in ("year", "district"):
        if col not in data.columns:
            raise ModelError(f"data saknar kolumnen {col!r}")
    year = data["year"].to_numpy(dtype=np.int64)
    ycode, yuniq = pd.factorize(year, sort=True)
    dcode, duniq = _codes(data["district"])
    nd = len(duniq)
    full = ycode.astype(np.int64) * nd + dcode
    present = np.flatnonzero(np.bincount(full, minlength=len(yuniq) * nd))
    remap = np.full(len(yuniq) * nd, -1, dtype=np.int64)
    remap[present] = np.arange(len(present))
    codes = remap[full]
    cy = np.asarray(yuniq, dtype=np.int64)[present // nd]
    cdist = np.asarray(duniq, dtype=object)[present % nd]
    rank = np.empty(len(present), dtype=np.int64)
    rank[np.lexsort((present // nd, present % nd))] = np.arange(len(present))
    return TrendCells(cell=codes.astype(np.int64), cell_year=cy, cell_district=cdist, year=year, cell_rank=rank)


@dataclass(frozen=True, eq=False)
class RowSums:
    """One indicator's domain and 0/1 response per row (the reference path)."""

    design: Design
    prep: TrendCells
    domain: np.ndarray  # (n,) bool
    y: np.ndarray  # (n,) float 0/1

    def cell_sums(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per cell: respondents in the domain, their weight and their weighted numerator."""
        c, n_cells = self.prep.cell, len(self.prep.cell_year)
        wz = np.where(self.domain, self.design.weights, 0.0)
        return (
            np.bincount(c, weights=self.domain, minlength=n_cells).astype(np.int64),
            np.bincount(c, weights=wz, minlength=n_cells),
            np.bincount(c, weights=wz * self.y, minlength=n_cells),
        )

    def from_year(self, year: int) -> RowSums:
        return replace(self, domain=self.domain & (self.prep.year >= year))

    def fit(self, x: np.ndarray, terms: Sequence[str]) -> SurveyGLMResult:
        return svyglm(
            self.design,
            self.y,
            x,
            terms,
            domain=self.domain,
            cell=self.prep.cell,
            family="quasibinomial",
            with_dispersion=False,
        )


@dataclass(frozen=True, eq=False)
class AtomSums:
    """One indicator's atom sums (states 0 outside the domain, 1 y = 0, 2 y = 1): the fast path."""

    design: Design
    prep: TrendCells
    atoms: GLMAtoms

    def cell_sums(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        a, n_cells = self.atoms, len(self.prep.cell_year)
        n = np.bincount(a.cell, weights=a.count[:, 1] + a.count[:, 2], minlength=n_cells)
        return (
            n.round().astype(np.int64),
            np.bincount(a.cell, weights=a.sw[:, 1] + a.sw[:, 2], minlength=n_cells),
            np.bincount(a.cell, weights=a.sw[:, 2], minlength=n_cells),
        )

    def from_year(self, year: int) -> AtomSums:
        """Atoms of earlier years leave the domain: their rows move to state 0 (they stay in the design)."""
        a = self.atoms
        out = self.prep.cell_year[a.cell] < year

        def move(s: np.ndarray) -> np.ndarray:
            s = s.copy()
            s[out, 0] += s[out, 1] + s[out, 2]
            s[out, 1:] = 0.0
            return s

        return replace(self, atoms=replace(a, sw=move(a.sw), sw2=move(a.sw2), sd=move(a.sd), count=move(a.count)))

    def fit(self, x: np.ndarray, terms: Sequence[str]) -> SurveyGLMResult:
        return svyglm_atoms(self.design, self.atoms, x, terms, family="quasibinomial", with_dispersion=False)


def _row_sums(design: Design, data: pd.DataFrame, prep: TrendCells, indicator: Indicator) -> RowSums:
    ans = data[indicator.item].to_numpy(dtype="float64", na_value=np.nan)
    base = np.isin(ans, np.asarray(indicator.base, dtype=float)) if indicator.base else ~np.isnan(ans)
    y = np.isin(ans, np.asarray(indicator.numerator, dtype=float)).astype(float)
    return RowSums(design=design, prep=prep, domain=base & (design.weights != 0), y=y)


def _glm_atoms(st: AtomStats, j: int, cell: np.ndarray) -> GLMAtoms:
    return GLMAtoms(
        stratum=st.stratum,
        cal_cell=st.cell,
        cell=cell,
        sw=st.sw[:, :, j],
        sw2=st.sw2[:, :, j],
        sd=st.sd[:, :, j],
        count=st.count[:, :, j],
    )


def _cell_of_stratum(design: Design, prep: TrendCells) -> np.ndarray | None:
    """The model cell of each stratum when every stratum lies in one cell (the contract's year × district
    strata), else None."""
    of = np.full(design.n_strata, -1, dtype=np.int64)
    of[design.strata] = prep.cell
    return of if np.array_equal(of[design.strata], prep.cell) else None


def trend_sources(
    design: Design,
    data: pd.DataFrame,
    prep: TrendCells,
    indicators: Sequence[Indicator],
    atoms: AtomStats | None = None,
) -> list[RowSums | AtomSums]:
    """Per indicator, what its trend model is fitted from: atom sums from one shared pass over the rows
    (element sampling, no zero weights, base codes given), else the rows themselves.

    ``atoms`` may be the estimation step's ``atom_stats`` of the same ``indicators`` (in the same order) on
    the same design: when every stratum lies in one model cell they serve the trend models as they are.
    """
    for ind in indicators:
        if ind.item not in data.columns:
            raise ModelError(f"indikator {ind.name}: data saknar kolumnen {ind.item!r}")
    fast = [j for j, ind in enumerate(indicators) if ind.base]
    st, cell = None, None
    if fast and design.psu is None and not np.any(design.weights == 0):
        per_stratum = _cell_of_stratum(design, prep)
        if atoms is not None and per_stratum is not None and atoms.sw.shape[2] == len(indicators):
            st, cell, fast = atoms, per_stratum[atoms.stratum], list(range(len(indicators)))
        else:
            chosen = [indicators[j] for j in fast]
            if per_stratum is not None:  # the strata carry the model cell: no extra code to combine
                st = atom_stats(design, indicator_states(data, chosen))
                cell = per_stratum[st.stratum]
            else:
                st = atom_stats(design, indicator_states(data, chosen), extra=[prep.cell])
                cell = st.extra[:, 0]
    out: list[RowSums | AtomSums] = []
    for j, ind in enumerate(indicators):
        if st is not None and cell is not None and j in fast:
            out.append(AtomSums(design=design, prep=prep, atoms=_glm_atoms(st, fast.index(j), cell)))
        else:
            out.append(_row_sums(design, data, prep, ind))
    return out
