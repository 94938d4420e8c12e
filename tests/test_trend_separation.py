"""Trend models where a district's part of the model is not identified: separation, a one-year district.

The wave is ``generate_wave(3000, 5, 3, 11, tiny_district=True)`` (``trygghet synth --n 3000 --districts 5
--years 3 --seed 11 --tiny-district``), where ``trygghet run --district-trends`` used to stop with
``numpy.linalg.LinAlgError: Singular matrix``: in Väsby centrum (14–29 respondents a year) nobody reports
violence in 2023 and 2024, so in the district × year interaction model the district's slope goes to −∞
(quasi-complete separation). Two variants add the other cases: Väsby centrum's theft answers all "no" (its
level in the main-effects model diverges too) with Duvbo (the reference district) answering in 2024 only, and
Ursvik answering in 2024 only (no slope of its own).

Live R (tests/r/district_trends.R: the oracle's calibrated design, then ``svyglm(y ~ year_num * district)``)
shows what R does there: a "converged" fit with an arbitrary slope for the separated district (−23 with the
oracle's epsilon 1e-12, −14 with the default 1e-8, each with a small SE: a silently wrong number); for a
one-year district it aliases a column and gives that district another district's slope (with epsilon 1e-12
its QR no longer even finds the aliased column and every coefficient is ~1e20). trygghet leaves those
districts' trends empty with a Swedish note ("trenden för <område> kunde inte skattas: ..."), and every other
district's trend, the main-effects model (trend.csv) and the Wald test of the identified trends equal R's.

Tolerances: trends 1e-8 relative (absolute 1e-9 below 0.1), their SEs 1e-6; main-effects terms 1e-8 and SEs
1e-6 (reference.R's precision statement: ~1e-9 and ~1e-7 for the uncentred year), the Wald chi-square 1e-6.
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
from survey.data.synth import TINY_DISTRICT, generate_wave, write_wave
from survey.errors import ModelError
from survey.models import district_trends_differ, fit_trend_model, svyglm, trend_outputs, wald_test
from survey.models.trend_sums import trend_cells, trend_sources
from survey.pipeline.steps import weight

sys.path.insert(0, str(Path(__file__).resolve().parent / "r"))
from oracle import HERE, load_json, read_population, read_responses, rel_err, run_r

INDICATORS = ("victim_violence", "victim_theft", "unsafe_after_dark")
SEPARATED = "trenden för Väsby centrum kunde inte skattas: andelen är 0 % 2023, 2024 (separation"


def variant_wave(variant: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    r, p = generate_wave(3000, 5, 3, 11, tiny_district=True)
    if variant == "theft_zero":  # Väsby centrum: every answer on theft "no"; Duvbo answers in 2024 only
        v = (r["district"] == TINY_DISTRICT) & r["q_victim_theft"].notna() & (r["q_victim_theft"] != 9)
        r.loc[v, "q_victim_theft"] = 2
        r = r[~((r["district"] == "Duvbo") & (r["year"] < 2024))]
        p = p[~((p["district"] == "Duvbo") & (p["year"] < 2024))]
    elif variant == "one_year":  # Ursvik answers in 2024 only
        r = r[~((r["district"] == "Ursvik") & (r["year"] < 2024))]
        p = p[~((p["district"] == "Ursvik") & (p["year"] < 2024))]
    return r.reset_index(drop=True), p.reset_index(drop=True)


@pytest.fixture(scope="module")
def waves(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    """The three waves written as CSV (what R reads; Python reads them back the same way)."""
    return {v: write_wave(*variant_wave(v), tmp_path_factory.mktemp(v)) for v in ("plain", "theft_zero", "one_year")}


@pytest.fixture(scope="module")
def ours(waves):
    cb = load_codebook()
    out = {}
    for v, (rp, pp) in waves.items():
        r = read_responses(rp)
        w = weight(r, read_population(pp))
        out[v] = trend_outputs(w.design, r, cb.indicators, series_breaks=cb.series_breaks, district_trends_model=True)
    return out


def oracle(waves, variant: str) -> dict:
    rp, pp = waves[variant]
    out = run_r(HERE / "district_trends.R", [rp, pp, ",".join(INDICATORS)], [rp, pp], out_name="trends.json")
    return load_json(out)


def district_row(ours, variant: str, indicator: str, district: str) -> pd.Series:
    d = ours[variant].districts
    return d[(d["indicator"] == indicator) & (d["district"] == district)].iloc[0]


# --- no traceback: the CLI run that used to crash ----------------------------------------------------------


def test_cli_run_with_district_trends_on_the_tiny_district_wave(tmp_path, waves):
    rp, pp = waves["plain"]
    out = tmp_path / "out"
    args = ["run", "--responses", str(rp), "--population", str(pp), "--out", str(out), "--district-trends"]
    res = CliRunner().invoke(app, [*args, "--db", f"sqlite:///{tmp_path / 'db.sqlite'}", "--no-publish"])
    assert res.exit_code == 0, res.output
    assert res.exception is None and "Traceback" not in res.output and "LinAlgError" not in res.output
    tr = pd.read_csv(out / "trend_districts.csv", keep_default_na=False, na_values=[""])
    assert len(tr) == 15 * 6  # every indicator × district, the skipped one too
    row = tr[(tr["indicator"] == "victim_violence") & (tr["district"] == TINY_DISTRICT)].iloc[0]
    assert row[["log_or", "log_or_se", "odds_ratio", "pp_per_year", "pp_ci_low", "pp_ci_high"]].isna().all()
    assert row["note"].startswith(SEPARATED)
    others = tr[(tr["indicator"] == "victim_violence") & (tr["district"] != TINY_DISTRICT)]
    assert others["pp_per_year"].notna().all() and others["note"].isna().all()
    tests = pd.read_csv(out / "trend_tests.csv")
    t = tests[tests["indicator"] == "victim_violence"].iloc[0]
    assert t["df"] == 4 and SEPARATED in t["note"]  # the four identified interaction terms


# --- what R gives for the problematic districts, and the others against R --------------------------------------


def assert_trends_match_r(ours, variant: str, r: dict, indicator: str, skipped: dict[str, str]) -> None:
    """The identified districts' trends (log odds ratio per year and SE) equal R's; the skipped ones are empty
    with their note; df is R's df.residual."""
    m = r["models"][indicator]
    tight = m["tight"]
    for k, d in enumerate(m["districts"]):
        row = district_row(ours, variant, indicator, d)
        if d in skipped:
            assert np.isnan(row["log_or"]) and np.isnan(row["pp_per_year"]), d
            assert f"trenden för {d} kunde inte skattas: {skipped[d]}" in row["note"], row["note"]
            continue
        assert rel_err([row["log_or"]], [tight["slope"][k]], floor=0.1) < 1e-8, (d, row["log_or"], tight["slope"][k])
        assert rel_err([row["log_or_se"]], [tight["slope_se"][k]]) < 1e-6, d
        assert row["df"] == tight["df_residual"]


def r_wald_chisq(r: dict, indicator: str, districts: list[str]) -> tuple[float, int]:
    """R's Wald chi-square that the trends of ``districts`` are equal: contrasts of R's slope vectors."""
    m = r["models"][indicator]
    t = m["tight"]
    c = {d: np.asarray(t["slope_c"][k], dtype=float) for k, d in enumerate(m["districts"])}
    lmat = np.array([c[d] - c[districts[0]] for d in districts[1:]])
    b, v = np.asarray(t["coef"], dtype=float), np.asarray(t["vcov"], dtype=float)
    lb = lmat @ b
    return float(lb @ np.linalg.solve(lmat @ v @ lmat.T, lb)), len(districts) - 1


@pytest.mark.rlive
def test_separated_district_r_gives_an_arbitrary_slope_we_skip_it_others_match_r(waves, ours):
    r = oracle(waves, "plain")
    m = r["models"]["victim_violence"]
    k = m["districts"].index(TINY_DISTRICT)
    # R: "converged", the fitted shares of 2023 and 2024 numerically 0, a slope that depends on glm's tolerance
    assert m["tight"]["converged"]
    fitted = pd.DataFrame(m["fitted"])
    tiny = fitted[fitted["district"] == TINY_DISTRICT].set_index("year")["fitted"]
    assert tiny.loc[2023] < 1e-8 and tiny.loc[2024] < 1e-8
    assert m["tight"]["slope"][k] < -20 and m["loose"]["slope"][k] > -15  # -23.3 and -14.2 (logit per year)
    assert abs(m["tight"]["slope"][k] / m["tight"]["slope_se"][k]) > 50  # and "significant"
    assert_trends_match_r(ours, "plain", r, "victim_violence", {TINY_DISTRICT: "andelen är 0 % 2023, 2024"})
    for ind in ("victim_theft", "unsafe_after_dark"):  # nothing to skip there
        assert_trends_match_r(ours, "plain", r, ind, {})
    # the Wald test of the identified trends (Väsby centrum's left out) is R's
    ok = [d for d in m["districts"] if d != TINY_DISTRICT]
    chisq, q = r_wald_chisq(r, "victim_violence", ok)
    t = ours["plain"].tests.set_index("indicator").loc["victim_violence"]
    assert t["df"] == q and t["ddf"] == m["tight"]["df_residual"]
    assert t["chisq"] == pytest.approx(chisq, rel=1e-6)


@pytest.mark.rlive
def test_all_zero_district_and_one_year_reference_against_r(waves, ours):
    r = oracle(waves, "theft_zero")
    # main effects (trend.csv): R's district[Väsby centrum] for theft is an arbitrary -23.6 (the share is 0 in
    # every year); ours is empty with a note, every other term is R's
    main = pd.DataFrame(r["main"])
    full = ours["theft_zero"].trend
    m = full.merge(main, on=["indicator", "term"], suffixes=("", "_r"), validate="one_to_one")
    assert len(m) == len(main) == len(full)
    bad = (m["indicator"] == "victim_theft") & (m["term"] == f"district[{TINY_DISTRICT}]")
    assert m.loc[bad, "estimate_r"].iloc[0] < -20 and m.loc[bad, ["estimate", "se"]].isna().all(axis=None)
    assert rel_err(m.loc[~bad, "estimate"], m.loc[~bad, "estimate_r"]) < 1e-8
    assert rel_err(m.loc[~bad, "se"], m.loc[~bad, "se_r"]) < 1e-6
    note = full.loc[full["indicator"] == "victim_theft", "note"].iloc[0]
    assert note.startswith(f"nivån för {TINY_DISTRICT} kunde inte skattas: andelen är 0 % alla år (separation")
    contract = ours["theft_zero"].contract_rows()
    assert not ((contract["indicator"] == "victim_theft") & (contract["term"] == f"district[{TINY_DISTRICT}]")).any()
    # interaction: Duvbo (the first district) answers in 2024 only: R aliases a column and gives Duvbo
    # Älvsjö-Ängby's slope; we take Hallonbergen as reference and leave Duvbo's trend empty
    for ind in INDICATORS:
        rm = r["models"][ind]
        assert rm["aliased"] == ["year_num:districtÄlvsjö-Ängby"]
        dist = rm["districts"]
        assert rm["loose"]["slope"][dist.index("Duvbo")] == rm["loose"]["slope"][dist.index("Älvsjö-Ängby")]
        skipped = {"Duvbo": "svar bara 2024"}
        if ind != "unsafe_after_dark":
            skipped[TINY_DISTRICT] = "andelen är 0 %"
        assert_trends_match_r(ours, "theft_zero", r, ind, skipped)
        assert (
            "referensområde Hallonbergen (det första området, Duvbo, kan inte skattas)"
            in (district_row(ours, "theft_zero", ind, "Rissne")["note"])
        )
        chisq, q = r_wald_chisq(r, ind, [d for d in dist if d not in skipped])
        t = ours["theft_zero"].tests.set_index("indicator").loc[ind]
        assert t["df"] == q and t["chisq"] == pytest.approx(chisq, rel=1e-6)


@pytest.mark.rlive
def test_one_year_district_against_r(waves, ours):
    r = oracle(waves, "one_year")
    for ind in INDICATORS:
        rm = r["models"][ind]
        assert rm["aliased"] == ["year_num:districtUrsvik"]  # R: Ursvik gets Duvbo's (the reference's) slope
        dist = rm["districts"]
        assert rm["tight"]["slope"][dist.index("Ursvik")] == rm["tight"]["slope"][dist.index("Duvbo")]
        skipped = {"Ursvik": "svar bara 2024: ingen årstrend för området"}
        if ind == "victim_violence":
            skipped[TINY_DISTRICT] = "andelen är 0 % 2023, 2024"
        assert_trends_match_r(ours, "one_year", r, ind, skipped)
        main = pd.DataFrame(r["main"])
        full = ours["one_year"].trend
        m = full.merge(main, on=["indicator", "term"], suffixes=("", "_r"), validate="one_to_one")
        assert len(m) == len(main) and m["estimate"].notna().all()
        assert rel_err(m["estimate"], m["estimate_r"]) < 1e-8 and rel_err(m["se"], m["se_r"]) < 1e-6


# --- the GLM itself ----------------------------------------------------------------------------------------


def test_row_path_and_atom_path_agree_under_separation(waves):
    """svyglm (rows) and svyglm_atoms give the same limit fit: same NaN terms, same numbers elsewhere."""
    rp, pp = waves["plain"]
    r = read_responses(rp)
    design = weight(r, read_population(pp)).design
    ind = next(i for i in load_codebook().indicators if i.name == "victim_violence")
    prep = trend_cells(design, r)
    atom_src = trend_sources(design, r, prep, [ind])[0]
    from survey.models.trend_sums import _row_sums

    row_src = _row_sums(design, r, prep, ind)
    fit = fit_trend_model(design, r, ind, interaction=True)
    a = atom_src.fit(fit.x_cells, fit.result.terms)
    b = row_src.fit(fit.x_cells, fit.result.terms)
    assert a.inestimable == b.inestimable == (f"district[{TINY_DISTRICT}]", f"year:district[{TINY_DISTRICT}]")
    assert np.array_equal(np.isnan(a.coef), np.isnan(b.coef))
    ok = ~np.isnan(a.coef)
    # the interaction model's tolerances of tests/test_fast_paths.py (nearly collinear uncentred columns)
    assert rel_err(a.coef[ok], b.coef[ok]) < 1e-6 and rel_err(a.se[ok], b.se[ok]) < 2e-5
    assert a.df_residual == b.df_residual == a.df + 1 - len(a.terms)
    # without cell=: every row its own cell (all pure, 0 or 1); rows of equal covariates pooled for the check
    x_rows, dom = fit.x_cells[prep.cell], row_src.domain
    c = svyglm(design, row_src.y, x_rows, fit.result.terms, domain=dom, with_dispersion=False)
    assert c.inestimable == a.inestimable and int(c.separated.sum()) == int(dom[a.separated[prep.cell]].sum())
    assert rel_err(c.coef[ok], a.coef[ok]) < 1e-6 and rel_err(c.se[ok], a.se[ok]) < 2e-5
    # the separated cells are Väsby centrum 2023 and 2024, fitted at exactly 0
    cells = [(int(prep.cell_year[c]), str(prep.cell_district[c])) for c in np.flatnonzero(a.separated)]
    assert sorted(cells) == [(2023, TINY_DISTRICT), (2024, TINY_DISTRICT)]
    with pytest.raises(ModelError, match="kan inte skattas"):
        wald_test(a, "year:district")
    assert district_trends_differ(fit).df == 4


def test_all_answers_zero_is_a_model_error_and_no_trend(waves):
    """A domain where every answer is 0: no coefficient exists; the trend step writes a note, no traceback."""
    rp, pp = waves["plain"]
    r = read_responses(rp)
    design = weight(r, read_population(pp)).design
    r = r.assign(q_victim_theft=r["q_victim_theft"].where(r["q_victim_theft"].isna(), 2))
    cb = load_codebook()
    ind = next(i for i in cb.indicators if i.name == "victim_theft")
    out = trend_outputs(design, r, [ind], district_trends_model=True)
    assert out.trend["estimate"].isna().all()
    assert out.trend["note"].iloc[0].startswith("trendmodellen kunde inte skattas: alla svar i modellens domän är 0")
    assert len(out.districts) == 6 and out.districts["log_or"].isna().all()
    assert out.districts["note"].str.startswith("trendmodellen kunde inte skattas").all()
    assert out.tests.empty and out.shares.empty


def test_a_first_district_without_answers_is_named_in_the_note(waves):
    """Duvbo (the first district, the contract's reference) has no answer on police_care: the next district
    is the reference, the note says so (the reference changed silently), and the fit is the one of the wave
    without Duvbo's rows."""
    rp, pp = waves["plain"]
    r, p = read_responses(rp), read_population(pp)
    r.loc[r["district"] == "Duvbo", "q_police_care"] = pd.NA
    cb = load_codebook()
    ind = [i for i in cb.indicators if i.name == "police_care"]
    full = trend_outputs(weight(r, p).design, r, ind).trend
    assert full["note"].iloc[0] == ("referensområde Hallonbergen (det första området, Duvbo, saknar svar på frågan)"), (
        full["note"].iloc[0]
    )
    assert "district[Duvbo]" not in set(full["term"]) and "district[Hallonbergen]" not in set(full["term"])
    keep = r["district"] != "Duvbo"
    r2, p2 = r[keep].reset_index(drop=True), p[p["district"] != "Duvbo"].reset_index(drop=True)
    alone = trend_outputs(weight(r2, p2).design, r2, ind).trend
    m = full.merge(alone, on="term", suffixes=("", "_alone"), validate="one_to_one")
    assert len(m) == len(full) == len(alone)
    assert rel_err(m["estimate"], m["estimate_alone"]) < 1e-10 and rel_err(m["se"], m["se_alone"]) < 1e-8
    assert alone["note"].fillna("").iloc[0] == ""
