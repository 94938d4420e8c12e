"""Every table fits the page (issue 12), measured in real headless Chromium (Selenium with the system's chromium
and chromedriver) on every HTML page with tables of a real ``trygghet run`` (every ``tables/*.html``, the
one-page collections, the index with its method tables, a ``compare --out`` page) and of a long series (15
years: district tables too wide for one printed page).

- On screen, at a 1100 px wide window: each table is no wider than its wrapper, or scrolls sideways inside the
  wrapper (the page itself never does), and its last column can be scrolled into view.
- In print (Chrome DevTools ``Page.printToPDF`` with the page's own CSS page size: A4 landscape), read back
  with pypdf: every page is A4 landscape, every column header of every table is in the PDF's text (a table
  too wide for the page is printed in parts of whole columns, ``del 1 av 2`` …), and no text starts outside
  the page.

Without Chromium the tests are skipped, but under ``CI`` a missing Chromium, chromedriver or Selenium is a
failure (tests/test_report_interactive.py's rule). No timing is asserted; start-up waits are generous.
"""

from __future__ import annotations

import base64
import io
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.test_publish import RUN_META, SAMPLE, make_codebook, make_comparisons
from tests.test_report_interactive import _require_chromium

pytestmark = pytest.mark.chromium

WIDTH = 1100
A4_LANDSCAPE = (841.9, 595.3)  # points

SCREEN = """return [...document.querySelectorAll('table')].filter(t => t.offsetParent !== null).map(t => {
  const wrap = t.closest('.table-wrap');
  let box = t.parentElement;  // the nearest ancestor that scrolls sideways (great-tables' own div or the wrapper)
  while (box && box !== wrap && !['auto', 'scroll'].includes(getComputedStyle(box).overflowX)) {
    box = box.parentElement;
  }
  box = box || wrap;
  const heads = [...t.querySelectorAll('thead th')];
  const last = heads.length ? heads[heads.length - 1] : t;
  if (box) { box.scrollLeft = box.scrollWidth; }
  const r = (box || document.body).getBoundingClientRect();
  return {id: t.id || t.className, table: t.getBoundingClientRect().width, inWrap: wrap !== null && wrap.contains(box),
          box: box ? box.clientWidth : null, boxScroll: box ? box.scrollWidth : null,
          overflow: box ? getComputedStyle(box).overflowX : null,
          lastRight: last.getBoundingClientRect().right, boxRight: r.right, boxLeft: r.left,
          lastLeft: last.getBoundingClientRect().left};
});"""
DOCUMENT = "return [window.innerWidth, document.documentElement.scrollWidth];"
# the column headers of every table that prints (screen-only tables are hidden in print; print-only parts shown)
PRINTED_HEADERS = """return [...document.querySelectorAll('table')].filter(t => !t.closest('.screen-only')).map(t =>
  [...t.querySelectorAll('thead th')].map(th => th.textContent));"""


def _trygghet() -> str:
    return str(Path(sys.executable).with_name("trygghet"))


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> list[Path]:
    """Every HTML page with tables: a real run's report, a compare page and a 15-year report."""
    _require_chromium()
    d = tmp_path_factory.mktemp("layout")
    synth = [_trygghet(), "synth", "--n", "5000", "--districts", "6", "--years", "3", "--seed", "7"]
    subprocess.run([*synth, "--tiny-district", "--out", str(d / "input")], check=True, capture_output=True)
    run = [_trygghet(), "run", "--responses", str(d / "input" / "responses.csv"), "--population"]
    run += [str(d / "input" / "population.csv"), "--out", str(d / "run"), "--db", f"sqlite:///{d / 'run.db'}"]
    subprocess.run([*run, "--formats", "html", "--charts", "none"], check=True, capture_output=True, timeout=900)
    cmp = [_trygghet(), "compare", "Rissne", "Hallonbergen", "--db", str(d / "run"), "--out", str(d / "cmp.html")]
    subprocess.run(cmp, check=True, capture_output=True, timeout=600)
    report = d / "run" / "report"
    found = sorted((report / "tables").glob("*.html")) + sorted(
        p for p in report.glob("*.html") if p.name != "jamfor.html"
    )
    return [*found, d / "cmp.html", *_long_series(d / "long")]


def _long_series(out: Path) -> list[Path]:
    """The sample estimates of 2022–2024 repeated over 2010–2024: district tables with 15 year columns."""
    from reports.publish import publish_report

    est = pd.read_csv(SAMPLE / "expected" / "estimates.csv")
    est = pd.concat([est.assign(year=est["year"] - 3 * k) for k in range(5)], ignore_index=True)
    est = est[est["year"] >= 2010]
    publish_report(est, make_comparisons(est), None, make_codebook(), RUN_META, out, formats=("html",), charts=False)
    return [out / "tables" / "district_unsafe_after_dark.html", out / "tables" / "problems.html"]


@pytest.fixture(scope="module")
def browser():
    binary, driver_path = _require_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    opts.binary_location = binary
    for a in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--window-size={WIDTH},900",
    ):
        opts.add_argument(a)
    drv = webdriver.Chrome(service=Service(driver_path, start_timeout=120), options=opts)
    drv.set_page_load_timeout(120)
    drv.set_window_size(WIDTH, 900)
    yield drv
    drv.quit()


def _name(p: Path) -> str:
    return "/".join(p.parts[-2:])


def test_every_table_fits_the_screen_or_scrolls_inside_its_wrapper(browser, pages) -> None:
    wide = 0
    for page in pages:
        browser.get(page.as_uri())
        inner, doc = browser.execute_script(DOCUMENT)
        assert inner <= WIDTH and doc <= inner, (_name(page), inner, doc)  # the page itself never scrolls sideways
        tables = browser.execute_script(SCREEN)
        assert tables, _name(page)
        for t in tables:
            where = (_name(page), t)
            assert t["inWrap"], where  # every table sits in a wrapper (.table-wrap)
            if t["table"] <= t["box"] + 1:
                continue
            wide += 1
            assert t["overflow"] in ("auto", "scroll"), where
            assert t["boxScroll"] >= t["table"] - 1, where  # every column can be reached ...
            assert t["boxRight"] <= inner + 1, where  # ... by scrolling inside the wrapper, not the page
            assert t["lastRight"] <= t["boxRight"] + 1 and t["lastLeft"] >= t["boxLeft"] - 1, where  # scrolled in
    assert wide >= 3  # groups, problems, the district tables of 15 years really are wider than the window


def _pdf(browser) -> bytes:
    out = browser.execute_cdp_cmd("Page.printToPDF", {"preferCSSPageSize": True, "printBackground": True})
    return base64.b64decode(out["data"])


def _squash(text: str) -> str:
    return re.sub(r"[\s\u00a0\u00ad]+", "", text)


def test_printing_keeps_every_column_on_a4_landscape(browser, pages) -> None:
    from pypdf import PdfReader

    split = 0
    for page in pages:
        browser.get(page.as_uri())
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
        headers = browser.execute_script(PRINTED_HEADERS)
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
        reader = PdfReader(io.BytesIO(_pdf(browser)))
        starts: list[float] = []

        def visit(text, cm, tm, _font, _size, starts=starts):
            if text.strip():
                starts.append(tm[4] * cm[0] + cm[4])

        text = "".join(p.extract_text(visitor_text=visit) for p in reader.pages)
        for p in reader.pages:
            w, h = float(p.mediabox.width), float(p.mediabox.height)
            assert abs(w - A4_LANDSCAPE[0]) < 2 and abs(h - A4_LANDSCAPE[1]) < 2, (_name(page), w, h)
        flat = _squash(text)
        for heads in headers:
            for head in heads:
                assert _squash(head) in flat, (_name(page), head)  # no column is lost
        assert starts and max(starts) < A4_LANDSCAPE[0] - 20, (_name(page), max(starts))  # inside the page margin
        if "(del 1 av 2)" in text:
            split += 1
            assert "(del 2 av 2)" in text, _name(page)
    assert split >= 1  # the 15-year district table is printed in two parts


def test_screen_shows_the_whole_table_and_print_its_parts(browser, pages) -> None:
    """A table split for print is one table on screen (the parts are print-only) and only the parts in print."""
    page = next(p for p in pages if p.parent.parent.name == "long" and p.stem.startswith("district_"))
    browser.get(page.as_uri())
    count = "return [...document.querySelectorAll('table.gt_table')].filter(t => t.offsetParent !== null).length;"
    assert browser.execute_script(count) == 1
    years = (
        "return [...document.querySelectorAll('table.gt_table')].filter(t => t.offsetParent !== null).map(t => "
        "[...t.querySelectorAll('thead th')].map(h => h.textContent.trim()).filter(x => /^\\d{4}$/.test(x)));"
    )
    assert browser.execute_script(years) == [[str(y) for y in range(2010, 2025)]]
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    parts = browser.execute_script(years)
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    assert len(parts) == 2 and sum(parts, []) == [str(y) for y in range(2010, 2025)]  # whole columns, in order
