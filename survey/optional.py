"""Keeping optional backends of third-party libraries out of an import.

Some libraries import polars where it is installed, for a backend trygghet never uses: ADBC's driver
manager (0.1 s) and statsmodels' data tools (0.08 s). polars is not one of trygghet's dependencies (it comes
with the bench's peers), so a user's install never pays that import and the bench should not measure it:
:func:`without` keeps such a module out while the block imports, unless it is loaded already, and leaves it
importable afterwards.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def without(module: str = "polars") -> Iterator[None]:
    """Within the block ``import module`` raises ImportError (as where it is not installed), unless the
    module is loaded already; afterwards it imports as before."""
    skip = module not in sys.modules
    if skip:
        sys.modules[module] = None  # type: ignore[assignment]  # ``import module`` raises ImportError
    try:
        yield
    finally:
        if skip and sys.modules.get(module, 0) is None:
            del sys.modules[module]
