"""Staged weights on a SQLite file (survey.data.store.staging): the same rows as the direct insert, bit for bit,
in the same transaction (rolled back with it), and nothing left behind."""

from __future__ import annotations

import os
import sqlite3
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import survey.data.store.weights as store_weights
from survey.data.codebook import load_codebook
from survey.data.ingest import load_wave
from survey.data.store import Store, loading, staging
from survey.errors import StoreError
from survey.pipeline.steps import prepare, weight
from tests.conftest import SAMPLE_WAVE

WEIGHT_COLUMNS = "run_id, resp_id, year, weight, position, design_weight, stratum, psu, fpc, cal_block, cal_cell"


@pytest.fixture(scope="module")
def weighted():
    cb = load_codebook()
    wave = load_wave(SAMPLE_WAVE / "responses.csv", SAMPLE_WAVE / "population.csv", cb)
    return wave, weight(prepare(wave.responses.data), wave.population.data)


def _save(path: Path, wave, w) -> str:
    with Store(f"sqlite:///{path}") as store:
        report = store.load_wave(wave)
        run_id = store.begin_run({}, "test", "1", report.source_ids)
        store.save_run_outputs(
            run_id,
            weights=w.weights,
            diagnostics=w.diagnostics,
            estimates=pd.DataFrame({"indicator": []}),
            lineage={},
            finish=False,
            design=w.design,
        )
    return run_id


def _stored(path: Path, run_id: str) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            f"select {WEIGHT_COLUMNS}, typeof(weight), typeof(fpc) from weights where run_id = ? "
            "order by year, resp_id",
            (run_id,),
        ).fetchall()
    return [(None, *r[1:]) for r in rows]  # run ids differ between the two databases


@pytest.fixture(autouse=True)
def _own_temporary_folder(tmp_path: Path, monkeypatch) -> None:
    """Each test stages into a temporary folder of its own, so that its before/after count of staging
    folders never sees another test's (tests run in parallel, in several processes)."""
    own = tmp_path / "tmp"
    own.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(own))


def _stage_folders() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("trygghet-stage-*")}


def test_staged_weights_are_the_direct_inserts_rows(tmp_path: Path, weighted, monkeypatch) -> None:
    wave, w = weighted
    before = _stage_folders()
    direct = _save(tmp_path / "direct.sqlite", wave, w)  # 3,022 rows: below STAGE_MIN_ROWS, inserted directly
    monkeypatch.setattr(staging, "STAGE_MIN_ROWS", 1)
    staged = _save(tmp_path / "staged.sqlite", wave, w)
    a, b = _stored(tmp_path / "direct.sqlite", direct), _stored(tmp_path / "staged.sqlite", staged)
    assert len(a) == len(b) == 3022
    assert a == b  # every value, and its SQLite type (REAL weights, NULL fpc), identical
    assert {r[-2] for r in b} == {"real"}
    with Store(f"sqlite:///{tmp_path / 'staged.sqlite'}") as store:
        back = store.run_weights(staged)
    np.testing.assert_array_equal(back.design.weights, w.design.weights)
    np.testing.assert_array_equal(back.design.strata, w.design.strata)
    assert _stage_folders() == before  # the staging folder is gone


def test_a_failure_after_the_staged_insert_rolls_it_back(tmp_path: Path, weighted, monkeypatch) -> None:
    """The staged rows are part of the outputs' transaction: an error after them leaves no weight, the run
    still running, no staging folder, and the pooled connection detached (the next save works)."""
    wave, w = weighted
    monkeypatch.setattr(staging, "STAGE_MIN_ROWS", 1)
    before = _stage_folders()
    path = tmp_path / "t.sqlite"
    with Store(f"sqlite:///{path}") as store:
        report = store.load_wave(wave)
        run_id = store.begin_run({}, "test", "1", report.source_ids)
        args = {
            "weights": w.weights,
            "diagnostics": w.diagnostics,
            "estimates": pd.DataFrame({"indicator": []}),
            "lineage": {},
            "finish": False,
            "design": w.design,
        }

        def boom(*_a, **_k):
            raise RuntimeError("diagnostics exploded")

        monkeypatch.setattr(store_weights.WeightStore, "store_step", boom)
        with pytest.raises(RuntimeError, match="diagnostics exploded"):
            store.save_run_outputs(run_id, **args)
        with sqlite3.connect(path) as conn:
            assert conn.execute("select count(*) from weights").fetchone() == (0,)
        assert store.runs().set_index("run_id").loc[run_id, "status"] == "running"
        assert _stage_folders() == before
        monkeypatch.undo()
        monkeypatch.setattr(staging, "STAGE_MIN_ROWS", 1)
        store.save_run_outputs(run_id, **args)
    with sqlite3.connect(path) as conn:
        assert conn.execute("select count(*) from weights").fetchone() == (3022,)
        assert conn.execute("pragma database_list").fetchall()[-1][1] == "main"  # nothing left attached


def test_where_staging_applies(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(staging, "STAGE_MIN_ROWS", 100)
    file_db = str(tmp_path / "t.sqlite")
    assert staging.stage_applies(file_db, 100) and not staging.stage_applies(file_db, 99)
    assert not staging.stage_applies(None, 10**6)
    assert Store("sqlite://").sqlite_path is None  # in memory: only its own connection sees it
    assert Store(f"sqlite:///{file_db}?timeout=5").sqlite_path is None  # options the second connection lacks
    assert Store(f"sqlite:///{file_db}").sqlite_path == file_db
    assert not Store("sqlite://").stages_weights(10**6)


def test_a_staging_file_that_cannot_be_written_falls_back_to_the_direct_insert(
    tmp_path: Path, weighted, monkeypatch
) -> None:
    import adbc_driver_sqlite.dbapi as adbc

    def full(*_a, **_k):
        raise OSError("No space left on device")

    wave, w = weighted
    monkeypatch.setattr(staging, "STAGE_MIN_ROWS", 1)
    monkeypatch.setattr(adbc, "connect", full)
    before = _stage_folders()
    run_id = _save(tmp_path / "t.sqlite", wave, w)
    assert len(_stored(tmp_path / "t.sqlite", run_id)) == 3022
    assert _stage_folders() == before


# --- the wave's responses (Store.load_wave) ----------------------------------------------------------------


def _responses(path: Path) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        cols = [r[1] for r in conn.execute("pragma table_info(responses)")]
        typed = ", ".join(f'"{c}", typeof("{c}")' for c in cols)
        return conn.execute(f"select {typed} from responses order by source_file_id, source_row").fetchall()


def _no_stage(*_a, **_k):
    raise AssertionError("staged where it should not be")


def test_staged_responses_are_the_direct_loads_rows(tmp_path: Path, weighted, monkeypatch) -> None:
    wave, _w = weighted
    before = _stage_folders()
    with Store(f"sqlite:///{tmp_path / 'direct.sqlite'}") as store:
        direct = store.load_wave(wave)  # 3,022 rows: below STAGE_MIN_ROWS, inserted directly
    monkeypatch.setattr(staging, "STAGE_MIN_ROWS", 1)
    with Store(f"sqlite:///{tmp_path / 'staged.sqlite'}") as store, monkeypatch.context() as m:
        m.setattr(loading, "stage_rows", _no_stage)
        assert store.load_wave(wave).rows_accepted == 3022  # staging is asked for (the run does), not by default
    with Store(f"sqlite:///{tmp_path / 'staged2.sqlite'}") as store:
        staged = store.load_wave(wave, staged=True)
        back = store.responses()
    assert (staged.status, staged.rows_accepted) == (direct.status, direct.rows_accepted) == ("loaded", 3022)
    a, b = _responses(tmp_path / "direct.sqlite"), _responses(tmp_path / "staged2.sqlite")
    assert len(a) == len(b) == 3022
    assert a == b  # every value and its SQLite type, the source id included
    assert {r[1] for r in b} == {"integer"}  # source_file_id bound as an integer
    with Store(f"sqlite:///{tmp_path / 'direct.sqlite'}") as store:
        pd.testing.assert_frame_equal(back, store.responses())
    assert _stage_folders() == before


def test_a_failed_staged_load_leaves_nothing(tmp_path: Path, weighted, monkeypatch) -> None:
    """The staged responses are part of the wave's transaction: an error after them (here the quarantine's
    insert) leaves no source, no response, no staging folder and nothing attached; the next load works."""

    wave, _w = weighted
    monkeypatch.setattr(staging, "STAGE_MIN_ROWS", 1)
    before = _stage_folders()
    path = tmp_path / "t.sqlite"

    def boom(*_a, **_k):
        raise StoreError("quarantine exploded")

    with Store(f"sqlite:///{path}") as store:
        with monkeypatch.context() as m:
            m.setattr(loading, "insert_quarantine", boom)
            with pytest.raises(StoreError, match="quarantine exploded"):
                store.load_wave(wave, staged=True)
        with sqlite3.connect(path) as conn:
            assert conn.execute("select count(*) from responses").fetchone() == (0,)
            assert conn.execute("select count(*) from source_files").fetchone() == (0,)
        assert _stage_folders() == before
        assert store.load_wave(wave, staged=True).rows_accepted == 3022
    with sqlite3.connect(path) as conn:
        assert conn.execute("select count(*) from responses").fetchone() == (3022,)
        assert conn.execute("pragma database_list").fetchall()[-1][1] == "main"


def test_an_unchanged_wave_is_not_staged(tmp_path: Path, weighted, monkeypatch) -> None:
    wave, _w = weighted
    monkeypatch.setattr(staging, "STAGE_MIN_ROWS", 1)
    with Store(f"sqlite:///{tmp_path / 't.sqlite'}") as store:
        assert store.load_wave(wave, staged=True).status == "loaded"

        monkeypatch.setattr(loading, "stage_rows", _no_stage)
        again = store.load_wave(wave, staged=True)
    assert (again.status, again.statuses["responses"]) == ("unchanged", "unchanged")


def test_trygghet_run_stages_the_load_beside_its_statistics_and_the_weights(tmp_path: Path, monkeypatch) -> None:
    from survey.pipeline.config import build_config
    from survey.pipeline.runner import run

    monkeypatch.setattr(staging, "STAGE_MIN_ROWS", 1)
    staged: list[str] = []
    real = staging.stage_rows

    def spy(database, table, df, constants=None):
        staged.append(table.name)
        return real(database, table, df, constants)

    monkeypatch.setattr(loading, "stage_rows", spy)
    monkeypatch.setattr(store_weights, "stage_rows", spy)
    opts = {"responses": SAMPLE_WAVE / "responses.csv", "population": SAMPLE_WAVE / "population.csv"}
    run(
        build_config(
            None, {**opts, "out": tmp_path / "out", "db": f"sqlite:///{tmp_path / 't.sqlite'}", "publish": False}
        )
    )
    assert staged == ["responses", "weights"]
    assert len(_responses(tmp_path / "t.sqlite")) == 3022


def test_staged_replacements_keep_every_version(tmp_path: Path, monkeypatch) -> None:
    """A corrected file replaces the first (staged), and the first made active again with ``replace`` is
    not inserted twice: its staged rows are discarded, both versions' rows stay, the active one is read."""
    from tests.store_support import make_wave

    monkeypatch.setattr(staging, "STAGE_MIN_ROWS", 1)
    first, corrected = make_wave([2022], n=300, tag="v1"), make_wave([2022], n=300, seed=2, tag="v2")
    before = _stage_folders()
    with Store(f"sqlite:///{tmp_path / 't.sqlite'}") as store:
        a = store.load_wave(first, staged=True)
        b = store.load_wave(corrected, replace=True, staged=True)
        again = store.load_wave(first, replace=True, staged=True)
        active = store.responses()
    assert (a.status, b.status, again.status) == ("loaded", "replaced", "replaced")
    assert again.responses_source_id == a.responses_source_id  # the old version, made active again
    rows = _responses(tmp_path / "t.sqlite")
    assert len(rows) == 600  # 300 + 300: every version kept, none twice
    assert sorted(active["resp_id"]) == sorted(first.responses.data["resp_id"])
    assert _stage_folders() == before


# --- the weights staged before the run is recorded (trygghet run) -------------------------------------------


def test_weights_staged_ahead_are_the_direct_inserts_rows(tmp_path: Path, weighted, monkeypatch) -> None:
    """``stage_run_weights`` then ``save_run_outputs(staged=...)`` stores the rows of the direct insert, bit
    for bit, and consumes the staging file; a stage of other rows is refused (and removed)."""
    wave, w = weighted
    before = _stage_folders()
    direct = _save(tmp_path / "direct.sqlite", wave, w)
    monkeypatch.setattr(staging, "STAGE_MIN_ROWS", 1)
    path = tmp_path / "ahead.sqlite"
    with Store(f"sqlite:///{path}") as store:
        report = store.load_wave(wave)
        run_id = store.begin_run({}, "test", "1", report.source_ids)
        stage = store.stage_run_weights(run_id, w.weights, w.design)
        assert stage is not None and stage.rows == 3022 and stage.path.is_file()
        args = {"diagnostics": w.diagnostics, "estimates": pd.DataFrame({"indicator": []}), "lineage": {}}
        short = store.stage_run_weights(run_id, w.weights.iloc[:-1], None)
        assert short is not None
        with pytest.raises(ValueError, match="3021"):
            store.save_run_outputs(run_id, weights=w.weights, finish=False, design=w.design, staged=short, **args)
        assert not short.path.exists()
        store.save_run_outputs(run_id, weights=w.weights, finish=False, design=w.design, staged=stage, **args)
    assert _stored(path, run_id) == _stored(tmp_path / "direct.sqlite", direct)
    assert _stage_folders() == before
    with Store("sqlite://") as memory:
        assert memory.stage_run_weights("r", w.weights, w.design) is None  # nothing to stage in memory


def _blocked_load(monkeypatch, then: Exception | None = None):
    """``trygghet run``'s load held until the weights are staged (a generous limit, never a speed): the run
    must stage them without waiting for the load. Returns the list of what happened, in order."""
    import threading

    from survey.pipeline import runner

    events: list[str] = []
    staged = threading.Event()
    real_load, real_stage = runner.load_step, store_weights.stage_rows

    def load(*args, **kwargs):
        events.append("load waits" if staged.wait(timeout=120) else "load gave up waiting")
        if then is not None:
            raise then
        out = real_load(*args, **kwargs)
        events.append("load done")
        return out

    def stage(database, table, df, constants=None):
        out = real_stage(database, table, df, constants)
        events.append("weights staged")
        staged.set()
        return out

    monkeypatch.setattr(staging, "STAGE_MIN_ROWS", 1)
    monkeypatch.setattr(runner, "load_step", load)
    monkeypatch.setattr(store_weights, "stage_rows", stage)
    return events


def _run(tmp_path: Path) -> None:
    from survey.pipeline.config import build_config
    from survey.pipeline.runner import run

    opts = {"responses": SAMPLE_WAVE / "responses.csv", "population": SAMPLE_WAVE / "population.csv"}
    run(build_config(None, {**opts, "out": tmp_path / "out", "db": f"sqlite:///{tmp_path / 't.sqlite'}"}))


def test_trygghet_run_stages_the_weights_while_the_load_holds_the_database(tmp_path: Path, monkeypatch) -> None:
    events = _blocked_load(monkeypatch)
    _run(tmp_path)
    assert events == ["weights staged", "load waits", "load done"]
    with sqlite3.connect(tmp_path / "t.sqlite") as conn:
        assert conn.execute("select count(*) from weights").fetchone() == (3022,)
        assert conn.execute("select status from runs").fetchall() == [("succeeded",)]


def test_a_failed_load_removes_the_weights_staged_ahead(tmp_path: Path, monkeypatch) -> None:
    before = _stage_folders()
    events = _blocked_load(monkeypatch, then=StoreError("the disk is full"))
    with pytest.raises(StoreError, match="the disk is full"):
        _run(tmp_path)
    assert events == ["weights staged", "load waits"]
    assert _stage_folders() == before
    with sqlite3.connect(tmp_path / "t.sqlite") as conn:
        assert conn.execute("select count(*) from weights").fetchone() == (0,)


def test_a_new_store_file_has_large_pages_and_an_old_one_keeps_its_own(tmp_path: Path, weighted) -> None:
    wave, _w = weighted
    with Store(f"sqlite:///{tmp_path / 'new.sqlite'}") as store:
        store.load_wave(wave)
    old = tmp_path / "old.sqlite"
    with sqlite3.connect(old) as conn:
        conn.execute("pragma page_size=4096")
        conn.execute("vacuum")  # a file made by an earlier trygghet, with SQLite's default pages
    with Store(f"sqlite:///{old}") as store:
        assert store.load_wave(wave).rows_accepted == 3022
    with sqlite3.connect(tmp_path / "new.sqlite") as new, sqlite3.connect(old) as kept:
        assert new.execute("pragma page_size").fetchone() == (32768,)
        assert kept.execute("pragma page_size").fetchone() == (4096,)
        assert new.execute("pragma journal_mode").fetchone() == ("wal",)


_DRIVER_PROBE = """
import importlib.util, sys
{before}
from survey.data.store.drivers import import_driver
print(import_driver(), "polars" in sys.modules, importlib.util.find_spec("polars") is not None)
"""


def _probe(before: str = "") -> list[str]:
    import subprocess
    import sys

    code = _DRIVER_PROBE.format(before=before)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    return done.stdout.split()


def test_driver_import_skips_polars_and_leaves_it_importable():
    """ADBC's optional polars backend is not imported with the driver (trygghet does not use it), and the
    skip leaves nothing behind: afterwards polars can be found (where installed) as before."""
    import importlib.util

    installed = importlib.util.find_spec("polars") is not None
    assert _probe() == ["True", "False", str(installed)]


def test_driver_import_keeps_a_loaded_polars():
    pytest.importorskip("polars")
    assert _probe("import polars") == ["True", "True", "True"]


def test_a_killed_process_s_staging_folder_is_removed_by_the_next_stage(tmp_path: Path) -> None:
    """A run killed with SIGKILL leaves its staging folder; the next staging removes the folders of processes
    that are gone, and only those (this process's, a live one's and foreign names stay)."""
    import subprocess
    import sys

    from survey.data.store.staging import PREFIX, reap_stale

    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(done.stdout)
    names = [f"{PREFIX}{dead}-a1", f"{PREFIX}{os.getpid()}-b2", f"{PREFIX}1-c3", f"{PREFIX}x-d4", "annat-5-e5"]
    for name in names:
        (tmp_path / name).mkdir()
        (tmp_path / name / "stage.sqlite").write_bytes(b"x" * 10)
    assert reap_stale(tmp_path) == [tmp_path / names[0]]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name in names) == sorted(names[1:])
