"""What the flows share: the step runner that makes each pipeline step a Prefect task, the database URL
(from a secret, never a parameter), lineage, and artifacts.

Frames travel between tasks in memory; ``cache_policy=NO_CACHE`` because hashing a million-row frame
costs more than the step (shared/notes/stack.md). One task per step, never per indicator or row.

Every task has a timeout; the database steps retry on connection errors only (bounded, with backoff); the
load of a wave holds a Prefect global concurrency limit of one slot per database, so a second run that
would load or replace a wave of the same database waits until the first has committed; it logs the first
run (flow run name and id, recorded by the holder in a Prefect variable named as the limit) and, when it
has waited ``$TRYGGHET_LOAD_WAIT_S`` (default an hour), fails with a message naming that run.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from prefect import task
from prefect.cache_policies import NO_CACHE

from flows.dask_runner import replicate_runner
from survey.errors import ConfigError
from survey.pipeline.config import RunConfig, mask_url
from survey.pipeline.surveys import (
    SurveyConfig,
    data_dir,
    flow_config,
    flow_database,
    has_password,
    run_key,
)

# Every task has a timeout (seconds): a step that hangs fails the flow run instead of holding a worker.
TASK_TIMEOUT_S = 3600.0
# One year of one survey (all its steps), one survey (all its years), the annual report (every survey).
YEAR_TIMEOUT_S = 2 * 3600.0
SURVEY_TIMEOUT_S = 6 * 3600.0
REPORT_TIMEOUT_S = 12 * 3600.0
# The steps that talk to the database, and their retries on connection errors: 3 retries after 2, 10, 30 s.
DB_STEPS = frozenset({"open-store", "store"})
RETRY_DELAYS_S: tuple[float, ...] = (2.0, 10.0, 30.0)
# How long a load waits for another run's load of the same database before it fails (default; the
# environment's TRYGGHET_LOAD_WAIT_S overrides it).
LOAD_WAIT_S = 3600.0


def is_connection_error(exc: BaseException | None) -> bool:
    """Whether ``exc`` (or an exception it was raised from) is a lost or refused database connection:
    SQLAlchemy's ``OperationalError``/``DisconnectionError``, a DB-API ``OperationalError`` (psycopg, sqlite3:
    the DB-API 2.0 name for connection and locking failures), or Python's ``ConnectionError``."""
    from sqlalchemy import exc as sa_exc

    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if _permanent(exc):  # the server answered: no such database or role, a wrong password
            return False
        if isinstance(exc, (sa_exc.OperationalError, sa_exc.DisconnectionError, ConnectionError)):
            return True
        if any(c.__name__ == "OperationalError" for c in type(exc).__mro__):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


# the server's answers that no retry changes (PostgreSQL SQLSTATE, or its words when a connection is refused
# before it has a session): a database or role that does not exist, a failed authentication
_PERMANENT_STATES = frozenset({"3D000", "28000", "28P01"})
_PERMANENT_WORDS = ("does not exist", "password authentication failed", "no pg_hba.conf entry")


def _permanent(exc: BaseException) -> bool:
    state = getattr(exc, "sqlstate", None) or getattr(getattr(exc, "orig", None), "sqlstate", None)
    return state in _PERMANENT_STATES or any(w in str(exc) for w in _PERMANENT_WORDS)


def retry_on_connection_error(_task: Any, _task_run: Any, state: Any) -> bool:
    """Prefect ``retry_condition_fn``: retry a failed database step only when the database was unreachable."""
    try:
        exc = state.result(raise_on_failure=False)
    except Exception as err:
        exc = err
    return isinstance(exc, BaseException) and is_connection_error(exc)


def load_limit_name(db_url: str) -> str:
    """The global concurrency limit of loads into one database (the password plays no part)."""
    return "trygghet-load-" + hashlib.sha256(mask_url(db_url).encode()).hexdigest()[:12]


def load_wait_s() -> float:
    """How long a load waits for another run's load of the same database: ``$TRYGGHET_LOAD_WAIT_S`` seconds,
    default :data:`LOAD_WAIT_S`."""
    raw = os.environ.get("TRYGGHET_LOAD_WAIT_S", "").strip()
    try:
        return float(raw) if raw else LOAD_WAIT_S
    except ValueError:
        raise ConfigError(
            f"Miljövariabeln TRYGGHET_LOAD_WAIT_S ska vara ett antal sekunder, inte {raw!r}.",
            option="TRYGGHET_LOAD_WAIT_S",
        ) from None


def load_holder(name: str) -> dict[str, Any] | None:
    """The run holding the load limit ``name`` (as it recorded itself in the Prefect variable of the same
    name: flow run id and name, flow, since when; ``{}`` when the holder did not record itself), or None
    when no run holds it."""
    from prefect.client.orchestration import get_client
    from prefect.variables import Variable

    with get_client(sync_client=True) as client:
        try:
            busy = client.read_global_concurrency_limit_by_name(name).active_slots > 0
        except Exception:  # no limit yet: nobody holds it
            busy = False
    value = Variable.get(name, default=None) if busy else None
    return value if isinstance(value, dict) else ({} if busy else None)  # {}: held, by a run that did not say


def describe_holder(holder: dict[str, Any] | None) -> str:
    """``Prefect-körningen NAME (id ID, flödet FLOW, sedan TIME)`` for messages and logs."""
    if not holder:
        return "en annan körning"
    labels = {"flow_run_id": "id", "flow": "flödet", "since": "sedan"}
    extra = ", ".join(f"{label} {holder[k]}" for k, label in labels.items() if holder.get(k))
    return f"Prefect-körningen {holder.get('flow_run_name') or '?'}" + (f" ({extra})" if extra else "")


def _exclusive(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn(db_url, ...)`` holding the one slot of the database's load limit (created when missing). The
    holder records itself (flow run id and name) in the Prefect variable of the limit's name, so a second
    run that would load into the same database logs whom it waits for, and, when the wait is over
    (:func:`load_wait_s`), fails with a message naming that run."""

    def store_step(db_url: str, *args: Any) -> Any:
        from prefect.client.orchestration import get_client
        from prefect.concurrency.sync import concurrency
        from prefect.logging import get_run_logger

        name, wait_s, log = load_limit_name(db_url), load_wait_s(), get_run_logger()
        # (created at the same moment by another run: then it exists, and that is all we need)
        with get_client(sync_client=True) as client, contextlib.suppress(Exception):
            client.upsert_global_concurrency_limit_by_name(name, limit=1)
        first = load_holder(name)
        if first is not None:
            log.warning(
                "Databasen laddas av %s; väntar högst %.0f s (gränsen %s)", describe_holder(first), wait_s, name
            )
        try:
            with concurrency(name, occupy=1, timeout_seconds=wait_s, strict=True), _holding(name):
                return fn(db_url, *args)
        except TimeoutError:
            holder = load_holder(name) or first
            raise ConfigError(
                f"{describe_holder(holder)} laddar in en våg i samma databas; den här körningen har väntat "
                f"i {wait_s:.0f} s ($TRYGGHET_LOAD_WAIT_S) på gränsen {name} (Prefect, fliken Concurrency) "
                f"och laddar inte samtidigt. Försök igen när den körningen är klar.",
                option="db",
            ) from None

    store_step.__name__ = store_step.__qualname__ = getattr(fn, "__name__", "store_step")
    return store_step


@contextlib.contextmanager
def _holding(name: str) -> Iterator[None]:
    """Record this flow run as the holder of the load limit ``name`` (Prefect variable ``name``) while
    it loads; the record is removed afterwards (a run that died leaves one that the next holder replaces)."""
    from prefect.variables import Variable

    info = flow_run_info()
    me = {
        "flow_run_id": info.get("flow_run_id", ""),
        "flow_run_name": info.get("flow_run_name", ""),
        "flow": info.get("flow", ""),
        "since": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
    }
    Variable.set(name, me, overwrite=True)
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            Variable.unset(name)


class PrefectSteps:
    """:class:`survey.pipeline.runner.StepRunner` for flows: each step a task of the running flow.

    ``tags`` go on every task (e.g. ``kommun:solna``); every task has ``timeout_s``; the database steps
    (:data:`DB_STEPS`) retry after each of ``retry_delays_s`` on connection errors only; the load of a wave
    holds the database's load limit (:func:`load_limit_name`) unless ``exclusive_load`` is false. Replicate
    variance runs in blocks on Dask when ``$TRYGGHET_TASK_RUNNER=dask`` (:mod:`flows.dask_runner`).
    """

    def __init__(
        self,
        tags: tuple[str, ...] | list[str] = (),
        *,
        timeout_s: float = TASK_TIMEOUT_S,
        retry_delays_s: tuple[float, ...] = RETRY_DELAYS_S,
        exclusive_load: bool = True,
    ) -> None:
        self.tags = tuple(tags)
        self.timeout_s = timeout_s
        self.retry_delays_s = tuple(retry_delays_s)
        self.exclusive_load = exclusive_load
        self.replicate_blocks = replicate_runner()

    def run(self, name: str, fn: Callable[..., Any], *args: Any) -> Any:
        return self._task(name, fn)(*args)

    def submit(self, name: str, fn: Callable[..., Any], *args: Any) -> Any:
        if name == "store" and self.exclusive_load:
            fn = _exclusive(fn)
        return self._task(name, fn).submit(*args)

    def _task(self, name: str, fn: Callable[..., Any]) -> Any:
        opts: dict[str, Any] = {
            "name": name,
            "cache_policy": NO_CACHE,
            "timeout_seconds": self.timeout_s,
            "tags": list(self.tags),
        }
        if name in DB_STEPS and self.retry_delays_s:
            opts.update(
                retries=len(self.retry_delays_s),
                retry_delay_seconds=list(self.retry_delays_s),
                retry_condition_fn=retry_on_connection_error,
            )
        return task(fn, **opts)


def flow_run_info() -> dict[str, Any]:
    """The Prefect flow run this code runs in (id, name, flow, parent, deployment), for trygghet's lineage."""
    from prefect.runtime import deployment, flow_run

    info = {
        "flow_run_id": flow_run.id,
        "flow_run_name": flow_run.name,
        "flow": flow_run.flow_name,
        "parent_flow_run_id": flow_run.parent_flow_run_id,
        "root_flow_run_id": flow_run.root_flow_run_id,
        "deployment_id": deployment.id or flow_run.parent_deployment_id,
        "deployment": deployment.name,
    }
    return {k: str(v) for k, v in info.items() if v}


# --- the database URL: a parameter never carries a password ------------------------------------------
def secret_value(block: str) -> str:
    """The value of the Prefect Secret block ``block`` (ConfigError naming the block when it is missing)."""
    from prefect.blocks.system import Secret

    try:
        value = cast("Secret[str]", Secret.load(block)).get()
    except ValueError:
        raise ConfigError(
            f"Prefect Secret-blocket {block!r} finns inte; skapa det i Prefect (Blocks → Secret) "
            f"med databasens URL som värde.",
            option="db_secret",
        ) from None
    return str(value)


def env_value(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise ConfigError(
            f"Miljövariabeln {name} (databasens URL) är inte satt där flödet körs (arbetaren).", option="db_env"
        )
    return value


def survey_database(survey: SurveyConfig) -> str:
    """The database URL of a survey: its Secret block, its environment variable, its ``db`` or the default
    SQLite file (whose folder is created)."""
    if survey.db_secret:
        return secret_value(survey.db_secret)
    if survey.db_env:
        return env_value(survey.db_env)
    return sqlite_folder(survey.database() or "")


def sqlite_folder(url: str) -> str:
    """``url``, with the folder of its SQLite file created (other databases: unchanged)."""
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return url


def database_url(db: str | None, db_secret: str | None) -> str | None:
    """A flow's database from its parameters: ``db_secret`` (a Secret block's name) or ``db`` (a URL without
    a password; a password must come from a Secret block or ``$TRYGGHET_DATABASE_URL``), else
    :func:`survey.pipeline.surveys.flow_database` (a relative SQLite file in the data folder; none given:
    ``$TRYGGHET_DATABASE_URL``, or ``<data>/db/trygghet.sqlite``; never a file in the checkout)."""
    if db is not None and has_password(db):
        raise ConfigError(
            "Databas-URL:en i parametern db innehåller ett lösenord; en parameter sparas och visas "
            "i Prefect. Lägg URL:en i ett Secret-block (parametern db_secret) eller i "
            "$TRYGGHET_DATABASE_URL hos arbetaren.",
            option="db",
        )
    if db_secret:
        return secret_value(db_secret)
    url = flow_database(db)
    return sqlite_folder(url) if url is not None else None


def with_database(config: RunConfig, db_secret: str | None) -> RunConfig:
    """``config`` with its database from ``db_secret`` (a RunConfig parameter never carries a password)."""
    url = database_url(config.db, db_secret)
    return config if url == config.db else config.model_copy(update={"db": url})


def in_data_folder(config: RunConfig, db_secret: str | None = None) -> RunConfig:
    """A flow's run configuration: its database (:func:`with_database`), relative paths against the data
    folder and a relative ``out`` as ``<data>/runs/<out>/<flow-run id>`` (:func:`survey.pipeline.surveys.
    flow_config`), never the checkout the worker runs in."""
    config = flow_config(with_database(config, db_secret), flow_run_info().get("flow_run_id") or run_key())
    if config.db is not None:
        sqlite_folder(config.db)
    return config


def output_folder(out: str | None, run_id: str) -> str | None:
    """A flow's ``out`` parameter for the run ``run_id``: an absolute folder as given, a relative one as
    ``<data>/runs/<out>/<run_id>``; None stays None (the run's own folder)."""
    if out is None or Path(out).is_absolute():
        return out
    return str(data_dir() / "runs" / out / run_id)


# --- artifacts (counts and links, never a cell's value) ------------------------------------------------
def run_markdown(title: str, res: Any, flow_run: dict[str, Any]) -> str:
    """Markdown of one run (``survey.pipeline.runner.RunResult``): trygghet's run id, the Prefect flow run,
    the report and output folder, counts and step times. No estimate appears here: suppressed cells
    never reach the Prefect UI."""
    counts = res.lineage.get("counts", {})
    report = res.files.get("report")
    lines = [
        f"# {title}",
        "",
        f"- trygghet-körning: `{res.run_id}`",
        f"- Prefect-körning: `{flow_run.get('flow_run_id', '')}` ({flow_run.get('flow_run_name', '')})",
        f"- Utkatalog: [{res.out_dir}]({Path(res.out_dir).resolve().as_uri()})",
    ]
    if report is not None:
        lines.append(f"- Rapport: [{Path(report).name}]({Path(report).resolve().as_uri()})")
    lines.append(
        f"- Svarande: {counts.get('respondents', '')}, skattningar: {counts.get('estimates', '')}, "
        f"varav undertryckta: {counts.get('suppressed', '')} (inga värden visas här)"
    )
    lines += ["", "| steg | sekunder |", "|---|---|"]
    lines += [f"| {k} | {v:.2f} |" for k, v in res.steps.items()]
    return "\n".join(lines) + "\n"


def ingest_artifact(wave: Any, status: str) -> None:
    """Table artifact: rows read, accepted and quarantined by reason, per file (no cell values)."""
    from prefect.artifacts import create_table_artifact

    rows: list[dict[str, Any]] = []
    for r in (wave.responses, wave.population):
        q = r.quarantine
        rows.append(
            {
                "fil": r.source.name,
                "rader": r.source.n_rows,
                "godkända": len(r.data),
                "karantän": int(q["source_row"].nunique()) if len(q) else 0,
                "skäl": "",
                "databas": status,
            }
        )
        if len(q):
            for reason, k in q.groupby("reason")["source_row"].nunique().items():
                rows.append(
                    {
                        "fil": r.source.name,
                        "rader": "",
                        "godkända": "",
                        "karantän": int(k),
                        "skäl": str(reason),
                        "databas": "",
                    }
                )
    create_table_artifact(
        key="ingest-summary", table=rows, description="Inläsning: rader per fil och karantän per skäl"
    )


def run_artifact(run_id: str, step: str, db: str | None) -> None:
    """Markdown artifact linking the Prefect flow run to trygghet's run id and the steps it has done."""
    from prefect.artifacts import create_markdown_artifact

    create_markdown_artifact(
        key=f"trygghet-{step}",
        description=f"trygghet-körning, steg {step}",
        markdown=f"# trygghet-körning `{run_id}`\n\nSteg klart: **{step}**.\n\n"
        f"Nästa steg tar körnings-id:t `{run_id}` som parameter.\n",
    )


def publish_artifact(run_id: str, pub: Any) -> None:
    """Markdown artifact: the report's address and the published tables (names only: no cell values)."""
    from prefect.artifacts import create_markdown_artifact

    index = pub.index.resolve().as_uri() if pub.index is not None else ""
    lines = [
        f"# Publicerat: trygghet-körning `{run_id}`",
        "",
        f"Rapport: [{pub.index}]({index})",
        "",
        f"{len(pub.tables)} tabeller:",
        *[f"- {t}" for t in pub.tables],
    ]
    create_markdown_artifact(
        key="published-tables", markdown="\n".join(lines) + "\n", description="Publicerade tabeller och rapport"
    )
