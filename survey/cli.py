"""The ``trygghet`` console script (Typer + Rich).

Each command is a thin wrapper over library functions; errors meant for a person (``TrygghetError``)
are printed as one paragraph with exit code 2, never as a traceback.
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console

from survey.errors import TrygghetError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="trygghet: Swedish safety surveys from vendor files to published tables.",
)
console = Console()
err_console = Console(stderr=True)


def friendly(fn: Callable) -> Callable:
    """Turn a TrygghetError into a one-paragraph message and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except TrygghetError as exc:
            err_console.print(f"[bold red]Fel:[/bold red] {exc}", soft_wrap=True, highlight=False)
            sys.exit(2)

    return wrapper


# --- commands (each area adds its own block below) -------------------------------------------------

from pathlib import Path  # noqa: E402

from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn  # noqa: E402


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err_console, transient=True
    )


def _cli_option(name: str, field: Any) -> tuple[Any, Any]:
    """The Typer annotation and option of one :class:`RunConfig` field (values are checked by pydantic,
    so that every mistake gets the same Swedish message, whether it comes from a flag or the file)."""
    flag = "--" + name.replace("_", "-")
    help_sv = (field.description or "").split(" / ")[0]
    if field.annotation is bool:
        return bool | None, typer.Option(
            None, f"{flag}/--no-{name.replace('_', '-')}", help=help_sv, show_default=False
        )
    if name == "collapse":
        return list[str] | None, typer.Option(None, flag, help=help_sv + " (kan upprepas)")
    return str | None, typer.Option(None, flag, help=help_sv, show_default=False)


def with_run_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Give a command every option of ``trygghet run`` (one per :class:`RunConfig` field) plus
    ``--config FILE``; the command receives the effective configuration as ``config``."""
    from survey.pipeline.config import FIELD_NAMES, RunConfig

    own = [p for p in inspect.signature(fn).parameters.values() if p.name != "config"]
    extra = [
        inspect.Parameter(
            "config_file",
            inspect.Parameter.KEYWORD_ONLY,
            annotation=Path | None,
            default=typer.Option(
                None, "--config", help="Konfigurationsfil (YAML) med körningens inställningar; flaggor går före filen"
            ),
        )
    ]
    for name, field in RunConfig.model_fields.items():
        ann, opt = _cli_option(name, field)
        extra.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=ann, default=opt))

    @functools.wraps(fn)
    def wrapper(**kwargs: Any) -> Any:
        from survey.pipeline.config import build_config

        given = {n: kwargs.pop(n) for n in FIELD_NAMES if n in kwargs}
        given = {k: v for k, v in given.items() if v is not None and v not in ([], ())}
        config = build_config(kwargs.pop("config_file"), given, base=Path.cwd())
        return fn(config=config, **kwargs)

    params = own + extra
    wrapper.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    return wrapper


def _terminate_cleanly() -> None:
    """SIGTERM ends the command as an exception (exit 143): the database load finishes or rolls back, and
    a started run is recorded as failed, instead of the process vanishing mid-step."""
    import signal

    def stop(signum: int, _frame: object) -> None:
        err_console.print("[bold red]Avbruten[/bold red] (SIGTERM): körningen markeras som misslyckad.")
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)


@app.command()
@friendly
@with_run_options
def run(config: Any = None) -> None:
    """Kör hela kedjan: läs, validera, spara, vikta, skatta, trender, publicera."""
    from survey.pipeline.runner import run as run_pipeline

    _terminate_cleanly()

    with _progress() as prog:
        task = prog.add_task("startar", total=None)
        res = run_pipeline(config, progress=lambda msg: prog.update(task, description=msg))
    steps = ", ".join(f"{k} {v:.2f} s" for k, v in res.steps.items())
    counts = res.lineage["counts"]
    console.print(
        f"[bold green]Klart.[/bold green] Körning {res.run_id}: {counts['respondents']} svarande, "
        f"{counts['estimates']} skattningar ({counts['suppressed']} undertryckta)."
    )
    console.print(f"Steg: {steps}")
    for note in res.notes:
        console.print(f"  [dim]{note}[/dim]")
    console.print(f"Analysfiler: {res.out_dir.resolve()}")
    if "report" in res.files:
        console.print(f"Rapport: [bold]{Path(res.files['report']).resolve()}[/bold]")


config_app = typer.Typer(help="Körningens konfiguration")
app.add_typer(config_app, name="config")


@config_app.command("show")
@friendly
@with_run_options
def config_show(config: Any = None) -> None:
    """Skriv ut den gällande konfigurationen (filen och flaggorna tillsammans) som YAML."""
    from survey.pipeline.config import to_yaml

    console.print(to_yaml(config), end="", highlight=False, markup=False)


@app.command()
@friendly
def synth(
    n: int = typer.Option(12000, min=1, help="Antal svarande"),
    districts: int = typer.Option(8, min=1, help="Antal områden"),
    years: int = typer.Option(3, min=1, help="Antal år"),
    seed: int = typer.Option(1, help="Slumpfrö"),
    out: Path = typer.Option(Path("out/input"), help="Utkatalog"),
    tiny_district: bool = typer.Option(False, "--tiny-district", help="Lägg till ett område med < 30 svar/år"),
) -> None:
    """Skriv en syntetisk våg (svar + befolkning) på kanonisk form."""
    from survey.pipeline import commands

    commands.synth(n, districts, years, seed, out, tiny_district)
    console.print(f"Syntetisk våg skriven till {out.resolve()}")


@app.command()
@friendly
def ingest(
    file: str = typer.Argument(..., help="Svarsfil"),
    population: str = typer.Option(..., help="Befolkningsfil"),
    db: str = typer.Option(None, help="Databas-URL"),
    codebook: str = typer.Option(None, help="Kodbok"),
    mapping: str = typer.Option(None, help="Leverantörsmappning (YAML)"),
    replace: bool = typer.Option(False, "--replace", help="Ersätt en redan inläst våg"),
    max_bad_share: str = typer.Option(None, help="Största andel karantänrader innan vågen avvisas (0,05)"),
    encoding: str = typer.Option(None, help="Teckenkodning om gissningen är fel (t.ex. cp1252)"),
    delimiter: str = typer.Option(None, help="Avgränsare i CSV (',', ';' eller 'tab')"),
    decimal: str = typer.Option(None, help="Decimaltecken i CSV ('.' eller ',')"),
    fmt: str = typer.Option(None, "--format", help="Filformat: csv, xlsx, sav eller parquet"),
) -> None:
    """Läs in och validera en våg och spara den i databasen (karantän för felaktiga rader)."""
    from survey.pipeline import commands
    from survey.pipeline.config import build_config

    config = build_config(
        None,
        {
            "responses": file,
            "population": population,
            "db": db,
            "codebook": codebook,
            "mapping": mapping,
            "replace": replace,
            "max_bad_share": max_bad_share,
            "encoding": encoding,
            "delimiter": delimiter,
            "decimal": decimal,
            "format": fmt,
        },
    )
    with _progress() as prog:
        prog.add_task("läser och validerar", total=None)
        wave, report = commands.ingest(config)
    r = wave.responses
    console.print(
        f"{r.source.name}: {r.source.format}, {r.source.encoding or '-'}, "
        f"avgränsare {r.source.delimiter!r}; {r.source.n_rows} rader, {len(r.data)} godkända, "
        f"{r.quarantine['source_row'].nunique() if len(r.quarantine) else 0} i karantän. "
        f"Databas: {report.status}."
    )
    if len(r.quarantine):
        counts = r.quarantine.groupby("reason").size().sort_values(ascending=False)
        for reason, k in counts.items():
            console.print(f"  {k:>6}  {reason}")
    for note in wave.notes:
        console.print(f"  [dim]{note}[/dim]")


quarantine_app = typer.Typer(help="Rader i karantän")
app.add_typer(quarantine_app, name="quarantine")


@quarantine_app.command("list")
@friendly
def quarantine_list(db: str = typer.Option(None, help="Databas-URL")) -> None:
    """Antal karantänrader per fil och skäl."""
    from rich.table import Table

    from survey.pipeline import commands

    q = commands.quarantine(db)
    if q.empty:
        console.print("Karantänen är tom.")
        return
    t = Table("källfil-id", "fil", "skäl", "rader")
    for row in q.groupby(["source_file_id", "file", "reason"]).size().reset_index(name="rows").itertuples():
        t.add_row(str(row.source_file_id), str(row.file), str(row.reason), str(row.rows))
    console.print(t)


@quarantine_app.command("show")
@friendly
def quarantine_show(
    source: int = typer.Argument(None, help="Källfil-id (standard: alla)"),
    db: str = typer.Option(None, help="Databas-URL"),
    limit: int = typer.Option(50, help="Högst så många rader"),
) -> None:
    """Visa karantänrader: fil, rad, kolumn, värde och kontroll."""
    from rich.table import Table

    from survey.pipeline import commands

    q = commands.quarantine(db, source)
    t = Table("fil", "rad", "kolumn", "värde", "kontroll", "skäl")
    for r in q.head(limit).itertuples(index=False):
        t.add_row(str(r.file), str(r.source_row), str(r.column), str(r.value), str(r.check), str(r.reason))
    console.print(t)
    if len(q) > limit:
        console.print(f"... {len(q) - limit} rader till")


tables_app = typer.Typer(help="Publicerade tabeller (versionerade i databasen)")
app.add_typer(tables_app, name="tables")


@tables_app.command("list")
@friendly
def tables_list(db: str = typer.Option(None, help="Databas-URL")) -> None:
    """Alla publicerade tabeller med år, version och körning."""
    from survey.pipeline import commands

    commands.tables_list(db)


@tables_app.command("export")
@friendly
def tables_export(
    year: int = typer.Option(..., "--year", help="År"),
    table: str = typer.Option(..., "--table", help="Tabell-id (se tables list)"),
    fmt: str = typer.Option(
        "xlsx", "--format", help="xlsx, csv, csv-sv (svensk Excel), px (PC-Axis), jsonstat, html, png, pdf eller json"
    ),
    out: Path = typer.Option(Path("."), help="Utfil eller katalog"),
    version: int = typer.Option(None, help="Version (standard: senaste)"),
    db: str = typer.Option(None, help="Databas-URL"),
) -> None:
    """Exportera en publicerad tabell ur databasen."""
    from survey.pipeline import commands

    commands.tables_export(year, table, fmt, out, db, version)


@app.command(context_settings={"allow_extra_args": True})
@friendly
def compare(
    ctx: typer.Context,
    a: str = typer.Argument(..., help="Område A, t.ex. Rissne"),
    b: str = typer.Argument(..., help="Område B, t.ex. Hallonbergen"),
    indicator: list[str] = typer.Option(None, "--indicator", help="Indikator (kan upprepas)"),
    years: list[str] = typer.Option(None, "--years", help="År: --years 2024 2025, 2024,2025 eller 2023-2025"),
    db: str = typer.Option(None, help="Databas-URL eller en utkatalog från trygghet run"),
    out: Path = typer.Option(None, help="Skriv också en HTML-sida hit"),
    run_id: str = typer.Option(None, "--run", help="Körning (standard: senaste)"),
    min_n: int = typer.Option(30, help="Undertryckningsgräns"),
) -> None:
    """Jämför två områden över alla indikatorer: andelar, skillnad i procentenheter med KI och signifikans."""
    from survey.pipeline import commands

    more = [str(v) for v in ctx.args]  # the values after the first one: --years 2024 2025
    commands.compare(a, b, indicator or None, [*(years or []), *more] or None, db, out, run_id=run_id, min_n=min_n)


sources_app = typer.Typer(help="Källfiler i databasen: versioner, återkallande och ersättning")
app.add_typer(sources_app, name="sources")


@sources_app.command("list")
@friendly
def sources_list(db: str = typer.Option(None, help="Databas-URL")) -> None:
    """Alla källfilsversioner med status, version, ersättningar och körningar."""
    from rich.table import Table

    from survey.pipeline import commands

    df = commands.sources(db)
    cols = ("id", "kind", "name", "version", "status", "years", "replaces", "runs", "last_run_status")
    t = Table("id", "typ", "fil", "version", "status", "år", "ersätter", "körningar", "senaste körning")
    for rec in df.to_dict(orient="records"):
        t.add_row(*("" if rec.get(k) is None or rec.get(k) != rec.get(k) else str(rec.get(k)) for k in cols))
    console.print(t)


@sources_app.command("withdraw")
@friendly
def sources_withdraw(
    source: int = typer.Argument(..., help="Källfil-id (se sources list)"),
    reason: str = typer.Option(None, help="Skäl (sparas i historiken)"),
    db: str = typer.Option(None, help="Databas-URL"),
) -> None:
    """Återkalla en källfil: raderna och historiken finns kvar, men nya körningar använder den inte."""
    from survey.pipeline import commands

    row = commands.withdraw_source(db, source, reason)
    console.print(f"Källfil {source} ({row.get('name')}) har status {row.get('status')}.")


@sources_app.command("replace")
@friendly
def sources_replace(
    source: int = typer.Argument(..., help="Källfil-id som ersätts"),
    file: str = typer.Argument(..., help="Den rättade filen"),
    reason: str = typer.Option(None, help="Skäl (sparas i historiken)"),
    db: str = typer.Option(None, help="Databas-URL"),
    codebook: str = typer.Option(None, help="Kodbok"),
    mapping: str = typer.Option(None, help="Leverantörsmappning (YAML)"),
) -> None:
    """Ersätt en källfil med en validerad fil av samma slag; den gamla versionen sparas."""
    from survey.pipeline import commands
    from survey.pipeline.config import build_config

    config = build_config(None, {"db": db, "codebook": codebook, "mapping": mapping})
    rep = commands.replace_source(config, source, file, reason)
    console.print(f"Källfil {rep.old_id} ersatt av {rep.new_id} ({rep.status}).")


db_app = typer.Typer(help="Databasen: roller och behörigheter (PostgreSQL)")
app.add_typer(db_app, name="db")


@db_app.command("roles")
@friendly
def db_roles(
    db: str = typer.Option(None, help="Databas-URL (som administratör)"),
    reader: list[str] = typer.Option(None, "--reader", help="Användare som får läsrollen report_reader"),
    pipeline: list[str] = typer.Option(None, "--pipeline", help="Användare som får pipeline-rollen"),
) -> None:
    """Skapa ägar-, pipeline- och läsrollen (report_reader) och deras behörigheter; kör igen efter uppgradering."""
    from survey.pipeline import commands

    report = commands.create_roles(db, reader or [], pipeline or [])
    console.print(f"Roller klara: {report}")


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
