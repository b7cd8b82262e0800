from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from matchmaker.ranking.embed import Embedder, SentenceTransformerEmbedder
from matchmaker.ranking.store import MemoryVectorStore, encode_cached


class CountingEmbedder:
    """Wraps the real embedder and records every text it is asked to encode."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.max_tokens = inner.max_tokens
        self.dim = inner.dim
        self.encoded: list[str] = []

    def encode(
        self, texts: Sequence[str], batch_size: int = 32, show_progress: bool = False
    ) -> np.ndarray:
        self.encoded.extend(texts)
        return self.inner.encode(texts, batch_size, show_progress)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)


def test_unchanged_text_is_never_encoded_again(embedder: SentenceTransformerEmbedder) -> None:
    counting = CountingEmbedder(embedder)
    store = MemoryVectorStore()
    first = encode_cached(counting, ["heat pump", "battery", "heat pump"], store)
    assert counting.encoded == ["heat pump", "battery"]
    again = encode_cached(counting, ["battery", "heat pump", "smart grid"], store)
    assert counting.encoded == ["heat pump", "battery", "smart grid"]
    np.testing.assert_array_equal(first[0], first[2])
    np.testing.assert_array_equal(again[1], first[0])
    np.testing.assert_array_equal(again[0], first[1])
    assert again.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(again, axis=1), 1.0, atol=1e-5)


def test_another_model_id_is_encoded_afresh(embedder: SentenceTransformerEmbedder) -> None:
    store = MemoryVectorStore()
    a = CountingEmbedder(embedder)
    encode_cached(a, ["heat pump"], store)
    b = CountingEmbedder(embedder)
    b.model_id = "other-model:384:torch"
    encode_cached(b, ["heat pump"], store)
    assert b.encoded == ["heat pump"]


def test_cached_vectors_equal_a_fresh_encoding(embedder: SentenceTransformerEmbedder) -> None:
    texts = ["Waste heat to steam.", "Charging electric trucks."]
    cached = encode_cached(embedder, texts, MemoryVectorStore())
    np.testing.assert_allclose(cached, embedder.encode(texts), atol=1e-5)


def test_no_texts_give_an_empty_matrix(embedder: SentenceTransformerEmbedder) -> None:
    assert encode_cached(embedder, [], MemoryVectorStore()).shape == (0, embedder.dim)
