"""Plain-value conversions shared by the store's modules: numpy/pandas scalars to Python and JSON, wave keys,
and exact binary encoding of small numpy arrays inside JSON documents."""

from __future__ import annotations

import base64
import dataclasses
import getpass
import json
import math
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from json.encoder import encode_basestring  # the C function json.dumps uses (ensure_ascii=False)
from typing import Any

import numpy as np
import pandas as pd


def now() -> datetime:
    """The current time in UTC (every timestamp the store writes)."""
    return datetime.now(UTC)


def os_user() -> str:
    """The operating-system user (recorded as who changed a source's status), or "okänd"."""
    try:
        return getpass.getuser()
    except Exception:
        return "okänd"


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` of this machine exists (this process, and another user's, count as alive)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def quote(name: str) -> str:
    """Quote an identifier (both dialects accept double quotes; ``column``/``check`` are keywords)."""
    return '"' + name.replace('"', '""') + '"'


def py_value(value: Any) -> Any:
    """A pandas/numpy scalar as a plain Python value, NA as None."""
    if value is None:
        return None
    if isinstance(value, (float, np.floating)) and math.isnan(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def json_default(value: Any) -> Any:
    """``json.dumps(default=...)``: numpy scalars as Python values, anything else as its text."""
    v = py_value(value)
    if v is value:
        return str(value)
    return v


def dumps(value: Any) -> str | None:
    """A value as JSON text (strings stay as they are)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, default=json_default, ensure_ascii=False)


def json_column(s: pd.Series) -> list[str]:
    """Each value of a column as JSON text, as ``json.dumps(py_value(v), default=json_default,
    ensure_ascii=False)`` writes it: NA as ``null``, floats by ``repr`` (exact), numbers and text converted by
    the C functions ``json.dumps`` itself uses. Only ``object`` columns take the per-value ``json.dumps``."""
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return json_column(s.astype(object))
    if dtype.kind in "iufb" and not pd.api.types.is_object_dtype(dtype):
        mask = s.isna().to_numpy()
        if dtype.kind == "b":
            text = np.where(s.to_numpy(dtype=bool, na_value=False), "true", "false").tolist()
        elif dtype.kind == "f":
            values = s.to_numpy(dtype=np.float64, na_value=np.nan)
            text = list(map(float.__repr__, values.tolist()))
            inf = np.isinf(values)
            if inf.any():
                for i in np.flatnonzero(inf).tolist():  # json.dumps writes them so (not standard JSON)
                    text[i] = "Infinity" if values[i] > 0 else "-Infinity"
        else:
            ints = (
                s.to_numpy()
                if isinstance(dtype, np.dtype)
                else s.to_numpy(dtype=np.dtype(dtype.kind + "8"), na_value=0)
            )
            text = list(map(int.__repr__, ints.tolist()))
    elif pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
        mask = s.isna().to_numpy()
        text = list(map(encode_basestring, s.to_numpy(dtype=object, na_value="").tolist()))
    else:
        return [json.dumps(py_value(v), default=json_default, ensure_ascii=False) for v in s.tolist()]
    if mask.any():
        for i in np.flatnonzero(mask).tolist():
            text[i] = "null"
    return text


def json_records(df: pd.DataFrame) -> list[str]:
    """Each row of ``df`` as a JSON object ``{"column": value, ...}`` in column order, byte for byte what
    ``json.dumps({str(c): py_value(v) ...}, default=json_default, ensure_ascii=False)`` writes per row, built
    one column at a time."""
    if not len(df.columns):
        return ["{}"] * len(df)
    keys = [encode_basestring(str(c)) + ": " for c in df.columns]
    columns = [json_column(df[c]) for c in df.columns]
    parts = [f"{'{' if j == 0 else ', '}{k}" for j, k in enumerate(keys)]
    out = [parts[0] + v for v in columns[0]]
    for part, col in zip(parts[1:], columns[1:]):
        out = [a + part + b for a, b in zip(out, col)]
    return [r + "}" for r in out]


def clean_json(value: Any) -> Any:
    """A structure made JSON-safe: numpy scalars and arrays to Python, NaN/inf/NA to None, paths and
    dates to strings, dataclasses to dicts."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset, np.ndarray)):
        return [clean_json(v) for v in (value.tolist() if isinstance(value, np.ndarray) else value)]
    if isinstance(value, np.generic):
        return clean_json(value.item())
    if value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return clean_json(dataclasses.asdict(value))
    return str(value)


def attr(obj: Any, name: str, default: Any = None) -> Any:
    """``obj.name`` or ``obj[name]`` (the store accepts the ingest dataclasses and plain dicts)."""
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def years_key(years: Iterable[int]) -> str:
    """The wave key of a set of years: sorted, comma separated (``"2022,2023"``)."""
    return ",".join(str(y) for y in sorted(set(int(y) for y in years)))


def key_years(key: str | None) -> set[int]:
    """The years of a wave key (the inverse of :func:`years_key`)."""
    return {int(y) for y in (key or "").split(",") if y.strip()}


def frame_years(data: pd.DataFrame | None, quarantine_df: pd.DataFrame | None) -> list[int]:
    """The years a file covers: those of its accepted rows, else those of its quarantined rows."""
    for df in (data, quarantine_df):
        if df is not None and "year" in df.columns and len(df):
            years = pd.to_numeric(df["year"], errors="coerce").dropna().unique()
            if len(years):
                return sorted(int(y) for y in years)
    return []


def encode_array(values: Any, dtype: str = "<f8") -> dict[str, Any]:
    """A numpy array as a JSON object holding its exact bytes (base64), dtype and shape.

    JSON numbers cannot hold inf or NaN, and a decimal text is exact only when written with 17 digits; the
    bytes are exact for every float64.
    """
    arr = np.ascontiguousarray(np.asarray(values, dtype=dtype))
    return {"dtype": dtype, "shape": list(arr.shape), "data": base64.b64encode(arr.tobytes()).decode("ascii")}


def decode_array(doc: dict[str, Any]) -> np.ndarray:
    """The array of :func:`encode_array` (native byte order)."""
    arr = np.frombuffer(base64.b64decode(doc["data"]), dtype=doc["dtype"]).reshape(doc["shape"])
    return arr.astype(arr.dtype.newbyteorder("="), copy=True)


def as_tuple(value: Any) -> Any:
    """JSON lists back to the tuples they were written from (labels of strata and calibration blocks)."""
    if isinstance(value, list):
        return tuple(as_tuple(v) for v in value)
    return value
