"""The embedder as the matcher uses it: metered (passages and seconds encoded) and remembering
word-piece counts, so that splitting unchanged text again costs nothing."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from matchmaker import observability
from matchmaker.ranking.embed import Embedder
from matchmaker.ranking.passages import profile_text, split_sentences
from matchmaker.ranking.types import Profile


class MeteredEmbedder:
    """Wraps an :class:`Embedder`: counts encoded passages and seconds (embedding throughput),
    and remembers word-piece counts so that re-splitting unchanged text costs nothing."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.max_tokens = inner.max_tokens
        self.dim = inner.dim
        self._counts: dict[str, int] = {}
        self._recent: dict[str, int] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def encode(
        self, texts: Sequence[str], batch_size: int = 32, show_progress: bool = False
    ) -> np.ndarray:
        started = time.perf_counter()
        vectors = self.inner.encode(texts, batch_size, show_progress)
        observability.EMBEDDING_SECONDS.inc(time.perf_counter() - started)
        observability.EMBEDDED_PASSAGES.inc(len(texts))
        return vectors

    def count_tokens(self, text: str) -> int:
        n = self._counts.get(text)
        if n is None:
            n = self._recent.get(text)
        if n is None:
            # Queries are split again for every match's evidence: remember recent counts.
            if len(self._recent) >= 8192:
                self._recent.clear()
            n = self._recent[text] = self.inner.count_tokens(text)
        return n

    def prime(self, texts: Sequence[str]) -> None:
        """Count the word pieces of many texts in one tokenizer call (several times faster than
        one call per sentence); results are the same as :meth:`count_tokens`."""
        todo = [t for t in dict.fromkeys(texts) if t not in self._counts]
        many = getattr(self.inner, "count_tokens_many", None)
        if not todo or many is None:
            return
        for start in range(0, len(todo), 4096):
            chunk = todo[start : start + 4096]
            self._counts.update(zip(chunk, many(chunk), strict=True))

    def forget_counts(self, keep: set[str] | None = None) -> None:
        """Drop remembered counts (all, or all but ``keep``) to bound memory."""
        self._counts = {t: n for t, n in self._counts.items() if keep and t in keep}


def profile_sentences(profile: Profile) -> list[str]:
    """The sentences :func:`~matchmaker.ranking.passages.profile_passages` will count (to count
    them all in one call, :meth:`MeteredEmbedder.prime`)."""
    return split_sentences(profile_text(profile))


__all__ = ["MeteredEmbedder", "profile_sentences"]
