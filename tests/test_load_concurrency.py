"""Two runs that load (or replace) a wave of the same database at once, in two real processes: the second
waits for the first and says whom it waits for; one whose wait is over is refused with a message naming the
first run (its Prefect flow-run name and id).

Each process runs a flow whose ``store`` task is trygghet's own load step (``runner.load_step``) on the
shared sample wave, through ``flows.common.PrefectSteps`` (the step runner of every flow); the first holds
its slot after loading until the test lets it go, so the overlap does not depend on the machine's speed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SAMPLE_WAVE

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, time
from pathlib import Path
from prefect import flow
from flows.common import PrefectSteps
from survey.pipeline.config import build_config
from survey.pipeline.runner import load_step, open_store, prepare_step, read_step

db, release, responses, population = sys.argv[1], Path(sys.argv[2]), sys.argv[3], sys.argv[4]
config = build_config(None, {"responses": responses, "population": population, "db": db, "replace": True})


def store(db_url, wave, replace):
    began = time.time()
    report, _seconds = load_step(db_url, wave, replace)
    deadline = time.monotonic() + 600
    while str(release) != "-" and not release.exists() and time.monotonic() < deadline:
        time.sleep(0.2)  # the first run holds the slot until the test lets it go
    return {"status": report.status, "began": began, "ended": time.time()}


@flow(name="load_wave_test")
def load():
    from prefect.runtime import flow_run

    wave = read_step(config, prepare_step(config))
    open_store(config).close()  # migrated, as trygghet run opens it before the load
    out = PrefectSteps().submit("store", store, db, wave, True).result()
    return {**out, "flow_run_id": str(flow_run.id), "flow_run_name": flow_run.name}


print("RESULT " + json.dumps(load()), flush=True)
"""


def _child(tmp: Path, label: str, db: str, release: str, env: dict[str, str]) -> tuple[subprocess.Popen, Path]:
    log = tmp / f"{label}.log"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            CHILD,
            db,
            release,
            str(SAMPLE_WAVE / "responses.csv"),
            str(SAMPLE_WAVE / "population.csv"),
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    return proc, log


def _result(proc: subprocess.Popen, log: Path, limit_s: float = 600) -> tuple[int, str, dict[str, Any] | None]:
    code = proc.wait(limit_s)
    text = log.read_text(encoding="utf-8", errors="replace")
    line = next((ln for ln in text.splitlines() if ln.startswith("RESULT ")), None)
    return code, text, json.loads(line.removeprefix("RESULT ")) if line else None


def _until(check: Any, what: str, limit_s: float, proc: subprocess.Popen, log: Path) -> Any:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        if proc.poll() is not None:
            raise AssertionError(f"{what}: the process ended: {log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.5)
    raise AssertionError(f"{what} not within {limit_s} s: {log.read_text(errors='replace')[-3000:]}")


@pytest.mark.slow
def test_a_second_load_of_the_same_database_waits_or_is_refused_naming_the_first(tmp_path: Path, prefect_api) -> None:
    from prefect.settings import PREFECT_API_URL
    from prefect.variables import Variable

    from flows.common import load_limit_name

    db = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    release = tmp_path / "release"
    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value()), "TRYGGHET_DATA_DIR": str(tmp_path / "data")}
    env.pop("TRYGGHET_LOAD_WAIT_S", None)
    name = load_limit_name(db)
    first, first_log = _child(tmp_path, "first", db, str(release), env)
    procs = [first]
    try:
        holder = _until(
            lambda: Variable.get(name, default=None), "the first run holding the slot", 300, first, first_log
        )
        # a run whose wait is over is refused, naming the first run
        refused, refused_log = _child(tmp_path, "refused", db, "-", {**env, "TRYGGHET_LOAD_WAIT_S": "3"})
        procs.append(refused)
        code, text, res = _result(refused, refused_log)
        assert code != 0 and res is None, text[-3000:]
        assert "ConfigError" in text and holder["flow_run_id"] in text and holder["flow_run_name"] in text, text[-3000:]
        assert "laddar in en våg i samma databas" in text
        # a run with the default wait waits, saying whom it waits for, and loads once the first is done
        waiting, waiting_log = _child(tmp_path, "waiting", db, "-", env)
        procs.append(waiting)
        said = f"Databasen laddas av Prefect-körningen {holder['flow_run_name']} (id {holder['flow_run_id']}"
        _until(
            lambda: said in waiting_log.read_text(errors="replace"), "the waiting message", 300, waiting, waiting_log
        )
        assert first.poll() is None and Variable.get(name, default=None) == holder  # the first still holds it
        release.touch()
        code1, text1, res1 = _result(first, first_log)
        code2, text2, res2 = _result(waiting, waiting_log)
        assert code1 == 0 and res1 is not None, text1[-3000:]
        assert code2 == 0 and res2 is not None, text2[-3000:]
        assert res1["flow_run_id"] == holder["flow_run_id"] and res1["status"] == "loaded"
        assert res2["began"] >= res1["ended"] and res2["status"] == "unchanged"  # the same files again
        assert Variable.get(name, default=None) is None  # released: nobody holds the database
    finally:
        release.touch()
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(30)
