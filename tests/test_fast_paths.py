"""The fast paths (atom sums) against the row-level reference paths they replace, on the shared sample wave.

The atom paths are exact rewrites (same estimator, sums regrouped), so they must agree with the dense/row
paths to rounding: coefficients and estimates to 1e-10 relative, covariances to 1e-9. Both paths are
checked against R elsewhere (tests/test_models.py, tests/test_estimation.py, tests/test_conformance.py).
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "r"))
from oracle import SAMPLE_WAVE, read_population, read_responses, rel_err

from survey.data.codebook import load_codebook
from survey.design import combine_codes
from survey.estimation import estimate_shares, indicator_matrices, indicator_states
from survey.estimation.atoms import answer_atom_stats, atom_stats
from survey.indicators import Indicator, SeriesBreak
from survey.models import svyglm
from survey.models.glm import svyglm_atoms
from survey.models.trend_sums import AtomSums, RowSums, _row_sums, trend_cells, trend_sources
from survey.models.trends import _fit_one
from survey.pipeline.steps import weight


@pytest.fixture(scope="module")
def wave():
    r = read_responses(SAMPLE_WAVE / "responses.csv")
    w = weight(r, read_population(SAMPLE_WAVE / "population.csv"))
    return r, w.design, load_codebook()


def _jittered(design):
    """The same design with design and final weights that vary within every atom (the general path)."""
    rng = np.random.default_rng(5)
    f = rng.uniform(0.9, 1.1, design.n)
    return dataclasses.replace(design, design_weights=design.design_weights * f, weights=design.weights * f, _cache={})


@pytest.mark.parametrize("jitter", [False, True])
@pytest.mark.parametrize("interaction", [False, True])
def test_trend_atoms_equal_rows(wave, jitter, interaction):
    r, design, cb = wave
    design = _jittered(design) if jitter else design
    prep = trend_cells(design, r)
    sources = trend_sources(design, r, prep, cb.indicators)
    assert all(isinstance(s, AtomSums) for s in sources)
    brk = [SeriesBreak(2023, "new mode", (cb.indicators[2].item,))]
    for src, ind in zip(sources, cb.indicators):
        fast = _fit_one(prep, src, ind, brk, interaction)
        slow = _fit_one(prep, _row_sums(design, r, prep, ind), ind, brk, interaction)
        assert fast.result.terms == slow.result.terms and fast.note == slow.note
        # the interaction model's columns (year, year × district dummies) are nearly collinear (condition
        # number of A ~ 4e15 uncentred): IRLS stops on the deviance (tol 1e-14), which pins the flat
        # directions only to ~1e-7, and summing the cell totals in another order moves the stopping point.
        # Observed: main effects 1.6e-12 (coef) / 2e-15 (SE); interaction 2.3e-7 / 1.6e-6 (7.2e-6 for vcov
        # after a break leaves two years), the atom path the closer of the two to the full n × p influence
        # matrix (7.8e-8 vs 4.5e-7). The fast path is not the source: the main effects agree to 1e-12.
        tol_b, tol_v = (1e-6, 2e-5) if interaction else (1e-10, 1e-9)
        assert rel_err(fast.result.coef, slow.result.coef) < tol_b
        assert rel_err(fast.result.vcov, slow.result.vcov) < tol_v
        assert (fast.result.df, fast.result.n) == (slow.result.df, slow.result.n)
        assert rel_err(fast.result.deviance, slow.result.deviance) < 1e-11
        pd.testing.assert_frame_equal(fast.cells, slow.cells, rtol=1e-12)


def test_svyglm_atoms_dispersion_and_gaussian(wave):
    r, design, cb = wave
    prep = trend_cells(design, r)
    ind = cb.indicators[0]
    src = trend_sources(design, r, prep, [ind])[0]
    rows = _row_sums(design, r, prep, ind)
    x = np.column_stack([np.ones(len(prep.cell_year)), prep.cell_year - 2023.0])
    for family in ("quasibinomial", "gaussian"):
        a = svyglm_atoms(design, src.atoms, x, ["(Intercept)", "year"], family=family)
        b = svyglm(design, rows.y, x, ["(Intercept)", "year"], domain=rows.domain, cell=prep.cell, family=family)
        assert rel_err(a.coef, b.coef) < 1e-10 and rel_err(a.se, b.se) < 1e-9
        assert rel_err(a.dispersion, b.dispersion) < 1e-10 and rel_err(a.naive_vcov, b.naive_vcov) < 1e-10


def test_zero_weights_and_empty_base_use_the_rows(wave):
    r, design, cb = wave
    w = design.weights.copy()
    w[:5] = 0.0
    zero = dataclasses.replace(design, weights=w, _cache={})
    prep = trend_cells(zero, r)
    assert all(isinstance(s, RowSums) for s in trend_sources(zero, r, prep, cb.indicators[:2]))
    no_base = Indicator("any_answer", "q_safe_after_dark", (1, 2), ())
    kinds = [type(s) for s in trend_sources(design, r, prep, [cb.indicators[0], no_base])]
    assert kinds == [AtomSums, RowSums]


@pytest.mark.parametrize("jitter", [False, True])
def test_share_atoms_equal_dense(wave, jitter):
    r, design, cb = wave
    design = _jittered(design) if jitter else design
    fast = estimate_shares(design, r, cb.indicators).estimates
    dense = estimate_shares(design, r, cb.indicators, mask=np.ones(design.n)).estimates
    for col in ("estimate", "se", "ci_low", "ci_high", "deff", "weighted_base"):
        assert rel_err(fast[col].to_numpy(float), dense[col].to_numpy(float)) < 1e-10, col
    assert (fast["n"].to_numpy() == dense["n"].to_numpy()).all() and (fast["df"] == dense["df"]).all()


def test_indicator_states_match_matrices(wave):
    r, _, cb = wave
    inds = list(cb.indicators) + [Indicator("odd", "q_safe_after_dark", (3, 7), (1, 3, 5))]
    st = indicator_states(r, inds)
    y, base = indicator_matrices(r, inds)
    assert np.array_equal(st == 2, (y * base) == 1) and np.array_equal(st >= 1, base == 1)
    as_float = r.assign(q_safe_after_dark=r["q_safe_after_dark"].astype("float64"))
    assert np.array_equal(indicator_states(as_float, inds), st)


def test_combine_codes_is_sorted_factorize():
    rng = np.random.default_rng(3)
    parts = [rng.integers(0, 4, 500), rng.integers(0, 9, 500) * 3, rng.integers(0, 2, 500)]
    code, levels = combine_codes(parts)
    keys = pd.MultiIndex.from_arrays(parts)
    ref_code, ref_uniq = pd.factorize(keys, sort=True)
    assert np.array_equal(code, ref_code)
    assert [list(lv) for lv in levels] == [list(ref_uniq.get_level_values(i)) for i in range(3)]


def test_atom_stats_general_path_equals_constant_path(wave):
    r, design, cb = wave
    st = indicator_states(r, cb.indicators)
    a = atom_stats(design, st)
    # the same weights, but not bit-identical within atoms: forces the four-bincount path
    nudged = dataclasses.replace(design, weights=design.weights * (1 + 1e-15 * (np.arange(design.n) % 2)), _cache={})
    b = atom_stats(nudged, st)
    assert np.array_equal(a.count, b.count)
    for k in ("sw", "sw2", "sd"):
        assert rel_err(getattr(a, k), getattr(b, k)) < 1e-13


@pytest.mark.parametrize("jitter", [False, True])
def test_answer_atoms_equal_the_per_code_states(wave, jitter):
    """One bincount per item gives the counts (and sums) of the per-code pseudo-indicators' states exactly,
    blanks and a code outside the item's list included."""
    r, design, cb = wave
    design = _jittered(design) if jitter else design
    r = r.copy()
    col = r["q_safe_after_dark"].astype("Int64")
    col.iloc[:40] = pd.NA
    col.iloc[40:45] = 9  # outside the listed codes: state 0 of every code
    r["q_safe_after_dark"] = col
    items = [(it.name, tuple(it.codes)) for it in cb.items if it.name in r][:4]
    pseudo = [Indicator(f"{i}:{c}", i, (c,), cs) for i, cs in items for c in cs]
    direct = atom_stats(design, indicator_states(r, pseudo))
    fast = answer_atom_stats(design, r, items)
    assert np.array_equal(fast.code, direct.code) and np.array_equal(fast.count, direct.count)
    for k in ("sw", "sw2", "sd"):
        assert np.array_equal(getattr(fast, k), getattr(direct, k)), k
    assert fast.count[:, 0].sum() > 0


@pytest.mark.parametrize("jitter", [False, True])
def test_moment_ratios_equal_dense(wave, jitter):
    from survey.design import factorize_groups
    from survey.estimation import domain_ratios, score_index

    r, design, cb = wave
    design = _jittered(design) if jitter else design
    s, b = score_index(r, cb.problem_index.items, cb.problem_index.scores)
    y, base = indicator_matrices(r, cb.indicators[:3])
    women = (r["sex"] == 2).to_numpy()
    for cols in (["year", "district"], ["year"]):
        code, keys = factorize_groups(r, cols)
        cases = [
            ((s * b)[:, None], b[:, None], None),
            (y * base, base, None),
            (y * base, base, women),
            (y * base, None, None),
            (y * base, None, women),
        ]
        for num, den, mask in cases:
            fast = domain_ratios(design, num, den, code, len(keys), mask=mask)
            dense = domain_ratios(design, num, den, code, len(keys), mask=mask, keep_influence=True)
            for field in ("estimate", "se", "deff", "weighted_base"):
                assert rel_err(getattr(fast, field), getattr(dense, field)) < 1e-10, field
            assert np.array_equal(fast.n, dense.n) and np.array_equal(fast.df, dense.df)


def test_trend_from_the_estimation_atoms(wave):
    from survey.estimation import group_codes
    from survey.models import trend_outputs

    r, design, cb = wave
    shared = atom_stats(design, indicator_states(r, cb.indicators), extra=group_codes(r, ["sex", "age_group"])[0])
    a = trend_outputs(design, r, cb.indicators, district_trends_model=True, atoms=shared)
    b = trend_outputs(design, r, cb.indicators, district_trends_model=True)
    for x, y in ((a.trend, b.trend), (a.shares, b.shares)):
        assert rel_err(x["estimate"], y["estimate"]) < 1e-10 and rel_err(x["se"], y["se"]) < 1e-9
    assert rel_err(a.tests["F"], b.tests["F"]) < 1e-5  # the interaction models (see above)
