"""A challenge's deadline is a plausible date: from 2000-01-01 to 20 years after today, on the
API, in imports and on the pages (a typo like 0001-01-01 is an error naming the field)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from matchmaker.challenges.schemas import ChallengeIn, deadline_bounds
from tests.factories import challenge_body
from tests.security.conftest import Site

EARLIEST, LATEST = deadline_bounds()
TOO_EARLY = ["0001-01-01", "1000-06-30", "1999-12-31"]
TOO_LATE = [(LATEST + dt.timedelta(days=1)).isoformat(), "2205-06-30", "9999-12-31"]


def _deadline_error(response: Any) -> str:
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    errors = {e["field"]: e["message"] for e in response.json["errors"]}
    assert "deadline" in errors, errors
    return errors["deadline"]


@pytest.mark.parametrize("date", TOO_EARLY + TOO_LATE)
def test_an_implausible_deadline_is_refused_naming_the_field(site: Site, date: str) -> None:
    api = site.api("company_a")
    message = _deadline_error(api.post("/api/v1/challenges", challenge_body(deadline=date)))
    expected = "before 2000-01-01" if date in TOO_EARLY else "at most 20 years ahead"
    assert expected in message
    cid = api.post("/api/v1/challenges", challenge_body()).json["id"]
    assert expected in _deadline_error(api.patch(f"/api/v1/challenges/{cid}", {"deadline": date}))
    assert api.get(f"/api/v1/challenges/{cid}").json["deadline"] == "2027-06-30"


@pytest.mark.parametrize("date", [EARLIEST.isoformat(), "2019-03-31", LATEST.isoformat()])
def test_the_whole_range_is_accepted(site: Site, date: str) -> None:
    # The range is the schema's (imports keep a past deadline); a new challenge's deadline must
    # not lie in the past on top of it (issue 15), so a past date is refused for another reason.
    body = json.dumps(challenge_body(deadline=date))
    assert str(ChallengeIn.model_validate_json(body).deadline) == date
    response = site.api("company_a").post("/api/v1/challenges", challenge_body(deadline=date))
    if date < dt.date.today().isoformat():
        assert "must not be in the past" in _deadline_error(response)
    else:
        assert response.status_code == 201 and response.json["deadline"] == date


def test_the_bounds_move_with_today_and_survive_a_leap_day() -> None:
    assert deadline_bounds(dt.date(2028, 2, 29)) == (dt.date(2000, 1, 1), dt.date(2048, 2, 29))
    assert deadline_bounds(dt.date(2024, 2, 29)) == (dt.date(2000, 1, 1), dt.date(2044, 2, 29))
    assert deadline_bounds(dt.date(2080, 2, 29))[1] == dt.date(2100, 2, 28)  # 2100 has none
    assert deadline_bounds(dt.date(2027, 2, 28))[1] == dt.date(2047, 2, 28)


def test_imported_challenges_follow_the_same_rule(site: Site) -> None:
    row = {**challenge_body(deadline="0001-01-01"), "key": "c-1", "organisation": "Elbwerk"}
    office = site.api("office")
    response = office.post(
        "/api/v1/imports", {"data": json.dumps(row) + "\n", "kind": "challenges"}
    )
    assert response.status_code == 422
    errors = {e["field"]: e["message"] for e in response.json["errors"]}
    assert "before 2000-01-01" in errors["data.line[1].deadline"]


def _form(**overrides: str) -> dict[str, Any]:
    form: dict[str, Any] = {k: str(v) for k, v in challenge_body().items() if k != "fields"}
    form["fields"] = ["energy_efficiency"]
    form.update(overrides)
    return form


def test_the_page_says_which_dates_it_takes_in_both_languages(site: Site) -> None:
    browser = site.browser("company_a")
    page = browser.get("/challenges/new").get_data(as_text=True)
    assert f'min="2000-01-01" max="{LATEST.isoformat()}"' in page
    response = browser.post("/challenges/new", _form(deadline="0001-01-01"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="deadline-error"' in html
    assert "Geben Sie ein Datum ab dem 1. Januar 2000 an." in html
    browser.get("/lang/en")
    response = browser.post("/challenges/new", _form(deadline="2999-01-01"))
    assert response.status_code == 422
    assert "Enter a date at most 20 years ahead." in response.get_data(as_text=True)
    assert site.api("company_a").get("/api/v1/challenges").json["total"] == 0
