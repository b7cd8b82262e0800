"""No lever for an attacker: the sign-in lockout is per (account, client) with backoff, sign-in
does not tell real accounts from unknown ones, unknown-token limits never refuse a valid token,
and ``Retry-After`` is only where it means something."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import replace
from typing import Any

import pytest
from flask import Response
from sqlalchemy import select, update

from matchmaker import create_app
from matchmaker.accounts import service
from matchmaker.accounts.models import SignInFailure
from matchmaker.audit.models import AuditEvent
from matchmaker.config import Settings
from matchmaker.db import session_scope, utcnow
from matchmaker.security import per_process_limits_warning
from tests.security.conftest import PASSWORD, Browser, Site

WRONG = "wrong password"


def _from(site: Site, address: str) -> Browser:
    """A browser on another machine (its own client address)."""
    client = site.app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return Browser(client)


def _expire_locks(site: Site) -> None:
    with session_scope(site.app) as s:
        s.execute(update(SignInFailure).values(locked_until=utcnow() - dt.timedelta(seconds=1)))


def test_a_lockout_holds_for_that_client_only_and_the_owner_gets_in_elsewhere(site: Site) -> None:
    attacker = _from(site, "203.0.113.7")
    attacker.get("/lang/en")
    for _ in range(5):
        assert attacker.login(site.emails["company_a"], WRONG).status_code == 401
    locked = attacker.login(site.emails["company_a"], PASSWORD)
    assert locked.status_code == 429
    assert "Too many failed sign-ins. Please try again in 15 minutes." in locked.get_data(
        as_text=True
    )
    assert 14 * 60 < int(locked.headers["Retry-After"]) <= 15 * 60 + 1
    owner = _from(site, "198.51.100.20")
    assert owner.login(site.emails["company_a"], PASSWORD).status_code == 302
    assert owner.get("/challenges").status_code == 200


def test_the_office_sees_a_lockout_in_the_audit_log(site: Site) -> None:
    attacker = _from(site, "203.0.113.7")
    for _ in range(5):
        attacker.login(site.emails["company_b"], WRONG)
    with session_scope(site.app) as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "lock")).all()
        assert len(events) == 1
        event = events[0]
        assert event.entity == "user" and event.entity_id is not None
        assert event.changes["client"] == "203.0.113.7"
        assert event.changes["minutes"] == 15


def test_repeated_lockouts_from_one_client_last_longer(site: Site) -> None:
    attacker = _from(site, "203.0.113.7")
    attacker.get("/lang/en")
    for _ in range(5):
        attacker.login(site.emails["office"], WRONG)
    _expire_locks(site)
    for _ in range(4):
        assert attacker.login(site.emails["office"], WRONG).status_code == 401
    assert attacker.login(site.emails["office"], WRONG).status_code == 401
    again = attacker.login(site.emails["office"], PASSWORD)
    assert again.status_code == 429
    assert "30 minutes" in again.get_data(as_text=True)
    # A success from a client forgets its failures: the next mistake is not a lockout.
    owner = _from(site, "198.51.100.20")
    for _ in range(4):
        owner.login(site.emails["office"], WRONG)
    assert owner.login(site.emails["office"], PASSWORD).status_code == 302
    other = _from(site, "198.51.100.20")
    assert other.login(site.emails["office"], WRONG).status_code == 401


def test_unknown_and_real_accounts_get_the_same_answers(site: Site) -> None:
    def answers(email: str, address: str) -> list[tuple[int, str]]:
        browser = _from(site, address)
        browser.get("/lang/en")
        out = []
        for _ in range(6):
            r = browser.login(email, WRONG)
            html = r.get_data(as_text=True)
            message = html.split('role="alert"><p>', 1)[1].split("</p>", 1)[0]
            out.append((r.status_code, message))
        return out

    real = answers(site.emails["company_a"], "203.0.113.7")
    unknown = answers("nobody@elbwerk.example", "203.0.113.8")
    assert real == unknown
    assert real[0] == (401, "E-mail or password is wrong.")
    assert real[5][0] == 429 and "Too many failed sign-ins" in real[5][1]
    # A deactivated account answers like a wrong password too.
    uid = site.api("admin").get("/api/v1/users?q=b@stahl").json["items"][0]["id"]
    site.api("admin").patch(f"/api/v1/users/{uid}", {"active": False})
    assert answers(site.emails["company_b"], "203.0.113.9") == real


def test_an_unknown_email_costs_a_password_check_too(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Equal work: the password hasher runs for unknown e-mail addresses (so the time of the
    answer does not tell whether the account exists)."""
    checked: list[str] = []
    real_check = service.check_password_hash

    def counting(pwhash: str, password: str) -> bool:
        checked.append(pwhash.split("$", 1)[0])
        return real_check(pwhash, password)

    monkeypatch.setattr(service, "check_password_hash", counting)
    browser = _from(site, "203.0.113.7")
    assert browser.login("nobody@elbwerk.example", WRONG).status_code == 401
    assert browser.login(site.emails["company_a"], WRONG).status_code == 401
    assert len(checked) == 2
    assert checked[0] == checked[1]  # the same hashing method, the same cost


@pytest.mark.settings(rate_limit_auth_failures="4 per minute")
def test_random_tokens_never_lock_out_a_valid_token_from_the_same_address(site: Site) -> None:
    client = site.app.test_client()
    for _ in range(6):
        r = client.get("/api/v1/me", headers={"Authorization": f"Bearer mm_{secrets.token_hex(8)}"})
        assert r.status_code in {401, 429}
    assert (
        client.get("/api/v1/me", headers={"Authorization": "Bearer mm_another"}).status_code == 429
    )
    valid = client.get("/api/v1/me", headers={"Authorization": f"Bearer {site.tokens['group']}"})
    assert valid.status_code == 200


@pytest.mark.settings(rate_limit_auth_failures="4 per minute")
def test_one_token_guessed_from_many_addresses_is_limited_by_its_prefix(site: Site) -> None:
    guess = "mm_abcdefghXYZ"
    for i in range(4):
        r = site.app.test_client().get(
            "/api/v1/me",
            headers={"Authorization": f"Bearer {guess}{i}"},
            environ_base={"REMOTE_ADDR": f"10.0.0.{i + 1}"},
        )
        assert r.status_code == 401
    r = site.app.test_client().get(
        "/api/v1/me",
        headers={"Authorization": f"Bearer {guess}9"},
        environ_base={"REMOTE_ADDR": "10.0.0.99"},
    )
    assert r.status_code == 429


def _via_proxy(site: Site, client_address: str, token: str) -> Any:
    return site.app.test_client().get(
        "/api/v1/me",
        headers={"Authorization": f"Bearer {token}", "X-Forwarded-For": client_address},
        environ_base={"REMOTE_ADDR": "127.0.0.1"},  # the proxy
    )


@pytest.mark.settings(rate_limit_auth_failures="4 per minute", trusted_proxies=1)
def test_behind_a_trusted_proxy_each_client_is_counted_by_its_own_address(site: Site) -> None:
    for _ in range(5):
        last = _via_proxy(site, "203.0.113.7", f"mm_{secrets.token_hex(8)}")
    assert last.status_code == 429
    # Another client behind the same proxy is not refused for the first one's guesses.
    assert _via_proxy(site, "198.51.100.20", "mm_mistyped1").status_code == 401


@pytest.mark.settings(rate_limit_auth_failures="4 per minute")
def test_without_trusted_proxies_a_forwarded_address_is_ignored(site: Site) -> None:
    for i in range(5):
        _via_proxy(site, f"203.0.113.{i}", f"mm_{secrets.token_hex(8)}")
    assert _via_proxy(site, "198.51.100.20", "mm_mistyped1").status_code == 429


def test_trusted_proxies_must_not_be_negative(settings: Settings) -> None:
    with pytest.raises(ValueError, match="MATCHMAKER_TRUSTED_PROXIES"):
        create_app(replace(settings, trusted_proxies=-1))


def test_retry_after_only_on_429_and_never_over_the_apps_own(site: Site) -> None:
    def busy() -> Response:
        return Response("{}", status=503, headers={"Retry-After": "2"})

    site.app.add_url_rule("/api/v1/test-busy", "test_busy", busy)
    api = site.api("office")
    ok = api.get("/api/v1/me")
    assert ok.status_code == 200 and "Retry-After" not in ok.headers
    assert "Retry-After" not in api.get("/api/v1/challenges/999999").headers  # a 404
    assert api.get("/api/v1/test-busy").headers["Retry-After"] == "2"


@pytest.mark.settings(rate_limit_api="2 per minute")
def test_a_refused_request_still_says_when_to_retry(site: Site) -> None:
    api = site.api("office")
    api.get("/api/v1/me")
    api.get("/api/v1/me")
    refused = api.get("/api/v1/me")
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60


def test_memory_limits_with_several_workers_are_warned_about(
    settings: Settings, embedder: Any, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    assert per_process_limits_warning(settings, 1) is None
    assert per_process_limits_warning(replace(settings, redis_url="redis://x:6379/0"), 4) is None
    assert "each of the 3 workers" in (per_process_limits_warning(settings, 3) or "")
    monkeypatch.setenv("WEB_CONCURRENCY", "2")
    with caplog.at_level(logging.WARNING, logger="matchmaker.security"):
        app = create_app(settings, embedder=embedder, TESTING=True)
    app.extensions["matchmaker.engine"].dispose()
    assert any("counted in memory by each of the 2 workers" in r.message for r in caplog.records)


def test_erasing_an_organisation_forgets_its_users_failed_sign_ins(site: Site) -> None:
    from matchmaker.dump import erase_organisation

    for address in ("203.0.113.7", "203.0.113.8"):
        _from(site, address).login(site.emails["company_a"], WRONG)
    _from(site, "203.0.113.7").login(site.emails["company_b"], WRONG)
    with session_scope(site.app) as s:
        assert len(s.scalars(select(SignInFailure)).all()) == 3
        erase_organisation(s, site.company_a_id)
    with session_scope(site.app) as s:
        assert len(s.scalars(select(SignInFailure)).all()) == 1  # company_b's stays
