"""The report views of the published-table store (issue 12), on SQLite and the real PostgreSQL: the tables the
publisher builds from a real weighted wave, read back through every view, agree cell by cell with what was
published and with the estimates rounded as shown; hand-made tables pin versions, newest publication, key
splitting and suppression."""

# ruff: noqa: F811  (the pytest fixtures db_url and store come from tests.store_support)
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from reports.publish import build_tables, publish_to_store
from survey.data import ingest, synth
from survey.data.codebook import load_codebook
from survey.data.store import PUBLISHED_VIEWS, Store
from survey.errors import StoreError
from survey.models import trend_outputs
from survey.pipeline.steps import estimate, weight
from tests.store_support import db_url, store  # noqa: F401


def _shown(x: pd.Series) -> pd.Series:
    """A share as printed: 0.1 percentage points (the double nearest to the printed decimal)."""
    return ((x.astype(float) * 100).round(1) / 100).round(3)


def _published(store: Store, tmp_path: Path):
    r, p = synth.generate_wave(1500, 3, 2, 5, tiny_district=True)
    wave = ingest.load_wave(*synth.write_wave(r, p, tmp_path))
    report = store.load_wave(wave)
    codebook = load_codebook()
    w = weight(wave.responses.data, wave.population.data)
    e = estimate(wave.responses.data, w, codebook)
    tr = trend_outputs(w.design, wave.responses.data, codebook.indicators, series_breaks=codebook.series_breaks)
    run_id = store.begin_run({}, "test", codebook.version, report.source_ids, codebook_name=codebook.name)
    est = pd.concat([e.estimates.assign(domain="district", group=None), e.by_group], ignore_index=True)
    districts = sorted(e.estimates.loc[e.estimates["district"] != "Totalt", "district"].unique())
    tables = build_tables(
        est,
        e.comparisons,
        tr.trend,
        codebook,
        {"run_id": run_id, "date": "2025-01-01"},
        compare=[(districts[0], districts[1])],
    )
    versions = publish_to_store(store, tables, run_id)
    return e, tables, versions, run_id


def _cells(tables, kind: str) -> pd.DataFrame:
    """The published cells of one family, with table and year."""
    parts = [t.cells.assign(table_id=t.table_id, table_year=t.year) for t in tables if t.kind == kind]
    return pd.concat(parts, ignore_index=True)


def _stat(cells: pd.DataFrame, stat: str, keys: list[str]) -> pd.Series:
    return cells[cells["stat"] == stat].set_index(keys)["value"].astype(float)


def test_views_read_back_what_was_published(store: Store, tmp_path: Path) -> None:
    e, tables, versions, run_id = _published(store, tmp_path)
    assert {t.kind for t in tables} >= {"district", "group", "domain", "trend", "compare"}

    # district family: every share equals the published cell and the estimate rounded as shown
    v = store.published_view("v_published_estimates")
    cells = _cells(tables, "district")
    cells["year"], cells["district"] = cells["column_key"].astype(int), cells["row_key"]
    cells["indicator"] = cells["table_id"].str.removeprefix("district_")
    keys = ["year", "district", "indicator"]
    got = v.set_index(keys).sort_index()
    assert len(got) == len(cells[cells["stat"] == "est"])
    for stat, col in (
        ("est", "estimate"),
        ("lo", "ci_low"),
        ("hi", "ci_high"),
        ("n", "n"),
        ("chg", "change"),
        ("chg_p", "change_p"),
        ("tot_p", "vs_total_p"),
    ):
        want = _stat(cells, stat, keys).reindex(got.index)
        np.testing.assert_array_equal(got[col].astype(float).to_numpy(), want.to_numpy(), err_msg=col)
    est = e.estimates.set_index(keys).reindex(got.index)
    shown = got.loc[~got["suppressed"].astype(bool)]
    np.testing.assert_array_equal(
        shown["estimate"].to_numpy(float), _shown(est.loc[shown.index, "estimate"]).to_numpy()
    )
    np.testing.assert_array_equal(shown["n"].to_numpy(int), est.loc[shown.index, "n"].to_numpy(int))
    hidden = got.loc[got["suppressed"].astype(bool)]
    assert len(hidden) and hidden[["estimate", "ci_low", "ci_high"]].isna().all().all()  # tiny district
    assert set(v["run_id"]) == {run_id} and set(v["version"]) == {1}

    # group, by-group, trend and comparison families
    g = store.published_view("v_published_groups")
    gc = _cells(tables, "group")
    assert len(g) == (gc["stat"] == "est").sum()
    np.testing.assert_array_equal(
        g.set_index(["table_id", "district", "indicator"]).sort_index()["estimate"].to_numpy(float),
        _stat(gc, "est", ["table_id", "row_key", "column_key"]).sort_index().to_numpy(),
    )
    b = store.published_view("v_published_by_group")
    assert set(b["domain"]) == {"Kön", "Åldersgrupp"} and "Totalt" in set(b["district"])
    keys = ["year", "district", "indicator", "group"]
    assert not b.duplicated(keys).any()  # Totalt once: from the groups table, not again from groups_<indicator>
    assert set(b.loc[b["district"] == "Totalt", "table_id"]) == {"groups"}
    byg = e.by_group[e.by_group["year"] == e.by_group["year"].max()]  # the tables are of the latest year
    sex_age = byg[byg["domain"].isin(["sex", "age_group"])].set_index(keys)
    assert len(b) == len(sex_age)
    ok = b[~b["suppressed"].astype(bool)].set_index(keys)
    np.testing.assert_array_equal(ok["estimate"].to_numpy(float), _shown(sex_age.loc[ok.index, "estimate"]).to_numpy())
    t = store.published_view("v_published_trend")
    tc = _cells(tables, "trend")
    np.testing.assert_array_equal(
        t.set_index("indicator").sort_index()["odds_ratio"].to_numpy(float),
        _stat(tc, "or", ["row_key"]).sort_index().to_numpy(),
    )
    c = store.published_view("v_published_comparisons")
    cc = _cells(tables, "compare")
    assert c["district_a"].nunique() == 1 and c["district_a"].iloc[0] != c["district_b"].iloc[0]
    diff = cc[(cc["column_key"] == "diff") & (cc["stat"] == "diff")].set_index("row_key")["value"].astype(float)
    np.testing.assert_array_equal(
        c.set_index("indicator")["difference"].astype(float).reindex(diff.index).to_numpy(), diff.to_numpy()
    )
    assert set(store.published_view("v_published_tables")["table_id"]) == set(versions)


def _table(
    store: Store, table_id: str, year: int, kind: str, dims: dict, cells: list[tuple], spanners: dict | None = None
) -> int:
    frame = pd.DataFrame(cells, columns=["row_key", "column_key", "value", "suppressed"])
    frame["text"] = [".." if s else f"{v}" for v, s in zip(frame["value"], frame["suppressed"])]
    meta = {"kind": kind, "dims": dims, "column_spanners": spanners or {}}
    return store.publish_table(table_id, year, None, frame, table_id, meta)


def test_views_pick_current_versions_split_keys_and_hide_suppressed(store: Store) -> None:
    dims = {"row": "district", "column": "year", "fixed": {"indicator": "otrygg"}}
    _table(
        store,
        "district_otrygg",
        2023,
        "district",
        dims,
        [("Rissne", "2023|est", 0.5, False), ("Rissne", "2023|n", 40.0, False)],
    )
    _table(
        store,
        "district_otrygg",
        2024,
        "district",
        dims,
        [
            ("Rissne", "2023|est", 0.274, False),
            ("Rissne", "2023|n", 41.0, False),
            ("Rissne", "2024|est", 0.301, False),
            ("Rissne", "2024|n", 42.0, False),
            ("Rissne", "2024|chg", 0.027, False),
            ("Rissne", "2024|chg_sig", 1.0, False),
            ("Rissne", "2024|tot_sig", -1.0, False),
            ("Duvbo", "2024|est", None, True),
            ("Duvbo", "2024|n", None, True),
        ],
    )
    v = store.published_view("v_published_estimates", {"indicator": "otrygg"})
    shown = v[["year", "district", "estimate", "n", "suppressed"]]
    assert shown.astype(object).where(shown.notna(), None).values.tolist() == [
        [2023, "Rissne", 0.274, 41, False],
        [2024, "Duvbo", None, None, True],
        [2024, "Rissne", 0.301, 42, False],
    ]
    rissne = v[(v["district"] == "Rissne") & (v["year"] == 2024)].iloc[0]
    assert (rissne["change"], bool(rissne["change_significant"]), rissne["vs_total"]) == (0.027, True, -1)
    assert pd.isna(v.iloc[0]["change_significant"])

    gdims = {"row": "indicator", "column": "group", "fixed": {"year": 2024, "district": "Totalt"}}
    _table(
        store,
        "groups",
        2024,
        "domain",
        gdims,
        [("otrygg", "16|24|est", 0.1, False), ("otrygg", "16|24|n", 33.0, False)],
        {"16|24": "Åldersgrupp"},
    )
    _table(
        store,
        "groups",
        2024,
        "domain",
        gdims,
        [("otrygg", "16|24|est", 0.2, False), ("otrygg", "16|24|n", 34.0, False)],
        {"16|24": "Åldersgrupp"},
    )
    b = store.published_view("v_published_by_group")
    assert b[["group", "domain", "estimate", "n", "version"]].values.tolist() == [["16|24", "Åldersgrupp", 0.2, 34, 2]]
    cells = store.published_view("v_published_cells", {"table_id": "groups"})
    assert cells[["column_key", "stat"]].values.tolist() == [["16|24", "est"], ["16|24", "n"]]
    assert list(store.published_view("v_published_trend").columns) == list(PUBLISHED_VIEWS["v_published_trend"])
    with pytest.raises(StoreError, match="Okänd rapportvy"):
        store.published_view("v_responses")
    with pytest.raises(StoreError, match="ingen kolumn 'resp_id'"):
        store.published_view("v_published_estimates", {"resp_id": "R1"})


# --- a whole run: every view against the published CSV files ---------------------------------------------------

#: view column <- the statistic of the published cell (``<column>|<stat>``); values compared exactly
SHARE_STATS = {"estimate": "est", "ci_low": "lo", "ci_high": "hi", "n": "n"}
SIGNAL_STATS = {
    "change": "chg",
    "change_p": "chg_p",
    "change_significant": "chg_sig",
    "vs_total_p": "tot_p",
    "vs_total": "tot_sig",
}


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def run_store(request, tmp_path_factory):
    """``trygghet run`` (through the library) on a synthetic wave with a tiny district, into a fresh SQLite file
    or PostgreSQL schema: ``(store, report directory, estimates.csv)``."""
    from survey.pipeline.config import build_config
    from survey.pipeline.runner import run
    from tests.store_support import pg_schema, schema_url

    d = tmp_path_factory.mktemp(f"views_{request.param}")
    r, p = synth.generate_wave(3000, 5, 3, 11, tiny_district=True)
    responses, population = synth.write_wave(r, p, d / "input")

    def go(url: str):
        options = {"responses": responses, "population": population, "out": d / "out", "db": url}
        run(build_config(None, {**options, "formats": ["html", "csv"], "charts": "none"}))
        return Store(url), d / "out" / "report", pd.read_csv(d / "out" / "estimates.csv")

    if request.param == "sqlite":
        store, report, est = go(f"sqlite:///{d / 'run.db'}")
        yield store, report, est
        store.close()
        return
    with pg_schema() as schema:
        store, report, est = go(schema_url(schema))
        yield store, report, est
        store.close()


def _published_csv(report: Path) -> pd.DataFrame:
    """Every published table's machine CSV (``tables/<id>.csv``), one frame."""
    files = sorted(f for f in (report / "tables").glob("*.csv") if not f.name.endswith("_excel.csv"))
    frames = [pd.read_csv(f, dtype={"row_key": str, "column_key": str, "text": str}) for f in files]
    return pd.concat(frames, ignore_index=True)


def _cells_by_key(csv: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """The CSV's values wide by statistic, and the share's ``suppressed`` flag, both indexed by
    ``(table_id, row_key, column_key)``."""
    key = ["table_id", "row_key", "column_key"]
    values = csv.pivot_table(index=key, columns="stat", values="value", aggfunc="first", dropna=False)
    main = csv[csv["stat"].isin(["est", "or"])].set_index(key)["suppressed"].astype(bool)
    return values, main


def _check_view(view: pd.DataFrame, keys: pd.MultiIndex, csv: pd.DataFrame, columns: dict[str, str]) -> None:
    """Each row of ``view`` (at ``keys``) has the published CSV's value of every mapped statistic, cell by cell;
    a suppressed row has NULL in every value column."""
    values, supp = _cells_by_key(csv)
    assert keys.is_unique and keys.isin(values.index).all()
    for col, stat in columns.items():
        want = values[stat].reindex(keys).astype(float).to_numpy()
        got = view[col].astype("Float64").astype(float).to_numpy()
        np.testing.assert_array_equal(got, want, err_msg=col)
    if "suppressed" in view.columns:
        flag = view["suppressed"].astype(bool).to_numpy()
        np.testing.assert_array_equal(flag, supp.reindex(keys).to_numpy(bool))
        assert view.loc[flag, list(columns)].isna().all().all()


@pytest.fixture(scope="module")
def run_files(run_store):
    """``(store, published CSV cells with their table's kind, {kind: cells}, estimates.csv)`` of the run."""
    store, report, est = run_store
    csv = _published_csv(report)
    kinds = {t: k for t, k in store.published_view("v_published_tables")[["table_id", "kind"]].itertuples(index=False)}
    csv["kind"] = csv["table_id"].map(kinds)
    assert csv["kind"].notna().all()  # every published file is a table of the store, and the other way round
    assert set(kinds) == set(csv["table_id"])
    family = {k: csv[csv["kind"] == k] for k in csv["kind"].unique()}
    assert set(family) >= {"district", "group", "domain", "district_domain", "distribution", "small_area", "trend"}
    return store, csv, family, est


def _display_cells(family: dict[str, pd.DataFrame], kind: str, exclude_total: bool = False) -> int:
    """The number of display cells (one main statistic each) of a family's published files."""
    f = family[kind]
    f = f[f["row_key"] != "Totalt"] if exclude_total else f
    return len(f[f["stat"].isin(["est", "or"])])


def test_district_and_group_views_match_the_published_csv_files(run_files) -> None:
    store, _, family, est = run_files
    # district tables: year, district, indicator
    v = store.published_view("v_published_estimates")
    assert len(v) == _display_cells(family, "district")
    keys = pd.MultiIndex.from_arrays([v["table_id"], v["district"], v["year"].astype(str)])
    assert (v["table_id"] == "district_" + v["indicator"]).all()
    _check_view(v, keys, family["district"], {**SHARE_STATS, **SIGNAL_STATS})
    assert v["suppressed"].any() and v["change"].notna().any() and v["vs_total"].notna().any()
    # ... and the shares are estimates.csv's, rounded as shown (0.1 percentage points)
    e = est.set_index(["year", "district", "indicator"])
    shown = v[~v["suppressed"].astype(bool)].set_index(["year", "district", "indicator"])
    np.testing.assert_allclose(
        shown["estimate"].astype(float), e.loc[shown.index, "estimate"].round(3), atol=5e-4 + 1e-12
    )
    # indicator-group tables: district × indicator
    g = store.published_view("v_published_groups")
    assert len(g) == _display_cells(family, "group") and set(g["table_id"]) == {"problems", "victimisation", "trust"}
    _check_view(
        g, pd.MultiIndex.from_arrays([g["table_id"], g["district"], g["indicator"]]), family["group"], SHARE_STATS
    )


def test_by_group_view_matches_the_published_csv_files(run_files) -> None:
    """Sex and age group: Totalt from ``groups``, every district from ``groups_<indicator>``."""
    store, _, family, _ = run_files
    b = store.published_view("v_published_by_group")
    assert len(b) == _display_cells(family, "domain") + _display_cells(family, "district_domain", exclude_total=True)
    tot = b["table_id"] == "groups"
    assert (b.loc[tot, "district"] == "Totalt").all() and (b.loc[~tot, "district"] != "Totalt").all()
    assert (b.loc[~tot, "table_id"] == "groups_" + b.loc[~tot, "indicator"]).all()
    rows = np.where(tot, b["indicator"], b["district"])
    keys = pd.MultiIndex.from_arrays([b["table_id"], rows, b["group"]])
    _check_view(b, keys, pd.concat([family["domain"], family["district_domain"]]), SHARE_STATS)
    assert set(b["domain"]) == {"Kön", "Åldersgrupp"} and b["suppressed"].any()
    # the Totalt rows of groups_<indicator> are the groups table's (so leaving them out loses nothing)
    dd = family["district_domain"]
    dd_tot = dd[dd["row_key"] == "Totalt"].assign(indicator=lambda f: f["table_id"].str.removeprefix("groups_"))
    dom = family["domain"].rename(columns={"row_key": "indicator_key"})
    m = dd_tot.merge(dom, left_on=["indicator", "column_key", "stat"], right_on=["indicator_key", "column_key", "stat"])
    assert len(m) == len(dd_tot) and (m["text_x"] == m["text_y"]).all()


def test_answers_view_matches_the_published_csv_files(run_files) -> None:
    """Answer distributions: district × item × answer code, with the answer's label."""
    store, _, family, _ = run_files
    a = store.published_view("v_published_answers")
    assert len(a) == _display_cells(family, "distribution")
    assert (a["table_id"] == "answers_" + a["item"]).all()
    _check_view(
        a, pd.MultiIndex.from_arrays([a["table_id"], a["district"], a["code"]]), family["distribution"], SHARE_STATS
    )
    labels = family["distribution"].drop_duplicates(["table_id", "column_key"])
    labels = labels.set_index(["table_id", "column_key"])["column_label"]
    assert (a["answer"].to_numpy() == labels.reindex(pd.MultiIndex.from_arrays([a["table_id"], a["code"]]))).all()
    assert a["suppressed"].any() and "Vet ej" in set(a["answer"])
    sums = a[~a["suppressed"].astype(bool)].groupby(["item", "district"])["estimate"].sum()
    assert ((sums - 1).abs() < 0.01).all()  # a shown distribution sums to 100 % (each share rounded)


def test_small_area_and_trend_views_match_the_published_csv_files(run_files) -> None:
    store, _, family, _ = run_files
    # small areas: the model estimate of a district, keyed by the district's own name
    s = store.published_view("v_published_small_area")
    assert len(s) == _display_cells(family, "small_area") > 0
    assert set(s["estimate_type"]) == {"modellskattning (Fay–Herriot)"}
    keys = pd.MultiIndex.from_arrays([s["table_id"], s["district"] + " (modell)", s["indicator"]])
    _check_view(s, keys, family["small_area"], {"model_estimate": "est", "ci_low": "lo", "ci_high": "hi"})
    direct = store.published_view("v_published_estimates").set_index(["year", "district", "indicator"])
    assert direct.loc[pd.MultiIndex.from_frame(s[["year", "district", "indicator"]]), "suppressed"].all()
    # trend: odds ratio per year per indicator
    t = store.published_view("v_published_trend")
    assert len(t) == _display_cells(family, "trend")
    _check_view(
        t,
        pd.MultiIndex.from_arrays([t["table_id"], t["indicator"], pd.Series("or", index=t.index)]),
        family["trend"],
        {"odds_ratio": "or", "ci_low": "lo", "ci_high": "hi", "p_value": "p", "significant": "sig"},
    )


def test_cells_view_matches_the_published_csv_files(run_files) -> None:
    """Every cell: value, text and flag as in the files; a suppressed cell never has a value."""
    store, csv, _, _ = run_files
    c = store.published_view("v_published_cells")
    assert len(c) == len(csv)
    got = c.set_index(["table_id", "row_key", "column_key", "stat"]).sort_index()
    want = csv.set_index(["table_id", "row_key", "column_key", "stat"]).reindex(got.index)
    np.testing.assert_array_equal(got["value"].astype(float), want["value"].astype(float))
    # the files' texts are formula-safe (a leading ' before + - = @) and a blank text reads as NaN
    stored, written = got["text"].fillna(""), want["text"].fillna("")
    assert ((written == stored) | ((written == "'" + stored) & stored.str.match(r"^[+\-=@]"))).all()
    assert (got["suppressed"].astype(bool) == want["suppressed"].astype(bool)).all()
    assert got.loc[got["suppressed"].astype(bool), "value"].isna().all() and got["suppressed"].any()
