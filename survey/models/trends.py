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
from survey.estimation.atoms import AtomStats
from survey.indicators import Indicator, SeriesBreak
from survey.models.glm import SurveyGLMResult
from survey.models.trend_sums import AtomSums, RowSums, TrendCells, trend_cells, trend_sources
from survey.models.wald import WaldTestResult, wald_test


@dataclass(frozen=True, eq=False)
class TrendFit:
    """One indicator's trend model ``y ~ year + district`` (``+ year:district`` with ``interaction``).

    ``result`` is ``None`` when no model could be fitted (the ``note`` says why). ``cells`` has one row
    per year × district of the fitted segment with respondents in the domain: ``year``, ``district``,
    ``n`` (respondents), ``weight`` (sum of calibrated weights), ``share`` (direct weighted share).
    ``skipped``: the districts whose own terms (their trend with ``interaction``, their level otherwise)
    the data cannot estimate, with the Swedish reason (separation: a share of 0 or 1; one year of answers);
    ``note`` names them too.
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
    skipped: tuple[tuple[str, str], ...] = ()
    general_note: str = ""  # the notes that concern the whole model (``note`` without the skipped districts)


def _latest_break(indicator: Indicator, breaks: Iterable[SeriesBreak], years: np.ndarray) -> SeriesBreak | None:
    """The latest series break that affects the indicator's item and falls inside the data's years."""
    if len(years) == 0:
        return None
    lo, hi = int(years.min()), int(years.max())
    hits = [b for b in breaks if (not b.items or indicator.item in b.items) and lo < int(b.year) <= hi]
    return max(hits, key=lambda b: int(b.year)) if hits else None


@dataclass(frozen=True)
class _Spec:
    """The model matrix of one parametrisation: reference district, districts without a year slope."""

    reference: str
    no_slope: frozenset[str]


def _model_matrix(
    prep: TrendCells, districts: Sequence[str], spec: _Spec, has_year: bool, interaction: bool
) -> tuple[np.ndarray, list[str]]:
    """Cell rows of ``1, year, district[d] (d != reference), year:district[d]`` (with ``interaction``; not for
    a district with answers in one year only: R's ``svyglm`` aliases that column, NA)."""
    others = [d for d in districts if d != spec.reference]
    terms = ["(Intercept)"] + (["year"] if has_year else []) + [f"district[{d}]" for d in others]
    cols = [np.ones(len(prep.cell_year))]
    if has_year:
        cols.append(prep.cell_year.astype(float))
    dummies = [(prep.cell_district == d).astype(float) for d in others]
    cols += dummies
    if interaction and has_year:
        sloped = [(d, dm) for d, dm in zip(others, dummies) if d not in spec.no_slope]
        terms += [f"year:district[{d}]" for d, _ in sloped]
        cols += [dm * prep.cell_year for _, dm in sloped]
    return np.column_stack(cols), terms


def _own_terms(d: str, reference: str, interaction: bool) -> list[str]:
    """The terms of district ``d``'s own quantity: its trend (``interaction``) or its level."""
    if interaction:
        return ["year"] + ([f"year:district[{d}]"] if d != reference else [])
    return ["(Intercept)"] + ([f"district[{d}]"] if d != reference else [])


def _percent_years(sel: pd.DataFrame, all_years: bool) -> str:
    return "alla år" if all_years else ", ".join(str(int(y)) for y in sel["year"])


def _separation_reason(cells: pd.DataFrame, separated: np.ndarray, d: str) -> str:
    """Why district ``d`` cannot be estimated: the years in which its share is 0 or 1 (separated cells)."""
    mine = cells["district"].to_numpy() == d
    sel = cells[mine & separated]
    if sel.empty:
        return "den logistiska modellen har separation (andelar 0 eller 1 i andra områden eller år)"
    parts = []
    for value, label in ((0.0, "0 %"), (1.0, "100 %")):
        part = sel[np.isclose(sel["share"].to_numpy(dtype=float), value)]
        if len(part):
            parts.append(f"andelen är {label} {_percent_years(part, len(part) == int(mine.sum()))}")
    return f"{' och '.join(parts)} (separation: den logistiska modellens koefficient går mot oändligheten)"


def _fit_spec(source: RowSums | AtomSums, x: np.ndarray, terms: list[str]) -> SurveyGLMResult | str:
    """The fit, or the Swedish reason why there is none (a :class:`ModelError` of the GLM)."""
    try:
        return source.fit(x, terms)
    except ModelError as exc:
        return str(exc)


def _fit_one(  # long: series break, empty domain, reference choice, refit and notes read top to bottom
    prep: TrendCells,
    source: RowSums | AtomSums,
    indicator: Indicator,
    series_breaks: Sequence[SeriesBreak],
    interaction: bool,
) -> TrendFit:
    notes: list[str] = []
    brk = _latest_break(indicator, series_breaks, np.unique(prep.cell_year[source.cell_sums()[0] > 0]))
    if brk is not None:
        source = source.from_year(int(brk.year))
        notes.append(
            f"serieavbrott {int(brk.year)} ({brk.reason}): ingen trend över avbrottet; "
            f"skattad på {int(brk.year)} och senare"
        )
    cn, cw, cy1 = source.cell_sums()
    if not cn.any():
        notes.append("inga svarande i domänen: ingen modell")
        return TrendFit(
            indicator=indicator.name,
            result=None,
            cells=pd.DataFrame(columns=["year", "district", "n", "weight", "share"]),
            reference=None,
            districts=(),
            years=(),
            interaction=interaction,
            has_year=False,
            note="; ".join(notes),
            general_note="; ".join(notes),
        )
    used = cn > 0
    districts = tuple(sorted(set(prep.cell_district[used].tolist())))
    years = tuple(sorted(set(prep.cell_year[used].tolist())))
    has_year = len(years) > 1
    if not has_year:
        notes.append(f"bara ett år ({years[0]}) i domänen: ingen årstrend")
    ui = np.flatnonzero(used)
    ui = ui[np.argsort(prep.cell_rank[ui])]  # by district, then year
    cells = pd.DataFrame(
        {
            "year": prep.cell_year[ui],
            "district": prep.cell_district[ui].astype(str),
            "n": cn[ui],
            "weight": cw[ui],
            "share": cy1[ui] / cw[ui],
        }
    )
    skipped: dict[str, str] = {}
    if interaction and has_year:
        per = cells.groupby("district")["year"].agg(["nunique", "first"])
        for d, row in per[per["nunique"] == 1].iterrows():
            skipped[str(d)] = f"svar bara {int(row['first'])}: ingen årstrend för området"
    sloped = [d for d in districts if d not in skipped]
    spec = _Spec(reference=(sloped or list(districts))[0], no_slope=frozenset(skipped))
    x, terms = _model_matrix(prep, districts, spec, has_year, interaction)
    res = _fit_spec(source, x, terms)
    if isinstance(res, SurveyGLMResult) and res.inestimable:
        sep = res.separated[ui]
        bad_ref = set(_own_terms(spec.reference, spec.reference, interaction)) & set(res.inestimable)
        clean = [d for d in sloped if not np.any(sep[cells["district"].to_numpy() == d])]
        if bad_ref and clean and clean[0] != spec.reference:  # a reference whose own terms diverge: another one
            spec = _Spec(reference=clean[0], no_slope=spec.no_slope)
            x, terms = _model_matrix(prep, districts, spec, has_year, interaction)
            res = _fit_spec(source, x, terms)
    if isinstance(res, str):
        notes.append(f"trendmodellen kunde inte skattas: {res}")
        result = None
    else:
        result = res
        if not res.converged:
            notes.append("den logistiska skattningen konvergerade inte (separation: en andel 0 eller 1?)")
        if res.inestimable:
            sep = res.separated[ui]
            for d in districts:
                if d not in skipped and set(_own_terms(d, spec.reference, interaction)) & set(res.inestimable):
                    skipped[d] = _separation_reason(cells, sep, d)
    first = min(str(d) for d in prep.cell_district.tolist())  # the contract's reference (no answers: the next)
    if spec.reference != first:
        why = {True: "kan inte skattas", False: "saknar svar på frågan"}[first in districts]
        notes.append(f"referensområde {spec.reference} (det första området, {first}, {why})")
    district_notes = [
        f"trenden för {d} kunde inte skattas: {skipped[d]}"
        if interaction
        else f"nivån för {d} kunde inte skattas: {skipped[d]}"
        for d in districts
        if d in skipped
    ]
    return TrendFit(
        indicator=indicator.name,
        result=result,
        cells=cells,
        reference=spec.reference,
        districts=districts,
        years=years,
        interaction=interaction,
        has_year=has_year,
        note="; ".join(notes + district_notes),
        x_cells=x,
        skipped=tuple((d, skipped[d]) for d in districts if d in skipped),
        general_note="; ".join(notes),
    )


def _fits(
    design: Design,
    data: pd.DataFrame,
    indicators: Sequence[Indicator],
    series_breaks: Sequence[SeriesBreak],
    interactions: Sequence[bool],
    atoms: AtomStats | None = None,
) -> list[list[TrendFit]]:
    """The trend fits of every indicator, once per entry of ``interactions``, from one set of sources."""
    prep = trend_cells(design, data)
    sources = trend_sources(design, data, prep, indicators, atoms)
    return [
        [_fit_one(prep, src, ind, series_breaks, inter) for src, ind in zip(sources, indicators)]
        for inter in interactions
    ]


def fit_trend_model(
    design: Design,
    data: pd.DataFrame,
    indicator: Indicator,
    *,
    series_breaks: Sequence[SeriesBreak] = (),
    interaction: bool = False,
) -> TrendFit:
    """Fit one indicator's trend model on the domain of its non-blank answers (after the latest series
    break that concerns its item). ``data`` holds the canonical responses in the design's row order.

    The model is ``logit P(y = 1) = b0 + b_year year + b_d [+ g_d year]`` with ``year`` numeric (not
    centred in the output) and ``district`` a factor whose reference level is the district that sorts
    first in code-point order (Python ``sorted()``; the next one, with a note, where it has no answers)."""
    return _fits(design, data, [indicator], series_breaks, [interaction])[0][0]


TREND_COLUMNS = ["indicator", "term", "estimate", "se", "df", "t", "p_value", "note"]


def _trend_columns(fit: TrendFit) -> dict[str, np.ndarray]:
    """:func:`trend_rows` as columns (arrays of equal length)."""
    r = fit.result
    if r is None:
        terms, est, se, t, p, df = ["year"], [np.nan], [np.nan], [np.nan], [np.nan], [np.nan]
    else:
        terms, est, se, t, p = list(r.terms), list(r.coef), list(r.se), list(r.t), list(r.p_value)
        df = [float(r.df_residual)] * len(terms)
        if not fit.has_year:  # the unestimable year row, after the intercept
            terms.insert(1, "year")
            for col in (est, se, t, p, df):
                col.insert(1, np.nan)
    n = len(terms)
    return {
        "indicator": np.full(n, fit.indicator, dtype=object),
        "term": np.asarray(terms, dtype=object),
        "estimate": np.asarray(est, dtype=float),
        "se": np.asarray(se, dtype=float),
        "df": np.asarray(df, dtype=float),
        "t": np.asarray(t, dtype=float),
        "p_value": np.asarray(p, dtype=float),
        "note": np.full(n, fit.note, dtype=object),
    }


def _stack(parts: Sequence[dict[str, np.ndarray]], columns: Sequence[str]) -> pd.DataFrame:
    """One frame from several column dictionaries (a single DataFrame construction, not one per part)."""
    if not parts:
        return pd.DataFrame(columns=list(columns))
    return pd.DataFrame({c: np.concatenate([q[c] for q in parts]) for c in columns})


def trend_rows(fit: TrendFit) -> pd.DataFrame:
    """The contract's trend rows of one fit (``indicator, term, estimate, se`` + ``df, t, p_value, note``).

    A model without ``year`` (one year after a series break) still writes a ``year`` row with empty numbers.
    """
    return _stack([_trend_columns(fit)], TREND_COLUMNS)


def fit_trends(
    design: Design, data: pd.DataFrame, indicators: Sequence[Indicator], *, series_breaks: Sequence[SeriesBreak] = ()
) -> pd.DataFrame:
    """The contract's ``trend.csv`` rows for every indicator: ``svyglm(y ~ year + district,
    family = quasibinomial(), design = subset(calibrated, answered))`` (reference.R section 5).

    Columns ``indicator, term, estimate, se`` then ``df`` (R's ``df.residual``), ``t``, ``p_value``,
    ``note`` (series breaks, non-convergence). Terms: ``(Intercept)``, ``year``, ``district[<name>]``.
    """
    return _stack(
        [_trend_columns(f) for f in _fits(design, data, indicators, series_breaks, [False])[0]], TREND_COLUMNS
    )


def fit_trend_models(
    design: Design,
    data: pd.DataFrame,
    indicators: Sequence[Indicator],
    *,
    series_breaks: Sequence[SeriesBreak] = (),
    interaction: bool = False,
) -> list[TrendFit]:
    """:func:`fit_trend_model` for several indicators, sharing the cell coding."""
    return _fits(design, data, indicators, series_breaks, [interaction])[0]


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
    return _stack([_share_columns(fit, level)] if fit.result is not None else [], SHARE_COLUMNS)


SHARE_COLUMNS = ["indicator", "year", "district", "estimate", "se", "ci_low", "ci_high", "n", "direct", "df"]


def _share_columns(fit: TrendFit, level: float) -> dict[str, np.ndarray]:
    """:func:`predicted_shares` as columns."""
    r = fit.result
    if r is None:
        raise ModelError(f"{fit.indicator}: trendmodellen gick inte att skatta ({fit.note})")
    years, districts = fit.cells["year"].to_numpy(), fit.cells["district"].to_numpy()
    x = _cell_matrix(fit, years, districts)
    coef, vcov, bad = _finite(r)
    eta = np.where(_touches(x, bad), np.nan, x @ coef)  # a cell whose prediction needs a diverging term: NaN
    se_eta = np.sqrt(np.einsum("ij,jk,ik->i", x, vcov, x))
    p = expit(eta)
    q = _tq(r.df_residual, level)
    n = len(eta)
    return {
        "indicator": np.full(n, fit.indicator, dtype=object),
        "year": years,
        "district": districts,
        "estimate": p,
        "se": p * (1 - p) * se_eta,
        "ci_low": expit(eta - q * se_eta),
        "ci_high": expit(eta + q * se_eta),
        "n": fit.cells["n"].to_numpy(),
        "direct": fit.cells["share"].to_numpy(),
        "df": np.full(n, r.df_residual),
    }


def _finite(r: SurveyGLMResult) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coefficients and covariance with the unidentified terms (separation: NaN) at 0, and those terms."""
    bad = ~np.isfinite(r.coef)
    return np.where(bad, 0.0, r.coef), np.where(bad[:, None] | bad[None, :], 0.0, r.vcov), bad


def _touches(x: np.ndarray, bad: np.ndarray) -> np.ndarray:
    """Per row of ``x`` (or for a vector): does it put weight on an unidentified term?"""
    return np.asarray(np.any((np.atleast_2d(x) != 0) & bad, axis=1)).reshape(np.shape(x)[:-1])


def _cell_matrix(fit: TrendFit, years: np.ndarray, districts: np.ndarray) -> np.ndarray:
    """Model-matrix rows for (year, district) pairs in the fit's parametrisation."""
    r = fit.result
    if r is None:
        raise ModelError(f"{fit.indicator}: trendmodellen gick inte att skatta ({fit.note})")
    x = np.zeros((len(years), len(r.terms)))
    x[:, 0] = 1.0
    yrs = np.asarray(years, dtype=float)
    for j, t in enumerate(r.terms):
        if t == "year":
            x[:, j] = yrs
        elif t.startswith("district["):
            x[:, j] = (np.asarray(districts) == t[len("district[") : -1]).astype(float)
        elif t.startswith("year:district["):
            x[:, j] = (np.asarray(districts) == t[len("year:district[") : -1]).astype(float) * yrs
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
    cols = [
        "indicator",
        "district",
        "log_or",
        "log_or_se",
        "odds_ratio",
        "or_ci_low",
        "or_ci_high",
        "pp_per_year",
        "pp_se",
        "pp_ci_low",
        "pp_ci_high",
        "df",
        "note",
    ]
    if not fit.has_year:
        return pd.DataFrame(columns=cols)
    r = fit.result
    if r is None:  # no model: every district's trend is missing, with the reason
        return pd.DataFrame([_no_trend(fit, d, fit.note) for d in fit.districts], columns=cols).astype(
            {c: float for c in cols[2:-1]}
        )
    q = _tq(r.df_residual, level)
    jy = r.index("year")
    coef, vcov, bad = _finite(r)
    skipped = dict(fit.skipped)
    out = []
    for d in fit.districts:
        c = np.zeros(len(r.terms))
        c[jy] = 1.0
        if fit.interaction and d != fit.reference and f"year:district[{d}]" in r.terms:
            c[r.index(f"year:district[{d}]")] = 1.0
        cl = fit.cells[fit.cells["district"] == d]
        x = _cell_matrix(fit, cl["year"].to_numpy(), cl["district"].to_numpy())
        if d in skipped or _touches(c, bad) or np.any(_touches(x, bad)):
            reason = skipped.get(d, "separation i den logistiska modellen")
            own = f"trenden för {d} kunde inte skattas: {reason}"
            out.append(_no_trend(fit, d, "; ".join(n for n in (fit.general_note, own) if n), r.df_residual))
            continue
        beta = float(c @ coef)
        se_b = float(np.sqrt(c @ vcov @ c))
        p = expit(x @ coef)
        wt = cl["weight"].to_numpy() / cl["weight"].sum()
        m = float(wt @ (p * (1 - p)))
        ame = beta * m
        grad = m * c + beta * ((wt * p * (1 - p) * (1 - 2 * p)) @ x)
        se_a = float(np.sqrt(grad @ vcov @ grad))
        out.append(
            {
                "indicator": fit.indicator,
                "district": d,
                "log_or": beta,
                "log_or_se": se_b,
                "odds_ratio": np.exp(beta),
                "or_ci_low": np.exp(beta - q * se_b),
                "or_ci_high": np.exp(beta + q * se_b),
                "pp_per_year": 100 * ame,
                "pp_se": 100 * se_a,
                "pp_ci_low": 100 * (ame - q * se_a),
                "pp_ci_high": 100 * (ame + q * se_a),
                "df": r.df_residual,
                "note": fit.general_note,
            }
        )
    return pd.DataFrame(out, columns=cols)


def _no_trend(fit: TrendFit, d: str, note: str, df: float = np.nan) -> dict[str, object]:
    """A district's row of :func:`district_trends` without numbers (the note says why)."""
    row: dict[str, object] = {"indicator": fit.indicator, "district": d, "df": df, "note": note}
    for k in ("log_or", "log_or_se", "odds_ratio", "or_ci_low", "or_ci_high"):
        row[k] = np.nan
    for k in ("pp_per_year", "pp_se", "pp_ci_low", "pp_ci_high"):
        row[k] = np.nan
    return row


def district_trends_differ(fit: TrendFit) -> WaldTestResult:
    """Do the districts' trends differ? Wald test of the ``year:district[...]`` interaction terms, those of
    the districts whose trend can be estimated (``fit.skipped`` have none, or a diverging one)."""
    if fit.result is None or not fit.interaction or not fit.has_year:
        raise ModelError(f"{fit.indicator}: needs a fit with interaction=True and at least two years")
    r = fit.result
    terms = [t for t, b in zip(r.terms, r.coef) if t.startswith("year:district[") and np.isfinite(b)]
    if not terms:
        raise ModelError(f"{fit.indicator}: ingen områdestrend utöver referensområdets kan skattas")
    return wald_test(r, terms)


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
            parts.append(
                self.tests.assign(
                    model="wald", term=self.tests["test"], estimate=self.tests["F"], se=np.nan, district=None
                )
            )
        return pd.concat(parts, ignore_index=True)


def trend_outputs(
    design: Design,
    data: pd.DataFrame,
    indicators: Sequence[Indicator],
    *,
    series_breaks: Sequence[SeriesBreak] = (),
    level: float = 0.95,
    district_trends_model: bool = False,
    atoms: AtomStats | None = None,
) -> TrendOutputs:
    """Contract trend rows and the model-based shares of the main-effects models (one fit per indicator);
    with ``district_trends_model`` also the district × year interaction models' per-district trends and the
    Wald test that the district trends differ.

    ``atoms``: the estimation step's ``survey.estimation.atom_stats`` of the same indicators on the same
    design (optional): the trend models then need no pass over the rows of their own."""
    inter = [False, True] if district_trends_model else [False]
    fits = _fits(design, data, indicators, series_breaks, inter, atoms)
    main = fits[0]
    trend = _stack([_trend_columns(f) for f in main], TREND_COLUMNS)
    shares = [_share_columns(f, level) for f in main if f.result is not None]
    districts: list[pd.DataFrame] = []
    tests: list[dict[str, object]] = []
    if district_trends_model:
        for f in fits[1]:
            districts.append(district_trends(f, level=level))
            if f.result is None:
                continue
            testable = [t for t, b in zip(f.result.terms, f.result.coef) if t.startswith("year:") and np.isfinite(b)]
            if f.has_year and testable:
                t = district_trends_differ(f)
                tests.append(
                    {
                        "indicator": f.indicator,
                        "test": "district trends differ (year:district)",
                        "F": t.F,
                        "df": t.df,
                        "ddf": t.ddf,
                        "p_value": t.p_value,
                        "chisq": t.chisq,
                        "p_value_chisq": t.p_value_chisq,
                        "note": f.note,
                    }
                )
    return TrendOutputs(
        trend=trend,
        shares=_stack(shares, SHARE_COLUMNS) if shares else pd.DataFrame(),
        districts=pd.concat(districts, ignore_index=True) if districts else pd.DataFrame(),
        tests=pd.DataFrame(tests),
    )
