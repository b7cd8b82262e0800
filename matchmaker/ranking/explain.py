"""Evidence for a match: the passage pairs that drove the semantic score, and shared terms;
and, for a reviewer, the closest sentence pair inside each passage pair."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from matchmaker.ranking.embed import Embedder
from matchmaker.ranking.passages import split_sentences
from matchmaker.ranking.store import VectorStore, encode_cached
from matchmaker.ranking.types import Evidence, EvidencePair, Passage


def explain(
    query_passages: Sequence[Passage],
    query_vectors: NDArray[Any],
    candidate_passages: Sequence[Passage],
    candidate_vectors: NDArray[Any],
    *,
    terms: Sequence[str] = (),
    pairs: int = 3,
) -> Evidence:
    """The ``pairs`` closest (query passage, candidate passage) pairs by cosine, each candidate
    passage used once so the evidence shows different documents, plus the shared ``terms``."""
    chosen: list[EvidencePair] = []
    if len(query_passages) and len(candidate_passages):
        sims = np.asarray(query_vectors, np.float32) @ np.asarray(candidate_vectors, np.float32).T
        used: set[int] = set()
        for flat in np.argsort(-sims, axis=None, kind="stable"):
            i, j = divmod(int(flat), sims.shape[1])
            if j in used:
                continue
            used.add(j)
            c = candidate_passages[j]
            chosen.append(
                EvidencePair(
                    query_passage=query_passages[i].text,
                    candidate_passage=c.text,
                    candidate_document=c.document_title or c.document_id,
                    similarity=round(float(sims[i, j]), 4),
                )
            )
            if len(chosen) == pairs:
                break
    return Evidence(pairs=chosen, terms=list(terms))


def closest_sentences(
    pairs: Sequence[tuple[str, str]], embedder: Embedder, store: VectorStore | None = None
) -> list[tuple[str, str, float] | None]:
    """For each (query passage, candidate passage): the closest (query sentence, candidate
    sentence) by cosine, and that cosine; ``None`` when a passage has no sentence.

    A candidate passage of a publication starts with its title, so the title competes as a
    sentence. Every distinct sentence is encoded once for all pairs, and only when ``store``
    lacks it; this is meant for one proposal a reviewer opens, not for ranking lists.
    """
    split = [(split_sentences(q), split_sentences(c)) for q, c in pairs]
    unique = list(dict.fromkeys(s for qs, cs in split for s in (*qs, *cs)))
    if not unique:
        return [None] * len(pairs)
    vectors = encode_cached(embedder, unique, store)
    row = {s: i for i, s in enumerate(unique)}
    out: list[tuple[str, str, float] | None] = []
    for qs, cs in split:
        if not qs or not cs:
            out.append(None)
            continue
        sims = vectors[[row[s] for s in qs]] @ vectors[[row[s] for s in cs]].T
        i, j = np.unravel_index(int(np.argmax(sims)), sims.shape)
        out.append((qs[int(i)], cs[int(j)], float(sims[i, j])))
    return out
