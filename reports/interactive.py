"""The interactive comparison page ``jamfor.html``: one self-contained offline file (no server, no CDN; its
JavaScript, CSS and data inlined) where one picks districts, an indicator and years and sees the shares with
CIs, the difference between two areas in procentenheter with its CI and adjusted p-value, trend lines
(inline SVG drawn by the page's own script) and a ranking of the districts.

Data: the published (protected, rounded) district estimates and the ``vs_district`` / ``vs_totalt`` rows of
``comparisons.csv``. Disclosure: a hidden estimate (primary or secondary suppression) is *absent* from the
embedded data — the page shows ``..`` because it has nothing else — and so is every comparison that
involves one. Every number is embedded rounded to its displayed precision, with the Swedish text the
tables print (:func:`reports.formats.cell_text`), so the page and the tables agree digit for digit.
The JSON goes into a ``<script type="application/json">`` element with ``<``, ``>`` and ``&`` escaped as
``\\u003c``…, so no text from the data can close the element.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from markupsafe import Markup

from reports.disclosure import ensure_protected
from reports.formats import EN_DASH, TOTAL, cell_text, shown, shown_array, swedish_number
from reports.labels import GROUP_LABELS, district_order, indicator_group, indicator_label, indicator_order
from reports.page_texts import english_interactive_data, texts
from reports.signals import SignalRule
from reports.tables import district_estimates
from reports.templating import render
from survey.data.codebook import Codebook

FILE_NAME = "jamfor.html"


def _share(stat: str, v: Any, alpha: float) -> list[Any]:
    """``[rounded value, Swedish text]`` of one statistic."""
    val = shown(stat, v, alpha=alpha)
    return [val, cell_text(stat, val, alpha=alpha)]


def _estimates(prot: pd.DataFrame, alpha: float) -> dict[str, dict[str, dict[str, list[Any]]]]:
    """``{indicator: {district: {year: [est, est_text, lo, hi, ci_text, n]}}}`` of the visible cells only."""
    out: dict[str, dict[str, dict[str, list[Any]]]] = {}
    cols = ["indicator", "district", "year", "estimate", "ci_low", "ci_high", "n", "hidden"]
    for ind, d, y, e, lo, hi, n, h in prot[cols].itertuples(index=False, name=None):
        if bool(h) or pd.isna(e):
            continue  # hidden: absent from the page's data
        ev, et = _share("est", e, alpha)
        lv, hv = shown("lo", lo, alpha=alpha), shown("hi", hi, alpha=alpha)
        ci = (
            f"{swedish_number(lv * 100, 1)}{EN_DASH}{swedish_number(hv * 100, 1)}"
            if lv is not None and hv is not None
            else "."
        )
        out.setdefault(str(ind), {}).setdefault(str(d), {})[str(int(y))] = [ev, et, lv, hv, ci, int(n)]
    return out


def _comparisons(
    comparisons: pd.DataFrame | None, visible: set[tuple[str, str, int]], rule: SignalRule
) -> dict[str, dict[str, dict[str, list[Any]]]]:
    """``{indicator: {year: {"A|B": [diff, diff_text, lo_text, hi_text, p_text, significant]}}}`` of A − B
    (``vs_district`` and ``vs_totalt``), only where both shares are published. Rounded as whole columns
    (:func:`shown_array`, equal to :func:`shown`); the texts of the rounded values are cached."""
    out: dict[str, dict[str, dict[str, list[Any]]]] = {}
    if comparisons is None or comparisons.empty or not visible:
        return out
    c = comparisons[comparisons["comparison"].isin(["vs_district", "vs_totalt"])]
    other = c["other"].astype(str).where(c["comparison"] == "vs_district", TOTAL)
    ind, d, y = c["indicator"].astype(str), c["district"].astype(str), c["year"].astype(int)
    shown_keys = pd.MultiIndex.from_tuples(sorted(visible))
    keep = (
        pd.MultiIndex.from_arrays([ind, d, y]).isin(shown_keys)
        & pd.MultiIndex.from_arrays([ind, other, y]).isin(shown_keys)
        & c["difference"].notna().to_numpy()
    )
    c = c[keep]
    a = rule.alpha
    pv = (c["p_adjusted"] if "p_adjusted" in c.columns else c["p_value"]).to_numpy(dtype=float, na_value=np.nan)
    dv, lo, hi = (shown_array("diff", c[col]) for col in ("difference", "ci_low", "ci_high"))
    pval = shown_array("p", pv, alpha=a)
    significant = rule.significant_array(pv).tolist()

    def text(stat: str, x: float) -> str:
        return cell_text(stat, None if x != x else x, alpha=a)

    for i, yy, dd, o, dx, lx, hx, px, sig in zip(
        ind[keep].tolist(), y[keep].tolist(), d[keep].tolist(), other[keep].tolist(),
        dv.tolist(), lo.tolist(), hi.tolist(), pval.tolist(), significant,
    ):  # fmt: skip
        out.setdefault(i, {}).setdefault(str(yy), {})[f"{dd}|{o}"] = [
            dx,
            text("diff", dx),
            text("diff", lx),
            text("diff", hx),
            text("p", px),
            sig,
        ]
    return out


def interactive_data(
    estimates: pd.DataFrame,
    comparisons: pd.DataFrame | None,
    codebook: Codebook | None,
    run_meta: Mapping[str, Any],
    *,
    min_n: int = 30,
    rule: SignalRule | None = None,
) -> dict[str, Any]:
    """The page's data (module docstring): indicators, districts, years, visible estimates, comparisons."""
    rule = rule or SignalRule.from_run(run_meta, comparisons)
    prot = district_estimates(ensure_protected(estimates, min_n))
    est = _estimates(prot, rule.alpha)
    visible = {(i, d, int(y)) for i, by_d in est.items() for d, by_y in by_d.items() for y in by_y}
    inds = indicator_order(codebook, prot["indicator"].astype(str))
    return {
        "indicators": [
            {
                "id": i,
                "label": indicator_label(codebook, i),
                "group": GROUP_LABELS.get(indicator_group(codebook, i), indicator_group(codebook, i)),
            }
            for i in inds
        ],
        "districts": district_order(prot["district"].astype(str).unique()),
        "years": sorted({int(y) for y in prot["year"]}),
        "estimates": est,
        "comparisons": _comparisons(comparisons, visible, rule),
        "alpha": rule.alpha,
        "p_label": rule.p_label,
        "level": rule.level,
    }


def _script_json(data: Mapping[str, Any]) -> Markup:
    """JSON safe inside ``<script>``: ``<``, ``>``, ``&`` as JSON escapes (the parsed value is unchanged)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def interactive_page(
    data: Mapping[str, Any], run_meta: Mapping[str, Any], *, back_link: str | None = "index.html"
) -> str:
    """The complete page (template ``interactive.html`` with its script ``interactive.js`` inlined); in English
    when ``run_meta["lang"] == "en"`` (:func:`reports.page_texts.english_interactive_data`)."""
    lang = "en" if run_meta.get("lang") == "en" else "sv"
    if lang == "en":
        data = english_interactive_data(data)
    return render(
        "interactive.html",
        lang=lang,
        t=texts(lang),
        back_text=texts(lang)["back"],
        title=texts(lang)["compare"],
        back_link=back_link,
        wide=True,
        data_json=_script_json(data),
        source=str(run_meta.get("data_source", "")),
        run_id=str(run_meta.get("run_id", "")),
        p_label=str(data["p_label"]),
        level=round(float(data["level"]) * 100),
    )


def write_interactive(
    estimates: pd.DataFrame,
    comparisons: pd.DataFrame | None,
    codebook: Codebook | None,
    run_meta: Mapping[str, Any],
    out_dir: Path,
    *,
    min_n: int = 30,
    rule: SignalRule | None = None,
) -> Path:
    """``out_dir/jamfor.html``."""
    data = interactive_data(estimates, comparisons, codebook, run_meta, min_n=min_n, rule=rule)
    p = Path(out_dir) / FILE_NAME
    p.write_text(interactive_page(data, run_meta), encoding="utf-8")
    return p
