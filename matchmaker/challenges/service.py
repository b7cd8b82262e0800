"""Challenge use cases. Services never commit; the caller owns the transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from matchmaker import languages
from matchmaker.accounts.models import OFFICE_ROLES, Role, User
from matchmaker.audit.service import record
from matchmaker.challenges.models import Challenge, ChallengeStatus
from matchmaker.challenges.schemas import (
    ChallengeIn,
    ChallengePatch,
    ChallengeQuery,
    deadline_passed,
)
from matchmaker.crud import apply_patch, archive, filtered_page
from matchmaker.errors import Forbidden, Invalid, NotFound
from matchmaker.matching import index_state
from matchmaker.matching.models import INTRODUCED_STATUSES, Proposal
from matchmaker.organisations.models import OrganisationKind
from matchmaker.organisations.service import owning_organisation

#: Statuses whose public summary research groups may read.
PUBLIC_STATUSES = (ChallengeStatus.OPEN, ChallengeStatus.MATCHED)
#: Members the ranker reads: a change to one of them rebuilds the index.
MATCHED_MEMBERS = frozenset(
    {"title", "summary", "fields", "trl_now", "trl_target", "status", "language"}
)


def _introduced_condition(group_id: int | None) -> Any:
    return exists().where(
        Proposal.challenge_id == Challenge.id,
        Proposal.group_id == group_id,
        Proposal.status.in_(list(INTRODUCED_STATUSES)),
    )


def visible_condition(user: User) -> Any:
    """SQL condition: the challenges ``user`` may read at all."""
    if user.role in OFFICE_ROLES:
        return True
    if user.role == Role.COMPANY:
        return Challenge.organisation_id == user.organisation_id
    # Research groups: open challenges' public summaries, and any challenge they were introduced to.
    return or_(
        (Challenge.status.in_(PUBLIC_STATUSES)) & Challenge.archived_at.is_(None),
        _introduced_condition(user.group_id),
    )


def is_introduced(session: Session, challenge: Challenge, group_id: int | None) -> bool:
    """Whether the office introduced this group to the challenge's company."""
    if group_id is None:
        return False
    return (
        session.scalar(
            select(Proposal.id).where(
                Proposal.challenge_id == challenge.id,
                Proposal.group_id == group_id,
                Proposal.status.in_(list(INTRODUCED_STATUSES)),
            )
        )
        is not None
    )


def may_see_confidential(session: Session, user: User, challenge: Challenge) -> bool:
    """Owner company and office always; a group only once it has been introduced."""
    if user.role in OFFICE_ROLES:
        return True
    if user.role == Role.COMPANY:
        return challenge.organisation_id == user.organisation_id
    return is_introduced(session, challenge, user.group_id)


def may_edit(user: User, challenge: Challenge) -> bool:
    """Owner company and office edit a challenge."""
    if user.role in OFFICE_ROLES:
        return True
    return user.role == Role.COMPANY and challenge.organisation_id == user.organisation_id


def get_visible(session: Session, user: User, challenge_id: int) -> Challenge:
    """The challenge if ``user`` may read it; 404 otherwise (ids are not an oracle)."""
    challenge = session.scalar(
        select(Challenge).where(Challenge.id == challenge_id, visible_condition(user))
    )
    if challenge is None:
        raise NotFound(f"Challenge {challenge_id}")
    return challenge


def to_out(session: Session, user: User, challenge: Challenge) -> dict[str, Any]:
    """The challenge as ``user`` may see it."""
    return {
        "id": challenge.id,
        "organisation_id": challenge.organisation_id,
        "organisation": challenge.organisation.name,
        "title": challenge.title,
        "summary": challenge.summary,
        "confidential": challenge.confidential
        if may_see_confidential(session, user, challenge)
        else None,
        "fields": list(challenge.fields),
        "trl_now": challenge.trl_now,
        "trl_target": challenge.trl_target,
        "budget_band": challenge.budget_band.value,
        "deadline": challenge.deadline.isoformat() if challenge.deadline else None,
        "co2_saving_t": challenge.co2_saving_t,
        "status": challenge.status.value,
        "language": challenge.language,
        "language_confirmed": challenge.language_confirmed,
        "archived": challenge.archived_at is not None,
        "created_at": challenge.created_at.isoformat(),
        "updated_at": challenge.updated_at.isoformat(),
    }


def list_challenges(
    session: Session, user: User, query: ChallengeQuery
) -> tuple[list[Challenge], int]:
    """A page of the challenges ``user`` may read, filtered."""
    stmt = select(Challenge).where(visible_condition(user))
    if query.status is not None:
        stmt = stmt.where(Challenge.status == query.status)
    if query.organisation_id is not None:
        stmt = stmt.where(Challenge.organisation_id == query.organisation_id)
    return filtered_page(session, stmt, Challenge, query, (Challenge.title, Challenge.summary))


def check_deadline(deadline: dt.date | None, *, before: dt.date | None = None) -> None:
    """A new or changed deadline must not lie in the past; an unchanged one (``before``) that
    has passed since may stay, so an old challenge remains editable."""
    if deadline != before and deadline_passed(deadline):
        raise Invalid("deadline", "deadline_in_past", "must not be in the past")


def create_challenge(session: Session, user: User, data: ChallengeIn) -> Challenge:
    """Post a challenge for the user's company (or, for the office, the named company)."""
    org = owning_organisation(
        session,
        user,
        data.organisation_id,
        role=Role.COMPANY,
        kind=OrganisationKind.COMPANY,
        field="organisation_id",
        messages=(
            "a company posts challenges for itself only",
            "the office names the company a challenge belongs to",
            "Only companies and the office post challenges.",
            "no such organisation",
            "challenges belong to companies",
        ),
    )
    check_deadline(data.deadline)
    values = data.model_dump(exclude={"organisation_id"})
    values["confidential"] = values["confidential"] or ""
    # Detected from the public text only: the confidential part never leaves the company.
    values["language"], values["language_confirmed"] = languages.for_new(
        data.language, data.title, data.summary
    )
    challenge = Challenge(organisation=org, created_by_id=user.id, **values)
    session.add(challenge)
    session.flush()
    record(session, user.id, "challenge", challenge.id, "create", {"title": challenge.title})
    index_state.bump(session)
    return challenge


def update_challenge(
    session: Session, user: User, challenge: Challenge, patch: ChallengePatch
) -> Challenge:
    """Change the members the client sent; TRL order is checked on the result."""
    if not may_edit(user, challenge):
        raise Forbidden("Only the company that posted this challenge and the office edit it.")
    if "deadline" in patch.model_fields_set:
        check_deadline(patch.deadline, before=challenge.deadline)
    changes = apply_patch(
        challenge,
        languages.without_language(patch),
        nullable=frozenset({"deadline", "co2_saving_t"}),
        blank=frozenset({"confidential"}),
    )
    if challenge.trl_target < challenge.trl_now:
        raise Invalid("trl_target", "trl_target_below_now", "must be at least trl_now")
    changes |= languages.update_from_patch(challenge, patch, changes, ("title", "summary"))
    if changes:
        record(session, user.id, "challenge", challenge.id, "update", changes)
        if MATCHED_MEMBERS & changes.keys():
            index_state.bump(session)
    return challenge


def archive_challenge(session: Session, user: User, challenge: Challenge) -> None:
    """Archive (soft-delete) a challenge: it leaves lists and matching, its history stays."""
    if not may_edit(user, challenge):
        raise Forbidden("Only the company that posted this challenge and the office archive it.")
    if archive(session, user.id, "challenge", challenge):
        index_state.bump(session)
