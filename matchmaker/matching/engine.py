"""Each process's matching state: the embedder (loaded once) and in-memory candidate indexes.

A web worker keeps one :class:`Matcher` in ``app.extensions``. Its indexes are read-only numpy
matrices; when the stored index version changes (any change to matchable text bumps it in the
same transaction), the next request after ``index_check_seconds`` rebuilds them from the
database, encoding only passages whose text the store has not seen.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from matchmaker.challenges.models import Challenge, ChallengeStatus
from matchmaker.config import INSTANCE_DIR, Settings
from matchmaker.groups.models import ResearchGroup
from matchmaker.matching import index_state
from matchmaker.matching.models import INTRODUCED_STATUSES, Proposal, ProposalStatus
from matchmaker.matching.store import SqlVectorStore
from matchmaker.ranking.embed import Embedder
from matchmaker.ranking.passages import profile_passages
from matchmaker.ranking.scoring import CandidateIndex
from matchmaker.ranking.seed import challenge_profile, group_profile
from matchmaker.ranking.types import Profile

log = logging.getLogger("matchmaker.matching")

#: Challenges research groups can be matched to.
MATCHABLE_STATUSES = (ChallengeStatus.OPEN, ChallengeStatus.MATCHED)


def challenge_as_profile(challenge: Challenge) -> Profile:
    """A challenge as the ranker sees it: public title and summary only, never confidential text."""
    return challenge_profile(
        {
            "key": str(challenge.id),
            "title": challenge.title,
            "summary": challenge.summary,
            "fields": list(challenge.fields),
            "trl_now": challenge.trl_now,
            "trl_target": challenge.trl_target,
        }
    )


def group_as_profile(group: ResearchGroup, active: int = 0) -> Profile:
    """A group as the ranker sees it; ``capacity`` is what remains after active collaborations."""
    return group_profile(
        {
            "key": str(group.id),
            "name": group.name,
            "capabilities": group.capabilities,
            "methods": group.methods,
            "keywords": list(group.keywords),
            "fields": list(group.fields),
            "trl_min": group.trl_min,
            "trl_max": group.trl_max,
            "capacity": max(0, group.capacity - active),
            "institution": str(group.institution_id),
            "publications": [
                {"title": p.title, "abstract": p.abstract, "doi": f"publication:{p.id}"}
                for p in group.publications
            ],
        }
    )


def active_collaborations(session: Session) -> dict[int, int]:
    """Per group, how many proposals are introduced, in talks or collaborating."""
    rows = session.execute(
        select(Proposal.group_id, func.count())
        .where(Proposal.status.in_(list(INTRODUCED_STATUSES)))
        .group_by(Proposal.group_id)
    )
    return {gid: n for gid, n in rows}


def load_group_profiles(session: Session) -> list[Profile]:
    active = active_collaborations(session)
    groups = session.scalars(
        select(ResearchGroup)
        .options(selectinload(ResearchGroup.publications))
        .where(ResearchGroup.archived_at.is_(None))
        .order_by(ResearchGroup.id)
    )
    return [group_as_profile(g, active.get(g.id, 0)) for g in groups]


def load_challenge_profiles(session: Session) -> list[Profile]:
    challenges = session.scalars(
        select(Challenge)
        .where(Challenge.archived_at.is_(None), Challenge.status.in_(MATCHABLE_STATUSES))
        .order_by(Challenge.id)
    )
    return [challenge_as_profile(c) for c in challenges]


@dataclass
class Indexes:
    version: int
    groups: CandidateIndex
    challenges: CandidateIndex


class Matcher:
    """The embedder and indexes of one process; safe to share between a worker's threads."""

    def __init__(self, settings: Settings, engine: Any, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.store = SqlVectorStore(engine)
        self._embedder: Embedder | None = embedder
        self._indexes: Indexes | None = None
        self._checked_at = 0.0
        self._model_lock = threading.Lock()
        self._index_lock = threading.Lock()

    @property
    def embedder(self) -> Embedder:
        """The embedding model, loaded on first use, once per process."""
        if self._embedder is None:
            with self._model_lock:
                if self._embedder is None:
                    from matchmaker.ranking.encoders import make_embedder

                    started = time.perf_counter()
                    self._embedder = make_embedder(
                        self.settings.embedding_model,
                        self.settings.encoder_backend,
                        cache_dir=INSTANCE_DIR / "encoders",
                        threads=self.settings.torch_threads,
                    )
                    log.info(
                        "embedding model %s loaded in %.1f s",
                        self._embedder.model_id,
                        time.perf_counter() - started,
                    )
        return self._embedder

    @property
    def model_loaded(self) -> bool:
        return self._embedder is not None

    @property
    def index_loaded(self) -> bool:
        return self._indexes is not None

    def indexes(self, session: Session) -> Indexes:
        """Fresh indexes: rebuilt when the stored version changed since the last check."""
        now = time.monotonic()
        current = self._indexes
        if current is not None and now - self._checked_at < self.settings.index_check_seconds:
            return current
        version = index_state.current(session)
        self._checked_at = now
        if current is not None and current.version == version:
            return current
        with self._index_lock:
            if self._indexes is None or self._indexes.version != version:
                self._indexes = self._build(session, version)
            return self._indexes

    def _build(self, session: Session, version: int) -> Indexes:
        started = time.perf_counter()
        groups = CandidateIndex.build(load_group_profiles(session), self.embedder, self.store)
        challenges = CandidateIndex.build(
            load_challenge_profiles(session), self.embedder, self.store
        )
        log.info(
            "index version %d built: %d groups, %d challenges in %.2f s",
            version,
            len(groups),
            len(challenges),
            time.perf_counter() - started,
        )
        return Indexes(version, groups, challenges)

    def encode_profile(self, profile: Profile) -> Any:
        """Vectors of a profile's passages, through the store (never encoded twice)."""
        from matchmaker.ranking.store import encode_cached

        texts = [p.text for p in profile_passages(profile, self.embedder)]
        return encode_cached(self.embedder, texts, self.store)

    def warm_store(self, profiles: Sequence[Profile], progress: Any = None, batch: int = 64) -> int:
        """Encode every passage of ``profiles`` the store lacks; returns how many were encoded.

        ``progress(done, total)`` is called after each batch (for jobs and progress bars).
        """
        from matchmaker.ranking.passages import text_hash

        texts = list(
            dict.fromkeys(
                p.text for prof in profiles for p in profile_passages(prof, self.embedder)
            )
        )
        hashes = [text_hash(t) for t in texts]
        known = self.store.get_many(self.embedder.model_id, hashes)
        missing = [t for t, h in zip(texts, hashes, strict=True) if h not in known]
        total = len(missing)
        if progress:
            progress(0, total)
        for start in range(0, total, batch):
            chunk = missing[start : start + batch]
            vectors = self.embedder.encode(chunk, batch_size=32)
            self.store.put_many(
                self.embedder.model_id,
                {text_hash(t): v for t, v in zip(chunk, vectors, strict=True)},
            )
            if progress:
                progress(min(start + batch, total), total)
        return total


def get_matcher(app: Flask | None = None) -> Matcher:
    """The process's matcher (created with the app; the model loads on first use)."""
    app = app or current_app
    matcher: Matcher = app.extensions["matchmaker.matcher"]
    return matcher


def init_app(app: Flask, embedder: Embedder | None = None) -> None:
    """Give the app its matcher; ``embedder`` shares an already loaded model (tests, CLI)."""
    app.extensions["matchmaker.matcher"] = Matcher(
        app.extensions["matchmaker.settings"], app.extensions["matchmaker.engine"], embedder
    )


__all__ = ["MATCHABLE_STATUSES", "Matcher", "ProposalStatus", "get_matcher", "init_app"]
