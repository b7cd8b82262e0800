"""Evidence for a match: the passage pairs that drove the semantic score, and shared terms."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from matchmaker.ranking.types import Evidence, EvidencePair, Passage


def explain(
    query_passages: Sequence[Passage],
    query_vectors: np.ndarray,
    candidate_passages: Sequence[Passage],
    candidate_vectors: np.ndarray,
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
