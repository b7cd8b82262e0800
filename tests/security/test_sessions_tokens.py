"""Sessions and API tokens can be taken back: sign-out, a new password and deactivation end a
user's sessions (a copied cookie too); tokens are listed, revoked, expire, and stay dead."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import select, update

from matchmaker.accounts.models import ApiToken, User
from matchmaker.audit.models import AuditEvent
from matchmaker.db import session_scope, utcnow
from tests.security.conftest import Browser, Site


def _user_id(site: Site, role: str) -> int:
    with session_scope(site.app) as s:
        return int(s.scalar(select(User.id).where(User.email == site.emails[role])))


def _copy_of(site: Site, browser: Browser) -> Browser:
    """Another client holding a copy of ``browser``'s session cookie (a stolen cookie)."""
    cookie = browser.client.get_cookie("session")
    assert cookie is not None
    copy = Browser(site.app.test_client())
    copy.client.set_cookie("session", cookie.value)
    return copy


def test_a_copied_cookie_stops_working_after_sign_out(site: Site) -> None:
    browser = site.browser("company_a")
    copy = _copy_of(site, browser)
    assert copy.get("/challenges").status_code == 200  # the copy works while signed in
    assert copy.get("/api/v1/me").status_code == 200
    assert browser.post("/logout", form_url="/challenges").status_code == 302
    assert copy.get("/challenges").status_code == 302  # back to the sign-in page
    assert copy.get("/api/v1/me").status_code == 401
    # Signing in again gives a new session that works.
    assert site.browser("anonymous").login(site.emails["company_a"]).status_code == 302


def test_a_new_password_ends_every_session_and_revokes_the_tokens(site: Site) -> None:
    browser = site.browser("company_a")
    copy = _copy_of(site, browser)
    uid = _user_id(site, "company_a")
    r = site.api("admin").patch(f"/api/v1/users/{uid}", {"password": "a brand new secret"})
    assert r.status_code == 200
    assert browser.get("/challenges").status_code == 302
    assert copy.get("/challenges").status_code == 302
    assert site.api("company_a").get("/api/v1/me").status_code == 401
    fresh = Browser(site.app.test_client())
    assert fresh.login(site.emails["company_a"], "a brand new secret").status_code == 302
    assert fresh.get("/challenges").status_code == 200


def test_deactivation_ends_sessions_and_tokens_stay_dead_after_reactivation(site: Site) -> None:
    browser = site.browser("company_a")
    copy = _copy_of(site, browser)
    uid = _user_id(site, "company_a")
    admin = site.api("admin")
    assert admin.patch(f"/api/v1/users/{uid}", {"active": False}).status_code == 200
    assert copy.get("/challenges").status_code == 302
    assert site.api("company_a").get("/api/v1/me").status_code == 401
    assert admin.patch(f"/api/v1/users/{uid}", {"active": True}).status_code == 200
    assert copy.get("/challenges").status_code == 302  # the old session does not come back
    assert browser.get("/challenges").status_code == 302
    assert site.api("company_a").get("/api/v1/me").status_code == 401  # nor the old token
    states = {t["state"] for t in admin.get(f"/api/v1/users/{uid}/tokens").json["items"]}
    assert states == {"revoked"}


def test_tokens_are_named_listed_without_their_secret_and_revoked(site: Site) -> None:
    api = site.api("company_a")
    created = api.post("/api/v1/tokens", {"name": "nightly export"})
    assert created.status_code == 201
    new = created.json
    assert new["token"].startswith(new["prefix"]) and new["name"] == "nightly export"
    assert new["state"] == "active" and new["last_used_at"] is None
    expires = dt.datetime.fromisoformat(new["expires_at"])
    assert dt.timedelta(days=89) < expires - utcnow() <= dt.timedelta(days=90)

    other = site.api("company_a").__class__(site.app.test_client(), new["token"])
    assert other.get("/api/v1/me").json["email"] == site.emails["company_a"]
    listing = api.get("/api/v1/tokens")
    assert listing.status_code == 200
    assert new["token"] not in listing.get_data(as_text=True)  # never the secret again
    mine = {t["id"]: t for t in listing.json["items"]}
    assert set(mine[new["id"]]) == {
        "id",
        "name",
        "prefix",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
        "state",
    }
    assert mine[new["id"]]["last_used_at"] is not None
    assert len(mine) == 2  # the first token and this one; nobody else's
    # Someone else's token is not there for them; the owner revokes it, and it stops at once.
    assert site.api("company_b").delete(f"/api/v1/tokens/{new['id']}").status_code == 404
    assert other.get("/api/v1/me").status_code == 200
    revoked = api.delete(f"/api/v1/tokens/{new['id']}")
    assert revoked.status_code == 200 and revoked.json["state"] == "revoked"
    assert other.get("/api/v1/me").status_code == 401
    assert api.get("/api/v1/me").status_code == 200  # the other token is untouched


def test_admins_revoke_any_users_token(site: Site) -> None:
    uid = _user_id(site, "group")
    tokens = site.api("admin").get(f"/api/v1/users/{uid}/tokens").json["items"]
    assert len(tokens) == 1
    assert site.api("office").delete(f"/api/v1/tokens/{tokens[0]['id']}").status_code == 404
    assert site.api("group").get("/api/v1/me").status_code == 200
    assert site.api("admin").delete(f"/api/v1/tokens/{tokens[0]['id']}").status_code == 200
    assert site.api("group").get("/api/v1/me").status_code == 401
    with session_scope(site.app) as s:
        event = s.scalar(select(AuditEvent).where(AuditEvent.entity == "api_token"))
        assert event is not None and event.action == "revoke"


def test_token_expiry_is_chosen_and_checked(site: Site) -> None:
    api = site.api("office")
    bad = api.post("/api/v1/tokens", {"expires_in_days": 0})
    assert bad.status_code == 422
    assert bad.json["errors"][0]["field"] == "expires_in_days"
    assert api.post("/api/v1/tokens", {"expires_in_days": 100000}).status_code == 422
    never = api.post("/api/v1/tokens", {"expires_in_days": None})
    assert never.status_code == 201 and never.json["expires_at"] is None
    week = api.post("/api/v1/tokens", {"name": "a week", "expires_in_days": 7}).json
    client = site.api("office").__class__(site.app.test_client(), week["token"])
    assert client.get("/api/v1/me").status_code == 200
    with session_scope(site.app) as s:
        s.execute(
            update(ApiToken)
            .where(ApiToken.id == week["id"])
            .values(expires_at=utcnow() - dt.timedelta(seconds=1))
        )
    expired = client.get("/api/v1/me")
    assert expired.status_code == 401 and "expired" in expired.json["detail"]
    states = {t["id"]: t["state"] for t in api.get("/api/v1/tokens").json["items"]}
    assert states[week["id"]] == "expired"


def test_last_use_is_written_at_most_once_a_minute(site: Site) -> None:
    api = site.api("company_b")
    uid = _user_id(site, "company_b")

    def set_last_used(value: dt.datetime) -> None:
        with session_scope(site.app) as s:
            s.execute(update(ApiToken).where(ApiToken.user_id == uid).values(last_used_at=value))

    def last_used() -> dt.datetime:
        with session_scope(site.app) as s:
            value = s.scalar(select(ApiToken.last_used_at).where(ApiToken.user_id == uid))
            assert value is not None
            return value

    recent = utcnow() - dt.timedelta(seconds=30)
    set_last_used(recent)
    api.get("/api/v1/me")
    assert last_used() == recent  # used 30 s ago: not written again
    set_last_used(utcnow() - dt.timedelta(minutes=2))
    api.get("/api/v1/me")
    assert utcnow() - last_used() < dt.timedelta(seconds=10)


TOKEN = re.compile(r'<code class="mono" id="new-token">([^<]+)</code>')


def _page_token_ids(html: str) -> list[str]:
    return re.findall(r'action="/account/tokens/(\d+)/revoke"', html)


def test_the_tokens_page_issues_lists_and_revokes_in_german_and_english(site: Site) -> None:
    browser = site.browser("group")
    html = browser.get("/account/tokens").get_data(as_text=True)
    assert "API-Tokens" in html and "Widerrufen" in html
    assert len(_page_token_ids(html)) == 1  # the token the group already has
    created = browser.post("/account/tokens", {"name": "Zotero-Sync", "expires_in_days": "30"})
    assert created.status_code == 200
    page = created.get_data(as_text=True)
    match = TOKEN.search(page)
    assert match and "nur dieses eine Mal" in page
    token = match.group(1)
    api = site.api("group").__class__(site.app.test_client(), token)
    assert api.get("/api/v1/me").status_code == 200
    # Shown once: the list shows its name and start, never the token again.
    listing = browser.get("/account/tokens").get_data(as_text=True)
    assert "Zotero-Sync" in listing and token not in listing and token[:10] in listing
    new_id = max(_page_token_ids(listing), key=int)
    revoked = browser.post(f"/account/tokens/{new_id}/revoke", form_url="/account/tokens")
    assert revoked.status_code == 302
    assert api.get("/api/v1/me").status_code == 401
    assert site.api("group").get("/api/v1/me").status_code == 200
    browser.get("/lang/en")
    html = browser.get("/account/tokens").get_data(as_text=True)
    assert "API tokens" in html and "Revoked" in html and "Create token" in html


def test_the_tokens_page_names_a_bad_field_and_revokes_only_ones_own(site: Site) -> None:
    browser = site.browser("company_a")
    browser.get("/lang/en")
    bad = browser.post("/account/tokens", {"name": "x", "expires_in_days": "12345"})
    assert bad.status_code == 422
    assert 'id="expires_in_days-error"' in bad.get_data(as_text=True)
    uid = _user_id(site, "company_b")
    with session_scope(site.app) as s:
        foreign = s.scalar(select(ApiToken.id).where(ApiToken.user_id == uid))
    response = browser.post(f"/account/tokens/{foreign}/revoke", form_url="/account/tokens")
    assert response.status_code == 404
    assert site.api("company_b").get("/api/v1/me").status_code == 200


def test_openapi_documents_the_token_endpoints(site: Site) -> None:
    doc: dict[str, Any] = site.app.test_client().get("/api/openapi.json").json
    paths = doc["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/tokens"])
    assert "delete" in paths["/api/v1/tokens/{token_id}"]
    assert "get" in paths["/api/v1/users/{user_id}/tokens"]
    token_in = doc["components"]["schemas"]["TokenIn"]["properties"]
    assert "expires_in_days" in token_in
