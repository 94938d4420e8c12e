"""The survey configuration: what a municipality or police area runs every year, in one YAML file.

One file describes one survey (or several, under ``surveys:``)::

    name: sundbyberg                      # short name: tags, folders, flow-run names (a-z, 0-9, -)
    report:                               # the report texts (``{year}`` is replaced by the year)
      municipality: Sundbybergs stad
      title: Trygghetsundersökning {year}
      source: Sundbybergs stad och lokalpolisområde Rinkeby
      contact: trygghet@sundbyberg.se
    codebook: trygghet-v1                 # name or YAML file
    mapping: mappings/vendor.yaml         # vendor mapping (optional)
    years:
      2025: {responses: leveranser/2025/svar.csv, population: leveranser/2025/befolkning.csv}
      2026: {folder: leveranser/2026}     # a folder with one responses.* (or svar.*) and one population.*
    db: postgresql+psycopg://trygghet@db.example.se/sundbyberg    # no password here (see below)
    out: /srv/trygghet/runs/sundbyberg    # runs go to OUT/<year>/<run key>/
    options: {method: raking, min_n: 30}  # any other option of ``trygghet run`` (RunConfig)

Relative paths (inputs, folder, mapping, a codebook file, ``out``, a SQLite file) are resolved against the
folder of the YAML file; a configuration given directly (a Prefect parameter) is resolved against the data
folder (:func:`data_dir`). Never against the code checkout.

The database URL never carries a password: a URL with one is refused. Name an environment variable
(``db_env: TRYGGHET_DATABASE_URL_SUNDBYBERG``) or a Prefect Secret block (``db_secret: sundbyberg-db``) that
holds the whole URL, or let libpq find the password (``PGPASSWORD``, ``~/.pgpass``). Without any of them the
database is the SQLite file ``<data>/db/<name>.sqlite``.

:meth:`SurveyConfig.run_config` turns one year of a survey into the :class:`RunConfig` of one
``trygghet run``.
"""

from __future__ import annotations

import os
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from survey.errors import ConfigError
from survey.pipeline.config import RunConfig, explain_validation, read_yaml, resolve_paths

DATA_DIR_ENV = "TRYGGHET_DATA_DIR"
INPUT_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xls", ".sav", ".parquet")
_FILE_STEMS = {"responses": ("responses", "svar"), "population": ("population", "befolkning")}
# RunConfig fields a survey sets through its own keys, never through ``options``
_OWN_FIELDS = (
    "responses",
    "population",
    "codebook",
    "mapping",
    "db",
    "out",
    "municipality",
    "title",
    "source",
    "contact",
)


def data_dir() -> Path:
    """Where runs, SQLite databases, survey files and the local Prefect server live (never the checkout):
    ``$TRYGGHET_DATA_DIR``, else ``$XDG_DATA_HOME/trygghet``, else ``~/.local/share/trygghet``."""
    given = os.environ.get(DATA_DIR_ENV)
    if given:
        return Path(given).expanduser().resolve()
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share") / "trygghet"


def flow_config(config: RunConfig, key: str) -> RunConfig:
    """A run configuration as a flow runs it, never against the code checkout (the worker's current folder):
    relative input files (responses, population, mapping, a codebook file) are taken against the data
    folder (:func:`data_dir`); a relative ``out`` (the default ``out`` too) becomes
    ``<data>/runs/<out>/<key>`` (``key``: the flow run's id, so two runs never write one folder); without
    ``db`` and ``$TRYGGHET_DATABASE_URL`` the database is ``<data>/db/trygghet.sqlite`` (a relative SQLite
    file is taken against the data folder: :func:`flow_database`). An absolute ``out`` is used as given."""
    base = data_dir()
    data = {k: v for k, v in config.model_dump().items() if v is not None}
    out = Path(config.out)
    data = resolve_paths({**data, "out": out if out.is_absolute() else Path("runs") / out / key}, base)
    data["db"] = flow_database(config.db)
    return RunConfig.model_validate({k: v for k, v in data.items() if v is not None})


def flow_database(db: str | None) -> str | None:
    """A flow's database: ``db`` with a relative SQLite file taken against the data folder; none given:
    None when ``$TRYGGHET_DATABASE_URL`` is set (the store reads it), else ``<data>/db/trygghet.sqlite``."""
    from survey.data.store.engine import ENV_URL

    if db is not None:
        return _absolute_sqlite(db, data_dir())
    return None if os.environ.get(ENV_URL) else f"sqlite:///{data_dir() / 'db' / 'trygghet.sqlite'}"


def run_key() -> str:
    """A folder name unique to one run outside Prefect (UTC time + random suffix)."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]


def has_password(url: str) -> bool:
    """Whether a database URL carries a password (``scheme://user:password@host``)."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).password is not None
    except Exception:
        return re.search(r"://[^/@:]*:[^/@]*@", url) is not None


class ReportTexts(BaseModel):
    """The texts of the report; ``{year}`` in any of them is replaced by the year of the run."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    municipality: str | None = Field(None, max_length=200, description="Kommun eller polisområde / Municipality")
    title: str | None = Field(None, max_length=300, description="Rapportens titel / Report title")
    source: str | None = Field(None, max_length=500, description="Källa i tabellerna / Source line")
    contact: str | None = Field(None, max_length=300, description="Kontaktuppgift / Contact")
    fieldwork: str | None = Field(None, max_length=300, description="Insamling / Fieldwork (method section)")

    def for_year(self, year: int) -> dict[str, str]:
        return {k: v.replace("{year}", str(year)) for k, v in self.model_dump().items() if v}


class YearInputs(BaseModel):
    """The files of one year: ``responses`` and ``population``, or a ``folder`` holding both."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    responses: Path | None = Field(None, description="Svarsfil / Responses file")
    population: Path | None = Field(None, description="Befolkningsfil / Population file")
    folder: Path | None = Field(None, description="Katalog med svar.* och befolkning.* / Folder with both files")

    @model_validator(mode="after")
    def _one_way(self) -> YearInputs:
        if self.folder is not None and (self.responses is not None or self.population is not None):
            raise ValueError("ange antingen folder eller responses och population, inte båda")
        if self.folder is None and (self.responses is None or self.population is None):
            raise ValueError("ange både responses och population (eller folder)")
        return self

    def files(self, where: str) -> tuple[Path, Path]:
        """``(responses, population)``; a folder must hold exactly one file of each (ConfigError otherwise)."""
        if self.folder is None:
            if self.responses is None or self.population is None:  # excluded by _one_way
                raise ConfigError(f"{where}: ange både responses och population.", option="years")
            return self.responses, self.population
        folder = Path(self.folder)
        if not folder.is_dir():
            raise ConfigError(f"{where}: katalogen {folder} finns inte.", option="folder")
        found = []
        for kind, stems in _FILE_STEMS.items():
            hits = sorted(
                p
                for p in folder.iterdir()
                if p.is_file() and p.stem.lower() in stems and p.suffix.lower() in INPUT_SUFFIXES
            )
            if len(hits) != 1:
                what = "ingen" if not hits else f"{len(hits)} ({', '.join(p.name for p in hits)})"
                raise ConfigError(
                    f"{where}: katalogen {folder} ska innehålla exakt en {kind}-fil "
                    f"({' eller '.join(stems)}.csv/.xlsx/.sav/.parquet), men har {what}.",
                    option="folder",
                )
            found.append(hits[0])
        return found[0], found[1]


class SurveyConfig(BaseModel):
    """One municipality's or police area's survey: inputs per year, report texts, database, outputs."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(
        pattern=r"^[a-z0-9][a-z0-9-]{0,62}$",
        description=("Kort namn (a-z, 0-9, -): taggar, kataloger / Short name: tags, folders"),
    )
    report: ReportTexts = Field(ReportTexts.model_validate({}), description="Rapportens texter / Report texts")
    codebook: str | None = Field(None, description="Kodbok (namn eller YAML-fil) / Codebook")
    mapping: Path | None = Field(None, description="Leverantörsmappning (YAML) / Vendor mapping")
    years: dict[int, YearInputs] = Field(min_length=1, description="Indata per år / Input files per year")
    db: str | None = Field(
        None,
        description=("Databas-URL utan lösenord (standard <data>/db/<name>.sqlite) / Database URL without a password"),
    )
    db_env: str | None = Field(
        None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description=("Miljövariabel med databas-URL:en / Environment variable holding the database URL"),
    )
    db_secret: str | None = Field(
        None, description=("Prefect Secret-block med databas-URL:en / Prefect Secret block holding the database URL")
    )
    out: Path | None = Field(None, description="Utkatalog (standard <data>/runs/<name>) / Output folder")
    options: dict[str, Any] = Field(
        default_factory=dict, description=("Övriga inställningar för trygghet run / Other RunConfig options")
    )

    @field_validator("db")
    @classmethod
    def _no_password(cls, v: str | None) -> str | None:
        if v is not None and has_password(v):
            raise ValueError(
                "databas-URL:en innehåller ett lösenord; skriv aldrig lösenordet i konfigurationen: "
                "använd db_env (en miljövariabel), db_secret (ett Prefect Secret-block) eller "
                "PGPASSWORD/~/.pgpass"
            )
        return v

    @field_validator("options")
    @classmethod
    def _valid_options(cls, v: dict[str, Any]) -> dict[str, Any]:
        opts = {str(k).replace("-", "_"): x for k, x in v.items()}
        own = sorted(set(opts) & set(_OWN_FIELDS))
        if own:
            raise ValueError(f"{', '.join(own)} anges med enkätens egna nycklar, inte under options")
        try:
            RunConfig.model_validate(opts)
        except ValidationError as exc:
            raise ValueError(str(explain_validation(exc))) from None
        return opts

    def resolved(self, base: Path) -> SurveyConfig:
        """The same survey with every relative path made absolute against ``base``."""
        data = self.model_dump()
        for key in ("mapping", "out"):
            data[key] = _absolute(data[key], base) if data[key] else None
        cb = data["codebook"]
        if cb and cb.lower().endswith((".yaml", ".yml")):
            data["codebook"] = str(_absolute(cb, base))
        data["years"] = {
            y: {k: (str(_absolute(p, base)) if p else None) for k, p in v.items()} for y, v in data["years"].items()
        }
        data["db"] = _absolute_sqlite(data["db"], base) if data["db"] else None
        return SurveyConfig.model_validate(data)

    def database(self) -> str | None:
        """The database URL when it needs no secret (``db`` or the default SQLite file); None when it comes
        from ``db_env`` or ``db_secret`` (the caller reads those, see ``flows.common.survey_database``)."""
        if self.db_env or self.db_secret:
            return None
        return self.db or f"sqlite:///{data_dir() / 'db' / (self.name + '.sqlite')}"

    def run_folder(self, year: int, key: str) -> Path:
        """``OUT/<year>/<key>``: one folder per run, so two runs never write one folder."""
        base = Path(self.out) if self.out is not None else data_dir() / "runs" / self.name
        return base / str(year) / key

    def run_config(self, year: int, out: Path, db: str | None = None) -> RunConfig:
        """The :class:`RunConfig` of one year of this survey (``db`` overrides :meth:`database`)."""
        if year not in self.years:
            have = ", ".join(map(str, sorted(self.years)))
            raise ConfigError(f"Enkäten {self.name!r} har inga indata för {year} (har: {have}).", option="years")
        responses, population = self.years[year].files(f"{self.name} {year}")
        data: dict[str, Any] = {
            **self.options,
            "responses": responses,
            "population": population,
            "codebook": self.codebook,
            "mapping": self.mapping,
            "out": out,
            "db": db or self.database(),
            **self.report.for_year(year),
        }
        try:
            return RunConfig.model_validate({k: v for k, v in data.items() if v is not None})
        except ValidationError as exc:
            raise explain_validation(exc) from None

    def checked(self, years: list[int]) -> list[RunConfig]:
        """Every year's configuration with its input files checked (before any work starts)."""
        out = []
        for year in years:
            config = self.run_config(year, self.run_folder(year, "check"))
            try:
                config.check_inputs()
            except ConfigError as exc:
                raise ConfigError(f"{self.name} {year}: {exc}", option=exc.option) from None
            out.append(config)
        return out


def _absolute(p: str | os.PathLike[str], base: Path) -> Path:
    """``p`` made absolute against ``base`` (``~`` expanded, ``..`` folded, symbolic links kept)."""
    path = Path(p).expanduser()
    return Path(os.path.normpath(path if path.is_absolute() else Path(base) / path))


def _absolute_sqlite(url: str, base: Path) -> str:
    """``sqlite:///rel.db`` → ``sqlite:////BASE/rel.db``; other URLs unchanged."""
    prefix = "sqlite:///"
    if (
        url.startswith(prefix)
        and len(url) > len(prefix)
        and not url[len(prefix) :].startswith("/")
        and not url[len(prefix) :].startswith(":memory:")
    ):
        return prefix + str(_absolute(url[len(prefix) :], base))
    return url


def load_surveys(path: str | os.PathLike[str], base: Path | None = None) -> list[SurveyConfig]:
    """The surveys of one YAML file, or of every ``*.yaml``/``*.yml`` in a folder (sorted by file name).

    A relative ``path`` is taken against ``base`` (default: :func:`data_dir`); paths inside a file against
    that file's folder. Mistakes raise :class:`ConfigError` naming the file and the entry.
    """
    p = _absolute(path, base if base is not None else data_dir())
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.suffix.lower() in (".yaml", ".yml") and f.is_file())
        if not files:
            raise ConfigError(f"Katalogen {p} innehåller ingen enkätkonfiguration (*.yaml).", option="surveys")
        return [s for f in files for s in load_surveys(f)]
    doc = read_yaml(p, "Enkätkonfigurationen", "surveys")
    entries = doc.get("surveys") if isinstance(doc, dict) and set(doc) == {"surveys"} else [doc]
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ConfigError(
            f"Enkätkonfigurationen {p} ska vara en YAML-mappning (eller surveys: en lista av mappningar).",
            option="surveys",
        )
    return [parse_survey(e, p) for e in entries]


def parse_survey(doc: dict[str, Any], file: Path | None = None) -> SurveyConfig:
    """One survey from a mapping (relative paths against ``file``'s folder, else :func:`data_dir`)."""
    where = f"Enkätkonfigurationen {file}" if file else "Enkätkonfigurationen"
    try:
        survey = SurveyConfig.model_validate(doc)
    except ValidationError as exc:
        err = explain_validation(exc)
        raise ConfigError(f"{where}: {err}", option=err.option) from None
    return survey.resolved(file.parent if file else data_dir())


def unique_names(surveys: list[SurveyConfig]) -> list[SurveyConfig]:
    """The surveys, refusing two with one name (they would share tags, folders and the default database)."""
    seen: set[str] = set()
    for s in surveys:
        if s.name in seen:
            raise ConfigError(f"Två enkäter heter {s.name!r}; namnen måste vara unika.", option="name")
        seen.add(s.name)
    return surveys
