from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask import Flask

from matchmaker.db import session_scope
from matchmaker.groups.models import ResearchGroup
from tests import factories
from tests.conftest import Api


@dataclass
class World:
    """Two companies, an institution with a group, the office and an admin, each with a client."""

    app: Flask
    anonymous: Api
    company_a: Api
    company_b: Api
    group: Api
    office: Api
    admin: Api
    company_a_id: int
    company_b_id: int
    institution_id: int
    group_id: int

    def as_(self, role: str) -> Api:
        return getattr(self, role)


@pytest.fixture
def world(app: Flask) -> World:
    a = factories.organisation(app, "Elbwerk Kupfer GmbH")
    b = factories.organisation(app, "Harburger Stahl AG")
    inst = factories.organisation(app, "Hochschule Altona", "institution")
    with session_scope(app) as s:
        grp = ResearchGroup(
            institution_id=inst,
            name="Thermal Lab",
            head="",
            capabilities="Heat pumps.",
            methods="",
            keywords=[],
            fields=["energy_efficiency"],
            trl_min=3,
            trl_max=7,
            capacity=2,
            contact="lab@hs.example",
        )
        s.add(grp)
        s.flush()
        group_id = grp.id
    client = app.test_client()
    return World(
        app=app,
        anonymous=Api(client),
        company_a=Api(
            client, factories.user(app, "a@elbwerk.example", "company", "Elbwerk Kupfer GmbH")
        ),
        company_b=Api(
            client, factories.user(app, "b@stahl.example", "company", "Harburger Stahl AG")
        ),
        group=Api(
            client,
            factories.user(app, "lab@hs.example", "group", "Hochschule Altona", group_id=group_id),
        ),
        office=Api(client, factories.user(app, "office@hamburg.example", "office")),
        admin=Api(client, factories.user(app, "admin@hamburg.example", "admin")),
        company_a_id=a,
        company_b_id=b,
        institution_id=inst,
        group_id=group_id,
    )
