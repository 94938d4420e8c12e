"""One ``make demo``-style run (the Makefile's synth and run commands, into a temporary directory), shared by
the disclosure tests that read its outputs (tests/test_report_scan.py, tests/test_report_backsolve.py)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

# the Makefile's demo: trygghet synth --n 12000 --districts 8 --years 4 --seed 2026 --tiny-district
SYNTH = ["--n", "12000", "--districts", "8", "--years", "4", "--seed", "2026", "--tiny-district"]
TINY = "Väsby centrum"
_CACHE: dict[str, DemoRun] = {}


@dataclass(frozen=True)
class DemoRun:
    """The run's directories, database URL and the frames the report was published from."""

    input: Path
    out: Path
    db_url: str
    estimates: pd.DataFrame  # district rows and by-group rows, as the pipeline publishes them
    comparisons: pd.DataFrame
    responses: pd.DataFrame
    population: pd.DataFrame

    @property
    def report(self) -> Path:
        return self.out / "report"

    @property
    def latest(self) -> int:
        return int(self.estimates["year"].max())


def demo_run(tmp_path_factory) -> DemoRun:
    """The demo run (built once per test process)."""
    if "demo" in _CACHE:
        return _CACHE["demo"]
    d = tmp_path_factory.mktemp("demo")
    exe = str(Path(sys.executable).with_name("trygghet"))
    subprocess.run([exe, "synth", *SYNTH, "--out", str(d / "input")], check=True, capture_output=True)
    db_url = f"sqlite:///{d / 'out' / 'trygghet.db'}"
    (d / "out").mkdir()
    run = [exe, "run", "--responses", str(d / "input" / "responses.csv")]
    run += ["--population", str(d / "input" / "population.csv"), "--out", str(d / "out"), "--db", db_url]
    run += ["--district-trends"]  # as the Makefile's demo
    subprocess.run(run, check=True, capture_output=True, timeout=900)
    full = pd.read_csv(d / "out" / "estimates_full.csv")
    by_group = pd.read_csv(d / "out" / "estimates_by_group.csv", dtype={"group": str})
    est = pd.concat([full.assign(domain="district", group=None), by_group], ignore_index=True)
    _CACHE["demo"] = DemoRun(
        input=d / "input",
        out=d / "out",
        db_url=db_url,
        estimates=est,
        comparisons=pd.read_csv(d / "out" / "comparisons.csv"),
        responses=pd.read_csv(d / "input" / "responses.csv", dtype=str, keep_default_na=False),
        population=pd.read_csv(d / "input" / "population.csv"),
    )
    return _CACHE["demo"]
