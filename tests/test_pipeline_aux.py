"""``trygghet run --aux born_abroad`` (issue 9, numeric auxiliaries through the configuration).

The population file gets a column ``born_abroad``: per cell the number of people born abroad, made up as
round(population × 1.1 × the design-weighted share born abroad among the year × district's respondents), so
the calibration must move the weights. R: tests/r/pooled.R per year (K = 1, AUX = born_abroad) rakes with
reference.R's full-rank matrix plus, per stratum, the column 1[h] × born_abroad with the stratum's total, and
takes svymean per district and for all districts. Weights, estimates and SEs must agree to 1e-10: both
stop their Newton iterations at |misfit| / (1 + |X|) < 1e-12, so the weights differ by up to a few 1e-12
(measured 3e-12 for weights, see the report for estimates and SEs).
"""

from __future__ import annotations

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
from oracle import HERE, load_json, rel_err, run_r

RESPONSES, POPULATION = SAMPLE_WAVE / "responses.csv", SAMPLE_WAVE / "population.csv"


def population_with_born_abroad(path: Path) -> pd.DataFrame:
    r = pd.read_csv(RESPONSES)
    key = [r["year"], r["district"]]
    share = (r["design_weight"] * r["born_abroad"]).groupby(key).sum() / r["design_weight"].groupby(key).sum()
    p = pd.read_csv(POPULATION)
    s = pd.MultiIndex.from_frame(p[["year", "district"]]).map(share.to_dict()).to_numpy(float)
    p["born_abroad"] = np.round(p["population"] * 1.1 * s).astype(int)
    p.to_csv(path, index=False)
    return p


def cli(out: Path, population: Path, *extra: str) -> Any:
    out.mkdir(parents=True, exist_ok=True)
    args = ["run", "--responses", str(RESPONSES), "--population", str(population), "--out", str(out / "out")]
    return CliRunner().invoke(app, [*args, "--db", f"sqlite:///{out / 'db.sqlite'}", "--no-publish", *extra])


@pytest.fixture(scope="module")
def aux_run(tmp_path_factory) -> tuple[Path, Path, pd.DataFrame]:
    folder = tmp_path_factory.mktemp("aux")
    pop = population_with_born_abroad(folder / "befolkning.csv")
    res = cli(folder, folder / "befolkning.csv", "--aux", "born_abroad")
    assert res.exit_code == 0, res.output
    return folder, folder / "befolkning.csv", pop


def test_the_totals_born_abroad_are_met_per_district_and_year(aux_run) -> None:
    folder, _path, pop = aux_run
    w = pd.read_csv(folder / "out" / "weights.csv", dtype={"resp_id": str})
    r = pd.read_csv(RESPONSES, dtype={"resp_id": str}).merge(w, on=["resp_id", "year"], validate="one_to_one")
    got = (r["weight"] * r["born_abroad"]).groupby([r["year"], r["district"]]).sum()
    want = pop.groupby(["year", "district"])["born_abroad"].sum().reindex(got.index)
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-12)
    # ... beside the categorical margins, and the weights are not those without the auxiliary
    sex = r.groupby(["year", "district", "sex"])["weight"].sum()
    np.testing.assert_allclose(sex, pop.groupby(["year", "district", "sex"])["population"].sum(), rtol=1e-12)
    plain = pd.read_csv(SAMPLE_WAVE / "expected" / "weights.csv", dtype={"resp_id": str})
    assert rel_err(w["weight"].to_numpy(), plain["weight"].to_numpy()) > 1e-3


@pytest.mark.rlive
def test_aux_run_matches_R_calibrate_with_the_numeric_total(aux_run) -> None:
    folder, path, _pop = aux_run
    w = pd.read_csv(folder / "out" / "weights.csv", dtype={"resp_id": str})
    est = pd.read_csv(folder / "out" / "estimates.csv", keep_default_na=False, na_values=[""])
    worst = [0.0, 0.0]
    for year in (2022, 2023, 2024):
        args = [RESPONSES, path, str(year), "1", "born_abroad"]
        ref = load_json(run_r(HERE / "pooled.R", args, [RESPONSES, path], out_name="aux.json"))
        rw = pd.DataFrame(ref.pop("_weights")).astype({"resp_id": str})
        m = w.merge(rw, on=["resp_id", "year"], validate="one_to_one")
        assert len(m) == len(rw)
        assert rel_err(m["weight_x"].to_numpy(), m["weight_y"].to_numpy()) < 1e-10
        for ind, r in ref.items():
            got = est[(est["year"] == year) & (est["indicator"] == ind)].set_index("district").loc[r["district"]]
            assert got["n"].tolist() == r["n"]
            worst[0] = max(worst[0], rel_err(got["estimate"].to_numpy(), r["estimate"]))
            worst[1] = max(worst[1], rel_err(got["se"].to_numpy(), r["se"]))
    print("largest relative differences from R (estimate, se):", worst)
    assert max(worst) < 1e-10, worst


def test_a_missing_aux_column_names_the_file_and_column_before_any_work(tmp_path: Path) -> None:
    res = cli(tmp_path, POPULATION, "--aux", "born_abroad")
    assert res.exit_code == 2
    text = " ".join(res.output.split())
    assert "population.csv, rad 1, kolumn born_abroad" in text and "--aux born_abroad" in text
    assert not (tmp_path / "db.sqlite").exists()
    with pytest.raises(ConfigError, match="'year' kan inte vara en hjälpvariabel"):
        build_config(None, {"aux": "born_abroad,year"})
    assert build_config(None, {"aux": "born_abroad,income"}).aux == ("born_abroad", "income")
    # a numeric auxiliary that is not a codebook column is read from the responses file too
    pop = population_with_born_abroad(tmp_path / "p.csv").assign(income=1.0)
    pop.to_csv(tmp_path / "p.csv", index=False)
    res = cli(tmp_path / "b", tmp_path / "p.csv", "--aux", "income")
    assert res.exit_code == 2
    assert "responses.csv, rad 1, kolumn income" in " ".join(res.output.split())


def test_stepwise_refuses_aux_clearly(tmp_path: Path, aux_run) -> None:
    from survey.pipeline import commands

    _folder, path, _pop = aux_run
    db = f"sqlite:///{tmp_path / 'steps.sqlite'}"
    config = build_config(None, {"responses": RESPONSES, "population": path, "db": db, "aux": "born_abroad"})
    commands.ingest(config)
    with pytest.raises(ConfigError, match="--aux born_abroad: stegvisa körningar"):
        stepwise.weight_run(config)


def test_an_auxiliary_outside_the_codebook_is_read_from_both_files(tmp_path: Path) -> None:
    """``income`` (kSEK, one decimal) in the responses and its cell totals in the population: the totals are
    met per year × district (summed by hand from the files)."""
    r = pd.read_csv(RESPONSES, dtype=str, keep_default_na=False)
    r["income"] = (180 + 3.5 * (r["resp_id"].astype(int) % 17)).map(lambda v: f"{v:.1f}")
    r.to_csv(tmp_path / "svar.csv", index=False)
    p = pd.read_csv(POPULATION).assign(income=lambda f: f["population"] * 209.0)
    p.to_csv(tmp_path / "befolkning.csv", index=False)
    args = ["run", "--responses", str(tmp_path / "svar.csv"), "--population", str(tmp_path / "befolkning.csv")]
    args += ["--out", str(tmp_path / "out"), "--db", f"sqlite:///{tmp_path / 'db.sqlite'}", "--no-publish"]
    res = CliRunner().invoke(app, [*args, "--aux", "income"])
    assert res.exit_code == 0, res.output
    w = pd.read_csv(tmp_path / "out" / "weights.csv", dtype={"resp_id": str})
    m = w.merge(r.astype({"year": int, "income": float}), on=["resp_id", "year"], validate="one_to_one")
    got = (m["weight"] * m["income"]).groupby([m["year"], m["district"]]).sum()
    want = p.groupby(["year", "district"])["income"].sum().reindex(got.index)
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-12)
