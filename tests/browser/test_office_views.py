"""The office's groups page with search, a challenge's candidates compared, the strategy preview
naming who enters and leaves a top k, and a past deadline refused: in Chromium, in German and
English, with screenshots in the test's tmp dir (issue 15)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from matchmaker.db import session_scope
from tests.browser.conftest import Site, no_horizontal_scroll, screenshot, sign_in

pytestmark = pytest.mark.browser

TEXTS = {
    "de": {
        "groups": "Forschungsgruppen",
        "search": "Suchen",
        "count": re.compile(r"^\d+ Forschungsgruppen?$"),
        "publications": "Publikationen",
        "proposals": "Vorschläge",
        "compare": "Kandidaten vergleichen",
        "compared": "Kandidaten im Vergleich",
        "similarity": "Textähnlichkeit",
        "load": "Auslastung",
        "shortlisted": "Vorgemerkt",
        "similar": "Ähnliche Herausforderungen",
        "strategy": "Strategie",
        "preview": "Wirkung ansehen",
        "weight": "Sektorkopplung",
        "value": "0,2",
        "enters": "kommt hinzu",
        "leaves": "fällt heraus",
        "changed": re.compile(r"Die besten Gruppen ändern sich bei \d+ Herausforderungen?\."),
        "saved": "Noch ist nichts gespeichert.",
        "title": "Titel",
        "summary": "Öffentliche Zusammenfassung",
        "field": "Energieeffizienz",
        "deadline": "Frist",
        "post": "Herausforderung einstellen",
        "past": "Die Frist darf nicht in der Vergangenheit liegen.",
        "stored": "wurde gespeichert",
    },
    "en": {
        "groups": "Research groups",
        "search": "Search",
        "count": re.compile(r"^\d+ research groups?$"),
        "publications": "Publications",
        "proposals": "Proposals",
        "compare": "Compare the candidates",
        "compared": "Candidates compared",
        "similarity": "Text similarity",
        "load": "Load",
        "shortlisted": "Shortlisted",
        "similar": "Similar challenges",
        "strategy": "Strategy",
        "preview": "Preview effect",
        "weight": "Sector coupling",
        "value": "0.2",
        "enters": "enters",
        "leaves": "leaves",
        "changed": re.compile(r"The best groups change for \d+ challenges?\."),
        "saved": "Nothing has been saved yet.",
        "title": "Title",
        "summary": "Public summary",
        "field": "Energy efficiency",
        "deadline": "Deadline",
        "post": "Post challenge",
        "past": "The deadline must not be in the past.",
        "stored": "was saved",
    },
}


def _language(page: Any, lang: str) -> None:
    page.get_by_role("link", name="English EN" if lang == "en" else "Deutsch DE").click()
    expect(page.locator("html")).to_have_attribute("lang", lang)


def _save(page: Any, directory: Path, name: str) -> Path:
    path = screenshot(page, directory / f"{name}.png")
    assert path.stat().st_size > 10_000
    return path


@pytest.mark.parametrize("lang", ["de", "en"])
def test_the_office_searches_the_research_groups(page, site, lang, tmp_path) -> None:
    t = TEXTS[lang]
    sign_in(page, site.office_email)
    _language(page, lang)
    page.get_by_role("navigation", name=re.compile("Hauptnavigation|Main")).get_by_role(
        "link", name=t["groups"], exact=True
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t["groups"])
    rows = page.locator("table.groups-table tbody tr")
    expect(rows.first).to_be_visible()
    everyone = rows.count()
    assert everyone == 25  # the first page of the sample's groups
    expect(page.locator(".pager")).to_be_visible()
    # Each row: the load against capacity and the proposals by status.
    expect(rows.first.locator(".load-figure")).to_have_text(re.compile(r"^\d+ / \d+$"))
    box = page.get_by_role("searchbox", name=t["search"])
    box.fill("heat pumps")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"[?&]q=heat"))
    expect(page.get_by_role("searchbox", name=t["search"])).to_have_value("heat pumps")
    found = rows.count()
    assert 0 < found < everyone
    expect(page.locator(".lead")).to_have_text(t["count"])
    names = rows.locator("td:first-child > a").all_inner_texts()
    assert any("Heat Pumps" in n for n in names), names
    assert not any("Battery" in n for n in names), names
    _save(page, tmp_path, f"office-groups-search-{lang}")
    name = rows.first.locator("a").first.inner_text()
    rows.first.locator("a").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    expect(page.get_by_role("heading", name=re.compile(t["publications"]))).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile(f"^{t['proposals']}"))).to_be_visible()
    assert no_horizontal_scroll(page)
    _save(page, tmp_path, f"office-group-{lang}")


@pytest.mark.parametrize("lang", ["de", "en"])
def test_the_office_compares_the_candidates_of_a_challenge(
    page, site: Site, lang, tmp_path
) -> None:
    from matchmaker.challenges.models import Challenge, ChallengeStatus
    from matchmaker.matching.models import Proposal, ProposalStatus

    t = TEXTS[lang]
    with session_scope(site.app) as s:
        open_ones = s.scalars(
            select(Challenge.id)
            .where(Challenge.status == ChallengeStatus.OPEN)
            .order_by(Challenge.id)
        ).all()
        cid = open_ones[0 if lang == "de" else 1]
    sign_in(page, site.office_email)
    _language(page, lang)
    page.goto(f"/challenges/{cid}")
    page.get_by_role("link", name=t["compare"]).click()
    expect(page).to_have_url(re.compile(rf"/office/challenges/{cid}/candidates$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(t["compared"])
    table = page.locator("table.candidates")
    for header in (t["similarity"], t["load"]):
        expect(table.get_by_role("columnheader", name=header)).to_be_visible()
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(10)
    expect(table.locator("tbody tr.in-top")).to_have_count(site.settings.proposals_per_challenge)
    scores = [float(x) for x in rows.locator(".score-num").all_inner_texts()]
    assert scores == sorted(scores, reverse=True)
    href = rows.first.locator("a").first.get_attribute("href")
    group_id = int(href.rstrip("/").split("/")[-1])
    with session_scope(site.app) as s:
        p = Proposal(
            challenge_id=cid,
            group_id=group_id,
            score=scores[0],
            components={},
            evidence={"pairs": [], "terms": []},
            strategy_version=1,
            status=ProposalStatus.SHORTLISTED,
        )
        s.add(p)
        s.flush()
        pid = p.id
    # From the proposal page: the comparison shows the proposal made, and the page lists
    # similar challenges of every company.
    page.goto(f"/office/proposals/{pid}")
    expect(page.get_by_role("heading", name=t["similar"])).to_be_visible()
    expect(page.locator(".similar-challenges li").first).to_be_visible()
    page.get_by_role("link", name=t["compare"]).click()
    expect(rows.first.locator(".badge")).to_have_text(t["shortlisted"])
    _save(page, tmp_path, f"office-candidates-{lang}")


@pytest.mark.parametrize("lang", ["de", "en"])
def test_the_strategy_preview_names_who_enters_and_leaves(page, site, lang, tmp_path) -> None:
    t = TEXTS[lang]
    sign_in(page, site.office_email)
    _language(page, lang)
    page.get_by_role("link", name=t["strategy"], exact=True).click()
    page.get_by_label(t["weight"], exact=True).fill(t["value"])
    page.get_by_role("button", name=t["preview"]).click()
    preview = page.locator("#preview")
    expect(preview).to_contain_text(t["saved"], timeout=60_000)
    expect(preview).to_contain_text(t["changed"])
    expect(page.get_by_label(t["weight"], exact=True)).to_have_value(t["value"])
    first = preview.locator(".strategy-change").first
    expect(first.locator("tbody tr", has_text=t["enters"]).first).to_be_visible()
    expect(first.locator("tbody tr", has_text=t["leaves"]).first).to_be_visible()
    # The one who enters now ranks within the top k, the one who leaves below it.
    k = site.settings.proposals_per_challenge
    entering = first.locator("tbody tr", has_text=t["enters"]).first.locator("td.num")
    leaving = first.locator("tbody tr", has_text=t["leaves"]).first.locator("td.num")
    assert int(entering.nth(0).inner_text()) > k >= int(entering.nth(1).inner_text())
    assert int(leaving.nth(0).inner_text()) <= k < int(leaving.nth(1).inner_text())
    _save(page, tmp_path, f"office-strategy-changes-{lang}")
    if lang == "de":
        page.get_by_label(t["weight"], exact=True).fill("1.000,5")
        page.get_by_role("button", name=t["preview"]).click()
        expect(page.locator("#w_sector_coupling-error")).to_have_text(
            "Geben Sie für „Sektorkopplung“ eine Zahl von 0 bis 1 ein, z. B. 0,2."
        )


@pytest.mark.parametrize("lang", ["de", "en"])
def test_a_past_deadline_is_refused_beside_the_field(page, site, lang, tmp_path) -> None:
    t = TEXTS[lang]
    sign_in(page, site.company_email)
    _language(page, lang)
    page.goto("/challenges/new")
    title = f"Compressed air leaks in hall {lang}"
    page.get_by_label(t["title"], exact=True).fill(title)
    page.get_by_label(t["summary"], exact=True).fill(
        "Our compressed air network loses a third of its air through leaks; we look for a "
        "partner to find them acoustically while the plant runs."
    )
    page.get_by_label(t["field"]).check()
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    page.get_by_label(t["deadline"], exact=True).fill(yesterday)
    page.get_by_role("button", name=t["post"]).click()
    expect(page.locator("#deadline-error")).to_contain_text(t["past"])
    expect(page.get_by_label(t["deadline"], exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label(t["title"], exact=True)).to_have_value(title)
    _save(page, tmp_path, f"company-past-deadline-{lang}")
    next_year = (dt.date.today() + dt.timedelta(days=365)).isoformat()
    page.get_by_label(t["deadline"], exact=True).fill(next_year)
    page.get_by_role("button", name=t["post"]).click()
    expect(page.get_by_role("status")).to_contain_text(t["stored"])
    expect(page.get_by_role("heading", level=1)).to_have_text(title)


def test_the_new_office_pages_fit_a_phone(phone, site, tmp_path) -> None:
    from matchmaker.challenges.models import Challenge

    with session_scope(site.app) as s:
        cid = s.scalar(select(Challenge.id).order_by(Challenge.id))
    sign_in(phone, site.office_email)
    for url, name in [
        ("/office/groups?q=heat", "groups"),
        (f"/office/groups/{site.group_id}", "group"),
        (f"/office/challenges/{cid}/candidates", "candidates"),
    ]:
        phone.goto(url)
        expect(phone.get_by_role("heading", level=1)).to_be_visible()
        assert no_horizontal_scroll(phone), f"{url} scrolls sideways at 375 px"
        _save(phone, tmp_path, f"phone-{name}")
