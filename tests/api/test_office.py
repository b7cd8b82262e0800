"""Organisations, strategy, users and the review pipeline: the office's and admin's API."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from matchmaker.db import session_scope
from matchmaker.matching.models import Proposal, ProposalStatus
from tests import factories
from tests.factories import challenge_body


def test_organisations(world) -> None:
    r = world.office.post(
        "/api/v1/organisations",
        {"name": "Werft Nord GmbH", "kind": "company", "website": "https://werft.example"},
    )
    assert r.status_code == 201
    oid = r.json["id"]
    assert (
        world.office.post(
            "/api/v1/organisations", {"name": "Werft Nord GmbH", "kind": "company"}
        ).status_code
        == 409
    )
    assert (
        world.office.post("/api/v1/organisations", {"name": "X", "kind": "club"}).json["errors"][0][
            "field"
        ]
        == "kind"
    )
    r = world.office.post(
        "/api/v1/organisations", {"name": "Y", "kind": "company", "website": "javascript:alert(1)"}
    )
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "website"
    assert (
        world.company_a.post("/api/v1/organisations", {"name": "Z", "kind": "company"}).status_code
        == 403
    )
    assert world.group.get(f"/api/v1/organisations/{oid}").json["name"] == "Werft Nord GmbH"
    assert (
        world.office.patch(f"/api/v1/organisations/{oid}", {"city": "Harburg"}).json["city"]
        == "Harburg"
    )
    assert world.office.get("/api/v1/organisations?kind=institution").json["total"] == 1
    assert world.office.delete(f"/api/v1/organisations/{oid}").status_code == 204
    assert world.office.get("/api/v1/organisations?archived=true").json["items"][0]["id"] == oid


def test_strategy_is_versioned(world) -> None:
    first = world.company_a.get("/api/v1/strategy").json
    assert first["version"] == 1 and first["weights"]["smart_grids"] == 1.0
    r = world.office.put(
        "/api/v1/strategy", {"weights": {"smart_grids": 0.4}, "note": "grid focus"}
    )
    assert r.status_code == 200 and r.json["version"] == 2
    assert r.json["weights"]["smart_grids"] == 0.4 and r.json["weights"]["smart_mobility"] == 1.0
    bad = world.office.put("/api/v1/strategy", {"weights": {"fusion": 1.0, "smart_grids": 3}})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json["errors"]} == {"weights.fusion", "weights.smart_grids"}
    assert (
        world.company_a.put("/api/v1/strategy", {"weights": {"smart_grids": 1}}).status_code == 403
    )
    history = world.office.get("/api/v1/strategy/versions").json["items"]
    assert [v["version"] for v in history] == [2, 1]


def test_admin_manages_users(world) -> None:
    r = world.admin.post(
        "/api/v1/users",
        {"email": "new@elbwerk.example", "role": "company", "organisation": "Elbwerk Kupfer GmbH"},
    )
    assert r.status_code == 201 and r.json["token"].startswith("mm_")
    from tests.conftest import Api

    newcomer = Api(world.admin.client, r.json["token"])
    assert newcomer.get("/api/v1/me").json["email"] == "new@elbwerk.example"
    assert (
        world.admin.post(
            "/api/v1/users", {"email": "new@elbwerk.example", "role": "office"}
        ).status_code
        == 409
    )
    r = world.admin.post(
        "/api/v1/users",
        {"email": "g@x.example", "role": "group", "organisation": "Elbwerk Kupfer GmbH"},
    )
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "organisation"
    assert (
        world.office.post("/api/v1/users", {"email": "z@x.example", "role": "admin"}).status_code
        == 403
    )
    uid = world.admin.get("/api/v1/users?q=new@elbwerk").json["items"][0]["id"]
    assert world.admin.patch(f"/api/v1/users/{uid}", {"active": False}).json["active"] is False
    assert newcomer.get("/api/v1/me").status_code == 401


def test_tokens_are_stored_hashed(world) -> None:
    from matchmaker.accounts.models import ApiToken

    token = world.company_a.post("/api/v1/tokens", {"name": "ci"}).json["token"]
    with session_scope(world.app) as s:
        stored = [t.token_hash for t in s.scalars(select(ApiToken))]
    assert token not in stored and all(len(h) == 64 for h in stored)


@pytest.fixture
def proposal_id(world) -> int:
    cid = world.company_a.post("/api/v1/challenges", challenge_body()).json["id"]
    return factories.proposal(
        world.app,
        challenge_id=cid,
        group_id=world.group_id,
        score=0.71,
        components={"semantic": 0.8},
        evidence={"pairs": [], "terms": []},
    )


def test_pipeline_with_reasons_and_introduction_mail(world, proposal_id, settings) -> None:
    url = f"/api/v1/proposals/{proposal_id}/decisions"
    assert (
        world.company_a.get(f"/api/v1/proposals/{proposal_id}").status_code == 404
    )  # not introduced yet
    assert world.group.get("/api/v1/proposals").json["total"] == 0
    r = world.office.post(url, {"to_status": "introduced", "reason_code": "good_fit"})
    assert r.status_code == 409 and r.json["errors"][0]["field"] == "to_status"
    r = world.office.post(url, {"to_status": "shortlisted", "reason_code": "nice"})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "reason_code"
    assert (
        world.company_a.post(
            url, {"to_status": "shortlisted", "reason_code": "good_fit"}
        ).status_code
        == 403
    )
    for step in ("shortlisted", "introduced", "in_talks", "collaboration"):
        r = world.office.post(
            url, {"to_status": step, "reason_code": "good_fit", "note": f"to {step}"}
        )
        assert r.status_code == 201, r.json
    decisions = world.office.get(url).json["items"]
    assert [d["to_status"] for d in decisions] == [
        "shortlisted",
        "introduced",
        "in_talks",
        "collaboration",
    ]
    assert decisions[0]["components"] == {"semantic": 0.8} and decisions[0]["score"] == 0.71
    from pathlib import Path

    mails = sorted(Path(settings.outbox_dir).glob("*.eml"))
    texts = [m.read_text() for m in mails]
    assert len(mails) == 2
    assert any("a@elbwerk.example" in t and "Thermal Lab" in t for t in texts)
    assert any("lab@hs.example" in t and "Elbwerk Kupfer GmbH" in t for t in texts)
    # Introduced: the parties now see the proposal; the group reads the confidential details.
    assert world.company_a.get(f"/api/v1/proposals/{proposal_id}").status_code == 200
    assert world.group.get("/api/v1/proposals").json["total"] == 1
    cid = world.office.get(f"/api/v1/proposals/{proposal_id}").json["challenge_id"]
    assert (
        world.group.get(f"/api/v1/challenges/{cid}").json["confidential"].startswith("Site Peute")
    )
    assert world.company_b.get(f"/api/v1/proposals/{proposal_id}").status_code == 404
    assert world.office.get(f"/api/v1/challenges/{cid}").json["status"] == "matched"


def test_declining_for_a_conflict_excludes_the_pair(world, proposal_id) -> None:
    from matchmaker.matching.models import Exclusion

    r = world.office.post(
        f"/api/v1/proposals/{proposal_id}/decisions",
        {"to_status": "declined", "reason_code": "conflict_of_interest", "note": "same owner"},
    )
    assert r.status_code == 201
    with session_scope(world.app) as s:
        assert s.scalar(select(Exclusion.reason)) == "same owner"
        assert s.get(Proposal, proposal_id).status == ProposalStatus.DECLINED


def test_queue_filters(world, proposal_id) -> None:
    q = world.office.get(
        f"/api/v1/proposals?status=proposed&field=energy_efficiency&institution_id={world.institution_id}"
    )
    assert q.json["total"] == 1
    assert world.office.get("/api/v1/proposals?status=declined").json["total"] == 0
    assert world.office.get("/api/v1/proposals?field=smart_grids").json["total"] == 0
