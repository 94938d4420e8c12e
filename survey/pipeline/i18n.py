"""The CLI's language: Swedish by default, English with ``--lang en`` (``trygghet --lang en run …`` or
``trygghet run --lang en``, the run configuration's ``lang``).

Three parts:

- :data:`MESSAGES`, the CLI's own texts (progress, summaries, table headings) by key, in Swedish and English;
  :func:`msg` gives the text of the current language. The Swedish texts are the ones the CLI always printed.
- :func:`english` (and :func:`say`, the current language's form), the English rendering of every text that comes
  from the library: typed errors (every ``TrygghetError`` raised in ``survey/``, ``reports/``, ``flows/``),
  notes, progress texts. The Swedish message templates and their English ones are the catalogs of
  :mod:`survey.pipeline.english` (one entry per raise site's template, values rendered in English too); the
  library itself holds no language state and raises Swedish. ``tests/test_lang_messages.py`` collects every
  message template from the source (:mod:`tests.lang_sites`) and fails when one has no English, so a new
  Swedish-only error cannot be added unnoticed. Numbers in English messages are in English notation (decimal
  point, ``5.0%``, ``1,843``), as in the English tables of :mod:`reports.translate`: the library formats numbers
  in messages with Python (already so), and a value written the Swedish way is converted.
- :data:`HELP_EN`, the ``--help`` texts of every command, argument and option in English (:func:`help_en`; the
  options of ``trygghet run`` take the English half of their RunConfig description), shown with
  ``trygghet --lang en <cmd> --help``, ``trygghet run --lang en --help`` or ``TRYGGHET_LANG=en``
  (the environment variable sets the language of every command, like ``--lang``). Not covered: the words
  of Click's help pages (``Usage``, ``Options``, ``Show this message and exit.``, ``[required]``), which stay
  English in both languages. Click's usage errors (a misspelt flag or command, a missing or bad value) are the
  CLI's own messages in both languages (``usage_*`` and the keys after it in :data:`MESSAGES`).

The language is process state (one CLI command is one process): :func:`set_lang` at the start of a
command, :func:`current` wherever a text is chosen.
"""

from __future__ import annotations

import errno
import os
import re
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from rich.markup import escape

from survey.errors import ConfigError
from survey.labels import visible

LANGS = ("sv", "en")
_STATE = {"lang": "sv"}

MESSAGES: dict[str, tuple[str, str]] = {
    "error": ("Fel:", "Error:"),
    "os_error": (
        "Kan inte använda {path}: {reason} (filsystemet vägrade). Välj en annan sökväg.",
        "Cannot use {path}: {reason} (refused by the file system). Choose another path.",
    ),
    "os_error_space": (
        "Kan inte skriva {path}: {reason} (filsystemet vägrade). Frigör utrymme eller välj en annan sökväg.",
        "Cannot write {path}: {reason} (refused by the file system). Free some space or choose another path.",
    ),
    "unexpected": (
        "ett oväntat fel i trygghet ({kind}: {text}). Det är ett programfel: rapportera det tillsammans med "
        "kommandot och filerna; TRYGGHET_DEBUG=1 visar hela förloppet.",
        "an unexpected error in trygghet ({kind}: {text}). It is a fault of the program: report it with the "
        "command and the files; TRYGGHET_DEBUG=1 shows the whole traceback.",
    ),
    # the command line's own usage errors (survey.cli.LangGroup), parsed before any command runs
    "usage_hint": ("Se {command} --help.", "See {command} --help."),
    "unknown_option": ("Okänd flagga {name} för {command}.", "No such option {name} for {command}."),
    "did_you_mean": ("Menade du {names}?", "Did you mean {names}?"),
    "lang_first": (
        "--lang står före kommandot: trygghet --lang {lang} {command}.",
        "--lang goes before the command: trygghet --lang {lang} {command}.",
    ),
    "unknown_command": ("Okänt kommando {name}. Kommandon: {names}.", "No such command {name}. Commands: {names}."),
    "missing_command": ("Ange ett kommando: {names}.", "Give a command: {names}."),
    "missing_value": ("Ange {name}{help}.", "Give {name}{help}."),
    "needs_value": ("{name} behöver ett värde.", "{name} requires a value."),
    "takes_no_value": ("{name} tar inget värde.", "{name} does not take a value."),
    "extra_args": ("Oväntade argument: {args}.", "Unexpected extra arguments: {args}."),
    "bad_value": ("Ogiltigt värde för {name}: {reason}", "Invalid value for {name}: {reason}"),
    "cli_aborted": ("Avbrutet.", "Aborted."),
    "interrupted": (
        "Avbrutet (Ctrl-C): en påbörjad körning markeras som misslyckad, en påbörjad inläsning sparas helt eller "
        "inte alls.",
        "Aborted (Ctrl-C): a started run is marked as failed, a started load is stored whole or not at all.",
    ),
    "aborted": (
        "[bold red]Avbruten[/bold red] (SIGTERM): en påbörjad körning markeras som misslyckad.",
        "[bold red]Aborted[/bold red] (SIGTERM): a started run is marked as failed.",
    ),
    "starting": ("startar", "starting"),
    "done": (
        "[bold green]Klart.[/bold green] Körning {run_id}: {respondents} svarande, {estimates} skattningar "
        "({suppressed} undertryckta).",
        "[bold green]Done.[/bold green] Run {run_id}: {respondents} respondents, {estimates} estimates "
        "({suppressed} suppressed).",
    ),
    "steps": ("Steg: {steps}", "Steps: {steps}"),
    "analysis_files": ("Analysfiler: {path}", "Analysis files: {path}"),
    "report": ("Rapport: [bold]{path}[/bold]", "Report: [bold]{path}[/bold]"),
    "synth_written": ("Syntetisk våg skriven till {path}", "Synthetic wave written to {path}"),
    "reading": ("läser och validerar", "reading and validating"),
    "ingested": (
        "{name}: {format}, {encoding}, avgränsare {delimiter}; {rows} rader, {accepted} godkända, "
        "{quarantined} i karantän. Databas: {status}.",
        "{name}: {format}, {encoding}, delimiter {delimiter}; {rows} rows, {accepted} accepted, "
        "{quarantined} quarantined. Database: {status}.",
    ),
    "quarantine_hint": ("trygghet quarantine show visar raderna.", "trygghet quarantine show lists the rows."),
    "quarantine_empty": ("Karantänen är tom.", "The quarantine is empty."),
    "quarantine_heads": ("källfil-id|fil|skäl|rader", "source id|file|reason|rows"),
    "quarantine_show_heads": ("fil|rad|kolumn|värde|kontroll|skäl", "file|row|column|value|check|reason"),
    "more_rows": ("... {k} rader till", "... {k} more rows"),
    "sources_heads": (
        "id|typ|fil|version|status|år|ersätter|körningar|senaste körning",
        "id|kind|file|version|status|years|replaces|runs|last run",
    ),
    "withdrawn": ("Källfil {source} ({name}) har status {status}.", "Source {source} ({name}) has status {status}."),
    "replaced": ("Källfil {old} ersatt av {new} ({status}).", "Source {old} replaced by {new} ({status})."),
    "version": ("trygghet {version}", "trygghet {version}"),
    "unknown": ("okänd", "unknown"),
}

# the store's load status and the run's step names (machine words in lineage and run.json), for display
STATUS_WORDS: dict[str, tuple[str, str]] = {
    "loaded": ("inläst", "loaded"),
    "unchanged": ("oförändrad (redan inläst)", "unchanged (already loaded)"),
    "replaced": ("ersatt av den nya filen", "replaced by the new file"),
}
VALUE_WORDS: dict[str, tuple[str, str]] = {  # the store's kinds and statuses of sources and runs
    "responses": ("svar", "responses"),
    "population": ("befolkning", "population"),
    "active": ("aktiv", "active"),
    "replaced": ("ersatt", "replaced"),
    "withdrawn": ("återkallad", "withdrawn"),
    "succeeded": ("lyckad", "succeeded"),
    "failed": ("misslyckad", "failed"),
    "running": ("pågår", "running"),
}
STEP_WORDS: dict[str, tuple[str, str]] = {
    "read": ("läsa", "read"),
    "validate": ("validera", "validate"),
    "store": ("spara", "store"),
    "weight": ("vikta", "weight"),
    "estimate": ("skatta", "estimate"),
    "trend": ("trender", "trend"),
    "publish": ("publicera", "publish"),
}


def set_lang(lang: str | None) -> str:
    """Set the language of this process's messages (``sv`` or ``en``); returns it."""
    lang = (lang or "sv").strip().lower()
    if lang not in LANGS:
        raise ConfigError(f"Ogiltigt värde {lang} för --lang. Tillåtna värden: sv eller en.", option="lang")
    _STATE["lang"] = lang
    return lang


def current() -> str:
    return _STATE["lang"]


# the file system's refusals in Swedish (errno -> reason); English keeps the system's own words (strerror)
OS_REASONS: dict[int, str] = {
    errno.ENOENT: "filen eller mappen finns inte",
    errno.ENOTDIR: "en del av sökvägen är en fil, inte en mapp",
    errno.EISDIR: "det är en mapp, inte en fil",
    errno.EEXIST: "det finns redan en fil med det namnet",
    errno.EACCES: "behörighet saknas",
    errno.EPERM: "åtgärden är inte tillåten",
    errno.EROFS: "filsystemet är skrivskyddat",
    errno.ENOSPC: "disken är full",
    errno.EDQUOT: "diskkvoten är slut",
    errno.ENAMETOOLONG: "namnet är för långt",
    errno.ELOOP: "för många symboliska länkar",
}


def os_error_text(exc: OSError) -> str:
    """The file system's refusal ``exc`` as one sentence in the current language, naming its path."""
    own = OS_REASONS.get(exc.errno) if exc.errno is not None and current() != "en" else None
    reason = own or str(exc.strerror)
    key = "os_error_space" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else "os_error"
    return msg(key, path=exc.filename or "?", reason=reason)


def msg(key: str, **values: Any) -> str:
    """The CLI text ``key`` in the current language, formatted with ``values``: text values (and paths) with
    their hidden characters shown (:func:`survey.labels.visible`), and escaped for Rich where the template
    itself is Rich markup (``[bold]…[/bold]``; such a message is printed with ``markup=True``)."""
    sv, en = MESSAGES[key]
    template = en if current() == "en" else sv
    markup = "[/" in template
    for name, value in values.items():
        if isinstance(value, (str, os.PathLike)):
            text = visible(os.fspath(value), keep="\n")
            values[name] = escape(text) if markup else text
    return template.format(**values)


def english(text: str) -> str:
    """An English rendering of a Swedish library message: its template's English from the catalogs of
    :mod:`survey.pipeline.english`, every value in English too (see that module); unknown texts keep their words."""
    from survey.pipeline.english import render

    return render(str(text))


def _word(words: dict[str, tuple[str, str]], key: str) -> str:
    sv, en = words.get(key, (key, key))
    return en if current() == "en" else sv


def status_word(status: str) -> str:
    """The store's load status (``loaded``, ``unchanged``, ``replaced``) as a word of the current language."""
    return _word(STATUS_WORDS, str(status))


def value_word(value: object) -> str:
    """A stored kind or status (``responses``, ``active``, ``succeeded`` …) as a word of the current language;
    anything else as its text."""
    return _word(VALUE_WORDS, str(value))


def steps_line(seconds: dict[str, float]) -> str:
    """``läsa 0,11 s, validera 1,78 s, …`` (English: ``read 0.11 s, …``) from the run's step timings."""
    sep = "." if current() == "en" else ","
    return ", ".join(f"{_word(STEP_WORDS, k)} {v:.2f}".replace(".", sep) + " s" for k, v in seconds.items())


def say(text: str) -> str:
    """A library text (error, note, progress) in the current language; the runner's ``databas: <status>``
    note with the status in words."""
    text = str(text)
    m = re.fullmatch(r"databas: (\w+)", text)
    if m and m.group(1) in STATUS_WORDS:
        text = f"databas: {status_word(m.group(1))}"
    return visible(english(text) if current() == "en" else text, keep="\n")


def package_version() -> str:
    """trygghet's installed version (``importlib.metadata``), or ``okänd``/``unknown`` when not installed."""
    try:
        return version("trygghet")
    except PackageNotFoundError:  # pragma: no cover - a source tree without the package metadata
        return msg("unknown")


# --- --help in English -------------------------------------------------------------------------------------------
# The Swedish help texts of the CLI's commands, groups, arguments and options (survey/cli.py) with their English
# forms; the options of ``trygghet run`` take the English half of their RunConfig description (:func:`help_en`).
HELP_EN: dict[str, str] = {
    "trygghet: trygghetsundersökningar från leverantörsfiler till publicerade tabeller.": (
        "trygghet: safety surveys from vendor files to published tables."
    ),
    "Visa trygghets version och avsluta": "Show trygghet's version and exit",
    "Språk för meddelanden och tabeller: sv (standard) eller en (engelska)": (
        "Language of messages and tables: sv (default) or en (English); also TRYGGHET_LANG"
    ),
    "Konfigurationsfil (YAML) med körningens inställningar; flaggor går före filen": (
        "Configuration file (YAML) with the run's settings; flags take precedence over the file"
    ),
    "Kör hela kedjan: läs, validera, spara, vikta, skatta, trender, publicera.": (
        "Run the whole chain: read, validate, store, weight, estimate, trends, publish."
    ),
    "Körningens konfiguration": "The run's configuration",
    "Skriv ut den gällande konfigurationen (filen och flaggorna tillsammans) som YAML.": (
        "Print the effective configuration (the file and the flags together) as YAML."
    ),
    "Antal svarande": "Number of respondents",
    "Antal områden": "Number of districts",
    "Antal år": "Number of years",
    "Slumpfrö": "Random seed",
    "Utkatalog": "Output folder",
    "Lägg till ett område med < 30 svar/år": "Add a district with < 30 responses/year",
    "Skriv en syntetisk våg (svar + befolkning) på kanonisk form.": (
        "Write a synthetic wave (responses + population) in canonical form."
    ),
    "Svarsfil": "Responses file",
    "Befolkningsfil": "Population file",
    "Databas-URL": "Database URL",
    "Kodbok": "Codebook",
    "Leverantörsmappning (YAML)": "Vendor mapping (YAML)",
    "Ersätt en redan inläst våg": "Replace a wave already loaded",
    "Största andel karantänrader innan vågen avvisas (0,05)": (
        "Largest share of quarantined rows before the wave is rejected (0.05)"
    ),
    "Teckenkodning om gissningen är fel (t.ex. cp1252)": "Character encoding if the guess is wrong (e.g. cp1252)",
    "Avgränsare i CSV (',', ';' eller 'tab')": "CSV delimiter (',', ';' or 'tab')",
    "Decimaltecken i CSV ('.' eller ',')": "CSV decimal mark ('.' or ',')",
    "Filformat: csv, xlsx, sav eller parquet": "File format: csv, xlsx, sav or parquet",
    "Läs in och validera en våg och spara den i databasen (karantän för felaktiga rader).": (
        "Read and validate a wave and store it in the database (quarantine for bad rows)."
    ),
    "Rader i karantän": "Quarantined rows",
    "Antal karantänrader per fil och skäl.": "Number of quarantined rows per file and reason.",
    "Källfil-id (standard: alla)": "Source file id (default: all)",
    "Högst så många rader": "At most this many rows",
    "Visa karantänrader: fil, rad, kolumn, värde och kontroll.": (
        "Show quarantined rows: file, row, column, value and check."
    ),
    "Publicerade tabeller (versionerade i databasen)": "Published tables (versioned in the database)",
    "Alla publicerade tabeller med år, version och körning.": "Every published table with year, version and run.",
    "År": "Year",
    "Tabell-id (se tables list)": "Table id (see tables list)",
    "xlsx, csv, csv-sv (svensk Excel), px (PC-Axis), jsonstat, html, png, pdf eller json": (
        "xlsx, csv, csv-sv (Swedish Excel), px (PC-Axis), jsonstat, html, png, pdf or json"
    ),
    "Utfil eller katalog": "Output file or folder",
    "Version (standard: senaste)": "Version (default: latest)",
    "Exportera en publicerad tabell ur databasen.": "Export a published table from the database.",
    "Område A, t.ex. Rissne": "District A, e.g. Rissne",
    "Område B, t.ex. Hallonbergen": "District B, e.g. Hallonbergen",
    "Indikator (kan upprepas)": "Indicator (repeatable)",
    "År: --years 2024 2025, 2024,2025 eller 2023-2025": "Years: --years 2024 2025, 2024,2025 or 2023-2025",
    "Databas-URL eller en utkatalog från trygghet run": "Database URL or an output folder of trygghet run",
    "Skriv också en HTML-sida hit": "Also write an HTML page here",
    "Körning (standard: senaste)": "Run (default: latest)",
    "Undertryckningsgräns": "Suppression threshold",
    "Jämför två områden över alla indikatorer: andelar, skillnad i procentenheter med KI och signifikans.": (
        "Compare two districts over every indicator: shares, difference in percentage points with CI and significance."
    ),
    "Källfiler i databasen: versioner, återkallande och ersättning": (
        "Source files in the database: versions, withdrawal and replacement"
    ),
    "Alla källfilsversioner med status, version, ersättningar och körningar.": (
        "Every source file version with status, version, replacements and runs."
    ),
    "Källfil-id (se sources list)": "Source file id (see sources list)",
    "Skäl (sparas i historiken)": "Reason (kept in the history)",
    "Återkalla en källfil: raderna och historiken finns kvar, men nya körningar använder den inte.": (
        "Withdraw a source file: its rows and history are kept, but new runs do not use it."
    ),
    "Källfil-id som ersätts": "Source file id to replace",
    "Den rättade filen": "The corrected file",
    "Ersätt en källfil med en validerad fil av samma slag; den gamla versionen sparas.": (
        "Replace a source file with a validated file of the same kind; the old version is kept."
    ),
    "Databasen: roller och behörigheter (PostgreSQL)": "The database: roles and privileges (PostgreSQL)",
    "Databas-URL (som administratör)": "Database URL (as administrator)",
    "Användare som får läsrollen report_reader": "Users given the reader role report_reader",
    "Användare som får pipeline-rollen": "Users given the pipeline role",
    "Ägarrollens namn": "Name of the owner role",
    "Pipeline-rollens namn": "Name of the pipeline role",
    "Läsrollens namn": "Name of the reader role",
    "Skapa ägar-, pipeline- och läsrollen (report_reader) och deras behörigheter; kör igen efter uppgradering.": (
        "Create the owner, pipeline and reader (report_reader) roles and their privileges; run again after an upgrade."
    ),
}
REPEATABLE = (" (kan upprepas)", " (repeatable)")


def split_description(description: str | None) -> tuple[str, str]:
    """The Swedish and English halves of a RunConfig description ``"sv / en"`` (the Swedish half may hold a
    ``/`` of its own, the English one does not)."""
    sv, _, en = (description or "").rpartition(" / ")
    return (sv, en) if sv else (en, en)


def help_en(text: str | None, run_options: dict[str, str]) -> str | None:
    """The English form of a Swedish ``--help`` text (:data:`HELP_EN`, then ``run_options``: the Swedish → English
    halves of the RunConfig descriptions); a text without one stays Swedish."""
    if not text:
        return text
    body, tail = (text[: -len(REPEATABLE[0])], REPEATABLE[1]) if text.endswith(REPEATABLE[0]) else (text, "")
    body = body.strip()
    return HELP_EN.get(body, run_options.get(body, body)) + tail
