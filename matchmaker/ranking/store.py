"""Stored embeddings keyed by (model id, text hash): unchanged text is never encoded twice."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from matchmaker.ranking.embed import Embedder
from matchmaker.ranking.passages import text_hash


@runtime_checkable
class VectorStore(Protocol):
    """Where passage embeddings are kept, keyed by model id and the hash of the passage text."""

    def get_many(self, model_id: str, hashes: Sequence[str]) -> dict[str, NDArray[np.float32]]:
        """Return the stored vectors among ``hashes`` (missing ones are simply absent)."""
        ...

    def put_many(self, model_id: str, vectors: Mapping[str, NDArray[np.float32]]) -> None:
        """Store vectors by text hash; an existing entry is overwritten."""
        ...


class MemoryVectorStore:
    """A :class:`VectorStore` in a dict; for tests, batch runs and evaluation."""

    def __init__(self) -> None:
        self._vectors: dict[tuple[str, str], NDArray[np.float32]] = {}

    def __len__(self) -> int:
        return len(self._vectors)

    def get_many(self, model_id: str, hashes: Sequence[str]) -> dict[str, NDArray[np.float32]]:
        """Return the stored vectors among ``hashes``."""
        found: dict[str, NDArray[np.float32]] = {}
        for h in hashes:
            vector = self._vectors.get((model_id, h))
            if vector is not None:
                found[h] = vector
        return found

    def put_many(self, model_id: str, vectors: Mapping[str, NDArray[np.float32]]) -> None:
        """Store vectors by text hash."""
        for h, vector in vectors.items():
            self._vectors[(model_id, h)] = np.asarray(vector, dtype=np.float32)


def encode_cached(
    embedder: Embedder,
    texts: Sequence[str],
    store: VectorStore | None,
    batch_size: int = 32,
    show_progress: bool = False,
) -> NDArray[np.float32]:
    """Embed ``texts``, encoding only those not yet stored for ``embedder.model_id``.

    New vectors are put into ``store``; a text repeated within ``texts`` is encoded once. Returns a
    ``(len(texts), dim)`` float32 array in input order. Without a store every distinct text is
    encoded once.
    """
    if not texts:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    hashes = [text_hash(t) for t in texts]
    found = store.get_many(embedder.model_id, list(dict.fromkeys(hashes))) if store else {}
    missing: dict[str, str] = {}
    for h, t in zip(hashes, texts, strict=True):
        if h not in found and h not in missing:
            missing[h] = t
    if missing:
        new = embedder.encode(list(missing.values()), batch_size, show_progress)
        fresh = dict(zip(missing, new, strict=True))
        if store is not None:
            store.put_many(embedder.model_id, fresh)
        found.update(fresh)
    return np.stack([found[h] for h in hashes]).astype(np.float32, copy=False)
