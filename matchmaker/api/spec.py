"""Declaring JSON endpoints: body/query validation with pydantic, roles, and the OpenAPI document.

``@endpoint(...)`` wraps a Flask view: it authenticates the caller, checks the role, parses the
JSON body and the query string into pydantic models, commits the request's session once the view
answered with a success (a rejected or failed request writes nothing: views never commit), and
records the operation so that ``/api/openapi.json`` describes every endpoint as it really is.
"""

from __future__ import annotations

import functools
import inspect
import json as _json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from pydantic import BaseModel, ValidationError

from matchmaker.api.problems import Problem
from matchmaker.db import end_request

JSON_DEPTH_LIMIT = 32
IDEMPOTENCY_HEADER = "Idempotency-Key"
#: POST endpoints whose view hands the new row to a job (another session, see
#: :func:`matchmaker.db.after_commit`) and returns a function building its answer: the decorator
#: commits, starts the job, then builds the answer. Their Idempotency-Key is claimed before the
#: view and answered after it.
HANDS_WORK_TO_A_JOB = frozenset({("post", "/api/v1/matching/runs"), ("post", "/api/v1/imports")})
#: Integer columns are 32-bit in PostgreSQL: a larger number can be no id, count or year here.
MAX_INT = 2_147_483_647


@dataclass
class Operation:
    """One documented API operation."""

    path: str
    method: str
    summary: str
    tag: str
    roles: tuple[str, ...] | None
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    many: bool = False
    extra_responses: dict[int, str] = field(default_factory=dict)
    idempotency: str = "off"


OPERATIONS: list[Operation] = []


def _loc_to_field(loc: Iterable[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "body"


def validation_problem(exc: ValidationError, prefix: str = "") -> Problem:
    """A 422 problem listing every invalid field with its reason."""
    errors = []
    for err in exc.errors(include_url=False):
        loc = [
            p
            for p in err["loc"]
            if not (isinstance(p, str) and (p.startswith("function-") or p == "[key]"))
        ]
        name = _loc_to_field(loc)
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown field"
        errors.append({"field": prefix + name, "message": message})
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return Problem(422, "Invalid request", detail, errors=errors, code="validation")


def _depth(value: Any, limit: int) -> int:
    stack = [(value, 1)]
    deepest = 0
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > limit:
            return depth
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


def read_json_body() -> Any:
    """The request's JSON body, or a clear 400/415 problem."""
    if not request.mimetype or request.mimetype != "application/json":
        raise Problem(
            415, "Unsupported media type", "Send the body as application/json.", code="media-type"
        )
    raw = request.get_data(cache=True)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Problem(
            400, "Bad request", f"The body is not valid UTF-8 (byte {exc.start}).", code="encoding"
        ) from None
    try:
        value = _json.loads(text)
    except RecursionError:
        raise Problem(
            400, "Bad request", "The JSON body is nested too deeply.", code="json"
        ) from None
    except ValueError as exc:
        raise Problem(
            400, "Bad request", f"The body is not valid JSON: {exc}", code="json"
        ) from None
    if _depth(value, JSON_DEPTH_LIMIT) > JSON_DEPTH_LIMIT:
        raise Problem(400, "Bad request", "The JSON body is nested too deeply.", code="json")
    g.json_text = text
    return value


def parse_body(model: type[BaseModel]) -> BaseModel:
    """Validate the JSON body against ``model``."""
    value = read_json_body()
    if not isinstance(value, dict):
        raise Problem(
            422,
            "Invalid request",
            "body: must be a JSON object",
            errors=[{"field": "body", "message": "must be a JSON object"}],
            code="validation",
        )
    try:
        # JSON mode: strict types, yet ISO dates and enum values parse as JSON would carry them.
        parsed = model.model_validate_json(g.json_text)
    except ValidationError as exc:
        raise validation_problem(exc) from None
    _check_int_range(parsed.model_dump())
    return parsed


def _check_int_range(value: Any, field: str = "") -> None:
    """A 422 naming the first integer beyond what the database stores (instead of a 500)."""
    if isinstance(value, bool):
        return
    if isinstance(value, int) and not -MAX_INT - 1 <= value <= MAX_INT:
        name = field or "body"
        raise Problem(
            422,
            "Invalid request",
            f"{name}: must be at most {MAX_INT}",
            errors=[{"field": name, "message": f"must be at most {MAX_INT}"}],
            code="validation",
        )
    if isinstance(value, dict):
        for key, item in value.items():
            _check_int_range(item, f"{field}.{key}" if field else str(key))
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_int_range(item, f"{field}[{i}]")


def parse_query(model: type[BaseModel]) -> BaseModel:
    """Validate the query string against ``model`` (lists from repeated keys)."""
    data: dict[str, Any] = {}
    for key in request.args:
        values = request.args.getlist(key)
        info = model.model_fields.get(key)
        is_list = info is not None and "list" in str(info.annotation)
        data[key] = values if is_list else values[-1]
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        raise validation_problem(exc, prefix="query.") from None
    _check_int_range(parsed.model_dump(), "query")
    return parsed


def endpoint(
    bp: Blueprint,
    rule: str,
    method: str = "GET",
    *,
    summary: str | None = None,
    roles: Iterable[str] | None = None,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    status: int = 200,
    many: bool = False,
    public: bool = False,
    idempotency: str | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a JSON API view on ``bp`` and document it; see the module docstring.

    The operation's summary is ``summary``, else the first paragraph of the view's docstring
    (without its closing full stop).

    A POST honours an ``Idempotency-Key`` header (see :func:`matchmaker.api.idempotency.idempotent`):
    ``idempotency="atomic"`` (the default for POST) stores the response in the change's own
    transaction; ``"record"`` is for views that hand work to a job (see
    :data:`HANDS_WORK_TO_A_JOB`); ``"off"`` ignores the header.
    """
    from matchmaker.api.auth import require_user

    role_tuple = tuple(roles) if roles is not None else None
    prefix = bp.url_prefix or ""
    path = (prefix + rule).replace("<int:", "{").replace("<", "{").replace(">", "}")
    if idempotency is None:
        if method.upper() != "POST":
            idempotency = "off"
        else:
            idempotency = "record" if (method.lower(), path) in HANDS_WORK_TO_A_JOB else "atomic"
    if idempotency not in {"atomic", "record", "off"}:
        raise ValueError(f"idempotency must be atomic, record or off, not {idempotency!r}")

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        OPERATIONS.append(
            Operation(
                path,
                method.lower(),
                summary or _summary_of(view),
                bp.name,
                None if public else (role_tuple or ("any",)),
                body,
                query,
                response,
                status,
                many,
                idempotency=idempotency,
            )
        )

        @functools.wraps(view)
        def wrapper(**kwargs: Any) -> Response:
            try:
                response = answer(**kwargs)
            except BaseException:
                end_request(None)
                raise
            end_request(response.status_code)  # the request's one commit
            return response

        def answer(**kwargs: Any) -> Response:
            if not public:
                user = require_user()
                if role_tuple is not None and user.role.value not in role_tuple:
                    raise Problem(403, "Forbidden", "Your role may not do this.", code="forbidden")
            if any(isinstance(v, int) and v > MAX_INT for v in kwargs.values()):
                raise Problem(
                    404, "Not found", f"No such id: ids are at most {MAX_INT}.", code="not-found"
                )
            if idempotency != "off" and not public and IDEMPOTENCY_HEADER in request.headers:
                from matchmaker.api.idempotency import idempotent

                return idempotent(
                    user.id,
                    functools.partial(respond, **kwargs),
                    atomic=idempotency == "atomic",
                )
            return respond(**kwargs)

        def respond(**kwargs: Any) -> Response:
            if body is not None:
                kwargs["body"] = parse_body(body)
            if query is not None:
                kwargs["query"] = parse_query(query)
            result = view(**kwargs)
            if callable(result) and not isinstance(result, Response):  # answered after commit
                if idempotency != "record":
                    raise TypeError(f"{path}: only record-mode views answer after the commit")
                end_request(200)  # commits, then runs the after-commit work (starts the job)
                result = result()
            if isinstance(result, Response):
                return result
            resp = jsonify(result)
            resp.status_code = status
            return resp

        bp.add_url_rule(rule, view.__name__, wrapper, methods=[method])
        return wrapper

    return decorator


def _summary_of(view: Callable[..., Any]) -> str:
    first = (inspect.getdoc(view) or "").split("\n\n")[0]
    if not first:
        raise ValueError(f"{view.__name__}: an endpoint needs a summary or a docstring")
    return " ".join(first.split()).removesuffix(".")


def openapi_document() -> dict[str, Any]:
    """Build the OpenAPI 3.1 document from the registered operations."""
    from matchmaker.__about__ import __version__

    components: dict[str, Any] = {"Problem": _PROBLEM_SCHEMA}
    paths: dict[str, Any] = {}

    def ref(model: type[BaseModel]) -> dict[str, str]:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in schema.pop("$defs", {}).items():
            components[name] = sub
        components[model.__name__] = schema
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    for op in OPERATIONS:
        item: dict[str, Any] = {
            "summary": op.summary,
            "tags": [op.tag],
            "operationId": f"{op.method}_{op.path}",
        }
        params = []
        for name in _path_params(op.path):
            params.append(
                {
                    "name": name,
                    "in": "path",
                    "required": True,
                    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_INT},
                }
            )
        if op.query is not None:
            for name, info in op.query.model_fields.items():
                schema = op.query.model_json_schema()["properties"][name]
                param: dict[str, Any] = {
                    "name": name,
                    "in": "query",
                    "required": info.is_required(),
                    "schema": schema,
                }
                if schema.get("type") == "array" or (
                    "anyOf" in schema and any(s.get("type") == "array" for s in schema["anyOf"])
                ):
                    param["style"] = "form"
                    param["explode"] = True
                params.append(param)
        if op.idempotency != "off" and op.roles is not None:
            params.append(
                {
                    "name": IDEMPOTENCY_HEADER,
                    "in": "header",
                    "required": False,
                    "description": "Retry-safe POST: a retry with the same key and body gets "
                    "the first response again (header Idempotent-Replayed: true); 409 while "
                    "the first is still running (a request that died releases its key at once "
                    "when its process or its job's is known to be gone, else after 60 s).",
                    "schema": {"type": "string", "pattern": "^[!-~]{1,255}$"},
                }
            )
        if params:
            item["parameters"] = params
        if op.body is not None:
            item["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": ref(op.body)}},
            }
        responses: dict[str, Any] = {}
        ok: dict[str, Any] = {"description": "OK"}
        if op.response is not None:
            ok["content"] = {"application/json": {"schema": ref(op.response)}}
        elif op.status != 204:
            ok["content"] = {"application/json": {"schema": {}}}
        responses[str(op.status)] = ok
        problem = {
            "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            }
        }
        if op.roles is not None:
            responses["401"] = {"description": "Not signed in", **problem}
            responses["403"] = {"description": "Not allowed for your role", **problem}
            item["security"] = [{"bearer": []}]
        if any(p["in"] != "header" for p in params):
            responses["404"] = {"description": "Not found", **problem}
        if op.body is not None or op.query is not None:
            responses["400"] = {"description": "Malformed body", **problem}
            responses["413"] = {"description": "Body too large", **problem}
            responses["415"] = {"description": "Not JSON", **problem}
            responses["422"] = {"description": "Invalid fields", **problem}
        if op.method in {"post", "put", "patch", "delete"}:
            responses["409"] = {"description": "Conflict", **problem}
        responses["429"] = {"description": "Too many requests", **problem}
        responses["503"] = {"description": "Temporarily unavailable, retry", **problem}
        item["responses"] = responses
        paths.setdefault(op.path, {})[op.method] = item
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Matchmaker API",
            "version": __version__,
            "description": "Industry–research matchmaking for Hamburg's alliance for climate-friendly production.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _path_params(path: str) -> list[str]:
    out = []
    for part in path.split("/"):
        if part.startswith("{") and part.endswith("}"):
            out.append(part[1:-1])
    return out


_PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": ["string", "null"]},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                "required": ["field", "message"],
            },
        },
    },
}


def current_settings() -> Any:
    """The running app's :class:`~matchmaker.config.Settings`."""
    return current_app.extensions["matchmaker.settings"]


def current_user_id() -> int | None:
    user = g.get("user")
    return user.id if user is not None else None
