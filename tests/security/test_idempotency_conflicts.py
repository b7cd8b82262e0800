"""A failed write of an Idempotency-Key is a taken key only when the database holds the key.

Whether another request took the key is asked of the database after the failed insert, never
read from the wording of the error: an integrity error of the view's own work, or a claim that
fails for another reason, is that error, not "being processed; retry shortly".
"""

from __future__ import annotations

import pytest
from flask import Response
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from matchmaker.accounts.models import User
from matchmaker.api.idempotency import idempotent
from matchmaker.api.models import IdempotencyKey
from matchmaker.api.problems import Problem
from matchmaker.db import session_scope
from tests.security.conftest import Site

# An Idempotency-Key's claim and answer are written on a connection of their own, and concurrent requests.
pytestmark = pytest.mark.committed

KEY = "conflict-key-1"


def _user_id(site: Site, role: str) -> int:
    with session_scope(site.app) as s:
        user_id = s.scalar(select(User.id).where(User.email == site.emails[role]))
    assert user_id is not None
    return int(user_id)


def _keys(site: Site) -> int:
    with session_scope(site.app) as s:
        return int(s.scalar(select(func.count()).select_from(IdempotencyKey)) or 0)


def _post(site: Site):  # type: ignore[no-untyped-def]
    return site.app.test_request_context(
        "/api/v1/challenges", method="POST", json={"title": "x"}, headers={"Idempotency-Key": KEY}
    )


def test_an_integrity_error_of_the_view_is_not_taken_for_a_taken_key(site: Site) -> None:
    """Even when its text names an idempotency table, the view's own error stays its error."""
    user_id = _user_id(site, "company_a")

    def respond() -> Response:
        raise IntegrityError(
            "INSERT INTO idempotency_notes (key) VALUES (?)",
            {},
            Exception("UNIQUE constraint failed: idempotency_notes.key"),
        )

    with _post(site), pytest.raises(IntegrityError):
        idempotent(user_id, respond, atomic=True)
    assert _keys(site) == 0


def test_a_key_stored_first_by_a_concurrent_request_answers_in_progress(site: Site) -> None:
    """The other request stored its answer while this one worked: this one is told to retry
    (and gets the stored answer then), and nothing of it is kept."""
    user_id = _user_id(site, "company_a")

    def respond() -> Response:
        with session_scope(site.app) as s:  # the concurrent request, committed first
            s.add(IdempotencyKey(user_id=user_id, key=KEY, fingerprint="f" * 64, status=201))
        return Response('{"id": 1}', status=201, mimetype="application/json")

    with _post(site), pytest.raises(Problem) as caught:
        idempotent(user_id, respond, atomic=True)
    assert caught.value.status == 409
    assert caught.value.code == "idempotency-in-progress"
    assert _keys(site) == 1


def test_a_claim_that_fails_for_another_reason_is_not_in_progress(site: Site) -> None:
    """A claim for a user who is gone (erased meanwhile) fails on its foreign key: that is an
    error, not a request with this key being processed."""
    ran: list[bool] = []

    def respond() -> Response:
        ran.append(True)
        return Response("{}", status=202, mimetype="application/json")

    with _post(site), pytest.raises(IntegrityError):
        idempotent(987654, respond, atomic=False)
    assert not ran
    assert _keys(site) == 0
