"""Measuring one process tree, describing the machine, synthetic waves on disk and the growth exponent.

* :func:`run_measured` runs a command and samples, every 50 ms with psutil, the resident memory of the whole
  process tree (the process and all its descendants, summed); ``peak_mb`` is the largest such sum (or the
  main process's own ``ru_maxrss`` when that is larger: a short-lived peak between two samples).
* :func:`machine` — cores, memory, CPU model and the load average (other work on the machine inflates every
  wall time: each figure is recorded with the load beside it).
* :func:`ensure_wave` — a synthetic wave (``survey.data.synth``) written once per size and seed into a data
  folder outside the checkout (default ``$TMPDIR/trygghet-bench``), in a child process so that the
  harness itself stays small.
* :func:`fit_exponent` — ``b`` of ``time ≈ a n^b``: least squares on ``log t = log a + b log n``.
* :func:`checkout` — which code is measured: the commit and the files that differ from it (a bench runs the
  checkout as it is on disk, so an edit during the bench would mix two versions of the code).
"""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DEFAULT_DATA = Path(os.environ.get("TRYGGHET_BENCH_DATA", Path(tempfile.gettempdir()) / "trygghet-bench"))


def _tree_rss(proc: Any) -> int:
    """Resident bytes of ``proc`` and all its descendants (0 for processes that are gone)."""
    import psutil

    total = 0
    try:
        members = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for p in members:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def run_measured(cmd: list[str], timeout: float, cwd: Path = ROOT, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``cmd``: exit code, wall seconds, peak resident memory of its process tree (MB), the load average
    before and after, and the last 3,000 characters of its output."""
    import psutil

    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=full_env)
    chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: chunks.append(proc.stdout.read() if proc.stdout else b""), daemon=True)
    reader.start()
    ps = psutil.Process(proc.pid)
    peak, killed = 0, False
    while True:
        pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        peak = max(peak, _tree_rss(ps))
        if time.perf_counter() - t0 > timeout:
            for child in ps.children(recursive=True):
                child.kill()
            proc.kill()
            _, status, rusage = os.wait4(proc.pid, 0)
            killed = True
            break
        time.sleep(0.05)
    wall = time.perf_counter() - t0
    reader.join(5)
    peak_mb = max(peak / 2**20, rusage.ru_maxrss / 1024)
    output = b"".join(chunks).decode("utf-8", "replace")[-3000:]
    return {
        "code": -9 if killed else os.waitstatus_to_exitcode(status),
        "wall": wall,
        "peak_mb": peak_mb,
        "load_before": round(load_before, 2),
        "load_after": round(os.getloadavg()[0], 2),
        "output": f"killed after {timeout:.0f} s" if killed else output,
    }


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    import psutil

    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), model)
    except OSError:
        pass
    return {
        "cpu_model": model,
        "cores_logical": os.cpu_count(),
        "cores_physical": psutil.cpu_count(logical=False),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def ensure_wave(
    n: int, districts: int, years: int, seed: int, data_dir: Path = DEFAULT_DATA, first_year: int = 2022
) -> tuple[Path, Path]:
    """``responses.csv`` and ``population.csv`` of the wave (generated in a child process when not yet on disk)."""
    year = "" if first_year == 2022 else f"-from{first_year}"
    folder = Path(data_dir) / f"wave-n{n}-d{districts}-y{years}-s{seed}{year}"
    resp, pop = folder / "responses.csv", folder / "population.csv"
    if not (resp.exists() and pop.exists() and (folder / "complete").exists()):
        code = (
            "import sys; from survey.data.synth import generate_wave, write_wave; a = [int(x) for x in sys.argv[1:6]]; "
            "r, p = generate_wave(*a[:4], first_year=a[4]); write_wave(r, p, sys.argv[6])"
        )
        subprocess.run(
            [sys.executable, "-c", code, str(n), str(districts), str(years), str(seed), str(first_year), str(folder)],
            check=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        (folder / "complete").write_text("ok\n", encoding="utf-8")
    return resp, pop


def fit_exponent(sizes: Sequence[float], seconds: Sequence[float]) -> dict[str, float] | None:
    """``time ≈ a n^b`` by least squares on the log-log points; ``b``, ``a`` and the largest residual
    (log scale). None with fewer than two usable points."""
    pts = [(float(n), float(t)) for n, t in zip(sizes, seconds) if n > 0 and t and t > 0]
    if len(pts) < 2:
        return None
    x = np.log([p[0] for p in pts])
    y = np.log([p[1] for p in pts])
    b, log_a = np.polyfit(x, y, 1)
    resid = y - (log_a + b * x)
    return {
        "b": float(b),
        "a": float(np.exp(log_a)),
        "max_abs_log_residual": float(np.max(np.abs(resid))),
        "points": len(pts),
    }


def checkout(root: Path = ROOT) -> dict[str, Any]:
    """The code the bench measures: ``commit`` (short hash, "" outside git), ``changed`` (files that differ
    from it, as ``git status --porcelain`` names them; the bench's own results left out) and ``fingerprint``
    (a hash of those files' state, so that an edit made while the bench runs shows: compare two calls)."""

    def git(*args: str) -> str:
        try:
            out = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=30, check=False)
        except (OSError, subprocess.SubprocessError):
            return ""
        return out.stdout if out.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD").strip()
    changed = sorted(
        line[3:]
        for line in git("status", "--porcelain", "--untracked-files=all").splitlines()
        if line[3:] and not line[3:].startswith("bench/results/")
    )
    digest = hashlib.sha256(commit.encode())
    for name in changed:
        path = root / name.split(" -> ")[-1]
        digest.update(name.encode())
        digest.update(path.read_bytes() if path.is_file() else b"-")
    return {"commit": commit, "changed": changed, "fingerprint": digest.hexdigest()[:16]}
