"""Error pages look like the rest of the site: styled, in the user's language, with a way back.
API paths keep their problem documents."""

from __future__ import annotations

import dataclasses

from flask import abort

from matchmaker import create_app
from tests.web.conftest import csrf_token


def _styled(html: str) -> bool:
    return 'class="card narrow error-page"' in html and "/static/app.css" in html


def test_a_company_opening_an_office_page_gets_the_styled_403(world) -> None:
    company = world.browser("a@elbwerk.example")
    response = company.get("/office/proposals", headers={"Referer": "http://localhost/challenges"})
    html = response.get_data(as_text=True)
    assert response.status_code == 403
    assert response.mimetype == "text/html"
    assert _styled(html) and "Nicht erlaubt" in html and "Forbidden" not in html
    assert '<a class="btn" href="/challenges">Zurück</a>' in html
    assert "Zur Startseite" in html
    company.get("/lang/en")
    html = company.get("/office/proposals").get_data(as_text=True)
    assert _styled(html) and "Not allowed" in html and '<html lang="en">' in html


def test_unknown_pages_and_wrong_methods_get_styled_pages(world) -> None:
    browser = world.browser("a@elbwerk.example")
    response = browser.get("/no-such-page")
    assert response.status_code == 404 and _styled(response.get_data(as_text=True))
    assert "Nicht gefunden" in response.get_data(as_text=True)
    response = browser.get("/logout")  # sign-out is a form (POST)
    html = response.get_data(as_text=True)
    assert response.status_code == 405 and _styled(html)
    assert "Das geht hier nicht" in html and "Method Not Allowed" not in html
    assert "POST" in response.headers["Allow"]


def test_401_and_500_pages_are_styled_and_translated(settings, embedder) -> None:
    app = create_app(settings, embedder=embedder, TESTING=True)
    app.add_url_rule("/needs-sign-in", "needs_sign_in", lambda: abort(401))
    app.add_url_rule("/broken", "broken", lambda: abort(500))
    client = app.test_client()
    html = client.get("/needs-sign-in").get_data(as_text=True)
    assert _styled(html) and "Bitte melden Sie sich an" in html
    assert 'href="/login?next=/needs-sign-in"' in html
    response = client.get("/broken")
    assert response.status_code == 500 and _styled(response.get_data(as_text=True))
    assert "Etwas ist schiefgegangen" in response.get_data(as_text=True)
    client.set_cookie("lang", "en")
    assert "Please sign in" in client.get("/needs-sign-in").get_data(as_text=True)
    app.extensions["matchmaker.engine"].dispose()


def test_too_many_sign_ins_get_a_styled_429(settings, embedder) -> None:
    app = create_app(
        dataclasses.replace(settings, rate_limit_signin="2 per minute"),
        embedder=embedder,
        TESTING=True,
    )
    client = app.test_client()
    form = {"email": "x@y.example", "password": "nope", "csrf_token": csrf_token(client)}
    statuses = [client.post("/login", data=form).status_code for _ in range(3)]
    response = client.post("/login", data=form)
    html = response.get_data(as_text=True)
    assert statuses[-1] == 429 and response.status_code == 429
    assert _styled(html) and "Zu viele Versuche" in html
    assert "Too Many Requests" not in html
    assert response.headers.get("Retry-After")
    app.extensions["matchmaker.engine"].dispose()


def test_api_paths_keep_problem_documents(world) -> None:
    client = world.app.test_client()
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    response = client.delete("/api/openapi.json")
    assert response.status_code == 405 and response.mimetype == "application/problem+json"
