"""Shared fixtures: an app on a real SQLite file and, when configured, on the real PostgreSQL.

``MATCHMAKER_TEST_DATABASE_URL`` (CI sets it) adds a PostgreSQL run of every database test; with
``MATCHMAKER_REQUIRE_POSTGRES=1`` (CI sets it too) a skipped PostgreSQL test fails the session.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from matchmaker import create_app
from matchmaker.cli import run_migrations
from matchmaker.config import Settings
from tests.factories.world import PASSWORD

os.environ.setdefault("HF_HUB_OFFLINE", "1")
PG_URL = os.environ.get("MATCHMAKER_TEST_DATABASE_URL", "")
REQUIRE_PG = os.environ.get("MATCHMAKER_REQUIRE_POSTGRES") == "1"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file; each test gets a copy."""
    path = tmp_path_factory.mktemp("db") / "template.sqlite3"
    run_migrations(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_migrated() -> str:
    """The PostgreSQL test database with a fresh schema, migrated once per session."""
    if not PG_URL:
        pytest.skip("MATCHMAKER_TEST_DATABASE_URL not set")
    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    run_migrations(PG_URL)
    return PG_URL


def _truncate_pg(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        tables = [
            r[0]
            for r in conn.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname='public' AND tablename <> 'alembic_version'"
                )
            )
        ]
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """A clean, migrated database: a SQLite file, then the real PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "matchmaker.sqlite3"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_migrated")
    _truncate_pg(url)
    return url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings.from_env(
        {}, database_url=database_url, secret_key="test-secret", outbox_dir=str(tmp_path / "outbox")
    )


def default_embedder(threads: int) -> Any:
    """The model as the service runs it: ``MATCHMAKER_ENCODER_BACKEND`` with its export cache."""
    return Settings.from_env().make_embedder(threads=threads)


@pytest.fixture(scope="session")
def embedder() -> Any:
    """The real embedding model run by the configured encoder backend (the service's default
    unless ``MATCHMAKER_ENCODER_BACKEND`` says otherwise), loaded once per test session."""
    return default_embedder(threads=2)


@pytest.fixture
def app(settings: Settings, embedder: Any) -> Iterator[Flask]:
    app = create_app(settings, embedder=embedder, TESTING=True)
    yield app
    app.extensions["matchmaker.engine"].dispose()


@dataclass
class Api:
    """A test client that sends a bearer token and JSON."""

    client: FlaskClient
    token: str | None = None

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        out = dict(headers or {})
        if self.token:
            out.setdefault("Authorization", f"Bearer {self.token}")
        return out

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, headers=self._headers(kw.pop("headers", None)), **kw)

    def post(self, url: str, json: Any = None, **kw: Any) -> Any:
        return self.client.post(
            url, json=json, headers=self._headers(kw.pop("headers", None)), **kw
        )

    def patch(self, url: str, json: Any = None, **kw: Any) -> Any:
        return self.client.patch(
            url, json=json, headers=self._headers(kw.pop("headers", None)), **kw
        )

    def put(self, url: str, json: Any = None, **kw: Any) -> Any:
        return self.client.put(url, json=json, headers=self._headers(kw.pop("headers", None)), **kw)

    def delete(self, url: str, **kw: Any) -> Any:
        return self.client.delete(url, headers=self._headers(kw.pop("headers", None)), **kw)


def csrf_token(client: FlaskClient, url: str = "/login") -> str:
    """The CSRF token of the form on ``url``, as a browser would read it."""
    page = client.get(url)
    match = CSRF.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {url}"
    return match.group(1)


class Browser:
    """A test client that signs in with a password and posts forms with their CSRF token."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    @classmethod
    def signed_in(cls, app: Flask, email: str, password: str = PASSWORD) -> Browser:
        """A new browser on ``app``, signed in as ``email``."""
        browser = cls(app.test_client())
        response = browser.login(email, password)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return browser

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, **kw)

    def csrf(self, url: str = "/login") -> str:
        """The CSRF token of the form on ``url``."""
        return csrf_token(self.client, url)

    def post(
        self,
        url: str,
        data: dict[str, Any] | None = None,
        *,
        form_url: str | None = None,
        csrf: bool = True,
        **kw: Any,
    ) -> Any:
        """Post a form, with the CSRF token of ``form_url`` (``url`` unless given)."""
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf_token", self.csrf(form_url or url))
        return self.client.post(url, data=data, **kw)

    def login(self, email: str, password: str = PASSWORD) -> Any:
        return self.post("/login", {"email": email, "password": password})

    def text(self, url: str) -> str:
        """The page at ``url``, which must answer 200."""
        response = self.client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        return response.get_data(as_text=True)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI a skipped PostgreSQL test is a failure."""
    if not REQUIRE_PG:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    pg_skips = [r for r in skipped if "postgres" in r.nodeid]
    if pg_skips:
        reporter.write_line(
            f"{len(pg_skips)} PostgreSQL tests were skipped; CI requires them", red=True
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
