"""A site with one user per role, each able to call the API (token) and sign in to the pages.

``@pytest.mark.settings(name=value, ...)`` overrides settings of the test's app (rate limits,
``behind_tls``), so each test states the configuration it checks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from matchmaker.config import Settings
from matchmaker.db import session_scope
from matchmaker.groups.models import ResearchGroup
from tests import factories
from tests.conftest import Api

PASSWORD = "correct horse battery"
ROLES = ("anonymous", "company_a", "company_b", "group", "office", "admin")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


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


class Browser:
    """A test client that signs in with a password and posts forms with their CSRF token."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, **kw)

    def csrf(self, url: str = "/login") -> str:
        match = CSRF.search(self.client.get(url).get_data(as_text=True))
        assert match, f"no CSRF token on {url}"
        return match.group(1)

    def post(
        self,
        url: str,
        data: dict[str, Any] | None = None,
        *,
        form_url: str | None = None,
        **kw: Any,
    ) -> Any:
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf(form_url or url))
        return self.client.post(url, data=data, **kw)

    def login(self, email: str, password: str = PASSWORD) -> Any:
        return self.post("/login", {"email": email, "password": password})


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
            browser = Browser(self.app.test_client())
            if role != "anonymous":
                response = browser.login(self.emails[role])
                assert response.status_code == 302, response.get_data(as_text=True)[:500]
            self.browsers[role] = browser
        return self.browsers[role]


def build_site(app: Flask) -> Site:
    a = factories.organisation(app, "Elbwerk Kupfer GmbH")
    b = factories.organisation(app, "Harburger Stahl AG")
    inst = factories.organisation(app, "Hochschule Altona", "institution")
    with session_scope(app) as s:
        grp = ResearchGroup(
            institution_id=inst,
            name="Thermal Lab",
            head="Prof. Dr. Jana Petersen",
            capabilities="We design high-temperature heat pumps for industrial waste heat.",
            methods="Heat pump test rig up to 200 °C.",
            keywords=["heat pumps"],
            fields=["energy_efficiency"],
            trl_min=3,
            trl_max=7,
            capacity=2,
            contact="lab@hs.example",
        )
        s.add(grp)
        s.flush()
        group_id = grp.id
    people = {
        "company_a": ("a@elbwerk.example", "company", "Elbwerk Kupfer GmbH", {}),
        "company_b": ("b@stahl.example", "company", "Harburger Stahl AG", {}),
        "group": ("lab@hs.example", "group", "Hochschule Altona", {"group_id": group_id}),
        "office": ("office@hamburg.example", "office", None, {}),
        "admin": ("admin@hamburg.example", "admin", None, {}),
    }
    tokens = {
        role: factories.user(app, email, kind, org, password=PASSWORD, **kw)
        for role, (email, kind, org, kw) in people.items()
    }
    return Site(app, {r: p[0] for r, p in people.items()}, tokens, a, b, inst, group_id)


@pytest.fixture
def site(app: Flask) -> Site:
    return build_site(app)
