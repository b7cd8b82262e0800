"""Tables of the API layer: the stored outcomes of requests sent with an ``Idempotency-Key``
(:mod:`matchmaker.api.idempotency` writes and reads them)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from matchmaker.db import Base, created_at, intpk


class IdempotencyKey(Base):
    """The stored outcome of a POST sent with an ``Idempotency-Key``: a retry gets it again."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_key"),)

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    #: SHA-256 of method, path and body: the same key with another request is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    #: None while a request that hands its work to a job is still running.
    status: Mapped[int | None]
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[created_at] = mapped_column(index=True)
    #: When the claim was taken or last refreshed by its running request (None: created_at); a
    #: claim not refreshed for :data:`~matchmaker.api.idempotency.CLAIM_LEASE_SECONDS` lost its
    #: request.
    lease_at: Mapped[dt.datetime | None]
    #: The import job or matching run the request started (see
    #: :func:`~matchmaker.api.idempotency.link_claim`).
    job_id: Mapped[int | None]
    run_id: Mapped[int | None]
    #: The process of the request holding the claim
    #: (:func:`~matchmaker.jobs.liveness.process_identity`): when it is known to be gone, the
    #: claim is released at once instead of after its lease.
    owner: Mapped[str | None] = mapped_column(String(200))
