"""Importing ADBC's drivers (SQLite for staged loads and file reads, PostgreSQL for bulk reads).

``trygghet run`` imports the driver a thread will use in the main thread first
(:func:`survey.pipeline.runner.open_store`), so two threads never import at once. ADBC's driver manager imports
polars, where installed, for an optional backend trygghet does not use (0.1 s); :func:`import_driver` skips that
import where polars is not loaded already (polars comes with the bench's peers, not with trygghet).
"""

from __future__ import annotations

import importlib
import sys

SQLITE = "adbc_driver_sqlite.dbapi"
POSTGRESQL = "adbc_driver_postgresql.dbapi"


def import_driver(module: str = SQLITE) -> bool:
    """Import an ADBC driver's DB-API module (:data:`SQLITE` or :data:`POSTGRESQL`); False when it is not
    installed."""
    if module in sys.modules:
        return True
    skip_polars = "polars" not in sys.modules
    if skip_polars:
        sys.modules["polars"] = None  # type: ignore[assignment]  # ``import polars`` raises ImportError
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    finally:
        if skip_polars and sys.modules.get("polars", 0) is None:
            del sys.modules["polars"]
    return True
