"""great-tables rendering of a :class:`reports.tabledata.TableData`: the HTML table that the pages embed and
that Chromium turns into PNG and PDF.

Each display cell is rendered by the Jinja2 template ``templates/cell.html`` (autoescaped): the main value
with its marker, the CI, ``n``, the change since the previous year and the p-values on small lines. Titles,
labels, row names and notes are escaped by great-tables itself.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import pandas as pd
from great_tables import GT

from reports.formats import EN_DASH, NBSP, NOT_AVAILABLE, SUPPRESSED, swedish_number, swedish_pp
from reports.gt_body import splice_body
from reports.tabledata import TableData
from reports.templating import environment, resource_text

if TYPE_CHECKING:  # pragma: no cover
    from great_tables._text import BaseText

FONTS = ["Source Sans 3", "Segoe UI", "Helvetica Neue", "Arial", "Liberation Sans", "sans-serif"]
MAIN_STATS = ("est", "diff", "or")


def css_id(table_id: str) -> str:
    return "t-" + "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in table_id)


def strip_external(fragment: str) -> str:
    """Remove references to external resources (web-font imports) so a page works offline."""
    return "\n".join(ln for ln in fragment.splitlines() if "@import" not in ln and "fonts.googleapis" not in ln)


def _ci_text(main_stat: str, lo: float, hi: float) -> str:
    if main_stat == "diff":
        return f"({swedish_pp(lo)} till {swedish_pp(hi)})"
    if main_stat == "or":
        return f"({swedish_number(lo, 3)}{EN_DASH}{swedish_number(hi, 3)})"
    return f"({swedish_number(lo * 100, 1)}{EN_DASH}{swedish_number(hi * 100, 1)})"


def _p_text(label: str, cell: tuple[Any, str, bool] | None) -> str | None:
    if cell is None or cell[0] is None or cell[2]:
        return None
    rel = NBSP if cell[1].startswith("<") else f"{NBSP}={NBSP}"
    return f"{label}{rel}{cell[1]}"


def cell_parts(idx: Mapping[tuple[str, str, str], tuple[Any, str, bool]], rk: str, ck: str) -> dict[str, Any]:
    """What one display cell shows: ``main``, ``mark`` and small ``lines`` ``(css class, text, mark)``."""
    main_stat = next((s for s in MAIN_STATS if (rk, ck, s) in idx), None)
    if main_stat is None:
        return {"hidden": False, "missing": True, "main": NOT_AVAILABLE, "mark": None, "lines": []}
    value, text, hidden = idx[(rk, ck, main_stat)]
    if hidden:
        return {"hidden": True, "missing": False, "main": SUPPRESSED, "mark": None, "lines": []}
    mark = None
    for s in ("sig", "tot_sig"):
        if (rk, ck, s) in idx:
            mark = (mark or "") + idx[(rk, ck, s)][1]
    lines: list[tuple[str, str, str | None]] = []
    lo, hi = idx.get((rk, ck, "lo")), idx.get((rk, ck, "hi"))
    if lo is not None and hi is not None and lo[0] is not None and hi[0] is not None:
        lines.append(("ci", _ci_text(main_stat, lo[0], hi[0]), None))
    n = idx.get((rk, ck, "n"))
    if n is not None and n[0] is not None:
        lines.append(("nn", f"n{NBSP}={NBSP}{n[1]}", None))
    p = _p_text("just.\u00a0p", idx.get((rk, ck, "p")))
    if p:
        lines.append(("nn", p, None))
    chg = idx.get((rk, ck, "chg"))
    if chg is not None and not chg[2] and chg[0] is not None:
        sig = idx.get((rk, ck, "chg_sig"))
        lines.append(("chg", f"{chg[1]}{NBSP}pe", sig[1] if sig else ""))
        pc = _p_text("just.\u00a0p", idx.get((rk, ck, "chg_p")))
        if pc:
            lines.append(("nn", pc, None))
    pt = _p_text(f"jfr{NBSP}Totalt{NBSP}p", idx.get((rk, ck, "tot_p")))
    if pt:
        lines.append(("nn", pt, None))
    return {"hidden": False, "missing": False, "main": text, "mark": mark, "lines": lines}


def table_cell_parts(
    t: TableData, idx: Mapping[tuple[str, str, str], tuple[Any, str, bool]], rk: str, ck: str
) -> dict[str, Any]:
    """:func:`cell_parts` in the table's language (English lines for a table of ``--lang en``)."""
    c = cell_parts(idx, rk, ck)
    if t.dims.get("lang") == "en":
        from reports.translate import english_parts

        c = english_parts(c)
    return c


CELL_SEP = "<!--cell-->"  # between the cells rendered by one cell.html call; escaped text never has a "<"


def display_cells(t: TableData) -> dict[str, list[str]]:
    """The HTML content of every display cell, ``{column_key: [cell of each row]}``, rendered by one call of
    the ``cell.html`` template (autoescaped) for the whole table."""
    idx = t.index()
    parts = [table_cell_parts(t, idx, rk, ck) for ck, _ in t.columns for rk, _ in t.rows]
    flat = environment().get_template("cell.html").render(cells=parts, sep=CELL_SEP).split(CELL_SEP) if parts else []
    n = len(t.rows)
    return {ck: flat[j * n : (j + 1) * n] for j, (ck, _) in enumerate(t.columns)}


def display_frame(t: TableData, cells: Mapping[str, list[str]] | None = None, rows: int | None = None) -> pd.DataFrame:
    """Wide frame of HTML cell contents (one column per display column), for great-tables; ``rows``: only the
    first ones (the frame of :func:`table_html`'s frame-only render)."""
    cells = display_cells(t) if cells is None else cells
    k = len(t.rows) if rows is None else rows
    data: dict[str, list[str]] = {"_row": [lab for _, lab in t.rows[:k]]}
    if t.row_groups:
        data["_group"] = [t.row_groups.get(key, "") for key, _ in t.rows[:k]]
    for ck, _ in t.columns:
        data[ck] = cells[ck][:k]
    return pd.DataFrame(data, dtype=object)


def widths(t: TableData) -> tuple[int, list[int]]:
    """Pixel widths of the stub and of each display column (fixed layout: footnotes wrap)."""
    longest = max([len(lab) for _, lab in t.rows] + [len(t.stub_label), 8])
    stub_w = min(400, max(130, 8 * longest + 24))
    has_change = "chg" in t.stats or "tot_p" in t.stats
    col_w = []
    for ck, lab in t.columns:
        base = 150 if ck == "diff" else (124 if has_change else 112)
        words = max((len(w) for w in lab.split()), default=4)
        col_w.append(max(base, 8 * words + 20))
    total = stub_w + sum(col_w)
    if total < 620:  # narrow tables: widen the stub so footnotes stay readable
        stub_w += 620 - total
    return stub_w, col_w


def to_gt(t: TableData, frame: Any = None) -> GT:
    """The great-tables object (Swedish headings, footnotes and source line); ``frame``: the display frame
    when not every row of :func:`display_frame`."""
    frame = display_frame(t) if frame is None else frame
    gt = GT(frame, rowname_col="_row", groupname_col="_group" if t.row_groups else None)
    gt = gt.with_id(css_id(t.table_id))
    gt = gt.fmt(lambda v: v, columns=[c for c, _ in t.columns])  # cells are autoescaped Jinja output
    gt = gt.tab_header(title=t.title, subtitle=t.subtitle or None)
    labels: dict[str, str | BaseText] = {c: lab for c, lab in t.columns}
    gt = gt.cols_label(cases=labels)
    if t.stub_label:
        gt = gt.tab_stubhead(label=t.stub_label)
    for spanner in dict.fromkeys(t.column_spanners.values()):
        gt = gt.tab_spanner(label=spanner, columns=[c for c, _ in t.columns if t.column_spanners.get(c) == spanner])
    gt = gt.cols_align(align="right", columns=[c for c, _ in t.columns])
    stub_w, col_w = widths(t)
    gt = gt.cols_width({"_row": f"{stub_w}px", **{c: f"{w}px" for (c, _), w in zip(t.columns, col_w)}})
    for note in [*t.footnotes, t.source_note]:
        if note:
            gt = gt.tab_source_note(note)
    gt = gt.tab_options(
        table_font_names=FONTS,
        table_font_size="14px",
        heading_title_font_size="18px",
        heading_subtitle_font_size="13px",
        heading_align="left",
        column_labels_font_weight="bold",
        source_notes_font_size="11.5px",
        data_row_padding="4px",
        row_group_font_weight="bold",
        table_width=f"{stub_w + sum(col_w)}px",
        table_layout="fixed",
        table_border_top_color="#1f3a5f",
        table_border_top_width="3px",
        column_labels_border_bottom_color="#1f3a5f",
        stub_border_color="#d0d7de",
        table_body_hlines_color="#e5e9ef",
        row_group_background_color="#f3f6f9",
    )
    return gt.opt_css(resource_text("cell.css").replace("#ID", "#" + css_id(t.table_id)))


_HTML_CACHE: ContextVar[dict[int, tuple[TableData, str]] | None] = ContextVar("table_html_cache", default=None)


@contextmanager
def render_once() -> Iterator[None]:
    """Within the block, :func:`table_html` renders each table object once (a publication embeds a table in
    its own page and in a collection page); the tables must not change inside the block."""
    token = _HTML_CACHE.set({})
    try:
        yield
    finally:
        _HTML_CACHE.reset(token)


def table_html(t: TableData) -> str:
    """The table's HTML fragment (great-tables output without external references), as
    ``strip_external(to_gt(t).as_raw_html())`` (:func:`fast_html`)."""
    cache = _HTML_CACHE.get()
    hit = cache.get(id(t)) if cache is not None else None
    if hit is not None and hit[0] is t:
        return hit[1]
    out = strip_external(fast_html(t))
    if cache is not None:
        cache[id(t)] = (t, out)
    return out


def fast_html(t: TableData) -> str:
    """great-tables' HTML of the table: great-tables renders the table with its first row, every row is
    written into it by :func:`reports.gt_body.splice_body` (the whole table by great-tables when the first
    row does not come out the same)."""
    cells = display_cells(t)
    if not t.rows or not t.columns:
        return to_gt(t, display_frame(t, cells)).as_raw_html()
    import pyarrow as pa

    first = display_frame(t, cells, rows=1)
    frame = pa.table({c: pa.array(first[c].tolist(), pa.string()) for c in first.columns})
    with warnings.catch_warnings():  # great-tables' pyarrow backend: one row, the same HTML as pandas'
        warnings.filterwarnings("ignore", message="PyArrow Table support is currently experimental")
        skeleton = to_gt(t, frame).as_raw_html()
    groups = [t.row_groups.get(k, "") for k, _ in t.rows] if t.row_groups else None
    out = splice_body(
        skeleton, css_id(t.table_id), [lab for _, lab in t.rows], groups, [c for c, _ in t.columns], cells
    )
    return out if out is not None else to_gt(t, display_frame(t, cells)).as_raw_html()


def full_html(t: TableData) -> str:
    """great-tables' rendering of the whole table, cell by cell (the reference of :func:`fast_html`)."""
    return to_gt(t).as_raw_html()
