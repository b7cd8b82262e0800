"""Security headers on every response and the flags of the session cookie."""

from __future__ import annotations

import re
from http.cookies import SimpleCookie

import pytest

from tests.factories import challenge_body
from tests.security.conftest import Site

PAGES = ["/", "/login", "/challenges", "/group/matches", "/office/proposals", "/api/docs"]


def _csp(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    policy = response.headers["Content-Security-Policy"]
    return {d.split()[0]: d.strip() for d in policy.split(";") if d.strip()}


def _session_cookie(response) -> SimpleCookie:  # type: ignore[no-untyped-def]
    jar: SimpleCookie = SimpleCookie()
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith("session="):
            jar.load(header)
    assert "session" in jar, response.headers.getlist("Set-Cookie")
    return jar


def test_pages_forbid_inline_scripts_and_framing(site: Site) -> None:
    for role in ("anonymous", "company_a", "group", "office"):
        browser = site.browser(role)
        for url in PAGES:
            response = browser.get(url)
            if response.status_code != 200:
                continue
            csp = _csp(response)
            assert "'unsafe-inline'" not in csp["script-src"], url
            assert csp["script-src"] == "script-src 'self'"
            assert csp["frame-ancestors"] == "frame-ancestors 'none'"
            assert csp["object-src"] == "object-src 'none'"
            assert response.headers["X-Frame-Options"] == "DENY"
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            html = response.get_data(as_text=True)
            # Every script is a file from this site; no inline script or event handler attribute.
            for tag in re.findall(r"<script\b[^>]*>", html):
                assert "src=" in tag, (url, tag)
            assert not re.search(r"\son[a-z]+\s*=", html), url


def test_api_answers_are_never_documents_nor_cached(site: Site) -> None:
    api = site.api("company_a")
    response = api.get("/api/v1/challenges")
    assert (
        response.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    )
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    problem = api.get("/api/v1/challenges/999")
    assert problem.status_code == 404
    assert problem.headers["Cache-Control"] == "no-store"
    assert problem.headers["X-Frame-Options"] == "DENY"


def test_no_hsts_over_plain_http_by_default(site: Site) -> None:
    assert "Strict-Transport-Security" not in site.api("office").get("/api/v1/me").headers
    assert "Strict-Transport-Security" not in site.browser("anonymous").get("/login").headers


def test_hsts_when_the_request_came_over_https(site: Site) -> None:
    response = site.app.test_client().get("/login", base_url="https://matchmaker.example")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


@pytest.mark.settings(behind_tls=True)
def test_behind_tls_proxy_hsts_and_secure_cookie(site: Site) -> None:
    browser = site.browser("anonymous")
    response = browser.get("/login")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    # A browser would not send a Secure cookie over http; sign in over https as a proxy would.
    client = site.app.test_client()
    page = client.get("/login", base_url="https://matchmaker.example")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert token
    response = client.post(
        "/login",
        data={
            "email": site.emails["office"],
            "password": "correct horse battery",
            "csrf_token": token.group(1),
        },
        base_url="https://matchmaker.example",
        headers={"Referer": "https://matchmaker.example/login"},  # CSRF checks it over https
    )
    assert response.status_code == 302
    cookie = _session_cookie(response)["session"]
    assert cookie["secure"] is True
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


def test_session_cookie_is_httponly_and_samesite(site: Site) -> None:
    browser = site.browser("anonymous")
    response = browser.login(site.emails["company_a"])
    assert response.status_code == 302
    cookie = _session_cookie(response)["session"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert not cookie["secure"]  # plain http in the embedded default; see behind_tls


def test_session_cannot_write_through_the_api(site: Site) -> None:
    """A signed-in browser may read the API with its cookie, never write (no CSRF through it)."""
    browser = site.browser("company_a")
    assert browser.get("/api/v1/me").status_code == 200
    response = browser.client.post("/api/v1/challenges", json=challenge_body())
    assert response.status_code == 401
    assert site.api("office").get("/api/v1/challenges").json["total"] == 0


def test_page_forms_need_a_csrf_token(site: Site) -> None:
    browser = site.browser("company_a")
    response = browser.client.post("/challenges/new", data={"title": "No token"})
    assert response.status_code == 400
    assert site.api("office").get("/api/v1/challenges").json["total"] == 0
