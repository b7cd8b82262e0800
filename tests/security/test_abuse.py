"""Rate limits on sign-in, token use and writes; lockout after repeated failed sign-ins."""

from __future__ import annotations

import os
import socket
from typing import Any

import pytest
import redis

from matchmaker import create_app
from tests.factories import challenge_body
from tests.security.conftest import PASSWORD, Site, build_site

REDIS_URL = os.environ.get("MATCHMAKER_TEST_REDIS_URL", "redis://127.0.0.1:6379/4")


def _problem_429(response: Any) -> None:
    assert response.status_code == 429
    assert response.mimetype == "application/problem+json"
    assert int(response.headers["Retry-After"]) >= 1
    assert "Too many" in response.json["detail"]


@pytest.mark.settings(rate_limit_api="5 per minute")
def test_api_requests_are_limited_per_token(site: Site) -> None:
    a, b = site.api("company_a"), site.api("company_b")
    for _ in range(5):
        assert a.get("/api/v1/me").status_code == 200
    _problem_429(a.get("/api/v1/me"))
    assert b.get("/api/v1/me").status_code == 200  # another token has its own budget


@pytest.mark.settings(rate_limit_writes="3 per minute")
def test_writes_are_limited_and_a_refused_write_writes_nothing(site: Site) -> None:
    api = site.api("company_a")
    for _ in range(3):
        assert api.post("/api/v1/challenges", challenge_body()).status_code == 201
    _problem_429(api.post("/api/v1/challenges", challenge_body()))
    assert api.get("/api/v1/challenges").status_code == 200  # reads go on
    assert site.api("office").get("/api/v1/challenges").json["total"] == 3


@pytest.mark.settings(rate_limit_auth_failures="4 per minute")
def test_guessing_tokens_is_limited_per_address(site: Site) -> None:
    client = site.app.test_client()
    for i in range(4):
        r = client.get("/api/v1/me", headers={"Authorization": f"Bearer mm_guess{i}"})
        assert r.status_code == 401
    _problem_429(client.get("/api/v1/me", headers={"Authorization": "Bearer mm_guess9"}))
    # Another address is not affected, and a valid token from elsewhere still works.
    other = client.get(
        "/api/v1/me",
        headers={"Authorization": f"Bearer {site.tokens['office']}"},
        environ_base={"REMOTE_ADDR": "10.1.2.3"},
    )
    assert other.status_code == 200


@pytest.mark.settings(rate_limit_signin="3 per minute")
def test_signin_attempts_are_limited_per_address(site: Site) -> None:
    browser = site.browser("anonymous")
    for _ in range(3):
        assert browser.login(site.emails["office"], "wrong password").status_code == 401
    response = browser.login(site.emails["office"])
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert browser.get("/login").status_code == 200  # the form itself still shows


def test_lockout_after_repeated_failed_signins(site: Site) -> None:
    browser = site.browser("anonymous")
    browser.get("/lang/en")
    for _ in range(5):
        assert browser.login(site.emails["company_a"], "wrong password").status_code == 401
    locked = browser.login(site.emails["company_a"], PASSWORD)
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.get_data(as_text=True)
    # Someone else signs in as usual, and the locked user's API token keeps working.
    assert site.browser("company_b").get("/challenges").status_code == 200
    assert site.api("company_a").get("/api/v1/me").status_code == 200


def test_limit_settings_are_checked_at_start(settings: Any) -> None:
    from dataclasses import replace

    with pytest.raises(ValueError, match="MATCHMAKER_RATE_LIMIT_API"):
        create_app(replace(settings, rate_limit_api="lots"))


def _redis_available() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.skipif(not _redis_available(), reason="Redis not reachable")
def test_workers_share_their_counters_in_redis(settings: Any, embedder: Any) -> None:
    """Two processes (two apps here) count against one budget when Redis holds the counters.

    The counters are keyed by the new token's hash, so nothing else in the Redis database counts.
    """
    from dataclasses import replace

    shared = replace(settings, redis_url=REDIS_URL, rate_limit_api="4 per minute")
    one = create_app(shared, embedder=embedder, TESTING=True)
    two = create_app(shared, embedder=embedder, TESTING=True)
    site = build_site(one)
    token = {"Authorization": f"Bearer {site.tokens['office']}"}
    for app in (one, two, one, two):
        assert app.test_client().get("/api/v1/me", headers=token).status_code == 200
    assert two.test_client().get("/api/v1/me", headers=token).status_code == 429
    assert one.test_client().get("/api/v1/me", headers=token).status_code == 429
    for app in (one, two):
        app.extensions["matchmaker.engine"].dispose()


def test_redis_down_requests_are_still_served(settings: Any, embedder: Any) -> None:
    """Limits fall back to per-process memory; the service does not fail because Redis is down."""
    from dataclasses import replace

    down = replace(
        settings, redis_url=f"redis://127.0.0.1:{_free_port()}/4", rate_limit_api="3 per minute"
    )
    app = create_app(down, embedder=embedder, TESTING=True)
    site = build_site(app)
    api = site.api("company_a")
    assert api.post("/api/v1/challenges", challenge_body()).status_code == 201
    assert api.get("/api/v1/challenges").json["total"] == 1
    assert api.get("/api/v1/me").status_code == 200
    _problem_429(api.get("/api/v1/me"))  # and the limit still holds, counted in memory
    app.extensions["matchmaker.engine"].dispose()
