"""Pages through Flask's test client: a world of users who sign in with passwords."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask

from tests import factories
from tests.conftest import Browser
from tests.conftest import csrf_token as csrf_token  # tests import it from here
from tests.factories.world import INSTITUTION, PASSWORD, PEOPLE, organisations


@dataclass
class World:
    app: Flask
    institution_id: int
    group_id: int
    other_group_id: int
    company_a_id: int
    company_b_id: int

    def browser(self, email: str | None = None) -> Browser:
        if email:
            return Browser.signed_in(self.app, email)
        return Browser(self.app.test_client())


def _group(app: Flask, inst: int, name: str, capabilities: str, capacity: int = 2) -> int:
    return factories.research_group(
        app, institution_id=inst, name=name, capabilities=capabilities, capacity=capacity
    )


@pytest.fixture
def world(app: Flask) -> World:
    orgs = organisations(app)
    inst = orgs.institution_id
    gid = _group(
        app, inst, "Thermal Lab", "We design high-temperature heat pumps for industrial waste heat."
    )
    other = _group(app, inst, "Grid Lab", "Smart grid control and demand response.", capacity=1)
    for (email, role, org), group_id in [
        (PEOPLE["company_a"], None),
        (PEOPLE["company_b"], None),
        (PEOPLE["group"], gid),
        (("grid@hs.example", "group", INSTITUTION), other),
        (("new@hs.example", "group", INSTITUTION), None),
        (PEOPLE["office"], None),
    ]:
        factories.account(
            app,
            email,
            role,
            org,
            password=PASSWORD,
            group_id=group_id,
            name=email.split("@")[0].title(),
        )
    return World(app, inst, gid, other, orgs.company_a_id, orgs.company_b_id)


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
    return factories.proposal(
        app,
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
        status=status,
    )


def post_challenge(world: World, email: str = "a@elbwerk.example", **overrides: Any) -> int:
    browser = world.browser(email)
    response = browser.post("/challenges/new", challenge_form(**overrides))
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rstrip("/").split("/")[-1])
