"""The fast read + validate path (issue 13) gives the accepted rows and quarantine written out here by hand.

A varied bad file (trimmed and NFD names, codes written as '2.0' and ' 1 ', every row check, duplicates,
unknown districts, weights above the population, hostile names, a multi-line quoted comment) in three
encodings and delimiters; the numpy pre-check of the pandera schemas (``survey.data.rowcheck``) against
pandera on the whole frame; ``plain_utf8`` against ``decode_text``; the two-thread ``convert`` against the
one-thread one; digit ids of other lengths; and a clean file is read without importing pandera at all.
"""

from __future__ import annotations

import json
import subprocess
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

from schemas.population import population_schema
from schemas.responses import responses_schema
from survey.data import rowcheck, validate
from survey.data.codebook import default_codebook
from survey.data.encodings import decode_text, plain_utf8
from survey.data.ingest import load_wave, read_table
from survey.data.readers import locator
from survey.errors import InputError

CB = default_codebook()
HEADER = [
    "resp_id", "year", "district", "sex", "age_group", "born_abroad", "design_weight",
    "q_safe_after_dark", "q_worry_crime", "q_problem_littering", "q_problem_dark_places", "q_problem_graffiti",
    "q_problem_vandalism", "q_problem_youth_groups", "q_problem_drug_dealing", "q_problem_drunk_people",
    "q_problem_traffic", "q_victim_violence", "q_victim_theft", "q_victim_vandalism", "q_police_care", "comment",
]  # fmt: skip
ITEMS = ["1", "2", "3", "4", "1", "2", "3", "4", "9", "1", "2", "1", "2", "3"]  # the 14 items of a plain row
NFD = unicodedata.normalize("NFD", "Älvsjö")


def _row(resp_id, year="2024", district="Duvbo", sex="1", age="16-24", born="0", w="2.5", comment="", **items):
    values = dict(zip(HEADER[7:21], ITEMS))
    values.update(items)
    return [resp_id, year, district, sex, age, born, w, *values.values(), comment]


#: source row (= line; the header is row 1) -> the fields as written
ROWS = {
    2: _row("0001"),
    3: _row("0002", district=" Duvbo ", sex="2", age="25-34", born=" 1 ", q_safe_after_dark="2.0"),
    4: _row("0003", district=NFD, age="35-44", w="1e2", q_worry_crime=""),
    5: _row("0004", q_worry_crime="7"),
    6: _row("0005", sex="2", w="abc"),
    7: _row("0006", year="1800"),
    8: _row("0007", district="Atlantis"),
    9: _row("0008"),
    10: _row("0008", sex="2"),
    11: _row("0009", sex=""),
    12: _row("0010", age="85+"),
    13: _row("0011", district="Duvbo\u202e"),
    14: _row("0012", w="-1"),
    15: _row("0013", w="8000"),
    16: _row("0014", comment='Två rader,\nmed "citat"', q_victim_theft="x"),
    17: _row("0015", district="Ör", sex="2", age="75-84", born="1", comment="Bra område"),
    18: _row("", age="45-54"),
}

#: (source_row, resp_id, year, column, value, check, reason), in the quarantine's order
QUARANTINE = [
    (5, "0004", 2024, "q_worry_crime", "7", "code", "'7' är inte en giltig kod för q_worry_crime (1, 2, 3, 4, 9)"),
    (6, "0005", 2024, "design_weight", "abc", "type", "'abc' är inte ett ändligt tal"),
    (7, "0006", 1800, "district", "Duvbo", "district_unknown",
     "området 'Duvbo' har ingen befolkning för 1800 i befolkning.csv"),
    (7, "0006", 1800, "year", "1800", "year_range", "året 1800 är inte rimligt (1900–2100)"),
    (8, "0007", 2024, "district", "Atlantis", "district_unknown",
     "området 'Atlantis' har ingen befolkning för 2024 i befolkning.csv"),
    (9, "0008", 2024, "resp_id", "0008", "duplicate",
     "resp_id '0008' finns mer än en gång år 2024 (första gången på rad 9)"),
    (10, "0008", 2024, "resp_id", "0008", "duplicate",
     "resp_id '0008' finns mer än en gång år 2024 (första gången på rad 9)"),
    (11, "0009", 2024, "sex", None, "blank", "sex är tomt"),
    (12, "0010", 2024, "age_group", "85+", "code",
     "'85+' är inte en giltig kod för age_group (16-24, 25-34, 35-44, 45-54, 55-64, 65-74, 75-84)"),
    (13, "0011", 2024, "district", "Duvbo\u202e", "name",
     "district innehåller ett osynligt tecken eller styrtecken (U+202E) som kan dölja eller vända text i rapporter"),
    (14, "0012", 2024, "design_weight", "-1", "finite_positive", "design_weight -1.0 är inte ett ändligt tal > 0"),
    (15, "0013", 2024, "design_weight", "8000", "weight_population",
     "design_weight 8000 är större än hela befolkningen i Duvbo år 2024 (7000 enligt befolkning.csv); en designvikt "
     "är 1 / urvalssannolikheten och kan inte vara större"),
    (16, "0014", 2024, "q_victim_theft", "x", "type", "'x' är inte ett heltal"),
    (18, None, 2024, "resp_id", None, "blank", "resp_id är tomt"),
]  # fmt: skip


def _write(folder: Path, encoding: str, sep: str) -> tuple[Path, Path]:
    lines = [HEADER] + [ROWS[r] for r in sorted(ROWS)]
    body = "".join(pd.DataFrame(lines[1:], columns=lines[0]).to_csv(index=False, sep=sep, lineterminator="\n"))
    resp = folder / "svar.csv"
    resp.write_bytes(body.encode(encoding))
    cells = [f"2024,{d},{s},{a},500\n" for d in ("Duvbo", "Älvsjö", "Ör") for s in CB.sexes for a in CB.age_groups]
    pop = folder / "befolkning.csv"
    pop.write_text("year,district,sex,age_group,population\n" + "".join(cells), encoding="utf-8")
    return resp, pop


@pytest.mark.parametrize("encoding,sep", [("utf-8", ","), ("utf-8-sig", ";"), ("utf-16", "\t")])
def test_varied_bad_file_by_hand(tmp_path, encoding, sep) -> None:
    resp, pop = _write(tmp_path, encoding, sep)
    wave = load_wave(resp, pop, CB, max_bad_share=1.0)
    res = wave.responses
    assert (res.source.encoding, res.source.delimiter, res.source.n_rows) == (encoding, sep, 17)
    q = res.quarantine
    got = [
        (r.source_row, None if pd.isna(r.resp_id) else r.resp_id, r.year, r.column,
         None if pd.isna(r.value) else r.value, r.check, r.reason)
        for r in q.itertuples()
    ]  # fmt: skip
    assert got == QUARANTINE
    assert set(q["file"]) == {"svar.csv"}
    for r in q.itertuples():  # the row as written, without the free text
        want = {k: (v if v != "" else None) for k, v in zip(HEADER, ROWS[r.source_row]) if k != "comment"}
        assert json.loads(r.record) == want
    d = res.data
    assert d["source_row"].tolist() == [2, 3, 4, 17]
    assert d["resp_id"].tolist() == ["0001", "0002", "0003", "0015"]
    assert d["district"].tolist() == ["Duvbo", "Duvbo", "Älvsjö", "Ör"]
    assert d["district"].iloc[2] == "\u00c4lvsj\u00f6"  # NFC
    assert d["sex"].tolist() == [1, 2, 1, 2]
    assert d["age_group"].tolist() == ["16-24", "25-34", "35-44", "75-84"]
    assert d["born_abroad"].tolist() == [0, 1, 0, 1]
    assert d["design_weight"].tolist() == [2.5, 2.5, 100.0, 2.5]
    assert d["q_safe_after_dark"].tolist() == [1, 2, 1, 1]
    assert d["q_worry_crime"].tolist()[:2] == [2, 2] and pd.isna(d["q_worry_crime"].iloc[2])
    assert d["q_police_care"].tolist() == [3, 3, 3, 3]
    assert res.free_text.values.tolist() == [["0015", 2024, "Bra område"]]
    assert {c: str(t) for c, t in d.dtypes.items()} == {
        "resp_id": "str", "year": "int64", "district": "str", "sex": "int64", "age_group": "str",
        "born_abroad": "Int64", "design_weight": "float64", **{q: "Int64" for q in CB.item_names},
        "source_row": "int64",
    }  # fmt: skip


# --- the numpy pre-check against pandera ----------------------------------------------------------


def test_rules_name_every_check_of_the_schemas() -> None:
    """Every (column, check) of the schemas has a rule (a new check without one would go unseen)."""

    def checks(schema) -> set[tuple[str, str]]:
        out = {(c, chk.name) for c, col in schema.columns.items() for chk in col.checks}
        out |= {(c, "not_nullable") for c, col in schema.columns.items() if not col.nullable and c != "source_row"}
        return out

    for weights in (True, False):
        schema = responses_schema(CB, weights=weights, nullable_keys=True, check_unique=False)
        assert checks(schema) == set(rowcheck.response_rules(CB, weights=weights))
        text = {"string[pyarrow]": "str"}  # pandera's name of the text dtype
        dtypes = {c: text.get(str(col.dtype), str(col.dtype)) for c, col in schema.columns.items()}
        assert dtypes == rowcheck.response_dtypes(CB)
    schema = population_schema(CB, nullable_keys=True)
    assert checks(schema) == set(rowcheck.population_rules(CB))
    assert list(schema.unique) == list(rowcheck.POPULATION_KEYS)


_MENU = {
    "code": ["7", "2", "", "0", "-1", "9", "10", "1000000", "3"],
    "year": ["2024", "1800", "2101", "", "1900", "2100", "-5"],
    "sex": ["1", "2", "3", "", "0"],
    "text": ["Duvbo", "", " ", "Ör", "16-24", "85+", "\u202e"],
    "weight": ["2.5", "0", "-1", "inf", "3e7", "", "nan", "2e7"],
}


def _frame(seed: int, n: int, weights: bool = True) -> tuple[pd.DataFrame, dict]:
    rng = np.random.default_rng(seed)
    pick = lambda k: rng.choice(np.array(_MENU[k], dtype=object), n)  # noqa: E731
    text = pd.DataFrame(
        {
            "resp_id": rng.choice(np.array(["a", "b", "", " ", "c"], dtype=object), n),
            "year": pick("year"),
            "district": pick("text"),
            "sex": pick("sex"),
            "age_group": rng.choice(np.array(list(CB.age_groups) + ["85+", ""], dtype=object), n),
            "born_abroad": rng.choice(np.array(["0", "1", "2", ""], dtype=object), n),
            "design_weight": pick("weight") if weights else np.full(n, "", dtype=object),
            **{q: pick("code") for q in CB.item_names},
        },
        index=pd.Index(np.arange(2, n + 2), name="source_row"),
    ).astype("str")
    spec = {"resp_id": "id", "year": "int", "district": "text", "sex": "int", "age_group": "text"}
    spec |= {"born_abroad": "code", "design_weight": "weight", **{q: "code" for q in CB.item_names}}
    conv = validate.convert(text, spec, ".")
    conv.frame["source_row"] = conv.frame.index.to_numpy(dtype=np.int64)
    return conv.frame, conv.levels


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("weights", [True, False])
def test_suspects_give_pandera_failures_of_the_whole_frame(seed, weights) -> None:
    frame, levels = _frame(seed, 600, weights)
    weights = not frame["design_weight"].isna().all()
    schema = lambda: responses_schema(CB, weights=weights, nullable_keys=True, check_unique=False)  # noqa: E731
    full = validate.validate(frame, schema, CB, "f.csv", "resp_id, year")
    rules, dtypes = rowcheck.response_rules(CB, weights=weights), rowcheck.response_dtypes(CB)
    for lv in (levels, None):
        suspect = rowcheck.suspects(frame, rules, dtypes, levels=lv)
        assert suspect is not None
        assert set(full["index"]) <= set(frame.index[suspect])
        fast = validate.validate(frame, schema, CB, "f.csv", "resp_id, year", suspect)
        assert_frame_equal(fast.reset_index(drop=True), full.reset_index(drop=True))
    assert len(full) > 100  # the frame is bad enough to say something


def test_suspects_defer_to_pandera_on_another_form() -> None:
    frame, _ = _frame(4, 50)
    rules, dtypes = rowcheck.response_rules(CB, weights=True), rowcheck.response_dtypes(CB)
    assert rowcheck.suspects(frame.assign(sex=frame["sex"].astype("float64")), rules, dtypes) is None
    assert rowcheck.suspects(frame.drop(columns="sex"), rules, dtypes) is None
    assert rowcheck.suspects(frame.assign(extra=1), rules, dtypes) is None
    schema = lambda: responses_schema(CB, nullable_keys=True, check_unique=False)  # noqa: E731
    with pytest.raises(InputError, match="kanoniska formen"):
        validate.validate(frame.assign(sex=frame["sex"].astype("float64")), schema, CB, "f.csv", "k", None)


def test_population_duplicates_are_suspects() -> None:
    pop = pd.DataFrame(
        {
            "year": pd.array([2024, 2024, 2024, None], dtype="Int64"),
            "district": pd.array(["A", "A", "B", "A"], dtype="str"),
            "sex": pd.array([1, 1, 1, 1], dtype="Int64"),
            "age_group": pd.array(["16-24"] * 4, dtype="str"),
            "population": pd.array([5, 6, 7, 8], dtype="Int64"),
            "source_row": np.array([2, 3, 4, 5], dtype=np.int64),
        }
    )
    suspect = rowcheck.suspects(
        pop, rowcheck.population_rules(CB), rowcheck.population_dtypes(), rowcheck.POPULATION_KEYS
    )
    assert suspect.tolist() == [True, True, False, False]


# --- reading ----------------------------------------------------------------------------------------

_SAMPLES = [
    b"a,b\n1,2\n",
    "\ufeffa,b\n1,2\n".encode(),
    "\ufeff\ufeffa,b\n1,2\n".encode(),
    "a,b\nÃ¤,2\n".encode(),  # mojibake: decode_text adds a note
    "a,b\n1 €,2\n".encode(),  # 0x82 in the euro sign, no mojibake
    "a,b\nå,\x00\n".encode(),
    "a,b\nå,2\n".encode("cp1252"),
    "a,b\nå,2\n".encode("utf-16"),
    "a,b\nå,2\n".encode("utf-16-le"),
    "a,b\nå,2\n".encode()[:-3] + b"\xc3",
    b"\x00\x01" * 50,
]


@pytest.mark.parametrize("raw", _SAMPLES)
def test_plain_utf8_agrees_with_decode_text(raw: bytes) -> None:
    enc = plain_utf8(raw, "x.csv")
    try:
        dec = decode_text(raw, "x.csv", None, locator(","))
    except InputError:
        assert enc is None
        return
    if enc is not None:
        assert (enc, dec.notes) == (dec.encoding, [])


#: Swedish text with the typography of Windows and Mac documents: each code page has Swedish letters where the
#: others have punctuation (cp1252's “ and ” are cp850's ô and ö, its € and – mac_roman's Ä and ñ).
_TYPOGRAPHIC = [
    "district,comment\nVäsby–centrum,“Bra” – men 100 € … för dyrt\n",
    "district,comment\nÄlvsjö-Ängby,‘Mörkt’ vid stationen — och skräp\n",
    "district,comment\nÖrby “gamla”,\n",
    "district,comment\nÅkeshov,\n",
    "district,comment\nRissne,Ingen “trygghet” alls\nHallonbergen,Rånad för 20 € – två gånger\nÄlvsjö,ok\n",
]


@pytest.mark.parametrize("encoding", ["cp1252", "cp850", "mac_roman"])
@pytest.mark.parametrize("text", _TYPOGRAPHIC)
def test_legacy_code_page_of_swedish_text_with_typography(text: str, encoding: str) -> None:
    """The single-byte code page is told by the words the text makes (the earlier per-character score read
    cp1252 files with dashes, quotes or € as mac_roman or cp850: 'V‰sbyñcentrum', 'ƒlvsjˆ-ƒngby')."""
    raw = text.encode(encoding, errors="ignore")  # cp850 has no “, – or €: what is left of the text
    dec = decode_text(raw, "x.csv", None, locator(","))
    assert dec.text == raw.decode(encoding)
    assert dec.encoding == encoding or raw.decode(dec.encoding) == raw.decode(encoding)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=80).map(lambda t: t.encode()))
def test_plain_utf8_agrees_with_decode_text_on_any_bytes(raw: bytes) -> None:
    test_plain_utf8_agrees_with_decode_text(raw)
    test_plain_utf8_agrees_with_decode_text(b"\xef\xbb\xbf" + raw)


def test_fast_utf8_read_equals_the_decoded_read(tmp_path, monkeypatch) -> None:
    """The same text frame whether the bytes go to Arrow undecoded or through ``decode_text``."""
    from survey.data import readers

    resp, _ = _write(tmp_path, "utf-8-sig", ",")
    body = resp.read_bytes().replace(b"\n", b"\r\n")
    resp.write_bytes(body + b"\r\n\r\n")
    fast, info = read_table(resp)
    monkeypatch.setattr(readers, "plain_utf8", lambda raw, name: None)
    slow, slow_info = read_table(resp)
    assert_frame_equal(fast, slow)
    assert (info.encoding, info.notes, info.sha256) == (slow_info.encoding, slow_info.notes, slow_info.sha256)
    assert fast.loc[16, "comment"] == 'Två rader,\r\nmed "citat"'


def test_two_threads_convert_like_one(monkeypatch) -> None:
    frame_one, levels_one = _frame(5, 400)
    monkeypatch.setattr(validate, "PARALLEL_ROWS", 0)
    frame_two, levels_two = _frame(5, 400)
    assert_frame_equal(frame_one, frame_two)
    assert levels_one.keys() == levels_two.keys()
    for col, (codes, distinct) in levels_one.items():
        assert codes.tolist() == levels_two[col][0].tolist() and distinct.tolist() == levels_two[col][1].tolist()


def test_ids_of_other_lengths_are_other_ids(tmp_path) -> None:
    """'01' and '1' are two respondents; '1' twice is one respondent twice."""
    resp, pop = _write(tmp_path, "utf-8", ",")
    lines = resp.read_text(encoding="utf-8").splitlines()[:2]
    first = lines[1].split(",", 1)[1]
    resp.write_text("\n".join([lines[0], "01," + first, "1," + first, "2," + first, "2," + first]) + "\n")
    res = load_wave(resp, pop, CB, max_bad_share=1.0).responses
    assert res.data["resp_id"].tolist() == ["01", "1"]
    assert res.quarantine[["source_row", "check"]].values.tolist() == [[4, "duplicate"], [5, "duplicate"]]


def test_clean_file_is_read_without_pandera(tmp_path) -> None:
    """pandera (and the hypothesis it imports) is only loaded for rows the pre-check cannot clear."""
    resp, pop = _write(tmp_path, "utf-8", ",")
    clean = resp.read_text(encoding="utf-8").splitlines()[:4]  # rows 2-4 pass every check
    resp.write_text("\n".join(clean) + "\n", encoding="utf-8")
    code = (
        "import sys\nfrom survey.data.ingest import load_wave\n"
        f"w = load_wave({str(resp)!r}, {str(pop)!r})\n"
        "print(len(w.responses.data), len(w.responses.quarantine), 'pandera' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path(__file__).parents[1]
    )
    assert out.stdout.split() == ["3", "0", "False"]
