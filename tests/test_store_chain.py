"""The steps chained through the database under a run id (issue 8): weight stores weights, design and the
calibration specification; estimate reads them back bit for bit and stores its frames; trend and publish
read what they need from the run id alone. SQLite and the real PostgreSQL; never a mocked database."""

# ruff: noqa: F811  (the pytest fixtures db_url and store come from tests.store_support)
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from survey.data import ingest, synth
from survey.data.codebook import load_codebook
from survey.data.store import Store
from survey.errors import StoreError
from survey.models import trend_outputs
from survey.pipeline.steps import EstimationOptions, WeightingOptions, WeightingResult, estimate, weight
from tests.store_support import db_url, store  # noqa: F401

SPEC = {
    "method": "linear",
    "margins": [["district", "sex"], ["district", "age_group"]],
    "by": ["year"],
    "bounds": None,
    "trim": None,
    "collapse": {},
    "maxit": 100,
    "epsilon": 1e-12,
}
OPTIONS = WeightingOptions(method="linear")


def _wave(tmp_path: Path, seed: int = 11, n: int = 900):
    r, p = synth.generate_wave(n, 3, 2, seed)
    rpath, ppath = synth.write_wave(r, p, tmp_path / f"w{seed}")
    return ingest.load_wave(rpath, ppath)


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def _weight_step(store: Store, codebook) -> tuple[str, WeightingResult]:
    ids = store.active_source_ids()
    run_id = store.begin_run(
        {"config": {"method": "linear"}}, "test", codebook.version, ids, codebook_name=codebook.name
    )
    w = weight(store.run_responses(run_id), store.run_population(run_id), OPTIONS)
    store.save_weights(
        run_id,
        w.weights,
        w.diagnostics,
        specification=SPEC,
        design=w.design,
        calibration={
            "iterations": int(w.calibration.iterations),
            "max_margin_error": float(w.calibration.max_margin_error),
        },
        seconds=0.5,
    )
    return run_id, w


def test_weight_estimate_trend_publish_chain_through_the_run_id(store: Store, tmp_path: Path) -> None:
    codebook = load_codebook()
    wave = _wave(tmp_path)
    store.load_wave(wave)
    run_id, w = _weight_step(store, codebook)

    # the weight step: run running, its step done, the specification stored as the run's parameters
    record = store.run_record(run_id)
    assert record.run["status"] == "running" and record.steps_done == ["weight"]
    assert record.parameters["weighting"] == SPEC and record.parameters["config"] == {"method": "linear"}
    assert record.codebook == (codebook.name, codebook.version)
    assert sorted(record.sources["kind"]) == ["population", "responses"]

    # the estimate step: weights and design read back bit for bit
    stored = store.run_weights(run_id)
    responses = store.run_responses(run_id)
    stored.check_rows(responses)
    d, d0 = stored.design, w.design
    for name in ("strata", "design_weights", "weights"):
        assert _same_bits(getattr(d, name), getattr(d0, name)), name
    assert d.psu is None and d.fpc is None and d.strata_labels == d0.strata_labels
    assert d.lonely_psu == d0.lonely_psu
    m, m0 = d.calibration, d0.calibration
    for f in dataclasses.fields(m0):  # every field of the calibration model
        a, b = getattr(m, f.name), getattr(m0, f.name)
        if isinstance(b, np.ndarray):
            assert _same_bits(a, b), f.name
        else:
            assert a == b and type(a) is type(b), f.name
    assert _same_bits(stored.weights["weight"].to_numpy(), w.weights["weight"].to_numpy())
    assert stored.weights["resp_id"].tolist() == w.weights["resp_id"].tolist()
    pd.testing.assert_frame_equal(stored.diagnostics, w.diagnostics, check_exact=True)
    assert stored.specification == SPEC and stored.calibration["iterations"] == w.calibration.iterations

    options = EstimationOptions()
    direct = estimate(responses, w, codebook, options)
    chained = estimate(
        responses,
        WeightingResult(design=d, calibration=None, weights=stored.weights, diagnostics=stored.diagnostics),
        codebook,
        options,
    )
    for name in ("estimates", "comparisons", "by_group", "index"):
        pd.testing.assert_frame_equal(getattr(chained, name), getattr(direct, name), check_exact=True)
    store.save_estimates(run_id, chained.estimates, chained.comparisons, chained.by_group, chained.index)
    with pytest.raises(StoreError, match="redan gjort"):
        store.save_estimates(run_id, chained.estimates)

    # the trend step, from the stored design
    tr = trend_outputs(
        d, responses, codebook.indicators, series_breaks=codebook.series_breaks, district_trends_model=True
    )
    store.save_trend(run_id, tr.trend, tr.shares, tr.districts, tr.tests)

    # the publish step, from the run id alone
    res = store.run_results(run_id)
    pairs = {
        "estimates": chained.estimates,
        "comparisons": chained.comparisons,
        "by_group": chained.by_group,
        "index": chained.index,
        "trend": tr.trend,
        "trend_shares": tr.shares,
        "trend_districts": tr.districts,
        "trend_tests": tr.tests,
        "diagnostics": w.diagnostics,
    }
    for name, frame in pairs.items():
        pd.testing.assert_frame_equal(getattr(res, name), frame, check_exact=True, obj=name)
    assert res.record.steps_done == ["weight", "estimate", "trend"]
    assert set(res.record.sources["name"]) == {wave.responses.source.name, wave.population.source.name}
    store.record_step(run_id, "publish", meta={"tables": 7})
    store.finish_run(run_id)
    done = store.run_record(run_id)
    assert done.run["status"] == "succeeded" and done.steps_done[-1] == "publish"
    assert done.steps.set_index("step").loc["publish", "meta"] == {"tables": 7}
    assert store.latest_run_id() == run_id
    with pytest.raises(StoreError, match="redan succeeded"):
        store.save_trend(run_id, tr.trend)


def test_a_run_reads_its_own_source_versions_after_a_replacement(store: Store, tmp_path: Path) -> None:
    codebook = load_codebook()
    first = _wave(tmp_path, seed=11)
    store.load_wave(first)
    run_id, w = _weight_step(store, codebook)
    store.load_wave(_wave(tmp_path, seed=12), replace=True)  # a corrected file for the same years
    assert not store.responses()["resp_id"].equals(first.responses.data["resp_id"])
    responses = store.run_responses(run_id)  # still the version the run weighted
    pd.testing.assert_frame_equal(responses, first.responses.data.reset_index(drop=True), check_exact=True)
    store.run_weights(run_id).check_rows(responses)
    with pytest.raises(StoreError, match="viktade raderna"):
        store.run_weights(run_id).check_rows(store.responses())


def test_estimate_before_weight_and_bad_specification_are_refused(store: Store, tmp_path: Path) -> None:
    report = store.load_wave(_wave(tmp_path))
    run_id = store.begin_run({}, "test", "v1", report.source_ids, years=[2022])
    with pytest.raises(StoreError, match="viktsteget är inte gjort"):
        store.run_weights(run_id)
    assert store.run_years(run_id) == [2022] and set(store.run_responses(run_id)["year"]) == {2022}
    w = weight(store.run_responses(run_id), store.run_population(run_id), OPTIONS)
    with pytest.raises(StoreError, match="saknar trim, collapse"):
        store.save_weights(
            run_id,
            w.weights,
            w.diagnostics,
            specification={"method": "linear", "margins": [], "bounds": None, "by": ["year"]},
        )
    assert store.run_steps(run_id).empty
    store.fail_run(run_id, "avbruten")
    assert store.runs().set_index("run_id").loc[run_id, "status"] == "failed"


def test_bounded_trimmed_calibration_reads_back_bit_for_bit(store: Store, tmp_path: Path) -> None:
    """Bounds, trimming limits, targets, prescale factors: every field of the model survives the store."""
    report = store.load_wave(_wave(tmp_path, seed=13))
    run_id = store.begin_run({}, "test", "v1", report.source_ids)
    options = WeightingOptions(method="logit", bounds=(0.1, 12.0), trim=(0.25, 9.0))
    w = weight(store.run_responses(run_id), store.run_population(run_id), options)
    spec = {**SPEC, "method": "logit", "bounds": [0.1, 12.0], "trim": [0.25, 9.0]}
    store.save_weights(run_id, w.weights, w.diagnostics, specification=spec, design=w.design)
    m, m0 = store.run_weights(run_id).design.calibration, w.design.calibration
    assert m0.bounds == (0.1, 12.0) and m0.trim is not None
    for f in dataclasses.fields(m0):
        a, b = getattr(m, f.name), getattr(m0, f.name)
        assert _same_bits(a, b) if isinstance(b, np.ndarray) else (a == b and type(a) is type(b)), f.name
    assert store.run_record(run_id).parameters["weighting"]["trim"] == [0.25, 9.0]
