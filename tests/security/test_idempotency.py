"""POST with an Idempotency-Key: a client that retries never creates a thing twice."""

from __future__ import annotations

import pytest

from matchmaker.api.models import IdempotencyKey
from matchmaker.db import session_scope
from tests import factories
from tests.factories import challenge_body
from tests.security.conftest import Site

# An Idempotency-Key's claim and answer are written on a connection of their own (api/idempotency.py).
pytestmark = pytest.mark.committed


def _count(site: Site) -> int:
    return int(site.api("office").get("/api/v1/challenges").json["total"])


def test_a_retry_gets_the_first_answer_and_creates_nothing(site: Site) -> None:
    api = site.api("company_a")
    headers = {"Idempotency-Key": "3f1c2a9e-retry-1"}
    first = api.post("/api/v1/challenges", challenge_body(), headers=headers)
    assert first.status_code == 201
    again = api.post("/api/v1/challenges", challenge_body(), headers=headers)
    assert again.status_code == 201
    assert again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert _count(site) == 1


def test_without_a_key_each_post_is_a_new_thing(site: Site) -> None:
    api = site.api("company_a")
    assert api.post("/api/v1/challenges", challenge_body()).status_code == 201
    assert api.post("/api/v1/challenges", challenge_body()).status_code == 201
    assert _count(site) == 2


def test_the_same_key_with_another_body_is_refused(site: Site) -> None:
    api = site.api("company_a")
    headers = {"Idempotency-Key": "k-1"}
    assert api.post("/api/v1/challenges", challenge_body(), headers=headers).status_code == 201
    other = api.post("/api/v1/challenges", challenge_body(title="Another"), headers=headers)
    assert other.status_code == 422
    assert other.mimetype == "application/problem+json"
    assert other.json["errors"][0]["field"] == "Idempotency-Key"
    assert _count(site) == 1


def test_keys_belong_to_their_user(site: Site) -> None:
    headers = {"Idempotency-Key": "shared-key"}
    a = site.api("company_a").post("/api/v1/challenges", challenge_body(), headers=headers)
    b = site.api("company_b").post("/api/v1/challenges", challenge_body(), headers=headers)
    assert a.status_code == b.status_code == 201
    assert a.json["id"] != b.json["id"]
    assert b.json["organisation"] == "Harburger Stahl AG"
    assert _count(site) == 2


def test_a_rejected_request_keeps_no_answer(site: Site) -> None:
    """A 422 is not stored: the client fixes the body and retries with the same key."""
    api = site.api("company_a")
    headers = {"Idempotency-Key": "fix-and-retry"}
    bad = api.post("/api/v1/challenges", challenge_body(trl_now=8, trl_target=3), headers=headers)
    assert bad.status_code == 422
    good = api.post("/api/v1/challenges", challenge_body(), headers=headers)
    assert good.status_code == 201
    assert _count(site) == 1


def test_a_malformed_key_is_a_clear_error(site: Site) -> None:
    api = site.api("company_a")
    for key in ("", "with space", "x" * 256):
        response = api.post(
            "/api/v1/challenges", challenge_body(), headers={"Idempotency-Key": key}
        )
        assert response.status_code == 400, key
        assert response.json["errors"][0]["field"] == "Idempotency-Key"
    assert _count(site) == 0


def test_a_decision_is_taken_once(site: Site) -> None:
    cid = site.api("company_a").post("/api/v1/challenges", challenge_body()).json["id"]
    pid = factories.proposal(site.app, challenge_id=cid, group_id=site.group_id, score=0.7)
    office = site.api("office")
    body = {"to_status": "shortlisted", "reason_code": "good_fit"}
    headers = {"Idempotency-Key": "decide-once"}
    first = office.post(f"/api/v1/proposals/{pid}/decisions", body, headers=headers)
    second = office.post(f"/api/v1/proposals/{pid}/decisions", body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json == first.json
    decisions = office.get(f"/api/v1/proposals/{pid}/decisions").json["items"]
    assert len(decisions) == 1
    # Without the key the retry would have been refused as a second, impossible step.
    again = office.post(f"/api/v1/proposals/{pid}/decisions", body)
    assert again.status_code == 409


def test_a_matching_run_is_started_once(site: Site) -> None:
    assert site.api("company_a").post("/api/v1/challenges", challenge_body()).status_code == 201
    office = site.api("office")
    headers = {"Idempotency-Key": "run-once"}
    first = office.post("/api/v1/matching/runs", {"k": 1, "wait": True}, headers=headers)
    second = office.post("/api/v1/matching/runs", {"k": 1, "wait": True}, headers=headers)
    assert first.status_code == second.status_code == 202
    assert second.json["id"] == first.json["id"]
    assert second.headers["Idempotent-Replayed"] == "true"


def test_stored_answers_expire(site: Site) -> None:
    import datetime as dt

    from sqlalchemy import update

    from matchmaker.db import utcnow

    api = site.api("company_a")
    headers = {"Idempotency-Key": "old-key"}
    assert api.post("/api/v1/challenges", challenge_body(), headers=headers).status_code == 201
    with session_scope(site.app) as s:
        s.execute(update(IdempotencyKey).values(created_at=utcnow() - dt.timedelta(hours=25)))
    again = api.post("/api/v1/challenges", challenge_body(), headers=headers)
    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again.headers
    assert _count(site) == 2
