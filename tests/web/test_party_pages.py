"""The company and the group report the next step and state interest from their own pages; the
office sees who reported it and the real stated interest instead of a neutral 0.50."""

from __future__ import annotations

import re

from matchmaker.db import session_scope
from matchmaker.learning.models import StatedInterest
from matchmaker.matching.models import Proposal
from tests.web.conftest import add_proposal, post_challenge


def _introduced(world) -> tuple[int, int]:
    cid = post_challenge(world)
    pid = add_proposal(world.app, cid, world.group_id, status="introduced")
    with session_scope(world.app) as s:
        p = s.get(Proposal, pid)
        assert p is not None
        p.components = {**p.components, "interest": 0.5}
    return cid, pid


def _status(world, pid: int) -> str:
    with session_scope(world.app) as s:
        p = s.get(Proposal, pid)
        assert p is not None
        return p.status.value


def test_a_company_reports_in_talks_on_its_challenge_page(world) -> None:
    cid, pid = _introduced(world)
    company = world.browser("a@elbwerk.example")
    page = f"/challenges/{cid}"
    html = company.text(page)
    assert "Nächsten Schritt melden" in html
    options = re.search(rf'id="step-{pid}-to_status"[^>]*>(.*?)</select>', html, re.S)
    assert options, html
    assert re.findall(r'value="(\w+)"', options.group(1)) == ["in_talks", "declined"]
    assert "Passt thematisch nicht" in html  # the decline reasons, in German
    response = company.post(f"/proposals/{pid}/step", {"to_status": "in_talks"}, form_url=page)
    assert response.status_code == 302 and response.headers["Location"].endswith(page)
    html = company.text(page)
    assert "„Thermal Lab“ ×" in html and "ist jetzt „Im Gespräch“" in html
    assert _status(world, pid) == "in_talks"
    # Now the next steps are collaboration or declining.
    options = re.search(rf'id="step-{pid}-to_status"[^>]*>(.*?)</select>', html, re.S)
    assert options and re.findall(r'value="(\w+)"', options.group(1)) == [
        "collaboration",
        "declined",
    ]
    office = world.browser("office@hamburg.example").text(f"/office/proposals/{pid}")
    assert "Gemeldet vom Unternehmen: A" in office


def test_a_group_declines_with_a_reason_in_english_errors_beside_the_field(world) -> None:
    _cid, pid = _introduced(world)
    lab = world.browser("lab@hs.example")
    assert lab.get("/lang/en?next=/group/introductions").status_code == 302
    url = "/group/introductions"
    response = lab.post(f"/proposals/{pid}/step", {"to_status": "declined"}, form_url=url)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(rf'id="step-{pid}-reason_code-error">.*Please fill in this field\.', html), (
        html
    )
    assert f'id="step-{pid}-to_status" name="to_status" ' in html
    assert '<option value="declined" selected>' in html  # the choice is kept
    assert _status(world, pid) == "introduced"
    # A step the group may not take is refused beside the field, too.
    response = lab.post(f"/proposals/{pid}/step", {"to_status": "collaboration"}, form_url=url)
    assert response.status_code == 422
    assert "This step is not yours to report now." in response.get_data(as_text=True)
    response = lab.post(
        f"/proposals/{pid}/step",
        {"to_status": "declined", "reason_code": "topic_mismatch"},
        form_url=url,
    )
    assert response.status_code == 302
    html = lab.text(url)
    assert "is now “Declined”. The innovation office sees it." in html
    assert _status(world, pid) == "declined"
    office = world.browser("office@hamburg.example").text(f"/office/proposals/{pid}")
    assert "Gemeldet von der Gruppe: Lab" in office and "Passt thematisch nicht" in office


def test_nobody_else_reports_a_step(world) -> None:
    cid, pid = _introduced(world)
    for email, form_url in [
        ("b@stahl.example", "/challenges"),  # another company
        ("grid@hs.example", "/group/introductions"),  # another group
        ("office@hamburg.example", "/office/proposals"),  # the office decides on its own page
    ]:
        browser = world.browser(email)
        response = browser.post(
            f"/proposals/{pid}/step", {"to_status": "in_talks"}, form_url=form_url
        )
        assert response.status_code == 403, email
    shortlisted = add_proposal(world.app, cid, world.other_group_id, status="shortlisted")
    company = world.browser("a@elbwerk.example")
    response = company.post(
        f"/proposals/{shortlisted}/step", {"to_status": "in_talks"}, form_url=f"/challenges/{cid}"
    )
    assert response.status_code == 403
    assert _status(world, pid) == "introduced" and _status(world, shortlisted) == "shortlisted"


def test_the_group_states_interest_and_the_office_sees_it_instead_of_050(world) -> None:
    cid, pid = _introduced(world)
    office = world.browser("office@hamburg.example")
    html = office.text(f"/office/proposals/{pid}")
    assert "Bekundetes Interesse" in html and "noch nicht angegeben" in html
    assert ">0.50<" not in html
    lab = world.browser("lab@hs.example")
    url = "/group/introductions"
    form = {"value": "not_for_us", "back": "introductions"}
    response = lab.post(f"/group/challenges/{cid}/interest", form, form_url=url)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(
        rf'id="interest-{cid}-{world.group_id}-reason-error">.*Bitte sagen Sie, warum', html
    )
    response = lab.post(
        f"/group/challenges/{cid}/interest",
        {"value": "interested", "back": "introductions"},
        form_url=url,
    )
    assert response.status_code == 302 and response.headers["Location"].endswith(url)
    html = lab.text(url)
    assert "Ihr Interesse wurde gespeichert." in html
    assert 'Ihr Interesse:</strong> <span class="interest-mine">interessiert' in html
    with session_scope(world.app) as s:
        (row,) = s.query(StatedInterest).all()
        assert (row.side.value, row.value.value) == ("group", "interested")
    html = office.text(f"/office/proposals/{pid}")
    assert "Gruppe: interessiert · Unternehmen: noch nicht angegeben" in html


def test_the_company_states_interest_in_an_introduced_group(world) -> None:
    cid, _pid = _introduced(world)
    company = world.browser("a@elbwerk.example")
    page = f"/challenges/{cid}"
    url = f"/challenges/{cid}/groups/{world.group_id}/interest"
    assert company.post(url, {"value": "not_for_us"}, form_url=page).status_code == 422
    response = company.post(url, {"value": "interested"}, form_url=page)
    assert response.status_code == 302
    html = company.text(page)
    assert "Ihr Interesse wurde gespeichert." in html
    assert "Gruppe: noch nicht angegeben · Unternehmen: interessiert" in html
    response = company.post(url, {"value": "none"}, form_url=page)
    assert "Ihr Interesse wurde zurückgenommen." in company.text(page)
    other = world.browser("b@stahl.example")
    assert other.post(url, {"value": "interested"}, form_url="/challenges").status_code == 404


def test_the_group_states_interest_from_its_matches(world) -> None:
    cid = post_challenge(world)
    lab = world.browser("lab@hs.example")
    html = lab.text("/group/matches")
    assert f'action="/group/challenges/{cid}/interest"' in html
    assert 'Ihr Interesse:</strong> <span class="interest-mine">noch nicht angegeben' in html
    response = lab.post(
        f"/group/challenges/{cid}/interest",
        {"value": "not_for_us", "reason": "", "back": "matches", "q": "", "page": "1"},
        form_url="/group/matches",
    )
    assert response.status_code == 422
    assert f'id="interest-{cid}-{world.group_id}-reason"' in response.get_data(as_text=True)
    response = lab.post(
        f"/group/challenges/{cid}/interest",
        {"value": "not_for_us", "reason": "We do no smelters.", "back": "matches"},
        form_url="/group/matches",
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/group/matches")
    html = lab.text("/group/matches")
    assert 'Ihr Interesse:</strong> <span class="interest-mine">nicht für uns' in html
