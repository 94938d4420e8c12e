"""End-to-end: ``trygghet run`` (CLI, runner and the Prefect flow) against the R oracle's files.

The oracle (shared/conformance/reference.R, R survey 4.1.1) wrote shared/data/sample-wave/expected/; the
run must reproduce weights to 1e-8 and estimates to 1e-6 relative whatever format the wave comes in.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from survey.cli import app
from survey.data.ingest import sha256_file
from survey.errors import CalibrationError
from survey.pipeline.config import build_config
from survey.pipeline.runner import run as run_config
from tests.conftest import SAMPLE_WAVE

sys.path.insert(0, str(Path(__file__).resolve().parent / "r"))
from oracle import require_r

EXPECTED = SAMPLE_WAVE / "expected"


def run(responses, population, out, **options):
    """``trygghet run`` through the library: the options as in a configuration file."""
    return run_config(build_config(None, {"responses": responses, "population": population, "out": out, **options}))


PG_BASE = os.environ.get("TRYGGHET_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def compare_with_oracle(
    out: Path, expected: Path = EXPECTED, *, rtol_w: float = 1e-8, rtol_e: float = 1e-6, trend: bool = True
) -> dict[str, float]:
    """Max relative differences of weights, estimates (and trend) against the oracle's files."""
    ww = pd.read_csv(out / "weights.csv", dtype={"resp_id": str})
    we = pd.read_csv(expected / "weights.csv", dtype={"resp_id": str})
    w = ww.merge(we, on=["resp_id", "year"], suffixes=("", "_r"), validate="one_to_one")
    assert len(w) == len(we) == len(ww)
    diffs = {"weight": float(np.max(np.abs(w["weight"] / w["weight_r"] - 1)))}
    a, b = pd.read_csv(out / "estimates.csv"), pd.read_csv(expected / "estimates.csv")
    assert list(a.columns) == list(b.columns)
    m = a.merge(b, on=["year", "district", "indicator"], suffixes=("", "_r"), validate="one_to_one")
    assert len(m) == len(a) == len(b)
    assert (m["n"] == m["n_r"]).all()
    assert (m["suppressed"] == m["suppressed_r"]).all()
    for c in ("estimate", "se", "ci_low", "ci_high"):
        diffs[c] = float(np.nanmax(np.abs(m[c] - m[c + "_r"]) / np.abs(m[c + "_r"])))
        assert (m[c].isna() == m[c + "_r"].isna()).all()
    if trend:
        ta, tb = pd.read_csv(out / "trend.csv"), pd.read_csv(expected / "trend.csv")
        t = ta.merge(tb, on=["indicator", "term"], suffixes=("", "_r"), validate="one_to_one")
        assert len(t) == len(ta) == len(tb)
        for c in ("estimate", "se"):
            diffs["trend_" + c] = float(np.max(np.abs(t[c] - t[c + "_r"]) / np.abs(t[c + "_r"])))
            assert diffs["trend_" + c] < 1e-6, diffs
    assert diffs["weight"] < rtol_w, diffs
    assert max(diffs[c] for c in ("estimate", "se", "ci_low", "ci_high")) < rtol_e, diffs
    return diffs


def test_cli_run_reproduces_the_oracle(tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = CliRunner().invoke(
        app,
        [
            "run",
            "--responses",
            str(SAMPLE_WAVE / "responses.csv"),
            "--population",
            str(SAMPLE_WAVE / "population.csv"),
            "--out",
            str(out),
            "--db",
            f"sqlite:///{tmp_path / 'db.sqlite'}",
            "--no-publish",
        ],
    )
    assert res.exit_code == 0, res.output
    diffs = compare_with_oracle(out)
    assert max(diffs[c] for c in ("estimate", "se", "ci_low", "ci_high")) < 1e-12  # observed ~1e-14
    lineage = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert set(lineage["steps"]) == {"read", "validate", "store", "weight", "estimate", "trend", "publish"}
    assert all(v >= 0 for v in lineage["steps"].values())
    assert set(lineage["publish_parts"]) == {"record", "analysis_files", "run_outputs"}  # --no-publish: no report
    assert lineage["inputs"][0]["sha256"] == sha256_file(SAMPLE_WAVE / "responses.csv")
    assert lineage["inputs"][1]["sha256"] == sha256_file(SAMPLE_WAVE / "population.csv")
    assert lineage["codebook"]["version"] == "1"
    assert lineage["counts"] == {**lineage["counts"], "respondents": 3022, "estimates": 315, "suppressed": 45}


def _write_as(df: pd.DataFrame, fmt: str, folder: Path) -> Path:
    """A canonical responses frame (all text) written in a format the contract allows."""
    if fmt == "cp1252-semicolon-comma":
        df = df.copy()
        df["design_weight"] = df["design_weight"].str.replace(".", ",", regex=False)
        # cp1252 cannot hold every character a comment might have: replace those, as a vendor's export would
        df["comment"] = df["comment"].map(lambda s: s.encode("cp1252", "replace").decode("cp1252"))
        path = folder / "svar.csv"
        df.to_csv(path, sep=";", index=False, encoding="cp1252")
    elif fmt == "csv-semicolon-bom":
        path = folder / "svar.csv"
        df.to_csv(path, sep=";", index=False, encoding="utf-8-sig")
    elif fmt == "xlsx":
        path = folder / "svar.xlsx"
        df.to_excel(path, index=False)
    elif fmt == "parquet":
        path = folder / "svar.parquet"
        df.to_parquet(path, index=False)
    elif fmt == "sav":
        import pyreadstat

        frame = df.copy()
        for c in frame.columns:
            if c.startswith("q_") or c in ("year", "sex", "born_abroad", "design_weight"):
                frame[c] = pd.to_numeric(frame[c].replace("", np.nan))
        path = folder / "svar.sav"
        pyreadstat.write_sav(frame, str(path))
    else:
        raise ValueError(fmt)
    return path


def _sample_as(fmt: str, folder: Path) -> Path:
    """The sample wave's responses written in another format the contract allows."""
    return _write_as(pd.read_csv(SAMPLE_WAVE / "responses.csv", dtype=str, keep_default_na=False), fmt, folder)


@pytest.mark.parametrize("fmt", ["cp1252-semicolon-comma", "xlsx", "parquet"])
def test_every_input_format_gives_the_oracle_numbers(tmp_path: Path, fmt: str) -> None:
    resp = _sample_as(fmt, tmp_path)
    res = run(
        resp, SAMPLE_WAVE / "population.csv", tmp_path / "out", db=f"sqlite:///{tmp_path / 'db.sqlite'}", publish=False
    )
    compare_with_oracle(tmp_path / "out", trend=False)
    assert res.lineage["inputs"][0]["format"] == ("csv" if fmt.startswith("cp1252") else fmt)


def test_run_twice_is_idempotent_and_keeps_both_runs(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    kw = dict(db=db, publish=False)
    r1 = run(SAMPLE_WAVE / "responses.csv", SAMPLE_WAVE / "population.csv", tmp_path / "a", **kw)
    r2 = run(SAMPLE_WAVE / "responses.csv", SAMPLE_WAVE / "population.csv", tmp_path / "b", **kw)
    assert r1.lineage["database"]["load"] == "loaded"
    assert r2.lineage["database"]["load"] == "unchanged"
    assert r1.run_id != r2.run_id
    assert (tmp_path / "a" / "estimates.csv").read_bytes() == (tmp_path / "b" / "estimates.csv").read_bytes()
    eng = sa.create_engine(db)
    with eng.connect() as c:
        assert c.execute(sa.text("select count(*) from responses")).scalar_one() == 3022
        assert c.execute(sa.text("select count(*) from source_files")).scalar_one() == 2
        assert c.execute(sa.text("select count(*) from runs")).scalar_one() == 2
    eng.dispose()


def test_bad_file_is_one_paragraph_naming_file_row_column_and_leaves_db_empty(tmp_path: Path) -> None:
    df = pd.read_csv(SAMPLE_WAVE / "responses.csv", dtype=str, keep_default_na=False)
    bad = tmp_path / "svar.csv"
    df.drop(columns=["q_worry_crime"]).to_csv(bad, index=False)
    db = tmp_path / "db.sqlite"
    res = CliRunner().invoke(
        app,
        [
            "run",
            "--responses",
            str(bad),
            "--population",
            str(SAMPLE_WAVE / "population.csv"),
            "--out",
            str(tmp_path / "out"),
            "--db",
            f"sqlite:///{db}",
            "--no-publish",
        ],
    )
    assert res.exit_code == 2
    text = " ".join(res.output.split())
    assert "svar.csv" in text and "rad 1" in text and "q_worry_crime" in text
    assert "Traceback" not in res.output
    assert not (tmp_path / "out" / "estimates.csv").exists()
    if db.exists():
        eng = sa.create_engine(f"sqlite:///{db}")
        with eng.connect() as c:
            names = sa.inspect(c).get_table_names()
            if "responses" in names:
                assert c.execute(sa.text("select count(*) from responses")).scalar_one() == 0
        eng.dispose()


def test_infeasible_calibration_names_the_cell(tmp_path: Path) -> None:
    df = pd.read_csv(SAMPLE_WAVE / "responses.csv", dtype=str, keep_default_na=False)
    drop = (df["year"] == "2023") & (df["district"] == "Duvbo") & (df["age_group"] == "75-84")
    assert drop.sum() > 0
    path = tmp_path / "svar.csv"
    df[~drop].to_csv(path, index=False)
    with pytest.raises(CalibrationError) as err:
        run(
            path,
            SAMPLE_WAVE / "population.csv",
            tmp_path / "out",
            db=f"sqlite:///{tmp_path / 'db.sqlite'}",
            publish=False,
        )
    msg = str(err.value)
    assert "year 2023" in msg and "district Duvbo" in msg and "age_group 75-84" in msg and "inga svarande" in msg


def _pg_schema_url() -> tuple[str, str] | None:
    engine = sa.create_engine(PG_BASE)
    try:
        with engine.begin() as conn:
            schema = f"run_{uuid.uuid4().hex[:12]}"
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    except sa.exc.OperationalError:
        return None
    finally:
        engine.dispose()
    return f"{PG_BASE}?options=-csearch_path%3D{schema}", schema


def _pg_schema_or_skip() -> tuple[str, str]:
    """A fresh schema on the test server; skipped without one (a failure when CI is set)."""
    got = _pg_schema_url()
    if got is None:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {PG_BASE} (CI is set)")
        pytest.skip(f"PostgreSQL is not reachable at {PG_BASE}")
    return got


@pytest.mark.postgres
def test_run_on_postgresql(tmp_path: Path) -> None:
    url, schema = _pg_schema_or_skip()
    try:
        r1 = run(SAMPLE_WAVE / "responses.csv", SAMPLE_WAVE / "population.csv", tmp_path / "out", db=url, publish=False)
        compare_with_oracle(tmp_path / "out")
        assert r1.lineage["database"] == {"dialect": "postgresql", "load": "loaded"}
        r2 = run(
            SAMPLE_WAVE / "responses.csv", SAMPLE_WAVE / "population.csv", tmp_path / "out2", db=url, publish=False
        )
        assert r2.lineage["database"]["load"] == "unchanged"
        eng = sa.create_engine(url)
        with eng.connect() as c:
            assert c.execute(sa.text("select count(*) from responses")).scalar_one() == 3022
            assert (
                c.execute(sa.text("select count(*) from estimates where run_id = :r"), {"r": r1.run_id}).scalar_one()
                == 315
            )
        eng.dispose()
    finally:
        admin = sa.create_engine(PG_BASE)
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


@pytest.mark.postgres
def test_run_with_the_report_on_postgresql(tmp_path: Path, monkeypatch) -> None:
    """On PostgreSQL the run's outputs are stored in a thread beside the report: the weights, the run's
    estimates and the published tables all land, under a succeeded run; a report that fails still marks
    the run failed after the outputs' transaction has finished."""
    from reports import publish
    from survey.data.store import Store

    url, schema = _pg_schema_or_skip()
    try:
        r1 = run(SAMPLE_WAVE / "responses.csv", SAMPLE_WAVE / "population.csv", tmp_path / "out", db=url)
        compare_with_oracle(tmp_path / "out")
        assert (tmp_path / "out" / "report" / "index.html").is_file()
        parts = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))["publish_parts"]
        assert set(parts) == {"record", "analysis_files", "run_outputs", "report"}
        with Store(url, migrate=False) as store:
            runs = store.runs()
            pub = store.published_tables()
            assert list(runs["status"]) == ["succeeded"]
            assert len(pub) == r1.lineage["publish"]["tables"] > 0
            assert set(pub["run_id"]) == {r1.run_id} and set(pub["version"]) == {1}
        eng = sa.create_engine(url)
        with eng.connect() as c:
            counts = {
                t: c.execute(sa.text(f"select count(*) from {t} where run_id = :r"), {"r": r1.run_id}).scalar_one()
                for t in ("weights", "estimates")
            }
        eng.dispose()
        assert counts == {"weights": 3022, "estimates": 315}

        def broken(*_a, **_k):
            raise RuntimeError("disk full")

        monkeypatch.setattr(publish, "publish_report", broken)
        with pytest.raises(RuntimeError, match="disk full"):
            run(SAMPLE_WAVE / "responses.csv", SAMPLE_WAVE / "population.csv", tmp_path / "out2", db=url)
        with Store(url, migrate=False) as store:
            runs = store.runs().sort_values("started_at")
            assert list(runs["status"]) == ["succeeded", "failed"]
            assert len(store.published_tables()) == len(pub)  # nothing published by the failed run
        monkeypatch.undo()
        _report_fails_after_its_tables(url, tmp_path / "out3", monkeypatch, runs=3, published=len(pub))
    finally:
        admin = sa.create_engine(PG_BASE)
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


def _report_fails_after_its_tables(db: str, out: Path, monkeypatch, *, runs: int, published: int) -> None:
    """A report that fails after its tables were built (its charts): the run fails and none of its tables
    is published."""
    from reports import publish
    from survey.data.store import Store

    def broken(*_a, **_k):
        raise RuntimeError("no room for the charts")

    with monkeypatch.context() as m, pytest.raises(RuntimeError, match="no room for the charts"):
        m.setattr(publish, "write_charts", broken)
        run(SAMPLE_WAVE / "responses.csv", SAMPLE_WAVE / "population.csv", out, db=db)
    with Store(db, migrate=False) as store:
        statuses = list(store.runs().sort_values("started_at")["status"])
        assert len(statuses) == runs and statuses[-1] == "failed"
        assert len(store.published_tables()) == published


def test_a_staged_run_whose_report_fails_publishes_nothing(tmp_path: Path, monkeypatch) -> None:
    from survey.data.store import Store, staging

    monkeypatch.setattr(staging, "STAGE_MIN_ROWS", 1)  # the outputs stored beside the report, as at 1M
    db = f"sqlite:///{tmp_path / 't.sqlite'}"
    _report_fails_after_its_tables(db, tmp_path / "out", monkeypatch, runs=1, published=0)
    r = run(SAMPLE_WAVE / "responses.csv", SAMPLE_WAVE / "population.csv", tmp_path / "out2", db=db)
    with Store(db, migrate=False) as store:
        pub = store.published_tables()
        assert len(pub) == r.lineage["publish"]["tables"] > 0 and set(pub["run_id"]) == {r.run_id}
        assert set(pub["version"]) == {1}


@pytest.mark.parametrize("beside", [False, True], ids=["one-after-the-other", "outputs-beside-the-report"])
def test_a_run_that_fails_as_it_ends_publishes_nothing(tmp_path: Path, monkeypatch, beside: bool) -> None:
    """The report's tables become current in the transaction that marks the run succeeded: a run that
    fails after its report (here run.json cannot be written: a folder has its name) is recorded as failed
    and the previous run's tables stay the current ones (they were the newest versions before)."""
    from survey.data.store import Store, staging

    if beside:
        monkeypatch.setattr(staging, "STAGE_MIN_ROWS", 1)
    db = f"sqlite:///{tmp_path / 't.sqlite'}"
    first = run(SAMPLE_WAVE / "responses.csv", SAMPLE_WAVE / "population.csv", tmp_path / "out1", db=db)
    (tmp_path / "out2" / "run.json").mkdir(parents=True)
    with pytest.raises(IsADirectoryError):
        run(SAMPLE_WAVE / "responses.csv", SAMPLE_WAVE / "population.csv", tmp_path / "out2", db=db)
    with Store(db, migrate=False) as store:
        assert sorted(store.runs()["status"]) == ["failed", "succeeded"]
        pub = store.published_tables()
        assert len(pub) == first.lineage["publish"]["tables"] > 0
        assert set(pub["run_id"]) == {first.run_id} and set(pub["version"]) == {1}
        assert set(store.published_view("v_published_estimates")["run_id"]) == {first.run_id}


def _interrupted_run(tmp_path: Path) -> str:
    """The sample wave run into a new SQLite file, interrupted (KeyboardInterrupt reaches the caller); the URL."""
    db = f"sqlite:///{tmp_path / 't.sqlite'}"
    with pytest.raises(KeyboardInterrupt):
        run(SAMPLE_WAVE / "responses.csv", SAMPLE_WAVE / "population.csv", tmp_path / "out", db=db)
    return db


def test_ctrl_c_during_the_imports_records_the_stored_wave_s_run_as_failed(tmp_path: Path, monkeypatch) -> None:
    """An interruption while the statistics' modules are imported (beside the load) waits for the load and
    records the run as failed: the wave the load stored had no run at all."""
    from survey.data.store import Store
    from survey.pipeline import runner

    def interrupted() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "import_statistics", interrupted)
    with Store(_interrupted_run(tmp_path), migrate=False) as store:
        runs = store.runs()
        assert runs["status"].tolist() == ["failed"] and runs["error"].tolist() == ["KeyboardInterrupt: "]
        assert len(store.responses()) == 3022 and store.published_tables().empty


def test_a_signal_after_the_run_has_ended_leaves_it_succeeded(tmp_path: Path, monkeypatch) -> None:
    """Ctrl-C or SIGTERM in the moment after the run was marked succeeded: the run stays succeeded and the
    interruption is what reaches the user (it had been "Körning … är redan succeeded", exit 2)."""
    from survey.data.store import Store
    from survey.pipeline import runner

    real = runner.finish

    def finish_then_signal(*args):
        real(*args)
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "finish", finish_then_signal)
    with Store(_interrupted_run(tmp_path), migrate=False) as store:
        assert store.runs()["status"].tolist() == ["succeeded"] and len(store.published_tables()) > 0


def test_the_report_is_written_while_the_load_still_runs(tmp_path: Path, monkeypatch) -> None:
    """Where the outputs are stored beside the report (here staged on a SQLite file), the report names the
    run by the id chosen after the statistics and does not wait for the wave's load: the load below waits
    until the report has been published, and the run still lands whole, under that id."""
    import threading

    from reports import publish
    from survey.data.store import Store, staging
    from survey.data.store.loading import WaveLoader

    monkeypatch.setattr(staging, "STAGE_MIN_ROWS", 1)
    reported = threading.Event()
    report_ids: list[str] = []
    real_report, real_load = publish.publish_report, WaveLoader.load_wave

    def report(*args, **kwargs):
        out = real_report(*args, **kwargs)
        report_ids.append(args[4]["run_id"])  # run_meta
        reported.set()
        return out

    def load(self, *args, **kwargs):
        assert reported.wait(300), "the report waited for the load"  # generous: only a deadlock fails
        return real_load(self, *args, **kwargs)

    monkeypatch.setattr(publish, "publish_report", report)
    monkeypatch.setattr(WaveLoader, "load_wave", load)
    db = f"sqlite:///{tmp_path / 't.sqlite'}"
    r = run(SAMPLE_WAVE / "responses.csv", SAMPLE_WAVE / "population.csv", tmp_path / "out", db=db)
    assert report_ids == [r.run_id]
    lineage = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
    assert lineage["run_id"] == r.run_id and lineage["database"]["load"] == "loaded"
    with Store(db, migrate=False) as store:
        assert list(store.runs()["status"]) == ["succeeded"]
        assert set(store.published_tables()["run_id"]) == {r.run_id}
        assert len(store.run_weights(r.run_id).weights) == 3022


def test_a_load_that_fails_beside_the_report_records_no_run(tmp_path: Path, monkeypatch) -> None:
    """The load's error reaches the user after the report thread has finished; no run is recorded (the load
    wrote nothing, so there is no source to name), nothing is published and no run.json is written."""
    from survey.data.store import Store, loading, staging
    from survey.errors import StoreError

    def broken(*_a, **_k):
        raise StoreError("karantänen kunde inte sparas")

    monkeypatch.setattr(staging, "STAGE_MIN_ROWS", 1)
    monkeypatch.setattr(loading, "insert_quarantine", broken)
    db = f"sqlite:///{tmp_path / 't.sqlite'}"
    with pytest.raises(StoreError, match="karantänen kunde inte sparas"):
        run(SAMPLE_WAVE / "responses.csv", SAMPLE_WAVE / "population.csv", tmp_path / "out", db=db)
    assert not (tmp_path / "out" / "run.json").exists()
    with Store(db, migrate=False) as store:
        assert store.runs().empty
        assert store.published_tables().empty
        assert store.sources().empty


def test_a_report_that_fails_beside_the_load_marks_the_recorded_run_failed(tmp_path: Path, monkeypatch) -> None:
    """The thread beside a failing report still finishes the load and records the run; the run is then
    marked failed (not left running), the wave stays stored whole and nothing is published."""
    from reports import publish
    from survey.data.store import Store, staging

    def broken(*_a, **_k):
        raise KeyboardInterrupt  # as SIGTERM's handler ends a command

    monkeypatch.setattr(staging, "STAGE_MIN_ROWS", 1)
    monkeypatch.setattr(publish, "publish_report", broken)
    db = f"sqlite:///{tmp_path / 't.sqlite'}"
    with pytest.raises(KeyboardInterrupt):
        run(SAMPLE_WAVE / "responses.csv", SAMPLE_WAVE / "population.csv", tmp_path / "out", db=db)
    with Store(db, migrate=False) as store:
        runs = store.runs()
        assert list(runs["status"]) == ["failed"] and "KeyboardInterrupt" in runs["error"].iloc[0]
        assert store.published_tables().empty
        assert len(store.responses()) == 3022


@pytest.mark.slow
def test_prefect_flow_and_cli_write_byte_identical_contract_files(tmp_path: Path, prefect_api) -> None:
    """``trygghet_run`` (a real flow run, each step a task) and ``trygghet run`` run the same steps with the
    same configuration: the contract files are byte for byte the same, and equal the oracle's numbers."""
    from flows.run_wave import trygghet_run

    opts = ["--method", "linear", "--min-n", "25", "--no-publish"]
    cli = CliRunner().invoke(
        app,
        [
            "run",
            "--responses",
            str(SAMPLE_WAVE / "responses.csv"),
            "--population",
            str(SAMPLE_WAVE / "population.csv"),
            "--out",
            str(tmp_path / "cli"),
            "--db",
            f"sqlite:///{tmp_path / 'cli.sqlite'}",
            *opts,
        ],
    )
    assert cli.exit_code == 0, cli.output
    config = build_config(
        None,
        {
            "responses": SAMPLE_WAVE / "responses.csv",
            "population": SAMPLE_WAVE / "population.csv",
            "out": tmp_path / "flow",
            "db": f"sqlite:///{tmp_path / 'flow.sqlite'}",
            "method": "linear",
            "min_n": 25,
            "publish": False,
        },
    )
    res = trygghet_run(config)
    assert set(res["steps"]) == {"read", "validate", "store", "weight", "estimate", "trend", "publish"}
    for name in ("weights.csv", "estimates.csv", "trend.csv"):
        assert (tmp_path / "flow" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes(), name
    lineage = json.loads((tmp_path / "flow" / "run.json").read_text(encoding="utf-8"))
    assert lineage["parameters"]["config"]["method"] == "linear"
    assert lineage["prefect"]["flow"] == "trygghet_run" and lineage["prefect"]["flow_run_id"]
    # linear calibration to the same margins meets them as raking does; the shares differ from raking's
    est = pd.read_csv(tmp_path / "flow" / "estimates.csv")
    assert len(est) == 315 and int(est["suppressed"].sum()) < 45


# --- bad input through `trygghet ingest`: a clear error and an unchanged database ----------------------


def _table_counts(url: str) -> dict[str, int]:
    eng = sa.create_engine(url)
    with eng.connect() as c:
        names = [t for t in sa.inspect(c).get_table_names() if t != "alembic_version"]
        out = {t: c.execute(sa.text(f'select count(*) from "{t}"')).scalar_one() for t in names}
    eng.dispose()
    return out


def _bad_inputs(folder: Path) -> dict[str, tuple[Path, Path, list[str]]]:
    """name -> (responses, population, words the message must contain)."""
    resp = pd.read_csv(SAMPLE_WAVE / "responses.csv", dtype=str, keep_default_na=False)
    pop = pd.read_csv(SAMPLE_WAVE / "population.csv", dtype=str, keep_default_na=False)
    good_pop = SAMPLE_WAVE / "population.csv"
    cases: dict[str, tuple[Path, Path, list[str]]] = {}

    def write(name: str, frame: pd.DataFrame, **kw) -> Path:
        path = folder / name
        frame.to_csv(path, index=False, **kw)
        return path

    every_tenth = resp.index % 10 == 0  # 10 % of the rows: more than the 5 % quarantine limit
    r = resp.copy()
    r.loc[every_tenth, "q_worry_crime"] = "7"
    cases["unknown codes"] = (write("codes.csv", r), good_pop, ["codes.csv", "q_worry_crime", "rad"])
    r = resp.copy()
    r.loc[every_tenth, "design_weight"] = "tio"
    cases["non-numeric weights"] = (write("weights.csv", r), good_pop, ["weights.csv", "design_weight", "rad"])
    r = resp.copy()
    r.loc[every_tenth, "district"] = "Atlantis"
    cases["unknown district"] = (write("district.csv", r), good_pop, ["district.csv", "district", "rad"])
    r = pd.concat([resp, resp.iloc[: len(resp) // 8]], ignore_index=True)
    cases["duplicate ids"] = (write("dups.csv", r), good_pop, ["dups.csv", "resp_id", "rad"])
    cases["missing column"] = (write("nocol.csv", resp.drop(columns=["sex"])), good_pop, ["nocol.csv", "sex", "rad 1"])
    empty = folder / "empty.csv"
    empty.write_bytes(b"")
    cases["empty file"] = (empty, good_pop, ["empty.csv"])
    cases["header only"] = (write("header.csv", resp.iloc[:0]), good_pop, ["header.csv"])
    trunc = folder / "trunc.csv"
    text = (SAMPLE_WAVE / "responses.csv").read_text(encoding="utf-8").rstrip("\n")
    trunc.write_text(text[: text.rfind(",", 0, len(text) - 5)] + "\n", encoding="utf-8")
    cases["truncated last line"] = (trunc, good_pop, ["trunc.csv", "rad"])
    p = pop.copy()
    p.loc[5, "population"] = "-3"
    cases["negative population"] = (
        SAMPLE_WAVE / "responses.csv",
        write("negpop.csv", p),
        ["negpop.csv", "population", "rad 7"],
    )
    cases["missing population cell"] = (
        SAMPLE_WAVE / "responses.csv",
        write("gap.csv", pop.drop(index=11)),
        ["gap.csv", "year", "district"],
    )
    return cases


BAD = [
    "unknown codes",
    "non-numeric weights",
    "unknown district",
    "duplicate ids",
    "missing column",
    "empty file",
    "header only",
    "truncated last line",
    "negative population",
    "missing population cell",
]


@pytest.mark.parametrize("case", BAD)
def test_bad_input_leaves_the_database_unchanged(tmp_path: Path, case: str) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    runner = CliRunner()
    ok = runner.invoke(
        app,
        [
            "ingest",
            str(SAMPLE_WAVE / "responses.csv"),
            "--population",
            str(SAMPLE_WAVE / "population.csv"),
            "--db",
            url,
        ],
    )
    assert ok.exit_code == 0, ok.output
    before = _table_counts(url)
    assert before["responses"] == 3022
    resp, pop, words = _bad_inputs(tmp_path)[case]
    res = runner.invoke(app, ["ingest", str(resp), "--population", str(pop), "--db", url])
    assert res.exit_code == 2, res.output
    text = " ".join(res.output.split())
    assert "Traceback" not in res.output
    for w in words:
        assert w in text, (w, text)
    assert _table_counts(url) == before


def test_wrong_encoding_override_is_a_clear_error_and_detection_works(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    path = _sample_as("cp1252-semicolon-comma", tmp_path)
    runner = CliRunner()
    bad = runner.invoke(
        app,
        ["ingest", str(path), "--population", str(SAMPLE_WAVE / "population.csv"), "--db", url, "--encoding", "utf-8"],
    )
    assert bad.exit_code == 2 and "svar.csv" in bad.output and "utf-8" in bad.output.lower()
    assert "Traceback" not in bad.output
    good = runner.invoke(app, ["ingest", str(path), "--population", str(SAMPLE_WAVE / "population.csv"), "--db", url])
    assert good.exit_code == 0, good.output
    assert "cp1252" in good.output and "';'" in good.output and "3022 godkända" in " ".join(good.output.split())


def test_a_run_leaves_the_sqlite_database_as_one_file(tmp_path: Path) -> None:
    """The console script exits without the garbage collector's last passes (``survey.cli.main``), yet the
    run's connections are closed: SQLite's write-ahead log is checkpointed into the database file and
    removed, so copying ``trygghet.db`` alone copies every committed run."""
    import sqlite3
    import subprocess

    db = tmp_path / "t.sqlite"
    exe = Path(sys.executable).with_name("trygghet")  # the console script: it exits without a last collection
    args = [
        "run",
        "--responses",
        str(SAMPLE_WAVE / "responses.csv"),
        "--population",
        str(SAMPLE_WAVE / "population.csv"),
    ]
    done = subprocess.run(
        [str(exe), *args, "--out", str(tmp_path / "out"), "--db", f"sqlite:///{db}", "--no-publish"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("t.sqlite")) == ["t.sqlite"]
    run_id = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))["run_id"]
    with sqlite3.connect(db) as conn:
        status = conn.execute("select status from runs where run_id = ?", (run_id,)).fetchone()
        n = conn.execute("select count(*) from weights where run_id = ?", (run_id,)).fetchone()
    assert (status, n) == (("succeeded",), (3022,))


def test_a_failing_report_marks_the_run_failed(tmp_path: Path, monkeypatch) -> None:
    """A publishing error reaches the user and the run is recorded as failed, never as succeeded."""
    from reports import publish
    from survey.data.store import Store

    def broken(*_a, **_k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(publish, "publish_report", broken)
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    with pytest.raises(RuntimeError, match="disk full"):
        run(SAMPLE_WAVE / "responses.csv", SAMPLE_WAVE / "population.csv", tmp_path / "out", db=url)
    runs = Store(url).runs()
    assert list(runs["status"]) == ["failed"]


def test_corrected_file_needs_replace_and_keeps_the_old_version(tmp_path: Path) -> None:
    """The load runs in a thread during weighting: its refusal still reaches the user, nothing is run."""
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    runner = CliRunner()
    args = ["--population", str(SAMPLE_WAVE / "population.csv"), "--db", url, "--no-publish"]
    first = runner.invoke(
        app, ["run", "--responses", str(SAMPLE_WAVE / "responses.csv"), "--out", str(tmp_path / "a"), *args]
    )
    assert first.exit_code == 0, first.output
    df = pd.read_csv(SAMPLE_WAVE / "responses.csv", dtype=str, keep_default_na=False)
    df.loc[0, "q_worry_crime"] = "4" if df.loc[0, "q_worry_crime"] != "4" else "3"
    fixed = tmp_path / "responses_rättad.csv"
    df.to_csv(fixed, index=False)
    refused = runner.invoke(app, ["run", "--responses", str(fixed), "--out", str(tmp_path / "b"), *args])
    assert refused.exit_code == 2
    assert "--replace" in " ".join(refused.output.split()) and "Traceback" not in refused.output
    assert not (tmp_path / "b" / "estimates.csv").exists()
    replaced = runner.invoke(app, ["run", "--responses", str(fixed), "--out", str(tmp_path / "c"), "--replace", *args])
    assert replaced.exit_code == 0, replaced.output
    lineage = json.loads((tmp_path / "c" / "run.json").read_text(encoding="utf-8"))
    assert lineage["database"]["load"] == "replaced"
    eng = sa.create_engine(url)
    with eng.connect() as c:
        assert c.execute(sa.text("select count(*) from source_files where kind = 'responses'")).scalar_one() == 2
        assert c.execute(sa.text("select count(*) from runs")).scalar_one() == 2
    eng.dispose()


@pytest.mark.rlive
def test_one_year_wave_with_empty_domains_against_the_live_oracle(tmp_path: Path) -> None:
    """Edge cases on a wave nobody has seen: one year (no estimable year term), a district where an indicator
    is 0 for everyone (p = 0: se 0, CI [0, 0]), an item blank in a whole district (n = 0) and design_weight
    blank everywhere (N_h / n_h). Estimates equal R's; the trend rows are the exact maximum likelihood
    (saturated in district: intercept = logit of the reference district's share), where R's svyglm with the
    aliased year column stops ~1e-5 short, and the rows are the ones R writes."""
    import subprocess

    from survey.data.synth import generate_wave, write_wave

    require_r()
    r, p = generate_wave(2500, 4, 1, 11)
    d0, d1 = sorted(r["district"].unique())[:2]
    in0 = r["district"] == d0
    r.loc[in0, "q_victim_violence"] = np.where(r.loc[in0, "q_victim_violence"].isna(), pd.NA, 2)
    r.loc[r["district"] == d1, "q_police_care"] = pd.NA
    r["design_weight"] = np.nan
    resp, pop = write_wave(r, p, tmp_path)
    oracle = tmp_path / "expected"
    subprocess.run(
        ["Rscript", str(SAMPLE_WAVE.parents[1] / "conformance" / "reference.R"), str(resp), str(pop), str(oracle)],
        check=True,
        capture_output=True,
    )
    run(resp, pop, tmp_path / "out", db=f"sqlite:///{tmp_path / 'db.sqlite'}", publish=False)
    a, b = pd.read_csv(tmp_path / "out" / "estimates.csv"), pd.read_csv(oracle / "estimates.csv")
    m = a.merge(b, on=["year", "district", "indicator"], suffixes=("", "_r"), validate="one_to_one")
    assert len(m) == len(a) == len(b)
    for c in ("estimate", "se", "ci_low", "ci_high"):
        assert (m[c].isna() == m[c + "_r"].isna()).all()
        both = m[c].notna()
        assert np.max(np.abs(m.loc[both, c] - m.loc[both, c + "_r"])) < 1e-12
    zero = m[(m["district"] == d0) & (m["indicator"] == "victim_violence")].iloc[0]
    assert (zero["estimate"], zero["se"], zero["ci_low"], zero["ci_high"]) == (0, 0, 0, 0)
    empty = m[(m["district"] == d1) & (m["indicator"] == "police_care")].iloc[0]
    assert empty["n"] == 0 and bool(empty["suppressed"]) and np.isnan(empty["estimate"])
    ta, tb = pd.read_csv(tmp_path / "out" / "trend.csv"), pd.read_csv(oracle / "trend.csv")
    ours = ta[ta["indicator"] == "unsafe_after_dark"].set_index("term")
    theirs = tb[tb["indicator"] == "unsafe_after_dark"].set_index("term")
    assert (
        list(ours.index)
        == list(theirs.index)
        == ["(Intercept)"] + [f"district[{d}]" for d in sorted(r["district"].unique())[1:]]
    )
    share = m[(m["district"] == d0) & (m["indicator"] == "unsafe_after_dark")]["estimate"].iloc[0]
    assert ours.loc["(Intercept)", "estimate"] == pytest.approx(np.log(share / (1 - share)), rel=1e-10)
    np.testing.assert_allclose(ours["estimate"], theirs["estimate"], rtol=2e-5)
    np.testing.assert_allclose(ours["se"], theirs["se"], rtol=2e-5)


@pytest.fixture(scope="module")
def awkward_wave(tmp_path_factory) -> tuple[pd.DataFrame, Path, Path]:
    """A wave nobody has seen, with the oracle's outputs: a district only in some years, a district name with
    a comma and quotes, vendor design weights that vary within strata."""
    import subprocess

    from survey.data.synth import generate_wave, write_wave

    require_r()
    folder = tmp_path_factory.mktemp("awkward")
    r, p = generate_wave(4000, 5, 3, 23)
    ds = sorted(r["district"].unique())
    name = 'Sundbyberg, "centrum"'
    r.loc[r["district"] == ds[2], "district"] = name
    p.loc[p["district"] == ds[2], "district"] = name
    last = r["year"].max()
    r = r[~((r["district"] == ds[3]) & (r["year"] == last))].reset_index(drop=True)
    p = p[~((p["district"] == ds[3]) & (p["year"] == last))].reset_index(drop=True)
    rng = np.random.default_rng(3)
    r["design_weight"] = (r["design_weight"] * rng.uniform(0.7, 1.3, len(r))).round(6)
    resp, pop = write_wave(r, p, folder)
    subprocess.run(
        [
            "Rscript",
            str(SAMPLE_WAVE.parents[1] / "conformance" / "reference.R"),
            str(resp),
            str(pop),
            str(folder / "expected"),
        ],
        check=True,
        capture_output=True,
    )
    return pd.read_csv(resp, dtype=str, keep_default_na=False), pop, folder / "expected"


@pytest.mark.rlive
@pytest.mark.parametrize("fmt", ["csv-semicolon-bom", "xlsx", "sav", "parquet"])
def test_awkward_wave_in_every_format_matches_the_live_oracle(tmp_path: Path, awkward_wave, fmt: str) -> None:
    text, pop, expected = awkward_wave
    path = _write_as(text, fmt, tmp_path)
    run(path, pop, tmp_path / "out", db=f"sqlite:///{tmp_path / 'db.sqlite'}", publish=False)
    diffs = compare_with_oracle(tmp_path / "out", expected)
    assert max(diffs[c] for c in ("estimate", "se", "ci_low", "ci_high")) < 1e-12, diffs
    assert diffs["weight"] < 1e-12, diffs
