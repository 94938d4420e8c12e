"""Trend models per indicator (``indicator ~ year + district``, R ``svyglm(quasibinomial)`` on the calibrated
design), their model-based shares, per-district trends (year × district interaction) and the Wald test that
the district trends differ (R ``regTermTest``). The GLM machinery is :mod:`survey.models.glm`.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from survey.design import Design
from survey.errors import ModelError
from survey.indicators import Indicator, SeriesBreak
from survey.models.glm import SurveyGLMResult, WaldTestResult, svyglm, wald_test


@dataclass(frozen=True, eq=False)
class TrendCells:
    """Row → year × district cell codes, shared by all indicators of one data frame."""

    cell: np.ndarray            # (n,) code of (year, district)
    cell_year: np.ndarray       # (C,) int
    cell_district: np.ndarray   # (C,) str (object)
    year: np.ndarray            # (n,) int


def trend_cells(design: Design, data: pd.DataFrame) -> TrendCells:
    if len(data) != design.n:
        raise ModelError(f"data has {len(data)} rows for a design of {design.n} rows (same rows, same order)")
    for col in ("year", "district"):
        if col not in data.columns:
            raise ModelError(f"data has no column {col!r}")
    year = data["year"].to_numpy(dtype=np.int64)
    ycode, yuniq = pd.factorize(year, sort=True)
    dcode, duniq = pd.factorize(data["district"].astype(str), sort=True)     # code-point order
    nd = len(duniq)
    full = ycode.astype(np.int64) * nd + dcode
    present = np.flatnonzero(np.bincount(full, minlength=len(yuniq) * nd))
    remap = np.full(len(yuniq) * nd, -1, dtype=np.int64)
    remap[present] = np.arange(len(present))
    codes = remap[full]
    cy = np.asarray(yuniq, dtype=np.int64)[present // nd]
    cdist = np.asarray(duniq, dtype=object)[present % nd]
    return TrendCells(cell=codes.astype(np.int64), cell_year=cy, cell_district=cdist, year=year)


@dataclass(frozen=True, eq=False)
class TrendFit:
    """One indicator's trend model ``y ~ year + district`` (``+ year:district`` with ``interaction``).

    ``result`` is ``None`` when no model could be fitted (the ``note`` says why). ``cells`` has one row
    per year × district of the fitted segment with respondents in the domain: ``year``, ``district``,
    ``n`` (respondents), ``weight`` (sum of calibrated weights), ``share`` (direct weighted share).
    """

    indicator: str
    result: SurveyGLMResult | None
    cells: pd.DataFrame
    reference: str | None
    districts: tuple[str, ...]
    years: tuple[int, ...]
    interaction: bool
    has_year: bool
    note: str = ""
    x_cells: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), repr=False)


def _latest_break(indicator: Indicator, breaks: Iterable[SeriesBreak], years: np.ndarray) -> SeriesBreak | None:
    """The latest series break that affects the indicator's item and falls inside the data's years."""
    if len(years) == 0:
        return None
    lo, hi = int(years.min()), int(years.max())
    hits = [b for b in breaks if (not b.items or indicator.item in b.items) and lo < int(b.year) <= hi]
    return max(hits, key=lambda b: int(b.year)) if hits else None


def _fit_one(design: Design, data: pd.DataFrame, prep: TrendCells, indicator: Indicator,
             series_breaks: Sequence[SeriesBreak], interaction: bool) -> TrendFit:
    if indicator.item not in data.columns:
        raise ModelError(f"indicator {indicator.name}: data has no column {indicator.item!r}")
    ans = data[indicator.item].to_numpy(dtype="float64", na_value=np.nan)
    base = np.isin(ans, np.asarray(indicator.base, dtype=float)) if indicator.base else ~np.isnan(ans)
    y = np.isin(ans, np.asarray(indicator.numerator, dtype=float)).astype(float)
    dom = base & (design.weights != 0)
    notes: list[str] = []
    n_cells = len(prep.cell_year)
    brk = _latest_break(indicator, series_breaks,
                        np.unique(prep.cell_year[np.bincount(prep.cell, weights=dom, minlength=n_cells) > 0]))
    if brk is not None:
        dom &= prep.year >= int(brk.year)
        notes.append(f"series break {int(brk.year)} ({brk.reason}): no trend across the break; "
                     f"fitted on {int(brk.year)} onwards only")
    empty = TrendFit(indicator=indicator.name, result=None,
                     cells=pd.DataFrame(columns=["year", "district", "n", "weight", "share"]),
                     reference=None, districts=(), years=(), interaction=interaction, has_year=False)
    if not dom.any():
        notes.append("no respondents in the domain: no model")
        return TrendFit(**{**empty.__dict__, "note": "; ".join(notes)})
    wz = np.where(dom, design.weights, 0.0)
    cn = np.bincount(prep.cell, weights=dom, minlength=n_cells).astype(np.int64)
    cw = np.bincount(prep.cell, weights=wz, minlength=n_cells)
    cy1 = np.bincount(prep.cell, weights=wz * y, minlength=n_cells)
    used = cn > 0
    districts = tuple(sorted(set(prep.cell_district[used].tolist())))
    years = tuple(sorted(set(prep.cell_year[used].tolist())))
    reference = districts[0]
    has_year = len(years) > 1
    if not has_year:
        notes.append(f"only one year ({years[0]}) in the domain: no year trend")
    others = districts[1:]
    terms = ["(Intercept)"] + (["year"] if has_year else []) + [f"district[{d}]" for d in others]
    if interaction and has_year:
        terms += [f"year:district[{d}]" for d in others]
    cols = [np.ones(n_cells)]
    if has_year:
        cols.append(prep.cell_year.astype(float))
    dummies = [(prep.cell_district == d).astype(float) for d in others]
    cols += dummies
    if interaction and has_year:
        cols += [dm * prep.cell_year for dm in dummies]
    x = np.column_stack(cols)
    cells = pd.DataFrame({"year": prep.cell_year[used], "district": prep.cell_district[used].astype(str),
                          "n": cn[used], "weight": cw[used], "share": cy1[used] / cw[used]})
    cells = cells.sort_values(["district", "year"], kind="stable").reset_index(drop=True)
    res = svyglm(design, y, x, terms, domain=dom, cell=prep.cell, family="quasibinomial",
                 with_dispersion=False)
    if not res.converged:
        notes.append("the logistic fit did not converge (separation: a share of 0 or 1?)")
    return TrendFit(indicator=indicator.name, result=res, cells=cells, reference=reference,
                    districts=districts, years=years, interaction=interaction, has_year=has_year,
                    note="; ".join(notes), x_cells=x)


def fit_trend_model(design: Design, data: pd.DataFrame, indicator: Indicator, *,
                    series_breaks: Sequence[SeriesBreak] = (), interaction: bool = False) -> TrendFit:
    """Fit one indicator's trend model on the domain of its non-blank answers (after the latest series
    break that concerns its item). ``data`` holds the canonical responses in the design's row order.

    The model is ``logit P(y = 1) = b0 + b_year year + b_d [+ g_d year]`` with ``year`` numeric (not
    centred in the output) and ``district`` a factor whose reference level is the district that sorts
    first in code-point order (Python ``sorted()``).
    """
    return _fit_one(design, data, trend_cells(design, data), indicator, series_breaks, interaction)


TREND_COLUMNS = ["indicator", "term", "estimate", "se", "df", "t", "p_value", "note"]


def trend_rows(fit: TrendFit) -> pd.DataFrame:
    """The contract's trend rows of one fit (``indicator, term, estimate, se`` + ``df, t, p_value, note``).

    A model without ``year`` (one year after a series break) still writes a ``year`` row with empty numbers.
    """
    if fit.result is None:
        return pd.DataFrame({"indicator": [fit.indicator], "term": ["year"], "estimate": [np.nan],
                             "se": [np.nan], "df": [np.nan], "t": [np.nan], "p_value": [np.nan],
                             "note": [fit.note]})[TREND_COLUMNS]
    r = fit.result
    out = pd.DataFrame({"indicator": fit.indicator, "term": list(r.terms), "estimate": r.coef, "se": r.se,
                        "df": float(r.df_residual), "t": r.t, "p_value": r.p_value, "note": fit.note})
    if not fit.has_year:
        row = pd.DataFrame({"indicator": [fit.indicator], "term": ["year"], "estimate": [np.nan],
                            "se": [np.nan], "df": [np.nan], "t": [np.nan], "p_value": [np.nan],
                            "note": [fit.note]})
        out = pd.concat([out.iloc[:1], row, out.iloc[1:]], ignore_index=True)
    return out[TREND_COLUMNS]


def fit_trends(design: Design, data: pd.DataFrame, indicators: Sequence[Indicator], *,
               series_breaks: Sequence[SeriesBreak] = ()) -> pd.DataFrame:
    """The contract's ``trend.csv`` rows for every indicator: ``svyglm(y ~ year + district,
    family = quasibinomial(), design = subset(calibrated, answered))`` (reference.R section 5).

    Columns ``indicator, term, estimate, se`` then ``df`` (R's ``df.residual``), ``t``, ``p_value``,
    ``note`` (series breaks, non-convergence). Terms: ``(Intercept)``, ``year``, ``district[<name>]``.
    """
    prep = trend_cells(design, data)
    frames = [trend_rows(_fit_one(design, data, prep, ind, series_breaks, False)) for ind in indicators]
    if not frames:
        return pd.DataFrame(columns=TREND_COLUMNS)
    return pd.concat(frames, ignore_index=True)


def fit_trend_models(design: Design, data: pd.DataFrame, indicators: Sequence[Indicator], *,
                     series_breaks: Sequence[SeriesBreak] = (), interaction: bool = False) -> list[TrendFit]:
    """:func:`fit_trend_model` for several indicators, sharing the cell coding."""
    prep = trend_cells(design, data)
    return [_fit_one(design, data, prep, ind, series_breaks, interaction) for ind in indicators]


# --------------------------------------------------------------------------------------------------
# margins
# --------------------------------------------------------------------------------------------------

def _tq(df: float, level: float) -> float:
    return float(stats.t.ppf(0.5 + level / 2, df)) if df > 0 else np.nan


def predicted_shares(fit: TrendFit, *, level: float = 0.95) -> pd.DataFrame:
    """Model-based share per district × year of the fitted segment, with a CI.

    With covariates ``year`` and ``district`` only, marginal standardisation over the domain's covariate
    distribution within a district × year reduces to the prediction of that cell:
    ``p = expit(x'b)``, ``se = p (1 − p) sqrt(x'Vx)`` (delta method, R ``predict(..., type = "response")``),
    CI ``expit(x'b ∓ t(df_residual) sqrt(x'Vx))`` on the logit scale.

    Columns: ``indicator, year, district, estimate, se, ci_low, ci_high, n, direct`` (direct = the weighted
    share of the cell, for comparison), ``df``.
    """
    cols = ["indicator", "year", "district", "estimate", "se", "ci_low", "ci_high", "n", "direct", "df"]
    if fit.result is None:
        return pd.DataFrame(columns=cols)
    r = fit.result
    x = _cell_matrix(fit, fit.cells["year"].to_numpy(), fit.cells["district"].to_numpy())
    eta = x @ r.coef
    se_eta = np.sqrt(np.einsum("ij,jk,ik->i", x, r.vcov, x))
    p = expit(eta)
    q = _tq(r.df_residual, level)
    return pd.DataFrame({"indicator": fit.indicator, "year": fit.cells["year"].to_numpy(),
                         "district": fit.cells["district"].to_numpy(), "estimate": p, "se": p * (1 - p) * se_eta,
                         "ci_low": expit(eta - q * se_eta), "ci_high": expit(eta + q * se_eta),
                         "n": fit.cells["n"].to_numpy(), "direct": fit.cells["share"].to_numpy(),
                         "df": r.df_residual})[cols]


def _cell_matrix(fit: TrendFit, years: np.ndarray, districts: np.ndarray) -> np.ndarray:
    """Model-matrix rows for (year, district) pairs in the fit's parametrisation."""
    r = fit.result
    if r is None:
        raise ModelError(f"{fit.indicator}: the trend model could not be fitted ({fit.note})")
    x = np.zeros((len(years), len(r.terms)))
    x[:, 0] = 1.0
    yrs = np.asarray(years, dtype=float)
    for j, t in enumerate(r.terms):
        if t == "year":
            x[:, j] = yrs
        elif t.startswith("district["):
            x[:, j] = (np.asarray(districts) == t[len("district["):-1]).astype(float)
        elif t.startswith("year:district["):
            x[:, j] = (np.asarray(districts) == t[len("year:district["):-1]).astype(float) * yrs
    return x


def district_trends(fit: TrendFit, *, level: float = 0.95) -> pd.DataFrame:
    """Per-district trend: odds ratio per year and percentage points per year, with CIs.

    * Log odds ratio per year of district ``d``: ``beta_d = b_year`` (+ ``g_d`` with the interaction);
      ``OR = exp(beta_d)``, CI ``exp(beta_d ∓ t se)`` with ``se = sqrt(c'Vc)``.
    * Percentage points per year: the average marginal effect of year over the district's domain
      (weights of its year cells fixed, Graubard & Korn 1999 predictive margins):
      ``AME_d = beta_d · sum_t W_dt p_dt (1 − p_dt) / W_d``; delta-method gradient
      ``m c + beta_d sum_t (W_dt / W_d) p_dt (1 − p_dt)(1 − 2 p_dt) x_dt``, ``m`` the weighted mean of
      ``p (1 − p)``. Reported ×100 (``pp_per_year``).

    Columns: ``indicator, district, log_or, log_or_se, odds_ratio, or_ci_low, or_ci_high, pp_per_year,
    pp_se, pp_ci_low, pp_ci_high, df, note``. Empty when the model has no year term.
    """
    cols = ["indicator", "district", "log_or", "log_or_se", "odds_ratio", "or_ci_low", "or_ci_high",
            "pp_per_year", "pp_se", "pp_ci_low", "pp_ci_high", "df", "note"]
    if fit.result is None or not fit.has_year:
        return pd.DataFrame(columns=cols)
    r = fit.result
    q = _tq(r.df_residual, level)
    jy = r.index("year")
    out = []
    for d in fit.districts:
        c = np.zeros(len(r.terms))
        c[jy] = 1.0
        if fit.interaction and d != fit.reference:
            c[r.index(f"year:district[{d}]")] = 1.0
        beta = float(c @ r.coef)
        se_b = float(np.sqrt(c @ r.vcov @ c))
        cl = fit.cells[fit.cells["district"] == d]
        x = _cell_matrix(fit, cl["year"].to_numpy(), cl["district"].to_numpy())
        p = expit(x @ r.coef)
        wt = cl["weight"].to_numpy() / cl["weight"].sum()
        m = float(wt @ (p * (1 - p)))
        ame = beta * m
        grad = m * c + beta * ((wt * p * (1 - p) * (1 - 2 * p)) @ x)
        se_a = float(np.sqrt(grad @ r.vcov @ grad))
        out.append({"indicator": fit.indicator, "district": d, "log_or": beta, "log_or_se": se_b,
                    "odds_ratio": np.exp(beta), "or_ci_low": np.exp(beta - q * se_b),
                    "or_ci_high": np.exp(beta + q * se_b), "pp_per_year": 100 * ame, "pp_se": 100 * se_a,
                    "pp_ci_low": 100 * (ame - q * se_a), "pp_ci_high": 100 * (ame + q * se_a),
                    "df": r.df_residual, "note": fit.note})
    return pd.DataFrame(out, columns=cols)


def district_trends_differ(fit: TrendFit) -> WaldTestResult:
    """Do the districts' trends differ? Wald test of all ``year:district[...]`` interaction terms."""
    if fit.result is None or not fit.interaction or not fit.has_year:
        raise ModelError(f"{fit.indicator}: needs a fit with interaction=True and at least two years")
    return wald_test(fit.result, "year:district")


# --------------------------------------------------------------------------------------------------
# small areas: Fay–Herriot
# --------------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class TrendOutputs:
    """Everything the trend step publishes: the contract rows, model-based shares per district × year,
    per-district trends (odds ratio and percentage points per year, from the district × year interaction
    model) and the Wald tests of whether the district trends differ (empty when not asked for)."""

    trend: pd.DataFrame
    shares: pd.DataFrame
    districts: pd.DataFrame
    tests: pd.DataFrame

    def contract_rows(self) -> pd.DataFrame:
        """The data contract's ``trend.csv``: ``indicator, term, estimate, se``. A term that the data cannot
        estimate (``year`` when one year remains, after a series break or in a one-year wave) is left out,
        as R ``svyglm`` leaves out an aliased coefficient; ``trend`` keeps it with its note."""
        t = self.trend
        unestimable = t["estimate"].isna() & t["se"].isna()
        return t.loc[~unestimable, ["indicator", "term", "estimate", "se"]].reset_index(drop=True)

    def long(self) -> pd.DataFrame:
        """One long frame for the store's ``trend`` table: ``model`` tells the kind of row."""
        parts = [self.trend.assign(model="trend", district=None)]
        if len(self.shares):
            parts.append(self.shares.assign(model="margins", term="share[" + self.shares["year"].astype(str) + "]"))
        if len(self.districts):
            parts.append(self.districts.assign(model="district_trend", term="trend"))
        if len(self.tests):
            parts.append(self.tests.assign(model="wald", term=self.tests["test"], estimate=self.tests["F"],
                                           se=np.nan, district=None))
        return pd.concat(parts, ignore_index=True)


def trend_outputs(design: Design, data: pd.DataFrame, indicators: Sequence[Indicator], *,
                  series_breaks: Sequence[SeriesBreak] = (), level: float = 0.95,
                  district_trends_model: bool = False) -> TrendOutputs:
    """Contract trend rows and the model-based shares of the main-effects models (one fit per indicator);
    with ``district_trends_model`` also the district × year interaction models' per-district trends and the
    Wald test that the district trends differ."""
    main = fit_trend_models(design, data, indicators, series_breaks=series_breaks)
    rows = [trend_rows(f) for f in main]
    trend = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=TREND_COLUMNS)
    shares = [predicted_shares(f, level=level) for f in main if f.result is not None]
    districts: list[pd.DataFrame] = []
    tests: list[dict[str, object]] = []
    if district_trends_model:
        for f in fit_trend_models(design, data, indicators, series_breaks=series_breaks, interaction=True):
            if f.result is None:
                continue
            districts.append(district_trends(f, level=level))
            if f.has_year and len(f.districts) > 1:
                t = district_trends_differ(f)
                tests.append({"indicator": f.indicator, "test": "district trends differ (year:district)",
                              "F": t.F, "df": t.df, "ddf": t.ddf, "p_value": t.p_value, "chisq": t.chisq,
                              "p_value_chisq": t.p_value_chisq, "note": f.note})
    return TrendOutputs(trend=trend,
                        shares=pd.concat(shares, ignore_index=True) if shares else pd.DataFrame(),
                        districts=pd.concat(districts, ignore_index=True) if districts else pd.DataFrame(),
                        tests=pd.DataFrame(tests))
