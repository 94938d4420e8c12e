"""Benchmark of the store step (and, with ``survey.data.ingest``, the whole read + validate + store).

``python -m bench.bench_ingest [--n N] [--url URL ...]`` prints one line per measurement and a JSON list.
Without ``--url`` it measures a temporary SQLite file and, when reachable, PostgreSQL at
``$TRYGGHET_BENCH_PG_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``) in a schema of
its own that is dropped afterwards.

Each measurement reports wall seconds, rows per second, this process's CPU seconds, on PostgreSQL the CPU
seconds of the server processes serving the benchmark's connections (``server_cpu_s``: the backends, found
by the benchmark's own ``application_name``, read from /proc when the server runs on this machine, also one that
a second connection opens and closes within the step) and of
the server's WAL writer, checkpointer and background writer (``server_aux_cpu_s``, shared with whatever
else uses the server), the peak resident memory above the level at the start of the step (sampled every
10 ms from /proc/self/statm) and the load average (numbers taken on a busy machine are slower than the code).

``--ceiling`` adds what the drivers can do at all, without the store: 1,000,000 rows of the ``responses``
table's shape inserted by plain ``sqlite3`` (multi-row INSERT, one transaction) and by plain psycopg COPY,
and the same rows copied inside the database (``INSERT ... SELECT``), whose time no client can beat.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from survey.data.store import Store

DEFAULT_PG = os.environ.get("TRYGGHET_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


# --- memory sampling ---------------------------------------------------------------------------------


def _rss() -> int:
    """Resident set size of this process in bytes (Linux; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 0


def _proc_cpu(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (0 when it is gone or /proc is not there)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


#: Server processes whose work a bulk load causes but that serve every connection of the server.
AUX_BACKENDS = ("walwriter", "checkpointer", "background writer")


class ServerCPU:
    """CPU seconds of the PostgreSQL processes serving connections named ``application`` (and of the server's
    WAL writer, checkpointer and background writer), read from /proc: the server must run on this machine."""

    def __init__(self, url: str, application: str) -> None:
        self.engine = sa.create_engine(url)
        self.application = application

    def snapshot(self) -> dict[str, dict[int, float]]:
        with self.engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT pid, backend_type, application_name FROM pg_stat_activity").all()
        own = {int(pid): _proc_cpu(pid) for pid, _, app in rows if app == self.application}
        aux = {int(pid): _proc_cpu(pid) for pid, kind, _ in rows if kind in AUX_BACKENDS}
        return {"own": own, "aux": aux}

    def own_pids(self) -> set[int]:
        """The backends serving connections named ``application`` now."""
        with self.engine.connect() as conn:
            sql = "SELECT pid FROM pg_stat_activity WHERE application_name = %(app)s"
            return {int(r[0]) for r in conn.exec_driver_sql(sql, {"app": self.application})}

    @staticmethod
    def delta(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]], part: str) -> float:
        """CPU seconds spent between two snapshots (a process started in between counts from zero)."""
        return sum(cpu - before[part].get(pid, 0.0) for pid, cpu in after[part].items())

    def close(self) -> None:
        self.engine.dispose()


@contextmanager
def measure(result: dict[str, Any], rows: int, server: ServerCPU | None = None) -> Iterator[None]:
    """Time the block and sample its peak RSS; fills ``seconds``, ``rows_per_s``, ``cpu_s`` (this process's
    CPU time), with ``server`` ``server_cpu_s`` and ``server_aux_cpu_s`` (see the module docstring),
    ``peak_mb`` and ``load_avg`` (to spot a busy machine)."""
    gc.collect()
    base = _rss()
    peak = [base]
    stop = threading.Event()

    pids: set[int] = set()
    seen: dict[int, float] = {}  # the last CPU reading of each of our backends during the block

    def sample() -> None:  # a backend that ends within the block (a second connection) is counted too
        k = 0
        while not stop.wait(0.01):
            peak[0] = max(peak[0], _rss())
            if server is not None:
                if k % 10 == 0:
                    pids.update(server.own_pids())
                for pid in pids:
                    if (cpu := _proc_cpu(pid)) > 0:
                        seen[pid] = cpu
                k += 1

    t = threading.Thread(target=sample, daemon=True)
    before = server.snapshot() if server is not None else None
    t.start()
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        yield
    finally:
        seconds = time.perf_counter() - t0
        cpu = time.process_time() - c0
        stop.set()
        t.join()
        peak[0] = max(peak[0], _rss())
        result.update(
            rows=rows,
            seconds=round(seconds, 3),
            rows_per_s=round(rows / seconds) if seconds else None,
            cpu_s=round(cpu, 3),
        )
        if server is not None and before is not None:
            after = server.snapshot()
            after["own"] = {**seen, **after["own"]}
            result.update(
                server_cpu_s=round(server.delta(before, after, "own"), 3),
                server_aux_cpu_s=round(server.delta(before, after, "aux"), 3),
            )
        result.update(peak_mb=round((peak[0] - base) / 2**20, 1), load_avg=round(os.getloadavg()[0], 2))


# --- inputs --------------------------------------------------------------------------------------------


def make_wave(n: int, seed: int = 2026) -> Any:
    """A canonical wave of ``n`` respondents (survey.data.synth when there, else repeated rows)."""
    from survey.data.ingest import IngestResult, SourceFile, Wave

    try:
        from survey.data.synth import generate_wave

        raw, pop = generate_wave(n, 20, 4, seed)
    except ImportError:  # pragma: no cover - synth is another colleague's module
        raise NotImplementedError("bench_ingest needs survey.data.synth.generate_wave to build its inputs") from None
    comment = raw.pop("comment") if "comment" in raw.columns else None
    raw["source_row"] = np.arange(2, len(raw) + 2, dtype="int64")
    free = pd.DataFrame(columns=["resp_id", "year", "comment"])
    if comment is not None:
        has = comment.notna()
        free = pd.DataFrame(
            {"resp_id": raw.loc[has, "resp_id"], "year": raw.loc[has, "year"].astype("Int64"), "comment": comment[has]}
        ).reset_index(drop=True)
    empty_q = pd.DataFrame(
        columns=["file", "source_row", "resp_id", "year", "column", "value", "check", "reason", "record"]
    )

    def src(kind: str, rows: int) -> SourceFile:
        return SourceFile(
            path=f"bench/{kind}.csv",
            name=f"{kind}.csv",
            sha256=f"{kind}-{uuid.uuid4().hex}",
            format="csv",
            encoding="utf-8",
            delimiter=",",
            decimal=".",
            kind=kind,
            codebook_version="bench",
            mapping=None,
            n_rows=rows,
        )

    return Wave(
        responses=IngestResult(src("responses", len(raw)), raw, empty_q, free, []),
        population=IngestResult(src("population", len(pop)), pop, empty_q.iloc[:0], free.iloc[:0], []),
        notes=[],
    )


# --- databases -------------------------------------------------------------------------------------------


@contextmanager
def database(url: str) -> Iterator[str]:
    """A fresh database for ``url``: a new temp file for ``sqlite``, a new schema for PostgreSQL (whose
    connections carry the schema's name as ``application_name``, see :func:`server_cpu`)."""
    if url == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{Path(tmp) / 'bench.db'}"
        return
    if not url.startswith("postgresql"):
        yield url
        return
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        sep = "&" if "?" in url else "?"
        yield f"{url}{sep}options=-csearch_path%3D{schema}&application_name={schema}"
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


def server_cpu(url: str) -> ServerCPU | None:
    """The :class:`ServerCPU` of a PostgreSQL URL of :func:`database` on this machine (else None)."""
    u = sa.make_url(url)
    application = u.query.get("application_name")
    if u.get_backend_name() != "postgresql" or not application or u.host not in ("127.0.0.1", "localhost", "::1"):
        return None
    admin = u.difference_update_query(["application_name", "options"])
    return ServerCPU(admin.render_as_string(hide_password=False), str(application))


def reachable(url: str = DEFAULT_PG) -> bool:
    """True when a connection to ``url`` can be opened."""
    engine = sa.create_engine(url)
    try:
        with engine.connect():
            return True
    except sa.exc.OperationalError:
        return False
    finally:
        engine.dispose()


def default_urls() -> list[str]:
    urls = ["sqlite"]
    if reachable(DEFAULT_PG):
        urls.append(DEFAULT_PG)
    else:
        print(f"PostgreSQL not reachable at {DEFAULT_PG}: skipped")
    return urls


# --- the benchmark ---------------------------------------------------------------------------------------


def _full_pipeline(n: int, db: str, out: list[dict], label: str) -> None:
    """read + validate (survey.data.ingest.load_wave on CSV files written by survey.data.synth) + store."""
    try:
        from survey.data.ingest import load_wave
        from survey.data.synth import generate_wave, write_wave
    except ImportError as exc:  # pragma: no cover
        print(f"full pipeline skipped: {exc}")
        return
    with tempfile.TemporaryDirectory() as tmp:
        r, p = generate_wave(n, 20, 4, 7)
        rpath, ppath = write_wave(r, p, tmp)
        del r, p
        res: dict[str, Any] = {"db": label, "step": "read+validate+store (CSV)"}
        with measure(res, n):
            wave = load_wave(rpath, ppath)
            store = Store(db)
            store.load_wave(wave)
        store.close()
        out.append(res)
        print(_line(res))


def _line(r: dict) -> str:
    server = f"  server {r['server_cpu_s']:>5.2f} + {r['server_aux_cpu_s']:.2f} s" if "server_cpu_s" in r else ""
    return (
        f"{r['db']:<10} {r['step']:<28} {r['rows']:>9} rows {r['seconds']:>7.2f} s "
        f"{r['rows_per_s']:>9} rows/s  cpu {r['cpu_s']:>6.2f} s{server}  peak +{r['peak_mb']} MB  load {r['load_avg']}"
    )


def _store_steps(n: int, wave: Any, db: str, label: str, results: list[dict]) -> None:
    """load_wave, responses() and save_run_outputs on the fresh database ``db``."""
    server = server_cpu(db)
    store = Store(db)
    try:
        r: dict[str, Any] = {"db": label, "step": "store load_wave"}
        with measure(r, n, server):
            report = store.load_wave(wave)
        results.append(r)
        print(_line(r))
        r = {"db": label, "step": "read responses()"}
        with measure(r, n, server):
            back = store.responses()
        assert len(back) == n
        del back
        results.append(r)
        print(_line(r))
        weights = wave.responses.data[["resp_id", "year"]].copy()
        weights["weight"] = wave.responses.data["design_weight"].fillna(1.0)
        run_id = store.begin_run({"bench": True}, "bench", "bench", report.source_ids)
        r = {"db": label, "step": "save_run_outputs weights"}
        with measure(r, n, server):
            store.save_run_outputs(
                run_id,
                weights=weights,
                diagnostics=pd.DataFrame({"year": [2022]}),
                estimates=pd.DataFrame({"indicator": ["x"], "estimate": [0.5]}),
                lineage={"bench": True},
            )
        results.append(r)
        print(_line(r))
    finally:
        store.close()
        if server is not None:
            server.close()


def run(n: int = 1_000_000, urls: list[str] | None = None, *, full: bool = True, ceiling: bool = False) -> list[dict]:
    """Measure store throughput for ``n`` respondents on each URL ("sqlite" = a temp file).

    Steps: ``load_wave`` (responses + free text + population, one transaction), ``responses()`` read
    back, ``save_run_outputs`` (n weights), with ``full`` the whole CSV read + validate + store and with
    ``ceiling`` the drivers' own rates (:mod:`bench.ceiling`).
    """
    urls = urls or default_urls()
    wave = make_wave(n)
    results: list[dict] = []
    for url in urls:
        label = "sqlite" if url.startswith("sqlite") else "postgresql"
        with database(url) as db:
            _store_steps(n, wave, db, label, results)
        if ceiling:
            from bench.ceiling import driver_ceiling

            with database(url) as db:
                for r in driver_ceiling(wave.responses.data, db, label, server_cpu(db)):
                    results.append(r)
                    print(_line(r))
        if full:
            with database(url) as db:
                _full_pipeline(n, db, results, label)
    return results


def main() -> None:  # pragma: no cover
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--url", action="append", help='database URL, or "sqlite" for a temp file (repeatable)')
    ap.add_argument("--no-full", action="store_true", help="skip the CSV read + validate + store measurement")
    ap.add_argument("--ceiling", action="store_true", help="also measure what the drivers alone can do")
    ap.add_argument("--out", type=Path, help="also write the JSON list to this file")
    args = ap.parse_args()
    text = json.dumps(run(args.n, args.url, full=not args.no_full, ceiling=args.ceiling), indent=1)
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":  # pragma: no cover
    main()
