"""Trend charts: one figure per indicator, one panel per district (and ``Totalt``), share with its CI band
(the run's level).

Swedish labels and decimal comma on the axes; English labels (title, legend, notes, ``27%`` on the axis, the
source line) with ``run_meta["lang"] == "en"`` (:data:`CHART_TEXTS`, :mod:`reports.translate`).
Hidden estimates (primary or secondary suppression,
:mod:`reports.disclosure`) are never plotted: no point, no band, no tick label; a panel whose every year is
hidden says so. Plotted values are rounded to 0,1 procent like every published share, so the SVG path
coordinates carry no more precision than the tables. SVG keeps its text
as text (``svg.fonttype = none``) so the disclosure scanner can read it; SVG and PNG carry no date metadata,
so the same estimates give the same files.
"""

from __future__ import annotations

import math
import textwrap
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib
import pandas as pd
from matplotlib.figure import Figure

from reports.disclosure import REASON, ensure_protected
from reports.formats import TOTAL, swedish_number
from reports.labels import district_order, indicator_label, indicator_order, source_line
from reports.results import PublishedFile
from reports.signals import SignalRule
from reports.tables import district_estimates
from reports.translate import EN_INDICATORS, english_sentence
from survey.data.codebook import Codebook

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.typing import RcKeyType

# Applied per chart with rc_context (never globally): no backend is selected, pyplot is never imported.
CHART_RC: dict[RcKeyType, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "trygghet",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "font.family": ["DejaVu Sans"],
    "axes.titley": 1.0,  # the titles where matplotlib puts them (no tick labels on top): not measured per panel
}

# the charts' words in each language (``run_meta["lang"]``); the indicator label and the source line are
# translated by reports.translate, the district names (Totalt too) stay as the tables show them
CHART_TEXTS: dict[str, dict[str, str]] = {
    "sv": {
        "band": "{level} % konfidensintervall",
        "share": "Andel",
        "hidden": "Redovisas inte\n(för få svarande)",
        "protected": "Redovisas inte\n(skyddar en annan dold uppgift)",
        "some_hidden": "Vissa år redovisas inte",
        "title": "{label}: andel per område och år, med {level} % konfidensintervall",
        "few": " Andelar med färre än {min_n} svarande redovisas inte.",
        "secondary": " Vissa andelar döljs också så att en dold andel inte kan räknas fram.",
        "percent": "\u00a0%",
    },
    "en": {
        "band": "{level}% confidence interval",
        "share": "Share",
        "hidden": "Not published\n(too few respondents)",
        "protected": "Not published\n(protects another hidden figure)",
        "some_hidden": "Some years not published",
        "title": "{label}: share by district and year, with {level}% confidence interval",
        "few": " Shares with fewer than {min_n} respondents are not published.",
        "secondary": " Some shares are also hidden so that a hidden share cannot be worked out.",
        "percent": "%",
    },
}

ACCENT = "#1f5f9f"
TOTAL_COLOR = "#5b6770"
GRID_COLOR = "#e5e9ef"


def trend_chart(
    estimates: pd.DataFrame,
    indicator: str,
    codebook: Codebook | None,
    out_base: Path,
    run_meta: Mapping[str, Any],
    *,
    min_n: int = 30,
    formats: tuple[str, ...] = ("png", "svg"),
) -> list[Path]:
    """Write ``out_base.png`` and ``out_base.svg``: the indicator's share per year and district, CI bands.

    Returns the written paths.
    """
    with matplotlib.rc_context(CHART_RC), warnings.catch_warnings():
        # a character the font lacks (an emoji in a district name) is drawn as a box; matplotlib's English
        # warning with its source path is not for the person running trygghet
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font", category=UserWarning)
        return _trend_chart(estimates, indicator, codebook, out_base, run_meta, min_n, formats)


def _trend_chart(  # long: one figure, panel by panel
    estimates: pd.DataFrame,
    indicator: str,
    codebook: Codebook | None,
    out_base: Path,
    run_meta: Mapping[str, Any],
    min_n: int,
    formats: tuple[str, ...],
) -> list[Path]:
    lang = "en" if run_meta.get("lang") == "en" else "sv"
    words = CHART_TEXTS[lang]
    level = SignalRule.from_run(run_meta).level_percent  # the run's CI level (the bands are its CIs)
    est = district_estimates(ensure_protected(estimates, min_n))
    est = est[est["indicator"] == indicator].copy()
    for c in ("estimate", "ci_low", "ci_high"):
        est[c] = (pd.to_numeric(est[c], errors="coerce") * 100.0).round(1) / 100.0
    districts = district_order(est["district"].unique())
    years = sorted(int(y) for y in est["year"].unique())
    visible = est[~est["hidden"]]
    ymax = float(visible["ci_high"].max()) * 100 if not visible.empty else 100.0
    ymax = min(100.0, max(10.0, math.ceil(ymax / 10.0) * 10.0))

    ystep = 10 if ymax <= 50 else 20
    yticks = list(range(0, int(ymax) + 1, ystep))
    ylabels = [swedish_number(v, 0) + words["percent"] for v in yticks]
    xstep = max(1, math.ceil(len(years) / 6))
    xticks = years[::xstep]
    xlabels = [str(y) for y in xticks]
    ncol = min(4, max(1, len(districts)))
    nrow = math.ceil(len(districts) / ncol)
    fig = Figure(figsize=(2.7 * ncol + 0.6, 2.3 * nrow + 1.1))
    xlim = (years[0] - 0.3, years[-1] + 0.3) if years else (0.0, 1.0)
    axes = _panels(fig, nrow, ncol, len(districts), xlim, (0.0, ymax), (xticks, xlabels), (yticks, ylabels))
    secondary = REASON in est.columns and bool((est["hidden"] & (est[REASON] == "secondary")).any())
    for ax, d in zip(axes, districts):
        sub = est[est["district"] == d].sort_values("year")
        vis = sub[~sub["hidden"]]
        color = TOTAL_COLOR if d == TOTAL else ACCENT
        if not vis.empty:  # a hidden year is a gap in the line and the band (NaN), never bridged
            x = sub["year"].astype(int).to_numpy()
            shown = ~sub["hidden"].to_numpy(dtype=bool)
            ax.fill_between(
                x,
                sub["ci_low"].where(shown).to_numpy(dtype=float) * 100,
                sub["ci_high"].where(shown).to_numpy(dtype=float) * 100,
                where=shown,
                color=color,
                alpha=0.18,
                linewidth=0,
                label=words["band"].format(level=level),
            )
            ax.plot(
                x,
                sub["estimate"].where(shown).to_numpy(dtype=float) * 100,
                color=color,
                marker="o",
                markersize=3.5,
                linewidth=1.6,
                label=words["share"],
            )
        if vis.empty:
            primary = REASON not in sub.columns or (sub[REASON] == "primary").any()
            ax.text(
                0.5,
                0.5,
                words["hidden" if primary else "protected"],
                transform=ax.transAxes,
                ha="center",
                va="center",
                fontsize=8.5,
                color="#8a949c",
            )
        elif len(vis) < len(sub):
            ax.text(0.02, 0.04, words["some_hidden"], transform=ax.transAxes, fontsize=7, color="#8a949c")
        ax.set_title(d, fontsize=10, fontweight="bold" if d == TOTAL else "normal", loc="left")
    label = indicator_label(codebook, indicator)
    source = source_line(run_meta, codebook)
    if lang == "en":
        label = EN_INDICATORS[indicator][0] if indicator in EN_INDICATORS else english_sentence(label)
        source = english_sentence(source)
    fig.suptitle(
        words["title"].format(label=label, level=level),
        x=0.01,
        ha="left",
        fontsize=12,
        fontweight="bold",
        color="#1f3a5f",
    )
    fig.text(
        0.01,
        0.01,
        # wrapped to the figure's width (7 pt DejaVu Sans: about 16 characters an inch)
        textwrap.fill(
            source + words["few"].format(min_n=min_n) + (words["secondary"] if secondary else ""),
            width=int(fig.get_size_inches()[0] * 16),
        ),
        fontsize=7,
        color="#5b6770",
        ha="left",
        va="bottom",
    )
    # fixed margins in inches instead of tight_layout (which measured every tick label: 1.5 s of 4 s at
    # 21 panels); panels share their axes, so the layout does not depend on the data
    width, height = fig.get_size_inches()
    fig.subplots_adjust(
        left=0.55 / width,
        right=1 - 0.15 / width,
        bottom=0.75 / height,
        top=1 - 0.75 / height,
        wspace=0.12 * 4 / ncol + 0.08,
        hspace=0.55,
    )
    out_base.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        p = out_base.with_suffix("." + fmt)
        meta = {"Date": None} if fmt == "svg" else ({"Software": None} if fmt == "png" else {})
        fig.savefig(p, format=fmt, dpi=150, metadata=meta)
        paths.append(p)
    return paths


def _panels(
    fig: Figure,
    nrow: int,
    ncol: int,
    n: int,
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    xticks: tuple[list[int], list[str]],
    yticks: tuple[list[int], list[str]],
) -> list[Any]:
    """``n`` panels on an ``nrow`` × ``ncol`` grid, row by row (the grid's unused places get no axes at all,
    instead of hidden ones), with the same fixed limits. Year ticks and labels on every panel's bottom row
    only where nothing is below it, share ticks and labels on the left column only, and the share levels as
    light horizontal lines on every panel (one line collection each, in place of the y grid): matplotlib's
    ticks are objects of their own, created and drawn one by one, so a 21-panel figure with every tick on
    every panel spent most of its drawing on 273 of them (now about 60)."""
    grid = fig.add_gridspec(nrow, ncol)
    axes: list[Any] = []
    for k in range(n):
        ax = fig.add_subplot(grid[k // ncol, k % ncol])
        ax.set_xlim(*xlim)
        ax.set_ylim(*ylim)
        bottom, left = k + ncol >= n, k % ncol == 0
        ax.set_xticks(*(xticks if bottom else ([], [])))
        ax.set_yticks(*(yticks if left else ([], [])))
        ax.hlines(yticks[0], *xlim, colors=GRID_COLOR, linewidth=0.8, zorder=1.5)
        axes.append(ax)
    return axes


def write_charts(
    estimates: pd.DataFrame,
    codebook: Codebook | None,
    run_meta: Mapping[str, Any],
    out_dir: Path,
    *,
    min_n: int = 30,
    indicators: Sequence[str] | None = None,
) -> list[PublishedFile]:
    """``out_dir/charts/trend_<indicator>.png|svg``: trend per district with CI bands, in codebook order."""
    prot = ensure_protected(estimates, min_n)
    est = district_estimates(prot)
    inds = indicator_order(codebook, indicators if indicators else est["indicator"].astype(str))
    files = []
    for ind in inds:
        for p in trend_chart(prot, ind, codebook, Path(out_dir) / "charts" / f"trend_{ind}", run_meta, min_n=min_n):
            files.append(PublishedFile("chart", f"trend_{ind}", p.suffix[1:], p))
    return files
