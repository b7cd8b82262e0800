"""Evidence as the API and the pages show it: the passage pairs, shared terms and translated key
terms that drove a score, and, on a proposal's page, the closest sentence pair of each passage
pair."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from matchmaker.matching.engine import Matcher
from matchmaker.ranking.explain import closest_sentences
from matchmaker.ranking.types import Evidence

log = logging.getLogger("matchmaker.matching")


def evidence_out(evidence: Evidence | None) -> dict[str, Any]:
    """Evidence as JSON: the passage pairs that drove the semantic score, the shared terms and
    the key terms that translate each other (``{"query": "Abwärme", "candidate": "waste heat"}``;
    query: the challenge of a group list, the group of a challenge's list)."""
    if evidence is None:
        return {"pairs": [], "terms": [], "translations": []}
    return {
        "pairs": [
            {
                "query": p.query_passage,
                "candidate": p.candidate_passage,
                "document": p.candidate_document,
                "similarity": round(float(p.similarity), 4),
            }
            for p in evidence.pairs
        ],
        "terms": list(evidence.terms),
        "translations": [
            {"query": t.query, "candidate": t.candidate} for t in evidence.translations
        ],
    }


def with_sentences(matcher: Matcher, evidence: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """``evidence`` (as :func:`evidence_out` makes it) with, in each passage pair, the closest
    sentence pair — ``query_sentence``, ``candidate_sentence``, ``sentence_similarity`` — so a
    reviewer reads the two sentences that match rather than two passages of ~250 word pieces.
    Sentence vectors are encoded on the first view and kept in the vector store."""
    if not evidence:
        return dict(evidence) if evidence is not None else None
    pairs = [dict(p) for p in evidence.get("pairs") or []]
    todo = [p for p in pairs if "query_sentence" not in p and p.get("query") and p.get("candidate")]
    if todo:
        try:
            found = closest_sentences(
                [(p["query"], p["candidate"]) for p in todo], matcher.embedder, matcher.store
            )
        except Exception:  # the passages alone are still evidence: show them
            log.exception("closest sentences of the evidence could not be computed")
            return {**evidence, "pairs": pairs}
        for pair, best in zip(todo, found, strict=True):
            if best is not None:
                pair["query_sentence"], pair["candidate_sentence"] = best[0], best[1]
                pair["sentence_similarity"] = round(best[2], 4)
    return {**evidence, "pairs": pairs}


__all__ = ["evidence_out", "with_sentences"]
