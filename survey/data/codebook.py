"""Versioned codebooks and vendor mappings.

A codebook (YAML under ``schemas/codebooks/``) defines the survey's items (Swedish question text, answer
codes with Swedish labels, which code is "vet ej"), the indicators computed from them (numerator codes;
the base is every listed code, blank answers are outside the base), the register variables used for
weighting, and series breaks. The default codebook implements ``shared/spec/data-contract.md`` v1.

A vendor mapping (YAML under ``schemas/mappings/``) renames a vendor's columns onto canonical names and
recodes its values onto canonical codes.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ValidationError

from schemas.codebook_models import CodebookModel, MappingModel, norm_key, swedish_errors
from survey.errors import CodebookError
from survey.indicators import Indicator, SeriesBreak

SCHEMAS_DIR = Path(str(resources.files("schemas")))  # an installed wheel works outside the checkout
CODEBOOK_DIR = SCHEMAS_DIR / "codebooks"
MAPPING_DIR = SCHEMAS_DIR / "mappings"
DEFAULT_CODEBOOK = "trygghet-v1"

#: Canonical register/identity columns of the responses file (items ``q_*`` come from the codebook).
RESPONSE_BASE_COLUMNS = ("resp_id", "year", "district", "sex", "age_group")
RESPONSE_OPTIONAL_COLUMNS = ("born_abroad", "design_weight", "comment")
POPULATION_COLUMNS = ("year", "district", "sex", "age_group", "population")


@dataclass(frozen=True)
class Item:
    """One question: canonical column name, Swedish text and its answer codes (code -> Swedish label)."""

    name: str
    text_sv: str
    codes: dict[int, str]
    dont_know: tuple[int, ...] = ()


@dataclass(frozen=True)
class ProblemIndex:
    """Mean score over the answered ``items``; codes in ``exclude`` (and blanks) are left out."""

    items: tuple[str, ...]
    scores: dict[int, float]
    exclude: tuple[int, ...] = ()
    label_sv: str = ""


@dataclass(frozen=True)
class Codebook:
    """A versioned codebook: items, indicators, register variables and series breaks."""

    name: str
    version: str
    items: tuple[Item, ...]
    indicators: tuple[Indicator, ...]
    age_groups: tuple[str, ...]
    sexes: dict[int, str] = field(default_factory=lambda: {1: "Man", 2: "Kvinna"})
    series_breaks: tuple[SeriesBreak, ...] = ()
    born_abroad: dict[int, str] = field(default_factory=lambda: {0: "Född i Sverige", 1: "Född utomlands"})
    problem_index: ProblemIndex | None = None
    source: str = ""  # the file it was read from

    @property
    def label(self) -> str:
        """``name-v<version>``, the identifier used in lineage (e.g. ``trygghet-v1``)."""
        return f"{self.name}-v{self.version}"

    def indicator(self, name: str) -> Indicator:
        for ind in self.indicators:
            if ind.name == name:
                return ind
        raise KeyError(name)

    def codes_of(self, column: str) -> tuple[Any, ...] | None:
        """The valid canonical values of a coded column (item, sex, age_group, born_abroad), else None."""
        if column == "sex":
            return tuple(self.sexes)
        if column == "age_group":
            return self.age_groups
        if column == "born_abroad":
            return tuple(self.born_abroad)
        if column in self.item_names:
            return tuple(self.item(column).codes)
        return None

    @property
    def response_columns(self) -> tuple[str, ...]:
        """Every canonical column a responses file may have (required and optional)."""
        return RESPONSE_BASE_COLUMNS + RESPONSE_OPTIONAL_COLUMNS + self.item_names

    def item(self, name: str) -> Item:
        for it in self.items:
            if it.name == name:
                return it
        raise KeyError(name)

    @property
    def item_names(self) -> tuple[str, ...]:
        return tuple(it.name for it in self.items)


# --- YAML reading ---------------------------------------------------------------------------------

MAX_YAML_BYTES = 1 << 20  # a codebook is a few kB; anything near a megabyte is not one
MAX_YAML_NODES = 200_000  # expanded size (aliases counted at every use): no alias bombs


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys (plain YAML silently keeps the last one)."""


def _construct_unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    loader.flatten_mapping(node)
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            again = key in seen
        except TypeError:
            raise CodebookError(
                f"{Path(loader.name).name}, rad {key_node.start_mark.line + 1}: en nyckel måste vara "
                "en text eller ett tal, inte en lista eller mappning"
            ) from None
        if again:
            raise CodebookError(
                f"{Path(loader.name).name}, rad {key_node.start_mark.line + 1}: nyckeln {key!r} finns två gånger "
                f"(redan på rad {seen[key]})"
            )
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping)


def _count_nodes(doc: Any, name: str) -> None:
    """Refuse documents that expand to more than ``MAX_YAML_NODES`` values or refer to themselves."""
    count, stack = 0, [(doc, tuple[int, ...]())]
    while stack:
        node, parents = stack.pop()
        count += 1
        if count > MAX_YAML_NODES:
            raise CodebookError(
                f"{name}: för stor efter att alias (*namn) har expanderats (över {MAX_YAML_NODES} "
                "värden); en kodbok eller mappning är några hundra rader"
            )
        if isinstance(node, (dict, list)):
            if id(node) in parents:
                raise CodebookError(f"{name}: ett alias (*namn) pekar på sig självt; det går inte att läsa")
            children = list(node.values()) if isinstance(node, dict) else node
            stack.extend((c, parents + (id(node),)) for c in children)


def _read_yaml(path: Path) -> dict[str, Any]:
    """Read a YAML file into a dict; any problem is a CodebookError naming the file."""
    try:
        if path.stat().st_size > MAX_YAML_BYTES:
            raise CodebookError(
                f"{path.name}: filen är för stor för en kodbok eller mappning ({path.stat().st_size} byte)"
            )
        with open(path, encoding="utf-8") as fh:
            loader = _UniqueKeyLoader(fh)
            loader.name = str(path)
            try:
                doc = loader.get_single_data()
            finally:
                loader.dispose()
    except FileNotFoundError:
        raise CodebookError(f"{path}: kodboken eller mappningen finns inte") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" på rad {mark.line + 1}, kolumn {mark.column + 1}" if mark is not None else ""
        raise CodebookError(
            f"{path.name}: inte giltig YAML{where} (t.ex. en parentes eller ett citattecken som inte "
            "stängs, fel indrag, eller en tabb i indraget)"
        ) from None
    except yaml.YAMLError:
        raise CodebookError(f"{path.name}: inte giltig YAML (t.ex. otillåtna tecken)") from None
    except UnicodeDecodeError as exc:
        raise CodebookError(
            f"{path.name}: inte UTF-8-text (byte {exc.start} är 0x{exc.object[exc.start]:02x}); spara filen som UTF-8"
        ) from None
    except (OSError, RecursionError) as exc:
        raise CodebookError(f"{path.name}: kan inte läsas ({type(exc).__name__})") from None
    if not isinstance(doc, dict):
        raise CodebookError(f"{path.name}: väntade en mappning av nycklar (namn: värde) på översta nivån")
    _count_nodes(doc, path.name)
    return doc


def _validated(model: type[BaseModel], doc: dict[str, Any], path: Path, context: dict[str, Any] | None = None) -> Any:
    """``model.model_validate`` with errors re-raised as one CodebookError naming file and entry."""
    try:
        return model.model_validate(doc, context=context)
    except ValidationError as exc:
        errors = swedish_errors(exc, model, doc)
        more = f" (och {len(errors) - 1} fel till)" if len(errors) > 1 else ""
        raise CodebookError(f"{path.name}: {errors[0]}{more}") from None
    except RecursionError:
        raise CodebookError(f"{path.name}: för djupt nästlad") from None


def _resolve(name_or_path: str | Path, folder: Path) -> Path:
    path = Path(name_or_path)
    if path.suffix.lower() in (".yaml", ".yml") or path.parent != Path("."):
        return path
    return folder / f"{name_or_path}.yaml"


def load_codebook(name_or_path: str | Path | None = None) -> Codebook:
    """Load and check a codebook by name (``trygghet-v1`` under ``schemas/codebooks/``) or path.

    ``None`` gives the default codebook. The file is validated by
    :class:`schemas.codebook_models.CodebookModel`; any mistake raises :class:`CodebookError` naming file
    and entry, in Swedish.
    """
    path = _resolve(name_or_path or DEFAULT_CODEBOOK, CODEBOOK_DIR)
    doc = _read_yaml(path)
    m: CodebookModel = _validated(CodebookModel, doc, path)
    items = tuple(Item(name, it.text_sv, dict(it.codes), tuple(it.dont_know)) for name, it in m.items.items())
    indicators = tuple(
        Indicator(
            i.name,
            i.item,
            tuple(i.numerator),
            tuple(i.base) if i.base is not None else tuple(m.items[i.item].codes),
            i.label_sv or "",
            i.group or "",
        )
        for i in m.indicators
    )
    pi = m.problem_index
    pindex = (
        None if pi is None else ProblemIndex(tuple(pi.items), dict(pi.scores), tuple(pi.exclude), pi.label_sv or "")
    )
    breaks = tuple(SeriesBreak(b.year, b.reason, tuple(b.items)) for b in m.series_breaks or [])
    reg = m.register_
    return Codebook(
        name=m.name,
        version=m.version,
        items=items,
        indicators=indicators,
        age_groups=tuple(reg.age_groups),
        sexes=dict(reg.sex),
        series_breaks=breaks,
        born_abroad=dict(reg.born_abroad),
        problem_index=pindex,
        source=str(path),
    )


@functools.cache
def default_codebook() -> Codebook:
    """The default codebook (``trygghet-v1``), loaded once."""
    return load_codebook(None)


# --- vendor mappings ------------------------------------------------------------------------------


@dataclass(frozen=True)
class VendorMapping:
    """How a vendor's file maps onto canonical columns and codes.

    ``columns``: vendor header -> canonical column. ``recode``: canonical column -> {vendor value (text,
    compared trimmed and case-insensitively) -> canonical value, ``None`` = blank}; a non-blank value
    without an entry is a row-level failure. ``blank``: vendor values that mean "no answer" in every
    coded column. ``age_bins``: (age group, lowest age, highest age) for a column of ages in years.
    ``read``: default read options (encoding, delimiter, decimal, fmt).
    """

    name: str
    columns: dict[str, str]
    recode: dict[str, dict[str, Any]] = field(default_factory=dict)
    blank: tuple[str, ...] = ()
    age_bins: tuple[tuple[str, int, int], ...] = ()
    read: dict[str, str] = field(default_factory=dict)
    source: str = ""


#: Columns whose values are never touched by ``blank`` (identifiers and free text).
_NOT_BLANKED = ("resp_id", "district", "comment")


def _norm_key(value: Any) -> str:
    """How a vendor value is compared: text, trimmed, case-folded; 2.0 and 2 are the same."""
    return norm_key(value)


def load_mapping(path: str | Path, codebook: Codebook | None = None) -> VendorMapping:
    """Load and check a vendor mapping against ``codebook`` (default codebook when None).

    Validated by :class:`schemas.codebook_models.MappingModel`; mistakes raise :class:`CodebookError`
    naming file and entry, in Swedish.
    """
    cb = codebook or default_codebook()
    path = _resolve(path, MAPPING_DIR)
    doc = _read_yaml(path)
    canonical = set(cb.response_columns) | set(POPULATION_COLUMNS)
    m: MappingModel = _validated(MappingModel, doc, path, {"codebook": cb, "canonical": canonical})
    columns = {str(vendor).strip(): target for vendor, target in m.columns.items()}
    read = {k: v for k, v in (m.read.model_dump() if m.read else {}).items() if v is not None}
    recode = {col: {_norm_key(k): t for k, t in table.items()} for col, table in (m.recode or {}).items()}
    blank = tuple(_norm_key(v) for v in m.blank or [])
    bins = tuple(sorted(((label, lo, hi) for label, (lo, hi) in (m.age_bins or {}).items()), key=lambda b: b[1]))
    return VendorMapping(m.name or path.stem, columns, recode, blank, bins, read, str(path))


def _failures(index: pd.Index, column: str, values: pd.Series, check: str, reason: str | pd.Series) -> pd.DataFrame:
    """Row-level failures in the shape ingest quarantines: index label, column, raw value, check, reason."""
    return pd.DataFrame(
        {
            "index": np.asarray(index),
            "column": column,
            "value": values.astype(object).to_numpy(),
            "check": check,
            "reason": reason if isinstance(reason, str) else reason.to_numpy(),
        }
    )


def apply_mapping(
    df: pd.DataFrame, mapping: VendorMapping, file: str, value_labels: dict[str, dict[str, str]] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rename and recode a raw text frame onto canonical columns (vectorised over distinct values).

    Returns ``(mapped, failures)``: ``mapped`` keeps the index of ``df`` and holds canonical values as text
    (blank = missing); ``failures`` (columns ``index, column, value, check, reason``) lists the values
    without a recode, which ingest quarantines row by row. ``value_labels`` (SPSS: column -> {code:
    label}) lets a recode written on labels apply to the codes. ``file`` names the source in messages.
    """
    rename = {c: mapping.columns[c.strip()] for c in df.columns if c.strip() in mapping.columns}
    out = df.rename(columns=rename)
    value_labels = value_labels or {}
    vendor_of = {v: k for k, v in rename.items()}
    fails: list[pd.DataFrame] = []
    blank = set(mapping.blank)
    for col in out.columns:
        table = mapping.recode.get(col)
        bins = mapping.age_bins if col == "age_group" else ()
        if table is None and not bins and (not blank or col in _NOT_BLANKED):
            continue
        s = out[col]
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
        keys = [_norm_key(u) for u in uniques]
        labels = {_norm_key(k): _norm_key(v) for k, v in value_labels.get(vendor_of.get(col, col), {}).items()}
        new: list[Any] = []
        bad: dict[int, str] = {}
        for i, (raw, key) in enumerate(zip(uniques, keys)):
            if col not in _NOT_BLANKED and key in blank:
                new.append(None)
            elif table is not None:
                if key in table or labels.get(key) in table:
                    target = table[key] if key in table else table[labels[key]]
                    new.append(None if target is None else str(target))
                else:
                    new.append(None)
                    bad[i] = f"värdet {raw!r} saknar omkodning i mappningen {mapping.name}"
            elif bins:
                label = _bin_age(raw, bins)
                new.append(label)
                if label is None:
                    bad[i] = f"åldern {raw!r} är inget heltal inom mappningens åldersgrupper (age_bins)"
            else:
                new.append(raw)
        out[col] = pd.Series(pd.array(new, dtype="str").take(codes, allow_fill=True), index=s.index)
        if bad:
            mask = np.isin(codes, list(bad))
            reason = pd.Series(codes[mask]).map(bad)
            fails.append(_failures(s.index[mask], col, s[mask], "mapping", reason))
    failures = pd.concat(fails, ignore_index=True) if fails else _failures(pd.Index([]), "", pd.Series([]), "", "")
    return out, failures


def _bin_age(raw: Any, bins: tuple[tuple[str, int, int], ...]) -> str | None:
    """The age group of an age in years (text), or None when it is not a whole number in a bin."""
    try:
        age = float(str(raw).strip().replace(",", "."))
    except ValueError:
        return None
    if not math.isfinite(age) or not age.is_integer():
        return None
    for label, lo, hi in bins:
        if lo <= age <= hi:
            return label
    return None
