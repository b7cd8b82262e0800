"""SQLAlchemy 2.x engine, sessions and the typed declarative base.

One session per request (or per CLI command / job), one commit per unit of work. Services and
views never commit: the request does, in one place each: the API's ``endpoint`` decorator
(``api/spec.py``) and the pages' after-request hook (``web/helpers.py``) call :func:`end_request`,
which commits the request's session when it succeeded and rolls it back otherwise, so a rejected
request writes nothing. Work that must wait for the commit (a job handed the new row, an e-mail
about it) is registered with :func:`after_commit`. Commands and jobs use :func:`session_scope`.
A view that builds its answer from rows it wrote flushes first: ids, ``updated_at`` and
defaults get their values at flush.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, ClassVar

from flask import Flask, current_app, g
from sqlalchemy import JSON, DateTime, Enum, MetaData, TypeDecorator, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, mapped_column, sessionmaker

from matchmaker.config import Settings

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    """Timezone-aware now in UTC."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp stored in UTC and always returned timezone-aware (SQLite forgets zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value


intpk = Annotated[int, mapped_column(primary_key=True)]
created_at = Annotated[dt.datetime, mapped_column(UTCDateTime(), default=utcnow, nullable=False)]
updated_at = Annotated[
    dt.datetime, mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)
]


def value_enum(enum_type: type[enum.Enum], length: int = 20) -> Enum:
    """A column type storing a Python enum by its values (not names) as plain text, checked
    in Python rather than by a database enum type (migrations stay portable)."""
    return Enum(
        enum_type,
        native_enum=False,
        length=length,
        values_callable=lambda e: [m.value for m in e],
    )


class Base(DeclarativeBase):
    """Declarative base of every ORM class."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        list[str]: JSON,
        dt.datetime: UTCDateTime(),
    }


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def make_engine(settings: Settings) -> Engine:
    """Create the engine for ``settings.database_url`` with pool settings for PostgreSQL."""
    url = settings.database_url
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 15})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()
            # SQLite's lower() (and so ILIKE, which SQLAlchemy renders with it) folds ASCII only;
            # PostgreSQL's folds every letter: "öl" finds "Ölkühler" on both.
            dbapi_connection.create_function("lower", 1, _lower, deterministic=True)

        return engine
    return create_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
        pool_pre_ping=True,
    )


def init_app(app: Flask) -> None:
    """Attach an engine and a session factory to ``app``; close the request's session after it."""
    settings: Settings = app.extensions["matchmaker.settings"]
    engine = make_engine(settings)
    app.extensions["matchmaker.engine"] = engine
    app.extensions["matchmaker.sessionmaker"] = sessionmaker(engine, expire_on_commit=False)
    app.teardown_appcontext(_close_session)


def get_session() -> Session:
    """The current request's (or app context's) session, opened on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["matchmaker.sessionmaker"]()
    session: Session = g.db_session
    return session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def after_commit(callback: Callable[[], Any]) -> None:
    """Run ``callback`` once this request's session is committed (never, if it is rolled back):
    for work another session or the outside world must not see before the commit."""
    g.setdefault("db_after_commit", []).append(callback)


def keep_writes() -> None:
    """Commit this request's writes even though it answers with a refusal (a 4xx): a failed
    sign-in is counted though the page says no. A failure (a 5xx) still writes nothing."""
    g.db_keep_writes = True


def end_request(status: int | None) -> None:
    """End the request's unit of work once its answer's ``status`` is known (None: it raised).

    A success (below 400) commits the request's session, then runs its :func:`after_commit`
    work; a refusal after :func:`keep_writes` commits without that work; anything else rolls
    back. Called again, it commits what was written since.
    """
    callbacks: list[Callable[[], Any]] = g.pop("db_after_commit", [])
    kept = g.pop("db_keep_writes", False) and status is not None and status < 500
    ok = status is not None and status < 400
    session: Session | None = g.get("db_session")
    if session is not None and (ok or kept):
        try:
            session.commit()
        except BaseException:
            session.rollback()
            raise
    elif session is not None:
        session.rollback()
    if ok:
        for callback in callbacks:
            callback()


@contextmanager
def session_scope(app: Flask) -> Iterator[Session]:
    """A session for a command or job: commits on success, rolls back on error."""
    session: Session = app.extensions["matchmaker.sessionmaker"]()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
