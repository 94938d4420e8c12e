"""Weights and the design that carries them, stored under a run so the later steps can read them back.

The ``weight`` step stores (:meth:`WeightStore.save_weights`):

* per respondent, in the row order of the weighted frame (``position``): ``resp_id``, ``year``, the final
  weight and the design arrays of :class:`survey.design.Design` - ``design_weight``, ``stratum``, ``psu``,
  ``fpc`` - and of its :class:`survey.calibration.CalibrationModel` - ``cal_block``, ``cal_cell`` - in the
  ``weights`` table;
* the small parts of the design in ``run_designs.design`` (JSON): strata labels, lonely-PSU policy, and the
  calibration model's cell matrix ``cell_x``, cell blocks and bounds as the exact bytes of their float64 /
  int64 arrays (base64), block labels and variables, column names and method;
* the calibration *specification* that made the weights (method, margins, bounds, trim, collapse, by, ...)
  as ``runs.parameters["weighting"]``, and a calibration summary (iterations, margin errors, notes) in
  ``run_designs.calibration``;
* the diagnostics per year x district in ``weight_diagnostics``.

:meth:`WeightStore.run_weights` returns all of it, with the :class:`~survey.design.Design` rebuilt; every
float64 reads back bit for bit (COPY text of doubles is the shortest round-trip form; the small arrays are
bytes). The ``estimate`` and ``trend`` steps need only ``StoredWeights.design`` and the run's responses
(:meth:`survey.data.store.runs.RunStore.run_responses`, in the same row order, checked by
:meth:`StoredWeights.check_rows`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from survey.calibration import CalibrationModel
from survey.design import Design
from survey.errors import StoreError

from .bulk import arrow_types, bulk_insert, bulk_select
from .runs import RunOutputs, RunResults, RunStore, input_ids, read_run_frame, require_running
from .schema import WEIGHT_DTYPES, run_designs, runs, weights
from .staging import Stage, discard, insert_staged, stage_applies, stage_rows
from .values import as_tuple, clean_json, decode_array, encode_array, now

#: Keys the calibration specification must have (``WeightingOptions`` of ``survey.pipeline.steps``).
SPECIFICATION_KEYS: tuple[str, ...] = ("method", "margins", "bounds", "trim", "collapse", "by")
DESIGN_COLUMNS: tuple[str, ...] = ("design_weight", "stratum", "psu", "fpc", "cal_block", "cal_cell")
WEIGHTS_TABLE = weights  # save_run_outputs has a parameter named ``weights``


@dataclass
class StoredWeights:
    """A run's weights as the ``weight`` step stored them."""

    weights: pd.DataFrame  # resp_id, year, weight in the weighted frame's row order
    diagnostics: pd.DataFrame | None
    specification: dict[str, Any]  # runs.parameters["weighting"]
    calibration: dict[str, Any]  # summary: iterations, max_margin_error, notes, ...
    design: Design | None

    def check_rows(self, responses: pd.DataFrame) -> None:
        """A StoreError unless ``responses`` has the weighted rows in the same order (resp_id, year)."""
        same = (
            len(responses) == len(self.weights)
            and np.array_equal(
                responses["resp_id"].to_numpy(dtype=object), self.weights["resp_id"].to_numpy(dtype=object)
            )
            and np.array_equal(
                responses["year"].to_numpy(dtype=np.int64), self.weights["year"].to_numpy(dtype=np.int64)
            )
        )
        if not same:
            raise StoreError(
                f"Svaren ({len(responses)} rader) är inte de {len(self.weights)} viktade raderna i "
                f"samma ordning; läs dem med Store.run_responses(run_id)."
            )


#: The per-respondent arrays of the calibration model (stored as ``weights.cal_block`` / ``cal_cell``).
MODEL_ROWS: tuple[str, ...] = ("block", "cell")


def encode_value(value: Any) -> Any:
    """One field of the calibration model as JSON: arrays and float tuples as exact bytes, the rest as is."""
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        return {"array": encode_array(value, value.dtype.str)}
    if isinstance(value, tuple) and value and all(isinstance(v, (float, np.floating)) for v in value):
        return {"floats": encode_array(value, "<f8")}
    if isinstance(value, float):
        return {"floats": encode_array([value], "<f8"), "scalar": True}
    return {"json": clean_json(list(value) if isinstance(value, tuple) else value)}


def decode_value(doc: Any) -> Any:
    """The field value of :func:`encode_value`."""
    if doc is None:
        return None
    if "array" in doc:
        return decode_array(doc["array"])
    if "floats" in doc:
        values = tuple(float(v) for v in decode_array(doc["floats"]))
        return values[0] if doc.get("scalar") else values
    return as_tuple(doc["json"])


def design_document(design: Design) -> dict[str, Any]:
    """The small parts of a design as JSON: every field of its calibration model but the per-respondent
    ``block`` and ``cell`` (floats and arrays as exact bytes, so they read back bit for bit)."""
    m = design.calibration
    cal = (
        None
        if m is None
        else {f.name: encode_value(getattr(m, f.name)) for f in dataclasses.fields(m) if f.name not in MODEL_ROWS}
    )
    return {
        "strata_labels": clean_json(list(design.strata_labels)),
        "lonely_psu": design.lonely_psu,
        "psu": design.psu is not None,
        "fpc": design.fpc is not None,
        "calibration": cal,
    }


def design_rows(design: Design) -> dict[str, np.ndarray | None]:
    """The per-respondent arrays of a design (the ``weights`` table's design columns)."""
    m = design.calibration
    return {
        "design_weight": design.design_weights,
        "stratum": design.strata,
        "psu": design.psu,
        "fpc": design.fpc,
        "cal_block": None if m is None else m.block,
        "cal_cell": None if m is None else m.cell,
    }


def build_design(doc: Mapping[str, Any], rows: pd.DataFrame) -> Design:
    """The :class:`Design` of :func:`design_document` and the stored per-respondent columns."""

    def ints(name: str) -> np.ndarray:
        return rows[name].to_numpy(dtype=np.int64)

    cal = doc.get("calibration")
    model = None
    if cal is not None:
        known = {f.name for f in dataclasses.fields(CalibrationModel)}
        fields = {k: decode_value(v) for k, v in cal.items() if k in known}
        model = CalibrationModel(block=ints("cal_block"), cell=ints("cal_cell"), **fields)
    return Design(
        strata=ints("stratum"),
        strata_labels=as_tuple(doc["strata_labels"]),
        design_weights=rows["design_weight"].to_numpy(dtype=np.float64),
        weights=rows["weight"].to_numpy(dtype=np.float64),
        psu=ints("psu") if doc.get("psu") else None,
        fpc=rows["fpc"].to_numpy(dtype=np.float64) if doc.get("fpc") else None,
        calibration=model,
        lonely_psu=doc["lonely_psu"],
    )


def _weights_frame(run_id: str, w: pd.DataFrame, design: Design | None) -> pd.DataFrame:
    for col in ("resp_id", "year", "weight"):
        if col not in w.columns:
            raise StoreError(f"Kan inte spara körning {run_id}: viktramen saknar kolumnen {col!r}.")
    frame = w[["resp_id", "year", "weight"]].reset_index(drop=True)
    frame["position"] = np.arange(len(frame), dtype=np.int64)
    if design is not None:
        if design.n != len(frame):
            raise StoreError(
                f"Kan inte spara körning {run_id}: designen har {design.n} rader men vikterna {len(frame)}."
            )
        for name, values in design_rows(design).items():
            if values is not None:
                frame[name] = values
    return frame


class WeightStore(RunStore):
    """The ``weight`` step's outputs, and the whole-run save and read of ``trygghet run``."""

    def save_weights(
        self,
        run_id: str,
        weights_frame: pd.DataFrame,
        diagnostics: pd.DataFrame | None,
        *,
        specification: Mapping[str, Any] | Any,
        design: Design | None = None,
        calibration: Mapping[str, Any] | None = None,
        seconds: float | None = None,
    ) -> None:
        """The ``weight`` step: weights (with the design arrays), diagnostics, the calibration
        specification (as ``runs.parameters["weighting"]``) and summary, in one transaction."""
        spec = clean_json(specification)
        missing = [k for k in SPECIFICATION_KEYS if not isinstance(spec, dict) or k not in spec]
        if missing:
            raise StoreError(
                f"Kan inte spara vikterna i körning {run_id}: kalibreringsspecifikationen saknar "
                f"{', '.join(missing)} (behövs: {', '.join(SPECIFICATION_KEYS)})."
            )
        frame = _weights_frame(run_id, weights_frame, design)
        try:
            with self.writing("spara vikterna") as conn:
                row = require_running(conn, run_id)
                bulk_insert(conn, weights, frame, {"run_id": run_id})
                conn.execute(
                    run_designs.insert().values(
                        run_id=run_id,
                        design=None if design is None else design_document(design),
                        calibration=clean_json(dict(calibration or {})),
                    )
                )
                conn.execute(
                    runs.update()
                    .where(runs.c.run_id == run_id)
                    .values(parameters={**(row["parameters"] or {}), "weighting": spec})
                )
                self.store_step(conn, run_id, "weight", {"diagnostics": diagnostics}, seconds=seconds)
        except self.data_errors as exc:
            raise StoreError(
                f"Kan inte spara vikterna i körning {run_id} (inget skrevs): {getattr(exc, 'orig', exc)}"
            ) from exc

    def run_weights(self, run_id: str) -> StoredWeights:
        """What the ``weight`` step stored, the design rebuilt (see the module docstring)."""
        names = ["resp_id", "year", "weight", *DESIGN_COLUMNS, "position"]
        stmt = sa.select(*[weights.c[n] for n in names]).where(weights.c.run_id == run_id)
        with self.reading("läsa vikterna") as conn:
            run = self.run_row(conn, run_id)
            design_row = conn.execute(sa.select(run_designs).where(run_designs.c.run_id == run_id)).first()
            if design_row is None:
                raise StoreError(
                    f"Körning {run_id} har inga sparade vikter: viktsteget är inte gjort (steg: "
                    f"{', '.join(self.steps_frame(conn, run_id)['step']) or 'inga'})."
                )
            rows = bulk_select(
                conn,
                stmt,
                arrow_types(weights, names),
                {**WEIGHT_DTYPES, "design_weight": "float64", "fpc": "float64"},
                order=("position", "year", "resp_id"),
                large=True,
            )
            diagnostics = read_run_frame(conn, "diagnostics", run_id, (run["outputs_meta"] or {}).get("diagnostics"))
        doc = design_row.design
        return StoredWeights(
            weights=rows[["resp_id", "year", "weight"]].copy(),
            diagnostics=diagnostics,
            specification=(run["parameters"] or {}).get("weighting") or {},
            calibration=design_row.calibration or {},
            design=None if doc is None else build_design(doc, rows),
        )

    # -- a whole run at once (trygghet run) ---------------------------------------------------------------

    def save_run_outputs(
        self,
        run_id: str,
        *,
        weights: pd.DataFrame,
        diagnostics: pd.DataFrame,
        estimates: pd.DataFrame,
        comparisons: pd.DataFrame | None = None,
        trend: pd.DataFrame | None = None,
        lineage: dict[str, Any],
        finish: bool = True,
        by_group: pd.DataFrame | None = None,
        index: pd.DataFrame | None = None,
        design: Design | None = None,
        staged: Stage | None = None,
    ) -> None:
        """Store a run's outputs and lineage (run.json) in one transaction and mark it succeeded (with
        ``finish=False`` the run stays "running" until ``finish_run`` or ``fail_run``). The steps weight,
        estimate and trend are recorded as done. ``staged``: these weights as :meth:`stage_run_weights` staged
        them (the staging file is consumed: removed whatever happens)."""
        if staged is not None and (staged.table != WEIGHTS_TABLE.name or staged.rows != len(weights)):
            discard(staged)
            raise ValueError(f"staged rows {staged.table}×{staged.rows} are not these {len(weights)} weights")
        if "indicator" not in estimates.columns:
            if staged is not None:
                discard(staged)
            raise StoreError(f"Kan inte spara körning {run_id}: skattningarna saknar kolumnen 'indicator'.")
        frame = None
        stage = staged
        if stage is None:
            frame = _weights_frame(run_id, weights, design)
            stage = stage_rows(self.sqlite_path, WEIGHTS_TABLE, frame)
        try:
            with self.writing_with("spara körningens resultat", stage) as conn:
                require_running(conn, run_id)
                if stage is not None:
                    insert_staged(conn, WEIGHTS_TABLE, stage, {"run_id": run_id})
                elif frame is not None:
                    bulk_insert(conn, WEIGHTS_TABLE, frame, {"run_id": run_id})
                if design is not None:
                    conn.execute(
                        run_designs.insert().values(run_id=run_id, design=design_document(design), calibration={})
                    )
                self.store_step(conn, run_id, "weight", {"diagnostics": diagnostics})
                self.store_step(
                    conn,
                    run_id,
                    "estimate",
                    {"estimates": estimates, "comparisons": comparisons, "by_group": by_group, "index": index},
                )
                if trend is not None:
                    self.store_step(conn, run_id, "trend", {"trend": trend})
                done = {"status": "succeeded", "finished_at": now()} if finish else {}
                conn.execute(runs.update().where(runs.c.run_id == run_id).values(lineage=clean_json(lineage), **done))
        except self.data_errors as exc:
            raise StoreError(
                f"Kan inte spara körning {run_id}s resultat (inget skrevs): {getattr(exc, 'orig', exc)}"
            ) from exc

    def stage_run_weights(self, run_id: str, weights: pd.DataFrame, design: Design | None = None) -> Stage | None:
        """The rows :meth:`save_run_outputs` would store for ``weights``, staged by ADBC outside the GIL and
        outside any transaction (:mod:`survey.data.store.staging`; the run id, the same in every row, is bound
        once in the ``INSERT ... SELECT`` instead of staged 1M times), for ``save_run_outputs(staged=...)``:
        ``trygghet run`` stages them while the wave's load still holds the database. None where staging does
        not apply (PostgreSQL, an in-memory database, few rows, no driver). Touches no database; the caller
        passes the stage on or removes it (:func:`~survey.data.store.staging.discard`)."""
        if not stage_applies(self.sqlite_path, len(weights)):
            return None  # without building the rows for nothing
        return stage_rows(self.sqlite_path, WEIGHTS_TABLE, _weights_frame(run_id, weights, design))

    def stages_weights(self, rows: int) -> bool:
        """Whether :meth:`save_run_outputs` stores ``rows`` weights without holding the GIL for them: on
        PostgreSQL (the server does the work) and, staged, on a SQLite file (:mod:`survey.data.store.staging`)."""
        return self.dialect == "postgresql" or stage_applies(self.sqlite_path, rows)

    def run_outputs(self, run_id: str, *, include_weights: bool | None = None) -> RunOutputs:
        """A run's record and outputs, with the columns and dtypes they were saved with. The weights are
        read when ``include_weights`` (default: when the role may read them; ``report_reader`` may not)."""
        with self.reading("läsa körningens resultat") as conn:
            row = self.run_row(conn, run_id)
            inputs = input_ids(conn, run_id)
            if include_weights is None:
                include_weights = self.may_read(conn, weights)
            w = None
            if include_weights:
                w = bulk_select(
                    conn,
                    sa.select(weights.c.resp_id, weights.c.year, weights.c.weight)
                    .where(weights.c.run_id == run_id)
                    .order_by(weights.c.year, weights.c.resp_id),
                    arrow_types(weights, ["resp_id", "year", "weight"]),
                    WEIGHT_DTYPES,
                    large=True,
                )
            frames = self.run_frames(conn, run_id)
            steps = self.steps_frame(conn, run_id)["step"].tolist()
        run = {k: v for k, v in row.items() if k != "outputs_meta"}
        return RunOutputs(run=run, input_source_ids=inputs, weights=w, steps=steps, **frames)

    def run_results(self, run_id: str) -> RunResults:
        """What the ``publish`` step needs from a run id: its record (lineage, codebook name and version,
        sources, steps) and every output frame (estimates, comparisons, by_group, index, trend, ...), no
        respondent data."""
        record = self.run_record(run_id)
        with self.reading("läsa körningens resultat") as conn:
            frames = self.run_frames(conn, run_id)
        return RunResults(record=record, **frames)
