"""Signing in and out, CSRF on every form, the language switch."""

from __future__ import annotations

from tests.web.conftest import PASSWORD


def test_start_page_is_german_by_default_with_a_switch_to_english(world) -> None:
    browser = world.browser()
    html = browser.text("/")
    assert '<html lang="de">' in html
    assert "Anmelden" in html
    response = browser.get("/lang/en?next=/login")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    html = browser.text("/login")
    assert '<html lang="en">' in html and "Sign in" in html and "Password" in html


def test_language_switch_never_redirects_off_site(world) -> None:
    response = world.browser().get("/lang/en?next=//evil.example/x")
    assert response.headers["Location"] == "/"


def test_sign_in_takes_each_role_to_its_first_page(world) -> None:
    for email, home in [
        ("a@elbwerk.example", "/challenges"),
        ("lab@hs.example", "/group/matches"),
        ("office@hamburg.example", "/office/proposals"),
    ]:
        response = world.browser().login(email)
        assert response.status_code == 302
        assert response.headers["Location"] == home


def test_wrong_password_is_rejected_and_keeps_the_email(world) -> None:
    browser = world.browser()
    response = browser.login("a@elbwerk.example", "wrong password")
    assert response.status_code == 401
    html = response.get_data(as_text=True)
    assert "E-Mail oder Passwort ist falsch." in html
    assert 'value="a@elbwerk.example"' in html
    assert browser.get("/challenges").status_code == 302  # still signed out


def test_repeated_failures_lock_the_account(world) -> None:
    browser = world.browser()
    for _ in range(5):
        browser.login("a@elbwerk.example", "wrong password")
    response = browser.login("a@elbwerk.example", PASSWORD)
    assert response.status_code == 429
    assert "15 Minuten" in response.get_data(as_text=True)


def test_every_form_needs_its_csrf_token(world) -> None:
    browser = world.browser()
    response = browser.post(
        "/login", {"email": "a@elbwerk.example", "password": PASSWORD}, csrf=False
    )
    assert response.status_code == 400
    assert "abgelaufen" in response.get_data(as_text=True)
    signed_in = world.browser("a@elbwerk.example")
    response = signed_in.post("/challenges/new", {"title": "x"}, csrf=False)
    assert response.status_code == 400
    response = signed_in.post("/logout", csrf=False)
    assert response.status_code == 400


def test_sign_out_ends_the_session(world) -> None:
    browser = world.browser("a@elbwerk.example")
    assert browser.get("/challenges").status_code == 200
    response = browser.post("/logout", form_url="/challenges")
    assert response.status_code == 302
    assert browser.get("/challenges").status_code == 302


def test_pages_ask_anonymous_users_to_sign_in_and_come_back(world) -> None:
    browser = world.browser()
    response = browser.get("/challenges/new")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/challenges/new")
    response = browser.post(
        "/login?next=/challenges/new",
        {"email": "a@elbwerk.example", "password": PASSWORD},
        form_url="/login",
    )
    assert response.headers["Location"] == "/challenges/new"


def test_sign_in_ignores_a_foreign_next(world) -> None:
    browser = world.browser()
    response = browser.post(
        "/login",
        {"email": "a@elbwerk.example", "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert response.headers["Location"] == "/challenges"


def test_api_accepts_the_page_session_for_reading_only(world) -> None:
    browser = world.browser("a@elbwerk.example")
    assert browser.get("/api/v1/challenges").status_code == 200
    response = browser.client.post("/api/v1/challenges", json={"title": "x"})
    assert response.status_code == 401  # writes through the API need a token, never the session
