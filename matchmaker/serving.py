"""gunicorn workers whose own error answers are problem documents, as the app's are.

gunicorn refuses some requests before the app sees them: a request line over
``limit_request_line`` (414), headers over ``limit_request_field_size`` or
``limit_request_fields`` (431), a malformed line or header (400). It writes those as small HTML
pages. :class:`ProblemSyncWorker` and :class:`ProblemThreadWorker` (chosen by ``gunicorn.conf.py``)
let gunicorn decide, log and count the error exactly as before, keep what it wrote, and send the
same status as ``application/problem+json`` instead: ``{type, title, status, detail}``.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from gunicorn import util
from gunicorn.workers.base import Worker
from gunicorn.workers.gthread import ThreadWorker
from gunicorn.workers.sync import SyncWorker

from matchmaker.api.problems import PROBLEM_TYPE

_STATUS_LINE = re.compile(rb"^HTTP/1\.[01] (\d{3}) ([^\r\n]*)\r\n")
_MESSAGE = re.compile(r"</h1>(.*?)</body>", re.S)


class _Kept:
    """Stands in for the client's socket while gunicorn writes its error page: keeps the bytes
    (everything else, such as the socket's address for the access log, is the socket's)."""

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self.data = b""

    def sendall(self, data: bytes) -> None:
        self.data += data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def _detail(status: int, message: str, cfg: Any) -> str:
    """What went wrong, in the words of the app's problems (the limits that apply named)."""
    if status == 414:
        return (
            "The request line (method, path and query) is longer than the limit of "
            f"{cfg.limit_request_line} bytes."
        )
    if status == 431:
        return (
            "The request headers are too large: at most "
            f"{cfg.limit_request_fields} header fields of {cfg.limit_request_field_size} "
            "bytes each."
        )
    return message


def problem_answer(written: bytes, cfg: Any) -> bytes | None:
    """The problem document for the error page gunicorn ``written``, same status (None when it
    is not one of gunicorn's error pages: then it is sent as it is)."""
    line = _STATUS_LINE.match(written)
    if line is None:
        return None
    status, title = int(line.group(1)), line.group(2).decode("latin-1").strip()
    found = _MESSAGE.search(written.decode("latin-1"))
    message = html.unescape(found.group(1)).strip() if found else ""
    problem = {
        "type": PROBLEM_TYPE + (title.lower().replace(" ", "-") or str(status)),
        "title": title or str(status),
        "status": status,
        "detail": _detail(status, message, cfg) or title,
        "instance": None,
    }
    body = json.dumps(problem).encode()
    head = (
        f"HTTP/1.1 {status} {title}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/problem+json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Cache-Control: no-store\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        "\r\n"
    )
    return head.encode("latin-1") + body


class ProblemErrors(Worker):
    """A gunicorn worker whose own error answers are problem documents."""

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        kept = _Kept(client)
        super().handle_error(req, kept, addr, exc)
        if not kept.data:
            return
        answer = problem_answer(kept.data, self.cfg)
        try:
            util.write_nonblock(client, answer if answer is not None else kept.data)
        except Exception:  # as gunicorn does: the client may be gone already
            self.log.debug("Failed to send error message.")


class ProblemSyncWorker(ProblemErrors, SyncWorker):
    """gunicorn's sync worker (one request at a time) with problem documents as errors."""


class ProblemThreadWorker(ProblemErrors, ThreadWorker):
    """gunicorn's threaded worker (``threads`` > 1) with problem documents as errors."""
