"""Migration 0009: users stored before it keep signing in; their tokens keep working."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, inspect, text

from matchmaker.cli import run_migrations
from matchmaker.config import PROJECT_ROOT


def test_users_and_tokens_stored_before_0009_carry_over(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    run_migrations(url, "0007")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (id, email, name, role, active, failed_logins, created_at) "
                "VALUES (1, 'office@city.example', '', 'office', 1, 3, '2026-01-01 00:00:00')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO api_tokens (id, user_id, token_hash, prefix, name, created_at) "
                "VALUES (1, 1, :hash, 'mm_abcdefg', 'old', '2026-01-01 00:00:00')"
            ),
            {"hash": "0" * 64},
        )
    run_migrations(url)
    with engine.connect() as conn:
        user = conn.execute(text("SELECT session_version FROM users WHERE id = 1")).one()
        token = conn.execute(text("SELECT expires_at, revoked_at FROM api_tokens")).one()
        columns = {c["name"] for c in inspect(conn).get_columns("users")}
        tables = set(inspect(conn).get_table_names())
    assert user.session_version == 0
    assert token.expires_at is None and token.revoked_at is None  # no expiry, still valid
    assert "failed_logins" not in columns and "locked_until" not in columns
    assert "sign_in_failures" in tables

    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url)
    command.downgrade(cfg, "0007")
    with engine.connect() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("users")}
        tables = set(inspect(conn).get_table_names())
    engine.dispose()
    assert "failed_logins" in columns and "session_version" not in columns
    assert "sign_in_failures" not in tables
