"""Reading survey files as text: CSV (any encoding of :mod:`survey.data.encodings`), xlsx, SPSS .sav, Parquet.

``read_table`` returns a frame of TEXT (every value as written, blank = missing; the index is the source row,
header = row 1, Excel: the sheet's own row number) so that a bad value can be reported as it was. Every
problem is an :class:`~survey.errors.InputError` in Swedish naming the file, the row and the column:

* a file whose first bytes say it is something else (a zip or workbook named ``.csv``, a text file named
  ``.xlsx``, an old ``.xls``, a Parquet or SPSS file under another name, binary junk);
* a CSV cut off inside a quoted field: an opening ``"`` that is never closed (the quote count of the file
  is odd and Python's strict CSV parser reaches the end of the data inside the field). pyarrow would read
  such a file "successfully" with a truncated last record, so this is checked on every file (one
  ``bytes.count``, the slow location only on failure);
* a record with another number of fields than the header, NUL bytes in text, a blank or repeated header;
* Parquet columns of a type that is not text or numbers (lists, structs, binary).
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as arrow
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from survey.data.encodings import Locator, decode_text, plain_utf8
from survey.errors import InputError

FORMATS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".tab": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".sav": "sav",
    ".zsav": "sav",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_MAGIC = {b"PK\x03\x04": "zip", b"\xd0\xcf\x11\xe0": "ole", b"PAR1": "parquet", b"$FL2": "sav", b"$FL3": "sav"}
_MAGIC_SAYS = {
    "zip": "en zip-fil (t.ex. en Excel-arbetsbok .xlsx)",
    "ole": "en gammal Excel-fil (.xls) eller annan Office-fil",
    "parquet": "en Parquet-fil",
    "sav": "en SPSS-fil (.sav)",
}


@dataclass
class ReadInfo:
    """What ``read_table`` detected (or was told): format, encoding, delimiter, decimal mark, ..."""

    format: str
    encoding: str | None = None
    delimiter: str | None = None
    decimal: str = "."
    sha256: str = ""
    n_rows: int = 0
    value_labels: dict[str, dict[str, str]] = field(default_factory=dict)  # SPSS: column -> code -> label
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0  # wall time spent reading the file (lineage: the "read" step)
    header_row: int = 1  # the row of the column names (Excel: after title rows)
    other_sheets: dict[str, set[str]] = field(default_factory=dict)  # Excel: sheet not read -> its column names


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
            raise InputError(f"okänt filformat {fmt!r} (--format); använd csv, xlsx, sav eller parquet", path.name)
        return fmt
    if path.suffix.lower() in FORMATS:
        return FORMATS[path.suffix.lower()]
    raise InputError(
        f"filtypen {path.suffix or '(ingen filändelse)'!r} stöds inte: trygghet läser CSV (.csv, .txt, "
        ".tsv), Excel (.xlsx), SPSS (.sav) och Parquet (.parquet), eller ange --format",
        path.name,
    )


def _check_magic(path: Path, kind: str) -> None:
    """The first bytes must fit the format the name (or --format) says."""
    with open(path, "rb") as fh:
        head = fh.read(8)
    found = next((v for k, v in _MAGIC.items() if head.startswith(k)), None)
    expected = {"xlsx": "zip", "parquet": "parquet", "sav": "sav"}.get(kind)
    if kind == "csv" and found is not None:
        raise InputError(
            f"är inte en textfil utan {_MAGIC_SAYS[found]} med ett CSV-namn; byt filändelse till den "
            "rätta (eller exportera filen som CSV)",
            path.name,
        )
    if expected is not None and found != expected:
        what = _MAGIC_SAYS.get(found or "", "textfil eller okänd data" if head[:4].isascii() else "okänd binär data")
        raise InputError(
            f"är inte en {kind}-fil: de första byten visar {what}. Är filen hel och har den rätt filändelse?", path.name
        )


def read_table(
    path: str | Path,
    *,
    fmt: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    decimal: str | None = None,
) -> tuple[pd.DataFrame, ReadInfo]:
    """Read a file as text: every column ``str`` (blank = missing), index = source row (header = 1).

    Format, encoding, delimiter and decimal mark are detected unless given; ``ReadInfo`` reports them.
    Raises :class:`InputError` for an unreadable, empty or header-only file, an unsupported format,
    an encoding that does not decode, a truncated record or a row with another number of fields than
    the header.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("filen finns inte (eller är en mapp)", path.name)
    kind = _detect_format(path, fmt)
    if decimal not in (None, ".", ","):
        raise InputError(f"decimaltecknet måste vara '.' eller ',', inte {decimal!r} (--decimal)", path.name)
    _check_magic(path, kind)
    if kind == "csv":
        df, info = _read_csv(path, encoding, delimiter, decimal)
    else:
        from survey.data.excel import read_xlsx

        try:
            reader = {"xlsx": read_xlsx, "sav": _read_sav, "parquet": _read_parquet}[kind]
            df, info = reader(path)
        except InputError:
            raise
        except Exception as exc:  # a corrupt file raises whatever its library raises
            raise InputError(
                f"kan inte läsas som {kind} ({type(exc).__name__}); är filen hel och av den typ som namnet säger?",
                path.name,
            ) from None
        info.sha256 = sha256_file(path)
        if decimal:
            info.decimal = decimal
    check_header(df, path.name, info.header_row)
    if len(df) == 0:
        raise InputError("har en rubrikrad men inga datarader", path.name, info.header_row + 1)
    info.n_rows = len(df)
    return df, info


def check_header(df: pd.DataFrame, name: str, row: int = 1) -> None:
    """Every column named, no name twice."""
    if len(df.columns) == 0:
        raise InputError("är tom (ingen rubrikrad med kolumnnamn)", name, row)
    blank = [i + 1 for i, c in enumerate(df.columns) if not c]
    if blank:
        raise InputError(f"rubrikfält {blank[0]} är tomt: varje kolumn behöver ett namn", name, row)
    dup = df.columns[df.columns.duplicated()]
    if len(dup):
        raise InputError("rubrikraden har samma kolumnnamn två gånger", name, row, str(dup[0]))


def clean_name(name: Any) -> str:
    """Header names: text, NFC-normalised (å may come decomposed), trimmed, BOM removed."""
    return unicodedata.normalize("NFC", str(name if name is not None else "")).strip().lstrip("\ufeff")


def _sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _first_line(text: str) -> str:
    return text[: text.find("\n")] if "\n" in text else text


def locator(delim: str | None = None) -> Locator:
    """A function (text, offset) -> (row, column) for messages about one place of a CSV text."""

    def locate(text: str, pos: int) -> tuple[int | None, str | None]:
        d = delim or _sniff_delimiter(_first_line(text))
        header = next(csv.reader(io.StringIO(text[: 1 << 16], newline=""), delimiter=d), [])
        records = [r for r in csv.reader(io.StringIO(text[: pos + 1], newline=""), delimiter=d) if r]
        if not records:
            return 1, None
        i = len(records[-1]) - 1
        return len(records), clean_name(header[i]) if 0 <= i < len(header) else f"fält {i + 1}"

    return locate


def _read_csv(
    path: Path, encoding: str | None, delimiter: str | None, decimal: str | None
) -> tuple[pd.DataFrame, ReadInfo]:
    name = path.name
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"kan inte läsas ({exc.strerror})", name) from None
    with ThreadPoolExecutor(max_workers=1) as pool:  # hashlib lets go of the GIL: hash while the rest reads
        sha = pool.submit(lambda: hashlib.sha256(raw).hexdigest())
        return _parse_csv(raw, name, encoding, delimiter, decimal, sha)


def _parse_csv(
    raw: bytes, name: str, encoding: str | None, delimiter: str | None, decimal: str | None, sha: Future[str]
) -> tuple[pd.DataFrame, ReadInfo]:
    if not raw[: 1 << 16].strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise InputError("är tom", name, 1)
    if delimiter is not None and delimiter.lower() in ("tab", "\\t"):
        delimiter = "\t"
    if delimiter is not None and len(delimiter) != 1:
        raise InputError(f"avgränsaren måste vara ett tecken, inte {delimiter!r} (--delimiter)", name)
    src = _CsvText(raw, name, encoding, delimiter)
    head, enc = src.head, src.encoding
    delim = delimiter or _sniff_delimiter(_first_line(head))
    header = next(csv.reader(io.StringIO(head[: 1 << 16], newline=""), delimiter=delim), [])
    names = [clean_name(h) for h in header]
    others = {d: _first_line(head).count(d) for d in (",", ";", "\t", "|") if d != delim}
    other = max(others, key=lambda d: others[d])
    if len(names) == 1 and others[other] >= 2:
        raise InputError(
            f"rubrikraden har bara ett fält med avgränsaren {delim!r} men innehåller {others[other]} "
            f"{other!r}: fel avgränsare? Ange rätt --delimiter, eller ingen så avgör trygghet den",
            name,
            1,
        )
    data = src.data
    if src.quotes % 2:
        _reject_unclosed_quote(src.text(), delim, names, name)
    if not _has_line_break(src.raw, src.offset):  # the header alone (perhaps cut, without a line break)
        table = arrow.table({f"c{i}": arrow.array([], arrow.large_string()) for i in range(len(names))})
    else:
        table = _arrow_csv(data, src.text, delim, names, name)
    info = ReadInfo("csv", enc, delim, decimal or _detect_decimal(table), sha.result(), notes=list(src.notes))
    return _to_text_frame(table, names, np.arange(2, table.num_rows + 2, dtype=np.int64)), info


_CR_NOTE = "{name}: raderna slutar med bara CR (Excel för Macs CSV-format); de lästes som vanliga radbrytningar"


class _CsvText:
    """A CSV file's bytes decoded by :mod:`survey.data.encodings`: ``data`` (UTF-8 bytes for Arrow), ``head``
    (the text of the first line and at least 65,536 characters), ``text()`` (all of it, made only when needed:
    error messages), ``encoding``, ``notes``, ``quotes`` (the number of ``"``).

    Plain UTF-8 (``plain_utf8``) is never decoded into one large Python string; any other file is decoded by
    ``decode_text`` (and a NUL byte in it is an error naming its row and column)."""

    def __init__(self, raw: bytes, name: str, encoding: str | None, delimiter: str | None) -> None:
        self._text: str | None = None
        plain = plain_utf8(raw, name) if encoding is None else None
        if plain is not None:
            self.encoding, self.notes = plain, []
            if b"\n" not in raw and b"\r" in raw:  # UTF-8 has no 0x0D inside a character
                raw = raw.replace(b"\r", b"\n")
                self.notes.append(_CR_NOTE.format(name=name))
            self.raw, self.offset = raw, 3 if plain == "utf-8-sig" else 0  # after the BOM
            self.data: bytes | arrow.Buffer = arrow.py_buffer(raw)[self.offset :] if self.offset else raw
            nl = raw.find(b"\n", self.offset)
            end = len(raw) if nl < 0 else max(nl + 1, self.offset + 4 * (1 << 16) + 4)
            # valid UTF-8: the slice can only end inside a character, which "ignore" leaves out
            self.head = raw[self.offset : end].decode("utf-8", errors="ignore")
            self.quotes = raw.count(b'"')
            return
        dec = decode_text(raw, name, encoding, locator(delimiter))
        text, enc = dec.text, dec.encoding
        cr_only = "\n" not in text and "\r" in text
        if cr_only:
            text = text.replace("\r", "\n")
            dec.notes.append(_CR_NOTE.format(name=name))
        nul = text.find("\x00")
        if nul >= 0:
            row, column = locator(delimiter)(text, nul)
            raise InputError(
                f"innehåller NUL-byte (0x00) och är inte en textfil i {enc}; är det en binär fil med "
                "CSV-namn, eller är teckenkodningen fel?",
                name,
                row,
                column,
            )
        self._text, self.head, self.encoding, self.notes = text, text, enc, dec.notes
        same = not cr_only and enc in ("utf-8-sig", "utf-8")
        self.data = (raw[3:] if enc == "utf-8-sig" else raw) if same else text.encode("utf-8")
        self.raw, self.offset = self.data, 0
        self.quotes = self.data.count(b'"')

    def text(self) -> str:
        if self._text is None:
            self._text = bytes(self.data).decode("utf-8")
        return self._text


def _has_line_break(buf: bytes, start: int = 0) -> bool:
    """``b"\\n" in buf[start:].strip(b"\\r\\n")`` without copying: a record after the header."""
    end = len(buf)
    while start < end and buf[start] in (10, 13):
        start += 1
    while end > start and buf[end - 1] in (10, 13):
        end -= 1
    return buf.find(b"\n", start, end) >= 0


def _arrow_csv(
    data: bytes | arrow.Buffer, text: Callable[[], str], delim: str, names: list[str], name: str
) -> arrow.Table:
    """pyarrow's parser (all strings); a record of another width is an error naming its row (``text()``: the
    decoded file, for that message)."""
    bad_rows: list[int] = []
    ids = [f"c{i}" for i in range(len(names))]

    def skip(_row: object) -> str:
        bad_rows.append(1)
        return "skip"

    try:
        table = pcsv.read_csv(
            arrow.BufferReader(data),
            read_options=pcsv.ReadOptions(column_names=ids, skip_rows=1, block_size=1 << 24),
            parse_options=pcsv.ParseOptions(
                delimiter=delim,
                quote_char='"',
                double_quote=True,
                newlines_in_values=True,
                invalid_row_handler=skip,
            ),
            convert_options=pcsv.ConvertOptions(
                column_types={c: arrow.large_string() for c in ids},  # pandas' own string type: no copy
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                null_values=[""],
            ),
            # the text table is the largest allocation of a run, made once: malloc's pages cost the kernel less
            # on first touch than mimalloc's huge pages (1M rows: about 0.25 s less system time in each of four
            # pairs of runs; about 90 MB more peak memory)
            memory_pool=arrow.system_memory_pool(),
        )
    except arrow.ArrowInvalid:
        bad_rows.append(1)
    if bad_rows:
        row, found = _locate_bad_record(text(), delim, len(names))
        raise InputError(_bad_record_message(found, len(names), delim), name, row)
    return table


def release_text_memory() -> None:
    """Give the freed memory of read text tables back to the system: the CSV text is read into Arrow's system
    pool (malloc), which keeps freed pages for the rest of the run (1M rows: about 300 MB) unless glibc's
    ``malloc_trim`` returns them. Nothing to do where there is no glibc."""
    import ctypes

    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _reject_unclosed_quote(text: str, delim: str, names: list[str], name: str) -> None:
    """An odd number of quotes: where the strict parser fails, name the record and field the quote opened."""
    done = 0
    try:
        for rec in csv.reader(io.StringIO(text, newline=""), delimiter=delim, strict=True):
            done += bool(rec)
    except csv.Error as exc:
        at_end = "end of data" in str(exc)
        records = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=delim) if r]
        rec = records[min(done, len(records) - 1)]
        i = next((j for j, f in enumerate(rec) if "\n" in f), len(rec) - 1)
        column = names[i] if i < len(names) else f"fält {i + 1}"
        cause = (
            "fältet fortsätter till filens slut. Filen verkar avkortad mitt i ett fält inom citattecken (t.ex. "
            f"en kommentar); den sista hela raden är rad {done}"
            if at_end
            else "fältet fortsätter över flera rader tills nästa citattecken. Ett citattecken saknas eller är för "
            "mycket"
        )
        raise InputError(
            f'ett citattecken (") öppnar ett fält som aldrig stängs rätt: {cause}. Hämta eller exportera filen igen',
            name,
            done + 1,
            column,
        ) from None


def _locate_bad_record(text: str, delim: str, width: int) -> tuple[int | None, int | None]:
    """Slow path, only after a parse error: the first record (row = record number + 1) of another width."""
    row = 1
    try:
        for row, rec in enumerate(
            (r for r in csv.reader(io.StringIO(text, newline=""), delimiter=delim, strict=True) if r), start=1
        ):
            if len(rec) != width:
                return row, len(rec)
    except csv.Error:
        return row + 1, None
    return None, None


def _bad_record_message(found: int | None, width: int, delim: str) -> str:
    if found is None:
        return "kan inte tolkas som CSV (ett citattecken som inte stängs eller en trasig rad; är filen avkortad?)"
    less = "färre" if found < width else "fler"
    return (
        f"har {found} fält där rubrikraden har {width} ({less} än rubrikraden, avgränsare {delim!r}); filen "
        "kan vara avkortad, ha blandade avgränsare, eller ett fält med avgränsaren i sig utan citattecken"
    )


_DECIMAL_COMMA = r"^\s*[+-]?\d*,\d+\s*$"
_NUMBER_OR_COMMA = r"^\s*[+-]?(\d+|\d*,\d+)\s*$"


def _detect_decimal(table: arrow.Table) -> str:
    """',' when some column holds only numbers and at least one has a decimal comma, else '.'."""
    for col in table.columns:
        head = col.slice(0, 5000)
        if (
            col.null_count == len(col)
            or not pc.any(pc.match_substring_regex(head, _DECIMAL_COMMA)).as_py()
            or not pc.all(pc.match_substring_regex(head, _NUMBER_OR_COMMA)).as_py()
        ):
            continue
        if (
            pc.any(pc.match_substring_regex(col, _DECIMAL_COMMA)).as_py()
            and pc.all(pc.match_substring_regex(col, _NUMBER_OR_COMMA)).as_py()
        ):
            return ","
    return "."


def _to_text_frame(table: arrow.Table, names: list[str], rows: np.ndarray) -> pd.DataFrame:
    """Arrow table of strings -> pandas frame of ``str`` with the source rows as index."""
    df = table.to_pandas()
    df.columns = names
    df.index = pd.Index(rows, name="source_row")
    return df  # type: ignore[no-any-return]


def cell_text(v: Any) -> str | None:
    """One spreadsheet cell as the text it shows: 2.0 -> '2', '' -> None, inf -> 'inf', dates ISO."""
    if v is None:
        return None
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, float):
        if math.isnan(v):
            return None
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return str(int(v)) if v.is_integer() and abs(v) < 2**53 else repr(v)
    if isinstance(v, int):
        return str(v)
    if hasattr(v, "isoformat"):
        return str(v.isoformat())
    s = str(v)
    return s if s != "" else None


def _numbers_as_text(arr: arrow.ChunkedArray, column: str, name: str) -> arrow.ChunkedArray:
    """Any arrow column as text; integral floats without '.0' (SPSS and Parquet store codes as doubles).

    NaN is blank; +-inf is the text 'inf'/'-inf' (so that validation reports it, never a silent blank).
    """
    t = arr.type
    if arrow.types.is_floating(t):
        values = arr.to_numpy(zero_copy_only=False).astype(np.float64)
        finite = np.isfinite(values)
        integral = finite & (np.floor(np.where(finite, values, 0)) == values) & (np.abs(values) < 2**53)
        out = np.full(len(values), None, dtype=object)
        out[integral] = values[integral].astype(np.int64).astype(str)
        rest = finite & ~integral
        out[rest] = [repr(float(v)) for v in values[rest]]
        out[np.isposinf(values)], out[np.isneginf(values)] = "inf", "-inf"
        return arrow.chunked_array([arrow.array(out, type=arrow.string())])
    if arrow.types.is_boolean(t):
        arr = pc.cast(arr, arrow.int8())
    if arrow.types.is_dictionary(t):
        return _numbers_as_text(pc.cast(arr, t.value_type), column, name)
    if not (
        arrow.types.is_integer(t)
        or arrow.types.is_boolean(t)
        or arrow.types.is_string(t)
        or arrow.types.is_large_string(t)
        or arrow.types.is_decimal(t)
        or arrow.types.is_temporal(t)
        or arrow.types.is_null(t)
    ):
        raise InputError(
            f"kolumnen har Parquet-typen {t}, som inte är text eller tal; trygghet läser bara "
            "kolumner med text, heltal, decimaltal, sant/falskt eller datum",
            name,
            None,
            column,
        )
    text = pc.cast(arr, arrow.string()) if not arrow.types.is_string(t) else arr
    return pc.if_else(pc.equal(text, ""), arrow.scalar(None, arrow.string()), text)


def _read_parquet(path: Path) -> tuple[pd.DataFrame, ReadInfo]:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    names = [clean_name(n) for n in table.column_names]
    text = arrow.table(
        {f"c{i}": _numbers_as_text(table.column(i), names[i], path.name) for i in range(table.num_columns)}
    )
    return _to_text_frame(text, names, np.arange(2, table.num_rows + 2, dtype=np.int64)), ReadInfo("parquet")


def _read_sav(path: Path) -> tuple[pd.DataFrame, ReadInfo]:
    import pyreadstat

    df, meta = pyreadstat.read_sav(str(path), apply_value_formats=False, user_missing=True)
    notes = _blank_user_missing(df, meta.missing_ranges or {}, path.name)
    table = arrow.Table.from_pandas(df, preserve_index=False)
    names = [clean_name(n) for n in df.columns]
    text = arrow.table(
        {f"c{i}": _numbers_as_text(table.column(i), names[i], path.name) for i in range(table.num_columns)}
    )
    labels = {
        clean_name(col): {
            str(cell_text(float(k))) if isinstance(k, (int, float)) else str(k): str(v) for k, v in vl.items()
        }
        for col, vl in (meta.variable_value_labels or {}).items()
    }
    return (
        _to_text_frame(text, names, np.arange(2, len(df) + 2, dtype=np.int64)),
        ReadInfo("sav", value_labels=labels, notes=notes),
    )


def _blank_user_missing(df: pd.DataFrame, ranges: Mapping[str, Sequence[Any]], name: str) -> list[str]:
    """SPSS's user-missing values (declared in the file, e.g. 99 = no answer) made blank in place, as SPSS
    itself reads them; one note per column saying how many and which (they were blanked silently)."""
    notes = []
    for col, spans in ranges.items():
        if col not in df.columns or not spans:
            continue
        v = df[col]
        hit = np.zeros(len(v), dtype=bool)
        spans = [sp if isinstance(sp, dict) else {"lo": sp, "hi": sp} for sp in spans]
        num = None
        for sp in spans:
            lo, hi = sp.get("lo"), sp.get("hi")
            if isinstance(lo, str) or isinstance(hi, str):
                hit |= (v.astype("object") == lo).to_numpy(dtype=bool, na_value=False)
            else:
                num = pd.to_numeric(v, errors="coerce") if num is None else num  # once per column
                hit |= ((num >= lo) & (num <= hi)).to_numpy(dtype=bool, na_value=False)
        k = int(hit.sum())
        if k:
            df.loc[hit, col] = np.nan if v.dtype.kind == "f" else None
            said = ", ".join(
                str(cell_text(sp["lo"])) + ("" if sp["lo"] == sp["hi"] else f"–{cell_text(sp['hi'])}") for sp in spans
            )
            notes.append(
                f"{name}: {k} värden i kolumnen {clean_name(col)} är SPSS-filens användardefinierade saknade "
                f"värden ({said}) och lästes som tomma (inget svar)"
            )
    return notes


__all__ = [
    "FORMATS",
    "ReadInfo",
    "read_table",
    "release_text_memory",
    "sha256_file",
    "check_header",
    "clean_name",
    "cell_text",
    "locator",
]
