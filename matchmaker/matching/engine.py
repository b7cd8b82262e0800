"""Each process's matching state: the embedder (loaded once) and in-memory candidate indexes.

A web worker keeps one :class:`Matcher` in ``app.extensions``. Its indexes are read-only numpy
matrices; when the stored index version changes (any change to matchable text bumps it in the
same transaction), the first request after ``index_check_seconds`` notices and the indexes are
rebuilt from the database — on that request when building is quick, otherwise in a background
thread and swapped in atomically — encoding only passages whose text the store has not seen.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from matchmaker import observability
from matchmaker.config import Settings
from matchmaker.matching import index_state
from matchmaker.matching.indexes import IndexBuilder, Indexes
from matchmaker.matching.metered import MeteredEmbedder, profile_sentences
from matchmaker.matching.models import ProposalStatus
from matchmaker.matching.profiles import (
    MATCHABLE_STATUSES,
)
from matchmaker.matching.store import SqlVectorStore
from matchmaker.ranking.dictionary import Dictionary, open_dictionary
from matchmaker.ranking.embed import Embedder
from matchmaker.ranking.passages import profile_passages, text_hash
from matchmaker.ranking.types import Profile

log = logging.getLogger("matchmaker.matching")


#: Matchers whose warm-up thread may still run (weakly held: a dropped app is not kept alive).
_warming: weakref.WeakSet[Matcher] = weakref.WeakSet()


@atexit.register
def _finish_warm_ups(seconds: float = 10.0) -> None:
    """Stop warm-ups before the interpreter exits: a process that ends while a daemon thread is
    inside OpenVINO aborts ("terminate called without an active exception"). Shape warming stops
    between two shapes; a model load or index build in progress gets up to ``seconds``."""
    for matcher in list(_warming):
        matcher.stop_warm_up(seconds)


class Matcher:
    """The embedder and indexes of one process; safe to share between a worker's threads.

    A changed index is rebuilt on the request when it is small (``index_background_from``);
    otherwise in a background thread while requests keep using the previous index, which is swapped for the
    new one atomically when it is complete. Passage splits and vectors of unchanged profiles are
    reused from the previous build, so a rebuild fetches and encodes only what changed.
    """

    def __init__(self, settings: Settings, engine: Any, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.store = SqlVectorStore(engine)
        self._embedder: MeteredEmbedder | None = (
            MeteredEmbedder(embedder) if embedder is not None else None
        )
        self._indexes: Indexes | None = None
        self._checked_at = 0.0
        self._model_lock = threading.Lock()
        self._index_lock = threading.Lock()
        self._building = threading.Lock()
        self._builder = IndexBuilder(self.store)
        self.last_error = ""
        #: The thread :meth:`warm_up` started (None until then).
        self.warm_thread: threading.Thread | None = None
        self._warm_lock = threading.Lock()
        self._stop_warming = threading.Event()
        self._shapes_warmed = False

    @property
    def embedder(self) -> Embedder:
        """The embedding model, loaded on first use, once per process."""
        if self._embedder is None:
            with self._model_lock:
                if self._embedder is None:
                    started = time.perf_counter()
                    inner = self.settings.make_embedder()
                    self._embedder = MeteredEmbedder(inner)
                    log.info(
                        "embedding model %s loaded in %.1f s",
                        inner.model_id,
                        time.perf_counter() - started,
                    )
        return self._embedder

    @property
    def dictionary(self) -> Dictionary | None:
        """The German-English dictionary for translated key terms (compiled on first use, once
        per machine, and opened once per process); None when it is not installed."""
        return open_dictionary(self.settings.dictionary, Path(self.settings.encoder_cache))

    @property
    def model_loaded(self) -> bool:
        return self._embedder is not None

    @property
    def index_loaded(self) -> bool:
        return self._indexes is not None

    @property
    def current(self) -> Indexes | None:
        """The indexes requests use now (None before the first build)."""
        return self._indexes

    @property
    def building(self) -> bool:
        return self._building.locked()

    def expire(self) -> None:
        """Check the stored version on the next request (this process just changed it)."""
        self._checked_at = float("-inf")

    def indexes(self, session: Session) -> Indexes:
        """Fresh indexes: rebuilt when the stored version changed since the last check."""
        now = time.monotonic()
        current = self._indexes
        if current is not None and now - self._checked_at < self.settings.index_check_seconds:
            return current
        version = index_state.current(session)
        self._checked_at = now
        if current is not None and current.version >= version:
            return current
        if current is None and self.building:
            with self._building:  # the warm-up is building it: wait rather than build twice
                pass
            current = self._indexes
            if current is not None and current.version >= version:
                return current
        if current is None or current.size < self.settings.index_background_from:
            with self._index_lock:
                if self._indexes is None or self._indexes.version < version:
                    self._swap(self._build(session, version))
                return self._indexes  # type: ignore[return-value]
        self.rebuild_in_background()
        return current

    def _swap(self, built: Indexes) -> None:
        if self._indexes is None or self._indexes.version < built.version:
            self._indexes = built
            observability.INDEX_VERSION.set(built.version)
            observability.INDEX_CANDIDATES.labels("groups").set(len(built.groups))
            observability.INDEX_CANDIDATES.labels("challenges").set(len(built.challenges))

    def rebuild_in_background(self) -> threading.Thread | None:
        """Start building the stored version in a thread (unless a build is running)."""
        if not self._building.acquire(blocking=False):
            return None

        def target() -> None:
            try:
                with Session(self.store.engine) as session:
                    version = index_state.current(session)
                    if self._indexes is None or self._indexes.version < version:
                        built = self._build(session, version)
                        with self._index_lock:
                            self._swap(built)
                self.last_error = ""
            except Exception as exc:  # the previous index stays in use; the next check retries
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("background index build failed")
            finally:
                self._building.release()

        thread = threading.Thread(target=target, name="index-build", daemon=True)
        thread.start()
        return thread

    def warm_up(self) -> threading.Thread:
        """Load the model and build the index in a background thread (after the fork); then,
        with the worker already ready, compile the encoder's kernels for the input shapes of
        queries and new challenges (OpenVINO backends, once per process) so that the first
        requests do not pay for it. While a warm-up runs, calling this again (``/readyz`` does
        on every poll of a worker that is not ready) returns the running thread."""
        with self._warm_lock:
            running = self.warm_thread
            if running is not None and running.is_alive():
                return running
            thread = threading.Thread(target=self._warm_up, name="warm-up", daemon=True)
            self.warm_thread = thread
            _warming.add(self)
            thread.start()
            return thread

    def _warm_up(self) -> None:
        try:
            embedder = self.embedder
        except Exception as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.exception("loading the embedding model failed")
            return
        thread = self.rebuild_in_background()
        if thread is not None:
            thread.join()
        elif self.building:
            with self._building:  # a request started the build: let it finish first
                pass
        warm_shapes = getattr(embedder, "warm_shapes", None)
        if warm_shapes is None or self._shapes_warmed:
            return
        started = time.perf_counter()
        try:
            shapes = warm_shapes(stop=self._stop_warming)
        except Exception:  # only speed is at stake: requests compile what they meet
            log.exception("warming the encoder's input shapes failed")
            return
        self._shapes_warmed = not self._stop_warming.is_set()
        if shapes:
            log.info(
                "encoder warmed for %d input shapes in %.1f s",
                shapes,
                time.perf_counter() - started,
            )

    def stop_warm_up(self, seconds: float = 10.0) -> None:
        """Ask a running warm-up to stop after the current step and wait up to ``seconds``."""
        self._stop_warming.set()
        if self.warm_thread is not None:
            self.warm_thread.join(seconds)

    def _build(self, session: Session, version: int) -> Indexes:
        return self._builder.build(session, version, self.embedder, lambda: self.dictionary)

    def encode_profile(self, profile: Profile) -> Any:
        """Vectors of a profile's passages, through the store (never encoded twice)."""
        from matchmaker.ranking.store import encode_cached

        texts = [p.text for p in profile_passages(profile, self.embedder)]
        # An indexed profile's vectors are in memory already: no database round trip.
        cache = self._builder.vector_cache
        hits = [cache.get(text_hash(t)) for t in texts]
        if texts and all(h is not None for h in hits):
            return np.stack([m[row] for m, row in hits])  # type: ignore[misc]
        return encode_cached(self.embedder, texts, self.store)

    def warm_store(self, profiles: Sequence[Profile], progress: Any = None, batch: int = 64) -> int:
        """Encode every passage of ``profiles`` the store lacks; returns how many were encoded.

        ``progress(done, total)`` is called after each batch (for jobs and progress bars).
        """
        embedder = self.embedder
        if isinstance(embedder, MeteredEmbedder):
            embedder.prime([s for p in profiles for s in profile_sentences(p)])
        texts = list(
            dict.fromkeys(p.text for prof in profiles for p in profile_passages(prof, embedder))
        )
        if isinstance(embedder, MeteredEmbedder):
            embedder.forget_counts()
        hashes = [text_hash(t) for t in texts]
        known = self.store.get_many(embedder.model_id, hashes)
        missing = [t for t, h in zip(texts, hashes, strict=True) if h not in known]
        total = len(missing)
        if progress:
            progress(0, total)
        for start in range(0, total, batch):
            chunk = missing[start : start + batch]
            vectors = embedder.encode(chunk, batch_size=32)
            self.store.put_many(
                embedder.model_id,
                {text_hash(t): v for t, v in zip(chunk, vectors, strict=True)},
            )
            if progress:
                progress(min(start + batch, total), total)
        return total

    def describe(self) -> dict[str, Any]:
        """State of this worker's index, for /readyz and logs."""
        current = self._indexes
        if current is None:
            return {"loaded": False, "building": self.building, "error": self.last_error}
        return {
            "loaded": True,
            "version": current.version,
            "groups": len(current.groups),
            "group_passages": int(current.groups.matrix_t.shape[1]),
            "challenges": len(current.challenges),
            "build_seconds": round(current.build_seconds, 3),
            "age_seconds": round(time.time() - current.built_at, 1),
            "building": self.building,
            "error": self.last_error,
        }


def get_matcher(app: Flask | None = None) -> Matcher:
    """The process's matcher (created with the app; the model loads on first use)."""
    app = app or current_app
    matcher: Matcher = app.extensions["matchmaker.matcher"]
    return matcher


def init_app(app: Flask, embedder: Embedder | None = None) -> None:
    """Give the app its matcher; ``embedder`` shares an already loaded model (tests, CLI).

    With ``warm_up`` set, the model loads and the index builds in a background thread now (in
    each gunicorn worker, after the fork) instead of on the first request.
    """
    settings: Settings = app.extensions["matchmaker.settings"]
    matcher = Matcher(settings, app.extensions["matchmaker.engine"], embedder)
    app.extensions["matchmaker.matcher"] = matcher

    # A change committed here is seen by this worker's next request, not after the next check.
    sessions = app.extensions["matchmaker.sessionmaker"]

    @event.listens_for(sessions, "after_commit")
    def _index_changed(session: Session) -> None:
        if session.info.pop(index_state.BUMPED, False):
            matcher.expire()

    @event.listens_for(sessions, "after_rollback")
    def _index_unchanged(session: Session) -> None:
        session.info.pop(index_state.BUMPED, None)

    observability.register_check(app, "model", _model_check)
    observability.register_check(app, "index", _index_check)
    observability.register_not_ready(app, _warm_up_unless_building)
    if settings.warm_up:
        matcher.warm_up()


def _model_check(app: Flask) -> tuple[bool, str]:
    loaded = get_matcher(app).model_loaded
    return loaded, "ok" if loaded else "loading"


def _index_check(app: Flask) -> tuple[bool, dict[str, Any]]:
    index = get_matcher(app).describe()
    return bool(index["loaded"]), {**index, "state": "ok" if index["loaded"] else "loading"}


def _warm_up_unless_building(app: Flask) -> None:
    """A worker that is not ready starts loading (``/readyz`` polls it while it loads)."""
    matcher = get_matcher(app)
    if not matcher.building:
        matcher.warm_up()


__all__ = ["MATCHABLE_STATUSES", "Matcher", "ProposalStatus", "get_matcher", "init_app"]
