"""Provenance checks of the disclosure scanner (:mod:`reports.scan`): published cells identified by their keys.

Every machine-readable table the report writes — the long CSV (both dialects), the PC-Axis and JSON-stat
cubes, the store's tables and their JSON export, and the data embedded in the comparison page — says which
estimate a number belongs to. A cell is identified by ``(year, district, indicator, group)`` (``group`` empty
for a district's own estimate; an answer code for a distribution, ``Kvinna``/``16-24`` for sex and age) and
its statistic. The statistic decides which estimates the number depends on:

- ``est``, ``lo``, ``hi``, ``n``: the cell's own estimate;
- ``chg``, ``chg_p``, ``chg_sig``: also the previous year's estimate of the same key;
- ``tot_p``, ``tot_sig``: also ``Totalt`` of the same year, indicator and group;
- a difference of two districts (district ``A – B``): both.

The checks, for every cell whose key resolves:

1. a cell that depends on a hidden estimate (:func:`reports.disclosure.protect`: primary or secondary
   suppression) carries no value and no text other than ``..`` — ``suppressed_with_value``;
2. a published number never equals the hidden value of the same key at display precision (share ±0,05
   procentenheter, ``n`` exactly) — ``hidden_value``;
3. a model estimate (row ``<district> (modell)``) never equals the hidden direct estimate it stands in for
   at display precision — ``hidden_value``;
4. a cell marked suppressed (``suppressed`` true, status ``..``) carries no value.

Cubes (PX, JSON-stat) carry only their row, column and statistic dimensions; the table's fixed dimensions
(the year of a sex/age table, the indicator of a district table) are found by matching: the assignment under
which the published shares equal the visible estimates rounded to 0,1 % (at least 90 % of them, and better
than every other assignment), else a single year named in the title. A cube or cell whose keys cannot be
resolved is only checked by rule 4 and by the full-precision search of :mod:`reports.scan`.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from reports.formats import EN_DASH, NOT_AVAILABLE, STAT_KIND, SUPPRESSED, TOTAL
from survey.labels import MODEL_SUFFIX

SHARE_TOL = 0.0005 + 1e-9  # half the display step of a share (0,1 %)
_CHANGE = frozenset({"chg", "chg_p", "chg_sig"})
_VS_TOTAL = frozenset({"tot_p", "tot_sig"})
_OWN = frozenset({"est", "lo", "hi"})
_UNIT100 = frozenset({"share", "pp"})  # cube values of these kinds are in procent / procentenheter
_YEAR_RE = re.compile(r"(?<!\d)(\d{4})(?!\d)")

Key = tuple[int, str, str, str]


@dataclass(frozen=True)
class CellFinding:
    """A finding of a provenance check (converted to :class:`reports.scan.DisclosureFinding`)."""

    kind: str
    detail: str


@dataclass(frozen=True)
class _Est:
    hidden: bool
    reason: str
    estimate: float
    ci_low: float
    ci_high: float
    n: float


def norm_group(v: Any) -> str:
    """A group key as text: ``""`` for none, ``"1"`` for an answer code stored as ``1.0``."""
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return ""
    s = str(v).strip()
    return s[:-2] if s.endswith(".0") and s[:-2].isdigit() else s


def _num(v: Any) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return math.nan
    return x


class CellIndex:
    """The estimates by key with their disclosure status (from :func:`reports.disclosure.protect`)."""

    def __init__(self, protected: pd.DataFrame) -> None:
        groups = (
            [norm_group(g) for g in protected["group"].tolist()]
            if "group" in protected.columns
            else [""] * len(protected)
        )
        reasons = (
            protected["suppressed_reason"].astype(str).tolist()
            if "suppressed_reason" in protected
            else [""] * len(protected)
        )
        cols = [protected[c].tolist() if c in protected else [math.nan] * len(protected) for c in _COLS]
        self.cells: dict[Key, _Est] = {}
        for y, d, i, g, h, r, e, lo, hi, n in zip(*cols[:3], groups, protected["hidden"].tolist(), reasons, *cols[3:]):
            self.cells[(int(y), str(d), str(i), g)] = _Est(bool(h), r, _num(e), _num(lo), _num(hi), _num(n))
        self.years = {k[0] for k in self.cells}
        self.districts = {k[1] for k in self.cells}
        self.indicators = {k[2] for k in self.cells}
        self.groups = {k[3] for k in self.cells} - {""}
        years_of: dict[tuple[str, str, str], list[int]] = {}
        for y, d, i, g in self.cells:
            years_of.setdefault((d, i, g), []).append(y)
        self.previous: dict[Key, Key] = {}
        for (d, i, g), ys in years_of.items():
            ys.sort()
            for a, b in zip(ys, ys[1:]):
                self.previous[(b, d, i, g)] = (a, d, i, g)

    def districts_of(self, district: str) -> list[str] | None:
        """``[district]``, both districts of a difference ``A – B``, or None when not a known district."""
        if district in self.districts:
            return [district]
        parts = district.split(f" {EN_DASH} ")
        return parts if len(parts) == 2 and all(p in self.districts for p in parts) else None

    def deps(self, year: int | None, district: str, indicator: str, group: str, stat: str) -> list[Key] | None:
        """The estimates a published statistic depends on; None when its key does not resolve."""
        ds = self.districts_of(district)
        if year is None or ds is None:
            return None
        keys = [(int(year), d, indicator, group) for d in ds]
        if any(k not in self.cells for k in keys):
            return None
        if stat in _CHANGE:
            keys += [self.previous[k] for k in keys if k in self.previous]
        total = (int(year), TOTAL, indicator, group)
        if stat in _VS_TOTAL and total in self.cells:
            keys.append(total)
        return keys

    def check(
        self,
        year: int | None,
        district: str,
        indicator: str,
        group: str,
        stat: str,
        value: float | None,
        text: str = "",
        marked: bool = False,
    ) -> list[CellFinding]:
        """Rules 1–4 of the module docstring for one published cell; ``value`` in the unit of the estimates
        (a share as a fraction), ``marked`` whether the file marks the cell suppressed."""
        present = (value is not None and not math.isnan(value)) or text.strip() not in ("", SUPPRESSED, NOT_AVAILABLE)
        if not present:
            return []
        shown = f"{value!r}" if value is not None and not math.isnan(value) else repr(text)
        where = f"{stat} of ({year}, {district}, {indicator}{', ' + group if group else ''})"
        out: list[CellFinding] = []
        keys = None if district.endswith(MODEL_SUFFIX) else self.deps(year, district, indicator, group, stat)
        hidden = [k for k in keys or () if self.cells[k].hidden]
        if marked and not hidden:
            out.append(CellFinding("suppressed_with_value", f"{where} is marked suppressed but shows {shown}"))
        if district.endswith(MODEL_SUFFIX) and year is not None:
            own = self.cells.get((int(year), district[: -len(MODEL_SUFFIX)], indicator, group))
            if own is not None and own.hidden and stat == "est" and value is not None and _same(value, own.estimate):
                out.append(CellFinding("hidden_value", f"{where}: the model estimate {shown} is the hidden direct one"))
            return out
        if keys is None:
            return out
        if hidden:
            reason = ", ".join(f"{k[1]} {k[0]} ({self.cells[k].reason or 'dold'})" for k in hidden)
            out.append(CellFinding("suppressed_with_value", f"{where} shows {shown} but depends on hidden {reason}"))
        own = self.cells[keys[0]]
        if own.hidden and value is not None and district == keys[0][1]:
            target = {"est": own.estimate, "lo": own.ci_low, "hi": own.ci_high}.get(stat)
            if (target is not None and _same(value, target)) or (stat == "n" and abs(value - own.n) < 0.5):
                out.append(CellFinding("hidden_value", f"{where} shows {shown}, the hidden value itself"))
        return out


_COLS = ("year", "district", "indicator", "estimate", "ci_low", "ci_high", "n")


def _same(x: float, v: float) -> bool:
    """``x`` shows ``v`` at display precision (a share rounded to 0,1 %)."""
    return not math.isnan(v) and abs(x - v) <= SHARE_TOL


# --------------------------------------------------------------------------------------------- long CSV
TIDY_COLUMNS = frozenset({"stat", "value", "year", "district", "indicator", "group"})


def check_tidy(rows: Iterable[dict[str, str]], idx: CellIndex, decimal_comma: bool) -> list[tuple[int, CellFinding]]:
    """Rules 1–4 on the lines of a long CSV (``(line number, finding)``, header = line 1)."""
    out: list[tuple[int, CellFinding]] = []
    for k, rec in enumerate(rows, start=2):
        raw = (rec.get("value") or "").strip()
        value = _num(raw.replace(",", ".") if decimal_comma else raw) if raw else None
        text = (rec.get("text") or "").strip()
        if value is not None and math.isnan(value):  # a value field that is not a number still carries one
            value, text = None, raw
        year_s = (rec.get("year") or "").strip()
        year = int(year_s) if year_s.isdigit() else None
        for f in idx.check(
            year,
            (rec.get("district") or "").strip(),
            (rec.get("indicator") or "").strip(),
            norm_group(rec.get("group")),
            (rec.get("stat") or "").strip(),
            value,
            text,
            (rec.get("suppressed") or "").strip().lower() == "true",
        ):
            out.append((k, f))
    return out


def check_table_json(meta: dict[str, Any], cells: pd.DataFrame, idx: CellIndex) -> list[CellFinding]:
    """Rules 1–4 on a stored table (``meta`` and cells as in the store or ``tables export --format json``):
    the keys of a cell are the table's fixed dimensions, its row key and its column key (``dims``)."""
    dims = dict(meta.get("dims") or {})
    fixed = dict(dims.get("fixed") or {})
    row_dim, col_dim = str(dims.get("row", "")), str(dims.get("column", ""))
    col_districts = dict(dims.get("column_districts") or {})
    out = []
    for rk, ck_stat, v, t, h in zip(
        *(cells[c].tolist() for c in ("row_key", "column_key", "value", "text", "suppressed"))
    ):
        ck, _, stat = str(ck_stat).rpartition("|")
        prov = {**fixed, row_dim: str(rk), col_dim: str(col_districts.get(ck, ck))}
        y = str(prov.get("year", "")).strip()
        out += idx.check(
            int(y) if y.isdigit() else None,
            str(prov.get("district", "")),
            str(prov.get("indicator", "")),
            norm_group(prov.get("group")),
            stat,
            None if v is None or pd.isna(v) else float(v),
            str(t),
            bool(h) if not isinstance(h, str) else h.strip().lower() == "true",
        )
    return out


# --------------------------------------------------------------------------------------------- cubes
@dataclass
class CubeData:
    """A cube read back from PX or JSON-stat: dimensions ``(codes, labels)`` (row-major, the statistic one
    named by ``stat_dim``), values in the cube's units and a status per value."""

    title: str
    dims: list[tuple[list[str], list[str]]]
    stat_dim: int
    values: list[float | None]
    status: list[str | None]


def _classify(codes: Sequence[str], labels: Sequence[str], idx: CellIndex) -> tuple[str, list[str | None]] | None:
    """The provenance dimension of a cube dimension and each category's key (None when unknown)."""
    tests = {
        "year": lambda s: s if s.isdigit() and int(s) in idx.years else None,
        "district": lambda s: s if idx.districts_of(s.removesuffix(MODEL_SUFFIX)) is not None else None,
        "indicator": lambda s: s if s in idx.indicators else None,
        "group": lambda s: s if s in idx.groups else None,
    }
    best: tuple[int, str, list[str | None]] | None = None
    for name, test in tests.items():
        keys = [test(c) or test(lab) for c, lab in zip(codes, labels)]
        hits = sum(k is not None for k in keys)
        if hits and 2 * hits >= len(keys) and (best is None or hits > best[0]):
            best = (hits, name, keys)
    return None if best is None else (best[1], best[2])


def _cube_cells(cube: CubeData, idx: CellIndex) -> tuple[list[dict[str, Any]], set[str]] | None:
    """Each value with its known keys (row-major), and the provenance dimensions the cube lacks."""
    named = []
    for j, (codes, labels) in enumerate(cube.dims):
        if j == cube.stat_dim:
            named.append(("stat", [c if c in STAT_KIND else None for c in codes]))
            continue
        cls = _classify(codes, labels, idx)
        if cls is None:
            return None
        named.append(cls)
    if len({n for n, _ in named}) < len(named):
        return None
    cells = []
    for combo, v, s in zip(itertools.product(*(keys for _, keys in named)), cube.values, cube.status):
        rec: dict[str, Any] = dict(zip((n for n, _ in named), combo))
        rec["value"], rec["status"] = v, s
        cells.append(rec)
    missing = {"year", "district", "indicator"} - {n for n, _ in named}
    return cells, missing


def _fraction(stat: str | None, v: float | None) -> float | None:
    if v is None or stat is None:
        return v
    return v / 100.0 if STAT_KIND.get(stat) in _UNIT100 else v


def _assign(cells: list[dict[str, Any]], missing: set[str], idx: CellIndex, title: str) -> dict[str, Any] | None:
    """The fixed dimensions of a cube (module docstring): by matching published shares, else the title's year."""
    fixed: dict[str, Any] = {}
    years_named = {int(y) for y in _YEAR_RE.findall(title)} & idx.years
    if "year" in missing and len(years_named) == 1:
        fixed["year"] = years_named.pop()
    todo = sorted(missing - set(fixed))
    if not todo:
        return fixed
    pools: dict[str, list[Any]] = {
        "year": sorted(idx.years),
        "district": sorted(idx.districts),
        "indicator": sorted(idx.indicators),
    }
    shares = [c for c in cells if c["stat"] == "est" and c["value"] is not None]
    scores = []
    for combo in itertools.product(*(pools[n] for n in todo)):
        a = {**fixed, **dict(zip(todo, combo))}
        hit = 0
        for c in shares:
            e = idx.cells.get(_key(c, a))
            hit += e is not None and not e.hidden and abs(round(e.estimate * 100, 1) - c["value"]) < 1e-6
        scores.append((hit, a))
    scores.sort(key=lambda t: -t[0])
    if (
        scores
        and scores[0][0]
        and scores[0][0] >= 0.9 * len(shares)
        and (len(scores) == 1 or scores[1][0] < scores[0][0])
    ):
        return scores[0][1]
    return None


def _key(c: dict[str, Any], fixed: dict[str, Any]) -> Key:
    y = c.get("year", fixed.get("year"))
    return (
        int(y) if y is not None else -1,
        str(c.get("district", fixed.get("district"))),
        str(c.get("indicator", fixed.get("indicator"))),
        c.get("group") or "",
    )


def check_cube(cube: CubeData, idx: CellIndex) -> list[CellFinding]:
    """Rule 4 on every value; rules 1–3 where the cube's keys resolve."""
    out = []
    for v, s in zip(cube.values, cube.status):
        if s == SUPPRESSED and v is not None:
            out.append(CellFinding("suppressed_with_value", f"value {v!r} has status '..'"))
    got = _cube_cells(cube, idx)
    if got is None:
        return out
    cells, missing = got
    fixed = _assign(cells, missing, idx, cube.title)
    if fixed is None:
        return out
    for c in cells:
        if c["stat"] is None or c["value"] is None:
            continue
        y, d, i, g = _key(c, fixed)
        out += idx.check(y if y >= 0 else None, d, i, g, c["stat"], _fraction(c["stat"], c["value"]))
    return out


def jsonstat_cube(obj: dict[str, Any]) -> CubeData | None:
    """A JSON-stat 2.0 dataset as a :class:`CubeData` (None when it is not one)."""
    if obj.get("class") != "dataset" or "id" not in obj or "dimension" not in obj:
        return None
    dims = []
    for d in obj["id"]:
        cat = obj["dimension"][d].get("category", {})
        index = cat.get("index", list(cat.get("label", {})))
        codes = (
            [str(c) for c in index]
            if isinstance(index, list)
            else [str(c) for c, _ in sorted(index.items(), key=lambda t: t[1])]
        )
        labels = [str(cat.get("label", {}).get(c, c)) for c in codes]
        dims.append((codes, labels))
    total = math.prod(len(c) for c, _ in dims)
    raw_v, raw_s = obj.get("value", []), obj.get("status")
    values: list[float | None] = (
        [None if v is None else float(v) for v in raw_v]
        if isinstance(raw_v, list)
        else [None if raw_v.get(str(k)) is None else float(raw_v[str(k)]) for k in range(total)]
    )
    if isinstance(raw_s, list):
        status = [None if s is None else str(s) for s in raw_s]
    elif isinstance(raw_s, dict):
        status = [raw_s.get(str(k)) for k in range(total)]
    else:
        status = [raw_s] * total
    roles = obj.get("role", {}).get("metric", [])
    stat_dim = obj["id"].index(roles[0]) if roles and roles[0] in obj["id"] else len(dims) - 1
    return CubeData(str(obj.get("label", "")), dims, stat_dim, values, status)


_PX_STATEMENT = re.compile(r'([A-Z0-9\-]+)(?:\[[\w\-]+\])?(?:\(((?:"[^"]*",?)+)\))?\s*=\s*(.*)', re.S)
_PX_TOKEN = re.compile(r'"([^"]*)"|([^\s,";]+)')


def _px_statements(text: str) -> list[tuple[str, list[str], str]]:
    """``(keyword, arguments, raw value)`` of each statement (``;`` outside quotes ends one)."""
    out: list[tuple[str, list[str], str]] = []
    buf: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == ";" and not quoted:
            m = _PX_STATEMENT.match("".join(buf).strip())
            if m:
                out.append((m.group(1), re.findall(r'"([^"]*)"', m.group(2) or ""), m.group(3)))
            buf = []
        else:
            buf.append(ch)
    return out


def px_cube(text: str) -> CubeData | None:
    """A PC-Axis file as a :class:`CubeData` (None when it lacks STUB/HEADING/DATA)."""
    st = _px_statements(text)
    first: dict[str, list[str]] = {}
    per_var: dict[tuple[str, str], list[str]] = {}
    data = None
    for kw, args, raw in st:
        toks = [q if q or not u else u for q, u in _PX_TOKEN.findall(raw)]
        if kw == "DATA":
            data = _PX_TOKEN.findall(raw)
        elif args:
            per_var.setdefault((kw, args[0]), toks)
        else:
            first.setdefault(kw, toks)
    variables = first.get("STUB", []) + first.get("HEADING", [])
    if not variables or data is None:
        return None
    dims = []
    for var in variables:
        labels = per_var.get(("VALUES", var), [])
        dims.append((per_var.get(("CODES", var), labels), labels))
    values: list[float | None] = []
    status: list[str | None] = []
    for quoted, bare in data:
        if bare:
            values.append(_num(bare))
            status.append(None)
        else:
            values.append(None)
            status.append(quoted)
    cont = first.get("CONTVARIABLE", [variables[-1]])[0]
    title = " ".join(first.get("TITLE", []))
    stat_dim = variables.index(cont) if cont in variables else len(variables) - 1
    return CubeData(title, dims, stat_dim, values, status)


# --------------------------------------------------------------------------------------------- comparison page
_PAGE_DATA = re.compile(r'<script type="application/json" id="data">(.*?)</script>', re.S)


def check_page_data(html_text: str, idx: CellIndex) -> list[CellFinding]:
    """The data embedded in the comparison page (``jamfor.html``): an estimate present in it, or a comparison
    of two areas, must not involve a hidden estimate."""
    m = _PAGE_DATA.search(html_text)
    if not m:
        return []
    try:
        data = json.loads(m.group(1))
    except ValueError:
        return []
    out = []
    for ind, by_d in dict(data.get("estimates") or {}).items():
        for d, by_y in dict(by_d).items():
            for y, v in dict(by_y).items():
                e = idx.cells.get((int(y), str(d), str(ind), ""))
                if e is not None and e.hidden:
                    out.append(CellFinding("suppressed_with_value", f"page data: {ind} {d} {y} = {v!r} is hidden"))
    for ind, by_y in dict(data.get("comparisons") or {}).items():
        for y, pairs in dict(by_y).items():
            for pair in dict(pairs):
                for d in str(pair).split("|"):
                    e = idx.cells.get((int(y), d, str(ind), ""))
                    if e is not None and e.hidden:
                        out.append(
                            CellFinding("suppressed_with_value", f"page data: {ind} {y} {pair} involves hidden {d}")
                        )
    return out
