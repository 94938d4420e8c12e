"""District × sex / age group domains and the answer distributions of the estimation step, against R
``survey`` (tests/r/district_domains.R on the shared sample wave; the R call is named in each test)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "r"))
from oracle import HERE, SAMPLE_WAVE, load_json, read_population, read_responses, rel_err, run_r

from survey.data.codebook import load_codebook
from survey.pipeline.steps import estimate, weight


@pytest.fixture(scope="module")
def by_group():
    r = read_responses(SAMPLE_WAVE / "responses.csv")
    p = read_population(SAMPLE_WAVE / "population.csv")
    return estimate(r, weight(r, p), load_codebook()).by_group


@pytest.fixture(scope="module")
def RD():
    rp, pp = SAMPLE_WAVE / "responses.csv", SAMPLE_WAVE / "population.csv"
    return load_json(run_r(HERE / "district_domains.R", [rp, pp], [rp, pp], out_name="dd.json"))


def _check(g, year, district, value, est, se):
    row = g[(g["year"] == year) & (g["district"] == district) & (g["group"] == value)]
    assert len(row) == 1, (year, district, value)
    assert rel_err(row["estimate"].iloc[0], est) < 1e-10
    assert rel_err(row["se"].iloc[0], se) < 1e-8


@pytest.mark.rlive
def test_district_by_sex_vs_R(by_group, RD):
    """svyby(~y, ~district + sex, subset(cal, year == Y & answered), svymean), y = unsafe_after_dark."""
    g = by_group[(by_group["domain"] == "sex") & (by_group["indicator"] == "unsafe_after_dark")]
    labels = load_codebook().sexes
    checked = 0
    for ref in RD["by_district_sex"]:
        for d, sex, est, se in zip(ref["district"], ref["sex"], ref["estimate"], ref["se"]):
            _check(g, ref["year"], d, labels[int(sex)], est, se)
            checked += 1
    assert checked >= 24


@pytest.mark.rlive
def test_district_by_age_group_vs_R(by_group, RD):
    """svyby(~y, ~district + age_group, subset(cal, year == Y & answered), svymean)."""
    g = by_group[(by_group["domain"] == "age_group") & (by_group["indicator"] == "unsafe_after_dark")]
    for ref in RD["by_district_age"]:
        for d, age, est, se in zip(ref["district"], ref["age_group"], ref["estimate"], ref["se"]):
            _check(g, ref["year"], d, age, est, se)


@pytest.mark.rlive
def test_answer_distribution_vs_R(by_group, RD):
    """svymean(~factor(q_safe_after_dark), subset(cal, year == Y [& district == k] & answered)): every
    answer code, "vet ej" included; the shares of a domain sum to 1."""
    g = by_group[(by_group["domain"] == "answer") & (by_group["indicator"] == "q_safe_after_dark")]
    for ref in RD["distribution"]:
        for code, est, se in zip(ref["code"], ref["estimate"], ref["se"]):
            _check(g, ref["year"], ref["district"], str(code), est, se)
    sums = g.groupby(["year", "district"])["estimate"].sum()
    np.testing.assert_allclose(sums.to_numpy(), 1.0, rtol=0, atol=1e-12)
    assert set(g["group"]) == {str(c) for c in load_codebook().item("q_safe_after_dark").codes}


def test_two_way_suppression_leaves_no_single_hidden_cell(by_group):
    """After protect, every relation of the table district × group (the groups of a district with the
    district's share; the districts of a group with the group's Totalt) has 0 or at least 2 hidden
    cells while its margin is published. min_n = 60 makes hiding common on the small sample wave."""
    import pandas as pd

    from reports.disclosure import protect

    r = read_responses(SAMPLE_WAVE / "responses.csv")
    p = read_population(SAMPLE_WAVE / "population.csv")
    e = estimate(r, weight(r, p), load_codebook())
    est = pd.concat([e.estimates.assign(domain="district", group=None), e.by_group], ignore_index=True)
    prot = protect(est[est["domain"].isin(["district", "sex", "age_group"])], 60)
    groups = prot[prot["domain"] != "district"]
    margin = prot[prot["domain"] == "district"].set_index(["year", "district", "indicator"])["hidden"]
    checked = 0
    for (y, d, i, _), g in groups.groupby(["year", "district", "indicator", "domain"]):
        if not margin.loc[(y, d, i)]:
            assert g["hidden"].sum() != 1, (y, d, i)
            checked += 1
    tot = groups[groups["district"] == "Totalt"].set_index(["year", "indicator", "domain", "group"])["hidden"]
    cross = groups[groups["district"] != "Totalt"]
    for (y, i, m, grp), g in cross.groupby(["year", "indicator", "domain", "group"]):
        if not tot.loc[(y, i, m, grp)]:
            assert g["hidden"].sum() != 1, (y, i, m, grp)
            checked += 1
    assert checked > 100 and groups["hidden"].sum() > 10
