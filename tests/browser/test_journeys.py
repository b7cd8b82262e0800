"""The five journeys end to end in Chromium, asserting what the user sees."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import no_horizontal_scroll, shot, sign_in

pytestmark = pytest.mark.browser

BIBTEX = """@article{petersen2024,
  title = {High-temperature heat pumps for process steam from industrial waste heat},
  author = {Petersen, Jana and M{\\"u}ller, Jan},
  year = {2024},
  doi = {10.5555/hthp.2024},
  abstract = {We lift waste heat at 80 degrees to process steam at 150 degrees with a two-stage heat pump.}
}
@inproceedings{lund2023,
  title = {Sector coupling of smelters and district heating in Hamburg},
  year = {2023},
  abstract = {A case study of feeding industrial waste heat into the city's district heating grid.}
}
"""


def test_start_page_and_language_switch(page, site) -> None:
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Fragen der Industrie, Antworten der Forschung."
    )
    shot(page, "00-start")
    page.get_by_role("link", name="English EN").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Industry challenges, research answers."
    )
    page.get_by_role("link", name="Deutsch DE").click()
    expect(page.locator("html")).to_have_attribute("lang", "de")
    # Keyboard: the first Tab reaches the skip link, which leads to the content.
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Zum Inhalt springen")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()


def test_sign_in_rejects_a_wrong_password(page, site) -> None:
    sign_in(page, site.company_email, "not the password")
    expect(page.get_by_role("alert")).to_contain_text("E-Mail oder Passwort ist falsch.")
    expect(page.get_by_label("E-Mail")).to_have_value(site.company_email)


def test_company_posts_a_challenge(page, site) -> None:
    sign_in(page, site.company_email)
    expect(page).to_have_url(re.compile(r"/challenges$"))
    expect(page.get_by_role("heading", name="Meine Herausforderungen")).to_be_visible()
    page.get_by_role("navigation", name="Hauptnavigation").get_by_role(
        "link", name="Herausforderung einstellen"
    ).click()

    # While the title is typed, the company's similar challenges already posted are shown.
    page.get_by_label("Titel", exact=True).press_sequentially(
        "Smelter off-gas heat for district heating", delay=15
    )
    similar = page.locator("#similar")
    expect(similar).to_be_visible(timeout=30_000)
    expect(similar).to_contain_text("smelter off-gas heat")

    page.get_by_label("Energieeffizienz").check()
    page.get_by_label("Sektorkopplung").check()
    page.get_by_label("TRL heute").select_option("4")
    page.get_by_label("Ziel-TRL").select_option("7")
    page.get_by_label("Budget", exact=True).select_option("250k_1m")
    page.get_by_label("Frist", exact=True).fill("2027-03-31")
    page.get_by_label("Erwartete CO₂-Einsparung (t pro Jahr)").fill("8000")
    page.get_by_label("Vertrauliche Angaben", exact=True).fill(
        "Converter hall 2; budget approved up to 900 kEUR."
    )
    shot(page, "01-company-challenge-form")

    # Forgetting the summary: the error appears beside it, and everything typed stays.
    page.get_by_role("button", name="Herausforderung einstellen").click()
    expect(page.locator("#summary-error")).to_have_text(
        re.compile("Bitte füllen Sie dieses Feld aus")
    )
    expect(page.get_by_label("Titel", exact=True)).to_have_value(
        "Smelter off-gas heat for district heating"
    )
    expect(page.get_by_label("Sektorkopplung")).to_be_checked()
    expect(page.get_by_label("Vertrauliche Angaben", exact=True)).to_have_value(
        re.compile("Converter hall 2")
    )
    shot(page, "01b-company-challenge-form-error")

    page.get_by_label("Öffentliche Zusammenfassung", exact=True).fill(
        "The off-gas of our converters leaves the boilers at 330 °C. We look for a partner to recover the "
        "heat for the district heating network with a high-temperature heat pump."
    )
    page.get_by_role("button", name="Herausforderung einstellen").click()
    expect(page.get_by_role("status")).to_contain_text("wurde gespeichert")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Smelter off-gas heat for district heating"
    )
    expect(page.get_by_text("Converter hall 2")).to_be_visible()

    page.get_by_role("link", name="Meine Herausforderungen").click()
    card = page.locator(".challenge-card").filter(
        has=page.get_by_role("link", name="Smelter off-gas heat for district heating", exact=True)
    )
    expect(card.locator(".badge")).to_have_text("Offen")
    expect(card).to_contain_text("Vorgestellte Gruppen")
    shot(page, "02-company-challenges")


def test_group_edits_profile_imports_publications_and_sees_matches(page, site) -> None:
    sign_in(page, site.group_email)
    expect(page).to_have_url(re.compile(r"/group/matches$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Herausforderungen, die zu Ihrer Gruppe passen"
    )
    first = page.locator(".match").first
    expect(first).to_be_visible(timeout=60_000)
    first.get_by_text("Warum passt das?").click()
    expect(first.get_by_text("Bestandteile des Scores")).to_be_visible()
    expect(first.locator(".score-part").first).to_be_visible()
    shot(page, "03-group-matches")

    page.get_by_role("link", name="Profil").click()
    page.get_by_label("Kapazität für neue Projekte").fill("3")
    page.get_by_label("Kompetenzen", exact=True).fill("")
    page.get_by_role("button", name="Profil speichern").click()
    expect(page.locator("#capabilities-error")).to_be_visible()
    page.get_by_label("Kompetenzen", exact=True).fill(
        "High-temperature heat pumps, waste heat recovery and process steam for industry."
    )
    page.get_by_role("button", name="Profil speichern").click()
    expect(page.get_by_role("status")).to_contain_text("Ihr Profil wurde gespeichert.")
    expect(page.get_by_label("Kapazität für neue Projekte")).to_have_value("3")
    shot(page, "04-group-profile")

    page.get_by_role("navigation", name="Hauptnavigation").get_by_role(
        "link", name="Publikationen"
    ).click()
    page.get_by_label("Inhalt der Datei einfügen").fill(BIBTEX)
    page.get_by_role("button", name="Vorschau").click()
    expect(page.get_by_role("heading", name="Importvorschau")).to_be_visible()
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("High-temperature heat pumps for process steam")
    shot(page, "05-group-import-preview")
    page.get_by_role("button", name="Auswahl importieren").click()
    expect(page.get_by_role("status")).to_contain_text("2 Publikationen importiert.")
    expect(page.locator(".pub-title", has_text="Sector coupling of smelters")).to_be_visible()
    shot(page, "06-group-publications")


def test_office_runs_matching_reviews_and_introduces(page, chromium, site) -> None:
    sign_in(page, site.office_email)
    expect(page).to_have_url(re.compile(r"/office/proposals$"))
    page.get_by_role("link", name="Matching", exact=True).click()
    page.get_by_role("button", name="Matching starten").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Matching-Lauf")
    expect(page.locator("progress")).to_be_visible()
    shot(page, "07-office-matching-run")
    finished = page.get_by_role("link", name="Vorschläge prüfen")
    expect(finished).to_be_visible(timeout=240_000)
    done, total = page.locator(".run-done").inner_text(), page.locator(".run-total").inner_text()
    assert done == total and int(total) > 0
    finished.click()

    scores = [float(s) for s in page.locator("td .score-num").all_inner_texts()]
    assert len(scores) > 3 and scores == sorted(scores, reverse=True)
    page.get_by_label("Handlungsfeld", exact=True).select_option("smart_grids")
    page.get_by_role("button", name="Filtern").click()
    chips = page.locator("tbody tr")
    expect(chips.first).to_be_visible()
    for row in chips.all()[:5]:
        expect(row).to_contain_text("Intelligente Netze")
    shot(page, "08-office-queue")

    # Open a proposal of the group whose user signs in below.
    found = page.request.get(f"/api/v1/proposals?group_id={site.group_id}&per_page=1").json()
    assert found["items"], "the matching run proposed nothing for the test group"
    proposal = found["items"][0]
    page.goto(f"/office/proposals/{proposal['id']}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(site.group_name)
    expect(page.get_by_role("heading", name="Öffentliche Zusammenfassung")).to_be_visible()
    expect(page.get_by_role("heading", name="Kompetenzen")).to_be_visible()
    expect(page.locator(".score-part").first).to_be_visible()
    assert page.locator(".evidence-text mark").count() > 0  # evidence highlighted in the texts
    shot(page, "09-office-proposal")

    # Without a reason, the form comes back with the error beside the field.
    page.get_by_label("Verschieben nach").select_option("shortlisted")
    page.get_by_label("Notiz", exact=True).fill("Strong fit on heat pumps")
    page.get_by_role("button", name="Entscheidung speichern").click()
    expect(page.locator("#reason_code-error")).to_be_visible()
    expect(page.get_by_label("Notiz", exact=True)).to_have_value("Strong fit on heat pumps")
    page.get_by_label("Grund", exact=True).select_option("good_fit")
    page.get_by_role("button", name="Entscheidung speichern").click()
    expect(page.get_by_role("status")).to_contain_text("Nach „Vorgemerkt“ verschoben.")

    before = len(site.outbox())
    page.get_by_label("Verschieben nach").select_option("introduced")
    page.get_by_label("Grund", exact=True).select_option("good_fit")
    page.get_by_role("button", name="Entscheidung speichern").click()
    expect(page.get_by_role("status")).to_contain_text("Vorstellungs-E-Mails wurden verschickt")
    expect(page.locator(".pipeline li.current")).to_have_text(re.compile("Vorgestellt"))
    assert len(site.outbox()) > before
    assert site.group_email in "".join(p.read_text() for p in site.outbox())

    # The introduced group now reads the challenge's confidential details.
    context = chromium.new_context(base_url=site.url, locale="de-DE")
    group_page = context.new_page()
    sign_in(group_page, site.group_email)
    group_page.goto(f"/challenges/{proposal['challenge_id']}")
    expect(group_page.get_by_role("heading", name="Vertrauliche Angaben")).to_be_visible()
    expect(group_page.locator(".locked")).to_have_count(0)
    context.close()


def test_office_previews_and_saves_the_strategy(page, site) -> None:
    sign_in(page, site.office_email)
    page.get_by_role("link", name="Strategie").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Strategie")
    # The slider and the number move together.
    page.locator('input[data-sync="w_energy_efficiency"]').fill("0.5")
    expect(page.get_by_label("Energieeffizienz", exact=True)).to_have_value("0.5")
    page.get_by_label("Sektorkopplung", exact=True).fill("0.2")
    page.get_by_label("Notiz für den Verlauf").fill("Fokus Energieeffizienz")
    page.get_by_role("button", name="Wirkung ansehen").click()
    preview = page.locator("#preview")
    expect(preview).to_contain_text("Noch ist nichts gespeichert.")
    expect(preview.locator("tbody tr").first).to_be_visible()
    expect(page.get_by_label("Sektorkopplung", exact=True)).to_have_value("0.2")
    shot(page, "10-office-strategy-preview")
    page.get_by_role("button", name="Als neue Version speichern").click()
    expect(page.get_by_role("status")).to_contain_text("Strategie als neue Version gespeichert.")
    history = page.locator(".versions li").first
    expect(history).to_contain_text("Version 2")
    expect(history).to_contain_text("Fokus Energieeffizienz")


def test_office_dashboard_with_csv_downloads(page, site) -> None:
    sign_in(page, site.office_email)
    page.get_by_role("link", name="Dashboard").click()
    for title in (
        "Vorschläge und Kooperationen je Handlungsfeld",
        "Pipeline-Trichter",
        "CO₂-Einsparung in der Pipeline",
        "Auslastung je Einrichtung",
    ):
        expect(page.get_by_role("heading", name=title)).to_be_visible()
    expect(page.locator(".funnel li").first).to_contain_text("Vorgeschlagen")
    expect(page.get_by_text("75.000 t CO₂")).to_be_visible()
    shot(page, "11-office-dashboard")
    figure = page.locator("figure", has=page.get_by_role("heading", name="Pipeline-Trichter"))
    with page.expect_download() as info:
        figure.get_by_role("link", name="CSV herunterladen").click()
    download = info.value
    # On a German page the first download is German CSV: semicolons, a BOM (issue 15).
    assert download.suggested_filename == "matchmaker-funnel-de.csv"
    raw = Path(download.path()).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    assert text.splitlines()[0] == "Stufe;Vorschläge"
    assert "Vorgestellt;" in text
    with page.expect_download() as info:
        figure.get_by_role("link", name="CSV, internationales Format").click()
    download = info.value
    assert download.suggested_filename == "matchmaker-funnel.csv"
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    assert text.splitlines()[0] == "Stufe,Vorschläge"
    assert "Vorgestellt," in text


def test_pages_fit_a_phone(phone, site) -> None:
    sign_in(phone, site.office_email)
    for url, name in [
        ("/office/proposals", "12-phone-queue"),
        ("/office/dashboard", "13-phone-dashboard"),
        ("/challenges/new", "14-phone-challenge-form"),
    ]:
        phone.goto(url)
        assert no_horizontal_scroll(phone), f"{url} scrolls sideways at 375 px"
        shot(phone, name)
    # A proposal on a phone: the decision form comes first, the texts and evidence below it.
    phone.goto("/office/proposals")
    href = phone.locator("a[href^='/office/proposals/']").first.get_attribute("href")
    assert href, "the queue lists a proposal (the office journey ran a matching)"
    phone.goto(href)
    decide = phone.locator("#decide-h").bounding_box()
    texts = phone.locator("#ch-h").bounding_box()
    assert decide is not None and texts is not None
    assert decide["y"] < texts["y"]
    assert decide["y"] < 2 * phone.viewport_size["height"]
    assert no_horizontal_scroll(phone), f"{href} scrolls sideways at 375 px"
    shot(phone, "15-phone-proposal")
    phone.goto("/challenges/new")
    phone.get_by_role("link", name="English EN").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Post a challenge")
    expect(phone.get_by_label("Sector coupling")).to_be_visible()
