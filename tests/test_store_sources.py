"""Source versions (issue 11): a truncated file can be replaced by the complete one, sources can be withdrawn
and replaced with every version and its lineage kept, and a wave whose run failed is marked. SQLite and the
real PostgreSQL."""

# ruff: noqa: F811  (the pytest fixtures db_url and store come from tests.store_support)
from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from survey.data.ingest import Wave
from survey.data.store import Store
from survey.errors import StoreError
from tests.store_support import (  # noqa: F401
    canonical_population,
    canonical_responses,
    counts,
    db_url,
    population_part,
    responses_part,
    store,
)

YEARS = [2022, 2023, 2024]


def _complete() -> pd.DataFrame:
    return canonical_responses(300, YEARS, seed=4)


def _truncated() -> pd.DataFrame:
    """The file cut off in 2024's first rows: the last year is lost (its partial row was quarantined)."""
    data = _complete()
    return data[data["year"] < 2024].reset_index(drop=True)


def _wave(data: pd.DataFrame, tag: str) -> Wave:
    return Wave(
        responses=responses_part(data, f"svar_{tag}.csv", f"svar{tag}"),
        population=population_part(canonical_population(YEARS), "befolkning.csv", "befolkning"),
        notes=[],
    )


def test_the_complete_file_replaces_a_truncated_one(store: Store) -> None:
    first = store.load_wave(_wave(_truncated(), "kapad"))
    before = counts(store)
    with pytest.raises(StoreError, match="--replace"):
        store.load_wave(_wave(_complete(), "hel"))
    assert counts(store) == before  # a refusal writes nothing
    report = store.load_wave(_wave(_complete(), "hel"), replace=True, by="analytiker")
    assert report.statuses == {"responses": "replaced", "population": "unchanged"}
    assert report.superseded == [first.responses_source_id]
    pd.testing.assert_frame_equal(store.responses(), _complete(), check_exact=True)
    src = store.sources(kind="responses").set_index("id")
    old, new = first.responses_source_id, report.responses_source_id
    assert src.loc[old, ["status", "version", "superseded_by", "status_changed_by"]].tolist() == [
        "replaced",
        1,
        new,
        "analytiker",
    ]
    assert src.loc[new, ["status", "version", "replaces", "years"]].tolist() == [
        "active",
        2,
        str(old),
        "2022,2023,2024",
    ]
    assert src.loc[old, "status_changed_at"] is not None
    assert counts(store)["responses"] == len(_truncated()) + len(_complete())  # both versions kept


def test_withdraw_and_load_again(store: Store) -> None:
    first = store.load_wave(_wave(_complete(), "v1"))
    rid = first.responses_source_id
    assert (store.source(rid)["kind"], store.source(rid)["status"]) == ("responses", "active")
    row = store.withdraw_source(rid, reason="trasig export", by="granskare")
    assert (row["status"], row["active"], row["status_reason"], row["status_changed_by"]) == (
        "withdrawn",
        False,
        "trasig export",
        "granskare",
    )
    assert len(store.responses()) == 0 and len(store.population()) == len(canonical_population(YEARS))
    with pytest.raises(StoreError, match="används redan inte"):
        store.withdraw_source(rid)
    with pytest.raises(StoreError, match="ingen källfil med id 999"):
        store.withdraw_source(999)
    with pytest.raises(StoreError, match="dragits tillbaka"):
        store.load_wave(_wave(_complete(), "v1"))
    again = store.load_wave(_wave(_complete(), "v1"), replace=True)
    assert again.responses_source_id == rid
    assert store.sources().set_index("id").loc[rid, "status"] == "active"
    pd.testing.assert_frame_equal(store.responses(), _complete(), check_exact=True)


def test_replace_a_source_explicitly_keeps_the_lineage(store: Store) -> None:
    first = store.load_wave(_wave(_complete(), "v1"))
    v2 = responses_part(_truncated(), "svar_v2.csv", "svar v2")
    done = store.replace_source(first.responses_source_id, v2, reason="2024 levereras senare", by="analytiker")
    assert (done.status, done.old_id, done.old_years, done.new_years) == (
        "replaced",
        first.responses_source_id,
        "2022,2023,2024",
        "2022,2023",
    )
    v3 = responses_part(_complete(), "svar_v3.csv", "svar v3")
    last = store.replace_source(done.new_id, v3)
    src = store.sources(kind="responses")
    assert src["version"].tolist() == [1, 2, 3]
    assert src["status"].tolist() == ["replaced", "replaced", "active"]
    assert src["superseded_by"].tolist() == [done.new_id, last.new_id, pd.NA]
    assert src["replaces"].tolist() == ["", str(first.responses_source_id), str(done.new_id)]
    assert src["status_reason"].iloc[0] == "2024 levereras senare"
    pd.testing.assert_frame_equal(store.responses(), _complete(), check_exact=True)
    assert store.replace_source(last.new_id, v3).status == "unchanged"
    with pytest.raises(StoreError, match="inte aktiv"):
        store.replace_source(first.responses_source_id, v2)
    pop = population_part(canonical_population(YEARS), "befolkning.csv", "befolkning")
    with pytest.raises(StoreError, match="population-fil angavs som vågens responses-fil"):
        store.replace_source(last.new_id, pop)


def test_replace_refuses_years_of_another_active_file(store: Store) -> None:
    a = store.load_wave(
        Wave(
            responses=responses_part(canonical_responses(50, [2022], 1), "a.csv", "a"),
            population=population_part(canonical_population([2022]), "pa.csv", "pa"),
            notes=[],
        )
    )
    store.load_wave(
        Wave(
            responses=responses_part(canonical_responses(50, [2023], 2), "b.csv", "b"),
            population=population_part(canonical_population([2023]), "pb.csv", "pb"),
            notes=[],
        )
    )
    before = counts(store)
    both = responses_part(canonical_responses(80, [2022, 2023], 3), "ab.csv", "ab")
    with pytest.raises(StoreError, match="överlappar en annan aktiv källa, 'b.csv'"):
        store.replace_source(a.responses_source_id, both)
    assert counts(store) == before


def test_a_wave_whose_run_failed_is_marked(store: Store) -> None:
    report = store.load_wave(_wave(_complete(), "v1"))
    failed = store.begin_run({}, "test", "v1", report.source_ids)
    store.fail_run(failed, "CalibrationError: cellen Rissne 2024 kvinna 75-84 saknar svarande")
    src = store.sources().set_index("id")
    for sid in report.source_ids:
        assert src.loc[sid, ["runs", "last_run_id", "last_run_status"]].tolist() == [1, failed, "failed"]
    assert store.runs().set_index("run_id").loc[failed, "error"].startswith("CalibrationError")
    ok = store.begin_run({}, "test", "v1", report.source_ids)
    store.finish_run(ok, {})
    src = store.sources().set_index("id")
    assert src.loc[report.responses_source_id, ["runs", "last_run_status"]].tolist() == [2, "succeeded"]
    unused = store.load_wave(
        Wave(
            responses=responses_part(canonical_responses(40, [2030], 5), "c.csv", "c"),
            population=population_part(canonical_population([2030]), "pc.csv", "pc"),
            notes=[],
        )
    )
    assert pd.isna(store.sources().set_index("id").loc[unused.responses_source_id, "last_run_status"])


def test_the_same_file_read_with_another_mapping_is_another_version(db_url: str, tmp_path) -> None:
    """A corrected vendor mapping on the same file: not "unchanged" (the stored rows were the old mapping's,
    and the run computed on the new ones), but refused without --replace and stored as version 2 with it;
    the same reading again is unchanged, and the first reading becomes the active one again with --replace."""
    from survey.data.ingest import load_wave
    from tests.conftest import SAMPLE_WAVE

    raw = pd.read_csv(SAMPLE_WAVE / "responses.csv", dtype=str, keep_default_na=False)
    raw["sex"] = raw["sex"].map({"1": "Man", "2": "Kvinna"})
    raw.loc[[3, 10, 20], "sex"] = "Annat"
    raw = raw.rename(columns={"sex": "Kön"})
    resp = tmp_path / "leverans.csv"
    raw.to_csv(resp, index=False)
    cols = "\n".join(f"  {c}: {'sex' if c == 'Kön' else c}" for c in raw.columns)

    def mapping(name: str, extra: str) -> Any:
        path = tmp_path / f"{name}.yaml"
        path.write_text(f"name: lev\ncolumns:\n{cols}\nrecode:\n  sex: {{Man: 1, Kvinna: 2{extra}}}\n", "utf-8")
        return path

    first, fixed = mapping("forsta", ""), mapping("rattad", ", Annat: 2")
    pop = SAMPLE_WAVE / "population.csv"
    s = Store(db_url)
    try:
        one = s.load_wave(load_wave(resp, pop, mapping=first))
        assert one.statuses["responses"] == "loaded" and len(s.responses()) == 3022 - 3
        again = load_wave(resp, pop, mapping=fixed)
        with pytest.raises(StoreError) as err:
            s.load_wave(again)
        assert str(err.value) == (
            f"leverans.csv: filen är redan inläst (källa {one.responses_source_id}) men lästes då på ett annat "
            "sätt (mappningens eller kodbokens innehåll), så raderna blir andra. Ange --replace (replace=True) för "
            "att spara den nya läsningen som en ny version; den gamla behålls som ersatt."
        )
        two = s.load_wave(again, replace=True)
        assert two.statuses["responses"] == "replaced" and two.superseded == [one.responses_source_id]
        assert len(s.responses()) == 3022 and (s.responses()["sex"].astype(int) == 2).sum() == (
            (raw["Kön"] != "Man").sum()
        )
        src = s.sources(kind="responses").set_index("id")
        assert src.loc[two.responses_source_id, ["status", "version"]].tolist() == ["active", 2]
        assert src.loc[one.responses_source_id, "status"] == "replaced"
        assert s.load_wave(load_wave(resp, pop, mapping=fixed)).statuses["responses"] == "unchanged"
        back = s.load_wave(load_wave(resp, pop, mapping=first), replace=True)
        assert back.responses_source_id == one.responses_source_id and len(s.responses()) == 3022 - 3
    finally:
        s.close()
