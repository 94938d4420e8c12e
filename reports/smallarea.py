"""Small-area estimates for districts too small for direct estimates: the Fay–Herriot EBLUP
(:func:`survey.models.small_area_shares`), offered in a table of its own, labelled "modellskattning
(Fay–Herriot)", never in place of a direct estimate.

Model (per year × indicator, districts as areas, logit scale, intercept only): ``theta_d = logit p_d``,
``psi_d = se_d^2 / (p_d (1 − p_d))^2``; EBLUP ``gamma_d theta_d + (1 − gamma_d) beta`` with ``A`` by REML and
Prasad & Rao's MSE (Rao & Molina 2015, ch. 6). Interval: ``expit(theta_EBLUP ± z sqrt(MSE))`` (95 %), the MSE
taken back from the delta-method ``modelled_se = p (1 − p) sqrt(MSE)``.

Which cells: only those whose direct estimate is hidden by *primary* suppression (too few respondents or
too uncertain), and only where the model leans on the common mean (``gamma_d < 0,5``) and lands at least
0,5 procentenheter from the hidden direct estimate: with ``gamma`` near 1 the EBLUP *is* the direct
estimate and would publish what the suppression hides. Cells hidden by secondary suppression get no model
estimate (a large district's ``gamma`` is near 1: it would undo the protection of the small district the
secondary rule hides it for). ``n`` of a small district is not published. Rows are keyed
``"<district> (modell)"`` in every format, so no published cell of the district itself carries a number.
Not protected against: an attacker who knows ``gamma_d`` and ``beta`` could solve the EBLUP for the direct
estimate; neither is published, and both depend on the hidden ``se_d``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit, logit
from scipy.stats import norm

from reports.disclosure import REASON, ensure_protected
from reports.formats import TOTAL
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
from survey.models import small_area_shares

LABEL = "modellskattning (Fay–Herriot)"
ROW_SUFFIX = " (modell)"  # row keys and labels: the model estimate of a district, not the district's estimate
MAX_GAMMA = 0.5  # offered only where the district's own answers weigh less than the common mean
MIN_DISTANCE = 0.005  # and at least 0,5 procentenheter from the (hidden) direct estimate
KIND = "small_area"


def modelled_shares(protected: pd.DataFrame, year: int, level: float = 0.95) -> pd.DataFrame:
    """The Fay–Herriot estimates of ``year`` for the primary-hidden district cells: ``district, indicator,
    modelled, ci_low, ci_high, estimate_type``. Empty when nothing is hidden or the fit is not possible."""
    est = district_estimates(protected)
    est = est[(est["year"].astype(int) == int(year)) & (est["district"].astype(str) != TOTAL)]
    wanted = est[est[REASON].astype(str) == "primary"]
    if wanted.empty or "se" not in est.columns:
        return pd.DataFrame(columns=["district", "indicator", "modelled", "ci_low", "ci_high", "estimate_type"])
    try:
        fh = small_area_shares(est[["year", "district", "indicator", "estimate", "se", "n"]], scale="logit")
    except ModelError:
        return pd.DataFrame(columns=["district", "indicator", "modelled", "ci_low", "ci_high", "estimate_type"])
    keys = set(zip(wanted["district"].astype(str), wanted["indicator"].astype(str)))
    fh = fh[[(str(d), str(i)) in keys for d, i in zip(fh["district"], fh["indicator"])]]
    fh = fh[fh["estimate_type"].astype(str).str.startswith("modelled") & fh["modelled"].notna()]
    # the model must lean on the common mean, and must not land on the hidden direct estimate
    fh = fh[(fh["gamma"].fillna(0.0) < MAX_GAMMA) & ((fh["modelled"] - fh["estimate"]).abs() > MIN_DISTANCE)]
    p = fh["modelled"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        se_theta = fh["modelled_se"].to_numpy(float) / (p * (1 - p))
    z = float(norm.ppf(0.5 + level / 2))
    return pd.DataFrame(
        {
            "district": fh["district"].astype(str).to_numpy(),
            "indicator": fh["indicator"].astype(str).to_numpy(),
            "modelled": p,
            "ci_low": expit(logit(p) - z * se_theta),
            "ci_high": expit(logit(p) + z * se_theta),
            "estimate_type": fh["estimate_type"].astype(str).to_numpy(),
        }
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
        f"Andel i procent, {LABEL}, med 95 % intervall från modellens medelkvadratfel (MSE). Erbjuds bara för "
        f"områden vars direkta skattning inte redovisas för att för få har svarat (färre än {min_n}) eller för "
        "att den är för osäker; den ersätter inte direktskattningen och jämförs inte med andra områden.",
        "Modell: Fay–Herriot (områdesnivå), per år och indikator, med områdena som små områden på logitskalan "
        "och ett gemensamt medelvärde; mellanområdesvariansen skattas med REML och MSE med Prasad–Raos "
        "approximation (Rao & Molina 2015, kap. 6). Skattningen är ett vägt medel av områdets direkta "
        "skattning och det gemensamma medelvärdet, med mindre vikt på områdets egna svar ju färre de är.",
        ".. Ingen modellskattning: direktskattningen redovisas i områdestabellen, eller är dold för att "
        "skydda ett annat område, eller modellen vilar till mer än hälften på områdets egna få svar (då skulle "
        "modellskattningen i praktiken vara den dolda direkta skattningen).",
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
