"""Changing one's password, and setting a new one through a link sent by e-mail."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import re
from email import policy
from pathlib import Path

from sqlalchemy import select, update

from matchmaker import create_app
from matchmaker.accounts.models import ApiToken, PasswordReset, User
from matchmaker.accounts.service import hash_token, issue_token
from matchmaker.audit.models import AuditEvent
from matchmaker.db import session_scope, utcnow
from tests.web.conftest import PASSWORD, Browser, csrf_token

EMAIL = "a@elbwerk.example"
NEW = "a much longer secret"
LINK = re.compile(r"https?://\S+/account/reset/(\S+)")


def _token(world, address: str = EMAIL) -> str:
    with session_scope(world.app) as s:
        user = s.scalar(select(User).where(User.email == address))
        return issue_token(s, user, "script")


def _api_works(world, token: str) -> bool:
    response = world.app.test_client().get(
        "/api/v1/me", headers={"Authorization": f"Bearer {token}"}
    )
    return response.status_code == 200


def _copy(world, browser: Browser) -> Browser:
    cookie = browser.client.get_cookie("session")
    assert cookie is not None
    copy = Browser(world.app.test_client())
    copy.client.set_cookie("session", cookie.value)
    return copy


def _change(browser: Browser, current: str, new: str, again: str | None = None):
    return browser.post(
        "/account/password",
        {
            "current_password": current,
            "new_password": new,
            "new_password_again": new if again is None else again,
        },
    )


def _can_sign_in(world, password: str, address: str = EMAIL) -> bool:
    return Browser(world.app.test_client()).login(address, password).status_code == 302


def _outbox(world) -> list[email.message.EmailMessage]:
    folder = Path(world.app.extensions["matchmaker.settings"].outbox_dir)
    return [
        email.message_from_bytes(p.read_bytes(), policy=policy.default)  # type: ignore[misc]
        for p in sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
    ]


def _request(world, address: str, client: Browser | None = None):
    client = client or Browser(world.app.test_client())
    return client.post("/account/reset", {"email": address})


def _link(message: email.message.EmailMessage) -> str:
    match = LINK.search(message.get_content())
    assert match, message.get_content()
    return f"/account/reset/{match.group(1)}"


def _without_csrf(html: str) -> str:
    return re.sub(r'name="csrf_token" value="[^"]+"', "", html)


# --- change ----------------------------------------------------------------------------------


def test_a_new_password_keeps_this_session_and_ends_the_others(world) -> None:
    browser = world.browser(EMAIL)
    other_device = _copy(world, browser)
    token = _token(world)
    page = browser.get("/account/password").get_data(as_text=True)
    assert "Passwort ändern" in page and "Aktuelles Passwort" in page
    assert 'href="/account/password"' in browser.get("/challenges").get_data(as_text=True)

    response = _change(browser, PASSWORD, NEW)
    assert response.status_code == 302 and response.headers["Location"] == "/account/password"
    page = browser.get("/account/password").get_data(as_text=True)
    assert "Ihr Passwort ist geändert. Hier bleiben Sie angemeldet" in page
    assert browser.get("/challenges").status_code == 200  # this browser stays signed in
    assert other_device.get("/challenges").status_code == 302  # the other one is signed out
    assert not _api_works(world, token)
    assert _can_sign_in(world, NEW) and not _can_sign_in(world, PASSWORD)
    with session_scope(world.app) as s:
        uid = s.scalar(select(User.id).where(User.email == EMAIL))
        event = s.scalar(
            select(AuditEvent).where(AuditEvent.entity == "user", AuditEvent.entity_id == uid)
        )
        assert event is not None and event.changes == {"password": "changed"}
        assert event.actor_id == uid


def test_each_wrong_field_is_named_beside_it_and_nothing_changes(world) -> None:
    browser = world.browser(EMAIL)
    token = _token(world)
    wrong = _change(browser, "not my password", NEW)
    html = wrong.get_data(as_text=True)
    assert wrong.status_code == 422
    assert re.search(r'id="current_password-error">.*Das ist nicht Ihr aktuelles Passwort', html)
    short = _change(browser, PASSWORD, "short").get_data(as_text=True)
    assert re.search(r'id="new_password-error">.*mindestens 10 Zeichen', short)
    differ = _change(browser, PASSWORD, NEW, NEW + "!").get_data(as_text=True)
    assert re.search(r'id="new_password_again-error">.*stimmen nicht überein', differ)
    empty = _change(browser, "", "", "").get_data(as_text=True)
    for name in ("current_password", "new_password", "new_password_again"):
        assert re.search(rf'id="{name}-error">.*Bitte füllen Sie dieses Feld aus', empty)
    assert PASSWORD not in html  # passwords are never written back into the page
    browser.get("/lang/en")
    html = _change(browser, "not my password", "short").get_data(as_text=True)
    assert "This is not your current password." in html
    assert "Please write at least 10 characters." in html
    differ = _change(browser, PASSWORD, NEW, NEW + "!").get_data(as_text=True)
    assert "The two new passwords are not the same." in differ
    # None of it changed anything.
    assert browser.get("/challenges").status_code == 200
    assert _api_works(world, token) and _can_sign_in(world, PASSWORD)


def test_wrong_current_passwords_count_towards_the_lockout(world) -> None:
    browser = world.browser(EMAIL)
    for _ in range(5):
        _change(browser, "guessing again", NEW)
    locked = _change(browser, PASSWORD, NEW)
    assert locked.status_code == 429
    assert "Zu viele falsche Passwörter" in locked.get_data(as_text=True)
    assert not _can_sign_in(world, NEW)


def test_the_password_page_needs_a_sign_in(world) -> None:
    response = world.app.test_client().get("/account/password")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- reset -----------------------------------------------------------------------------------


def test_sign_in_page_links_to_the_reset_form(world) -> None:
    html = world.app.test_client().get("/login").get_data(as_text=True)
    assert '<a href="/account/reset">Passwort vergessen?</a>' in html


def test_the_answer_is_the_same_whether_an_account_exists_or_not(world) -> None:
    with session_scope(world.app) as s:
        s.execute(update(User).where(User.email == "b@stahl.example").values(active=False))
    answers = {}
    for address in (EMAIL, "nobody@nowhere.example", "b@stahl.example"):
        response = _request(world, address)
        assert response.status_code == 200
        answers[address] = _without_csrf(response.get_data(as_text=True)).replace(address, "@")
    assert len(set(answers.values())) == 1
    assert "Falls es ein Konto mit der Adresse" in answers[EMAIL]
    mails = _outbox(world)
    assert [m["To"] for m in mails] == [EMAIL]  # only the active account got one


def test_the_link_is_sent_in_the_accounts_language_and_sets_a_new_password(world) -> None:
    with session_scope(world.app) as s:
        s.execute(update(User).where(User.email == EMAIL).values(language="en"))
    browser = world.browser(EMAIL)
    token = _token(world)
    _request(world, EMAIL)
    (message,) = _outbox(world)
    assert message["Subject"] == "Set a new password for Matchmaker"
    assert "within one hour" in message.get_content()
    link = _link(message)
    # Only the hash is stored.
    secret = link.rsplit("/", 1)[1]
    with session_scope(world.app) as s:
        row = s.scalar(select(PasswordReset))
        assert row.token_hash == hash_token(secret) and secret not in row.token_hash
        assert dt.timedelta(minutes=59) < row.expires_at - row.created_at <= dt.timedelta(hours=1)

    visitor = Browser(world.app.test_client())
    form = visitor.get(link)
    assert form.status_code == 200 and form.headers["Referrer-Policy"] == "no-referrer"
    short = visitor.post(link, {"new_password": "short", "new_password_again": "short"})
    assert short.status_code == 422
    assert re.search(r'id="new_password-error">.*mindestens 10 Zeichen', short.get_data(True))
    done = visitor.post(link, {"new_password": NEW, "new_password_again": NEW})
    assert done.status_code == 302 and done.headers["Location"] == "/login"
    assert "Ihr neues Passwort ist festgelegt" in visitor.get("/login").get_data(as_text=True)
    # As a password change: every session ends, every token is revoked.
    assert browser.get("/challenges").status_code == 302
    assert not _api_works(world, token)
    assert _can_sign_in(world, NEW) and not _can_sign_in(world, PASSWORD)
    # Once only.
    again = visitor.get(link)
    assert again.status_code == 410 and "schon benutzt" in again.get_data(as_text=True)
    reuse = visitor.post(
        link, {"new_password": PASSWORD, "new_password_again": PASSWORD}, form_url="/login"
    )
    assert reuse.status_code == 410 and _can_sign_in(world, NEW)


def test_expired_and_invalid_links_say_so(world) -> None:
    _request(world, EMAIL)
    link = _link(_outbox(world)[0])
    with session_scope(world.app) as s:
        s.execute(update(PasswordReset).values(expires_at=utcnow() - dt.timedelta(seconds=1)))
    client = Browser(world.app.test_client())
    expired = client.get(link)
    assert expired.status_code == 410 and "Dieser Link ist abgelaufen" in expired.get_data(True)
    posted = client.post(link, {"new_password": NEW, "new_password_again": NEW}, form_url="/login")
    assert posted.status_code == 410 and _can_sign_in(world, PASSWORD)
    invalid = client.get("/account/reset/not-a-real-token")
    assert invalid.status_code == 404 and "Dieser Link ist ungültig" in invalid.get_data(True)
    client.get("/lang/en")
    assert "This link is not valid" in client.get("/account/reset/xyz").get_data(as_text=True)


def test_a_password_changed_otherwise_makes_open_links_void(world) -> None:
    _request(world, EMAIL)
    link = _link(_outbox(world)[0])
    assert _change(world.browser(EMAIL), PASSWORD, NEW).status_code == 302
    response = Browser(world.app.test_client()).get(link)
    assert response.status_code == 410


def test_at_most_three_links_an_hour_per_account(world) -> None:
    for _ in range(5):
        assert _request(world, EMAIL).status_code == 200
    assert len(_outbox(world)) == 3


def test_a_lockout_is_lifted_by_a_reset(world) -> None:
    client = Browser(world.app.test_client())
    for _ in range(5):
        client.login(EMAIL, "wrong guess")
    assert client.login(EMAIL, PASSWORD).status_code == 429
    _request(world, EMAIL)
    link = _link(_outbox(world)[0])
    client.post(link, {"new_password": NEW, "new_password_again": NEW})
    assert client.login(EMAIL, NEW).status_code == 302


def test_reset_requests_are_rate_limited_per_address(settings, embedder) -> None:
    app = create_app(
        dataclasses.replace(settings, rate_limit_password_reset="2 per minute"),
        embedder=embedder,
        TESTING=True,
    )
    client = app.test_client()
    form = {"email": "x@y.example", "csrf_token": csrf_token(client, "/account/reset")}
    statuses = [client.post("/account/reset", data=form).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert "Zu viele Versuche" in client.post("/account/reset", data=form).get_data(True)
    assert client.post("/login", data={**form, "password": "x"}).status_code == 401
    app.extensions["matchmaker.engine"].dispose()


def test_a_bad_address_is_named_beside_the_field(world) -> None:
    response = _request(world, "not an address")
    assert response.status_code == 422
    assert 'id="email-error"' in response.get_data(as_text=True)
    assert _outbox(world) == []


def test_the_email_texts_are_translated_to_german() -> None:
    from babel.messages.extract import extract_python
    from babel.messages.pofile import read_po

    root = Path(__file__).resolve().parents[2]
    with (root / "matchmaker/accounts/reset.py").open("rb") as handle:
        found = {
            m if isinstance(m, str) else m[0]
            for _l, _f, m, _c in extract_python(handle, ["gettext"], [], {})
        }
    with (root / "matchmaker/translations/de/LC_MESSAGES/messages.po").open("rb") as handle:
        catalog = read_po(handle, locale="de")
    translated = {m.id for m in catalog if m.id and m.string}
    assert len(found) >= 5 and not found - translated, found - translated


def test_tokens_of_other_users_stay(world) -> None:
    own, other = _token(world), _token(world, "b@stahl.example")
    assert _change(world.browser(EMAIL), PASSWORD, NEW).status_code == 302
    assert not _api_works(world, own) and _api_works(world, other)
    with session_scope(world.app) as s:
        revoked = s.scalars(select(ApiToken.token_hash).where(ApiToken.revoked_at.is_not(None)))
        assert list(revoked) == [hash_token(own)]
