"""A clean, migrated PostgreSQL database for a benchmark."""

from __future__ import annotations

import os

from sqlalchemy import create_engine, text

from matchmaker.cli import run_migrations

BENCH_DATABASE_URL = os.environ.get(
    "MATCHMAKER_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/mm_prod_bench"
)


def fresh_database(url: str = BENCH_DATABASE_URL) -> str:
    """Drop every table of ``url``'s public schema and migrate it again; returns ``url``."""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    run_migrations(url)
    return url
