"""Reading survey files onto the canonical form, with validation and row-level quarantine.

``read_table`` reads CSV (UTF-8 with/without BOM, UTF-16 with BOM, cp1252/latin-1; comma, semicolon or tab;
decimal comma), Excel ``.xlsx``, SPSS ``.sav`` and Parquet into a frame of TEXT (every value as written,
blank = missing; the index is the source row, header = row 1), so that a bad value can be reported as it
was. ``read_responses`` / ``read_population`` map (optional vendor mapping), convert to canonical dtypes
(vectorised over distinct values) and validate with the pandera schemas built from the codebook.
Row-level failures of responses go to ``IngestResult.quarantine``; file-level problems and population
problems raise :class:`InputError` naming file, row and column.
"""
from __future__ import annotations

import codecs
import csv
import hashlib
import io
import time
import math
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow as arrow
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from schemas.population import population_schema
from schemas.responses import responses_schema
from survey.data.codebook import (POPULATION_COLUMNS, RESPONSE_BASE_COLUMNS, Codebook, VendorMapping,
                             apply_mapping, default_codebook, load_codebook, load_mapping)
from survey.errors import InputError

FORMATS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".tab": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx",
           ".sav": "sav", ".zsav": "sav", ".parquet": "parquet", ".pq": "parquet"}
QUARANTINE_COLUMNS = ["file", "source_row", "resp_id", "year", "column", "value", "check", "reason", "record"]
FAILURE_COLUMNS = ["index", "column", "value", "check", "reason"]


@dataclass
class ReadInfo:
    """What ``read_table`` detected (or was told): format, encoding, delimiter, decimal mark, ..."""

    format: str
    encoding: str | None = None
    delimiter: str | None = None
    decimal: str = "."
    sha256: str = ""
    n_rows: int = 0
    value_labels: dict[str, dict[str, str]] = field(default_factory=dict)   # SPSS: column -> code -> label
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0          # wall time spent reading the file (lineage: the "read" step)


@dataclass
class SourceFile:
    """Lineage of one input file."""

    path: str
    name: str
    sha256: str
    format: str
    encoding: str | None
    delimiter: str | None
    decimal: str
    kind: str                     # "responses" or "population"
    codebook_version: str         # e.g. "trygghet-v1"
    mapping: str | None
    n_rows: int                   # data rows in the file (accepted + quarantined)
    read_seconds: float = 0.0     # wall time spent reading (before mapping and validation)


@dataclass
class IngestResult:
    """A file on canonical form: accepted rows, quarantined failures, free text, notes."""

    source: SourceFile
    data: pd.DataFrame
    quarantine: pd.DataFrame
    free_text: pd.DataFrame
    notes: list[str] = field(default_factory=list)


@dataclass
class Wave:
    """Responses and population read and cross-checked together."""

    responses: IngestResult
    population: IngestResult
    notes: list[str] = field(default_factory=list)

    @property
    def read_seconds(self) -> float:
        """Seconds spent reading both files (the rest of ``load_wave`` is mapping and validation)."""
        return self.responses.source.read_seconds + self.population.source.read_seconds


# --- reading --------------------------------------------------------------------------------------


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's bytes (the file's identity in the store and in run.json)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def _detect_format(path: Path, fmt: str | None) -> str:
    if fmt is not None:
        fmt = fmt.lower().lstrip(".")
        fmt = FORMATS.get("." + fmt, fmt)
        if fmt not in set(FORMATS.values()):
            raise InputError(f"unknown format {fmt!r}; use one of csv, xlsx, sav, parquet", path.name)
        return fmt
    if path.suffix.lower() in FORMATS:
        return FORMATS[path.suffix.lower()]
    raise InputError(f"unsupported file type {path.suffix or '(no extension)'!r}: trygghet reads CSV "
                     "(.csv, .txt, .tsv), Excel (.xlsx), SPSS (.sav) and Parquet (.parquet) files", path.name)


def read_table(path: str | Path, *, fmt: str | None = None, encoding: str | None = None,
               delimiter: str | None = None, decimal: str | None = None) -> tuple[pd.DataFrame, ReadInfo]:
    """Read a file as text: every column ``str`` (blank = missing), index = source row (header = 1).

    Format, encoding, delimiter and decimal mark are detected unless given; ``ReadInfo`` reports them.
    Raises :class:`InputError` for an unreadable, empty or header-only file, an unsupported format,
    an encoding that does not decode, or a row with another number of fields than the header.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file (or it is a folder)", path.name)
    kind = _detect_format(path, fmt)
    if decimal not in (None, ".", ","):
        raise InputError(f"decimal mark must be '.' or ',', not {decimal!r}", path.name)
    if kind == "csv":
        df, info = _read_csv(path, encoding, delimiter, decimal)
    else:
        try:
            reader = {"xlsx": _read_xlsx, "sav": _read_sav, "parquet": _read_parquet}[kind]
            df, info = reader(path)
        except InputError:
            raise
        except Exception as exc:  # a corrupt file raises whatever its library raises
            raise InputError(f"cannot be read as {kind} ({type(exc).__name__}: {exc}); is the file complete "
                             "and of the type its name says?", path.name) from None
        info.sha256 = sha256_file(path)
        if decimal:
            info.decimal = decimal
    _check_header(df, path.name)
    if len(df) == 0:
        raise InputError("has a header but no data rows", path.name, 2)
    info.n_rows = len(df)
    return df, info


def _check_header(df: pd.DataFrame, name: str) -> None:
    if len(df.columns) == 0:
        raise InputError("is empty (no header row)", name, 1)
    blank = [i + 1 for i, c in enumerate(df.columns) if not c]
    if blank:
        raise InputError(f"header field {blank[0]} is blank: every column needs a name", name, 1)
    dup = df.columns[df.columns.duplicated()]
    if len(dup):
        raise InputError("the header names this column twice", name, 1, str(dup[0]))


def _clean_name(name: Any) -> str:
    """Header names: text, NFC-normalised (å may come decomposed), trimmed, BOM removed."""
    return unicodedata.normalize("NFC", str(name if name is not None else "")).strip().lstrip("\ufeff")


def _decode(raw: bytes, name: str, encoding: str | None) -> tuple[str, str]:
    """Decode bytes strictly; returns (text, encoding used)."""
    if encoding is not None:
        try:
            enc = codecs.lookup(encoding).name
        except LookupError:
            raise InputError(f"unknown encoding {encoding!r}", name) from None
        try:
            text = raw.decode(enc)
        except UnicodeDecodeError as exc:
            line = raw.count(b"\n", 0, exc.start) + 1
            raise InputError(f"cannot be decoded as {encoding} (byte 0x{raw[exc.start]:02x} at line {line} is not "
                             f"valid {encoding}); leave the encoding to automatic detection or give the "
                             "right one (cp1252 for Swedish Windows files)", name, line) from None
        return text.lstrip("\ufeff"), enc
    if raw.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8"]
        raw = raw[3:]
        label = "utf-8-sig"
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates, label = ["utf-16"], "utf-16"
    else:
        candidates, label = ["utf-8", "cp1252", "latin-1"], None
    for enc in candidates:
        try:
            return raw.decode(enc).lstrip("\ufeff"), label or enc
        except UnicodeDecodeError as exc:
            last = exc
    line = raw.count(b"\n", 0, last.start) + 1
    raise InputError(f"cannot be decoded as {label} text", name, line)


def _sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _read_csv(path: Path, encoding: str | None, delimiter: str | None,
              decimal: str | None) -> tuple[pd.DataFrame, ReadInfo]:
    name = path.name
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror})", name) from None
    sha = hashlib.sha256(raw).hexdigest()
    if not raw[: 1 << 16].strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise InputError("is empty", name, 1)
    text, enc = _decode(raw, name, encoding)
    if "\x00" in text[:4096]:
        raise InputError(f"is not a text file in {enc} (it contains NUL bytes); is it a binary file with a "
                         ".csv name?", name)
    first = text[: text.find("\n")] if "\n" in text else text
    if delimiter is not None and delimiter.lower() in ("tab", "\\t"):
        delimiter = "\t"
    delim = delimiter or _sniff_delimiter(first)
    if len(delim) != 1:
        raise InputError(f"delimiter must be one character, not {delimiter!r}", name)
    header = next(csv.reader(io.StringIO(text[: 1 << 16]), delimiter=delim), [])
    names = [_clean_name(h) for h in header]
    data = raw[3:] if enc in ("utf-8", "utf-8-sig") and raw.startswith(codecs.BOM_UTF8) else raw
    if enc not in ("utf-8", "utf-8-sig"):
        data = text.encode("utf-8")
    bad_rows: list[int] = []
    ids = [f"c{i}" for i in range(len(names))]
    try:
        table = pcsv.read_csv(
            arrow.BufferReader(data),
            read_options=pcsv.ReadOptions(column_names=ids, skip_rows=1, block_size=1 << 24),
            parse_options=pcsv.ParseOptions(delimiter=delim, quote_char='"', double_quote=True,
                                            newlines_in_values=True,
                                            invalid_row_handler=lambda r: bad_rows.append(1) or "skip"),
            convert_options=pcsv.ConvertOptions(column_types={c: arrow.string() for c in ids},
                                                strings_can_be_null=True, quoted_strings_can_be_null=True,
                                                null_values=[""]))
    except arrow.ArrowInvalid as exc:
        row, found = _locate_bad_record(text, delim, len(names))
        raise InputError(_bad_record_message(row, found, len(names), str(exc)), name, row) from None
    if bad_rows:
        row, found = _locate_bad_record(text, delim, len(names))
        raise InputError(_bad_record_message(row, found, len(names), ""), name, row)
    info = ReadInfo("csv", enc, delim, decimal or _detect_decimal(table, delim), sha)
    return _to_text_frame(table, names, np.arange(2, table.num_rows + 2, dtype=np.int64)), info


def _locate_bad_record(text: str, delim: str, width: int) -> tuple[int | None, int | None]:
    """Slow path, only after a parse error: the first record (row = record number + 1) of another width."""
    row = 1
    try:
        for row, rec in enumerate(csv.reader(io.StringIO(text), delimiter=delim, strict=True), start=1):
            if rec and len(rec) != width:
                return row, len(rec)
    except csv.Error:
        return row + 1, None
    return None, None


def _bad_record_message(row: int | None, found: int | None, width: int, detail: str) -> str:
    if found is None:
        return ("cannot be parsed as CSV (an unclosed quote or a broken line; is the file truncated?)"
                + (f": {detail}" if detail else ""))
    less = "fewer" if found < width else "more"
    return (f"has {found} fields where the header has {width} ({less} than the header); the file may be "
            "truncated or a field may contain an unquoted delimiter")


_DECIMAL_COMMA = r"^\s*[+-]?\d*,\d+\s*$"
_NUMBER_OR_COMMA = r"^\s*[+-]?(\d+|\d*,\d+)\s*$"


def _detect_decimal(table: arrow.Table, delim: str) -> str:
    """',' when some column holds only numbers and at least one has a decimal comma, else '.'."""
    for col in table.columns:
        head = col.slice(0, 5000)
        if col.null_count == len(col) or not pc.any(pc.match_substring_regex(head, _DECIMAL_COMMA)).as_py() \
                or not pc.all(pc.match_substring_regex(head, _NUMBER_OR_COMMA)).as_py():
            continue
        if pc.any(pc.match_substring_regex(col, _DECIMAL_COMMA)).as_py() and \
                pc.all(pc.match_substring_regex(col, _NUMBER_OR_COMMA)).as_py():
            return ","
    return "."


def _to_text_frame(table: arrow.Table, names: list[str], rows: np.ndarray) -> pd.DataFrame:
    """Arrow table of strings -> pandas frame of ``str`` with the source rows as index."""
    df = table.to_pandas()
    df.columns = names
    df.index = pd.Index(rows, name="source_row")
    return df


def _cell_text(v: Any) -> str | None:
    """One spreadsheet cell as the text it shows: 2.0 -> '2', '' -> None, dates ISO."""
    if v is None:
        return None
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, float):
        if not math.isfinite(v):
            return None
        return str(int(v)) if v.is_integer() and abs(v) < 2 ** 53 else repr(v)
    if isinstance(v, int):
        return str(v)
    if hasattr(v, "isoformat"):
        return v.isoformat()
    s = str(v)
    return s if s != "" else None


def _read_xlsx(path: Path) -> tuple[pd.DataFrame, ReadInfo]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        raise InputError(f"is not a readable .xlsx workbook ({type(exc).__name__}: {exc})", path.name) from None
    try:
        ws = wb.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise InputError("is empty (the first sheet has no header row)", path.name, 1)
        while header and header[-1] is None:
            header = header[:-1]
        width = len(header)
        records, numbers = [], []
        for r, values in enumerate(rows, start=2):
            cells = [_cell_text(v) for v in values[:width]]
            if any(v is not None for v in values[width:]):
                raise InputError(f"has a value beyond the {width} named columns", path.name, r)
            if all(c is None for c in cells):
                continue
            records.append(cells + [None] * (width - len(cells)))
            numbers.append(r)
    finally:
        wb.close()
    names = [_clean_name(h) for h in header]
    cols = list(zip(*records)) if records else [[] for _ in names]
    table = arrow.table({f"c{i}": arrow.array(c, type=arrow.string()) for i, c in enumerate(cols)})
    return _to_text_frame(table, names, np.asarray(numbers, dtype=np.int64)), ReadInfo("xlsx")


def _numbers_as_text(arr: arrow.ChunkedArray) -> arrow.ChunkedArray:
    """Any arrow column as text; integral floats without '.0' (SPSS and Parquet store codes as doubles)."""
    t = arr.type
    if arrow.types.is_floating(t):
        values = arr.to_numpy(zero_copy_only=False).astype(np.float64)
        finite = np.isfinite(values)
        integral = finite & (np.floor(np.where(finite, values, 0)) == values) & (np.abs(values) < 2 ** 53)
        out = np.full(len(values), None, dtype=object)
        out[integral] = values[integral].astype(np.int64).astype(str)
        rest = finite & ~integral
        out[rest] = [repr(float(v)) for v in values[rest]]
        return arrow.chunked_array([arrow.array(out, type=arrow.string())])
    if arrow.types.is_boolean(t):
        arr = pc.cast(arr, arrow.int8())
    if arrow.types.is_dictionary(t):
        arr = pc.cast(arr, t.value_type)
        return _numbers_as_text(arr)
    text = pc.cast(arr, arrow.string()) if not arrow.types.is_string(t) else arr
    return pc.if_else(pc.equal(text, ""), arrow.scalar(None, arrow.string()), text)


def _read_parquet(path: Path) -> tuple[pd.DataFrame, ReadInfo]:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    names = [_clean_name(n) for n in table.column_names]
    text = arrow.table({f"c{i}": _numbers_as_text(table.column(i)) for i in range(table.num_columns)})
    return _to_text_frame(text, names, np.arange(2, table.num_rows + 2, dtype=np.int64)), ReadInfo("parquet")


def _read_sav(path: Path) -> tuple[pd.DataFrame, ReadInfo]:
    import pyreadstat

    df, meta = pyreadstat.read_sav(str(path), apply_value_formats=False, user_missing=False)
    table = arrow.Table.from_pandas(df, preserve_index=False)
    names = [_clean_name(n) for n in df.columns]
    text = arrow.table({f"c{i}": _numbers_as_text(table.column(i)) for i in range(table.num_columns)})
    labels = {_clean_name(col): {_cell_text(float(k)) if isinstance(k, (int, float)) else str(k): str(v)
                                 for k, v in vl.items()}
              for col, vl in (meta.variable_value_labels or {}).items()}
    return (_to_text_frame(text, names, np.arange(2, len(df) + 2, dtype=np.int64)),
            ReadInfo("sav", value_labels=labels))


# --- conversion -----------------------------------------------------------------------------------


def _failures(index, column: str, values, check: str, reason) -> pd.DataFrame:
    """Row failures: index label (= source row), column, raw value, check name, reason for a person."""
    n = len(index)
    return pd.DataFrame({"index": np.asarray(index, dtype=np.int64), "column": [column] * n,
                         "value": np.asarray(values, dtype=object), "check": [check] * n,
                         "reason": np.asarray(reason, dtype=object) if not isinstance(reason, str)
                         else [reason] * n}, columns=FAILURE_COLUMNS)


def _parse_numbers(s: pd.Series, *, integer: bool, decimal: str = ".") -> tuple[np.ndarray, np.ndarray,
                                                                                  np.ndarray]:
    """Parse text into numbers over the distinct values only.

    Returns (values float64 with NaN for blank/bad, blank mask, bad mask: non-blank text that is not a
    number (or not a whole number when ``integer``)).
    """
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    u = pd.Series(np.asarray(uniques, dtype=object), dtype=object).str.strip()
    if decimal == ",":
        u = u.str.replace(",", ".", regex=False)
    num = pd.to_numeric(u, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    finite = np.isfinite(num)
    ok = finite & (num == np.round(num)) if integer else finite
    num = np.where(ok, num, np.nan)
    blank_u = (u == "").to_numpy(dtype=bool)
    ok_u = np.append(ok, False)
    blank_u = np.append(blank_u, True)           # code -1 (missing) is blank
    num_u = np.append(num, np.nan)
    return num_u[codes], blank_u[codes], ~ok_u[codes] & ~blank_u[codes]


def _fast_numbers(s: pd.Series, *, integer: bool, decimal: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Arrow cast of clean text to numbers: (values with NaN for blank, blank mask).

    None when some value needs the careful path of ``_parse_numbers`` (spaces, '2.0', text, 'nan', ...).
    """
    try:
        arr = arrow.array(s.array)
        if decimal == "," and not integer:
            arr = pc.replace_substring(arr, ",", ".")
        num = pc.cast(arr, arrow.int64() if integer else arrow.float64())
    except (arrow.ArrowException, TypeError, ValueError):
        return None
    blank = num.is_null().to_numpy(zero_copy_only=False)
    values = num.to_numpy(zero_copy_only=False).astype(np.float64)
    if not np.isfinite(values[~blank]).all():
        return None
    return values, blank


def _to_int64(values: np.ndarray) -> pd.arrays.IntegerArray:
    mask = np.isnan(values)
    return pd.arrays.IntegerArray(np.where(mask, 0, values).astype(np.int64), mask)


@dataclass
class _Converted:
    frame: pd.DataFrame
    failures: list[pd.DataFrame]


def _convert(df: pd.DataFrame, spec: dict[str, str], decimal: str) -> _Converted:
    """Convert text columns to canonical dtypes per ``spec`` (column -> kind), recording failures.

    Kinds: ``text`` (required, trimmed), ``int`` (required whole number), ``code`` (whole number or blank),
    ``weight`` (number; blank only when the whole column is blank), ``count`` (required whole number).
    """
    out: dict[str, Any] = {}
    fails: list[pd.DataFrame] = []
    idx = df.index
    for col, kind in spec.items():
        if col not in df.columns:
            if kind == "weight":
                out[col] = np.full(len(df), np.nan)
            elif kind == "code":
                out[col] = pd.array([pd.NA] * len(df), dtype="Int64")
            continue
        s = df[col]
        if kind == "text":
            t = s.str.strip()
            out[col] = t.where(t != "", None)
            continue
        fast = _fast_numbers(s, integer=kind != "weight", decimal=decimal)
        if fast is not None:
            (values, blank), bad = fast, np.zeros(len(s), dtype=bool)
        else:
            values, blank, bad = _parse_numbers(s, integer=kind != "weight", decimal=decimal)
        if bad.any():
            what = "a number" if kind == "weight" else "a whole number"
            fails.append(_failures(idx[bad], col, s[bad], "type", [f"{v!r} is not {what}" for v in s[bad]]))
        if kind in ("int", "count") and blank.any():
            fails.append(_failures(idx[blank], col, s[blank], "blank", f"{col} is blank"))
        if kind == "weight":
            if blank.all():
                out[col] = np.full(len(df), np.nan)
                continue
            if blank.any():
                fails.append(_failures(idx[blank], col, s[blank], "blank",
                                       "design_weight is blank while other rows have one"))
            out[col] = values
        else:
            out[col] = _to_int64(values)
    frame = pd.DataFrame(out, index=idx)
    return _Converted(frame, fails)


_REASONS = {
    "isin": "{value!r} is not a listed code of {column} ({codes})",
    "not_nullable": "{column} is blank",
    "not_blank": "{column} is blank",
    "finite_positive": "design_weight {value} is not a finite number > 0",
    "multiple_fields_uniqueness": "the same ({keys}) occurs in more than one row",
    "greater_than_or_equal_to(0)": "population {value} is negative",
}


def _shown(value: Any) -> Any:
    """A failure value as a person reads it: codes as the text '7', numbers as 0.0, text quoted."""
    if isinstance(value, (np.integer, int)) and not isinstance(value, bool):
        return str(int(value))
    if isinstance(value, np.floating):
        return float(value)
    return value


def _validate(frame: pd.DataFrame, schema: pa.DataFrameSchema, codebook: Codebook, name: str,
              keys: str) -> pd.DataFrame:
    """Run a pandera schema lazily; return one failure per (row, column, check) with a readable reason."""
    try:
        schema.validate(frame, lazy=True, inplace=True)
        return _failures([], "", [], "", [])
    except pa.errors.SchemaErrors as exc:
        fc = exc.failure_cases
    schema_level = fc[fc["index"].isna()]
    if len(schema_level):
        first = schema_level.iloc[0]
        raise InputError(f"does not have the canonical form ({first['check']}); this is a bug in trygghet's "
                         "conversion, please report it with the file", name, None, first["column"])
    fc = fc.drop_duplicates(["index", "column", "check"])
    checks = fc["check"].astype(str).str.replace(r"^isin\(.*\)$", "isin", regex=True)
    reasons = []
    for column, check, value in zip(fc["column"], checks, fc["failure_case"]):
        codes = codebook.codes_of(column)
        template = _REASONS.get(check, "{column} fails the check " + check)
        reasons.append(template.format(value=_shown(value), column=column, keys=keys,
                                       codes=", ".join(map(str, codes or ()))))
    names = {"multiple_fields_uniqueness": "duplicate", "not_nullable": "blank", "not_blank": "blank"}
    return _failures(fc["index"].astype(np.int64), "", fc["failure_case"], "", reasons).assign(
        column=fc["column"].to_numpy(dtype=object),
        check=[names.get(c, "code" if c == "isin" else c) for c in checks])


# --- responses ------------------------------------------------------------------------------------


def _resolve_codebook(codebook: Codebook | str | Path | None) -> Codebook:
    return codebook if isinstance(codebook, Codebook) else (
        default_codebook() if codebook is None else load_codebook(codebook))


def _resolve_mapping(mapping: VendorMapping | str | Path | None, cb: Codebook) -> VendorMapping | None:
    return mapping if isinstance(mapping, VendorMapping) or mapping is None else load_mapping(mapping, cb)


def _read_mapped(path: str | Path, cb: Codebook, mapping: VendorMapping | None, required: tuple[str, ...],
                 read_opts: dict) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, ReadInfo, list[str]]:
    """Read, map and check the columns: (raw, mapped text, mapping failures, info, notes)."""
    opts = dict(mapping.read) if mapping else {}
    opts.update({k: v for k, v in read_opts.items() if v is not None})
    unknown = set(opts) - {"fmt", "encoding", "delimiter", "decimal"}
    if unknown:
        raise TypeError(f"unknown read option(s) {sorted(unknown)}")
    t0 = time.perf_counter()
    raw, info = read_table(path, **opts)
    info.seconds = time.perf_counter() - t0
    name = Path(path).name
    if mapping is not None:
        text, map_fail = apply_mapping(raw, mapping, name, info.value_labels)
    else:
        text, map_fail = raw, _failures([], "", [], "", [])
    dup = text.columns[text.columns.duplicated()]
    if len(dup):
        raise InputError("two columns map onto the same canonical column", name, 1, str(dup[0]))
    missing = [c for c in required if c not in text.columns]
    if missing:
        vendor = {v: k for k, v in mapping.columns.items()} if mapping else {}
        said = ", ".join(c + (f" (vendor column {vendor[c]!r} in mapping {mapping.name})" if c in vendor else "")
                         for c in missing)
        raise InputError(f"missing required column(s) {said}; the file has {', '.join(map(str, raw.columns))}",
                         name, 1, missing[0])
    notes = info.notes
    return raw, text, map_fail, info, notes


def _source(path: str | Path, info: ReadInfo, kind: str, cb: Codebook, mapping: VendorMapping | None) -> SourceFile:
    p = Path(path)
    return SourceFile(str(p), p.name, info.sha256, info.format, info.encoding, info.delimiter, info.decimal, kind,
                      cb.label, mapping.name if mapping else None, info.n_rows, info.seconds)


def _records_json(raw: pd.DataFrame, rows: np.ndarray) -> dict[int, str]:
    """The original rows (as read, before mapping) as JSON objects, by source row."""
    if len(rows) == 0:
        return {}
    sub = raw.loc[rows]
    lines = sub.to_json(orient="records", lines=True, force_ascii=False).splitlines()
    return dict(zip(sub.index.tolist(), lines))


def _quarantine(fails: pd.DataFrame, raw: pd.DataFrame, text: pd.DataFrame, vendor_of: dict[str, str],
                name: str, years: pd.Series | None) -> pd.DataFrame:
    """Failures -> quarantine rows with the file's original value and record."""
    if len(fails) == 0:
        q = pd.DataFrame({c: pd.Series(dtype="str") for c in QUARANTINE_COLUMNS})
        return q.astype({"source_row": "int64", "year": "Int64"})
    fails = fails.sort_values(["index", "column"], kind="stable").drop_duplicates(["index", "column"])
    rows = fails["index"].to_numpy(dtype=np.int64)
    values = []
    for row, col, value in zip(rows, fails["column"], fails["value"]):
        src = vendor_of.get(col, col)
        v = raw.at[row, src] if src in raw.columns else value
        values.append(None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v))
    records = _records_json(raw, np.unique(rows))
    resp_id = text["resp_id"].reindex(rows).to_numpy(dtype=object) if "resp_id" in text else None
    year = years.reindex(rows).array if years is not None else pd.array([pd.NA] * len(rows), dtype="Int64")
    return pd.DataFrame({
        "file": name, "source_row": rows,
        "resp_id": pd.array(resp_id if resp_id is not None else [None] * len(rows), dtype="str"),
        "year": pd.array(year, dtype="Int64"), "column": pd.array(fails["column"], dtype="str"),
        "value": pd.array(values, dtype="str"), "check": pd.array(fails["check"], dtype="str"),
        "reason": pd.array(fails["reason"], dtype="str"),
        "record": pd.array([records[r] for r in rows], dtype="str")})


def _reject_if_too_many(quarantine: pd.DataFrame, n_rows: int, max_bad_share: float, name: str) -> None:
    """File-level rejection when more than ``max_bad_share`` of the rows are quarantined."""
    bad = quarantine["source_row"].nunique() if len(quarantine) else 0
    if n_rows == 0 or bad / n_rows <= max_bad_share:
        return
    by = (quarantine["check"] + " in " + quarantine["column"]).value_counts()
    counts = "; ".join(f"{k}: {v}" for k, v in by.head(8).items())
    first = quarantine.sort_values("source_row", kind="stable").head(3)
    examples = "; ".join(f"{r.file} row {r.source_row}, column {r.column}: {r.reason}" for r in first.itertuples())
    head = first.iloc[0]
    raise InputError(f"wave rejected: {bad} of {n_rows} rows ({bad / n_rows:.1%}) failed row checks, more than "
                     f"the {max_bad_share:.1%} allowed. Failures by check and column: {counts}. First "
                     f"examples: {examples}.", name, int(head["source_row"]), str(head["column"]))


def read_responses(path: str | Path, codebook: Codebook | str | Path | None = None,
                   mapping: VendorMapping | str | Path | None = None, *, max_bad_share: float = 0.05,
                   **read_opts: Any) -> IngestResult:
    """Read a responses file onto canonical form; failing rows go to ``quarantine``.

    ``read_opts``: ``fmt``, ``encoding``, ``delimiter``, ``decimal`` (overrides of detection).
    Raises :class:`InputError` for file-level problems and when more than ``max_bad_share`` of the rows
    fail. The district-against-population check happens in :func:`load_wave`.
    """
    return _read_responses(path, _resolve_codebook(codebook), mapping, max_bad_share, read_opts, None, "")


def _duplicates(frame: pd.DataFrame) -> pd.DataFrame:
    """Every copy of a (resp_id, year) that occurs more than once (blank ids are reported as blank).

    Year by year, with a fast uniqueness test first (``Index.is_unique`` is a hash pass).
    """
    ids = frame["resp_id"]
    years = frame["year"].to_numpy(dtype=np.float64, na_value=np.nan)
    dup = np.zeros(len(frame), dtype=bool)
    for y in np.unique(years[~np.isnan(years)]):
        m = (years == y) & ids.notna().to_numpy()
        sub = ids[m]
        if not pd.Index(sub).is_unique:
            dup[m] = sub.duplicated(keep=False).to_numpy()
    if not dup.any():
        return _failures([], "", [], "", [])
    d = frame.loc[dup, ["resp_id", "year"]]
    first = pd.Series(d.index, index=d.index).groupby([d["resp_id"], d["year"]]).transform("min")
    reasons = [f"resp_id {r!r} occurs more than once in year {y} (first in row {f})"
               for r, y, f in zip(d["resp_id"], d["year"], first)]
    return _failures(d.index, "resp_id", d["resp_id"], "duplicate", reasons)


def _read_responses(path: str | Path, cb: Codebook, mapping: VendorMapping | str | Path | None,
                    max_bad_share: float, read_opts: dict, districts: pd.MultiIndex | None,
                    population_file: str) -> IngestResult:
    """``read_responses``; with ``districts`` (year, district) of the population, unknown ones fail too."""
    mp = _resolve_mapping(mapping, cb)
    required = RESPONSE_BASE_COLUMNS + cb.item_names
    raw, text, map_fail, info, notes = _read_mapped(path, cb, mp, required, read_opts)
    name = Path(path).name
    ignored = [c for c in text.columns if c not in cb.response_columns]
    if ignored:
        notes.append(f"{name}: column(s) {', '.join(map(str, ignored))} are not in codebook {cb.label}: ignored")

    spec = {"resp_id": "text", "year": "int", "district": "text", "sex": "int", "age_group": "text",
            "born_abroad": "code", "design_weight": "weight", **{q: "code" for q in cb.item_names}}
    conv = _convert(text, spec, info.decimal)
    frame = conv.frame
    frame["source_row"] = frame.index.to_numpy(dtype=np.int64)
    weights = not frame["design_weight"].isna().all()
    if not weights:
        notes.append(f"{name}: design_weight absent or blank: the weighting step uses N_h / respondents_h")
    schema = responses_schema(cb, weights=weights, nullable_keys=True, check_unique=False)
    fails = [map_fail, *conv.failures, _validate(frame, schema, cb, name, "resp_id, year"),
             _duplicates(frame)]
    if districts is not None:
        keys = pd.MultiIndex.from_arrays([frame["year"], frame["district"]])
        unknown = (~keys.isin(districts) & frame["year"].notna().to_numpy()
                   & frame["district"].notna().to_numpy())
        if unknown.any():
            bad = frame[unknown]
            fails.append(_failures(bad.index, "district", bad["district"], "district_unknown",
                                   [f"district {d!r} has no population for {y} in {population_file}"
                                    for d, y in zip(bad["district"], bad["year"])]))
    fails = [f for f in fails if len(f)]
    fails = pd.concat(fails, ignore_index=True) if fails else _failures([], "", [], "", [])
    vendor_of = {v: k for k, v in mp.columns.items()} if mp else {}
    quarantine = _quarantine(fails, raw, text, vendor_of, name, frame["year"])
    _reject_if_too_many(quarantine, len(frame), max_bad_share, name)

    ok = ~frame.index.isin(quarantine["source_row"].unique())
    data = _canonical_responses(frame[ok], cb)
    free = _free_text(text.loc[ok], data)
    return IngestResult(_source(path, info, "responses", cb, mp), data, quarantine, free, notes)


def _canonical_responses(frame: pd.DataFrame, cb: Codebook) -> pd.DataFrame:
    """Accepted rows in canonical column order and dtypes, RangeIndex."""
    cols = ["resp_id", "year", "district", "sex", "age_group", "born_abroad", "design_weight",
            *cb.item_names, "source_row"]
    out = frame[cols].reset_index(drop=True)
    return out.astype({"resp_id": "str", "district": "str", "age_group": "str", "year": "int64", "sex": "int64",
                       "born_abroad": "Int64", "design_weight": "float64", "source_row": "int64",
                       **{q: "Int64" for q in cb.item_names}})


def _free_text(text: pd.DataFrame, data: pd.DataFrame) -> pd.DataFrame:
    """(resp_id, year, comment) of accepted rows with a non-blank comment."""
    empty = pd.DataFrame({"resp_id": pd.Series(dtype="str"), "year": pd.Series(dtype="int64"),
                          "comment": pd.Series(dtype="str")})
    if "comment" not in text.columns:
        return empty
    comment = text["comment"].reset_index(drop=True)
    keep = comment.notna().to_numpy(dtype=bool).copy()
    keep[keep] = (comment[keep].str.strip() != "").to_numpy(dtype=bool)
    if not keep.any():
        return empty
    return pd.DataFrame({"resp_id": data["resp_id"][keep], "year": data["year"][keep],
                         "comment": comment[keep]}).reset_index(drop=True)


# --- population -----------------------------------------------------------------------------------


def read_population(path: str | Path, codebook: Codebook | str | Path | None = None,
                    mapping: VendorMapping | str | Path | None = None, **read_opts: Any) -> IngestResult:
    """Read a population file (register counts); any bad row rejects the file with :class:`InputError`."""
    cb = _resolve_codebook(codebook)
    mp = _resolve_mapping(mapping, cb)
    raw, text, map_fail, info, notes = _read_mapped(path, cb, mp, POPULATION_COLUMNS, read_opts)
    name = Path(path).name
    spec = {"year": "int", "district": "text", "sex": "int", "age_group": "text", "population": "count"}
    conv = _convert(text, spec, info.decimal)
    frame = conv.frame
    frame["source_row"] = frame.index.to_numpy(dtype=np.int64)
    fails = [map_fail, *conv.failures,
             _validate(frame, population_schema(cb, nullable_keys=True), cb, name, "year, district, sex, age_group")]
    fails = pd.concat([f for f in fails if len(f)], ignore_index=True) if any(len(f) for f in fails) else None
    if fails is not None:
        fails = fails.sort_values(["index", "column"], kind="stable")
        first = fails.iloc[0]
        row = int(first["index"])
        cell = "/".join(str(raw.at[row, c]) if c in raw.columns else "?"
                        for c in ("year", "district", "sex", "age_group"))
        more = f" ({fails['index'].nunique() - 1} more row(s) fail too)" if fails["index"].nunique() > 1 else ""
        if first["check"] == "duplicate":
            rows = fails.loc[fails["check"] == "duplicate", "index"].unique()[:2]
            reason = f"duplicate cell: rows {rows[0]} and {rows[1]} are both {cell}"
        else:
            reason = f"{first['reason']} (cell {cell})"
        raise InputError(f"population file rejected: {reason}{more}", name, row, str(first["column"]))
    data = frame.reset_index(drop=True).astype({"year": "int64", "district": "str", "sex": "int64",
                                                "age_group": "str", "population": "int64"})
    empty_q = _quarantine(_failures([], "", [], "", []), raw, text, {}, name, None)
    return IngestResult(_source(path, info, "population", cb, mp), data[list(POPULATION_COLUMNS)],
                        empty_q, pd.DataFrame({"resp_id": pd.Series(dtype="str")}), notes)


# --- wave -----------------------------------------------------------------------------------------


def load_wave(responses_path: str | Path, population_path: str | Path,
              codebook: Codebook | str | Path | None = None, mapping: VendorMapping | str | Path | None = None,
              *, max_bad_share: float = 0.05, population_mapping: VendorMapping | str | Path | None = None,
              **read_opts: Any) -> Wave:
    """Read responses and population and check them against each other.

    Respondents whose district has no population for their year are quarantined; a year x district with
    respondents but a missing sex x age cell rejects the population file; population cells of
    year x districts without respondents are kept and noted. ``mapping`` and ``read_opts`` apply to the
    responses file, ``population_mapping`` to the population file (canonical when None).
    """
    cb = _resolve_codebook(codebook)
    pop = read_population(population_path, cb, population_mapping)
    p = pop.data
    pop_keys = pd.MultiIndex.from_arrays([p["year"], p["district"]]).unique()
    resp = _read_responses(responses_path, cb, mapping, max_bad_share, read_opts, pop_keys, pop.source.name)
    d = resp.data
    notes = [*resp.notes, *pop.notes]
    strata = pd.MultiIndex.from_arrays([d["year"], d["district"]]).unique()
    need = pd.MultiIndex.from_tuples([(y, dist, s, a) for y, dist in strata for s in cb.sexes
                                      for a in cb.age_groups])
    have = pd.MultiIndex.from_arrays([p["year"], p["district"], p["sex"], p["age_group"]])
    missing = need[~need.isin(have)] if len(need) else need
    if len(missing):
        y, dist, s, a = missing[0]
        raise InputError(f"population file rejected: no row for the cell year {y}, district {dist!r}, sex {s}, "
                         f"age_group {a}, which has respondents in {resp.source.name} "
                         f"({len(missing)} such cell(s) missing)", pop.source.name, None,
                         "year/district/sex/age_group")
    unused = pop_keys[~pop_keys.isin(strata)]
    if len(unused):
        listed = ", ".join(f"{y} {dist}" for y, dist in sorted(unused)[:10])
        notes.append(f"{pop.source.name}: population cells of {len(unused)} year x district(s) without "
                     f"respondents are kept but not used: {listed}")
    return Wave(resp, pop, notes)


__all__ = ["ReadInfo", "SourceFile", "IngestResult", "Wave", "read_table", "read_responses", "read_population",
           "load_wave", "QUARANTINE_COLUMNS"]
