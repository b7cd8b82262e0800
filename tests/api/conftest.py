from __future__ import annotations

from dataclasses import asdict, dataclass

import pytest
from flask import Flask

from tests import factories
from tests.conftest import Api
from tests.factories.world import organisations, tokens


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
    orgs = organisations(app)
    group_id = factories.research_group(
        app,
        institution_id=orgs.institution_id,
        head="",
        capabilities="Heat pumps.",
        methods="",
        keywords=[],
    )
    client = app.test_client()
    apis = {role: Api(client, token) for role, token in tokens(app, group_id).items()}
    return World(app=app, anonymous=Api(client), **apis, **asdict(orgs), group_id=group_id)
