"""Accounts in Chromium, as people use them: a new password in German, a forgotten one reset
through the e-mail's link in English, an admin deactivating a user in German."""

from __future__ import annotations

import email
import re
from email import policy
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from matchmaker.accounts.models import Role
from matchmaker.accounts.service import create_user
from matchmaker.db import session_scope
from tests.browser.conftest import PASSWORD, sign_in

pytestmark = pytest.mark.browser

CHANGER = "passwort@elbwerk.example"
FORGETFUL = "forgetful@elbwerk.example"
LEAVER = "leaving@elbwerk.example"
ADMIN = "admin@hamburg.example"
LINK = re.compile(r"https?://\S+?(/account/reset/\S+)")


@pytest.fixture(scope="module")
def people(site: Any) -> dict[str, str]:
    """Users of this module's journeys, so that the changes here touch nobody else's."""
    with session_scope(site.app) as s:
        for address, role, language in [
            (CHANGER, Role.COMPANY, "de"),
            (FORGETFUL, Role.COMPANY, "en"),
            (LEAVER, Role.COMPANY, "de"),
            (ADMIN, Role.ADMIN, "de"),
        ]:
            create_user(
                s,
                email=address,
                role=role,
                organisation=site.company_name if role == Role.COMPANY else None,
                password=PASSWORD,
                name=address.split("@")[0].title(),
                language=language,
            )
    return {"company": site.company_name}


def _mails_to(site: Any, address: str) -> list[email.message.EmailMessage]:
    messages = [
        email.message_from_bytes(p.read_bytes(), policy=policy.default)
        for p in sorted(site.outbox(), key=lambda p: p.stat().st_mtime_ns)
    ]
    return [m for m in messages if m["To"] == address]  # type: ignore[misc]


def _fits(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_a_user_changes_the_password_in_german(page, site, people) -> None:
    sign_in(page, CHANGER)
    nav = page.get_by_role("navigation", name="Hauptnavigation")
    nav.get_by_role("link", name="Passwort", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Passwort ändern")

    # Two mistakes at once: each is said beside its field.
    page.get_by_label("Aktuelles Passwort").fill("not my password")
    page.get_by_label("Neues Passwort", exact=True).fill("kurz")
    page.get_by_label("Neues Passwort wiederholen").fill("kurz")
    page.get_by_role("button", name="Passwort ändern").click()
    expect(page.locator("#current_password-error")).to_contain_text(
        "Das ist nicht Ihr aktuelles Passwort."
    )
    expect(page.locator("#new_password-error")).to_contain_text("mindestens 10 Zeichen")
    expect(page.get_by_label("Aktuelles Passwort")).to_have_attribute("aria-invalid", "true")

    page.get_by_label("Aktuelles Passwort").fill(PASSWORD)
    page.get_by_label("Neues Passwort", exact=True).fill("ein neues langes Passwort")
    page.get_by_label("Neues Passwort wiederholen").fill("ein neues langes Passwort!")
    page.get_by_role("button", name="Passwort ändern").click()
    expect(page.locator("#new_password_again-error")).to_contain_text("stimmen nicht überein")

    page.get_by_label("Aktuelles Passwort").fill(PASSWORD)
    page.get_by_label("Neues Passwort", exact=True).fill("ein neues langes Passwort")
    page.get_by_label("Neues Passwort wiederholen").fill("ein neues langes Passwort")
    page.get_by_role("button", name="Passwort ändern").click()
    expect(page.get_by_role("status")).to_contain_text("Ihr Passwort ist geändert")
    # Still signed in here.
    nav.get_by_role("link", name="Meine Herausforderungen").click()
    expect(page.get_by_role("heading", name="Meine Herausforderungen")).to_be_visible()

    page.get_by_role("button", name="Abmelden").click()
    sign_in(page, CHANGER, PASSWORD)
    expect(page.get_by_role("alert")).to_contain_text("E-Mail oder Passwort ist falsch.")
    sign_in(page, CHANGER, "ein neues langes Passwort")
    expect(page).to_have_url(re.compile(r"/challenges$"))


def test_a_forgotten_password_is_reset_through_the_emails_link_in_english(
    page, site, people
) -> None:
    page.goto("/login")
    page.get_by_role("link", name="English EN").click()
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Forgot your password?")
    page.get_by_label("E-mail").fill(FORGETFUL)
    page.get_by_role("button", name="Send link").click()
    expect(page.get_by_role("status")).to_contain_text(
        f"If an account with the address {FORGETFUL} exists"
    )

    (message,) = _mails_to(site, FORGETFUL)
    assert message["Subject"] == "Set a new password for Matchmaker"
    body = message.get_content()
    assert "within one hour" in body
    match = LINK.search(body)
    assert match, body
    link = match.group(1)

    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Set a new password")
    page.get_by_label("New password", exact=True).fill("remembered at last")
    page.get_by_label("New password again").fill("remembered at last")
    page.get_by_role("button", name="Set password").click()
    expect(page.get_by_role("status")).to_contain_text("Your new password is set")
    expect(page).to_have_url(re.compile(r"/login$"))

    page.get_by_label("E-mail").fill(FORGETFUL)
    page.get_by_label("Password").fill("remembered at last")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/challenges$"))

    # The link worked once.
    page.goto(link)
    expect(page.get_by_role("alert")).to_contain_text("This link has already been used")
    expect(page.get_by_role("link", name="Request a new link")).to_be_visible()


def test_an_admin_deactivates_a_user_in_german(page, phone, site, people, tmp_path) -> None:
    sign_in(page, ADMIN)
    page.get_by_role("navigation", name="Hauptnavigation").get_by_role(
        "link", name="Benutzer", exact=True
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Benutzer")
    row = page.locator("tr").filter(has=page.get_by_role("link", name=LEAVER, exact=True))
    expect(row).to_contain_text(people["company"])
    expect(row.locator(".badge")).to_have_text("Aktiv")
    page.screenshot(path=str(tmp_path / "admin-users-1280.png"), full_page=True)

    row.get_by_role("button", name=f"{LEAVER} deaktivieren").click()
    expect(page.get_by_role("status")).to_contain_text(f"{LEAVER} ist deaktiviert")
    row = page.locator("tr").filter(has=page.get_by_role("link", name=LEAVER, exact=True))
    expect(row.locator(".badge")).to_have_text("Deaktiviert")
    expect(row.get_by_role("button", name=f"{LEAVER} reaktivieren")).to_be_visible()

    # The deactivated user cannot sign in any more.
    sign_in(phone, LEAVER)
    expect(phone.get_by_role("alert")).to_contain_text("E-Mail oder Passwort ist falsch.")

    # The list on a phone: every column readable, nothing scrolls sideways.
    sign_in(phone, ADMIN)
    phone.goto("/admin/users")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Benutzer")
    phone.screenshot(path=str(tmp_path / "admin-users-375.png"), full_page=True)
    assert _fits(phone), "the users page scrolls sideways at 375 px"
    assert Path(tmp_path / "admin-users-1280.png").stat().st_size > 10_000
    assert Path(tmp_path / "admin-users-375.png").stat().st_size > 10_000


def test_an_office_user_gets_the_styled_403(page, site, people) -> None:
    sign_in(page, site.office_email)
    expect(
        page.get_by_role("navigation", name="Hauptnavigation").get_by_role("link", name="Benutzer")
    ).to_have_count(0)
    response = page.goto("/admin/users")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Nicht erlaubt")
