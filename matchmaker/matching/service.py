"""Matching queries: ranked matches with evidence.
Services never commit. (Portfolio runs are in :mod:`matchmaker.matching.runs`, similar challenges in
:mod:`matchmaker.matching.similar`, strategy previews in :mod:`matchmaker.matching.preview`, the scorer's blend
with stated interest in :mod:`matchmaker.matching.blend`, evidence in
:mod:`matchmaker.matching.evidence`.)

Every score here is the active scorer's score (the formula, or the learned re-ranker when the
office switched to it and it beats the formula) moved by the parties' stated interest:
``score = scorer + INTEREST_WEIGHT * (interest - 0.5)``. Exclusions and declined pairs are removed
before anything else, so no stated interest and no model can bring them back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from matchmaker.challenges.models import Challenge
from matchmaker.crud import text_filter
from matchmaker.groups.models import ResearchGroup
from matchmaker.learning import service as learning
from matchmaker.matching.blend import interest_matrix, learned_out, score_groups
from matchmaker.matching.engine import Matcher
from matchmaker.matching.evidence import evidence_out
from matchmaker.matching.models import Exclusion, Proposal, ProposalStatus
from matchmaker.matching.profiles import (
    MATCHABLE_STATUSES,
    challenge_as_profile,
    group_as_profile,
)
from matchmaker.ranking import learn
from matchmaker.strategy import service as strategy


def excluded_groups(session: Session, challenge_id: int) -> set[str]:
    """Groups never to be proposed for a challenge: exclusions and declined proposals."""
    ex = session.scalars(
        select(Exclusion.group_id).where(Exclusion.challenge_id == challenge_id)
    ).all()
    declined = session.scalars(
        select(Proposal.group_id).where(
            Proposal.challenge_id == challenge_id, Proposal.status == ProposalStatus.DECLINED
        )
    ).all()
    return {str(g) for g in (*ex, *declined)}


def excluded_challenges(session: Session, group_id: int) -> set[str]:
    ex = session.scalars(select(Exclusion.challenge_id).where(Exclusion.group_id == group_id)).all()
    declined = session.scalars(
        select(Proposal.challenge_id).where(
            Proposal.group_id == group_id, Proposal.status == ProposalStatus.DECLINED
        )
    ).all()
    return {str(c) for c in (*ex, *declined)}


def _live_rows(
    session: Session, model: Any, owner: Any, *conditions: Any
) -> Callable[[list[int]], dict[int, Any]]:
    """A loader of ``model``'s rows by id (with their ``owner`` joined) that are still live: not
    archived, and meeting ``conditions``."""

    def load(ids: list[int]) -> dict[int, Any]:
        stmt = (
            select(model)
            .options(joinedload(owner))
            .where(model.id.in_(ids), model.archived_at.is_(None), *conditions)
        )
        return {row.id: row for row in session.scalars(stmt)}

    return load


def _still_matchable(
    index: Any,
    scores: np.ndarray,
    top: int | None,
    excluded: set[str],
    load: Callable[[list[int]], dict[int, Any]],
) -> tuple[np.ndarray, dict[int, Any]]:
    """The ``top`` best candidates of ``index`` that are still matchable now, with their rows.

    A worker's index may be a few seconds older than the database (it checks the stored version
    every ``MATCHMAKER_INDEX_CHECK_SECONDS``; a large one is rebuilt in the background): a
    challenge withdrawn to draft, or anything archived or erased since, is skipped here, on
    every worker, at once."""
    excluded = set(excluded)
    while True:
        order = index.top_indices(scores, top, excluded)
        rows = load([int(index.candidate_ids[j]) for j in order])
        gone = [index.candidate_ids[j] for j in order if int(index.candidate_ids[j]) not in rows]
        if not gone:
            return order, rows
        excluded.update(gone)


def matches_for_challenge(
    session: Session,
    matcher: Matcher,
    challenge: Challenge,
    *,
    top: int = 10,
    strategy_weights: Mapping[str, float] | None = None,
) -> list[dict[str, Any]]:
    """Research groups for a challenge, best first, with score parts, stated interest and
    evidence; under the learned scorer also how far the model moved each group and why."""
    index = matcher.indexes(session).groups
    if not len(index):
        return []
    weights = (
        strategy_weights if strategy_weights is not None else strategy.current(session).weights
    )
    query = challenge_as_profile(challenge)
    scored = score_groups(session, matcher, index, [query], weights)
    stated = scored.stated

    load = _live_rows(session, ResearchGroup, ResearchGroup.institution)
    order, groups = _still_matchable(
        index, scored.final[0], top, excluded_groups(session, challenge.id), load
    )
    evidence = index.explain_many(
        query,
        [index.candidate_ids[j] for j in order],
        matcher.encode_profile(query),
        embedder=matcher.embedder,
    )
    out = []
    for rank, j in enumerate(order, start=1):
        gid = int(index.candidate_ids[j])
        out.append(
            {
                "rank": rank,
                "group_id": gid,
                "group": groups[gid].name,
                "institution": groups[gid].institution.name,
                "score": round(float(scored.final[0, j]), 4),
                "components": {
                    name: round(float(part[0, j]), 4) for name, part in scored.parts.items()
                },
                "interest": learning.interest_out(stated.get((challenge.id, gid)), reasons=False),
                "scorer": scored.scorer,
                "learned": learned_out(scored, 0, int(j)),
                "evidence": evidence_out(evidence[rank - 1]),
            }
        )
    return out


def matches_for_group(
    session: Session, matcher: Matcher, group: ResearchGroup, *, top: int = 10
) -> list[dict[str, Any]]:
    """Open challenges for a group (public summaries only), best first, with evidence."""
    return group_matches(session, matcher, group, top=top)[0]


def group_matches(
    session: Session,
    matcher: Matcher,
    group: ResearchGroup,
    *,
    top: int = 10,
    offset: int = 0,
    q: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """Ranks ``offset + 1`` to ``offset + top`` of the open challenges for a group (public
    summaries only, with evidence), and how many there are in all; ``q`` keeps those whose title
    or summary has every word (case-insensitive).

    Ranked by the formula moved by stated interest: the learned model is trained on the office's
    decisions about groups for a challenge, not on this direction."""
    index = matcher.indexes(session).challenges
    if not len(index):
        return [], 0
    open_now = select(Challenge.id).where(
        Challenge.archived_at.is_(None), Challenge.status.in_(MATCHABLE_STATUSES)
    )
    if q and q.strip():
        open_now = open_now.where(text_filter(q, Challenge.title, Challenge.summary))
    wanted = {str(i) for i in session.scalars(open_now)} - excluded_challenges(session, group.id)
    # Everything else is excluded before ranking, so the total is exact and every page is a
    # slice of one order.
    excluded = {cid for cid in index.candidate_ids if cid not in wanted}
    total = len(index) - len(excluded)
    if total <= offset:
        return [], total
    query = group_as_profile(group)
    vectors = matcher.encode_profile(query)
    formula, parts = index.score_matrix(
        [query], [vectors], embedder=matcher.embedder, strategy=strategy.current(session).weights
    )
    stated = learning.stated_interest(session, group_ids=[group.id])
    challenge_ids = index.int_ids
    interest = interest_matrix(stated, challenge_ids, [group.id]).T  # (1, n_challenges)
    final = learn.with_interest(formula, interest)

    load = _live_rows(
        session, Challenge, Challenge.organisation, Challenge.status.in_(MATCHABLE_STATUSES)
    )
    order, challenges = _still_matchable(index, final[0], offset + top, excluded, load)
    order = order[offset:]
    evidence = index.explain_many(
        query, [index.candidate_ids[j] for j in order], vectors, embedder=matcher.embedder
    )
    out = []
    for i, j in enumerate(order):
        c = challenges[challenge_ids[j]]
        out.append(
            {
                "rank": offset + i + 1,
                "challenge_id": c.id,
                "title": c.title,
                "summary": c.summary,
                "organisation": c.organisation.name,
                "fields": list(c.fields),
                "score": round(float(final[0, j]), 4),
                "components": {name: round(float(part[0, j]), 4) for name, part in parts.items()},
                "interest": learning.interest_out(stated.get((c.id, group.id)), reasons=False),
                "scorer": "formula",
                "evidence": evidence_out(evidence[i]),
            }
        )
    return out, total


__all__ = [
    "excluded_challenges",
    "excluded_groups",
    "matches_for_challenge",
    "matches_for_group",
]
