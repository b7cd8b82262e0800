"""The office's decisions are its own: the introduced parties see the status history only."""

from __future__ import annotations

import json

from tests import factories
from tests.factories import challenge_body
from tests.security.conftest import Site

NOTE = "Petersen overbooked until spring; prefer Harburg if she declines (internal)."
PARTY_FIELDS = {"id", "proposal_id", "from_status", "to_status", "created_at"}


def _introduced(site: Site) -> int:
    cid = site.api("company_a").post("/api/v1/challenges", challenge_body()).json["id"]
    pid = factories.proposal(
        site.app,
        challenge_id=cid,
        group_id=site.group_id,
        score=0.734,
        components={"semantic": 0.81, "strategy": 0.4},
    )
    office = site.api("office")
    for step in ("shortlisted", "introduced"):
        decided = office.post(
            f"/api/v1/proposals/{pid}/decisions",
            {"to_status": step, "reason_code": "good_fit", "note": NOTE},
        )
        assert decided.status_code == 201, decided.json
    return pid


def test_the_parties_see_the_status_history_only(site: Site) -> None:
    pid = _introduced(site)
    office_id = site.api("office").get("/api/v1/me").json["id"]
    for role in ("company_a", "group"):
        response = site.api(role).get(f"/api/v1/proposals/{pid}/decisions")
        assert response.status_code == 200, role
        items = response.json["items"]
        assert [(d["from_status"], d["to_status"]) for d in items] == [
            ("proposed", "shortlisted"),
            ("shortlisted", "introduced"),
        ]
        for item in items:
            assert set(item) == PARTY_FIELDS, (role, item)
        text = json.dumps(response.json)
        assert NOTE not in text and "0.734" not in text and "semantic" not in text
        assert "good_fit" not in text and f'"decided_by_id": {office_id}' not in text


def test_the_office_sees_every_decision_in_full(site: Site) -> None:
    pid = _introduced(site)
    office_id = site.api("office").get("/api/v1/me").json["id"]
    items = site.api("office").get(f"/api/v1/proposals/{pid}/decisions").json["items"]
    assert [d["note"] for d in items] == [NOTE, NOTE]
    assert items[0]["score"] == 0.734 and items[0]["components"]["semantic"] == 0.81
    assert items[0]["reason_code"] == "good_fit" and items[0]["decided_by_id"] == office_id
    assert NOTE in site.browser("office").get(f"/office/proposals/{pid}").get_data(as_text=True)


def test_other_parties_still_see_nothing(site: Site) -> None:
    pid = _introduced(site)
    assert site.api("company_b").get(f"/api/v1/proposals/{pid}/decisions").status_code == 404


def test_the_pages_of_the_parties_show_no_note(site: Site) -> None:
    pid = _introduced(site)
    cid = site.api("office").get(f"/api/v1/proposals/{pid}").json["challenge_id"]
    pages = [
        site.browser("company_a").get("/challenges"),
        site.browser("company_a").get(f"/challenges/{cid}"),
        site.browser("group").get("/group/matches"),
        site.browser("group").get(f"/challenges/{cid}"),
    ]
    for page in pages:
        assert page.status_code == 200, page.request.path
        assert NOTE not in page.get_data(as_text=True)


def test_the_schema_documents_both_shapes(site: Site) -> None:
    doc = site.app.test_client().get("/api/openapi.json").json
    schemas = doc["components"]["schemas"]
    op = doc["paths"]["/api/v1/proposals/{proposal_id}/decisions"]["get"]
    assert "status history" in op["summary"]
    assert set(schemas["StatusChangeOut"]["properties"]) == PARTY_FIELDS
    items = schemas["DecisionList"]["properties"]["items"]["items"]
    refs = {alt["$ref"].rsplit("/", 1)[-1] for alt in items["anyOf"]}
    assert refs == {"DecisionOut", "StatusChangeOut"}


OFFICE_ONLY = {"score", "components", "evidence", "unconstrained_rank", "scorer", "run_id"}
OFFICE_ONLY |= {"strategy_version", "note", "reason_code", "decided_by_id"}


def _keys(value: object) -> set[str]:
    """Every key anywhere in a JSON value."""
    if isinstance(value, dict):
        return set(value).union(*(_keys(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_keys(v) for v in value))
    return set()


def test_the_parties_read_a_proposal_without_the_office_internals(site: Site) -> None:
    pid = _introduced(site)
    for role in ("company_a", "group"):
        api = site.api(role)
        one = api.get(f"/api/v1/proposals/{pid}")
        assert one.status_code == 200, (role, one.json)
        listed = api.get("/api/v1/proposals")
        assert [p["id"] for p in listed.json["items"]] == [pid], role
        for body in (one.json, listed.json["items"][0]):
            assert not _keys(body) & OFFICE_ONLY, (role, _keys(body) & OFFICE_ONLY)
            assert body["status"] == "introduced" and body["group_id"] == site.group_id
            assert [(h["from_status"], h["to_status"]) for h in body["history"]] == [
                ("proposed", "shortlisted"),
                ("shortlisted", "introduced"),
            ]
            assert all(set(h) == PARTY_FIELDS for h in body["history"])
            text = json.dumps(body)
            assert NOTE not in text and "0.734" not in text and "semantic" not in text


def test_the_office_reads_a_proposal_in_full(site: Site) -> None:
    pid = _introduced(site)
    office = site.api("office")
    for body in (
        office.get(f"/api/v1/proposals/{pid}").json,
        office.get("/api/v1/proposals").json["items"][0],
    ):
        assert body["score"] == 0.734 and body["components"]["semantic"] == 0.81
        assert {"evidence", "scorer", "strategy_version", "run_id"} <= set(body)
        assert "history" not in body


def test_the_schema_documents_both_shapes_of_a_proposal(site: Site) -> None:
    doc = site.app.test_client().get("/api/openapi.json").json
    schemas = doc["components"]["schemas"]
    party = schemas["PartyProposalOut"]["properties"]
    assert not set(party) & OFFICE_ONLY and "history" in party
    for path in ("/api/v1/proposals/{proposal_id}", "/api/v1/proposals"):
        op = doc["paths"][path]["get"]
        assert "status history" in op["summary"], path
    view = schemas["ProposalView"]
    refs = {alt["$ref"].rsplit("/", 1)[-1] for alt in view["anyOf"]}
    assert refs == {"ProposalOut", "PartyProposalOut"}
    ok = doc["paths"]["/api/v1/proposals/{proposal_id}"]["get"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"]["$ref"].endswith("/ProposalView")
