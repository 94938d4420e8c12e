"""The disclosure scanner: checks written artefacts (and the table store) for respondent ids, free text and
hidden values. Tests run it over every output of a run; it is independent of the builders, which hide cells
on their own (:mod:`reports.disclosure`).

Two kinds of check (see :func:`scan_disclosure`):

- by provenance, for every machine-readable table (long CSV in both dialects, PC-Axis, JSON-stat, the
  store and its JSON export, the comparison page's embedded data): each cell is identified by its keys and
  must not carry a value when its estimate (or one it depends on) is hidden (:mod:`reports.scan_cells`);
- by number matching, for free-form artefacts (HTML text and tables, XLSX sheets, SVG and PNG text): shares
  shown at display precision in a table cell labelled with the hidden cell's district/group, year and
  indicator; any number that renders a hidden value at more than display precision.
"""

from __future__ import annotations

import bisect
import contextlib
import csv
import html
import io
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from reports.disclosure import protect
from reports.formats import TOTAL
from reports.scan_cells import (
    TIDY_COLUMNS,
    CellFinding,
    CellIndex,
    check_cube,
    check_page_data,
    check_table_json,
    check_tidy,
    jsonstat_cube,
    px_cube,
)
from reports.scan_grids import PERCENT_AFTER, HtmlGrids, ShareGrid, grid_hits, id_tokens


@dataclass(frozen=True)
class DisclosureFinding:
    """Something a published artefact must not contain."""

    path: str
    kind: str  # respondent_id | free_text | hidden_value | suppressed_with_value
    detail: str

    def __str__(self) -> str:
        return f"{self.path}: {self.kind}: {self.detail}"


_DECIMAL_TOKEN = re.compile(r"(?<!\d)\d+[.,]\d+(?!\d)")
_RATIO_SHAPE = re.compile(r"^\d[.,]\d{3}$")  # 1,064: an odds ratio or p-value as published, not a per cent
_ID_RUN = re.compile(r"[\w.,\-]+")
_WORDS = re.compile(r"\w+")
_SCANNED_TEXT = {".html", ".htm", ".svg", ".csv", ".json", ".md", ".txt", ".xml", ".px"}
# SVG geometry (coordinates of rounded plotted values, text positions) is not text a reader sees: a position
# like x="8.208" must not be taken for a hidden share of 8,208 %.
_SVG_GEOMETRY = re.compile(
    r"\s(?:x|y|dx|dy|d|transform|points|width|height|viewBox|x1|x2|y1|y2|cx|cy|r|rx|ry|"
    r'style|clip-path|stroke-dasharray|stroke-width)="[^"]*"'
)


#: Numbers within this of zero are floating noise (an SE of 1.5e-11 where the true one is 0; its digits
#: differ between machines): they reveal nothing and are printed as 0,0.
NOISE = 1e-9


def _informative(v: float) -> bool:
    """A hidden value whose full-precision appearance would identify it: not 0 or 1 up to :data:`NOISE` and
    not a decimal with at most three digits (``0.5``, ``0.25``), which rounded published values also are."""
    return abs(v) > NOISE and abs(v - 1.0) > NOISE and abs(v - round(v, 3)) > 1e-12


class _Sensitive:
    """The values and strings a publication must not contain, derived from the estimates and inputs."""

    def __init__(
        self,
        estimates: pd.DataFrame,
        comparisons: pd.DataFrame | None,
        min_n: int,
        respondent_ids: Iterable[Any],
        free_text: Iterable[Any],
    ) -> None:
        prot = protect(estimates, min_n)
        self.index = CellIndex(prot)
        self.grid = ShareGrid(self.index)
        hidden_values = [
            v
            for e in self.index.cells.values()
            if e.hidden
            for v in (e.estimate, e.ci_low, e.ci_high)
            if not math.isnan(v) and _informative(v)
        ]
        hidden_diffs = [v for v in self._hidden_diffs(comparisons) if abs(v) > NOISE]
        everything = hidden_values + hidden_diffs
        self._sorted = sorted(everything + [v * 100 for v in everything])
        self.fingerprints = self._fingerprints(everything)
        self.ids = {str(i).strip() for i in respondent_ids if len(str(i).strip()) >= 4}
        self.fragments: dict[tuple[str, ...], list[tuple[tuple[str, ...], str]]] = {}
        for frag in self._free_text(free_text):
            words = tuple(_WORDS.findall(frag))
            if words:
                self.fragments.setdefault(words[:2], []).append((words, frag))

    def _hidden_diffs(self, comparisons: pd.DataFrame | None) -> list[float]:
        """Differences that involve a hidden estimate (they would reveal it)."""
        if comparisons is None or comparisons.empty:
            return []
        cells = self.index.cells
        out: list[float] = []
        cols = ("other", "district", "comparison", "year", "indicator", "difference", "se", "ci_low", "ci_high")
        for other_v, district, comparison, year, indicator, *diffs in zip(*(comparisons[c].tolist() for c in cols)):
            other = str(other_v)
            oy, od = (
                (int(float(other)), str(district))
                if comparison == "previous_year"
                else (int(year), TOTAL if comparison == "vs_totalt" else other)
            )
            mine, theirs = (
                cells.get((int(year), str(district), str(indicator), "")),
                cells.get((oy, od, str(indicator), "")),
            )
            if (mine is not None and mine.hidden) or (theirs is not None and theirs.hidden):
                out += [float(v) for v in diffs if not pd.isna(v)]
        return out

    @staticmethod
    def _free_text(free_text: Iterable[Any]) -> set[str]:
        """Whole comments (10+ characters) and their sentences (12+ characters)."""
        frags: set[str] = set()
        for t in free_text:
            if t is None or (isinstance(t, float) and math.isnan(t)):
                continue
            norm = " ".join(str(t).split())
            if len(norm) >= 10:
                frags.add(norm)
            for part in re.split(r"[\n\r]+|(?<=[.!?;])\s+", str(t)):
                part = " ".join(part.split())
                if len(part) >= 12:
                    frags.add(part)
        return frags

    @staticmethod
    def _fingerprints(values: list[float]) -> dict[str, tuple[float, bool]]:
        """Renderings of hidden values at more than display precision: ``text -> (value, needs %)``. A
        per-cent rendering shaped like a published ratio or p-value (``1,064``) counts only before ``%``."""
        fp: dict[str, tuple[float, bool]] = {}
        for v in values:
            a = abs(v)
            for s, percent in ((repr(a), False), (f"{a:.4f}", False), (repr(a * 100), True)) + tuple(
                (f"{a * 100:.{k}f}", True) for k in (2, 3)
            ):
                if "e" in s or len(s.replace(".", "").lstrip("0")) < 4:
                    continue
                needs_percent = percent and bool(_RATIO_SHAPE.match(s))
                for form in (s, s.replace(".", ",")):
                    if form not in fp or not needs_percent:
                        fp[form] = (v, needs_percent)
        return fp

    def numeric_hit(self, x: float) -> float | None:
        """A hidden value equal to ``x`` at full precision (as fraction, ×100 or pp)."""
        i = bisect.bisect_left(self._sorted, x - abs(x) * 1e-9 - 1e-12)
        if i < len(self._sorted) and math.isclose(x, self._sorted[i], rel_tol=1e-9, abs_tol=1e-12):
            return self._sorted[i]
        return None


def _scan_text(path: str, text: str, sens: _Sensitive) -> list[DisclosureFinding]:
    """Respondent ids, free text and high-precision renderings of hidden values anywhere in a text."""
    found: list[DisclosureFinding] = []
    plain = html.unescape(text)
    variants = (text, plain) if plain != text else (text,)
    if sens.ids:
        hit = next(
            (
                cand
                for t in variants
                for m in _ID_RUN.finditer(t)
                for cand in (re.split(r"\.(?!\d)", m.group(0))[0],)
                if cand in sens.ids
            ),
            None,
        )
        if hit is not None:
            found.append(DisclosureFinding(path, "respondent_id", f"respondent id {hit!r}"))
    if sens.fragments:
        words = _WORDS.findall(plain)
        frag = next(
            (
                f
                for i in range(len(words))
                for key in ((words[i],), tuple(words[i : i + 2]))
                for w, f in sens.fragments.get(key, ())
                if tuple(words[i : i + len(w)]) == w
            ),
            None,
        )
        if frag is not None:
            found.append(DisclosureFinding(path, "free_text", f"free text {frag[:40]!r}"))
    seen: set[str] = set()
    for t in variants:
        for m in _DECIMAL_TOKEN.finditer(t):
            tok = m.group(0)
            if tok in seen or tok not in sens.fingerprints:
                continue
            v, needs_percent = sens.fingerprints[tok]
            i, j = m.start(), m.end()
            in_range = (
                (t[j : j + 1] in ("-", "\u2013") and t[j + 1 : j + 2].isdigit())
                or (  # "25-34,25-34"
                    t[i - 1 : i] in ("-", "\u2013") and t[i - 2 : i - 1].isdigit()
                )
            )
            if in_range or (needs_percent and not PERCENT_AFTER.match(t, j)):
                continue
            seen.add(tok)
            found.append(DisclosureFinding(path, "hidden_value", f"{tok!r} renders hidden value {v!r}"))
    return found


def _scan_html(path: str, text: str, sens: _Sensitive) -> list[DisclosureFinding]:
    parser = HtmlGrids()
    parser.feed(text)
    found = []
    for tb in parser.tables:
        head = [[c[0] for c in row] for row in tb["head"]]
        body = [[(c[0], c[2], c[3]) for c in row] for row in tb["body"]]
        hits = grid_hits(head, body, sens.grid, id_tokens(tb["id"], sens.index))
        found += [DisclosureFinding(path, "hidden_value", msg) for msg in hits]
    found += [DisclosureFinding(path, f.kind, f.detail) for f in check_page_data(text, sens.index)]
    return found


def _scan_xlsx(path: Path, sens: _Sensitive) -> list[DisclosureFinding]:
    from openpyxl import load_workbook

    found = []
    wb = load_workbook(path, data_only=False)
    for ws in wb.worksheets:
        where = f"{path}[{ws.title}]"
        grid: list[list[Any]] = [[c.value for c in row] for row in ws.iter_rows()]
        for rng in ws.merged_cells.ranges:  # spread merged header labels over their columns
            v = ws.cell(rng.min_row, rng.min_col).value
            for r in range(rng.min_row, rng.max_row + 1):
                for c in range(rng.min_col, rng.max_col + 1):
                    grid[r - 1][c - 1] = v
        texts = []
        for r, row in enumerate(grid):
            for c, v in enumerate(row):
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    if sens.numeric_hit(float(v)) is not None:
                        found.append(
                            DisclosureFinding(
                                where, "hidden_value", f"number {v!r} at row {r + 1} col {c + 1} is a hidden value"
                            )
                        )
                elif v is not None:
                    texts.append(str(v))
        found += _scan_text(where, "\n".join(texts), sens)
        # per-cent formatted numbers are shares: compared at display precision, keyed by row/column labels
        heads: list[list[str | None]] = []
        body: list[list[tuple[Any, list[float], set[str]]]] = []
        numbers_seen = False
        for r, row in enumerate(ws.iter_rows()):
            vals = grid[r]
            if any(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals):
                numbers_seen = True
            elif not numbers_seen:  # the header block: rows above the first number (not a row of "..")
                heads.append([None if v is None else str(v) for v in vals])
            shares = [
                [float(v)]
                if isinstance(v, (int, float)) and not isinstance(v, bool) and "%" in (cell.number_format or "")
                else []
                for v, cell in zip(vals, row)
            ]
            body.append([(v, s, set()) for v, s in zip(vals, shares)])
        hits = grid_hits(heads, body, sens.grid, set())  # a sheet name is a label, not a key
        found += [DisclosureFinding(where, "hidden_value", msg) for msg in hits]
    return found


def _csv_rows(text: str) -> tuple[list[list[str]], bool]:
    """The rows of a CSV (without BOM) and whether it is the Swedish-Excel dialect (semicolon, decimal comma)."""
    text = text.lstrip("\ufeff")
    first = text.split("\n", 1)[0]
    excel = first.count(";") > first.count(",")
    return list(csv.reader(io.StringIO(text), delimiter=";" if excel else ",")), excel


def _scan_csv(path: Path, text: str, sens: _Sensitive) -> list[DisclosureFinding]:
    """Fields one per line for the text search (so the delimiter of ``3,458`` is not read as a decimal
    comma), every decimal field at full precision, and a long table by provenance."""
    rows, excel = _csv_rows(text)
    found = _scan_text(str(path), "\n".join(v for row in rows for v in row), sens)
    if not rows:
        return found
    for k, row in enumerate(rows[1:], start=2):
        for v in row:
            v = v.replace(",", ".") if excel else v
            if "." not in v:
                continue
            try:
                x = float(v)
            except ValueError:
                continue
            if sens.numeric_hit(x) is not None:
                found.append(DisclosureFinding(str(path), "hidden_value", f"line {k}: {v}"))
    header = rows[0]
    if set(header) >= TIDY_COLUMNS:
        recs = (dict(zip(header, row)) for row in rows[1:])
        found += [
            DisclosureFinding(str(path), f.kind, f"line {k}: {f.detail}")
            for k, f in check_tidy(recs, sens.index, excel)
        ]
    return found


def _scan_json(path: Path, text: str, sens: _Sensitive) -> list[CellFinding]:
    try:
        obj = json.loads(text)
    except ValueError:
        return []
    if not isinstance(obj, dict):
        return []
    cube = jsonstat_cube(obj)
    if cube is not None:
        return check_cube(cube, sens.index)
    if isinstance(obj.get("meta"), dict) and isinstance(obj.get("cells"), list):  # tables export --format json
        return check_table_json(obj["meta"], pd.DataFrame(obj["cells"]), sens.index)
    return []


def _png_text(data: bytes) -> str:
    """Text chunks (tEXt/iTXt/zTXt) of a PNG: the only text a PNG carries besides its pixels."""
    import struct
    import zlib

    out, i = [], 8
    while i + 8 <= len(data):
        (length,) = struct.unpack(">I", data[i : i + 4])
        ctype = data[i + 4 : i + 8]
        chunk = data[i + 8 : i + 8 + length]
        if ctype in (b"tEXt", b"iTXt"):
            out.append(chunk.decode("latin-1" if ctype == b"tEXt" else "utf-8", "replace"))
        elif ctype == b"zTXt":
            key, _, rest = chunk.partition(b"\0")
            with contextlib.suppress(zlib.error):
                out.append(key.decode("latin-1") + " " + zlib.decompress(rest[1:]).decode("latin-1"))
        i += 12 + length
    return "\n".join(out)


def _scan_file(f: Path, sens: _Sensitive) -> list[DisclosureFinding]:
    suf = f.suffix.lower()
    if suf == ".csv":
        return _scan_csv(f, f.read_text(encoding="utf-8", errors="replace"), sens)
    if suf in _SCANNED_TEXT:
        text = f.read_text(encoding="utf-8", errors="replace")
        found = _scan_text(str(f), _SVG_GEOMETRY.sub(" ", text) if suf == ".svg" else text, sens)
        if suf in (".html", ".htm"):
            found += _scan_html(str(f), text, sens)
        elif suf == ".json":
            found += [DisclosureFinding(str(f), x.kind, x.detail) for x in _scan_json(f, text, sens)]
        elif suf == ".px":
            cube = px_cube(text)
            if cube is not None:
                found += [DisclosureFinding(str(f), x.kind, x.detail) for x in check_cube(cube, sens.index)]
        return found
    if suf == ".xlsx":
        return _scan_xlsx(f, sens)
    if suf == ".png":
        return _scan_text(str(f), _png_text(f.read_bytes()), sens)
    if suf == ".pdf":  # only the uncompressed parts (document info, metadata) are readable text
        return _scan_text(str(f), f.read_bytes().decode("latin-1"), sens)
    return []


def _scan_store(store: Any, sens: _Sensitive) -> list[DisclosureFinding]:
    found: list[DisclosureFinding] = []
    for r in store.published_tables().itertuples(index=False):
        meta, cells = store.published_table(r.table_id, int(r.year), int(r.version))
        where = f"store:{r.table_id}/{r.year}/v{r.version}"
        text = "\n".join(
            [
                json.dumps(meta, default=str, ensure_ascii=False),
                *cells["text"].astype(str),
                *cells["row_key"].astype(str),
            ]
        )
        found += _scan_text(where, text, sens)
        found += [DisclosureFinding(where, f.kind, f.detail) for f in check_table_json(meta, cells, sens.index)]
        for v, rk in zip(cells["value"], cells["row_key"].astype(str)):
            if not pd.isna(v) and sens.numeric_hit(float(v)) is not None:
                found.append(DisclosureFinding(where, "hidden_value", f"value {v!r} in row {rk}"))
    return found


def scan_disclosure(
    paths: Path | Iterable[Path],
    estimates: pd.DataFrame,
    *,
    min_n: int = 30,
    respondent_ids: Iterable[Any] = (),
    free_text: Iterable[Any] = (),
    comparisons: pd.DataFrame | None = None,
    store: Any = None,
) -> list[DisclosureFinding]:
    """Check published artefacts; returns the findings (empty = clean).

    ``paths``: files and/or directories (searched recursively). ``estimates``: every published estimate (the
    district rows and the by-group rows with ``domain``/``group``); hidden = :func:`reports.disclosure.protect`.
    Looks for
    - respondent ids (whole tokens, ids of 4+ characters) and free-text comments (whole comments and
      sentences of 12+ characters, word for word) in every text artefact, XLSX strings, SVG text and PNG text;
    - by provenance (:mod:`reports.scan_cells`), in long CSVs, PX, JSON-stat, table JSON, the store and the
      comparison page's data: a cell that depends on a hidden estimate carries a value
      (``suppressed_with_value``) or shows the hidden value of its own key (``hidden_value``);
    - hidden estimates (suppressed, ``n < min_n``, secondary) and differences involving them: at full
      precision in XLSX numbers, CSV fields and store values; as renderings at more than display precision
      (``0.3124``, ``31,24 %``) in any text; at display precision (``31,2 %``) among the share-like numbers
      (a per-cent main value and its CI; XLSX cells with a per-cent format) of an HTML or XLSX table cell
      labelled with the hidden cell's district (or sex/age group of Totalt), and its year, indicator and
      group where the labels name them — unless a visible share of the same labels is shown so too.
    Limits: PDF content streams are compressed glyph runs and are not read (PDF/PNG are renderings of the
    same great-tables HTML that is scanned); in HTML/XLSX, differences (procentenheter) and p-values are not
    matched at display precision, nor answer distributions whose column labels are answer texts (their CSV,
    PX and JSON-stat are checked by provenance); ids shorter than 4 characters and comments shorter than 10
    are not searched.
    """
    sens = _Sensitive(estimates, comparisons, min_n, respondent_ids, free_text)
    files: list[Path] = []
    for p in [paths] if isinstance(paths, (str, Path)) else paths:
        p = Path(p)
        files += sorted(x for x in p.rglob("*") if x.is_file()) if p.is_dir() else [p]
    found: list[DisclosureFinding] = []
    for f in files:
        found += _scan_file(f, sens)
    if store is not None:
        found += _scan_store(store, sens)
    return found
