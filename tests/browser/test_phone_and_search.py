"""On a phone (375 px) the menu reaches every entry and no page scrolls sideways; the list
pages search, page and download, in German and English, in Chromium."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from matchmaker.db import session_scope
from tests import factories
from tests.browser.conftest import Site, no_horizontal_scroll, sign_in

pytestmark = pytest.mark.browser

TEXTS = {
    "de": {
        "menu": "Menü",
        "dashboard": "Dashboard",
        "strategy": "Strategie",
        "publications": "Publikationen",
        "matched": "Vermittelt",
        "search": "Suchen",
        "clear": "Suche aufheben",
        "page2": re.compile(r"Seite 2 von \d+"),
        "csv": "Prüfliste als CSV herunterladen",
        "csv_header": "Vorschlag;Score;Herausforderung",
    },
    "en": {
        "menu": "Menu",
        "dashboard": "Dashboard",
        "strategy": "Strategy",
        "publications": "Publications",
        "matched": "Matched",
        "search": "Search",
        "clear": "Clear the search",
        "page2": re.compile(r"Page 2 of \d+"),
        "csv": "Download the queue as CSV",
        "csv_header": "Proposal,Score,Challenge",
    },
}


@pytest.fixture(scope="module")
def matched(site: Site) -> dict[str, Any]:
    """Proposals in the queue, and one of the company's challenges matched (the long badge)."""
    from matchmaker.challenges.models import Challenge, ChallengeStatus
    from matchmaker.groups.models import ResearchGroup
    from matchmaker.matching.models import ProposalStatus
    from matchmaker.organisations.models import Organisation

    with session_scope(site.app) as s:
        company = s.scalar(select(Organisation).where(Organisation.name == site.company_name))
        challenges = list(s.scalars(select(Challenge).order_by(Challenge.id)))
        groups = list(s.scalars(select(ResearchGroup).order_by(ResearchGroup.id)))
        own = [c for c in challenges if c.organisation_id == company.id]
        target = own[0]
        target.status = ChallengeStatus.MATCHED
        # German titles have long words: the badge must still fit beside the title.
        target.title = "Hochtemperaturwärmepumpen für Prozessdampf aus Ofenabwärme"
        for i, c in enumerate(challenges[:30]):
            for j, g in enumerate(groups[:2]):
                introduced = c.id == target.id and j == 0
                s.add(
                    factories.build_proposal(
                        challenge_id=c.id,
                        group_id=g.id,
                        score=round(0.9 - i / 100 - j / 200, 4),
                        components={"semantic": 0.7, "lexical": 0.4, "fields": 1.0, "trl": 0.9},
                        evidence={"pairs": [], "terms": []},
                        status=ProposalStatus.INTRODUCED if introduced else ProposalStatus.PROPOSED,
                    )
                )
        return {"id": target.id, "title": target.title, "group": groups[0].name}


def _language(page: Any, lang: str) -> None:
    # The choice is kept with the account, so it is made every time.
    page.get_by_role("link", name="English EN" if lang == "en" else "Deutsch DE").click()
    expect(page.locator("html")).to_have_attribute("lang", lang)


def _save(page: Any, directory: Path, name: str) -> None:
    page.screenshot(path=str(directory / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("lang", ["de", "en"])
def test_the_phone_menu_shows_every_entry(phone, site, matched, lang, tmp_path) -> None:
    t = TEXTS[lang]
    sign_in(phone, site.office_email)
    _language(phone, lang)
    nav = phone.locator("nav.main-nav")
    menu = nav.locator("summary")
    expect(menu).to_be_visible()
    expect(menu).to_contain_text(t["menu"])
    # Closed, the menu hides its entries; the one-row list is not shown on a phone at all.
    expect(nav.get_by_role("link", name=t["dashboard"])).to_be_hidden()
    assert no_horizontal_scroll(phone)
    menu.click()
    for name in (t["dashboard"], t["strategy"]):
        link = nav.get_by_role("link", name=name, exact=True)
        expect(link).to_be_visible()
        box = link.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375, (name, box)
    _save(phone, tmp_path, f"phone-menu-office-{lang}")
    nav.get_by_role("link", name=t["strategy"], exact=True).click()
    expect(phone).to_have_url(re.compile(r"/office/strategy$"))
    nav.locator("summary").click()
    nav.get_by_role("link", name=t["dashboard"], exact=True).click()
    expect(phone).to_have_url(re.compile(r"/office/dashboard$"))
    expect(phone.get_by_role("heading", level=1)).to_have_text(t["dashboard"])
    # The menu names the page it is on.
    expect(nav.locator("summary")).to_contain_text(t["dashboard"])

    phone.context.clear_cookies()
    sign_in(phone, site.group_email)
    _language(phone, lang)
    nav.locator("summary").click()
    nav.get_by_role("link", name=t["publications"], exact=True).click()
    expect(phone).to_have_url(re.compile(r"/group/publications$"))
    _save(phone, tmp_path, f"phone-publications-{lang}")


@pytest.mark.parametrize("lang", ["de", "en"])
def test_no_page_scrolls_sideways_on_a_phone(phone, site, matched, lang, tmp_path) -> None:
    t = TEXTS[lang]
    sign_in(phone, site.office_email)
    _language(phone, lang)
    for url, name in [
        ("/office/proposals", "queue"),
        ("/office/proposals?q=w%C3%A4rme", "queue-search"),
        ("/office/dashboard", "dashboard"),
        ("/challenges", "office-challenges"),
        ("/office/strategy", "strategy"),
        ("/office/matching", "matching"),
        ("/account/tokens", "tokens"),
    ]:
        phone.goto(url)
        assert no_horizontal_scroll(phone), f"{url} scrolls sideways at 375 px ({lang})"
        _save(phone, tmp_path, f"phone-{name}-{lang}")

    phone.context.clear_cookies()
    sign_in(phone, site.company_email)
    _language(phone, lang)
    phone.goto("/challenges/new")
    assert no_horizontal_scroll(phone), f"/challenges/new scrolls sideways at 375 px ({lang})"
    for url, name in [
        ("/challenges", "company-challenges"),
        (f"/challenges/{matched['id']}", "challenge"),
    ]:
        phone.goto(url)
        badge = phone.locator(".badge", has_text=t["matched"]).first
        expect(badge).to_be_visible()
        # The badge stays inside its card (or the page's head) and the page's width.
        frame = badge.locator(
            "xpath=ancestor::*[contains(concat(' ', @class, ' '), ' card ')"
            " or contains(concat(' ', @class, ' '), ' page-head ')][1]"
        )
        inner, outer = badge.bounding_box(), frame.bounding_box()
        assert inner["x"] + inner["width"] <= outer["x"] + outer["width"], (url, inner, outer)
        assert inner["x"] + inner["width"] <= 375, (url, inner)
        assert no_horizontal_scroll(phone), f"{url} scrolls sideways at 375 px ({lang})"
        _save(phone, tmp_path, f"phone-{name}-{lang}")

    phone.context.clear_cookies()
    sign_in(phone, site.group_email)
    _language(phone, lang)
    phone.goto("/group/matches")
    expect(phone.locator(".match").first).to_be_visible(timeout=60_000)
    assert no_horizontal_scroll(phone), f"/group/matches scrolls sideways at 375 px ({lang})"
    _save(phone, tmp_path, f"phone-group-matches-{lang}")
    phone.locator("a[rel=next]").click()
    expect(phone).to_have_url(re.compile(r"page=2"))
    assert no_horizontal_scroll(phone), f"/group/matches?page=2 scrolls sideways ({lang})"
    for url in ("/group/profile", "/group/publications", "/group/introductions"):
        phone.goto(url)
        assert no_horizontal_scroll(phone), f"{url} scrolls sideways at 375 px ({lang})"
        _save(phone, tmp_path, f"phone-{url.rsplit('/', 1)[-1]}-{lang}")


@pytest.mark.parametrize("lang", ["de", "en"])
def test_search_paging_and_the_queue_download(page, site, matched, lang, tmp_path) -> None:
    t = TEXTS[lang]
    sign_in(page, site.office_email)
    _language(page, lang)
    page.goto("/office/proposals")
    word = matched["title"].split()[0]
    box = page.get_by_role("searchbox", name=t["search"])
    box.fill(word)
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"[?&]q="))
    expect(page.get_by_role("searchbox", name=t["search"])).to_have_value(word)
    rows = page.locator("table.queue tbody tr")
    expect(rows.filter(has_text=matched["title"]).first).to_be_visible()
    with page.expect_download() as info:
        page.get_by_role("link", name=t["csv"]).click()
    text = Path(info.value.path()).read_text(encoding="utf-8-sig")
    assert text.startswith(t["csv_header"])
    delimiter = ";" if lang == "de" else ","
    lines = list(csv.reader(io.StringIO(text), delimiter=delimiter))[1:]
    # The download is the search's result: every row names the word, as many as the page lists.
    assert lines and all(word.lower() in " ".join(line[2:6]).lower() for line in lines)
    assert min(len(lines), 25) == rows.count()
    _save(page, tmp_path, f"queue-search-{lang}")

    box = page.get_by_role("searchbox", name=t["search"])
    box.fill("zzzqx nothing")
    box.press("Enter")
    expect(page.get_by_role("status").filter(has_text="zzzqx")).to_be_visible()
    page.get_by_role("link", name=t["clear"]).click()
    expect(page.get_by_role("searchbox", name=t["search"])).to_have_value("")
    expect(rows.first).to_be_visible()

    page.context.clear_cookies()
    sign_in(page, site.group_email)
    _language(page, lang)
    expect(page.locator(".match").first).to_be_visible(timeout=60_000)
    first_page = page.locator(".match h2").all_inner_texts()
    assert len(first_page) == 10
    page.locator("a[rel=next]").click()
    expect(page.get_by_text(t["page2"])).to_be_visible()
    second_page = page.locator(".match h2").all_inner_texts()
    assert second_page and not set(second_page) & set(first_page)
    _save(page, tmp_path, f"group-matches-page-2-{lang}")
    page.locator("a[rel=prev]").click()
    expect(page).to_have_url(re.compile(r"page=1"))
    assert page.locator(".match h2").all_inner_texts() == first_page
