"""Versioned codebooks and vendor mappings.

A codebook (YAML under ``schemas/codebooks/``) defines the survey's items (Swedish question text, answer
codes with Swedish labels, which code is "vet ej"), the indicators computed from them (numerator codes;
the base is every listed code, blank answers are outside the base), the register variables used for
weighting, and series breaks. The default codebook implements ``shared/spec/data-contract.md`` v1.

A vendor mapping (YAML under ``schemas/mappings/``) renames a vendor's columns onto canonical names and
recodes its values onto canonical codes.
"""
from __future__ import annotations

import math
from importlib import resources
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

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
    born_abroad: dict[int, str] = field(
        default_factory=lambda: {0: "Född i Sverige", 1: "Född utomlands"})
    problem_index: ProblemIndex | None = None
    source: str = ""          # the file it was read from

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


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys (plain YAML silently keeps the last one)."""


def _construct_unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False):
    loader.flatten_mapping(node)
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise CodebookError(
                f"{Path(loader.name).name}, line {key_node.start_mark.line + 1}: duplicate key {key!r} "
                f"(already on line {seen[key]})")
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping)


def _read_yaml(path: Path) -> dict[str, Any]:
    """Read a YAML file into a dict; any problem is a CodebookError naming the file."""
    try:
        with open(path, encoding="utf-8") as fh:
            loader = _UniqueKeyLoader(fh)
            loader.name = str(path)
            try:
                doc = loader.get_single_data()
            finally:
                loader.dispose()
    except FileNotFoundError:
        raise CodebookError(f"{path}: no such codebook or mapping file") from None
    except yaml.YAMLError as exc:
        raise CodebookError(f"{path.name}: not valid YAML ({exc})") from None
    except UnicodeDecodeError:
        raise CodebookError(f"{path.name}: not UTF-8 text") from None
    if not isinstance(doc, dict):
        raise CodebookError(f"{path.name}: expected a mapping of keys at the top level")
    return doc


class _Checker:
    """Collects the file name so that every complaint names the file and the entry."""

    def __init__(self, path: Path):
        self.file = path.name

    def fail(self, entry: str, problem: str) -> CodebookError:
        return CodebookError(f"{self.file}: {entry}: {problem}")

    def mapping(self, value: Any, entry: str) -> dict:
        if not isinstance(value, dict):
            raise self.fail(entry, "expected a mapping (key: value)")
        return value

    def seq(self, value: Any, entry: str) -> list:
        if not isinstance(value, list):
            raise self.fail(entry, "expected a list")
        return value

    def code(self, value: Any, entry: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(entry, f"code {value!r} is not an integer")
        return value

    def codes(self, values: Any, entry: str, allowed: dict[int, Any] | tuple | None = None) -> tuple[int, ...]:
        out = tuple(self.code(v, entry) for v in self.seq(values, entry))
        if len(set(out)) != len(out):
            raise self.fail(entry, f"duplicate code in {list(out)}")
        if allowed is not None:
            unknown = [v for v in out if v not in allowed]
            if unknown:
                raise self.fail(entry, f"code(s) {unknown} not among the item's codes {list(allowed)}")
        return out

    def text(self, value: Any, entry: str, *, required: bool = True) -> str:
        if value is None and not required:
            return ""
        if not isinstance(value, str) or (required and not value.strip()):
            raise self.fail(entry, "expected a non-empty text")
        return value

    def labels(self, value: Any, entry: str) -> dict[int, str]:
        out = {self.code(k, entry): self.text(v, f"{entry}.{k}") for k, v in self.mapping(value, entry).items()}
        if not out:
            raise self.fail(entry, "no codes listed")
        return out

    def keys(self, doc: dict, allowed: set[str], entry: str) -> None:
        unknown = sorted(set(doc) - allowed)
        if unknown:
            raise self.fail(entry, f"unknown key(s) {unknown}; allowed: {sorted(allowed)}")


_CODEBOOK_KEYS = {"name", "version", "contract", "description", "register", "items", "indicators",
                  "problem_index", "series_breaks"}


def _resolve(name_or_path: str | Path, folder: Path) -> Path:
    path = Path(name_or_path)
    if path.suffix.lower() in (".yaml", ".yml") or path.parent != Path("."):
        return path
    return folder / f"{name_or_path}.yaml"


def load_codebook(name_or_path: str | Path | None = None) -> Codebook:
    """Load and check a codebook by name (``trygghet-v1`` under ``schemas/codebooks/``) or path.

    ``None`` gives the default codebook. Any mistake raises :class:`CodebookError` naming file and entry.
    """
    path = _resolve(name_or_path or DEFAULT_CODEBOOK, CODEBOOK_DIR)
    doc = _read_yaml(path)
    ck = _Checker(path)
    ck.keys(doc, _CODEBOOK_KEYS, "top level")
    for key in ("name", "version", "items", "indicators"):
        if key not in doc:
            raise ck.fail(key, "missing")
    if not isinstance(doc["version"], (str, int)) or isinstance(doc["version"], bool):
        raise ck.fail("version", "expected a text such as \"1\"")

    reg = ck.mapping(doc.get("register", {}), "register")
    ck.keys(reg, {"sex", "age_groups", "born_abroad"}, "register")
    sexes = ck.labels(reg.get("sex", {1: "Man", 2: "Kvinna"}), "register.sex")
    ages = tuple(ck.text(a, "register.age_groups") for a in
                 ck.seq(reg.get("age_groups", []), "register.age_groups"))
    if not ages:
        raise ck.fail("register.age_groups", "no age groups listed")
    if len(set(ages)) != len(ages):
        raise ck.fail("register.age_groups", f"duplicate age group in {list(ages)}")
    born = ck.labels(reg.get("born_abroad", {0: "Född i Sverige", 1: "Född utomlands"}), "register.born_abroad")

    items: list[Item] = []
    for name, spec in ck.mapping(doc["items"], "items").items():
        entry = f"items.{name}"
        if not isinstance(name, str) or not name.startswith("q_") or not name.isidentifier():
            raise ck.fail(entry, "an item's name must be an identifier starting with q_")
        spec = ck.mapping(spec, entry)
        ck.keys(spec, {"text_sv", "codes", "dont_know"}, entry)
        codes = ck.labels(spec.get("codes"), f"{entry}.codes")
        dont_know = ck.codes(spec.get("dont_know", []), f"{entry}.dont_know", codes)
        items.append(Item(name, ck.text(spec.get("text_sv"), f"{entry}.text_sv"), codes, dont_know))
    if not items:
        raise ck.fail("items", "no items listed")
    by_name = {it.name: it for it in items}

    indicators: list[Indicator] = []
    for i, spec in enumerate(ck.seq(doc["indicators"], "indicators")):
        spec = ck.mapping(spec, f"indicators[{i}]")
        ck.keys(spec, {"name", "item", "numerator", "base", "label_sv", "group"}, f"indicators[{i}]")
        name = ck.text(spec.get("name"), f"indicators[{i}].name")
        entry = f"indicators.{name}"
        if any(ind.name == name for ind in indicators):
            raise ck.fail(entry, "duplicate indicator name")
        item = spec.get("item")
        if item not in by_name:
            raise ck.fail(f"{entry}.item", f"unknown item {item!r}")
        codes = by_name[item].codes
        numerator = ck.codes(spec.get("numerator"), f"{entry}.numerator", codes)
        base = ck.codes(spec["base"], f"{entry}.base", codes) if "base" in spec else tuple(codes)
        if not numerator or not set(numerator) <= set(base):
            raise ck.fail(f"{entry}.numerator", f"numerator {list(numerator)} must be a non-empty part "
                                                f"of the base {list(base)}")
        indicators.append(Indicator(name, item, numerator, base,
                                    ck.text(spec.get("label_sv"), f"{entry}.label_sv", required=False),
                                    ck.text(spec.get("group"), f"{entry}.group", required=False)))

    pindex = None
    if doc.get("problem_index") is not None:
        spec = ck.mapping(doc["problem_index"], "problem_index")
        ck.keys(spec, {"items", "scores", "exclude", "label_sv"}, "problem_index")
        pitems = tuple(ck.seq(spec.get("items"), "problem_index.items"))
        for it in pitems:
            if it not in by_name:
                raise ck.fail("problem_index.items", f"unknown item {it!r}")
        scores = {}
        for code, score in ck.mapping(spec.get("scores"), "problem_index.scores").items():
            ck.code(code, "problem_index.scores")
            if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
                raise ck.fail(f"problem_index.scores.{code}", f"score {score!r} is not a number")
            scores[code] = score
        exclude = ck.codes(spec.get("exclude", []), "problem_index.exclude")
        for it in pitems:
            unknown = sorted((set(scores) | set(exclude)) - set(by_name[it].codes))
            if unknown:
                raise ck.fail("problem_index", f"code(s) {unknown} are not codes of {it}")
            unscored = [c for c in by_name[it].codes if c not in scores and c not in exclude]
            if unscored:
                raise ck.fail("problem_index.scores", f"code(s) {unscored} of {it} neither scored nor excluded")
        pindex = ProblemIndex(pitems, scores, exclude, ck.text(spec.get("label_sv"), "problem_index.label_sv",
                                                               required=False))

    breaks = []
    for i, spec in enumerate(ck.seq(doc.get("series_breaks") or [], "series_breaks")):
        entry = f"series_breaks[{i}]"
        spec = ck.mapping(spec, entry)
        ck.keys(spec, {"year", "reason", "items"}, entry)
        year = ck.code(spec.get("year"), f"{entry}.year")
        bitems = tuple(ck.seq(spec.get("items", []), f"{entry}.items"))
        for it in bitems:
            if it not in by_name:
                raise ck.fail(f"{entry}.items", f"unknown item {it!r}")
        breaks.append(SeriesBreak(year, ck.text(spec.get("reason"), f"{entry}.reason"), bitems))

    return Codebook(name=ck.text(doc["name"], "name"), version=str(doc["version"]), items=tuple(items),
                    indicators=tuple(indicators), age_groups=ages, sexes=sexes, series_breaks=tuple(breaks),
                    born_abroad=born, problem_index=pindex, source=str(path))


_DEFAULT: Codebook | None = None


def default_codebook() -> Codebook:
    """The default codebook (``trygghet-v1``), loaded once."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = load_codebook(None)
    return _DEFAULT


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
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip().casefold()


def load_mapping(path: str | Path, codebook: Codebook | None = None) -> VendorMapping:
    """Load and check a vendor mapping against ``codebook`` (default codebook when None)."""
    cb = codebook or default_codebook()
    path = _resolve(path, MAPPING_DIR)
    doc = _read_yaml(path)
    ck = _Checker(path)
    ck.keys(doc, {"name", "description", "codebook", "read", "columns", "recode", "blank", "age_bins"},
            "top level")
    canonical = set(cb.response_columns) | set(POPULATION_COLUMNS)
    columns: dict[str, str] = {}
    for vendor, target in ck.mapping(doc.get("columns", {}), "columns").items():
        entry = f"columns.{vendor}"
        if target not in canonical:
            raise ck.fail(entry, f"unknown canonical column {target!r}")
        if target in columns.values():
            raise ck.fail(entry, f"canonical column {target!r} is mapped twice")
        columns[str(vendor).strip()] = target

    read = {str(k): v for k, v in ck.mapping(doc.get("read") or {}, "read").items()}
    ck.keys(read, {"encoding", "delimiter", "decimal", "fmt"}, "read")

    recode: dict[str, dict[str, Any]] = {}
    for col, table in ck.mapping(doc.get("recode") or {}, "recode").items():
        entry = f"recode.{col}"
        if col not in canonical:
            raise ck.fail(entry, f"unknown canonical column {col!r}")
        valid = cb.codes_of(col)
        out: dict[str, Any] = {}
        for key, target in ck.mapping(table, entry).items():
            nk = _norm_key(key)
            if nk in out:
                raise ck.fail(f"{entry}.{key}", "duplicate vendor value (values are compared trimmed and "
                                                "case-insensitively)")
            if target is not None:
                if valid is not None and target not in valid:
                    raise ck.fail(f"{entry}.{key}", f"target {target!r} is not a valid code of {col} "
                                                    f"({list(valid)})")
                if col in ("year", "population") and (isinstance(target, bool) or not isinstance(target, int)):
                    raise ck.fail(f"{entry}.{key}", f"target {target!r} is not an integer")
            out[nk] = target
        recode[col] = out

    blank = tuple(_norm_key(v) for v in ck.seq(doc.get("blank") or [], "blank"))

    bins: list[tuple[str, int, int]] = []
    for label, bounds in ck.mapping(doc.get("age_bins") or {}, "age_bins").items():
        entry = f"age_bins.{label}"
        if label not in cb.age_groups:
            raise ck.fail(entry, f"{label!r} is not an age group of the codebook {list(cb.age_groups)}")
        bounds = ck.seq(bounds, entry)
        if len(bounds) != 2 or any(isinstance(b, bool) or not isinstance(b, int) for b in bounds) \
                or bounds[0] > bounds[1]:
            raise ck.fail(entry, "expected [lowest age, highest age], integers, lowest <= highest")
        bins.append((label, bounds[0], bounds[1]))
    bins.sort(key=lambda b: b[1])
    for (l1, _, hi1), (l2, lo2, _) in zip(bins, bins[1:]):
        if lo2 <= hi1:
            raise ck.fail(f"age_bins.{l2}", f"overlaps age_bins.{l1}")

    name = ck.text(doc.get("name", path.stem), "name")
    return VendorMapping(name, columns, recode, blank, tuple(bins), read, str(path))


def _failures(index: pd.Index, column: str, values: pd.Series, check: str, reason: str | pd.Series) -> pd.DataFrame:
    """Row-level failures in the shape ingest quarantines: index label, column, raw value, check, reason."""
    return pd.DataFrame({"index": np.asarray(index), "column": column,
                         "value": values.astype(object).to_numpy(), "check": check,
                         "reason": reason if isinstance(reason, str) else reason.to_numpy()})


def apply_mapping(df: pd.DataFrame, mapping: VendorMapping, file: str,
                  value_labels: dict[str, dict[str, str]] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
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
                    bad[i] = f"value {raw!r} has no recode in mapping {mapping.name}"
            elif bins:
                label = _bin_age(raw, bins)
                new.append(label)
                if label is None:
                    bad[i] = f"age {raw!r} is not a whole number within the mapping's age bins"
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
