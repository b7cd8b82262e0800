"""The browser's language: an English browser starts in English, German stays the default, and
an explicit choice (the language switch) wins over the browser's header."""

from __future__ import annotations

from matchmaker.accounts.models import User
from matchmaker.db import session_scope


def test_an_english_browser_starts_in_english(world) -> None:
    client = world.app.test_client()
    response = client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"})
    html = response.get_data(as_text=True)
    assert '<html lang="en">' in html and "Sign in" in html
    assert "Accept-Language" in response.headers.get("Vary", "")


def test_german_stays_the_default(world) -> None:
    client = world.app.test_client()
    for header in ({}, {"Accept-Language": "fr-FR,fr;q=0.9"}, {"Accept-Language": "de-DE"}):
        html = client.get("/login", headers=header).get_data(as_text=True)
        assert '<html lang="de">' in html and "Anmelden" in html, header


def test_the_language_switch_wins_over_the_header(world) -> None:
    client = world.app.test_client()
    english = {"Accept-Language": "en"}
    assert client.get("/lang/de?next=/login", headers=english).status_code == 302
    html = client.get("/login", headers=english).get_data(as_text=True)
    assert '<html lang="de">' in html
    german = {"Accept-Language": "de"}
    client.get("/lang/en?next=/login", headers=german)
    assert '<html lang="en">' in client.get("/login", headers=german).get_data(as_text=True)


def test_signing_in_from_an_english_browser_gives_the_account_english_mail(world) -> None:
    browser = world.browser()
    browser.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en-US,en;q=0.8"
    assert browser.login("a@elbwerk.example").status_code == 302
    with session_scope(world.app) as s:
        user = s.query(User).filter_by(email="a@elbwerk.example").one()
        assert user.language == "en"
