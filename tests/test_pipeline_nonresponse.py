"""``trygghet run --gross-sample FILE --nonresponse cell|propensity|none`` (issue 9, non-response analysis).

The gross sample is the shared sample wave's respondents plus non-respondents made up per cell (more among
men and the young; no randomness), without ``design_weight``, so the design weight is ``N_h / n_h`` (the
population of the year × district over its sampled persons).

* Response rates: counted by hand (pandas group sizes of the file written here).
* ``cell``: the adjusted design weight of a respondent is ``N_h / n_h × n_c / r_c`` (sampled over responding in
  its year × district × sex × age cell), computed by hand; the R oracle (shared/conformance/reference.R)
  run on the responses with that design weight must give the run's weights and estimates.
* ``propensity``: R's ``svyglm(responded ~ district + factor(sex) + age_group, quasibinomial)`` per year
  (tests/r/propensity.R) gives ``p``; reference.R on the responses with design weight ``d / p`` must give
  the run's numbers.
Tolerances: weights 1e-9 and estimates, SEs and CIs 1e-9 relative (reference.R's own precision statement
is ~1e-11 for weights and ~1e-14 for estimates; the propensity fit adds glm's convergence, epsilon 1e-14).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from survey.cli import app
from survey.errors import ConfigError
from survey.pipeline import stepwise
from survey.pipeline.config import build_config
from tests.conftest import SAMPLE_WAVE

sys.path.insert(0, str(Path(__file__).resolve().parent / "r"))
from oracle import HERE, REFERENCE_R, rel_err, run_r

RESPONSES, POPULATION = SAMPLE_WAVE / "responses.csv", SAMPLE_WAVE / "population.csv"
AGES = ("16-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75-84")
CELL = ["year", "district", "sex", "age_group"]


def make_gross(path: Path, responses: pd.DataFrame | None = None) -> pd.DataFrame:
    """Respondents (responded 1) and, per cell, round(r_c (1.6 - 0.15 age index + 0.2 man)) non-respondents
    (of the shared sample wave unless ``responses`` are given)."""
    r = pd.read_csv(RESPONSES, dtype={"resp_id": str}) if responses is None else responses
    rows = [r[["resp_id", *CELL]].assign(responded=1)]
    i = 0
    for (y, d, s, a), g in r.groupby(CELL):
        k = int(round(len(g) * (1.6 - 0.15 * AGES.index(a) + 0.2 * (s == 1))))
        ids = [f"nr{j}" for j in range(i, i + k)]
        rows.append(pd.DataFrame({"resp_id": ids, "year": y, "district": d, "sex": s, "age_group": a, "responded": 0}))
        i += k
    gross = pd.concat(rows, ignore_index=True)
    gross.to_csv(path, index=False)
    return gross


def cli(out: Path, *extra: str) -> Any:
    out.mkdir(parents=True, exist_ok=True)
    args = ["run", "--responses", str(RESPONSES), "--population", str(POPULATION), "--out", str(out / "out")]
    res = CliRunner().invoke(app, [*args, "--db", f"sqlite:///{out / 'db.sqlite'}", "--no-publish", *extra])
    return res


@pytest.fixture(scope="module")
def gross(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    path = tmp_path_factory.mktemp("gross") / "brutto.csv"
    return path, make_gross(path)


def hand_weights(gross: pd.DataFrame) -> pd.DataFrame:
    """Per respondent: d = N_h / n_h and the cell factor n_c / r_c (by hand, from counts)."""
    pop = pd.read_csv(POPULATION).groupby(["year", "district"])["population"].sum().rename("N_h")
    g = gross.merge(pop.reset_index(), on=["year", "district"])
    g["d"] = g["N_h"] / g.groupby(["year", "district"])["resp_id"].transform("size")
    g["factor"] = g.groupby(CELL)["resp_id"].transform("size") / g.groupby(CELL)["responded"].transform("sum")
    return g


def adjusted_run(tmp_path: Path, gross: tuple[Path, pd.DataFrame], method: str) -> pd.DataFrame:
    """``trygghet run --gross-sample G --nonresponse METHOD`` under tmp_path/out; the hand weights of G."""
    res = cli(tmp_path, "--gross-sample", str(gross[0]), "--nonresponse", method)
    assert res.exit_code == 0, res.output
    return hand_weights(gross[1])


def oracle_with_design_weights(tmp_path: Path, resp_dw: pd.DataFrame, name: str) -> Path:
    """reference.R on the sample wave's responses with ``design_weight`` replaced (resp_id, year, dw)."""
    r = pd.read_csv(RESPONSES, dtype=str, keep_default_na=False)
    m = r.merge(resp_dw.astype({"year": str}), on=["resp_id", "year"], how="left", validate="one_to_one")
    assert m["dw"].notna().all()
    r["design_weight"] = [f"{v:.17g}" for v in m["dw"]]
    path = tmp_path / f"{name}.csv"
    r.to_csv(path, index=False)
    return run_r(REFERENCE_R, [path, POPULATION], [path, POPULATION], out_name="oracle", timeout=600)


def assert_same_as_oracle(out: Path, expected: Path, tol: float = 1e-9) -> None:
    w = pd.read_csv(out / "weights.csv", dtype={"resp_id": str}).merge(
        pd.read_csv(expected / "weights.csv", dtype={"resp_id": str}), on=["resp_id", "year"], validate="one_to_one"
    )
    assert len(w) == len(pd.read_csv(RESPONSES, usecols=["resp_id"]))
    assert rel_err(w["weight_x"].to_numpy(), w["weight_y"].to_numpy()) < tol
    e = pd.read_csv(out / "estimates.csv").merge(
        pd.read_csv(expected / "estimates.csv"), on=["year", "district", "indicator"], validate="one_to_one"
    )
    assert len(e) == 315 and (e["n_x"] == e["n_y"]).all()
    for c in ("estimate", "se", "ci_low", "ci_high"):
        assert rel_err(e[c + "_x"].to_numpy(), e[c + "_y"].to_numpy()) < tol, c


def test_response_rates_by_hand(tmp_path: Path, gross) -> None:
    path, g = gross
    res = cli(tmp_path, "--gross-sample", str(path))  # --nonresponse none: rates only
    assert res.exit_code == 0, res.output
    rates = pd.read_csv(tmp_path / "out" / "response_rates.csv")
    assert rates.columns.tolist()[:7] == [*CELL, "sampled", "responded", "rate"]
    want = g.groupby(CELL)["responded"].agg(["size", "sum"]).reset_index()
    m = rates.merge(want, on=CELL, validate="one_to_one")
    assert len(m) == len(rates) == len(want)
    assert (m["sampled"] == m["size"]).all() and (m["responded"] == m["sum"]).all()
    np.testing.assert_allclose(m["rate"], m["sum"] / m["size"], rtol=1e-15)
    # the design weight is constant within year × district, so the weighted rate is the rate
    np.testing.assert_allclose(m["weighted_rate"], m["rate"], rtol=1e-12)
    lineage = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
    assert [i["role"] for i in lineage["inputs"]][-1] == "gross_sample"
    assert lineage["inputs"][-1]["rows"] == len(g)
    y22 = lineage["nonresponse"]["years"]["2022"]
    assert (y22["sampled"], y22["responded"]) == (
        int((g["year"] == 2022).sum()),
        int(g[g["year"] == 2022]["responded"].sum()),
    )
    one = rates[(rates["year"] == 2022) & (rates["district"] == "Duvbo") & (rates["sex"] == 1)].iloc[0]
    assert (one["age_group"], one["sampled"], one["responded"]) == ("16-24", 17, 6)  # 6 respondents + 11
    # without adjustment the weights are those of the run without a gross sample
    plain = cli(tmp_path / "plain")
    assert plain.exit_code == 0, plain.output
    assert (tmp_path / "out" / "weights.csv").read_bytes() == (tmp_path / "plain" / "out" / "weights.csv").read_bytes()
    assert not (tmp_path / "out" / "nonresponse_balance.csv").exists()


@pytest.mark.rlive
def test_cell_adjustment_matches_R_on_the_hand_computed_weights(tmp_path: Path, gross) -> None:
    h = adjusted_run(tmp_path, gross, "cell")
    resp = h[h["responded"] == 1].assign(dw=lambda f: f["d"] * f["factor"])[["resp_id", "year", "dw"]]
    assert_same_as_oracle(tmp_path / "out", oracle_with_design_weights(tmp_path, resp, "cell"))
    # diagnostics: the factor's range per year × district is the range of n_c / r_c, by hand
    diag = pd.read_csv(tmp_path / "out" / "nonresponse_diagnostics.csv").set_index(["year", "district"])
    f = h[h["responded"] == 1].groupby(["year", "district"])["factor"]
    np.testing.assert_allclose(diag["min_factor"], f.min().reindex(diag.index), rtol=1e-14)
    np.testing.assert_allclose(diag["factor_ratio"], (f.max() / f.min()).reindex(diag.index), rtol=1e-14)
    # the adjustment matters: the weights differ from the unadjusted oracle's
    base = pd.read_csv(SAMPLE_WAVE / "expected" / "weights.csv", dtype={"resp_id": str})
    ours = pd.read_csv(tmp_path / "out" / "weights.csv", dtype={"resp_id": str})
    assert rel_err(ours["weight"].to_numpy(), base["weight"].to_numpy()) > 1e-3
    bal = pd.read_csv(tmp_path / "out" / "nonresponse_balance.csv")
    np.testing.assert_allclose(bal["adjusted_share"], bal["gross_share"], rtol=1e-12)  # classes balance


@pytest.mark.rlive
def test_propensity_adjustment_matches_R_svyglm(tmp_path: Path, gross) -> None:
    h = adjusted_run(tmp_path, gross, "propensity")
    gpath = tmp_path / "gross_d.csv"
    h[["resp_id", *CELL, "responded", "d"]].to_csv(gpath, index=False, float_format="%.17g")
    p = pd.read_csv(run_r(HERE / "propensity.R", [gpath], [gpath], out_name="p.csv"), dtype={"resp_id": str})
    m = h.merge(p, on=["resp_id", "year"], validate="one_to_one")
    resp = m[m["responded"] == 1].assign(dw=lambda f: f["d"] / f["p"])[["resp_id", "year", "dw"]]
    assert_same_as_oracle(tmp_path / "out", oracle_with_design_weights(tmp_path, resp, "propensity"))


def test_stepwise_adjusted_run_gives_the_one_shot_numbers(tmp_path: Path, gross) -> None:
    from survey.pipeline import commands

    path, _g = gross
    res = cli(tmp_path, "--gross-sample", str(path), "--nonresponse", "cell")
    assert res.exit_code == 0, res.output
    db = f"sqlite:///{tmp_path / 'steps.sqlite'}"
    config = build_config(
        None,
        {"responses": RESPONSES, "population": POPULATION, "db": db, "gross_sample": path, "nonresponse": "cell"},
    )
    commands.ingest(config)
    run_id = stepwise.weight_run(config)
    e = stepwise.estimate_run(run_id, db).estimates
    one = pd.read_csv(tmp_path / "out" / "estimates.csv").merge(e, on=["year", "district", "indicator"])
    assert len(one) == 315
    for c in ("estimate", "se"):
        np.testing.assert_allclose(one[c + "_x"], one[c + "_y"], rtol=1e-13)


def test_gross_sample_errors_name_file_row_and_column(tmp_path: Path, gross) -> None:
    path, g = gross
    with pytest.raises(ConfigError, match="--nonresponse cell kräver --gross-sample"):
        build_config(None, {"nonresponse": "cell"})
    bad = g.copy()
    bad.loc[5, "responded"] = 2
    bad.to_csv(tmp_path / "bad.csv", index=False)
    res = cli(tmp_path / "a", "--gross-sample", str(tmp_path / "bad.csv"), "--nonresponse", "cell")
    assert res.exit_code == 2
    assert "bad.csv, rad 7, kolumn responded" in " ".join(res.output.split())
    assert not (tmp_path / "a" / "db.sqlite").exists()  # checked before the database is opened
    g[g["resp_id"] != "00002"].to_csv(tmp_path / "short.csv", index=False)
    res = cli(tmp_path / "b", "--gross-sample", str(tmp_path / "short.csv"))
    assert res.exit_code == 2
    text = " ".join(res.output.split())
    assert "short.csv" in text and "resp_id '00002' år 2022" in text and "finns inte i bruttourvalet" in text
    g.drop(columns="responded").to_csv(tmp_path / "nocol.csv", index=False)
    res = cli(tmp_path / "c", "--gross-sample", str(tmp_path / "nocol.csv"))
    assert res.exit_code == 2 and "kolumn responded" in " ".join(res.output.split())
