"""Fuzzing with hypothesis: readers and the codebook/mapping loader raise only trygghet's typed errors.

Fixed budget and seed (``derandomize=True``), no deadline: any exception other than a ``TrygghetError``
subclass fails. Inputs are bytes around a valid CSV (mutated, cut, re-encoded), arbitrary bytes under every
file extension, and YAML text around the default codebook and the example mapping.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from survey.data.codebook import CODEBOOK_DIR, MAPPING_DIR, load_codebook, load_mapping
from survey.data.ingest import read_population, read_responses, read_table
from survey.errors import TrygghetError
from tests.conftest import SAMPLE_WAVE

FUZZ = settings(
    derandomize=True,
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

_SAMPLE = pd.read_csv(SAMPLE_WAVE / "responses.csv", dtype=str, keep_default_na=False).iloc[:12]
VALID = _SAMPLE.to_csv(index=False, lineterminator="\n").encode("utf-8")
POP = (SAMPLE_WAVE / "population.csv").read_bytes()[:3000]
CODEBOOK = (CODEBOOK_DIR / "trygghet-v1.yaml").read_text(encoding="utf-8")
MAPPING = (MAPPING_DIR / "example-vendor.yaml").read_text(encoding="utf-8")


@st.composite
def mutated(draw, base: bytes) -> bytes:
    """``base`` with a few bytes replaced, inserted or deleted, perhaps cut, perhaps re-encoded."""
    data = bytearray(base)
    for _ in range(draw(st.integers(0, 6))):
        op = draw(st.sampled_from(["set", "insert", "delete", "quote", "delim", "newline"]))
        i = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "set" and data:
            data[i] = draw(st.integers(0, 255))
        elif op == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=4))
        elif op == "delete" and data:
            del data[i : i + draw(st.integers(1, 20))]
        else:
            data[i:i] = {"quote": b'"', "delim": b",", "newline": b"\n"}[op]
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    enc = draw(st.sampled_from([None, "utf-16", "utf-16-le", "cp1252", "utf-8-sig"]))
    if enc is not None:
        data = bytearray(bytes(data).decode("utf-8", errors="replace").encode(enc, errors="replace"))
    return bytes(data)


def _only_typed(fn, *args, **kw) -> None:
    try:
        fn(*args, **kw)
    except TrygghetError as exc:
        assert str(exc) and "Traceback" not in str(exc)


@FUZZ
@given(data=mutated(VALID))
def test_read_responses_on_mutated_csv(tmp_path_factory, data: bytes) -> None:
    path = tmp_path_factory.mktemp("fz") / "svar.csv"
    path.write_bytes(data)
    _only_typed(read_responses, path)


@FUZZ
@given(data=mutated(POP))
def test_read_population_on_mutated_csv(tmp_path_factory, data: bytes) -> None:
    path = tmp_path_factory.mktemp("fz") / "befolkning.csv"
    path.write_bytes(data)
    _only_typed(read_population, path)


@FUZZ
@given(data=st.binary(max_size=2000), ext=st.sampled_from([".csv", ".tsv", ".xlsx", ".sav", ".parquet"]))
def test_read_table_on_junk(tmp_path_factory, data: bytes, ext: str) -> None:
    path = tmp_path_factory.mktemp("fz") / f"fil{ext}"
    path.write_bytes(data)
    _only_typed(read_table, path)


def _prefixed_junk() -> st.SearchStrategy[bytes]:
    """Junk that starts like a real xlsx (zip), parquet or sav file, so the libraries get past the magic."""
    heads = st.sampled_from([b"PK\x03\x04", b"PAR1", b"$FL2", b"\xd0\xcf\x11\xe0"])
    return st.tuples(heads, st.binary(max_size=1500)).map(lambda t: t[0] + t[1])


@FUZZ
@given(data=_prefixed_junk(), ext=st.sampled_from([".xlsx", ".sav", ".parquet"]))
def test_binary_readers_on_prefixed_junk(tmp_path_factory, data: bytes, ext: str) -> None:
    path = tmp_path_factory.mktemp("fz") / f"fil{ext}"
    path.write_bytes(data)
    _only_typed(read_table, path)


@FUZZ
@given(
    options=st.fixed_dictionaries(
        {},
        optional={
            "encoding": st.sampled_from(["utf-8", "cp1252", "latin-1", "utf-16", "ascii", "nope", ""]),
            "delimiter": st.sampled_from([",", ";", "\t", "|", "tab", "ab", ""]),
            "decimal": st.sampled_from([".", ",", ";"]),
        },
    )
)
def test_read_table_options(tmp_path_factory, options: dict) -> None:
    path = tmp_path_factory.mktemp("fz") / "svar.csv"
    path.write_bytes(VALID)
    _only_typed(read_table, path, **options)


@st.composite
def yaml_text(draw, base: str) -> str:
    """``base`` with lines dropped, duplicated or changed, or characters inserted."""
    lines = base.split("\n")
    for _ in range(draw(st.integers(1, 5))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["drop", "dup", "text", "value"]))
        if op == "drop":
            del lines[i]
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "text":
            lines[i] = lines[i][: draw(st.integers(0, len(lines[i])))] + draw(st.text(max_size=8))
        else:
            key = lines[i].split(":")[0]
            value = draw(
                st.sampled_from(
                    [
                        "[]",
                        "{}",
                        "null",
                        "1",
                        "-1",
                        "1.5",
                        "true",
                        "x",
                        "[1, x]",
                        "{a: 1}",
                        "*problem",
                        "&a [*a]",
                        "!!python/object:os.system x",
                    ]
                )
            )
            lines[i] = f"{key}: {value}"
        if not lines:
            lines = [""]
    return "\n".join(lines)


@st.composite
def yaml_doc(draw, base: str) -> str:
    """``base`` parsed, one entry replaced by an arbitrary YAML value, dumped again."""
    doc = yaml.safe_load(base)
    values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4) | st.integers(), inner, max_size=3)
        ),
        max_leaves=6,
    )
    node = doc
    for _ in range(draw(st.integers(1, 3))):
        if isinstance(node, dict) and node:
            key = draw(st.sampled_from(sorted(node, key=str)))
        elif isinstance(node, list) and node:
            key = draw(st.integers(0, len(node) - 1))
        else:
            break
        if draw(st.booleans()) or not isinstance(node[key], (dict, list)):
            node[key] = draw(values)
            break
        node = node[key]
    out = io.StringIO()
    yaml.safe_dump(doc, out, allow_unicode=True)
    return out.getvalue()


def _write(tmp_path_factory, text: str, name: str) -> Path:
    path = tmp_path_factory.mktemp("fz") / name
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    return path


@FUZZ
@given(text=yaml_text(CODEBOOK) | yaml_doc(CODEBOOK))
def test_codebook_loader(tmp_path_factory, text: str) -> None:
    _only_typed(load_codebook, _write(tmp_path_factory, text, "kodbok.yaml"))


@FUZZ
@given(text=yaml_text(MAPPING) | yaml_doc(MAPPING))
def test_mapping_loader(tmp_path_factory, text: str) -> None:
    _only_typed(load_mapping, _write(tmp_path_factory, text, "leverantor.yaml"))


@FUZZ
@given(text=st.text(max_size=300))
def test_loaders_on_any_text(tmp_path_factory, text: str) -> None:
    path = _write(tmp_path_factory, text, "x.yaml")
    _only_typed(load_codebook, path)
    _only_typed(load_mapping, path)
