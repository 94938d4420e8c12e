"""Pandera schema of the canonical responses frame, built from a codebook.

Types are checked on the frame ingest has already converted (text that is not a number never gets this
far: ingest quarantines it with its original value); the schema checks the code domains of every item,
sex and age group, non-blank identifiers, a design weight that is a finite number > 0 (or absent: NaN in
every row) and the uniqueness of (resp_id, year). Validate with ``lazy=True`` to collect every failure.
"""
from __future__ import annotations

import numpy as np
import pandera.pandas as pa

from survey.data.codebook import Codebook, default_codebook


def _not_blank(s):
    return s.str.strip().str.len() > 0


def responses_schema(codebook: Codebook | None = None, *, weights: bool = True,
                     nullable_keys: bool = False, check_unique: bool = True) -> pa.DataFrameSchema:
    """The schema of canonical responses for ``codebook``.

    ``weights=False`` when design_weight is absent (NaN everywhere). ``nullable_keys=True`` lets year and
    sex be ``Int64`` with blanks: ingest validates before dropping rows whose text did not convert (those
    failures it has recorded itself). ``check_unique=False`` leaves the (resp_id, year) uniqueness out
    (ingest checks it with a faster vectorised key).
    """
    key = pa.Column("Int64", nullable=True) if nullable_keys else pa.Column("int64")
    cb = codebook or default_codebook()
    columns = {
        "resp_id": pa.Column(str, pa.Check(_not_blank, element_wise=False, name="not_blank"), nullable=False),
        "year": key,
        "district": pa.Column(str, pa.Check(_not_blank, element_wise=False, name="not_blank"), nullable=False),
        "sex": pa.Column("Int64" if nullable_keys else "int64", pa.Check.isin(list(cb.sexes)), nullable=nullable_keys),
        "age_group": pa.Column(str, pa.Check.isin(list(cb.age_groups)), nullable=False),
        "born_abroad": pa.Column("Int64", pa.Check.isin(list(cb.born_abroad)), nullable=True),
        "design_weight": pa.Column(
            "float64",
            pa.Check(lambda s: np.isfinite(s) & (s > 0), element_wise=False, name="finite_positive")
            if weights else None,
            nullable=not weights),
        **{it.name: pa.Column("Int64", pa.Check.isin(list(it.codes)), nullable=True) for it in cb.items},
        "source_row": pa.Column("int64"),
    }
    return pa.DataFrameSchema(columns, unique=["resp_id", "year"] if check_unique else None,
                              report_duplicates="all",
                              strict=True, ordered=False, name=f"responses ({cb.label})")
