"""Converting text columns to canonical dtypes and validating them; row failures and the quarantine.

Row-level failures are frames of ``index`` (source row), ``column``, ``value`` (as written), ``check`` and
``reason`` (Swedish, for a person). Checks beyond the pandera schemas of ``schemas/``:

* **Design weights** (``check_weights``): every weight a finite number > 0 and at most ``MAX_DESIGN_WEIGHT``
  (schema); with a population file, at most the population of the respondent's year x district (a design
  weight is 1 / the inclusion probability, and that probability is at least 1 / N: Särndal, Swensson &
  Wretman 1992, sec. 2.4); and within each year the ratio of the largest to the smallest accepted weight at
  most ``max_weight_ratio`` (default ``MAX_WEIGHT_RATIO`` = 1000, far beyond any stratified design of a
  municipal survey; a larger ratio is a unit mix-up or a broken export). The ratio is a file-level
  rejection naming the year, the two rows and the column.
* **Names** (``bad_names``): a district containing control characters, bidirectional overrides or
  zero-width characters (which hide or reverse text in reports) or longer than ``MAX_NAME_LENGTH``.
* **SPSS value labels** (``check_value_labels``): labels that contradict the codebook (code 1 labelled
  ``Kvinna`` where the codebook's 1 is ``Man`` and 2 is ``Kvinna``) reject the file.
* **Quarantine** (``quarantine_frame``): free text never leaves the free-text table: the ``value`` of a
  ``comment`` failure is withheld and the ``record`` (the row as written) holds only the columns that map
  onto canonical, non-free-text columns.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from schemas.responses import MAX_DESIGN_WEIGHT
from survey.data.codebook import Codebook, VendorMapping
from survey.errors import InputError
from survey.labels import HIDDEN_CHARACTERS, MODEL_SUFFIX, TOTAL_LABEL, reserved

if TYPE_CHECKING:  # pandera is imported when there is something for it to check (``validate``)
    import pandera.pandas as pa

QUARANTINE_COLUMNS = ["file", "source_row", "resp_id", "year", "column", "value", "check", "reason", "record"]
FAILURE_COLUMNS = ["index", "column", "value", "check", "reason"]
MAX_WEIGHT_RATIO = 1000.0
MAX_NAME_LENGTH = 100
FREE_TEXT = ("comment",)
PARALLEL_ROWS = 50_000  # from this many rows ``convert`` uses two threads
WITHHELD = "[fritext utelämnad]"


def failures(index: Any, column: str, values: Any, check: str, reason: Any) -> pd.DataFrame:
    """Row failures: index label (= source row), column, raw value, check name, reason for a person."""
    n = len(index)
    return pd.DataFrame(
        {
            "index": np.asarray(index, dtype=np.int64),
            "column": [column] * n,
            "value": np.asarray(values, dtype=object),
            "check": [check] * n,
            "reason": np.asarray(reason, dtype=object) if not isinstance(reason, str) else [reason] * n,
        },
        columns=FAILURE_COLUMNS,
    )


def no_failures() -> pd.DataFrame:
    return _no_failures().copy()


@functools.cache
def _no_failures() -> pd.DataFrame:
    return failures([], "", [], "", [])


def _parse_numbers(s: pd.Series, *, integer: bool, decimal: str = ".") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse text into numbers over the distinct values only.

    Returns (values float64 with NaN for blank/bad, blank mask, bad mask: non-blank text that is not a
    finite number, or not a whole number of at most 2**53 in size when ``integer``).
    """
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    u = pd.Series(np.asarray(uniques, dtype=object), dtype=object).str.strip()
    if decimal == ",":
        u = u.str.replace(",", ".", regex=False)
    num = pd.to_numeric(u, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    finite = np.isfinite(num)
    ok = finite & (num == np.round(num)) & (np.abs(np.where(finite, num, 0)) < 2**53) if integer else finite
    num = np.where(ok, num, np.nan)
    blank_u = np.append((u == "").to_numpy(dtype=bool), True)  # code -1 (missing) is blank
    ok_u = np.append(ok, False)
    num_u = np.append(num, np.nan)
    return num_u[codes], blank_u[codes], ~ok_u[codes] & ~blank_u[codes]


def _arrow(s: pd.Series) -> Any:
    """The column as an Arrow (chunked) array; zero-copy for the Arrow-backed text of ``read_table``."""
    import pyarrow as arrow

    try:
        return arrow.array(s.array)
    except (arrow.ArrowException, TypeError, ValueError):
        return None


def _writeable(a: np.ndarray) -> np.ndarray:
    return a if a.flags.writeable else a.copy()


def _fast_integers(s: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """Arrow cast of clean text to whole numbers: (int64 values, 0 where blank; blank mask); None when some
    value needs the careful path of ``_parse_numbers`` (spaces, '2.0', text, 'nan', more than 2**53, ...)."""
    import pyarrow as arrow
    import pyarrow.compute as pc

    arr = _arrow(s)
    if arr is None:
        return None
    try:
        num = pc.cast(arr, arrow.int64())
    except (arrow.ArrowException, TypeError, ValueError):
        return None
    chunks = [c for c in (num.chunks if hasattr(num, "chunks") else [num]) if len(c)]
    # one copy straight from Arrow's value buffers (a null's slot is set to 0 below)
    parts = [np.frombuffer(c.buffers()[1], dtype=np.int64, count=len(c), offset=c.offset * 8) for c in chunks]
    values = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    blank = np.zeros(len(s), dtype=bool)
    if num.null_count:
        blank = _writeable(_to_numpy(num.is_null()))
        values[blank] = 0
    if len(values) and (values.max() >= 2**53 or values.min() <= -(2**53)):
        return None
    return values, blank


def _to_numpy(arr: Any) -> np.ndarray:
    return np.asarray(arr.to_numpy(zero_copy_only=False) if hasattr(arr, "chunks") else arr.to_numpy(False))


def _fast_numbers(s: pd.Series, *, decimal: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Arrow cast of clean text to real numbers: (float64 values with NaN for blank, blank mask); None when
    some value needs the careful path of ``_parse_numbers`` (spaces, text, 'nan', 'inf', ...)."""
    import pyarrow as arrow
    import pyarrow.compute as pc

    arr = _arrow(s)
    if arr is None:
        return None
    try:
        if decimal == ",":
            arr = pc.replace_substring(arr, ",", ".")
        num = pc.cast(arr, arrow.float64())
    except (arrow.ArrowException, TypeError, ValueError):
        return None
    blank = np.zeros(len(s), dtype=bool) if num.null_count == 0 else _writeable(_to_numpy(num.is_null()))
    values = _writeable(_to_numpy(num).astype(np.float64, copy=False))
    if not np.isfinite(values[~blank]).all():
        return None
    return values, blank


def _to_int64(values: np.ndarray) -> pd.arrays.IntegerArray:
    mask = np.isnan(values)
    return pd.arrays.IntegerArray(np.where(mask, 0, values).astype(np.int64), mask)


_SPACES = {c: " " for c in (0xA0, *range(0x2000, 0x200B), 0x202F, 0x205F, 0x3000)}  # Unicode's Zs spaces


def _text(s: pd.Series) -> tuple[pd.Series, np.ndarray, pd.Series]:
    """Trimmed, NFC-normalised text, Unicode spaces as ' ' (over the distinct values), blank -> missing; with its
    levels: each row's code (-1 for missing) into the distinct values (in the order they first occur)."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    raw = pd.Series(np.asarray(uniques, dtype=object), dtype="str")
    u = raw.str.translate(_SPACES).str.strip().str.normalize("NFC")  # a no-break space is a space
    u = u.where(u != "", None)
    canon, distinct = pd.factorize(u, use_na_sentinel=True)  # " A" and "A" are one value
    row = np.append(canon, -1)[codes]
    levels = pd.Series(np.asarray(distinct, dtype=object), dtype="str")
    if str(s.dtype) == "str" and len(distinct) == len(uniques) and u.notna().all() and (u == raw).all():
        return s, row, levels  # every value is clean already: the column as it is
    return pd.Series(levels.array.take(row, allow_fill=True), index=s.index), row, levels


def _ident(s: pd.Series) -> pd.Series:
    """Trimmed identifiers, blank -> missing."""
    t = s.str.strip()
    empty = (t == "").to_numpy(dtype=bool, na_value=False)
    return t.where(~empty, None) if empty.any() else t


@dataclass
class Converted:
    """The converted frame, the failures, and the ``levels`` of each text column: (row codes, distinct
    values), see ``_text``."""

    frame: pd.DataFrame
    failures: list[pd.DataFrame]
    levels: dict[str, tuple[np.ndarray, pd.Series]] = field(default_factory=dict)


def convert(df: pd.DataFrame, spec: dict[str, str], decimal: str) -> Converted:
    """Convert text columns to canonical dtypes per ``spec`` (column -> kind), recording failures.

    Kinds: ``text`` (required, trimmed, NFC), ``id`` (required, trimmed), ``int`` (required whole number),
    ``code`` (whole number or blank), ``weight`` (number; blank only when the whole column is blank),
    ``count`` (required whole number), ``number`` (required finite number, e.g. a numeric auxiliary).
    From ``PARALLEL_ROWS`` rows the columns are converted on two threads (Arrow's and numpy's kernels let go of
    the GIL; 1M rows on two idle cores: 0.2 s less wall time for the same CPU time); the failures keep the
    order of ``spec``.
    """
    idx = df.index
    present = [(col, kind) for col, kind in spec.items() if col in df.columns]
    if len(df) >= PARALLEL_ROWS and len(present) > 1:
        with ThreadPoolExecutor(max_workers=2) as pool:
            done = list(pool.map(lambda ck: _column(df[ck[0]], ck[0], ck[1], decimal), present))
    else:
        done = [_column(df[col], col, kind, decimal) for col, kind in present]
    by_column = dict(zip((c for c, _ in present), done))
    out: dict[str, Any] = {}
    fails: list[pd.DataFrame] = []
    levels: dict[str, tuple[np.ndarray, pd.Series]] = {}
    for col, kind in spec.items():
        if col in by_column:
            out[col], column_fails, lv = by_column[col]
            fails += column_fails
            if lv is not None:
                levels[col] = lv
        elif kind == "weight":
            out[col] = np.full(len(df), np.nan)
        elif kind == "code":
            out[col] = pd.array([pd.NA] * len(df), dtype="Int64")
    return Converted(pd.DataFrame(out, index=idx, copy=False), fails, levels)


def _column(s: pd.Series, col: str, kind: str, decimal: str) -> tuple[Any, list[pd.DataFrame], Any]:
    """One column of ``convert``: (values, failures, levels or None)."""
    idx = s.index
    if kind == "text":
        text, codes, distinct = _text(s)
        return text, [], (codes, distinct)
    if kind == "id":
        return _ident(s), [], None
    real = kind in ("weight", "number")
    fast = _fast_numbers(s, decimal=decimal) if real else _fast_integers(s)
    whole: np.ndarray | None = None  # int64 values of the fast path for whole numbers
    if fast is not None:
        (values, blank), bad = fast, np.zeros(len(s), dtype=bool)
        if not real:
            whole = values
    else:
        values, blank, bad = _parse_numbers(s, integer=not real, decimal=decimal)
    fails = []
    if bad.any():
        what = "ett ändligt tal" if real else "ett heltal"
        fails.append(failures(idx[bad], col, s[bad], "type", [f"{v!r} är inte {what}" for v in s[bad]]))
    if kind in ("int", "count", "number") and blank.any():
        fails.append(failures(idx[blank], col, s[blank], "blank", f"{col} är tomt"))
    if kind == "weight":
        if blank.all():
            return np.full(len(s), np.nan), fails, None
        if blank.any():
            fails.append(
                failures(idx[blank], col, s[blank], "blank", "design_weight är tomt fast andra rader har en vikt")
            )
        return values, fails, None
    if kind == "number":
        return values, fails, None
    return (pd.arrays.IntegerArray(whole, blank) if whole is not None else _to_int64(values)), fails, None


_REASONS = {
    "isin": "{value!r} är inte en giltig kod för {column} ({codes})",
    "not_nullable": "{column} är tomt",
    "not_blank": "{column} är tomt",
    "finite_positive": "design_weight {value} är inte ett ändligt tal > 0",
    "weight_max": "design_weight {value} är orimligt stor (största tillåtna designvikt är {max_weight:g})",
    "year_range": "året {value} är inte rimligt (1900–2100)",
    "population_max": "population {value} är orimligt stor för en cell (över 20 000 000)",
    "multiple_fields_uniqueness": "samma ({keys}) finns på mer än en rad",
    "greater_than_or_equal_to(0)": "population {value} är negativ",
}
_CHECK_NAMES = {
    "multiple_fields_uniqueness": "duplicate",
    "not_nullable": "blank",
    "not_blank": "blank",
    "greater_than_or_equal_to(0)": "negative",
}


def _shown(value: Any) -> Any:
    """A failure value as a person reads it: codes as the text '7', numbers as 0.0, text quoted."""
    if isinstance(value, (np.integer, int)) and not isinstance(value, bool):
        return str(int(value))
    if isinstance(value, np.floating):
        return float(value)
    return value


def validate(
    frame: pd.DataFrame,
    schema: Callable[[], pa.DataFrameSchema],
    codebook: Codebook,
    name: str,
    keys: str,
    suspect: np.ndarray | None = None,
) -> pd.DataFrame:
    """Run the pandera schema ``schema()`` lazily; return one failure per (row, column, check) with a readable
    reason.

    ``suspect`` (:func:`survey.data.rowcheck.suspects`): the rows that may fail; pandera then validates only
    those (its checks go row by row, so their failure cases are the whole frame's) and is not even imported
    when there are none. None: pandera validates the whole frame.
    """
    if suspect is not None:
        if not suspect.any():
            return no_failures()
        frame = frame[suspect]
    import pandera.pandas as pa

    try:
        schema().validate(frame, lazy=True, inplace=True)
        return no_failures()
    except pa.errors.SchemaErrors as exc:
        fc = exc.failure_cases
    schema_level = fc[fc["index"].isna()]
    if len(schema_level):
        first = schema_level.iloc[0]
        raise InputError(
            f"har inte den kanoniska formen ({first['check']}); det är ett fel i trygghets "
            "konvertering, rapportera det tillsammans med filen",
            name,
            None,
            first["column"],
        )
    fc = fc.drop_duplicates(["index", "column", "check"])
    checks = fc["check"].astype(str).str.replace(r"^isin\(.*\)$", "isin", regex=True)
    reasons = []
    for column, check, value in zip(fc["column"], checks, fc["failure_case"]):
        codes = codebook.codes_of(column)
        template = _REASONS.get(check, "{column} klarar inte kontrollen " + check)
        reasons.append(
            template.format(
                value=_shown(value),
                column=column,
                keys=keys,
                max_weight=MAX_DESIGN_WEIGHT,
                codes=", ".join(map(str, codes or ())),
            )
        )
    return failures(fc["index"].astype(np.int64), "", fc["failure_case"], "", reasons).assign(
        column=fc["column"].to_numpy(dtype=object),
        check=[_CHECK_NAMES.get(c, "code" if c == "isin" else c) for c in checks],
    )


def bad_names(frame: pd.DataFrame, column: str, levels: tuple[np.ndarray, pd.Series] | None = None) -> pd.DataFrame:
    """Names with control, bidi or zero-width characters, longer than ``MAX_NAME_LENGTH``, or a label the
    outputs reserve (:func:`survey.labels.reserved`: the row of all districts, a small-area model row), over
    distinct values (the column's ``levels`` from ``convert`` when given)."""
    s = frame[column]
    codes, uniques = levels if levels is not None else pd.factorize(s, use_na_sentinel=True)
    reasons: dict[int, str] = {}
    for i, u in enumerate(uniques):
        m = HIDDEN_CHARACTERS.search(u)
        if m is not None:
            reasons[i] = (
                f"{column} innehåller ett osynligt tecken eller styrtecken (U+{ord(m.group()):04X}) som kan "
                "dölja eller vända text i rapporter"
            )
        elif len(u) > MAX_NAME_LENGTH:
            reasons[i] = f"{column} är {len(u)} tecken långt (högst {MAX_NAME_LENGTH})"
        elif reserved(u):
            reasons[i] = (
                f"{column} {u.strip()!r} är reserverat: {TOTAL_LABEL!r} är raden för alla områden tillsammans och "
                f"'<område>{MODEL_SUFFIX}' en modellskattning; byt namn på området i båda filerna"
            )
    if not reasons:
        return no_failures()
    mask = np.isin(codes, list(reasons))
    return failures(s.index[mask], column, s[mask], "name", [reasons[c] for c in codes[mask]])


def formula_like_note(frame: pd.DataFrame, column: str, name: str, distinct: pd.Series | None = None) -> list[str]:
    """A note for names that begin like a spreadsheet formula (=, +, -, @); ``distinct``: the column's distinct
    non-missing values in the order they first occur, when known."""
    u = pd.Series(frame[column].dropna().unique(), dtype="str") if distinct is None else distinct
    odd = u[u.str.match(r"^[=+\-@]")]
    if not len(odd):
        return []
    return [
        f"{name}: {len(odd)} namn i {column} börjar med '=', '+', '-' eller '@' (t.ex. {odd.iloc[0]!r}); "
        "i kalkylprogram kan sådana namn tolkas som formler"
    ]


def check_weights(frame: pd.DataFrame, ok: np.ndarray, name: str, limit: float = MAX_WEIGHT_RATIO) -> None:
    """Within each year: largest / smallest accepted design weight <= ``limit``, else :class:`InputError`."""
    w = frame["design_weight"].to_numpy(dtype=np.float64)
    years = frame["year"].to_numpy(dtype=np.float64, na_value=np.nan)
    use = ok & np.isfinite(w) & (w > 0) & np.isfinite(years)
    for y in np.unique(years[use]):
        m = use & (years == y)
        lo, hi = np.argmin(np.where(m, w, np.inf)), np.argmax(np.where(m, w, -np.inf))
        ratio = w[hi] / w[lo]
        if ratio > limit:
            rows = frame.index.to_numpy()
            raise InputError(
                f"designvikterna år {int(y)} spänner från {w[lo]:g} (rad {rows[lo]}) till {w[hi]:g} "
                f"(rad {rows[hi]}): kvoten {ratio:.3g} är större än gränsen {limit:g}. Så olika "
                "designvikter ger ingen rimlig skattning; oftast är några vikter i en annan enhet "
                "eller exporten trasig. Rätta vikterna, eller ta bort kolumnen design_weight så att "
                "trygghet använder N_h / n_h",
                name,
                int(rows[hi]),
                "design_weight",
            )


def cell_keys(
    year: pd.Series, district: pd.Series, levels: tuple[np.ndarray, pd.Series] | None = None
) -> tuple[np.ndarray, pd.MultiIndex]:
    """Each row's (year, district) as a code into the distinct pairs (in the order they first occur; -1 when
    the year or the district is missing) and those pairs: small factorisations instead of a 1M-row
    MultiIndex. ``levels``: the district's levels (``convert``), when known."""
    ycodes, years = pd.factorize(year, use_na_sentinel=True)
    dcodes, districts = levels if levels is not None else pd.factorize(district, use_na_sentinel=True)
    districts = districts.array if isinstance(districts, pd.Series) else districts
    nd = max(len(districts), 1)
    pair = np.where((ycodes < 0) | (dcodes < 0), -1, ycodes.astype(np.int64) * nd + dcodes)
    codes, pairs = pd.factorize(pair, use_na_sentinel=True)
    present = pairs >= 0
    if not present.all():  # the pair code -1 (a missing year or district) is no cell
        codes = np.where(codes == np.flatnonzero(~present)[0], -1, codes)
        renumber = np.cumsum(present) - 1
        codes = np.where(codes >= 0, renumber[np.maximum(codes, 0)], -1)
        pairs = pairs[present]
    cells = pd.MultiIndex.from_arrays([years.take(pairs // nd), districts.take(pairs % nd)])
    return codes, cells


def cell_values(totals: pd.Series, codes: np.ndarray, cells: pd.MultiIndex) -> np.ndarray:
    """``totals`` (indexed by year, district) of each row's cell (``cell_keys``); NaN for none."""
    per_cell = np.append(totals.reindex(cells).to_numpy(dtype=np.float64), np.nan)
    return per_cell[np.where(codes >= 0, codes, len(cells))]


def weight_above_population(
    frame: pd.DataFrame,
    totals: pd.Series,
    population_file: str,
    cells: tuple[np.ndarray, pd.MultiIndex] | None = None,
) -> pd.DataFrame:
    """Rows whose design weight exceeds the whole population of their year x district (``cells``: the
    rows' ``cell_keys``, computed when None)."""
    if frame["design_weight"].isna().all():
        return no_failures()
    n = cell_values(totals, *(cells or cell_keys(frame["year"], frame["district"])))
    w = frame["design_weight"].to_numpy(dtype=np.float64)
    bad = np.isfinite(n) & np.isfinite(w) & (w > n)
    if not bad.any():
        return no_failures()
    sub = frame[bad]
    reasons = [
        f"design_weight {v:g} är större än hela befolkningen i {d} år {y} ({int(p)} enligt "
        f"{population_file}); en designvikt är 1 / urvalssannolikheten och kan inte vara större"
        for v, d, y, p in zip(sub["design_weight"], sub["district"], sub["year"], n[bad])
    ]
    return failures(sub.index, "design_weight", sub["design_weight"], "weight_population", reasons)


def _labels_of(cb: Codebook, column: str) -> dict[int, str] | None:
    if column == "sex":
        return cb.sexes
    if column == "born_abroad":
        return cb.born_abroad
    if column in cb.item_names:
        return cb.item(column).codes
    return None


def check_value_labels(
    value_labels: dict[str, dict[str, str]], cb: Codebook, mapping: VendorMapping | None, name: str
) -> None:
    """SPSS labels that give a code another code's meaning in the codebook reject the file."""
    for col, labels in value_labels.items():
        canonical = mapping.columns.get(col, col) if mapping else col
        if mapping and canonical in mapping.recode:
            continue  # the mapping recodes by label: no trust in codes
        cb_labels = _labels_of(cb, canonical)
        if not cb_labels:
            continue
        by_label = {v.strip().casefold(): k for k, v in cb_labels.items()}
        for code, label in labels.items():
            other = by_label.get(str(label).strip().casefold())
            if other is not None and str(other) != str(code):
                raise InputError(
                    f"SPSS-etiketten för kod {code} i kolumnen {col} är {label!r}, men i kodboken "
                    f"{cb.label} betyder {code} {cb_labels.get(_int(code) or -1, '(ingen kod)')!r} och "
                    f"{label!r} är kod {other}: koderna skulle läsas fel. Rätta etiketterna eller "
                    "koda om kolumnen i en leverantörsmappning (recode)",
                    name,
                    None,
                    canonical,
                )


def _int(code: str) -> int | None:
    try:
        return int(float(code))
    except ValueError:
        return None


def quarantine_frame(
    fails: pd.DataFrame,
    raw: pd.DataFrame,
    text: pd.DataFrame,
    vendor_of: dict[str, str],
    name: str,
    years: pd.Series | None,
    canonical: tuple[str, ...],
) -> pd.DataFrame:
    """Failures -> quarantine rows with the file's original value and record, free text withheld.

    ``vendor_of``: canonical column -> the file's column (empty without a mapping). ``record`` is the row as
    written, restricted to the file's columns that map onto ``canonical`` columns other than free text.
    """
    if len(fails) == 0:
        return _empty_quarantine().copy()
    fails = fails.sort_values(["index", "column"], kind="stable").drop_duplicates(["index", "column"])
    rows = fails["index"].to_numpy(dtype=np.int64)
    values = []
    for row, col, value in zip(rows, fails["column"], fails["value"]):
        src = vendor_of.get(col, col)
        v = raw.at[row, src] if src in raw.columns else value
        missing = v is None or (isinstance(v, float) and math.isnan(v))
        values.append(None if missing else WITHHELD if col in FREE_TEXT else str(v))
    renamed = {v: k for k, v in vendor_of.items()}
    canonical_of = {c: renamed.get(c, c) for c in raw.columns}
    keep = [c for c in raw.columns if canonical_of.get(c) in canonical and canonical_of[c] not in FREE_TEXT]
    records = _records_json(raw[keep], np.unique(rows))
    resp_id = text["resp_id"].reindex(rows).to_numpy(dtype=object) if "resp_id" in text else None
    year = years.reindex(rows).array if years is not None else pd.array([pd.NA] * len(rows), dtype="Int64")
    return pd.DataFrame(
        {
            "file": name,
            "source_row": rows,
            "resp_id": pd.array(resp_id if resp_id is not None else [None] * len(rows), dtype="str"),
            "year": pd.array(year, dtype="Int64"),
            "column": pd.array(fails["column"].to_numpy(dtype=object), dtype="str"),
            "value": pd.array(np.asarray(values, dtype=object), dtype="str"),
            "check": pd.array(fails["check"].to_numpy(dtype=object), dtype="str"),
            "reason": pd.array(fails["reason"].to_numpy(dtype=object), dtype="str"),
            "record": pd.array([records[r] for r in rows], dtype="str"),
        }
    )


@functools.cache
def _empty_quarantine() -> pd.DataFrame:
    q = pd.DataFrame({c: pd.Series(dtype="str") for c in QUARANTINE_COLUMNS})
    return q.astype({"source_row": "int64", "year": "Int64"})


def _records_json(raw: pd.DataFrame, rows: np.ndarray) -> dict[int, str]:
    """The original rows (as read, before mapping) as JSON objects, by source row."""
    if len(rows) == 0:
        return {}
    sub = raw.loc[rows]
    lines = sub.to_json(orient="records", lines=True, force_ascii=False).splitlines()
    return dict(zip(sub.index.tolist(), lines))


def _procent(share: float) -> str:
    """A share as Swedish text: ``0.066`` is ``6,6 %``, ``0.00033`` is ``0,033 %`` (two digits below 1 %)."""
    pct = share * 100
    digits = 1 if pct == 0 or pct >= 1 else min(6, 1 - math.floor(math.log10(pct)))
    return f"{pct:.{digits}f}".replace(".", ",") + "\u00a0%"


def reject_if_too_many(quarantine: pd.DataFrame, n_rows: int, max_bad_share: float, name: str) -> None:
    """File-level rejection when more than ``max_bad_share`` of the rows are quarantined."""
    bad = quarantine["source_row"].nunique() if len(quarantine) else 0
    if n_rows == 0 or bad / n_rows <= max_bad_share:
        return
    by = (quarantine["check"] + " i " + quarantine["column"]).value_counts()
    counts = "; ".join(f"{k}: {v}" for k, v in by.head(8).items())
    first = quarantine.sort_values("source_row", kind="stable").head(3)
    examples = "; ".join(f"{r.file} rad {r.source_row}, kolumn {r.column}: {r.reason}" for r in first.itertuples())
    head = first.iloc[0]
    raise InputError(
        f"vågen avvisas: {bad} av {n_rows} rader ({_procent(bad / n_rows)}) klarade inte radkontrollerna, fler "
        f"än de {_procent(max_bad_share)} som tillåts (--max-bad-share). Fel per kontroll och kolumn: {counts}. "
        f"Första exemplen: {examples}.",
        name,
        int(head["source_row"]),
        str(head["column"]),
    )
