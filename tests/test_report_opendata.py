"""Open data (issue 12): every published table as CSV for Swedish Excel beside the machine CSV, as PC-Axis
(``.px``, read back with ``pyaxis``) and JSON-stat 2.0 (read back with ``pyjstat``); every value compared with
the R oracle's estimates of the sample wave (shares at display precision, n exactly) and every suppressed
cell missing; the same files from ``tables export``; ``load_run`` picks the newest run with estimates."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from reports.exports import export_table, load_run
from reports.publish import publish_report
from tests.test_publish import SAMPLE, load_estimates, make_codebook, make_comparisons

pyaxis = pytest.importorskip("pyaxis.pyaxis")
pyjstat = pytest.importorskip("pyjstat.pyjstat")

RENAMED = {"Väsby centrum": "=Väsby centrum"}  # a formula trigger: neutralised in the CSV text cells only
META = {"date": "2026-11-20", "data_source": "Trygghetsundersökning (syntetiska testdata)"}


@pytest.fixture(scope="module")
def pub(tmp_path_factory):
    from survey.data.store import Store

    d = tmp_path_factory.mktemp("opendata")
    est = load_estimates()
    est["district"] = est["district"].replace(RENAMED)
    trend = pd.read_csv(SAMPLE / "expected" / "trend.csv")
    store = Store(f"sqlite:///{d / 'db.sqlite'}")
    run_id = store.begin_run({}, "test", "trygghet-v1", [])
    res = publish_report(
        est,
        make_comparisons(est),
        trend,
        make_codebook(),
        {**META, "run_id": run_id},
        d / "report",
        store=store,
        formats=("csv", "px", "jsonstat"),
        charts=False,
        compare=[("Rissne", "Hallonbergen")],
    )
    return res, est, trend, store


def _estimate_index(est: pd.DataFrame) -> dict[tuple[int, str, str], pd.Series]:
    return {(int(r["year"]), str(r["district"]), str(r["indicator"])): r for _, r in est.iterrows()}


def _hidden(res, est: pd.DataFrame) -> set[tuple[int, str, str]]:
    """The estimates the publication hides: every one with n < 30 (checked independently of the
    suppression list) and the secondary suppressions of ``res.suppression``."""
    s = res.suppression
    listed = {(int(r.year), str(r.district), str(r.indicator)) for r in s.itertuples(index=False)}
    small = {(int(r.year), str(r.district), str(r.indicator)) for r in est.itertuples(index=False) if r.n < 30}
    assert small <= listed
    return listed


def _machine(path: Path) -> pd.DataFrame:
    return pd.read_csv(
        path, dtype={"text": str, "year": str, "group": str}, keep_default_na=False, na_values={"value": [""]}
    )


# --- CSV for Swedish Excel ------------------------------------------------------------------------------------


def test_excel_csv_beside_every_machine_csv_reads_back_the_same(pub):
    res, *_ = pub
    machine = res.paths(fmt="csv")
    excel = res.paths(fmt="csv-sv")
    assert len(machine) == len(res.tables) == len(excel)
    for m in machine:
        x = m.with_name(m.stem + "_excel.csv")
        assert x in excel
        raw = x.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM
        header = raw[3:].split(b"\r\n", 1)[0].decode("utf-8")
        assert header.split(";")[0] == "table_id" and "," not in header
        sv = pd.read_csv(
            x,
            sep=";",
            decimal=",",
            encoding="utf-8-sig",
            dtype={"text": str, "year": str, "group": str},
            keep_default_na=False,
            na_values={"value": [""]},
        )
        pd.testing.assert_frame_equal(sv, _machine(m), check_exact=True)
        assert sv["value"].dtype == float
        assert sv.loc[sv["suppressed"], "value"].isna().all()
        # decimal comma in the file itself: a share like 0,274 and never an exponent
        body = raw.decode("utf-8-sig")
        assert "e-0" not in body.replace("Källa", "")
    d = _machine(res.out_dir / "tables" / "district_unsafe_after_dark.csv")
    assert "'=Väsby centrum" in set(d["row_label"]) and "=Väsby centrum" not in set(d["row_label"])
    x = (res.out_dir / "tables" / "district_unsafe_after_dark_excel.csv").read_text(encoding="utf-8-sig")
    assert ";'=Väsby centrum;" in x and ";=Väsby" not in x
    assert ";0,274;" in x or any(f";0,{k}" in x for k in range(10))


# --- PC-Axis ---------------------------------------------------------------------------------------------


def _px(path: Path) -> dict:
    return pyaxis.parse(str(path), encoding="utf-8")


def _codes(meta: dict, name: str) -> dict[str, str]:
    """label -> code of one PX variable."""
    return dict(zip(meta[f"VALUES({name})"], meta[f"CODES({name})"]))


def _px_cells(path: Path) -> tuple[dict, dict[tuple[str, str, str], str | float]]:
    """(metadata, {(row code, column code, stat code): DATA}) with pyaxis' markers: NaN for "..", "" for "."."""
    px = _px(path)
    meta = px["METADATA"]
    (stub,) = meta["STUB"]
    head, stat = meta["HEADING"]
    rc, cc, sc = _codes(meta, stub), _codes(meta, head), _codes(meta, stat)
    out = {}
    for r in px["DATA"].itertuples(index=False):
        out[(rc[r[0]], cc[r[1]], sc[r[2]])] = r[3]
    return meta, out


def test_px_metadata_follows_the_specification(pub):
    res, *_ = pub
    for f in res.paths(fmt="px"):
        text = f.read_bytes().decode("utf-8")  # CRLF kept
        assert not text.startswith("\ufeff")
        assert all(len(line) <= 256 for line in text.split("\r\n")), f
        assert text.rstrip().endswith(";") and text.count("DATA=") == 1
        meta = _px(f)["METADATA"]
        for key in ("CHARSET", "AXIS-VERSION", "CODEPAGE", "LANGUAGE", "CREATION-DATE", "DECIMALS", "SHOWDECIMALS"):
            assert key in meta, (f, key)
        for key in ("MATRIX", "SUBJECT-CODE", "SUBJECT-AREA", "TITLE", "CONTENTS", "UNITS", "STUB", "HEADING"):
            assert key in meta, (f, key)
        assert meta["CODEPAGE"] == ["utf-8"] and meta["LANGUAGE"] == ["sv"] and meta["SUBJECT-AREA"] == ["Trygghet"]
        assert meta["CREATION-DATE"] == ["20261120 00:00"]
        assert meta["DATASYMBOL2"] == [".."] and meta["SOURCE"][0].startswith("Källa: Trygghetsundersökning")
        assert meta["CONTVARIABLE"] == ["Uppgift"] and meta["HEADING"][-1] == "Uppgift"
        for lab in meta["VALUES(Uppgift)"]:
            assert f"UNITS({lab})" in meta and f"LAST-UPDATED({lab})" in meta
    meta = _px(res.out_dir / "tables" / "district_unsafe_after_dark.px")["METADATA"]
    assert meta["STUB"] == ["Område"] and meta["HEADING"] == ["År", "Uppgift"]
    assert meta["VALUES(År)"] == ["2022", "2023", "2024"] and meta["TIMEVAL(År)"] == ["2022", "2023", "2024"]
    assert meta["VALUES(Område)"][-1] == "Totalt" and "=Väsby centrum" in meta["VALUES(Område)"]
    assert meta["TITLE"][0].startswith("Andel otrygga ute ensam sent en kväll, per område och år")
    assert meta["UNITS(Andel)"] == ["procent"] and meta["UNITS(Antal svarande (n))"] == ["antal"]
    assert meta["PRECISION(Uppgift,Andel)"] == "1" and meta["DECIMALS"] == "3"


def _check_against_estimates(cells, where, est_idx, hidden, to_number):
    """Share cells (est/lo/hi, procent) and n of every estimate the table shows, against the oracle."""
    checked = 0
    for (rk, ck, stat), v in cells.items():
        if stat not in ("est", "lo", "hi", "n"):
            continue
        key = where(rk, ck)
        if key is None:
            continue
        if key in hidden:
            assert v is None or (isinstance(v, float) and math.isnan(v)), (key, stat, v)
            continue
        e = est_idx[key]
        x = to_number(v)
        if stat == "n":
            assert x == int(e["n"]), (key, x)
        else:
            col = {"est": "estimate", "lo": "ci_low", "hi": "ci_high"}[stat]
            assert abs(x - 100 * float(e[col])) <= 0.05 + 1e-9, (key, stat, x, e[col])
        checked += 1
    return checked


def _where(kind: str):
    """(row code, column code) -> the estimate key of a cell, for each table kind."""
    return {
        "district": lambda ind: lambda rk, ck: (int(ck), rk, ind),
        "group": lambda year: lambda rk, ck: (year, rk, ck),
        "compare": lambda year: (
            lambda rk, ck: (year, {"a": "Rissne", "b": "Hallonbergen"}[ck], rk) if ck in ("a", "b") else None
        ),
    }[kind]


def _table_keys(res):
    for tid in res.tables:
        if tid.startswith("district_"):
            yield tid, _where("district")(tid.removeprefix("district_"))
        elif tid in ("problems", "victimisation", "trust"):
            yield tid, _where("group")(2024)
        elif tid.startswith("cmp_"):
            yield tid, _where("compare")(2024)


def test_px_values_are_the_estimates_and_suppressed_cells_are_missing(pub):
    res, est, trend, _ = pub
    est_idx, hidden = _estimate_index(est), _hidden(res, est)
    assert any(k[1] == "Ursvik" and k[0] == 2022 for k in hidden)  # n = 25 in the fixture
    total = 0
    for tid, where in _table_keys(res):
        _, cells = _px_cells(res.out_dir / "tables" / f"{tid}.px")
        total += _check_against_estimates(cells, where, est_idx, hidden, float)
        missing = [k for k, v in cells.items() if isinstance(v, float) and math.isnan(v)]
        assert all(where(k[0], k[1]) in hidden or k[1] == "diff" or k[2] not in ("est", "n") for k in missing)
    assert total > 300
    # the trend table: odds ratio per year = exp(coefficient of year) from the oracle's trend.csv
    _, cells = _px_cells(res.out_dir / "tables" / "trend.px")
    b = trend[trend["term"] == "year"].drop_duplicates("indicator").set_index("indicator")["estimate"]
    ors = {rk: float(v) for (rk, _, s), v in cells.items() if s == "or"}
    assert ors and all(abs(v - math.exp(b[i])) <= 0.0005 + 1e-12 for i, v in ors.items())


def test_px_cells_agree_with_the_machine_csv(pub):
    """Every statistic (changes, p-values, markers too) is the published cell, in procent for shares."""
    res, *_ = pub
    for tid in res.tables:
        _, cells = _px_cells(res.out_dir / "tables" / f"{tid}.px")
        m = _machine(res.out_dir / "tables" / f"{tid}.csv")
        seen = set()
        for r in m.itertuples(index=False):
            rk = str(r.row_key)
            rk = rk[1:] if rk.startswith("'") and rk[1:2] in ("=", "+", "-", "@") else rk  # un-neutralised
            key = (rk, str(r.column_key), str(r.stat))
            v = cells[key]
            seen.add(key)
            if r.suppressed:
                assert isinstance(v, float) and math.isnan(v), key
            elif pd.isna(r.value):
                assert v == "", key
            else:
                pp = r.stat in ("chg", "diff") or (r.column_key == "diff" and r.stat in ("lo", "hi"))
                scale = 100.0 if ("%" in str(r.text) or pp) else 1.0  # procent and procentenheter
                assert abs(float(v) - r.value * scale) <= 1e-9 * max(1.0, abs(r.value * scale)), (tid, key, v, r.value)
        assert all(v == "" for k, v in cells.items() if k not in seen)  # combinations the table lacks: "."


# --- JSON-stat ---------------------------------------------------------------------------------------------


def test_jsonstat_reads_back_with_pyjstat_and_matches_the_px(pub):
    res, est, _, _ = pub
    est_idx, hidden = _estimate_index(est), _hidden(res, est)
    total = 0
    for tid in res.tables:
        path = res.out_dir / "tables" / f"{tid}.jsonstat.json"
        doc = json.loads(path.read_text(encoding="utf-8"))
        assert doc["version"] == "2.0" and doc["class"] == "dataset" and doc["id"][-1] == "stat"
        assert doc["role"]["metric"] == ["stat"] and doc["updated"] == "2026-11-20"
        assert len(doc["value"]) == math.prod(doc["size"])
        units = doc["dimension"]["stat"]["category"]["unit"]
        assert set(units) == set(doc["dimension"]["stat"]["category"]["index"])
        for k, s in doc["status"].items():
            assert doc["value"][int(k)] is None and s in ("..", ".")
        assert all(v is not None or str(k) in doc["status"] for k, v in enumerate(doc["value"]))
        df = pyjstat.Dataset.read(path.read_text(encoding="utf-8")).write("dataframe", naming="id")
        row_id, col_id, _ = doc["id"]
        cells = {(str(r[row_id]), str(r[col_id]), str(r["stat"])): r["value"] for _, r in df.iterrows()}
        _, px = _px_cells(res.out_dir / "tables" / f"{tid}.px")
        assert set(cells) == set(px)
        for key, v in cells.items():
            p = px[key]
            if p == "" or (isinstance(p, float) and math.isnan(p)):
                assert pd.isna(v), key
            else:
                assert float(v) == float(p), key
        if tid.startswith("district_") or tid.startswith("cmp_") or tid in ("problems", "trust", "victimisation"):
            where = dict(_table_keys(res))[tid]
            total += _check_against_estimates(
                {k: (None if pd.isna(v) else v) for k, v in cells.items()}, where, est_idx, hidden, float
            )
    assert total > 300
    doc = json.loads((res.out_dir / "tables" / "district_unsafe_after_dark.jsonstat.json").read_text(encoding="utf-8"))
    assert doc["role"]["time"] == ["year"] and doc["dimension"]["district"]["label"] == "Område"
    assert doc["dimension"]["stat"]["category"]["unit"]["est"] == {"label": "procent", "decimals": 1}
    sizes = dict(zip(doc["id"], doc["size"]))
    codes = doc["dimension"]["district"]["category"]["index"]
    k = (codes.index("Ursvik") * sizes["year"] + 0) * sizes["stat"]  # Ursvik 2022 "est": suppressed
    assert doc["value"][k] is None and doc["status"][str(k)] == ".."


def _same(a: dict, b: dict) -> bool:
    """The same cells (NaN equal to NaN: both suppressed)."""
    nan = lambda v: isinstance(v, float) and math.isnan(v)  # noqa: E731
    return a.keys() == b.keys() and all((nan(a[k]) and nan(b[k])) or a[k] == b[k] for k in a)


# --- tables export ---------------------------------------------------------------------------------------------


def test_tables_export_px_jsonstat_csv_sv_match_the_published_files(pub, tmp_path):
    res, _, _, store = pub
    tid = "district_unsafe_after_dark"
    px = export_table(store, tid, 2024, "px", tmp_path)
    assert px.name == f"{tid}_2024.px"
    assert _same(_px_cells(px)[1], _px_cells(res.out_dir / "tables" / f"{tid}.px")[1])
    js = export_table(store, tid, 2024, "jsonstat", tmp_path)
    assert js.name == f"{tid}_2024.jsonstat.json"
    exported = json.loads(js.read_text(encoding="utf-8"))
    published = json.loads((res.out_dir / "tables" / f"{tid}.jsonstat.json").read_text(encoding="utf-8"))
    assert exported["value"] == published["value"] and exported["status"] == published["status"]
    sv = export_table(store, tid, 2024, "csv-sv", tmp_path)
    assert sv.name == f"{tid}_2024_excel.csv"
    assert sv.read_bytes() == (res.out_dir / "tables" / f"{tid}_excel.csv").read_bytes()


# --- load_run --------------------------------------------------------------------------------------------------


def test_load_run_takes_the_newest_run_with_estimates(tmp_path):
    from survey.data.store import Store

    est = load_estimates()
    url = f"sqlite:///{tmp_path / 'runs.sqlite'}"
    store = Store(url)
    old = store.begin_run({"config": {"alpha": 0.1}}, "test", "trygghet-v1", [])
    store.save_estimates(old, est[est["year"] == 2023])
    store.finish_run(old)
    new = store.begin_run({"config": {"alpha": 0.01, "adjust": "holm"}}, "test", "trygghet-v1", [])
    store.save_estimates(new, est[est["year"] == 2024])
    store.finish_run(new)
    store.begin_run({}, "test", "trygghet-v1", [])  # newest, but no estimates yet
    got, _, meta, _ = load_run(url, None)
    assert meta["run_id"] == new and meta["alpha"] == 0.01 and meta["adjust"] == "holm"
    assert set(got["year"]) == {2024} and len(got) == int((est["year"] == 2024).sum())
    got_old, _, meta_old, _ = load_run(url, old)
    assert meta_old["run_id"] == old and set(got_old["year"]) == {2023}


def test_disclosure_scanner_reads_the_open_data_files(pub, tmp_path):
    from reports.publish import scan_disclosure

    res, est, _, _ = pub
    files = [*res.paths(fmt="csv-sv"), *res.paths(fmt="px"), *res.paths(fmt="jsonstat")]
    assert scan_disclosure(files, est) == []
    # a hidden share planted in an Excel CSV (decimal comma) and in a PX file is found
    hidden = est[(est["district"] == "Ursvik") & (est["year"] == 2022)].iloc[0]
    x = tmp_path / "leak_excel.csv"
    src = res.out_dir / "tables" / f"district_{hidden['indicator']}_excel.csv"
    text = src.read_text(encoding="utf-8-sig").replace(
        ";;..;true", f";{str(hidden['estimate']).replace('.', ',')};..;true", 1
    )
    x.write_text(text, encoding="utf-8-sig")
    assert {f.kind for f in scan_disclosure([x], est)} >= {"suppressed_with_value", "hidden_value"}
    px = tmp_path / "leak.px"
    px.write_text(f"DATA=\n{hidden['estimate'] * 100:.2f} ;\n", encoding="utf-8")  # procent, 2 decimals
    assert any(f.kind == "hidden_value" for f in scan_disclosure([px], est))


def test_cli_tables_export_px_jsonstat_csv_sv_and_in_english(pub, tmp_path):
    from typer.testing import CliRunner

    from survey.cli import app

    res, _, _, store = pub
    tid = "district_unsafe_after_dark"

    def export(fmt: str, out: Path, *lang: str):
        args = [*lang, "tables", "export", "--year", "2024", "--table", tid, "--format", fmt, "--db", store.url]
        return CliRunner().invoke(app, [*args, "--out", str(out)])

    for fmt, name in (
        ("px", f"{tid}_2024.px"),
        ("jsonstat", f"{tid}_2024.jsonstat.json"),
        ("csv-sv", f"{tid}_2024_excel.csv"),
    ):
        out = export(fmt, tmp_path)
        assert out.exit_code == 0, out.output
        assert "Skrev" in out.output and (tmp_path / name).exists()
    en = export("px", tmp_path / "en.px", "--lang", "en")
    assert en.exit_code == 0 and "Wrote" in en.output, en.output
    meta, cells = _px_cells(tmp_path / "en.px")
    assert meta["LANGUAGE"] == ["en"] and meta["STUB"] == ["District"] and meta["HEADING"] == ["Year", "Statistic"]
    assert meta["TITLE"][0].startswith("Share feeling unsafe outdoors alone late in the evening, by district and year")
    assert _same(cells, _px_cells(tmp_path / f"{tid}_2024.px")[1])  # the same codes and values as the Swedish file
    bad = export("docx", tmp_path, "--lang", "en")
    assert bad.exit_code == 2 and " ".join(bad.output.split()).startswith("Error: Unknown format ”docx” for --format")
