"""Closing, archiving and reopening a challenge with the buttons on its page, after a
confirmation page (no script needed)."""

from __future__ import annotations

import re

from matchmaker.audit.models import AuditEvent
from matchmaker.challenges.models import Challenge
from matchmaker.db import session_scope
from tests.web.conftest import add_proposal, post_challenge

COMPANY = "a@elbwerk.example"
TITLE = "Waste heat from the copper furnace into district heating"


def _stored(world, cid: int) -> Challenge:
    with session_scope(world.app) as s:
        item = s.get(Challenge, cid)
        assert item is not None
        s.expunge(item)
        return item


def _audit(world, cid: int) -> list[tuple[str, dict]]:
    with session_scope(world.app) as s:
        rows = (
            s.query(AuditEvent)
            .filter_by(entity="challenge", entity_id=cid)
            .order_by(AuditEvent.id)
            .all()
        )
        return [(r.action, r.changes) for r in rows]


def _buttons(html: str) -> set[str]:
    head = html.split('class="actions challenge-actions"', 1)[1].split("</div>", 1)[0]
    return set(re.findall(r">([^<>]+)</(?:a|button)>", head))


def test_a_company_closes_after_confirming_and_reopens_in_german(world) -> None:
    cid = post_challenge(world)
    browser = world.browser(COMPANY)
    html = browser.text(f"/challenges/{cid}")
    assert _buttons(html) == {"Bearbeiten", "Schließen", "Archivieren"}
    assert f'href="/challenges/{cid}/close"' in html
    # The button leads to a question first: nothing is changed yet.
    confirm = browser.text(f"/challenges/{cid}/close")
    assert "Herausforderung schließen?" in confirm and "Ja, schließen" in confirm
    assert "Sie wird nicht mehr vermittelt" in confirm
    assert _stored(world, cid).status.value == "open"
    # A post without the confirmation shows the question again.
    response = browser.post(f"/challenges/{cid}/close", {}, form_url=f"/challenges/{cid}/close")
    assert response.status_code == 200 and "Ja, schließen" in response.get_data(as_text=True)
    assert _stored(world, cid).status.value == "open"
    response = browser.post(
        f"/challenges/{cid}/close", {"confirm": "yes"}, form_url=f"/challenges/{cid}/close"
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/challenges/{cid}")
    html = browser.text(f"/challenges/{cid}")
    assert f"Die Herausforderung „{TITLE}“ ist geschlossen" in html
    assert 'id="challenge-state">Geschlossen: Diese Herausforderung wird nicht mehr' in html
    assert 'class="badge badge-closed">Geschlossen' in html
    assert _buttons(html) == {"Bearbeiten", "Wieder öffnen", "Archivieren"}
    item = _stored(world, cid)
    assert item.status.value == "closed" and item.archived_at is None
    # The same audit entry as PATCH /api/v1/challenges/{id} with a status writes.
    assert _audit(world, cid)[-1] == ("update", {"status": ["open", "closed"]})
    # A closed challenge stays visible in the company's list.
    assert TITLE in browser.text("/challenges")
    # Closing twice is refused with a message, not an error page.
    response = browser.post(
        f"/challenges/{cid}/close", {"confirm": "yes"}, form_url=f"/challenges/{cid}"
    )
    assert response.status_code == 302
    assert "Nur eine offene oder vermittelte Herausforderung" in browser.text(f"/challenges/{cid}")
    # Reopening needs no question: nothing is lost.
    response = browser.post(f"/challenges/{cid}/reopen", {}, form_url=f"/challenges/{cid}")
    assert response.status_code == 302
    html = browser.text(f"/challenges/{cid}")
    assert f"Die Herausforderung „{TITLE}“ ist wieder offen" in html
    assert _stored(world, cid).status.value == "open"
    assert _audit(world, cid)[-1] == ("update", {"status": ["closed", "open"]})


def test_a_closed_challenge_is_no_longer_matched(world) -> None:
    cid = post_challenge(world)
    group = world.browser("lab@hs.example")
    assert f'/challenges/{cid}"' in group.text("/group/matches")
    browser = world.browser(COMPANY)
    browser.post(
        f"/challenges/{cid}/close", {"confirm": "yes"}, form_url=f"/challenges/{cid}/close"
    )
    assert f'/challenges/{cid}"' not in group.text("/group/matches")


def test_archiving_in_english_leaves_the_lists_and_shows_the_state(world) -> None:
    cid = post_challenge(world)
    browser = world.browser(COMPANY)
    browser.get("/lang/en")
    confirm = browser.text(f"/challenges/{cid}/archive")
    assert "Archive the challenge?" in confirm and "Yes, archive it" in confirm
    response = browser.post(
        f"/challenges/{cid}/archive", {"confirm": "yes"}, form_url=f"/challenges/{cid}/archive"
    )
    assert response.status_code == 302
    html = browser.text(f"/challenges/{cid}")
    assert f"The challenge “{TITLE}” is archived" in html
    assert 'class="badge badge-archived">Archived</span>' in html
    assert 'id="challenge-state">Archived: this challenge has left the lists' in html
    assert _buttons(html) == {"Edit"}  # neither closed nor reopened once archived
    assert _stored(world, cid).archived_at is not None
    assert _audit(world, cid)[-1] == ("archive", {})
    assert TITLE not in browser.text("/challenges")
    # The archived challenge cannot be closed or archived again.
    assert browser.get(f"/challenges/{cid}/close").status_code == 302
    assert "Only an open or matched challenge can be closed." in browser.text(f"/challenges/{cid}")


def test_the_office_may_close_others_may_not(world) -> None:
    cid = post_challenge(world)
    add_proposal(world.app, cid, world.group_id, status="introduced")
    other = world.browser("b@stahl.example")
    assert other.get(f"/challenges/{cid}/close").status_code == 404
    assert (
        other.post(
            f"/challenges/{cid}/archive", {"confirm": "yes"}, form_url="/challenges"
        ).status_code
        == 404
    )
    group = world.browser("lab@hs.example")
    html = group.text(f"/challenges/{cid}")  # introduced: the group reads the page ...
    assert "challenge-actions" not in html  # ... without the buttons
    assert group.get(f"/challenges/{cid}/close").status_code == 403
    assert group.post(f"/challenges/{cid}/reopen", {}, form_url="/group/matches").status_code == 403
    assert _stored(world, cid).status.value == "open"
    office = world.browser("office@hamburg.example")
    response = office.post(
        f"/challenges/{cid}/close", {"confirm": "yes"}, form_url=f"/challenges/{cid}/close"
    )
    assert response.status_code == 302
    assert _stored(world, cid).status.value == "closed"
    with session_scope(world.app) as s:
        event = (
            s.query(AuditEvent)
            .filter_by(entity="challenge", entity_id=cid)
            .order_by(AuditEvent.id.desc())
            .first()
        )
        assert event is not None and event.changes["status"][1] == "closed"


def test_a_draft_is_archived_not_closed(world) -> None:
    cid = post_challenge(world, title="A draft", status="draft")
    browser = world.browser(COMPANY)
    assert _buttons(browser.text(f"/challenges/{cid}")) == {"Bearbeiten", "Archivieren"}
    browser.post(f"/challenges/{cid}/close", {"confirm": "yes"}, form_url=f"/challenges/{cid}")
    assert _stored(world, cid).status.value == "draft"
