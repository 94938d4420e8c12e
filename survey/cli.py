"""The ``trygghet`` console script (Typer + Rich): thin wrappers over library functions; errors meant for a
person (``TrygghetError``) are one paragraph with exit code 2, never a traceback."""

from __future__ import annotations

import contextlib
import functools
import inspect
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import typer
from rich.console import Console
from typer.core import TyperGroup

from survey.cli_lang import click_exception, english_help, help_lang, usage_text
from survey.errors import TrygghetError


class LangGroup(TyperGroup):
    """The root command: with ``--lang en`` (or ``TRYGGHET_LANG=en``) its ``--help`` texts are English, and a
    usage error is one paragraph in the command line's language instead of Click's English panel."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if help_lang(args) == "en":
            english_help(self)
        return super().parse_args(ctx, args)

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        """Click's ``main``; in standalone mode (the console script, ``CliRunner``) a usage error found while
        the command line is parsed (a misspelt flag or command, a missing or malformed value) is printed as
        ``Fel: …`` in the language of ``--lang``/``TRYGGHET_LANG`` with the command's ``--help`` named, exit 2."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        argv = [str(a) for a in (sys.argv[1:] if args is None else args)]
        try:
            code = super().main(argv, prog_name, complete_var, False, windows_expand_args, **extra)
        except click_exception("ClickException") as exc:
            if type(exc).__name__ != "NoArgsIsHelpError":  # Typer has printed the help
                try:
                    text = usage_text(exc, argv, self)
                except Exception:  # a form of error this does not know: Click's own words
                    text = str(exc)
                _print_error(text, translate=False)
            sys.exit(getattr(exc, "exit_code", 2))
        except typer.Abort:
            code = -1
        if code in (-1, 130):  # Typer ends Ctrl-C as Exit(130), which Click returns: in silence
            from survey.pipeline.i18n import msg

            _print_error(msg("cli_aborted" if code == -1 else "interrupted"), translate=False)
        sys.exit(1 if code == -1 else code if isinstance(code, int) else 0)


app = typer.Typer(
    cls=LangGroup,
    add_completion=False,
    no_args_is_help=True,
    help="trygghet: trygghetsundersökningar från leverantörsfiler till publicerade tabeller.",
)
# markup only where a message's own template has it (msg escapes the values there): a file name, district or
# quarantined value with brackets ("[/bold]") is text, never Rich markup
console = Console(markup=False)
err_console = Console(stderr=True, markup=False)


def friendly(fn: Callable) -> Callable:
    """A TrygghetError or the file system's refusal (a full disk, a path through a file) as one paragraph, exit
    code 2; any other error (a fault of trygghet's own) too, exit 1; no traceback (``TRYGGHET_DEBUG=1``)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except TrygghetError as exc:
            _fail(exc)
        except (typer.Exit, typer.Abort, click_exception("ClickException")):
            raise  # the command line's own exits and usage errors
        except Exception as exc:
            import os

            if os.environ.get("TRYGGHET_DEBUG"):
                raise
            _fail_unexpected(exc)

    return wrapper


def _fail(exc: TrygghetError) -> None:
    """The one-paragraph error in the current language (see :mod:`survey.pipeline.i18n`), exit code 2."""
    _print_error(str(exc))
    sys.exit(2)


def _fail_unexpected(exc: Exception) -> None:
    """An error trygghet did not foresee, as one paragraph, exit 1; the file system's refusal with its path is
    the user's to fix (another path, rights, room), exit 2 as every input error."""
    from survey.pipeline.i18n import msg, os_error_text

    if isinstance(exc, OSError) and exc.strerror:
        _print_error(os_error_text(exc), translate=False)
        sys.exit(2)
    _print_error(msg("unexpected", kind=type(exc).__name__, text=str(exc)[:300]), translate=False)
    sys.exit(1)


def _print_error(text: str, translate: bool = True) -> None:
    from rich.text import Text

    from survey.pipeline.i18n import msg, say, visible

    line = Text(msg("error") + " ", style="bold red")
    line.append(say(text) if translate else visible(text, keep="\n"))
    err_console.print(line, soft_wrap=True, highlight=False)


def _show_version(value: bool) -> None:
    if value:
        from survey.pipeline.i18n import msg, package_version

        console.print(msg("version", version=package_version()), highlight=False, markup=False)
        raise typer.Exit()


@app.callback()
def main_options(
    version: bool = typer.Option(
        False, "--version", callback=_show_version, is_eager=True, help="Visa trygghets version och avsluta"
    ),
    lang: str = typer.Option(
        None,
        "--lang",
        envvar="TRYGGHET_LANG",
        show_envvar=False,
        help="Språk för meddelanden och tabeller: sv (standard) eller en (engelska)",
    ),
) -> None:
    """trygghet: trygghetsundersökningar från leverantörsfiler till publicerade tabeller."""
    from survey.pipeline.i18n import set_lang

    set_lang("sv")  # the messages of a bad --lang are Swedish
    try:
        set_lang(lang)
    except TrygghetError as exc:
        _fail(exc)


# --- commands (each area adds its own block below) -------------------------------------------------

from pathlib import Path  # noqa: E402

from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn  # noqa: E402


def _progress() -> Progress:
    """The spinner on stderr: redrawn 4 times a second in a terminal (rich's thread redraws it while holding
    the GIL, beside the run), and not at all where stderr is not a terminal (nothing is shown there)."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        auto_refresh=err_console.is_terminal,
        refresh_per_second=4,
    )


def _cli_option(name: str, field: Any) -> tuple[Any, Any]:
    """The Typer annotation and option of one :class:`RunConfig` field (values are checked by pydantic,
    so that every mistake gets the same Swedish message, whether it comes from a flag or the file)."""
    flag = "--" + name.replace("_", "-")
    from survey.pipeline.i18n import split_description

    help_sv = split_description(field.description)[0]
    if field.annotation is bool:
        return bool | None, typer.Option(
            None, f"{flag}/--no-{name.replace('_', '-')}", help=help_sv, show_default=False
        )
    if name in ("collapse", "aux"):
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
        from survey.pipeline.i18n import current, set_lang

        given = {n: kwargs.pop(n) for n in FIELD_NAMES if n in kwargs}
        given = {k: v for k, v in given.items() if v is not None and v not in ([], ())}
        if "lang" not in given and current() != "sv":  # trygghet --lang en run ...
            given["lang"] = current()
        elif given.get("lang") in ("sv", "en"):  # run --lang en: the configuration's own errors in it too
            set_lang(given["lang"])
        config = build_config(kwargs.pop("config_file"), given, base=Path.cwd())
        set_lang(config.lang)
        return fn(config=config, **kwargs)

    params = own + extra
    wrapper.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    return wrapper


@contextlib.contextmanager
def _terminate_cleanly() -> Iterator[None]:
    """Within the block SIGTERM ends the command as an exception (exit 143): the database load finishes or
    rolls back, and a started run is recorded as failed, instead of the process vanishing mid-step.

    The handler only raises; the message is printed once the block has unwound. A signal can arrive in the
    middle of an import: printing from the handler then rendered the message with a half-initialised module
    (rich's emoji table, imported for the first print) and ended in a traceback, exit 1."""
    import logging
    import signal

    from survey.pipeline.i18n import msg

    received: list[int] = []
    pool_log = logging.getLogger("sqlalchemy.pool")  # logs a connection it failed to close as a signal came: with
    pool_log.handlers = pool_log.handlers or [logging.NullHandler()]  # no handler, a traceback for the user

    def stop(signum: int, _frame: object) -> None:
        received.append(signum)
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    try:
        yield
    except BaseException:
        if received:
            err_console.print(msg("aborted"), markup=True)
        raise


@app.command()
@friendly
@with_run_options
def run(config: Any = None) -> None:
    """Kör hela kedjan: läs, validera, spara, vikta, skatta, trender, publicera."""
    from rich.text import Text

    from survey.pipeline.i18n import msg, say, steps_line
    from survey.pipeline.runner import run as run_pipeline

    with _terminate_cleanly(), _progress() as prog:
        task = prog.add_task(msg("starting"), total=None)
        res = run_pipeline(config, progress=lambda text: prog.update(task, description=say(text)))
    steps = steps_line(res.steps)
    counts = res.lineage["counts"]
    console.print(
        msg(
            "done",
            run_id=res.run_id,
            respondents=counts["respondents"],
            estimates=counts["estimates"],
            suppressed=counts["suppressed"],
        ),
        markup=True,
    )
    console.print(msg("steps", steps=steps))
    for note in res.notes:
        console.print(Text("  " + say(note), style="dim"))
    console.print(msg("analysis_files", path=res.out_dir.resolve()), highlight=False, soft_wrap=True)
    if "report" in res.files:
        console.print(
            msg("report", path=Path(res.files["report"]).resolve()), highlight=False, soft_wrap=True, markup=True
        )


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
    from survey.pipeline.i18n import current, msg

    commands.synth(n, districts, years, seed, out, tiny_district, lang=current())
    console.print(msg("synth_written", path=out.resolve()), highlight=False, soft_wrap=True)


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
    from rich.text import Text

    from survey.pipeline.i18n import msg, say, status_word
    from survey.pipeline.outputs import quarantine_notes

    with _progress() as prog:
        prog.add_task(msg("reading"), total=None)
        wave, report = commands.ingest(config)
    r = wave.responses
    console.print(
        Text(
            msg(
                "ingested",
                name=r.source.name,
                format=r.source.format,
                encoding=r.source.encoding or "-",
                delimiter=repr(r.source.delimiter) if r.source.delimiter else "-",
                rows=r.source.n_rows,
                accepted=len(r.data),
                quarantined=r.quarantine["source_row"].nunique() if len(r.quarantine) else 0,
                status=status_word(report.status),
            )
        )
    )
    # per column, as trygghet run says it (one line per distinct reason printed a line per bad value)
    for note in quarantine_notes(r)[1:] + ([msg("quarantine_hint")] if len(r.quarantine) else []):
        console.print(Text("  " + say(note)))
    for note in wave.notes:
        console.print(Text("  " + say(note), style="dim"))


quarantine_app = typer.Typer(help="Rader i karantän")
app.add_typer(quarantine_app, name="quarantine")


@quarantine_app.command("list")
@friendly
def quarantine_list(db: str = typer.Option(None, help="Databas-URL")) -> None:
    """Antal karantänrader per fil och skäl."""
    from rich.table import Table

    from survey.pipeline import commands
    from survey.pipeline.i18n import msg, say, visible

    q = commands.quarantine(db)
    if q.empty:
        console.print(msg("quarantine_empty"))
        return
    t = Table(*msg("quarantine_heads").split("|"))
    for row in q.groupby(["source_file_id", "file", "reason"]).size().reset_index(name="rows").itertuples():
        t.add_row(str(row.source_file_id), visible(str(row.file)), say(str(row.reason)), str(row.rows))
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
    from survey.pipeline.i18n import msg, say, visible

    q = commands.quarantine(db, source)
    t = Table(*msg("quarantine_show_heads").split("|"))
    for r in q.head(limit).itertuples(index=False):
        cells = (str(r.file), str(r.source_row), str(r.column), str(r.value), str(r.check))
        t.add_row(*map(visible, cells), say(str(r.reason)))
    console.print(t)
    if len(q) > limit:
        console.print(msg("more_rows", k=len(q) - limit))


tables_app = typer.Typer(help="Publicerade tabeller (versionerade i databasen)")
app.add_typer(tables_app, name="tables")


@tables_app.command("list")
@friendly
def tables_list(db: str = typer.Option(None, help="Databas-URL")) -> None:
    """Alla publicerade tabeller med år, version och körning."""
    from survey.pipeline import commands
    from survey.pipeline.i18n import current

    commands.tables_list(db, lang=current())


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
    from survey.pipeline.i18n import current

    commands.tables_export(year, table, fmt, out, db, version, lang=current())


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
    min_n: int = typer.Option(30, min=1, help="Undertryckningsgräns"),
) -> None:
    """Jämför två områden över alla indikatorer: andelar, skillnad i procentenheter med KI och signifikans."""
    from survey.pipeline import commands
    from survey.pipeline.i18n import current

    more = [str(v) for v in ctx.args]  # the values after the first one: --years 2024 2025
    stray = [v for v in more if not years or not re.fullmatch(r"[\d\s,\-–]+", v)]  # a third district, say
    if stray:
        raise click_exception("UsageError")(f"Got unexpected extra arguments ({' '.join(stray)})", ctx)

    commands.compare(
        a, b, indicator or None, [*(years or []), *more] or None, db, out, run_id=run_id, min_n=min_n, lang=current()
    )


sources_app = typer.Typer(help="Källfiler i databasen: versioner, återkallande och ersättning")
app.add_typer(sources_app, name="sources")


@sources_app.command("list")
@friendly
def sources_list(db: str = typer.Option(None, help="Databas-URL")) -> None:
    """Alla källfilsversioner med status, version, ersättningar och körningar."""
    from rich.table import Table

    from survey.pipeline import commands
    from survey.pipeline.i18n import msg, value_word, visible

    df = commands.sources(db)
    cols = ("id", "kind", "name", "version", "status", "years", "replaces", "runs", "last_run_status")
    words = {"kind", "status", "last_run_status"}
    t = Table(*msg("sources_heads").split("|"))
    for rec in df.to_dict(orient="records"):
        cells = ("" if rec.get(k) is None or rec.get(k) != rec.get(k) else str(rec.get(k)) for k in cols)
        t.add_row(*(value_word(c) if k in words else visible(c) for k, c in zip(cols, cells)))
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
    from survey.pipeline.i18n import msg, value_word

    row = commands.withdraw_source(db, source, reason)
    console.print(msg("withdrawn", source=source, name=row.get("name"), status=value_word(row.get("status"))))


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
    from survey.pipeline.i18n import msg, status_word

    rep = commands.replace_source(config, source, file, reason)
    console.print(msg("replaced", old=rep.old_id, new=rep.new_id, status=status_word(rep.status)))


db_app = typer.Typer(help="Databasen: roller och behörigheter (PostgreSQL)")
app.add_typer(db_app, name="db")


@db_app.command("roles")
@friendly
def db_roles(
    db: str = typer.Option(None, help="Databas-URL (som administratör)"),
    reader: list[str] = typer.Option(None, "--reader", help="Användare som får läsrollen report_reader"),
    pipeline: list[str] = typer.Option(None, "--pipeline", help="Användare som får pipeline-rollen"),
    owner_role: str = typer.Option("trygghet_owner", help="Ägarrollens namn"),
    pipeline_role: str = typer.Option("trygghet_pipeline", help="Pipeline-rollens namn"),
    reader_role: str = typer.Option("report_reader", help="Läsrollens namn"),
) -> None:
    """Skapa ägar-, pipeline- och läsrollen (report_reader) och deras behörigheter; kör igen efter uppgradering."""
    from survey.pipeline import commands
    from survey.pipeline.i18n import say

    names = (owner_role, pipeline_role, reader_role)
    console.print(say(commands.create_roles(db, reader or [], pipeline or [], names)))


def main() -> None:  # pragma: no cover
    """The ``trygghet`` console script: the CLI, then an exit without the garbage collector's passes over
    the command's objects (``gc.freeze``: at 1M respondents the interpreter's shutdown collections took
    0.9 s after the run had finished; objects are still freed, and files and databases are closed by the
    commands themselves). In-process callers (tests, ``CliRunner``) call :data:`app` and keep their collector."""
    import gc

    try:
        app()
    finally:
        gc.freeze()


if __name__ == "__main__":  # pragma: no cover
    main()
