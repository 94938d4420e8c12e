"""Survey files onto the canonical form, with validation and row-level quarantine.

Reading is :mod:`survey.data.readers` (CSV with :mod:`survey.data.encodings`, xlsx in :mod:`survey.data.excel`,
sav, parquet: a frame of text, index = source row); conversion, checks and the quarantine are
:mod:`survey.data.validate`. ``read_responses`` / ``read_population`` map (optional vendor mapping), convert to
canonical dtypes (vectorised over distinct values) and validate with the pandera schemas built from the
codebook. Row-level failures of responses go to ``IngestResult.quarantine`` (free text withheld); file-level
problems and population problems raise :class:`InputError` naming file, row and column, in Swedish.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from schemas.population import population_schema
from schemas.responses import responses_schema
from survey.data import rowcheck
from survey.data.codebook import (
    POPULATION_COLUMNS,
    RESPONSE_BASE_COLUMNS,
    Codebook,
    VendorMapping,
    apply_mapping,
    default_codebook,
    load_codebook,
    load_mapping,
)
from survey.data.readers import FORMATS, ReadInfo, read_table, release_text_memory, sha256_file
from survey.data.reading import reading_digest
from survey.data.validate import (
    MAX_WEIGHT_RATIO,
    QUARANTINE_COLUMNS,
    Converted,
    bad_names,
    cell_keys,
    check_value_labels,
    check_weights,
    convert,
    failures,
    formula_like_note,
    no_failures,
    quarantine_frame,
    reject_if_too_many,
    validate,
    weight_above_population,
)
from survey.errors import InputError


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
    kind: str  # "responses" or "population"
    codebook_version: str  # e.g. "trygghet-v1"
    mapping: str | None
    n_rows: int  # data rows in the file (accepted + quarantined)
    read_seconds: float = 0.0  # wall time spent reading (before mapping and validation)
    reading: str = ""  # digest of how it was read (survey.data.reading): the store's version of this reading


@dataclass
class IngestResult:
    """A file on canonical form: accepted rows, quarantined failures, free text, notes."""

    source: SourceFile
    data: pd.DataFrame
    quarantine: pd.DataFrame
    free_text: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    #: the distinct (year, district) of the accepted rows in the order they first occur, when ingest had them
    #: at hand (``load_wave``); None: compute them from ``data``
    strata: pd.MultiIndex | None = field(default=None, repr=False, compare=False)


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


def _resolve_codebook(codebook: Codebook | str | Path | None) -> Codebook:
    return (
        codebook
        if isinstance(codebook, Codebook)
        else (default_codebook() if codebook is None else load_codebook(codebook))
    )


def _resolve_mapping(mapping: VendorMapping | str | Path | None, cb: Codebook) -> VendorMapping | None:
    return mapping if isinstance(mapping, VendorMapping) or mapping is None else load_mapping(mapping, cb)


def _read_mapped(
    path: str | Path, cb: Codebook, mapping: VendorMapping | None, required: tuple[str, ...], read_opts: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, ReadInfo, list[str]]:
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
    check_value_labels(info.value_labels, cb, mapping, name)
    if mapping is not None:
        text, map_fail = apply_mapping(raw, mapping, name, info.value_labels)
    else:
        text, map_fail = raw, no_failures()
    dup = text.columns[text.columns.duplicated()]
    if len(dup):
        raise InputError("två kolumner motsvarar samma kanoniska kolumn", name, info.header_row, str(dup[0]))
    text = _labelled_districts(text, raw, info, mapping, name)
    missing = [c for c in required if c not in text.columns]
    if missing:
        vendor = {v: k for k, v in mapping.columns.items()} if mapping else {}
        said = ", ".join(
            c
            + (
                f" (leverantörens kolumn {vendor[c]!r} i mappningen {mapping.name if mapping else ''})"
                if c in vendor
                else ""
            )
            for c in missing
        )
        hint = (
            f" (avgränsare {info.delimiter!r}: är det rätt avgränsare?)"
            if info.format == "csv" and len(raw.columns) < 3
            else _sheet_hint(info, [vendor.get(c, c) for c in missing])
        )
        raise InputError(
            f"saknar obligatoriska kolumner {said}; filen har {', '.join(map(str, raw.columns))}{hint}",
            name,
            info.header_row,
            missing[0],
        )
    return raw, text, map_fail, info, info.notes


def _sheet_hint(info: ReadInfo, wanted: list[str]) -> str:
    """Where a workbook's first sheet lacks columns that another sheet has: that sheet named (trygghet reads
    only the first sheet, :mod:`survey.data.excel`)."""
    having = [t for t, names in info.other_sheets.items() if set(wanted) <= names]
    if not having:
        return ""
    return (
        f"; bladet {having[0]!r} har dem, men trygghet läser bara arbetsbokens första blad: flytta bladet "
        f"{having[0]!r} först eller spara det som en egen fil"
    )


def _labelled_districts(
    text: pd.DataFrame, raw: pd.DataFrame, info: ReadInfo, mapping: VendorMapping | None, name: str
) -> pd.DataFrame:
    """District names where an SPSS file keeps the district as numeric codes with value labels (``1`` =
    ``Rissne``): the labels, as SPSS shows them (the contract's district is a name, as in the population
    file); a code without a label stays as it is (and is quarantined as an unknown district). Noted."""
    vendor = {(mapping.columns.get(c.strip()) if mapping else c): c for c in raw.columns}.get("district")
    labels = info.value_labels.get(vendor, {}) if vendor is not None else {}
    if not labels or "district" not in text.columns:
        return text
    codes, uniques = pd.factorize(text["district"], use_na_sentinel=True)
    named = [labels.get(str(u).strip(), u) for u in uniques]
    text = text.copy()
    text["district"] = pd.Series(pd.array(named, dtype="str").take(codes, allow_fill=True), index=text.index)
    info.notes.append(
        f"{name}: kolumnen {vendor} har koder med värdeetiketter; etiketterna används som områdesnamn "
        f"({len(labels)} etiketter)"
    )
    return text


def require_columns(have: Any, wanted: Any, message: str, name: str, row: int) -> None:
    """An :class:`InputError` at the header ``row`` naming the first column of ``wanted`` missing from
    ``have``; ``message`` may use ``{col}`` (that column), ``{missing}`` (all missing) and ``{have}``."""
    missing = [str(c) for c in wanted if c not in set(have)]
    if missing:
        text = message.format(col=missing[0], missing=", ".join(missing), have=", ".join(map(str, have)))
        raise InputError(text, name, row, missing[0])


def _source(path: str | Path, info: ReadInfo, kind: str, cb: Codebook, mapping: VendorMapping | None) -> SourceFile:
    p = Path(path)
    return SourceFile(
        str(p),
        p.name,
        info.sha256,
        info.format,
        info.encoding,
        info.delimiter,
        info.decimal,
        kind,
        cb.label,
        mapping.name if mapping else None,
        info.n_rows,
        info.seconds,
        reading_digest(info, cb, mapping),
    )


def read_responses(
    path: str | Path,
    codebook: Codebook | str | Path | None = None,
    mapping: VendorMapping | str | Path | None = None,
    *,
    max_bad_share: float = 0.05,
    max_weight_ratio: float = MAX_WEIGHT_RATIO,
    **read_opts: Any,
) -> IngestResult:
    """Read a responses file onto canonical form; failing rows go to ``quarantine``.

    ``read_opts``: ``fmt``, ``encoding``, ``delimiter``, ``decimal`` (overrides of detection).
    Raises :class:`InputError` for file-level problems, when more than ``max_bad_share`` of the rows
    fail, and when the design weights of a year span more than ``max_weight_ratio``. The
    district-against-population checks happen in :func:`load_wave`.
    """
    try:
        return _read_responses(
            path, _resolve_codebook(codebook), mapping, max_bad_share, read_opts, None, "", max_weight_ratio
        )
    finally:
        release_text_memory()


def _unknown_districts(
    frame: pd.DataFrame, totals: pd.Series, population_file: str, cells: tuple[np.ndarray, pd.MultiIndex]
) -> pd.DataFrame:
    codes, keys = cells
    known = np.append(keys.isin(totals.index), True)  # code -1: a missing year or district, reported as blank
    unknown = ~known[np.where(codes >= 0, codes, len(keys))]
    if not unknown.any():
        return no_failures()
    bad = frame[unknown]
    return failures(
        bad.index,
        "district",
        bad["district"],
        "district_unknown",
        [
            f"området {d!r} har ingen befolkning för {y} i {population_file}"
            for d, y in zip(bad["district"], bad["year"])
        ],
    )


def _read_responses(
    path: str | Path,
    cb: Codebook,
    mapping: VendorMapping | str | Path | None,
    max_bad_share: float,
    read_opts: dict[str, Any],
    totals: pd.Series | None,
    population_file: str,
    max_weight_ratio: float = MAX_WEIGHT_RATIO,
    aux: tuple[str, ...] = (),
) -> IngestResult:
    """``read_responses``; with ``totals`` (population by year, district) unknown districts and design weights
    above the population fail too. ``aux``: numeric auxiliaries (``--aux``) kept beside the canonical columns
    (a blank or non-numeric value quarantines the row; ``born_abroad`` stays the codebook's 0/1 code)."""
    mp = _resolve_mapping(mapping, cb)
    raw, text, map_fail, info, notes = _read_mapped(path, cb, mp, RESPONSE_BASE_COLUMNS + cb.item_names, read_opts)
    name = Path(path).name
    extra = tuple(a for a in aux if a not in cb.response_columns)
    ignored = [c for c in text.columns if c not in cb.response_columns and c not in extra]
    if ignored:
        notes.append(
            f"{name}: kolumnerna {', '.join(map(str, ignored))} finns inte i kodboken {cb.label} och lästes inte"
        )
    spec = {
        "resp_id": "id",
        "year": "int",
        "district": "text",
        "sex": "int",
        "age_group": "text",
        "born_abroad": "code",
        "design_weight": "weight",
        **{q: "code" for q in cb.item_names},
        **{a: "number" for a in extra},
    }
    require_columns(
        text.columns,
        aux,
        "saknar kolumnen {col} för hjälpvariabeln (--aux {col}): numeriska hjälpvariabler behöver ett värde "
        "för varje svarande",
        name,
        info.header_row,
    )
    conv = convert(text, spec, info.decimal)
    frame = conv.frame
    frame["source_row"] = frame.index.to_numpy(dtype=np.int64)
    weights = not frame["design_weight"].isna().all()
    if not weights:
        notes.append(f"{name}: design_weight saknas eller är tom: viktningen använder N_h / antal svarande_h")
    checks, cells = _row_checks(conv, cb, weights, extra, name, totals, population_file)
    fails = [map_fail, *conv.failures, *checks]
    present = [f for f in fails if len(f)]
    all_fails = pd.concat(present, ignore_index=True) if present else no_failures()
    vendor_of = {v: k for k, v in mp.columns.items()} if mp else {}
    quarantine = quarantine_frame(all_fails, raw, text, vendor_of, name, frame["year"], cb.response_columns)
    reject_if_too_many(quarantine, len(frame), max_bad_share, name)
    ok = ~frame.index.isin(quarantine["source_row"].unique()) if len(quarantine) else np.ones(len(frame), bool)
    if weights:
        check_weights(frame, ok, name, max_weight_ratio)
    accepted = frame if ok.all() else frame[ok]
    notes += formula_like_note(accepted, "district", name, _distinct(conv.levels.get("district"), ok))
    data = _canonical_responses(accepted, cb, extra)
    free = _free_text(text["comment"] if "comment" in text.columns else None, ok, data)
    strata = None
    if cells is not None:
        first = pd.unique(cells[0] if ok.all() else cells[0][ok])
        strata = cells[1][first[first >= 0]]
    return IngestResult(_source(path, info, "responses", cb, mp), data, quarantine, free, notes, strata)


def _row_checks(
    conv: Converted,
    cb: Codebook,
    weights: bool,
    extra: tuple[str, ...],
    name: str,
    totals: pd.Series | None,
    population_file: str,
) -> tuple[list[pd.DataFrame], tuple[np.ndarray, pd.MultiIndex] | None]:
    """The row failures of the converted responses beyond conversion: the schema (pandera on the rows the
    numpy pre-check of :mod:`survey.data.rowcheck` cannot clear), duplicate ids, hostile names, and with
    ``totals`` unknown districts and design weights above the population; and the rows' ``cell_keys`` (None
    without ``totals``)."""
    frame = conv.frame
    cells = None
    checked = frame.drop(columns=list(extra))
    rules, dtypes = rowcheck.response_rules(cb, weights=weights), rowcheck.response_dtypes(cb)
    suspect = rowcheck.suspects(checked, rules, dtypes, levels=conv.levels)
    district = conv.levels.get("district")
    fails = [
        validate(
            checked,
            lambda: responses_schema(cb, weights=weights, nullable_keys=True, check_unique=False),
            cb,
            name,
            "resp_id, year",
            suspect,
        ),
        rowcheck.duplicate_ids(frame),
        bad_names(frame, "district", district),
    ]
    if totals is not None:
        cells = cell_keys(frame["year"], frame["district"], district)
        fails += [
            _unknown_districts(frame, totals, population_file, cells),
            weight_above_population(frame, totals, population_file, cells),
        ]
    return fails, cells


def _distinct(levels: tuple[np.ndarray, pd.Series] | None, ok: np.ndarray) -> pd.Series | None:
    """The distinct non-missing values of the rows ``ok`` of a text column with ``levels``, in the order they
    first occur (None without levels)."""
    if levels is None:
        return None
    codes, distinct = levels
    first = pd.unique(codes if ok.all() else codes[ok])
    return distinct.iloc[first[first >= 0]].reset_index(drop=True)


def _canonical_responses(frame: pd.DataFrame, cb: Codebook, extra: tuple[str, ...] = ()) -> pd.DataFrame:
    """Accepted rows in canonical column order and dtypes (numeric auxiliaries ``extra`` before
    ``source_row``), RangeIndex."""
    cols = [
        "resp_id",
        "year",
        "district",
        "sex",
        "age_group",
        "born_abroad",
        "design_weight",
        *cb.item_names,
        *extra,
        "source_row",
    ]
    out = frame[cols].reset_index(drop=True)
    return out.astype(
        {
            "resp_id": "str",
            "district": "str",
            "age_group": "str",
            "year": "int64",
            "sex": "int64",
            "born_abroad": "Int64",
            "design_weight": "float64",
            "source_row": "int64",
            **{q: "Int64" for q in cb.item_names},
            **{a: "float64" for a in extra},
        }
    )


def _free_text(comment: pd.Series | None, ok: np.ndarray, data: pd.DataFrame) -> pd.DataFrame:
    """(resp_id, year, comment) of accepted rows (``ok``) with a non-blank comment."""
    empty = pd.DataFrame(
        {"resp_id": pd.Series(dtype="str"), "year": pd.Series(dtype="int64"), "comment": pd.Series(dtype="str")}
    )
    if comment is None:
        return empty
    comment = (comment if ok.all() else comment[ok]).reset_index(drop=True)
    keep = comment.notna().to_numpy(dtype=bool).copy()
    keep[keep] = (comment[keep].str.strip() != "").to_numpy(dtype=bool)
    if not keep.any():
        return empty
    return pd.DataFrame(
        {"resp_id": data["resp_id"][keep], "year": data["year"][keep], "comment": comment[keep]}
    ).reset_index(drop=True)


# --- population -----------------------------------------------------------------------------------


def _short(text: str, most: int = 60) -> str:
    """A value for a message: at most ``most`` characters (a 5,000-character name filled the terminal)."""
    return text if len(text) <= most else text[: most - 1] + "…"


def _population_error(fails: pd.DataFrame, raw: pd.DataFrame, name: str) -> InputError:
    """The first failing row of a population file as one error (with how many more fail)."""
    fails = fails.sort_values(["index", "column"], kind="stable")
    first = fails.iloc[0]
    row = int(first["index"])
    cell = "/".join(
        _short(str(raw.at[row, c])) if c in raw.columns else "?" for c in ("year", "district", "sex", "age_group")
    )
    n = fails["index"].nunique()
    more = f" ({n - 1} {'rad' if n == 2 else 'rader'} till är felaktiga)" if n > 1 else ""
    if first["check"] == "duplicate":
        rows = fails.loc[fails["check"] == "duplicate", "index"].unique()[:2]
        reason = f"dubblerad cell: rad {rows[0]} och {rows[1]} är båda {cell}"
    else:
        reason = f"{first['reason']} (cell {cell})"
    return InputError(f"befolkningsfilen avvisas: {reason}{more}", name, row, str(first["column"]))


def read_population(
    path: str | Path,
    codebook: Codebook | str | Path | None = None,
    mapping: VendorMapping | str | Path | None = None,
    *,
    aux: tuple[str, ...] = (),
    **read_opts: Any,
) -> IngestResult:
    """Read a population file (register counts); any bad row rejects the file with :class:`InputError`.
    ``aux``: columns with each cell's total of a numeric auxiliary (``--aux``, e.g. ``born_abroad`` = people
    born abroad), required and kept as float64 after ``population``."""
    cb = _resolve_codebook(codebook)
    mp = _resolve_mapping(mapping, cb)
    raw, text, map_fail, info, notes = _read_mapped(path, cb, mp, POPULATION_COLUMNS, read_opts)
    name = Path(path).name
    require_columns(
        text.columns,
        aux,
        "befolkningsfilen saknar kolumnen {col} med totaler per cell för hjälpvariabeln (--aux {col}); filen "
        "har {have}",
        name,
        info.header_row,
    )
    spec = {"year": "int", "district": "text", "sex": "int", "age_group": "text", "population": "count"}
    spec |= {a: "number" for a in aux}
    conv = convert(text, spec, info.decimal)
    frame = conv.frame
    frame["source_row"] = frame.index.to_numpy(dtype=np.int64)
    checked = frame.drop(columns=list(aux))  # the auxiliaries' totals are checked by convert (finite numbers)
    suspect = rowcheck.suspects(
        checked, rowcheck.population_rules(cb), rowcheck.population_dtypes(), rowcheck.POPULATION_KEYS, conv.levels
    )
    fails = [
        map_fail,
        *conv.failures,
        bad_names(frame, "district", conv.levels.get("district")),
        validate(
            checked,
            lambda: population_schema(cb, nullable_keys=True),
            cb,
            name,
            "year, district, sex, age_group",
            suspect,
        ),
    ]
    fails = [f for f in fails if len(f)]
    if fails:
        raise _population_error(pd.concat(fails, ignore_index=True), raw, name)
    data = frame.reset_index(drop=True).astype(
        {"year": "int64", "district": "str", "sex": "int64", "age_group": "str", "population": "int64"}
        | {a: "float64" for a in aux}
    )
    empty_q = quarantine_frame(no_failures(), raw, text, {}, name, None, ())
    return IngestResult(
        _source(path, info, "population", cb, mp),
        data[[*POPULATION_COLUMNS, *aux]],
        empty_q,
        pd.DataFrame({"resp_id": pd.Series(dtype="str")}),
        notes,
    )


# --- wave -----------------------------------------------------------------------------------------


def load_wave(
    responses_path: str | Path,
    population_path: str | Path,
    codebook: Codebook | str | Path | None = None,
    mapping: VendorMapping | str | Path | None = None,
    *,
    max_bad_share: float = 0.05,
    population_mapping: VendorMapping | str | Path | None = None,
    max_weight_ratio: float = MAX_WEIGHT_RATIO,
    aux: tuple[str, ...] = (),
    **read_opts: Any,
) -> Wave:
    """Read responses and population and check them against each other.

    Respondents whose district has no population for their year, or whose design weight exceeds that
    population, are quarantined; a year x district with respondents but a missing sex x age cell rejects
    the population file; population cells of year x districts without respondents are kept and noted.
    ``mapping`` and ``read_opts`` apply to the responses file, ``population_mapping`` to the population
    file (canonical when None). ``aux``: numeric auxiliaries (``--aux``), columns of both files.
    """
    cb = _resolve_codebook(codebook)
    pop = read_population(population_path, cb, population_mapping, aux=tuple(aux))
    p = pop.data
    totals = p.groupby(["year", "district"], sort=False)["population"].sum()
    resp = _read_responses(
        responses_path, cb, mapping, max_bad_share, read_opts, totals, pop.source.name, max_weight_ratio, tuple(aux)
    )
    release_text_memory()
    d = resp.data
    notes = [*resp.notes, *pop.notes]
    strata = resp.strata if resp.strata is not None else cell_keys(d["year"], d["district"])[1]
    need = pd.MultiIndex.from_tuples([(y, dist, s, a) for y, dist in strata for s in cb.sexes for a in cb.age_groups])
    have = pd.MultiIndex.from_arrays([p["year"], p["district"], p["sex"], p["age_group"]])
    missing = need[~need.isin(have)] if len(need) else need
    if len(missing):
        y, dist, s, a = missing[0]
        raise InputError(
            f"befolkningsfilen avvisas: ingen rad för cellen år {y}, område {dist!r}, kön {s}, "
            f"åldersgrupp {a}, som har svarande i {resp.source.name} ({len(missing)} sådana celler "
            "saknas)",
            pop.source.name,
            None,
            "year/district/sex/age_group",
        )
    pop_keys = totals.index
    unused = pop_keys[~pop_keys.isin(strata)]
    if len(unused):
        listed = ", ".join(f"{y} {dist}" for y, dist in sorted(unused)[:10])
        notes.append(
            f"{pop.source.name}: befolkningsceller för {len(unused)} år x område utan svarande sparas men "
            f"används inte: {listed}"
        )
    return Wave(resp, pop, notes)


__all__ = [
    "ReadInfo",
    "SourceFile",
    "IngestResult",
    "Wave",
    "read_table",
    "read_responses",
    "read_population",
    "load_wave",
    "sha256_file",
    "QUARANTINE_COLUMNS",
    "FORMATS",
]
