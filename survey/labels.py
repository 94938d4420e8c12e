"""Labels that every layer shares and no input may use as a name of its own.

``TOTAL_LABEL`` is the row of all districts together (estimates, comparisons, the report's tables and the
database's views); ``MODEL_SUFFIX`` marks a small-area model row (``"<district> (modell)"``). A district in
an input file named like either would be published as something it is not, or collide with it (two rows of
one key), so :func:`survey.data.validate.bad_names` refuses such names.
"""

from __future__ import annotations

TOTAL_LABEL = "Totalt"
MODEL_SUFFIX = " (modell)"


def reserved(name: str) -> bool:
    """Whether ``name`` is, or would be read as, a reserved label (case and surrounding blanks ignored)."""
    folded = name.strip().casefold()
    return folded == TOTAL_LABEL.casefold() or folded.endswith(MODEL_SUFFIX.strip().casefold())
