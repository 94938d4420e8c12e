"""Which rows may fail the pandera schemas of ``schemas/``: one vectorised numpy pass before pandera.

``suspects`` evaluates, for every (column, check) of ``schemas.responses.responses_schema`` /
``schemas.population.population_schema``, a boolean mask of the rows that could fail it (a superset, never
fewer rows), over the converted frame's own arrays: integer codes against the codebook's domain (a lookup
table), years in ``YEARS``, finite positive design weights at most ``MAX_DESIGN_WEIGHT``, blanks in columns
that may not be blank, text against its domain (over the distinct values: the ``levels`` of
:func:`survey.data.validate.convert`), and the population's duplicate cells (``DataFrame.duplicated(keep=False)``,
as pandera's ``unique`` with ``report_duplicates="all"``).

:func:`survey.data.validate.validate` runs pandera only on the suspect rows (every check of a column goes row
by row, so pandera's failure cases on those rows are the ones it gives on the whole frame) and not at all when
no row is suspect. A frame whose columns or dtypes are not exactly the canonical ones gives ``None``: then
pandera validates the whole frame (and reports the form error). The keys of the rules name every (column,
check) pair; ``tests/test_ingest_fast.py`` compares them with the schemas and the masks with pandera on the
whole frame.

``duplicate_ids`` finds every copy of a (resp_id, year) (ingest checks the uniqueness itself, not pandera).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from schemas.population import MAX_CELL_POPULATION
from schemas.responses import MAX_DESIGN_WEIGHT, YEARS
from survey.data.codebook import Codebook
from survey.data.validate import failures, no_failures

#: A text column's levels: each row's code (-1 = missing) into its distinct values.
Levels = tuple[np.ndarray, pd.Series]

_TEXT, _INT, _REAL, _ROW = "str", "Int64", "float64", "int64"


@dataclass(frozen=True)
class RowRule:
    """A check of a numeric column: ``bad(series)`` -> True where a row may fail."""

    bad: Callable[[pd.Series], np.ndarray]


@dataclass(frozen=True)
class TextRule:
    """A check of a text column, decided per distinct value: ``bad(values)`` for present values (a ``str``
    Series), ``missing`` for a missing one (True: the column may not be blank)."""

    bad: Callable[[pd.Series], np.ndarray]
    missing: bool = False

    def mask(self, s: pd.Series, levels: Levels | None) -> np.ndarray:
        """Over the distinct values when the column's ``levels`` are known, else over the rows."""
        if levels is None:
            out = np.array(self.bad(s), dtype=bool)
            out[s.isna().to_numpy(dtype=bool)] = self.missing
            return out
        codes, distinct = levels
        table = np.append(np.asarray(self.bad(distinct), dtype=bool), self.missing)  # code -1 -> the last
        return table[codes]


Rule = RowRule | TextRule


def _int_values(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(int64 values, present mask) of an ``Int64`` column; a missing value's slot holds any number (every
    rule masks it with ``present``). The masked array's own buffers when pandas has them (no copy)."""
    arr = s.array
    data, mask = getattr(arr, "_data", None), getattr(arr, "_mask", None)
    if isinstance(data, np.ndarray) and isinstance(mask, np.ndarray) and data.dtype == np.int64:
        return data, ~mask
    return arr.to_numpy(dtype=np.int64, na_value=0), ~np.asarray(arr.isna(), dtype=bool)


def _int_isin(codes: tuple[int, ...]) -> RowRule:
    allowed = np.asarray(sorted(codes), dtype=np.int64)

    def bad(s: pd.Series) -> np.ndarray:
        values, present = _int_values(s)
        if not len(allowed) or allowed[-1] - allowed[0] > 1024:
            return present & ~np.isin(values, allowed)
        # a lookup table with the lowest code at index 1 and a False at both ends, where np.take's "clip" puts
        # every value below or above the codes
        shift = 1 - int(allowed[0])
        table = np.zeros(int(allowed[-1]) + shift + 2, dtype=bool)
        table[allowed + shift] = True
        return present & ~np.take(table, values + shift if shift else values, mode="clip")

    return RowRule(bad)


def _int_range(lo: int, hi: int) -> RowRule:
    def bad(s: pd.Series) -> np.ndarray:
        values, present = _int_values(s)
        return present & ((values < lo) | (values > hi))

    return RowRule(bad)


def _text_isin(codes: tuple[str, ...]) -> TextRule:
    allowed = list(codes)
    return TextRule(lambda u: ~u.isin(allowed).to_numpy(dtype=bool))


def _strips_to_nothing(u: pd.Series) -> np.ndarray:
    """``u.str.strip().str.len() == 0`` (missing: False); on Arrow-backed text the same two Arrow kernels
    pandas calls, without the Series between them."""
    import pyarrow as arrow
    import pyarrow.compute as pc

    arr = arrow.array(u.array) if str(u.dtype) == _TEXT else None
    if arr is None or not (arrow.types.is_string(arr.type) or arrow.types.is_large_string(arr.type)):
        return (u.str.strip().str.len() == 0).to_numpy(dtype=bool, na_value=False)
    empty = pc.equal(pc.binary_length(pc.utf8_trim_whitespace(arr)), 0).fill_null(False)
    return np.asarray(empty.to_numpy(zero_copy_only=False), dtype=bool)


#: ``_not_blank`` of the schemas (text that strips to nothing) and pandera's ``not_nullable``.
_TEXT_BLANK = TextRule(_strips_to_nothing)
_MISSING = TextRule(lambda u: np.zeros(len(u), dtype=bool), missing=True)


def _weight_bad(s: pd.Series) -> np.ndarray:
    w = s.to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return ~(np.isfinite(w) & (w > 0) & (w <= MAX_DESIGN_WEIGHT))


def _population_bad(s: pd.Series) -> np.ndarray:
    values, present = _int_values(s)
    return present & ((values < 0) | (values > MAX_CELL_POPULATION))


def _key_rules(cb: Codebook) -> dict[tuple[str, str], Rule]:
    """The rules of year, district, sex and age group (the same in both schemas)."""
    return {
        ("year", "year_range"): _int_range(*YEARS),
        ("district", "not_nullable"): _MISSING,
        ("district", "not_blank"): _TEXT_BLANK,
        ("sex", "isin"): _int_isin(tuple(cb.sexes)),
        ("age_group", "not_nullable"): _MISSING,
        ("age_group", "isin"): _text_isin(tuple(cb.age_groups)),
    }


def response_rules(cb: Codebook, *, weights: bool) -> dict[tuple[str, str], Rule]:
    """(column, pandera check name) -> rule, for ``responses_schema(cb, weights=weights, nullable_keys=True,
    check_unique=False)``."""
    weight = RowRule(_weight_bad)  # one mask for the three checks of design_weight
    rules: dict[tuple[str, str], Rule] = {("resp_id", "not_nullable"): _MISSING, ("resp_id", "not_blank"): _TEXT_BLANK}
    rules |= _key_rules(cb)
    rules[("born_abroad", "isin")] = _int_isin(tuple(cb.born_abroad))
    if weights:
        rules |= {("design_weight", c): weight for c in ("not_nullable", "finite_positive", "weight_max")}
    for it in cb.items:
        rules[(it.name, "isin")] = _int_isin(tuple(it.codes))
    return rules


def response_dtypes(cb: Codebook) -> dict[str, str]:
    """The canonical columns and dtypes the responses schema expects (``nullable_keys=True``)."""
    return {
        "resp_id": _TEXT,
        "year": _INT,
        "district": _TEXT,
        "sex": _INT,
        "age_group": _TEXT,
        "born_abroad": _INT,
        "design_weight": _REAL,
        **{q: _INT for q in cb.item_names},
        "source_row": _ROW,
    }


POPULATION_KEYS = ("year", "district", "sex", "age_group")


def population_rules(cb: Codebook) -> dict[tuple[str, str], Rule]:
    """(column, pandera check name) -> rule, for ``population_schema(cb, nullable_keys=True)``; the uniqueness
    of the cell keys is ``suspects``' own (it needs the whole frame)."""
    count = RowRule(_population_bad)
    return _key_rules(cb) | {("population", "greater_than_or_equal_to"): count, ("population", "population_max"): count}


def population_dtypes() -> dict[str, str]:
    return {"year": _INT, "district": _TEXT, "sex": _INT, "age_group": _TEXT, "population": _INT, "source_row": _ROW}


def suspects(
    frame: pd.DataFrame,
    rules: dict[tuple[str, str], Rule],
    dtypes: dict[str, str],
    unique: tuple[str, ...] = (),
    levels: dict[str, Levels] | None = None,
) -> np.ndarray | None:
    """Rows that may fail a rule (or the uniqueness of ``unique``); None when the frame's columns or dtypes
    are not exactly ``dtypes`` (pandera must then see the whole frame). ``levels``: text columns' levels
    (``convert``), else the text rules factorise the column."""
    if set(frame.columns) != set(dtypes) or not frame.columns.is_unique:
        return None
    if any(str(frame[c].dtype) != d for c, d in dtypes.items()):
        return None
    levels = levels or {}
    out = np.zeros(len(frame), dtype=bool)
    done: set[tuple[str, int]] = set()
    for (column, _check), rule in rules.items():
        if (column, id(rule)) in done:
            continue
        done.add((column, id(rule)))
        s = frame[column]
        out |= rule.mask(s, levels.get(column)) if isinstance(rule, TextRule) else rule.bad(s)
    if unique:
        out |= frame.duplicated(subset=list(unique), keep=False).to_numpy(dtype=bool)
    return out


def _numbers_distinct(ids: pd.Series, years: np.ndarray) -> bool:
    """True when no (resp_id, year) occurs twice, shown fast for ids that are equally long runs of ASCII digits
    (at most 18): then distinct ids are distinct whole numbers, and (number, year) packs into one int64 that a
    sort compares (hashing a million strings is slower). False: not shown (``_duplicates`` looks year by year).
    ``years``: float, NaN for a missing year (such rows are never duplicates)."""
    import pyarrow as arrow
    import pyarrow.compute as pc

    try:
        arr = arrow.array(ids.array)
    except (arrow.ArrowException, TypeError, ValueError):
        return False
    if not (arrow.types.is_string(arr.type) or arrow.types.is_large_string(arr.type)):
        return False
    keep = ids.notna().to_numpy(dtype=bool) & ~np.isnan(years)
    if not keep.any():
        return True
    lengths = pc.min_max(pc.binary_length(arr)).as_py()
    if lengths["min"] != lengths["max"] or not 0 < lengths["max"] <= 18:
        return False
    if not pc.all(pc.ascii_is_decimal(arr)).as_py():
        return False
    numbers = np.asarray(pc.cast(arr, arrow.int64()).fill_null(0).to_numpy(zero_copy_only=False))
    whole = years if keep.all() else years[keep]
    lo, span = int(whole.min()), int(whole.max() - whole.min()) + 1  # years are whole numbers (Int64)
    numbers = numbers[keep] if not keep.all() else numbers if numbers.flags.writeable else numbers.copy()
    if int(numbers.max()) >= (2**62) // span:
        return False
    numbers *= span
    numbers += (whole - lo).astype(np.int64)
    numbers.sort()
    return bool((numbers[1:] != numbers[:-1]).all())


def duplicate_ids(frame: pd.DataFrame) -> pd.DataFrame:
    """Every copy of a (resp_id, year) that occurs more than once (blank ids are reported as blank).

    Ids of digits shown distinct per year by ``_numbers_distinct`` have no copies; else year by year, with a
    fast uniqueness test first (``Index.is_unique`` is a hash pass).
    """
    ids = frame["resp_id"]
    years = frame["year"].to_numpy(dtype=np.float64, na_value=np.nan)
    if _numbers_distinct(ids, years):
        return no_failures()
    dup = np.zeros(len(frame), dtype=bool)
    for y in np.unique(years[~np.isnan(years)]):
        m = (years == y) & ids.notna().to_numpy()
        sub = ids[m]
        if not pd.Index(sub).is_unique:
            dup[m] = sub.duplicated(keep=False).to_numpy()
    if not dup.any():
        return no_failures()
    d = frame.loc[dup, ["resp_id", "year"]]
    first = pd.Series(d.index, index=d.index).groupby([d["resp_id"], d["year"]]).transform("min")
    reasons = [
        f"resp_id {r!r} finns mer än en gång år {y} (första gången på rad {f})"
        for r, y, f in zip(d["resp_id"], d["year"], first)
    ]
    return failures(d.index, "resp_id", d["resp_id"], "duplicate", reasons)


__all__ = [
    "duplicate_ids",
    "RowRule",
    "TextRule",
    "response_rules",
    "response_dtypes",
    "population_rules",
    "population_dtypes",
    "suspects",
    "POPULATION_KEYS",
]
