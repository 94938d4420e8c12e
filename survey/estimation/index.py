"""A mean-score index over several items (e.g. the problem index), as a ratio of two domain totals."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from survey.estimation.atoms import item_codes


def score_index(data: pd.DataFrame, items: Sequence[str], scores: dict[int, float]) -> tuple[np.ndarray, np.ndarray]:
    """Per respondent: mean score over the answered ``items`` with a score (codes without one, e.g. 9 "vet ej",
    and blanks are skipped); returns ``(score, base)`` where base = at least one scored answer.

    The domain estimate is the ratio ``sum_D w s / sum_D w`` (a mean), linearised as a ratio.
    """
    top = int(max(scores)) + 2  # slot c = code c; the last slot = any code above (clipped there): no score
    lut_score = np.zeros(top)
    lut_hit = np.zeros(top)
    for c, val in scores.items():
        lut_score[int(c)] = val
        lut_hit[int(c)] = 1.0
    total = np.zeros(len(data))
    count = np.zeros(len(data))
    for it in items:  # a loop over items, vectorised over rows
        v, blank = item_codes(data[it])
        # blank (and any negative code) -> the last slot, which has no score; higher codes are clipped there
        idx = np.where(blank, top - 1, v) if blank is not None else np.where(v < 0, top - 1, v)
        total += np.take(lut_score, idx, mode="clip")
        count += np.take(lut_hit, idx, mode="clip")
    base = (count > 0).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(count > 0, total / np.maximum(count, 1), 0.0)
    return score, base
