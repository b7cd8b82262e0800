"""Rows as the ranker sees them: challenges and research groups as ranking profiles.

The one mapping from the ORM to :class:`~matchmaker.ranking.types.Profile` (and the queries that
load every matchable one), below the matcher, the matching service and learning, which all use
it.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from matchmaker.challenges.models import Challenge, ChallengeStatus
from matchmaker.groups.models import ResearchGroup
from matchmaker.matching.models import INTRODUCED_STATUSES, Proposal
from matchmaker.ranking.seed import challenge_profile, group_profile
from matchmaker.ranking.types import Profile

#: Challenges research groups can be matched to.
MATCHABLE_STATUSES = (ChallengeStatus.OPEN, ChallengeStatus.MATCHED)


def challenge_as_profile(challenge: Challenge) -> Profile:
    """A challenge as the ranker sees it: public title and summary only, never confidential text."""
    return challenge_profile(
        {
            "key": str(challenge.id),
            "title": challenge.title,
            "summary": challenge.summary,
            "fields": list(challenge.fields),
            "trl_now": challenge.trl_now,
            "trl_target": challenge.trl_target,
            "language": challenge.language,
        }
    )


def group_as_profile(group: ResearchGroup, active: int = 0) -> Profile:
    """A group as the ranker sees it; ``capacity`` is what remains after active collaborations."""
    return group_profile(
        {
            "key": str(group.id),
            "name": group.name,
            **group.offer(),
            "capacity": max(0, group.capacity - active),
            "institution": str(group.institution_id),
            "language": group.language,
            "publications": [
                {
                    "title": p.title,
                    "abstract": p.abstract,
                    "doi": f"publication:{p.id}",
                    "language": p.language,
                }
                for p in group.publications
            ],
        }
    )


def active_collaborations(session: Session) -> dict[int, int]:
    """Per group, how many proposals are introduced, in talks or collaborating."""
    rows = session.execute(
        select(Proposal.group_id, func.count())
        .where(Proposal.status.in_(list(INTRODUCED_STATUSES)))
        .group_by(Proposal.group_id)
    )
    return {gid: n for gid, n in rows}


def load_group_profiles(session: Session) -> list[Profile]:
    active = active_collaborations(session)
    groups = session.scalars(
        select(ResearchGroup)
        .options(selectinload(ResearchGroup.publications))
        .where(ResearchGroup.archived_at.is_(None))
        .order_by(ResearchGroup.id)
    )
    return [group_as_profile(g, active.get(g.id, 0)) for g in groups]


def load_challenge_profiles(session: Session) -> list[Profile]:
    challenges = session.scalars(
        select(Challenge)
        .where(Challenge.archived_at.is_(None), Challenge.status.in_(MATCHABLE_STATUSES))
        .order_by(Challenge.id)
    )
    return [challenge_as_profile(c) for c in challenges]


__all__ = [
    "MATCHABLE_STATUSES",
    "active_collaborations",
    "challenge_as_profile",
    "group_as_profile",
    "load_challenge_profiles",
    "load_group_profiles",
]
