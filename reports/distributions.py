"""Full answer distributions per item: every answer code's weighted share with its CI ("vet ej" and "ingen
uppfattning" included), per district and ``Totalt`` for the latest year, from the estimation's ``answer``
domain (``indicator`` = the item, ``group`` = the code; :func:`survey.estimation.estimate_distributions`).

Disclosure (:func:`protect_distributions`). The unit is one item's distribution in one year × district
(its codes share one base ``n``, and they sum to 1, so a single hidden code would follow from the others).
A unit is hidden whole when any of its codes is hidden by :func:`reports.disclosure.protect`, or when any
indicator on the item is hidden for that year × district (an indicator is a sum of code shares, so a
visible distribution would give a hidden indicator away). The units of a year × item then get the
secondary rule of :mod:`reports.disclosure` with ``Totalt`` as margin (the ``Totalt`` distribution is the
population-weighted mean of the districts'), so no hidden unit can be derived by differencing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from reports.disclosure import as_bool, protect
from reports.domains import share_cells
from reports.formats import TOTAL
from reports.labels import district_order, method_note, source_line
from reports.signals import SignalRule
from reports.tabledata import TableData
from survey.data.codebook import Codebook

DOMAIN = "answer"
KIND = "distribution"
UNIT = ["year", "district", "indicator"]


def answer_rows(estimates: pd.DataFrame) -> pd.DataFrame:
    """The rows of the answer distributions (domain ``answer``); empty when the estimates have none."""
    if "domain" not in estimates.columns:
        return estimates.iloc[0:0]
    return estimates[estimates["domain"] == DOMAIN]


def _indicator_hidden(protected: pd.DataFrame, codebook: Codebook | None) -> set[tuple[int, str, str]]:
    """(year, district, item) where some district-level indicator on ``item`` is hidden."""
    if codebook is None or "hidden" not in protected.columns:
        return set()
    item_of = {ind.name: ind.item for ind in codebook.indicators}
    dom = protected["domain"] if "domain" in protected.columns else pd.Series("district", index=protected.index)
    rows = protected[(dom.fillna("district") == "district") & protected["hidden"].astype(bool)]
    return {
        (int(y), str(d), item_of[str(i)])
        for y, d, i in zip(rows["year"], rows["district"], rows["indicator"])
        if str(i) in item_of
    }


def protect_distributions(protected: pd.DataFrame, codebook: Codebook | None, min_n: int = 30) -> pd.DataFrame:
    """The answer rows of ``protected`` (a :func:`reports.disclosure.protect` result) with ``hidden`` set per
    unit year × district × item (module docstring) and ``suppressed_reason`` ``primary``/``secondary``."""
    ans = answer_rows(protected).copy()
    if ans.empty:
        return ans
    ans["hidden"] = ans["hidden"].map(as_bool) if "hidden" in ans.columns else False
    base = ans.groupby(UNIT, sort=False).agg(
        n=("n", "max"),
        weighted_base=("weighted_base", "max") if "weighted_base" in ans.columns else ("n", "max"),
        hidden=("hidden", "max"),
    )
    linked = _indicator_hidden(protected, codebook)
    unit = base.reset_index()
    link = [(int(y), str(d), str(i)) in linked for y, d, i in zip(unit["year"], unit["district"], unit["indicator"])]
    unit["suppressed"] = unit["hidden"].astype(bool).to_numpy() | np.asarray(link, dtype=bool)
    unit["estimate"] = 1.0  # the units' shares are not needed, only who is hidden
    prot = protect(unit.drop(columns="hidden"), min_n, interval_rule=False)  # the codes had it with their shares
    key = pd.MultiIndex.from_frame(ans[UNIT].astype({"year": int, "district": str, "indicator": str}))
    state = prot.set_index(pd.MultiIndex.from_frame(prot[UNIT].astype({"year": int, "district": str})))
    ans["hidden"] = state["hidden"].reindex(key).to_numpy(dtype=bool)
    ans["suppressed_reason"] = state["suppressed_reason"].reindex(key).to_numpy()
    return ans


def distribution_table(
    answers: pd.DataFrame,
    codebook: Codebook | None,
    item: str,
    year: int,
    run_meta: Mapping[str, Any],
    *,
    min_n: int = 30,
) -> TableData | None:
    """The answer distribution of ``item`` in ``year``: rows = districts and ``Totalt``, columns = the
    codebook's answer codes (labels), each cell the share with CI and ``n`` (the item's base)."""
    a = answers[(answers["indicator"] == item) & (answers["year"].astype(int) == int(year))]
    if a.empty:
        return None
    labels: dict[str, str] = {}
    text = ""
    if codebook is not None and item in codebook.item_names:
        it = codebook.item(item)
        labels, text = {str(c): lab for c, lab in it.codes.items()}, it.text_sv
    codes = sorted({str(c) for c in a["group"]}, key=lambda c: (len(c), c))
    codes = [c for c in labels if c in codes] + [c for c in codes if c not in labels]
    cb = share_cells(a, SignalRule.from_run(run_meta).alpha)
    districts = district_order(a["district"].astype(str).unique())
    notes = [n for n in [text] if n] + [
        "Andel i procent av dem som besvarat frågan (alla svarsalternativ, även ”vet ej”), med "
        f"{SignalRule.from_run(run_meta).level_percent} % "
        "konfidensintervall; n = ovägt antal som besvarat frågan i området. Andelarna summerar till 100 %.",
        f".. Fördelningen redovisas inte: för få svarande (färre än {min_n}), någon andel för osäker, en "
        "indikator för frågan dold i området, eller dold för att en annan dold fördelning inte ska kunna "
        "räknas fram ur Totalt.",
        method_note(run_meta),
    ]
    return TableData(
        table_id=f"answers_{item}",
        year=int(year),
        title=f"Svarsfördelning: {text.rstrip('.') or item}, {year}",  # a statement's full stop not before ", 2025"
        subtitle="Andel i procent per svarsalternativ",
        kind=KIND,
        rows=[(d, d) for d in districts],
        columns=[(c, labels.get(c, c)) for c in codes],
        stats=["est", "lo", "hi", "n"],
        dims={"row": "district", "column": "group", "fixed": {"year": int(year), "indicator": item, "domain": DOMAIN}},
        cells=cb.frame(),
        stub_label="Område",
        column_spanners={c: "Svar" for c in codes},
        footnotes=notes,
        source_note=source_line(run_meta, codebook),
        sheet_name=f"Svar {item.removeprefix('q_')}",
    )


def distribution_tables(
    protected: pd.DataFrame,
    codebook: Codebook | None,
    year: int,
    run_meta: Mapping[str, Any],
    *,
    min_n: int = 30,
) -> list[TableData]:
    """One :func:`distribution_table` per item (codebook order) for ``year``, from a protected frame."""
    answers = protect_distributions(protected, codebook, min_n)
    if answers.empty:
        return []
    items: Sequence[str] = list(dict.fromkeys(answers["indicator"].astype(str)))
    if codebook is not None:
        items = [i for i in codebook.item_names if i in set(items)] + [i for i in items if i not in codebook.item_names]
    out = []
    for item in items:
        t = distribution_table(answers, codebook, item, year, run_meta, min_n=min_n)
        if t is not None:
            out.append(t)
    return out


__all__ = ["protect_distributions", "distribution_table", "distribution_tables", "answer_rows", "TOTAL"]
