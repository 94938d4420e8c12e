"""Tests of the synthetic wave generator (survey/synth.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from survey.data.synth import AGE_GROUPS, ITEMS, TINY_DISTRICT, generate_wave, synth_command, write_wave
from survey.errors import InputError

# Listed codes per item, from shared/spec/data-contract.md v1
CODES: dict[str, set[int]] = {
    "q_safe_after_dark": {1, 2, 3, 4, 5, 6, 9},
    "q_worry_crime": {1, 2, 3, 4, 9},
    **{
        f"q_problem_{k}": {1, 2, 3, 4, 9}
        for k in (
            "littering",
            "dark_places",
            "graffiti",
            "vandalism",
            "youth_groups",
            "drug_dealing",
            "drunk_people",
            "traffic",
        )
    },
    **{f"q_victim_{k}": {1, 2, 9} for k in ("violence", "theft", "vandalism")},
    "q_police_care": {1, 2, 3, 4, 9},
}
HEAD = ["resp_id", "year", "district", "sex", "age_group", "born_abroad", "design_weight"]
SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "sample-wave" / "responses.csv"


@pytest.fixture(scope="module")
def wave() -> tuple[pd.DataFrame, pd.DataFrame]:
    return generate_wave(20_000, 8, 4, 2026)


@pytest.fixture(scope="module")
def small_tiny() -> tuple[pd.DataFrame, pd.DataFrame]:
    return generate_wave(2_000, 8, 3, 5, tiny_district=True)


def _assert_feasible(resp: pd.DataFrame, pop: pd.DataFrame) -> None:
    """Both sexes, all 7 age groups and one age group with both sexes in every year × district."""
    g = resp.groupby(["year", "district"])
    assert (g["sex"].nunique() == 2).all()
    assert (g["age_group"].nunique() == 7).all()
    both = resp.groupby(["year", "district", "age_group"])["sex"].nunique().groupby(["year", "district"]).max()
    assert (both == 2).all()
    cells = pop.set_index(["year", "district", "sex", "age_group"])["population"]
    assert (cells > 0).all()
    assert set(g.groups) == set(pop.groupby(["year", "district"]).groups)
    # every respondent's cell exists and holds at least as many people as respondents
    n_cell = resp.groupby(["year", "district", "sex", "age_group"]).size()
    assert (n_cell <= cells.reindex(n_cell.index)).all()


def test_deterministic_for_a_seed() -> None:
    a = generate_wave(3_000, 5, 2, 42, tiny_district=True)
    b = generate_wave(3_000, 5, 2, 42, tiny_district=True)
    c = generate_wave(3_000, 5, 2, 43, tiny_district=True)
    pd.testing.assert_frame_equal(a[0], b[0])
    pd.testing.assert_frame_equal(a[1], b[1])
    assert not a[0].drop(columns="resp_id").equals(c[0].drop(columns="resp_id"))


def test_shapes_columns_and_dtypes(wave: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    resp, pop = wave
    assert len(resp) == 20_000
    assert list(resp.columns) == HEAD + list(ITEMS) + ["comment"]
    assert len(ITEMS) == 14
    assert list(pop.columns) == ["year", "district", "sex", "age_group", "population"]
    assert len(pop) == 4 * 8 * 2 * 7
    assert sorted(resp["year"].unique()) == [2022, 2023, 2024, 2025]
    assert resp["district"].nunique() == 8
    for col in ("year", "sex"):
        assert resp[col].dtype == np.int64
    assert resp["design_weight"].dtype == np.float64
    assert str(resp["born_abroad"].dtype) == "Int64"
    assert all(str(resp[q].dtype) == "Int64" for q in ITEMS)
    assert pop["population"].dtype == np.int64
    assert not pop.duplicated(["year", "district", "sex", "age_group"]).any()


def test_resp_id_zero_padded_unique_within_year(wave: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    resp, _ = wave
    assert not resp.duplicated(["resp_id", "year"]).any()
    assert resp["resp_id"].str.fullmatch(r"\d{5,}").all()
    assert resp["resp_id"].str.len().nunique() == 1
    first = resp.groupby("year")["resp_id"].first()
    assert (first == "00001").all()  # numbered afresh each year


def test_code_domains(wave: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    resp, _ = wave
    assert set(resp["sex"]) == {1, 2}
    assert set(resp["age_group"]) == set(AGE_GROUPS)
    assert set(resp["born_abroad"].dropna()) <= {0, 1}
    assert (resp["design_weight"] > 0).all()
    for q, codes in CODES.items():
        assert set(resp[q].dropna().astype(int)) == codes, q  # every listed code occurs, no other


def test_feasible_calibration(wave: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    _assert_feasible(*wave)


@pytest.mark.parametrize("seed", range(6))
def test_feasible_with_small_n_and_tiny_district(seed: int) -> None:
    resp, pop = generate_wave(2_000, 8, 3, seed, tiny_district=True)
    assert len(resp) == 2_000
    _assert_feasible(resp, pop)
    tiny = resp[resp["district"] == TINY_DISTRICT].groupby("year").size()
    assert len(tiny) == 3 and (tiny < 30).all() and (tiny >= 8).all()


def test_feasible_at_the_minimum_n() -> None:
    resp, pop = generate_wave(8 * 4 * 2, 4, 2, 1)  # 8 respondents per stratum
    _assert_feasible(resp, pop)
    with pytest.raises(InputError, match="för litet"):
        generate_wave(8 * 4 * 2 - 1, 4, 2, 1)


def test_many_districts_get_numbered_names() -> None:
    resp, _ = generate_wave(40_000, 35, 1, 3)
    names = sorted(resp["district"].unique())
    assert len(names) == 35 and "Delområde 35" in names and "Rissne" in names


def test_design_weight_is_population_over_gross_sample(wave: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    resp, pop = wave
    g = resp.groupby(["year", "district"])
    assert (g["design_weight"].nunique() == 1).all()  # constant within stratum
    dw = g["design_weight"].first()
    n_resp = g.size()
    N = pop.groupby(["year", "district"])["population"].sum()
    n_gross = N / dw
    assert np.allclose(n_gross, np.round(n_gross), atol=1e-3)  # an integer gross sample
    rate = n_resp / np.round(n_gross)
    assert rate.between(0.2, 0.8).all()  # response rates 20-80 %
    # unequal allocation (small districts oversampled): the sample grows less than proportionally with N
    slope = np.polyfit(np.log(N.to_numpy()), np.log(n_resp.to_numpy()), 1)[0]
    assert slope < 0.75
    frac = np.round(n_gross) / N
    assert frac.max() / frac.min() > 1.5


def test_non_response_pattern(wave: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    resp, pop = wave
    old_women = (resp["sex"] == 2) & resp["age_group"].isin(["65-74", "75-84"])
    pop_ow = pop.loc[(pop["sex"] == 2) & pop["age_group"].isin(["65-74", "75-84"]), "population"].sum()
    assert old_women.mean() > 1.2 * pop_ow / pop["population"].sum()
    young_men = (resp["sex"] == 1) & resp["age_group"].isin(["16-24", "25-34"])
    pop_ym = pop.loc[(pop["sex"] == 1) & pop["age_group"].isin(["16-24", "25-34"]), "population"].sum()
    assert young_men.mean() < 0.8 * pop_ym / pop["population"].sum()


def test_blank_and_dont_know_shares(wave: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    resp, _ = wave
    for q in ITEMS:
        blank = resp[q].isna().mean()
        assert 0.005 < blank < 0.08, (q, blank)
        dk = (resp[q] == 9).mean()
        assert 0.002 < dk < 0.30, (q, dk)
    assert 0.005 < (resp["q_safe_after_dark"] == 9).mean() < 0.05
    assert 0.01 < resp[list(ITEMS)].eq(9).to_numpy(dtype=bool, na_value=False).mean() < 0.15


def test_indicators_vary_by_district_sex_age_and_year() -> None:
    resp, _ = generate_wave(60_000, 10, 4, 9)
    ans = resp["q_safe_after_dark"]
    unsafe = ans.isin([3, 4, 5]).astype(float).where(ans.notna())
    by_d = unsafe.groupby(resp["district"]).mean()
    assert by_d.min() < 0.2 and by_d.max() > 0.35
    assert unsafe[resp["sex"] == 2].mean() > unsafe[resp["sex"] == 1].mean() + 0.08
    assert unsafe[resp["age_group"] == "75-84"].mean() > unsafe[resp["age_group"] == "35-44"].mean()
    assert unsafe.groupby(resp["year"]).mean().diff().dropna().lt(0).all()  # falling over time
    # every indicator differs between districts
    for q in ITEMS:
        share = resp[q].isin([1]).astype(float).where(resp[q].notna()).groupby(resp["district"]).mean()
        assert share.max() - share.min() > 0.03, q


def test_population_plausible_and_stable(wave: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    _, pop = wave
    tot = pop.groupby(["district", "year"])["population"].sum().unstack()
    assert tot.min().min() > 1_000
    change = tot.pct_change(axis=1).iloc[:, 1:].abs()
    assert (change < 0.06).all().all()


def test_comments_have_fake_personal_data(wave: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    resp, _ = wave
    c = resp["comment"].dropna()
    assert 0.02 < len(c) / len(resp) < 0.08
    for pattern in (",", '"', ";", "\n", r"07\d-\d{3} \d\d \d\d|08-\d{3}", r"@exempel\.se", r"\d{8}-\d{4}"):
        assert c.str.contains(pattern, regex=True).any(), pattern
    assert resp.loc[resp["comment"].isna(), "comment"].size > 0
    no_comments, _ = generate_wave(2_000, 4, 2, 1, comments=False)
    assert "comment" not in no_comments.columns


def test_csv_round_trip(tmp_path: Path, small_tiny: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    resp, pop = small_tiny
    rpath, ppath = write_wave(resp, pop, tmp_path / "wave")
    raw = rpath.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf") and b"\r\n" not in raw.replace(b'"\r\n', b"")
    header = raw.split(b"\n", 1)[0].decode()
    if SAMPLE.exists():  # same header as the shared sample wave
        assert header == SAMPLE.read_text(encoding="utf-8").split("\n", 1)[0]
    dtypes = {
        "resp_id": str,
        "district": str,
        "age_group": str,
        "comment": str,
        "born_abroad": "Int64",
        **{q: "Int64" for q in ITEMS},
    }
    back = pd.read_csv(rpath, dtype=dtypes, keep_default_na=False, na_values={q: [""] for q in ITEMS})
    back["comment"] = back["comment"].replace("", np.nan)
    pd.testing.assert_frame_equal(back, resp, check_dtype=False)
    assert (back["design_weight"].to_numpy() == resp["design_weight"].to_numpy()).all()  # exact
    pback = pd.read_csv(ppath, dtype={"district": str, "age_group": str})
    pd.testing.assert_frame_equal(pback, pop, check_dtype=False)
    # design_weight is written with 6 decimals, like the sample
    assert raw.split(b"\n", 2)[1].split(b",")[6].split(b".")[1].__len__() == 6


def test_synth_command_writes_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    synth_command(n=1_500, districts=5, years=2, seed=1, out=tmp_path / "out", tiny_district=True)
    assert (tmp_path / "out" / "responses.csv").exists() and (tmp_path / "out" / "population.csv").exists()
    assert "1\u00a0500 svarande" in capsys.readouterr().out
