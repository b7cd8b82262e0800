"""In Chromium, in German and English: a group edits a publication's title and authors on its
publications page (a wrong year first, said beside the field), and a company closes a challenge
through the confirmation page, then opens it again."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from matchmaker.db import session_scope
from tests.browser.conftest import Site, no_horizontal_scroll, sign_in

pytestmark = pytest.mark.browser

TEXTS = {
    "de": {
        "nav": "Hauptnavigation",
        "publications": "Publikationen",
        "edit": "Bearbeiten",
        "title": "Titel",
        "authors": "Autorinnen und Autoren",
        "year": "Jahr",
        "save": "Änderungen speichern",
        "year_error": "Geben Sie ein Jahr von 1900 bis 2100 ein.",
        "saved": "Ihre Änderungen an „{title}“ wurden gespeichert.",
        "close": "Schließen",
        "confirm_heading": "Herausforderung schließen?",
        "confirm": "Ja, schließen",
        "closed": "Die Herausforderung „{title}“ ist geschlossen",
        "state": "Geschlossen: Diese Herausforderung wird nicht mehr vermittelt",
        "badge": "Geschlossen",
        "reopen": "Wieder öffnen",
        "reopened": "Die Herausforderung „{title}“ ist wieder offen",
    },
    "en": {
        "nav": "Main",
        "publications": "Publications",
        "edit": "Edit",
        "title": "Title",
        "authors": "Authors",
        "year": "Year",
        "save": "Save changes",
        "year_error": "Enter a year from 1900 to 2100.",
        "saved": "Your changes to “{title}” were saved.",
        "close": "Close",
        "confirm_heading": "Close the challenge?",
        "confirm": "Yes, close it",
        "closed": "The challenge “{title}” is closed",
        "state": "Closed: this challenge is no longer matched",
        "badge": "Closed",
        "reopen": "Reopen",
        "reopened": "The challenge “{title}” is open again",
    },
}


def _language(page: Any, lang: str) -> None:
    page.get_by_role("link", name="English EN" if lang == "en" else "Deutsch DE").click()
    expect(page.locator("html")).to_have_attribute("lang", lang)


@pytest.fixture(scope="module")
def targets(site: Site) -> dict[str, Any]:
    """Per language, one publication of the signed-in group and one open challenge of the
    company, so that the two journeys of each language touch different rows."""
    from matchmaker.challenges.models import Challenge, ChallengeStatus
    from matchmaker.groups.models import Publication
    from matchmaker.organisations.models import Organisation

    with session_scope(site.app) as s:
        pubs = list(
            s.scalars(
                select(Publication)
                .where(Publication.group_id == site.group_id)
                .order_by(Publication.id)
            )
        )
        company = s.scalar(select(Organisation).where(Organisation.name == site.company_name))
        assert company is not None
        open_ = list(
            s.scalars(
                select(Challenge)
                .where(
                    Challenge.organisation_id == company.id,
                    Challenge.status == ChallengeStatus.OPEN,
                    Challenge.archived_at.is_(None),
                )
                .order_by(Challenge.id)
            )
        )
        assert len(pubs) >= 2 and len(open_) >= 2, "the sample data changed"
        return {
            "de": {"pub": pubs[0].id, "challenge": (open_[0].id, open_[0].title)},
            "en": {"pub": pubs[1].id, "challenge": (open_[1].id, open_[1].title)},
        }


@pytest.mark.parametrize("lang", ["de", "en"])
def test_a_group_edits_a_publications_title_and_authors(
    page, site, targets, lang, tmp_path: Path
) -> None:
    t = TEXTS[lang]
    pid = targets[lang]["pub"]
    sign_in(page, site.group_email)
    _language(page, lang)
    page.get_by_role("navigation", name=t["nav"]).get_by_role(
        "link", name=t["publications"], exact=True
    ).click()
    item = page.locator(f"#publication-{pid}")
    item.locator("summary", has_text=t["edit"]).click()
    title = f"Hochtemperatur-Wärmepumpen im Feldtest ({lang})"
    item.get_by_label(t["title"], exact=True).fill(title)
    item.get_by_label(t["authors"]).fill("Petersen, Jana\nHansen, Ole")
    item.get_by_label(t["year"]).fill("1850")
    item.get_by_role("button", name=t["save"]).click()

    # The wrong year is said beside the field; what was typed is still there.
    item = page.locator(f"#publication-{pid}")
    expect(item.locator(f"#year-{pid}-error")).to_have_text(re.compile(re.escape(t["year_error"])))
    expect(item.get_by_label(t["year"])).to_have_attribute("aria-invalid", "true")
    expect(item.get_by_label(t["title"], exact=True)).to_have_value(title)
    expect(item.get_by_label(t["authors"])).to_have_value("Petersen, Jana\nHansen, Ole")
    page.screenshot(path=str(tmp_path / f"publication-error-{lang}.png"), full_page=True)
    item.get_by_label(t["year"]).fill("2024")
    item.get_by_role("button", name=t["save"]).click()

    expect(page.get_by_role("status")).to_contain_text(t["saved"].format(title=title))
    item = page.locator(f"#publication-{pid}")
    expect(item.locator(".pub-title")).to_have_text(title)
    expect(item.locator(".pub-authors")).to_have_text("Petersen, Jana; Hansen, Ole")
    expect(item.locator(".meta").first).to_contain_text("2024")
    assert no_horizontal_scroll(page)
    path = tmp_path / f"publication-edited-{lang}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000

    from matchmaker.groups.models import Publication

    with session_scope(site.app) as s:
        pub = s.get(Publication, pid)
        assert pub is not None
        assert (pub.title, pub.authors, pub.year) == (
            title,
            ["Petersen, Jana", "Hansen, Ole"],
            2024,
        )


@pytest.mark.parametrize("lang", ["en", "de"])
def test_a_company_closes_a_challenge_after_confirming(
    page, site, targets, lang, tmp_path: Path
) -> None:
    t = TEXTS[lang]
    cid, title = targets[lang]["challenge"]
    sign_in(page, site.company_email)
    _language(page, lang)
    page.goto(f"/challenges/{cid}")
    actions = page.locator(".challenge-actions")
    actions.get_by_role("link", name=t["close"], exact=True).click()

    expect(page).to_have_url(re.compile(rf"/challenges/{cid}/close$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(t["confirm_heading"])
    confirm_shot = tmp_path / f"challenge-close-confirm-{lang}.png"
    page.screenshot(path=str(confirm_shot), full_page=True)
    page.get_by_role("button", name=t["confirm"]).click()

    expect(page).to_have_url(re.compile(rf"/challenges/{cid}$"))
    expect(page.get_by_role("status")).to_contain_text(t["closed"].format(title=title))
    expect(page.locator("#challenge-state")).to_contain_text(t["state"])
    expect(page.locator(".page-head .badge").first).to_have_text(t["badge"])
    expect(actions.get_by_role("link", name=t["close"], exact=True)).to_have_count(0)
    path = tmp_path / f"challenge-closed-{lang}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000 and confirm_shot.stat().st_size > 10_000

    from matchmaker.challenges.models import Challenge

    with session_scope(site.app) as s:
        item = s.get(Challenge, cid)
        assert item is not None and item.status.value == "closed"

    # Opened again, it is matched again.
    page.locator(".challenge-actions").get_by_role("button", name=t["reopen"]).click()
    expect(page.get_by_role("status")).to_contain_text(t["reopened"].format(title=title))
    expect(page.locator("#challenge-state")).to_have_count(0)
    with session_scope(site.app) as s:
        item = s.get(Challenge, cid)
        assert item is not None and item.status.value == "open"
