"""The gross sample (``trygghet run --gross-sample FILE``): everybody sampled, respondents and non-respondents,
with register variables, for the non-response analysis (:mod:`survey.nonresponse`).

File shape (the data contract is silent on it; documented in docs/gross-sample.md): CSV, Excel, SPSS or
Parquet like the responses file, one row per sampled person:

| column | type | values |
|---|---|---|
| ``resp_id`` | text | unique within ``year``; a respondent's id is the one in the responses file |
| ``year`` | integer | survey year |
| ``district`` | text | as in the population file |
| ``sex`` | integer | register sex: the codebook's codes (1 man, 2 kvinna) |
| ``age_group`` | text | register age group: the codebook's groups |
| ``responded`` | integer | 1 responded, 0 did not |
| ``design_weight`` | number > 0, optional | the inverse inclusion probability; when absent, ``N_h / n_h`` with
  ``N_h`` the population of the year × district and ``n_h`` its sampled persons |

Any bad value rejects the file with an :class:`~survey.errors.InputError` naming the file, row and column
(a non-response analysis on a partly read sample would be wrong without saying so).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from survey.data.codebook import Codebook
from survey.data.ingest import require_columns
from survey.data.readers import ReadInfo, read_table
from survey.data.validate import convert
from survey.errors import InputError

GROSS_COLUMNS: tuple[str, ...] = ("resp_id", "year", "district", "sex", "age_group", "responded")


@dataclass
class GrossSample:
    """A gross sample on canonical form (``resp_id`` str, ``year`` int64, ``district`` str, ``sex`` int64,
    ``age_group`` str, ``responded`` int64 0/1, ``design_weight`` float64 (NaN when absent), ``source_row``)."""

    path: str
    name: str
    info: ReadInfo
    data: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def lineage(self) -> dict[str, Any]:
        """The file's entry in ``run.json``'s inputs."""
        return {
            "role": "gross_sample",
            "file": self.name,
            "sha256": self.info.sha256,
            "format": self.info.format,
            "encoding": self.info.encoding,
            "delimiter": self.info.delimiter,
            "rows": self.info.n_rows,
            "accepted": int(len(self.data)),
            "quarantined_rows": 0,
        }


def _first_bad(name: str, frame: pd.DataFrame, bad: np.ndarray, column: str, reason: str) -> None:
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        more = f" ({int(bad.sum()) - 1} rader till)" if bad.sum() > 1 else ""
        raise InputError(
            f"bruttourvalet avvisas: {reason.format(value=frame[column].iloc[i])}{more}",
            name,
            int(frame["source_row"].iloc[i]),
            column,
        )


def _check_codes(name: str, frame: pd.DataFrame, codebook: Codebook) -> None:
    sexes, ages = tuple(codebook.sexes), tuple(codebook.age_groups)
    _first_bad(
        name,
        frame,
        ~frame["sex"].isin(sexes).to_numpy(bool),
        "sex",
        "{value!r} är inte en giltig kod för sex (" + ", ".join(map(str, sexes)) + ")",
    )
    _first_bad(
        name,
        frame,
        ~frame["age_group"].isin(ages).to_numpy(bool),
        "age_group",
        "{value!r} är inte en åldersgrupp i kodboken (" + ", ".join(ages) + ")",
    )
    _first_bad(
        name,
        frame,
        ~frame["responded"].isin([0, 1]).to_numpy(bool),
        "responded",
        "responded {value!r} måste vara 1 (svarade) eller 0 (svarade inte)",
    )
    year = frame["year"].to_numpy(float)
    _first_bad(name, frame, (year < 1900) | (year > 2100), "year", "året {value} är inte rimligt (1900–2100)")
    dw = frame["design_weight"].to_numpy(float)
    if not np.isnan(dw).all():
        _first_bad(
            name,
            frame,
            ~(np.isfinite(dw) & (dw > 0)),
            "design_weight",
            "design_weight {value} är inte ett ändligt tal > 0",
        )
    dup = frame.duplicated(["resp_id", "year"], keep="first").to_numpy(bool)
    _first_bad(name, frame, dup, "resp_id", "resp_id {value!r} finns mer än en gång samma år")


def read_gross_sample(path: str | Path, codebook: Codebook, **read_opts: Any) -> GrossSample:
    """Read and validate a gross sample (module docstring); ``read_opts`` as :func:`read_table`'s."""
    raw, info = read_table(path, **read_opts)
    name = Path(path).name
    require_columns(
        raw.columns,
        GROSS_COLUMNS,
        "bruttourvalet saknar kolumnerna {missing} (det ska ha " + ", ".join(GROSS_COLUMNS) + " och valfritt "
        "design_weight); filen har {have}",
        name,
        info.header_row,
    )
    spec = {"resp_id": "id", "year": "int", "district": "text", "sex": "int", "age_group": "text"}
    spec |= {"responded": "int", "design_weight": "weight"}
    conv = convert(raw, spec, info.decimal)
    if conv.failures:
        fails = pd.concat(conv.failures, ignore_index=True).sort_values(["index", "column"], kind="stable")
        first = fails.iloc[0]
        raise InputError(f"bruttourvalet avvisas: {first['reason']}", name, int(first["index"]), str(first["column"]))
    frame = conv.frame
    frame["source_row"] = frame.index.to_numpy(dtype=np.int64)
    for col in ("resp_id", "district", "age_group"):
        _first_bad(name, frame, frame[col].isna().to_numpy(bool), col, f"{col} är tomt")
    _check_codes(name, frame, codebook)
    data = frame.reset_index(drop=True).astype(
        {
            "resp_id": "str",
            "year": "int64",
            "district": "str",
            "sex": "int64",
            "age_group": "str",
            "responded": "int64",
            "design_weight": "float64",
            "source_row": "int64",
        }
    )
    return GrossSample(str(path), name, info, data, list(info.notes))
