"""Plain-value conversions shared by the store's modules: numpy/pandas scalars to Python and JSON, wave keys,
and exact binary encoding of small numpy arrays inside JSON documents."""

from __future__ import annotations

import base64
import dataclasses
import getpass
import json
import math
from collections.abc import Iterable
from datetime import UTC, datetime
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
