"""``trygghet run --pool k`` (issue 9, pooled years) against live R and the R-checked core.

R: tests/r/pooled.R stacks the waves of a window, ``svydesign(id = ~1, strata = ~year:district, weights =
~design_weight / k)``, rakes each wave to its own margins (totals / k) and takes ``svymean`` per district and
for all districts, for every indicator of the contract. The run's ``estimates.csv`` must agree to 1e-12
(both are double-precision sums of the same terms; measured 4.5e-15). Without R, the same numbers are checked
against :func:`survey.pooling.pooled_share_estimates` (tested against R in tests/test_robust_pooling.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from survey.cli import app
from survey.data.codebook import load_codebook
from survey.errors import ConfigError
from survey.pipeline import stepwise
from survey.pipeline.config import build_config
from survey.pipeline.steps import prepare, weight
from survey.pooling import pooled_share_estimates
from tests.conftest import SAMPLE_WAVE

sys.path.insert(0, str(Path(__file__).resolve().parent / "r"))
from oracle import HERE, load_json, read_population, read_responses, rel_err, run_r

RESPONSES, POPULATION = SAMPLE_WAVE / "responses.csv", SAMPLE_WAVE / "population.csv"


def cli_run(out: Path, *extra: str, responses: Path = RESPONSES, population: Path = POPULATION) -> pd.DataFrame:
    """``trygghet run`` through the CLI; returns its estimates.csv."""
    args = ["run", "--responses", str(responses), "--population", str(population), "--out", str(out)]
    args += ["--db", f"sqlite:///{out.parent / (out.name + '.sqlite')}", *extra]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    return pd.read_csv(out / "estimates.csv", keep_default_na=False, na_values=[""])


@pytest.fixture(scope="module")
def pooled_run(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    out = tmp_path_factory.mktemp("pool") / "out"
    return out, cli_run(out, "--pool", "2")


def test_default_output_has_no_pool_column_and_pool_1_is_byte_identical(tmp_path: Path) -> None:
    cli_run(tmp_path / "a", "--no-publish")
    cli_run(tmp_path / "b", "--no-publish", "--pool", "1")
    for name in ("estimates.csv", "comparisons.csv", "estimates_by_group.csv", "weights.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    header = (tmp_path / "a" / "estimates.csv").read_text().splitlines()[0]
    assert header == '"year","district","indicator","estimate","se","ci_low","ci_high","n","suppressed"'


@pytest.mark.rlive
def test_pool_2_estimates_match_R_on_the_stacked_waves(pooled_run) -> None:
    _out, est = pooled_run
    assert est.columns.tolist()[:3] == ["year", "years_pooled", "district"]
    assert est[["year", "years_pooled"]].drop_duplicates().values.tolist() == [[2023, "2022–2023"], [2024, "2023–2024"]]
    for years in ("2022,2023", "2023,2024"):
        args = [RESPONSES, POPULATION, years, "2", "-"]
        ref = load_json(run_r(HERE / "pooled.R", args, [RESPONSES, POPULATION], out_name="pool.json"))
        del ref["_weights"]
        win = est[est["year"] == int(years[-4:])]
        assert len(ref) == 15
        for ind, r in ref.items():
            got = win[win["indicator"] == ind].set_index("district").loc[r["district"]]
            assert got["n"].tolist() == r["n"]
            assert rel_err(got["estimate"].to_numpy(), r["estimate"]) < 1e-12, ind
            assert rel_err(got["se"].to_numpy(), r["se"]) < 1e-12, ind


def test_pool_2_estimates_are_the_cores_pooled_shares(pooled_run) -> None:
    """The pipeline's windows (rows relabelled per window) against the core's masked domains."""
    _out, est = pooled_run
    r = prepare(read_responses(RESPONSES))
    w = weight(r, read_population(POPULATION))
    core = pooled_share_estimates(w.design, r, load_codebook().indicators, 2)
    m = est.merge(core, left_on=["years_pooled", "district", "indicator"], right_on=["year", "district", "indicator"])
    assert len(m) == len(est) == len(core) == 2 * 7 * 15
    for c in ("estimate", "se", "ci_low", "ci_high"):
        assert rel_err(m[c + "_x"].to_numpy(), m[c + "_y"].to_numpy()) < 1e-12, c
    assert (m["n_x"] == m["n_y"]).all() and (m["suppressed_x"] == m["suppressed_y"]).all()


def test_pooled_comparisons_and_report_are_labelled(pooled_run) -> None:
    out, est = pooled_run
    comp = pd.read_csv(out / "comparisons.csv", keep_default_na=False, na_values=[""])
    # three waves, pool 2: the windows overlap, so there is no previous period to compare with
    assert set(comp["comparison"]) == {"vs_totalt", "vs_district"}
    assert set(zip(comp["year"], comp["years_pooled"])) == {(2023, "2022–2023"), (2024, "2023–2024")}
    # districts of one window: disjoint strata, so V(a - b) = V(a) + V(b)
    pair = comp[(comp["comparison"] == "vs_district") & (comp["indicator"] == "unsafe_after_dark")].iloc[0]
    e = est[(est["year"] == pair["year"]) & (est["indicator"] == "unsafe_after_dark")].set_index("district")
    a, b = e.loc[pair["district"]], e.loc[pair["other"]]
    assert pair["difference"] == pytest.approx(a["estimate"] - b["estimate"], rel=1e-12)
    assert pair["se"] == pytest.approx(np.hypot(a["se"], b["se"]), rel=1e-12)
    groups = pd.read_csv(out / "estimates_by_group.csv", keep_default_na=False, na_values=[""])
    assert set(groups["years_pooled"]) == {"2022–2023", "2023–2024"}
    page = (out / "report" / "index.html").read_text(encoding="utf-8")
    assert "sammanslagna år" in page and "2023–2024 under 2024" in page


def test_previous_period_is_the_window_that_does_not_overlap(tmp_path: Path) -> None:
    """Four waves (the 2024 wave repeated as 2025): 2024–2025 is compared with 2022–2023, independent
    waves, so the SE of the difference is the root of the sum of the two variances."""
    r = pd.read_csv(RESPONSES, dtype=str, keep_default_na=False)
    p = pd.read_csv(POPULATION, dtype=str, keep_default_na=False)
    r4 = pd.concat([r, r[r["year"] == "2024"].assign(year="2025")])
    p4 = pd.concat([p, p[p["year"] == "2024"].assign(year="2025")])
    r4.to_csv(tmp_path / "r.csv", index=False)
    p4.to_csv(tmp_path / "p.csv", index=False)
    est = cli_run(
        tmp_path / "out", "--pool", "2", "--no-publish", responses=tmp_path / "r.csv", population=tmp_path / "p.csv"
    )
    assert sorted(set(est["years_pooled"])) == ["2022–2023", "2023–2024", "2024–2025"]
    comp = pd.read_csv(tmp_path / "out" / "comparisons.csv", keep_default_na=False, na_values=[""])
    prev = comp[comp["comparison"] == "previous_year"]
    assert set(prev["year"]) == {2025} and set(prev["other"].astype(int)) == {2023}
    assert set(prev["other_years_pooled"]) == {"2022–2023"}
    row = prev[(prev["district"] == "Totalt") & (prev["indicator"] == "worried_crime")].iloc[0]
    e = est[(est["district"] == "Totalt") & (est["indicator"] == "worried_crime")].set_index("year")
    assert row["difference"] == pytest.approx(e.loc[2025, "estimate"] - e.loc[2023, "estimate"], rel=1e-12)
    assert row["se"] == pytest.approx(np.hypot(e.loc[2025, "se"], e.loc[2023, "se"]), rel=1e-12)


def test_stepwise_pooled_run_gives_the_one_shot_numbers(tmp_path: Path, pooled_run) -> None:
    from survey.pipeline import commands

    _out, est = pooled_run
    db = f"sqlite:///{tmp_path / 'steps.sqlite'}"
    config = build_config(None, {"responses": RESPONSES, "population": POPULATION, "db": db, "pool": 2})
    commands.ingest(config)
    run_id = stepwise.weight_run(config)
    e = stepwise.estimate_run(run_id, db).estimates
    m = est.merge(e, on=["year", "district", "indicator"])
    assert len(m) == len(est) == len(e)
    assert (m["years_pooled_x"] == m["years_pooled_y"]).all()
    for c in ("estimate", "se", "ci_low", "ci_high"):
        np.testing.assert_array_equal(m[c + "_x"].to_numpy(), m[c + "_y"].to_numpy())


def test_pool_with_replicate_variance_or_too_many_years_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"--pool 2 med --variance bootstrap:50"):
        build_config(None, {"pool": 2, "variance": "bootstrap:50"})
    with pytest.raises(ConfigError, match="--pool måste vara ≤ 10"):
        build_config(None, {"pool": 11})
    res = CliRunner().invoke(
        app,
        ["run", "--responses", str(RESPONSES), "--population", str(POPULATION), "--out", str(tmp_path / "o")]
        + ["--db", f"sqlite:///{tmp_path / 'x.sqlite'}", "--pool", "4", "--no-publish"],
    )
    assert res.exit_code == 2 and "pool=4 kräver minst 4 undersökningsår" in res.output
