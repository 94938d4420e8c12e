"""Indicator shares per year × district and Totalt, and per register group, with suppression."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from survey.design import Design, factorize_groups, sorted_factorize
from survey.estimation.atoms import (
    AtomStats,
    answer_atom_stats,
    atom_cross,
    atom_partition,
    atom_stats,
    indicator_states,
)
from survey.estimation.domains import DomainEstimates, domain_of, domain_ratios
from survey.estimation.intervals import korn_graubard_ci, logit_ci, wilson_ci
from survey.indicators import Indicator
from survey.labels import TOTAL_LABEL
from survey.variance import group_sum, stratum_covariances


def indicator_matrices(data: pd.DataFrame, indicators: Sequence[Indicator]) -> tuple[np.ndarray, np.ndarray]:
    """``(y, base)`` as (n, k) float arrays: base = answer is one of the indicator's base codes
    (blank = outside), y = base and answer in the numerator codes."""
    n, k = len(data), len(indicators)
    y = np.zeros((n, k))
    base = np.zeros((n, k))
    for j, ind in enumerate(indicators):  # a loop over indicators, vectorised over rows
        v = data[ind.item].to_numpy(dtype="float64", na_value=np.nan)
        b = np.isin(v, np.asarray(ind.base, dtype=float))
        base[:, j] = b
        y[:, j] = b & np.isin(v, np.asarray(ind.numerator, dtype=float))
    return y, base


@dataclass(frozen=True, eq=False)
class ShareTables:
    """Estimates per year × district and per year (Totalt), plus what comparisons need."""

    estimates: pd.DataFrame
    district: DomainEstimates
    total: DomainEstimates
    district_keys: pd.DataFrame  # year, district per district-domain code
    years: np.ndarray  # year per Totalt-domain code
    indicators: tuple[str, ...]
    cov_district_total: np.ndarray | None  # (G_district, k) Cov(district, its year's Totalt)


def _suppress(n: np.ndarray, est: np.ndarray, se: np.ndarray, min_n: int, max_rse: float | None) -> np.ndarray:
    out = n < min_n
    if max_rse is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            rse = se / est
        out = out | ~(rse <= max_rse)
    return out


def _frame(
    res: DomainEstimates,
    keys: pd.DataFrame,
    names: Sequence[str],
    min_n: int,
    max_rse: float | None,
    level: float,
    lead: dict[str, object] | None = None,
) -> pd.DataFrame:
    """Long table (one row per domain × indicator) with every CI and the suppression flag."""
    lo, hi = logit_ci(res.estimate, res.se, res.df, level)
    kg_lo, kg_hi = korn_graubard_ci(res.estimate, res.se, res.n, res.df, level)
    wi_lo, wi_hi = wilson_ci(res.estimate, res.se, res.n, res.df, level)
    g_, k_ = res.estimate.shape
    empty = (res.n == 0).ravel()

    def cell(a: np.ndarray) -> np.ndarray:  # blank where the domain has no respondents
        return np.where(empty, np.nan, np.asarray(a, dtype=float).ravel())

    cols: dict[str, np.ndarray] = {c: np.repeat(keys[c].to_numpy(), k_) for c in keys.columns}
    for c, value in (lead or {}).items():  # constant columns after the keys (e.g. domain, group)
        cols[c] = np.full(g_ * k_, value, dtype=object)
    cols["indicator"] = np.tile(np.asarray(names, dtype=object), g_)
    cols.update(
        estimate=cell(res.estimate),
        se=cell(res.se),
        ci_low=cell(lo),
        ci_high=cell(hi),
        n=res.n.ravel(),
        suppressed=_suppress(res.n, res.estimate, res.se, min_n, max_rse).ravel(),
        df=res.df.ravel(),
        deff=cell(res.deff),
        weighted_base=res.weighted_base.ravel(),
        ci_low_kg=kg_lo.ravel(),
        ci_high_kg=kg_hi.ravel(),
        ci_low_wilson=wi_lo.ravel(),
        ci_high_wilson=wi_hi.ravel(),
    )
    return pd.DataFrame(cols)


def _partitions(design: Design, data: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame, np.ndarray, np.ndarray]:
    """Codes of the year × district and year partitions (and their keys)."""
    dcode, dkeys = factorize_groups(data, ["year", "district"])
    ycode, ykeys = factorize_groups(data, ["year"])
    return dcode, dkeys, ycode, ykeys["year"].to_numpy()


def estimate_shares(
    design: Design,
    data: pd.DataFrame,
    indicators: Sequence[Indicator],
    *,
    min_n: int = 30,
    max_rse: float | None = None,
    level: float = 0.95,
    mask: np.ndarray | None = None,
    with_comparisons: bool = True,
    atoms: AtomStats | None = None,
) -> ShareTables:
    """Weighted shares per year × district and per year (``Totalt``) for every indicator.

    ``suppressed`` is ``n < min_n`` (contract default 30), or a relative SE above ``max_rse`` when given.
    ``mask`` restricts every domain (e.g. to women) without dropping rows. Element-sampled designs use the
    atom path (sufficient statistics; pass ``atoms`` to reuse them); clustered designs or row masks the
    dense ``domain_ratios``.
    """
    names = tuple(ind.name for ind in indicators)
    dcode, dkeys, ycode, years = _partitions(design, data)
    cov = None
    if design.psu is None and mask is None:
        st = atoms if atoms is not None else atom_stats(design, indicator_states(data, indicators))
        dom_d = domain_of(design.strata, dcode, design.n_strata, "stratum")
        dom_y = domain_of(design.strata, ycode, design.n_strata, "stratum")
        if design.calibration is not None:
            domain_of(design.calibration.block, dcode, len(design.calibration.block_labels), "kalibreringsblock")
        pd_ = atom_partition(design, st, dom_d, len(dkeys), None)
        pt_ = atom_partition(design, st, dom_y, len(years), None)
        dres, tres = pd_.res, pt_.res
        if with_comparisons:
            cov_h = atom_cross(design, st, pd_, pt_)
            cov = group_sum(dom_d[dom_d >= 0], cov_h[dom_d >= 0], len(dkeys))
    else:
        y, base = indicator_matrices(data, indicators)
        num = y * base
        dres = domain_ratios(design, num, base, dcode, len(dkeys), mask=mask, keep_influence=with_comparisons)
        tres = domain_ratios(design, num, base, ycode, len(years), mask=mask, keep_influence=with_comparisons)
        if with_comparisons and dres.influence is not None and tres.influence is not None:
            cov_h = stratum_covariances(design, dres.influence, tres.influence)
            used = dres.domain_of_stratum >= 0
            cov = group_sum(dres.domain_of_stratum[used], cov_h[used], len(dkeys))
    tkeys = pd.DataFrame({"year": years, "district": TOTAL_LABEL})
    est = pd.concat(
        [_frame(dres, dkeys, names, min_n, max_rse, level), _frame(tres, tkeys, names, min_n, max_rse, level)],
        ignore_index=True,
    )
    # contract order: year; districts in code-point order, then Totalt; indicators in codebook order
    est["_t"] = est["district"] == TOTAL_LABEL
    est["_i"] = est["indicator"].map({nm: i for i, nm in enumerate(names)})
    est = est.sort_values(["year", "_t", "district", "_i"], kind="stable").drop(columns=["_t", "_i"])
    return ShareTables(
        estimates=est.reset_index(drop=True),
        district=dres,
        total=tres,
        district_keys=dkeys,
        years=years,
        indicators=names,
        cov_district_total=cov,
    )


def group_codes(data: pd.DataFrame, groups: Sequence[str]) -> tuple[list[np.ndarray], list[list[object]]]:
    """Codes (code-point sorted; missing = 0, never used as a mask value) and levels of each group variable."""
    codes, levels = [], []
    u: pd.Index | np.ndarray  # the levels: a categorical's categories or sorted_factorize's uniques
    for var in groups:
        col = data[var]
        if isinstance(col.dtype, pd.CategoricalDtype) and col.cat.categories.is_monotonic_increasing:
            c, u = col.cat.codes.to_numpy().astype(np.int64), col.cat.categories  # unused levels drop below
            used = np.bincount(c[c >= 0], minlength=len(u)) > 0
            if not used.all():
                c, u = np.where(c >= 0, (np.cumsum(used) - 1)[c], -1), u[used]
        else:
            c, u = sorted_factorize(col)
        codes.append(np.where(c < 0, 0, c).astype(np.int64))
        levels.append(u.tolist() if isinstance(u, np.ndarray) else list(u))
    return codes, levels


def estimate_group_shares(
    design: Design,
    data: pd.DataFrame,
    indicators: Sequence[Indicator],
    groups: Sequence[str],
    *,
    labels: dict[str, dict[object, str]] | None = None,
    min_n: int = 30,
    max_rse: float | None = None,
    level: float = 0.95,
    atoms: AtomStats | None = None,
    within: Literal["year", "district"] = "year",
) -> pd.DataFrame:
    """``Totalt`` per year (``within="year"``) or every year × district (``within="district"``) within each
    level of each variable in ``groups`` (e.g. sex, age group).

    Each level is a domain "year ∩ level" (or "year × district ∩ level") on the full design (rows outside
    get zero weight; the same ratio linearisation with GREG residuals as every other domain, i.e.
    ``svyby(~y, ~district + sex, subset(cal, year == Y & answered), svymean)``). Returns the estimate
    columns plus ``domain`` (the variable) and ``group`` (the level's label).
    """
    names = tuple(ind.name for ind in indicators)
    dcode, dkeys, ycode, years = _partitions(design, data)
    labels = labels or {}
    codes, levels = group_codes(data, groups)
    frames = []
    pcode, keys = (
        (ycode, pd.DataFrame({"year": years, "district": TOTAL_LABEL})) if within == "year" else (dcode, dkeys)
    )
    if design.psu is None:
        st = atoms if atoms is not None else atom_stats(design, indicator_states(data, indicators), extra=codes)
        if st.extra.shape[1] != len(groups):
            raise ValueError("atomerna byggdes utan gruppkoderna: använd atom_stats(..., extra=group_codes(...)[0])")
        dom = domain_of(design.strata, pcode, design.n_strata, "stratum")
    for j, var in enumerate(groups):
        for v, level_value in enumerate(levels[j]):
            if design.psu is None:
                res = atom_partition(design, st, dom, len(keys), st.extra[:, j] == v).res
            else:
                y, base = indicator_matrices(data, indicators)
                res = domain_ratios(design, y * base, base, pcode, len(keys), mask=codes[j] == v)
            label = labels.get(var, {}).get(level_value, str(level_value))
            frames.append(_frame(res, keys, names, min_n, max_rse, level, lead={"domain": var, "group": label}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def estimate_distributions(
    design: Design,
    data: pd.DataFrame,
    items: Sequence[tuple[str, Sequence[int]]],
    *,
    min_n: int = 30,
    max_rse: float | None = None,
    level: float = 0.95,
    atoms: AtomStats | None = None,
) -> pd.DataFrame:
    """The full answer distribution of each item per year × district and per year (``Totalt``): for every
    code ``c`` of ``item`` (``items`` = ``(item, codes)``, "vet ej" included) the share
    ``p_c = Σ w [answer = c] / Σ w [answer in codes]`` among those who answered, with the same
    linearisation SE and CI as every indicator (R: ``svymean(~factor(item), subset(cal, year == Y &
    district == k & answered))``). Returns the estimate columns with ``indicator`` = the item, ``domain`` =
    ``"answer"`` and ``group`` = the code (a string). On an element design the atom sums come from one
    bincount per item (:func:`answer_atom_stats`; ``atoms``, e.g. the estimation step's, lend their atom codes).
    """
    codes_of = {item: tuple(int(c) for c in codes) for item, codes in items}
    pseudo = [
        Indicator(name=f"{item}\x1f{c}", item=item, numerator=(c,), base=codes)
        for item, codes in codes_of.items()
        for c in codes
    ]
    if not pseudo:
        return pd.DataFrame()
    st = answer_atom_stats(design, data, list(codes_of.items()), like=atoms) if design.psu is None else None
    est = estimate_shares(
        design, data, pseudo, min_n=min_n, max_rse=max_rse, level=level, with_comparisons=False, atoms=st
    ).estimates
    item_code = est["indicator"].str.split("\x1f", n=1, expand=True)
    est = est.drop(columns="indicator")
    est.insert(2, "indicator", item_code[0].to_numpy())
    est.insert(3, "domain", "answer")
    est.insert(4, "group", item_code[1].to_numpy())
    return est
