"""Non-response analysis and adjustment before calibration (``--gross-sample FILE``, ``--nonresponse``).

Glue over :mod:`survey.nonresponse` on canonical frames: the gross sample (:mod:`survey.data.gross`) is linked
to the accepted responses by ``(resp_id, year)``; per year, the response rates per district × sex × age group
are computed and, with ``cell`` or ``propensity``, the respondents' design weights ``d`` are multiplied by
the adjustment factor ``a`` (weighting classes district × sex × age group, or the inverse response propensity
of a design-weighted logistic regression on the main effects of district, sex and age group; Särndal &
Lundström 2005, ch. 7–9). The adjusted weights ``d a`` are the start weights of the calibration.

Design weights of the gross sample: its ``design_weight`` column, or ``N_h / n_h`` (population of the
year × district over its sampled persons) when the column is absent. A gross-sample respondent missing from
the accepted responses (e.g. quarantined) counts as a non-respondent, with a note; a respondent of the
responses file missing from the gross sample, or marked there as a non-respondent, is an error naming it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from survey.errors import InputError
from survey.nonresponse import DEFAULT_CELLS, NonresponseAdjustment, cell_adjustment, propensity_adjustment
from survey.nonresponse import response_rates as rates_of

NonresponseMethod = Literal["cell", "propensity", "none"]
RATE_CELLS: tuple[str, ...] = ("year", *DEFAULT_CELLS)


@dataclass(frozen=True, eq=False)
class NonresponseResult:
    """Response rates, the adjusted start weights (per response row; None without adjustment), diagnostics."""

    method: NonresponseMethod
    rates: pd.DataFrame  # year, district, sex, age_group, sampled, responded, rate, weighted_*
    start_weights: np.ndarray | None
    diagnostics: pd.DataFrame  # per year × district: rates, factor range and ratio, Kish deff
    balance: pd.DataFrame  # per year, variable, level: gross, respondent and adjusted shares
    notes: tuple[str, ...] = ()
    source: dict[str, object] | None = None  # the gross sample's lineage entry

    def year_rates(self) -> dict[int, dict[str, float]]:
        """Per year: sampled, responded, the rate and the design-weighted rate."""
        cols = ["sampled", "responded", "weighted_sampled", "weighted_responded"]
        per_year = self.rates.groupby("year")[cols].sum()
        return {
            int(y): {
                "sampled": int(n),
                "responded": int(r),
                "rate": float(r / n),
                "weighted_rate": float(wr / wn),
            }
            for y, n, r, wn, wr in zip(per_year.index.to_numpy(np.int64), *(per_year[c].to_numpy() for c in cols))
        }

    def summary(self) -> dict[str, object]:
        """For ``run.json``: the method and the rates per year."""
        return {"method": self.method, "years": self.year_rates(), "notes": list(self.notes)}


def gross_design_weights(gross: pd.DataFrame, population: pd.DataFrame, file: str) -> np.ndarray:
    """``design_weight`` of the gross sample, or ``N_h / n_h`` per year × district when it is absent."""
    dw = gross["design_weight"].to_numpy(dtype=float)
    if not np.isnan(dw).all():
        return dw
    big_n = population.groupby(["year", "district"])["population"].sum().rename("N_h")
    n_h = gross.groupby(["year", "district"]).size().rename("n_h")
    both = pd.concat([n_h, big_n], axis=1).dropna(subset=["n_h"])
    if both["N_h"].isna().any():
        y, dname = both.index[both["N_h"].isna()][0]
        row = gross.loc[(gross["year"] == y) & (gross["district"] == dname), "source_row"].iloc[0]
        raise InputError(
            f"området {dname!r} har ingen befolkning för {y} i befolkningsfilen", file, int(row), "district"
        )
    ratio = (both["N_h"] / both["n_h"]).rename("d").reset_index()
    return gross[["year", "district"]].merge(ratio, on=["year", "district"], how="left")["d"].to_numpy(float)


def _link(responses: pd.DataFrame, gross: pd.DataFrame, file: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(gross row of every response row, responded in the analysis per gross row, notes)."""
    key = pd.MultiIndex.from_arrays([gross["resp_id"].astype(str), gross["year"].astype(np.int64)])
    rkey = pd.MultiIndex.from_arrays([responses["resp_id"].astype(str), responses["year"].astype(np.int64)])
    pos = key.get_indexer(rkey)
    row_of = responses["source_row"] if "source_row" in responses else pd.Series(np.arange(len(responses)) + 2)
    if np.any(pos < 0):
        i = int(np.flatnonzero(pos < 0)[0])
        raise InputError(
            f"svaranden resp_id {responses['resp_id'].iloc[i]!r} år {responses['year'].iloc[i]} (svarsfilen rad "
            f"{int(row_of.iloc[i])}) finns inte i bruttourvalet; bruttourvalet ska ha alla urvalspersoner",
            file,
            None,
            "resp_id",
        )
    flag = gross["responded"].to_numpy(np.int64)
    if np.any(flag[pos] == 0):
        i = int(np.flatnonzero(flag[pos] == 0)[0])
        raise InputError(
            f"resp_id {responses['resp_id'].iloc[i]!r} år {responses['year'].iloc[i]} har svarat (svarsfilen rad "
            f"{int(row_of.iloc[i])}) men har responded = 0 i bruttourvalet",
            file,
            int(gross["source_row"].iloc[pos[i]]),
            "responded",
        )
    answered = np.zeros(len(gross), dtype=bool)
    answered[pos] = True
    notes = []
    lost = int(np.sum((flag == 1) & ~answered))
    if lost:
        notes.append(
            f"{file}: {lost} personer med responded = 1 finns inte bland de godkända svaren (t.ex. i karantän) och "
            f"räknas som bortfall"
        )
    return pos, answered, notes


def _adjust(frame: pd.DataFrame, method: NonresponseMethod) -> NonresponseAdjustment:
    if method == "cell":
        return cell_adjustment(frame, DEFAULT_CELLS, responded="_r", weight="_d")
    return propensity_adjustment(frame, DEFAULT_CELLS, responded="_r", weight="_d")


def _diagnostics(frame: pd.DataFrame, factor: np.ndarray | None) -> pd.DataFrame:
    """Per year × district: sampled, responded, rates, and the adjustment factors' range, ratio and Kish deff."""
    f = frame.assign(_w=frame["_d"] * frame["_r"], _a=np.nan if factor is None else factor)
    f["_aw"] = f["_w"] * f["_a"].fillna(0.0)
    f["_aw2"] = f["_aw"] ** 2
    g = f.groupby(["year", "district"], sort=True)
    out = pd.DataFrame(
        {
            "sampled": g.size(),
            "responded": g["_r"].sum().astype(np.int64),
            "weighted_sampled": g["_d"].sum(),
            "weighted_responded": g["_w"].sum(),
        }
    )
    out["rate"] = out["responded"] / out["sampled"]
    out["weighted_rate"] = out["weighted_responded"] / out["weighted_sampled"]
    if factor is not None:
        out["min_factor"] = g["_a"].min()
        out["max_factor"] = g["_a"].max()
        out["factor_ratio"] = out["max_factor"] / out["min_factor"]
        resp = f[f["_r"] == 1].groupby(["year", "district"], sort=True)
        out["kish_deff"] = resp.size() * resp["_aw2"].sum() / resp["_aw"].sum() ** 2
    return out.reset_index()


def nonresponse(
    responses: pd.DataFrame,
    population: pd.DataFrame,
    gross: pd.DataFrame,
    method: NonresponseMethod,
    *,
    file: str = "bruttourvalet",
    source: dict[str, object] | None = None,
) -> NonresponseResult:
    """Response rates and (``cell`` / ``propensity``) the adjusted start weights of the responses (module
    docstring); the adjustment is done within each year."""
    d = gross_design_weights(gross, population, file)
    pos, answered, notes = _link(responses, gross, file)
    frame = gross.assign(_d=d, _r=answered.astype(np.int64), district=gross["district"].astype(str))
    rates = rates_of(frame, RATE_CELLS, responded="_r", weight="_d")
    if method == "none":
        return NonresponseResult(method, rates, None, _diagnostics(frame, None), pd.DataFrame(), tuple(notes), source)
    adjusted = np.zeros(len(frame))
    factor = np.full(len(frame), np.nan)
    balance = []
    years = frame["year"].to_numpy(np.int64)
    for year in np.unique(years):
        idx = np.flatnonzero(years == year)
        adj = _adjust(frame.iloc[idx].reset_index(drop=True), method)
        adjusted[idx], factor[idx] = adj.weights, adj.factor
        balance.append(adj.balance.assign(year=int(year)))
    bal = pd.concat(balance, ignore_index=True)
    bal = bal[["year", *[c for c in bal.columns if c != "year"]]]
    notes.append(
        f"bortfallsjustering ({'cellvis' if method == 'cell' else 'svarsbenägenhet'}, område × kön × ålder per år) "
        f"före kalibreringen: designvikterna × justeringsfaktor {np.nanmin(factor):.4g}–{np.nanmax(factor):.4g}"
    )
    return NonresponseResult(method, rates, adjusted[pos], _diagnostics(frame, factor), bal, tuple(notes), source)
