"""RFC 9457 problem documents for every rejected API request: the API's own problems
(:class:`Problem`: a body that is no JSON, a missing token, an idempotency key in use) and the
domain's errors (:mod:`matchmaker.errors`), each kind mapped here once (:func:`domain_problem`)."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, json, request
from werkzeug.exceptions import HTTPException

from matchmaker.errors import Conflict, DomainError, Forbidden, NotFound, Throttled

log = logging.getLogger("matchmaker.errors")

PROBLEM_TYPE = "https://matchmaker.example/problems/"


class Problem(Exception):
    """An error of the HTTP exchange a client caused or must know about; becomes an
    ``application/problem+json`` (a service raises a :mod:`matchmaker.errors` error instead)."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str = "",
        *,
        errors: list[dict[str, str]] | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = errors or []
        self.code = code or title.lower().replace(" ", "-")
        self.headers = headers or {}

    def to_dict(self) -> dict[str, Any]:
        """The problem document's members."""
        doc: dict[str, Any] = {
            "type": PROBLEM_TYPE + self.code,
            "title": self.title,
            "status": self.status,
        }
        if self.detail:
            doc["detail"] = self.detail
        if self.errors:
            doc["errors"] = self.errors
        doc["instance"] = request.path if request else None
        return doc


#: Each kind of domain error as a problem: its status, title and problem type (the type a code
#: of :data:`_TYPES` names instead).
_KINDS: tuple[tuple[type[DomainError], int, str, str], ...] = (
    (NotFound, 404, "Not found", "not-found"),
    (Forbidden, 403, "Forbidden", "forbidden"),
    (Conflict, 409, "Conflict", "conflict"),
    (Throttled, 429, "Too many requests", "too-many-requests"),
    (DomainError, 422, "Invalid request", "validation"),
)
#: The codes with a problem type of their own (the rest are typed by their kind).
_TYPES = {
    "party_step": "party_step",
    "transition": "transition",
    "no_learned_model": "scorer",
    "learned_model_not_eligible": "scorer",
    "sign_in_locked": "locked",
}


def _kind(error: DomainError) -> tuple[int, str, str]:
    for cls, status, title, kind in _KINDS:
        if isinstance(error, cls):
            return status, title, kind
    raise TypeError(error)  # unreachable: the last kind is DomainError


def status_of(error: DomainError) -> int:
    """The HTTP status of a domain error (for the API and the pages alike)."""
    return _kind(error)[0]


def domain_problem(error: DomainError) -> Problem:
    """A domain error as a problem document: status and title by its kind, type by its code,
    ``errors`` naming its field."""
    status, title, kind = _kind(error)
    errors = [{"field": error.field, "message": error.message}] if error.field else []
    headers = {"Retry-After": str(error.retry_after)} if isinstance(error, Throttled) else {}
    return Problem(
        status,
        title,
        error.detail,
        errors=errors,
        code=_TYPES.get(error.code, kind),
        headers=headers,
    )


def problem_response(problem: Problem) -> Response:
    """Serialise a problem as an HTTP response."""
    body = json.dumps(problem.to_dict())
    response = Response(body, status=problem.status, mimetype="application/problem+json")
    for key, value in problem.headers.items():
        response.headers[key] = value
    return response


def wants_problem_json() -> bool:
    """API paths always answer with problem documents; pages get HTML."""
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


#: Headers of an HTTP error that its page keeps (what may be retried, when, how).
_KEPT_HEADERS = frozenset({"allow", "retry-after", "www-authenticate"})


def _error_page(exc: HTTPException) -> Any:
    """An HTTP error on a page: the styled error page in the user's language, with a way back."""
    from flask import render_template

    status = exc.code or 500
    retry_after = next(
        (str(v) for k, v in exc.get_headers() or [] if k.lower() == "retry-after"), ""
    )
    try:
        body = render_template(
            "error.html",
            status=status,
            retry_seconds=int(retry_after) if retry_after.isdigit() else None,
        )
    except Exception:  # the page must never turn an error into a worse one
        log.exception("error page %s could not be rendered", status)
        return exc
    response = Response(body, status=status, mimetype="text/html")
    for key, value in exc.get_headers() or []:
        if key.lower() in _KEPT_HEADERS:
            response.headers[key] = value
    if status == 405 and "Allow" not in response.headers:
        allow = exc.get_response().headers.get("Allow")
        if allow:
            response.headers["Allow"] = allow
    return response


def init_app(app: Flask) -> None:
    """Register the error handlers that turn every failure into a problem document."""

    @app.errorhandler(Problem)
    def _problem(exc: Problem) -> Response:
        return problem_response(exc)

    @app.errorhandler(DomainError)
    def _domain(exc: DomainError) -> Response:
        return problem_response(domain_problem(exc))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        if not wants_problem_json():
            return _error_page(exc)
        status = exc.code or 500
        detail = exc.description or ""
        if status == 413:
            limit = app.config.get("MAX_CONTENT_LENGTH")
            detail = f"The request body is larger than the limit of {limit} bytes."
        problem = Problem(status, exc.name, detail, code=exc.name.lower().replace(" ", "-"))
        response = problem_response(problem)
        if status == 405 and exc.get_response().headers.get("Allow"):
            response.headers["Allow"] = exc.get_response().headers["Allow"]
        for key, value in exc.get_headers() or []:
            if key.lower() == "retry-after":
                response.headers[key] = value
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        log.exception("unhandled error on %s %s", request.method, request.path)
        if not wants_problem_json():
            from flask import render_template

            try:
                return render_template("error.html", status=500), 500
            except Exception:
                return "Internal server error", 500
        return problem_response(
            Problem(
                500, "Internal server error", "Something went wrong on our side.", code="internal"
            )
        )
