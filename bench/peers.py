"""One benchmark task, done by one tool: ``python -m bench.peers TOOL RESPONSES.csv POPULATION.csv OUT.json``.

The task (the contract's default method, for one indicator):
  weight    raking, within each year, to the margins district × sex and district × age_group, starting
            from ``design_weight`` (strata = year × district);
  estimate  ``unsafe_after_dark`` (``q_safe_after_dark`` in 3, 4, 5; blank answers outside the base) per
            year × district, with the tool's best standard error;
  model     logistic regression ``unsafe ~ year + district`` on the answered rows, design-based SEs.

TOOL is ``trygghet``, ``svy``, ``samplics`` or ``balance``; ``bench/run.py`` starts each in its own
process (``balance`` with the interpreter of ``bench/.venv-peers``), so that peak memory is per tool.
This module imports only the standard library at the top: the peers' venv has no trygghet.
The JSON written has ``tool``, ``version``, ``se_method``, ``model_method``, ``steps`` (seconds of
``read``, ``weight``, ``estimate``, ``model``), ``estimates`` (year, district, estimate, se), ``model``
(term, estimate, se) and ``notes``.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

UNSAFE = (3, 4, 5)
ITEM = "q_safe_after_dark"


class Steps:
    """Wall seconds per named step."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._t = time.perf_counter()

    def done(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = now - self._t
        self._t = now


def _read_pandas(resp_path: str, pop_path: str) -> tuple[Any, Any]:
    import pandas as pd

    dtypes = {"resp_id": str, "district": str, "age_group": str, "comment": str}
    r = pd.read_csv(
        resp_path,
        dtype=dtypes,
        keep_default_na=False,
        na_values={ITEM: [""]},
        usecols=["resp_id", "year", "district", "sex", "age_group", "design_weight", ITEM],
    )
    p = pd.read_csv(pop_path, dtype={"district": str, "age_group": str})
    return r, p


def _prepare_pandas(r: Any, p: Any) -> None:
    """Add stratum, the two margin keys and y (0/1, NaN when blank), in place."""
    import numpy as np

    for f in (r, p):
        f["stratum"] = f["year"].astype(str) + "|" + f["district"]
        f["yd_sex"] = f["stratum"] + "#" + f["sex"].astype(str)
        f["yd_age"] = f["stratum"] + "#" + f["age_group"]
    answered = r[ITEM].notna().to_numpy()
    r["y"] = np.where(answered, r[ITEM].isin(UNSAFE).to_numpy(dtype=float), np.nan)


def _controls(p: Any) -> dict[str, dict[str, float]]:
    return {m: p.groupby(m)["population"].sum().astype(float).to_dict() for m in ("yd_sex", "yd_age")}


# --- trygghet -----------------------------------------------------------------------------------------


def run_trygghet(resp_path: str, pop_path: str) -> dict[str, Any]:
    """trygghet's own steps (survey.pipeline.steps) restricted to the one indicator."""
    import dataclasses

    import numpy as np
    import pandas as pd

    from survey.data.codebook import default_codebook
    from survey.data.synth import ITEMS
    from survey.models import trend_outputs  # imported before the clock starts, as the peers' are
    from survey.pipeline import steps as pipeline

    st = Steps()
    dtypes = {
        "resp_id": str,
        "district": str,
        "age_group": str,
        "comment": str,
        **{q: "Int64" for q in ITEMS},
        "born_abroad": "Int64",
    }
    r = pd.read_csv(resp_path, dtype=dtypes, keep_default_na=False, na_values={q: [""] for q in ITEMS})
    r = r.drop(columns=["comment"], errors="ignore")
    r["source_row"] = np.arange(2, len(r) + 2, dtype=np.int64)
    p = pd.read_csv(pop_path, dtype={"district": str, "age_group": str})
    st.done("read")
    w = pipeline.weight(r, p)
    st.done("weight")
    cb = default_codebook()
    cb1 = dataclasses.replace(cb, indicators=(cb.indicator("unsafe_after_dark"),), problem_index=None)
    res = pipeline.estimate(r, w, cb1, pipeline.EstimationOptions(groups=()))
    st.done("estimate")
    est = res.estimates
    est = est[(est["district"] != "Totalt") & (est["indicator"] == "unsafe_after_dark")]
    notes: list[str] = ["estimate step also computes the Totalt rows and the pairwise comparisons"]
    tr = trend_outputs(w.design, r, cb1.indicators, series_breaks=cb1.series_breaks).contract_rows()
    st.done("model")
    tr = tr[tr["indicator"] == "unsafe_after_dark"]
    model: list[dict] = tr[["term", "estimate", "se"]].to_dict("records")
    from importlib.metadata import version

    return {
        "tool": "trygghet",
        "version": version("trygghet"),
        "se_method": "Taylor linearisation with calibration (GREG) residuals, stratified, with replacement",
        "model_method": "survey-weighted logistic regression, sandwich through the calibration",
        "steps": st.seconds,
        "estimates": est[["year", "district", "estimate", "se"]].to_dict("records"),
        "model": model,
        "notes": notes,
    }


# --- svy -----------------------------------------------------------------------------------------------


def run_svy(resp_path: str, pop_path: str) -> dict[str, Any]:
    """svy (Polars + Rust): Sample.weighting.rake, estimation.mean by year × district, glm.fit."""
    import polars as pl
    import svy

    st = Steps()
    r = pl.read_csv(
        resp_path,
        schema_overrides={"resp_id": pl.Utf8, "district": pl.Utf8, "age_group": pl.Utf8},
        columns=["resp_id", "year", "district", "sex", "age_group", "design_weight", ITEM],
    )
    p = pl.read_csv(pop_path, schema_overrides={"district": pl.Utf8, "age_group": pl.Utf8})
    st.done("read")

    def keys(f: pl.DataFrame) -> pl.DataFrame:
        f = f.with_columns(stratum=pl.concat_str([pl.col("year").cast(pl.Utf8), pl.col("district")], separator="|"))
        return f.with_columns(
            yd_sex=pl.concat_str([pl.col("stratum"), pl.col("sex").cast(pl.Utf8)], separator="#"),
            yd_age=pl.concat_str([pl.col("stratum"), pl.col("age_group")], separator="#"),
        )

    r, p = keys(r), keys(p)
    r = r.with_columns(
        y=pl.when(pl.col(ITEM).is_null()).then(None).otherwise(pl.col(ITEM).is_in(list(UNSAFE)).cast(pl.Float64))
    )
    controls = {
        m: dict(p.group_by(m).agg(pl.col("population").sum().cast(pl.Float64)).iter_rows())
        for m in ("yd_sex", "yd_age")
    }
    sample = svy.Sample(r, svy.Design(stratum="stratum", wgt="design_weight", wr=True))
    sample = sample.weighting.rake(controls=controls, tol=1e-10, max_iter=1000)
    st.done("weight")
    est = sample.estimation.mean("y", by=["year", "district"], drop_nulls=True)
    st.done("estimate")
    e = est.to_polars()
    districts = sorted(r["district"].unique().to_list())
    fit = sample.glm.fit(
        "y",
        x=["year", svy.Cat("district", ref=districts[0])],
        family="binomial",
        where=svy.col("y").is_not_null(),
        tol=1e-10,
    )
    st.done("model")
    coefs = fit.coefs if not callable(fit.coefs) else fit.coefs()
    model = _svy_coefs(coefs, districts)
    return {
        "tool": "svy",
        "version": svy.__version__,
        "se_method": "Taylor linearisation; the rake is recorded and swept into the scores (calibration-aware)",
        "model_method": "svy GLM binomial, Taylor sandwich",
        "steps": st.seconds,
        "estimates": [
            {"year": int(a), "district": b, "estimate": c, "se": d}
            for a, b, c, d in e.select("year", "district", "est", "se").iter_rows()
        ],
        "model": model,
        "notes": [],
    }


def _svy_coefs(coefs: Any, districts: list[str]) -> list[dict]:
    """svy's coefficient table → (term, estimate, se) in the contract's term names."""
    rows = []
    items = (
        coefs.to_dicts() if hasattr(coefs, "to_dicts") else [{"term": c.term, "est": c.est, "se": c.se} for c in coefs]
    )
    for c in items:
        term = str(c.get("term"))
        if term.strip("_()").lower() == "intercept":
            term = "(Intercept)"
        elif term != "year":
            for d in districts:
                if term.endswith(d) and term.startswith("district"):
                    term = f"district[{d}]"
        rows.append({"term": term, "estimate": c.get("est", c.get("estimate")), "se": c.get("se")})
    return rows


# --- samplics ------------------------------------------------------------------------------------------


def run_samplics(resp_path: str, pop_path: str) -> dict[str, Any]:
    """samplics 0.6: SampleWeight.rake, TaylorEstimator mean by domain, SurveyGLM logistic."""
    import warnings

    import numpy as np

    warnings.filterwarnings("ignore", category=FutureWarning)
    import samplics
    from samplics import ModelType, PopParam, SampleWeight, SurveyGLM, TaylorEstimator

    st = Steps()
    r, p = _read_pandas(resp_path, pop_path)
    st.done("read")
    _prepare_pandas(r, p)
    controls = _controls(p)
    w = SampleWeight().rake(
        samp_weight=r["design_weight"].to_numpy(float),
        margins={"yd_sex": r["yd_sex"].to_numpy(), "yd_age": r["yd_age"].to_numpy()},
        control=controls,
        tol=1e-10,
        max_iter=1000,
    )
    st.done("weight")
    answered = r["y"].notna().to_numpy()
    # domain = year × district among the answered; blank rows stay in the design in a domain of their own
    # (their y only enters that domain: set to 1 so its mean is not 0, where samplics divides by it)
    domain = np.where(answered, r["stratum"].to_numpy(dtype=object), "__blank__")
    est = TaylorEstimator(PopParam.mean)
    est.estimate(
        y=np.nan_to_num(r["y"].to_numpy(float), nan=1.0),
        samp_weight=w,
        stratum=r["stratum"].to_numpy(),
        psu=np.arange(len(r)),
        domain=domain,
    )
    st.done("estimate")
    rows = []
    for dom, val in est.point_est.items():
        if dom == "__blank__":
            continue
        year, district = str(dom).split("|", 1)
        rows.append({"year": int(year), "district": district, "estimate": float(val), "se": float(est.stderror[dom])})
    sub = r.loc[answered]
    districts = sorted(sub["district"].unique())
    glm = SurveyGLM(ModelType.LOGISTIC)
    glm.estimate(
        y=sub["y"].to_numpy(float),
        x=sub[["year"]].to_numpy(float),
        x_labels=["year"],
        x_cat=sub[["district"]].to_numpy(),
        x_cat_labels=["district"],
        x_cat_reference={"district": districts[0]},
        samp_weight=w[answered],
        stratum=sub["stratum"].to_numpy(),
        psu=np.arange(len(sub)),
        add_intercept=True,
    )
    st.done("model")
    model = []
    for lab, b, s in zip(glm.x_labels, glm.beta["point_est"], glm.beta["stderror"]):
        term = (
            "(Intercept)"
            if lab == "Intercept"
            else (f"district[{lab[len('district_') :]}]" if lab.startswith("district_") else lab)
        )
        model.append({"term": term, "estimate": float(b), "se": float(s)})
    return {
        "tool": "samplics",
        "version": samplics.__version__,
        "se_method": "Taylor linearisation, stratified, weights treated as fixed (no calibration term)",
        "model_method": "SurveyGLM logistic, Taylor sandwich with fixed weights; blank rows dropped "
        "(no domain support in the GLM)",
        "steps": st.seconds,
        "estimates": rows,
        "model": model,
        "notes": ["samplics is archived (its author points to svy)"],
    }


# --- balance -------------------------------------------------------------------------------------------


def run_balance(resp_path: str, pop_path: str) -> dict[str, Any]:
    """balance (Meta): rake with target margins; weighted means; no design-based SE, no survey GLM."""
    import logging

    import numpy as np
    import pandas as pd

    logging.disable(logging.WARNING)
    import balance
    from balance.stats_and_plots.weighted_stats import var_of_weighted_mean
    from balance.weighting_methods.rake import rake

    st = Steps()
    r, p = _read_pandas(resp_path, pop_path)
    st.done("read")
    _prepare_pandas(r, p)
    # the target is the population file itself (one row per cell, weight = count): exact margins.
    # (target_margins= would be realised as at most target_margins_max_length synthetic rows: rounded.)
    res = rake(
        r[["yd_sex", "yd_age"]],
        r["design_weight"].astype(float),
        p[["yd_sex", "yd_age"]],
        p["population"].astype(float),
        variables=["yd_sex", "yd_age"],
        transformations=None,
        na_action="drop",
        max_iteration=1000,
        convergence_rate=1e-10,
        rate_tolerance=0.0,
    )
    w = np.asarray(res["weight"], dtype=float)
    st.done("weight")
    sub = r.loc[r["y"].notna()].assign(w=w[r["y"].notna().to_numpy()])
    rows = []
    for (year, district), g in sub.groupby(["year", "district"], sort=True):
        yv, wv = g["y"].to_numpy(float), g["w"].to_numpy(float)
        m = float(np.sum(wv * yv) / np.sum(wv))
        var = float(np.asarray(var_of_weighted_mean(pd.Series(yv), pd.Series(wv))).ravel()[0])
        rows.append({"year": int(year), "district": district, "estimate": m, "se": float(np.sqrt(var))})
    st.done("estimate")
    return {
        "tool": "balance",
        "version": balance.__version__,
        "se_method": "var_of_weighted_mean: no strata, weights treated as fixed (not design-based)",
        "model_method": "n/a (balance has no survey-weighted GLM)",
        "steps": st.seconds,
        "estimates": rows,
        "model": [],
        "notes": ["balance needs numpy < 2 on Python 3.11: runs from bench/.venv-peers"],
    }


TOOLS: dict[str, Callable[[str, str], dict[str, Any]]] = {
    "trygghet": run_trygghet,
    "svy": run_svy,
    "samplics": run_samplics,
    "balance": run_balance,
}


def main(argv: list[str] | None = None) -> int:
    """Run one tool and write its JSON result; exit code 1 (with the error in the JSON) on failure."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 4 or argv[0] not in TOOLS:
        print(
            f"usage: python -m bench.peers {{{','.join(TOOLS)}}} RESPONSES.csv POPULATION.csv OUT.json", file=sys.stderr
        )
        return 2
    tool, resp, pop, out = argv
    try:
        result = TOOLS[tool](resp, pop)
        code = 0
    except Exception as exc:  # reported by bench/run.py as the tool's status
        import traceback

        result = {"tool": tool, "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
        code = 1
    Path(out).write_text(json.dumps(result, default=float), encoding="utf-8")
    return code


if __name__ == "__main__":
    sys.exit(main())
