"""The atom path of bootstrap replicate variance (survey/replicate_atoms.py) against the row path, and the
bootstrap draws made per replicate (survey/replicate_weights.py).

Independent numbers: the row path (re-calibration on sparse cell totals of the row-level factors and the
domain ratios of the n × R replicate weights, itself checked against R in tests/test_replication.py and
tests/test_robust_replication.py) for every calibration method the pipeline offers; the documented draw
stream recomputed here from ``numpy.random.SeedSequence``.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "r"))
from oracle import SAMPLE_WAVE, read_population, read_responses

from survey.calibration import calibrate
from survey.data.codebook import load_codebook
from survey.design import factorize_groups, stratified_design
from survey.errors import DesignError
from survey.estimation import indicator_matrices
from survey.pipeline.steps import WeightingOptions, prepare, weight
from survey.replicate_atoms import atom_block, atom_layout
from survey.replicate_estimation import BlockRunner, replicate_share_tables
from survey.replication import (
    bootstrap_replicates,
    domain_replicates,
    jackknife_replicates,
    recalibrate_model,
)
from tests.test_replication import contract_margins, wave_2022_without_tiny

R = 30
RTOL = 1e-12


@pytest.fixture(scope="module")
def wave():
    r = prepare(read_responses(SAMPLE_WAVE / "responses.csv"))
    p = read_population(SAMPLE_WAVE / "population.csv")
    return r, p, load_codebook()


def _same(atoms, rows) -> None:
    """The two paths' tables and re-calibrated replicates agree to ``RTOL`` (the rounding of their sums)."""
    assert (atoms.path, rows.path) == ("atoms", "rows")
    ea, er = atoms.tables.estimates, rows.tables.estimates
    np.testing.assert_array_equal(ea["estimate"].to_numpy(), er["estimate"].to_numpy())
    np.testing.assert_allclose(ea["se"].to_numpy(), er["se"].to_numpy(), rtol=RTOL, atol=0)
    np.testing.assert_allclose(atoms.tables.cov_district_total, rows.tables.cov_district_total, rtol=1e-10, atol=1e-17)
    if rows.replicates.cell_g is not None:
        np.testing.assert_allclose(atoms.replicates.cell_g, rows.replicates.cell_g, rtol=1e-10)
        np.testing.assert_allclose(atoms.replicates.full_cell_g, rows.replicates.full_cell_g, rtol=1e-13)
        assert atoms.replicates.collapsed == rows.replicates.collapsed
    np.testing.assert_allclose(atoms.replicates.full_weights(), rows.replicates.full_weights(), rtol=1e-13)


OPTIONS = {
    "raking": WeightingOptions(),
    "linear": WeightingOptions(method="linear"),
    "logit": WeightingOptions(method="logit", bounds=(0.04, 8.0)),
    "raking_bounds": WeightingOptions(bounds=(0.05, 5.5)),
    "trim_recalibrate": WeightingOptions(trim=(0.1, 5.5)),
    "trim_once": WeightingOptions(trim=(0.1, 5.5), trim_mode="once"),
    "aux": WeightingOptions(aux=("born_abroad",)),
    "linear_aux": WeightingOptions(method="linear", aux=("born_abroad",)),
    "continuous_aux": WeightingOptions(method="linear", aux=("income",)),  # almost every respondent a cell
}


def with_auxiliaries(r: pd.DataFrame, p: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The wave with a continuous auxiliary ``income`` (a made-up value per respondent) and population totals
    of ``born_abroad`` and ``income`` per cell: the design-weighted mean of the district and year times the
    cell's population, times 1.1 (so the calibration has to move the weights)."""
    r = r.copy()
    r["income"] = np.round(np.random.default_rng(4).lognormal(5.0, 0.4, len(r)), 2)
    p = p.copy()
    key = ["year", "district"]
    for col in ("born_abroad", "income"):
        dw = r["design_weight"]
        mean = (dw * r[col]).groupby([r[k] for k in key]).sum() / dw.groupby([r[k] for k in key]).sum()
        p[col] = p["population"] * 1.1 * pd.MultiIndex.from_frame(p[key]).map(mean).to_numpy(float)
    return r, p


@pytest.mark.parametrize("name", list(OPTIONS))
def test_atom_path_is_the_row_path_for_every_calibration(wave, name) -> None:
    """The whole sample wave (all 15 indicators, districts and Totalt), 30 replicates re-calibrated with the
    pipeline's method, bounds, trimming and numeric auxiliary; collapsed replicates included."""
    r, p, cb = wave
    r, p = with_auxiliaries(r, p)
    w = weight(r, p, OPTIONS[name])
    if name == "continuous_aux":
        assert len(w.design.calibration.cell_block) > len(r) / 2
    args = dict(method="bootstrap", replicates=R, seed=2026)
    atoms = replicate_share_tables(w.design, r, cb.indicators, path="atoms", **args)
    rows = replicate_share_tables(w.design, r, cb.indicators, path="rows", **args)
    _same(atoms, rows)
    assert np.isfinite(atoms.tables.estimates["se"]).sum() > 200


def test_atom_path_without_calibration(wave) -> None:
    r, p, cb = wave
    w = weight(r, p)
    design = w.design.with_weights(w.design.weights, None)
    args = dict(method="bootstrap", replicates=R, seed=5)
    atoms = replicate_share_tables(design, r, cb.indicators[:4], path="atoms", **args)
    rows = replicate_share_tables(design, r, cb.indicators[:4], path="rows", **args)
    _same(atoms, rows)


def test_atom_path_with_clusters_and_fpc(wave) -> None:
    """PSUs of up to three respondents (so pairs hold several rows and a PSU spans atoms) and an fpc
    (``alpha > 0``: every respondent keeps a positive weight), raked per year."""
    r, p, cb = wave
    r = r.reset_index(drop=True)
    key = r["year"].astype(str) + "/" + r["district"].astype(str)
    strata = key.to_numpy()
    psu = r.groupby(key, sort=False).cumcount().to_numpy() // 3
    n_h = key.map(key.value_counts()).to_numpy(float)
    design = stratified_design(strata, np.full(len(r), 1.0), psu=psu, fpc=np.ceil(n_h / 3) * 4)
    design = replace(design, design_weights=design.weights * 0 + 4.0 * 3, weights=design.weights * 0 + 12.0)
    cal = calibrate(r, design.design_weights, contract_margins(p), by=("year",))
    design = design.with_weights(cal.weights, cal.model)
    args = dict(method="bootstrap", replicates=R, seed=11)
    atoms = replicate_share_tables(design, r, cb.indicators[:5], path="atoms", **args)
    rows = replicate_share_tables(design, r, cb.indicators[:5], path="rows", **args)
    _same(atoms, rows)


def test_canty_davison_atoms_equal_rows() -> None:
    """Canty–Davison factors (``a = k``), raked, two tables, through the core functions."""
    resp, pop = wave_2022_without_tiny()
    wr = weight(resp, pop)
    bs = bootstrap_replicates(wr.design, 25, seed=3, method="canty_davison")
    model = wr.design.calibration
    cb = load_codebook()
    y, base = indicator_matrices(prepare(resp), cb.indicators[:3])
    dcode, dkeys = factorize_groups(resp, ["district"])
    domains = ((dcode, len(dkeys)), (np.zeros(len(resp), dtype=np.int64), 1))
    lay = atom_layout(bs, model, y * base, base, domains)
    assert lay is not None and lay.exact32
    got = atom_block(lay, bs, model)
    rows = recalibrate_model(bs, model, infeasible="collapse")
    for (codes, n), est in zip(domains, got.estimates):
        ref = domain_replicates(rows, y * base, base, codes, n)
        np.testing.assert_allclose(est.estimate, ref.estimate, rtol=1e-13)
        np.testing.assert_allclose(est.replicates, ref.replicates, rtol=RTOL)
        assert est.scale == ref.scale
    np.testing.assert_allclose(got.cell_g, rows.cell_g, rtol=1e-10)


def test_where_the_atom_path_does_not_apply(wave) -> None:
    r, p, cb = wave
    w = weight(r, p)
    jk = jackknife_replicates(w.design)
    y, base = indicator_matrices(r, cb.indicators[:2])
    dom = ((np.zeros(len(r), dtype=np.int64), 1),)
    assert atom_layout(jk, w.design.calibration, y * base, base, dom) is None  # not a bootstrap
    bs = bootstrap_replicates(w.design, 5, seed=1)
    assert atom_layout(bs, w.design.calibration, y * 0.5, base, dom) is None  # not integers
    assert atom_layout(bs, w.design.calibration, y * base, base, dom, min_pairs=10_000) is None  # too few rows
    with pytest.raises(DesignError, match="atomvägen"):
        replicate_share_tables(w.design, r, cb.indicators[:1], method="jackknife", path="atoms")
    auto = replicate_share_tables(w.design, r, cb.indicators[:1], replicates=5, seed=1)
    assert auto.path == "atoms"


def test_blocks_of_the_atom_path_are_bit_for_bit_one_block(wave) -> None:
    r, p, cb = wave
    w = weight(r, p)
    one = replicate_share_tables(w.design, r, cb.indicators, replicates=R, seed=2026, path="atoms")
    cut = replicate_share_tables(
        w.design, r, cb.indicators, replicates=R, seed=2026, path="atoms", blocks=BlockRunner(block_size=7)
    )
    pd.testing.assert_frame_equal(one.tables.estimates, cut.tables.estimates, check_exact=True)
    np.testing.assert_array_equal(one.replicates.cell_g, cut.replicates.cell_g)
    np.testing.assert_array_equal(one.tables.cov_district_total, cut.tables.cov_district_total)


# --- the draws -------------------------------------------------------------------------------------------


def test_draws_are_the_documented_stream_per_replicate() -> None:
    """Replicate r: ``default_rng(SeedSequence(seed, spawn_key=(r,)))``, per stratum in code order ``m_h``
    integers on ``0..n_h - 1`` = positions among the stratum's PSUs in PSU-code order; any block of
    replicates, asked for in any order, has those counts."""
    strata = np.array(["b"] * 5 + ["a"] * 4 + ["c"] * 3)
    psu = np.array([4, 2, 2, 9, 7, 1, 3, 5, 1, 8, 6, 6])
    des = stratified_design(strata, np.ones(len(strata)), psu=psu)
    bs = bootstrap_replicates(des, 12, seed=99)
    psu_stratum, n_h = des.psu_strata()
    expected = np.zeros((bs.n_psu, 12), dtype=np.int64)
    for r in range(12):
        rng = np.random.default_rng(np.random.SeedSequence(99, spawn_key=(r,)))
        for h in range(des.n_strata):
            members = np.flatnonzero(psu_stratum == h)  # PSU codes in order
            expected[members, r] = np.bincount(rng.integers(0, n_h[h], size=n_h[h] - 1), minlength=n_h[h])
    np.testing.assert_array_equal(bs.draw_counts(0, 12), expected)
    np.testing.assert_array_equal(bs.draw_counts(7, 12), expected[:, 7:])
    np.testing.assert_array_equal(bs.subset(4, 9).draw_counts(1, 3), expected[:, 5:7])
    pos = bs.position_counts(2, 6)
    np.testing.assert_array_equal(pos[:, np.argsort(bs.position_psu())].T, expected[:, 2:6])
    fresh = bootstrap_replicates(des, 3, seed=None)
    assert fresh.draws is not None
    np.testing.assert_array_equal(fresh.draw_counts(0, 3), fresh.draw_counts(0, 3))  # the entropy is kept
