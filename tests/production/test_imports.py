"""Bulk import: every row validated, all or nothing, and a rerun changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from matchmaker import imports
from matchmaker.challenges.models import Challenge
from matchmaker.groups.models import Publication, ResearchGroup
from matchmaker.imports import ExternalKey, ImportInvalid, run_import
from matchmaker.matching import index_state
from tests import factories
from tests.conftest import Api
from tests.production.conftest import group_rows, jsonl

# Imports run as jobs (their heartbeat thread).
pytestmark = pytest.mark.committed


def _count(app, model) -> int:  # type: ignore[no-untyped-def]
    with app.extensions["matchmaker.sessionmaker"]() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def _snapshot(app) -> list[tuple]:  # type: ignore[no-untyped-def,type-arg]
    with app.extensions["matchmaker.sessionmaker"]() as s:
        groups = s.execute(
            select(ResearchGroup.id, ResearchGroup.name, ResearchGroup.capacity).order_by(
                ResearchGroup.id
            )
        ).all()
        pubs = s.execute(
            select(Publication.id, Publication.group_id, Publication.title).order_by(Publication.id)
        ).all()
    return [*map(tuple, groups), *map(tuple, pubs)]


def test_import_creates_and_a_rerun_changes_nothing(app) -> None:
    text = jsonl(group_rows(4, publications=2))
    first = run_import(app, text)
    assert first["created"] == 4 and first["organisations_created"] == 3
    assert first["passages_encoded"] > 0
    before, version = _snapshot(app), None
    with app.extensions["matchmaker.sessionmaker"]() as s:
        version = index_state.current(s)
    again = run_import(app, text)
    assert again["created"] == 0 and again["unchanged"] == 4
    assert again["passages_encoded"] == 0  # every vector is stored already
    assert _snapshot(app) == before
    with app.extensions["matchmaker.sessionmaker"]() as s:
        assert index_state.current(s) == version  # nothing changed: workers keep their index


def test_a_changed_row_updates_its_record_by_key(app) -> None:
    rows = group_rows(3, publications=1)
    run_import(app, jsonl(rows))
    rows[1]["capacity"] = 9
    rows[1]["publications"].append({"title": "A new paper on heat"})
    result = run_import(app, jsonl(rows))
    assert (result["created"], result["updated"], result["unchanged"]) == (0, 1, 2)
    assert _count(app, ResearchGroup) == 3 and _count(app, Publication) == 4


def test_one_invalid_row_imports_nothing_and_names_every_bad_row(app) -> None:
    rows = group_rows(5)
    rows[2]["trl_min"] = 12
    rows[4]["fields"] = ["space_travel"]
    rows[3]["key"] = rows[0]["key"]
    with pytest.raises(ImportInvalid) as info:
        run_import(app, jsonl(rows))
    errors = {(e["line"], e["field"]) for e in info.value.errors}
    assert {(3, "trl_min"), (4, "key"), (5, "fields.0")} <= errors
    assert _count(app, ResearchGroup) == 0 and _count(app, ExternalKey) == 0


def test_csv_challenges_and_publications_of_imported_groups(app) -> None:
    run_import(app, jsonl(group_rows(2, publications=0)))
    csv_text = (
        "key,organisation,title,summary,fields,trl_now,trl_target,budget_band,status,deadline\n"
        "c1,Elbe Copper AG,Waste heat,Our furnace wastes heat at 180 °C.,"
        "energy_efficiency;sector_coupling,3,6,250k_1m,open,2027-06-30\n"
        "c2,Elbe Copper AG,Fleet,Electric trucks for the port.,smart_mobility,4,7,lt_50k,draft,\n"
    )
    result = run_import(app, csv_text, filename="challenges.csv")
    assert result["kind"] == "challenges" and result["created"] == 2
    with app.extensions["matchmaker.sessionmaker"]() as s:
        c1 = s.scalar(select(Challenge).where(Challenge.title == "Waste heat"))
        assert c1 is not None and c1.fields == ["energy_efficiency", "sector_coupling"]
        assert c1.trl_now == 3 and str(c1.deadline) == "2027-06-30"
    pubs = (
        "key,group,title,year\np1,g-0,Heat pumps in copper smelters,2024\np2,g-1,Batteries,2023\n"
    )
    assert run_import(app, pubs, kind="publications", fmt="csv")["created"] == 2
    bad = "key,group,title\np3,no-such-group,Orphan\n"
    with pytest.raises(ImportInvalid, match="no group has key"):
        run_import(app, bad, kind="publications", fmt="csv")
    assert _count(app, Publication) == 2


def test_import_through_the_api_reports_progress(app) -> None:
    office = Api(app.test_client(), factories.user(app, "office@hamburg.example", "office"))
    r = office.post("/api/v1/imports", {"data": jsonl(group_rows(3)), "filename": "g.jsonl"})
    assert r.status_code == 202, r.json
    job_id = r.json["id"]
    import time

    for _ in range(600):
        job = office.get(f"/api/v1/jobs/{job_id}").json
        if job["status"] in ("finished", "failed"):
            break
        time.sleep(0.1)
    assert job["status"] == "finished", job
    assert job["total"] > 0 and job["done"] == job["total"]
    assert job["result"]["created"] == 3


def test_an_invalid_file_is_rejected_by_the_api_before_it_is_queued(app) -> None:
    office = Api(app.test_client(), factories.user(app, "office@hamburg.example", "office"))
    rows = group_rows(2)
    rows[1]["trl_max"] = "seven"
    r = office.post("/api/v1/imports", {"data": jsonl(rows)})
    assert r.status_code == 422
    assert r.mimetype == "application/problem+json"
    assert any(e["field"] == "data.line[2].trl_max" for e in r.json["errors"])
    assert _count(app, ResearchGroup) == 0


def test_detects_format_and_kind() -> None:
    assert imports.detect_format('{"key": 1}') == "jsonl"
    assert imports.detect_format("key,name\n") == "csv"
    kind, rows = imports.parse(jsonl(group_rows(1)))
    assert kind == "groups" and rows[0].key == "g-0"


def _office(app) -> Api:  # type: ignore[no-untyped-def]
    return Api(app.test_client(), factories.user(app, "office@hamburg.example", "office"))


@pytest.mark.parametrize("depth", [17, 1000, 5000, 100_000])
def test_a_deeply_nested_line_is_a_clean_error_naming_the_line(app, depth: int) -> None:
    good = jsonl(group_rows(1))
    data = good + '{"key": "x", "extra": ' + "[" * depth + "]" * depth + "}\n"
    r = _office(app).post("/api/v1/imports", {"data": data, "kind": "groups"})
    assert r.status_code == 422, r.get_data(as_text=True)[:300]
    assert r.mimetype == "application/problem+json"
    errors = {e["field"]: e["message"] for e in r.json["errors"]}
    assert "nested more than 16 levels deep" in errors["data.line[2].line"]
    assert _count(app, ResearchGroup) == 0


@pytest.mark.parametrize("data", ["[1,2,3]\n", "[1,2,3]", "[]\n", '[{"key": "g"}]\n'])
def test_a_json_array_is_refused_saying_what_is_expected(app, data: str) -> None:
    r = _office(app).post("/api/v1/imports", {"data": data, "kind": "groups"})
    assert r.status_code == 422, r.json
    errors = {e["field"]: e["message"] for e in r.json["errors"]}
    assert (
        "must be a JSON object (one record per line, JSON Lines), not an array"
        in (errors["data.line[1].line"])
    )
    assert _count(app, ResearchGroup) == 0


def test_a_file_without_records_is_refused_even_with_a_kind(app) -> None:
    office = _office(app)
    for data, fmt in (("key,name,institution\n", "csv"), ("\n\n", "jsonl")):
        r = office.post("/api/v1/imports", {"data": data, "kind": "groups", "format": fmt})
        assert r.status_code == 422, (data, r.json)
        assert r.json["errors"] == [
            {"field": "data.line[0].file", "message": "the file has no rows"}
        ]
    r = office.post("/api/v1/imports", {"data": "name;city\nA;B\n", "kind": "groups"})
    assert r.status_code == 422
    assert "header naming the columns, among them 'key'" in r.json["errors"][0]["message"]


def test_json_is_detected_by_its_first_character() -> None:
    assert imports.detect_format("[1, 2, 3]") == "jsonl"
    assert imports.detect_format("  \n{}") == "jsonl"
