"""Bootstrap replicate estimates of domain shares from atom totals: the fast path of replicate variance.

For domain ratios ``theta_r(g, k) = sum_{i in g} w_ir num_ik / sum_{i in g} w_ir den_ik`` with the
re-calibrated replicate weights ``w_ir = d*_i a_{p(i) r} g_{c(i) r}`` (:mod:`survey.replication`),
everything a replicate needs is a sum over the rows of an *atom*: the rows that share the stratum, the
starting weight ``d*``, the calibration cell and the domain of every table. Within an atom a *pair* ``p``
is the atom's rows of one PSU ``j(p)`` (for an element design, one row), with the integer vector
``V_p = (rows, sum den_1..k, sum num_1..k)``. The bootstrap factors are ``a_jr = alpha_h + beta_h k_jr``
(:mod:`survey.replicate_weights`; ``alpha``, ``beta`` per stratum), so

    T_r[a] = d*_a (alpha_a sum_{p in a} V_p + beta_a C_r[a]),   C_r[a] = sum_{p in a} k_{j(p) r} V_p,

where ``C`` is one integer matrix product per atom, (replicates × pairs) draw counts times (pairs × (2k + 1))
values, computed in float32 while every sum stays below 2^24 (else float64): exact, so bit for bit the
same whatever the order of the sums, and therefore however the replicates are cut into blocks. Then

* ``D_cr = sum_{a in c} T_r[a, rows]`` are the cell totals of ``d* a`` and ``N_cr`` the respondents of
  positive weight per cell, from which :func:`survey.replication.recalibrate_cells` re-calibrates each
  replicate (the solver and rules of the row path) to ``g_cr``;
* ``theta_r(g, k) = sum_{a in g} g_{c(a) r} T_r[a, num_k] / sum_{a in g} g_{c(a) r} T_r[a, den_k]``.

The same numbers as the row path (:func:`survey.replication.recalibrate_model` and
:func:`survey.replication.domain_replicates`) in exact arithmetic; in floating point they differ by the order
of the sums (relative 1e-15; the tests compare to 1e-12 for every calibration method). Exact for any
calibration that depends on a row through its cell (raking, linear, logit, bounds, trimming, numeric
auxiliaries): the model is always on cell totals. Cost: the draws, one gather of the (replicates × pairs)
counts, the integer product and work on atoms — never an n × R float matrix.

:func:`atom_layout` builds the layout, or returns None where the path does not apply: a scheme that is not
a bootstrap, ``num``/``den`` that are not integers in 0..255 (the 0/1 indicators of shares are), factors
``alpha < 0``, or fewer than :data:`MIN_PAIRS_PER_ATOM` pairs per atom on average (a continuous auxiliary
makes almost every respondent its own cell: the per-atom products would be too small to pay).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from survey.calibration_model import CalibrationModel
from survey.design import combine_codes
from survey.errors import DesignError
from survey.replicate_weights import ReplicateWeights
from survey.replication import Infeasible, ReplicateEstimates, full_recalibration, recalibrate_cells

MIN_PAIRS_PER_ATOM = 4  # below this on average the row path is used
CHUNK_COUNTS = 64_000_000  # (replicates × pairs) draw counts per chunk, in bytes
CHUNK_TOTALS = 32_000_000  # (atoms × replicates × values) totals per chunk, in values
EXACT_FLOAT32 = 1 << 24  # integer sums below this are exact in float32


@dataclass(frozen=True, eq=False)
class AtomLayout:
    """Pairs (atom, PSU) sorted by atom and what each atom shares (module docstring).

    Attributes:
        pair_pos: (P',) position (:meth:`ReplicateWeights.position_psu`) of each pair's PSU.
        cuts: (A + 1,) the pairs of atom ``a`` are ``cuts[a]:cuts[a + 1]``.
        values: (P', 2k + 1) unsigned integers ``V_p`` (rows, den sums, num sums).
        sums: (A, 2k + 1) ``sum_{p in a} V_p``.
        d, alpha, beta: (A,) ``d*`` and the factor map of each atom.
        cell: (A,) calibration cell of each atom (0 without calibration).
        domains: per table (domain code of each atom, -1 outside; number of domains).
        exact32: the products are exact in float32.
    """

    pair_pos: np.ndarray
    cuts: np.ndarray
    values: np.ndarray
    sums: np.ndarray
    d: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray
    cell: np.ndarray
    n_cells: int
    domains: tuple[tuple[np.ndarray, int], ...]
    exact32: bool
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def n_atoms(self) -> int:
        return len(self.d)

    @property
    def k(self) -> int:
        return (self.values.shape[1] - 1) // 2

    def __getstate__(self) -> dict[str, Any]:  # what a Dask worker is sent: never the float caches
        state = dict(self.__dict__)
        state["_cache"] = {}
        return state

    def floats(self) -> np.ndarray:
        """``values`` as the product's float type (float32 when exact), made once per process."""
        if "values" not in self._cache:
            self._cache["values"] = self.values.astype(np.float32 if self.exact32 else np.float64)
        return self._cache["values"]

    def sum_matrix(self, codes: np.ndarray, n_groups: int) -> sp.csr_matrix:
        """(groups × atoms) 0/1 matrix of ``codes`` (atoms with code < 0 in no group)."""
        inside = np.flatnonzero(codes >= 0)
        ones = np.ones(len(inside))
        return sp.csr_matrix((ones, (codes[inside], inside)), shape=(n_groups, self.n_atoms))


def _small_integers(values: np.ndarray) -> bool:
    """True when ``values`` are integers in 0..255 (bit for bit)."""
    if values.size == 0 or values.dtype in (np.bool_, np.uint8):
        return True
    if values.min() < 0 or values.max() > 255:
        return False
    return bool(np.array_equal(values, values.astype(np.uint8)))


def _row_values(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """(n, 2k + 1) uint8 ``(1, den, num)`` per row."""
    n, k = num.shape
    out = np.empty((n, 2 * k + 1), dtype=np.uint8)
    out[:, 0] = 1
    out[:, 1 : k + 1] = den
    out[:, k + 1 :] = num
    return out


def _per_atom(values: np.ndarray, atom: np.ndarray, n_atoms: int) -> np.ndarray | None:
    """The value of each atom when ``values`` is constant within every atom (bit for bit), else None."""
    per = np.zeros(n_atoms)
    per[atom] = values
    return per if np.array_equal(per[atom], values) else None


def atom_layout(  # long: the conditions of the fast path, then the pairs, read in order
    reps: ReplicateWeights,
    model: CalibrationModel | None,
    num: np.ndarray,
    den: np.ndarray,
    domains: tuple[tuple[np.ndarray, int], ...],
    *,
    min_pairs: float = MIN_PAIRS_PER_ATOM,
) -> AtomLayout | None:
    """The atom layout of ``reps`` (a bootstrap, before re-calibration) for ratios ``num / den`` (n, k) in
    the ``domains`` (row codes, number of domains) of each table, calibrated with ``model`` (None: not
    re-calibrated); None where the fast path does not apply (module docstring)."""
    if not reps.bootstrap or reps.alpha is None or reps.beta is None or np.any(reps.alpha < 0):
        return None
    num, den = np.asarray(num), np.asarray(den)
    if num.ndim != 2 or num.shape != den.shape or len(num) != reps.n:
        raise DesignError(f"täljare {num.shape} och nämnare {den.shape} för en replikatdesign med {reps.n} rader")
    if not (_small_integers(num) and _small_integers(den)):
        return None
    d0 = np.asarray(reps.design_weights, dtype=float) if model is None else model.start_weights(reps.design_weights)
    cell = np.zeros(reps.n, dtype=np.int64) if model is None else model.cell
    n_cells = 1 if model is None else len(model.cell_block)
    psu = reps.psu
    dclass = pd.factorize(d0)[0].astype(np.int64)
    parts = [reps.psu_stratum[psu], dclass, cell] + [np.asarray(c, dtype=np.int64) + 1 for c, _ in domains]
    atom, levels = combine_codes(parts)
    n_atoms = len(levels[0])
    if reps.n_psu == reps.n:  # element design (each row its own PSU): a pair is a row
        order = np.argsort(atom, kind="stable")
        pair_psu, values, pair_atom = psu[order], _row_values(num, den)[order], atom[order]
    else:
        order = np.lexsort((psu, atom))
        key_a, key_p = atom[order], psu[order]
        starts = np.flatnonzero(np.r_[True, (key_a[1:] != key_a[:-1]) | (key_p[1:] != key_p[:-1])])
        sums = np.add.reduceat(_row_values(num, den)[order].astype(np.int64), starts, axis=0)
        width = np.uint8 if sums.max() <= 255 else np.uint16 if sums.max() <= 65535 else np.uint32
        pair_psu, values, pair_atom = key_p[starts], sums.astype(width), key_a[starts]
    if n_atoms * min_pairs > len(pair_psu):
        return None
    d_a = _per_atom(d0, atom, n_atoms)
    alpha, beta = (_per_atom(v[pair_psu], pair_atom, n_atoms) for v in (reps.alpha, reps.beta))
    if d_a is None or alpha is None or beta is None:
        return None
    cuts = np.searchsorted(pair_atom, np.arange(n_atoms + 1))
    rows_a = np.bincount(pair_atom, weights=values[:, 0], minlength=n_atoms)
    bound = 255.0 * rows_a
    draws = reps.draws
    if draws is not None and reps.counts is None:  # a replicate draws m_h PSUs of the stratum in all
        most = np.maximum.reduceat(values[:, 0], cuts[:-1]).astype(np.float64)
        bound = np.minimum(bound, draws.m_h[levels[0]] * most)
    exact32 = bool(max(bound.max(initial=0.0), rows_a.max(initial=0.0)) < EXACT_FLOAT32)
    floats = values.astype(np.float32 if exact32 else np.float64)  # the products' operand, made once here
    member = sp.csr_matrix(
        (np.ones(len(pair_atom), dtype=floats.dtype), (pair_atom, np.arange(len(pair_atom)))),
        shape=(n_atoms, len(pair_atom)),
    )
    sums_a = np.asarray(member @ floats).astype(np.float64)  # integer sums below 2^24 (float32) or 2^53: exact
    pos = np.empty(reps.n_psu, dtype=np.int64)
    pos[reps.position_psu()] = np.arange(reps.n_psu)
    layout = AtomLayout(
        pair_pos=pos[pair_psu],
        cuts=cuts,
        values=values,
        sums=sums_a,
        d=d_a,
        alpha=alpha,
        beta=beta,
        cell=levels[2],
        n_cells=n_cells,
        domains=tuple((lv - 1, n) for lv, (_, n) in zip(levels[3:], domains)),
        exact32=exact32,
    )
    layout._cache["values"] = floats
    return layout


@dataclass(frozen=True, eq=False)
class ReplicateBlock:
    """One block's results (either path): replicate estimates per table (``replicates`` (b, G, k)), the
    block's cell ``g`` (C, b) and the full sample's (C,), or None without re-calibration, and the solver's
    counts (largest Newton iterations, collapsed (replicate, cell) pairs)."""

    estimates: tuple[ReplicateEstimates, ...]
    cell_g: np.ndarray | None
    full_cell_g: np.ndarray | None
    iterations: int
    collapsed: int


def _ratios(lay: AtomLayout, totals: np.ndarray, g_atom: np.ndarray) -> list[np.ndarray]:
    """Per table (b, G, k) ratios ``sum g T[num] / sum g T[den]`` of ``totals`` (A, b, 2k + 1) weighted by
    ``g_atom`` (A, b); NaN where the weighted base is 0. Sparse sums: per replicate the same order."""
    n_atoms, b, q = totals.shape
    k = lay.k
    weighted = (totals * g_atom[:, :, None]).reshape(n_atoms, b * q)
    out = []
    for codes, n_dom in lay.domains:
        s = np.asarray(lay.sum_matrix(codes, n_dom) @ weighted).reshape(n_dom, b, q)
        top, bottom = s[:, :, k + 1 :], s[:, :, 1 : k + 1]
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1.0), np.nan)
        out.append(ratio.transpose(1, 0, 2))
    return out


def _buffer(buffers: dict[str, np.ndarray], name: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """A reused array: the first chunk's ``shape``, later the leading part of it (a smaller last chunk).
    A Dask worker's allocator (``MALLOC_TRIM_THRESHOLD_``) maps every large fresh array anew, page by page."""
    if name not in buffers:
        buffers[name] = np.empty(shape, dtype=dtype)
    return buffers[name][tuple(slice(0, n) for n in shape)]


def _chunk_totals(
    lay: AtomLayout, part: ReplicateWeights, r0: int, r1: int, buffers: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Replicate totals ``T`` (A, b, 2k + 1) and respondents of positive weight (A, b) of replicates
    ``r0..r1-1`` of ``part``: per atom the exact integer product ``C`` of the draw counts (module docstring)."""
    b, n_pairs = r1 - r0, len(lay.pair_pos)
    n_pos = part.n_psu if part.counts is not None or part.draws is None else int(part.draws.n_h.sum())
    counts = part.position_counts(r0, r1, _buffer(buffers, "counts", (b, n_pos), np.uint8))
    kb = np.take(counts, lay.pair_pos, axis=1, out=_buffer(buffers, "pairs", (b, n_pairs), np.uint8))
    vals = lay.floats()
    with _one_blas_thread():  # small products: BLAS threads would only wait for each other
        prod, positive = _atom_products(
            lay, kb, vals, _buffer(buffers, "products", (lay.n_atoms, b, vals.shape[1]), vals.dtype)
        )
    totals = _buffer(buffers, "totals", prod.shape, np.float64)
    np.multiply(prod, lay.beta[:, None, None], out=totals)
    totals += lay.alpha[:, None, None] * lay.sums[:, None, :]
    totals *= lay.d[:, None, None]
    return totals, positive


def _one_blas_thread() -> Any:
    """``threadpoolctl.threadpool_limits(1, "blas")``, imported here and without the environment variable that
    importing threadpoolctl sets (``KMP_DUPLICATE_LIB_OK``): using the fast path changes nothing else."""
    had = "KMP_DUPLICATE_LIB_OK" in os.environ
    from threadpoolctl import threadpool_limits

    if not had:
        os.environ.pop("KMP_DUPLICATE_LIB_OK", None)
    return threadpool_limits(limits=1, user_api="blas")


def _atom_products(
    lay: AtomLayout, kb: np.ndarray, vals: np.ndarray, prod: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per atom ``C = k V`` into ``prod`` (A, b, 2k + 1) and the respondents of positive weight (A, b), from
    the pairs' draw counts ``kb`` (b, P') and values ``vals`` (P', 2k + 1)."""
    b, n_atoms = kb.shape[0], lay.n_atoms
    positive = np.repeat(lay.sums[:, :1], b, axis=1)  # alpha > 0: every respondent keeps a positive weight
    by_draw = lay.alpha <= 0  # a > 0 only where drawn (beta > 0) or nowhere (beta = 0)
    for a in range(n_atoms):
        s, e = lay.cuts[a], lay.cuts[a + 1]
        ka = kb[:, s:e]
        prod[a] = ka.astype(vals.dtype) @ vals[s:e]
        if by_draw[a]:
            positive[a] = (ka != 0).astype(vals.dtype) @ vals[s:e, 0] if lay.beta[a] > 0 else 0.0
    return prod, positive


def atom_block(
    lay: AtomLayout, part: ReplicateWeights, model: CalibrationModel | None, *, infeasible: Infeasible = "collapse"
) -> ReplicateBlock:
    """Re-calibrate the replicates of ``part`` (a block of the scheme :func:`atom_layout` was built on) and
    estimate every table's domain ratios with them, from atom totals (module docstring). A pure function."""
    n_rep = part.n_replicates
    full = lay.d[:, None] * lay.sums
    mc = lay.sum_matrix(lay.cell, lay.n_cells)
    rc = None if model is None else full_recalibration(model, np.asarray(mc @ full[:, 0]), infeasible)
    full_g = np.ones(lay.n_cells) if rc is None else rc.full_g
    estimate = _ratios(lay, full[:, None, :], full_g[lay.cell][:, None])
    reps = [np.empty((n_rep, n, lay.k)) for _, n in lay.domains]
    cell_g = None if rc is None else np.empty((lay.n_cells, n_rep))
    iterations, collapsed = (0 if rc is None else rc.iterations), 0
    q = lay.sums.shape[1]
    buffers: dict[str, np.ndarray] = {}
    step = max(1, min(n_rep, CHUNK_COUNTS // max(len(lay.pair_pos), 1), CHUNK_TOTALS // max(lay.n_atoms * q, 1)))
    for r0 in range(0, n_rep, step):
        r1 = min(n_rep, r0 + step)
        totals, positive = _chunk_totals(lay, part, r0, r1, buffers)
        g = np.ones((lay.n_cells, r1 - r0))
        if rc is not None and cell_g is not None:
            ask = partial(_cell_sums, mc, positive)
            g, it, n_col = recalibrate_cells(rc, np.asarray(mc @ totals[:, :, 0]), ask, part.first + r0)
            cell_g[:, r0:r1] = g
            iterations, collapsed = max(iterations, it), collapsed + n_col
        for t, ratio in enumerate(_ratios(lay, totals, g[lay.cell])):
            reps[t][r0:r1] = ratio
    rscales = np.asarray(part.rscales, dtype=float)
    return ReplicateBlock(
        estimates=tuple(
            ReplicateEstimates(estimate=e[0], replicates=r, scale=part.scale, rscales=rscales)
            for e, r in zip(estimate, reps)
        ),
        cell_g=cell_g,
        full_cell_g=None if rc is None else full_g,
        iterations=iterations,
        collapsed=collapsed,
    )


def _cell_sums(mc: sp.csr_matrix, per_atom: np.ndarray) -> np.ndarray:
    """(C, b) sums over each cell's atoms of ``per_atom`` (A, b)."""
    return np.asarray(mc @ per_atom)
