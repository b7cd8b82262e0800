"""A page's writes stand when it answers with a success or a redirect and are rolled back when
it answers with an error or fails (the pages' hook, ``web/helpers.py``); pages never commit."""

from __future__ import annotations

import pytest

from matchmaker.web import company
from tests.factories.world import PEOPLE
from tests.test_one_commit import FAILURES, challenges_written
from tests.web.conftest import challenge_form


@FAILURES
def test_a_page_failing_after_its_write_writes_nothing(
    world, monkeypatch: pytest.MonkeyPatch, error: Exception, status: int
) -> None:
    browser = world.browser(PEOPLE["company_a"][0])

    def fail(*_args: object) -> None:
        raise error

    monkeypatch.setattr(company, "flash", fail)  # after create_challenge wrote (and flushed)
    response = browser.post("/challenges/new", challenge_form())
    assert response.status_code == status
    assert challenges_written(world.app) == 0
    monkeypatch.undo()
    assert browser.post("/challenges/new", challenge_form()).status_code == 302
    assert challenges_written(world.app) == 1
