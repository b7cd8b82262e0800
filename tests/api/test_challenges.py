"""Challenges through the API: what each role may do, and bad input rejected with nothing written."""

from __future__ import annotations

import pytest

from tests import factories
from tests.factories import challenge_body


def _count(world, role: str = "office") -> int:
    return world.as_(role).get("/api/v1/challenges?per_page=100").json["total"]


def test_company_posts_reads_and_edits_its_own_challenge(world) -> None:
    r = world.company_a.post("/api/v1/challenges", challenge_body())
    assert r.status_code == 201, r.json
    cid = r.json["id"]
    assert r.json["organisation"] == "Elbwerk Kupfer GmbH"
    assert r.json["confidential"].startswith("Site Peute")

    r = world.company_a.patch(f"/api/v1/challenges/{cid}", {"trl_target": 8, "deadline": None})
    assert r.status_code == 200
    assert r.json["trl_target"] == 8 and r.json["deadline"] is None

    listed = world.company_a.get("/api/v1/challenges").json
    assert [c["id"] for c in listed["items"]] == [cid]


def test_other_company_cannot_see_or_change_it(world) -> None:
    cid = world.company_a.post("/api/v1/challenges", challenge_body()).json["id"]
    assert world.company_b.get(f"/api/v1/challenges/{cid}").status_code == 404
    assert (
        world.company_b.patch(f"/api/v1/challenges/{cid}", {"title": "Mine now"}).status_code == 404
    )
    assert world.company_b.delete(f"/api/v1/challenges/{cid}").status_code == 404
    assert world.company_b.get("/api/v1/challenges").json["total"] == 0
    assert world.office.get(f"/api/v1/challenges/{cid}").json["title"].startswith("Waste heat")


def test_group_sees_public_summary_only(world) -> None:
    cid = world.company_a.post("/api/v1/challenges", challenge_body()).json["id"]
    draft = world.company_a.post(
        "/api/v1/challenges", challenge_body(status="draft", title="Draft")
    ).json["id"]
    seen = world.group.get(f"/api/v1/challenges/{cid}")
    assert seen.status_code == 200
    assert seen.json["summary"] and seen.json["confidential"] is None
    assert world.group.get(f"/api/v1/challenges/{draft}").status_code == 404
    assert world.group.patch(f"/api/v1/challenges/{cid}", {"title": "x"}).status_code == 403
    assert world.group.post("/api/v1/challenges", challenge_body()).status_code == 403


def test_confidential_details_reach_a_group_after_introduction(world) -> None:
    from matchmaker.db import session_scope
    from matchmaker.matching.models import Proposal, ProposalStatus

    cid = world.company_a.post("/api/v1/challenges", challenge_body()).json["id"]
    factories.proposal(
        world.app,
        challenge_id=cid,
        group_id=world.group_id,
        score=0.8,
        status=ProposalStatus.SHORTLISTED,
    )
    assert world.group.get(f"/api/v1/challenges/{cid}").json["confidential"] is None
    with session_scope(world.app) as s:
        s.query(Proposal).update({"status": ProposalStatus.INTRODUCED})
    assert (
        world.group.get(f"/api/v1/challenges/{cid}").json["confidential"].startswith("Site Peute")
    )


def test_office_posts_for_a_named_company(world) -> None:
    r = world.office.post("/api/v1/challenges", challenge_body())
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "organisation_id"
    r = world.office.post("/api/v1/challenges", challenge_body(organisation_id=world.company_b_id))
    assert r.status_code == 201 and r.json["organisation_id"] == world.company_b_id
    r = world.office.post(
        "/api/v1/challenges", challenge_body(organisation_id=world.institution_id)
    )
    assert r.status_code == 422 and "companies" in r.json["errors"][0]["message"]


def test_anonymous_is_told_to_sign_in(world) -> None:
    r = world.anonymous.get("/api/v1/challenges")
    assert r.status_code == 401
    assert r.mimetype == "application/problem+json"
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    r = world.anonymous.get("/api/v1/challenges", headers={"Authorization": "Bearer mm_wrong"})
    assert r.status_code == 401 and "unknown" in r.json["detail"]


BAD_BODIES = [
    ({"trl_now": 0}, "trl_now"),
    ({"trl_now": 10}, "trl_now"),
    ({"trl_now": "4"}, "trl_now"),
    ({"trl_now": 6, "trl_target": 5}, "body"),
    ({"fields": ["nuclear_fusion"]}, "fields[0]"),
    ({"fields": []}, "fields"),
    ({"title": ""}, "title"),
    ({"title": "   "}, "title"),
    ({"title": "a\x00b"}, "title"),
    ({"summary": 42}, "summary"),
    ({"budget_band": "a lot"}, "budget_band"),
    ({"deadline": "next week"}, "deadline"),
    ({"co2_saving_t": -5}, "co2_saving_t"),
    ({"colour": "green"}, "colour"),
]


@pytest.mark.parametrize(("overrides", "field"), BAD_BODIES)
def test_bad_challenge_is_rejected_naming_the_field(world, overrides, field) -> None:
    before = _count(world)
    r = world.company_a.post("/api/v1/challenges", challenge_body(**overrides))
    assert r.status_code == 422, r.json
    assert r.mimetype == "application/problem+json"
    assert field in [e["field"] for e in r.json["errors"]]
    assert _count(world) == before


def test_missing_field_is_named(world) -> None:
    body = challenge_body()
    del body["summary"]
    r = world.company_a.post("/api/v1/challenges", body)
    assert r.status_code == 422
    assert {"field": "summary", "message": "Field required"} in r.json["errors"]


def test_malformed_bodies(world) -> None:
    api = world.company_a
    before = _count(world)
    r = api.post(
        "/api/v1/challenges", data=b'{"title": "\xff\xfe"}', content_type="application/json"
    )
    assert r.status_code == 400 and "UTF-8" in r.json["detail"]
    r = api.post("/api/v1/challenges", data=b"{not json", content_type="application/json")
    assert r.status_code == 400 and "JSON" in r.json["detail"]
    r = api.post(
        "/api/v1/challenges", data=b"[" * 5000 + b"]" * 5000, content_type="application/json"
    )
    assert r.status_code == 400 and "nested" in r.json["detail"]
    r = api.post(
        "/api/v1/challenges", data=b"title=x", content_type="application/x-www-form-urlencoded"
    )
    assert r.status_code == 415
    r = api.post("/api/v1/challenges", json=[1, 2])
    assert r.status_code == 422
    big = challenge_body(summary="x" * 3_000_000)
    r = api.post("/api/v1/challenges", big)
    assert r.status_code == 413 and r.json["status"] == 413
    assert _count(world) == before


def test_rejected_patch_changes_nothing(world) -> None:
    cid = world.company_a.post("/api/v1/challenges", challenge_body()).json["id"]
    r = world.company_a.patch(f"/api/v1/challenges/{cid}", {"title": "New title", "trl_target": 2})
    assert r.status_code == 422
    assert world.company_a.get(f"/api/v1/challenges/{cid}").json["title"].startswith("Waste heat")
    r = world.company_a.patch(f"/api/v1/challenges/{cid}", {"title": None})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "title"


def test_archive_filters_and_search(world) -> None:
    api = world.company_a
    first = api.post("/api/v1/challenges", challenge_body()).json["id"]
    api.post(
        "/api/v1/challenges",
        challenge_body(
            title="Electric harbour cranes",
            summary="Peak shaving for cranes",
            fields=["smart_grids"],
        ),
    )
    api.post("/api/v1/challenges", challenge_body(title="Draft idea", status="draft"))
    assert api.get("/api/v1/challenges?field=smart_grids").json["total"] == 1
    assert api.get("/api/v1/challenges?field=smart_grids&field=sector_coupling").json["total"] == 3
    assert api.get("/api/v1/challenges?status=draft").json["total"] == 1
    assert (
        api.get("/api/v1/challenges?q=cranes").json["items"][0]["title"]
        == "Electric harbour cranes"
    )
    assert api.get("/api/v1/challenges?q=100%25").json["total"] == 0
    page = api.get("/api/v1/challenges?per_page=2&page=2").json
    assert page["total"] == 3 and len(page["items"]) == 1
    assert api.get("/api/v1/challenges?per_page=1000").status_code == 422
    assert (
        api.get("/api/v1/challenges?field=bogus")
        .json["errors"][0]["field"]
        .startswith("query.field")
    )
    assert api.delete(f"/api/v1/challenges/{first}").status_code == 204
    assert api.get("/api/v1/challenges").json["total"] == 2
    assert api.get("/api/v1/challenges?archived=true").json["items"][0]["id"] == first


def test_every_change_is_audited(world) -> None:
    from sqlalchemy import select

    from matchmaker.audit.models import AuditEvent
    from matchmaker.db import session_scope

    cid = world.company_a.post("/api/v1/challenges", challenge_body()).json["id"]
    world.company_a.patch(f"/api/v1/challenges/{cid}", {"trl_now": 5})
    world.company_a.delete(f"/api/v1/challenges/{cid}")
    with session_scope(world.app) as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.entity == "challenge")).all()
        assert [e.action for e in events] == ["create", "update", "archive"]
        assert events[1].changes == {"trl_now": [4, 5]}


@pytest.mark.parametrize("summary", ["x", "Too short", "   short   "])
def test_a_summary_too_short_to_say_anything_is_a_422_naming_it(world, summary) -> None:
    r = world.company_a.post("/api/v1/challenges", challenge_body(summary=summary))
    assert r.status_code == 422, r.json
    assert any(e["field"] == "summary" for e in r.json["errors"]), r.json
    cid = world.company_a.post("/api/v1/challenges", challenge_body()).json["id"]
    patch = world.company_a.patch(f"/api/v1/challenges/{cid}", {"summary": summary})
    assert patch.status_code == 422 and patch.json["errors"][0]["field"] == "summary"
    assert (
        world.company_a.post(
            "/api/v1/challenges", challenge_body(summary="Waste heat recovery.")
        ).status_code
        == 201
    )
