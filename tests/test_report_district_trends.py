"""Per-district trends in procentenheter per year (issue 12, ``reports.district_trends``): the table's cells are
the interaction model's ``pp_per_year`` and interval as printed (0.1 pe, decimal comma, U+2212), its p-values
the t-test of ``pp_per_year / pp_se`` adjusted per indicator (computed here with scipy and statsmodels), a
district whose share is hidden in any year shows ``..``; the page says "pe per år" with the intervals; the
English table; and the store's ``v_published_district_trends`` (SQLite and PostgreSQL) reads it back."""

# ruff: noqa: F811  (the pytest fixtures db_url and store come from tests.store_support)
from __future__ import annotations

import html
import re

import numpy as np
import pandas as pd
import pytest
from scipy.stats import t as t_dist
from statsmodels.stats.multitest import multipletests

from reports.disclosure import protect
from reports.district_trends import district_trend_table
from reports.translate import translate_table
from survey.data import ingest, synth
from survey.data.codebook import load_codebook
from survey.data.store import Store
from survey.models import trend_outputs
from survey.pipeline.steps import estimate, weight
from tests.store_support import db_url, store  # noqa: F401

MINUS = "\u2212"
META = {"run_id": None, "date": "2025-01-01", "method": "testmetod"}


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """``(district trends, estimates, codebook)`` of a synthetic wave with a tiny district."""
    r, p = synth.generate_wave(3000, 5, 3, 7, tiny_district=True)
    wave = ingest.load_wave(*synth.write_wave(r, p, tmp_path_factory.mktemp("dt")))
    codebook = load_codebook()
    w = weight(wave.responses.data, wave.population.data)
    e = estimate(wave.responses.data, w, codebook)
    tr = trend_outputs(  # as trygghet run --district-trends fits them: on the estimation's atom sums
        w.design, wave.responses.data, codebook.indicators, district_trends_model=True, atoms=e.atoms
    )
    return tr.districts, e.estimates, codebook


def _pp(x: float) -> str:
    """Procentenheter (x a proportion) as printed: one decimal, comma, + or U+2212."""
    v = round(x * 100, 1)
    body = f"{abs(v):.1f}".replace(".", ",")
    return body if v == 0 else ("+" if v > 0 else MINUS) + body


def _expected_p(trends: pd.DataFrame) -> pd.Series:
    """Benjamini–Hochberg over the districts of each indicator, of the two-sided t-test of pp / se."""
    raw = 2 * t_dist.sf(np.abs(trends["pp_per_year"] / trends["pp_se"]), trends["df"])
    out = pd.Series(np.nan, index=trends.index)
    for _, g in trends.assign(raw=raw).groupby("indicator"):
        out[g.index] = multipletests(g["raw"].to_numpy(), method="fdr_bh")[1]
    return out


def test_cells_are_the_models_trends_with_adjusted_p(model) -> None:
    trends, est, codebook = model
    t = district_trend_table(trends, est, codebook, 2024, META)
    assert t is not None and t.table_id == "district_trends" and t.kind == "district_trend"
    assert [c for c, _ in t.columns][:3] == ["unsafe_after_dark", "safe_after_dark", "worried_crime"]
    idx = t.index()
    prot = protect(est, 30)
    hidden = set(zip(prot.loc[prot["hidden"], "district"], prot.loc[prot["hidden"], "indicator"]))
    p = _expected_p(trends)
    shown = 0
    for k, r in trends.iterrows():
        cell = {s: idx[(r["district"], r["indicator"], s)] for s in ("diff", "lo", "hi", "p", "sig")}
        if (r["district"], r["indicator"]) in hidden:
            assert all(v == (None, "..", True) for v in cell.values()), (r["district"], r["indicator"])
            continue
        shown += 1
        for s, col in (("diff", "pp_per_year"), ("lo", "pp_ci_low"), ("hi", "pp_ci_high")):
            assert cell[s][0] == pytest.approx(round(r[col], 1) / 100, abs=1e-12)
            assert cell[s][1] == _pp(r[col] / 100)
        assert cell["p"][0] == pytest.approx(p[k], rel=0.05 if p[k] > 0.001 else 1.0)  # printed to 2-3 digits
        assert cell["sig"][0] == (1.0 if p[k] < 0.05 else 0.0)
    assert shown > 40
    tiny = {d for d in trends["district"] if all((d, i) in hidden for i in trends["indicator"])}
    assert tiny  # the tiny district's trends are all hidden


def test_the_page_shows_pe_per_year_with_intervals(model) -> None:
    trends, est, codebook = model
    t = district_trend_table(trends, est, codebook, 2024, META)
    text = html.unescape(re.sub(r"<[^>]+>", " ", t.standalone_html().split("<main", 1)[1]))
    text = re.sub(r"[ \n]+", " ", text)
    assert "Trend per område: förändring i procentenheter per år, 2022–2024" in text
    assert "pe per år med 95 % konfidensintervall" in text.replace("\u00a0", " ")
    prot = protect(est, 30)
    shown = prot[~prot["hidden"]]
    r = trends[trends["district"].isin(shown["district"]) & (trends["indicator"] == "unsafe_after_dark")]
    r = next(x for _, x in r.iterrows() if not prot[(prot["district"] == x["district"]) & prot["hidden"]].size)
    ci = f"({_pp(r['pp_ci_low'] / 100)} till {_pp(r['pp_ci_high'] / 100)})"
    assert f"{_pp(r['pp_per_year'] / 100)}" in text and ci in text, ci
    assert re.search(r"[+\u2212]\d+,\d \(", text)  # decimal comma, a sign, then the interval


def test_in_english(model) -> None:
    trends, est, codebook = model
    t = translate_table(district_trend_table(trends, est, codebook, 2024, {**META, "lang": "en"}), "en")
    assert t.title == "Trend by district: change in percentage points per year, 2022–2024"
    assert t.subtitle == "pp per year with 95% confidence interval" and t.stub_label == "District"
    assert (
        dict(t.columns)["unsafe_after_dark"]
        != dict(district_trend_table(trends, est, codebook, 2024, META).columns)["unsafe_after_dark"]
    )
    text = html.unescape(re.sub(r"<[^>]+>", " ", t.standalone_html().split("<main", 1)[1]))
    assert " to " in text and "adj.\u00a0p" in text and not re.search(r"\d,\d", text.split("Source:")[0])


def test_none_without_district_trends(model) -> None:
    _, est, codebook = model
    assert district_trend_table(None, est, codebook, 2024, META) is None
    assert district_trend_table(pd.DataFrame(), est, codebook, 2024, META) is None


def test_the_store_view_reads_the_table_back(model, store: Store) -> None:
    trends, est, codebook = model
    t = district_trend_table(trends, est, codebook, 2024, META)
    store.publish_table(t.table_id, t.year, None, t.store_cells(), t.title, t.meta())
    v = store.published_view("v_published_district_trends")
    assert len(v) == len(trends)
    cells = t.cells.pivot_table(index=["row_key", "column_key"], columns="stat", values="value", aggfunc="first")
    got = v.set_index(["district", "indicator"])
    for col, stat in (("pp_per_year", "diff"), ("ci_low", "lo"), ("ci_high", "hi"), ("p_value", "p")):
        want = cells[stat].reindex(got.index).astype(float).to_numpy()
        np.testing.assert_array_equal(got[col].astype("Float64").astype(float).to_numpy(), want, err_msg=col)
    hid = got["suppressed"].astype(bool)
    assert hid.any() and got.loc[hid, ["pp_per_year", "ci_low", "ci_high", "p_value"]].isna().all().all()
    assert (got.loc[~hid, "significant"].astype(bool) == (got.loc[~hid, "p_value"] < 0.05)).all()
    assert set(v["year"]) == {2024} and set(v["table_id"]) == {"district_trends"}


def test_a_run_with_district_trends_publishes_the_table(tmp_path) -> None:
    """``trygghet run --district-trends``: the report has the table (linked from the index), its CSV carries the
    model's pe per år (0.1 pe) for every district the table shows, and a run without the option has none."""
    from typer.testing import CliRunner

    from survey.cli import app

    r, p = synth.generate_wave(3000, 4, 3, 7)
    resp, pop = synth.write_wave(r, p, tmp_path / "in")
    runner = CliRunner()
    for flag, out in (("--district-trends", tmp_path / "with"), (None, tmp_path / "without")):
        args = ["run", "--responses", str(resp), "--population", str(pop), "--out", str(out)]
        args += ["--db", f"sqlite:///{tmp_path / (out.name + '.db')}", "--formats", "html,csv"]
        res = runner.invoke(app, args + ([flag] if flag else []))
        assert res.exit_code == 0, res.output
    index = (tmp_path / "with" / "report" / "index.html").read_text(encoding="utf-8")
    assert 'href="tables/district_trends.html"' in index
    assert not (tmp_path / "without" / "report" / "tables" / "district_trends.csv").exists()
    cells = pd.read_csv(tmp_path / "with" / "report" / "tables" / "district_trends.csv")
    model = pd.read_csv(tmp_path / "with" / "trend_districts.csv")
    diff = cells[cells["stat"] == "diff"].dropna(subset=["value"]).merge(model, on=["district", "indicator"])
    assert len(diff) >= 4 * 10
    # trend_districts.csv is in procentenheter, the table's value a proportion shown to 0.1 pe
    np.testing.assert_allclose(diff["value"] * 100, diff["pp_per_year"], atol=0.05 + 1e-9)
