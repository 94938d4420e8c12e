"""Prefect flow ``ingest_wave``: read and validate a wave, then load it into the database."""
from __future__ import annotations

from typing import Annotated

from prefect import flow
from pydantic import Field

from flows.common import codebook_of, ingest_artifact, read_validate, store_wave


@flow(name="ingest_wave", log_prints=True)
def ingest_wave(responses: str, population: str, db: str | None = None, codebook: str | None = None,
                mapping: str | None = None, replace: bool = False,
                max_bad_share: Annotated[float, Field(ge=0, le=1)] = 0.05) -> dict:
    """Read → validate (quarantine bad rows) → store. Returns the load report as a dict."""
    cb = codebook_of(codebook)
    wave = read_validate(responses, population, cb, mapping, max_bad_share)
    _, report = store_wave(wave, db, replace)
    ingest_artifact(wave, report)
    return {"status": report.status, "accepted": len(wave.responses.data),
            "quarantined_rows": int(wave.responses.quarantine["source_row"].nunique())
            if len(wave.responses.quarantine) else 0}


if __name__ == "__main__":  # pragma: no cover
    import sys
    ingest_wave(sys.argv[1], sys.argv[2])
