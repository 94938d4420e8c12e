"""The statistics of a run on their own: ``python -m bench.statistics RESPONSES.csv POPULATION.csv OUT.json``.

Reads and validates the wave (``survey.data.ingest.load_wave``, not timed), imports every module the steps
need, then times weight, estimate (all indicators, comparisons, groups, the index) and trend (the trend
models of every indicator) as ``trygghet run`` calls them, without the database load that runs beside
them in a ``trygghet run`` (a thread of the same process: it competes for the two cores and the GIL) and
without import time. ``trend`` is the trend step fed with the estimation step's atom sums, as in a run;
``trend_rows`` the stepwise flow's trend step, which builds its atoms from the rows.
Wall and CPU seconds per step, and the load average, go to OUT.json.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3:
        print("usage: python -m bench.statistics RESPONSES.csv POPULATION.csv OUT.json", file=sys.stderr)
        return 2
    from survey.data.codebook import load_codebook
    from survey.data.ingest import load_wave
    from survey.models import trend_outputs
    from survey.pipeline.steps import EstimationOptions, WeightingOptions, estimate, weight

    codebook = load_codebook()
    wave = load_wave(args[0], args[1], codebook)
    data, pop = wave.responses.data, wave.population.data
    out: dict[str, Any] = {"n": len(data), "load_before": round(os.getloadavg()[0], 2), "wall": {}, "cpu": {}}

    def timed(name: str, fn: Any) -> Any:
        t0, c0 = time.perf_counter(), time.process_time()
        res = fn()
        out["wall"][name] = time.perf_counter() - t0
        out["cpu"][name] = time.process_time() - c0
        return res

    w = timed("weight", lambda: weight(data, pop, WeightingOptions()))
    e = timed("estimate", lambda: estimate(data, w, codebook, EstimationOptions()))
    # as ``trygghet run`` does: the trend step fed with the estimation step's atom sums
    timed(
        "trend",
        lambda: trend_outputs(w.design, data, codebook.indicators, series_breaks=codebook.series_breaks, atoms=e.atoms),
    )
    # the stepwise ``trend`` flow, which has no estimation atoms: it builds them from the rows
    timed(
        "trend_rows",
        lambda: trend_outputs(w.design, data, codebook.indicators, series_breaks=codebook.series_breaks),
    )
    for key in ("wall", "cpu"):
        out[key]["statistics"] = sum(out[key][s] for s in ("weight", "estimate", "trend"))
    out["load_after"] = round(os.getloadavg()[0], 2)
    Path(args[2]).write_text(json.dumps(out, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
