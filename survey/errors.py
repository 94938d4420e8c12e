"""Typed errors of trygghet. Every error carries a message written for a person.

Input errors name the file, the source row (1-based, header = row 1, so the first data row is row 2)
and the column, and are raised instead of ``assert``. The CLI prints ``str(error)`` as one paragraph,
never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass


class TrygghetError(Exception):
    """Base class of all errors trygghet reports to a person."""


@dataclass
class InputError(TrygghetError):
    """Bad input that rejects a whole file (unreadable, missing column, too many bad rows, ...)."""

    message: str
    file: str | None = None
    row: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        where = [
            p
            for p in (
                self.file,
                f"rad {self.row}" if self.row is not None else None,
                f"kolumn {self.column}" if self.column else None,
            )
            if p
        ]
        return (", ".join(where) + ": " if where else "") + self.message


class CodebookError(TrygghetError):
    """A codebook or vendor mapping with a mistake; the message names the entry."""


class CalibrationError(TrygghetError):
    """Infeasible or non-converging calibration; the message names the cell."""


class DesignError(TrygghetError):
    """An impossible design (e.g. a stratum with a single PSU under the 'fail' policy)."""


class StoreError(TrygghetError):
    """A database problem that is the user's to fix (e.g. a reload without --replace)."""


class ModelError(TrygghetError):
    """A model that cannot be fitted as asked (bad input, no data in the domain, aliased terms)."""


class PublishError(TrygghetError):
    """A publication step that cannot be done (missing comparison, unknown table or format, no Chromium)."""


class ConfigError(TrygghetError):
    """An option or configuration file that cannot be used; the message names the option and what is allowed.

    Raised before any work starts (nothing read, no database opened).
    """

    def __init__(self, message: str, option: str | None = None) -> None:
        super().__init__(message)
        self.option = option
