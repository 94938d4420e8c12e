"""The run configuration: every option of ``trygghet run`` in one typed, validated object.

The CLI (flags and ``--config FILE``), :func:`survey.pipeline.runner.run` and every Prefect flow take this
one model; a flow's parameter *is* this model, so the Prefect UI shows the same fields, descriptions and
checks. Keys are the long option names of ``trygghet run`` with dashes as underscores (``method: linear``,
``collapse: [age_group]``, ``formats: [html, xlsx]``). Every choice is checked here, before any file is read
or any database opened; a mistake is a :class:`~survey.errors.ConfigError` naming the option and the
allowed values.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from survey.errors import ConfigError
from survey.pipeline.config_messages import explain_value

Format = Literal["html", "xlsx", "csv", "px", "jsonstat", "png", "pdf"]
FORMATS: tuple[str, ...] = ("html", "xlsx", "csv", "px", "jsonstat", "png", "pdf")
DEFAULT_FORMATS: tuple[Format, ...] = ("html", "xlsx", "csv", "px", "jsonstat")
Lang = Literal["sv", "en"]
PATTERN_FORMS = {"variance": "linearisation, jackknife, bootstrap, bootstrap:R (R ≥ 1)"}  # a pattern's values, said


def _d(sv: str, en: str) -> str:
    """A field description in Swedish and English (shown by ``--help``, ``config show`` and the Prefect UI)."""
    return f"{sv} / {en}"


class RunConfig(BaseModel):
    """All options of one run of the pipeline (``trygghet run``, the flow ``trygghet_run``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    # --- inputs and reading -------------------------------------------------------------------------------
    responses: Path | None = Field(
        None, description=_d("Svarsfil (CSV, xlsx, sav, parquet)", "Responses file (CSV, xlsx, sav, parquet)")
    )
    population: Path | None = Field(
        None, description=_d("Befolkningsfil (kalibreringsmål)", "Population file (calibration targets)")
    )
    codebook: str | None = Field(
        None,
        description=_d(
            "Kodbok (namn eller YAML-fil); standard trygghet-v1", "Codebook (name or YAML file); default trygghet-v1"
        ),
    )
    mapping: Path | None = Field(None, description=_d("Leverantörsmappning (YAML)", "Vendor mapping (YAML)"))
    format: Literal["csv", "xlsx", "sav", "parquet"] | None = Field(
        None, description=_d("Filformat, om den automatiska gissningen är fel", "File format override")
    )
    encoding: str | None = Field(None, description=_d("Teckenkodning, t.ex. cp1252", "Text encoding override"))
    delimiter: Literal[",", ";", "tab"] | None = Field(
        None, description=_d("Avgränsare i CSV: ',', ';' eller 'tab'", "CSV delimiter")
    )
    decimal: Literal[".", ","] | None = Field(None, description=_d("Decimaltecken i CSV", "CSV decimal mark"))
    max_bad_share: float = Field(
        0.05,
        ge=0,
        le=1,
        description=_d(
            "Största andel karantänrader innan filen avvisas", "Largest share of quarantined rows before rejecting"
        ),
    )
    replace: bool = Field(
        False,
        description=_d(
            "Ersätt en redan inläst våg (den gamla versionen sparas)",
            "Replace a wave already loaded (the old version is kept)",
        ),
    )

    # --- weighting ----------------------------------------------------------------------------------------
    method: Literal["raking", "linear", "logit"] = Field(
        "raking", description=_d("Kalibreringsmetod", "Calibration method")
    )
    lower: float | None = Field(
        None,
        description=_d(
            "Nedre gräns för g-vikter (logit; trunkering annars)",
            "Lower bound on g-weights (logit; truncation otherwise)",
        ),
    )
    upper: float | None = Field(None, description=_d("Övre gräns för g-vikter", "Upper bound on g-weights"))
    trim_lower: float | None = Field(
        None,
        gt=0,
        description=_d(
            "Trimma g-vikter nedåt till detta (med omkalibrering)", "Trim g-weights up to this (re-calibrating)"
        ),
    )
    trim_upper: float | None = Field(
        None,
        gt=0,
        description=_d(
            "Trimma g-vikter uppåt till detta (med omkalibrering)", "Trim g-weights down to this (re-calibrating)"
        ),
    )
    trim_mode: Literal["recalibrate", "once"] = Field(
        "recalibrate",
        description=_d(
            "Trimning: recalibrate (trimma och kalibrera om tills både marginaler och gränser hålls) eller once "
            "(som R:s trim= men inom varje år × område: vikterna trimmas en gång efter kalibreringen och det "
            "trimmade fördelas på områdets övriga svarande, så områdets totalvikt hålls men inte marginalerna)",
            "Trimming: recalibrate (margins and bounds both met) or once (as R's trim= but within each year × "
            "district: the trimmed weight goes to the district's other respondents; its total kept, margins not)",
        ),
    )
    maxit: int = Field(
        100, ge=1, le=100_000, description=_d("Högsta antal kalibreringsiterationer", "Maximum calibration iterations")
    )
    collapse: tuple[str, ...] = Field(
        (),
        description=_d(
            "Slå ihop kalibreringsceller med för få svarande med en angränsande kategori, t.ex. age_group eller "
            "age_group:5 (minsta antal svarande); loggas",
            "Merge calibration cells with too few respondents into a neighbouring level, e.g. age_group:5",
        ),
    )
    aux: tuple[str, ...] = Field(
        (),
        description=_d(
            "Numeriska hjälpvariabler att kalibrera mot (t.ex. born_abroad): en kolumn i svarsfilen med "
            "personens värde och i befolkningsfilen med cellens total; totalen hålls per område och år",
            "Numeric auxiliaries calibrated to their totals per district and year (columns of both files)",
        ),
    )
    lonely_psu: Literal["fail", "certainty", "adjust", "average", "remove"] = Field(
        "fail",
        description=_d(
            "Regel för strata med en enda PSU (som R:s survey.lonely.psu)",
            "Rule for strata with one PSU (as R's survey.lonely.psu)",
        ),
    )

    gross_sample: Path | None = Field(
        None,
        description=_d(
            "Bruttourvalet (alla urvalspersoner: resp_id, year, district, sex, age_group, responded 0/1, valfritt "
            "design_weight): svarsandelar per område × kön × ålder till response_rates.csv",
            "Gross sample (respondents and non-respondents): response rates per district × sex × age",
        ),
    )
    nonresponse: Literal["cell", "propensity", "none"] = Field(
        "none",
        description=_d(
            "Bortfallsjustering före kalibreringen (kräver --gross-sample): cell (viktningsklasser område × kön × "
            "ålder), propensity (1 / skattad svarsbenägenhet, logistisk regression) eller none",
            "Non-response adjustment before calibration (needs --gross-sample): cell, propensity or none",
        ),
    )

    # --- estimation ---------------------------------------------------------------------------------------
    min_n: int = Field(
        30, ge=1, description=_d("Undertryck celler med färre svarande", "Suppress cells with fewer respondents")
    )
    max_rse: float | None = Field(
        None,
        gt=0,
        description=_d(
            "Undertryck även celler med relativt standardfel över detta", "Also suppress cells above this RSE"
        ),
    )
    level: float = Field(0.95, gt=0, lt=1, description=_d("Konfidensnivå", "Confidence level"))
    adjust: Literal["holm", "fdr_bh", "none"] = Field(
        "fdr_bh", description=_d("Justering för multipla jämförelser", "Multiple-comparison adjustment")
    )
    alpha: float = Field(
        0.05, gt=0, lt=1, description=_d("Signifikansnivå för jämförelser", "Significance level of comparisons")
    )

    variance: str = Field(
        "linearisation",
        pattern=r"^(linearisation|jackknife|bootstrap(:[1-9][0-9]*)?)$",
        description=_d(
            "Variansmetod: linearisation (Taylor, standard), jackknife (JKn) eller bootstrap[:R] (Rao–Wu, R "
            "replikat, standard 500); replikaten kalibreras om var för sig",
            "Variance: Taylor linearisation, JKn jackknife or Rao-Wu bootstrap[:R], re-calibrated per replicate",
        ),
    )
    replicate_seed: int = Field(
        2026, description=_d("Slumpfrö för bootstrap-replikaten", "Seed of the bootstrap replicates")
    )
    replicate_weights: bool = Field(
        False,
        description=_d(
            "Skriv även replikatvikterna (replicate_weights.csv, en kolumn per replikat, för R:s svrepdesign); "
            "filen blir stor: 1 000 000 svarande × 500 replikat är flera GB",
            "Also write the replicate weights (replicate_weights.csv, one column per replicate, for R's "
            "svrepdesign); large: 1,000,000 respondents × 500 replicates is several GB",
        ),
    )
    pool: int = Field(
        1,
        ge=1,
        le=10,
        description=_d(
            "Sammanslagna år: skatta varje område över så många på varandra följande undersökningsår (som Brå "
            "för små områden); raden för år t gäller åren t-k+1..t och märks i years_pooled; 1 = varje år för sig",
            "Pooled years: estimate each district over k consecutive waves (labelled in years_pooled)",
        ),
    )

    # --- trends ---------------------------------------------------------------------------------------------
    district_trends: bool = Field(
        False,
        description=_d(
            "Även trend per område (interaktionsmodell) och test av skillnader",
            "Also per-district trends (interaction model) and a test that they differ",
        ),
    )

    # --- publishing -----------------------------------------------------------------------------------------
    publish: bool = Field(
        True,
        description=_d(
            "Publicera rapporten (annars bara analysfilerna)", "Publish the report (otherwise only the analysis files)"
        ),
    )
    formats: tuple[Format, ...] = Field(
        DEFAULT_FORMATS,
        min_length=1,
        description=_d(
            "Publiceringsformat (html, xlsx, csv, px, jsonstat, png, pdf); csv skriver också en fil för svensk Excel",
            "Publication formats (csv also writes a file for Swedish Excel)",
        ),
    )
    charts: Literal["headline", "all", "none"] = Field(
        "headline",
        description=_d(
            "Diagram: headline (huvudindikatorn), all (alla indikatorer) eller none",
            "Charts: the headline indicator, all indicators, or none",
        ),
    )
    municipality: str | None = Field(
        None, max_length=200, description=_d("Kommun eller polisområde", "Municipality or police area")
    )
    title: str | None = Field(None, max_length=300, description=_d("Rapportens titel", "Report title"))
    source: str | None = Field(None, max_length=500, description=_d("Källa i tabellerna", "Source line"))
    contact: str | None = Field(None, max_length=300, description=_d("Kontaktuppgift", "Contact"))
    fieldwork: str | None = Field(
        None,
        max_length=300,
        description=_d(
            "Insamling i rapportens metoddel, t.ex. ”postenkät med webbsvar, september–oktober”",
            "Fieldwork in the report's method section, e.g. postal questionnaire with web option, Sept–Oct",
        ),
    )
    lang: Lang = Field(
        "sv",
        description=_d(
            "Språk för tabeller, rapport och meddelanden: sv (svenska) eller en (engelska)",
            "Language of tables, report and messages: sv (Swedish) or en (English)",
        ),
    )

    # --- where --------------------------------------------------------------------------------------------
    db: str | None = Field(
        None,
        description=_d("Databas-URL (standard: $TRYGGHET_DATABASE_URL eller sqlite:///trygghet.db)", "Database URL"),
    )
    out: Path = Field(Path("out"), description=_d("Utkatalog", "Output folder"))

    # --- field normalisation ------------------------------------------------------------------------------
    @classmethod
    def _kinds(cls, info: ValidationInfo) -> set[Any]:
        """The types a field admits (``float | None``: float and NoneType)."""
        return set(get_args(ann := cls.model_fields[str(info.field_name)].annotation)) or {ann}

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_as_number(cls, v: Any, info: ValidationInfo) -> Any:
        """``min_n: true`` in a YAML file is an error, not ``1`` (pydantic reads a bool as a number)."""
        kinds = cls._kinds(info)
        if isinstance(v, bool) and bool not in kinds and kinds & {int, float}:
            raise PydanticCustomError("int_parsing" if int in kinds else "float_parsing", "a bool is not a number")
        return v

    @field_validator("*", mode="before")
    @classmethod
    def _decimal_comma(cls, v: Any, info: ValidationInfo) -> Any:
        """``0,05`` for a real number is 0.05: a Swedish decimal comma, as the help shows the defaults."""
        kinds = cls._kinds(info)
        if isinstance(v, str) and float in kinds and str not in kinds and re.fullmatch(r"\s*[+-]?\d+,\d+\s*", v):
            return v.replace(",", ".")
        return v

    @field_validator("formats", "collapse", "aux", mode="before")
    @classmethod
    def _split_commas(cls, v: Any) -> Any:
        """``"html,xlsx"`` (a CLI value) or ``["html", "xlsx"]`` (YAML) alike."""
        if isinstance(v, str):
            return tuple(s.strip() for s in v.split(",") if s.strip())
        if isinstance(v, (list, tuple)):  # a repeated flag may carry a list too: --aux a,b --aux c
            return tuple(
                p.strip() if isinstance(s, str) else s
                for s in v
                for p in (s.split(",") if isinstance(s, str) else [s])
                if not isinstance(p, str) or p.strip()
            )
        return v

    @field_validator("collapse")
    @classmethod
    def _collapse_spec(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for item in v:
            name, _, k = item.partition(":")
            if not name or name not in COLLAPSIBLE or (k and not (k.isdigit() and int(k) >= 1)):
                raise ValueError(
                    f"{item!r}: skriv VARIABEL eller VARIABEL:MINSTA, där VARIABEL är en av "
                    f"{', '.join(COLLAPSIBLE)} och MINSTA ett heltal ≥ 1 (t.ex. age_group:5)"
                )
        return v

    @field_validator("aux")
    @classmethod
    def _aux_names(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for name in v:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) or name in RESERVED_COLUMNS or name.startswith("q_"):
                raise ValueError(
                    f"{name!r} kan inte vara en hjälpvariabel: ange namnet på en numerisk kolumn som finns i både "
                    f"svarsfilen och befolkningsfilen (t.ex. born_abroad), inte {', '.join(RESERVED_COLUMNS)} eller "
                    f"en fråga q_*"
                )
        if len(set(v)) < len(v):
            raise ValueError("samma hjälpvariabel är angiven två gånger")
        return v

    @field_validator("lower", "upper", "trim_lower", "trim_upper", "max_rse")
    @classmethod
    def _finite(cls, v: float | None) -> float | None:
        if v is not None and not math.isfinite(v):
            raise ValueError("måste vara ett ändligt tal")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> RunConfig:
        if self.method == "logit":
            if self.lower is None or self.upper is None:
                raise ValueError(
                    "--method logit: logit-kalibrering kräver både lower och upper (gränser för "
                    "g-vikterna), t.ex. lower: 0.3 och upper: 3"
                )
            if not (0 <= self.lower < 1 < self.upper):
                raise ValueError(
                    f"--method logit med --lower/--upper: logit-kalibreringens gränser kan inte "
                    f"hållas: lower = {self.lower} och upper = {self.upper}, men det måste gälla "
                    f"0 ≤ lower < 1 < upper"
                )
        elif self.lower is not None and self.upper is not None and not self.lower < self.upper:
            raise ValueError(f"--lower ({self.lower}) måste vara mindre än upper ({self.upper})")
        if self.nonresponse != "none" and self.gross_sample is None:
            raise ValueError(
                f"--nonresponse {self.nonresponse} kräver --gross-sample FIL (bruttourvalet med både svarande och "
                f"bortfall); utan bruttourval går det bara med --nonresponse none"
            )
        if self.pool > 1 and self.variance != "linearisation":
            raise ValueError(
                f"--pool {self.pool} med --variance {self.variance}: sammanslagna år skattas bara med "
                f"Taylorlinjärisering; ange --variance linearisation eller --pool 1"
            )
        tl, tu = self.trim_lower, self.trim_upper
        if tl is not None and tl >= 1 or tu is not None and tu <= 1:
            raise ValueError("--trim-lower/--trim-upper: trimgränserna måste omsluta 1: trim_lower < 1 < trim_upper")
        return self

    # --- derived ------------------------------------------------------------------------------------------
    @property
    def bounds(self) -> tuple[float, float] | None:
        """``(L, U)`` on g = w / d, or None; one given bound leaves the other open."""
        if self.lower is None and self.upper is None:
            return None
        return (-math.inf if self.lower is None else self.lower, math.inf if self.upper is None else self.upper)

    @property
    def trim(self) -> tuple[float, float] | None:
        if self.trim_lower is None and self.trim_upper is None:
            return None
        return (
            1e-9 if self.trim_lower is None else self.trim_lower,
            1e9 if self.trim_upper is None else self.trim_upper,
        )

    @property
    def collapse_spec(self) -> tuple[tuple[str, int], ...]:
        """``("age_group:5",)`` → ``(("age_group", 5),)``; the minimum defaults to 1 respondent."""
        out = []
        for item in self.collapse:
            name, _, k = item.partition(":")
            out.append((name, int(k) if k else 1))
        return tuple(out)

    @property
    def variance_method(self) -> tuple[Literal["linearisation", "jackknife", "bootstrap"], int]:
        """``("bootstrap", 500)`` from ``bootstrap`` or ``bootstrap:500``; ``(method, 0)`` otherwise."""
        method, _, r = self.variance.partition(":")
        if method == "bootstrap":
            return "bootstrap", int(r) if r else 500
        return ("jackknife" if method == "jackknife" else "linearisation"), 0

    @property
    def read_opts(self) -> dict[str, str]:
        """The read overrides given (keyword arguments of ``survey.data.ingest.load_wave``)."""
        opts = {
            "fmt": self.format,
            "encoding": self.encoding,
            "delimiter": "\t" if self.delimiter == "tab" else self.delimiter,
            "decimal": self.decimal,
        }
        return {k: v for k, v in opts.items() if v is not None}

    @property
    def report_texts(self) -> dict[str, str]:
        return {k: v for k in ("municipality", "title", "source", "contact", "fieldwork") if (v := getattr(self, k))}

    def check_inputs(self) -> None:
        """The input files exist and are files, and the output folder is one that can be written
        (:meth:`check_out`), before any work starts; raises :class:`ConfigError` naming the first that is not."""
        for name in ("responses", "population"):
            if getattr(self, name) is None:
                raise ConfigError(f"Ange --{name}: filen saknas i konfigurationen.", option=name)
        for name in ("responses", "population", "mapping", "gross_sample"):
            path = getattr(self, name)
            if path is not None and not Path(path).is_file():
                raise ConfigError(f"Filen {path} finns inte (eller är ingen fil).", option=name)
        self.check_out()

    def check_out(self) -> None:
        """The output folder ``out`` can be one: a folder that can be written, or a path that can be made (its
        nearest existing parent a folder that can be written; the run makes it when it writes); else
        :class:`ConfigError`. Nothing is left here (a probe folder is made and removed at once): every input of
        every survey is checked before any work."""
        out = Path(self.out)
        if out.exists() and not out.is_dir():
            raise ConfigError(f"Utkatalogen {out} är en fil och ingen mapp; välj en annan --out.", option="out")
        parent = next(p for p in (out, *out.absolute().parents) if p.exists())
        if not parent.is_dir():
            raise ConfigError(
                f"Kan inte skapa utkatalogen {out}: {parent} är en fil; välj en annan --out.", option="out"
            )
        if not os.access(parent, os.W_OK | os.X_OK):
            raise ConfigError(f"Utkatalogen {out} går inte att skriva i; välj en annan --out.", option="out")
        _probe_folder(parent, out)

    def public_dict(self) -> dict[str, Any]:
        """The configuration for logs, ``run.json`` and ``config show``: paths as text, the database URL
        with its password masked."""
        data = self.model_dump(mode="json")
        if data.get("db"):
            data["db"] = mask_url(data["db"])
        return data


def _probe_folder(parent: Path, out: Path) -> None:
    """Make and remove a folder in ``parent``: what ``os.access`` cannot tell (for root every folder is
    writable by permission, but /proc, a read-only mount or a full disk still refuse) the file system says."""
    import tempfile

    try:
        os.rmdir(tempfile.mkdtemp(prefix=".trygghet-", dir=parent))
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(
            f"Utkatalogen {out} går inte att skapa i {parent} ({reason}); välj en annan --out.", option="out"
        ) from None


COLLAPSIBLE: tuple[str, ...] = ("age_group", "sex")
RESERVED_COLUMNS: tuple[str, ...] = (
    "resp_id",
    "year",
    "district",
    "sex",
    "age_group",
    "population",
    "design_weight",
    "source_row",
    "comment",
)
FIELD_NAMES: tuple[str, ...] = tuple(RunConfig.model_fields)


def mask_url(url: str) -> str:
    """A database URL with any password replaced by ``***``."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        scheme, sep, _ = url.partition("://")
        return f"{scheme}{sep}***" if sep else "***"


def explain_validation(exc: ValidationError) -> ConfigError:
    """The first pydantic error of a run configuration (or a survey configuration) as one Swedish paragraph
    naming the option and the allowed values."""
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err.get("loc", ()) if not isinstance(p, int))
    option = loc.replace("_", "-") if loc else ""
    if err.get("type") == "extra_forbidden":
        close = _close_to(loc)
        hint = f" Menade du {close!r}?" if close else ""
        return ConfigError(f"Okänd inställning {loc!r}.{hint} Tillåtna: {', '.join(FIELD_NAMES)}.", option=loc)
    value = explain_value(err, f"--{option}", PATTERN_FORMS.get(loc, ""))
    if value is not None:
        return ConfigError(value, option=loc)
    msg = str(err.get("msg", "")).removeprefix("Value error, ")
    return ConfigError(f"{'--' + option + ': ' if option else ''}{msg}", option=loc or None)


def _close_to(key: str) -> str | None:
    import difflib

    hits = difflib.get_close_matches(key.replace("-", "_"), FIELD_NAMES, n=1, cutoff=0.6)
    return hits[0] if hits else None


def build_config(
    file: str | Path | None = None, overrides: dict[str, Any] | None = None, base: Path | None = None
) -> RunConfig:
    """The effective configuration: the YAML ``file`` (if any), then ``overrides`` (CLI flags given).

    Relative paths in the file are resolved against the file's folder; relative paths on the command line
    against ``base`` (default: the current folder).
    """
    data: dict[str, Any] = {}
    if file is not None:
        data = _read_file(Path(file))
    given = {k.replace("-", "_"): v for k, v in (overrides or {}).items() if v is not None}
    if base is not None:
        given = resolve_paths(given, base)
    data.update(given)
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        raise explain_validation(exc) from None


def read_yaml(path: Path, what: str, option: str) -> Any:
    """The YAML document of ``path`` (UTF-8, a BOM allowed); a missing file or invalid YAML is a
    :class:`ConfigError` naming ``what`` (e.g. ``Konfigurationsfilen``), the file and ``option``."""
    if not path.is_file():
        raise ConfigError(f"{what} {path} finns inte.", option=option)
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        mark = getattr(exc, "problem_mark", None)  # PyYAML's own words, on one line, with the place
        where = f"rad {mark.line + 1}, kolumn {mark.column + 1}: " if mark is not None else ""
        said = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{what} {path} är inte giltig YAML: {where}{said}", option=option) from None


def _read_file(path: Path) -> dict[str, Any]:
    doc = read_yaml(path, "Konfigurationsfilen", "config")
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ConfigError(f"Konfigurationsfilen {path} ska vara en YAML-mappning (nyckel: värde).", option="config")
    doc = {str(k).replace("-", "_"): v for k, v in doc.items()}
    return resolve_paths(doc, path.parent)


_PATH_FIELDS = ("responses", "population", "mapping", "gross_sample", "out")


def resolve_paths(doc: dict[str, Any], base: Path) -> dict[str, Any]:
    """``doc`` (run configuration keys) with its relative file paths (inputs, mapping, out, a codebook file, a
    SQLite database file) taken against ``base``."""
    out = dict(doc)
    if isinstance(db := out.get("db"), str) and (m := re.fullmatch(r"(sqlite(?:\+\w+)?:///)(?!/|:memory:)(.+)", db)):
        out["db"] = m[1] + str(Path(base) / m[2])
    for key in _PATH_FIELDS:
        v = out.get(key)
        if isinstance(v, (str, os.PathLike)) and str(v) and not Path(v).is_absolute():
            out[key] = Path(base) / Path(v)
    cb = out.get("codebook")
    if isinstance(cb, str) and cb.lower().endswith((".yaml", ".yml")) and not Path(cb).is_absolute():
        out["codebook"] = str(Path(base) / cb)
    return out


def to_yaml(config: RunConfig) -> str:
    """The effective configuration as YAML (``trygghet config show``), password masked."""
    return yaml.safe_dump(config.public_dict(), allow_unicode=True, sort_keys=False)
