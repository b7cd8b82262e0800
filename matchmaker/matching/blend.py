"""Blending of the active scorer with stated interest: the formula's scores, or the learned
re-ranker's when the office switched to it and it beats the formula, moved by the parties' stated
interest (``score = scorer + INTEREST_WEIGHT * (interest - 0.5)``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from matchmaker.learning import service as learning
from matchmaker.matching.engine import Matcher
from matchmaker.ranking import learn
from matchmaker.ranking.types import Profile


@dataclass
class Scored:
    """One or more queries scored against every candidate, with what moved the scores."""

    final: np.ndarray  # (n_q, n_c) the scores that rank
    formula: np.ndarray  # (n_q, n_c)
    parts: dict[str, np.ndarray]
    interest: np.ndarray  # (n_q, n_c) the interest component
    features: np.ndarray | None  # (n_q, n_c, n_features) when the learned scorer is active
    learned: np.ndarray | None  # (n_q, n_c)
    reranker: learn.Reranker | None
    #: The stated interest the scores were moved by, per (challenge id, group id).
    stated: Mapping[tuple[int, int], learning.PairInterest]

    @property
    def scorer(self) -> str:
        return "learned" if self.reranker is not None else "formula"


def interest_matrix(
    stated: Mapping[tuple[int, int], learning.PairInterest],
    challenge_ids: Sequence[int],
    group_ids: Sequence[int],
) -> np.ndarray:
    out = np.full((len(challenge_ids), len(group_ids)), 0.5)
    if not stated:
        return out
    rows = {cid: i for i, cid in enumerate(challenge_ids)}
    cols = {gid: j for j, gid in enumerate(group_ids)}
    for (cid, gid), pair in stated.items():
        if cid in rows and gid in cols:
            out[rows[cid], cols[gid]] = learning.interest_out(pair)["value"]
    return out


def score_groups(
    session: Session,
    matcher: Matcher,
    index: Any,
    challenges: Sequence[Profile],
    weights: Mapping[str, float],
    *,
    use_learned: bool = True,
) -> Scored:
    """Score challenges against every group with the active scorer and stated interest."""
    vectors = [matcher.encode_profile(c) for c in challenges]
    formula, parts = index.score_matrix(
        challenges, vectors, embedder=matcher.embedder, strategy=weights
    )
    challenge_ids = [int(c.id) for c in challenges]
    group_ids = index.int_ids
    stated = learning.stated_interest(session, challenge_ids=challenge_ids)
    interest = interest_matrix(stated, challenge_ids, group_ids)
    reranker = learning.active_reranker(session, matcher.settings) if use_learned else None
    features = learned = None
    base = formula
    if reranker is not None:
        features = learn.feature_matrix(
            parts, formula, learn.pair_feature_arrays(challenges, index.candidates)
        )
        learned = reranker.learned_score(features.reshape(-1, features.shape[-1])).reshape(
            formula.shape
        )
        base = learned
    return Scored(
        learn.with_interest(base, interest),
        formula,
        parts,
        interest,
        features,
        learned,
        reranker,
        stated,
    )


def _rank_of(scores: np.ndarray) -> np.ndarray:
    """1-based rank of each column of a score row (ties by column order)."""
    order = np.lexsort((np.arange(len(scores)), -scores))
    ranks = np.empty(len(scores), dtype=np.int64)
    ranks[order] = np.arange(1, len(scores) + 1)
    return ranks


def learned_out(scored: Scored, i: int, j: int) -> dict[str, Any] | None:
    if scored.reranker is None or scored.learned is None or scored.features is None:
        return None
    return learning.learned_block(
        scored.reranker,
        scored.features[i, j],
        formula=float(scored.formula[i, j]),
        learned=float(scored.learned[i, j]),
        formula_rank=int(_rank_of(scored.formula[i])[j]),
        learned_rank=int(_rank_of(scored.learned[i])[j]),
    )


__all__ = ["Scored", "interest_matrix", "learned_out", "score_groups"]
