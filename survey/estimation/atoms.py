"""The fast path for element-sampled designs: sufficient statistics per atom.

For a 0/1 indicator on an element-sampled design (each respondent its own PSU), the influence value of
row i for domain g is z_i = w_i (e_i - f_i), where e_i depends only on the row's answer state
s_i in {0: outside the base, 1: base and y = 0, 2: base and y = 1} and its domain, and the calibration
fit f_i = x_i' B only on its calibration cell. So every sum the variance needs,
    sum_h z_i, sum_h z_i^2, sum_h z_i^A z_i^B,
is a combination of per-"atom" sums of w, w^2 and d, an atom being (stratum, calibration cell, extra
domain codes) × answer state. The row-level work is four bincounts per indicator; the rest is algebra on
a few thousand atoms. Identical in exact arithmetic to ``domain_ratios`` (the dense reference).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from survey.design import Design
from survey.errors import DesignError
from survey.estimation.domains import DomainEstimates
from survey.indicators import Indicator
from survey.variance import group_sum


@dataclass(frozen=True, eq=False)
class AtomStats:
    """Per-atom sums for every indicator: arrays (A, 3, k) over answer states 0/1/2."""

    code: np.ndarray          # (n,) atom of each row
    stratum: np.ndarray       # (A,)
    cell: np.ndarray | None   # (A,) calibration cell
    extra: np.ndarray         # (A, m) extra domain codes (e.g. sex, age group)
    sw: np.ndarray            # (A, 3, k) sum of w
    sw2: np.ndarray           # (A, 3, k) sum of w^2
    sd: np.ndarray            # (A, 3, k) sum of d
    count: np.ndarray         # (A, 3, k) rows


def indicator_states(data: pd.DataFrame, indicators: Sequence[Indicator]) -> np.ndarray:
    """(n, k) int8 answer state: 0 = blank or outside the base, 1 = in base not numerator, 2 = numerator."""
    out = np.zeros((len(data), len(indicators)), dtype=np.int8)
    for j, ind in enumerate(indicators):
        v = data[ind.item].to_numpy(dtype="int64", na_value=-1)
        top = int(max(max(ind.base, default=0), max(ind.numerator, default=0), v.max(initial=0))) + 2
        lut = np.zeros(top, dtype=np.int8)
        lut[np.asarray(ind.base, dtype=np.int64) + 1] = 1
        lut[np.asarray(ind.numerator, dtype=np.int64) + 1] = 2
        lut[0] = 0
        out[:, j] = lut[np.clip(v + 1, 0, top - 1)]
    return out


def atom_stats(design: Design, states: np.ndarray, extra: Sequence[np.ndarray] = ()) -> AtomStats:
    """Per-atom, per-state sums of w, w^2, d and counts (see the note above)."""
    if design.psu is not None:
        raise DesignError("the atom path needs element sampling (no PSUs); use domain_ratios")
    parts = [design.strata]
    if design.calibration is not None:
        parts.append(design.calibration.cell)
    parts.extend(np.asarray(e, dtype=np.int64) for e in extra)
    dims = [int(p_.max()) + 1 if len(p_) else 1 for p_ in parts]
    key = np.ravel_multi_index(tuple(parts), dims)
    code, uniq = pd.factorize(key, sort=True)
    code = code.astype(np.int64)
    n_atoms = len(uniq)
    unr = np.unravel_index(uniq, dims)
    cal = design.calibration is not None
    w, d = design.weights, design.design_weights
    w2 = w * w
    k = states.shape[1]
    size = 3 * n_atoms
    sw = np.empty((n_atoms, 3, k))
    sw2 = np.empty_like(sw)
    sd = np.empty_like(sw)
    cnt = np.empty_like(sw)
    base_key = code * 3
    for j in range(k):       # a loop over indicators; each step is vectorised over all rows
        key_j = base_key + states[:, j]
        sw[:, :, j] = np.bincount(key_j, weights=w, minlength=size).reshape(n_atoms, 3)
        sw2[:, :, j] = np.bincount(key_j, weights=w2, minlength=size).reshape(n_atoms, 3)
        sd[:, :, j] = np.bincount(key_j, weights=d, minlength=size).reshape(n_atoms, 3)
        cnt[:, :, j] = np.bincount(key_j, minlength=size).reshape(n_atoms, 3)
    extra_arr = np.stack(unr[1 + cal:], axis=1) if len(unr) > 1 + cal else np.zeros((n_atoms, 0), dtype=np.int64)
    return AtomStats(code=code, stratum=np.asarray(unr[0], dtype=np.int64),
                     cell=np.asarray(unr[1], dtype=np.int64) if cal else None, extra=extra_arr,
                     sw=sw, sw2=sw2, sd=sd, count=cnt)


@dataclass(frozen=True, eq=False)
class AtomPartition:
    res: DomainEstimates
    e: np.ndarray      # (A, 3, k) influence per unit weight by state, before the calibration fit
    f: np.ndarray      # (A, k) calibration fit x' B of each atom
    s1: np.ndarray     # (H, k) sum of z per stratum


def _stratum_scale(design: Design) -> tuple[np.ndarray, np.ndarray]:
    """PSUs (= rows, element sampling) per stratum and the variance factor (see ``Design.stratum_scale``)."""
    n_h, scale, _ = design.stratum_scale()
    return n_h, scale


def atom_partition(design: Design, st: AtomStats, dom_h: np.ndarray, n_domains: int,
                    atom_mask: np.ndarray | None) -> AtomPartition:
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
    big_w = np.zeros((n_domains, k))
    big_y = np.zeros((n_domains, k))
    np.add.at(big_w, da, w_base)
    np.add.at(big_y, da, y_tot)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = big_y / big_w
        inv = np.where(big_w > 0, 1.0 / big_w, 0.0)
    pa, inva = np.nan_to_num(p)[da], inv[da]
    e = np.zeros((n_atoms, 3, k))
    e[:, 1] = np.where(sel, -pa * inva, 0.0)
    e[:, 2] = np.where(sel, (1 - pa) * inva, 0.0)
    f = np.zeros((n_atoms, k))
    if design.calibration is not None:
        from survey.variance import greg_projector
        m = design.calibration
        ginv, _ = greg_projector(design)
        xa = m.cell_x[st.cell]                               # (A, p)
        ba = m.cell_block[st.cell]                           # (A,)
        de = np.einsum("ask,ask->ak", st.sd, e)              # sum_s d e per atom
        h = np.zeros((len(m.block_labels), xa.shape[1], k))
        np.add.at(h, ba, xa[:, :, None] * de[:, None, :])
        beta = ginv @ h
        f = np.einsum("ap,apk->ak", xa, beta[ba])
    sw_all = st.sw.sum(axis=1)
    sw2_all = st.sw2.sum(axis=1)
    a1 = np.einsum("ask,ask->ak", st.sw, e) - f * sw_all
    a2 = (np.einsum("ask,ask->ak", st.sw2, e * e) - 2 * f * np.einsum("ask,ask->ak", st.sw2, e)
          + f * f * sw2_all)
    n_h, scale = _stratum_scale(design)
    s1 = np.zeros((design.n_strata, k))
    s2 = np.zeros((design.n_strata, k))
    np.add.at(s1, st.stratum, a1)
    np.add.at(s2, st.stratum, a2)
    with np.errstate(invalid="ignore", divide="ignore"):
        centred = s2 - s1 * s1 / np.maximum(n_h, 1)[:, None]
    uncentred = design.stratum_scale()[2]
    if uncentred.any():
        centred[uncentred] = s2[uncentred]    # R survey's "adjust": the lonely PSU total is centred at 0
    v_h = scale[:, None] * np.maximum(centred, 0.0)
    used = dom_h >= 0
    var = group_sum(dom_h[used], v_h[used], n_domains)
    cnt_base = (st.count[:, 1] + st.count[:, 2]) * sel
    n = np.zeros((n_domains, k))
    np.add.at(n, da, cnt_base)
    per_stratum = np.zeros((design.n_strata, k))
    np.add.at(per_stratum, st.stratum, cnt_base)
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
    cross = (np.einsum("ask,ask->ak", st.sw2, a.e * b.e) - b.f * np.einsum("ask,ask->ak", st.sw2, a.e)
             - a.f * np.einsum("ask,ask->ak", st.sw2, b.e) + a.f * b.f * sw2_all)
    n_h, scale = _stratum_scale(design)
    sab = np.zeros((design.n_strata, st.sw.shape[2]))
    np.add.at(sab, st.stratum, cross)
    centred = sab - a.s1 * b.s1 / np.maximum(n_h, 1)[:, None]
    uncentred = design.stratum_scale()[2]
    if uncentred.any():
        centred[uncentred] = sab[uncentred]
    return np.asarray(scale[:, None] * centred)
