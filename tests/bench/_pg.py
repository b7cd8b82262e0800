"""A clean, migrated PostgreSQL database for a benchmark."""

from __future__ import annotations

import os

from sqlalchemy import create_engine, make_url, text

from matchmaker.cli import run_migrations

BENCH_DATABASE_URL = os.environ.get(
    "MATCHMAKER_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/mm_prod_bench"
)


def fresh_database(url: str = BENCH_DATABASE_URL) -> str:
    """Create ``url``'s database if it is missing, drop every table of its public schema and
    migrate it again; returns ``url``."""
    target = make_url(url)
    server = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        exists = conn.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}
        )
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    server.dispose()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    run_migrations(url)
    return url
