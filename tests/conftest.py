"""Shared fixtures: an app on a real SQLite file and, when configured, on the real PostgreSQL.

``MATCHMAKER_TEST_DATABASE_URL`` (CI sets it) adds a PostgreSQL run of every database test; with
``MATCHMAKER_REQUIRE_POSTGRES=1`` (CI sets it too) a skipped PostgreSQL test fails the session.

A test on the ``app`` fixture runs in one transaction rolled back at its end (as pypi/warehouse's
tests do): the app's sessions are bound to one connection, and the app's own commits release
savepoints, wherever the app calls ``commit()``. A test that needs committed data — a second
connection, process or thread (a job or matching run has its heartbeat thread), a second app, a
CLI run — is marked ``@pytest.mark.committed`` and gets a database of its own instead (a copy of
the migrated SQLite file; PostgreSQL truncated), as does a test that makes its own apps.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, Engine, create_engine, event, inspect, text

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


def committed(request: pytest.FixtureRequest) -> bool:
    """Whether the test is marked ``committed`` (it needs a database of its own)."""
    return request.node.get_closest_marker("committed") is not None


# The clean database that the rolled-back tests share, per kind; None once a commit dirtied it.
_shared: dict[str, str | None] = {"sqlite": None, "postgres": None}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path,
) -> str:
    """A migrated database, clean at the test's start: a SQLite file, then the real PostgreSQL.

    A test on the ``app`` fixture shares one, which it sees only through a transaction rolled
    back at its end; a ``committed`` test, and one that makes apps of its own from ``settings``,
    gets its own copy of the SQLite file (PostgreSQL truncated first)."""
    kind = request.param
    own = committed(request) or "app" not in request.fixturenames
    if kind == "sqlite":
        shared = _shared["sqlite"]
        if own or shared is None:
            path = (tmp_path if own else tmp_path_factory.mktemp("shared")) / "matchmaker.sqlite3"
            shutil.copy(sqlite_template, path)
            if own:
                return f"sqlite:///{path}"
            shared = _shared["sqlite"] = f"sqlite:///{path}"
        return shared
    url: str = request.getfixturevalue("pg_migrated")
    if own or _shared["postgres"] is None:
        _truncate_pg(url)
    _shared["postgres"] = None if own else url
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
def app(settings: Settings, embedder: Any, request: pytest.FixtureRequest) -> Iterator[Flask]:
    """The app; unless the test is ``committed``, inside a transaction rolled back at its end."""
    app = create_app(settings, embedder=embedder, TESTING=True)
    try:
        if committed(request):
            yield app
        else:
            with rolled_back(app):
                yield app
    finally:
        app.extensions["matchmaker.engine"].dispose()


def _row_counts(engine: Engine) -> dict[str, int]:
    """The number of rows of every table, as another connection sees them (committed rows)."""
    quote = engine.dialect.identifier_preparer.quote
    tables = inspect(engine).get_table_names()
    counts = ", ".join(f"(SELECT COUNT(*) FROM {quote(t)})" for t in tables)
    with engine.connect() as conn:
        return dict(zip(tables, conn.execute(text(f"SELECT {counts}")).one(), strict=True))


def _sqlite_savepoints(engine: Engine) -> None:
    """SQLAlchemy's recipe for SAVEPOINT on pysqlite: the driver emits no BEGIN of its own
    (it would not before a SAVEPOINT, whose RELEASE then commits); SQLAlchemy emits it."""
    engine.dispose()  # no connection made before the hooks

    @event.listens_for(engine, "connect")
    def _no_driver_begin(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN")


@contextmanager
def rolled_back(app: Flask) -> Iterator[Connection]:
    """Bind ``app``'s sessions to one connection whose transaction is rolled back on leaving;
    a session's commit releases a savepoint instead (``join_transaction_mode``). The vector
    store, which writes in transactions of its own, goes through that connection too."""
    engine: Engine = app.extensions["matchmaker.engine"]
    if engine.dialect.name == "sqlite":
        _sqlite_savepoints(engine)
    before = _row_counts(engine)
    connection = engine.connect()
    outer = connection.begin()
    app.extensions["matchmaker.sessionmaker"].configure(
        bind=connection, join_transaction_mode="create_savepoint"
    )
    app.extensions["matchmaker.matcher"].store.engine = _Through(connection)
    try:
        yield connection
    finally:
        outer.rollback()
        connection.close()
    if _row_counts(engine) != before:
        _shared[engine.dialect.name] = None
        pytest.fail("the test committed outside its transaction: mark it committed")


class _Borrowed:
    """The test's connection as ``engine.connect()`` gives one: leaving it keeps it open."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def execution_options(self, **_options: Any) -> _Borrowed:
        return self  # streaming hints only; the shared connection keeps its own options

    def __enter__(self) -> Connection:
        return self.connection

    def __exit__(self, *_exc: Any) -> None:
        return None


class _Through:
    """An engine for code that opens its own connections (the vector store): each borrows the
    test's connection, and each transaction of its own is a savepoint on it."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.dialect = connection.dialect

    def connect(self) -> _Borrowed:
        return _Borrowed(self.connection)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        with self.connection.begin_nested():
            yield self.connection


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
