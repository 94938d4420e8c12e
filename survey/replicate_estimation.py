"""Replicate variance for the published tables: shares per year × district and Totalt with JKn or bootstrap
SEs, re-calibrated in every replicate, and replicate weights exported for analysts.

:func:`replicate_share_tables` is the replicate counterpart of
:func:`survey.estimation.estimate_shares`: the same estimates (the full-sample weights are the design's
calibrated weights), the same frame (columns ``year, district, indicator, estimate, se, ci_low, ci_high,
n, suppressed, df, deff, weighted_base, ...``, contract row order), with

* ``se`` from the replicates, ``V = scale sum_r rscale_r (theta_r - c)^2`` (:mod:`survey.replication`),
  every replicate re-calibrated with the design's calibration model (targets, method, bounds, trim,
  pre-scaling: :func:`survey.replication.recalibrate_model`; infeasible replicates collapse the empty
  cell in that replicate, see there);
* the CIs (logit, Korn–Graubard, Wilson), ``deff`` (``deff_lin × (se / se_lin)^2``) and the suppression
  flag recomputed with that SE; ``df`` kept from the design (PSUs − strata in the domain, as for the
  linearised table: R uses the rank of the replicate weights − 1, which for JKn is the same count);
* extra columns ``se_linearised`` and ``variance`` (e.g. ``bootstrap:500``);
* ``cov_district_total`` (for :func:`survey.estimation.compare`'s district vs Totalt test) from the
  replicates, ``scale sum_r rscale_r (theta_dr - c_d)(theta_Tr - c_T)``.

:func:`export_replicate_weights` writes what R's ``svrepdesign`` expects (Lumley 2010, sec. 2.5):
the full-sample weight and the ``R`` replicate weights (re-calibrated, ``combined.weights = TRUE``), with
``type``, ``scale``, ``rscales`` and ``mse`` and the R call that reads them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd

from survey.calibration_model import CalibrationModel
from survey.design import Design, factorize_groups
from survey.errors import DesignError
from survey.estimation import (
    TOTAL_LABEL,
    ShareTables,
    estimate_shares,
    indicator_matrices,
    indicator_states,
    korn_graubard_ci,
    logit_ci,
    wilson_ci,
)
from survey.indicators import Indicator
from survey.replicate_atoms import MIN_PAIRS_PER_ATOM, AtomLayout, ReplicateBlock, atom_block, atom_layout
from survey.replication import (
    ReplicateEstimates,
    ReplicateWeights,
    bootstrap_replicates,
    domain_replicates,
    jackknife_replicates,
    recalibrate_model,
    replicate_variance,
)

ReplicateMethod = Literal["jackknife", "bootstrap"]
REPLICATE_METHODS: tuple[str, ...] = ("jackknife", "bootstrap")


def replicate_scheme(
    design: Design, method: ReplicateMethod = "bootstrap", replicates: int = 500, seed: int | None = 0
) -> ReplicateWeights:
    """JKn or Rao–Wu bootstrap replicates of ``design`` before re-calibration: from the design weights when
    the design is calibrated (re-calibrated by :func:`recalibrate_model` with ``design.calibration``), from
    its final weights when it is not."""
    if method not in REPLICATE_METHODS:
        raise DesignError(f"okänd replikatmetod {method!r}; välj en av {REPLICATE_METHODS}")
    base = design if design.calibration is not None else replace(design, design_weights=design.weights, _cache={})
    return jackknife_replicates(base) if method == "jackknife" else bootstrap_replicates(base, replicates, seed)


def design_replicates(
    design: Design, method: ReplicateMethod = "bootstrap", replicates: int = 500, seed: int | None = 0
) -> ReplicateWeights:
    """JKn or Rao–Wu bootstrap replicates of ``design`` (:func:`replicate_scheme`), re-calibrated with
    ``design.calibration`` when the design is calibrated."""
    reps = replicate_scheme(design, method, replicates, seed)
    if design.calibration is not None:
        reps = recalibrate_model(reps, design.calibration, infeasible="collapse")
    return reps


# --- replicates in blocks ------------------------------------------------------------------------------
ReplicatePath = Literal["auto", "atoms", "rows"]
_NO_ROWS = np.zeros(0, dtype=np.int64)


@dataclass(frozen=True, eq=False)
class ReplicateInputs:
    """What every block of replicates shares: the replicate scheme before re-calibration (its bootstrap
    draws are made by the block that needs them), the calibration model (None: not re-calibrated) and either
    the atom layout of the fast path (:mod:`survey.replicate_atoms`) or, for the row path, the indicator
    matrices ``num = y * base`` and ``den = base`` (n, k) and the domain codes of each table,
    ``(codes (n,), number of domains)``."""

    scheme: ReplicateWeights
    model: CalibrationModel | None
    domains: tuple[tuple[np.ndarray, int], ...]
    num: np.ndarray | None = None
    den: np.ndarray | None = None
    atoms: AtomLayout | None = None


@dataclass(frozen=True)
class ReplicateRange:
    """A block: replicates ``start..stop-1`` of the scheme (all a worker is sent per block)."""

    start: int
    stop: int


BlockFunction = Callable[[ReplicateInputs, ReplicateRange], ReplicateBlock]
# How blocks are run: ``map_blocks(fn, inputs, parts)`` returns ``[fn(inputs, p) for p in parts]`` in order
# (in this process by default; the flows send the parts to Dask workers, ``flows.dask_runner``).
BlockMap = Callable[[BlockFunction, ReplicateInputs, list[ReplicateRange]], list[ReplicateBlock]]


def map_in_process(fn: BlockFunction, inputs: ReplicateInputs, parts: list[ReplicateRange]) -> list[ReplicateBlock]:
    """The default :data:`BlockMap`: the blocks one after another in this process."""
    return [fn(inputs, p) for p in parts]


@dataclass(frozen=True)
class BlockRunner:
    """How the replicates are computed: blocks of ``block_size`` replicates, or cut into ``n_blocks``
    blocks of (nearly) equal size (one per Dask worker), or one block when neither is given; run by ``map``
    (a :data:`BlockMap`). ``block_size`` wins when both are given."""

    block_size: int | None = None
    map: BlockMap = map_in_process
    n_blocks: int | None = None


def replicate_ranges(
    n_replicates: int, block_size: int | None = None, n_blocks: int | None = None
) -> list[ReplicateRange]:
    """The replicates cut into blocks of ``block_size`` consecutive replicates, else into ``n_blocks``
    blocks of ``ceil(R / n_blocks)`` (the last one shorter), else one block."""
    if block_size is not None:
        size = max(1, int(block_size))
    elif n_blocks is not None:
        size = max(1, -(-n_replicates // max(1, int(n_blocks))))
    else:
        size = max(1, n_replicates)
    return [ReplicateRange(r0, min(n_replicates, r0 + size)) for r0 in range(0, n_replicates, size)]


def replicate_block(inputs: ReplicateInputs, block: ReplicateRange) -> ReplicateBlock:
    """Re-calibrate the replicates of one block and estimate every domain ratio with them: for each
    replicate ``r`` of the block and each table, ``theta_r(g, k) = sum_{i in g} w_ir num_ik / sum_{i in g}
    w_ir den_ik`` with ``w_ir = d*_i a_{p(i) r} g_{c(i) r}``, from atom totals
    (:func:`survey.replicate_atoms.atom_block`) or row by row (:func:`survey.replication.recalibrate_model`,
    :func:`survey.replication.domain_replicates`). Each replicate's draws, calibration and estimates depend on
    that replicate alone, so any cut into blocks gives the replicates of the uncut computation, bit for bit.
    A pure function of its arguments (no IO), the unit of work of a Dask worker."""
    part = inputs.scheme.subset(block.start, block.stop)
    if inputs.atoms is not None:
        return atom_block(inputs.atoms, part, inputs.model, infeasible="collapse")
    if inputs.num is None:
        raise DesignError("replikatblocket saknar både atomer och indikatormatriser")
    reps = part if inputs.model is None else recalibrate_model(part, inputs.model, infeasible="collapse")
    estimates = tuple(domain_replicates(reps, inputs.num, inputs.den, codes, n) for codes, n in inputs.domains)
    return ReplicateBlock(
        estimates=estimates,
        cell_g=reps.cell_g if inputs.model is not None else None,
        full_cell_g=reps.full_cell_g if inputs.model is not None else None,
        iterations=reps.iterations,
        collapsed=reps.collapsed,
    )


def replicate_inputs(
    scheme: ReplicateWeights,
    model: CalibrationModel | None,
    num: np.ndarray,
    den: np.ndarray,
    domains: tuple[tuple[np.ndarray, int], ...],
    path: ReplicatePath = "auto",
) -> ReplicateInputs:
    """The inputs of the blocks: the atom layout where it applies (``path="auto"``; ``"atoms"`` insists,
    a DesignError where it cannot apply; ``"rows"`` never uses it), else the row path's matrices."""
    if path not in ("auto", "atoms", "rows"):
        raise DesignError(f"okänd replikatväg {path!r}; välj auto, atoms eller rows")
    atoms = None
    if path != "rows":
        atoms = atom_layout(scheme, model, num, den, domains, min_pairs=0 if path == "atoms" else MIN_PAIRS_PER_ATOM)
        if atoms is None and path == "atoms":
            raise DesignError(
                "atomvägen för replikat gäller bara bootstrap med andelar (heltal 0..255 i täljare och nämnare)"
            )
    if atoms is not None:  # the blocks need the draws, the cell model and the atoms: no row-level array
        cells = None if model is None else replace(model, block=_NO_ROWS, cell=_NO_ROWS)
        return ReplicateInputs(scheme=scheme.draws_only(), model=cells, domains=(), atoms=atoms)
    return ReplicateInputs(scheme=scheme, model=model, domains=domains, num=num, den=den)


def combine_blocks(
    reps: ReplicateWeights, model: CalibrationModel | None, blocks: list[ReplicateBlock]
) -> tuple[ReplicateWeights, tuple[ReplicateEstimates, ...]]:
    """The blocks (in replicate order) put together: the re-calibrated replicate weights of all replicates
    and, per table, the replicate estimates of all replicates with the scheme's ``scale`` and ``rscales``."""
    tables = []
    for t in range(len(blocks[0].estimates)):
        parts = [b.estimates[t] for b in blocks]
        tables.append(
            ReplicateEstimates(
                estimate=parts[0].estimate,
                replicates=np.concatenate([p.replicates for p in parts], axis=0),
                scale=reps.scale,
                rscales=np.asarray(reps.rscales, dtype=float),
            )
        )
    if model is not None:
        reps = replace(
            reps,
            design_weights=model.start_weights(reps.design_weights),
            calibration=model,
            cell_g=np.concatenate([b.cell_g for b in blocks if b.cell_g is not None], axis=1),
            full_cell_g=blocks[0].full_cell_g,
            iterations=max(b.iterations for b in blocks),
            collapsed=sum(b.collapsed for b in blocks),
        )
    return reps, tuple(tables)


def _replicate_covariance(a: ReplicateEstimates, b: ReplicateEstimates, a_of_b: np.ndarray, mse: bool) -> np.ndarray:
    """``scale sum_r rscale_r (theta^a_r - c_a)(theta^b_r - c_b)`` for domains of ``a`` paired with the domain
    ``a_of_b[g]`` of ``b`` (the Totalt of a district's year), replicates with a NaN left out."""
    ta, tb = a.replicates, b.replicates[:, a_of_b]
    rs = np.asarray(a.rscales, dtype=float)[:, None, None]
    ok = ~(np.isnan(ta) | np.isnan(tb))

    def centre(th: np.ndarray, est: np.ndarray) -> np.ndarray:
        if mse:
            return est
        use = ok & (rs > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(use, th, 0.0).sum(axis=0) / use.sum(axis=0)

    da = np.where(ok, ta - centre(ta, a.estimate), 0.0)
    db = np.where(ok, tb - centre(tb, b.estimate[a_of_b]), 0.0)
    return a.scale * np.sum(rs * da * db, axis=0)


@dataclass(frozen=True, eq=False)
class ReplicateShareTables:
    """The share tables with replicate SEs, and the replicate weights that produced them."""

    tables: ShareTables
    replicates: ReplicateWeights
    path: str = "rows"  # how the replicate estimates were computed: "atoms" (the fast path) or "rows"


def with_intervals(frame: pd.DataFrame, min_n: int, max_rse: float | None, level: float) -> pd.DataFrame:
    """``frame`` (columns estimate, se, n, df) with the logit, Korn–Graubard and Wilson CIs and the
    suppression flag (``n < min_n``, or relative SE above ``max_rse``) computed from them, as
    :func:`survey.estimation.estimate_shares` does; domains without respondents get NaN."""
    f = frame.copy()
    p, s, n, df = (f[c].to_numpy(float) for c in ("estimate", "se", "n", "df"))
    f["ci_low"], f["ci_high"] = logit_ci(p, s, df, level)
    f["ci_low_kg"], f["ci_high_kg"] = korn_graubard_ci(p, s, n, df, level)
    f["ci_low_wilson"], f["ci_high_wilson"] = wilson_ci(p, s, n, df, level)
    supp = n < min_n
    if max_rse is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            supp = supp | ~(s / p <= max_rse)
    f["suppressed"] = supp
    empty = f["n"] == 0
    f.loc[empty, [c for c in ("estimate", "se", "ci_low", "ci_high", "deff") if c in f]] = np.nan
    return f


def _refresh(
    frame: pd.DataFrame, se: pd.Series, min_n: int, max_rse: float | None, level: float, label: str
) -> pd.DataFrame:
    """The estimates frame with ``se`` replaced and everything that depends on it recomputed."""
    f = frame.copy()
    f["se_linearised"] = f["se"]
    f["se"] = se.to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        f["deff"] = f["deff"] * (f["se"] / f["se_linearised"]) ** 2
    f = with_intervals(f, min_n, max_rse, level)
    f["variance"] = label
    return f


def replicate_share_tables(
    design: Design,
    data: pd.DataFrame,
    indicators: Sequence[Indicator],
    *,
    method: ReplicateMethod = "bootstrap",
    replicates: int = 500,
    seed: int | None = 0,
    mse: bool = False,
    min_n: int = 30,
    max_rse: float | None = None,
    level: float = 0.95,
    blocks: BlockRunner | None = None,
    path: ReplicatePath = "auto",
) -> ReplicateShareTables:
    """Shares per year × district and per year (Totalt) for every indicator with replicate SEs (module
    docstring). ``replicates`` and ``seed`` are for the bootstrap (JKn has one replicate per PSU).

    The replicates are computed by :func:`replicate_block` in the blocks of ``blocks`` (default: one block
    in this process; the flows' Dask runner sends them to workers), from atom totals where that is exact
    (``path``, see :func:`replicate_inputs`); each block makes its own replicates' draws, which depend on the
    replicate alone, so the numbers do not depend on how the replicates are cut or who runs the blocks."""
    lin = estimate_shares(design, data, indicators, min_n=min_n, max_rse=max_rse, level=level, with_comparisons=False)
    scheme = replicate_scheme(design, method, replicates, seed)
    dcode, dkeys = factorize_groups(data, ["year", "district"])
    ycode, ykeys = factorize_groups(data, ["year"])
    domains = ((dcode, len(dkeys)), (ycode, len(ykeys)))
    inputs = None
    if path != "rows" and scheme.bootstrap:  # the atom path reads the answers as 0/1 states, no float matrices
        states = indicator_states(data, indicators)
        inputs = replicate_inputs(scheme, design.calibration, states == 2, states >= 1, domains, path)
    if inputs is None or inputs.atoms is None:
        y, base = indicator_matrices(data, indicators)
        inputs = replicate_inputs(scheme, design.calibration, y * base, base, domains, path)
    runner = blocks or BlockRunner()
    done = runner.map(
        replicate_block, inputs, replicate_ranges(scheme.n_replicates, runner.block_size, runner.n_blocks)
    )
    reps, (rd, rt) = combine_blocks(scheme, design.calibration, done)
    se_d, se_t = np.sqrt(replicate_variance(rd, mse=mse)), np.sqrt(replicate_variance(rt, mse=mse))
    names = [ind.name for ind in indicators]
    keys = pd.concat(
        [dkeys[["year", "district"]], ykeys.assign(district=TOTAL_LABEL)[["year", "district"]]], ignore_index=True
    )
    long = keys.loc[keys.index.repeat(len(names))].reset_index(drop=True)
    long["indicator"] = np.tile(np.asarray(names, dtype=object), len(keys))
    long["se_rep"] = np.concatenate([se_d.ravel(), se_t.ravel()])
    idx = pd.MultiIndex.from_frame(lin.estimates[["year", "district", "indicator"]].astype({"year": np.int64}))
    se = long.astype({"year": np.int64}).set_index(["year", "district", "indicator"])["se_rep"].reindex(idx)
    label = "jackknife" if method == "jackknife" else f"bootstrap:{reps.n_replicates}"
    est = _refresh(lin.estimates, se, min_n, max_rse, level, label)
    year_of = pd.Index(ykeys["year"]).get_indexer(dkeys["year"])
    cov = _replicate_covariance(rd, rt, year_of, mse)
    tables = replace(
        lin,
        estimates=est,
        district=replace(lin.district, se=np.where(lin.district.n > 0, se_d, np.nan)),
        total=replace(lin.total, se=np.where(lin.total.n > 0, se_t, np.nan)),
        cov_district_total=cov,
    )
    return ReplicateShareTables(tables=tables, replicates=reps, path="rows" if inputs.atoms is None else "atoms")


def export_replicate_weights(
    replicates: ReplicateWeights, ids: pd.DataFrame, *, mse: bool = False
) -> tuple[pd.DataFrame, dict[str, object]]:
    """Replicate weights for analysts: ``ids`` (e.g. resp_id, year, in the design's row order), ``weight`` (the
    full-sample weight) and ``rep1..repR`` (the re-calibrated replicate weights), plus what R's
    ``svrepdesign`` needs: ``type`` (``JKn`` or ``bootstrap``), ``scale``, ``rscales``, ``mse`` and the call
    ``svrepdesign(data = d, weights = ~weight, repweights = "rep[0-9]+", type = ..., scale = ...,
    rscales = ..., combined.weights = TRUE, mse = ...)``."""
    if len(ids) != replicates.n:
        raise DesignError(f"{len(ids)} id-rader för en replikatdesign med {replicates.n} rader")
    n_rep = replicates.n_replicates
    w = np.empty((replicates.n, n_rep))
    step = replicates.chunk_size()
    for r0 in range(0, n_rep, step):
        r1 = min(n_rep, r0 + step)
        w[:, r0:r1] = replicates.replicate_weights(r0, r1)
    out = pd.concat(
        [
            ids.reset_index(drop=True),
            pd.DataFrame({"weight": replicates.full_weights()}),
            pd.DataFrame(w, columns=[f"rep{r + 1}" for r in range(n_rep)]),
        ],
        axis=1,
    )
    return out, replicate_design_meta(replicates, mse=mse)


def replicate_design_meta(replicates: ReplicateWeights, *, mse: bool = False) -> dict[str, object]:
    """What R's ``svrepdesign`` needs to read the exported replicate weights (``type``, ``scale``,
    ``rscales``, ``mse``, the call) and how many replicate cells were collapsed; cheap, unlike the weights."""
    kind = "JKn" if replicates.kind == "JKn" else "bootstrap"
    rscales = [float(v) for v in replicates.rscales]
    call = (
        f'svrepdesign(data = d, weights = ~weight, repweights = "rep[0-9]+", type = "{kind}", '
        f'scale = {replicates.scale!r}, rscales = scan("rscales.txt"), combined.weights = TRUE, '
        f"mse = {'TRUE' if mse else 'FALSE'})"
    )
    return {
        "type": kind,
        "scale": float(replicates.scale),
        "rscales": rscales,
        "mse": mse,
        "combined_weights": True,
        "replicates": int(replicates.n_replicates),
        # (replicate, cell) pairs whose re-calibration was infeasible and merged with a neighbouring cell
        "collapsed_cells": int(replicates.collapsed),
        "r_call": call,
    }
