"""The fast path for element-sampled designs: sufficient statistics per atom.

For a 0/1 indicator on an element-sampled design (each respondent its own PSU), the influence value of
row i for domain g is z_i = w_i (e_i - f_i), where e_i depends only on the row's answer state
s_i in {0: outside the base, 1: base and y = 0, 2: base and y = 1} and its domain, and the calibration
fit f_i = x_i' B only on its calibration cell. So every sum the variance needs,
    sum_h z_i, sum_h z_i^2, sum_h z_i^A z_i^B,
is a combination of per-"atom" sums of w, w^2 and d, an atom being (stratum, calibration cell, extra
domain codes) × answer state. The row-level work is one bincount per indicator (four when the weights
vary within an atom); the rest is algebra on a few thousand atoms. Identical in exact arithmetic to
``domain_ratios`` (the dense reference).

The same holds for any influence value that is a function of (atom, state), vector-valued too: the
survey GLM on categorical covariates has ``u_i = 1[i in D] (y_i - mu_c) A^-1 x_c``
(:func:`atom_vcov`, used by :func:`survey.models.glm.svyglm_atoms`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, cast

import numpy as np
import pandas as pd

from survey.design import Design, combine_codes
from survey.errors import DesignError
from survey.estimation.domains import DomainEstimates
from survey.indicators import Indicator
from survey.variance import greg_projector

DENSE_KEY_LIMIT = 1 << 25  # atom keys below this are compacted with a bincount, not a hash table


@dataclass(frozen=True, eq=False)
class AtomStats:
    """Per-atom sums for every indicator: arrays (A, 3, k) over answer states 0/1/2."""

    code: np.ndarray  # (n,) atom of each row
    stratum: np.ndarray  # (A,)
    cell: np.ndarray | None  # (A,) calibration cell
    extra: np.ndarray  # (A, m) extra domain codes (e.g. sex, age group)
    sw: np.ndarray  # (A, 3, k) sum of w
    sw2: np.ndarray  # (A, 3, k) sum of w^2
    sd: np.ndarray  # (A, 3, k) sum of d
    count: np.ndarray  # (A, 3, k) rows


class _MaskedStorage(Protocol):
    """What :func:`item_codes` reads of a pandas masked array: its values and blank mask (attributes of
    ``BaseMaskedArray`` that pandas-stubs leaves out, being private), read without a copy."""

    _data: np.ndarray
    _mask: np.ndarray


def item_codes(col: pd.Series) -> tuple[np.ndarray, np.ndarray | None]:
    """The answers of an item as integers and the blank mask, without copies for masked integer arrays
    (``None`` mask: blanks are already ``-1``); codes are non-negative except for blanks."""
    arr = col.array
    if isinstance(arr, pd.arrays.IntegerArray):
        masked = cast(_MaskedStorage, arr)
        data = masked._data
        if data.dtype.kind in "iu" and not (len(data) and data.min() < 0):
            return data, masked._mask
    return col.to_numpy(dtype="int64", na_value=-1), None


def indicator_states(data: pd.DataFrame, indicators: Sequence[Indicator]) -> np.ndarray:
    """(n, k) int8 answer state (column-major): 0 = blank or outside the base, 1 = in base not numerator,
    2 = numerator (a numerator code outside the base is outside, as in ``indicator_matrices``)."""
    out = np.empty((len(data), len(indicators)), dtype=np.int8, order="F")
    codes: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
    for j, ind in enumerate(indicators):
        if ind.item not in codes:  # indicators on the same item share one conversion
            codes[ind.item] = item_codes(data[ind.item])
        values, blank = codes[ind.item]
        shift = 0 if blank is not None else 1  # without a mask, blank = -1 sits in slot 0
        top = int(max(max(ind.base, default=0), max(ind.numerator, default=0))) + 2 + shift
        lut = np.zeros(top, dtype=np.int8)  # slot c + shift = code c; the last slot = any higher code
        lut[np.asarray(ind.base, dtype=np.int64) + shift] = 1
        lut[np.asarray([c for c in ind.numerator if c in ind.base], dtype=np.int64) + shift] = 2
        if blank is None:  # shift 1
            lut[0] = 0
            np.take(lut, values + 1, out=out[:, j], mode="clip")
        else:
            np.take(lut, values, out=out[:, j], mode="clip")
            np.putmask(out[:, j], blank, 0)
    return out


def group_sum(codes: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    """``out[g] = sum_{i: codes_i = g} values_i`` for atom-sized (A,) or (A, k) arrays: one bincount over the
    flattened array (``survey.variance.group_sum`` builds a sparse matrix, the better choice for n rows)."""
    if values.ndim == 1:
        return np.bincount(codes, weights=values, minlength=n_groups)
    if len(codes) and np.all(codes[1:] >= codes[:-1]):  # sorted (atoms come in stratum order): segment sums
        starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
        out = np.zeros((n_groups, *values.shape[1:]))
        out[codes[starts]] = np.add.reduceat(values, starts, axis=0)
        return out
    k = values.shape[1]
    idx = (np.asarray(codes, dtype=np.int64)[:, None] * k + np.arange(k)).ravel()
    return np.bincount(idx, weights=values.ravel(), minlength=n_groups * k).reshape(n_groups, k)


def _constant_within(values: np.ndarray, code: np.ndarray, n_atoms: int) -> np.ndarray | None:
    """The value of each atom when ``values`` is constant within every atom (bit for bit), else None."""
    per = np.zeros(n_atoms)
    per[code] = values
    return per if np.array_equal(per[code], values) else None


def _atom_keys(design: Design, extra: Sequence[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Each row's atom (stratum × calibration cell × extra codes) and each part's value per atom."""
    if design.psu is not None:
        raise DesignError("atomvägen kräver elementurval (inga PSU:er); använd domain_ratios")
    parts = [design.strata]
    if design.calibration is not None:
        parts.append(design.calibration.cell)
    parts.extend(np.asarray(e, dtype=np.int64) for e in extra)
    return combine_codes(parts)


def atom_stats(design: Design, states: np.ndarray, extra: Sequence[np.ndarray] = ()) -> AtomStats:
    """Per-atom, per-state sums of w, w^2, d and counts (see the note above).

    When the final and the design weights are constant within each atom (design weights constant per
    stratum, calibration factors per cell: the contract's design), ``sum w = w_a n`` and the row-level work is
    a single unweighted bincount per indicator.
    """
    code, levels = _atom_keys(design, extra)
    n_atoms = len(levels[0])
    cal = design.calibration is not None
    w, d = design.weights, design.design_weights
    k = states.shape[1]
    size = 3 * n_atoms
    cnt = np.empty((n_atoms, 3, k))
    wa, da = _constant_within(w, code, n_atoms), _constant_within(d, code, n_atoms)
    constant = wa is not None and da is not None
    if not constant:
        sw, sw2, sd = np.empty_like(cnt), np.empty_like(cnt), np.empty_like(cnt)
        w2 = w * w
    base_key = code * 3
    for j in range(k):  # a loop over indicators; each step is vectorised over all rows
        key_j = base_key + states[:, j]
        cnt[:, :, j] = np.bincount(key_j, minlength=size).reshape(n_atoms, 3)
        if not constant:
            sw[:, :, j] = np.bincount(key_j, weights=w, minlength=size).reshape(n_atoms, 3)
            sw2[:, :, j] = np.bincount(key_j, weights=w2, minlength=size).reshape(n_atoms, 3)
            sd[:, :, j] = np.bincount(key_j, weights=d, minlength=size).reshape(n_atoms, 3)
    if wa is not None and da is not None:  # constant
        sw, sw2, sd = wa[:, None, None] * cnt, (wa * wa)[:, None, None] * cnt, da[:, None, None] * cnt
    extra_arr = np.stack(levels[1 + cal :], axis=1) if len(levels) > 1 + cal else np.zeros((n_atoms, 0), dtype=np.int64)
    return AtomStats(
        code=code, stratum=levels[0], cell=levels[1] if cal else None, extra=extra_arr, sw=sw, sw2=sw2, sd=sd, count=cnt
    )


def answer_atom_stats(
    design: Design, data: pd.DataFrame, items: Sequence[tuple[str, Sequence[int]]], like: AtomStats | None = None
) -> AtomStats:
    """The atom sums of the pseudo-indicators "answer = c among the answers in ``codes``" of every item
    (columns in ``items`` order, each item's codes in order), as :func:`atom_stats` would build them from
    their answer states, with one bincount per item instead of one per code.

    With item codes ``c_1..c_K`` and per-atom counts ``m_a(c)`` of each answer (``m_a(out)``: blank or outside
    the codes), the states of "answer = c" are 2: ``m_a(c)``, 1: ``sum_j m_a(c_j) - m_a(c)``, 0: ``m_a(out)``;
    integers, so exactly the counts of the direct path. ``like`` (atoms of the same design, e.g. the
    estimation step's) lends its atom codes. When the weights are not constant within atoms the direct
    path is taken (sums of weights by subtraction would not be bit-identical)."""
    if like is not None:
        code, stratum, cell, extra_arr = like.code, like.stratum, like.cell, like.extra
    else:
        code, levels = _atom_keys(design, ())
        cal = design.calibration is not None
        stratum, cell = levels[0], levels[1] if cal else None
        extra_arr = np.zeros((len(stratum), 0), dtype=np.int64)
    n_atoms = len(stratum)
    wa = _constant_within(design.weights, code, n_atoms)
    da = _constant_within(design.design_weights, code, n_atoms)
    if wa is None or da is None:
        pseudo = [
            Indicator(name=f"{it}\x1f{c}", item=it, numerator=(int(c),), base=tuple(cs)) for it, cs in items for c in cs
        ]
        extra = [extra_arr[:, j][code] for j in range(extra_arr.shape[1])]
        return atom_stats(design, indicator_states(data, pseudo), extra=extra)
    blocks = []
    for item, codes in items:
        cs = np.asarray([int(c) for c in codes], dtype=np.int64)
        k = len(cs)
        values, blank = item_codes(data[item])
        shift = 0 if blank is not None else 1  # without a mask, blank = -1 sits in slot 0
        lut = np.full(int(cs.max(initial=0)) + 2 + shift, k, dtype=np.int64)  # last slot: any higher code
        lut[cs + shift] = np.arange(k)
        if blank is None:
            lut[0] = k
        slot = np.take(lut, values + shift if shift else values, mode="clip")
        if blank is not None:
            np.putmask(slot, blank, k)
        m = np.bincount(code * (k + 1) + slot, minlength=n_atoms * (k + 1)).reshape(n_atoms, k + 1).astype(float)
        cnt = np.empty((n_atoms, 3, k))
        cnt[:, 0] = m[:, k : k + 1]
        cnt[:, 2] = m[:, :k]
        cnt[:, 1] = m[:, :k].sum(axis=1, keepdims=True) - m[:, :k]
        blocks.append(cnt)
    cnt = np.concatenate(blocks, axis=2) if blocks else np.zeros((n_atoms, 3, 0))
    return AtomStats(
        code=code,
        stratum=stratum,
        cell=cell,
        extra=extra_arr,
        sw=wa[:, None, None] * cnt,
        sw2=(wa * wa)[:, None, None] * cnt,
        sd=da[:, None, None] * cnt,
        count=cnt,
    )


def _blocks(design: Design) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """Per calibration block: its cells and their model-matrix rows, cached on the design."""
    key = "atoms.blocks"
    if key not in design._cache:
        m = design.calibration_model("atomvägens kalibreringsanpassning")
        order = np.argsort(m.cell_block, kind="stable")
        cuts = np.flatnonzero(np.diff(m.cell_block[order])) + 1
        design._cache[key] = [
            (int(m.cell_block[idx[0]]), idx, m.cell_x[idx]) for idx in np.split(order, cuts) if len(idx)
        ]
    return design._cache[key]


def calibration_fit(design: Design, cal_cell: np.ndarray | None, de: np.ndarray) -> np.ndarray:
    """The calibration fit ``x_a' B`` of each atom for influence columns whose per-atom sums of ``d u`` are
    ``de`` (A, q): ``B = (sum_c D_c x_c x_c')^- sum_c x_c de_c`` per block (``survey.variance``'s
    ``calibration_residuals`` on atoms; a few small matrix products per block). Zero when the design is
    not calibrated."""
    m = design.calibration
    if m is None or cal_cell is None:
        return np.zeros_like(de)
    ginv, _ = greg_projector(design)
    dc = group_sum(cal_cell, de, len(m.cell_block))  # (C, q) per calibration cell
    fc = np.zeros_like(dc)
    for b, idx, xb in _blocks(design):
        fc[idx] = xb @ (ginv[b] @ (xb.T @ dc[idx]))
    return fc[cal_cell]


def atom_vcov(
    design: Design,
    stratum: np.ndarray,
    cal_cell: np.ndarray | None,
    sw: np.ndarray,
    sw2: np.ndarray,
    sd: np.ndarray,
    e: np.ndarray,
) -> np.ndarray:
    """Covariance (p, p) of ``sum_i w_i u_i`` when ``u_i = e[a(i), s(i)]`` depends only on the row's atom and
    state: ``sw, sw2, sd`` (A, S) are the per-atom, per-state sums of w, w², d, ``e`` is (A, S, p).

    With the calibration residual ``z_i = w_i (e_as - f_a)`` (:func:`calibration_fit`), the stratum sums are
    ``t_h = sum_a sum_s sw_as (e_as - f_a)`` and ``Q_h = sum_a sum_s sw2_as (e_as - f_a)(e_as - f_a)'``, and
    the stratified with-replacement variance is ``sum_h scale_h (Q_h - t_h t_h' / n_h)`` (a lonely PSU that
    stays uncentred: ``Q_h``), exactly ``survey.variance.linearized_vcov`` of the rows' ``u``.
    """
    n_atoms, _, p = e.shape
    f = calibration_fit(design, cal_cell, np.einsum("as,asp->ap", sd, e))
    z = e - f[:, None, :]
    t1 = np.einsum("as,asp->ap", sw, z)
    t2 = np.einsum("as,asp,asq->apq", sw2, z, z, optimize=True).reshape(n_atoms, p * p)
    h = design.n_strata
    s1 = group_sum(stratum, t1, h)
    s2 = group_sum(stratum, t2, h).reshape(h, p, p)
    n_h, scale, uncentred = design.stratum_scale()
    centred = s2 - s1[:, :, None] * s1[:, None, :] / np.maximum(n_h, 1)[:, None, None]
    if uncentred.any():
        centred[uncentred] = s2[uncentred]
    return np.asarray(np.einsum("h,hpq->pq", scale, centred))


@dataclass(frozen=True, eq=False)
class AtomPartition:
    res: DomainEstimates
    e: np.ndarray  # (A, 3, k) influence per unit weight by state, before the calibration fit
    f: np.ndarray  # (A, k) calibration fit x' B of each atom
    s1: np.ndarray  # (H, k) sum of z per stratum


def _stratum_scale(design: Design) -> tuple[np.ndarray, np.ndarray]:
    """PSUs (= rows, element sampling) per stratum and the variance factor (see ``Design.stratum_scale``)."""
    n_h, scale, _ = design.stratum_scale()
    return n_h, scale


def atom_partition(
    design: Design, st: AtomStats, dom_h: np.ndarray, n_domains: int, atom_mask: np.ndarray | None
) -> AtomPartition:
    """Ratios of an aligned partition (domain of each stratum ``dom_h``) from atom sums."""
    n_atoms, _, k = st.sw.shape
    dom_a = dom_h[st.stratum]
    inside = dom_a >= 0
    if atom_mask is not None:
        inside &= atom_mask
    sel = inside[:, None]
    w_base = (st.sw[:, 1] + st.sw[:, 2]) * sel
    y_tot = st.sw[:, 2] * sel
    da = np.where(dom_a >= 0, dom_a, 0)
    big_w = group_sum(da, w_base, n_domains)
    big_y = group_sum(da, y_tot, n_domains)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = big_y / big_w
        inv = np.where(big_w > 0, 1.0 / big_w, 0.0)
    pa, inva = np.nan_to_num(p)[da], inv[da]
    e = np.zeros((n_atoms, 3, k))
    e[:, 1] = np.where(sel, -pa * inva, 0.0)
    e[:, 2] = np.where(sel, (1 - pa) * inva, 0.0)
    f = calibration_fit(design, st.cell, np.einsum("ask,ask->ak", st.sd, e))  # (A, k)
    # the residuals e - f themselves, not sum sw2 e^2 - 2 f sum sw2 e + f^2 sum sw2: where calibration
    # explains a domain exactly (e = f) the expanded form left rounding noise of ~1e-9 as its SE
    z = e - f[:, None, :]
    a1 = np.einsum("ask,ask->ak", st.sw, z)
    a2 = np.einsum("ask,ask->ak", st.sw2, z * z)
    n_h, scale = _stratum_scale(design)
    s1 = group_sum(st.stratum, a1, design.n_strata)
    s2 = group_sum(st.stratum, a2, design.n_strata)
    with np.errstate(invalid="ignore", divide="ignore"):
        centred = s2 - s1 * s1 / np.maximum(n_h, 1)[:, None]
    uncentred = design.stratum_scale()[2]
    if uncentred.any():
        centred[uncentred] = s2[uncentred]  # R survey's "adjust": the lonely PSU total is centred at 0
    v_h = scale[:, None] * np.where(centred > 1e-12 * s2, centred, 0.0)  # below: rounding of s2 - s1²/n
    used = dom_h >= 0
    var = group_sum(dom_h[used], v_h[used], n_domains)
    cnt_base = (st.count[:, 1] + st.count[:, 2]) * sel
    n = group_sum(da, cnt_base, n_domains)
    per_stratum = group_sum(st.stratum, cnt_base, design.n_strata)
    strata_in = group_sum(dom_h[used], (per_stratum[used] > 0).astype(float), n_domains)
    n = n.round().astype(np.int64)
    df = (n - strata_in.round()).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        deff = var / (p * (1 - p) / (n - 1))
    se = np.where(n > 0, np.sqrt(var), np.nan)
    res = DomainEstimates(estimate=p, se=se, n=n, df=df, weighted_base=big_w, deff=deff, domain_of_stratum=dom_h)
    return AtomPartition(res=res, e=e, f=f, s1=s1)


def atom_cross(design: Design, st: AtomStats, a: AtomPartition, b: AtomPartition) -> np.ndarray:
    """Per-stratum covariance contributions (H, k) between two partitions' influence columns."""
    sw2_all = st.sw2.sum(axis=1)
    cross = (
        np.einsum("ask,ask->ak", st.sw2, a.e * b.e)
        - b.f * np.einsum("ask,ask->ak", st.sw2, a.e)
        - a.f * np.einsum("ask,ask->ak", st.sw2, b.e)
        + a.f * b.f * sw2_all
    )
    n_h, scale = _stratum_scale(design)
    sab = group_sum(st.stratum, cross, design.n_strata)
    centred = sab - a.s1 * b.s1 / np.maximum(n_h, 1)[:, None]
    uncentred = design.stratum_scale()[2]
    if uncentred.any():
        centred[uncentred] = sab[uncentred]
    return np.asarray(scale[:, None] * centred)
