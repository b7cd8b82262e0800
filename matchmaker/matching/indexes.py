"""The in-memory candidate indexes of a process and how they are built from the database.

A build reuses the passage splits and model vectors of the previous one and fetches from the
vector store, or encodes, only the passages whose text it has not seen.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from matchmaker import observability
from matchmaker.matching.metered import MeteredEmbedder, profile_sentences
from matchmaker.matching.profiles import load_challenge_profiles, load_group_profiles
from matchmaker.matching.store import SqlVectorStore
from matchmaker.ranking.dictionary import Dictionary
from matchmaker.ranking.embed import Embedder
from matchmaker.ranking.language import LanguageCentring
from matchmaker.ranking.passages import profile_passages, text_hash
from matchmaker.ranking.scoring import CandidateIndex
from matchmaker.ranking.types import Passage, Profile

log = logging.getLogger("matchmaker.matching")


@dataclass
class Indexes:
    version: int
    groups: TimedIndex
    challenges: TimedIndex
    built_at: float = 0.0
    build_seconds: float = 0.0

    @property
    def size(self) -> int:
        """Groups and challenges indexed."""
        return len(self.groups) + len(self.challenges)


class TimedIndex(CandidateIndex):
    """A :class:`CandidateIndex` that reports its ranking latency to the metrics."""

    kind = "index"

    @functools.cached_property
    def int_ids(self) -> list[int]:
        """The candidates' database ids as integers, in column order (computed once)."""
        return [int(c) for c in self.candidate_ids]

    def rank(self, *args: Any, **kwargs: Any) -> Any:
        with observability.RANKING_LATENCY.labels(self.kind, "rank").time():
            return super().rank(*args, **kwargs)

    def score_matrix(self, *args: Any, **kwargs: Any) -> Any:
        with observability.RANKING_LATENCY.labels(self.kind, "score_matrix").time():
            return super().score_matrix(*args, **kwargs)


class GroupIndex(TimedIndex):
    kind = "groups"


class ChallengeIndex(TimedIndex):
    kind = "challenges"


class IndexBuilder:
    """Builds :class:`Indexes`, keeping each build's passage splits and model vectors (the
    vectors as the model gives them; the indexes hold language-centred ones) for the next build
    and for :meth:`~matchmaker.matching.engine.Matcher.encode_profile`."""

    def __init__(self, store: SqlVectorStore) -> None:
        self.store = store
        self.passage_cache: dict[Any, list[Passage]] = {}
        self.vector_cache: dict[str, tuple[np.ndarray, int]] = {}

    def build(
        self,
        session: Session,
        version: int,
        embedder: Embedder,
        dictionary: Callable[[], Dictionary | None],
    ) -> Indexes:
        """Indexes of every matchable group and challenge at ``version``; the passages and
        vectors of this build are kept for the next."""
        started = time.perf_counter()
        group_profiles = load_group_profiles(session)
        challenge_profiles = load_challenge_profiles(session)
        loaded = time.perf_counter()
        if isinstance(embedder, MeteredEmbedder):
            cached = self.passage_cache
            embedder.prime(
                [
                    s
                    for p in (*group_profiles, *challenge_profiles)
                    if (p.id, p.title, p.text, p.documents) not in cached
                    for s in profile_sentences(p)
                ]
            )
        passage_cache: dict[Any, list[Passage]] = {}
        vector_cache: dict[str, tuple[np.ndarray, int]] = {}
        group_parts = self._vectors(group_profiles, embedder, passage_cache, vector_cache)
        challenge_parts = self._vectors(challenge_profiles, embedder, passage_cache, vector_cache)
        # One language centring for both sides, so that a German challenge and an English
        # group are centred by the same language means whichever side is the query.
        centring = LanguageCentring().fit(
            np.concatenate([group_parts[1], challenge_parts[1]]),
            [p.language for parts in (group_parts, challenge_parts) for s in parts[0] for p in s],
        )
        groups = GroupIndex(
            group_profiles, group_parts[0], group_parts[1], embedder=embedder, centring=centring
        )
        challenges = ChallengeIndex(
            challenge_profiles,
            challenge_parts[0],
            challenge_parts[1],
            embedder=embedder,
            centring=centring,
        )
        # One scale for the semantic similarity of every language pair, on both indexes.
        groups.calibrate_with(challenges)
        groups.dictionary = challenges.dictionary = dictionary()
        self.passage_cache, self.vector_cache = passage_cache, vector_cache
        if isinstance(embedder, MeteredEmbedder):
            embedder.forget_counts()
        seconds = time.perf_counter() - started
        observability.INDEX_BUILD_SECONDS.observe(seconds)
        log.info(
            "index version %d built: %d groups (%d passages), %d challenges in %.2f s "
            "(%.2f s loading profiles)",
            version,
            len(groups),
            groups.matrix_t.shape[1],
            len(challenges),
            seconds,
            loaded - started,
        )
        return Indexes(version, groups, challenges, time.time(), seconds)

    def _vectors(
        self,
        profiles: Sequence[Profile],
        embedder: Embedder,
        passage_cache: dict[Any, list[Passage]],
        vector_cache: dict[str, tuple[np.ndarray, int]],
    ) -> tuple[list[list[Passage]], np.ndarray]:
        """The passages of ``profiles`` and their model vectors (from memory, the store, or
        encoded now); ``vector_cache`` gets each passage's row for the next build."""
        passages = []
        for p in profiles:
            key = (p.id, p.title, p.text, p.documents)
            split = self.passage_cache.get(key)
            if split is None:
                split = profile_passages(p, embedder)
            passage_cache[key] = split
            passages.append(split)
        texts = [ps.text for split in passages for ps in split]
        hashes = [text_hash(t) for t in texts]
        old = self.vector_cache
        vectors = np.zeros((len(texts), embedder.dim), np.float32)
        missing: dict[str, list[int]] = {}
        for row, h in enumerate(hashes):
            hit = old.get(h)
            if hit is not None:
                vectors[row] = hit[0][hit[1]]
            else:
                missing.setdefault(h, []).append(row)
        if missing:
            found = self.store.get_many(embedder.model_id, list(missing))
            unknown = {h: texts[rows[0]] for h, rows in missing.items() if h not in found}
            if unknown:
                new = embedder.encode(list(unknown.values()), batch_size=32)
                fresh = dict(zip(unknown, new, strict=True))
                self.store.put_many(embedder.model_id, fresh)
                found.update(fresh)
            for h, rows in missing.items():
                vectors[rows] = found[h]
        # The model's vectors (the index holds language-centred ones) for the next build and
        # for encode_profile.
        for row, h in enumerate(hashes):
            vector_cache[h] = (vectors, row)
        return passages, vectors


__all__ = ["ChallengeIndex", "GroupIndex", "IndexBuilder", "Indexes", "TimedIndex"]
