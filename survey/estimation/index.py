"""A mean-score index over several items (e.g. the problem index), as a ratio of two domain totals."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def score_index(data: pd.DataFrame, items: Sequence[str], scores: dict[int, float]) -> tuple[np.ndarray, np.ndarray]:
    """Per respondent: mean score over the answered ``items`` with a score (codes without one, e.g. 9 "vet ej",
    and blanks are skipped); returns ``(score, base)`` where base = at least one scored answer.

    The domain estimate is the ratio ``sum_D w s / sum_D w`` (a mean), linearised as a ratio.
    """
    top = int(max(scores)) + 2
    lut_score = np.zeros(top)
    lut_hit = np.zeros(top, dtype=bool)
    for c, val in scores.items():
        lut_score[int(c) + 1] = val
        lut_hit[int(c) + 1] = True
    total = np.zeros(len(data))
    count = np.zeros(len(data))
    for it in items:  # a loop over items, vectorised over rows
        v = data[it].to_numpy(dtype="int64", na_value=-1) + 1
        v[(v < 0) | (v >= top)] = 0  # blank and codes without a score (e.g. 9 "vet ej") → slot 0: no score
        total += lut_score[v]
        count += lut_hit[v]
    base = (count > 0).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(count > 0, total / np.maximum(count, 1), 0.0)
    return score, base
