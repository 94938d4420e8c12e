"""Small-area estimates for districts too small for direct estimates: the Fay–Herriot EBLUP
(:func:`survey.models.small_area_shares`), offered in a table of its own, labelled "modellskattning
(Fay–Herriot)", never in place of a direct estimate.

Model (per year × indicator, districts as areas, logit scale, intercept only): ``theta_d = logit p_d``,
``psi_d = se_d^2 / (p_d (1 − p_d))^2``; EBLUP ``gamma_d theta_d + (1 − gamma_d) beta`` with ``A`` by REML and
Prasad & Rao's MSE (Rao & Molina 2015, ch. 6). Interval: ``expit(theta_EBLUP ± z sqrt(MSE))`` (95 %), ``MSE`` the
conservative bound below (not the district's own Prasad–Rao MSE).

Which cells: only those whose direct estimate is hidden by *primary* suppression (too few respondents or
too uncertain), and only where the model leans on the common mean (``gamma_d < 0,5``) and lands at least
0,5 procentenheter from the hidden direct estimate: with ``gamma`` near 1 the EBLUP *is* the direct
estimate and would publish what the suppression hides. Cells hidden by secondary suppression get no model
estimate (a large district's ``gamma`` is near 1: it would undo the protection of the small district the
secondary rule hides it for). ``n`` of a small district is not published. Rows are keyed
``"<district> (modell)"`` in every format, so no published cell of the district itself carries a number.
Back-solving (the rule this table is published under). The EBLUP is ``theta_FH = gamma theta_direct +
(1 − gamma) beta``: whoever knows ``gamma`` and ``beta`` solves it for the hidden direct estimate.
``beta`` and ``A`` are fitted mostly on the published districts and must be taken as known to an attacker;
``gamma`` is not published, but Prasad–Rao's MSE, ``A(1 − gamma) + (1 − gamma)^2 V(beta) + 2 (1 − gamma)^2
gamma Var(A)/A``, is a monotone function of ``gamma``, so an interval built from it would publish ``gamma``
(in the demo wave the direct estimate came back within 0,1–1,6 procentenheter). So the interval is built
from the largest MSE over ``gamma`` in ``[0, MAX_GAMMA]`` (:func:`interval_mse`): a conservative interval
that depends on ``A``, ``V(beta)`` and ``Var(A)`` only, the same for every district of a year × indicator.
Then the published row (the share rounded to 0,1 %, the rule ``gamma < MAX_GAMMA``) leaves an attacker who
knows ``A``, ``beta``, ``V(beta)``, ``Var(A)`` every direct share in :func:`backsolve_interval`:
``expit(beta + (t − beta) / gamma)`` over ``gamma`` in ``(0, MAX_GAMMA)`` and ``t`` within rounding of
``logit`` of the published share — the half-line beyond ``beta + (t − beta) / MAX_GAMMA``, or everything
when ``t`` can equal ``beta``. A row is published only when that set, less the band of ±``MIN_DISTANCE``
round the model estimate that the rule excludes, is at least ``2 × BACKSOLVE_HALF_WIDTH`` (5 procentenheter)
wide; else it is withheld (``..``). Assumed unknown to the attacker: the district's own ``n`` and standard
error (published only as "färre än ``min_n``"). With ``A = 0`` nothing is offered. Tested by running the
attack on the published numbers (``tests/test_report_backsolve.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit, logit
from scipy.stats import norm

from reports.disclosure import REASON, ensure_protected
from reports.formats import TOTAL, swedish_number
from reports.labels import (
    GROUP_LABELS,
    district_order,
    indicator_group,
    indicator_label,
    indicator_order,
    method_note,
    short_label,
    source_line,
)
from reports.signals import SignalRule
from reports.tabledata import CellBuilder, TableData
from reports.tables import district_estimates
from survey.data.codebook import Codebook
from survey.errors import ModelError
from survey.labels import MODEL_SUFFIX
from survey.models import fay_herriot, small_area_shares

LABEL = "modellskattning (Fay–Herriot)"
ROW_SUFFIX = MODEL_SUFFIX  # row keys and labels: the model estimate of a district, not the district's estimate
MAX_GAMMA = 0.5  # offered only where the district's own answers weigh less than the common mean
MIN_DISTANCE = 0.005  # and at least 0,5 procentenheter from the (hidden) direct estimate
BACKSOLVE_HALF_WIDTH = 0.025  # the direct share must stay unknown within at least ±2,5 procentenheter
STEP = 0.001  # the published share's precision (0,1 %): it is known only within ±STEP/2
KIND = "small_area"


@dataclass(frozen=True)
class FitParameters:
    """The common parameters of one year × indicator's Fay–Herriot fit (logit scale): between-area variance
    ``a``, common mean ``beta``, ``beta_var = V(beta)`` and ``a_var = Var(A)``."""

    a: float
    beta: float
    beta_var: float
    a_var: float


def fit_parameters(est: pd.DataFrame) -> dict[str, FitParameters]:
    """Per indicator, the parameters of the fit :func:`survey.models.small_area_shares` makes on ``est``
    (one year's district rows: ``indicator, estimate, se``): logit scale, REML, intercept only, on the
    districts with ``0 < p < 1`` and ``se > 0`` (at least three)."""
    out = {}
    for ind, g in est.groupby("indicator", sort=True):
        p = pd.to_numeric(g["estimate"], errors="coerce").to_numpy(float)
        se = pd.to_numeric(g["se"], errors="coerce").to_numpy(float)
        ok = np.isfinite(p) & np.isfinite(se) & (p > 0) & (p < 1) & (se > 0)
        if ok.sum() < 3:
            continue
        fh = fay_herriot(logit(p[ok]), se[ok] ** 2 / (p[ok] * (1 - p[ok])) ** 2, method="REML")
        out[str(ind)] = FitParameters(fh.a, float(fh.beta[0]), float(fh.beta_vcov[0, 0]), fh.a_var)
    return out


def interval_mse(par: FitParameters, max_gamma: float = MAX_GAMMA) -> float:
    """The largest Prasad–Rao MSE over ``gamma`` in ``[0, max_gamma]``: with ``psi = A (1 − gamma)/gamma``,
    ``g1 + g2 + 2 g3 = A (1 − gamma) + (1 − gamma)^2 V(beta) + 2 (1 − gamma)^2 gamma Var(A)/A`` (Rao & Molina
    2015, eq. 6.2.11 with an intercept), a cubic in ``gamma``: its maximum at an end or a root of the
    derivative ``−A − 2 (1 − gamma) V(beta) + 2 Var(A)/A (1 − gamma)(1 − 3 gamma)``. Independent of the
    district's own sampling variance, so the interval does not publish ``gamma``."""
    a, vb, va = par.a, par.beta_var, par.a_var
    if a <= 0:
        raise ModelError("Fay–Herriot: mellanområdesvariansen är 0; ingen modellskattning")

    def mse(g: float) -> float:
        return a * (1 - g) + (1 - g) ** 2 * vb + 2 * (1 - g) ** 2 * g * va / a

    k = 2 * va / a  # derivative: k (1 − g)(1 − 3g) − 2 vb (1 − g) − a = 3k g² + (2vb − 4k) g + (k − 2vb − a)
    roots = np.roots([3 * k, 2 * vb - 4 * k, k - 2 * vb - a]) if k > 0 else np.array([])
    cands = [0.0, max_gamma] + [float(r.real) for r in roots if abs(r.imag) < 1e-12 and 0 < r.real < max_gamma]
    return max(mse(g) for g in cands)


def backsolve_interval(
    published: float, beta: float, max_gamma: float = MAX_GAMMA, step: float = STEP
) -> tuple[float, float]:
    """The direct shares consistent with a published model share (rounded to ``step``) for an attacker who
    knows ``beta`` (and ``A``; the interval tells nothing more, :func:`interval_mse`) and that
    ``gamma < max_gamma``: ``{expit(beta + (t − beta)/gamma)}`` over ``t`` in ``logit`` of the rounding
    interval and ``gamma`` in ``(0, max_gamma)`` — ``(low, high)``."""
    eps = 1e-12
    t_lo = float(logit(min(max(published - step / 2, eps), 1 - eps)))
    t_hi = float(logit(min(max(published + step / 2, eps), 1 - eps)))
    if t_lo <= beta <= t_hi:
        return 0.0, 1.0
    if t_lo > beta:
        return float(expit(beta + (t_lo - beta) / max_gamma)), 1.0
    return 0.0, float(expit(beta + (t_hi - beta) / max_gamma))


def backsolve_width(published: float, beta: float, max_gamma: float = MAX_GAMMA) -> float:
    """Width of :func:`backsolve_interval` less the band the rule excludes (``|direct − model| ≤
    MIN_DISTANCE`` round the published share, widened by its rounding): what the attacker cannot tell apart."""
    low, high = backsolve_interval(published, beta, max_gamma)
    band_lo, band_hi = published - STEP / 2 - MIN_DISTANCE, published + STEP / 2 + MIN_DISTANCE
    return (high - low) - max(0.0, min(high, band_hi) - max(low, band_lo))


_FH_COLUMNS = [
    "district",
    "indicator",
    "modelled",
    "ci_low",
    "ci_high",
    "estimate_type",
    "backsolve_low",
    "backsolve_high",
]


def modelled_shares(protected: pd.DataFrame, year: int, level: float = 0.95) -> pd.DataFrame:
    """The Fay–Herriot estimates of ``year`` for the primary-hidden district cells that pass the rules of
    the module docstring: ``district, indicator, modelled, ci_low, ci_high, estimate_type`` and the
    interval ``backsolve_low``–``backsolve_high`` an attacker is left with. Empty when nothing is hidden or
    the fit is not possible."""
    est = district_estimates(protected)
    est = est[(est["year"].astype(int) == int(year)) & (est["district"].astype(str) != TOTAL)]
    wanted = est[est[REASON].astype(str) == "primary"]
    if wanted.empty or "se" not in est.columns:
        return pd.DataFrame(columns=_FH_COLUMNS)
    try:
        fh = small_area_shares(est[["year", "district", "indicator", "estimate", "se", "n"]], scale="logit")
    except ModelError:
        return pd.DataFrame(columns=_FH_COLUMNS)
    keys = set(zip(wanted["district"].astype(str), wanted["indicator"].astype(str)))
    fh = fh[[(str(d), str(i)) in keys for d, i in zip(fh["district"], fh["indicator"])]]
    fh = fh[fh["estimate_type"].astype(str).str.startswith("modelled") & fh["modelled"].notna()]
    # the model must lean on the common mean, and must not land on the hidden direct estimate
    fh = fh[(fh["gamma"].fillna(0.0) < MAX_GAMMA) & ((fh["modelled"] - fh["estimate"]).abs() > MIN_DISTANCE)]
    pars = fit_parameters(est)
    z = float(norm.ppf(0.5 + level / 2))
    rows = []
    for d, i, p, kind in zip(fh["district"], fh["indicator"], fh["modelled"].astype(float), fh["estimate_type"]):
        par = pars.get(str(i))
        if par is None or par.a <= 0:
            continue  # no common between-area variance: nothing to offer
        shown_p = round(p * 100, 1) / 100
        if backsolve_width(shown_p, par.beta) < 2 * BACKSOLVE_HALF_WIDTH:
            continue  # the published share would pin the hidden direct estimate down: withheld
        half = z * float(np.sqrt(interval_mse(par)))
        low, high = backsolve_interval(shown_p, par.beta)
        rows.append([str(d), str(i), p, expit(logit(p) - half), expit(logit(p) + half), str(kind), low, high])
    return pd.DataFrame(rows, columns=_FH_COLUMNS)


def backsolve_note() -> str:
    """The back-solving rule of the module docstring, for the table's notes (Swedish)."""
    width = swedish_number(BACKSOLVE_HALF_WIDTH * 100, 1)
    return (
        "Skydd mot återräkning: intervallet bygger på det största medelkvadratfel modellen kan ha när områdets "
        "egna svar väger mindre än hälften, inte på områdets eget, och visar därför inte hur mycket skattningen "
        "vilar på områdets svar. En modellskattning redovisas bara när den, också tillsammans med modellens "
        f"gemensamma medelvärde, lämnar den dolda direkta skattningen obestämd inom minst ±{width} "
        "procentenheter; annars visas .."
    )


def small_area_table(
    estimates: pd.DataFrame,
    codebook: Codebook | None,
    year: int,
    run_meta: Mapping[str, Any],
    *,
    min_n: int = 30,
) -> TableData | None:
    """Rows = the districts with a primary-hidden estimate in ``year``, columns = indicators; each offered
    cell the Fay–Herriot share with its MSE-based 95 % interval (others ``..``). ``None`` when no district
    needs one."""
    prot = ensure_protected(estimates, min_n)
    fh = modelled_shares(prot, year, float(run_meta.get("level", 0.95) or 0.95))
    if fh.empty:
        return None
    districts = district_order(fh["district"].unique())
    inds = indicator_order(codebook, fh["indicator"])
    idx = {(d, i): r for d, i, r in zip(fh["district"], fh["indicator"], fh.itertuples(index=False))}
    cb = CellBuilder(SignalRule.from_run(run_meta).alpha)
    for d in districts:
        for i in inds:
            r = idx.get((d, i))
            values = {"est": r.modelled, "lo": r.ci_low, "hi": r.ci_high} if r is not None else {}
            cb.add(d + ROW_SUFFIX, i, values or {"est": None, "lo": None, "hi": None}, r is None)
    notes = [
        f"Andel i procent, {LABEL}, med {SignalRule.from_run(run_meta).level_percent} % intervall från "
        "modellens medelkvadratfel (MSE). Erbjuds bara för "
        f"områden vars direkta skattning inte redovisas för att för få har svarat (färre än {min_n}) eller för "
        "att den är för osäker; den ersätter inte direktskattningen och jämförs inte med andra områden.",
        "Modell: Fay–Herriot (områdesnivå), per år och indikator, med områdena som små områden på logitskalan "
        "och ett gemensamt medelvärde; mellanområdesvariansen skattas med REML och MSE med Prasad–Raos "
        "approximation (Rao & Molina 2015, kap. 6). Skattningen är ett vägt medel av områdets direkta "
        "skattning och det gemensamma medelvärdet, med mindre vikt på områdets egna svar ju färre de är.",
        ".. Ingen modellskattning: direktskattningen redovisas i områdestabellen, eller är dold för att "
        "skydda ett annat område, eller modellen vilar till mer än hälften på områdets egna få svar (då skulle "
        "modellskattningen i praktiken vara den dolda direkta skattningen).",
        backsolve_note(),
        method_note(run_meta),
    ]
    return TableData(
        table_id="small_area",
        year=int(year),
        title=f"Små områden: {LABEL}, {year}",
        subtitle="Andel i procent, modellskattning – inte direkt skattning",
        kind=KIND,
        rows=[(d + ROW_SUFFIX, d + ROW_SUFFIX) for d in districts],
        columns=[(i, short_label(indicator_label(codebook, i))) for i in inds],
        stats=["est", "lo", "hi"],
        dims={"row": "district", "column": "indicator", "fixed": {"year": int(year), "estimate_type": LABEL}},
        cells=cb.frame(),
        stub_label="Område",
        column_spanners={i: GROUP_LABELS.get(indicator_group(codebook, i), indicator_group(codebook, i)) for i in inds},
        footnotes=notes,
        source_note=source_line(run_meta, codebook),
        sheet_name="Små områden (modell)",
    )
