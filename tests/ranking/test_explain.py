"""The closest sentence pair inside evidence passages, with the real model."""

from __future__ import annotations

from matchmaker.ranking.embed import Embedder
from matchmaker.ranking.explain import closest_sentences
from matchmaker.ranking.store import MemoryVectorStore


def test_the_sentences_that_match_are_picked_out_of_the_passages(embedder: Embedder) -> None:
    query = (
        "Our plant in Harburg employs 300 people. The furnaces lose waste heat at 200 °C that we "
        "want to turn into process steam. Deliveries arrive by rail."
    )
    candidate = (
        "Battery ageing in electric buses. Field data from 40 buses over five years. "
        "Industrial heat pumps raise waste heat to steam temperatures."
    )
    unrelated = "Only one sentence about choir singing in the city's churches."
    store = MemoryVectorStore()
    found = closest_sentences(
        [(query, candidate), (query, unrelated), ("", candidate)], embedder, store
    )
    best, single, empty = found
    assert best is not None and single is not None and empty is None
    assert best[0].startswith("The furnaces lose waste heat")
    assert best[1] == "Industrial heat pumps raise waste heat to steam temperatures."
    assert single[1] == unrelated and single[2] < best[2]
    # Every distinct sentence was encoded once and is kept: a second call encodes nothing.
    assert len(store) == 3 + 3 + 1
    encoded: list[str] = []

    class Counting:
        model_id, max_tokens, dim = embedder.model_id, embedder.max_tokens, embedder.dim
        count_tokens = staticmethod(embedder.count_tokens)

        def encode(self, texts, batch_size=32, show_progress=False):  # type: ignore[no-untyped-def]
            encoded.extend(texts)
            return embedder.encode(texts, batch_size, show_progress)

    assert closest_sentences([(query, candidate)], Counting(), store) == [best]
    assert encoded == []
