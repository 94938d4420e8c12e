"""Wide tables (issue 12): the groups and problems tables are never cut off — on screen they scroll sideways
inside their wrapper, in print (A4 landscape) they fit the page width. Measured in real headless Chromium
through the Chrome DevTools protocol (nokap, the browser great-tables already uses)."""

from __future__ import annotations

import base64
import os
import re

import pandas as pd
import pytest

from reports.images import chrome_env, chromium_available
from reports.publish import publish_report
from tests.test_publish import RUN_META, SAMPLE, make_codebook, make_comparisons

pytestmark = [
    pytest.mark.chromium,
    pytest.mark.skipif(not chromium_available() and not os.environ.get("CI"), reason="Chromium is not installed"),
]

AGES = ("16-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75-84")

MEASURE = """(() => {
  const t = document.querySelector('table.gt_table');
  let w = t.parentElement;   // the nearest ancestor that scrolls sideways (great-tables' own div or the wrapper)
  while (w && getComputedStyle(w).overflowX !== 'auto') { w = w.parentElement; }
  const cells = [...t.querySelectorAll('th, td')].map(c => c.getBoundingClientRect().right);
  return {table: t.getBoundingClientRect().width, right: Math.max(...cells),
          wrapClient: w.clientWidth, wrapScroll: w.scrollWidth, overflow: getComputedStyle(w).overflowX,
          inner: window.innerWidth, docScroll: document.documentElement.scrollWidth};
})()"""


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    est = pd.read_csv(SAMPLE / "expected" / "estimates.csv")  # all 15 indicators: 8 problem columns
    tot = est[(est.district == "Totalt") & (est.year == 2024)]
    dom = [tot.assign(domain="sex", group=g) for g in ("Kvinna", "Man")]
    dom += [tot.assign(domain="age_group", group=g) for g in AGES]
    est = pd.concat([est.assign(domain="district", group=pd.NA), *dom], ignore_index=True)
    out = tmp_path_factory.mktemp("layout") / "report"
    return publish_report(
        est,
        make_comparisons(est[est.domain == "district"]),
        None,
        make_codebook(),
        RUN_META,
        out,
        formats=("html",),
        charts=False,
    )


@pytest.fixture(scope="module")
def browser():
    from nokap import Session
    from nokap._api import _get_cdp

    with chrome_env():
        session = Session(_get_cdp(), width=1100, height=900)
        yield session
        session.close()


def _measure(session, url: str, width: int, media: str) -> dict:
    session.set_viewport(width, 900)
    session._send("Emulation.setEmulatedMedia", {"media": media})
    session.navigate(url)
    return session.evaluate(MEASURE)


@pytest.mark.parametrize("table", ["groups", "problems"])
def test_wide_table_scrolls_on_screen_and_fits_in_print(report, browser, table):
    url = (report.out_dir / "tables" / f"{table}.html").as_uri()
    screen = _measure(browser, url, 1100, "screen")
    assert screen["table"] > 1100 - 48  # it really is a wide table
    assert screen["overflow"] == "auto"
    assert screen["wrapScroll"] >= screen["table"] - 1  # every column is reachable by scrolling
    assert screen["wrapClient"] <= screen["inner"]  # ... inside the wrapper, not the page
    printed = _measure(browser, url, 1047, "print")  # A4 landscape minus 2 × 10 mm at 96 dpi
    assert printed["right"] <= printed["inner"] + 1, printed  # no cell runs off the page
    assert printed["table"] <= printed["inner"] + 1


def test_print_is_a4_landscape(report, browser):
    browser._send("Emulation.setEmulatedMedia", {"media": ""})
    browser.navigate((report.out_dir / "tables" / "groups.html").as_uri())
    pdf = base64.b64decode(browser._send("Page.printToPDF", {"preferCSSPageSize": True})["data"])
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert boxes and all(float(w) > float(h) for w, h in boxes)
    w, h = map(float, boxes[0])
    assert abs(w - 841.9) < 2 and abs(h - 595.3) < 2  # A4 landscape in points
