"""A site with one user per role, each able to call the API (token) and sign in to the pages.

``@pytest.mark.settings(name=value, ...)`` overrides settings of the test's app (rate limits,
``behind_tls``), so each test states the configuration it checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from matchmaker.config import Settings
from tests import factories
from tests.conftest import Api, Browser
from tests.factories.world import PASSWORD, PEOPLE, organisations, tokens

ROLES = ("anonymous", "company_a", "company_b", "group", "office", "admin")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "settings(**values): settings of the test's app")


@pytest.fixture
def settings(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    marker = request.node.get_closest_marker("settings")
    overrides: dict[str, Any] = dict(marker.kwargs) if marker else {}
    return Settings.from_env(
        {},
        database_url=database_url,
        secret_key="test-secret",
        outbox_dir=str(tmp_path / "outbox"),
        **overrides,
    )


@dataclass
class Site:
    """Two companies, an institution with a group, the office and an admin."""

    app: Flask
    emails: dict[str, str]
    tokens: dict[str, str]
    company_a_id: int
    company_b_id: int
    institution_id: int
    group_id: int
    browsers: dict[str, Browser] = field(default_factory=dict)

    def api(self, role: str) -> Api:
        return Api(self.app.test_client(), self.tokens.get(role))

    def browser(self, role: str) -> Browser:
        """A browser signed in as ``role`` (anonymous: not signed in); one per role and test."""
        if role not in self.browsers:
            self.browsers[role] = (
                Browser(self.app.test_client())
                if role == "anonymous"
                else Browser.signed_in(self.app, self.emails[role])
            )
        return self.browsers[role]


def build_site(app: Flask) -> Site:
    orgs = organisations(app)
    group_id = factories.research_group(app, institution_id=orgs.institution_id)
    emails = {role: email for role, (email, _kind, _org) in PEOPLE.items()}
    return Site(
        app,
        emails,
        tokens(app, group_id, password=PASSWORD),
        orgs.company_a_id,
        orgs.company_b_id,
        orgs.institution_id,
        group_id,
    )


@pytest.fixture
def site(app: Flask) -> Site:
    return build_site(app)
