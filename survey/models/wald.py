"""Wald tests on the coefficients of a design-based GLM (R ``survey::regTermTest(method = "Wald")``;
Lumley 2010, sec. 5.2.3)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import stats

from survey.errors import ModelError

if TYPE_CHECKING:
    from survey.models.glm import SurveyGLMResult


@dataclass(frozen=True)
class WaldTestResult:
    """R ``regTermTest(model, terms, method = "Wald")``.

    ``F = b' V^-1 b / q`` on ``(q, ddf)`` degrees of freedom; ``chisq = q F`` with its chi-square p-value.
    """

    terms: tuple[str, ...]
    chisq: float
    df: int
    ddf: float
    F: float
    p_value: float
    p_value_chisq: float


def _match_terms(result: SurveyGLMResult, terms: str | Sequence[str]) -> list[int]:
    """Indices of coefficients named by ``terms``: exact names, or a factor/term group (``"district"``
    matches ``district[...]``; ``"year:district"`` matches ``year:district[...]``)."""
    wanted = [terms] if isinstance(terms, str) else list(terms)
    idx: list[int] = []
    for t in wanted:
        hit = [j for j, name in enumerate(result.terms) if name == t or name.startswith(t + "[")]
        if not hit:
            raise ModelError(f"ingen koefficient matchar {t!r} (termer: {', '.join(result.terms)})")
        idx.extend(j for j in hit if j not in idx)
    return idx


def wald_test(
    result: SurveyGLMResult, terms: str | Sequence[str], *, null: Sequence[float] | None = None, df: float | None = None
) -> WaldTestResult:
    """Wald test that the coefficients of ``terms`` are ``null`` (default 0): R
    ``regTermTest(model, terms, method = "Wald")`` (Lumley 2010, sec. 5.2.3).

    ``chisq = (b − b0)' V^-1 (b − b0)``, ``F = chisq / q`` on ``(q, ddf)`` df with ``ddf`` =
    ``result.df_residual`` unless ``df`` is given; ``df = inf`` gives the chi-square test only
    (``F`` and its p-value then equal the chi-square version's statistic / q and p-value).
    """
    idx = _match_terms(result, terms)
    b = result.coef[idx]
    if null is not None:
        b = b - np.asarray(null, dtype=float)
    v = result.vcov[np.ix_(idx, idx)]
    names = [result.terms[j] for j in idx]
    bad = [t for t, ok in zip(names, np.isfinite(b)) if not ok]
    if bad:
        raise ModelError(f"Wald-testet kan inte göras: termerna {', '.join(bad)} kan inte skattas (separation)")
    try:
        chisq = float(b @ np.linalg.solve(v, b))
    except np.linalg.LinAlgError:
        raise ModelError(f"Wald-testet kan inte göras: kovariansmatrisen för {', '.join(names)} är singulär") from None
    q = len(idx)
    ddf = float(result.df_residual if df is None else df)
    f = chisq / q
    p_chi = float(stats.chi2.sf(chisq, q))
    p_f = float(stats.f.sf(f, q, ddf)) if np.isfinite(ddf) and ddf > 0 else p_chi
    return WaldTestResult(
        terms=tuple(result.terms[j] for j in idx), chisq=chisq, df=q, ddf=ddf, F=f, p_value=p_f, p_value_chisq=p_chi
    )
