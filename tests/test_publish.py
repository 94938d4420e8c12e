"""Publication layer: Swedish formatting, tables in every format read back, store versions, comparisons,
charts, the offline index, and disclosure control (the scanner passes on a real run and fails on planted
violations)."""

from __future__ import annotations

import csv
import math
import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from reports.disclosure import protect
from reports.formats import MINUS, NBSP, SUPPRESSED, shown
from reports.publish import (
    COUNT_FORMAT,
    PP_FORMAT,
    SHARE_FORMAT,
    PublishError,
    chromium_available,
    chromium_wrapper,
    compare_command,
    compare_districts,
    compare_page,
    export_table,
    publish_report,
    rich_table,
    scan_disclosure,
    swedish_number,
    swedish_percent,
    swedish_pp,
    tables_export_command,
    tables_list_command,
)
from reports.tables import district_table, domain_table
from survey.data.codebook import Codebook, Indicator, Item

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "sample-wave"
if not SAMPLE.exists():
    SAMPLE = Path("/work/shared/data/sample-wave")
INDICATORS = ["unsafe_after_dark", "problem_littering", "problem_graffiti", "victim_theft", "police_care"]
RUN_META = {"date": "2026-11-20", "data_source": "Trygghetsundersökning (syntetiska testdata)"}

needs_chromium = pytest.mark.skipif(
    not chromium_available() and not os.environ.get("CI"), reason="Chromium is not installed"
)


# --------------------------------------------------------------------------------------------- fixtures
def make_codebook() -> Codebook:  # long: a literal codebook fixture
    """The 15 contract indicators, by hand (independent of the YAML loader)."""
    scale_problem = {
        1: "Mycket stort problem",
        2: "Ganska stort problem",
        3: "Ganska litet problem",
        4: "Inget problem alls",
        9: "Vet ej",
    }
    problems = {
        "littering": "nedskräpning",
        "dark_places": "dåligt upplysta platser",
        "graffiti": "klotter",
        "vandalism": "skadegörelse",
        "youth_groups": "ungdomsgäng som stör",
        "drug_dealing": "narkotikaförsäljning",
        "drunk_people": "berusade personer som stör",
        "traffic": "trafiken",
    }
    victims = {"violence": "våld eller hot om våld", "theft": "stöld", "vandalism": "skadegörelse"}
    items = [
        Item(
            "q_safe_after_dark",
            "Hur trygg känner du dig ute ensam sent en kväll i ditt bostadsområde?",
            {
                1: "Mycket trygg",
                2: "Ganska trygg",
                3: "Ganska otrygg",
                4: "Mycket otrygg",
                5: "Går inte ut ensam sent på grund av otrygghet",
                6: "Går inte ut ensam sent av andra skäl",
                9: "Vet ej",
            },
            (9,),
        ),
        Item(
            "q_worry_crime",
            "Oroar du dig över brottsligheten i samhället?",
            {
                1: "I mycket stor utsträckning",
                2: "I ganska stor utsträckning",
                3: "I ganska liten utsträckning",
                4: "Inte alls",
                9: "Vet ej",
            },
            (9,),
        ),
    ]
    items += [
        Item(f"q_problem_{k}", f"Hur stort problem är {v} i ditt bostadsområde?", scale_problem, (9,))
        for k, v in problems.items()
    ]
    items += [
        Item(
            f"q_victim_{k}",
            f"Har du under de senaste 12 månaderna utsatts för {v}?",
            {1: "Ja", 2: "Nej", 9: "Vet ej"},
            (9,),
        )
        for k, v in victims.items()
    ]
    items.append(
        Item(
            "q_police_care",
            "Polisen bryr sig om de lokala problemen.",
            {
                1: "Instämmer helt",
                2: "Instämmer till stor del",
                3: "Instämmer till liten del",
                4: "Instämmer inte alls",
                9: "Ingen uppfattning",
            },
            (9,),
        )
    )
    codes = {it.name: tuple(it.codes) for it in items}
    inds = [
        Indicator(
            "unsafe_after_dark",
            "q_safe_after_dark",
            (3, 4, 5),
            codes["q_safe_after_dark"],
            "Andel otrygga ute ensam sent en kväll",
            "trygghet",
        ),
        Indicator(
            "safe_after_dark",
            "q_safe_after_dark",
            (1, 2),
            codes["q_safe_after_dark"],
            "Andel trygga ute ensam sent en kväll",
            "trygghet",
        ),
        Indicator(
            "worried_crime",
            "q_worry_crime",
            (1, 2),
            codes["q_worry_crime"],
            "Andel oroliga över brottsligheten i samhället",
            "oro",
        ),
    ]
    inds += [
        Indicator(
            f"problem_{k}",
            f"q_problem_{k}",
            (1, 2),
            codes[f"q_problem_{k}"],
            f"Andel som ser {v} som ett stort problem",
            "problem",
        )
        for k, v in problems.items()
    ]
    inds += [
        Indicator(
            f"victim_{k}",
            f"q_victim_{k}",
            (1,),
            codes[f"q_victim_{k}"],
            f"Andel utsatta för {v} senaste 12 månaderna",
            "utsatthet",
        )
        for k, v in victims.items()
    ]
    inds.append(
        Indicator(
            "police_care",
            "q_police_care",
            (1, 2),
            codes["q_police_care"],
            "Andel som instämmer i att polisen bryr sig om de lokala problemen",
            "polis",
        )
    )
    return Codebook(
        "trygghet", "1", tuple(items), tuple(inds), ("16-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75-84")
    )


def make_comparisons(
    est: pd.DataFrame, pairs: tuple[tuple[str, str], ...] = (("Rissne", "Hallonbergen"),)
) -> pd.DataFrame:
    """Test-only stand-in for survey.estimation: independent samples, se = sqrt(se1² + se2²), normal test."""
    from scipy.stats import norm

    idx = {(int(r.year), r.district, r.indicator): r for r in est.itertuples(index=False)}
    rows = []

    def add(y: int, d: str, i: str, kind: str, other: object, r, o) -> None:
        diff = r.estimate - o.estimate
        se = math.hypot(r.se, o.se)
        p = 2 * norm.sf(abs(diff / se)) if se > 0 else 1.0
        rows.append(
            dict(
                year=y,
                district=d,
                indicator=i,
                comparison=kind,
                other=other,
                estimate=r.estimate,
                other_estimate=o.estimate,
                difference=diff,
                se=se,
                ci_low=diff - 1.959964 * se,
                ci_high=diff + 1.959964 * se,
                p_value=p,
                p_adjusted=p,
                significant=p < 0.05,
            )
        )

    for (y, d, i), r in idx.items():
        if (y - 1, d, i) in idx:
            add(y, d, i, "previous_year", y - 1, r, idx[(y - 1, d, i)])
        for a, b in pairs:
            if d == a and (y, b, i) in idx:
                add(y, d, i, "vs_district", b, r, idx[(y, b, i)])
    return pd.DataFrame(rows)


def load_estimates() -> pd.DataFrame:
    """Sample estimates; Ursvik 2022 gets n = 25 without the suppressed flag (min_n must hide it anyway)."""
    est = pd.read_csv(SAMPLE / "expected" / "estimates.csv")
    est = est[est["indicator"].isin(INDICATORS)].reset_index(drop=True)
    tiny = (est["district"] == "Ursvik") & (est["year"] == 2022)
    est.loc[tiny, "n"] = 25
    est.loc[tiny, "suppressed"] = False
    return est


def pipeline_wave(n: int, districts: int, years: int, seed: int):
    """A synthetic wave with a tiny district through the pipeline's weighting and estimation: (estimates with
    the by-group rows, estimation result, population, codebook)."""
    from survey.data.codebook import load_codebook
    from survey.data.synth import generate_wave
    from survey.pipeline import steps

    resp, pop = generate_wave(n, districts, years, seed, tiny_district=True, comments=False)
    cb = load_codebook()
    e = steps.estimate(resp, steps.weight(resp, pop), cb)
    est = pd.concat([e.estimates.assign(domain="district", group=None), e.by_group], ignore_index=True)
    return est, e, pop, cb


@pytest.fixture(scope="module")
def codebook() -> Codebook:
    return make_codebook()


@pytest.fixture(scope="module")
def estimates() -> pd.DataFrame:
    return load_estimates()


@pytest.fixture(scope="module")
def comparisons(estimates: pd.DataFrame) -> pd.DataFrame:
    return make_comparisons(estimates)


@pytest.fixture(scope="module")
def responses() -> pd.DataFrame:
    return pd.read_csv(SAMPLE / "responses.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def run(tmp_path_factory, estimates, comparisons, codebook):
    """One full publication (every format) with a SQLite store; returns (result, store, run_meta)."""
    from survey.data.store import Store

    d = tmp_path_factory.mktemp("pub")
    store = Store(f"sqlite:///{d / 'db.sqlite'}")
    run_id = store.begin_run({}, "test", "trygghet-v1", [])
    meta = {**RUN_META, "run_id": run_id}
    trend = pd.read_csv(SAMPLE / "expected" / "trend.csv")
    formats = ("html", "xlsx", "csv", "png", "pdf") if chromium_available() else ("html", "xlsx", "csv")
    res = publish_report(
        estimates,
        comparisons,
        trend,
        codebook,
        meta,
        d / "report",
        store=store,
        formats=formats,
        compare=[("Rissne", "Hallonbergen")],
    )
    return res, store, meta


# --------------------------------------------------------------------------------------------- formatting
def test_swedish_characters_are_pinned():
    assert swedish_percent(0.274) == "27,4\u00a0%"
    assert swedish_percent(0.27449) == "27,4\u00a0%"
    assert swedish_percent(1.0, 0) == "100\u00a0%"
    assert swedish_number(1843) == "1\u00a0843"
    assert swedish_number(1234567.891, 2) == "1\u00a0234\u00a0567,89"
    assert swedish_number(-3.24, 1) == "\u22123,2"  # U+2212 MINUS SIGN
    assert swedish_pp(0.032) == "+3,2" and swedish_pp(-0.032) == "\u22123,2"
    assert swedish_pp(-0.0004) == "0,0"  # no sign on a rounded zero
    assert swedish_percent(None) == ".." and swedish_percent(float("nan")) == ".."
    assert NBSP == "\u00a0" and MINUS == "\u2212" and SUPPRESSED == ".."


# --------------------------------------------------------------------------------------------- tables
def test_district_table_hides_small_cells_and_marks_changes(estimates, comparisons, codebook):
    t = district_table(estimates, comparisons, codebook, "unsafe_after_dark", RUN_META, min_n=30)
    assert [r for r, _ in t.rows][-1] == "Totalt"
    assert [r for r, _ in t.rows][:-1] == sorted(r for r, _ in t.rows[:-1])
    c = t.cells
    hidden = c[(c["row_key"] == "Väsby centrum") | ((c["row_key"] == "Ursvik") & (c["column_key"] == "2022"))]
    assert (
        len(hidden) and hidden["value"].isna().all() and (hidden["text"] == "..").all() and hidden["suppressed"].all()
    )
    # Ursvik 2023 follows a hidden year: no change may be derived from the hidden cell
    chg = c[(c["row_key"] == "Ursvik") & (c["column_key"] == "2023") & c["stat"].isin(["chg", "chg_p", "chg_sig"])]
    assert len(chg) == 3 and chg["suppressed"].all() and chg["value"].isna().all()
    # a significant change among visible cells is marked (make_comparisons: adjusted p = p)
    prot = protect(estimates, 30)
    vis = {(int(r.year), r.district) for r in prot[(prot.indicator == "unsafe_after_dark") & ~prot.hidden].itertuples()}
    cmp = comparisons[
        (comparisons.comparison == "previous_year")
        & (comparisons.indicator == "unsafe_after_dark")
        & comparisons.significant
    ]
    r = next(r for r in cmp.itertuples() if (r.year, r.district) in vis and (r.year - 1, r.district) in vis)
    mark = c[(c["row_key"] == r.district) & (c["column_key"] == str(r.year)) & (c["stat"] == "chg_sig")]
    assert mark["text"].iloc[0] == "*"
    duvbo = c[(c["row_key"] == "Duvbo") & (c["column_key"] == "2022") & (c["stat"] == "est")].iloc[0]
    e = estimates[
        (estimates.district == "Duvbo") & (estimates.year == 2022) & (estimates.indicator == "unsafe_after_dark")
    ].iloc[0]
    assert duvbo["value"] == round(e.estimate * 100, 1) / 100 and duvbo["text"] == swedish_percent(e.estimate)
    html = t.standalone_html()
    assert swedish_percent(e.estimate) in html and "n\u00a0=\u00a0151" in html
    assert "Fråga: Hur trygg känner du dig" in html and "Källa: Trygghetsundersökning" in html


def test_domain_table_built_when_domains_exist_else_skipped(estimates, codebook, run):
    tot = estimates[(estimates.district == "Totalt") & (estimates.year == 2024)]
    dom = []
    for dname, groups in (("sex", ["Kvinna", "Man"]), ("age_group", ["16-24", "75-84"])):
        for g in groups:
            x = tot.copy()
            x["domain"], x["group"] = dname, g
            x["n"] = 12 if g == "16-24" else 400
            dom.append(x)
    est = pd.concat([estimates.assign(domain="district", group=pd.NA), *dom], ignore_index=True)
    t = domain_table(est, codebook, 2024, RUN_META, min_n=30)
    assert t is not None and [c for c, _ in t.columns] == ["Kvinna", "Man", "16-24", "75-84"]
    young = t.cells[t.cells["column_key"] == "16-24"]
    assert young["value"].isna().all() and (young["text"] == "..").all()
    assert domain_table(estimates, codebook, 2024, RUN_META) is None
    res = run[0]
    assert any("kön och åldersgrupp" in n for n in res.notes)


def test_compare_districts_difference_sign_and_hiding(estimates, comparisons, codebook):
    cmp = compare_districts(estimates, comparisons, "Rissne", "Hallonbergen", years=[2024], codebook=codebook)
    assert list(cmp["indicator"]) == INDICATORS
    r = cmp.iloc[0]
    assert r.difference == pytest.approx(r.estimate_a - r.estimate_b)
    rev = compare_districts(estimates, comparisons, "Hallonbergen", "Rissne", years=[2024])
    assert rev.set_index("indicator").loc["unsafe_after_dark", "difference"] == pytest.approx(-r.difference)
    assert rev.set_index("indicator").loc["unsafe_after_dark", "ci_low"] == pytest.approx(-r.ci_high)
    small = compare_districts(estimates, comparisons, "Rissne", "Väsby centrum")
    assert small["hidden_b"].all() and small["estimate_b"].isna().all() and small["difference"].isna().all()
    with pytest.raises(PublishError, match="Okänt område"):
        compare_districts(estimates, comparisons, "Rissne", "Atlantis")
    page, tables = compare_page(cmp, codebook, "Rissne", "Hallonbergen", RUN_META)
    assert "procentenheter" in page and MINUS in page
    diffs = tables[0].cells[(tables[0].cells.column_key == "diff") & (tables[0].cells.stat == "diff")]
    for v, txt in zip(diffs["value"], diffs["text"]):
        assert txt == swedish_pp(v) and (txt.startswith(MINUS) if v < -0.0005 else not txt.startswith("-"))


# --------------------------------------------------------------------------------------------- formats
def test_xlsx_has_real_numbers_with_swedish_formats(run, estimates):
    res = run[0]
    wb = load_workbook(res.out_dir / "tabeller.xlsx")
    assert "Otrygga ute ensam sent en kväll" in wb.sheetnames and "Problem i bostadsområdet" in wb.sheetnames
    assert not [n for n in wb.sheetnames if "_" in n]  # Swedish sheet names, no table ids
    ws = wb["Otrygga ute ensam sent en kväll"]
    assert ws["A1"].value.startswith("Andel otrygga ute ensam sent en kväll")
    rows = {ws.cell(r, 1).value: r for r in range(1, ws.max_row + 1)}
    header = [ws.cell(4, c).value for c in range(1, ws.max_column + 1)]
    c2022 = header.index("2022") + 1
    e = estimates[
        (estimates.district == "Duvbo") & (estimates.year == 2022) & (estimates.indicator == "unsafe_after_dark")
    ].iloc[0]
    cell = ws.cell(rows["Duvbo"], c2022)
    assert isinstance(cell.value, float) and cell.value == shown("est", e.estimate)  # rounded to 0,1 %
    assert abs(cell.value - e.estimate) <= 0.0005 + 1e-12
    assert cell.number_format == SHARE_FORMAT == '0.0"\u00a0"%'
    lo = ws.cell(rows["Duvbo"], c2022 + 1)
    assert lo.value == shown("lo", e.ci_low) and lo.number_format == SHARE_FORMAT
    n = ws.cell(rows["Totalt"], c2022 + 3)
    assert isinstance(n.value, int) and n.value >= 900 and n.number_format == COUNT_FORMAT
    for c in range(2, ws.max_column + 1):
        assert ws.cell(rows["Väsby centrum"], c).value == ".."
    cmp = wb["Rissne mot Hallonbergen 2024"]
    fmts = {cmp.cell(r, c).number_format for r in range(6, cmp.max_row + 1) for c in range(1, cmp.max_column + 1)}
    assert PP_FORMAT in fmts and "\u2212" in PP_FORMAT


def test_xlsx_layout_and_same_bytes_every_time(run, estimates, comparisons, codebook, tmp_path):
    from reports.publish import build_tables, write_xlsx

    res = run[0]
    wb = load_workbook(res.out_dir / "tabeller.xlsx")
    ws = wb["Otrygga ute ensam sent en kväll"]
    assert ws.freeze_panes == "B6" and "A4:A5" in {str(r) for r in ws.merged_cells.ranges}
    assert ws["A1"].font.b and ws["A1"].font.sz == 13 and ws["A4"].value == "Område" and ws["A4"].font.b
    assert ws["B5"].fill.fgColor.rgb.endswith("E8EEF4") and ws["B5"].border.bottom.style == "thin"
    assert ws.cell(5, 2).value == "Andel" and ws["A4"].alignment.horizontal == "left"
    assert ws.column_dimensions["B"].width == 11  # as openpyxl wrote it before XlsxWriter
    assert wb.properties.creator == "trygghet" and wb.properties.created.year == 2000
    assert wb.properties.modified.year == 2000  # no date of the run in the file
    tables = build_tables(estimates, comparisons, None, codebook, RUN_META)
    a, b = write_xlsx(tables, tmp_path / "a.xlsx"), write_xlsx(tables, tmp_path / "b.xlsx")
    assert a.read_bytes() == b.read_bytes()


def test_csv_long_form(run):
    res = run[0]
    with open(res.out_dir / "tables" / "district_unsafe_after_dark.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    supp = [r for r in rows if r["suppressed"] == "true"]
    assert supp and all(r["value"] == "" and r["text"] == ".." for r in supp)
    vis = [r for r in rows if r["stat"] == "est" and r["suppressed"] == "false"]
    assert all(r["text"].endswith("\u00a0%") and "," in r["text"] for r in vis)
    assert {r["indicator"] for r in rows} == {"unsafe_after_dark"}


def test_index_is_offline_and_links_everything(run):
    import re

    res = run[0]
    page = res.index.read_text(encoding="utf-8")
    hrefs = re.findall(r'(?:href|src)="([^"]+)"', page)
    assert hrefs and not [h for h in hrefs if "://" in h or h.startswith("//")]
    for h in hrefs:
        if h.startswith("#"):  # the contents line's anchors
            assert f'id="{h[1:]}"' in page, h
            continue
        assert (res.index.parent / h).is_file(), h
    for tid in res.tables:
        assert f"tables/{tid}.html" in page
    assert "charts/trend_unsafe_after_dark.png" in page and "charts/trend_unsafe_after_dark.svg" in page
    for f in res.paths(fmt="html"):
        text = f.read_text(encoding="utf-8")
        assert "@import" not in text and "<link" not in text
        # only the interactive page has scripts, inline (no src): tests/test_report_interactive.py
        assert "<script" not in text or (f.name == "jamfor.html" and "<script src" not in text)


def test_charts_have_swedish_axes_and_skip_hidden(run):
    res = run[0]
    svg = (res.out_dir / "charts" / "trend_unsafe_after_dark.svg").read_text(encoding="utf-8")
    assert "20\u00a0%" in svg or "20&#160;%" in svg
    assert "Redovisas inte" in svg and "Väsby centrum" in svg
    from PIL import Image

    png = res.out_dir / "charts" / "trend_unsafe_after_dark.png"
    w, h = Image.open(png).size
    assert png.stat().st_size > 20_000 and w > 800 and h > 400


def test_store_versions_and_export_roundtrip(run, tmp_path, estimates):
    res, store, meta = run
    assert set(res.versions) == set(res.tables) and set(res.versions.values()) == {1}
    listing = store.published_tables()
    assert set(listing["table_id"]) == set(res.tables)
    out = export_table(store, "district_unsafe_after_dark", 2024, "html", tmp_path)
    original = (res.out_dir / "tables" / "district_unsafe_after_dark.html").read_text(encoding="utf-8")
    body = lambda s: s.split("<main>")[1]  # noqa: E731 - the back link differs, the table does not
    assert body(out.read_text(encoding="utf-8")) == body(original)
    x = export_table(store, "problems", 2024, "xlsx", tmp_path / "p.xlsx")
    ws = load_workbook(x)["Problem i bostadsområdet"]
    total = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == "Totalt")
    assert ws.cell(total, 2).number_format == SHARE_FORMAT
    # a second publication never overwrites: version 2
    from reports.tables import group_table

    t = group_table(estimates, None, None, "problem", 2024, meta)
    assert store.publish_table(t.table_id, t.year, meta["run_id"], t.store_cells(), t.title, t.meta()) == 2
    _, cells_v1 = store.published_table("problems", 2024, 1)
    assert cells_v1.loc[cells_v1["suppressed"], "value"].isna().all()


def test_cli_command_functions(run, tmp_path, estimates, comparisons, capsys):
    res, store, meta = run
    db = store.url
    df = tables_list_command(db)
    assert "district_unsafe_after_dark" in set(df["table_id"])
    p = tables_export_command(2024, "trust", "csv", tmp_path, db)
    assert p.exists() and "police_care" in p.read_text(encoding="utf-8")
    d = tmp_path / "run"
    d.mkdir()
    estimates.to_csv(d / "estimates.csv", index=False)
    comparisons.to_csv(d / "comparisons.csv", index=False)
    cmp = compare_command("Rissne", "Hallonbergen", None, [2024], str(d), tmp_path / "cmp.html")
    assert len(cmp) == len(INDICATORS) and (tmp_path / "cmp.html").exists()
    assert "Rissne jämfört med Hallonbergen" in capsys.readouterr().out


def test_rich_table_renders(estimates, comparisons, codebook):
    from rich.console import Console

    t = district_table(estimates, comparisons, codebook, "unsafe_after_dark", RUN_META)
    console = Console(record=True, width=140)
    console.print(rich_table(t))
    text = console.export_text()
    assert "Väsby centrum" in text and ".." in text and "\u00a0%" in text


# --------------------------------------------------------------------------------------------- Chromium
@pytest.mark.chromium
@needs_chromium
def test_png_and_pdf_are_real(run):
    from PIL import Image

    res = run[0]
    png = res.out_dir / "tables" / "district_unsafe_after_dark.png"
    pdf = res.out_dir / "tables" / "district_unsafe_after_dark.pdf"
    assert png.stat().st_size > 50_000 and pdf.stat().st_size > 10_000
    w, h = Image.open(png).size
    assert 1000 < w < 4000 and 600 < h < 4000
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert len(res.paths(fmt="png", kind="table")) == len(res.tables)


@pytest.mark.chromium
@needs_chromium
def test_html_rendered_in_chromium_shows_values(run, estimates):
    res = run[0]
    page = res.out_dir / "tables" / "district_unsafe_after_dark.html"
    out = subprocess.run(
        [str(chromium_wrapper()), "--headless", "--disable-gpu", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    dom = out.stdout.replace("&nbsp;", "\u00a0")
    for d in ("Duvbo", "Hallonbergen", "Väsby centrum", "Älvsjö-Ängby", "Totalt"):
        assert d in dom
    e = estimates[
        (estimates.district == "Rissne") & (estimates.year == 2024) & (estimates.indicator == "unsafe_after_dark")
    ].iloc[0]
    assert swedish_percent(e.estimate) in dom
    assert dom.count(">..<") >= 4  # Väsby centrum 2022–2024 and Ursvik 2022


# --------------------------------------------------------------------------------------------- disclosure
def _scan(paths, estimates, comparisons, responses, store=None):
    return scan_disclosure(
        paths,
        estimates,
        min_n=30,
        respondent_ids=responses["resp_id"],
        free_text=responses["comment"],
        comparisons=comparisons,
        store=store,
    )


def test_disclosure_scanner_finds_nothing_in_a_run(run, estimates, comparisons, responses):
    res, store, _ = run
    findings = _scan(res.out_dir, estimates, comparisons, responses, store)
    assert findings == [], "\n".join(map(str, findings[:10]))


def test_disclosure_scanner_finds_planted_violations(run, tmp_path, estimates, comparisons, responses):
    res = run[0]
    hidden = estimates[
        (estimates.district == "Väsby centrum")
        & (estimates.year == 2024)
        & (estimates.indicator == "unsafe_after_dark")
    ].iloc[0]
    comment = next(c for c in responses["comment"] if len(c) > 30)

    def planted(name: str, rel: str, edit) -> list:
        d = tmp_path / name
        shutil.copytree(res.out_dir / "tables", d)
        f = d / rel
        edit(f)
        return _scan(d, estimates, comparisons, responses)

    html_file = "district_unsafe_after_dark.html"

    def add_text(s: str):
        return lambda f: f.write_text(f.read_text(encoding="utf-8").replace("</main>", s + "</main>"), encoding="utf-8")

    rid = responses["resp_id"].iloc[17]
    assert {x.kind for x in planted("id", html_file, add_text(f"<p>Svarande {rid}</p>"))} == {"respondent_id"}
    assert {x.kind for x in planted("ft", html_file, add_text(f"<p>{comment}</p>"))} == {"free_text"}
    assert "hidden_value" in {
        x.kind for x in planted("attr", html_file, add_text(f'<span data-v="{hidden.estimate!r}"></span>'))
    }

    def leak_rounded(f: Path):  # the hidden cell shows its rounded share instead of ".."
        s = f.read_text(encoding="utf-8")
        row_start = s.index("Väsby centrum</th>")
        end = s.index("</tr>", row_start)
        row = s[row_start:end]
        k = row.rindex(">..<")
        row = row[:k] + ">" + swedish_percent(hidden.estimate) + "<" + row[k + 4 :]
        f.write_text(s[:row_start] + row + s[end:], encoding="utf-8")

    found = planted("rounded", html_file, leak_rounded)
    assert [x.kind for x in found] == ["hidden_value"] and "Väsby centrum" in found[0].detail

    def leak_xlsx(f: Path):
        wb = load_workbook(f)
        ws = wb["Otrygga ute ensam sent en kväll"]
        r = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == "Väsby centrum")
        ws.cell(r, ws.max_column - 4).value = round(float(hidden.estimate), 3)  # display precision only
        ws.cell(r, ws.max_column - 4).number_format = SHARE_FORMAT
        wb.save(f)

    d = tmp_path / "xlsx"
    d.mkdir()
    shutil.copy(res.out_dir / "tabeller.xlsx", d / "tabeller.xlsx")
    leak_xlsx(d / "tabeller.xlsx")
    assert {x.kind for x in _scan(d, estimates, comparisons, responses)} == {"hidden_value"}

    def leak_csv(f: Path):
        lines = f.read_text(encoding="utf-8").splitlines()
        i = next(k for k, ln in enumerate(lines) if "Väsby centrum" in ln and ",est," in ln)
        lines[i] = lines[i].replace(",,..,true", f",{hidden.estimate!r},..,true")
        f.write_text("\n".join(lines) + "\n", encoding="utf-8")

    kinds = {x.kind for x in planted("csv", "district_unsafe_after_dark.csv", leak_csv)}
    assert kinds == {"hidden_value", "suppressed_with_value"}
