"""Operating the service: ``/readyz``, structured logs with a request id, Prometheus ``/metrics``.

- ``/healthz`` (in the app factory) says the process is alive; ``/readyz`` says it can serve:
  the database answers, the embedding model is loaded and the index is built (and Redis answers
  when jobs run there). A worker that is not ready yet starts loading in the background.
- Every request gets an id (the caller's ``X-Request-ID`` when it is sane, else a new one); it is
  returned in ``X-Request-ID`` and put on every log record of the request. With
  ``MATCHMAKER_LOG_JSON=1`` logs are JSON lines.
- Metrics live in the process's default registry. Under gunicorn with several workers, set
  ``PROMETHEUS_MULTIPROC_DIR`` (see ``deploy/``) so that one scrape sums all workers.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import hmac
import json
import logging
import os
import re
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, current_app, g, jsonify, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

log = logging.getLogger("matchmaker.access")

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUEST_LATENCY = Histogram(
    "matchmaker_http_request_duration_seconds",
    "Time to answer an HTTP request, by endpoint (URL rule), method and status.",
    ["endpoint", "method", "status"],
    buckets=_LATENCY_BUCKETS,
)
RANKING_LATENCY = Histogram(
    "matchmaker_ranking_duration_seconds",
    "Time the ranker spends scoring a query (rank) or many at once (score_matrix).",
    ["index", "operation"],
    buckets=(0.001, *_LATENCY_BUCKETS),
)
EMBEDDED_PASSAGES = Counter(
    "matchmaker_embedded_passages_total", "Passages encoded by the embedding model."
)
EMBEDDING_SECONDS = Counter(
    "matchmaker_embedding_seconds_total",
    "Seconds spent encoding; rate(passages) / rate(seconds) is the embedding throughput.",
)
INDEX_BUILD_SECONDS = Histogram(
    "matchmaker_index_build_seconds",
    "Time to (re)build a worker's in-memory index.",
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
)
INDEX_VERSION = Gauge(
    "matchmaker_index_version", "Stored index version a worker serves.", multiprocess_mode="min"
)
INDEX_CANDIDATES = Gauge(
    "matchmaker_index_candidates",
    "Candidates in a worker's in-memory index.",
    ["index"],
    multiprocess_mode="max",
)
JOB_QUEUE_DEPTH = Gauge(
    "matchmaker_job_queue_depth",
    "Background jobs waiting (queued) or running (started), read at scrape time.",
    ["state"],
    multiprocess_mode="mostrecent",
)

# --- request ids and logging --------------------------------------------------------------------

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
job_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("job_id", default="")
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id", "job_id"}


class ContextFilter(logging.Filter):
    """Puts the current request id and job id on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.job_id = job_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, request/job id and extras."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "job_id"):
            value = getattr(record, key, "")
            if value:
                doc[key] = value
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                doc[key] = value if isinstance(value, (int, float, bool, str)) else str(value)
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False)


_configured: dict[str, Any] = {}


def configure_logging(json_lines: bool, level: str = "INFO") -> None:
    """Send the root logger's records to stderr, as JSON lines or as text with the request id.

    Done once per process; a later call with other settings replaces the handler.
    """
    wanted = (json_lines, level.upper())
    if _configured.get("settings") == wanted:
        return
    root = logging.getLogger()
    old = _configured.get("handler")
    if old is not None:
        root.removeHandler(old)
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(
        JsonFormatter()
        if json_lines
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
    )
    root.addHandler(handler)
    root.setLevel(level.upper())
    _configured.update(settings=wanted, handler=handler)


# --- readiness ----------------------------------------------------------------------------------

#: ``check(app) -> (ok, detail)``: one entry of ``/readyz``; ``detail`` is shown as it is.
Check = Callable[[Flask], tuple[bool, Any]]
Hook = Callable[[Flask], None]

_CHECKS = "matchmaker.readiness_checks"
_NOT_READY = "matchmaker.readiness_not_ready"
_SCRAPES = "matchmaker.metrics_scrapes"


def register_check(app: Flask, name: str, fn: Check) -> None:
    """Add the check ``name`` to ``/readyz`` (checks run and are listed in registration order;
    the worker is ready when every one is ok)."""
    app.extensions.setdefault(_CHECKS, {})[name] = fn


def register_not_ready(app: Flask, fn: Hook) -> None:
    """Call ``fn(app)`` when ``/readyz`` finds the database answering but the worker not ready
    (the matcher starts loading its model and index then)."""
    app.extensions.setdefault(_NOT_READY, []).append(fn)


def register_scrape(app: Flask, fn: Hook) -> None:
    """Call ``fn(app)`` before ``/metrics`` renders (to read gauges such as the queue depth)."""
    app.extensions.setdefault(_SCRAPES, []).append(fn)


def _database_check(app: Flask) -> tuple[bool, str]:
    from sqlalchemy import text

    try:
        with app.extensions["matchmaker.engine"].connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        return False, f"unavailable: {type(exc).__name__}"
    return True, "ok"


def readiness(app: Flask) -> tuple[bool, dict[str, Any]]:
    """Whether this worker can serve, and each check's state."""
    checks: dict[str, Any] = {}
    ready = True
    for name, check in app.extensions.get(_CHECKS, {}).items():
        ok, checks[name] = check(app)
        ready = ready and ok
    if not ready and checks.get("database") == "ok":
        for hook in app.extensions.get(_NOT_READY, []):
            hook(app)
    return ready, checks


# --- metrics ------------------------------------------------------------------------------------


def metrics_registry() -> CollectorRegistry:
    """The registry to expose: all gunicorn workers' when ``PROMETHEUS_MULTIPROC_DIR`` is set."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


#: Methods that keep their name in metrics; any other is counted as ``other``, so that a client
#: inventing methods cannot create a new time series per name.
STANDARD_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)


def method_label(method: str) -> str:
    """The request method as a metric label: a standard one as is, else ``other``."""
    return method if method in STANDARD_METHODS else "other"


def init_app(app: Flask) -> None:
    """Request ids, access log and latency metrics on every request; /readyz and /metrics."""
    settings = app.extensions["matchmaker.settings"]
    if settings.log_json or not app.testing:
        configure_logging(settings.log_json, settings.log_level)
    register_check(app, "database", _database_check)

    @app.before_request
    def _start() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        rid = incoming if _SANE_ID.match(incoming) else uuid.uuid4().hex
        g.request_id = rid
        g.request_token = request_id_var.set(rid)
        g.request_started = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        started = g.get("request_started")
        if started is None:
            return response
        seconds = time.perf_counter() - started
        endpoint = request.url_rule.rule if request.url_rule is not None else "unmatched"
        REQUEST_LATENCY.labels(
            endpoint, method_label(request.method), str(response.status_code)
        ).observe(seconds)
        response.headers["X-Request-ID"] = g.request_id
        if endpoint not in {"/healthz", "/readyz", "/metrics"}:
            log.info(
                "%s %s %d %.1f ms",
                request.method,
                request.path,
                response.status_code,
                seconds * 1000,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round(seconds * 1000, 2),
                },
            )
        return response

    @app.teardown_request
    def _reset(_exc: BaseException | None) -> None:
        token = g.pop("request_token", None)
        if token is not None:
            with contextlib.suppress(ValueError):  # set in another context
                request_id_var.reset(token)

    @app.get("/readyz")
    def readyz() -> Response:
        ready, checks = readiness(current_app._get_current_object())  # type: ignore[attr-defined]
        response = jsonify(status="ready" if ready else "not ready", checks=checks)
        response.status_code = 200 if ready else 503
        if not ready:
            response.headers["Retry-After"] = "2"
        return response

    @app.get("/metrics")
    def metrics() -> Response:
        token = current_app.extensions["matchmaker.settings"].metrics_token
        if token:
            sent = request.headers.get("Authorization", "").removeprefix("Bearer ")
            if not hmac.compare_digest(sent.encode(), token.encode()):
                return Response("metrics need the bearer token\n", 401, mimetype="text/plain")
        served = current_app._get_current_object()  # type: ignore[attr-defined]
        for scrape in served.extensions.get(_SCRAPES, []):
            scrape(served)
        return Response(generate_latest(metrics_registry()), mimetype=CONTENT_TYPE_LATEST)


__all__ = [
    "EMBEDDED_PASSAGES",
    "EMBEDDING_SECONDS",
    "INDEX_BUILD_SECONDS",
    "RANKING_LATENCY",
    "REQUEST_LATENCY",
    "configure_logging",
    "init_app",
    "readiness",
    "register_check",
    "register_not_ready",
    "register_scrape",
]
