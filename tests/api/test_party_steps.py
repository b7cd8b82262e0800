"""The parties report the next step themselves: one rule in the review service, for the API and
the pages: forward from an introduction only, a party's reason, no note, every step audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from matchmaker.accounts.models import User
from matchmaker.api.problems import domain_problem
from matchmaker.audit.models import AuditEvent
from matchmaker.db import session_scope
from matchmaker.errors import DomainError
from matchmaker.matching.models import Proposal, ProposalStatus
from matchmaker.review import service as review
from matchmaker.review.models import Decision
from tests import factories
from tests.factories import challenge_body

S = ProposalStatus


def _proposal(world, status: S = S.INTRODUCED) -> int:
    cid = world.company_a.post("/api/v1/challenges", challenge_body()).json["id"]
    return factories.proposal(
        world.app,
        challenge_id=cid,
        group_id=world.group_id,
        score=0.7,
        components={"semantic": 0.8},
        status=status,
    )


def _user(s, email: str) -> User:
    user = s.scalar(select(User).where(User.email == email))
    assert user is not None
    return user


def test_the_party_steps_by_role_and_status(world) -> None:
    pid = _proposal(world)
    with session_scope(world.app) as s:
        p = s.get(Proposal, pid)
        company, group = _user(s, "a@elbwerk.example"), _user(s, "lab@hs.example")
        other, office = _user(s, "b@stahl.example"), _user(s, "office@hamburg.example")
        assert review.party_steps(company, p) == (S.IN_TALKS, S.DECLINED)
        assert review.party_steps(group, p) == (S.IN_TALKS, S.DECLINED)
        assert review.party_steps(other, p) == ()  # not its challenge
        assert review.party_steps(office, p) == ()  # the office decides, it does not report
        for status, steps in [
            (S.PROPOSED, ()),
            (S.SHORTLISTED, ()),
            (S.IN_TALKS, (S.COLLABORATION, S.DECLINED)),
            (S.COLLABORATION, ()),
            (S.DECLINED, ()),
        ]:
            p.status = status
            assert review.party_steps(group, p) == steps, status
        s.rollback()


def test_a_party_moves_forward_only_with_its_reasons_and_no_note(world) -> None:
    pid = _proposal(world)
    with session_scope(world.app) as s:
        p = s.get(Proposal, pid)
        company = _user(s, "a@elbwerk.example")
        refused = [
            (S.COLLABORATION, "good_fit", "", 403, "to_status"),  # skips "in talks"
            (S.SHORTLISTED, "good_fit", "", 403, "to_status"),  # backwards
            (S.PROPOSED, "good_fit", "", 403, "to_status"),
            (S.DECLINED, "good_fit", "", 422, "reason_code"),  # not a reason to decline
            (S.DECLINED, "wrong_field", "", 422, "reason_code"),  # the office's reason
            (S.IN_TALKS, "good_fit", "We met on Monday", 422, "note"),  # notes are the office's
        ]
        for to_status, reason, note, status, field in refused:
            with pytest.raises(DomainError) as caught:
                review.decide(s, company, p, to_status, reason, note)
            assert domain_problem(caught.value).status == status, to_status
            assert domain_problem(caught.value).errors[0]["field"] == field, to_status
        assert p.status == S.INTRODUCED
        assert s.scalars(select(Decision)).all() == []

        decision, mails = review.decide(s, company, p, S.IN_TALKS, "good_fit")
        assert mails == [] and p.status == S.IN_TALKS
        assert decision.decided_by_id == company.id and decision.note == ""
        group = _user(s, "lab@hs.example")
        review.decide(s, group, p, S.COLLABORATION, "good_fit")
        with pytest.raises(DomainError) as caught:
            review.decide(s, group, p, S.DECLINED, "topic_mismatch")
        assert domain_problem(caught.value).status == 403  # collaboration is final for the parties
        events = s.scalars(
            select(AuditEvent).where(AuditEvent.entity == "decision").order_by(AuditEvent.id)
        ).all()
        assert [
            (e.actor_id, e.changes["from"], e.changes["to"], e.changes["role"]) for e in events
        ] == [
            (company.id, "introduced", "in_talks", "company"),
            (group.id, "in_talks", "collaboration", "group"),
        ]


def test_only_the_parties_own_introductions_are_decidable(world) -> None:
    shortlisted = _proposal(world, S.SHORTLISTED)
    with session_scope(world.app) as s:
        company, office = _user(s, "a@elbwerk.example"), _user(s, "office@hamburg.example")
        for pid in (shortlisted, 9999):
            with pytest.raises(DomainError) as caught:
                review.get_decidable(s, company, pid)
            assert (
                domain_problem(caught.value).status == 403
            )  # the same answer whether it exists or not
        assert review.get_decidable(s, office, shortlisted).id == shortlisted
        with pytest.raises(DomainError) as caught:
            review.get_decidable(s, office, 9999)
        assert domain_problem(caught.value).status == 404


def test_the_api_takes_a_partys_step_and_the_office_sees_who(world) -> None:
    pid = _proposal(world)
    url = f"/api/v1/proposals/{pid}/decisions"
    r = world.company_a.post(url, {"to_status": "in_talks", "reason_code": "good_fit"})
    assert r.status_code == 201, r.json
    history = world.group.get(url).json["items"]
    assert [(d["from_status"], d["to_status"]) for d in history] == [("introduced", "in_talks")]
    assert "reason_code" not in history[0] and "decided_by_id" not in history[0]
    assert (
        world.company_b.post(url, {"to_status": "in_talks", "reason_code": "good_fit"}).status_code
        == 403
    )
    r = world.group.post(url, {"to_status": "shortlisted", "reason_code": "good_fit"})
    assert r.status_code == 403 and r.json["errors"][0]["field"] == "to_status"
    r = world.group.post(
        url, {"to_status": "collaboration", "reason_code": "good_fit", "note": "x"}
    )
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "note"
    r = world.group.post(url, {"to_status": "declined", "reason_code": "topic_mismatch"})
    assert r.status_code == 201, r.json
    # The party reads its step as a step of the status history: no reason, note or who.
    assert set(r.json) == {"id", "proposal_id", "from_status", "to_status", "created_at"}
    assert (r.json["from_status"], r.json["to_status"]) == ("in_talks", "declined")
    # Declined, the pair leaves the parties' views (as an office decline does).
    assert world.company_a.get(url).status_code == 404
    group_id = world.group.get("/api/v1/me").json["id"]
    company_id = world.company_a.get("/api/v1/me").json["id"]
    talks, decline = world.office.get(url).json["items"]
    assert talks["decided_by_id"] == company_id
    assert decline["decided_by_id"] == group_id and decline["reason_code"] == "topic_mismatch"
    assert world.office.get(f"/api/v1/proposals/{pid}").json["status"] == "declined"
