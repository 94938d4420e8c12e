"""Shared test helpers: where ``shared/`` (beside the clone) and the sample wave are."""
from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"
SAMPLE_WAVE = SHARED / "data" / "sample-wave"


@pytest.fixture(scope="session")
def sample_wave() -> tuple[Path, Path]:
    """(responses.csv, population.csv) of the shared sample wave."""
    return SAMPLE_WAVE / "responses.csv", SAMPLE_WAVE / "population.csv"
