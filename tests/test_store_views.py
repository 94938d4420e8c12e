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
    """A share as printed: 0.1 percentage points."""
    return (x.astype(float) * 100).round(1) / 100


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
    assert set(b["domain"]) == {"Kön", "Åldersgrupp"} and set(b["district"]) == {"Totalt"}
    byg = e.by_group[e.by_group["district"] == "Totalt"].set_index(["year", "indicator", "group"])
    ok = b[~b["suppressed"].astype(bool)].set_index(["year", "indicator", "group"])
    np.testing.assert_array_equal(ok["estimate"].to_numpy(float), _shown(byg.loc[ok.index, "estimate"]).to_numpy())
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
