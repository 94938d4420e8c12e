"""Reading the sample wave in every format to identical canonical data; bad inputs named by file/row/column."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from survey.data.codebook import default_codebook
from survey.data.ingest import QUARANTINE_COLUMNS, load_wave, read_population, read_responses, read_table
from survey.errors import InputError

SAMPLE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "sample-wave"
RESPONSES, POPULATION = SAMPLE / "responses.csv", SAMPLE / "population.csv"
ITEMS = default_codebook().item_names


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    """The sample responses exactly as text (blank = '')."""
    return pd.read_csv(RESPONSES, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def pop_raw() -> pd.DataFrame:
    return pd.read_csv(POPULATION, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def base():
    return read_responses(RESPONSES)


def _typed(base) -> pd.DataFrame:
    """Canonical data plus comment, typed as a statistics package would store it."""
    df = base.data.drop(columns="source_row").copy()
    comments = base.free_text.set_index(["resp_id", "year"])["comment"]
    key = pd.MultiIndex.from_arrays([df["resp_id"], df["year"]])
    df["comment"] = comments.reindex(key).to_numpy()
    return df


def _csv(tmp_path: Path, df: pd.DataFrame, name: str = "responses.csv", **kw) -> Path:
    path = tmp_path / name
    df.to_csv(path, index=False, lineterminator="\n", **kw)
    return path


# --- the sample wave ------------------------------------------------------------------------------


def test_sample_wave_canonical(base) -> None:
    d = base.data
    assert len(d) == 3022 and len(base.quarantine) == 0
    assert list(d.columns) == [
        "resp_id",
        "year",
        "district",
        "sex",
        "age_group",
        "born_abroad",
        "design_weight",
        *ITEMS,
        "source_row",
    ]
    assert str(d["resp_id"].dtype) == "str" and d["resp_id"].iloc[0] == "00001"
    assert d["year"].dtype == np.int64 and d["sex"].dtype == np.int64
    assert d["born_abroad"].dtype == "Int64" and d["design_weight"].dtype == np.float64
    assert all(d[q].dtype == "Int64" for q in ITEMS)
    assert d["source_row"].tolist()[:3] == [2, 3, 4]
    assert d["design_weight"].iloc[0] == 15.966229
    assert pd.isna(d["q_victim_violence"].iloc[2])  # blank = item non-response
    assert "comment" not in d.columns
    assert base.source.name == "responses.csv" and base.source.format == "csv"
    assert (base.source.encoding, base.source.delimiter, base.source.decimal) == ("utf-8", ",", ".")
    assert base.source.codebook_version == "trygghet-v1" and base.source.n_rows == 3022
    assert len(base.source.sha256) == 64


def test_free_text_only_in_free_text(base, raw) -> None:
    ft = base.free_text
    assert list(ft.columns) == ["resp_id", "year", "comment"]
    assert len(ft) == (raw["comment"] != "").sum()
    multi = ft[ft["comment"].str.contains("\n")]
    assert len(multi) > 0 and multi["comment"].iloc[0].startswith("Hej!\nJag känner mig trygg")
    assert ft["comment"].str.contains('"trygghet"', regex=False).any()


def test_source_row_counts_records_not_lines(base, raw) -> None:
    # a data record k (1-based) is row k + 1 even after comments with line breaks
    assert base.data["source_row"].tolist() == list(range(2, len(raw) + 2))


def test_load_wave_sample(sample_wave) -> None:
    w = load_wave(*sample_wave)
    assert len(w.responses.data) == 3022 and len(w.population.data) == 252
    assert list(w.population.data.columns) == ["year", "district", "sex", "age_group", "population"]
    assert w.population.data.dtypes.astype(str).tolist() == ["int64", "str", "int64", "str", "int64"]
    assert w.notes == []


def _same(result, base) -> None:
    assert_frame_equal(result.data, base.data)
    assert_frame_equal(result.free_text, base.free_text)
    assert len(result.quarantine) == 0


def test_cp1252_semicolon_decimal_comma(tmp_path, raw, base) -> None:
    df = raw.copy()
    df["design_weight"] = df["design_weight"].str.replace(".", ",", regex=False)
    path = _csv(tmp_path, df, sep=";", encoding="cp1252")
    res = read_responses(path)
    assert (res.source.encoding, res.source.delimiter, res.source.decimal) == ("cp1252", ";", ",")
    _same(res, base)


def test_utf8_bom_tab(tmp_path, raw, base) -> None:
    res = read_responses(_csv(tmp_path, raw, "responses.tsv", sep="\t", encoding="utf-8-sig"))
    assert (res.source.encoding, res.source.delimiter) == ("utf-8-sig", "\t")
    _same(res, base)


def test_latin1_crlf(tmp_path, raw, base) -> None:
    path = tmp_path / "responses.csv"
    raw.to_csv(path, index=False, lineterminator="\r\n", encoding="latin-1", sep=";")
    res = read_responses(path)
    assert res.source.encoding == "cp1252"
    assert_frame_equal(res.data, base.data)


def test_xlsx(tmp_path, base) -> None:
    path = tmp_path / "responses.xlsx"
    _typed(base).to_excel(path, index=False)
    res = read_responses(path)
    assert res.source.format == "xlsx"
    _same(res, base)


def test_sav(tmp_path, base) -> None:
    import pyreadstat

    df = _typed(base)
    df["comment"] = df["comment"].fillna("")
    for col in ["sex", "born_abroad", *ITEMS]:
        df[col] = df[col].astype("float64")
    path = tmp_path / "responses.sav"
    pyreadstat.write_sav(
        pd.DataFrame({c: (df[c].astype(object) if str(df[c].dtype) == "str" else df[c]) for c in df.columns}),
        str(path),
        variable_value_labels={"sex": {1: "Man", 2: "Kvinna"}},
    )
    res = read_responses(path)
    assert res.source.format == "sav"
    _same(res, base)


def test_sav_user_missing_values_are_blank_with_a_note(tmp_path, base) -> None:
    """Values the SPSS file declares user-missing (99; 97–98) are blank, as SPSS reads them, and a note per
    column says how many (they were blanked silently); the other answers are the file's."""
    import pyreadstat

    df = _typed(base).drop(columns=["comment"])
    for col in ["sex", "born_abroad", *ITEMS]:
        df[col] = df[col].astype("float64")
    df.loc[:9, "q_police_care"] = 99.0
    df.loc[10:12, "q_worry_crime"] = 98.0
    path = tmp_path / "svar.sav"
    pyreadstat.write_sav(
        pd.DataFrame({c: (df[c].astype(object) if str(df[c].dtype) == "str" else df[c]) for c in df.columns}),
        str(path),
        missing_ranges={"q_police_care": [99], "q_worry_crime": [{"lo": 97, "hi": 98}]},
    )
    res = read_responses(path)
    assert len(res.quarantine) == 0
    got = res.data.set_index("source_row")  # file row = position + 2
    assert got.loc[2:11, "q_police_care"].isna().all() and got.loc[12:14, "q_worry_crime"].isna().all()
    want = base.data["q_worry_crime"].iloc[13:].tolist()
    assert got.loc[15:, "q_worry_crime"].tolist() == want
    notes = sorted(n for n in res.notes if "användardefinierade" in n)
    assert notes == [
        "svar.sav: 10 värden i kolumnen q_police_care är SPSS-filens användardefinierade saknade värden (99) och "
        "lästes som tomma (inget svar)",
        "svar.sav: 3 värden i kolumnen q_worry_crime är SPSS-filens användardefinierade saknade värden (97–98) och "
        "lästes som tomma (inget svar)",
    ], res.notes


def test_sav_district_codes_with_value_labels_are_read_as_the_names(tmp_path, base) -> None:
    """An SPSS file whose district is a numeric code labelled with the names (as SPSS shows it): the labels
    are the district names, the same rows as the file with names; a code without a label stays a code."""
    import pyreadstat

    df = _typed(base)
    df["comment"] = df["comment"].fillna("")
    for col in ["sex", "born_abroad", *ITEMS]:
        df[col] = df[col].astype("float64")
    names = sorted(df["district"].unique())
    code_of = {name: float(i + 1) for i, name in enumerate(names)}
    df["district"] = df["district"].map(code_of).astype("float64")
    path = tmp_path / "responses.sav"
    pyreadstat.write_sav(
        pd.DataFrame({c: (df[c].astype(object) if str(df[c].dtype) == "str" else df[c]) for c in df.columns}),
        str(path),
        variable_value_labels={"district": {int(v): k for k, v in code_of.items()}},
    )
    res = read_responses(path)
    _same(res, base)
    assert (
        f"responses.sav: kolumnen district har koder med värdeetiketter; etiketterna används som områdesnamn "
        f"({len(names)} etiketter)" in res.notes
    )
    pyreadstat.write_sav(  # the last district's label missing: its rows keep the code (an unknown district)
        pd.DataFrame({c: (df[c].astype(object) if str(df[c].dtype) == "str" else df[c]) for c in df.columns}),
        str(path),
        variable_value_labels={"district": {int(v): k for k, v in code_of.items() if k != names[-1]}},
    )
    res = read_responses(path)
    left = res.data["district"].astype(str)
    assert set(left) == set(names[:-1]) | {str(len(names))}


def test_parquet(tmp_path, base) -> None:
    path = tmp_path / "responses.parquet"
    _typed(base).to_parquet(path, index=False)
    res = read_responses(path)
    assert res.source.format == "parquet"
    _same(res, base)


def test_format_override(tmp_path, raw, base) -> None:
    path = _csv(tmp_path, raw, "export.dat")
    with pytest.raises(InputError, match="filtypen '.dat' stöds inte"):
        read_responses(path)
    _same(read_responses(path, fmt="csv"), base)


# --- the vendor mapping ---------------------------------------------------------------------------


def _vendor(raw: pd.DataFrame) -> pd.DataFrame:
    """The sample wave as a vendor would send it: Swedish headers, text answers, age in years, 99 = blank."""
    cb = default_codebook()
    from survey.data.codebook import load_mapping

    m = load_mapping("example-vendor")
    out = pd.DataFrame(index=raw.index)
    ages = {g: str(int(g[:2]) + 3) for g in cb.age_groups}
    for vendor, col in m.columns.items():
        v = raw[col]
        if col == "sex":
            v = v.map({"1": "Man", "2": "Kvinna"})
        elif col == "born_abroad":
            v = v.map({"1": "Ja", "0": "Nej"})
        elif col == "age_group":
            v = v.map(ages)
        elif col == "design_weight":
            v = v.str.replace(".", ",", regex=False)
        elif col in cb.item_names:
            labels = {str(k): lab for k, lab in cb.item(col).codes.items()}
            v = v.map(lambda x, labels=labels: labels.get(x, x))
            v = v.where((v != "") | (raw.index % 2 == 0), "99")  # half the blanks as vendor code 99
        out[vendor] = v
    return out


def test_vendor_file_maps_to_canonical(tmp_path, raw, base) -> None:
    vendor = _vendor(raw)
    vendor["Trygg_kväll"] = vendor["Trygg_kväll"].str.upper()  # case does not matter
    path = _csv(tmp_path, vendor, "leverans.csv", sep=";", encoding="cp1252")
    res = read_responses(path, mapping="example-vendor")
    assert res.source.mapping == "example-vendor" and res.source.decimal == ","
    _same(res, base)


def test_vendor_value_without_recode_is_quarantined(tmp_path, raw) -> None:
    vendor = _vendor(raw)
    vendor.loc[4, "Trygg_kväll"] = "Vet inte"
    vendor.loc[7, "Ålder"] = "90"
    path = _csv(tmp_path, vendor, "leverans.csv", sep=";", encoding="cp1252")
    res = read_responses(path, mapping="example-vendor")
    q = res.quarantine
    assert q[["source_row", "column", "value", "check"]].values.tolist() == [
        [6, "q_safe_after_dark", "Vet inte", "mapping"],
        [9, "age_group", "90", "mapping"],
    ]
    assert q["reason"].iloc[0] == "värdet 'Vet inte' saknar omkodning i mappningen example-vendor"
    assert json.loads(q["record"].iloc[0])["Trygg_kväll"] == "Vet inte"
    assert len(res.data) == 3020 and 6 not in res.data["source_row"].values


def test_sav_value_labels_recoded(tmp_path) -> None:
    import pyreadstat

    from survey.data.codebook import VendorMapping, apply_mapping
    from survey.data.ingest import read_table

    df = pd.DataFrame({"Kon": [1.0, 2.0, 2.0]})
    path = tmp_path / "v.sav"
    pyreadstat.write_sav(df, str(path), variable_value_labels={"Kon": {1: "Man", 2: "Kvinna"}})
    text, info = read_table(path)
    m = VendorMapping("labels", {"Kon": "sex"}, {"sex": {"kvinna": 2, "man": 1}})
    out, fails = apply_mapping(text, m, "v.sav", info.value_labels)
    assert out["sex"].tolist() == ["1", "2", "2"] and len(fails) == 0


# --- bad inputs: row level (quarantine) -----------------------------------------------------------


def _one_bad(tmp_path, raw, row: int, column: str, value: str):
    df = raw.copy()
    df.loc[row, column] = value
    return read_responses(_csv(tmp_path, df))


ROW_CASES = [
    ("q_safe_after_dark", "7", "code", "'7' är inte en giltig kod för q_safe_after_dark (1, 2, 3, 4, 5, 6, 9)"),
    ("sex", "3", "code", "'3' är inte en giltig kod för sex (1, 2)"),
    (
        "age_group",
        "85-99",
        "code",
        "'85-99' är inte en giltig kod för age_group (16-24, 25-34, 35-44, 45-54, 55-64, 65-74, 75-84)",
    ),
    ("year", "2022.5", "type", "'2022.5' är inte ett heltal"),
    ("q_police_care", "ja", "type", "'ja' är inte ett heltal"),
    ("resp_id", "", "blank", "resp_id är tomt"),
    ("district", "  ", "blank", "district är tomt"),
    ("design_weight", "abc", "type", "'abc' är inte ett ändligt tal"),
    ("design_weight", "0", "finite_positive", "design_weight 0.0 är inte ett ändligt tal > 0"),
    ("design_weight", "-2.5", "finite_positive", "design_weight -2.5 är inte ett ändligt tal > 0"),
    ("design_weight", "inf", "type", "'inf' är inte ett ändligt tal"),
    ("design_weight", "", "blank", "design_weight är tomt fast andra rader har en vikt"),
    ("born_abroad", "2", "code", "'2' är inte en giltig kod för born_abroad (0, 1)"),
    ("year", "", "blank", "year är tomt"),
]


@pytest.mark.parametrize("column,value,check,reason", ROW_CASES, ids=[f"{c[0]}={c[1]!r}" for c in ROW_CASES])
def test_row_failures_quarantined(tmp_path, raw, column, value, check, reason) -> None:
    res = _one_bad(tmp_path, raw, 10, column, value)
    q = res.quarantine
    assert list(q.columns) == QUARANTINE_COLUMNS
    assert len(q) == 1
    r = q.iloc[0]
    assert (r["file"], r["source_row"], r["column"], r["check"]) == ("responses.csv", 12, column, check)
    assert r["value"] == (value if value != "" else None) or (value.strip() == "" and pd.isna(r["value"]))
    assert r["reason"] == reason
    assert r["resp_id"] == (raw.loc[10, "resp_id"] if column != "resp_id" else None) or column == "resp_id"
    assert json.loads(r["record"])["q_worry_crime"] == raw.loc[10, "q_worry_crime"]
    assert len(res.data) == 3021 and 12 not in res.data["source_row"].values


def test_duplicate_ids_quarantine_every_copy(tmp_path, raw) -> None:
    df = pd.concat([raw, raw.iloc[[5]]], ignore_index=True)
    res = read_responses(_csv(tmp_path, df))
    q = res.quarantine
    assert q[["source_row", "column", "check"]].values.tolist() == [
        [7, "resp_id", "duplicate"],
        [3024, "resp_id", "duplicate"],
    ]
    assert q["reason"].iloc[1] == "resp_id '00006' finns mer än en gång år 2022 (första gången på rad 7)"
    assert len(res.data) == 3021


def test_same_id_other_year_is_fine(base) -> None:
    assert base.data["resp_id"].duplicated().any()  # ids are numbered afresh each year


def test_unknown_district_quarantined(tmp_path, raw, sample_wave) -> None:
    df = raw.copy()
    df.loc[20, "district"] = "Atlantis"
    w = load_wave(_csv(tmp_path, df), sample_wave[1])
    q = w.responses.quarantine
    assert q[["source_row", "column", "value", "check"]].values.tolist() == [
        [22, "district", "Atlantis", "district_unknown"]
    ]
    assert q["reason"].iloc[0] == "området 'Atlantis' har ingen befolkning för 2022 i population.csv"
    assert len(w.responses.data) == 3021


def test_district_of_another_year_is_unknown(tmp_path, raw, pop_raw) -> None:
    pop = pop_raw[~((pop_raw["year"] == "2024") & (pop_raw["district"] == "Duvbo"))]
    resp = raw[~((raw["year"] == "2024") & (raw["district"] == "Duvbo"))].copy()
    idx = resp.index[resp["year"] == "2024"][0]
    resp.loc[idx, "district"] = "Duvbo"
    w = load_wave(_csv(tmp_path, resp), _csv(tmp_path, pop, "population.csv"))
    assert w.responses.quarantine["check"].tolist() == ["district_unknown"]


def test_too_many_bad_rows_rejects_wave(tmp_path, raw) -> None:
    df = raw.copy()
    df.loc[0:199, "sex"] = "3"  # 200 of 3022 rows = 6.6 %
    with pytest.raises(InputError) as err:
        read_responses(_csv(tmp_path, df))
    e = err.value
    assert (e.file, e.row, e.column) == ("responses.csv", 2, "sex")
    assert (
        "vågen avvisas: 200 av 3022 rader (6,6\u00a0%) klarade inte radkontrollerna, fler än de 5,0\u00a0% som tillåts"
    ) in str(e)
    assert "code i sex: 200" in str(e)
    assert "responses.csv rad 2, kolumn sex: '3' är inte en giltig kod för sex (1, 2)" in str(e)
    assert len(read_responses(_csv(tmp_path, df), max_bad_share=0.1).quarantine) == 200


# --- bad inputs: file level -----------------------------------------------------------------------


def _err(fn, *args, **kw) -> InputError:
    with pytest.raises(InputError) as err:
        fn(*args, **kw)
    assert "Traceback" not in str(err.value) and "\n" not in str(err.value)
    return err.value


def test_wrong_encoding_override(tmp_path, raw) -> None:
    path = _csv(tmp_path, raw, sep=";", encoding="cp1252")
    e = _err(read_responses, path, encoding="utf-8")
    first = next(i for i, line in enumerate(path.read_bytes().split(b"\n"), 1) if not line.isascii())
    assert (e.file, e.row) == ("responses.csv", first)
    assert "kan inte avkodas som utf-8: byten 0xc4 är inte giltig utf-8" in str(e)
    assert str(e).startswith(f"responses.csv, rad {first}, kolumn district: ")


def test_unknown_encoding_name(tmp_path, raw) -> None:
    e = _err(read_responses, _csv(tmp_path, raw), encoding="swedish-9")
    assert str(e) == (
        "responses.csv: okänd teckenkodning 'swedish-9' (--encoding); använd t.ex. utf-8, cp1252 eller utf-16"
    )


def test_missing_column(tmp_path, raw) -> None:
    e = _err(read_responses, _csv(tmp_path, raw.drop(columns="q_police_care")))
    assert (e.file, e.row, e.column) == ("responses.csv", 1, "q_police_care")
    assert "saknar obligatoriska kolumner q_police_care" in str(e)


def test_missing_column_with_mapping_names_vendor_column(tmp_path, raw) -> None:
    vendor = _vendor(raw).drop(columns="Kön")
    e = _err(read_responses, _csv(tmp_path, vendor, sep=";"), mapping="example-vendor")
    assert (e.row, e.column) == (1, "sex")
    assert "sex (leverantörens kolumn 'Kön' i mappningen example-vendor)" in str(e)


def test_empty_file(tmp_path) -> None:
    (tmp_path / "responses.csv").write_bytes(b"")
    e = _err(read_responses, tmp_path / "responses.csv")
    assert str(e) == "responses.csv, rad 1: är tom"


def test_header_only(tmp_path, raw) -> None:
    e = _err(read_responses, _csv(tmp_path, raw.iloc[:0]))
    assert str(e) == "responses.csv, rad 2: har en rubrikrad men inga datarader"


def test_truncated_last_line(tmp_path, raw) -> None:
    path = _csv(tmp_path, raw.iloc[:50])
    text = path.read_text(encoding="utf-8").rstrip("\n")
    path.write_text(text[: text.rfind(",2,") + 2], encoding="utf-8")
    e = _err(read_responses, path)
    assert (e.file, e.row) == ("responses.csv", 51)
    assert "färre än rubrikraden" in str(e)


def test_extra_field_in_middle_row(tmp_path, raw) -> None:
    path = _csv(tmp_path, raw.iloc[:30])
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[3] += ",extra"
    path.write_text("\n".join(lines), encoding="utf-8")
    e = _err(read_responses, path)
    assert (e.file, e.row) == ("responses.csv", 4)
    assert "har 23 fält där rubrikraden har 22 (fler än rubrikraden" in str(e)


def test_unsupported_extension(tmp_path) -> None:
    (tmp_path / "responses.json").write_text("{}", encoding="utf-8")
    e = _err(read_responses, tmp_path / "responses.json")
    assert e.file == "responses.json" and "filtypen '.json' stöds inte" in str(e)


def test_corrupt_xlsx(tmp_path) -> None:
    (tmp_path / "responses.xlsx").write_bytes(b"PK\x03\x04 this is not a workbook")
    e = _err(read_responses, tmp_path / "responses.xlsx")
    assert e.file == "responses.xlsx" and "är inte en läsbar .xlsx-arbetsbok" in str(e)


def test_corrupt_parquet_and_missing_file(tmp_path) -> None:
    (tmp_path / "r.parquet").write_bytes(b"PAR1garbage")
    assert "kan inte läsas som parquet" in str(_err(read_responses, tmp_path / "r.parquet"))
    assert str(_err(read_responses, tmp_path / "nope.csv")) == "nope.csv: filen finns inte (eller är en mapp)"


def test_duplicate_header(tmp_path, raw) -> None:
    df = raw.copy()
    path = _csv(tmp_path, df)
    text = path.read_text(encoding="utf-8").replace("q_police_care", "q_worry_crime", 1)
    path.write_text(text, encoding="utf-8")
    e = _err(read_responses, path)
    assert (e.row, e.column) == (1, "q_worry_crime")


# --- population -----------------------------------------------------------------------------------


def _pop_bad(tmp_path, pop_raw, row: int, column: str, value: str) -> InputError:
    df = pop_raw.copy()
    df.loc[row, column] = value
    return _err(read_population, _csv(tmp_path, df, "population.csv"))


def test_negative_population(tmp_path, pop_raw) -> None:
    e = _pop_bad(tmp_path, pop_raw, 4, "population", "-5")
    assert (e.file, e.row, e.column) == ("population.csv", 6, "population")
    assert str(e) == (
        "population.csv, rad 6, kolumn population: befolkningsfilen avvisas: population -5 är "
        "negativ (cell 2022/Rissne/1/55-64)"
    )


def test_non_integer_population(tmp_path, pop_raw) -> None:
    e = _pop_bad(tmp_path, pop_raw, 0, "population", "12.5")
    assert (e.row, e.column) == (2, "population") and "'12.5' är inte ett heltal" in str(e)


def test_population_unknown_sex_and_age(tmp_path, pop_raw) -> None:
    e = _pop_bad(tmp_path, pop_raw, 2, "sex", "0")
    assert (e.row, e.column) == (4, "sex") and "'0' är inte en giltig kod för sex" in str(e)
    e = _pop_bad(tmp_path, pop_raw, 3, "age_group", "85+")
    assert (e.row, e.column) == (5, "age_group")


def test_duplicate_population_cell(tmp_path, pop_raw) -> None:
    df = pd.concat([pop_raw, pop_raw.iloc[[3]]], ignore_index=True)
    e = _err(read_population, _csv(tmp_path, df, "population.csv"))
    assert (e.file, e.row) == ("population.csv", 5)
    assert "dubblerad cell: rad 5 och 254 är båda 2022/Rissne/1/45-54" in str(e)


def test_missing_population_cell(tmp_path, pop_raw, sample_wave) -> None:
    df = pop_raw.drop(index=7)
    cell = pop_raw.loc[7]
    e = _err(load_wave, sample_wave[0], _csv(tmp_path, df, "population.csv"))
    assert (e.file, e.column) == ("population.csv", "year/district/sex/age_group")
    assert (
        f"ingen rad för cellen år {cell['year']}, område '{cell['district']}', kön {cell['sex']}, "
        f"åldersgrupp {cell['age_group']}"
    ) in str(e)


def test_population_without_respondents_noted(tmp_path, pop_raw, sample_wave) -> None:
    extra = pop_raw[pop_raw["year"] == "2024"].copy()
    extra["year"] = "2025"
    w = load_wave(sample_wave[0], _csv(tmp_path, pd.concat([pop_raw, extra]), "population.csv"))
    assert len(w.population.data) == 252 + 84
    assert w.notes == [
        "population.csv: befolkningsceller för 6 år x område utan svarande sparas men används "
        "inte: 2025 Duvbo, 2025 Hallonbergen, 2025 Rissne, 2025 Ursvik, "
        "2025 Väsby centrum, 2025 Älvsjö-Ängby"
    ]


def test_read_table_reports_detection(tmp_path, raw) -> None:
    path = _csv(tmp_path, raw.iloc[:5], sep=";", encoding="cp1252")
    text, info = read_table(path)
    assert (info.format, info.encoding, info.delimiter, info.decimal, info.n_rows) == ("csv", "cp1252", ";", ".", 5)
    assert text.index.tolist() == [2, 3, 4, 5, 6] and text.loc[2, "resp_id"] == "00001"
    assert pd.isna(text.loc[2, "comment"])
    text, info = read_table(path, delimiter=";", decimal=",", encoding="cp1252")
    assert info.decimal == ","


# --- protections of issue 11 ----------------------------------------------------------------------


def test_cut_inside_a_quoted_comment_is_rejected_not_truncated(tmp_path, raw) -> None:
    df = raw.iloc[:40].copy()
    df.loc[39, "comment"] = "Hej, jag känner mig otrygg vid busshållplatsen"
    text = df.to_csv(index=False, lineterminator="\n")
    path = tmp_path / "responses.csv"
    path.write_text(text[: text.rindex("otrygg")], encoding="utf-8")
    e = _err(read_responses, path)
    assert (e.file, e.row, e.column) == ("responses.csv", 41, "comment")
    assert "citattecken" in str(e) and "den sista hela raden är rad 40" in str(e)


def test_excel_formula_without_cached_value_is_rejected(tmp_path, base) -> None:
    import openpyxl

    path = tmp_path / "responses.xlsx"
    _typed(base).iloc[:30].to_excel(path, index=False, sheet_name="Svar")
    wb = openpyxl.load_workbook(path)
    wb["Svar"]["I4"] = "=H4"
    wb.save(path)
    e = _err(read_responses, path)
    assert (e.file, e.row, e.column) == ("responses.xlsx", 4, "q_worry_crime")
    assert "blad 'Svar', cell I4: formeln '=H4' har inget sparat värde (1 sådana celler: I4)" in str(e)


def test_stray_latin1_byte_is_rejected_with_row_and_column(tmp_path, raw) -> None:
    df = raw.iloc[:60]
    data = df.to_csv(index=False, lineterminator="\n").encode("utf-8")
    i = int(np.flatnonzero(df["comment"].str.contains("känner"))[0])
    data = data.replace("känner".encode(), b"k\xe4nner", 1)
    (tmp_path / "responses.csv").write_bytes(data)
    e = _err(read_responses, tmp_path / "responses.csv")
    assert (e.row, e.column) == (i + 2, "comment")
    assert "0xe4" in str(e) and "1 sådana byte" in str(e)
    good = data.replace(b"k\xe4nner", "känner".encode())
    (tmp_path / "responses.csv").write_bytes(good)
    with pytest.raises(InputError, match="förvrängd") as err:  # UTF-8 read as cp1252 on request
        read_responses(tmp_path / "responses.csv", encoding="cp1252")
    assert err.value.row is not None and err.value.column is not None
    assert read_responses(tmp_path / "responses.csv").source.encoding == "utf-8"


@pytest.mark.parametrize(
    "bom,encoding,label",
    [(b"", "utf-16-le", "utf-16-le"), (b"", "utf-16-be", "utf-16-be"), (b"\xff\xfe", "utf-16-le", "utf-16")],
)
def test_utf16_with_and_without_bom(tmp_path, raw, base, bom, encoding, label) -> None:
    path = tmp_path / "responses.csv"
    path.write_bytes(bom + raw.to_csv(index=False, lineterminator="\n").encode(encoding))
    res = read_responses(path)
    assert res.source.encoding == label
    _same(res, base)


def test_extreme_design_weights(tmp_path, raw, sample_wave) -> None:
    df = raw.copy()
    df.loc[5, "design_weight"] = "1e308"
    res = read_responses(_csv(tmp_path, df))
    assert res.quarantine[["source_row", "check"]].values.tolist() == [[7, "weight_max"]]
    assert res.quarantine["reason"].iloc[0] == (
        "design_weight 1e+308 är orimligt stor (största tillåtna designvikt är 2e+07)"
    )
    df.loc[5, "design_weight"] = "0.0001"  # 0.0001 .. 27.5: a ratio of 275 000
    e = _err(read_responses, _csv(tmp_path, df))
    assert (e.row, e.column) == (7, "design_weight") or e.column == "design_weight"
    assert "kvoten" in str(e) and "gränsen 1000" in str(e)
    assert len(read_responses(_csv(tmp_path, df), max_weight_ratio=1e6).quarantine) == 0
    vasby = int(np.flatnonzero((raw["district"] == "Väsby centrum") & (raw["year"] == "2022"))[0])
    df = raw.copy()
    df.loc[vasby, "design_weight"] = "900"  # Väsby centrum has 834 people in 2022
    q = load_wave(_csv(tmp_path, df), sample_wave[1]).responses.quarantine
    assert q[["source_row", "check"]].values.tolist() == [[vasby + 2, "weight_population"]]


def test_quarantine_never_keeps_free_text(tmp_path, raw) -> None:
    df = raw.copy()
    rows = np.flatnonzero(df["comment"] != "")[:3]
    df.loc[rows, "sex"] = "3"  # quarantined rows that carry comments
    res = read_responses(_csv(tmp_path, df))
    q = res.quarantine
    assert sorted(q["source_row"]) == sorted(rows + 2)
    dump = " ".join(q.astype(str).to_numpy().ravel())
    for comment in df.loc[rows, "comment"]:
        assert comment[:15] not in dump
    assert all("comment" not in json.loads(r) for r in q["record"])
    # a failure in the comment column itself (a vendor recode of it): the value is withheld too
    from survey.data.codebook import VendorMapping

    m = VendorMapping("v", {}, {"comment": {"ok": None}})
    res = read_responses(_csv(tmp_path, raw), mapping=m, max_bad_share=1.0)
    q = res.quarantine
    assert len(q) == (raw["comment"] != "").sum() and set(q["column"]) == {"comment"}
    assert set(q["value"]) == {"[fritext utelämnad]"}
    assert not q["record"].str.contains("Hej!", regex=False).any()
    assert all("comment" not in json.loads(r) for r in q["record"])
