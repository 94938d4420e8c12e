"""Domain ratios and totals of any per-row columns on an element-sampled design, from per-atom moments.

The fast path of :func:`survey.estimation.domains.domain_ratios` (same estimator, same numbers to rounding).
An *atom* is a stratum × calibration cell (:func:`design_atoms`). For a ratio over an aligned partition
(each stratum inside one domain ``D``) with ``a_i = m_i num_i``, ``b_i = m_i den_i`` (``m`` the mask), the
influence value per unit weight is ``u_i = (a_i - p_D b_i) / W_D`` with ``p_D`` and ``W_D`` constant
within a stratum, so everything the linearised variance needs is a per-atom moment:

* ``sum d u = (S_da - p S_db) / W`` gives the calibration fit ``f_a`` of each atom (the GREG residual
  ``e = u - f``; :func:`survey.estimation.atoms.calibration_fit`);
* ``sum w e = (S_wa - p S_wb) / W - f S_w`` and
  ``sum w^2 e^2 = (S_aa - 2 p S_ab + p^2 S_bb) / W^2 - 2 f (S_a - p S_b) / W + f^2 S_ww``, with
  ``S_aa = sum w^2 a^2`` etc., give each stratum's ``sum z`` and ``sum z^2`` and so its with-replacement
  variance ``scale_h (sum z^2 - (sum z)^2 / n_h)``.

A total has ``u = a`` (``p = 0``, ``W = 1``). The deff's ``s^2`` uses ``sum w b c^2`` and ``sum w b c``
with ``c = num / den`` on the base. About a dozen bincounts per column instead of ``n × k`` matrices.
"""

from __future__ import annotations

import numpy as np

from survey.design import Design, combine_codes
from survey.estimation.atoms import calibration_fit, group_sum
from survey.estimation.domains import DomainEstimates

ROUNDING = 1e-12  # relative size of a cancelled sum of squares below which it is rounding (see atom_ratios)


def design_atoms(design: Design) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Atom (stratum × calibration cell) of each row, and each atom's stratum and cell; cached on the design."""
    key = "moments.atoms"
    if key not in design._cache:
        parts = [design.strata] + ([design.calibration.cell] if design.calibration is not None else [])
        code, levels = combine_codes(parts)
        design._cache[key] = (code, levels[0], levels[1] if len(levels) > 1 else None)
    return design._cache[key]  # type: ignore[no-any-return]


def _constant_weights(design: Design) -> tuple[np.ndarray, np.ndarray] | None:
    """Per-atom final and design weights when both are constant within every atom (cached), else None."""
    key = "moments.constant"
    if key not in design._cache:
        code, a_stratum, _ = design_atoms(design)
        w_a, d_a = np.zeros(len(a_stratum)), np.zeros(len(a_stratum))
        w_a[code], d_a[code] = design.weights, design.design_weights
        same = np.array_equal(w_a[code], design.weights) and np.array_equal(d_a[code], design.design_weights)
        design._cache[key] = (w_a, d_a) if same else None
    return design._cache[key]  # type: ignore[no-any-return]


def _column_moments(
    design: Design, code: np.ndarray, n_atoms: int, a: np.ndarray, b: np.ndarray | None, c: np.ndarray | None
) -> dict[str, np.ndarray]:
    """Per-atom sums of one column (``b`` None: a total); with weights constant within atoms, sums of the
    column's products times the atom's weights (``sum w a = w_a sum a``), fewer passes over the rows."""

    def s(v: np.ndarray) -> np.ndarray:
        return np.bincount(code, weights=v, minlength=n_atoms)

    const = _constant_weights(design)
    if const is not None:
        w_a, d_a = const
        s_a = s(a)
        out = {"wa": w_a * s_a, "da": d_a * s_a, "aa": w_a * w_a * s(a * a), "a": w_a * w_a * s_a}
        if b is not None and c is not None:
            s_b, bc = s(b), b * c
            out.update(
                wb=w_a * s_b,
                db=d_a * s_b,
                ab=w_a * w_a * s(a * b),
                bb=w_a * w_a * s(b * b),
                b=w_a * w_a * s_b,
                wbc=w_a * s(bc),
                wbcc=w_a * s(bc * c),
            )
        return out
    w, d = design.weights, design.design_weights
    w2 = w * w
    out = {"wa": s(w * a), "da": s(d * a), "aa": s(w2 * a * a), "a": s(w2 * a)}
    if b is not None and c is not None:
        wb = w * b
        out.update(
            wb=s(wb), db=s(d * b), ab=s(w2 * a * b), bb=s(w2 * b * b), b=s(w2 * b), wbc=s(wb * c), wbcc=s(wb * c * c)
        )
    return out


def atom_ratios(
    design: Design, num: np.ndarray, den: np.ndarray | None, dom_h: np.ndarray, n_domains: int, mask: np.ndarray | None
) -> DomainEstimates:
    """``domain_ratios`` for an element-sampled design (no influence matrix): see the module docstring.
    ``dom_h`` is the domain of each stratum (already checked to be aligned)."""
    code, a_stratum, a_cell = design_atoms(design)
    n_atoms, n_strata = len(a_stratum), design.n_strata
    k = num.shape[1]
    m = np.ones(design.n) if mask is None else np.asarray(mask, dtype=float)
    dom_a = dom_h[a_stratum]
    shape = (n_domains, k)
    est, se, bottom, deff = np.empty(shape), np.empty(shape), np.full(shape, np.nan), np.full(shape, np.nan)
    n = np.empty(shape, dtype=np.int64)
    df = np.empty(shape, dtype=np.int64)
    s_w = np.bincount(code, weights=design.weights, minlength=n_atoms)
    s_ww = np.bincount(code, weights=design.weights**2, minlength=n_atoms)
    n_h, scale, uncentred = design.stratum_scale()
    used = dom_h >= 0
    for j in range(k):  # a loop over columns, each vectorised over the rows
        a = m * num[:, j]
        if den is None:
            b = c = None
            base = m != 0
        else:
            dj = den[:, j]
            b = m * dj
            base = (dj != 0) & (m != 0)
            with np.errstate(invalid="ignore", divide="ignore"):
                c = np.where(dj != 0, num[:, j] / np.where(dj != 0, dj, 1.0), 0.0)
        mo = _column_moments(design, code, n_atoms, a, b, c)
        top = group_sum(dom_a, mo["wa"], n_domains)
        if den is None:
            p_d, inv = np.zeros(n_domains), np.ones(n_domains)
            est[:, j] = top
        else:
            bottom[:, j] = group_sum(dom_a, mo["wb"], n_domains)
            with np.errstate(invalid="ignore", divide="ignore"):
                est[:, j] = top / bottom[:, j]
                inv = np.where(bottom[:, j] > 0, 1.0 / bottom[:, j], 0.0)
            p_d = np.nan_to_num(est[:, j])
        pa, ia = p_d[dom_a], inv[dom_a]
        zero = np.zeros(n_atoms)
        du = ia * (mo["da"] - pa * mo.get("db", zero))
        f = calibration_fit(design, a_cell, du[:, None])[:, 0]
        t1 = ia * (mo["wa"] - pa * mo.get("wb", zero)) - f * s_w
        uu = ia * ia * (mo["aa"] - 2 * pa * mo.get("ab", zero) + pa * pa * mo.get("bb", zero))
        t2 = uu - 2 * f * ia * (mo["a"] - pa * mo.get("b", zero)) + f * f * s_ww
        s1 = np.bincount(a_stratum, weights=t1, minlength=n_strata)
        s2 = np.bincount(a_stratum, weights=t2, minlength=n_strata)
        centred = np.where(uncentred, s2, s2 - s1 * s1 / np.maximum(n_h, 1))
        # the expanded sums cancel where calibration explains the domain exactly: what is left below the
        # rounding of the terms' own size is not variance (it gave an SE of ~1e-9 where R has 0)
        size = ia * ia * (mo["aa"] + 2 * np.abs(pa * mo.get("ab", zero)) + pa * pa * mo.get("bb", zero))
        size += 2 * np.abs(f * ia) * (np.abs(mo["a"]) + np.abs(pa * mo.get("b", zero))) + f * f * s_ww
        rounding = ROUNDING * np.bincount(a_stratum, weights=size, minlength=n_strata)
        v_h = scale * np.where(centred > rounding, centred, 0.0)
        var = np.bincount(dom_h[used], weights=v_h[used], minlength=n_domains)
        per_stratum = np.bincount(design.strata, weights=base, minlength=n_strata)
        n[:, j] = np.bincount(dom_h[used], weights=per_stratum[used], minlength=n_domains).round()
        strata_in = np.bincount(dom_h[used], weights=(per_stratum[used] > 0), minlength=n_domains)
        df[:, j] = (n[:, j] - strata_in.round()).astype(np.int64)
        se[:, j] = np.sqrt(var)
        if den is not None:
            ss = group_sum(dom_a, mo["wbcc"] - 2 * pa * mo["wbc"] + pa * pa * mo["wb"], n_domains) / bottom[:, j]
            with np.errstate(invalid="ignore", divide="ignore"):
                deff[:, j] = var / (ss * n[:, j] / (n[:, j] - 1) / n[:, j])
    if den is None:
        est = np.where(n > 0, est, np.nan)
    se = np.where(n > 0, se, np.nan)
    return DomainEstimates(estimate=est, se=se, n=n, df=df, weighted_base=bottom, deff=deff, domain_of_stratum=dom_h)
