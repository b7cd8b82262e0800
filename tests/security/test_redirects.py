"""A ``next`` parameter never sends anyone off the site (no open redirect), on every endpoint
that honours one: the language switch and sign-in."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

import pytest

from matchmaker.web.helpers import safe_next
from tests.security.conftest import PASSWORD, Browser, Site

#: Targets a browser would resolve to another site, or that smuggle headers; each must fall
#: back to the endpoint's own page.
HOSTILE = [
    "//evil.example",
    "///evil.example",
    "////evil.example/x",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r/evil.example",
    "\t//evil.example",
    " //evil.example",
    "/ /evil.example",
    "/\x00/evil.example",
    "/\x0b/evil.example",
    "/\x7f/evil.example",
    "/\u200b/evil.example",
    "/\u202e/evil.example",
    "/%09/evil.example",
    "/%0a/evil.example",
    "/%0d%0a/evil.example",
    "/%2f/evil.example",
    "/%2F/evil.example",
    "/%5c/evil.example",
    "/%5Cevil.example",
    "/%252f/evil.example",
    "/%2e%2e%2f%2fevil.example",
    "https://evil.example/",
    "http:evil.example",
    "HTTPS://evil.example",
    "//evil.example@good.example",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",
    "/\r\nSet-Cookie: owned=1",
    "/x\r\nLocation: https://evil.example",
    "%2f%2fevil.example",
]

#: Same-site targets a user really returns to.
FRIENDLY = [
    "/",
    "/office/proposals",
    "/company/challenges?page=2",
    "/group/matches?field=smart_grids&page=3",
    "/office/proposals/12#decide",
    "/company/challenges?q=W%C3%A4rme%20Pumpe",
]


@pytest.mark.parametrize("target", HOSTILE)
def test_safe_next_refuses_what_leaves_the_site(target: str) -> None:
    assert safe_next(target, "/home") == "/home"
    assert safe_next(target) is None


@pytest.mark.parametrize("target", FRIENDLY)
def test_safe_next_keeps_same_site_paths(target: str) -> None:
    assert safe_next(target, "/home") == target


def _assert_stays(response: object, fallback_path: str) -> None:
    assert response.status_code == 302, response.status_code  # type: ignore[attr-defined]
    location = response.headers["Location"]  # type: ignore[attr-defined]
    parts = urlsplit(location)
    assert parts.netloc in ("", "localhost"), location
    assert not location.startswith("//") and "\\" not in location, location
    assert "evil" not in location, location
    assert parts.path == fallback_path, location


def _query(target: str) -> str:
    # Sent as the attacker's link would carry it: every byte percent-encoded once.
    return quote(target, safe="")


@pytest.mark.parametrize("target", HOSTILE)
def test_language_switch_never_leaves_the_site(site: Site, target: str) -> None:
    response = site.app.test_client().get(f"/lang/en?next={_query(target)}")
    _assert_stays(response, "/")


def test_language_switch_passes_the_issue_payload_raw(site: Site) -> None:
    """The exact link from the report, with its tab encoded only once by the attacker."""
    response = site.app.test_client().get("/lang/en?next=/%09/evil.example")
    _assert_stays(response, "/")


@pytest.mark.parametrize("target", FRIENDLY)
def test_language_switch_returns_to_the_page(site: Site, target: str) -> None:
    response = site.app.test_client().get(f"/lang/de?next={_query(target)}")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location == target or location == f"http://localhost{target}", location


@pytest.mark.parametrize("target", HOSTILE)
def test_signin_never_redirects_off_the_site(site: Site, target: str) -> None:
    browser = Browser(site.app.test_client())
    response = browser.post(
        "/login",
        {"email": site.emails["office"], "password": PASSWORD, "next": target},
    )
    _assert_stays(response, "/office/proposals")
    # Already signed in, the sign-in page with the same link sends home as well.
    again = browser.get(f"/login?next={_query(target)}")
    _assert_stays(again, "/office/proposals")


@pytest.mark.parametrize("target", HOSTILE[:8])
def test_signin_form_does_not_carry_a_hostile_next(site: Site, target: str) -> None:
    page = site.app.test_client().get(f"/login?next={_query(target)}")
    assert page.status_code == 200
    assert '<input type="hidden" name="next" value="">' in page.get_data(as_text=True)


def test_signin_returns_to_a_same_site_page(site: Site) -> None:
    browser = Browser(site.app.test_client())
    response = browser.post(
        "/login",
        {"email": site.emails["office"], "password": PASSWORD, "next": "/office/strategy"},
    )
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/office/strategy"
