"""Helpers shared by the statistical-core tests: shared/ paths, canonical CSV reading, the live R oracle.

Imported by tests/test_{conformance,calibration,variance,estimation}.py (they put this folder on
``sys.path``). Live R runs are cached per (script, arguments, input contents) in the system temp folder,
so the two xdist workers and repeated runs do not call R twice for the same thing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

HERE = Path(__file__).resolve().parent
SHARED = Path(__file__).resolve().parents[3] / "shared"
SAMPLE_WAVE = SHARED / "data" / "sample-wave"
API = SHARED / "data" / "api"
REFERENCE_R = SHARED / "conformance" / "reference.R"


def read_responses(path: Path | str, sep: str = ",") -> pd.DataFrame:
    """Canonical responses CSV as the pipeline expects them (until survey.data.ingest is finished)."""
    r = pd.read_csv(path, sep=sep, dtype={"resp_id": str}, keep_default_na=False, na_values=[""])
    for c in r.columns:
        if c.startswith("q_"):
            r[c] = r[c].astype("Int64")
    if "design_weight" in r:
        r["design_weight"] = r["design_weight"].astype(float)
    return r


def read_population(path: Path | str, sep: str = ",") -> pd.DataFrame:
    return pd.read_csv(path, sep=sep)


@lru_cache(maxsize=1)
def r_available() -> bool:
    if shutil.which("Rscript") is None:
        return False
    try:
        res = subprocess.run(
            ["Rscript", "-e", "suppressMessages(library(survey)); library(jsonlite)"], capture_output=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return res.returncode == 0


def require_r() -> None:
    """Skip without R + survey; but on CI (env CI set) with Rscript present, a broken R is a failure."""
    if r_available():
        return
    if os.environ.get("CI") and shutil.which("Rscript"):
        pytest.fail("CI is set and Rscript exists, but `library(survey)` / `library(jsonlite)` fails")
    pytest.skip("Rscript with the survey package is not available")


def _digest(paths: list[Path], args: list[str]) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(Path(p).read_bytes())
    h.update("\0".join(args).encode())
    return h.hexdigest()[:24]


def run_r(
    script: Path, args: list, hash_files: list[Path], *, out_name: str = "out.json", timeout: float = 300
) -> Path:
    """Run ``Rscript script *args OUT`` (OUT a file or folder named out_name), cached on the contents of
    the script and ``hash_files``; returns OUT."""
    require_r()
    args = [str(a) for a in args]
    key = _digest([script] + list(hash_files), [str(script.name)] + [Path(a).name for a in args] + [out_name])
    cache = Path(tempfile.gettempdir()) / "trygghet-rlive-cache"
    cache.mkdir(exist_ok=True)
    final = cache / f"{key}-{out_name}"
    if final.exists():
        return final
    work = Path(tempfile.mkdtemp(dir=cache))
    out = work / out_name
    cmd = ["Rscript", str(script), *args, str(out)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if res.returncode != 0 or not out.exists():
        raise AssertionError(f"R failed ({' '.join(cmd)}):\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}")
    try:
        os.replace(out, final)
    except OSError:  # another worker won the race
        pass
    return final


def load_json(path: Path) -> dict:
    return json.loads(Path(path).read_text())


def api_reference() -> dict:
    """Live R results of tests/r/api_checks.R on shared/data/api."""
    out = run_r(
        HERE / "api_checks.R",
        [API],
        [API / "apiclus1.csv", API / "apistrat.csv", API / "apipop.csv"],
        out_name="api.json",
    )
    return load_json(out)


def rel_err(a, b, floor: float = 0.0) -> float:
    """max |a - b| / max(|b|, floor) (relative error; |a - b| where b == 0 and floor == 0); NaN patterns
    must agree. ``floor`` turns the comparison absolute for reference values near 0 (e.g. an SE that is
    0 up to rounding: R 2.2e-17, ours 0)."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    assert a.shape == b.shape, (a.shape, b.shape)
    na, nb = np.isnan(a), np.isnan(b)
    assert np.array_equal(na, nb), f"NaN patterns differ at {np.flatnonzero(na != nb)[:5]}"
    a, b = a[~na], b[~nb]
    if a.size == 0:
        return 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        den = np.maximum(np.abs(b), floor)
        r = np.where(den > 0, np.abs(a - b) / np.where(den > 0, den, 1), np.abs(a - b))
    return float(r.max())
