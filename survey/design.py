"""The survey design object (after Lumley 2010, ch. 2 and R ``survey::svydesign``).

A :class:`Design` holds, per respondent row: the stratum, the primary sampling unit (PSU; ``None``
means every row is its own PSU, ``ids = ~1``), the finite-population size of the stratum (``None``
means sampling with replacement), the design weights ``d`` and the final weights ``w`` (after
calibration), and the :class:`~survey.calibration.CalibrationModel` that turned ``d`` into ``w``
(``None`` when the weights are not calibrated).

Domains are never built by dropping rows: a domain is a 0/1 indicator that multiplies the
influence values, so every stratum keeps all its PSUs in the variance (Lumley 2010, sec. 2.3;
Särndal, Swensson & Wretman 1992, ch. 10).

A stratum whose PSUs were all sampled (a census: ``f_h = n_h / N_h = 1``, e.g. every household of a small
district) contributes zero variance (factor ``1 - f_h = 0``), whatever its number of PSUs; a census
stratum with one PSU is not a "lonely PSU" (R: ``survey:::onestrat`` returns 0 before looking at
``survey.lonely.psu``).

Single-PSU strata that are not a census ("lonely PSUs") follow an explicit policy, as R's
``options(survey.lonely.psu = ...)`` (Lumley 2010, sec. 2.4; ``survey:::onestrat``/``onestage``):

* ``"fail"`` (default): :class:`~survey.errors.DesignError` naming the stratum;
* ``"certainty"``: the stratum contributes no variance (its PSU is taken as sampled with certainty);
* ``"remove"``: the stratum contributes no variance. For the one-stage (ultimate-cluster) designs here this
  is the same as ``"certainty"`` (in R they differ only in multistage designs, where a certainty PSU still
  contributes the variance of its later stages);
* ``"adjust"``: the single PSU total is not centred (centred at 0, the population mean of an influence
  function) and gets scale factor ``1 - f_h`` (R's ``"adjust"``; conservative);
* ``"average"``: the stratum contributes no variance and the sum over the other strata is multiplied by
  ``H / (H - L)`` (``H`` strata in the design, ``L`` of them lonely): each lonely stratum gets the average
  variance of the others (R's ``"average"``: ``onestage`` multiplies by ``nstrat / nokstrat``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from survey.errors import DesignError

if TYPE_CHECKING:  # pragma: no cover
    from survey.calibration import CalibrationModel

LonelyPSU = Literal["fail", "certainty", "remove", "adjust", "average"]
LONELY_POLICIES: tuple[str, ...] = ("fail", "certainty", "remove", "adjust", "average")
CENSUS_TOLERANCE = 1e-7  # 1 - f_h below this is a census stratum (R: all(f < 0.0000001))


@dataclass(frozen=True, eq=False)
class Design:
    """A one-stage (or first-stage, ultimate-cluster) stratified design with optional calibration.

    Attributes:
        strata: int codes ``0..H-1`` per row.
        strata_labels: label of each stratum code.
        design_weights: ``d_i``, the inverse inclusion probabilities (before calibration).
        weights: ``w_i``, the final analysis weights (``= d_i`` when not calibrated).
        psu: int codes of the PSUs (unique across strata) or ``None`` for element sampling.
        fpc: population size ``N_h`` of each row's stratum (PSUs in the stratum) or ``None`` (with replacement).
        calibration: the calibration model whose GREG residuals enter the variance, or ``None``.
        lonely_psu: the single-PSU-stratum policy.
    """

    strata: np.ndarray
    strata_labels: tuple[Any, ...]
    design_weights: np.ndarray
    weights: np.ndarray
    psu: np.ndarray | None = None
    fpc: np.ndarray | None = None
    calibration: CalibrationModel | None = None
    lonely_psu: LonelyPSU = "fail"
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        n = len(self.strata)
        for name in ("design_weights", "weights"):
            arr = getattr(self, name)
            if len(arr) != n:
                raise DesignError(f"{name} har {len(arr)} värden för {n} rader")
        if not np.all(np.isfinite(self.design_weights)) or np.any(self.design_weights <= 0):
            raise DesignError("designvikterna måste vara ändliga och större än 0")
        if self.lonely_psu not in LONELY_POLICIES:
            raise DesignError(
                f"okänd regel för ensamma PSU:er (lonely-PSU policy) {self.lonely_psu!r}; välj en av {LONELY_POLICIES}"
            )

    @property
    def n(self) -> int:
        return len(self.strata)

    @property
    def n_strata(self) -> int:
        return len(self.strata_labels)

    def calibration_model(self, what: str) -> CalibrationModel:
        """The calibration model of the weights; ``what`` (the step that needs it) is named in the
        :class:`~survey.errors.DesignError` raised when the design is not calibrated."""
        if self.calibration is None:
            raise DesignError(
                f"{what} behöver designens kalibreringsmodell, men vikterna är inte kalibrerade "
                f"(Design.calibration är None); kalibrera vikterna först eller använd den okalibrerade skattningen"
            )
        return self.calibration

    def psu_codes(self) -> np.ndarray:
        """PSU code per row (each row its own PSU when ``psu`` is None)."""
        return np.arange(self.n) if self.psu is None else self.psu

    def psu_strata(self) -> tuple[np.ndarray, np.ndarray]:
        """(stratum of each PSU, number of PSUs per stratum ``n_h``), cached."""
        if "psu_strata" not in self._cache:
            psu = self.psu_codes()
            n_psu = int(psu.max()) + 1 if len(psu) else 0
            psu_stratum = np.full(n_psu, -1, dtype=np.int64)
            psu_stratum[psu] = self.strata
            if self.psu is not None:
                # a PSU must lie in one stratum
                lo = np.full(n_psu, np.iinfo(np.int64).max)
                hi = np.full(n_psu, -1)
                np.minimum.at(lo, psu, self.strata)
                np.maximum.at(hi, psu, self.strata)
                if np.any((hi >= 0) & (lo != hi)):
                    raise DesignError("en PSU hör till mer än ett stratum; PSU-id:n måste vara nästlade i strata")
            used = psu_stratum >= 0
            n_h = np.bincount(psu_stratum[used], minlength=self.n_strata)
            self._cache["psu_strata"] = (psu_stratum, n_h)
        return self._cache["psu_strata"]

    def sampling_fractions(self) -> np.ndarray:
        """``f_h = n_h / N_h`` per stratum (PSUs sampled over PSUs in the population; 0 without an fpc)."""
        _, n_h = self.psu_strata()
        if self.fpc is None:
            return np.zeros(self.n_strata)
        n_pop = np.zeros(self.n_strata)
        n_pop[self.strata] = self.fpc
        with np.errstate(divide="ignore", invalid="ignore"):
            f = np.where(n_pop > 0, n_h / n_pop, 0.0)
        if np.any(f > 1 + 1e-12):
            h = int(np.flatnonzero(f > 1 + 1e-12)[0])
            raise DesignError(f"stratum {self.strata_labels[h]!r}: fler urvalda PSU:er än populationens storlek (fpc)")
        return np.minimum(f, 1.0)

    def lonely_strata(self) -> np.ndarray:
        """Strata with a single PSU that are not a census (``1 - f_h >= 1e-7``)."""
        _, n_h = self.psu_strata()
        return (n_h == 1) & (1.0 - self.sampling_fractions() >= CENSUS_TOLERANCE)

    def stratum_scale(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per stratum: PSUs ``n_h``, the variance factor ``(1 - f_h) n_h / (n_h - 1)`` and whether the stratum
        has a single PSU that stays uncentred, with the lonely-PSU policy applied (module docstring: 'fail'
        raises; 'certainty' and 'remove' give factor 0; 'adjust' factor ``1 - f_h``, the caller leaving the
        lonely PSU uncentred; 'average' factor 0 and the others times ``H / (H - L)``). Census strata get
        factor 0 under every policy. Cached."""
        if "stratum_scale" not in self._cache:
            _, n_h = self.psu_strata()
            lonely = self.lonely_strata()
            scale = np.where(n_h > 1, n_h / np.maximum(n_h - 1, 1), 0.0)
            if lonely.any():
                if self.lonely_psu == "fail":
                    h = int(np.flatnonzero(lonely)[0])
                    raise DesignError(
                        f"stratum {self.strata_labels[h]!r} har en enda PSU (single PSU); dess varians kan inte "
                        f"skattas (lonely-PSU policy 'fail'; välj 'certainty', 'remove', "
                        f"'adjust' eller 'average')"
                    )
                if self.lonely_psu == "adjust":
                    scale = np.where(lonely, 1.0, scale)
                elif self.lonely_psu == "average":
                    scale = scale * (self.n_strata / (self.n_strata - int(lonely.sum())))
            f = self.sampling_fractions()
            scale = np.where(1.0 - f < CENSUS_TOLERANCE, 0.0, scale * (1.0 - f))
            self._cache["stratum_scale"] = (n_h.astype(float), scale, lonely & (self.lonely_psu == "adjust"))
        return self._cache["stratum_scale"]

    def with_weights(self, weights: np.ndarray, calibration: CalibrationModel | None) -> Design:
        """A copy with new final weights and the calibration that produced them."""
        return replace(self, weights=np.asarray(weights, dtype=float), calibration=calibration, _cache={})


def stratified_design(
    strata_keys: np.ndarray | list[Any],
    design_weights: np.ndarray,
    *,
    psu: np.ndarray | None = None,
    fpc: np.ndarray | None = None,
    lonely_psu: LonelyPSU = "fail",
) -> Design:
    """Build a :class:`Design` from stratum keys (any hashable labels), sorted in code-point order.

    ``psu`` may hold any labels; they are made unique within strata (as R's ``nest = TRUE``).
    """
    codes, uniques = pd.factorize(pd.Series(strata_keys), sort=True)  # code-point order
    strata = codes.astype(np.int64)
    labels = tuple(uniques.tolist())
    psu_codes = None
    if psu is not None:
        frame = pd.DataFrame({"h": strata, "psu": np.asarray(psu)})
        psu_codes = frame.groupby(["h", "psu"], sort=True).ngroup().to_numpy(np.int64)
    d = np.asarray(design_weights, dtype=float)
    return Design(
        strata=strata,
        strata_labels=labels,
        design_weights=d,
        weights=d.copy(),
        psu=psu_codes,
        fpc=None if fpc is None else np.asarray(fpc, dtype=float),
        lonely_psu=lonely_psu,
    )


DENSE_KEY_LIMIT = 1 << 25  # integer keys below this are compacted with a bincount, not a hash table


def compact_codes(key: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize(key, sort=True)`` for non-negative integer keys below ``size``: a bincount and a lookup
    when ``size`` is small (no hashing), a hash table otherwise. Returns (codes, the sorted keys present)."""
    if size <= DENSE_KEY_LIMIT:
        present = np.flatnonzero(np.bincount(key, minlength=size))
        if len(present) == size:  # every key is there: the keys are their own codes
            return np.asarray(key, dtype=np.int64), present
        remap = np.zeros(size, dtype=np.int64)
        remap[present] = np.arange(len(present))
        return remap[key], present
    code, uniq = pd.factorize(key, sort=True)
    return code.astype(np.int64), np.asarray(uniq, dtype=np.int64)


def combine_codes(parts: list[np.ndarray] | tuple[np.ndarray, ...]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Code of each row's combination of ``parts`` (non-negative int arrays), combinations in lexicographic
    order, and each part's value per combination. Combined one part at a time, so the key space stays the
    number of combinations so far times the next part's levels (nested codes cost a bincount each)."""
    first = np.asarray(parts[0], dtype=np.int64)
    code, present = compact_codes(first, int(first.max()) + 1 if len(first) else 1)
    levels = [present]
    for part in parts[1:]:
        part = np.asarray(part, dtype=np.int64)
        dim = int(part.max()) + 1 if len(part) else 1
        code, present = compact_codes(code * dim + part, len(levels[0]) * dim)
        levels = [lv[present // dim] for lv in levels] + [present % dim]
    return code, levels


def sorted_factorize(col: pd.Series) -> tuple[np.ndarray, pd.Index | np.ndarray]:
    """``pd.factorize(col, sort=True)``; integers without missing values in a small range by a bincount."""
    if pd.api.types.is_integer_dtype(col.dtype) and not col.hasnans and len(col):
        v = col.to_numpy(dtype=np.int64)
        lo, hi = int(v.min()), int(v.max())
        if hi - lo < DENSE_KEY_LIMIT:
            code, present = compact_codes(v - lo, hi - lo + 1)
            return code, present + lo
    k, u = pd.factorize(col, sort=True)
    return k.astype(np.int64), u


def factorize_groups(frame: pd.DataFrame, cols: list[str] | tuple[str, ...]) -> tuple[np.ndarray, pd.DataFrame]:
    """Group code of every row over ``cols`` (groups in sorted order, code-point for text) and the
    groups' keys, without hashing strings more than once: categoricals use their codes, other columns
    are factorised once, and the per-column codes are combined into one integer key.
    """
    if not cols:
        return np.zeros(len(frame), dtype=np.int64), pd.DataFrame(index=[0])
    codes: list[np.ndarray] = []
    uniques: list[pd.Index | np.ndarray] = []
    for c in cols:
        col = frame[c]
        if isinstance(col.dtype, pd.CategoricalDtype):
            cats = col.cat.categories
            if not cats.is_monotonic_increasing:
                order = np.argsort(np.asarray(cats, dtype=object), kind="stable")
                remap = np.empty(len(cats), dtype=np.int64)
                remap[order] = np.arange(len(cats))
                codes.append(np.where(col.cat.codes.to_numpy() < 0, -1, remap[col.cat.codes.to_numpy()]))
                uniques.append(cats[order])
            else:
                codes.append(col.cat.codes.to_numpy().astype(np.int64))
                uniques.append(cats)
        else:
            k, u = sorted_factorize(col)
            codes.append(k)
            uniques.append(u)
    if any((k < 0).any() for k in codes):
        raise DesignError(f"saknade värden i grupperingskolumnen/-kolumnerna {', '.join(cols)}")
    key, parts = combine_codes(codes)
    keys = pd.DataFrame({c: np.asarray(u)[p] for c, u, p in zip(cols, uniques, parts)})
    for c in cols:  # keep the column's own dtype family for ints (years)
        if pd.api.types.is_integer_dtype(frame[c].dtype):
            keys[c] = keys[c].astype(np.int64)
    return key.astype(np.int64), keys
