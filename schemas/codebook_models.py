"""Typed (pydantic) models of the codebook and vendor-mapping YAML files.

The structure (which keys, which types: codes are integers, texts are non-empty) is checked by the field
types; the cross-references (an indicator's item exists and its codes are the item's, a mapping's targets
are codes of the codebook, age bins do not overlap) by ``model_validator``s that raise ``ValueError``
whose text begins with the entry (``indicators.police_care.item: ...``). :func:`swedish_errors` turns a
``ValidationError`` into one Swedish sentence per error, each naming the entry; ``survey.data.codebook``
re-raises the first as ``CodebookError`` naming the file. Nothing here imports the data layer: a mapping is
checked against the codebook passed in the validation context (``{"codebook": Codebook, "canonical": set of
canonical column names}``).
"""

from __future__ import annotations

import math
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
    ValidationInfo,
    model_validator,
)


def _non_empty(v: str) -> str:
    if not v.strip():
        raise ValueError("texten är tom")
    return v


def _item_name(v: str) -> str:
    if not v.startswith("q_") or not v.isidentifier():
        raise ValueError("ett frågenamn måste vara en identifierare som börjar med q_")
    return v


def _unique(v: list[Any]) -> list[Any]:
    dup = sorted({x for x in v if v.count(x) > 1}, key=str)
    if dup:
        raise ValueError(f"{dup[0]!r} finns två gånger i {v}")
    return v


def _version(v: Any) -> str:
    if isinstance(v, bool) or not isinstance(v, (str, int)):
        raise ValueError('väntade en text som "1"')
    return str(v)


def _score(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ValueError(f"poängen {v!r} är inget ändligt tal")
    return v


def _target(v: Any) -> Any:
    if v is not None and (isinstance(v, bool) or not isinstance(v, (int, str))):
        raise ValueError(f"målet {v!r} är varken en kod (heltal) eller en text")
    return v


def _scalar(v: Any) -> Any:
    if isinstance(v, (dict, list)):
        raise ValueError("väntade ett enkelt värde (text eller tal), inte en lista eller mappning")
    return v


Code = StrictInt
Scalar = Annotated[Any, AfterValidator(_scalar)]
Text = Annotated[StrictStr, AfterValidator(_non_empty)]
ItemName = Annotated[StrictStr, AfterValidator(_item_name)]
Codes = Annotated[list[Code], AfterValidator(_unique)]
Labels = Annotated[dict[Code, Text], Field(min_length=1)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RegisterModel(_Model):
    sex: Labels = {1: "Man", 2: "Kvinna"}
    age_groups: Annotated[list[Text], Field(min_length=1), AfterValidator(_unique)]
    born_abroad: Labels = {0: "Född i Sverige", 1: "Född utomlands"}


class ItemModel(_Model):
    text_sv: Text
    codes: Labels
    dont_know: Codes = []

    @model_validator(mode="after")
    def _dont_know_are_codes(self) -> ItemModel:
        _subset(self.dont_know, self.codes, ".dont_know")
        return self


class IndicatorModel(_Model):
    name: Text
    item: StrictStr
    numerator: Annotated[Codes, Field(min_length=1)]
    base: Codes | None = None
    label_sv: StrictStr | None = None
    group: StrictStr | None = None


class ProblemIndexModel(_Model):
    items: Annotated[list[StrictStr], Field(min_length=1)]
    scores: dict[Code, Annotated[Any, AfterValidator(_score)]]
    exclude: Codes = []
    label_sv: StrictStr | None = None


class SeriesBreakModel(_Model):
    year: StrictInt
    reason: Text
    items: list[StrictStr] = []


def _subset(codes: list[int], allowed: Any, entry: str) -> None:
    unknown = [c for c in codes if c not in allowed]
    if unknown:
        raise ValueError(f"{entry}: koderna {unknown} finns inte bland frågans koder {list(allowed)}")


class CodebookModel(_Model):
    name: Text
    version: Annotated[Any, AfterValidator(_version)]
    contract: StrictStr | None = None
    description: StrictStr | None = None
    register_: RegisterModel = Field(alias="register")  # 'register' is a name BaseModel keeps
    items: Annotated[dict[ItemName, ItemModel], Field(min_length=1)]
    indicators: list[IndicatorModel]
    problem_index: ProblemIndexModel | None = None
    series_breaks: list[SeriesBreakModel] | None = None

    @model_validator(mode="before")
    @classmethod
    def _default_register(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("register") is None:
            data = {**data, "register": {}}
        return data

    @model_validator(mode="after")
    def _cross_references(self) -> CodebookModel:
        seen: set[str] = set()
        for ind in self.indicators:
            entry = f"indicators.{ind.name}"
            if ind.name in seen:
                raise ValueError(f"{entry}: indikatornamnet finns två gånger")
            seen.add(ind.name)
            if ind.item not in self.items:
                raise ValueError(f"{entry}.item: okänd fråga {ind.item!r}")
            codes = self.items[ind.item].codes
            _subset(ind.numerator, codes, f"{entry}.numerator")
            base = ind.base if ind.base is not None else list(codes)
            _subset(base, codes, f"{entry}.base")
            if not set(ind.numerator) <= set(base):
                raise ValueError(f"{entry}.numerator: täljaren {ind.numerator} måste vara en del av basen {base}")
        if self.problem_index is not None:
            self._check_problem_index(self.problem_index)
        for i, br in enumerate(self.series_breaks or []):
            for it in br.items:
                if it not in self.items:
                    raise ValueError(f"series_breaks[{i}].items: okänd fråga {it!r}")
        return self

    def _check_problem_index(self, pi: ProblemIndexModel) -> None:
        for it in pi.items:
            if it not in self.items:
                raise ValueError(f"problem_index.items: okänd fråga {it!r}")
        for it in pi.items:
            codes = self.items[it].codes
            unknown = sorted((set(pi.scores) | set(pi.exclude)) - set(codes))
            if unknown:
                raise ValueError(f"problem_index: koderna {unknown} är inte koder för {it}")
            unscored = [c for c in codes if c not in pi.scores and c not in pi.exclude]
            if unscored:
                raise ValueError(
                    f"problem_index.scores: koderna {unscored} för {it} har varken poäng eller är undantagna (exclude)"
                )


# --- vendor mappings ------------------------------------------------------------------------------


class ReadModel(_Model):
    encoding: StrictStr | None = None
    delimiter: StrictStr | None = None
    decimal: StrictStr | None = None
    fmt: StrictStr | None = None


def norm_key(value: Any) -> str:
    """How a vendor value is compared: text, trimmed, case-folded; 2.0 and 2 are the same."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip().casefold()


class MappingModel(_Model):
    name: Text | None = None
    description: StrictStr | None = None
    codebook: StrictStr | None = None
    read: ReadModel | None = None
    columns: dict[Scalar, StrictStr] = {}
    recode: dict[StrictStr, dict[Scalar, Annotated[Any, AfterValidator(_target)]]] | None = None
    blank: list[Scalar] | None = None
    age_bins: dict[StrictStr, Annotated[list[StrictInt], Field(min_length=2, max_length=2)]] | None = None

    @model_validator(mode="after")
    def _against_codebook(self, info: ValidationInfo) -> MappingModel:
        cb, canonical = (info.context or {}).get("codebook"), (info.context or {}).get("canonical", set())
        if cb is None:
            return self
        targets: set[str] = set()
        for vendor, target in self.columns.items():
            if target not in canonical:
                raise ValueError(f"columns.{vendor}: okänd kanonisk kolumn {target!r}")
            if target in targets:
                raise ValueError(f"columns.{vendor}: den kanoniska kolumnen {target!r} mappas två gånger")
            targets.add(target)
        for col, table in (self.recode or {}).items():
            self._check_recode(col, table, canonical, cb)
        self._check_bins(cb)
        return self

    @staticmethod
    def _check_recode(col: str, table: dict[Any, Any], canonical: set[str], cb: Any) -> None:
        entry = f"recode.{col}"
        if col not in canonical:
            raise ValueError(f"{entry}: okänd kanonisk kolumn {col!r}")
        valid = cb.codes_of(col)
        seen: set[str] = set()
        for key, target in table.items():
            nk = norm_key(key)
            if nk in seen:
                raise ValueError(
                    f"{entry}.{key}: leverantörsvärdet finns redan (värden jämförs utan blanksteg runt "
                    "och utan skillnad på stora och små bokstäver)"
                )
            seen.add(nk)
            if target is None:
                continue
            if valid is not None and target not in valid:
                raise ValueError(f"{entry}.{key}: målet {target!r} är ingen giltig kod för {col} ({list(valid)})")
            if col in ("year", "population") and not isinstance(target, int):
                raise ValueError(f"{entry}.{key}: målet {target!r} är inget heltal")

    def _check_bins(self, cb: Any) -> None:
        bins = []
        for label, (lo, hi) in (self.age_bins or {}).items():
            if label not in cb.age_groups:
                raise ValueError(f"age_bins.{label}: {label!r} är ingen åldersgrupp i kodboken {list(cb.age_groups)}")
            if lo > hi:
                raise ValueError(f"age_bins.{label}: väntade [lägsta ålder, högsta ålder], heltal, lägsta <= högsta")
            bins.append((label, lo, hi))
        bins.sort(key=lambda b: b[1])
        for (l1, _, hi1), (l2, lo2, _) in zip(bins, bins[1:]):
            if lo2 <= hi1:
                raise ValueError(f"age_bins.{l2}: överlappar age_bins.{l1}")


# --- errors in Swedish ----------------------------------------------------------------------------

_SAYS = {
    "missing": "saknas",
    "int_type": "{input!r} är inget heltal",
    "int_parsing": "{input!r} är inget heltal",
    "string_type": "väntade en text, fick {input!r}",
    "dict_type": "väntade en mappning (nyckel: värde)",
    "list_type": "väntade en lista",
    "model_type": "väntade en mappning (nyckel: värde)",
    "model_attributes_type": "väntade en mappning (nyckel: värde)",
    "float_type": "{input!r} är inget tal",
    "bool_type": "väntade sant eller falskt",
}


def _unwrap(tp: Any) -> Any:
    """``Annotated[X, ...]`` and ``X | None`` -> X."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, UnionType):
            args = [a for a in get_args(tp) if a is not type(None)]
            tp = args[0] if args else None
        else:
            return tp


def _field_names(model: Any, loc: tuple[Any, ...]) -> list[str]:
    """The allowed keys of the model at ``loc`` (for an unknown key), walking fields, dicts and lists."""
    tp: Any = model
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            f = next((f for n, f in tp.model_fields.items() if part in (n, f.alias)), None)
            tp = f.annotation if f is not None else None
        elif get_origin(tp) in (dict, list):
            tp = get_args(tp)[-1]
        else:
            return []
        if tp is None:
            return []
    tp = _unwrap(tp)
    if not (isinstance(tp, type) and issubclass(tp, BaseModel)):
        return []
    return sorted(f.alias or name for name, f in tp.model_fields.items())


def _entry(loc: tuple[Any, ...], doc: Any) -> str:
    """Dotted entry name; list positions of named entries (indicators) by their name."""
    parts: list[str] = []
    node = doc
    for part in loc:
        if part == "[key]":
            continue
        if isinstance(part, int) and isinstance(node, list):
            name = node[part].get("name") if part < len(node) and isinstance(node[part], dict) else None
            if isinstance(name, str) and parts:
                parts.append(name)
            elif parts:
                parts[-1] += f"[{part}]"
            else:
                parts.append(f"[{part}]")
        else:
            parts.append(str(part))
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
    return ".".join(parts) or "översta nivån"


def swedish_errors(exc: ValidationError, model: type[BaseModel], doc: Any) -> list[str]:
    """One Swedish sentence per validation error, each beginning with the entry it is about."""
    out = []
    for err in exc.errors(include_url=False):
        loc, kind = tuple(err["loc"]), err["type"]
        if kind == "value_error":
            msg = str(err["ctx"]["error"]) if "ctx" in err else err["msg"]
            out.append(msg if not loc else f"{_entry(loc, doc)}{'' if msg.startswith('.') else ': '}{msg}")
            continue
        if kind == "extra_forbidden":
            allowed = _field_names(model, loc[:-1])
            where = _entry(loc[:-1], doc)
            out.append(f"{where}: okänd nyckel {loc[-1]!r}" + (f"; tillåtna: {allowed}" if allowed else ""))
            continue
        if kind == "too_short":
            out.append(f"{_entry(loc, doc)}: ingenting angivet")
            continue
        if kind == "too_long":
            out.append(f"{_entry(loc, doc)}: för många värden")
            continue
        said = _SAYS.get(kind, "ogiltigt värde {input!r}").format(input=err.get("input"))
        if loc and loc[-1] == "[key]":
            said = f"nyckeln {said}" + (" (koder är heltal)" if kind.startswith("int") else "")
            loc = loc[:-2]
        out.append(f"{_entry(loc, doc)}: {said}")
    return out
