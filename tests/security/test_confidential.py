"""Object-level access: nobody reads what is not theirs, by id, search, matches or pages."""

from __future__ import annotations

import json
from typing import Any

import pytest

from matchmaker.matching.models import ProposalStatus
from tests import factories
from tests.factories import challenge_body
from tests.security.conftest import Site

SECRET = "Zanderwerft"  # appears only in the confidential details
CONFIDENTIAL = f"Site {SECRET}, line 3; investment approved up to 2.4 M EUR in Q3."


def _post(site: Site, **overrides: Any) -> int:
    body = challenge_body(confidential=CONFIDENTIAL, **overrides)
    response = site.api("company_a").post("/api/v1/challenges", body)
    assert response.status_code == 201
    return int(response.json["id"])


def _text(response: Any) -> str:
    return response.get_data(as_text=True)


def test_a_company_cannot_read_another_companys_challenge_by_guessing_ids(site: Site) -> None:
    ids = [_post(site), _post(site, status="draft")]
    b_api, b_page = site.api("company_b"), site.browser("company_b")
    missing = b_api.get("/api/v1/challenges/99999")
    for cid in ids:
        response = b_api.get(f"/api/v1/challenges/{cid}")
        # The same answer as for an id that does not exist: ids are no oracle.
        assert response.status_code == missing.status_code == 404
        assert response.json["title"] == missing.json["title"]
        for method in ("patch", "delete"):
            kwargs = {"json": {"title": "Mine now"}} if method == "patch" else {}
            assert getattr(b_api, method)(f"/api/v1/challenges/{cid}", **kwargs).status_code == 404
        assert b_api.get(f"/api/v1/challenges/{cid}/matches").status_code == 404
        assert b_page.get(f"/challenges/{cid}").status_code == 404
        assert b_page.get(f"/challenges/{cid}/edit").status_code == 404
    assert b_api.get("/api/v1/challenges").json["total"] == 0
    assert SECRET not in _text(b_page.get("/challenges"))
    # Searching for the confidential word does not reveal that it exists.
    assert b_api.get(f"/api/v1/challenges?q={SECRET}").json["total"] == 0
    similar = b_api.get(f"/api/v1/challenges/similar?text=waste+heat+{SECRET}")
    assert similar.status_code == 200 and similar.json["items"] == []
    assert _text(site.api("office").get(f"/api/v1/challenges/{ids[0]}")).count(SECRET) == 1


def _everything_a_group_sees(site: Site, cid: int) -> str:
    api, page = site.api("group"), site.browser("group")
    parts = [
        api.get(f"/api/v1/challenges/{cid}"),
        api.get("/api/v1/challenges"),
        api.get(f"/api/v1/challenges?q={SECRET}"),
        api.get(f"/api/v1/groups/{site.group_id}/matches"),
        api.get("/api/v1/proposals"),
        page.get(f"/challenges/{cid}"),
        page.get("/group/matches"),
    ]
    for response in parts:
        assert response.status_code == 200, response.request.path
    return "\n".join(_text(r) for r in parts)


@pytest.mark.committed  # a matching run (its heartbeat thread)
def test_a_group_reads_confidential_details_only_once_introduced(site: Site) -> None:
    cid = _post(site)
    office = site.api("office")
    run = office.post("/api/v1/matching/runs", {"k": 1, "wait": True})
    assert run.status_code == 202 and run.json["status"] == "finished"

    before = _everything_a_group_sees(site, cid)
    assert SECRET not in before
    assert site.api("group").get(f"/api/v1/challenges/{cid}").json["confidential"] is None
    assert site.api("group").get(f"/api/v1/challenges?q={SECRET}").json["total"] == 0

    # Matching never uses the confidential text: the evidence the office sees has none of it.
    proposals = office.get(f"/api/v1/proposals?challenge_id={cid}").json["items"]
    assert proposals, "the run proposed the group"
    assert SECRET not in json.dumps(proposals)
    pid = proposals[0]["id"]
    matches = office.get(f"/api/v1/challenges/{cid}/matches")
    assert matches.status_code == 200 and SECRET not in _text(matches)

    for step in ("shortlisted", "introduced"):
        decided = office.post(
            f"/api/v1/proposals/{pid}/decisions", {"to_status": step, "reason_code": "good_fit"}
        )
        assert decided.status_code == 201
    after = site.api("group").get(f"/api/v1/challenges/{cid}")
    assert after.json["confidential"] == CONFIDENTIAL
    assert SECRET in _text(site.browser("group").get(f"/challenges/{cid}"))


def test_a_group_not_introduced_sees_no_proposal_and_no_draft(site: Site) -> None:
    draft = _post(site, status="draft")
    cid = _post(site)
    pid = factories.proposal(
        site.app,
        challenge_id=cid,
        group_id=site.group_id,
        evidence={"pairs": [], "terms": []},
        status=ProposalStatus.SHORTLISTED,
    )
    api = site.api("group")
    assert api.get(f"/api/v1/challenges/{draft}").status_code == 404
    assert site.browser("group").get(f"/challenges/{draft}").status_code == 404
    assert api.get(f"/api/v1/proposals/{pid}").status_code == 404
    assert api.get("/api/v1/proposals").json["total"] == 0
    # Nor does the company see who is on the shortlist before the introduction.
    assert site.api("company_a").get(f"/api/v1/proposals/{pid}").status_code == 404


def test_a_group_cannot_act_for_another_group(site: Site) -> None:
    other = site.api("office").post(
        "/api/v1/groups",
        {
            "institution_id": site.institution_id,
            "name": "Grid Lab",
            "capabilities": "Smart grid control.",
            "fields": ["smart_grids"],
            "trl_min": 2,
            "trl_max": 6,
            "capacity": 1,
        },
    )
    assert other.status_code == 201, other.json
    gid = other.json["id"]
    api = site.api("group")
    assert api.patch(f"/api/v1/groups/{gid}", {"capacity": 9}).status_code == 403
    assert api.get(f"/api/v1/groups/{gid}/matches").status_code == 403
    assert api.post(f"/api/v1/groups/{gid}/publications", {"title": "Not mine"}).status_code == 403
    assert api.delete(f"/api/v1/groups/{gid}").status_code == 403
    assert site.api("office").get(f"/api/v1/groups/{gid}").json["capacity"] == 1
