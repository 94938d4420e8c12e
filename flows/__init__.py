"""Prefect flows of trygghet (thin: they wire survey's step functions as tasks).

Importing this package makes Prefect quiet and offline by default, as the Makefile does: no analytics,
no telemetry, and a PREFECT_HOME inside the project unless the environment says otherwise.
"""
from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_HOME", str(Path(__file__).resolve().parents[1] / ".prefect"))
