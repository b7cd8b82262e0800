"""What new strategy weights would change before they are saved: for each open challenge, which
research groups would enter or leave the top ``k`` a matching run proposes.

Both sides are ranked as :func:`matchmaker.matching.service.matches_for_challenge` ranks them:
the active scorer moved by stated interest, with exclusions, declined pairs and archived groups
left out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from matchmaker.groups import service as group_service
from matchmaker.groups.models import ResearchGroup
from matchmaker.matching.blend import score_groups
from matchmaker.matching.engine import Matcher
from matchmaker.matching.models import Exclusion, Proposal, ProposalStatus
from matchmaker.matching.profiles import load_challenge_profiles
from matchmaker.strategy import service as strategy


def _never_proposed(session: Session) -> dict[str, set[str]]:
    """Per challenge id, the groups never proposed for it: exclusions and declined proposals."""
    out: dict[str, set[str]] = defaultdict(set)
    pairs = [
        *session.execute(select(Exclusion.challenge_id, Exclusion.group_id)),
        *session.execute(
            select(Proposal.challenge_id, Proposal.group_id).where(
                Proposal.status == ProposalStatus.DECLINED
            )
        ),
    ]
    for challenge_id, group_id in pairs:
        out[str(challenge_id)].add(str(group_id))
    return out


def _ranks(order: np.ndarray, n: int) -> np.ndarray:
    """1-based rank of each column given the columns best first (0 where not ranked)."""
    ranks = np.zeros(n, dtype=np.int64)
    ranks[order] = np.arange(1, len(order) + 1)
    return ranks


def _rows(
    columns: list[int],
    index: Any,
    groups: Mapping[int, ResearchGroup],
    ranks: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    proposals: Mapping[tuple[int, int], Proposal],
    challenge_id: int,
) -> list[dict[str, Any]]:
    """The groups in ``columns`` with their ranks and scores now and after, and the proposal of
    the pair if one was made."""
    rank_now, rank_new, score_now, score_new = ranks
    out = []
    for j in columns:
        group = groups[int(index.candidate_ids[j])]
        proposal = proposals.get((challenge_id, group.id))
        out.append(
            {
                "group_id": group.id,
                "group": group.name,
                "institution": group.institution.name,
                "rank_now": int(rank_now[j]),
                "rank_new": int(rank_new[j]),
                "score_now": round(float(score_now[j]), 4),
                "score_new": round(float(score_new[j]), 4),
                "proposal_id": proposal.id if proposal else None,
                "status": proposal.status.value if proposal else None,
            }
        )
    return out


def strategy_changes(
    session: Session, matcher: Matcher, weights: Mapping[str, float], *, k: int
) -> dict[str, Any]:
    """Each open challenge whose top ``k`` groups change under ``weights`` (nothing is saved),
    with the groups that enter and leave and their ranks and scores now and after; and the
    challenges whose top ``k`` stays as it is."""
    index = matcher.indexes(session).groups
    challenges = load_challenge_profiles(session)
    if not challenges or not len(index):
        return {"k": k, "changed": [], "unchanged": []}
    current = strategy.current(session).weights
    now = score_groups(session, matcher, index, challenges, current).final
    after = score_groups(session, matcher, index, challenges, {**current, **weights}).final
    groups = group_service.with_institutions(session, ResearchGroup.archived_at.is_(None))
    gone = {cid for cid in index.candidate_ids if int(cid) not in groups}
    never = _never_proposed(session)
    proposals = {
        (p.challenge_id, p.group_id): p
        for p in session.scalars(
            select(Proposal).where(Proposal.challenge_id.in_([int(c.id) for c in challenges]))
        )
    }
    changed: list[dict[str, Any]] = []
    unchanged: list[dict[str, Any]] = []
    n = len(index)
    for i, challenge in enumerate(challenges):
        excluded = gone | never.get(challenge.id, set())
        order_now = index.top_indices(now[i], None, excluded)
        order_new = index.top_indices(after[i], None, excluded)
        rank_now, rank_new = _ranks(order_now, n), _ranks(order_new, n)
        top_now, top_new = set(order_now[:k].tolist()), set(order_new[:k].tolist())

        cid = int(challenge.id)
        ranks = (rank_now, rank_new, now[i], after[i])
        entry: dict[str, Any] = {"challenge_id": cid, "challenge": challenge.title}
        if top_now == top_new:
            unchanged.append(
                {
                    **entry,
                    "groups": _rows(order_new[:k].tolist(), index, groups, ranks, proposals, cid),
                }
            )
            continue
        entering = sorted(top_new - top_now, key=lambda j: rank_new[j])
        leaving = sorted(top_now - top_new, key=lambda j: rank_now[j])
        changed.append(
            {
                **entry,
                "entering": _rows(entering, index, groups, ranks, proposals, cid),
                "leaving": _rows(leaving, index, groups, ranks, proposals, cid),
            }
        )
    return {"k": k, "changed": changed, "unchanged": unchanged}


__all__ = ["strategy_changes"]
