"""The run configuration: one typed model for the CLI, the runner and the flows, checked before any work."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from survey.cli import app
from survey.errors import ConfigError
from survey.pipeline.config import FIELD_NAMES, RunConfig, build_config
from tests.conftest import SAMPLE_WAVE

RESP, POP = SAMPLE_WAVE / "responses.csv", SAMPLE_WAVE / "population.csv"


def _run(tmp_path: Path, *args: str):
    db = tmp_path / "db.sqlite"
    res = CliRunner().invoke(
        app,
        [
            "run",
            "--responses",
            str(RESP),
            "--population",
            str(POP),
            "--out",
            str(tmp_path / "out"),
            "--db",
            f"sqlite:///{db}",
            *args,
        ],
    )
    return res, db


@pytest.mark.parametrize(
    ("args", "option", "allowed"),
    [
        (["--adjust", "bonferroni"], "--adjust", ["holm", "fdr_bh", "none"]),
        (["--charts", "some"], "--charts", ["headline", "all", "none"]),
        (["--formats", "html,docx"], "--formats", ["html", "xlsx", "csv", "png", "pdf"]),
        (["--method", "ranking"], "--method", ["raking", "linear", "logit"]),
        (["--min-n", "0"], "--min-n", ["≥ 1"]),
        (["--level", "95"], "--level", ["< 1"]),
        (["--collapse", "kommun"], "--collapse", ["age_group"]),
        (["--method", "logit", "--lower", "0.5", "--upper", "0.9"], "--lower/--upper", ["0 ≤ lower < 1 < upper"]),
        (["--method", "logit"], "--method logit", ["lower", "upper"]),
    ],
)
def test_a_bad_option_is_one_paragraph_exit_2_and_nothing_is_created(
    tmp_path: Path, args: list[str], option: str, allowed: list[str]
) -> None:
    res, db = _run(tmp_path, *args)
    assert res.exit_code == 2, res.output
    text = " ".join(res.output.split())
    assert "Traceback" not in res.output
    assert option in text, text
    for word in allowed:
        assert word in text, (word, text)
    assert not db.exists()
    assert not (tmp_path / "out").exists()


def test_a_configuration_file_with_flags_overriding_it(tmp_path: Path) -> None:
    cfg = tmp_path / "sundbyberg.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "responses": str(RESP),
                "population": str(POP),
                "method": "linear",
                "collapse": "age_group",
                "formats": ["html", "xlsx"],
                "min-n": 25,
                "out": "ut",
            }
        ),
        encoding="utf-8",
    )
    c = build_config(cfg, {"min_n": "40"})
    assert (c.method, c.collapse, c.formats, c.min_n) == ("linear", ("age_group",), ("html", "xlsx"), 40)
    assert c.out == tmp_path / "ut"  # relative to the file
    assert c.collapse_spec == (("age_group", 1),)
    shown = CliRunner().invoke(
        app,
        [
            "config",
            "show",
            "--config",
            str(cfg),
            "--charts",
            "all",
            "--db",
            "postgresql+psycopg://u:hemligt@db/trygghet",
        ],
    )
    assert shown.exit_code == 0, shown.output
    doc = yaml.safe_load(shown.output)
    assert doc["method"] == "linear" and doc["charts"] == "all" and doc["min_n"] == 25
    assert "hemligt" not in shown.output and doc["db"] == "postgresql+psycopg://u:***@db/trygghet"
    assert list(doc) == list(FIELD_NAMES)


def test_unknown_keys_in_the_file_are_refused_with_a_suggestion(tmp_path: Path) -> None:
    cfg = tmp_path / "fel.yaml"
    cfg.write_text("responses: svar.csv\nmetod: linear\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="Okänd inställning 'metod'. Menade du 'method'") as err:
        build_config(cfg)
    assert err.value.option == "metod"
    res = CliRunner().invoke(app, ["run", "--config", str(cfg), "--db", f"sqlite:///{tmp_path / 'db.sqlite'}"])
    assert res.exit_code == 2 and "metod" in res.output and not (tmp_path / "db.sqlite").exists()


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ("min_n: true", "--min-n måste vara ett heltal, inte True."),  # was min_n 1: nothing suppressed
        ("level: false", "--level måste vara ett tal, inte False."),
        ("min_n: yes", "--min-n måste vara ett heltal, inte True."),  # YAML 1.1's yes is a bool
    ],
)
def test_a_yaml_bool_is_not_a_number(tmp_path: Path, line: str, said: str) -> None:
    cfg = tmp_path / "k.yaml"
    cfg.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        build_config(cfg)
    assert str(err.value) == said
    cfg.write_text("min_n: 25\nlevel: 0.9\npublish: 0\n", encoding="utf-8")  # numbers and a 0/1 switch still do
    c = build_config(cfg)
    assert (c.min_n, c.level, c.publish) == (25, 0.9, False)


@pytest.mark.parametrize(
    ("given", "said", "english"),
    [
        ({"formats": ""}, "--formats behöver minst 1 värde, inte ().", "--formats needs at least 1 value, not ()."),
        (
            {"variance": "bootstrap:0"},
            "Ogiltigt värde 'bootstrap:0' för --variance. Tillåtna värden: linearisation, jackknife, bootstrap, "
            "bootstrap:R (R ≥ 1).",
            "Invalid value 'bootstrap:0' for --variance. Allowed values: linearisation, jackknife, bootstrap, "
            "bootstrap:R (R ≥ 1).",
        ),
        ({"level": [0.9]}, "--level måste vara ett tal, inte [0.9].", "--level must be a number, not [0.9]."),
        ({"title": 5}, "--title måste vara ett textvärde, inte 5.", "--title must be a text, not 5."),
    ],
)
def test_a_value_of_the_wrong_form_is_one_sentence_in_the_clis_language(given, said, english) -> None:
    """pydantic's own English ('Tuple should have at least 1 item after validation', 'String should match
    pattern …', 'Input should be a valid number') reached the Swedish CLI."""
    from survey.pipeline.i18n import english as in_english

    with pytest.raises(ConfigError) as err:
        build_config(None, given)
    assert str(err.value) == said
    assert in_english(str(err.value)) == english


def test_invalid_yaml_is_one_line_with_its_place_in_the_language_of_the_command(tmp_path: Path) -> None:
    cfg = tmp_path / "trasig.yaml"
    cfg.write_text("min_n: 25\ndb: a: b\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["config", "show", "--config", str(cfg)], terminal_width=4000)
    assert res.exit_code == 2
    assert res.output.strip() == (
        f"Fel: Konfigurationsfilen {cfg} är inte giltig YAML: rad 2, kolumn 6: mapping values are not allowed here"
    )
    res = CliRunner().invoke(app, ["config", "show", "--config", str(cfg), "--lang", "en"], terminal_width=4000)
    assert res.output.strip() == (
        f"Error: The configuration file {cfg} is not valid YAML: row 2, column 6: mapping values are not allowed here"
    )


def test_a_sqlite_file_in_a_configuration_file_is_taken_against_the_files_folder(tmp_path: Path) -> None:
    """As every other relative path in the file (``db: sqlite:///k.db`` was made in the working folder)."""
    folder = tmp_path / "konf"
    folder.mkdir()
    cfg = folder / "k.yaml"
    cfg.write_text("db: sqlite:///k.db\nout: ut\n", encoding="utf-8")
    c = build_config(cfg)
    assert (c.db, c.out) == (f"sqlite:///{folder / 'k.db'}", folder / "ut")
    for url in ("sqlite:////abs/k.db", "sqlite:///:memory:", "postgresql+psycopg://postgres@127.0.0.1:5432/test"):
        cfg.write_text(f"db: '{url}'\n", encoding="utf-8")
        assert build_config(cfg).db == url


def test_a_missing_input_file_is_named_before_any_database_is_opened(tmp_path: Path) -> None:
    res = CliRunner().invoke(
        app,
        [
            "run",
            "--responses",
            str(tmp_path / "saknas.csv"),
            "--population",
            str(POP),
            "--db",
            f"sqlite:///{tmp_path / 'db.sqlite'}",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert res.exit_code == 2
    assert "saknas.csv" in " ".join(res.output.split())
    assert not (tmp_path / "db.sqlite").exists()


@pytest.mark.parametrize(
    ("out", "words"),
    [
        ("fil.txt", ["Utkatalogen", "fil.txt", "är en fil"]),
        ("fil.txt/under/mer", ["Kan inte skapa utkatalogen", "fil.txt är en fil"]),
    ],
)
def test_an_output_folder_that_cannot_be_one_is_named_before_any_work(
    tmp_path: Path, out: str, words: list[str]
) -> None:
    """Found before the wave is read and stored (it was a traceback after the whole run, at the first file)."""
    (tmp_path / "fil.txt").write_text("x")
    res, db = _run(tmp_path, "--out", str(tmp_path / out))  # the last --out counts
    assert res.exit_code == 2, res.output
    text = " ".join(res.output.split())
    assert "Traceback" not in res.output and "--out" in text
    for word in words:
        assert word in text, (word, text)
    assert not db.exists()


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="Linux's /proc")
def test_a_folder_the_file_system_refuses_is_named_before_any_work(tmp_path: Path) -> None:
    """/proc takes no new folders, not even from root, for whom ``os.access`` says every folder is writable:
    it was found only when the run wrote its first file, after the wave had been stored."""
    res, db = _run(tmp_path, "--out", "/proc/trygghet-ut/rapport")
    assert res.exit_code == 2, res.output
    text = " ".join(res.output.split())
    assert "Traceback" not in res.output and "/proc/trygghet-ut/rapport" in text and "--out" in text, text
    assert text.startswith("Fel: Utkatalogen"), text
    assert not db.exists()


def test_a_missing_output_folder_passes_the_check_and_is_not_made_by_it(tmp_path: Path) -> None:
    config = RunConfig(responses=RESP, population=POP, out=tmp_path / "ny" / "mapp")
    config.check_inputs()
    assert not (tmp_path / "ny").exists() and list(tmp_path.iterdir()) == []  # the probe is gone too


def test_every_field_has_a_swedish_and_an_english_description() -> None:
    for name, field in RunConfig.model_fields.items():
        sv, _, en = (field.description or "").partition(" / ")
        assert sv and en, name
    schema = RunConfig.model_json_schema()  # what the Prefect UI shows
    assert schema["properties"]["method"]["enum"] == ["raking", "linear", "logit"]
    assert schema["additionalProperties"] is False


def test_the_config_derives_the_step_options() -> None:
    c = build_config(None, {"lower": "0.5", "upper": "2", "trim_upper": "3", "max_rse": "0.3"})
    assert c.bounds == (0.5, 2.0) and c.trim == (1e-9, 3.0) and c.max_rse == 0.3
    assert build_config(None, {"upper": "2"}).bounds == (float("-inf"), 2.0)
    assert build_config(None, {"delimiter": "tab", "decimal": ","}).read_opts == {"delimiter": "\t", "decimal": ","}


def test_run_with_bootstrap_500_is_within_monte_carlo_error_of_the_linearised_ses(tmp_path: Path) -> None:
    """``trygghet run --variance bootstrap:500`` writes replicate SEs (re-raked in every replicate) into
    estimates.csv. Tolerance: a bootstrap SE from R = 500 replicates has a relative Monte Carlo SD of about
    1 / sqrt(2 (R - 1)) = 0.032, so the Totalt rows (no tiny calibration cells) must be within 4 SDs plus 2 %
    for the finite-sample difference of the two estimators, |se_boot / se_lin - 1| < 0.147, against the
    R oracle's linearised SEs, and the median over every row within 0.05. The replicate weights are
    exported with what R's svrepdesign needs."""
    import json

    import numpy as np
    import pandas as pd

    res, _db = _run(tmp_path, "--variance", "bootstrap:500", "--no-publish", "--replicate-weights")
    assert res.exit_code == 0, res.output
    ours = pd.read_csv(tmp_path / "out" / "estimates.csv")
    lin = pd.read_csv(SAMPLE_WAVE / "expected" / "estimates.csv")
    m = ours.merge(lin, on=["year", "district", "indicator"], suffixes=("", "_lin"), validate="one_to_one")
    ok = (m["se_lin"] > 0) & m["se"].notna()
    ratio = m.loc[ok, "se"] / m.loc[ok, "se_lin"]
    assert abs(float(np.median(ratio)) - 1) < 0.05
    total = ok & (m["district"] == "Totalt")
    assert (np.abs(m.loc[total, "se"] / m.loc[total, "se_lin"] - 1) < 0.147).all()
    np.testing.assert_allclose(m["estimate"], m["estimate_lin"], rtol=1e-9)  # the estimates themselves
    full = pd.read_csv(tmp_path / "out" / "estimates_full.csv")
    assert set(full["variance"]) == {"bootstrap:500"}
    meta = json.loads((tmp_path / "out" / "replicate_weights.json").read_text(encoding="utf-8"))
    assert meta["type"] == "bootstrap" and meta["replicates"] == 500
    # the sample wave's single-respondent cells are left out of some replicates: collapsed, counted, no stop
    run = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))["replicate_variance"]
    assert run == {"kind": "bootstrap", "replicates": 500, "collapsed_cells": meta["collapsed_cells"]}
    assert meta["collapsed_cells"] > 0
    rep = pd.read_csv(tmp_path / "out" / "replicate_weights.csv", nrows=5)
    assert list(rep.columns[:3]) == ["resp_id", "year", "weight"] and "rep500" in rep.columns
    assert meta["file"] == "replicate_weights.csv" and len(rep.columns) == 3 + 500


def test_replicate_weights_file_only_on_request(tmp_path: Path) -> None:
    """Without --replicate-weights the n × R replicate weights are not written (1M × 500 is several GB);
    the JSON that says how R reads them is, with ``file`` null."""
    import json

    res, _db = _run(tmp_path, "--variance", "jackknife", "--no-publish")
    assert res.exit_code == 0, res.output
    assert not (tmp_path / "out" / "replicate_weights.csv").exists()
    meta = json.loads((tmp_path / "out" / "replicate_weights.json").read_text(encoding="utf-8"))
    assert meta["type"] == "JKn" and meta["file"] is None and meta["mse"] is False


def test_variance_option_is_checked() -> None:
    with pytest.raises(ConfigError, match="variance"):
        build_config(None, {"variance": "bootstrap:0"})
    assert build_config(None, {"variance": "bootstrap"}).variance_method == ("bootstrap", 500)
    assert build_config(None, {"variance": "jackknife"}).variance_method == ("jackknife", 0)


def test_compare_takes_several_years_after_one_flag_and_totalt_in_any_case(tmp_path: Path) -> None:
    res, db = _run(tmp_path, "--no-publish")
    assert res.exit_code == 0, res.output
    out = CliRunner().invoke(
        app, ["compare", "Rissne", "totalt", "--years", "2023", "2024", "--db", f"sqlite:///{db}"], terminal_width=200
    )
    assert out.exit_code == 0, out.output
    text = " ".join(out.output.split())
    assert "Rissne jämfört med Totalt, 2023" in text and "Rissne jämfört med Totalt, 2024" in text
    assert "2025" not in text
    for extra in (["Duvbo"], ["--years", "2023", "Duvbo"]):  # a third district is not a year
        out = CliRunner().invoke(
            app, ["compare", "Rissne", "totalt", *extra, "--db", f"sqlite:///{db}"], prog_name="trygghet"
        )
        assert out.exit_code == 2, out.output
        assert " ".join(out.output.split()) == "Fel: Oväntade argument: Duvbo. Se trygghet compare --help."


def test_sources_list_withdraw_and_replace_through_the_cli(tmp_path: Path) -> None:
    """A truncated file loaded by mistake is replaced by the complete one; every version stays listed."""
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    runner = CliRunner()
    lines = RESP.read_text(encoding="utf-8").splitlines(keepends=True)
    short = tmp_path / "svar_kort.csv"
    short.write_text("".join(lines[:-50]), encoding="utf-8")
    first = runner.invoke(app, ["ingest", str(short), "--population", str(POP), "--db", db])
    assert first.exit_code == 0, first.output
    listed = runner.invoke(app, ["sources", "list", "--db", db], terminal_width=250)
    assert listed.exit_code == 0 and "svar" in listed.output and "nan" not in listed.output
    from survey.pipeline import commands

    src = commands.sources(db)
    rid = int(src.loc[src["kind"] == "responses", "id"].iloc[0])
    rep = runner.invoke(app, ["sources", "replace", str(rid), str(RESP), "--db", db, "--reason", "trunkerad"])
    assert rep.exit_code == 0, rep.output
    after = commands.sources(db)
    resp = after[after["kind"] == "responses"].sort_values("id")
    assert list(resp["status"]) == ["replaced", "active"] and len(resp) == 2
    pid = int(after.loc[after["kind"] == "population", "id"].iloc[0])
    wd = runner.invoke(app, ["sources", "withdraw", str(pid), "--db", db])
    assert wd.exit_code == 0 and "återkallad" in wd.output  # the status in Swedish words
    bad = runner.invoke(app, ["sources", "withdraw", "999", "--db", db])
    assert bad.exit_code == 2 and "Traceback" not in bad.output


@pytest.mark.parametrize(
    "command",
    [
        ["quarantine", "list"],
        ["quarantine", "show"],
        ["sources", "list"],
        ["sources", "withdraw", "1"],
        ["tables", "list"],
        ["tables", "export", "--table", "estimates_unsafe_after_dark", "--year", "2024"],
        ["compare", "Rissne", "Duvbo"],
    ],
)
def test_a_command_that_reads_the_store_names_a_missing_sqlite_file_and_makes_none(
    tmp_path: Path, command: list[str]
) -> None:
    """A mistyped --db is said so (it was a new, empty database and an empty answer)."""
    db = tmp_path / "saknas" / "trygghet.db"
    res = CliRunner().invoke(app, [*command, "--db", f"sqlite:///{db}"])
    assert res.exit_code == 2, res.output
    text = " ".join(res.output.split())
    assert f"Databasen {db} finns inte" in text and "--db" in text, text
    assert not db.exists() and not db.parent.exists()


def test_a_swedish_decimal_comma_is_a_number() -> None:
    """``--max-bad-share 0,05`` as the help shows the default (it was 'must be a number, not 0,05'); a text
    with two commas or a letter is still refused."""
    base = {"responses": str(RESP), "population": str(POP)}
    assert build_config(None, {**base, "max_bad_share": "0,05"}).max_bad_share == 0.05
    assert build_config(None, {**base, "trim_lower": "0,5", "trim_upper": "2,5"}).trim_upper == 2.5
    for bad in ("0,0,5", "0,05x"):
        with pytest.raises(ConfigError):
            build_config(None, {**base, "max_bad_share": bad})


def test_a_small_bad_share_is_shown_with_its_digits(tmp_path: Path) -> None:
    """4 bad rows of 3022 against a limit of 0,01 %: '0,13 %' and '0,010 %', not '0,1 %' and '0,0 %'."""
    import pandas as pd

    frame = pd.read_csv(RESP, dtype=str, keep_default_na=False)
    frame.loc[:3, "sex"] = "7"
    wave = tmp_path / "svar.csv"
    frame.to_csv(wave, index=False)
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    res = CliRunner().invoke(
        app, ["ingest", str(wave), "--population", str(POP), "--db", db, "--max-bad-share", "0,0001"]
    )
    assert res.exit_code == 2, res.output
    flat = " ".join(res.output.split())
    assert "4 av 3022 rader (0,13 %) klarade inte radkontrollerna, fler än de 0,010 % som tillåts" in flat, flat
