"""Issue 15's items built with page tests only, now in Chromium, in German and English: the
introduction e-mails in each recipient's language, the office's proposal page, the dashboard's
honest figures and German CSV, the styled error pages, the browser's language on a first visit
and a challenge form's errors all at once."""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from email import policy
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from matchmaker.db import session_scope
from tests import factories
from tests.browser.conftest import PASSWORD, Site, no_horizontal_scroll, proposal_at, shot

pytestmark = pytest.mark.browser

LANGS = ["de", "en"]
LOCALES = {"de": "de-DE", "en": "en-GB"}
T = {
    "de": {
        "email": "E-Mail",
        "password": "Passwort",
        "sign_in": "Anmelden",
        "hello": "Guten Tag,",
        "contact": "Ansprechperson",
        "start": "Fragen der Industrie, Antworten der Forschung.",
        "sentence": "Satzähnlichkeit:",
        "passage": "Textstellenähnlichkeit:",
        "introduced": "Vorgestellt",
        "proposed": "Vorgeschlagen, noch nicht vorgestellt",
        "co2_hint": "zählt nur, was vorgestellt wurde",
        "full": "voll",
        "csv": "CSV herunterladen",
        "forbidden": "Nicht erlaubt",
        "not_found": "Nicht gefunden",
        "back": "Zurück",
        "home": "Zur Startseite",
        "fill": "Bitte füllen Sie dieses Feld aus.",
        "trl": "Muss mindestens der heutige TRL sein.",
        "short": "Bitte schreiben Sie mindestens 10 Zeichen.",
        "submit": "Herausforderung einstellen",
    },
    "en": {
        "email": "E-mail",
        "password": "Password",
        "sign_in": "Sign in",
        "hello": "Hello,",
        "contact": "Contact person",
        "start": "Industry challenges, research answers.",
        "sentence": "Sentence similarity:",
        "passage": "Passage similarity:",
        "introduced": "Introduced",
        "proposed": "Proposed, not yet introduced",
        "co2_hint": "only what was introduced",
        "full": "full",
        "csv": "Download CSV",
        "forbidden": "Not allowed",
        "not_found": "Not found",
        "back": "Back",
        "home": "To the start page",
        "fill": "Please fill in this field.",
        "trl": "Must be at least the TRL today.",
        "short": "Please write at least 10 characters.",
        "submit": "Post challenge",
    },
}


def _browser(chromium: Any, site: Site, lang: str, **kw: Any) -> Any:
    """A fresh context whose browser asks for ``lang``; the context closes with the test."""
    options: dict[str, Any] = {
        "viewport": {"width": 1280, "height": 860},
        "base_url": site.url,
        "locale": LOCALES[lang],
        "accept_downloads": True,
    }
    options.update(kw)
    if options["locale"] is None:  # Playwright's locale would override an Accept-Language header
        del options["locale"]
    context = chromium.new_context(**options)
    context.set_default_timeout(20_000)
    return context


@pytest.fixture
def contexts(chromium: Any, site: Site) -> Iterator[Any]:
    opened: list[Any] = []

    def open_page(lang: str, **kw: Any) -> Any:
        context = _browser(chromium, site, lang, **kw)
        opened.append(context)
        return context.new_page()

    yield open_page
    for context in opened:
        context.close()


def _sign_in(page: Any, email_address: str, lang: str) -> None:
    """Sign in through the form in ``lang``, then choose ``lang`` (for the account too)."""
    t = T[lang]
    page.goto("/login")
    expect(page.locator("html")).to_have_attribute("lang", lang)
    page.get_by_label(t["email"], exact=True).fill(email_address)
    page.get_by_label(t["password"], exact=True).fill(PASSWORD)
    page.get_by_role("button", name=t["sign_in"]).click()
    page.wait_for_load_state()
    page.goto(f"/lang/{lang}")  # the account's language is its e-mails' language
    expect(page.locator("html")).to_have_attribute("lang", lang)


@pytest.fixture(scope="module")
def matched(chromium: Any, site: Site) -> None:
    """The office runs a matching, so proposals carry the evidence a run stores."""
    context = _browser(chromium, site, "de")
    page = context.new_page()
    try:
        _sign_in(page, site.office_email, "de")
        page.goto("/office/matching")
        page.get_by_role("button", name="Matching starten").click()
        expect(page.get_by_role("link", name="Vorschläge prüfen")).to_be_visible(timeout=300_000)
    finally:
        context.close()


def _shortlisted(site: Site, nth: int) -> tuple[int, int, str]:
    """A shortlisted proposal of the test group for the ``nth`` challenge of the test company."""
    from matchmaker.matching.models import ProposalStatus

    return proposal_at(site, nth, ProposalStatus.SHORTLISTED, 0.7)


def _read_mail(path: Path) -> Any:
    return email.message_from_bytes(path.read_bytes(), policy=policy.default)


# --- 1. introductions that connect ----------------------------------------------------------


@pytest.mark.parametrize(
    ("company_lang", "group_lang"), [("de", "en"), ("en", "de")], ids=["company-de", "company-en"]
)
def test_introduction_mails_in_each_recipients_language_with_the_other_sides_contact(
    contexts, site, company_lang, group_lang
) -> None:
    from matchmaker.groups.models import ResearchGroup

    proposal_id, challenge_id, title = _shortlisted(site, 0 if company_lang == "de" else 1)
    with session_scope(site.app) as s:
        group = s.get(ResearchGroup, site.group_id)
        assert group is not None
        head, group_address = group.head, group.contact
    assert head and group_address  # the sample group has a head and a contact address

    company = contexts(company_lang)
    _sign_in(company, site.company_email, company_lang)
    group_page = contexts(group_lang)
    _sign_in(group_page, site.group_email, group_lang)

    office = contexts("de")
    _sign_in(office, site.office_email, "de")
    before = set(site.outbox())
    office.goto(f"/office/proposals/{proposal_id}")
    office.get_by_label("Verschieben nach").select_option("introduced")
    office.get_by_label("Grund", exact=True).select_option("good_fit")
    office.get_by_role("button", name="Entscheidung speichern").click()
    expect(office.get_by_role("status")).to_contain_text("Vorstellungs-E-Mails wurden verschickt")

    mails = [_read_mail(p) for p in sorted(set(site.outbox()) - before)]
    link = f"{site.settings.public_url.rstrip('/')}/challenges/{challenge_id}"
    to_company = [m for m in mails if site.company_email in m["To"]]
    to_group = [m for m in mails if site.group_email in m["To"]]
    assert len(to_company) == 1 and len(to_group) == 1, [m["To"] for m in mails]
    for mail, lang in ((to_company[0], company_lang), (to_group[0], group_lang)):
        body = mail.get_content()
        assert body.startswith(T[lang]["hello"]), body
        assert T[lang]["contact"] in body
        other = T["en" if lang == "de" else "de"]
        assert other["hello"] not in body and other["contact"] not in body
        assert link in body
        assert title in mail["Subject"]
    company_body = to_company[0].get_content()
    assert head in company_body and group_address in company_body
    group_body = to_group[0].get_content()
    assert "Katrin Albers" in group_body and site.company_email in group_body
    assert site.group_email not in to_company[0]["To"]  # each party its own e-mail

    # Both pages now show the other side's contact.
    company.goto(f"/challenges/{challenge_id}")
    entry = company.locator("li", has=company.locator(".contact")).filter(has_text=site.group_name)
    expect(entry.locator(".contact")).to_contain_text(head)
    expect(entry.get_by_role("link", name=group_address)).to_have_attribute(
        "href", f"mailto:{group_address}"
    )
    group_page.goto("/group/introductions")
    card = group_page.locator("li.card", has_text=title)
    expect(card.locator(".contact")).to_contain_text("Katrin Albers")
    expect(card.get_by_role("link", name=site.company_email)).to_be_visible()
    expect(card.get_by_role("link", name=title)).to_have_attribute(
        "href", f"/challenges/{challenge_id}"
    )


# --- 2. evidence a reviewer can trust -------------------------------------------------------


def _proposal_with_evidence(site: Site) -> int:
    from matchmaker.matching.models import Proposal, ProposalStatus

    with session_scope(site.app) as s:
        for p in s.scalars(
            select(Proposal)
            .where(Proposal.status == ProposalStatus.PROPOSED)
            .order_by(Proposal.score.desc())
        ):
            if (p.evidence or {}).get("pairs"):
                return p.id
    raise AssertionError("the matching run stored no evidence")


@pytest.mark.parametrize("lang", LANGS)
def test_the_proposal_page_marks_only_the_closest_sentences_and_explains_the_figures(
    contexts, site, matched, lang
) -> None:
    t = T[lang]
    proposal_id = _proposal_with_evidence(site)
    page = contexts(lang)
    _sign_in(page, site.office_email, lang)
    page.goto(f"/office/proposals/{proposal_id}")
    texts = page.locator(".side-by-side .evidence-text")
    expect(texts.first).to_be_visible()
    marked = texts.locator("mark.ev-passage").count()
    sentences = sum(
        len([x for x in re.split(r"(?<=[.!?])\s+", text) if len(x.strip()) >= 12])
        for text in texts.all_inner_texts()
    )
    pairs = page.locator("figure.pair").count()
    assert 1 <= pairs <= 5
    assert 1 <= marked <= 2 * pairs + 2, (marked, pairs)  # the pairs' sentences, no more
    assert marked * 4 <= sentences, (marked, sentences)  # far from every sentence
    explanation = page.locator("#why-h ~ p.meta").filter(has_text=t["sentence"])
    expect(explanation).to_contain_text(t["passage"])
    lines = explanation.inner_text().strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(t["sentence"]) and lines[1].startswith(t["passage"])
    shot(page, f"earlier-proposal-{lang}")


@pytest.mark.parametrize("lang", LANGS)
def test_on_a_phone_the_decision_comes_before_the_texts(contexts, site, matched, lang) -> None:
    proposal_id = _proposal_with_evidence(site)
    phone = contexts(
        lang,
        viewport={"width": 375, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    _sign_in(phone, site.office_email, lang)
    phone.goto(f"/office/proposals/{proposal_id}")
    decide = phone.locator("form[action$='/decide']").bounding_box()
    assert decide is not None
    for heading in ("#ch-h", "#gr-h", "#why-h"):
        box = phone.locator(heading).bounding_box()
        assert box is not None and decide["y"] < box["y"], heading
    assert decide["y"] < 2 * 740
    assert no_horizontal_scroll(phone)
    shot(phone, f"earlier-phone-proposal-{lang}")


# --- 3. honest figures ----------------------------------------------------------------------


def _expected_co2(site: Site) -> dict[str, float]:
    """Each challenge's CO2 once, by the furthest stage of its open proposals."""
    from matchmaker.matching.models import Proposal, ProposalStatus

    order = ["proposed", "shortlisted", "introduced", "in_talks", "collaboration"]
    furthest: dict[int, tuple[int, float]] = {}
    with session_scope(site.app) as s:
        for p in s.scalars(select(Proposal)):
            if p.status == ProposalStatus.DECLINED:
                continue
            stage = order.index(p.status.value)
            if p.challenge_id not in furthest or stage > furthest[p.challenge_id][0]:
                furthest[p.challenge_id] = (stage, p.challenge.co2_saving_t or 0.0)
    return {
        "introduced": sum(t for stage, t in furthest.values() if stage == 2),
        "proposed": sum(t for stage, t in furthest.values() if stage < 2),
        "all": sum(t for _stage, t in furthest.values()),
    }


def _one_introduction(site: Site) -> None:
    """At least one challenge with a CO2 figure introduced (the first test introduces two; this
    keeps the dashboard test whole when it runs alone)."""
    from matchmaker.challenges.models import Challenge
    from matchmaker.matching.models import Proposal, ProposalStatus

    with session_scope(site.app) as s:
        introduced = s.scalar(
            select(Proposal.id)
            .join(Challenge, Challenge.id == Proposal.challenge_id)
            .where(Proposal.status == ProposalStatus.INTRODUCED, Challenge.co2_saving_t > 0)
        )
        if introduced is None:
            proposal = s.scalars(
                select(Proposal)
                .join(Challenge, Challenge.id == Proposal.challenge_id)
                .where(Proposal.status == ProposalStatus.PROPOSED, Challenge.co2_saving_t > 0)
                .order_by(Proposal.id)
            ).first()
            assert proposal is not None
            proposal.status = ProposalStatus.INTRODUCED


@pytest.fixture(scope="module")
def full_institution(site: Site) -> str:
    """A new institution with one group of capacity 1 and one open proposal: full."""
    from matchmaker.challenges.models import Challenge
    from matchmaker.organisations.models import Organisation

    institution_id = factories.organisation(site.app, "Hochschule Volllast", kind="institution")
    group_id = factories.research_group(site.app, institution_id=institution_id, capacity=1)
    with session_scope(site.app) as s:
        challenge_id = s.scalars(select(Challenge.id).order_by(Challenge.id)).first()
        institution = s.get(Organisation, institution_id)
        assert institution is not None and challenge_id is not None
        name = institution.name
    factories.proposal(site.app, challenge_id=challenge_id, group_id=group_id)
    return name


def _number(text: str, lang: str) -> float:
    return float(text.replace(".", "").replace(",", ".") if lang == "de" else text.replace(",", ""))


@pytest.mark.parametrize("lang", LANGS)
def test_the_dashboard_counts_co2_from_introductions_shows_full_and_offers_german_csv(
    contexts, site, matched, full_institution, lang
) -> None:
    t = T[lang]
    _one_introduction(site)
    expected = _expected_co2(site)
    assert expected["introduced"] > 0
    assert expected["proposed"] > expected["introduced"]  # raw proposals would inflate it
    page = contexts(lang)
    _sign_in(page, site.office_email, lang)
    page.goto("/office/dashboard")
    co2 = page.locator("figure", has=page.locator("#co2-h"))
    expect(co2.locator(".hint")).to_contain_text(t["co2_hint"])
    rows = {
        r.locator(".bar-label").inner_text().strip(): r.locator(".bar-value").inner_text()
        for r in co2.locator("ul.bars > li").all()
    }
    introduced = rows[t["introduced"]]
    figures = re.fullmatch(r"([\d.,]+) t · ([\d.,]+) %", introduced)
    assert figures is not None, introduced
    tonnes, share = figures.groups()
    assert _number(tonnes, lang) == pytest.approx(expected["introduced"], abs=0.1)
    assert _number(share, lang) == pytest.approx(100 * expected["introduced"] / 75_000, abs=0.1)
    proposed = rows[t["proposed"]]
    assert "%" not in proposed  # not put against the target
    assert _number(proposed.split(" t")[0], lang) == pytest.approx(expected["proposed"], abs=0.1)

    load = page.locator("figure", has=page.locator("#load-h"))
    entry = load.locator("ul.bars > li").filter(has_text=full_institution)
    expect(entry.locator(".verdict")).to_have_text(t["full"])
    shot(page, f"earlier-dashboard-{lang}")

    if lang == "de":
        with page.expect_download() as info:
            co2.get_by_role("link", name=t["csv"]).click()
        raw = Path(info.value.path()).read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")
        lines = raw.decode("utf-8-sig").splitlines()
        assert (
            lines[0] == "Herausforderungen;CO₂-Einsparung (t/Jahr);Ziel (t/Jahr);Anteil am Ziel (%)"
        )
        row = next(line for line in lines if line.startswith("Vorgestellt;"))
        assert row.split(";")[1] == f"{expected['introduced']:.1f}".replace(".", ",")
    else:
        with page.expect_download() as info:
            co2.get_by_role("link", name="CSV, German format").click()
        raw = Path(info.value.path()).read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf") and ";" in raw.decode("utf-8-sig").splitlines()[0]


# --- 4. styled error pages ------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_a_company_on_an_office_page_gets_the_styled_403_with_a_way_back(
    contexts, site, lang
) -> None:
    t = T[lang]
    page = contexts(lang)
    _sign_in(page, site.company_email, lang)
    page.goto("/challenges")
    page.evaluate("window.location.href = '/office/dashboard'")
    page.wait_for_url(re.compile(r"/office/dashboard$"))
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.get_by_role("heading", level=1)).to_have_text(t["forbidden"])
    expect(page.locator(".error-page .eyebrow")).to_contain_text("403")
    assert "Forbidden" not in page.content()
    nav = page.locator("header nav").first
    expect(nav).to_be_visible()  # the site's own page, with its navigation
    card = page.locator(".error-page")
    assert card.evaluate("e => getComputedStyle(e).backgroundColor") != "rgba(0, 0, 0, 0)"
    shot(page, f"earlier-403-{lang}")
    page.locator(".error-page").get_by_role("link", name=t["back"]).click()
    expect(page).to_have_url(re.compile(r"/challenges$"))
    response = page.request.get("/office/dashboard")
    assert response.status == 403


@pytest.mark.parametrize("lang", LANGS)
def test_an_unknown_address_gets_the_styled_404(contexts, site, lang) -> None:
    t = T[lang]
    page = contexts(lang)
    response = page.goto("/no-such-page")
    assert response is not None and response.status == 404
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.get_by_role("heading", level=1)).to_have_text(t["not_found"])
    expect(page.locator(".error-page .eyebrow")).to_contain_text("404")
    shot(page, f"earlier-404-{lang}")
    page.locator(".error-page").get_by_role("link", name=t["home"]).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t["start"])


# --- 5. the browser's language --------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "how"),
    [("en", "locale"), ("de", "locale"), ("en", "header"), ("de", "header")],
)
def test_a_first_visit_starts_in_the_browsers_language(contexts, site, lang, how) -> None:
    if how == "locale":
        page = contexts(lang)
    else:  # the header alone, as a browser without Playwright's locale sends it
        header = "en-US,en;q=0.9,fr;q=0.5" if lang == "en" else "de-AT,de;q=0.9,en;q=0.3"
        page = contexts(lang, locale=None, extra_http_headers={"Accept-Language": header})
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.get_by_role("heading", level=1)).to_have_text(T[lang]["start"])
    page.goto("/login")
    expect(page.get_by_role("button", name=T[lang]["sign_in"])).to_be_visible()


# --- 6. all of a form's errors at once ------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_a_challenge_form_shows_all_errors_at_once_beside_their_fields(
    contexts, site, lang
) -> None:
    t = T[lang]
    page = contexts(lang)
    _sign_in(page, site.company_email, lang)
    page.goto("/challenges/new")
    page.locator("#summary").fill("x")
    page.locator("#trl_now").select_option("6")
    page.locator("#trl_target").select_option("3")
    page.locator("input[name=fields]").first.check()
    page.locator("#confidential").fill("Hall 3, kept")
    page.get_by_role("button", name=t["submit"]).click()
    page.wait_for_load_state()
    expected = {"title": t["fill"], "summary": t["short"], "trl_target": t["trl"]}
    for name, text in expected.items():
        error = page.locator(f"#{name}-error")
        expect(error).to_contain_text(text)
        field = page.locator(f"#{name}")
        expect(field).to_have_attribute("aria-invalid", "true")
        expect(field).to_have_attribute("aria-describedby", re.compile(f"{name}-error"))
        # Beside its field: in the same form row.
        container = page.locator(".field", has=field)
        expect(container.locator(f"#{name}-error")).to_have_count(1)
    expect(page.locator("p.error")).to_have_count(3)  # all three at once, and only these
    expect(page.locator("#summary")).to_have_value("x")
    expect(page.locator("#trl_now")).to_have_value("6")
    expect(page.locator("#confidential")).to_have_value("Hall 3, kept")
    shot(page, f"earlier-challenge-errors-{lang}")
