"""Pandera schema of the canonical population frame (register counts per year x district x sex x age)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from schemas.responses import year_check
from survey.data.codebook import Codebook, default_codebook

if TYPE_CHECKING:  # pandera is imported when the schema is built
    import pandera.pandas as pa

#: Larger than any register cell (Sweden has about 10.6 million inhabitants).
MAX_CELL_POPULATION = 20_000_000


def population_schema(codebook: Codebook | None = None, *, nullable_keys: bool = False) -> pa.DataFrameSchema:
    """The schema of a canonical population frame for ``codebook``: one row per cell, counts >= 0 and at most
    ``MAX_CELL_POPULATION``, years in 1900-2100.

    ``nullable_keys=True``: integer columns as ``Int64`` with blanks allowed (ingest records those itself).
    """
    import pandera.pandas as pa

    cb = codebook or default_codebook()
    integer = "Int64" if nullable_keys else "int64"
    columns = {
        "year": pa.Column(integer, year_check(), nullable=nullable_keys),
        "district": pa.Column(str, pa.Check(lambda s: s.str.strip().str.len() > 0, name="not_blank")),
        "sex": pa.Column(integer, pa.Check.isin(list(cb.sexes)), nullable=nullable_keys),
        "age_group": pa.Column(str, pa.Check.isin(list(cb.age_groups))),
        "population": pa.Column(
            integer,
            [
                pa.Check.ge(0),
                pa.Check(lambda s: s.isna() | (s <= MAX_CELL_POPULATION), element_wise=False, name="population_max"),
            ],
            nullable=nullable_keys,
        ),
        "source_row": pa.Column("int64"),
    }
    return pa.DataFrameSchema(
        columns,
        unique=["year", "district", "sex", "age_group"],
        report_duplicates="all",
        strict=True,
        name=f"population ({cb.label})",
    )
