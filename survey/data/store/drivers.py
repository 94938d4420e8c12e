"""Importing ADBC's drivers (SQLite for staged loads and file reads, PostgreSQL for bulk reads).

``trygghet run`` imports the driver a thread will use in the main thread first
(:func:`survey.pipeline.runner.open_store`), so two threads never import at once. ADBC's driver manager imports
polars, where installed, for an optional backend trygghet does not use (0.1 s); :func:`import_driver` skips that
import where polars is not loaded already (:func:`survey.optional.without`).
"""

from __future__ import annotations

import importlib
import sys

from survey.optional import without

SQLITE = "adbc_driver_sqlite.dbapi"
POSTGRESQL = "adbc_driver_postgresql.dbapi"


def import_driver(module: str = SQLITE) -> bool:
    """Import an ADBC driver's DB-API module (:data:`SQLITE` or :data:`POSTGRESQL`); False when it is not
    installed."""
    if module in sys.modules:
        return True
    try:
        with without("polars"):
            importlib.import_module(module)
    except ImportError:
        return False
    return True
