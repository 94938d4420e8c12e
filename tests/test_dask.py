"""Replicate variance in blocks, and on Dask (``TRYGGHET_TASK_RUNNER=dask``: prefect-dask's DaskTaskRunner on a
local two-worker cluster of processes) with the numbers of the default runner.

Independent numbers: one SE recomputed by hand from the exported replicate weights (``V = scale sum_r
(theta_r - mean theta)^2``, Rao–Wu scale ``1 / (R - 1)``); the flow on Dask against ``trygghet run`` (the CLI,
one block in its own process) byte for byte. The replicate SEs themselves are checked against R elsewhere
(tests/test_replication.py, tests/test_robust_replication.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent / "r"))
from oracle import SAMPLE_WAVE, read_population, read_responses

from survey.cli import app
from survey.data.codebook import load_codebook
from survey.estimation import indicator_matrices
from survey.pipeline.config import build_config
from survey.pipeline.steps import prepare, weight
from survey.replicate_estimation import BlockRunner, export_replicate_weights, replicate_share_tables

R = 40


@pytest.fixture(scope="module")
def wave():
    r = prepare(read_responses(SAMPLE_WAVE / "responses.csv"))
    p = read_population(SAMPLE_WAVE / "population.csv")
    return r, weight(r, p), load_codebook()


def test_replicates_in_blocks_are_the_replicates_of_one_block(wave) -> None:
    r, w, cb = wave
    one = replicate_share_tables(w.design, r, cb.indicators, method="bootstrap", replicates=R, seed=2026)
    cut = replicate_share_tables(
        w.design, r, cb.indicators, method="bootstrap", replicates=R, seed=2026, blocks=BlockRunner(block_size=7)
    )
    pd.testing.assert_frame_equal(one.tables.estimates, cut.tables.estimates, check_exact=True)
    np.testing.assert_array_equal(one.tables.cov_district_total, cut.tables.cov_district_total)
    np.testing.assert_array_equal(one.replicates.cell_g, cut.replicates.cell_g)
    assert (one.replicates.iterations, one.replicates.collapsed) == (
        cut.replicates.iterations,
        cut.replicates.collapsed,
    )
    assert cut.replicates.n_replicates == R
    # by hand from the exported (re-calibrated) replicate weights: the Totalt of the last year, first indicator
    weights, meta = export_replicate_weights(cut.replicates, r[["resp_id", "year"]])
    y, base = indicator_matrices(r, cb.indicators[:1])
    year = int(r["year"].max())
    rows = (r["year"] == year).to_numpy()
    yy, bb = (y[:, 0] * base[:, 0])[rows], base[:, 0][rows]
    reps = weights[[f"rep{k + 1}" for k in range(R)]].to_numpy()[rows]
    theta = (reps * yy[:, None]).sum(axis=0) / (reps * bb[:, None]).sum(axis=0)
    se = np.sqrt(np.sum((theta - theta.mean()) ** 2) / (R - 1))
    assert meta["scale"] == pytest.approx(1 / (R - 1), rel=1e-15)
    e = cut.tables.estimates
    got = e[(e["year"] == year) & (e["district"] == "Totalt") & (e["indicator"] == cb.indicators[0].name)]
    assert float(got["se"].iloc[0]) == pytest.approx(se, rel=1e-10)


def test_replicates_cut_into_equal_blocks_per_worker(wave) -> None:
    """``n_blocks`` cuts R replicates into blocks of ceil(R / n_blocks); ``block_size`` wins over it; the
    numbers are those of one block, bit for bit."""
    from survey.replicate_estimation import ReplicateRange, replicate_ranges

    assert replicate_ranges(500, n_blocks=2) == [ReplicateRange(0, 250), ReplicateRange(250, 500)]
    assert replicate_ranges(10, n_blocks=3) == [ReplicateRange(0, 4), ReplicateRange(4, 8), ReplicateRange(8, 10)]
    assert replicate_ranges(3, n_blocks=8) == [ReplicateRange(0, 1), ReplicateRange(1, 2), ReplicateRange(2, 3)]
    assert replicate_ranges(10, block_size=4, n_blocks=2) == [
        ReplicateRange(0, 4),
        ReplicateRange(4, 8),
        ReplicateRange(8, 10),
    ]
    assert replicate_ranges(10) == [ReplicateRange(0, 10)]
    r, w, cb = wave
    seen: list[list[ReplicateRange]] = []

    def record(fn, inputs, parts):
        seen.append(list(parts))
        return [fn(inputs, p) for p in parts]

    one = replicate_share_tables(w.design, r, cb.indicators, method="bootstrap", replicates=R, seed=2026)
    cut = replicate_share_tables(
        w.design,
        r,
        cb.indicators,
        method="bootstrap",
        replicates=R,
        seed=2026,
        blocks=BlockRunner(map=record, n_blocks=3),
    )
    assert seen == [[ReplicateRange(0, 14), ReplicateRange(14, 28), ReplicateRange(28, 40)]]
    pd.testing.assert_frame_equal(one.tables.estimates, cut.tables.estimates, check_exact=True)


def test_dask_settings_are_checked(monkeypatch) -> None:
    """The flows cut the replicates into one block per worker unless a block size is set; bad values are a
    ConfigError naming the variable."""
    from flows.dask_runner import block_size, replicate_runner, worker_count
    from survey.errors import ConfigError

    monkeypatch.delenv("TRYGGHET_REPLICATE_BLOCK", raising=False)
    monkeypatch.delenv("TRYGGHET_DASK_WORKERS", raising=False)
    monkeypatch.setenv("TRYGGHET_TASK_RUNNER", "dask")
    assert (block_size(), worker_count()) == (None, 2)
    runner = replicate_runner()
    assert (runner.block_size, runner.n_blocks) == (None, 2)
    monkeypatch.setenv("TRYGGHET_DASK_WORKERS", "4")
    monkeypatch.setenv("TRYGGHET_REPLICATE_BLOCK", "50")
    runner = replicate_runner()
    assert (runner.block_size, runner.n_blocks) == (50, 4)
    for value in ("0", "två", "-1"):
        monkeypatch.setenv("TRYGGHET_DASK_WORKERS", value)
        with pytest.raises(ConfigError, match="TRYGGHET_DASK_WORKERS"):
            worker_count()
    monkeypatch.setenv("TRYGGHET_TASK_RUNNER", "default")
    assert replicate_runner() is None


@pytest.fixture
def two_workers():
    """A local Dask cluster of two one-thread worker processes (patient start: a busy machine)."""
    dask = pytest.importorskip("dask")
    distributed = pytest.importorskip("distributed")
    with dask.config.set({"distributed.comm.timeouts.connect": "300s", "distributed.comm.timeouts.tcp": "300s"}):
        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
        )
        try:
            with distributed.Client(cluster) as client:
                client.wait_for_workers(2, timeout=300)
                yield cluster
        finally:
            cluster.close(timeout=120)


@pytest.mark.slow
def test_flow_on_a_two_worker_dask_cluster_gives_the_default_runners_numbers(
    tmp_path: Path, prefect_api, two_workers, monkeypatch
) -> None:
    """trygghet_run with TRYGGHET_TASK_RUNNER=dask sends the bootstrap in blocks of 15 (3 blocks) to the
    cluster; its estimates.csv is byte for byte that of ``trygghet run`` (the default runner)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterName

    from flows.run_wave import trygghet_run

    opts = {"min_n": 25, "variance": f"bootstrap:{R}", "replicate_seed": 7, "publish": False}
    cli_out = tmp_path / "cli"
    flags = {
        "responses": SAMPLE_WAVE / "responses.csv",
        "population": SAMPLE_WAVE / "population.csv",
        "out": cli_out,
        "db": f"sqlite:///{tmp_path / 'cli.sqlite'}",
        "min-n": 25,
        "variance": f"bootstrap:{R}",
        "replicate-seed": 7,
    }
    res = CliRunner().invoke(app, ["run", *(x for k, v in flags.items() for x in (f"--{k}", str(v))), "--no-publish"])
    assert res.exit_code == 0, res.output
    monkeypatch.setenv("TRYGGHET_TASK_RUNNER", "dask")
    monkeypatch.setenv("TRYGGHET_DASK_ADDRESS", two_workers.scheduler_address)
    monkeypatch.setenv("TRYGGHET_REPLICATE_BLOCK", "15")
    config = build_config(
        None,
        {
            "responses": SAMPLE_WAVE / "responses.csv",
            "population": SAMPLE_WAVE / "population.csv",
            "out": tmp_path / "dask",
            "db": f"sqlite:///{tmp_path / 'dask.sqlite'}",
            **opts,
        },
    )
    trygghet_run(config)
    ours = (tmp_path / "dask" / "estimates.csv").read_bytes()
    assert ours == (cli_out / "estimates.csv").read_bytes()
    est = pd.read_csv(tmp_path / "dask" / "estimates.csv")
    assert np.isfinite(est.loc[est["n"] >= 25, "se"]).all()
    with get_client(sync_client=True) as client:
        blocks = client.read_task_runs(task_run_filter=TaskRunFilter(name=TaskRunFilterName(like_="replicate-block")))
    assert len(blocks) == 3 and all(b.state is not None and b.state.is_completed() for b in blocks)
