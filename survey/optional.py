"""Keeping optional backends of third-party libraries out of an import.

Some libraries import an optional backend where it is installed, for a feature trygghet never uses: ADBC's
driver manager and statsmodels' data tools import polars (0.1 and 0.08 s; not a dependency of trygghet, it
comes with the bench's peers, so a user's install never pays it and the bench should not measure it), and
statsmodels' formula manager imports formulaic (0.07 s, with narwhals) beside patsy, either of which gives it
formulas (trygghet passes arrays, never formulas). :func:`without` keeps such modules out while the block
imports, unless they are loaded already, and leaves them importable afterwards.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def without(*modules: str) -> Iterator[None]:
    """Within the block ``import module`` raises ImportError for each of ``modules`` (as where it is not
    installed), unless it is loaded already; afterwards they import as before."""
    skipped = [m for m in modules if m not in sys.modules]
    for m in skipped:
        sys.modules[m] = None  # type: ignore[assignment]  # ``import m`` raises ImportError
    try:
        yield
    finally:
        for m in skipped:
            if sys.modules.get(m, 0) is None:
                del sys.modules[m]
