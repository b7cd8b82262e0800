"""Users, made through the accounts service."""

from __future__ import annotations

from typing import Any

from flask import Flask

from matchmaker.accounts.models import Role
from matchmaker.accounts.service import create_user, issue_token
from matchmaker.db import session_scope


def user(app: Flask, email: str, role: str, organisation: str | None = None, **kw: Any) -> str:
    """Create a user and return an API token."""
    with session_scope(app) as s:
        u = create_user(s, email=email, role=Role(role), organisation=organisation, **kw)
        return issue_token(s, u)


def account(app: Flask, email: str, role: str, organisation: str | None = None, **kw: Any) -> int:
    """Create a user without an API token (one who signs in with a password); return its id."""
    with session_scope(app) as s:
        u = create_user(s, email=email, role=Role(role), organisation=organisation, **kw)
        s.flush()
        return u.id
