"""Publication tables: Swedish formatting, long-format cell frames and great-tables rendering.

Every published table is a :class:`TableData`: a long-format cell frame (one row per row × column × statistic)
plus JSON-serialisable metadata (title, rows, columns, footnotes, dimensions). Every output format (HTML, PNG,
PDF via great-tables, XLSX, CSV, the published-table store, the terminal) is rendered from that one object,
so a table exported later from the store looks exactly like the one published in the run.

Disclosure rule applied by every builder: a cell whose estimate is flagged ``suppressed``, has an unweighted
``n`` under ``min_n`` or has no estimate is *hidden*: all its statistics (share, CI, n, change marker,
difference) get ``value=None`` and ``text=".."``. A difference or change marker involving a hidden cell is
hidden as well (it would reveal the hidden share).

Characters (pinned in tests): decimal comma; U+00A0 NO-BREAK SPACE as thousands separator and before ``%``;
U+2212 MINUS SIGN for negative numbers; U+2013 EN DASH between CI bounds; ``..`` for a suppressed cell.
"""
from __future__ import annotations

import html
import math
import os
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd
from great_tables import GT

from survey.data.codebook import Codebook, Indicator

NBSP = "\u00a0"
MINUS = "\u2212"
EN_DASH = "\u2013"
SUPPRESSED = ".."
NOT_AVAILABLE = "."          # teckenförklaring: uppgift kan inte förekomma / saknas
TOTAL = "Totalt"
SIG_MARK = "*"

# Statistics a display cell can carry, in XLSX column order, with Swedish labels.
STAT_LABELS: dict[str, str] = {
    "est": "Andel",
    "lo": "KI nedre",
    "hi": "KI övre",
    "n": "n",
    "sig": "Sign.",
    "diff": "Skillnad (procentenheter)",
    "p": "p-värde",
    "or": "Oddskvot",
}
# Statistic -> value kind, which decides the Swedish text and the Excel number format.
STAT_KIND: dict[str, str] = {"est": "share", "lo": "share", "hi": "share", "n": "count", "sig": "flag",
                             "diff": "pp", "p": "p", "or": "ratio"}

CELL_COLUMNS = ["row_key", "column_key", "stat", "value", "text", "suppressed"]


# ---------------------------------------------------------------------------------------------------------
# Swedish number formatting
# ---------------------------------------------------------------------------------------------------------
def _missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA


def swedish_number(x: float | int | None, decimals: int = 0, *, sign: bool = False,
                   missing: str = SUPPRESSED) -> str:
    """Format a number the Swedish way: ``12 345,7`` with U+00A0 between thousands and a decimal comma.

    Negative numbers get U+2212 MINUS SIGN; ``sign=True`` adds ``+`` to positive ones. A value that rounds to
    zero has no sign. ``None``/NaN give ``missing`` (default ``..``).
    """
    if _missing(x):
        return missing
    body = f"{abs(float(x)):,.{decimals}f}"
    rounded_zero = float(body.replace(",", "")) == 0.0
    body = body.replace(",", NBSP).replace(".", ",")
    if rounded_zero:
        return body
    if float(x) < 0:
        return MINUS + body
    return ("+" + body) if sign else body


def swedish_percent(x: float | None, decimals: int = 1, *, missing: str = SUPPRESSED) -> str:
    """A share (0–1) as Swedish per cent: ``0.274`` → ``27,4 %`` (U+00A0 before ``%``)."""
    if _missing(x):
        return missing
    return swedish_number(float(x) * 100.0, decimals) + NBSP + "%"


def swedish_pp(x: float | None, decimals: int = 1, *, missing: str = SUPPRESSED) -> str:
    """A difference of shares in procentenheter, signed: ``0.032`` → ``+3,2``, ``-0.032`` → ``−3,2``."""
    if _missing(x):
        return missing
    return swedish_number(float(x) * 100.0, decimals, sign=True)


def swedish_p(p: float | None, *, missing: str = NOT_AVAILABLE) -> str:
    """A p-value: ``0,032``; below 0.001 ``<0,001``."""
    if _missing(p):
        return missing
    return "<0,001" if p < 0.001 else swedish_number(p, 3)


def cell_text(stat: str, value: float | None) -> str:
    """Swedish display text of one statistic (without markers)."""
    kind = STAT_KIND[stat]
    if kind == "share":
        return swedish_percent(value)
    if kind == "count":
        return swedish_number(value, 0)
    if kind == "pp":
        return swedish_pp(value)
    if kind == "p":
        return swedish_p(value)
    if kind == "ratio":
        return swedish_number(value, 3)
    return SIG_MARK if value else ""


# ---------------------------------------------------------------------------------------------------------
# The table object
# ---------------------------------------------------------------------------------------------------------
@dataclass
class TableData:
    """One publishable table: long-format cells plus everything needed to render it in any format.

    ``rows``/``columns`` are ``(key, label)`` pairs in display order; ``stats`` lists the statistics each
    display cell carries; ``dims`` says what the row and column keys are (``{"row": "district", "column":
    "year", "fixed": {"indicator": ...}}``) so every cell can be traced back to its estimate.
    """

    table_id: str
    year: int
    title: str
    subtitle: str
    kind: str
    rows: list[tuple[str, str]]
    columns: list[tuple[str, str]]
    stats: list[str]
    dims: dict[str, Any]
    cells: pd.DataFrame
    stub_label: str = ""
    row_groups: dict[str, str] = field(default_factory=dict)      # row_key -> group label
    column_spanners: dict[str, str] = field(default_factory=dict)  # column_key -> spanner label
    footnotes: list[str] = field(default_factory=list)
    source_note: str = ""

    # ----- serialisation (store) -----
    def meta(self) -> dict[str, Any]:
        """JSON-serialisable metadata; with :meth:`store_cells` it reconstructs the table exactly."""
        return {"table_id": self.table_id, "year": int(self.year), "title": self.title,
                "subtitle": self.subtitle, "kind": self.kind,
                "rows": [list(r) for r in self.rows], "columns": [list(c) for c in self.columns],
                "stats": list(self.stats), "dims": self.dims, "stub_label": self.stub_label,
                "row_groups": dict(self.row_groups), "column_spanners": dict(self.column_spanners),
                "footnotes": list(self.footnotes), "source_note": self.source_note, "format_version": 1}

    def store_cells(self) -> pd.DataFrame:
        """Cells in the store's format: ``row_key, column_key, value, text, suppressed``.

        The statistic is folded into the column key as ``<column>|<stat>`` (``2024|est``, ``2024|lo``).
        """
        c = self.cells
        return pd.DataFrame({"row_key": c["row_key"].astype(str),
                             "column_key": c["column_key"].astype(str) + "|" + c["stat"],
                             "value": [None if _missing(v) else float(v) for v in c["value"]],
                             "text": c["text"].astype(str), "suppressed": c["suppressed"].astype(bool)})

    @classmethod
    def from_store(cls, meta: Mapping[str, Any], cells: pd.DataFrame) -> "TableData":
        """Rebuild a table from :meth:`meta` and :meth:`store_cells` (as read back from the store)."""
        split = cells["column_key"].astype(str).str.rsplit("|", n=1, expand=True)
        frame = pd.DataFrame({"row_key": cells["row_key"].astype(str), "column_key": split[0],
                              "stat": split[1],
                              "value": [None if _missing(v) else float(v) for v in cells["value"]],
                              "text": cells["text"].astype(str),
                              "suppressed": cells["suppressed"].astype(bool)})
        return cls(table_id=meta["table_id"], year=int(meta["year"]), title=meta["title"],
                   subtitle=meta.get("subtitle", ""), kind=meta["kind"],
                   rows=[tuple(r) for r in meta["rows"]], columns=[tuple(c) for c in meta["columns"]],
                   stats=list(meta["stats"]), dims=dict(meta["dims"]), cells=frame,
                   stub_label=meta.get("stub_label", ""), row_groups=dict(meta.get("row_groups", {})),
                   column_spanners=dict(meta.get("column_spanners", {})),
                   footnotes=list(meta.get("footnotes", [])), source_note=meta.get("source_note", ""))

    # ----- lookups -----
    def _index(self) -> dict[tuple[str, str, str], tuple[Any, str, bool]]:
        return {(r, c, s): (v, t, bool(h)) for r, c, s, v, t, h in self.cells[CELL_COLUMNS].itertuples(
            index=False, name=None)}

    def provenance(self, row_key: str, column_key: str) -> dict[str, Any]:
        """The estimate behind a cell: ``{"year":…, "district":…, "indicator":…, ["group":…]}``."""
        out = dict(self.dims.get("fixed", {}))
        out[self.dims["row"]] = row_key
        out[self.dims["column"]] = column_key
        return out

    def long_frame(self) -> pd.DataFrame:
        """Cells with labels and provenance columns (for CSV): a tidy, machine-readable form."""
        rlab = dict(self.rows)
        clab = dict(self.columns)
        recs = []
        for r, c, s, v, t, h in self.cells[CELL_COLUMNS].itertuples(index=False, name=None):
            prov = self.provenance(r, c)
            recs.append({"table_id": self.table_id, "row_key": r, "row_label": rlab.get(r, r),
                         "column_key": c, "column_label": clab.get(c, c), "stat": s,
                         "year": prov.get("year", ""), "district": prov.get("district", ""),
                         "indicator": prov.get("indicator", ""), "group": prov.get("group", ""),
                         "value": None if _missing(v) else float(v), "text": t, "suppressed": bool(h)})
        return pd.DataFrame.from_records(recs)

    # ----- rendering -----
    def display_frame(self) -> pd.DataFrame:
        """Wide frame of HTML cell contents (one column per display column), for great-tables."""
        idx = self._index()
        data: dict[str, list[str]] = {"_row": [lab for _, lab in self.rows]}
        if self.row_groups:
            data["_group"] = [self.row_groups.get(k, "") for k, _ in self.rows]
        for ck, _ in self.columns:
            data[ck] = [_cell_html(idx, rk, ck, self.stats) for rk, _ in self.rows]
        return pd.DataFrame(data)

    def to_gt(self) -> GT:
        """The great-tables object (Swedish headings, footnotes and source line)."""
        df = self.display_frame()
        gt = GT(df, rowname_col="_row", groupname_col="_group" if self.row_groups else None)
        gt = gt.with_id(_css_id(self.table_id))
        gt = gt.fmt(lambda v: v, columns=[c for c, _ in self.columns])  # cells are pre-escaped HTML
        gt = gt.tab_header(title=self.title, subtitle=self.subtitle or None)
        gt = gt.cols_label(**{c: lab for c, lab in self.columns})
        if self.stub_label:
            gt = gt.tab_stubhead(label=self.stub_label)
        for spanner in dict.fromkeys(self.column_spanners.values()):
            cols = [c for c, _ in self.columns if self.column_spanners.get(c) == spanner]
            gt = gt.tab_spanner(label=spanner, columns=cols)
        gt = gt.cols_align(align="right", columns=[c for c, _ in self.columns])
        stub_w, col_w = self.widths()
        gt = gt.cols_width({"_row": f"{stub_w}px", **{c: f"{w}px" for (c, _), w in zip(self.columns, col_w)}})
        for note in self.footnotes:
            gt = gt.tab_source_note(note)
        if self.source_note:
            gt = gt.tab_source_note(self.source_note)
        gt = gt.tab_options(
            table_font_names=["Source Sans 3", "Segoe UI", "Helvetica Neue", "Arial", "Liberation Sans",
                              "sans-serif"],
            table_font_size="14px", heading_title_font_size="18px", heading_subtitle_font_size="13px",
            heading_align="left", column_labels_font_weight="bold", source_notes_font_size="11.5px",
            data_row_padding="4px", row_group_font_weight="bold",
            table_width=f"{stub_w + sum(col_w)}px", table_layout="fixed",
            table_border_top_color="#1f3a5f", table_border_top_width="3px",
            column_labels_border_bottom_color="#1f3a5f", stub_border_color="#d0d7de",
            table_body_hlines_color="#e5e9ef", row_group_background_color="#f3f6f9")
        gt = gt.opt_css(CELL_CSS.replace("#ID", "#" + _css_id(self.table_id)))
        return gt

    def widths(self) -> tuple[int, list[int]]:
        """Pixel widths of the stub and of each display column (fixed layout: footnotes wrap)."""
        longest = max([len(lab) for _, lab in self.rows] + [len(self.stub_label), 8])
        stub_w = min(400, max(130, 8 * longest + 24))
        col_w = []
        for ck, lab in self.columns:
            base = 150 if ck == "diff" else 112
            words = max((len(w) for w in lab.split()), default=4)
            col_w.append(max(base, 8 * words + 20))
        total = stub_w + sum(col_w)
        if total < 620:   # narrow tables: widen the stub so footnotes stay readable
            stub_w += 620 - total
        return stub_w, col_w

    def standalone_html(self, *, back_link: str | None = "index.html") -> str:
        """A complete offline HTML page (no external CSS, JS or fonts) with the table."""
        body = strip_external(self.to_gt().as_raw_html())
        back = (f'<p class="back"><a href="{html.escape(back_link)}">← Till rapportens startsida</a></p>'
                if back_link else "")
        return (f'<!DOCTYPE html>\n<html lang="sv">\n<head>\n<meta charset="utf-8">\n'
                f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
                f"<title>{html.escape(self.title)}</title>\n<style>{PAGE_CSS}</style>\n</head>\n"
                f"<body>\n{back}\n<main>\n{body}\n</main>\n</body>\n</html>\n")


CELL_CSS = """
#ID .v { white-space: nowrap; font-variant-numeric: tabular-nums; }
#ID .ci { display: block; font-size: 11px; color: #5b6770; white-space: nowrap; font-variant-numeric: tabular-nums; }
#ID .nn { display: block; font-size: 10.5px; color: #8a949c; white-space: nowrap; }
#ID .sig { display: inline-block; width: 0.6em; text-align: left; color: #b3261e; font-weight: bold;
           vertical-align: super; font-size: 11px; line-height: 1; }
#ID .has-sig .ci, #ID .has-sig .nn { padding-right: 0.6em; }
#ID .sup { color: #5b6770; }
#ID .gt_sourcenote { line-height: 1.35; }
#ID .gt_title { color: #1f3a5f; }
"""

PAGE_CSS = """
body { font-family: "Segoe UI", "Helvetica Neue", Arial, "Liberation Sans", sans-serif; margin: 24px;
       color: #1b1f24; background: #fff; }
main { max-width: 1100px; }
a { color: #1f5f9f; }
p.back { font-size: 13px; margin: 0 0 12px 0; }
"""


def strip_external(fragment: str) -> str:
    """Remove references to external resources (web-font imports) so a page works offline."""
    lines = [ln for ln in fragment.splitlines() if "@import" not in ln and "fonts.googleapis" not in ln]
    return "\n".join(lines)


def _css_id(table_id: str) -> str:
    return "t-" + "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in table_id)


def _cell_html(idx: Mapping[tuple[str, str, str], tuple[Any, str, bool]], rk: str, ck: str,
               stats: Sequence[str]) -> str:
    """HTML of one display cell: main value (+ change marker), CI on a second line, n on a third."""
    main_stat, main = next(((s, idx[(rk, ck, s)]) for s in ("est", "diff", "or") if (rk, ck, s) in idx),
                           ("", None))
    if main is None:
        return NOT_AVAILABLE
    _, text, hidden = main
    if hidden:
        if (rk, ck, "sig") in idx:
            return f'<div class="has-sig"><span class="v">{SUPPRESSED}<span class="sig"></span></span></div>'
        return SUPPRESSED
    out = f'<span class="v">{html.escape(text)}'
    sig = idx.get((rk, ck, "sig"))
    if sig is not None:   # fixed-width slot so marked and unmarked values stay aligned
        out += f'<span class="sig">{html.escape(sig[1])}</span>'
    out += "</span>"
    lo, hi = idx.get((rk, ck, "lo")), idx.get((rk, ck, "hi"))
    if lo is not None and hi is not None and lo[0] is not None and hi[0] is not None:
        if main_stat == "diff":
            ci = f"{swedish_pp(lo[0])} till {swedish_pp(hi[0])}"
        elif main_stat == "or":
            ci = f"{swedish_number(lo[0], 3)}{EN_DASH}{swedish_number(hi[0], 3)}"
        else:
            ci = f"{swedish_number(lo[0] * 100, 1)}{EN_DASH}{swedish_number(hi[0] * 100, 1)}"
        out += f'<span class="ci">({html.escape(ci)})</span>'
    n = idx.get((rk, ck, "n"))
    if n is not None and n[0] is not None:
        out += f'<span class="nn">n{NBSP}={NBSP}{html.escape(n[1])}</span>'
    p = idx.get((rk, ck, "p"))
    if p is not None and p[0] is not None:
        rel = NBSP if p[1].startswith("<") else f"{NBSP}={NBSP}"
        out += f'<span class="nn">p{rel}{html.escape(p[1])}</span>'
    return f'<div class="has-sig">{out}</div>' if sig is not None else out


# ---------------------------------------------------------------------------------------------------------
# Helpers shared by the builders
# ---------------------------------------------------------------------------------------------------------
def hidden_mask(estimates: pd.DataFrame, min_n: int) -> pd.Series:
    """True where an estimate must not be published: flagged, n under ``min_n``, or no estimate."""
    supp = estimates["suppressed"].map(_as_bool) if "suppressed" in estimates else False
    n = pd.to_numeric(estimates["n"], errors="coerce")
    return (supp | n.isna() | (n < min_n) | pd.to_numeric(estimates["estimate"], errors="coerce").isna()
            ).astype(bool)


def _as_bool(v: Any) -> bool:
    if isinstance(v, str):
        return v.strip().lower() in ("true", "1", "yes", "ja")
    return bool(v) if not _missing(v) else False


def district_estimates(estimates: pd.DataFrame) -> pd.DataFrame:
    """The district-level rows (domain ``district`` or no domain column)."""
    if "domain" in estimates.columns:
        dom = estimates["domain"].astype("object").where(estimates["domain"].notna(), "district")
        return estimates[dom == "district"]
    return estimates


def district_order(districts: Iterable[str]) -> list[str]:
    """Districts in plain code-point order, ``Totalt`` last."""
    ds = sorted({str(d) for d in districts} - {TOTAL})
    return ds + ([TOTAL] if TOTAL in {str(d) for d in districts} else [])


def indicator_label(codebook: Codebook | None, name: str) -> str:
    for ind in (codebook.indicators if codebook else ()):
        if ind.name == name:
            return ind.label_sv or name
    return name


def indicator_of(codebook: Codebook | None, name: str) -> Indicator | None:
    for ind in (codebook.indicators if codebook else ()):
        if ind.name == name:
            return ind
    return None


def question_text(codebook: Codebook | None, name: str) -> str:
    ind = indicator_of(codebook, name)
    if ind is None or codebook is None:
        return ""
    try:
        item = codebook.item(ind.item)
    except KeyError:
        return ""
    codes = ", ".join(f"{c} {lab}" for c, lab in item.codes.items() if c in ind.numerator)
    return f"Fråga: {item.text_sv} Andelen avser svaren {codes}." if codes else f"Fråga: {item.text_sv}"


def question_notes(texts: Sequence[str]) -> list[str]:
    """One footnote for several questions that differ only in the middle ("Hur stort problem är … ?")."""
    if len(texts) <= 1:
        return [f"Fråga: {t}" for t in texts]
    pre = os.path.commonprefix(list(texts))
    suf = os.path.commonprefix([t[::-1] for t in texts])[::-1]
    pre = pre[: pre.rfind(" ") + 1] if " " in pre else ""
    suf = suf[suf.find(" "):] if " " in suf else ""
    if len(pre) < 8:
        return [f"Fråga: {t}" for t in texts]
    middles = [t[len(pre): len(t) - len(suf)].strip() for t in texts]
    return [f"Fråga: {pre.strip()} … {suf.strip()} (… = {', '.join(middles)})."]


def indicator_group(codebook: Codebook | None, name: str) -> str:
    """The report group of an indicator: the codebook's ``group`` or, failing that, its name prefix."""
    ind = indicator_of(codebook, name)
    if ind is not None and ind.group:
        return ind.group
    for prefix, group in (("problem_", "problem"), ("victim_", "utsatthet"), ("police_", "polis")):
        if name.startswith(prefix):
            return group
    return "trygghet"


class _CellBuilder:
    """Accumulates cells, applying the disclosure rule once per display cell."""

    def __init__(self) -> None:
        self.recs: list[dict[str, Any]] = []

    def add(self, rk: str, ck: str, values: Mapping[str, Any], hidden: bool) -> None:
        for stat, v in values.items():
            if hidden:
                self.recs.append({"row_key": rk, "column_key": ck, "stat": stat, "value": None,
                                  "text": SUPPRESSED, "suppressed": True})
            else:
                val = None if _missing(v) else float(v)
                self.recs.append({"row_key": rk, "column_key": ck, "stat": stat, "value": val,
                                  "text": cell_text(stat, val) if val is not None or stat == "sig"
                                  else NOT_AVAILABLE, "suppressed": False})

    def frame(self) -> pd.DataFrame:
        df = pd.DataFrame.from_records(self.recs, columns=CELL_COLUMNS)
        df["value"] = df["value"].astype(object).where(df["value"].notna(), None)
        return df


def _sig_lookup(comparisons: pd.DataFrame | None, kind: str = "previous_year") -> dict[tuple, bool]:
    """(year, district, indicator) -> significant, for comparisons of ``kind``."""
    if comparisons is None or comparisons.empty:
        return {}
    c = comparisons[comparisons["comparison"] == kind]
    return {(int(y), str(d), str(i)): _as_bool(s)
            for y, d, i, s in c[["year", "district", "indicator", "significant"]].itertuples(index=False)}


def _est_index(est: pd.DataFrame, min_n: int, extra_keys: Sequence[str] = ()) -> dict[tuple, tuple]:
    """(year, district, indicator, *extra) -> (estimate, ci_low, ci_high, n, hidden)."""
    hid = hidden_mask(est, min_n)
    keys = ["year", "district", "indicator", *extra_keys]
    out = {}
    for rec, h in zip(est[keys + ["estimate", "ci_low", "ci_high", "n"]].itertuples(index=False), hid):
        k = (int(rec[0]), str(rec[1]), str(rec[2]), *[str(x) for x in rec[3:3 + len(extra_keys)]])
        out[k] = (*rec[3 + len(extra_keys):], bool(h))
    return out


def _share_values(e: tuple, sig: bool | None) -> dict[str, Any]:
    estimate, lo, hi, n, _ = e
    vals: dict[str, Any] = {"est": estimate, "lo": lo, "hi": hi, "n": n}
    vals["sig"] = 1.0 if sig else 0.0
    return vals


def standard_footnotes(min_n: int, *, change_marker: bool = True) -> list[str]:
    notes = ["Andel i procent. Under varje andel: 95 % konfidensintervall inom parentes och ovägt antal "
             "svarande (n).",
             "Bas: alla som besvarat frågan, inklusive ”vet ej”/”ingen uppfattning”; obesvarade frågor ingår inte."]
    if change_marker:
        notes.append(f"{SIG_MARK} Statistiskt säkerställd förändring jämfört med föregående år (5 % nivå, "
                     "test av skillnaden med dess standardfel).")
    notes.append(f"{SUPPRESSED} Uppgiften redovisas inte: för få svarande (färre än {min_n}) eller för osäker.")
    return notes


def method_note(run_meta: Mapping[str, Any]) -> str:
    return "Metod: " + str(run_meta.get(
        "method", "vägda andelar; vikter kalibrerade (raking) mot befolkningen efter område × kön och "
        "område × åldersgrupp; standardfel med Taylorlinjärisering som tar hänsyn till kalibreringen; "
        "konfidensintervall på logitskala.")).rstrip(".") + "."


def source_line(run_meta: Mapping[str, Any], codebook: Codebook | None) -> str:
    src = run_meta.get("data_source", "Trygghetsundersökning")
    date = run_meta.get("date", "")
    cb = (f"kodbok {codebook.name} v{codebook.version}" if codebook
          else f"kodbok {run_meta.get('codebook_version', 'okänd')}")
    if codebook is None and run_meta.get("codebook_version"):
        cb = f"kodbok v{run_meta['codebook_version']}"
    run = run_meta.get("run_id", "")
    parts = [f"Källa: {src}" + (f", {date}" if date else ""), cb]
    if run:
        parts.append(f"körning {run}")
    return "; ".join(parts) + "."


# ---------------------------------------------------------------------------------------------------------
# Builders
# ---------------------------------------------------------------------------------------------------------
def district_table(estimates: pd.DataFrame, comparisons: pd.DataFrame | None, codebook: Codebook | None,
                   indicator: str, run_meta: Mapping[str, Any], *, min_n: int = 30) -> TableData:
    """Rows = districts and ``Totalt``, columns = years; share, CI, n and change marker per cell."""
    est = district_estimates(estimates)
    est = est[est["indicator"] == indicator]
    years = sorted(int(y) for y in est["year"].unique())
    districts = district_order(est["district"].unique())
    idx = _est_index(est, min_n)
    sig = _sig_lookup(comparisons)
    cb = _CellBuilder()
    for d in districts:
        for y in years:
            e = idx.get((y, d, indicator))
            if e is None:
                continue
            prev = idx.get((y - 1, d, indicator))
            # the marker compares with a hidden cell only if both are visible
            s = sig.get((y, d, indicator)) if prev is not None and not prev[4] else None
            cb.add(d, str(y), _share_values(e, s), e[4])
    label = indicator_label(codebook, indicator)
    notes = [n for n in [question_text(codebook, indicator)] if n]
    notes += standard_footnotes(min_n) + [method_note(run_meta)]
    return TableData(
        table_id=f"district_{indicator}", year=max(years) if years else 0,
        title=f"{label}, per område och år",
        subtitle=f"Andel i procent, {years[0]}–{years[-1]}" if len(years) > 1 else
        (f"Andel i procent, {years[0]}" if years else ""),
        kind="district", rows=[(d, d) for d in districts], columns=[(str(y), str(y)) for y in years],
        stats=["est", "lo", "hi", "n", "sig"],
        dims={"row": "district", "column": "year", "fixed": {"indicator": indicator}},
        cells=cb.frame(), stub_label="Område", column_spanners={str(y): "År" for y in years},
        footnotes=notes, source_note=source_line(run_meta, codebook))


GROUP_TITLES = {"problem": ("problems", "Problem i bostadsområdet: andel som anser att det är ett mycket eller "
                            "ganska stort problem"),
                "utsatthet": ("victimisation", "Utsatthet för brott de senaste 12 månaderna"),
                "polis": ("trust", "Förtroende: polisen bryr sig om de lokala problemen")}


def group_table(estimates: pd.DataFrame, comparisons: pd.DataFrame | None, codebook: Codebook | None,
                group: str, year: int, run_meta: Mapping[str, Any], *, min_n: int = 30,
                table_id: str | None = None, title: str | None = None) -> TableData | None:
    """Rows = districts and ``Totalt``, columns = the indicators of ``group``, for one year.

    Returns ``None`` when no indicator of the group has estimates.
    """
    est = district_estimates(estimates)
    est = est[est["year"].astype(int) == int(year)]
    inds = [i for i in dict.fromkeys(est["indicator"].astype(str)) if indicator_group(codebook, i) == group]
    if codebook is not None:   # codebook order
        order = [i.name for i in codebook.indicators]
        inds.sort(key=lambda i: order.index(i) if i in order else len(order))
    if not inds:
        return None
    est = est[est["indicator"].isin(inds)]
    districts = district_order(est["district"].unique())
    idx = _est_index(district_estimates(estimates), min_n)
    sig = _sig_lookup(comparisons)
    cb = _CellBuilder()
    for d in districts:
        for i in inds:
            e = idx.get((int(year), d, i))
            if e is None:
                continue
            prev = idx.get((int(year) - 1, d, i))
            s = sig.get((int(year), d, i)) if prev is not None and not prev[4] else None
            cb.add(d, i, _share_values(e, s), e[4])
    default_id, default_title = GROUP_TITLES.get(group, (f"group_{group}", group.capitalize()))
    notes = []
    if len(inds) > 0 and codebook is not None:
        texts = {codebook.item(ind.item).text_sv for ind in codebook.indicators
                 if ind.name in inds and ind.item in codebook.item_names}
        notes += question_notes(sorted(texts))
    notes += standard_footnotes(min_n) + [method_note(run_meta)]
    return TableData(
        table_id=table_id or default_id, year=int(year), title=title or default_title,
        subtitle=f"Andel i procent, {year}", kind="group", rows=[(d, d) for d in districts],
        columns=[(i, short_label(indicator_label(codebook, i))) for i in inds],
        stats=["est", "lo", "hi", "n", "sig"],
        dims={"row": "district", "column": "indicator", "fixed": {"year": int(year)}},
        cells=cb.frame(), stub_label="Område", footnotes=notes, source_note=source_line(run_meta, codebook))


DOMAIN_LABELS = {"sex": "Kön", "age_group": "Åldersgrupp"}


def domain_table(estimates: pd.DataFrame, codebook: Codebook | None, year: int,
                 run_meta: Mapping[str, Any], *, min_n: int = 30) -> TableData | None:
    """``Totalt`` by sex and age group: rows = indicators, columns = groups (spanners Kön, Åldersgrupp).

    Needs the optional ``domain``/``group`` columns; returns ``None`` when the estimates have no such domains.
    """
    if "domain" not in estimates.columns or "group" not in estimates.columns:
        return None
    est = estimates[(estimates["domain"].isin(list(DOMAIN_LABELS))) & (estimates["district"] == TOTAL)
                    & (estimates["year"].astype(int) == int(year))]
    if est.empty:
        return None
    idx = _est_index(est, min_n, extra_keys=["group"])
    inds = list(dict.fromkeys(est["indicator"].astype(str)))
    if codebook is not None:
        order = [i.name for i in codebook.indicators]
        inds.sort(key=lambda i: order.index(i) if i in order else len(order))
    columns: list[tuple[str, str]] = []
    spanners: dict[str, str] = {}
    for dom, lab in DOMAIN_LABELS.items():
        groups = sorted(est.loc[est["domain"] == dom, "group"].astype(str).unique())
        for g in groups:
            columns.append((g, g))
            spanners[g] = lab
    cb = _CellBuilder()
    for i in inds:
        for g, _ in columns:
            e = idx.get((int(year), TOTAL, i, g))
            if e is not None:
                cb.add(i, g, {"est": e[0], "lo": e[1], "hi": e[2], "n": e[3]}, e[4])
    notes = standard_footnotes(min_n, change_marker=False) + [method_note(run_meta)]
    return TableData(
        table_id="groups", year=int(year), title=f"Samtliga områden efter kön och åldersgrupp, {year}",
        subtitle="Andel i procent", kind="domain", rows=[(i, indicator_label(codebook, i)) for i in inds],
        columns=columns, stats=["est", "lo", "hi", "n"],
        dims={"row": "indicator", "column": "group", "fixed": {"year": int(year), "district": TOTAL}},
        cells=cb.frame(), stub_label="Indikator", column_spanners=spanners, footnotes=notes,
        source_note=source_line(run_meta, codebook))


def comparison_table(compared: pd.DataFrame, codebook: Codebook | None, a: str, b: str, year: int,
                     run_meta: Mapping[str, Any], *, min_n: int = 30, table_id: str | None = None) -> TableData:
    """Two districts over all indicators for one year: both shares, difference (procentenheter) with CI, p.

    ``compared`` is the frame of :func:`reports.publish.compare_districts` (already disclosure-checked).
    """
    df = compared[compared["year"].astype(int) == int(year)]
    cb = _CellBuilder()
    rows, groups = [], {}
    for r in df.itertuples(index=False):
        ind = str(r.indicator)
        rows.append((ind, indicator_label(codebook, ind)))
        groups[ind] = GROUP_LABELS.get(indicator_group(codebook, ind), indicator_group(codebook, ind))
        cb.add(ind, "a", {"est": r.estimate_a, "lo": r.ci_low_a, "hi": r.ci_high_a, "n": r.n_a}, r.hidden_a)
        cb.add(ind, "b", {"est": r.estimate_b, "lo": r.ci_low_b, "hi": r.ci_high_b, "n": r.n_b}, r.hidden_b)
        cb.add(ind, "diff", {"diff": r.difference, "lo": r.ci_low, "hi": r.ci_high, "p": r.p_value,
                             "sig": 1.0 if r.significant else 0.0}, r.hidden_a or r.hidden_b)
    slug = f"cmp_{slugify(a)}_{slugify(b)}_{year}"
    notes = [f"Andel i procent med 95 % konfidensintervall och ovägt antal svarande (n). Skillnad = {a} "
             f"minus {b}, i procentenheter, med 95 % konfidensintervall och p-värde.",
             f"{SIG_MARK} Statistiskt säkerställd skillnad (5 % nivå).",
             f"{SUPPRESSED} Uppgiften redovisas inte: för få svarande (färre än {min_n}) eller för osäker; "
             "då redovisas inte heller skillnaden.", method_note(run_meta)]
    return TableData(
        table_id=table_id or slug, year=int(year), title=f"{a} jämfört med {b}, {year}",
        subtitle="Andel i procent och skillnad i procentenheter", kind="compare", rows=rows,
        columns=[("a", a), ("b", b), ("diff", "Skillnad (procentenheter)")],
        stats=["est", "diff", "lo", "hi", "n", "p", "sig"],
        dims={"row": "indicator", "column": "district", "fixed": {"year": int(year)},
              "column_districts": {"a": a, "b": b, "diff": f"{a} {EN_DASH} {b}"}},
        cells=cb.frame(), stub_label="Indikator", row_groups=groups, footnotes=notes,
        source_note=source_line(run_meta, codebook))


def trend_table(trend: pd.DataFrame, codebook: Codebook | None, year: int,
                run_meta: Mapping[str, Any]) -> TableData | None:
    """Yearly trend per indicator from the survey-weighted logistic model: odds ratio per year with CI."""
    if trend is None or trend.empty:
        return None
    t = trend[trend["term"] == "year"]
    if t.empty:
        return None
    cb = _CellBuilder()
    rows = []
    inds = list(dict.fromkeys(t["indicator"].astype(str)))
    if codebook is not None:
        order = [i.name for i in codebook.indicators]
        inds.sort(key=lambda i: order.index(i) if i in order else len(order))
    recs = []
    for ind in inds:
        r = t[t["indicator"] == ind].iloc[0]
        b, se = float(r["estimate"]), float(r["se"])
        rows.append((ind, indicator_label(codebook, ind)))
        z = b / se if se > 0 else float("nan")
        from math import erf, sqrt
        p = 2 * (1 - 0.5 * (1 + erf(abs(z) / sqrt(2)))) if not math.isnan(z) else float("nan")
        recs.append((ind, math.exp(b), math.exp(b - 1.959964 * se), math.exp(b + 1.959964 * se), p))
    for ind, orr, lo, hi, p in recs:
        for stat, v in (("or", orr), ("lo", lo), ("hi", hi)):
            cb.recs.append({"row_key": ind, "column_key": "or", "stat": stat, "value": v,
                            "text": swedish_number(v, 3), "suppressed": False})
        cb.recs.append({"row_key": ind, "column_key": "or", "stat": "p", "value": p,
                        "text": swedish_p(p), "suppressed": False})
        cb.recs.append({"row_key": ind, "column_key": "or", "stat": "sig", "value": 1.0 if p < 0.05 else 0.0,
                        "text": SIG_MARK if p < 0.05 else "", "suppressed": False})
    return TableData(
        table_id="trend", year=int(year), title="Trend: förändring per år", subtitle=(
            "Oddskvot per år från vägd logistisk regression (indikator ~ år + område)"),
        kind="trend", rows=rows, columns=[("or", "Oddskvot per år")], stats=["or", "lo", "hi", "p", "sig"],
        dims={"row": "indicator", "column": "measure", "fixed": {}}, cells=cb.frame(),
        stub_label="Indikator",
        footnotes=["Oddskvot över 1 = andelen ökar över tid, under 1 = minskar. 95 % konfidensintervall och "
                   "p-värde från designbaserade standardfel (normalapproximation).",
                   f"{SIG_MARK} Statistiskt säkerställd trend (5 % nivå).", method_note(run_meta)],
        source_note=source_line(run_meta, codebook))


GROUP_LABELS = {"trygghet": "Trygghet", "oro": "Oro", "problem": "Problem i bostadsområdet",
                "utsatthet": "Utsatthet för brott", "polis": "Polisen"}


def short_label(label: str) -> str:
    """A column-header form of an indicator label: ``Andel som ser klotter som ett stort problem`` → ``Klotter``."""
    s = label
    for pat in (r"^Andel som ser ", r" som ett stort problem$", r"^Andel utsatta för ",
                r" senaste 12 månaderna$", r"^Andel (som )?"):
        s = re.sub(pat, "", s)
    s = s.strip()
    return (s[:1].upper() + s[1:]) if s else label


def slugify(s: str) -> str:
    """ASCII file-name slug: ``Älvsjö-Ängby`` → ``alvsjo-angby``."""
    tr = str.maketrans({"å": "a", "ä": "a", "ö": "o", "Å": "a", "Ä": "a", "Ö": "o", "é": "e", "ü": "u"})
    s = s.translate(tr).lower()
    return "".join(ch if ch.isalnum() else "-" for ch in s).strip("-")
