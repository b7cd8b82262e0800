"""The parties' own steps in Chromium: a company reports "Im Gespräch" on its challenge page, a
group declines with a reason in English, a group states interest in a match, and the office
reads a matching run's summary. One screenshot each, into the test's temporary directory."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from matchmaker.challenges.models import Challenge
from matchmaker.db import session_scope
from matchmaker.matching.models import ProposalStatus
from tests.browser.conftest import proposal_at, sign_in

pytestmark = pytest.mark.browser


def _introduce(site: Any, nth: int) -> tuple[int, str]:
    """Put the test group and the ``nth`` challenge of the test company at "introduced"."""
    _pid, cid, title = proposal_at(site, nth, ProposalStatus.INTRODUCED, 0.72)
    return cid, title


def _shot(page: Any, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000


def test_a_company_reports_in_talks_on_its_challenge_page(page, site, tmp_path) -> None:
    cid, _title = _introduce(site, 0)
    sign_in(page, site.company_email)
    page.goto(f"/challenges/{cid}")
    entry = page.locator("li", has=page.locator(".party-forms")).filter(has_text=site.group_name)
    expect(entry.get_by_text("Nächsten Schritt melden")).to_be_visible()
    expect(entry.locator(".interest-line")).to_contain_text("noch nicht angegeben")
    entry.get_by_label("Nächster Schritt", exact=True).select_option(label="Im Gespräch")
    entry.get_by_role("button", name="Schritt melden").click()
    expect(page.get_by_role("status")).to_contain_text("ist jetzt „Im Gespräch“")
    entry = page.locator("li", has=page.locator(".party-forms")).filter(has_text=site.group_name)
    expect(entry.locator(".badge-in_talks")).to_have_text("Im Gespräch")
    options = entry.get_by_label("Nächster Schritt", exact=True).locator("option").all_inner_texts()
    assert options == ["Kooperation", "Abgelehnt"]
    _shot(page, tmp_path, "company-in-talks")


def test_a_group_declines_with_a_reason_in_english(page, site, tmp_path) -> None:
    _cid, title = _introduce(site, 1)
    sign_in(page, site.group_email)
    page.get_by_role("link", name="English EN").click()
    page.goto("/group/introductions")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    card = page.locator("li.card", has_text=title)
    card.get_by_label("Next step", exact=True).select_option(label="Declined")
    card.get_by_role("button", name="Report step").click()
    # No reason: the form comes back, the error beside the field, the choice kept.
    card = page.locator("li.card", has_text=title)
    reason = card.get_by_label("Reason (when declining)")
    expect(reason).to_have_attribute("aria-invalid", "true")
    expect(card.locator(".error")).to_contain_text("Please fill in this field.")
    expect(card.get_by_label("Next step", exact=True)).to_have_value("declined")
    reason.select_option(label="Topic does not fit")
    card.get_by_role("button", name="Report step").click()
    expect(page.get_by_role("status")).to_contain_text("is now “Declined”")
    expect(page.locator("li.card", has_text=title)).to_have_count(0)  # declined: off the list
    _shot(page, tmp_path, "group-declines-en")


def test_a_group_states_interest_in_a_match(page, site, tmp_path) -> None:
    sign_in(page, site.group_email)
    page.goto("/group/matches")
    if page.locator("html").get_attribute("lang") != "de":  # the account kept English above
        page.get_by_role("link", name="Deutsch DE").click()
    first = page.locator("li.match").first
    title = first.get_by_role("heading", level=2).inner_text()
    expect(first.locator(".interest-mine")).to_have_text("noch nicht angegeben")
    # "Not for us" needs a reason: said beside the field.
    first.get_by_role("button", name="Nicht für uns").click()
    card = page.locator("li.match", has_text=title)
    expect(card.locator(".error")).to_contain_text("Bitte sagen Sie, warum")
    card.get_by_role("button", name="Interessiert").click()
    expect(page.locator(".flashes")).to_contain_text("Ihr Interesse wurde gespeichert.")
    card = page.locator("li.match", has_text=title)
    expect(card.locator(".interest-mine")).to_have_text("interessiert")
    expect(card.get_by_role("button", name="Zurücknehmen")).to_be_visible()
    _shot(page, tmp_path, "group-interest")


def test_the_office_reads_the_run_summary(page, site, tmp_path) -> None:
    sign_in(page, site.office_email)
    page.goto("/office/matching")
    page.get_by_role("button", name="Matching starten").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Matching-Lauf")
    summary = page.locator(".run-summary")
    expect(summary).to_be_visible(timeout=240_000)  # the page shows it once the run is done
    expect(summary.get_by_role("heading", name="Zusammenfassung")).to_be_visible()
    done, total = page.locator(".run-done").inner_text(), page.locator(".run-total").inner_text()
    with session_scope(site.app) as s:
        open_challenges = len(
            s.scalars(select(Challenge).where(Challenge.status.in_(["open", "matched"]))).all()
        )
    assert done == total and int(total) > 3  # challenges, not batches of texts
    assert int(summary.locator(".sum-challenges").inner_text().split()[0]) == int(total)
    assert int(total) <= open_challenges
    expect(summary.locator(".sum-proposals")).to_have_text(re.compile(r"^\d"))
    expect(summary.locator(".sum-changed")).to_contain_text(
        "Gruppen der reinen Top-k wurden ersetzt"
    )
    expect(summary.get_by_role("heading", level=3)).to_contain_text(
        "Herausforderungen mit weniger als"
    )
    _shot(page, tmp_path, "office-run-summary")
