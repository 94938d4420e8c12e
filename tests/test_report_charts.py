"""The trend chart's panels: share ticks and labels on the left column only, year ticks and labels only on
the panels with nothing below them, every panel's title once (read from the SVG's text, which
``svg.fonttype = none`` keeps as text), and every panel's share levels as light lines."""

from __future__ import annotations

import math
import re
from pathlib import Path
from xml.etree import ElementTree

from reports.charts import trend_chart
from tests.test_publish import RUN_META, load_estimates, make_codebook

SVG_NS = "{http://www.w3.org/2000/svg}"


def _texts(path: Path) -> list[str]:
    root = ElementTree.parse(path).getroot()
    return [re.sub(r"\s+", " ", "".join(el.itertext())).strip() for el in root.iter(f"{SVG_NS}text")]


def test_tick_labels_only_on_the_outer_panels(tmp_path: Path) -> None:
    est = load_estimates()
    est = est[est["indicator"] == "unsafe_after_dark"]
    districts = sorted(set(est["district"]))  # the sample's districts and Totalt
    years = sorted({str(int(y)) for y in est["year"]})
    (svg,) = trend_chart(est, "unsafe_after_dark", make_codebook(), tmp_path / "c", {**RUN_META}, formats=("svg",))
    texts = _texts(svg)
    n, ncol = len(districts), min(4, len(districts))
    bottom = sum(1 for k in range(n) if k + ncol >= n)  # nothing below these panels
    left = math.ceil(n / ncol)
    assert n == 7 and (bottom, left) == (4, 2)  # the sample: 6 districts and Totalt on a 2 × 4 grid
    assert sorted(t for t in texts if t in years) == sorted(years * bottom)
    shares = [t for t in texts if re.fullmatch(r"\d+ %", t)]
    levels = sorted(set(shares), key=lambda t: int(t.split()[0]))
    assert levels[0] == "0 %" and len(levels) >= 3
    assert len(shares) == left * len(levels)
    for d in districts:
        assert texts.count(d) == 1
    grid = svg.read_text(encoding="utf-8").count("stroke: #e5e9ef")  # one light line per share level and panel
    assert grid == n * len(levels)


def test_a_district_hidden_to_protect_another_says_so(tmp_path: Path) -> None:
    """A panel hidden only by secondary suppression says why (it said 'too few respondents' of a district with
    140 a year), and the footnote says that some shares are hidden to protect others."""
    from reports.disclosure import protect

    est = load_estimates()
    prot = protect(est[est["indicator"] == "unsafe_after_dark"], 30)
    rissne = prot["district"] == "Rissne"  # as the partner of a small district in every year
    assert not prot.loc[rissne, "hidden"].any()
    prot.loc[rissne, ["hidden", "suppressed_reason"]] = [True, "secondary"]
    (svg,) = trend_chart(prot, "unsafe_after_dark", make_codebook(), tmp_path / "c", {**RUN_META}, formats=("svg",))
    texts = _texts(svg)
    assert texts.count("(skyddar en annan dold uppgift)") == 1 and texts.count("(för få svarande)") == 1, texts
    assert "Vissa andelar döljs också så att en dold andel inte kan räknas fram." in " ".join(texts)
