"""The interactive comparison page (``report/jamfor.html``) in real headless Chromium (Selenium with the
system's chromium and chromedriver; no browser download), and the index page's links.

One ``trygghet run`` on a synthetic wave with a tiny district; the page's numbers are compared with the run's
``comparisons.csv`` and ``estimates.csv`` (formatted here, independently of reports.formats) and with the
published district table's suppression flags. Without Chromium the browser tests are skipped, but under
``CI=true`` a missing Chromium or Selenium is a failure (as tests/r/oracle.py's require_r does for R).
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pandas as pd
import pytest

PAIR = ("Rissne", "Hallonbergen")
TINY = "Väsby centrum"
INDICATOR = "unsafe_after_dark"
MINUS = "\u2212"


def _trygghet() -> str:
    return str(Path(sys.executable).with_name("trygghet"))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("interactive")
    synth = [_trygghet(), "synth", "--n", "5000", "--districts", "6", "--years", "3", "--seed", "7"]
    subprocess.run([*synth, "--tiny-district", "--out", str(d / "input")], check=True, capture_output=True)
    subprocess.run(
        [
            _trygghet(),
            "run",
            "--responses",
            str(d / "input" / "responses.csv"),
            "--population",
            str(d / "input" / "population.csv"),
            "--out",
            str(d),
            "--db",
            f"sqlite:///{d / 'trygghet.db'}",  # not the default ./trygghet.db in the checkout
            "--formats",
            "html,xlsx,csv",
            "--charts",
            "headline",
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return d


def _require_chromium() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    try:
        import selenium  # noqa: F401
    except ImportError:
        browser = None
    if browser and driver:
        return browser, driver
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(
            "CI is set, but chromium, chromedriver or selenium is missing (apt-get install chromium chromium-driver)"
        )
    pytest.skip("chromium/chromedriver/selenium not available")


@pytest.fixture(scope="module")
def browser():
    binary, driver_path = _require_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    opts.binary_location = binary
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1200,1600"):
        opts.add_argument(a)
    drv = webdriver.Chrome(service=Service(driver_path, start_timeout=120), options=opts)
    drv.set_page_load_timeout(120)
    yield drv
    drv.quit()


def _pp(x: float) -> str:
    """Procentenheter as the report prints them (independent of reports.formats)."""
    v = round(x * 100, 1)
    body = f"{abs(v):.1f}".replace(".", ",")
    return body if v == 0 else ("+" if v > 0 else MINUS) + body


def _pct(x: float) -> str:
    return f"{round(x * 100, 1):.1f}".replace(".", ",") + "\u00a0%"


def _p(p: float) -> str:
    if p < 0.001:
        return "<0,001"
    d = 3
    while d < 8 and (round(p, d) < 0.05) != (p < 0.05):
        d += 1
    return f"{p:.{d}f}".replace(".", ",")


def _published(run_dir: Path, indicator: str) -> pd.DataFrame:
    with open(run_dir / "report" / "tables" / f"district_{indicator}.csv", encoding="utf-8", newline="") as fh:
        return pd.DataFrame(list(csv.DictReader(fh)))


def _text(element) -> str:
    """The element's text exactly as in the DOM (Selenium's .text turns U+00A0 into a space)."""
    return str(element.get_attribute("textContent"))


def _open(browser, run_dir: Path, districts: tuple[str, ...], indicator: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    browser.get((run_dir / "report" / "jamfor.html").as_uri())
    WebDriverWait(browser, 60).until(lambda b: b.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1")
    for box in browser.find_elements(By.CSS_SELECTOR, "#districts input[type=checkbox]"):
        if box.is_selected():
            box.click()
    for name in districts:
        browser.find_element(By.CSS_SELECTOR, f'#districts input[value="{name}"]').click()
    Select(browser.find_element(By.ID, "indicator")).select_by_value(indicator)


def _hidden(run_dir: Path, indicator: str) -> set[tuple[str, int]]:
    pub = _published(run_dir, indicator)
    return {(r.row_key, int(r.column_key)) for r in pub[pub["stat"] == "est"].itertuples() if r.suppressed == "true"}


def _pairs(run_dir: Path) -> list[tuple[str, str]]:
    """Rissne and Hallonbergen, and two districts published every year (Rissne may be the tiny district's
    secondary-suppression partner: then its cells are ``..``)."""
    hidden = _hidden(run_dir, INDICATOR)
    est = pd.read_csv(run_dir / "estimates.csv")
    always = [
        d
        for d in sorted(set(est["district"]) - {"Totalt"})
        if not any((d, int(y)) in hidden for y in est["year"].unique())
    ]
    return [PAIR, (always[0], always[1])]


@pytest.mark.parametrize("which", [0, 1])
def test_two_districts_show_the_numbers_of_comparisons_csv(browser, run_dir, which):
    from selenium.webdriver.common.by import By

    pair = _pairs(run_dir)[which]
    _open(browser, run_dir, pair, INDICATOR)
    a, b = pair
    comps = pd.read_csv(run_dir / "comparisons.csv")
    est = pd.read_csv(run_dir / "estimates.csv")
    hidden = _hidden(run_dir, INDICATOR)
    rows = browser.find_elements(By.CSS_SELECTOR, "#diff tbody tr")
    years = sorted(int(y) for y in est["year"].unique())
    assert [int(r.get_attribute("data-year")) for r in rows] == years
    checked = 0
    for r in rows:
        y = int(r.get_attribute("data-year"))
        diff, ci, p, sig = (_text(r.find_element(By.CLASS_NAME, k)) for k in ("diff", "ci", "p", "sig"))
        if (a, y) in hidden or (b, y) in hidden:
            assert (diff, ci, p, sig) == ("..", "..", "..", ".."), y
            for d in pair:
                cell = browser.find_element(By.CSS_SELECTOR, f'#shares td[data-district="{d}"][data-year="{y}"]')
                assert (_text(cell) == "..") == ((d, y) in hidden)
            continue
        c = comps[(comps["comparison"] == "vs_district") & (comps["indicator"] == INDICATOR) & (comps["year"] == y)]
        ab = c[(c["district"] == a) & (c["other"] == b)]
        sign = 1.0
        if ab.empty:
            ab, sign = c[(c["district"] == b) & (c["other"] == a)], -1.0
        assert len(ab) == 1
        row = ab.iloc[0]
        lo, hi = sorted((sign * row["ci_low"], sign * row["ci_high"]))
        star = " *" if bool(row["significant"]) else ""
        assert diff == _pp(sign * row["difference"]) + star, (y, diff)
        assert ci == f"({_pp(lo)}\u2013{_pp(hi)})", (y, ci)
        assert p == _p(row["p_adjusted"]), (y, p)
        assert sig == ("Ja" if bool(row["significant"]) else "Nej")
        assert bool(row["significant"]) == (row["p_adjusted"] < 0.05)
        checked += 1
        for d in pair:  # the shares shown beside the difference
            cell = browser.find_element(By.CSS_SELECTOR, f'#shares td[data-district="{d}"][data-year="{y}"]')
            e = est[(est["year"] == y) & (est["district"] == d) & (est["indicator"] == INDICATOR)].iloc[0]
            assert _text(cell.find_element(By.CLASS_NAME, "est")) == _pct(e["estimate"])
            ci_text = f"({_pct(e['ci_low'])[:-2]}\u2013{_pct(e['ci_high'])[:-2]})"
            assert _text(cell.find_element(By.CLASS_NAME, "ci")) == ci_text
            assert _text(cell.find_element(By.CLASS_NAME, "n")) == f"n = {int(e['n'])}"
    assert checked >= 2 or which == 0
    # trend lines: one path per selected district, one point per published year
    svg = browser.find_element(By.ID, "trend-svg")
    with_points = [d for d in pair if any((d, y) not in hidden for y in years)]
    assert len(svg.find_elements(By.CSS_SELECTOR, "path.line")) == len(with_points)
    points = svg.find_elements(By.CSS_SELECTOR, "circle")
    assert len(points) == sum((d, y) not in hidden for d in pair for y in years)


def test_district_against_totalt_and_the_ranking(browser, run_dir):
    from selenium.webdriver.common.by import By

    district = _pairs(run_dir)[1][0]
    _open(browser, run_dir, (district, "Totalt"), INDICATOR)
    comps = pd.read_csv(run_dir / "comparisons.csv")
    y = int(comps["year"].max())
    r = comps[
        (comps["comparison"] == "vs_totalt")
        & (comps["indicator"] == INDICATOR)
        & (comps["year"] == y)
        & (comps["district"] == district)
    ].iloc[0]
    row = browser.find_element(By.CSS_SELECTOR, f'#diff tbody tr[data-year="{y}"]')
    assert _text(row.find_element(By.CLASS_NAME, "diff")) == _pp(r["difference"]) + (" *" if r["significant"] else "")
    ranking = browser.find_elements(By.CSS_SELECTOR, "#ranking tbody tr")
    pub = _published(run_dir, INDICATOR)
    shown = pub[(pub["stat"] == "est") & (pub["column_key"] == str(y)) & (pub["row_key"] != "Totalt")]
    visible = shown[shown["suppressed"] == "false"].assign(v=lambda f: f["value"].astype(float))
    order = visible.sort_values(["v", "row_key"], ascending=[False, True])["row_key"].tolist()
    names = [tr.get_attribute("data-district") for tr in ranking]
    assert names[: len(order)] == order
    tiny = next(tr for tr in ranking if tr.get_attribute("data-district") == TINY)
    assert [_text(td) for td in tiny.find_elements(By.TAG_NAME, "td")] == ["..", TINY, "..", ".."]


def test_suppressed_cells_are_absent_from_the_page_data(run_dir):
    """Not just hidden: the embedded JSON has no entry for a suppressed cell or a comparison involving it,
    and no full-precision estimate of a suppressed cell occurs anywhere in the page source."""
    page = (run_dir / "report" / "jamfor.html").read_text(encoding="utf-8")
    m = re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.S)
    assert m is not None
    data = json.loads(m.group(1))
    est = pd.read_csv(run_dir / "estimates.csv")
    n_hidden = 0
    for ind in data["estimates"]:
        pub = _published(run_dir, ind)
        for r in pub[(pub["stat"] == "est") & (pub["suppressed"] == "true")].itertuples():
            n_hidden += 1
            assert r.column_key not in data["estimates"][ind].get(r.row_key, {}), (ind, r.row_key, r.column_key)
            for key in data["comparisons"].get(ind, {}).get(r.column_key, {}):
                assert r.row_key not in key.split("|"), (ind, key)
            full = est[(est["indicator"] == ind) & (est["district"] == r.row_key) & (est["year"] == int(r.column_key))]
            for v in full[["estimate", "ci_low", "ci_high"]].to_numpy().ravel():
                if 0.001 < v < 0.999:  # 0 and 1 say nothing
                    assert repr(float(v)) not in page and f"{v:.6f}" not in page
    assert n_hidden > 10  # the tiny district, its secondary partner
    assert TINY not in data["estimates"][INDICATOR]
    # self-contained: no external script, style, font or image
    assert not re.search(r'<(script|link|img|iframe)[^>]+(src|href)="(https?:)?//', page)
    assert "@import" not in page and "url(" not in page


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        for k in ("href", "src"):
            if a.get(k):
                self.links.append(a[k])


def test_index_shows_the_summary_first_and_every_link_exists(run_dir):
    report = run_dir / "report"
    html = (report / "index.html").read_text(encoding="utf-8")
    assert html.index('id="sammanfattning"') < html.index('id="tabeller"') < html.index('id="metod"')
    p = _Links()
    p.feed(html)
    targets = set()
    for link in p.links:
        u = urlparse(link)
        assert u.scheme in ("", "file") and not u.netloc, link  # offline: nothing external
        if link.startswith("#"):
            assert link[1:] in p.ids, link
            continue
        f = (report / unquote(u.path)).resolve()
        assert f.is_file(), link
        targets.add(f)
    # every table page, chart, the comparison page and the downloads are reachable
    assert {f.resolve() for f in (report / "tables").glob("*.html")} <= targets
    assert {f.resolve() for f in (report / "tables").glob("*.csv")} <= targets
    assert {f.resolve() for f in (report / "charts").glob("*.png")} <= targets
    assert (report / "jamfor.html").resolve() in targets and (report / "tabeller.xlsx").resolve() in targets
    assert (report / "svarsfordelningar.html").resolve() in targets and (
        report / "kon_och_alder.html"
    ).resolve() in targets
    collection = (report / "svarsfordelningar.html").read_text(encoding="utf-8")
    assert collection.count("Svarsfördelning:") == len(list((report / "tables").glob("answers_*.html")))
    kinds = {f.name.split("_")[0] for f in targets if f.suffix == ".html"}
    assert {"district", "groups", "answers", "jamfor.html"} <= kinds | {"jamfor.html"}
    # every linked page links back to the index
    for f in (report / "tables").glob("*.html"):
        assert 'href="../index.html"' in f.read_text(encoding="utf-8"), f.name
