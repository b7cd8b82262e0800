"""Pages through Flask's test client: a world of users who sign in with passwords."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from matchmaker.accounts.models import Role
from matchmaker.accounts.service import create_user
from matchmaker.db import session_scope
from matchmaker.groups.models import ResearchGroup
from tests import factories

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client: FlaskClient, url: str = "/login") -> str:
    """The CSRF token of the form on ``url``, as a browser would read it."""
    page = client.get(url)
    match = CSRF.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {url}"
    return match.group(1)


class Browser:
    """A test client that signs in and posts forms with their CSRF token."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, **kw)

    def post(
        self,
        url: str,
        data: dict[str, Any] | None = None,
        *,
        form_url: str | None = None,
        csrf: bool = True,
        **kw: Any,
    ) -> Any:
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf_token", csrf_token(self.client, form_url or url))
        return self.client.post(url, data=data, **kw)

    def login(self, email: str, password: str = PASSWORD) -> Any:
        return self.post("/login", {"email": email, "password": password})

    def text(self, url: str) -> str:
        response = self.client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        return response.get_data(as_text=True)


@dataclass
class World:
    app: Flask
    institution_id: int
    group_id: int
    other_group_id: int
    company_a_id: int
    company_b_id: int

    def browser(self, email: str | None = None) -> Browser:
        browser = Browser(self.app.test_client())
        if email:
            response = browser.login(email)
            assert response.status_code == 302, response.get_data(as_text=True)
        return browser


def _group(app: Flask, inst: int, name: str, capabilities: str, capacity: int = 2) -> int:
    with session_scope(app) as s:
        grp = ResearchGroup(
            institution_id=inst,
            name=name,
            head="Prof. Dr. Jana Petersen",
            capabilities=capabilities,
            methods="Heat pump test rig up to 200 °C.",
            keywords=["heat pumps"],
            fields=["energy_efficiency"],
            trl_min=3,
            trl_max=7,
            capacity=capacity,
            contact="lab@hs.example",
        )
        s.add(grp)
        s.flush()
        return grp.id


@pytest.fixture
def world(app: Flask) -> World:
    a = factories.organisation(app, "Elbwerk Kupfer GmbH")
    b = factories.organisation(app, "Harburger Stahl AG")
    inst = factories.organisation(app, "Hochschule Altona", "institution")
    gid = _group(
        app, inst, "Thermal Lab", "We design high-temperature heat pumps for industrial waste heat."
    )
    other = _group(app, inst, "Grid Lab", "Smart grid control and demand response.", capacity=1)
    with session_scope(app) as s:
        for email, role, org, group_id in [
            ("a@elbwerk.example", Role.COMPANY, "Elbwerk Kupfer GmbH", None),
            ("b@stahl.example", Role.COMPANY, "Harburger Stahl AG", None),
            ("lab@hs.example", Role.GROUP, "Hochschule Altona", gid),
            ("grid@hs.example", Role.GROUP, "Hochschule Altona", other),
            ("new@hs.example", Role.GROUP, "Hochschule Altona", None),
            ("office@hamburg.example", Role.OFFICE, None, None),
        ]:
            create_user(
                s,
                email=email,
                role=role,
                organisation=org,
                password=PASSWORD,
                group_id=group_id,
                name=email.split("@")[0].title(),
            )
    return World(app, inst, gid, other, a, b)


def challenge_form(**overrides: Any) -> dict[str, Any]:
    """A complete, valid challenge form as a browser sends it."""
    body = {k: v for k, v in factories.challenge_body().items() if v is not None}
    form: dict[str, Any] = {k: str(v) for k, v in body.items() if k != "fields"}
    form["fields"] = body["fields"]
    form["language"] = "en"
    form.update(overrides)
    return form


def add_proposal(
    app: Flask,
    challenge_id: int,
    group_id: int,
    score: float = 0.8,
    status: str = "proposed",
    evidence: dict[str, Any] | None = None,
) -> int:
    """A proposal as a matching run stores it, with score parts and evidence (``evidence``
    replaces the default one)."""
    from matchmaker.matching.models import Proposal, ProposalStatus

    with session_scope(app) as s:
        p = Proposal(
            challenge_id=challenge_id,
            group_id=group_id,
            score=score,
            components={"semantic": 0.71, "lexical": 0.42, "fields": 1.0, "trl": 0.9},
            evidence=evidence
            or {
                "pairs": [
                    {
                        "query": "feed it into the district heating grid",
                        "candidate": "high-temperature heat pumps for industrial waste heat",
                        "document": "capabilities",
                        "similarity": 0.66,
                    }
                ],
                "terms": ["heat pump", "waste heat"],
            },
            strategy_version=1,
            status=ProposalStatus(status),
        )
        s.add(p)
        s.flush()
        return p.id


def post_challenge(world: World, email: str = "a@elbwerk.example", **overrides: Any) -> int:
    browser = world.browser(email)
    response = browser.post("/challenges/new", challenge_form(**overrides))
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rstrip("/").split("/")[-1])
