"""Replicate schemes: stratified jackknife (JKn) and rescaling bootstraps (Rao–Wu, Canty–Davison).

A replicate scheme turns the design weights ``d_i`` into ``R`` sets of replicate weights
``d_i a_{p(i) r}`` (``a`` = factors per primary sampling unit ``p`` and replicate ``r``); an estimator
``theta`` is recomputed with every set, and ``V(theta) = scale * sum_r rscale_r (theta_r - c)^2``
(:func:`survey.replication.replicate_variance`). References: Rust & Rao (1996), Wolter (2007) ch. 4
(jackknife) and ch. 5 (bootstrap), Lumley (2010) sec. 2.5, Rao & Wu (1988).

Schemes (PSU ``j`` of stratum ``h``, ``n_h`` PSUs, ``f_h = n_h / N_h`` when the design has an fpc, else 0):

* **JKn** (:func:`jackknife_replicates`; R ``as.svrepdesign(type = "JKn")``, ``survey:::jknweights``;
  for one stratum the same as ``type = "JK1"``): one replicate per PSU. In replicate ``(h, j)``
  ``a = 0`` for PSU ``j``, ``a = n_h / (n_h - 1)`` for the other PSUs of ``h``, ``a = 1`` elsewhere;
  ``rscale = (n_h - 1) / n_h (1 - f_h)``, ``scale = 1``. Strata with ``f_h = 1`` give no replicates
  (R's ``survey.drop.replicates = TRUE``). Stored as the deleted PSU per replicate (no P × R matrix).
* **Rao–Wu rescaling bootstrap** (:func:`bootstrap_replicates`, ``method = "rao_wu"``, the default;
  Rao & Wu 1988, Rao, Wu & Yue 1992): per stratum ``m_h = n_h - 1`` PSUs drawn with replacement,
  ``k_hj`` = times PSU ``j`` is drawn, ``lambda_h = sqrt(m_h (1 - f_h) / (n_h - 1)) = sqrt(1 - f_h)`` and
  ``a_hj = 1 - lambda_h + lambda_h (n_h / m_h) k_hj``; ``scale = 1 / (R - 1)``, ``rscale = 1``.
  Without fpc this is exactly R's ``as.svrepdesign(type = "subbootstrap")`` (``survey:::subbootweights``:
  ``a = n_h / (n_h - 1) k_hj``, scale ``1 / (R - 1)``), and the factors can be handed to R as
  ``svrepdesign(repweights = a, type = "bootstrap", combined.weights = FALSE)``, whose default scale is
  the same ``1 / (R - 1)``.
* **Canty–Davison bootstrap** (``method = "canty_davison"``; R ``as.svrepdesign(type = "bootstrap")``,
  ``survey:::bootweights`` without fpc): ``m_h = n_h`` draws, ``a_hj = k_hj``,
  ``scale = nbar / ((nbar - 1)(R - 1))`` with ``nbar`` the harmonic mean of ``n_h`` (R's convention;
  it is unbiased only when all ``n_h`` are equal, which is why Rao–Wu is the default here).

Single-PSU strata follow the design's lonely-PSU policy (:func:`_lonely`): a census stratum has no
replicates; ``certainty``/``remove`` give the stratum no replicates; ``average`` also multiplies the
variance multipliers by ``H / (H - L)``; ``fail`` and ``adjust`` are errors.

**The draws** (:class:`BootstrapDraws`): bootstrap factors are a per-PSU affine map ``a = alpha_p + beta_p k``
of the draw counts ``k``, which are never stored for all replicates: replicate ``r`` (0-based, of the whole
scheme) has its own generator ``numpy.random.default_rng(SeedSequence(seed, spawn_key=(r,)))`` (the
``r``-th child of ``SeedSequence(seed).spawn``), which draws, stratum by stratum in stratum-code order,
``m_h`` integers uniform on ``0..n_h - 1`` (``Generator.integers``: exactly uniform) = the positions of
the drawn PSUs among the stratum's PSUs in PSU-code order. So the counts of any block of replicates are
made where the block is computed (a Dask worker makes its own), the same whoever makes them and however
the replicates are cut into blocks. (Earlier versions drew the counts of all replicates from one stream,
``default_rng(seed).random`` in chunks of replicates, and stored them; the method, Rao–Wu's or
Canty–Davison's, is the same, the random numbers for a given seed are not.) Replicate weights are formed
chunk by chunk of replicates, never as an n × R float matrix.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal, TypeVar, cast

import numpy as np
import pandas as pd

from survey.calibration import CalibrationModel
from survey.design import Design
from survey.errors import DesignError

BootstrapMethod = Literal["rao_wu", "canty_davison"]
CHUNK_ELEMENTS = 4_000_000  # size of a dense (rows or PSUs) × replicates chunk, in values
_T = TypeVar("_T")


def _present(value: _T | None, name: str, kind: str) -> _T:
    """``value``, or a :class:`~survey.errors.DesignError` naming the field ``name`` that the replicate
    scheme ``kind`` needs (only a hand-built :class:`ReplicateWeights` can lack it)."""
    if value is None:
        raise DesignError(
            f"replikatvikterna ({kind}) saknar fältet {name!r}, som de behöver; bygg dem med "
            f"jackknife_replicates, bootstrap_replicates eller recalibrate"
        )
    return value


@dataclass(frozen=True, eq=False)
class BootstrapDraws:
    """The bootstrap draws of every replicate, made on demand (module docstring, *The draws*).

    Attributes:
        entropy: the seed (``SeedSequence`` entropy) of the scheme.
        order: (P,) PSU codes grouped by stratum (stratum code, then PSU code): position ``start_h + j`` is
            the ``j``-th PSU of stratum ``h``.
        n_h: (H,) PSUs per stratum; m_h: (H,) draws per stratum and replicate (0: the stratum is not drawn).
    """

    entropy: int
    order: np.ndarray
    n_h: np.ndarray
    m_h: np.ndarray

    def position_counts(self, start: int, stop: int, out: np.ndarray | None = None) -> np.ndarray:
        """(stop - start, P) ``uint8`` draw counts of replicates ``start..stop-1`` by position (see ``order``),
        written into ``out`` when given (a buffer of that shape, reused by the caller).

        Cost: per replicate one ``Generator.integers`` and one ``bincount`` per drawn stratum."""
        shape = (stop - start, int(self.n_h.sum()))
        if out is None:
            out = np.zeros(shape, dtype=np.uint8)
        elif out.shape != shape or out.dtype != np.uint8:
            raise DesignError(f"fel buffert för bootstrapdragningarna: {out.shape}, behöver {shape}")
        else:
            out.fill(0)
        bounds = np.concatenate([[0], np.cumsum(self.n_h)])
        drawn = [(int(bounds[h]), int(self.n_h[h]), int(self.m_h[h])) for h in np.flatnonzero(self.m_h > 0)]
        total = sum(m for _, _, m in drawn)
        for j, r in enumerate(range(start, stop)):
            rng = np.random.default_rng(np.random.SeedSequence(self.entropy, spawn_key=(r,)))
            row = out[j]
            for s0, n, m in drawn:
                row[s0 : s0 + n] = np.bincount(rng.integers(0, n, size=m), minlength=n)
            if int(row.sum(dtype=np.int64)) != total:  # a count above 255 wrapped round in uint8
                raise DesignError(f"en PSU drogs mer än 255 gånger i bootstrapreplikat {r + 1}")
        return out

    def counts(self, start: int, stop: int) -> np.ndarray:
        """(P, stop - start) ``uint8`` draw counts per PSU (PSU-code order) of replicates ``start..stop-1``."""
        if len(self.order) != int(self.n_h.sum()):
            raise DesignError("bootstrapdragningarna saknar PSU:ernas ordning (ett schema för atomvägens block)")
        out = np.empty((len(self.order), stop - start), dtype=np.uint8)
        out[self.order] = self.position_counts(start, stop).T
        return out


@dataclass(frozen=True, eq=False)
class ReplicateWeights:
    """Replicate factors of a design, stored compactly, plus (after :func:`recalibrate`) the per-cell ``g``.

    Replicate weight of row ``i`` in replicate ``r``: ``d_i * a[psu_i, r] * g[cell_i, r]`` with
    ``g = 1`` when not re-calibrated. Full-sample weight: ``d_i * g_full[cell_i]``.

    Attributes:
        kind: ``"JKn"``, ``"bootstrap"`` (Rao–Wu) or ``"canty_davison"``.
        psu: PSU code per row (``0..P-1``).
        psu_stratum: stratum code per PSU.
        design_weights: ``d`` per row (after re-calibration: the pre-scaled ``d*`` the calibration started from).
        scale, rscales: the variance multipliers ``V = scale sum_r rscales_r (theta_r - c)^2``.
        deleted: JKn: the deleted PSU of each replicate.
        jk_factor: JKn: ``n_h / (n_h - 1)`` per PSU.
        counts: bootstrap: (P, R) uint8 draw counts ``k`` when stored (hand-built), else None and ``draws``.
        draws: bootstrap: the draws, made on demand (:class:`BootstrapDraws`); ``first``: the scheme's
            index of this object's first replicate (a block of replicates, :meth:`subset`).
        alpha, beta: bootstrap: per-PSU ``a = alpha + beta k``.
        calibration: the calibration model (cells) when re-calibrated, else None.
        cell_g: (C, R) calibration factors ``g`` per cell and replicate, or None.
        full_cell_g: (C,) full-sample ``g`` per cell, or None.
        iterations: largest number of Newton iterations of any replicate (0 when not re-calibrated).
        collapsed: (replicate, cell) pairs collapsed by the infeasible-replicate rule of re-calibration.
    """

    kind: str
    psu: np.ndarray
    psu_stratum: np.ndarray
    design_weights: np.ndarray
    scale: float
    rscales: np.ndarray
    deleted: np.ndarray | None = None
    jk_factor: np.ndarray | None = None
    counts: np.ndarray | None = None
    alpha: np.ndarray | None = None
    beta: np.ndarray | None = None
    calibration: CalibrationModel | None = None
    cell_g: np.ndarray | None = None
    full_cell_g: np.ndarray | None = None
    iterations: int = 0
    collapsed: int = 0
    draws: BootstrapDraws | None = None
    first: int = 0

    @property
    def n(self) -> int:
        return len(self.psu)

    @property
    def n_psu(self) -> int:
        return len(self.psu_stratum)

    @property
    def n_replicates(self) -> int:
        return len(self.rscales)

    def chunk_size(self, rows: int | None = None) -> int:
        """Replicates per chunk so that a dense (rows × chunk) block holds about ``CHUNK_ELEMENTS`` values."""
        rows = max(self.n, self.n_psu) if rows is None else rows
        return max(1, min(self.n_replicates, CHUNK_ELEMENTS // max(rows, 1)))

    def psu_factors(self, start: int, stop: int) -> np.ndarray:
        """``a[:, start:stop]``: (P, stop - start) float64 replicate factors per PSU."""
        if self.deleted is not None:
            dele = self.deleted[start:stop]
            h = self.psu_stratum[dele]
            same = self.psu_stratum[:, None] == h[None, :]
            a = np.where(same, _present(self.jk_factor, "jk_factor", self.kind)[:, None], 1.0)
            a[dele, np.arange(len(dele))] = 0.0
            return a
        alpha = _present(self.alpha, "alpha", self.kind)
        beta = _present(self.beta, "beta", self.kind)
        return alpha[:, None] + beta[:, None] * self.draw_counts(start, stop).astype(np.float64)

    @property
    def bootstrap(self) -> bool:
        """True for a bootstrap scheme (factors ``alpha + beta k`` of draw counts)."""
        return self.deleted is None and (self.counts is not None or self.draws is not None)

    def draw_counts(self, start: int, stop: int) -> np.ndarray:
        """Bootstrap: (P, stop - start) ``uint8`` draw counts ``k`` of replicates ``start..stop-1``."""
        if self.counts is not None:
            return self.counts[:, start:stop]
        draws = _present(self.draws, "draws", self.kind)
        return draws.counts(self.first + start, self.first + stop)

    def position_counts(self, start: int, stop: int, out: np.ndarray | None = None) -> np.ndarray:
        """Bootstrap: (stop - start, P) ``uint8`` draw counts by position (the PSU of each position:
        :meth:`position_psu`), made without the (P, R) transpose of :meth:`draw_counts` (into ``out`` when
        the draws are made here)."""
        if self.counts is not None:
            return np.ascontiguousarray(self.counts[:, start:stop].T)
        draws = _present(self.draws, "draws", self.kind)
        return draws.position_counts(self.first + start, self.first + stop, out)

    def position_psu(self) -> np.ndarray:
        """Bootstrap: (P,) the PSU code of each position of :meth:`position_counts`."""
        return self.draws.order if self.counts is None and self.draws is not None else np.arange(self.n_psu)

    def draws_only(self) -> ReplicateWeights:
        """The scheme as the atom path's blocks need it: the draws (stratum sizes and seed), the variance
        multipliers and the replicate numbering, without the row- and PSU-level arrays (kilobytes to send to a
        Dask worker instead of some 40 bytes a row). :meth:`position_counts` and :meth:`subset` work on it,
        nothing row- or PSU-level does."""
        no_int, no_float = np.zeros(0, dtype=np.int64), np.zeros(0)
        draws = None if self.draws is None else replace(self.draws, order=no_int)
        return replace(
            self, psu=no_int, psu_stratum=no_int, design_weights=no_float, alpha=None, beta=None, draws=draws
        )

    def subset(self, start: int, stop: int) -> ReplicateWeights:
        """Replicates ``start..stop-1`` as a self-contained :class:`ReplicateWeights` (same ``scale``)."""
        return replace(
            self,
            rscales=self.rscales[start:stop],
            counts=None if self.counts is None else self.counts[:, start:stop],
            deleted=None if self.deleted is None else self.deleted[start:stop],
            cell_g=None if self.cell_g is None else self.cell_g[:, start:stop],
            first=self.first + start,
        )

    def full_weights(self) -> np.ndarray:
        """Full-sample weights ``d * g_full`` (``d`` when not re-calibrated)."""
        if self.full_cell_g is None:
            return self.design_weights.copy()
        return self.design_weights * self.full_cell_g[_present(self.calibration, "calibration", self.kind).cell]

    def replicate_weights(self, start: int, stop: int) -> np.ndarray:
        """Replicate weights of rows (n, stop - start) for replicates ``start..stop-1`` (one chunk)."""
        w = self.design_weights[:, None] * self.psu_factors(start, stop)[self.psu]
        if self.cell_g is not None:
            w *= self.cell_g[_present(self.calibration, "calibration", self.kind).cell, start:stop]
        return w

    def row_factors_frame(self, start: int = 0, stop: int | None = None) -> pd.DataFrame:
        """Row-level replicate factors ``a[psu_i, r]`` (no ``d``, no ``g``) as a frame ``rep1..repR``,
        e.g. to hand them to R's ``svrepdesign(repweights=..., combined.weights = FALSE)``."""
        stop = self.n_replicates if stop is None else stop
        a = self.psu_factors(start, stop)[self.psu]
        return pd.DataFrame(a, columns=[f"rep{r + 1}" for r in range(start, stop)])


# --- building the replicate schemes ----------------------------------------------------------------


def _lonely(design: Design, n_h: np.ndarray, scheme: str) -> tuple[np.ndarray, float]:
    """Strata with a single PSU that are not a census (``f_h < 1``; a census stratum has no variance and no
    replicates), and the factor on the variance of the other strata: ``certainty``/``remove``: the stratum
    gets no replicates (no variance), factor 1; ``average``: no replicates, and every other stratum's
    contribution times ``H / (H - L)`` (as R ``survey.lonely.psu = "average"``); ``fail`` and ``adjust``
    (the uncentred single PSU has no replicate analogue): an error naming the stratum."""
    f = design.sampling_fractions()
    lonely = (n_h == 1) & (f < 1.0 - 1e-7)
    if lonely.any() and design.lonely_psu in ("fail", "adjust"):
        h = int(np.flatnonzero(lonely)[0])
        what = (
            "dess varians kan inte skattas (lonely-PSU policy 'fail'; välj 'certainty', 'remove' eller 'average')"
            if design.lonely_psu == "fail"
            else f"regeln 'adjust' för ensamma PSU:er (lonely-PSU policy 'adjust') finns inte för {scheme}-replikat "
            f"(använd 'certainty', 'remove', 'average' eller linjärisering)"
        )
        raise DesignError(f"stratum {design.strata_labels[h]!r} har en enda PSU (single PSU); {what}")
    factor = 1.0
    if lonely.any() and design.lonely_psu == "average":
        factor = design.n_strata / (design.n_strata - int(lonely.sum()))
    return lonely | (n_h == 1), factor


def jackknife_replicates(design: Design) -> ReplicateWeights:
    """Stratified delete-one-PSU jackknife, JKn (Wolter 2007, sec. 4.5; R ``as.svrepdesign(type="JKn")``).

    Replicate ``(h, j)``: ``a = 0`` for PSU ``j`` of stratum ``h``, ``n_h / (n_h - 1)`` for the other PSUs
    of ``h``, 1 elsewhere; ``rscale_{hj} = (n_h - 1) / n_h (1 - f_h)``, ``scale = 1``, so
    ``V = sum_h (1 - f_h) (n_h - 1) / n_h sum_j (theta_(hj) - c)^2``. Replicates are ordered by stratum
    code, then PSU code. Single-PSU strata follow the design's lonely-PSU policy ('certainty' drops them);
    census strata (``f_h = 1``) give no replicates. Base weights are ``design.design_weights``
    (use :func:`recalibrate` to re-calibrate every replicate).
    """
    psu_stratum, n_h = design.psu_strata()
    _, factor = _lonely(design, n_h, "JKn")
    f = design.sampling_fractions()
    n_ps = n_h[psu_stratum]
    keep = (n_ps > 1) & (f[psu_stratum] < 1.0)
    order = np.lexsort((np.arange(len(psu_stratum)), psu_stratum))
    deleted = order[keep[order]].astype(np.int64)
    if len(deleted) == 0:
        raise DesignError("inga jackknife-replikat: varje stratum är en totalundersökning eller har en enda PSU")
    with np.errstate(divide="ignore", invalid="ignore"):
        jk = np.where(n_ps > 1, n_ps / np.maximum(n_ps - 1, 1), 1.0)
    hd = psu_stratum[deleted]
    rscales = (n_h[hd] - 1) / n_h[hd] * (1.0 - f[hd]) * factor
    return ReplicateWeights(
        kind="JKn",
        psu=design.psu_codes(),
        psu_stratum=psu_stratum,
        design_weights=np.asarray(design.design_weights, dtype=float),
        scale=1.0,
        rscales=rscales,
        deleted=deleted,
        jk_factor=jk,
    )


def bootstrap_replicates(
    design: Design, replicates: int = 200, seed: int | None = 0, *, method: BootstrapMethod = "rao_wu"
) -> ReplicateWeights:
    """Rescaling bootstrap replicates (see the module docstring for both methods and their R equivalents).

    ``rao_wu`` (Rao & Wu 1988): ``m_h = n_h - 1`` draws with replacement per stratum,
    ``a_hj = 1 - lambda_h + lambda_h n_h / (n_h - 1) k_hj``, ``lambda_h = sqrt(1 - f_h)``;
    ``V = 1 / (R - 1) sum_r (theta_r - c)^2``. ``canty_davison``: ``m_h = n_h``, ``a_hj = k_hj``,
    ``scale = nbar / ((nbar - 1)(R - 1))`` (R's ``type = "bootstrap"``; no fpc).
    The draws are made on demand, replicate ``r`` from ``SeedSequence(seed, spawn_key=(r,))``
    (:class:`BootstrapDraws`; ``seed`` None: fresh entropy, kept in ``draws.entropy``).
    """
    if replicates < 2:
        raise DesignError(f"bootstrap behöver minst 2 replikat, fick {replicates}")
    if method not in ("rao_wu", "canty_davison"):
        raise DesignError(f"okänd bootstrapmetod {method!r}; välj 'rao_wu' eller 'canty_davison'")
    psu_stratum, n_h = design.psu_strata()
    lonely, factor = _lonely(design, n_h, "bootstrap")
    f = design.sampling_fractions()
    if method == "canty_davison" and design.fpc is not None:
        raise DesignError("bootstrapmetoden canty_davison finns bara utan fpc; använd method='rao_wu'")
    n_psu = len(psu_stratum)
    m_h = np.maximum(np.where(lonely, 0, n_h - 1 if method == "rao_wu" else n_h), 0).astype(np.int64)
    order = np.lexsort((np.arange(n_psu), psu_stratum))  # PSUs grouped by stratum
    entropy = int(seed) if seed is not None else int(cast(int, np.random.SeedSequence().entropy))
    draws = BootstrapDraws(entropy=entropy, order=order, n_h=np.asarray(n_h, dtype=np.int64), m_h=m_h)
    if method == "rao_wu":
        lam = np.sqrt(1.0 - f)[psu_stratum]
        n_ps = n_h[psu_stratum].astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            beta = np.where(n_ps > 1, lam * n_ps / np.maximum(n_ps - 1, 1), 0.0)
        alpha = np.where(n_ps > 1, 1.0 - lam, 1.0)
        scale = factor / (replicates - 1)
        kind = "bootstrap"
    else:
        beta = np.where(lonely[psu_stratum], 0.0, 1.0)
        alpha = 1.0 - beta
        nbar = float(1.0 / np.mean(1.0 / n_h[n_h > 0]))
        scale = factor * nbar / ((nbar - 1.0) * (replicates - 1))
        kind = "canty_davison"
    return ReplicateWeights(
        kind=kind,
        psu=design.psu_codes(),
        psu_stratum=psu_stratum,
        design_weights=np.asarray(design.design_weights, dtype=float),
        scale=scale,
        rscales=np.ones(replicates),
        alpha=alpha,
        beta=beta,
        draws=draws,
    )
