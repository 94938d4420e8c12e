"""The calibration model: margins, the block-diagonal model matrix stored by cells, and its checks.

A :class:`Margin` gives population totals over the cross-classification of some register variables:

* categorical (``value`` is None): the count of people in each cell, e.g. district × sex; the model has one
  0/1 dummy per level;
* numeric (``value`` names a numeric column of the responses, a *numeric auxiliary*): the population total
  of that variable in each cell, e.g. the number born abroad per district (``value="born_abroad"``) or the
  total income per district (mean income × N); the model column is ``1[level] × value_i``
  (R ``calibrate(formula = ~district:sex + income, ...)`` has such a column for ``income``).

All margins share the variables that define independent *blocks* (``by``, e.g. year, plus every variable
common to all margins, e.g. district): the calibration matrix is block-diagonal, and because ``x_i`` only
depends on the respondent's *cell* (the combination of margin levels and numeric values inside the block),
every solve works on cell totals of the weights. With a continuous auxiliary (income) almost every
respondent is a cell of its own; the algebra is the same.

Checks made before any solve, each a :class:`~survey.errors.CalibrationError` naming the cell: a level with
population and no respondents, respondents without a population total or with population 0, numeric
auxiliaries that are missing, categorical margins of one block whose totals disagree (inconsistent margins:
no calibration can meet both), and bounds that one cell alone cannot meet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from survey.design import factorize_groups
from survey.errors import CalibrationError


@dataclass(frozen=True)
class Margin:
    """Population totals over the cross-classification of ``variables`` (see the module docstring).

    ``totals`` has one row per cell with the ``by`` variables of the calibration, ``variables`` and a
    column ``total``; for a numeric margin ``total`` is the population total of the column ``value``.
    """

    variables: tuple[str, ...]
    totals: pd.DataFrame
    value: str | None = None

    @property
    def name(self) -> str:
        base = "×".join(self.variables) if self.variables else "total"
        return f"{base}:{self.value}" if self.value else base


@dataclass(frozen=True, eq=False)
class CalibrationModel:
    """The block-diagonal calibration model, stored by cells, with what re-calibration needs.

    Row ``i`` has model-matrix row ``cell_x[cell[i]]`` in the columns of block ``block[i]``; the block's
    population totals are ``targets[block]``. ``prescale[b]`` is the factor applied to the design weights of
    block ``b`` before calibrating (their total brought to the population's, see
    :func:`survey.calibration.calibrate`), so the calibrated weights are ``w = d prescale g``.
    """

    block: npt.NDArray[np.int64]  # (n,) block code per row
    cell: npt.NDArray[np.int64]  # (n,) cell code per row
    cell_block: npt.NDArray[np.int64]  # (C,) block code of each cell
    cell_x: npt.NDArray[np.float64]  # (C, p) model-matrix row of each cell (block-local columns)
    block_labels: tuple[tuple[Any, ...], ...]  # label (tuple of block-variable values) of each block
    block_vars: tuple[str, ...]
    columns: tuple[str, ...]  # names of the p block-local columns, e.g. "sex=2"
    method: str
    bounds: tuple[float, float] | None
    targets: npt.NDArray[np.float64]  # (B, p) population totals
    column_margin: npt.NDArray[np.int64]  # (p,) margin index of each column
    margin_names: tuple[str, ...]
    numeric: npt.NDArray[np.bool_]  # (p,) True for the columns of numeric auxiliaries
    prescale: npt.NDArray[np.float64] | None = None  # (B,) factor on the design weights of each block
    maxit: int = 100
    epsilon: float = 1e-12
    trim: tuple[float, float] | None = None
    trim_mode: str = "recalibrate"

    @property
    def n_blocks(self) -> int:
        return len(self.block_labels)

    def where(self, b: int, col: int | None = None) -> str:
        """``year 2022, district Rissne, age_group 75-84``: the block (and column) in words."""
        parts = dict(zip(self.block_vars, self.block_labels[b]))
        text = cell_label(parts)
        if col is not None:
            text = (text + ", " if text else "") + self.columns[col].replace("=", " ")
        return text

    def start_weights(self, design_weights: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """``d prescale``: the weights calibration starts from."""
        d = np.asarray(design_weights, dtype=float)
        return d if self.prescale is None else d * self.prescale[self.block]

    def with_settings(self, **changes: Any) -> CalibrationModel:
        return replace(self, **changes)


def cell_label(keys: Mapping[str, Any]) -> str:
    """``{"year": 2022, "district": "Rissne"}`` → ``year 2022, district Rissne``."""
    return ", ".join(f"{k} {v}" for k, v in keys.items())


@dataclass(frozen=True, eq=False)
class _MarginColumns:
    names: list[str]
    row_level: np.ndarray  # (n,) level of each row
    tot_block: np.ndarray  # block of each totals row
    tot_level: np.ndarray  # level of each totals row
    totals: np.ndarray
    value_code: np.ndarray | None = None  # (n,) code of the numeric value (cells need it)
    value: np.ndarray | None = None  # (n,) the numeric value


@dataclass(frozen=True, eq=False)
class _Blocks:
    codes: npt.NDArray[np.int64]
    keys: pd.DataFrame
    labels: tuple[tuple[Any, ...], ...]
    variables: list[str]
    notes: list[str] = field(default_factory=list)


def _validate(data: pd.DataFrame, margins: Sequence[Margin], by: list[str]) -> None:
    if not margins:
        raise CalibrationError("kalibreringen behöver minst en marginal")
    for m in margins:
        cols = list(m.variables) + by + ([m.value] if m.value else [])
        missing = [v for v in cols if v not in data.columns]
        if missing:
            raise CalibrationError(f"marginalen {m.name}: svaren har ingen kolumn {missing[0]!r}")
        missing = [v for v in list(m.variables) + by + ["total"] if v not in m.totals.columns]
        if missing:
            raise CalibrationError(f"marginalen {m.name}: totalerna har ingen kolumn {missing[0]!r}")
        if m.value:
            v = pd.to_numeric(data[m.value], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            bad = ~np.isfinite(v)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                row = int(data["source_row"].iloc[i]) if "source_row" in data else i + 2
                raise CalibrationError(
                    f"hjälpvariabeln {m.value!r} saknas eller är inte ett tal för {int(bad.sum())} svarande "
                    f"(första: rad {row}); numeriska hjälpvariabler behöver ett värde för varje svarande"
                )


def _blocks(data: pd.DataFrame, margins: Sequence[Margin], by: list[str]) -> _Blocks:
    common = [v for v in margins[0].variables if all(v in m.variables for m in margins)]
    variables = by + [v for v in common if v not in by]
    codes, keys = factorize_groups(data, variables)
    labels = tuple(tuple(r) for r in keys.itertuples(index=False)) if variables else ((),)
    return _Blocks(codes=codes, keys=keys, labels=labels, variables=variables)


def _totals_blocks(m: Margin, blocks: _Blocks) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    """Rows of ``m.totals`` in blocks with respondents and their block codes; the others are noted."""
    tot = m.totals
    if not blocks.variables:
        return tot, np.zeros(len(tot), dtype=np.int64), []
    bk = blocks.keys.assign(_b=np.arange(len(blocks.keys)))
    tb = tot.merge(bk, on=blocks.variables, how="left")["_b"].to_numpy()
    unknown = np.isnan(tb.astype(float))
    notes = []
    if unknown.any():
        n_unk = tot.loc[unknown, blocks.variables].drop_duplicates().shape[0]
        notes.append(
            f"marginalen {m.name}: totaler för {n_unk} {'×'.join(blocks.variables)} utan svarande används inte"
        )
    return tot.loc[~unknown], tb[~unknown].astype(np.int64), notes


def _margin_columns(data: pd.DataFrame, m: Margin, blocks: _Blocks) -> tuple[_MarginColumns, pd.DataFrame, list[str]]:
    """Columns of one margin: one per level of its within-block variables (levels only the totals have are
    appended; population > 0 there is infeasible, checked later)."""
    rest = [v for v in m.variables if v not in blocks.variables]
    tot, tb, notes = _totals_blocks(m, blocks)
    suffix = f"×{m.value}" if m.value else ""
    if rest:
        row_level, levels = factorize_groups(data, rest)
        multi = len(rest) > 1
        tot_keys = pd.MultiIndex.from_frame(tot[rest]) if multi else pd.Index(tot[rest[0]])
        lev_keys = pd.MultiIndex.from_frame(levels) if multi else pd.Index(levels[rest[0]])
        tot_level = lev_keys.get_indexer(tot_keys)
        new_keys = tot_keys[tot_level < 0].unique()
        if len(new_keys):
            extra = pd.DataFrame(list(new_keys) if multi else {rest[0]: list(new_keys)}, columns=rest)
            levels = pd.concat([levels, extra], ignore_index=True)
            lev_keys = pd.MultiIndex.from_frame(levels) if multi else pd.Index(levels[rest[0]])
            tot_level = lev_keys.get_indexer(tot_keys)
        names = ["×".join(f"{v}={val}" for v, val in zip(rest, r)) + suffix for r in levels.itertuples(index=False)]
    else:
        levels = pd.DataFrame(index=[0])
        row_level = np.zeros(len(data), dtype=np.int64)
        tot_level = np.zeros(len(tot), dtype=np.int64)
        names = [m.value if m.value else "(" + "×".join(m.variables) + ")"]
    tvals = pd.to_numeric(tot["total"], errors="coerce").to_numpy(float)
    if np.any(~np.isfinite(tvals)) or (m.value is None and np.any(tvals < 0)):
        raise CalibrationError(f"marginalen {m.name}: totalerna måste vara ändliga tal" + ("" if m.value else " ≥ 0"))
    value = code = None
    if m.value:
        value = pd.to_numeric(data[m.value], errors="coerce").to_numpy(dtype=float)
        code = pd.factorize(value, sort=True)[0].astype(np.int64)
    cols = _MarginColumns(
        names=names,
        row_level=row_level.astype(np.int64),
        tot_block=tb,
        tot_level=tot_level.astype(np.int64),
        totals=tvals,
        value_code=code,
        value=value,
    )
    return cols, levels, notes


@dataclass(frozen=True, eq=False)
class CalibrationProblem:
    """A built model plus the notes of building it (ignored totals, collapsed cells)."""

    model: CalibrationModel
    notes: tuple[str, ...]

    @property
    def targets(self) -> npt.NDArray[np.float64]:
        return self.model.targets


def build_model(
    data: pd.DataFrame,
    margins: Sequence[Margin],
    by: Sequence[str],
    design_weights: np.ndarray,
    method: str = "raking",
    bounds: tuple[float, float] | None = None,
    collapse: Mapping[str, int] | None = None,
) -> CalibrationProblem:
    """Block-diagonal calibration model from categorical and numeric margins, with the feasibility checks of
    the module docstring and the pre-scaling factors of the design weights (see :func:`prescale_factors`).

    ``collapse`` (variable -> minimum respondents) merges, within a block, a level of that variable that has
    population but fewer respondents than the minimum into an adjacent level (see :func:`collapse_levels`).
    """
    by = list(by)
    _validate(data, margins, by)
    blocks = _blocks(data, margins, by)
    notes: list[str] = []
    parts: list[_MarginColumns] = []
    for m in margins:
        cols, levels, more = _margin_columns(data, m, blocks)
        notes.extend(more)
        rest = [v for v in m.variables if v not in blocks.variables]
        if collapse and len(rest) == 1 and rest[0] in collapse and m.value is None:
            rl, tl, merged = collapse_levels(
                blocks.codes,
                cols.row_level,
                cols.tot_block,
                cols.tot_level,
                cols.totals,
                levels[rest[0]].tolist(),
                int(collapse[rest[0]]),
            )
            cols = _MarginColumns(cols.names, rl, cols.tot_block, tl, cols.totals)
            notes.extend(
                f"{cell_label(dict(zip(blocks.variables, blocks.labels[b])))}: {rest[0]} {a} slogs ihop "
                f"med {b2} ({k} svarande < {int(collapse[rest[0]])})"
                for b, a, b2, k in merged
            )
        parts.append(cols)
    if collapse:
        within = {v for m in margins for v in m.variables if v not in blocks.variables}
        unknown_vars = sorted(set(collapse) - within)
        if unknown_vars:
            raise CalibrationError(
                f"--collapse: {unknown_vars[0]!r} är inte en variabel i någon marginal inom "
                f"{'×'.join(blocks.variables) or 'populationen'} (marginaler: "
                f"{', '.join(m.name for m in margins)})"
            )
    model = _assemble(blocks, parts, margins, method, bounds)
    check_feasible(
        model,
        np.bincount(model.cell, minlength=len(model.cell_block)).astype(float),
        np.ones(len(model.cell_block), dtype=bool),
    )
    check_consistent(model)
    d = np.asarray(design_weights, dtype=float)
    model = model.with_settings(prescale=prescale_factors(model, d))
    return CalibrationProblem(model=model, notes=tuple(notes))


def _assemble(
    blocks: _Blocks,
    parts: list[_MarginColumns],
    margins: Sequence[Margin],
    method: str,
    bounds: tuple[float, float] | None,
) -> CalibrationModel:
    """Targets per block and column; cells = unique (block, level of every margin, numeric values)."""
    n_blocks = len(blocks.labels)
    offsets = np.cumsum([0] + [len(c.names) for c in parts])
    p = int(offsets[-1])
    targets = np.zeros((n_blocks, p))
    has_target = np.zeros((n_blocks, p), dtype=bool)
    for off, c in zip(offsets, parts):
        np.add.at(targets, (c.tot_block, off + c.tot_level), c.totals)
        has_target[c.tot_block, off + c.tot_level] = True
    keys = [blocks.codes] + [c.row_level for c in parts] + [c.value_code for c in parts if c.value_code is not None]
    dims = [int(k.max()) + 1 if len(k) else 1 for k in keys]
    cell, first = _first_rows(keys, dims)
    cell_block = blocks.codes[first]
    cell_x = np.zeros((len(first), p))
    for off, c in zip(offsets, parts):
        cell_x[np.arange(len(first)), off + c.row_level[first]] = 1.0 if c.value is None else c.value[first]
    column_margin = np.repeat(np.arange(len(parts)), [len(c.names) for c in parts])
    numeric = np.repeat([m.value is not None for m in margins], [len(c.names) for c in parts])
    model = CalibrationModel(
        block=blocks.codes,
        cell=cell,
        cell_block=cell_block,
        cell_x=cell_x,
        block_labels=blocks.labels,
        block_vars=tuple(blocks.variables),
        columns=tuple(n for c in parts for n in c.names),
        method=method,
        bounds=bounds,
        targets=targets,
        column_margin=column_margin,
        margin_names=tuple(m.name for m in margins),
        numeric=numeric,
    )
    _check_totals_present(model, has_target)
    return model


def _first_rows(keys: list[np.ndarray], dims: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Cell code of every row (cells sorted by key) and the first row of each cell."""
    key = np.ravel_multi_index(tuple(keys), dims)
    uniq, first, cell = np.unique(key, return_index=True, return_inverse=True)
    return cell.astype(np.int64).ravel(), first.astype(np.int64)


def _support(model: CalibrationModel, n_cell: np.ndarray) -> np.ndarray:
    """(B, p): per block and column, the sum over cells of ``n_cell |x|`` (0 = no respondent carries it)."""
    out = np.zeros((model.n_blocks, model.cell_x.shape[1]))
    np.add.at(out, model.cell_block, np.abs(model.cell_x) * n_cell[:, None])
    return out


def _check_totals_present(model: CalibrationModel, has_target: np.ndarray) -> None:
    n_cell = np.bincount(model.cell, minlength=len(model.cell_block)).astype(float)
    counts = np.zeros_like(has_target, dtype=float)
    np.add.at(counts, model.cell_block, (model.cell_x != 0) * n_cell[:, None])
    no_total = (counts > 0) & ~has_target
    if no_total.any():
        b, c = np.argwhere(no_total)[0]
        raise CalibrationError(
            f"populationstotal saknas för {model.where(b, c)}, som har {int(counts[b, c])} svarande; lägg till "
            f"cellen i populationsfilen"
        )


def check_feasible(model: CalibrationModel, n_cell: np.ndarray, positive: np.ndarray, what: str = "") -> None:
    """Respondents against totals, per block and column: population without respondents (of positive
    weight, ``positive`` per cell) and respondents in a level with population 0 are errors naming the cell."""
    support = _support(model, n_cell * positive)
    targets = model.targets
    cat = ~model.numeric if model.numeric is not None else np.ones(targets.shape[1], dtype=bool)
    empty = (targets != 0) & (support == 0)
    if empty.any():
        b, c = np.argwhere(empty)[0]
        pre = f"{what}: " if what else ""
        if cat[c]:
            raise CalibrationError(
                f"{pre}kalibreringen är omöjlig: {model.where(b, c)} har populationen {targets[b, c]:g} men inga "
                f"svarande ({int(empty.sum())} sådana celler); slå ihop den med en angränsande kategori "
                f"(trygghet run --collapse {model.columns[c].split('=')[0]}) eller ta bort marginalen"
            )
        raise CalibrationError(
            f"{pre}kalibreringen är omöjlig: {model.where(b, c)} har populationstotalen {targets[b, c]:g} men "
            f"ingen svarande med ett värde skilt från 0; ta bort hjälpvariabeln eller slå ihop områden"
        )
    zero_pop = (targets == 0) & (support > 0) & cat[None, :]
    if zero_pop.any():
        b, c = np.argwhere(zero_pop)[0]
        raise CalibrationError(
            f"{model.where(b, c)} har {int(support[b, c])} svarande men populationen 0; rätta populationsfilen "
            f"eller slå ihop cellen med en angränsande kategori (--collapse)"
        )


def check_consistent(model: CalibrationModel, rel: float = 1e-9) -> None:
    """Categorical margins of one block must have the same total (each sums to the block's population);
    otherwise no weights can meet them all: an error naming the block, both margins and both totals."""
    cat_margins = [j for j in range(len(model.margin_names)) if not model.numeric[model.column_margin == j].any()]
    if len(cat_margins) < 2:
        return
    sums = np.stack([model.targets[:, model.column_margin == j].sum(axis=1) for j in cat_margins], axis=1)
    ref = sums[:, :1]
    bad = np.abs(sums - ref) > rel * np.maximum(np.abs(ref), 1.0)
    if bad.any():
        b, j = np.argwhere(bad)[0]
        a_name, b_name = model.margin_names[cat_margins[0]], model.margin_names[cat_margins[j]]
        raise CalibrationError(
            f"marginalerna är inkonsistenta i {model.where(b)}: {a_name} summerar till {sums[b, 0]:g} men "
            f"{b_name} till {sums[b, j]:g}; båda ska vara blockets befolkning. Rätta populationsfilen "
            f"(ingen kalibrering kan uppfylla båda)"
        )


def prescale_factors(model: CalibrationModel, design_weights: np.ndarray) -> np.ndarray:
    """Per block ``s_b = N_b / sum_{i in b} d_i x_i``-total of the first categorical margin (the block's
    population over the design-weighted count), or of the first numeric margin's columns when there is no
    categorical one (a ratio estimator's factor); 1 when that is not positive.

    ``s(c d) = s(d) / c``, so the starting weights ``d s`` and every calibration from them do not depend on
    the scale the design weights were delivered on (normalised to mean 1, to the sample size or to the
    population). When the design weights already sum to ``N_b``, ``s_b = 1``.
    """
    d = np.asarray(design_weights, dtype=float)
    cat = [j for j in range(len(model.margin_names)) if not model.numeric[model.column_margin == j].any()]
    j = cat[0] if cat else 0
    cols = model.column_margin == j
    dc = np.bincount(model.cell, weights=d, minlength=len(model.cell_block))
    est = np.zeros(model.n_blocks)
    np.add.at(est, model.cell_block, dc * model.cell_x[:, cols].sum(axis=1))
    pop = model.targets[:, cols].sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where((est > 0) & (pop > 0), pop / est, 1.0)
    return s


def check_bounds(model: CalibrationModel, dc: np.ndarray, lower: float, upper: float) -> None:
    """A categorical column whose cells all sit in it needs the average ``g = X_j / sum_c D_c x_cj``; when
    that lies outside ``[lower, upper]`` no bounded calibration can meet it: an error naming the bounds and
    the cell (``dc``: cell totals of the starting weights)."""
    cat = ~model.numeric
    if not cat.any():
        return
    est = np.zeros(model.targets.shape)
    np.add.at(est, model.cell_block, dc[:, None] * model.cell_x)
    with np.errstate(divide="ignore", invalid="ignore"):
        need = np.where(est > 0, model.targets / est, 1.0)
    tol = 1e-9
    bad = cat[None, :] & (est > 0) & ((need < lower * (1 - tol)) | (need > upper * (1 + tol)))
    if bad.any():
        b, c = np.argwhere(bad)[0]
        raise CalibrationError(
            f"gränserna [{lower:g}, {upper:g}] för g-vikterna kan inte uppfyllas: {model.where(b, c)} behöver "
            f"i genomsnitt g = {need[b, c]:.4g} (population {model.targets[b, c]:g}, vägd urvalssumma "
            f"{est[b, c]:.4g}); vidga gränserna (--lower/--upper), slå ihop cellen (--collapse) eller "
            f"använd raking utan gränser"
        )


def collapse_levels(
    block: np.ndarray,
    row_level: np.ndarray,
    tot_block: np.ndarray,
    tot_level: np.ndarray,
    totals: np.ndarray,
    levels: list[Any],
    min_respondents: int,
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
    pop = np.bincount(tot_block * n_levels + tot_level, weights=totals, minlength=n_blocks * n_levels).reshape(
        n_blocks, n_levels
    )
    order = sorted(range(n_levels), key=lambda j: str(levels[j]))
    mapping = np.tile(np.arange(n_levels), (n_blocks, 1))
    merged: list[tuple[int, object, object, int]] = []
    for b in np.flatnonzero(((pop > 0) & (counts < min_respondents)).any(axis=1)):  # only blocks in need
        groups = _merge_groups(counts[b], pop[b], order, min_respondents)
        for i, k, n_i in groups[1]:
            merged.append((int(b), levels[i], levels[k], n_i))
        for g in groups[0]:
            mapping[b, g] = g[0]
    return mapping[block, row_level], mapping[tot_block, tot_level], merged


def _merge_groups(
    counts: np.ndarray, pop: np.ndarray, order: list[int], min_respondents: int
) -> tuple[list[list[int]], list[tuple[int, int, int]]]:
    """Groups of levels after merging small ones into their smaller neighbour (see :func:`collapse_levels`)."""
    groups = [[j] for j in order]
    merges: list[tuple[int, int, int]] = []
    while True:
        n_g = [int(counts[g].sum()) for g in groups]
        p_g = [float(pop[g].sum()) for g in groups]
        small = [i for i in range(len(groups)) if p_g[i] > 0 and n_g[i] < min_respondents]
        if not small or len(groups) == 1:
            return groups, merges
        i = small[0]
        nbrs = [k for k in (i - 1, i + 1) if 0 <= k < len(groups)]
        k = min(nbrs, key=lambda kk: (n_g[kk], kk))
        merges.append((groups[i][0], groups[k][0], n_g[i]))
        lo, hi = sorted((i, k))
        groups[lo : hi + 1] = [groups[lo] + groups[hi]]


def margins_from_population(
    population: pd.DataFrame,
    categorical: Sequence[Sequence[str]],
    numeric: Mapping[str, Sequence[str]] | None = None,
    *,
    by: Sequence[str] = ("year",),
    count: str = "population",
) -> list[Margin]:
    """Margins from a population file of cells (e.g. year × district × sex × age_group): categorical margins
    sum ``count`` over each of ``categorical`` (e.g. ``[("district", "sex"), ("district", "age_group")]``);
    ``numeric`` maps a column of the population file that holds the cell's total of a numeric auxiliary
    (e.g. ``born_abroad`` = people born abroad, ``income`` = total income) to the variables it is calibrated
    within (e.g. ``{"born_abroad": ("district",)}``); the responses must have a column of the same name."""
    out = []
    for mvars in categorical:
        cols = list(by) + [v for v in mvars if v not in by]
        tot = population.groupby(cols, as_index=False, sort=True)[[count]].sum()
        out.append(Margin(tuple(mvars), tot.rename(columns={count: "total"})))
    for value, mvars in (numeric or {}).items():
        if value not in population.columns:
            raise CalibrationError(f"populationsfilen har ingen kolumn {value!r} med totaler för hjälpvariabeln")
        cols = list(by) + [v for v in mvars if v not in by]
        tot = population.groupby(cols, as_index=False, sort=True)[[value]].sum()
        out.append(Margin(tuple(mvars), tot.rename(columns={value: "total"}), value=value))
    return out
