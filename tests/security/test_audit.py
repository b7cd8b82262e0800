"""Every decision and every strategy change is in the audit log: who, when, what, why."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from matchmaker.audit.models import AuditEvent
from matchmaker.db import session_scope
from matchmaker.fields import FIELD_KEYS
from matchmaker.review.models import Decision
from matchmaker.strategy.models import StrategyVersion
from tests import factories
from tests.factories import challenge_body
from tests.security.conftest import Site


def _events(site: Site, entity: str) -> list[AuditEvent]:
    with session_scope(site.app) as s:
        return list(
            s.scalars(select(AuditEvent).where(AuditEvent.entity == entity).order_by(AuditEvent.id))
        )


def _proposal(site: Site, cid: int) -> int:
    return factories.proposal(
        site.app, challenge_id=cid, group_id=site.group_id, score=0.61, components={"fit": 1.0}
    )


def _office_id(site: Site) -> int:
    return int(site.api("office").get("/api/v1/me").json["id"])


def test_every_decision_is_audited_api_and_pages(site: Site) -> None:
    cid = site.api("company_a").post("/api/v1/challenges", challenge_body()).json["id"]
    pid = _proposal(site, cid)
    office = site.api("office")
    assert (
        office.post(
            f"/api/v1/proposals/{pid}/decisions",
            {"to_status": "shortlisted", "reason_code": "good_fit", "note": "Strong fit"},
        ).status_code
        == 201
    )
    browser = site.browser("office")
    page = browser.post(
        f"/office/proposals/{pid}/decide",
        {"to_status": "introduced", "reason_code": "good_fit", "note": "Go"},
        form_url=f"/office/proposals/{pid}",
    )
    assert page.status_code == 302, page.get_data(as_text=True)[:300]
    # A refused step leaves no decision and no event.
    assert (
        office.post(
            f"/api/v1/proposals/{pid}/decisions",
            {"to_status": "collaboration", "reason_code": "good_fit"},
        ).status_code
        == 409
    )

    with session_scope(site.app) as s:
        decisions = list(s.scalars(select(Decision).order_by(Decision.id)))
    events = _events(site, "decision")
    assert [e.entity_id for e in events] == [d.id for d in decisions]
    assert len(events) == 2
    for event, decision in zip(events, decisions, strict=True):
        assert event.actor_id == _office_id(site)
        assert event.changes["proposal_id"] == pid
        assert event.changes["from"] == decision.from_status
        assert event.changes["to"] == decision.to_status
        assert event.changes["reason_code"] == "good_fit"
        assert event.created_at is not None
    assert [e.changes["note"] for e in events] == ["Strong fit", "Go"]


def test_every_strategy_change_is_audited_api_and_pages(site: Site) -> None:
    office = site.api("office")
    assert (
        office.put(
            "/api/v1/strategy", {"weights": {"smart_grids": 0.4}, "note": "Grid focus"}
        ).status_code
        == 200
    )
    form: dict[str, Any] = {f"w_{k}": "1" for k in FIELD_KEYS}
    form.update({"w_energy_efficiency": "0,7", "note": "From the page", "action": "save"})
    page = site.browser("office").post("/office/strategy", form)
    assert page.status_code == 302, page.get_data(as_text=True)[:300]
    # A preview changes nothing and is not an event.
    form["action"] = "preview"
    assert site.browser("office").post("/office/strategy", form).status_code == 200
    # A refused change neither.
    assert office.put("/api/v1/strategy", {"weights": {"smart_grids": 7}}).status_code == 422

    with session_scope(site.app) as s:
        versions = list(
            s.scalars(
                select(StrategyVersion)
                .where(StrategyVersion.version > 1)
                .order_by(StrategyVersion.version)
            )
        )
    events = _events(site, "strategy")
    assert len(versions) == len(events) == 2
    for event, version in zip(events, versions, strict=True):
        assert event.entity_id == version.id
        assert event.actor_id == _office_id(site)
        assert event.changes["version"] == version.version
        assert event.changes["weights"] == version.weights
        assert "previous" in event.changes
    assert events[0].changes["weights"]["smart_grids"] == 0.4
    assert events[1].changes["previous"]["smart_grids"] == 0.4
    assert events[1].changes["weights"]["energy_efficiency"] == 0.7
    assert [e.changes["note"] for e in events] == ["Grid focus", "From the page"]


def test_changes_to_challenges_groups_and_exclusions_are_audited(site: Site) -> None:
    a, office, group = site.api("company_a"), site.api("office"), site.api("group")
    cid = a.post("/api/v1/challenges", challenge_body()).json["id"]
    assert a.patch(f"/api/v1/challenges/{cid}", {"trl_now": 5}).status_code == 200
    assert group.patch(f"/api/v1/groups/{site.group_id}", {"capacity": 3}).status_code == 200
    assert (
        office.post(
            "/api/v1/exclusions",
            {"challenge_id": cid, "group_id": site.group_id, "reason": "Shared board member"},
        ).status_code
        == 201
    )
    assert a.delete(f"/api/v1/challenges/{cid}").status_code == 204
    actions = [(e.action, e.changes) for e in _events(site, "challenge")]
    assert [a for a, _ in actions] == ["create", "update", "archive"]
    assert actions[1][1]["trl_now"] == [4, 5]
    assert _events(site, "group")[-1].changes["capacity"] == [2, 3]
    assert _events(site, "exclusion")[-1].changes["reason"] == "Shared board member"
