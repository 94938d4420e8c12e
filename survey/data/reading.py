"""How a source file was read, as a digest: the same bytes read another way (another vendor mapping, a codebook
whose content changed, another encoding, delimiter or decimal mark) give other rows, so the store keeps such a
reading as a version of its own (``source_files.reading``, migration 0007) instead of calling it "unchanged"."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any


def _canonical(value: Any) -> Any:
    """JSON-able and independent of set order and of the process (string hashing is randomised)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _canonical(getattr(value, f.name)) for f in dataclasses.fields(value) if f.name != "source"}
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (set, frozenset)):
        return sorted((_canonical(v) for v in value), key=repr)
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)


def reading_digest(info: Any, codebook: Any, mapping: Any) -> str:
    """sha256 of the reading: ``info``'s format, encoding, delimiter, decimal mark and header row (a
    :class:`survey.data.readers.ReadInfo`), the codebook's content and the vendor mapping's (None: none); the
    files these were loaded from (``source``) do not count, only what they say."""
    what = {
        "read": [info.format, info.encoding, info.delimiter, info.decimal, getattr(info, "header_row", 1)],
        "codebook": _canonical(codebook),
        "mapping": _canonical(mapping),
    }
    text = json.dumps(what, sort_keys=True, ensure_ascii=True, separators=(",", ":"), default=repr)
    return hashlib.sha256(text.encode("ascii")).hexdigest()
