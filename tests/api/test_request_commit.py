"""The ``endpoint`` decorator commits a request once, after its view succeeded: a view that fails
after writing leaves nothing written, and work waiting for the commit runs only after it."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import func, select

from matchmaker.challenges import service as challenges
from matchmaker.db import after_commit, end_request, get_session, session_scope
from matchmaker.organisations.models import Organisation, OrganisationKind
from tests.factories import challenge_body
from tests.test_one_commit import FAILURES, challenges_written


@FAILURES
def test_a_view_failing_after_its_write_writes_nothing(
    world, monkeypatch: pytest.MonkeyPatch, error: Exception, status: int
) -> None:
    def fail(*_args: object) -> None:
        raise error

    monkeypatch.setattr(challenges, "to_out", fail)  # after create_challenge wrote (and flushed)
    response = world.company_a.post("/api/v1/challenges", challenge_body())
    assert response.status_code == status
    assert challenges_written(world.app) == 0
    monkeypatch.undo()
    assert world.company_a.post("/api/v1/challenges", challenge_body()).status_code == 201
    assert challenges_written(world.app) == 1


def test_after_commit_work_runs_after_the_commit_and_never_after_a_rollback(app: Flask) -> None:
    seen: list[int] = []

    def count() -> None:  # another session sees what the request wrote
        with session_scope(app) as s:
            seen.append(int(s.scalar(select(func.count()).select_from(Organisation)) or 0))

    with app.test_request_context("/api/v1/organisations", method="POST"):
        get_session().add(Organisation(name="Rolled back", kind=OrganisationKind.COMPANY))
        after_commit(count)
        end_request(422)
        assert seen == []
        get_session().add(Organisation(name="Committed", kind=OrganisationKind.COMPANY))
        after_commit(count)
        end_request(201)
    assert seen == [1]  # once: the rolled-back request's work went with it
