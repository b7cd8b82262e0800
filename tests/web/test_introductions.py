"""Introductions that connect: each party's e-mail in its own language, with the other party's
contact and a link; both pages show the contact; the office learns who got no e-mail."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

from tests import factories
from tests.web.conftest import add_proposal, post_challenge


def _introduce(world, proposal_id: int) -> str:
    office = world.browser("office@hamburg.example")
    url = f"/office/proposals/{proposal_id}"
    for step in ("shortlisted", "introduced"):
        response = office.post(
            f"{url}/decide", {"to_status": step, "reason_code": "good_fit"}, form_url=url
        )
        assert response.status_code == 302
    return office.text(url)


def _mails(settings) -> dict[str, email.message.EmailMessage]:
    """The outbox by recipient, parsed as a mail program would show it."""
    out = {}
    for path in Path(settings.outbox_dir).glob("*.eml"):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        out[str(msg["To"])] = msg
    return out


def test_each_party_gets_its_own_language_the_others_contact_and_a_link(world, settings) -> None:
    cid = post_challenge(world)
    proposal = add_proposal(world.app, cid, world.group_id)
    # The group's lab head chose English; the company never switched (German).
    lab = world.browser("lab@hs.example")
    assert lab.get("/lang/en?next=/group/matches").status_code == 302

    html = _introduce(world, proposal)
    assert "2 Vorstellungs-E-Mails wurden verschickt" in html

    mails = _mails(settings)
    assert set(mails) == {"a@elbwerk.example", "lab@hs.example"}
    company = mails["a@elbwerk.example"]
    text = company.get_content()
    assert company["Subject"] == (
        "Vorstellung: Thermal Lab für „Waste heat from the copper furnace into district heating“"
    )
    assert "die Innovationsstelle stellt Ihnen Thermal Lab (Hochschule Altona)" in text
    assert "Ansprechperson: Prof. Dr. Jana Petersen" in text
    assert "E-Mail: lab@hs.example" in text
    assert f"{settings.public_url}/challenges/{cid}" in text

    group = mails["lab@hs.example"]
    text = group.get_content()
    assert group["Subject"].startswith("Introduction: “Waste heat")
    assert "introduces your group to Elbwerk Kupfer GmbH" in text
    assert "Contact person: A" in text and "E-mail: a@elbwerk.example" in text
    assert f"{settings.public_url}/challenges/{cid}" in text


def test_after_an_introduction_both_pages_show_the_other_sides_contact(world) -> None:
    cid = post_challenge(world)
    proposal = add_proposal(world.app, cid, world.group_id)
    company = world.browser("a@elbwerk.example")
    group = world.browser("lab@hs.example")
    assert "a@elbwerk.example" not in group.get(f"/challenges/{cid}").get_data(as_text=True)
    _introduce(world, proposal)

    for html in (company.text(f"/challenges/{cid}"), company.text("/challenges")):
        assert "Thermal Lab" in html
        assert "Ansprechperson: Prof. Dr. Jana Petersen" in html
        assert '<a href="mailto:lab@hs.example">lab@hs.example</a>' in html
    html = group.text(f"/challenges/{cid}")
    assert "Ihr Kontakt bei Elbwerk Kupfer GmbH" in html
    assert '<a href="mailto:a@elbwerk.example">a@elbwerk.example</a>' in html


def test_a_group_lists_the_challenges_it_was_introduced_to_with_status(world) -> None:
    cid = post_challenge(world)
    other = post_challenge(world, "b@stahl.example", title="Demand response for the rolling mill")
    proposal = add_proposal(world.app, cid, world.group_id)
    add_proposal(world.app, other, world.group_id)  # proposed only: not shown to the group
    group = world.browser("lab@hs.example")
    html = group.text("/group/introductions")
    assert "Noch keine Vorstellungen" in html
    _introduce(world, proposal)
    html = group.text("/group/introductions")
    assert "1 Vorstellung" in html
    assert f'href="/challenges/{cid}"' in html and "Waste heat from the copper furnace" in html
    assert "Vorgestellt" in html and "Elbwerk Kupfer GmbH" in html
    assert "a@elbwerk.example" in html
    assert "Demand response" not in html
    assert 'href="/group/introductions"' in html  # in the navigation
    assert world.browser("a@elbwerk.example").get("/group/introductions").status_code == 403


def test_the_office_is_told_which_party_got_no_email(world, settings) -> None:
    silent_id = factories.research_group(
        world.app,
        institution_id=world.institution_id,
        name="Quiet Lab",
        head="Dr. Ole Hansen",
        capabilities="Industrial heat pumps.",
        methods="",
        keywords=[],
        contact="",
    )
    cid = post_challenge(world)
    html = _introduce(world, add_proposal(world.app, cid, silent_id))
    assert "1 Vorstellungs-E-Mail wurde verschickt" in html
    assert "Die Gruppe Quiet Lab hat keine E-Mail bekommen" in html
    assert list(_mails(settings)) == ["a@elbwerk.example"]


def test_the_public_address_of_links_must_be_absolute() -> None:
    import pytest

    from matchmaker.config import Settings

    assert (
        Settings.from_env({"MATCHMAKER_PUBLIC_URL": "https://matchmaker.hamburg.example/"})
    ).public_url == "https://matchmaker.hamburg.example"
    with pytest.raises(ValueError, match="MATCHMAKER_PUBLIC_URL"):
        Settings.from_env({"MATCHMAKER_PUBLIC_URL": "matchmaker.hamburg.example"})
