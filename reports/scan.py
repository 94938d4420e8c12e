"""The disclosure scanner: checks written artefacts (and the table store) for respondent ids, free text and
hidden values. Tests run it over every output of a run; it is independent of the builders, which hide cells
on their own (:mod:`reports.disclosure`)."""

from __future__ import annotations

import contextlib
import html
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd

from reports.disclosure import protect
from reports.formats import STAT_KIND, SUPPRESSED, TOTAL


@dataclass(frozen=True)
class DisclosureFinding:
    """Something a published artefact must not contain."""

    path: str
    kind: str  # respondent_id | free_text | hidden_value | suppressed_with_value
    detail: str

    def __str__(self) -> str:
        return f"{self.path}: {self.kind}: {self.detail}"


_NUM_RE = re.compile(
    r"(?<![\d.,])[+\-\u2212]?\d{1,3}(?:[ \u00a0\u202f]\d{3})*(?:[.,]\d+)|"
    r"(?<![\d.,])[+\-\u2212]?\d+[.,]\d+"
)
_SCANNED_TEXT = {".html", ".htm", ".svg", ".csv", ".json", ".md", ".txt", ".xml", ".px"}
# SVG geometry (coordinates of rounded plotted values, text positions) is not text a reader sees: a position
# like x="8.208" must not be taken for a hidden share of 8,208 %.
_SVG_GEOMETRY = re.compile(
    r"\s(?:x|y|dx|dy|d|transform|points|width|height|viewBox|x1|x2|y1|y2|cx|cy|r|rx|ry|"
    r'style|clip-path|stroke-dasharray|stroke-width)="[^"]*"'
)


class _Grids(HTMLParser):
    """Collects HTML tables as grids of (header labels per column, body rows of cell texts)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[dict[str, list]] = []
        self._stack: list[dict[str, list]] = []
        self._row: list[tuple[str, int]] | None = None
        self._cell: list[str] | None = None
        self._span = 1
        self._in_head = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table":
            self._stack.append({"head": [], "body": []})
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr" and self._stack:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
            try:
                self._span = max(1, int(a.get("colspan") or 1))
            except ValueError:
                self._span = 1
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append((" ".join("".join(self._cell).split()), self._span))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._stack:
            expanded = [txt for txt, span in self._row for _ in range(span)]
            self._stack[-1]["head" if self._in_head else "body"].append(expanded)
            self._row = None
        elif tag == "thead":
            self._in_head = False
        elif tag == "table" and self._stack:
            self.tables.append(self._stack.pop())

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


_P_STATS = frozenset(k for k, kind in STAT_KIND.items() if kind in ("p", "flag", "direction"))
_P_TEXT = re.compile(r"\bp\s*(?:=|<|>|\u2264|\u2265)\s*[\u2212-]?\d+(?:[.,]\d+)?", re.IGNORECASE)  # "p = 0,952"


def _numbers(text: str) -> list[float]:
    """Decimal numbers in a display text (Swedish or English notation; integers are ignored)."""
    out = []
    for m in _NUM_RE.finditer(text):
        s = m.group(0).replace("\u2212", "-").replace(" ", "").replace("\u00a0", "").replace("\u202f", "")
        s = s.replace(",", ".")
        try:
            out.append(float(s))
        except ValueError:
            pass
    return out


def _informative(v: float) -> bool:
    """A hidden value whose full-precision appearance would identify it: not 0 or 1 up to 1e-9 and not a
    decimal with at most three digits (``0.5``, ``0.25``), which rounded published values also are."""
    return abs(v) > 1e-9 and abs(v - 1.0) > 1e-9 and abs(v - round(v, 3)) > 1e-12


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
        est = estimates.copy()
        if "domain" in est.columns and "group" in est.columns:
            dom = est["domain"].astype("object").where(est["domain"].notna(), "district")
            # Totalt by sex / age group: the group's label; a district's groups and answer distributions: the
            # district (their tables label rows with the district)
            by_group = (dom != "district") & (dom != "answer") & (est["district"].astype(str) == TOTAL)
            est["_entity"] = est["district"].astype(str).where(~by_group, est["group"].astype(str))
        else:
            est["_entity"] = est["district"].astype(str)
        hid = protect(est, min_n)["hidden"].astype(bool)
        stats = [c for c in ("estimate", "ci_low", "ci_high", "se") if c in est.columns]
        self.hidden_by_entity: dict[str, list[float]] = {}
        self.visible_by_entity: dict[str, list[float]] = {}
        self.hidden_values: list[float] = []
        for rec, h in zip(est[["_entity", *stats]].itertuples(index=False), hid):
            vals = [float(v) for v in rec[1:] if not pd.isna(v)]
            target = self.hidden_by_entity if h else self.visible_by_entity
            target.setdefault(rec[0], []).extend(vals[:3] if "se" in stats else vals)
            if h:
                self.hidden_values.extend(vals)
        # differences that involve a hidden estimate would reveal it
        self.hidden_diffs: list[float] = []
        if comparisons is not None and not comparisons.empty:
            key = {
                (int(y), str(d), str(i)): bool(h)
                for (y, d, i), h in zip(est[["year", "district", "indicator"]].itertuples(index=False), hid)
            }
            cols = ("other", "district", "comparison", "year", "indicator", "difference", "se", "ci_low", "ci_high")
            # column values as Python scalars (Series.tolist), not named-tuple fields typed as any scalar
            for other_v, district, comparison, year, indicator, *diffs in zip(*(comparisons[c].tolist() for c in cols)):
                other = str(other_v)
                oy, od = (
                    (int(float(other)), str(district))
                    if comparison == "previous_year"
                    else (int(year), TOTAL if comparison == "vs_totalt" else other)
                )
                if key.get((int(year), str(district), str(indicator)), False) or key.get(
                    (oy, od, str(indicator)), False
                ):
                    self.hidden_diffs += [float(v) for v in diffs if not pd.isna(v)]
        # 0 and 1 up to float noise (CI bounds of empty answer codes) and short decimals (0.5 of a tiny
        # district) cannot be told apart from published rounded values at full precision
        self.hidden_values = [v for v in self.hidden_values if _informative(v)]
        self.hidden_diffs = [v for v in self.hidden_diffs if v != 0.0]
        self.fingerprints = self._fingerprints()
        ids = sorted(
            {str(i) for i in respondent_ids if str(i).strip() and len(str(i).strip()) >= 4}, key=len, reverse=True
        )
        self.id_re = (
            re.compile(r"(?<![\w.,\-])(?:" + "|".join(map(re.escape, ids)) + r")(?![\w,\-]|\.\d)") if ids else None
        )
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
        self.fragments = sorted(frags, key=len, reverse=True)

    def _fingerprints(self) -> dict[str, float]:
        """High-precision renderings of hidden values that can never occur by chance in a publication."""
        fp: dict[str, float] = {}
        for v in self.hidden_values + self.hidden_diffs:
            a = abs(v)
            for s in (repr(a), f"{a:.4f}", f"{a * 100:.2f}", f"{a * 100:.3f}"):
                if s.rstrip("0").rstrip(".") in ("", "0") or len(s.replace(".", "").lstrip("0")) < 4:
                    continue
                fp[s] = v
                fp[s.replace(".", ",")] = v
        return fp

    def numeric_hit(self, x: float) -> float | None:
        """A hidden value equal to ``x`` at full precision (as fraction, ×100 or pp)."""
        for v in self.hidden_values + self.hidden_diffs:
            for cand in (v, v * 100):
                if math.isclose(x, cand, rel_tol=1e-9, abs_tol=1e-12):
                    return v
        return None

    def display_hit(self, entity: str, x: float) -> float | None:
        """``x`` (a share in [0, 1]) matches a hidden value of ``entity`` at display precision (0.1 %)
        and no visible value of it."""
        tol = 0.0005 + 1e-9
        hit = next((v for v in self.hidden_by_entity.get(entity, ()) if abs(v - x) <= tol), None)
        if hit is None:
            return None
        if any(abs(v - x) <= tol for v in self.visible_by_entity.get(entity, ())):
            return None
        return hit


def _scan_text(path: str, text: str, sens: _Sensitive) -> list[DisclosureFinding]:
    found: list[DisclosureFinding] = []
    variants = {text, html.unescape(text)}
    norm = " ".join(html.unescape(text).split())
    for t in variants:
        if sens.id_re is not None:
            m = sens.id_re.search(t)
            if m:
                found.append(DisclosureFinding(path, "respondent_id", f"respondent id {m.group(0)!r}"))
                break
    for frag in sens.fragments:
        if frag in norm:
            found.append(DisclosureFinding(path, "free_text", f"free text {frag[:40]!r}"))
            break
    for t in variants:
        for fp, v in sens.fingerprints.items():
            i = t.find(fp)
            while i >= 0:
                before = t[i - 1] if i > 0 else ""
                after = t[i + len(fp)] if i + len(fp) < len(t) else ""
                then = t[i + len(fp) + 1 : i + len(fp) + 2]
                ahead = t[i - 2 : i - 1] if i > 1 else ""
                in_range = (after in ("-", "\u2013") and then.isdigit()) or (  # "25-34,25-34": age groups
                    before in ("-", "\u2013") and ahead.isdigit()
                )
                if not before.isdigit() and not after.isdigit() and not in_range:
                    found.append(DisclosureFinding(path, "hidden_value", f"{fp!r} renders hidden value {v!r}"))
                    break
                i = t.find(fp, i + 1)
            else:
                continue
            break
    return found


def _scan_grid(
    path: str, head: list[list[str]], body: list[list[Any]], sens: _Sensitive, entities: set[str]
) -> list[DisclosureFinding]:
    """Cells in a row or column labelled with a district/group must not show its hidden values."""
    found = []
    for row in body:
        if not row:
            continue
        row_label = str(row[0]).strip() if row[0] is not None else ""
        for j, cell in enumerate(row[1:], start=1):
            labels = {row_label} | {str(h[j]).strip() for h in head if j < len(h) and h[j] is not None}
            ents = labels & entities
            if not ents or cell is None:
                continue
            xs = (
                [float(cell)]
                if isinstance(cell, (int, float)) and not isinstance(cell, bool)
                else [x / 100.0 for x in _numbers(_P_TEXT.sub(" ", str(cell)))]
            )
            for x in xs:
                for e in ents:
                    v = sens.display_hit(e, x)
                    if v is not None:
                        found.append(
                            DisclosureFinding(path, "hidden_value", f"cell {cell!r} ({e}) shows hidden value {v:.4f}")
                        )
    return found


def _scan_xlsx(path: Path, sens: _Sensitive, entities: set[str]) -> list[DisclosureFinding]:
    from openpyxl import load_workbook

    found = []
    wb = load_workbook(path, data_only=False)
    for ws in wb.worksheets:
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
                    hit = sens.numeric_hit(float(v))
                    if hit is not None:
                        found.append(
                            DisclosureFinding(
                                f"{path}[{ws.title}]",
                                "hidden_value",
                                f"number {v!r} at row {r + 1} col {c + 1} is a hidden value",
                            )
                        )
                elif v is not None:
                    texts.append(str(v))
        found += _scan_text(f"{path}[{ws.title}]", "\n".join(texts), sens)
        # percent-formatted numbers compared at display precision, keyed by row/column labels
        cells = list(ws.iter_rows())
        shares: list[list[Any]] = []
        for r, row in enumerate(cells):
            shares.append(
                [
                    (
                        grid[r][c]
                        if (isinstance(grid[r][c], str) or grid[r][c] is None or "%" in (cell.number_format or ""))
                        else None
                    )
                    for c, cell in enumerate(row)
                ]
            )
        heads = [row for row in shares if row and not any(isinstance(v, (int, float)) for v in row)]
        found += _scan_grid(f"{path}[{ws.title}]", heads, shares, sens, entities)
    return found


def _csv_dialect(text: str) -> tuple[str, bool]:
    """The text without BOM and whether it is the Swedish-Excel dialect (semicolon, decimal comma)."""
    text = text.lstrip("\ufeff")
    first = text.split("\n", 1)[0]
    return text, first.count(";") > first.count(",")


def _csv_fields(text: str) -> str:
    """A CSV's fields one per line: fingerprints are searched within fields, so the delimiter of ``3,458``
    (code 3, n 458) is not read as a decimal comma."""
    import csv
    import io

    text, excel = _csv_dialect(text)
    return "\n".join(v for row in csv.reader(io.StringIO(text), delimiter=";" if excel else ",") for v in row)


def _scan_csv(path: Path, text: str, sens: _Sensitive, entities: set[str]) -> list[DisclosureFinding]:
    import csv
    import io

    found: list[DisclosureFinding] = []
    text, excel = _csv_dialect(text)
    rows = list(csv.reader(io.StringIO(text), delimiter=";" if excel else ","))
    if not rows:
        return found
    header = rows[0]
    for k, row in enumerate(rows[1:], start=2):
        rec = dict(zip(header, row))
        if "suppressed" in rec and rec["suppressed"].strip().lower() == "true":
            if rec.get("value", "").strip() or rec.get("text", SUPPRESSED).strip() != SUPPRESSED:
                found.append(DisclosureFinding(str(path), "suppressed_with_value", f"line {k}: {row}"))
        for v in row:
            v = v.replace(",", ".") if excel else v
            try:
                x = float(v)
            except ValueError:
                continue
            if "." in v and sens.numeric_hit(x) is not None:
                found.append(DisclosureFinding(str(path), "hidden_value", f"line {k}: {v}"))
        ents = {v for v in row if v in entities}
        if any(v in _P_STATS for v in row):  # p-values and flags are not shares
            ents = set()
        value_col = header.index("value") if "value" in header else -1
        for e in ents:
            for j, v in enumerate(row):
                for x in _numbers(v):
                    # display texts ("27,4 %", "+0,5" pe) are per cent; the value column (a decimal comma in the
                    # Excel dialect) is the number itself
                    xx = x / 100.0 if (j != value_col and ("%" in v or "," in v)) else x
                    if sens.display_hit(e, xx) is not None:
                        found.append(DisclosureFinding(str(path), "hidden_value", f"line {k}: {v!r} ({e})"))
    return found


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

    ``paths``: files and/or directories (searched recursively). Looks for
    - respondent ids (whole tokens, ids of 4+ characters) and free-text comments (whole comments and
      sentences of 12+ characters) in every text artefact, XLSX strings, SVG text and PNG text chunks;
    - hidden estimates (suppressed, ``n < min_n``) and differences involving them: at full precision in XLSX
      numbers, CSV fields and store values; as high-precision renderings (``0.3124``, ``31,24``) in any text;
      at display precision (``31,2 %``) in any cell of an HTML table, XLSX sheet or CSV line whose row or
      column is labelled with the district (or sex/age group) the hidden value belongs to, unless the same
      rounded value is also a visible value of that district;
    - suppressed cells (CSV, store) that carry a value or a text other than ``..``.
    Limits: PDF content streams are compressed glyph runs and are not read (PDF/PNG are renderings of the
    same great-tables HTML that is scanned); rounded differences (procentenheter) are only found at high
    precision; ids shorter than 4 characters and comments shorter than 10 are not searched.
    """
    sens = _Sensitive(estimates, comparisons, min_n, respondent_ids, free_text)
    entities = set(sens.hidden_by_entity)
    files: list[Path] = []
    for p in [paths] if isinstance(paths, (str, Path)) else paths:
        p = Path(p)
        files += sorted(x for x in p.rglob("*") if x.is_file()) if p.is_dir() else [p]
    found: list[DisclosureFinding] = []
    for f in files:
        suf = f.suffix.lower()
        if suf in _SCANNED_TEXT:
            text = f.read_text(encoding="utf-8", errors="replace")
            if suf == ".svg":
                text = _SVG_GEOMETRY.sub(" ", text)
            found += _scan_text(str(f), _csv_fields(text) if suf == ".csv" else text, sens)
            if suf in (".html", ".htm"):
                parser = _Grids()
                parser.feed(text)
                for tb in parser.tables:
                    found += _scan_grid(str(f), tb["head"], tb["body"], sens, entities)
            elif suf == ".csv":
                found += _scan_csv(f, text, sens, entities)
        elif suf == ".xlsx":
            found += _scan_xlsx(f, sens, entities)
        elif suf == ".png":
            found += _scan_text(str(f), _png_text(f.read_bytes()), sens)
        elif suf == ".pdf":
            # only the uncompressed parts (document info, metadata) are readable text
            found += _scan_text(str(f), f.read_bytes().decode("latin-1"), sens)
    if store is not None:
        listing = store.published_tables()
        for r in listing.itertuples(index=False):
            meta, cells = store.published_table(r.table_id, int(r.year), int(r.version))
            where = f"store:{r.table_id}/{r.year}/v{r.version}"
            found += _scan_text(
                where,
                json.dumps(meta, default=str, ensure_ascii=False)
                + "\n"
                + "\n".join(cells["text"].astype(str))
                + "\n"
                + "\n".join(cells["row_key"].astype(str)),
                sens,
            )
            bad = cells[
                cells["suppressed"].astype(bool) & (cells["value"].notna() | (cells["text"].astype(str) != SUPPRESSED))
            ]
            for b in bad.itertuples(index=False):
                found.append(DisclosureFinding(where, "suppressed_with_value", f"{b.row_key}/{b.column_key}"))
            for v, rk in zip(cells["value"], cells["row_key"].astype(str)):
                if not pd.isna(v) and sens.numeric_hit(float(v)) is not None:
                    found.append(DisclosureFinding(where, "hidden_value", f"value {v!r} in row {rk}"))
    return found
