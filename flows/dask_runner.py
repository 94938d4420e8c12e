"""Dask for the heavy statistics, through prefect-dask's ``DaskTaskRunner``, chosen by a setting.

``TRYGGHET_TASK_RUNNER=dask`` (where the flow runs: the worker's environment) sends

- the annual report's surveys × years to Dask workers (``flows.annual_report``, one task per survey and
  year), and
- the replicate variance of a run (``--variance bootstrap:R`` or ``jackknife``) in one block per worker
  (``TRYGGHET_DASK_WORKERS``, default 2: bootstrap:500 in two blocks of 250), or in blocks of
  ``TRYGGHET_REPLICATE_BLOCK`` replicates when that is set (every block costs its worker a fixed start-up:
  at 1M on two one-thread workers, four blocks of 125 took about 1 s longer than two of 250): each block is
  :func:`survey.replicate_estimation.replicate_block`, a pure function, run as a Prefect task on a Dask
  worker; the shared inputs (the replicate scheme, the calibration model and the atom layout or the indicator
  matrices) are scattered to every worker once, and a block is sent as its replicate range only.

The cluster: the scheduler at ``TRYGGHET_DASK_ADDRESS``, or a local cluster of ``TRYGGHET_DASK_WORKERS``
(default 2) one-thread workers, processes unless ``TRYGGHET_DASK_PROCESSES=false``. Each block makes its own
bootstrap draws, from a generator per replicate (``survey.replicate_weights.BootstrapDraws``), so the numbers
are those of the default runner, bit for bit, whatever runs the blocks and however they are cut.
Without the setting (or ``TRYGGHET_TASK_RUNNER=default``) everything runs in the flow's own process.
"""

from __future__ import annotations

import inspect
import os
from typing import TYPE_CHECKING, Any

from survey.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Callable

RUNNER_ENV = "TRYGGHET_TASK_RUNNER"
BLOCK_ENV = "TRYGGHET_REPLICATE_BLOCK"
WORKERS_ENV = "TRYGGHET_DASK_WORKERS"
DEFAULT_WORKERS = 2
# Connecting to the scheduler and a worker's start on a busy machine take longer than Dask's 30 s default.
DASK_TIMEOUTS = {"distributed.comm.timeouts.connect": "300s", "distributed.comm.timeouts.tcp": "300s"}
# A local cluster's workers keep freed memory for reuse instead of faulting it in again on every allocation
# (Dask's nanny sets a trim threshold of 64 kB; setting any malloc threshold also switches off glibc's own
# adjustment of the mmap threshold, which a plain process gets): arrays up to 64 MB come from the heap and up to
# 128 MB stay free at its top. The bootstrap draws allocate two 80 kB arrays per stratum and replicate and a block
# allocates and frees arrays of a few MB per replicate; with mmap for everything above 128 kB a block's worker
# had 3× the page faults of this setting and 10-20 % more CPU (measured at 1M, bootstrap:500, two workers).
LOCAL_WORKERS = {
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": 1 << 27,
    "distributed.nanny.pre-spawn-environ.MALLOC_MMAP_THRESHOLD_": 1 << 26,
}


def runner_setting() -> str:
    """``dask`` or ``default``, from ``$TRYGGHET_TASK_RUNNER`` (ConfigError naming the variable otherwise)."""
    value = os.environ.get(RUNNER_ENV, "").strip().lower() or "default"
    if value not in ("dask", "default"):
        raise ConfigError(
            f"Miljövariabeln {RUNNER_ENV} har värdet {value!r}; tillåtna värden: dask, default.", option=RUNNER_ENV
        )
    return value


def block_size() -> int | None:
    """Replicates per block, from ``$TRYGGHET_REPLICATE_BLOCK`` (None when unset: one block per worker)."""
    raw = os.environ.get(BLOCK_ENV, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(
            f"Miljövariabeln {BLOCK_ENV} ska vara ett heltal ≥ 1 (replikat per block), inte {raw!r}.", option=BLOCK_ENV
        )
    return int(raw)


def worker_count() -> int:
    """Workers of the local cluster and the blocks the replicates are cut into, from ``$TRYGGHET_DASK_WORKERS``
    (default 2; for a scheduler at ``TRYGGHET_DASK_ADDRESS`` set it to that cluster's worker count)."""
    raw = os.environ.get(WORKERS_ENV, "").strip()
    if not raw:
        return DEFAULT_WORKERS
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(
            f"Miljövariabeln {WORKERS_ENV} ska vara ett heltal ≥ 1 (antal Dask-arbetare), inte {raw!r}.",
            option=WORKERS_ENV,
        )
    return int(raw)


def dask_task_runner() -> Any:
    """prefect-dask's ``DaskTaskRunner`` on the cluster of the module docstring (patient timeouts)."""
    import dask
    from prefect_dask.task_runners import DaskTaskRunner

    dask.config.set(DASK_TIMEOUTS)
    address = os.environ.get("TRYGGHET_DASK_ADDRESS")
    if address:
        return DaskTaskRunner(address=address)
    dask.config.set(LOCAL_WORKERS)
    processes = os.environ.get("TRYGGHET_DASK_PROCESSES", "true").strip().lower() not in ("0", "false", "no")
    return DaskTaskRunner(
        cluster_kwargs={
            "n_workers": worker_count(),
            "threads_per_worker": 1,
            "processes": processes,
            "dashboard_address": None,
        }
    )


def dask_blocks(fn: Callable[[Any, Any], Any], inputs: Any, parts: list[Any]) -> list[Any]:
    """A :data:`survey.replicate_estimation.BlockMap` on Dask: ``inputs`` scattered to every worker once,
    each part a ``replicate-block`` task of ``fn`` on the ``DaskTaskRunner``; the results in part order."""
    from prefect import task
    from prefect.cache_policies import NO_CACHE

    names = list(inspect.signature(fn).parameters)[:2]
    # no timeout_seconds: Prefect runs a task with one in a thread of its own, warns through the API on every
    # block that it cannot interrupt it, and the flow's own timeout bounds the run anyway
    block_task = task(name="replicate-block", cache_policy=NO_CACHE)(fn)
    with dask_task_runner() as runner:
        shared = runner.client.scatter(inputs, broadcast=True)
        futures = [runner.submit(block_task, {names[0]: shared, names[1]: part}) for part in parts]
        return [f.result() for f in futures]


def replicate_runner() -> Any:
    """The :class:`survey.replicate_estimation.BlockRunner` the setting asks for: Dask blocks, or None
    (the default: one block in this process)."""
    if runner_setting() != "dask":
        return None
    from survey.pipeline.stepwise import replicate_blocks

    return replicate_blocks(block_size(), dask_blocks, n_blocks=worker_count())
