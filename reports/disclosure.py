"""Disclosure control of the published estimates: primary and secondary (complementary) suppression.

Primary suppression: an estimate is hidden when the estimation flagged it (``suppressed``: ``n`` under the
minimum or relative SE over the maximum), when its unweighted ``n`` is under ``min_n``, or when it has no
estimate.

Secondary suppression. Within one year × indicator the published ``Totalt`` share is the weighted mean of the
district shares, ``p_T = Σ_d N_d p_d / Σ_d N_d`` (the calibrated weights reproduce the district
populations, which are public), so with one district hidden and all others published its share follows by
differencing: ``p_h = (N_T p_T − Σ_{d≠h} N_d p_d) / N_h``; in the same way ``n`` of the hidden district is
``n_T − Σ n_d``. The same holds for the groups of a domain (sex, age group) within a district or ``Totalt``,
and for the districts' cells of one group (Kvinna in every district) with that group's ``Totalt``.
The rule applied (the classic one for a one-dimensional table with a published margin; Hundepool et al.,
*Statistical Disclosure Control*, 2012, ch. 4; τ-ARGUS "singleton" protection): in every such relation —
members (districts, or the groups of one domain) and a published margin (``Totalt``, or the district) — the
number of hidden members is either 0 or at least 2. When exactly one member is hidden, the visible member
with the smallest size (weighted base) that is at least as large as the hidden one is hidden too (the
largest visible member when none is that large); a member that is alone in its relation hides the margin
instead. A hidden margin is the weighted sum of its members (a district hidden to protect another has its
sex and age groups published), so a relation whose margin is hidden has at least one hidden member: the
largest is hidden when all are shown. This is iterated until every relation satisfies the rule. With two
hidden members ``h`` and ``s``,
``N_s ≥ N_h``, the published cells give only ``N_h p_h + N_s p_s``, so ``p_h`` can lie anywhere in an
interval of width ``min(1, N_s / N_h)`` (before clipping to [0, 1]): it cannot be derived.

Interval rule (a protection interval, Hundepool et al. 2012, ch. 4.3). Two hidden members are not enough
when their weighted sum is near 0 or near its largest value: with ``k = Σ_hidden N_m p_m`` known from the
margin, a hidden share ``p_h`` can only lie in ``[max(0, (k − Σ_{m≠h} N_m)/N_h), min(1, k/N_h)]`` — in the
demo wave, nobody of 45–54 in one district saw a problem, and the interval was [0; 2,1 %]. So in every
relation with two or more hidden members, the interval of each primary-hidden one (``N`` the weighted bases,
``p`` the full-precision shares; rounding only widens what an attacker gets) must be at least ``MIN_WIDTH``
(5 procentenheter) wide; else the visible member that widens it most is hidden too (the margin when none is
left), iterated with the rule above. Tested against a linear programme over all relations at once
(``tests/test_report_backsolve.py``).

Audit. The rules look at one relation at a time; an attacker combines them all. For every year × indicator
with a primary-hidden share, :mod:`reports.disclosure_audit` solves the attacker's linear programme (every
relation, the published shares within their rounding, the hidden ones in [0, 1]) for the smallest and
largest value of each primary-hidden share; while one is pinned within less than ``MIN_WIDTH``, another
published cell of its relations is hidden and the rules run again (a black-box sweep found sex cells of 6
respondents pinned within 0,7 procentenheter by the relations together, each of which met the rules).

Rounding: every published share, CI bound and difference is rounded to the precision it is shown with (0,1
procent or procentenhet, :func:`reports.formats.shown`), in every published file, so differencing cannot use
full-precision values either. The analysis files (``estimates.csv``, …) are not published and keep full
precision.

The result of :func:`protect` marks each hidden estimate with ``suppressed_reason`` ``primary`` or
``secondary``; both are shown as ``..``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd

from reports.formats import TOTAL, is_missing

DISTRICT = "district"
REASON = "suppressed_reason"
MIN_WIDTH = 0.05  # interval rule: a primary-hidden share stays undetermined over at least 5 procentenheter


def as_bool(v: Any) -> bool:
    """``true``/``1``/``ja`` strings, booleans and numbers as a bool; missing is False."""
    if isinstance(v, str):
        return v.strip().lower() in ("true", "1", "yes", "ja")
    return bool(v) if not is_missing(v) else False


def primary_mask(estimates: pd.DataFrame, min_n: int) -> pd.Series:
    """True where an estimate must not be published by itself: flagged, ``n`` under ``min_n``, no estimate."""
    supp = estimates["suppressed"].map(as_bool) if "suppressed" in estimates else False
    n = pd.to_numeric(estimates["n"], errors="coerce")
    return (supp | n.isna() | (n < min_n) | pd.to_numeric(estimates["estimate"], errors="coerce").isna()).astype(bool)


def domains_of(estimates: pd.DataFrame) -> pd.Series:
    """The domain of every row: its ``domain`` column, ``district`` where missing or absent."""
    if "domain" not in estimates.columns:
        return pd.Series(DISTRICT, index=estimates.index, dtype=object)
    return estimates["domain"].astype("object").where(estimates["domain"].notna(), DISTRICT)


def _sizes(est: pd.DataFrame, dom: pd.Series) -> pd.Series:
    """Size of each row's unit (district or group) in its year: the largest weighted base (else ``n``) over
    the indicators, so the same partner is chosen for every indicator of a year."""
    base = pd.to_numeric(est["weighted_base"], errors="coerce") if "weighted_base" in est else None
    size = (
        base.fillna(pd.to_numeric(est["n"], errors="coerce"))
        if base is not None
        else pd.to_numeric(est["n"], errors="coerce")
    )
    group = (
        est["group"].astype("object").where(est["group"].notna(), "").astype(str)
        if "group" in est
        else pd.Series("", index=est.index)
    )
    key = [est["year"].astype(int), est["district"].astype(str), dom, group]
    return size.fillna(0.0).groupby(key, dropna=False).transform("max")


def _relations(est: pd.DataFrame, dom: pd.Series) -> list[tuple[np.ndarray, int | None]]:
    """Every relation ``(member row positions, margin row position or None)``.

    Districts of a year × indicator with ``Totalt`` as margin; groups of one domain within a year × district ×
    indicator with the district-level row as margin; and, for a group (e.g. Kvinna) of a year × indicator,
    the districts' cells of that group with the group's ``Totalt`` cell as margin (a two-way table
    district × group has both margins).
    """
    pos = pd.Series(np.arange(len(est)), index=est.index)
    year = est["year"].astype(int)
    district = est["district"].astype(str)
    indicator = est["indicator"].astype(str)
    is_dist = dom == DISTRICT
    margin_of = {(y, d, i): p for y, d, i, p in zip(year[is_dist], district[is_dist], indicator[is_dist], pos[is_dist])}
    rel: list[tuple[np.ndarray, int | None]] = []
    members = (is_dist & (district != TOTAL)).to_numpy()
    for (y, i), idx in _groups(members, [year, indicator]):
        rel.append((idx, margin_of.get((int(y), TOTAL, str(i)))))
    groups = (~is_dist).to_numpy()
    for (y, d, i, _), idx in _groups(groups, [year, district, indicator, dom]):
        rel.append((idx, margin_of.get((int(y), str(d), str(i)))))
    if groups.any():  # the districts' cells of one group (e.g. Kvinna) with the group's Totalt as margin
        group = est["group"].astype("object").where(est["group"].notna(), "").astype(str)
        is_total = groups & (district == TOTAL).to_numpy()
        total_of = {
            (y, i, m, g): p
            for y, i, m, g, p in zip(year[is_total], indicator[is_total], dom[is_total], group[is_total], pos[is_total])
        }
        cross = groups & (district != TOTAL).to_numpy()
        for (y, i, m, g), idx in _groups(cross, [year, indicator, dom, group]):
            rel.append((idx, total_of.get((int(y), str(i), str(m), str(g)))))
    return rel


def _groups(mask: np.ndarray, keys: list[pd.Series]) -> list[tuple[tuple[Any, ...], np.ndarray]]:
    """``(key, row positions)`` of the rows in ``mask`` grouped by ``keys``, in groupby's sorted key order
    and ascending positions within a group (``groupby(...).indices``: no pandas object per group)."""
    rows = np.flatnonzero(mask)
    if not len(rows):
        return []
    found = cast(
        dict[tuple[Any, ...], np.ndarray],  # keyed by tuples of the grouped ints and strings (several keys)
        pd.Series(rows).groupby([k.to_numpy()[rows] for k in keys], sort=True).indices,
    )
    return [(key, rows[found[key]]) for key in sorted(found)]


def _partner(members: np.ndarray, hidden: np.ndarray, size: np.ndarray) -> int | None:
    """The member to hide beside the single hidden one: the smallest visible member at least as large."""
    h = members[hidden[members]][0]
    visible = members[~hidden[members]]
    if len(visible) == 0:
        return None
    big = visible[size[visible] >= size[h]]
    pool = big if len(big) else visible[[int(np.argmax(size[visible]))]]
    order = np.lexsort((pool, size[pool]))  # smallest size, then first row: deterministic
    return int(pool[order[0]])


def _interval_partner(
    members: np.ndarray, hidden: np.ndarray, primary: np.ndarray, base: np.ndarray, share: np.ndarray
) -> int | None:
    """A visible member to hide when the relation's hidden members leave a primary one's share too narrow an
    interval (module docstring, interval rule): ``-1`` for none needed, ``None`` when no visible member is
    left (the margin must go), else the member that widens the narrowest interval most."""
    h = members[hidden[members]]
    w, p = base[h], np.nan_to_num(share[h])
    k, total = float(np.sum(w * p)), float(np.sum(w))
    narrow = [i for i, wi in zip(h, w) if primary[i] and wi > 0 and _width(k, total - wi, wi) < MIN_WIDTH]
    if not narrow:
        return -1
    visible = members[~hidden[members]]
    if len(visible) == 0:
        return None
    i = narrow[0]
    wi = float(base[i])
    gain = [_width(k + base[s] * np.nan_to_num(share[s]), total - wi + base[s], wi) for s in visible]
    order = np.lexsort((visible, -np.asarray(gain)))  # the widest interval, then the first row
    return int(visible[order[0]])


def _width(k: float, rest: float, w: float) -> float:
    """Width of ``[max(0, (k − rest)/w), min(1, k/w)]``: the share of a hidden member of base ``w`` when the
    hidden members' weighted sum is ``k`` and the others' bases sum to ``rest`` (their shares in [0, 1])."""
    return min(1.0, k / w) - max(0.0, (k - rest) / w)


@dataclass(frozen=True, eq=False)
class _Pattern:
    """The suppression pattern being built (``hidden``, ``reason`` change in place) and what decides it."""

    hidden: np.ndarray
    reason: np.ndarray
    primary: np.ndarray
    size: np.ndarray  # of each row's unit (``_sizes``): who partners whom
    base: np.ndarray  # weighted bases: the relations' weights
    share: np.ndarray

    def hide(self, row: int) -> None:
        self.hidden[row], self.reason[row] = True, "secondary"


def _apply_rules(relations: list[tuple[np.ndarray, int]], pat: _Pattern, *, interval_rule: bool = True) -> None:
    """The rules of the module docstring on ``relations`` until every one holds."""
    hidden, changed = pat.hidden, True
    while changed:
        changed = False
        for members, margin in relations:
            if not len(members):
                continue
            if hidden[margin]:  # a hidden margin is the weighted sum of its members: not all of them shown
                if not hidden[members].any():
                    pat.hide(int(members[np.lexsort((members, -pat.size[members]))[0]]))  # the largest member
                    changed = True
                continue
            if not hidden[members].any():
                continue
            if int(hidden[members].sum()) == 1:
                extra = _partner(members, hidden, pat.size)
            elif not interval_rule:
                continue
            else:
                extra = _interval_partner(members, hidden, pat.primary, pat.base, pat.share)
                if extra == -1:
                    continue
            pat.hide(margin if extra is None else extra)
            changed = True


def _audit(est: pd.DataFrame, relations: list[tuple[np.ndarray, int]], pat: _Pattern) -> None:
    """The attacker's linear programme over each year × indicator (:mod:`reports.disclosure_audit`): while a
    primary-hidden share is pinned within less than ``MIN_WIDTH``, the published cell with the largest weighted
    base among those in a relation with it (a ``Totalt`` cell only when no other is left) is hidden too, and
    the rules run again."""
    from reports.disclosure_audit import narrow_cells

    key = est["year"].astype(str).to_numpy() + "\x1f" + est["indicator"].astype(str).to_numpy()
    total = (est["district"].astype(str) == TOTAL).to_numpy()  # Totalt is hidden only when nothing else helps
    parts: dict[str, list[tuple[np.ndarray, int]]] = {}
    for members, margin in relations:
        parts.setdefault(str(key[margin]), []).append((members, margin))
    for rel in parts.values():
        if not any(pat.primary[m].any() or pat.primary[g] for m, g in rel):
            continue
        while True:
            narrow = narrow_cells(rel, pat.base, pat.share, pat.hidden, pat.primary, MIN_WIDTH)
            visible = [c for _cell, near in narrow for c in near if not pat.hidden[c]]
            if not visible:
                break
            pat.hide(max(visible, key=lambda c: (not total[c], pat.base[c], -c)))
            _apply_rules(rel, pat)


def protect(
    estimates: pd.DataFrame, min_n: int = 30, *, secondary: bool = True, interval_rule: bool = True
) -> pd.DataFrame:
    """A copy of ``estimates`` with ``hidden`` (bool) and ``suppressed_reason`` (``primary``, ``secondary``
    or ``""``) after primary and secondary suppression (module docstring). ``secondary=False`` only exists
    to show in tests what the secondary rule prevents; ``interval_rule=False`` applies only the rule of at
    least two hidden members (for units without shares, e.g. whole answer distributions, whose codes were
    protected with their shares already)."""
    est = estimates.copy()
    dom = domains_of(est)
    hidden = primary_mask(est, min_n).to_numpy().copy()
    primary = hidden.copy()
    reason = np.where(hidden, "primary", "").astype(object)
    if secondary and len(est):
        size = _sizes(est, dom).to_numpy(float)
        base = (
            (
                pd.to_numeric(est["weighted_base"], errors="coerce").fillna(pd.to_numeric(est["n"], errors="coerce"))
                if "weighted_base" in est
                else pd.to_numeric(est["n"], errors="coerce")
            )
            .fillna(0.0)
            .to_numpy(float)
        )
        share = pd.to_numeric(est["estimate"], errors="coerce").to_numpy(float)
        relations = [(m, g) for m, g in _relations(est, dom) if g is not None]
        pat = _Pattern(hidden, reason, primary, size, base, share)
        _apply_rules(relations, pat, interval_rule=interval_rule)
        if interval_rule:
            _audit(est, relations, pat)
    est["hidden"] = hidden
    est[REASON] = reason
    return est


def ensure_protected(estimates: pd.DataFrame, min_n: int) -> pd.DataFrame:
    """``estimates`` as returned by :func:`protect` (computed only when the columns are not there yet)."""
    if "hidden" in estimates.columns and REASON in estimates.columns:
        return estimates
    return protect(estimates, min_n)


def hidden_mask(estimates: pd.DataFrame, min_n: int) -> pd.Series:
    """True where an estimate must not be published (primary or secondary suppression)."""
    return ensure_protected(estimates, min_n)["hidden"].astype(bool)


def suppression_list(protected: pd.DataFrame) -> pd.DataFrame:
    """The hidden estimates with their reason (not published; for the analysis files)."""
    cols = [c for c in ("year", "district", "domain", "group", "indicator", "n", REASON) if c in protected.columns]
    return protected.loc[protected["hidden"].astype(bool), cols].reset_index(drop=True)


def suppression_rule_text(min_n: int) -> str:
    """The suppression and rounding rule for the method section (Swedish)."""
    return (
        f"Röjandekontroll: en andel redovisas inte (..) när färre än {min_n} har besvarat frågan eller när "
        "skattningen är för osäker (primär undertryckning). Eftersom Totalt är ett vägt medelvärde av "
        "områdenas andelar (på samma sätt är ett områdes andel ett vägt medelvärde av dess köns- och "
        "åldersgruppers, och Totalt för en grupp av gruppens andelar i områdena) döljs alltid minst två "
        "uppgifter i samma "
        "år och indikator: är bara en uppgift dold, döljs också det minsta område (eller den minsta grupp) "
        "som är minst lika stort (sekundär undertryckning), så att den dolda uppgiften inte kan räknas fram "
        "ur Totalt och de andra områdena; ett dolt område visar aldrig alla sina köns- eller åldersgrupper. "
        "Skulle de publicerade uppgifterna tillsammans ändå ringa in en dold andel snävare än 5 procentenheter "
        "(det prövas med alla samband på en gång), döljs ytterligare en uppgift. Förändringar och skillnader "
        "som bygger på en dold uppgift "
        "redovisas inte heller. Alla publicerade andelar och skillnader är avrundade till en decimal, i "
        "alla filer."
    )
