"""Helpers of the store tests: canonical waves built in memory, and one empty database per test on SQLite (a
temp file) and on the real PostgreSQL server (a fresh schema, dropped afterwards). Never a mocked database.

Test modules import the fixtures they use: ``from tests.store_support import db_url, store  # noqa: F401``.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from survey.data.ingest import IngestResult, SourceFile, Wave
from survey.data.store import CONTRACT_ITEMS, STR, Store

PG_BASE = os.environ.get("TRYGGHET_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TABLES = [
    "source_files",
    "responses",
    "free_text",
    "quarantine",
    "population",
    "runs",
    "run_inputs",
    "run_steps",
    "run_designs",
    "weights",
    "weight_diagnostics",
    "estimates",
    "estimates_by_group",
    "problem_index",
    "comparisons",
    "trend",
    "published_tables",
    "published_cells",
]
DISTRICTS = ["Duvbo", "Hallonbergen", "Rissne", "Väsby centrum", "Älvsjö"]
AGES = ["16-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75-84"]


def source(kind: str, name: str, content: str, n_rows: int) -> SourceFile:
    return SourceFile(
        path=f"/in/{name}",
        name=name,
        sha256=hashlib.sha256(content.encode()).hexdigest(),
        format="csv",
        encoding="utf-8",
        delimiter=";",
        decimal=",",
        kind=kind,
        codebook_version="1.0",
        mapping=None,
        n_rows=n_rows,
    )


def canonical_responses(n: int, years: list[int], seed: int = 1) -> pd.DataFrame:
    """A canonical responses frame (ARCHITECTURE.md dtypes) with blanks, NaN weights and odd strings."""
    rng = np.random.default_rng(seed)
    year = np.repeat(years, -(-n // len(years)))[:n]
    df = pd.DataFrame(
        {
            "resp_id": pd.array([f"R{i:06d}" for i in range(n)], dtype=STR),
            "year": year.astype("int64"),
            "district": pd.array(rng.choice(DISTRICTS, n), dtype=STR),
            "sex": rng.integers(1, 3, n).astype("int64"),
            "age_group": pd.array(rng.choice(AGES, n), dtype=STR),
            "born_abroad": pd.array(rng.integers(0, 2, n), dtype="Int64"),
            "design_weight": rng.uniform(5, 80, n),
        }
    )
    df.loc[df.index % 11 == 0, "born_abroad"] = pd.NA
    df.loc[df.index % 13 == 0, "design_weight"] = np.nan
    for j, q in enumerate(CONTRACT_ITEMS):
        codes = pd.array(rng.choice([1, 2, 3, 4, 9], n), dtype="Int64")
        codes[(np.arange(n) + j) % 7 == 0] = pd.NA
        df[q] = codes
    df["source_row"] = np.arange(2, n + 2, dtype="int64")
    return df


def canonical_population(years: list[int], scale: int = 100) -> pd.DataFrame:
    rows = [
        (y, d, s, a, scale + 7 * i)
        for i, (y, d, s, a) in enumerate((y, d, s, a) for y in years for d in DISTRICTS for s in (1, 2) for a in AGES)
    ]
    df = pd.DataFrame(rows, columns=["year", "district", "sex", "age_group", "population"])
    return df.astype({"year": "int64", "district": STR, "sex": "int64", "age_group": STR, "population": "int64"})


def responses_part(data: pd.DataFrame, name: str, content: str) -> IngestResult:
    """A responses ``IngestResult`` of ``data`` with three free-text comments and two quarantined rows."""
    n = len(data)
    year0 = int(data["year"].iloc[0]) if n else 2022
    free = pd.DataFrame(
        {
            "resp_id": data["resp_id"].iloc[:3].to_numpy(),
            "year": data["year"].iloc[:3].to_numpy(),
            "comment": ['Bor på "Rissnevägen 1", ring 070-1234567', "semi;colon,comma", "rad ett\nrad två"][
                : min(3, n)
            ],
        }
    )
    free = free.astype({"resp_id": STR, "year": "Int64", "comment": STR})
    quarantine = pd.DataFrame(
        {
            "file": [name, name],
            "source_row": [n + 2, n + 3],
            "resp_id": ["X1", None],
            "year": [year0, year0],
            "column": ["q_worry_crime", "year"],
            "value": ["7", "20x2"],
            "check": ["isin", "dtype"],
            "reason": ["kod 7 finns inte", "år är inte ett tal"],
            "record": ['{"resp_id": "X1", "q_worry_crime": "7"}', '{"year": "20x2"}'],
        }
    )
    return IngestResult(
        source=source("responses", name, content, n + 2), data=data, quarantine=quarantine, free_text=free, notes=[]
    )


def population_part(pop: pd.DataFrame, name: str, content: str) -> IngestResult:
    return IngestResult(
        source=source("population", name, content, len(pop)),
        data=pop,
        quarantine=pd.DataFrame(
            columns=["file", "source_row", "resp_id", "year", "column", "value", "check", "reason", "record"]
        ),
        free_text=pd.DataFrame(columns=["resp_id", "year", "comment"]),
        notes=[],
    )


def make_wave(years: list[int], n: int = 200, seed: int = 1, tag: str = "v1") -> Wave:
    """A wave of ``n`` respondents; ``tag`` changes the file contents (hence sha256)."""
    ys = "-".join(map(str, years))
    resp = responses_part(canonical_responses(n, years, seed), f"resp_{ys}_{tag}.csv", f"r{ys}{tag}{seed}")
    popr = population_part(canonical_population(years), f"pop_{ys}_{tag}.csv", f"p{ys}{tag}")
    return Wave(responses=resp, population=popr, notes=[])


# --- databases -----------------------------------------------------------------------------------------


def pg_available() -> bool:
    engine = sa.create_engine(PG_BASE)
    try:
        with engine.connect():
            return True
    except sa.exc.OperationalError:
        return False
    finally:
        engine.dispose()


def require_pg() -> None:
    """Skip (fail in CI) unless the PostgreSQL server answers."""
    if not pg_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {PG_BASE} (CI is set, so this is an error)")
        pytest.skip(f"PostgreSQL is not reachable at {PG_BASE}")


def schema_url(schema: str, base: str = PG_BASE) -> str:
    return f"{base}?options=-csearch_path%3D{schema}"


@contextmanager
def pg_schema() -> Iterator[str]:
    """A fresh PostgreSQL schema (its name), dropped with everything in it afterwards."""
    require_pg()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(PG_BASE)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        yield schema
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """A database URL of an empty database: a temp SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    with pg_schema() as schema:
        yield schema_url(schema)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store(db_url)
    yield s
    s.close()


def counts(store: Store) -> dict[str, int]:
    """Rows per table."""
    with store.engine.connect() as conn:
        return {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}


def run_frames(responses: pd.DataFrame) -> dict[str, Any]:
    """Small run-output frames with extra columns, NaN, booleans and odd floats."""
    w = responses[["resp_id", "year"]].copy()
    w["weight"] = np.linspace(0.5, 3.0, len(w)) / 3
    diag = pd.DataFrame(
        {
            "year": [2022],
            "district": ["Rissne"],
            "n": [20],
            "sum_weights": [1234.5],
            "min": [0.1],
            "max": [9.9],
            "ratio": [99.0],
            "kish_deff": [1.25],
            "ess": [16.0],
            "iterations": [7],
            "max_margin_error": [1e-9],
            "method": ["raking"],
            "trimmed": [False],
        }
    )
    est = pd.DataFrame(
        {
            "year": [2022, 2022],
            "district": ["Rissne", "Totalt"],
            "indicator": ["unsafe_after_dark", "unsafe_after_dark"],
            "estimate": [0.25, 1 / 3],
            "se": [0.05, np.nan],
            "ci_low": [0.16, 0.2],
            "ci_high": [0.36, 0.5],
            "n": [20, 300],
            "suppressed": [False, True],
            "df": [19, 295],
            "deff": [1.3, 1.1],
            "weighted_base": [1000.0, 20000.0],
        }
    )
    comp = pd.DataFrame(
        {
            "year": [2022],
            "district": ["Rissne"],
            "indicator": ["unsafe_after_dark"],
            "comparison": ["vs_total"],
            "other": ["Totalt"],
            "difference": [-0.08],
            "se": [0.05],
            "ci_low": [-0.18],
            "ci_high": [0.02],
            "p_value": [0.11],
            "p_adjusted": [0.3],
            "significant": [False],
        }
    )
    trend = pd.DataFrame(
        {
            "indicator": ["unsafe_after_dark"] * 2,
            "term": ["(Intercept)", "year"],
            "estimate": [12.5, -0.006],
            "se": [3.1, 0.0015],
            "p_value": [0.01, 0.02],
        }
    )
    return {"weights": w, "diagnostics": diag, "estimates": est, "comparisons": comp, "trend": trend}
