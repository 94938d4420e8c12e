"""bench/dask_replicates.py's report line (the measurement itself runs in ``make bench``, never in tests)."""

from __future__ import annotations

from bench.dask_replicates import lines


def test_the_dask_figure_names_both_runners_and_whether_the_numbers_agree() -> None:
    res = {
        "status": "ok",
        "n": 200_000,
        "replicates": 500,
        "block": 50,
        "wall": {"default": 30.0, "dask": 60.0, "start": 4.0},
        "identical": True,
        "load_before": 5.1,
        "load_after": 8.4,
        "peak_mb": 3306.0,
    }
    (line,) = lines(res)  # the figures of an older run (no blocks, CPU or path): still one sentence
    assert "200,000 respondents: default runner 30.0 s, two-worker local cluster 60.0 s in blocks of 50" in line
    assert "speed-up 0.50×, SEs identical" in line
    res["path"] = "atoms"
    res["wall"].update(blocks=24.0, dask_blocks=12.5, warm=2.5)
    res["cpu"] = {"default": 29.0, "dask": 6.0, "dask_workers": 25.0}
    (line,) = lines(res)
    assert (
        "200,000 respondents, atoms path: default runner 30.0 s (29.0 s CPU; blocks 24.0 s), two-worker local "
        "cluster 60.0 s (25.0 s CPU in the workers; blocks 12.5 s) in blocks of 50 (cluster start 4.0 s and imports "
        "2.5 s apart), "
        "speed-up 0.50×, blocks ÷1.92, SEs identical (load 5.1 → 8.4, peak 3306 MB)"
    ) in line
    res["wall"].update(dask_again=40.0, dask_again_blocks=8.0)
    (line,) = lines(res)
    assert (
        "peak 3306 MB); the same run again on the warm cluster 40.0 s (blocks 8.0 s, ÷3.00; speed-up 0.75×)"
    ) in line
    assert lines({"status": "failed: boom", "n": 10}) == ["Dask replicate variance at 10: failed: boom"]
