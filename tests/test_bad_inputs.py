"""The bad-input corpus: every kind of broken file, through `trygghet ingest`, ends clearly.

Each case below builds one file (or a mapping/codebook) from the shared sample wave (its first 300 rows, all
2022) and runs ``trygghet ingest FILE --population P --db sqlite:///...`` through typer's CliRunner:

* ``REJECT`` cases must exit 2 with one paragraph (one ``Fel:``) containing the case's words: the file, the
  row (``rad N``) and the column (``kolumn C``) where the problem has a place, and the cause; no traceback;
  and the database (already holding the whole sample wave) unchanged: every table's row count and content
  hash (``tests/dbstate.py``) are the same before and after.
* ``ACCEPT`` cases are files trygghet reads on purpose (another encoding, a title row in Excel, a quarantined
  row, ...): exit 0 into a fresh database, with the note or quarantine reason in the words.

Kinds: encodings (UTF-16/32 with and without BOM, stray and mixed bytes, wrong --encoding, mojibake, NUL,
DOS/Mac), delimiters, truncation (inside quotes too, mid-character, Excel/Parquet/SPSS cut), binary junk and
renamed files, Excel (formulas with and without cached values, title and merged rows, second sheets),
SPSS value labels, Parquet dtypes, extreme numbers and design weights, duplicate ids within and across files,
population errors, codebook and mapping YAML errors, hostile district names.
"""

from __future__ import annotations

import codecs
import io
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from survey.cli import app
from survey.data.codebook import CODEBOOK_DIR, MAPPING_DIR
from tests.conftest import SAMPLE_WAVE
from tests.dbstate import db_state

POP = SAMPLE_WAVE / "population.csv"
REJECT, ACCEPT = 2, 0


@dataclass
class Built:
    responses: Path
    population: Path = POP
    args: list[str] = field(default_factory=list)
    words: list[str] = field(default_factory=list)


@dataclass
class Case:
    id: str
    expect: int
    words: tuple[str, ...]
    build: Callable[[Path], Built]


CASES: list[Case] = []


def case(id: str, expect: int, *words: str):
    def register(fn: Callable[[Path], Built | Path]) -> Callable:
        def build(folder: Path) -> Built:
            b = fn(folder)
            return b if isinstance(b, Built) else Built(b)

        CASES.append(Case(id, expect, words, build))
        return fn

    return register


# --- material -------------------------------------------------------------------------------------

_SAMPLE = pd.read_csv(SAMPLE_WAVE / "responses.csv", dtype=str, keep_default_na=False)
_POP = pd.read_csv(POP, dtype=str, keep_default_na=False)


def R() -> pd.DataFrame:
    """The first 300 sample rows as text (row i of the frame is source row i + 2)."""
    return _SAMPLE.iloc[:300].copy()


def typed() -> pd.DataFrame:
    df = R()
    for c in df.columns:
        if c not in ("resp_id", "district", "age_group", "comment"):
            df[c] = pd.to_numeric(df[c].replace("", np.nan))
    return df


def text(df: pd.DataFrame, sep: str = ",") -> str:
    return df.to_csv(index=False, sep=sep, lineterminator="\n")


def put(folder: Path, name: str, data: bytes | str, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
    return path


def comment_row(df: pd.DataFrame, needle: str) -> int:
    """Frame index of the first comment containing ``needle``."""
    return int(np.flatnonzero(df["comment"].str.contains(needle, regex=False))[0])


def pop_csv(folder: Path, df: pd.DataFrame, name: str = "befolkning.csv") -> Path:
    return put(folder, name, text(df))


def xlsx(folder: Path, frames: dict[str, pd.DataFrame], name: str = "svar.xlsx", startrow: int = 0) -> Path:
    path = folder / name
    with pd.ExcelWriter(path, engine="openpyxl") as w:
        for sheet, df in frames.items():
            df.to_excel(w, sheet_name=sheet, index=False, startrow=startrow)
    return path


def rezip(path: Path, edit: Callable[[str, bytes], bytes]) -> None:
    """Rewrite every member of a zip through ``edit(name, data)``."""
    members = {}
    with zipfile.ZipFile(path) as z:
        for n in z.namelist():
            members[n] = edit(n, z.read(n))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for n, data in members.items():
            z.writestr(n, data)


def sav(folder: Path, df: pd.DataFrame, labels: dict, name: str = "svar.sav") -> Path:
    import pyreadstat

    path = folder / name
    out = df.copy()
    for c in out.columns:
        if str(out[c].dtype) in ("str", "string", "object"):
            out[c] = out[c].astype(object).fillna("")
    pyreadstat.write_sav(out, str(path), variable_value_labels=labels)
    return path


def yaml_file(folder: Path, name: str, body: str | bytes) -> Path:
    return put(folder, name, body)


def with_pop(folder: Path, district: str, responses: pd.DataFrame, name: str = "svar.csv") -> Built:
    """Responses and population where Rissne is renamed ``district`` in both."""
    resp = responses.copy()
    resp["district"] = resp["district"].replace("Rissne", district)
    pop = _POP.copy()
    pop["district"] = pop["district"].replace("Rissne", district)
    return Built(put(folder, name, text(resp)), pop_csv(folder, pop))


# --- encodings ------------------------------------------------------------------------------------


@case("utf16-le-bom", ACCEPT, "utf-16", "300 godkända")
def _(f):
    return put(f, "svar.csv", codecs.BOM_UTF16_LE + text(R()).encode("utf-16-le"))


@case("utf16-be-bom", ACCEPT, "utf-16", "300 godkända")
def _(f):
    return put(f, "svar.csv", codecs.BOM_UTF16_BE + text(R()).encode("utf-16-be"))


@case("utf16-le-no-bom", ACCEPT, "utf-16-le", "utan BOM", "300 godkända")
def _(f):
    return put(f, "svar.csv", text(R()).encode("utf-16-le"))


@case("utf16-be-no-bom", ACCEPT, "utf-16-be", "utan BOM", "300 godkända")
def _(f):
    return put(f, "svar.csv", text(R()).encode("utf-16-be"))


@case("utf32-bom", ACCEPT, "utf-32", "300 godkända")
def _(f):
    return put(f, "svar.csv", text(R()).encode("utf-32"))


@case("stray-latin1-byte-in-comment", REJECT, "svar.csv", "kolumn comment", "0xe4", "UTF-8", "blandade")
def _(f):
    df = R()
    i = comment_row(df, "känner")
    raw = text(df).encode("utf-8")
    at = raw.index("känner".encode())
    raw = raw[:at] + b"k\xe4nner" + raw[at + len("känner".encode()) :]
    return Built(put(f, "svar.csv", raw), words=[f"rad {i + 2}"])


@case("stray-latin1-byte-in-district", REJECT, "svar.csv", "kolumn district", "0xe4")
def _(f):
    df = R()
    i = int(np.flatnonzero(df["district"] == "Väsby centrum")[0])
    raw = text(df).encode("utf-8").replace("Väsby".encode(), b"V\xe4sby", 1)
    return Built(put(f, "svar.csv", raw), words=[f"rad {i + 2}"])


@case("mixed-utf8-and-cp1252", REJECT, "svar.csv", "blandade teckenkodningar")
def _(f):
    df = R()
    head, tail = text(df.iloc[:150]), df.iloc[150:].to_csv(index=False, header=False, lineterminator="\n")
    ascii_rows = df.iloc[150:].apply(lambda r: all(str(v).isascii() for v in r), axis=1).to_numpy()
    first = 150 + int(np.flatnonzero(~ascii_rows)[0]) + 2
    return Built(put(f, "svar.csv", head.encode("utf-8") + tail.encode("cp1252")), words=[f"rad {first}"])


@case("utf8-bom-with-stray-byte", REJECT, "svar.csv", "UTF-8 med BOM", "kolumn comment")
def _(f):
    raw = codecs.BOM_UTF8 + text(R()).encode("utf-8").replace("känner".encode(), b"k\xe4nner", 1)
    return put(f, "svar.csv", raw)


@case("cut-mid-character", REJECT, "svar.csv", "mitt i ett UTF-8-tecken", "avkortad", "rad 301")
def _(f):
    df = R()
    df.loc[df.index[-1], "comment"] = "Otrygg vid tågstationen på kvällarna och nätterna ö"
    raw = text(df).encode("utf-8").rstrip(b"\n")
    return put(f, "svar.csv", raw[:-1])


@case("explicit-cp1252-on-utf8", REJECT, "svar.csv", "--encoding cp1252", "förvrängd", "Ã", "rad", "kolumn")
def _(f):
    return Built(put(f, "svar.csv", text(R())), args=["--encoding", "cp1252"])


@case("explicit-utf8-on-cp1252", REJECT, "svar.csv", "kan inte avkodas som utf-8", "rad", "kolumn")
def _(f):
    return Built(put(f, "svar.csv", text(R()), "cp1252"), args=["--encoding", "utf-8"])


@case("explicit-unknown-encoding", REJECT, "svar.csv", "okänd teckenkodning 'svenska'")
def _(f):
    return Built(put(f, "svar.csv", text(R())), args=["--encoding", "svenska"])


@case("mojibake-already-in-file", ACCEPT, "förvrängts", "kolumn comment", "300 godkända")
def _(f):
    df = R()
    df["comment"] = df["comment"].map(lambda c: c.encode("utf-8").decode("cp1252", errors="replace"))
    return put(f, "svar.csv", text(df))


@case("nul-byte-in-comment", REJECT, "svar.csv", "NUL", "kolumn comment")
def _(f):
    df = R()
    i = comment_row(df, "Karin")
    df.loc[i, "comment"] = "Bra att ni frågar!\x00 /Karin"
    return Built(put(f, "svar.csv", text(df)), words=[f"rad {i + 2}"])


@case("dos-cp850", ACCEPT, "cp850", "300 godkända")
def _(f):
    return put(f, "svar.csv", text(R(), ";"), "cp850")


@case("mac-roman", ACCEPT, "mac_roman", "300 godkända")
def _(f):
    return put(f, "svar.csv", text(R()), "mac_roman")


@case("cp1252-with-typography", ACCEPT, "300 godkända", "0 i karantän")
def _(f):
    df = R()  # every comment with quotes, a dash and € (mac_roman's Ä, ñ; cp850's ô, ö): Älvsjö-Ängby intact
    df["comment"] = df["comment"] + " “citat” – 100 € … — slut"
    return put(f, "svar.csv", text(df, ";"), "cp1252")


@case("cr-only-line-ends", ACCEPT, "300 godkända", "0 i karantän", "slutar med bara CR")
def _(f):  # Excel for Mac's "CSV (Macintosh)": no LF at all (it read as a header without data rows)
    df = R()
    df["comment"] = df["comment"].str.replace("\n", " ").str.replace("\r", " ")
    return put(f, "svar.csv", text(df).replace("\n", "\r"))


@case("cr-only-line-ends-mac-roman", ACCEPT, "mac_roman", "300 godkända", "slutar med bara CR")
def _(f):
    df = R()
    df["comment"] = df["comment"].str.replace("\n", " ").str.replace("\r", " ")
    return put(f, "svar.csv", text(df, ";").replace("\n", "\r"), "mac_roman")


@case("latin-1", ACCEPT, "cp1252", "300 godkända")
def _(f):
    return put(f, "svar.csv", text(R(), ";"), "latin-1")


# --- delimiters -----------------------------------------------------------------------------------


@case("semicolon", ACCEPT, "';'", "300 godkända")
def _(f):
    return put(f, "svar.csv", text(R(), ";"))


@case("tab", ACCEPT, "'\\t'", "300 godkända")
def _(f):
    return put(f, "svar.tsv", text(R(), "\t"))


@case("pipe", ACCEPT, "'|'", "300 godkända")
def _(f):
    return put(f, "svar.csv", text(R(), "|"))


@case("header-semicolon-rows-comma", REJECT, "svar.csv", "rad 2", "fält där rubrikraden har 22")
def _(f):
    lines = text(R()).split("\n")
    return put(f, "svar.csv", ";".join(lines[0].split(",")) + "\n" + "\n".join(lines[1:]))


@case("one-row-with-semicolons", REJECT, "svar.csv", "rad 11", "färre än rubrikraden")
def _(f):
    lines = text(R()).split("\n")
    lines[10] = lines[10].replace(",", ";")
    return put(f, "svar.csv", "\n".join(lines))


@case("wrong-delimiter-option", REJECT, "svar.csv", "rad 1", "bara ett fält med avgränsaren ';'", "--delimiter")
def _(f):
    return Built(put(f, "svar.csv", text(R())), args=["--delimiter", ";"])


@case("unquoted-comma-in-comment", REJECT, "svar.csv", "rad 5", "fler än rubrikraden")
def _(f):
    lines = text(R()).split("\n")
    lines[4] = lines[4] + ", och mer"
    return put(f, "svar.csv", "\n".join(lines))


@case("delimiter-of-two-characters", REJECT, "--delimiter", ";;")
def _(f):
    return Built(put(f, "svar.csv", text(R())), args=["--delimiter", ";;"])


@case("decimal-comma-unquoted-in-comma-file", REJECT, "svar.csv", "rad 2", "fler än rubrikraden")
def _(f):
    df = R()
    lines = text(df).split("\n")
    lines[1] = lines[1].replace(df["design_weight"].iloc[0], df["design_weight"].iloc[0].replace(".", ","), 1)
    return put(f, "svar.csv", "\n".join(lines))


# --- truncation -----------------------------------------------------------------------------------


@case("cut-inside-quoted-comment", REJECT, "svar.csv", "citattecken", "kolumn comment", "avkortad", "rad 301")
def _(f):
    df = R()
    df.loc[df.index[-1], "comment"] = "Hej, jag känner mig otrygg vid busshållplatsen på kvällarna"
    t = text(df)
    return put(f, "svar.csv", t[: t.rindex("otrygg")])


@case("cut-inside-quoted-comment-with-newline", REJECT, "svar.csv", "citattecken", "kolumn comment")
def _(f):
    t = text(R())
    at = t.index("Hej!\nJag känner")
    return Built(put(f, "svar.csv", t[: at + 8]), words=[f"rad {t[:at].count(chr(10)) + 1}"])


@case("unclosed-quote-mid-file", REJECT, "svar.csv", "rad")
def _(f):
    lines = text(R()).split("\n")
    j = [n for n, ln in enumerate(lines) if ',"' in ln][1]
    lines[j] = lines[j].replace(',"', ",", 1)
    return put(f, "svar.csv", "\n".join(lines))


@case("cut-mid-last-line", REJECT, "svar.csv", "rad 301", "färre än rubrikraden")
def _(f):
    t = text(R()).rstrip("\n")
    return put(f, "svar.csv", t[: t.rindex("\n") + 30])


@case("cut-in-header", REJECT, "svar.csv", "rad 2", "inga datarader")
def _(f):
    return put(f, "svar.csv", text(R())[:40])


@case("cut-after-header", REJECT, "svar.csv", "rad 2", "inga datarader")
def _(f):
    return put(f, "svar.csv", text(R()).split("\n")[0] + "\n")


@case("no-final-newline", ACCEPT, "300 godkända")
def _(f):
    return put(f, "svar.csv", text(R()).rstrip("\n"))


@case("cut-xlsx", REJECT, "svar.xlsx", "xlsx")
def _(f):
    p = xlsx(f, {"Svar": typed()})
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    return p


@case("cut-parquet", REJECT, "svar.parquet", "parquet")
def _(f):
    p = f / "svar.parquet"
    typed().to_parquet(p, index=False)
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    return p


@case("cut-sav", REJECT, "svar.sav", "sav")
def _(f):
    p = sav(f, typed(), {})
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    return p


# --- binary junk and renamed files ----------------------------------------------------------------


@case("random-bytes-csv", REJECT, "svar.csv", "binär")
def _(f):
    return put(f, "svar.csv", b"\x01" + np.random.default_rng(7).bytes(20000))


@case("xlsx-renamed-csv", REJECT, "svar.csv", "zip-fil", "CSV-namn")
def _(f):
    p = xlsx(f, {"Svar": typed()}, "tmp.xlsx")
    return put(f, "svar.csv", p.read_bytes())


@case("zip-renamed-xlsx", REJECT, "svar.xlsx", "ingen Excel-arbetsbok")
def _(f):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("svar.csv", text(R()))
    return put(f, "svar.xlsx", buf.getvalue())


@case("csv-renamed-xlsx", REJECT, "svar.xlsx", "är inte en xlsx-fil", "textfil")
def _(f):
    return put(f, "svar.xlsx", text(R()))


@case("parquet-renamed-csv", REJECT, "svar.csv", "Parquet-fil")
def _(f):
    p = f / "tmp.parquet"
    typed().to_parquet(p, index=False)
    return put(f, "svar.csv", p.read_bytes())


@case("sav-renamed-csv", REJECT, "svar.csv", "SPSS-fil")
def _(f):
    return put(f, "svar.csv", sav(f, typed(), {}, "tmp.sav").read_bytes())


@case("old-xls-renamed-xlsx", REJECT, "svar.xlsx", "gammal Excel-fil")
def _(f):
    return put(f, "svar.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4000))


@case("png-named-parquet", REJECT, "svar.parquet", "är inte en parquet-fil")
def _(f):
    return put(f, "svar.parquet", b"\x89PNG\r\n\x1a\n" + bytes(100))


@case("empty-file", REJECT, "svar.csv", "rad 1", "är tom")
def _(f):
    return put(f, "svar.csv", b"")


@case("whitespace-only", REJECT, "svar.csv", "rad 1", "är tom")
def _(f):
    return put(f, "svar.csv", b"  \n\n\t\n")


@case("blank-header-field", REJECT, "svar.csv", "rad 1", "rubrikfält 3 är tomt")
def _(f):
    lines = text(R()).split("\n")
    lines[0] = lines[0].replace("district", "", 1)
    return put(f, "svar.csv", "\n".join(lines))


@case("duplicate-header", REJECT, "svar.csv", "rad 1", "kolumn q_worry_crime", "två gånger")
def _(f):
    return put(f, "svar.csv", text(R()).replace("q_police_care", "q_worry_crime", 1))


@case("unsupported-extension", REJECT, "svar.json", "stöds inte")
def _(f):
    return put(f, "svar.json", "{}")


# --- Excel ----------------------------------------------------------------------------------------


@case(
    "xlsx-formula-without-cached-value",
    REJECT,
    "svar.xlsx",
    "formeln",
    "inget sparat värde",
    "cell I6",
    "rad 6",
    "kolumn q_worry_crime",
    "'Svar'",
)
def _(f):
    import openpyxl

    p = xlsx(f, {"Svar": typed()})
    wb = openpyxl.load_workbook(p)
    for r in (6, 7, 9):
        wb["Svar"][f"I{r}"] = "=1+1"
    wb.save(p)
    return p


@case("xlsx-formula-with-cached-value", ACCEPT, "3 celler är formler", "sparade värden", "300 godkända")
def _(f):
    import openpyxl

    p = xlsx(f, {"Svar": typed()})
    wb = openpyxl.load_workbook(p)
    for r in (6, 7, 9):
        wb["Svar"][f"I{r}"] = "=1+1"
    wb.save(p)
    rezip(p, lambda n, d: d.replace(b"<f>1+1</f><v />", b"<f>1+1</f><v>2</v>") if n.startswith("xl/worksheets") else d)
    return p


@case(
    "xlsx-title-rows-above-header",
    ACCEPT,
    "ovanför kolumnnamnen",
    "Trygghetsundersökning 2022",
    "rad 3",
    "300 godkända",
)
def _(f):
    import openpyxl

    p = xlsx(f, {"Svar": typed()}, startrow=2)
    wb = openpyxl.load_workbook(p)
    ws = wb["Svar"]
    ws["A1"] = "Trygghetsundersökning 2022"
    ws.merge_cells("A1:V1")
    wb.save(p)
    return p


@case("xlsx-merged-cells-in-data", REJECT, "svar.xlsx", "sammanfogade celler C5:C9", "kolumn district", "rad 5")
def _(f):
    import openpyxl

    p = xlsx(f, {"Svar": typed()})
    wb = openpyxl.load_workbook(p)
    wb["Svar"].merge_cells("C5:C9")
    wb.save(p)
    return p


@case("xlsx-second-sheet-with-answers", REJECT, "svar.xlsx", "flera blad", "'Svar 2'")
def _(f):
    return xlsx(f, {"Svar": typed().iloc[:150], "Svar 2": typed().iloc[150:]})


@case("xlsx-second-sheet-with-notes", ACCEPT, "bladet 'Info'", "lästes inte", "300 godkända")
def _(f):
    return xlsx(f, {"Svar": typed(), "Info": pd.DataFrame({"Leverantör": ["Enkätbolaget"], "År": [2022]})})


@case("xlsx-notes-sheet-before-the-answers", REJECT, "saknar obligatoriska kolumner", "bladet 'Svar' har dem", "först")
def _(f):
    return xlsx(f, {"Info": pd.DataFrame({"Leverantör": ["Enkätbolaget"], "År": [2022]}), "Svar": typed()})


@case("xlsx-empty-first-sheet", REJECT, "svar.xlsx", "första bladet", "'Svar'")
def _(f):
    return xlsx(f, {"Blad1": pd.DataFrame(), "Svar": typed()})


@case("xlsx-value-beyond-header", REJECT, "svar.xlsx", "utanför de 22 namngivna kolumnerna", "rad 8", "cell X8")
def _(f):
    import openpyxl

    p = xlsx(f, {"Svar": typed()})
    wb = openpyxl.load_workbook(p)
    wb["Svar"]["X8"] = "extra"
    wb.save(p)
    return p


@case("xlsx-error-cell", ACCEPT, "'#DIV/0!' är inte ett ändligt tal", "299 godkända")
def _(f):
    df = typed().astype({"design_weight": object})
    df.loc[3, "design_weight"] = "#DIV/0!"
    return xlsx(f, {"Svar": df})


# --- SPSS -----------------------------------------------------------------------------------------


@case("sav-sex-labels-swapped", REJECT, "svar.sav", "SPSS-etiketten för kod 1", "kolumn sex", "'Kvinna'")
def _(f):
    return sav(f, typed(), {"sex": {1: "Kvinna", 2: "Man"}})


@case("sav-item-labels-contradict", REJECT, "svar.sav", "kolumn q_victim_theft", "'Nej'")
def _(f):
    return sav(f, typed(), {"q_victim_theft": {1: "Nej", 2: "Ja", 9: "Vet ej"}})


@case("sav-consistent-labels", ACCEPT, "300 godkända")
def _(f):
    return sav(f, typed(), {"sex": {1: "Man", 2: "Kvinna"}, "q_victim_theft": {1: "Ja", 2: "Nej"}})


@case("sav-junk-after-magic", REJECT, "svar.sav", "kan inte läsas som sav")
def _(f):
    return put(f, "svar.sav", b"$FL2" + np.random.default_rng(3).bytes(3000))


# --- Parquet dtypes -------------------------------------------------------------------------------


def parquet(f: Path, df: pd.DataFrame | None = None, table=None) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    p = f / "svar.parquet"
    pq.write_table(table if table is not None else pa.Table.from_pandas(df, preserve_index=False), p)
    return p


@case("parquet-year-as-words", REJECT, "svar.parquet", "kolumn year", "vågen avvisas", "'tjugotjugotvå'")
def _(f):
    df = typed()
    df["year"] = "tjugotjugotvå"
    return parquet(f, df)


@case("parquet-year-fractional", REJECT, "svar.parquet", "kolumn year", "'2022.5' är inte ett heltal")
def _(f):
    df = typed()
    df["year"] = 2022.5
    return parquet(f, df)


@case("parquet-list-column", REJECT, "svar.parquet", "kolumn q_worry_crime", "Parquet-typen list")
def _(f):
    import pyarrow as pa

    t = pa.Table.from_pandas(typed(), preserve_index=False)
    i = t.column_names.index("q_worry_crime")
    return parquet(f, table=t.set_column(i, "q_worry_crime", pa.array([[1, 2]] * len(t))))


@case("parquet-struct-column", REJECT, "svar.parquet", "kolumn sex", "Parquet-typen struct")
def _(f):
    import pyarrow as pa

    t = pa.Table.from_pandas(typed(), preserve_index=False)
    i = t.column_names.index("sex")
    return parquet(f, table=t.set_column(i, "sex", pa.array([{"a": 1}] * len(t))))


@case("parquet-binary-column", REJECT, "svar.parquet", "kolumn district", "Parquet-typen binary")
def _(f):
    import pyarrow as pa

    t = pa.Table.from_pandas(typed(), preserve_index=False)
    i = t.column_names.index("district")
    return parquet(f, table=t.set_column(i, "district", pa.array([b"\xff\x00"] * len(t), pa.binary())))


@case("parquet-weight-inf-everywhere", REJECT, "svar.parquet", "kolumn design_weight", "'inf'")
def _(f):
    df = typed()
    df["design_weight"] = np.inf
    return parquet(f, df)


@case("parquet-item-inf-one-row", ACCEPT, "'inf' är inte ett heltal", "299 godkända")
def _(f):
    df = typed()
    df["q_police_care"] = df["q_police_care"].astype(float)
    df.loc[4, "q_police_care"] = np.inf
    return parquet(f, df)


@case("parquet-sex-boolean", REJECT, "svar.parquet", "kolumn sex", "'0' är inte en giltig kod för sex")
def _(f):
    df = typed()
    df["sex"] = df["sex"] == 1
    return parquet(f, df)


@case("parquet-year-timestamp", REJECT, "svar.parquet", "kolumn year", "är inte ett heltal")
def _(f):
    df = typed()
    df["year"] = pd.Timestamp("2022-01-01")
    return parquet(f, df)


# --- extreme numbers and design weights -----------------------------------------------------------


def one_value(f: Path, column: str, value: str, row: int = 3) -> Path:
    df = R()
    df.loc[row, column] = value
    return put(f, "svar.csv", text(df))


@case("weight-1e308", ACCEPT, "design_weight 1e+308 är orimligt stor", "299 godkända")
def _(f):
    return one_value(f, "design_weight", "1e308")


@case("weight-inf", ACCEPT, "'inf' är inte ett ändligt tal", "299 godkända")
def _(f):
    return one_value(f, "design_weight", "inf")


@case("weight-negative", ACCEPT, "design_weight -3.0 är inte ett ändligt tal > 0", "299 godkända")
def _(f):
    return one_value(f, "design_weight", "-3")


@case("weight-nan", ACCEPT, "'nan' är inte ett ändligt tal", "299 godkända")
def _(f):
    return one_value(f, "design_weight", "nan")


@case("weight-absurd-ratio", REJECT, "svar.csv", "kvoten", "gränsen 1000", "rad 5", "kolumn design_weight")
def _(f):
    return one_value(f, "design_weight", "0.000001")


@case("weight-above-district-population", ACCEPT, "större än hela befolkningen i", "299 godkända")
def _(f):
    df = R()
    i = int(np.flatnonzero(df["district"] == "Väsby centrum")[0])  # 834 people in 2022
    df.loc[i, "design_weight"] = "900"
    return put(f, "svar.csv", text(df))


@case("year-99999", ACCEPT, "året 99999 är inte rimligt", "299 godkända")
def _(f):
    return one_value(f, "year", "99999")


@case("item-code-1e20", ACCEPT, "'1e20' är inte ett heltal", "299 godkända")
def _(f):
    return one_value(f, "q_worry_crime", "1e20")


@case("item-code-huge-integer", ACCEPT, "är inte ett heltal", "299 godkända")
def _(f):
    return one_value(f, "q_worry_crime", "9" * 400)


# --- duplicate ids --------------------------------------------------------------------------------


@case("duplicate-ids-within-file", REJECT, "svar.csv", "kolumn resp_id", "vågen avvisas", "finns mer än en gång")
def _(f):
    return put(f, "svar.csv", text(pd.concat([R(), R().iloc[:40]])))


@case("duplicate-ids-across-files", REJECT, "svar.csv", "finns redan", "responses.csv", "--replace")
def _(f):
    df = R()
    df.loc[0, "q_worry_crime"] = "4" if df.loc[0, "q_worry_crime"] != "4" else "3"
    return put(f, "svar.csv", text(df))


# --- population -----------------------------------------------------------------------------------


def bad_pop(f: Path, column: str, value: str, row: int = 5) -> Built:
    pop = _POP.copy()
    pop.loc[row, column] = value
    return Built(put(f, "svar.csv", text(R())), pop_csv(f, pop))


@case("population-negative", REJECT, "befolkning.csv", "rad 7", "kolumn population", "negativ")
def _(f):
    return bad_pop(f, "population", "-3")


@case("population-blank-cell", REJECT, "befolkning.csv", "rad 7", "kolumn population", "population är tomt")
def _(f):
    return bad_pop(f, "population", "")


@case("population-fractional", REJECT, "befolkning.csv", "rad 7", "kolumn population", "inte ett heltal")
def _(f):
    return bad_pop(f, "population", "12.5")


@case("population-absurd", REJECT, "befolkning.csv", "rad 7", "kolumn population", "orimligt stor")
def _(f):
    return bad_pop(f, "population", "1000000000000")


@case("population-unknown-age-group", REJECT, "befolkning.csv", "rad 7", "kolumn age_group", "'85+'")
def _(f):
    return bad_pop(f, "age_group", "85+")


@case("population-hostile-district", REJECT, "befolkning.csv", "rad 7", "kolumn district", "U+202E")
def _(f):
    return bad_pop(f, "district", "Rissne\u202e")


@case("population-missing-cell", REJECT, "befolkning.csv", "kolumn year/district/sex/age_group", "ingen rad för cellen")
def _(f):
    return Built(put(f, "svar.csv", text(R())), pop_csv(f, _POP.drop(index=3)))


@case("population-duplicate-cell", REJECT, "befolkning.csv", "rad 5", "dubblerad cell")
def _(f):
    return Built(put(f, "svar.csv", text(R())), pop_csv(f, pd.concat([_POP, _POP.iloc[[3]]])))


@case("population-missing-column", REJECT, "befolkning.csv", "rad 1", "kolumn population", "saknar obligatoriska")
def _(f):
    return Built(put(f, "svar.csv", text(R())), pop_csv(f, _POP.drop(columns="population")))


@case("population-binary", REJECT, "befolkning.csv", "binär")
def _(f):
    return Built(put(f, "svar.csv", text(R())), put(f, "befolkning.csv", b"\x00\x01" * 500))


# --- codebook and mapping YAML --------------------------------------------------------------------


def with_mapping(f: Path, body: str | bytes) -> Built:
    return Built(put(f, "svar.csv", text(R())), args=["--mapping", str(yaml_file(f, "leverantor.yaml", body))])


def with_codebook(f: Path, body: str | bytes) -> Built:
    return Built(put(f, "svar.csv", text(R())), args=["--codebook", str(yaml_file(f, "kodbok.yaml", body))])


_VENDOR = (MAPPING_DIR / "example-vendor.yaml").read_text(encoding="utf-8")
_CODEBOOK = (CODEBOOK_DIR / "trygghet-v1.yaml").read_text(encoding="utf-8")


_BOMB = (
    "\n".join(
        ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 8)]
    )
    + "\nname: x\n"
)

#: (case, --mapping or --codebook, the YAML, words of the message)
YAML_CASES: list[tuple[str, str, str | bytes, tuple[str, ...]]] = [
    ("mapping-yaml-syntax", "mapping", "columns: {Kön: sex\nrecode: [\n", ("inte giltig YAML på rad",)),
    (
        "mapping-unknown-canonical-column",
        "mapping",
        _VENDOR.replace("Stadsdel: district", "Stadsdel: stadsdel"),
        ("columns.Stadsdel: okänd kanonisk kolumn",),
    ),
    (
        "mapping-duplicate-key",
        "mapping",
        _VENDOR.replace("  Kön: sex\n", "  Kön: sex\n  Kön: age_group\n"),
        ("nyckeln 'Kön' finns två gånger",),
    ),
    (
        "mapping-recode-target",
        "mapping",
        _VENDOR.replace("Kvinna: 2}", "Kvinna: 3}"),
        ("recode.sex.Kvinna: målet 3 är ingen giltig kod",),
    ),
    ("mapping-top-level-list", "mapping", "- resp_id\n- year\n", ("väntade en mappning",)),
    ("mapping-not-utf8", "mapping", _VENDOR.encode("cp1252"), ("inte UTF-8",)),
    ("mapping-unknown-key", "mapping", _VENDOR + "kolumner: {}\n", ("okänd nyckel 'kolumner'",)),
    (
        "mapping-columns-wrong-type",
        "mapping",
        "name: x\ncolumns: [resp_id, year]\n",
        ("columns", "väntade en mappning"),
    ),
    ("codebook-missing-version", "codebook", _CODEBOOK.replace('version: "1"\n', ""), ("version: saknas",)),
    (
        "codebook-indicator-unknown-item",
        "codebook",
        _CODEBOOK.replace("item: q_police_care,", "item: q_polis,"),
        ("indicators.police_care.item: okänd fråga",),
    ),
    ("codebook-empty", "codebook", "", ("väntade en mappning",)),
    ("codebook-alias-bomb", "codebook", _BOMB, ("alias",)),
    (
        "codebook-label-not-text",
        "codebook",
        _CODEBOOK.replace("1: Instämmer helt", "1: [Instämmer, helt]"),
        ("items.q_police_care.codes.1", "väntade en text"),
    ),
]


def _yaml_case(option: str, body: str | bytes) -> Callable[[Path], Built]:
    return lambda f: (with_mapping if option == "mapping" else with_codebook)(f, body)


for _id, _option, _body, _words in YAML_CASES:
    case(_id, REJECT, "leverantor.yaml" if _option == "mapping" else "kodbok.yaml", *_words)(_yaml_case(_option, _body))


@case("codebook-unknown-name", REJECT, "trygghet-v7", "finns inte")
def _(f):
    return Built(put(f, "svar.csv", text(R())), args=["--codebook", "trygghet-v7"])


# --- hostile district names -----------------------------------------------------------------------


@case("district-formula-in-both-files", ACCEPT, "börjar med '='", "=HYPERLINK", "300 godkända")
def _(f):
    return with_pop(f, '=HYPERLINK("http://x","klicka")', R())


@case("district-sql-in-both-files", ACCEPT, "300 godkända")
def _(f):
    return with_pop(f, "Rissne'); DROP TABLE responses;--", R())


@case("district-html-in-both-files", ACCEPT, "300 godkända")
def _(f):
    return with_pop(f, "<script>alert(1)</script>", R())


@case("district-bidi-override", ACCEPT, "U+202E", "299 godkända")
def _(f):
    return one_value(f, "district", "Rissne\u202e")


@case("district-tab-inside", ACCEPT, "U+0009", "299 godkända")
def _(f):
    return one_value(f, "district", "Ris\tsne")


@case("district-very-long", ACCEPT, "500 tecken långt", "299 godkända")
def _(f):
    return one_value(f, "district", "R" * 500)


@case("district-named-totalt", ACCEPT, "'Totalt' är reserverat", "299 godkända")
def _(f):
    return one_value(f, "district", "Totalt")


@case("district-named-like-a-model-row", ACCEPT, "'Rissne (Modell)' är reserverat", "299 godkända")
def _(f):
    return one_value(f, "district", "Rissne (Modell)")


@case("district-totalt-in-both-files", REJECT, "befolkningsfilen avvisas", "'TOTALT' är reserverat")
def _(f):
    return with_pop(f, "TOTALT", R())


@case("district-decomposed-unicode", ACCEPT, "300 godkända", "0 i karantän")
def _(f):
    import unicodedata

    df = R()
    df["district"] = df["district"].map(lambda d: unicodedata.normalize("NFD", d))
    return put(f, "svar.csv", text(df))


# --- the test -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def loaded_db(tmp_path_factory) -> Path:
    """A SQLite database holding the whole sample wave."""
    folder = tmp_path_factory.mktemp("base")
    db = folder / "base.sqlite"
    res = CliRunner().invoke(
        app, ["ingest", str(SAMPLE_WAVE / "responses.csv"), "--population", str(POP), "--db", f"sqlite:///{db}"]
    )
    assert res.exit_code == 0, res.output
    return db


def test_corpus_is_large_and_ids_unique() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)) and len(ids) >= 60
    assert sum(c.expect == REJECT for c in CASES) >= 50


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_bad_input(c: Case, tmp_path: Path, loaded_db: Path) -> None:
    built = c.build(tmp_path)
    db = tmp_path / "db.sqlite"
    if c.expect == REJECT:
        shutil.copy(loaded_db, db)
        before = db_state(f"sqlite:///{db}")
    res = CliRunner().invoke(
        app,
        ["ingest", str(built.responses), "--population", str(built.population), "--db", f"sqlite:///{db}", *built.args],
    )
    out = " ".join(res.output.split())
    assert res.exit_code == c.expect, res.output
    assert "Traceback" not in res.output and res.exception is None or isinstance(res.exception, SystemExit)
    for w in (*c.words, *built.words):
        assert w in out, (w, out)
    if c.expect == REJECT:
        assert out.count("Fel:") == 1 and res.output.strip().count("\n\n") == 0
        assert db_state(f"sqlite:///{db}") == before
