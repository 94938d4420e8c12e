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


ROOT = Path(__file__).resolve().parents[1]
STRAY_DB = ROOT / "trygghet.db"  # the default database of a command run without --db, in the working folder
_STRAY_BEFORE = pytest.StashKey[bool]()


def pytest_configure(config: pytest.Config) -> None:
    """Prefect quiet, offline and patient in every test process (the Makefile exports the same)."""
    import os

    config.stash[_STRAY_BEFORE] = STRAY_DB.exists()

    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    os.environ.setdefault("PREFECT_HOME", str(ROOT / ".prefect"))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """No test may leave the default ``./trygghet.db`` in the checkout (a command run without ``--db``)."""
    if (
        not session.config.stash.get(_STRAY_BEFORE, True)
        and STRAY_DB.exists()
        and not hasattr(session.config, "workerinput")
    ):
        print(f"\n{STRAY_DB} was made by a test that ran a command without --db")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def prefect_api():
    """A temporary Prefect API for real flow runs, with a start-up limit generous enough for a busy
    machine (the harness's own default of 30 s was exceeded under load), and no heartbeats."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with (
        prefect_test_harness(server_startup_timeout=300),
        temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}),
    ):
        yield
