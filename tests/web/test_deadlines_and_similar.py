"""A deadline in the past is refused for a new challenge and a changed deadline (an old one may
stay), passed deadlines are marked; similar challenges follow one rule for companies and the
office, on the form, in the API and on the office's pages (issue 15)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from matchmaker.accounts.models import User
from matchmaker.accounts.service import issue_token
from matchmaker.challenges.models import Challenge, ChallengeStatus
from matchmaker.db import session_scope
from matchmaker.matching import index_state
from tests.conftest import Api
from tests.factories import challenge_body
from tests.web.conftest import add_proposal, challenge_form, post_challenge

YESTERDAY = (dt.date.today() - dt.timedelta(days=1)).isoformat()
LAST_YEAR = (dt.date.today() - dt.timedelta(days=365)).isoformat()
TODAY = dt.date.today().isoformat()


def _api(world, email: str) -> Api:
    with session_scope(world.app) as s:
        user = s.scalar(select(User).where(User.email == email))
        assert user is not None
        token = issue_token(s, user)
    return Api(world.app.test_client(), token)


def _errors(response) -> dict[str, str]:
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    return {e["field"]: e["message"] for e in response.json["errors"]}


def _set_deadline(world, challenge_id: int, deadline: str) -> None:
    """A deadline that has passed since the challenge was posted."""
    with session_scope(world.app) as s:
        s.execute(
            update(Challenge)
            .where(Challenge.id == challenge_id)
            .values(deadline=dt.date.fromisoformat(deadline))
        )


def test_the_api_refuses_a_new_or_changed_deadline_in_the_past(world) -> None:
    api = _api(world, "a@elbwerk.example")
    assert _errors(api.post("/api/v1/challenges", challenge_body(deadline=YESTERDAY))) == {
        "deadline": "must not be in the past"
    }
    assert api.post("/api/v1/challenges", challenge_body(deadline=TODAY)).status_code == 201
    cid = api.post("/api/v1/challenges", challenge_body()).json["id"]
    assert _errors(api.patch(f"/api/v1/challenges/{cid}", {"deadline": YESTERDAY})) == {
        "deadline": "must not be in the past"
    }
    assert api.get(f"/api/v1/challenges/{cid}").json["deadline"] == "2027-06-30"
    # A challenge whose deadline has passed since stays editable, also sent back unchanged.
    _set_deadline(world, cid, LAST_YEAR)
    r = api.patch(f"/api/v1/challenges/{cid}", {"title": "Still open", "deadline": LAST_YEAR})
    assert r.status_code == 200 and r.json["title"] == "Still open"
    assert r.json["deadline"] == LAST_YEAR
    assert "deadline" in _errors(api.patch(f"/api/v1/challenges/{cid}", {"deadline": YESTERDAY}))
    ok = api.patch(f"/api/v1/challenges/{cid}", {"deadline": None})
    assert ok.status_code == 200 and ok.json["deadline"] is None


def test_the_form_refuses_a_past_deadline_beside_the_field_with_every_other_error(world) -> None:
    company = world.browser("a@elbwerk.example")
    response = company.post("/challenges/new", challenge_form(deadline=YESTERDAY, title=""))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="deadline-error"><span aria-hidden="true">⚠ </span>Die Frist darf nicht' in html
    assert 'id="title-error"' in html  # shown at once, not on a second submit
    assert f'value="{YESTERDAY}"' in html
    company.get("/lang/en")
    html = company.post("/challenges/new", challenge_form(deadline=YESTERDAY)).get_data(
        as_text=True
    )
    assert "The deadline must not be in the past." in html
    assert _api(world, "a@elbwerk.example").get("/api/v1/challenges").json["total"] == 0


def test_an_old_challenge_stays_editable_and_shows_its_deadline_passed(world) -> None:
    cid = post_challenge(world)
    fresh = post_challenge(world, title="Heat pumps for the furnace hall")
    _set_deadline(world, cid, LAST_YEAR)
    company = world.browser("a@elbwerk.example")
    listing = company.text("/challenges")
    assert listing.count("Frist abgelaufen") == 1
    passed = listing[listing.index(f'href="/challenges/{cid}"') :]
    assert "Frist abgelaufen" in passed[: passed.index("<h3>")]
    assert "Frist abgelaufen" in company.text(f"/challenges/{cid}")
    assert "Frist abgelaufen" not in company.text(f"/challenges/{fresh}")
    form = challenge_form(title="Waste heat, second try", deadline=LAST_YEAR)
    response = company.post(f"/challenges/{cid}/edit", form)
    assert response.status_code == 302  # the deadline did not change
    moved = company.post(f"/challenges/{cid}/edit", challenge_form(deadline=YESTERDAY))
    assert moved.status_code == 422
    assert "Die Frist darf nicht in der Vergangenheit liegen." in moved.get_data(as_text=True)
    company.get("/lang/en")
    assert "deadline passed" in company.text(f"/challenges/{cid}")
    office = world.browser("office@hamburg.example")
    assert "Frist abgelaufen" in office.text("/challenges")


def _duplicates(world) -> tuple[int, int]:
    mine = post_challenge(world)
    theirs = post_challenge(
        world,
        "b@stahl.example",
        title="Waste heat from our steel furnace into district heating",
    )
    return mine, theirs


def test_a_company_sees_only_its_own_similar_challenges_and_all_of_them(world) -> None:
    mine, theirs = _duplicates(world)
    # More than 100 challenges of its own: the last one is still found (no silent cap).
    with session_scope(world.app) as s:
        for i in range(101):
            s.add(
                Challenge(
                    organisation_id=world.company_a_id,
                    created_by_id=None,
                    title=f"Compressed air leak number {i}",
                    summary=f"Leaks in the compressed air network of hall {i}.",
                    confidential="",
                    fields=["energy_efficiency"],
                    trl_now=3,
                    trl_target=6,
                    budget_band="lt_50k",
                    status=ChallengeStatus.OPEN,
                    language="en",
                )
            )
        s.add(
            Challenge(
                organisation_id=world.company_a_id,
                title="Ultrasonic inspection of glass furnace refractory",
                summary="Wear of the refractory lining of our glass furnace, seen by ultrasound.",
                confidential="",
                fields=["energy_efficiency"],
                trl_now=3,
                trl_target=6,
                budget_band="lt_50k",
                status=ChallengeStatus.OPEN,
                language="en",
            )
        )
        index_state.bump(s)
    with session_scope(world.app) as s:
        last = s.scalar(select(Challenge.id).order_by(Challenge.id.desc()))
    text = "ultrasonic inspection of the refractory lining of a glass furnace"
    company = world.browser("a@elbwerk.example")
    items = company.get(f"/challenges/similar?q={text}").json["items"]
    assert items[0]["id"] == last and "organisation" not in items[0]
    api = _api(world, "a@elbwerk.example")
    found = api.get(f"/api/v1/challenges/similar?text={text}").json["items"]
    assert found[0]["challenge_id"] == last
    heat = api.get("/api/v1/challenges/similar?text=waste heat furnace district heating&top=20")
    ids = [i["challenge_id"] for i in heat.json["items"]]
    assert mine in ids and theirs not in ids  # never another company's challenge
    assert {i["organisation"] for i in heat.json["items"]} == {"Elbwerk Kupfer GmbH"}
    # Another company's closer challenge takes no place of the company's own: it is left out
    # before ranking, so the company still gets its best one.
    other = _api(world, "b@stahl.example")
    copper = "waste heat from the copper furnace into district heating"
    assert [
        i["challenge_id"]
        for i in other.get(f"/api/v1/challenges/similar?text={copper}&top=1").json["items"]
    ] == [theirs]


def test_the_office_sees_similar_open_challenges_of_every_company(world) -> None:
    mine, theirs = _duplicates(world)
    post_challenge(
        world, "b@stahl.example", title="Waste heat from the rolling mill", status="draft"
    )
    office = world.browser("office@hamburg.example")
    text = "waste heat from a furnace into district heating"
    items = office.get(f"/challenges/similar?q={text}").json["items"]
    by_id = {i["id"]: i for i in items}
    assert by_id[mine]["organisation"] == "Elbwerk Kupfer GmbH"
    assert by_id[theirs]["organisation"] == "Harburger Stahl AG"
    api = _api(world, "office@hamburg.example")
    found = api.get(f"/api/v1/challenges/similar?text={text}&exclude_id={mine}").json["items"]
    assert [i["challenge_id"] for i in found] == [theirs]  # drafts are not "open"
    assert found[0]["organisation"] == "Harburger Stahl AG"
    # The duplicate shows on the office's proposal page and on the challenge page.
    pid = add_proposal(world.app, mine, world.group_id)
    for url in (f"/office/proposals/{pid}", f"/challenges/{mine}"):
        html = office.text(url)
        similar = html[html.index('id="similar-h"') :]
        similar = similar[: similar.index("</section>")]
        assert f'href="/challenges/{theirs}">Waste heat from our steel furnace' in similar
        assert "Harburger Stahl AG" in similar and f'href="/challenges/{mine}"' not in similar
    assert 'id="similar-h"' not in world.browser("a@elbwerk.example").text(f"/challenges/{mine}")
    assert api.get(f"/api/v1/challenges/similar?text={text}").status_code == 200
    group = _api(world, "lab@hs.example")
    assert group.get(f"/api/v1/challenges/similar?text={text}").status_code == 403
