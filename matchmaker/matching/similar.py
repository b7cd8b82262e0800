"""Challenges that read like a text, as one user may see them: the one rule behind "similar
challenges" on the company's form, in the API and on the office's pages.

A company sees only its own challenges (never another company's title); the office sees the
similar open challenges of every company, with the company's name, so that a duplicate shows up
in review. The rule is applied in SQL before ranking, so nothing is cut off: the best ``top`` of
exactly the allowed challenges come back.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from matchmaker.accounts.models import OFFICE_ROLES, Role, User
from matchmaker.challenges.models import Challenge
from matchmaker.errors import Forbidden
from matchmaker.matching.engine import Matcher
from matchmaker.matching.profiles import MATCHABLE_STATUSES
from matchmaker.organisations.models import Organisation
from matchmaker.ranking.scoring import DEFAULT_CONFIG
from matchmaker.ranking.types import Profile

#: Similar wording counts, not fields of action, TRL or capacity.
SIMILARITY_CONFIG = DEFAULT_CONFIG.with_weights(semantic=0.7, lexical=0.3)


def allowed_challenges(user: User) -> Select[Any]:
    """The ids of the challenges ``user`` may be shown as similar."""
    stmt = select(Challenge.id).where(Challenge.archived_at.is_(None))
    if user.role == Role.COMPANY:
        return stmt.where(Challenge.organisation_id == user.organisation_id)
    if user.role in OFFICE_ROLES:
        return stmt.where(Challenge.status.in_(MATCHABLE_STATUSES))
    raise Forbidden("Only companies and the office look for similar challenges.")


def similar_challenges(
    session: Session,
    matcher: Matcher,
    user: User,
    text: str,
    *,
    top: int = 5,
    exclude_id: int | None = None,
) -> list[dict[str, Any]]:
    """The ``top`` challenges ``user`` may see that read most like ``text``, best first, with
    their company: ``{"challenge_id", "title", "organisation", "score"}``."""
    index = matcher.indexes(session).challenges
    allowed = {str(i) for i in session.scalars(allowed_challenges(user))}
    allowed.discard(str(exclude_id))
    if not len(index) or not allowed:
        return []
    query = Profile(id="draft", text=text)
    matches = index.rank(
        query,
        matcher.encode_profile(query),
        embedder=matcher.embedder,
        config=SIMILARITY_CONFIG,
        top=top,
        exclude={cid for cid in index.candidate_ids if cid not in allowed},
        explain=False,
    )
    ids = [int(m.candidate_id) for m in matches]
    rows = {
        cid: (title, company)
        for cid, title, company in session.execute(
            select(Challenge.id, Challenge.title, Organisation.name)
            .join(Organisation, Challenge.organisation_id == Organisation.id)
            .where(Challenge.id.in_(ids))
        )
    }
    return [
        {
            "challenge_id": int(m.candidate_id),
            "title": rows[int(m.candidate_id)][0],
            "organisation": rows[int(m.candidate_id)][1],
            "score": round(float(m.score), 4),
        }
        for m in matches
        if int(m.candidate_id) in rows
    ]


__all__ = ["SIMILARITY_CONFIG", "allowed_challenges", "similar_challenges"]
