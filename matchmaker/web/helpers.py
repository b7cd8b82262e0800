"""What every page shares: role checks, form validation through the API's schemas, messages."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any, TypeVar, overload
from urllib.parse import unquote, urlsplit

from flask import Blueprint, Flask, Response, abort, redirect, render_template, request, url_for
from flask_babel import format_decimal, gettext, lazy_gettext
from flask_login import current_user
from markupsafe import Markup, escape
from pydantic import BaseModel, TypeAdapter, ValidationError

from matchmaker.accounts.models import OFFICE_ROLES, Role, User
from matchmaker.api.problems import Problem, status_of
from matchmaker.challenges.schemas import deadline_bounds, deadline_passed
from matchmaker.db import end_request
from matchmaker.errors import DomainError
from matchmaker.fields import FIELD_KEYS, field_label
from matchmaker.review.models import REASON_CODES
from matchmaker.web.evidence import evidence_terms, highlight, mark_terms
from matchmaker.web.i18n import LANGUAGES, current_language
from matchmaker.web.messages import TYPE_MESSAGES, error_text

F = TypeVar("F", bound=Callable[..., Any])
M = TypeVar("M", bound=BaseModel)


STATUS_LABELS = {
    # proposals
    "proposed": lazy_gettext("Proposed"),
    "shortlisted": lazy_gettext("Shortlisted"),
    "introduced": lazy_gettext("Introduced"),
    "in_talks": lazy_gettext("In talks"),
    "collaboration": lazy_gettext("Collaboration"),
    "declined": lazy_gettext("Declined"),
    # challenges
    "draft": lazy_gettext("Draft"),
    "open": lazy_gettext("Open"),
    "matched": lazy_gettext("Matched"),
    "closed": lazy_gettext("Closed"),
    # matching runs
    "queued": lazy_gettext("Queued"),
    "running": lazy_gettext("Running"),
    "finished": lazy_gettext("Finished"),
    "failed": lazy_gettext("Failed"),
}

BUDGET_LABELS = {
    "lt_50k": lazy_gettext("under €50k"),
    "50k_250k": lazy_gettext("€50k – €250k"),
    "250k_1m": lazy_gettext("€250k – €1M"),
    "gt_1m": lazy_gettext("over €1M"),
}

#: The language of a stored text (a challenge, a profile, a publication), in the page's language.
TEXT_LANGUAGE_LABELS = {
    "de": lazy_gettext("German"),
    "en": lazy_gettext("English"),
    "other": lazy_gettext("Other"),
}


def text_language_label(code: str) -> str:
    """``Deutsch``/``German`` for ``de`` and so on."""
    return str(TEXT_LANGUAGE_LABELS.get(str(code), code))


def text_language_options(detected: str | None = None) -> list[tuple[str, str]]:
    """The choices of a form's language select: detect automatically (the empty value), or one
    of the languages. ``detected`` is the language detected for the stored text, if any."""
    automatic = (
        gettext("Detect automatically (now: %(language)s)", language=text_language_label(detected))
        if detected
        else gettext("Detect automatically")
    )
    return [("", automatic), *((code, str(label)) for code, label in TEXT_LANGUAGE_LABELS.items())]


def language_form_value(language: str, confirmed: bool) -> str:
    """What a form's language select shows for a stored text: its language when the owner set
    it, else "detect automatically" (so that saving the form does not confirm a detection)."""
    return language if confirmed else ""


COMPONENT_LABELS = {
    "semantic": lazy_gettext("Text similarity"),
    "embedding": lazy_gettext("Text similarity"),
    "lexical": lazy_gettext("Shared terms"),
    "fields": lazy_gettext("Fields of action"),
    "field": lazy_gettext("Fields of action"),
    "strategy": lazy_gettext("Strategy weight"),
    "trl": lazy_gettext("TRL fit"),
    "capacity": lazy_gettext("Free capacity"),
    "interest": lazy_gettext("Stated interest"),
}


#: Names the ranking core gives the parts of a profile, as evidence shows them.
DOCUMENT_LABELS = {
    "Methods and keywords": lazy_gettext("Methods and keywords"),
}


def document_label(name: str) -> str:
    """The part of a profile a piece of evidence comes from, in the page's language."""
    return str(DOCUMENT_LABELS.get(str(name), name))


# --- roles -----------------------------------------------------------------------------------


def roles_required(*roles: Role) -> Callable[[F], F]:
    """Only signed-in users with one of ``roles`` see the page (others get 403)."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            if roles and current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def me() -> User:
    """The signed-in user (as the ORM object)."""
    user: User = current_user._get_current_object()
    return user


def is_office(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.role in OFFICE_ROLES


def home_for(user: User) -> str:
    """The first page of a role."""
    if user.role == Role.COMPANY:
        return url_for("company.challenges")
    if user.role == Role.GROUP:
        return url_for("group.matches")
    return url_for("office.queue")


def _unsafe_in_url(text: str) -> bool:
    # Browsers drop tabs and newlines inside a URL and strip other control characters and
    # spaces at its ends, so "/\t/evil.example" is read as "//evil.example"; format characters
    # (zero-width, bidi overrides) disguise a target; a backslash is a slash to browsers.
    return any(
        c == "\\" or c.isspace() or unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp", "Zs")
        for c in text
    )


@overload
def safe_next(target: str | None, fallback: str) -> str: ...
@overload
def safe_next(target: str | None, fallback: None = None) -> str | None: ...
def safe_next(target: str | None, fallback: str | None = None) -> str | None:
    """``target`` if it is a path on this site, else ``fallback``.

    Only a relative path that starts with one ``/`` is kept: not a scheme (``https:``,
    ``javascript:``), not scheme-relative (``//host``, ``/\\host``), with no control, space
    or format character and no backslash, neither as sent nor once percent-decoded, and no
    encoded slash or backslash (``%2f``, ``%5c``) in its path. Everything else, including a
    value with CR/LF that would split the ``Location`` header, gives ``fallback``.
    """
    if not target or not isinstance(target, str) or len(target) > 2000:
        return fallback
    if _unsafe_in_url(target) or not target.startswith("/") or target.startswith("//"):
        return fallback
    try:
        parts = urlsplit(target)
    except ValueError:
        return fallback
    if parts.scheme or parts.netloc:
        return fallback
    path = parts.path
    if "%2f" in path.lower() or "%5c" in path.lower():
        return fallback
    # A proxy or a second decoding must not find a way off the site either (the query may
    # hold encoded spaces: only the path is decoded).
    decoded = path
    for _ in range(3):
        decoded = unquote(decoded)
        if decoded.startswith("//") or _unsafe_in_url(decoded):
            return fallback
    return target


def back_url() -> str | None:
    """Where "Back" leads: the page the user came from, if it is on this site and another page."""
    referrer = request.referrer or ""
    parts = urlsplit(referrer)
    if not referrer or parts.netloc != request.host or parts.path == request.path:
        return None
    return safe_next(parts.path + (f"?{parts.query}" if parts.query else ""))


# --- forms -----------------------------------------------------------------------------------


def message_number(value: Any) -> str:
    """A limit in a message as the page's language writes it (``0,0``, ``10.000.000``), with
    the precision it was given in."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float):
        decimals = repr(value).partition(".")[2]
        if not decimals.isdigit():  # 1e+20, inf
            return str(value)
        return format_decimal(value, format="#,##0." + "0" * len(decimals))
    return format_decimal(value, format="#,##0")


def _message(err: Mapping[str, Any]) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind in ("greater_than_equal", "greater_than"):
        return gettext("Must be at least %(n)s.", n=message_number(ctx.get("ge", ctx.get("gt"))))
    if kind in ("less_than_equal", "less_than"):
        return gettext("Must be at most %(n)s.", n=message_number(ctx.get("le", ctx.get("lt"))))
    typed = str(err.get("input") or "").strip()
    if kind == "string_too_short" and typed and int(ctx.get("min_length") or 1) > 1:
        return gettext(
            "Please write at least %(n)s characters.", n=message_number(ctx["min_length"])
        )
    if kind in TYPE_MESSAGES:
        return str(TYPE_MESSAGES[kind])
    return error_text(kind, str(err.get("msg", "")).removeprefix("Value error, "))


def _model_error_field(message: str, names: Iterable[str]) -> str:
    # A model-level rule ("trl_target must be at least trl_now") names its field first.
    message = message.removeprefix("Value error, ")
    for name in names:
        if message.startswith(name):
            return name
    return "__all__"


def validate_form(schema: type[M], data: Mapping[str, Any]) -> tuple[M | None, dict[str, str]]:
    """Validate form values with the API's pydantic schema; errors keyed by form field name.

    Form values are strings, so numbers and dates are parsed (lax mode); every other rule is the
    schema's own.
    """
    try:
        return schema.model_validate(dict(data), strict=False), {}
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for err in exc.errors(include_url=False):
            loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
            if loc:
                name = str(loc[0])
            else:
                name = _model_error_field(str(err.get("msg", "")), schema.model_fields)
            errors.setdefault(name, _message(err))
        for name, message in _model_rule_errors(schema, data, errors).items():
            errors.setdefault(name, message)
        return None, errors


def _model_rule_errors(
    schema: type[BaseModel], data: Mapping[str, Any], errors: Mapping[str, str]
) -> dict[str, str]:
    """The schema's model-level rules ("after" validators, such as TRL target ≥ TRL now) checked
    on the fields that are valid, so that a form shows every error at once: pydantic runs them
    only when every field is valid. A rule that needs an invalid field is left for later."""
    values: dict[str, Any] = {}
    for name, info in schema.model_fields.items():
        if name in errors or name not in data:
            continue
        annotation: Any = (
            Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
        )
        try:
            values[name] = TypeAdapter(annotation).validate_python(data[name], strict=False)
        except (ValidationError, TypeError):
            continue
    partial = schema.model_construct(**values)
    found: dict[str, str] = {}
    for rule in schema.__pydantic_decorators__.model_validators.values():
        if rule.info.mode != "after":
            continue
        try:
            rule.func(partial)
        except ValueError as exc:
            name = _model_error_field(str(exc), schema.model_fields)
            found.setdefault(name, error_text(getattr(exc, "type", ""), str(exc)))
        except (AttributeError, TypeError):
            continue  # the rule reads a field that is missing or invalid
    return found


def form_errors(error: DomainError) -> dict[str, str]:
    """A service's error as form errors: beside its field, else above the form."""
    if error.field is None:
        return {"__all__": error_text(error.code, error.detail)}
    return {error.field.split(".")[0].split("[")[0]: error_text(error.code, error.message)}


def blank_to_none(data: Mapping[str, Any], *names: str) -> dict[str, Any]:
    """Optional form fields left empty mean "not given"."""
    out = dict(data)
    for name in names:
        if isinstance(out.get(name), str) and not out[name].strip():
            out[name] = None
    return out


# --- text ------------------------------------------------------------------------------------


def paragraphs(text: str) -> Markup:
    """Plain text as escaped paragraphs."""
    parts = [p.strip() for p in re.split(r"\n\s*\n", text or "") if p.strip()]
    return Markup("".join(f"<p>{escape(p)}</p>" for p in parts))


def number(value: Any, digits: int = 0) -> str:
    if value is None:
        return "–"
    fmt = "#,##0" if digits == 0 else "#,##0." + "0" * digits
    return format_decimal(value, format=fmt)


# --- wiring ----------------------------------------------------------------------------------


def page_errors(bp: Blueprint) -> None:
    """A service's error (404, 403, 409 ...) or a page's problem becomes an HTML error page."""

    @bp.errorhandler(DomainError)
    def _refused(exc: DomainError) -> Any:
        status = status_of(exc)
        detail = error_text(exc.code, exc.detail)
        return render_template("error.html", status=status, detail=detail), status

    @bp.errorhandler(Problem)
    def _problem(exc: Problem) -> Any:
        return render_template(
            "error.html", status=exc.status, detail=exc.detail or exc.title
        ), exc.status


def _end_page_request(response: Response) -> Response:
    """A page's one commit: its writes stand when it answers with a success or a redirect, and
    are rolled back when it answers with an error (see :func:`matchmaker.db.end_request`). The
    JSON API's ``endpoint`` decorator ends its own requests."""
    if not request.path.startswith("/api/"):
        end_request(response.status_code)
    return response


def init_app(app: Flask) -> None:
    """Template globals and filters, and the pages' commit."""
    app.after_request(_end_page_request)

    def _field_label(key: str) -> str:
        return field_label(key, current_language()) if key in FIELD_KEYS else key

    def _reason_label(code: str) -> str:
        return (
            REASON_CODES[code][0 if current_language() == "de" else 1]
            if code in REASON_CODES
            else code
        )

    # Globals (not a context processor) so that imported macros see them too.
    app.jinja_env.globals.update(
        field_keys=FIELD_KEYS,
        field_label=_field_label,
        status_label=lambda s: str(STATUS_LABELS.get(str(s), s)),
        budget_label=lambda b: str(BUDGET_LABELS.get(str(b), b)),
        component_label=lambda c: str(
            COMPONENT_LABELS.get(str(c), str(c).replace("_", " ").capitalize())
        ),
        reason_label=_reason_label,
        text_language_label=text_language_label,
        text_language_options=text_language_options,
        is_office=is_office,
        back_url=back_url,
        document_label=document_label,
        deadline_bounds=deadline_bounds,
        deadline_passed=deadline_passed,
        Role=Role,
        languages=LANGUAGES,
    )

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {"lang": current_language()}

    app.jinja_env.filters["highlight"] = highlight
    app.jinja_env.filters["mark_terms"] = mark_terms
    app.jinja_env.filters["evidence_terms"] = evidence_terms
    app.jinja_env.filters["paragraphs"] = paragraphs
    app.jinja_env.filters["number"] = number
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
