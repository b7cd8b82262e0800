"""What a use case refuses: the domain's errors, each with a stable ``code``.

A service raises one of :class:`Invalid`, :class:`NotFound`, :class:`Forbidden` or
:class:`Conflict` with its ``code`` (``"deadline_in_past"``, ``"email_taken"``), the ``field``
it concerns where one does and the English ``message`` about that field. Nothing here knows
HTTP or the pages: the API turns an error into a problem document once
(``matchmaker.api.problems``: status by class, type by code), the pages into their words once
(``matchmaker.web.messages``: text by code).
"""

from __future__ import annotations


class DomainError(Exception):
    """A refused use case: ``code`` says which rule, ``message`` says it in English (about
    ``field`` where there is one), ``detail`` in a sentence of its own (default: the field
    and the message)."""

    def __init__(
        self, code: str, message: str, *, field: str | None = None, detail: str | None = None
    ) -> None:
        self.code = code
        self.message = message
        self.field = field
        self.detail = detail or (f"{field}: {message}" if field else message)
        super().__init__(self.detail)


class Invalid(DomainError):
    """A value the rules refuse (it names its field)."""

    def __init__(self, field: str, code: str, message: str, *, detail: str | None = None) -> None:
        super().__init__(code, message, field=field, detail=detail)


class NotFound(DomainError):
    """Something that does not exist, or that the caller may not see."""

    def __init__(self, what: str) -> None:
        super().__init__("not_found", f"{what} does not exist or is not visible to you.")


class Forbidden(DomainError):
    """Something the caller's role or relation may not do."""

    def __init__(
        self,
        message: str = "Your role may not do this.",
        code: str = "forbidden",
        *,
        field: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(code, message, field=field, detail=detail)


class Conflict(DomainError):
    """Something the current state does not allow (a taken name, a step out of order)."""


class Throttled(DomainError):
    """Too many attempts: try again after ``retry_after`` seconds."""

    def __init__(self, code: str, message: str, retry_after: int) -> None:
        super().__init__(code, message)
        self.retry_after = retry_after
