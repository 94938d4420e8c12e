"""Pandera schema of the canonical responses frame, built from a codebook.

Types are checked on the frame ingest has already converted (text that is not a number never gets this
far: ingest quarantines it with its original value); the schema checks the code domains of every item,
sex and age group, non-blank identifiers, a year in 1900-2100, a design weight that is a finite number > 0 and at
most ``MAX_DESIGN_WEIGHT`` (or absent: NaN in every row) and the uniqueness of (resp_id, year). Validate with
``lazy=True`` to collect every failure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from survey.data.codebook import Codebook, default_codebook

if TYPE_CHECKING:  # pandera is imported when a schema is built (ingest reads a clean file without it)
    import pandera.pandas as pa

#: No design weight can exceed Sweden's population (about 10.6 million): 1 / the inclusion probability.
MAX_DESIGN_WEIGHT = 2e7
YEARS = (1900, 2100)


def _not_blank(s: pd.Series) -> pd.Series:
    return s.str.strip().str.len() > 0


def year_check() -> pa.Check:
    """A year within ``YEARS`` (blank years are reported by ingest itself)."""
    import pandera.pandas as pa

    return pa.Check(lambda s: s.isna() | s.between(*YEARS), element_wise=False, name="year_range")


def responses_schema(
    codebook: Codebook | None = None, *, weights: bool = True, nullable_keys: bool = False, check_unique: bool = True
) -> pa.DataFrameSchema:
    """The schema of canonical responses for ``codebook``.

    ``weights=False`` when design_weight is absent (NaN everywhere). ``nullable_keys=True`` lets year and
    sex be ``Int64`` with blanks: ingest validates before dropping rows whose text did not convert (those
    failures it has recorded itself). ``check_unique=False`` leaves the (resp_id, year) uniqueness out
    (ingest checks it with a faster vectorised key).
    """
    import pandera.pandas as pa

    cb = codebook or default_codebook()
    columns = {
        "resp_id": pa.Column(str, pa.Check(_not_blank, element_wise=False, name="not_blank"), nullable=False),
        "year": pa.Column("Int64" if nullable_keys else "int64", year_check(), nullable=nullable_keys),
        "district": pa.Column(str, pa.Check(_not_blank, element_wise=False, name="not_blank"), nullable=False),
        "sex": pa.Column("Int64" if nullable_keys else "int64", pa.Check.isin(list(cb.sexes)), nullable=nullable_keys),
        "age_group": pa.Column(str, pa.Check.isin(list(cb.age_groups)), nullable=False),
        "born_abroad": pa.Column("Int64", pa.Check.isin(list(cb.born_abroad)), nullable=True),
        "design_weight": pa.Column(
            "float64",
            [
                pa.Check(lambda s: np.isfinite(s) & (s > 0), element_wise=False, name="finite_positive"),
                pa.Check(lambda s: ~(s > MAX_DESIGN_WEIGHT), element_wise=False, name="weight_max"),
            ]
            if weights
            else None,
            nullable=not weights,
        ),
        **{it.name: pa.Column("Int64", pa.Check.isin(list(it.codes)), nullable=True) for it in cb.items},
        "source_row": pa.Column("int64"),
    }
    return pa.DataFrameSchema(
        columns,
        unique=["resp_id", "year"] if check_unique else None,
        report_duplicates="all",
        strict=True,
        ordered=False,
        name=f"responses ({cb.label})",
    )
