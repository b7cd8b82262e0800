"""The request owns the commit: no API view and no page commits (``db.end_request`` does, called
once by the ``endpoint`` decorator and once by the pages' hook), so a request that fails after
writing leaves nothing written."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from matchmaker.api.problems import Problem
from matchmaker.challenges.models import Challenge
from matchmaker.db import session_scope

PACKAGE = Path(__file__).resolve().parents[1] / "matchmaker"

#: How a request may fail after its write (tests/api and tests/web): each leaves nothing written.
FAILURES = pytest.mark.parametrize(
    ("error", "status"),
    [(RuntimeError("the answer failed"), 500), (Problem(409, "Conflict", "no"), 409)],
)


def challenges_written(app: Flask) -> int:
    with session_scope(app) as s:
        return int(s.scalar(select(func.count()).select_from(Challenge)) or 0)


def _commit_calls(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "commit"
    ]


def test_no_view_or_page_commits() -> None:
    files = sorted([*PACKAGE.glob("*/views.py"), *PACKAGE.glob("web/*.py")])
    assert len(files) > 20, files
    found = {str(p.relative_to(PACKAGE)): lines for p in files if (lines := _commit_calls(p))}
    assert found == {}, f"views and pages never commit; the request does: {found}"
