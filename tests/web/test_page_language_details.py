"""Details in the page's language: the names of a profile's parts in the evidence, and numbers
in validation messages."""

from __future__ import annotations

import re

from matchmaker.db import session_scope
from matchmaker.matching.models import Proposal
from tests.web.conftest import add_proposal, challenge_form, post_challenge


def _error(html: str, name: str) -> str:
    match = re.search(rf'id="{name}-error">(.*?)</p>', html, re.S)
    assert match, f"no error for {name}"
    return re.sub(r"<[^>]+>|⚠", "", match.group(1)).strip()


def test_numbers_in_validation_messages_follow_the_page_language(world) -> None:
    company = world.browser("a@elbwerk.example")
    html = company.post("/challenges/new", challenge_form(co2_saving_t="-1")).get_data(as_text=True)
    assert _error(html, "co2_saving_t") == "Muss mindestens 0,0 sein."
    html = company.post("/challenges/new", challenge_form(co2_saving_t="20000000")).get_data(
        as_text=True
    )
    assert _error(html, "co2_saving_t") == "Darf höchstens 10.000.000,0 sein."
    company.get("/lang/en")
    html = company.post("/challenges/new", challenge_form(co2_saving_t="-1")).get_data(as_text=True)
    assert _error(html, "co2_saving_t") == "Must be at least 0.0."
    html = company.post("/challenges/new", challenge_form(co2_saving_t="20000000")).get_data(
        as_text=True
    )
    assert _error(html, "co2_saving_t") == "Must be at most 10,000,000.0."


def test_the_methods_and_keywords_part_is_named_in_german_on_german_pages(world) -> None:
    cid = post_challenge(world)
    pid = add_proposal(world.app, cid, world.group_id)
    with session_scope(world.app) as s:
        proposal = s.get(Proposal, pid)
        assert proposal is not None
        evidence = dict(proposal.evidence)
        evidence["pairs"] = [dict(evidence["pairs"][0], document="Methods and keywords")]
        proposal.evidence = evidence
    office = world.browser("office@hamburg.example")
    html = office.text(f"/office/proposals/{pid}")
    assert "↔ Methoden und Schlagwörter" in html
    assert "Methods and keywords" not in html
    office.get("/lang/en")
    assert "↔ Methods and keywords" in office.text(f"/office/proposals/{pid}")
