"""The domain's errors: free of HTTP and pages, mapped once to the problem documents the API has
always answered with, and once to the pages' words by code."""

from __future__ import annotations

import ast
from pathlib import Path

from flask import Flask

import matchmaker
from matchmaker import errors
from matchmaker.api.problems import domain_problem, status_of
from matchmaker.web.messages import CODE_MESSAGES, error_text

TYPE = "https://matchmaker.example/problems/"


def test_the_errors_module_imports_neither_flask_nor_the_api_nor_the_pages() -> None:
    tree = ast.parse((Path(matchmaker.__file__).parent / "errors.py").read_text("utf-8"))
    imported = {
        alias.name if isinstance(node, ast.Import) else node.module or ""
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported <= {"__future__"}, imported


def _document(error: errors.DomainError) -> dict[str, object]:
    with Flask(__name__).test_request_context("/api/v1/x"):
        return domain_problem(error).to_dict()


def test_each_kind_is_the_problem_document_it_was() -> None:
    assert _document(errors.Invalid("deadline", "deadline_in_past", "must not be in the past")) == {
        "type": TYPE + "validation",
        "title": "Invalid request",
        "status": 422,
        "detail": "deadline: must not be in the past",
        "errors": [{"field": "deadline", "message": "must not be in the past"}],
        "instance": "/api/v1/x",
    }
    assert _document(errors.NotFound("Challenge 7")) == {
        "type": TYPE + "not-found",
        "title": "Not found",
        "status": 404,
        "detail": "Challenge 7 does not exist or is not visible to you.",
        "instance": "/api/v1/x",
    }
    assert _document(errors.Forbidden("Only the office.")) == {
        "type": TYPE + "forbidden",
        "title": "Forbidden",
        "status": 403,
        "detail": "Only the office.",
        "instance": "/api/v1/x",
    }
    taken = errors.Conflict(
        "email_taken", "already registered", field="email", detail="email: a user with a@b exists"
    )
    assert _document(taken) == {
        "type": TYPE + "conflict",
        "title": "Conflict",
        "status": 409,
        "detail": "email: a user with a@b exists",
        "errors": [{"field": "email", "message": "already registered"}],
        "instance": "/api/v1/x",
    }
    # A few codes keep the problem type of their own they always had.
    step = errors.Conflict("transition", "not allowed from proposed", field="to_status")
    assert _document(step)["type"] == TYPE + "transition"
    locked = errors.Throttled("sign_in_locked", "Too many failed sign-ins; try again later.", 61)
    assert _document(locked)["type"] == TYPE + "locked" and status_of(locked) == 429
    assert domain_problem(locked).headers == {"Retry-After": "61"}


def test_pages_say_a_code_in_their_words_or_the_english_message() -> None:
    app = Flask(__name__)
    from flask_babel import Babel

    Babel(app)
    with app.test_request_context("/"):
        assert error_text("deadline_in_past", "must not be in the past") == str(
            CODE_MESSAGES["deadline_in_past"]
        )
        assert error_text("not_a_code", "must start with https://") == "must start with https://"
