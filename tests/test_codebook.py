"""The default codebook implements the data contract; broken codebooks and mappings are refused by entry."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from survey.data.codebook import CODEBOOK_DIR, Codebook, default_codebook, load_codebook, load_mapping
from survey.errors import CodebookError

PROBLEMS = [
    "littering",
    "dark_places",
    "graffiti",
    "vandalism",
    "youth_groups",
    "drug_dealing",
    "drunk_people",
    "traffic",
]
VICTIMS = ["violence", "theft", "vandalism"]


def test_default_codebook_matches_contract() -> None:
    cb = default_codebook()
    assert isinstance(cb, Codebook) and cb.version == "1" and cb.label == "trygghet-v1"
    assert load_codebook("trygghet-v1") == cb
    assert cb.item_names == (
        "q_safe_after_dark",
        "q_worry_crime",
        *[f"q_problem_{p}" for p in PROBLEMS],
        *[f"q_victim_{v}" for v in VICTIMS],
        "q_police_care",
    )
    assert cb.item("q_safe_after_dark").codes == {
        1: "Mycket trygg",
        2: "Ganska trygg",
        3: "Ganska otrygg",
        4: "Mycket otrygg",
        5: "Går inte ut ensam sent på grund av otrygghet",
        6: "Går inte ut ensam sent av andra skäl",
        9: "Vet ej",
    }
    assert list(cb.item("q_worry_crime").codes) == [1, 2, 3, 4, 9]
    assert cb.item("q_police_care").codes[9] == "Ingen uppfattning"
    assert all(list(cb.item(f"q_problem_{p}").codes) == [1, 2, 3, 4, 9] for p in PROBLEMS)
    assert all(cb.item(f"q_victim_{v}").codes == {1: "Ja", 2: "Nej", 9: "Vet ej"} for v in VICTIMS)
    assert all(it.dont_know == (9,) for it in cb.items)
    assert cb.sexes == {1: "Man", 2: "Kvinna"}
    assert cb.age_groups == ("16-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75-84")
    assert cb.born_abroad == {0: "Född i Sverige", 1: "Född utomlands"}
    assert cb.series_breaks == ()


def test_default_indicators_in_contract_order() -> None:
    cb = default_codebook()
    expected = [
        ("unsafe_after_dark", "q_safe_after_dark", (3, 4, 5)),
        ("safe_after_dark", "q_safe_after_dark", (1, 2)),
        ("worried_crime", "q_worry_crime", (1, 2)),
        *[(f"problem_{p}", f"q_problem_{p}", (1, 2)) for p in PROBLEMS],
        *[(f"victim_{v}", f"q_victim_{v}", (1,)) for v in VICTIMS],
        ("police_care", "q_police_care", (1, 2)),
    ]
    assert [(i.name, i.item, i.numerator) for i in cb.indicators] == expected
    for ind in cb.indicators:
        assert ind.base == tuple(cb.item(ind.item).codes)  # every listed code, "vet ej" included
        assert ind.label_sv.startswith("Andel") and ind.group
    assert cb.indicator("unsafe_after_dark").label_sv == "Andel otrygga ute ensam sent en kväll"
    assert cb.indicator("unsafe_after_dark").base == (1, 2, 3, 4, 5, 6, 9)
    assert {i.group for i in cb.indicators} == {"trygghet", "oro", "problem", "utsatthet", "polis"}
    pi = cb.problem_index
    assert pi.items == tuple(f"q_problem_{p}" for p in PROBLEMS)
    assert pi.scores == {1: 3, 2: 2, 3: 1, 4: 0} and pi.exclude == (9,)


def _write(tmp_path: Path, doc: dict, name: str = "bad.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _default_doc() -> dict:
    return yaml.safe_load((CODEBOOK_DIR / "trygghet-v1.yaml").read_text(encoding="utf-8"))


def _ind(doc: dict, name: str) -> dict:
    return next(i for i in doc["indicators"] if i["name"] == name)


BAD_CODEBOOKS = [
    (
        "indicator unknown item",
        lambda d: _ind(d, "police_care").update(item="q_police_cares"),
        "indicators.police_care.item: okänd fråga 'q_police_cares'",
    ),
    (
        "indicator unknown code",
        lambda d: _ind(d, "victim_theft").update(numerator=[1, 3]),
        "indicators.victim_theft.numerator: koderna [3] finns inte bland frågans koder [1, 2, 9]",
    ),
    (
        "base without numerator",
        lambda d: _ind(d, "worried_crime").update(base=[3, 4]),
        "indicators.worried_crime.numerator",
    ),
    (
        "duplicate indicator",
        lambda d: d["indicators"].append(copy.deepcopy(_ind(d, "police_care"))),
        "indicators.police_care: indikatornamnet finns två gånger",
    ),
    (
        "item name",
        lambda d: d["items"].update(safe=d["items"].pop("q_police_care")),
        "items.safe: ett frågenamn måste vara en identifierare som börjar med q_",
    ),
    (
        "dont_know not a code",
        lambda d: d["items"]["q_worry_crime"].update(dont_know=[8]),
        "items.q_worry_crime.dont_know: koderna [8] finns inte bland frågans koder",
    ),
    (
        "code not integer",
        lambda d: d["items"]["q_worry_crime"]["codes"].update({"x": "X"}),
        "items.q_worry_crime.codes: nyckeln 'x' är inget heltal (koder är heltal)",
    ),
    (
        "duplicate age group",
        lambda d: d["register"]["age_groups"].append("16-24"),
        "register.age_groups: '16-24' finns två gånger",
    ),
    ("missing version", lambda d: d.pop("version"), "version: saknas"),
    (
        "unknown top key",
        lambda d: d.update(indikatorer=[]),
        "översta nivån: okänd nyckel 'indikatorer'; tillåtna: ['contract', 'description', 'indicators', "
        "'items', 'name', 'problem_index', 'register', 'series_breaks', 'version']",
    ),
    (
        "problem index item",
        lambda d: d["problem_index"]["items"].append("q_problem_noise"),
        "problem_index.items: okänd fråga 'q_problem_noise'",
    ),
    (
        "problem index unscored",
        lambda d: d["problem_index"]["scores"].pop(4),
        "problem_index.scores: koderna [4] för q_problem_littering har varken poäng eller är undantagna",
    ),
    (
        "label not a text",
        lambda d: d["items"]["q_police_care"]["codes"].update({1: ["a"]}),
        "items.q_police_care.codes.1: väntade en text, fick ['a']",
    ),
    ("version a boolean", lambda d: d.update(version=True), 'version: väntade en text som "1"'),
    ("indicators not a list", lambda d: d.update(indicators={"a": 1}), "indicators: väntade en lista"),
    (
        "numerator not codes",
        lambda d: _ind(d, "police_care").update(numerator=["1", 2]),
        "indicators.police_care.numerator[0]: '1' är inget heltal",
    ),
    (
        "empty numerator",
        lambda d: _ind(d, "police_care").update(numerator=[]),
        "indicators.police_care.numerator: ingenting angivet",
    ),
    (
        "score not a number",
        lambda d: d["problem_index"]["scores"].update({1: "tre"}),
        "problem_index.scores.1: poängen 'tre' är inget ändligt tal",
    ),
    (
        "unknown item key",
        lambda d: d["items"]["q_worry_crime"].update(text_en="x"),
        "items.q_worry_crime: okänd nyckel 'text_en'; tillåtna: ['codes', 'dont_know', 'text_sv']",
    ),
    (
        "series break item",
        lambda d: d.update(series_breaks=[{"year": 2023, "reason": "ny fråga", "items": ["q_nope"]}]),
        "series_breaks[0].items: okänd fråga 'q_nope'",
    ),
]


@pytest.mark.parametrize("label,mutate,message", BAD_CODEBOOKS, ids=[b[0] for b in BAD_CODEBOOKS])
def test_bad_codebook_entries(tmp_path: Path, label: str, mutate, message: str) -> None:
    doc = _default_doc()
    mutate(doc)
    path = _write(tmp_path, doc)
    with pytest.raises(CodebookError) as err:
        load_codebook(path)
    assert str(err.value).startswith("bad.yaml: ")
    assert message in str(err.value)


def test_duplicate_code_in_yaml_text(tmp_path: Path) -> None:
    text = (CODEBOOK_DIR / "trygghet-v1.yaml").read_text(encoding="utf-8")
    text = text.replace("      4: Mycket otrygg\n", "      4: Mycket otrygg\n      4: Väldigt otrygg\n", 1)
    path = tmp_path / "dup.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CodebookError, match=r"^dup\.yaml, rad 25: nyckeln 4 finns två gånger \(redan på rad 24\)$"):
        load_codebook(path)


def test_missing_and_invalid_yaml(tmp_path: Path) -> None:
    with pytest.raises(CodebookError, match="kodboken eller mappningen finns inte"):
        load_codebook("trygghet-v99")
    (tmp_path / "broken.yaml").write_text("items: [unclosed\n", encoding="utf-8")
    with pytest.raises(CodebookError, match=r"^broken\.yaml: inte giltig YAML på rad 2, kolumn 1"):
        load_codebook(tmp_path / "broken.yaml")


def test_example_mapping_loads() -> None:
    m = load_mapping("example-vendor")
    assert m.columns["Kön"] == "sex" and m.columns["Trygg_kväll"] == "q_safe_after_dark"
    assert m.recode["sex"] == {"man": 1, "kvinna": 2}
    assert m.recode["q_safe_after_dark"]["vet ej"] == 9
    assert m.blank == ("99",)
    assert m.age_bins[0] == ("16-24", 16, 24) and m.age_bins[-1] == ("75-84", 75, 84)
    assert m.read == {"delimiter": ";", "decimal": ","}


MAPPING = {
    "name": "v",
    "columns": {"Kön": "sex", "Ålder": "age_group"},
    "recode": {"sex": {"Man": 1, "Kvinna": 2}},
    "age_bins": {"16-24": [16, 24], "25-34": [25, 34]},
}

BAD_MAPPINGS = [
    (
        "unknown canonical column",
        lambda m: m["columns"].update(Stad="stadsdel"),
        "columns.Stad: okänd kanonisk kolumn 'stadsdel'",
    ),
    (
        "column mapped twice",
        lambda m: m["columns"].update(Kon2="sex"),
        "columns.Kon2: den kanoniska kolumnen 'sex' mappas två gånger",
    ),
    (
        "recode target not a code",
        lambda m: m["recode"]["sex"].update(Annat=3),
        "recode.sex.Annat: målet 3 är ingen giltig kod för sex ([1, 2])",
    ),
    (
        "recode unknown column",
        lambda m: m["recode"].update(q_nope={"Ja": 1}),
        "recode.q_nope: okänd kanonisk kolumn 'q_nope'",
    ),
    (
        "item recode target",
        lambda m: m["recode"].update(q_victim_theft={"Ja": 1, "Kanske": 5}),
        "recode.q_victim_theft.Kanske: målet 5 är ingen giltig kod för q_victim_theft ([1, 2, 9])",
    ),
    (
        "duplicate vendor value",
        lambda m: m["recode"]["sex"].update({"MAN ": 1}),
        "recode.sex.MAN : leverantörsvärdet finns redan",
    ),
    (
        "overlapping bins",
        lambda m: m["age_bins"].update({"25-34": [24, 34]}),
        "age_bins.25-34: överlappar age_bins.16-24",
    ),
    (
        "bin not an age group",
        lambda m: m["age_bins"].update({"85+": [85, 120]}),
        "age_bins.85+: '85+' är ingen åldersgrupp i kodboken",
    ),
    ("columns target not a text", lambda m: m["columns"].update(Vikt=3), "columns.Vikt: väntade en text, fick 3"),
    (
        "unknown read option",
        lambda m: m.update(read={"sep": ";"}),
        "read: okänd nyckel 'sep'; tillåtna: ['decimal', 'delimiter', 'encoding', 'fmt']",
    ),
    (
        "recode target a list",
        lambda m: m["recode"]["sex"].update(Man=[1]),
        "recode.sex.Man: målet [1] är varken en kod (heltal) eller en text",
    ),
    ("bin of three", lambda m: m["age_bins"].update({"35-44": [35, 40, 44]}), "age_bins.35-44: för många värden"),
    (
        "bin bounds",
        lambda m: m["age_bins"].update({"35-44": [44, 35]}),
        "age_bins.35-44: väntade [lägsta ålder, högsta ålder]",
    ),
]


@pytest.mark.parametrize("label,mutate,message", BAD_MAPPINGS, ids=[b[0] for b in BAD_MAPPINGS])
def test_bad_mapping_entries(tmp_path: Path, label: str, mutate, message: str) -> None:
    doc = copy.deepcopy(MAPPING)
    mutate(doc)
    path = _write(tmp_path, doc, "vendor.yaml")
    with pytest.raises(CodebookError) as err:
        load_mapping(path)
    assert str(err.value).startswith("vendor.yaml: ") and message in str(err.value)


def test_default_files_are_valid_pydantic_models() -> None:
    from schemas.codebook_models import CodebookModel, MappingModel

    doc = _default_doc()
    m = CodebookModel.model_validate(doc)
    assert list(m.items) == list(default_codebook().item_names) and m.version == "1"
    cb = default_codebook()
    vendor = yaml.safe_load((CODEBOOK_DIR.parent / "mappings" / "example-vendor.yaml").read_text(encoding="utf-8"))
    canonical = set(cb.response_columns) | {"population"}
    assert (
        MappingModel.model_validate(vendor, context={"codebook": cb, "canonical": canonical}).name == "example-vendor"
    )


def test_several_mistakes_are_counted_in_one_paragraph(tmp_path: Path) -> None:
    doc = _default_doc()
    doc.pop("version")
    doc["name"] = ""
    with pytest.raises(CodebookError) as err:
        load_codebook(_write(tmp_path, doc))
    assert str(err.value).startswith("bad.yaml: ") and "(och 1 fel till)" in str(err.value)
    assert "\n" not in str(err.value)


def test_alias_bomb_and_self_reference_are_refused(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 8)]
    (tmp_path / "bomb.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(CodebookError, match=r"^bomb\.yaml: för stor efter att alias"):
        load_codebook(tmp_path / "bomb.yaml")
    (tmp_path / "self.yaml").write_text("a: &a [1, *a]\n", encoding="utf-8")
    with pytest.raises(CodebookError, match="pekar på sig självt"):
        load_codebook(tmp_path / "self.yaml")
