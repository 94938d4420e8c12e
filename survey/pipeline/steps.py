"""The statistical steps of ``trygghet run`` on canonical data, as plain functions.

``weight`` → ``estimate`` → ``trend`` follow ``shared/spec/data-contract.md`` (Method, defaults):
design stratified by year × district with the design weights; raking within each year to the margins
district × sex and district × age_group; domain shares with calibration-aware linearisation SEs and
logit CIs; trends by survey-weighted logistic regression. ``survey.run`` wires them to IO.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from survey.calibration import CalibrationResult, Method, TrimMode, calibrate, margins_from_population
from survey.data.codebook import Codebook
from survey.design import Design, LonelyPSU, factorize_groups
from survey.errors import CalibrationError, InputError
from survey.estimation import (
    TOTAL_LABEL,
    AtomStats,
    ShareTables,
    atom_stats,
    compare,
    domain_ratios,
    estimate_distributions,
    estimate_group_shares,
    estimate_shares,
    group_codes,
    indicator_states,
    score_index,
)
from survey.pipeline.adjustment import NonresponseResult
from survey.pooling import pooled_windows, window_label
from survey.replicate_estimation import BlockRunner, replicate_share_tables

DEFAULT_MARGINS: tuple[tuple[str, ...], ...] = (("district", "sex"), ("district", "age_group"))
AUX_WITHIN: tuple[str, ...] = ("district",)  # a numeric auxiliary's total is met per (year ×) district


@dataclass(frozen=True)
class WeightingOptions:
    """How to weight: calibration method, margins (population-file columns), groups, bounds, trimming."""

    method: Method = "raking"
    margins: tuple[tuple[str, ...], ...] = DEFAULT_MARGINS
    by: tuple[str, ...] = ("year",)
    bounds: tuple[float, float] | None = None
    trim: tuple[float, float] | None = None
    trim_mode: TrimMode = "recalibrate"  # or "once": R's one-shot trim= (margins not re-met)
    maxit: int = 100
    epsilon: float = 1e-12
    lonely_psu: LonelyPSU = "fail"
    collapse: tuple[tuple[str, int], ...] = ()  # e.g. (("age_group", 1),): merge small cells, logged
    aux: tuple[str, ...] = ()  # numeric auxiliaries: columns of responses and population, totals per district


@dataclass(frozen=True, eq=False)
class WeightingResult:
    design: Design
    calibration: CalibrationResult | None  # None when read back from the store (stepwise runs)
    weights: pd.DataFrame  # resp_id, year, weight (input row order)
    diagnostics: pd.DataFrame  # per year × district
    notes: tuple[str, ...] = ()
    nonresponse: NonresponseResult | None = None  # the gross sample's rates and adjustment (--gross-sample)


@dataclass(frozen=True)
class EstimationOptions:
    min_n: int = 30
    max_rse: float | None = None
    level: float = 0.95
    adjust: str = "fdr_bh"
    alpha: float = 0.05
    groups: tuple[str, ...] = ("sex", "age_group")  # Totalt per year by these register variables
    variance: Literal["linearisation", "jackknife", "bootstrap"] = (
        "linearisation"  # or "jackknife" (JKn) or "bootstrap" (Rao-Wu), re-calibrated
    )
    replicates: int = 500  # bootstrap replicates
    seed: int = 0  # bootstrap seed
    replicate_blocks: BlockRunner | None = None  # how the replicates are run (blocks, Dask); never the numbers
    pool: int = 1  # estimate over windows of this many consecutive waves (pooled years)


@dataclass(frozen=True, eq=False)
class EstimationResult:
    estimates: pd.DataFrame  # contract columns + df, deff, weighted_base, other CIs
    comparisons: pd.DataFrame
    by_group: pd.DataFrame  # Totalt and each district per year by sex / age group, answer distributions
    index: pd.DataFrame  # the mean-score problem index per year × district / Totalt
    tables: ShareTables | None = field(repr=False, default=None)
    replicates: Any = field(repr=False, default=None)  # the replicate weights (replicate variance only)
    #: the atom sums of :func:`estimation_atoms` (element designs, years not pooled): the trend step's input
    atoms: AtomStats | None = field(repr=False, default=None)


def prepare(responses: pd.DataFrame) -> pd.DataFrame:
    """``district`` and ``age_group`` as categoricals with code-point-sorted categories (hashing the strings
    once instead of in every group-by). A no-op when they already are."""
    out = None
    for col in ("district", "age_group"):
        if col in responses and not isinstance(responses[col].dtype, pd.CategoricalDtype):
            if out is None:
                out = responses.copy(deep=False)
            codes, uniques = pd.factorize(responses[col], sort=True)
            out[col] = pd.Categorical.from_codes(codes, categories=pd.Index(uniques, dtype=object))
    return responses if out is None else out


def contract_design(responses: pd.DataFrame, design_weights: np.ndarray, lonely_psu: LonelyPSU = "fail") -> Design:
    """The contract's design: stratified by year × district (code-point order), element sampling, with
    replacement, weights ``design_weights``."""
    strata, keys = factorize_groups(responses, ["year", "district"])
    labels = tuple(f"{y} | {dname}" for y, dname in zip(keys["year"], keys["district"]))
    d = np.asarray(design_weights, dtype=float)
    return Design(strata=strata, strata_labels=labels, design_weights=d, weights=d.copy(), lonely_psu=lonely_psu)


def design_weights(responses: pd.DataFrame, population: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """``design_weight`` from the file, or ``N_h / n_h`` when the column is absent or blank everywhere."""
    dw = responses["design_weight"].to_numpy(dtype=float, na_value=np.nan) if "design_weight" in responses else None
    if dw is not None and not np.all(np.isnan(dw)):
        if np.any(~np.isfinite(dw)) or np.any(dw <= 0):
            i = int(np.flatnonzero(~(np.isfinite(dw) & (dw > 0)))[0])
            row = responses["source_row"].iloc[i] if "source_row" in responses else i + 2
            raise InputError(
                "design_weight måste vara ett tal > 0 för varje svarande (eller tomt för alla)",
                row=int(row),
                column="design_weight",
            )
        return dw, []
    n_h = responses.groupby(["year", "district"], observed=True).size().rename("n_h")
    big_n = population.groupby(["year", "district"])["population"].sum().rename("N_h")
    both = pd.concat([n_h, big_n], axis=1).dropna(subset=["n_h"])
    if both["N_h"].isna().any():
        y, dname = both.index[both["N_h"].isna()][0]
        raise CalibrationError(f"ingen befolkning för år {y}, område {dname} i befolkningsfilen")
    ratio = (both["N_h"] / both["n_h"]).rename("d").reset_index()
    d = responses[["year", "district"]].merge(ratio, on=["year", "district"], how="left")["d"].to_numpy(float)
    return d, ["design_weight saknas: designvikten är N_h / antal svarande_h"]


def weight(
    responses: pd.DataFrame,
    population: pd.DataFrame,
    options: WeightingOptions = WeightingOptions(),
    nonresponse: NonresponseResult | None = None,
) -> WeightingResult:
    """Design weights, calibration to register margins, and per-district diagnostics.

    The population file's cells are summed to each margin (e.g. year × district × sex), and each numeric
    auxiliary of ``options.aux`` (a population column of cell totals, e.g. people born abroad) to its total per
    year × district, met beside the categorical margins (GREG variance through the same residuals). Cells of
    year × district without respondents are ignored with a note; infeasible cells are errors naming them.
    With ``nonresponse`` (``--gross-sample``) carrying adjusted start weights, those are the design weights
    that are calibrated (and that the variance's calibration residuals use).
    """
    responses = prepare(responses)
    if nonresponse is not None and nonresponse.start_weights is not None:
        d, notes = nonresponse.start_weights, list(nonresponse.notes)
    else:
        d, notes = design_weights(responses, population)
        notes += list(nonresponse.notes) if nonresponse is not None else []
    numeric = {a: AUX_WITHIN for a in options.aux}  # --aux: each total met per year × district
    margins = margins_from_population(population, options.margins, numeric or None, by=options.by)
    cal = calibrate(
        responses,
        d,
        margins,
        by=options.by,
        method=options.method,
        bounds=options.bounds,
        trim=options.trim,
        trim_mode=options.trim_mode,
        maxit=options.maxit,
        epsilon=options.epsilon,
        collapse=dict(options.collapse) or None,
    )
    design = contract_design(responses, d, options.lonely_psu).with_weights(cal.weights, cal.model)
    weights = pd.DataFrame(
        # .array keeps the Arrow strings (to_numpy would build 1M Python objects and convert them back: 0.2 s)
        {"resp_id": responses["resp_id"].array, "year": responses["year"].to_numpy(), "weight": cal.weights}
    )
    return WeightingResult(
        design=design,
        calibration=cal,
        weights=weights,
        diagnostics=cal.diagnostics,
        notes=tuple(notes) + cal.notes,
        nonresponse=nonresponse,
    )


def _groups(responses: pd.DataFrame, options: EstimationOptions) -> list[str]:
    return [g for g in options.groups if g in responses and responses[g].notna().all()]


def _group_estimates(
    design: Design,
    responses: pd.DataFrame,
    codebook: Codebook,
    options: EstimationOptions,
    atoms: AtomStats | None = None,
) -> pd.DataFrame:
    """Totalt per year, then every year × district, by each register variable in ``options.groups``; then
    the answer distribution of every item (domain ``answer``, :func:`estimate_distributions`)."""
    groups = _groups(responses, options)
    labels: dict[str, dict[object, str]] = {"sex": dict(codebook.sexes.items())}
    frames = [
        estimate_group_shares(
            design,
            responses,
            codebook.indicators,
            groups,
            labels=labels,
            min_n=options.min_n,
            max_rse=options.max_rse,
            level=options.level,
            atoms=atoms,
            within=within,
        )
        for within in (("year", "district") if groups else ())
    ]
    items = [(it.name, tuple(it.codes)) for it in codebook.items if it.name in responses]
    frames.append(
        estimate_distributions(
            design, responses, items, min_n=options.min_n, max_rse=options.max_rse, level=options.level, atoms=atoms
        )
    )
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _index_estimates(
    design: Design, responses: pd.DataFrame, codebook: Codebook, options: EstimationOptions
) -> pd.DataFrame:
    """The codebook's mean-score problem index per year × district and per year (Totalt), a ratio mean."""
    spec = getattr(codebook, "problem_index", None)
    if not spec:
        return pd.DataFrame()
    s, b = score_index(responses, spec.items, spec.scores)
    ycode, ykeys = factorize_groups(responses, ["year"])
    out = []
    for codes, keys in (factorize_groups(responses, ["year", "district"]), (ycode, ykeys.assign(district=TOTAL_LABEL))):
        res = domain_ratios(design, (s * b)[:, None], b[:, None], codes, len(keys))
        f = keys[["year", "district"]].copy()
        f["estimate"], f["se"], f["n"], f["df"] = res.estimate[:, 0], res.se[:, 0], res.n[:, 0], res.df[:, 0]
        out.append(f)
    f = pd.concat(out, ignore_index=True)
    f.insert(2, "indicator", getattr(spec, "name", "problem_index"))
    f["suppressed"] = f["n"] < options.min_n
    return f


def estimate(
    responses: pd.DataFrame,
    weighting: WeightingResult,
    codebook: Codebook,
    options: EstimationOptions = EstimationOptions(),
) -> EstimationResult:
    """Every indicator per year × district and Totalt, comparisons, Totalt by group, and the problem index;
    with ``options.pool`` > 1 over windows of consecutive waves (:func:`pooled_estimate`)."""
    responses = prepare(responses)
    if options.pool > 1:
        return pooled_estimate(responses, weighting.design, codebook, options)
    return _estimate(responses, weighting.design, codebook, options)


def _estimate(
    responses: pd.DataFrame, design: Design, codebook: Codebook, options: EstimationOptions
) -> EstimationResult:
    """:func:`estimate` on a prepared frame and its design."""
    atoms = estimation_atoms(design, responses, codebook, options)
    replicates = None
    if options.variance == "linearisation":
        tables = estimate_shares(
            design,
            responses,
            codebook.indicators,
            min_n=options.min_n,
            max_rse=options.max_rse,
            level=options.level,
            atoms=atoms,
        )
    else:  # replicate SEs for the district and Totalt tables (groups and the index stay linearised)
        rep = replicate_share_tables(
            design,
            responses,
            codebook.indicators,
            method=options.variance,
            replicates=options.replicates,
            seed=options.seed,
            min_n=options.min_n,
            max_rse=options.max_rse,
            level=options.level,
            blocks=options.replicate_blocks,
        )
        tables, replicates = rep.tables, rep.replicates
    comparisons = compare(tables, level=options.level, adjust=options.adjust, alpha=options.alpha)
    est = tables.estimates
    supp = est.set_index(["year", "district", "indicator"])["suppressed"]
    key = pd.MultiIndex.from_arrays([comparisons["year"], comparisons["district"], comparisons["indicator"]])
    comparisons["suppressed"] = supp.reindex(key).to_numpy(dtype=bool, na_value=True)
    other_district = np.where(
        comparisons["comparison"] == "previous_year", comparisons["district"], comparisons["other"]
    ).astype(object)
    other_year = np.where(comparisons["comparison"] == "previous_year", comparisons["other"], comparisons["year"])
    okey = pd.MultiIndex.from_arrays([pd.Series(other_year).astype(int), other_district, comparisons["indicator"]])
    comparisons["suppressed"] |= supp.reindex(okey).to_numpy(dtype=bool, na_value=True)
    return EstimationResult(
        estimates=est,
        comparisons=comparisons,
        by_group=_group_estimates(design, responses, codebook, options, atoms),
        index=_index_estimates(design, responses, codebook, options),
        tables=tables,
        replicates=replicates,
        atoms=atoms,
    )


def estimation_atoms(
    design: Design, responses: pd.DataFrame, codebook: Codebook, options: EstimationOptions
) -> AtomStats | None:
    """Per-atom sums (stratum × calibration cell × register group × answer state) of every indicator on an
    element design (None with PSUs): one pass over the rows serves the district, Totalt and group tables and
    the trend models (``survey.estimation.atoms``; ``responses`` as :func:`prepare` returns them)."""
    if design.psu is not None:
        return None
    return atom_stats(
        design,
        indicator_states(responses, codebook.indicators),
        extra=group_codes(responses, _groups(responses, options))[0],
    )


POOL_LABEL = "years_pooled"


def pooled_estimate(
    responses: pd.DataFrame, design: Design, codebook: Codebook, options: EstimationOptions
) -> EstimationResult:
    """Pooled years (``--pool k``): every output of :func:`estimate` over each window of ``k`` consecutive
    waves (:func:`survey.pooling.pooled_windows`), labelled by the window's last year (``year``) and its
    label (``years_pooled``, e.g. ``"2023–2024"``).

    As :mod:`survey.pooling`: the design keeps its strata (year × district) and per-wave calibration, the
    weights are divided by ``k``, and a window's district is the domain of its rows in the window, so the
    linearised variance is that of the stacked waves (R: ``svydesign(strata = ~year:district, weights =
    ~w / k)`` on the stacked rows, calibrated per wave). The rows of a window get ``year`` = its last year
    and every other row the placeholder year 0 (a stratum lies wholly inside or outside a window, so the
    domains stay aligned with the strata and calibration blocks). Comparisons: districts against each
    other and against Totalt within the window, and ``previous_year`` against the previous window that
    does not overlap (ending ``k`` waves earlier; disjoint waves are independent, so the covariance is 0).
    The by-group table and the problem index are pooled the same way.
    """
    k = options.pool
    years = responses["year"].to_numpy(np.int64)
    windows = pooled_windows(years.tolist(), k)
    pooled = design.with_weights(design.weights / k, design.calibration)
    parts: dict[str, list[pd.DataFrame]] = {"estimates": [], "comparisons": [], "by_group": [], "index": []}
    for j, window in enumerate(windows):
        end = window[-1]
        label = np.zeros(len(years), dtype=np.int64)
        label[np.isin(years, window)] = end
        prev = windows[j - k] if j >= k else None
        if prev is not None:
            label[np.isin(years, prev)] = prev[-1]
        res = _estimate(responses.assign(year=label), pooled, codebook, options)
        c = res.comparisons
        keep = (c["year"] == end) & ((c["comparison"] != "previous_year") | (prev is not None))
        c = c[keep].copy()
        c["other_years_pooled"] = np.where(
            c["comparison"] == "previous_year", window_label(prev) if prev is not None else "", ""
        )
        parts["comparisons"].append(c)
        for name in ("estimates", "by_group", "index"):
            f = getattr(res, name)
            if len(f):
                parts[name].append(f[f["year"] == end])
    labels = {w[-1]: window_label(w) for w in windows}
    out = {}
    for name, frames in parts.items():
        f = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        if len(f):
            f.insert(list(f.columns).index("year") + 1, POOL_LABEL, f["year"].map(labels))
        out[name] = f
    return EstimationResult(
        estimates=out["estimates"], comparisons=out["comparisons"], by_group=out["by_group"], index=out["index"]
    )


CONTRACT_ESTIMATE_COLUMNS: Sequence[str] = (
    "year",
    "district",
    "indicator",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "n",
    "suppressed",
)
