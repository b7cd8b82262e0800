"""The office's review: moving proposals through the pipeline, with reasons, and introductions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, aliased, joinedload

from matchmaker.accounts.models import OFFICE_ROLES, Role, User
from matchmaker.audit.service import record
from matchmaker.challenges.models import Challenge, ChallengeStatus
from matchmaker.crud import paginate, text_filter
from matchmaker.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from matchmaker.groups.models import ResearchGroup
from matchmaker.mail import Mail
from matchmaker.matching.models import INTRODUCED_STATUSES, Exclusion, Proposal, ProposalStatus
from matchmaker.organisations.models import Organisation
from matchmaker.review.mails import introduction_mails
from matchmaker.review.models import REASON_CODES, Decision
from matchmaker.review.schemas import ProposalQuery

P = ProposalStatus
#: The pipeline: which status may follow which.
TRANSITIONS: dict[ProposalStatus, tuple[ProposalStatus, ...]] = {
    P.PROPOSED: (P.SHORTLISTED, P.DECLINED),
    P.SHORTLISTED: (P.INTRODUCED, P.DECLINED, P.PROPOSED),
    P.INTRODUCED: (P.IN_TALKS, P.DECLINED),
    P.IN_TALKS: (P.COLLABORATION, P.DECLINED),
    P.COLLABORATION: (),
    P.DECLINED: (P.PROPOSED,),
}
PIPELINE = (P.PROPOSED, P.SHORTLISTED, P.INTRODUCED, P.IN_TALKS, P.COLLABORATION, P.DECLINED)
#: The steps an introduced company or group reports itself: only forward from an introduction.
PARTY_TRANSITIONS: dict[ProposalStatus, tuple[ProposalStatus, ...]] = {
    P.INTRODUCED: (P.IN_TALKS, P.DECLINED),
    P.IN_TALKS: (P.COLLABORATION, P.DECLINED),
}
#: The reasons a party gives with a step it reports (declining: why it does not go on).
PARTY_REASONS: dict[ProposalStatus, tuple[str, ...]] = {
    P.IN_TALKS: ("good_fit", "other"),
    P.COLLABORATION: ("good_fit", "other"),
    P.DECLINED: (
        "topic_mismatch",
        "trl_mismatch",
        "budget_mismatch",
        "group_at_capacity",
        "already_collaborating",
        "conflict_of_interest",
        "party_declined",
        "other",
    ),
}


def visible_condition(user: User) -> Any:
    """Which proposals a user sees: the office all; the parties theirs once introduced."""
    if is_office(user):
        return True
    introduced = Proposal.status.in_(list(INTRODUCED_STATUSES))
    if user.role == Role.COMPANY:
        return introduced & Proposal.challenge_id.in_(
            select(Challenge.id).where(Challenge.organisation_id == user.organisation_id)
        )
    return introduced & (Proposal.group_id == user.group_id)


def _queue_rows() -> tuple[Any, ...]:
    # What a row of the queue shows: the challenge with its company, the group with its institution.
    return (
        joinedload(Proposal.challenge).joinedload(Challenge.organisation),
        joinedload(Proposal.group).joinedload(ResearchGroup.institution),
    )


def proposals_statement(session: Session, user: User, query: ProposalQuery) -> Select[Any]:
    """The review queue's rows as one statement: visible proposals, filtered, best score first.

    ``query.q`` finds every word in the challenge's title, its company, the group's name or its
    institution (case-insensitive)."""
    stmt = select(Proposal).options(*_queue_rows()).where(visible_condition(user))
    if query.status:
        stmt = stmt.where(Proposal.status.in_(query.status))
    if query.challenge_id:
        stmt = stmt.where(Proposal.challenge_id == query.challenge_id)
    if query.group_id:
        stmt = stmt.where(Proposal.group_id == query.group_id)
    if query.institution_id:
        stmt = stmt.where(
            Proposal.group_id.in_(
                select(ResearchGroup.id).where(ResearchGroup.institution_id == query.institution_id)
            )
        )
    if query.q and query.q.strip():
        stmt = stmt.where(Proposal.id.in_(_matching_text(query.q)))
    stmt = stmt.order_by(Proposal.score.desc(), Proposal.id)
    if query.field:
        ids = [p.id for p in session.scalars(stmt) if set(p.challenge.fields) & set(query.field)]
        stmt = (
            select(Proposal)
            .options(*_queue_rows())
            .where(Proposal.id.in_(ids))
            .order_by(Proposal.score.desc(), Proposal.id)
        )
    return stmt


def _matching_text(q: str) -> Select[Any]:
    """Ids of the proposals whose challenge, company, group or institution name the words."""
    company, institution = aliased(Organisation), aliased(Organisation)
    return (
        select(Proposal.id)
        .join(Challenge, Proposal.challenge_id == Challenge.id)
        .join(company, Challenge.organisation_id == company.id)
        .join(ResearchGroup, Proposal.group_id == ResearchGroup.id)
        .join(institution, ResearchGroup.institution_id == institution.id)
        .where(text_filter(q, Challenge.title, company.name, ResearchGroup.name, institution.name))
    )


def query_proposals(
    session: Session, user: User, query: ProposalQuery
) -> tuple[list[Proposal], int]:
    """The review queue: a page of visible proposals, filtered, best score first, and the total."""
    return paginate(session, proposals_statement(session, user, query), query)


def get_visible(session: Session, user: User, proposal_id: int) -> Proposal:
    proposal = session.scalar(
        select(Proposal)
        .options(joinedload(Proposal.challenge), joinedload(Proposal.group))
        .where(Proposal.id == proposal_id, visible_condition(user))
    )
    if proposal is None:
        raise NotFound(f"Proposal {proposal_id}")
    return proposal


def is_party(user: User, proposal: Proposal) -> bool:
    """Whether ``user`` speaks for one side of ``proposal``: the challenge's company or the group."""
    if user.role == Role.COMPANY:
        return (
            user.organisation_id is not None
            and proposal.challenge.organisation_id == user.organisation_id
        )
    if user.role == Role.GROUP:
        return user.group_id is not None and proposal.group_id == user.group_id
    return False


def party_steps(user: User, proposal: Proposal) -> tuple[ProposalStatus, ...]:
    """The steps ``user`` may report on ``proposal`` as a party (none for the office, which
    decides, nor for anyone else)."""
    if is_office(user) or not is_party(user, proposal):
        return ()
    return PARTY_TRANSITIONS.get(proposal.status, ())


def get_decidable(session: Session, user: User, proposal_id: int) -> Proposal:
    """A proposal ``user`` may move: any for the office (404 if there is none); for a company or
    group one it was introduced in, else 403 (whether or not the proposal exists)."""
    if is_office(user):
        return get_visible(session, user, proposal_id)
    proposal = session.scalar(
        select(Proposal)
        .options(joinedload(Proposal.challenge), joinedload(Proposal.group))
        .where(Proposal.id == proposal_id, visible_condition(user))
    )
    if proposal is None or not is_party(user, proposal):
        raise Forbidden("A company or group reports steps only on its own introductions.")
    return proposal


def check_step(
    user: User, proposal: Proposal, to_status: ProposalStatus, reason_code: str, note: str = ""
) -> None:
    """The rule of a step, for the API and the pages alike. The office takes any step of the
    pipeline, with any reason; a company or group reports the steps of :func:`party_steps`
    only, with one of the party's reasons, and no note (notes are the office's)."""
    party = not is_office(user)
    allowed = party_steps(user, proposal) if party else TRANSITIONS[proposal.status]
    if party and to_status not in allowed:  # a party hears first whether the step is its own
        raise _step_refused(proposal, allowed, party=party)
    reasons = PARTY_REASONS[to_status] if party else tuple(REASON_CODES)
    if reason_code not in reasons:
        raise Invalid("reason_code", "reason_not_allowed", f"one of {', '.join(reasons)}")
    if party and note.strip():
        raise Invalid("note", "note_office_only", "only the innovation office writes notes")
    if to_status not in allowed:
        raise _step_refused(proposal, allowed, party=party)


def _step_refused(
    proposal: Proposal, allowed: tuple[ProposalStatus, ...], *, party: bool
) -> DomainError:
    names = ", ".join(s.value for s in allowed)
    status = proposal.status.value
    if party:
        return Forbidden(
            f"not yours to set from {proposal.status}",
            "party_step",
            field="to_status",
            detail=f"to_status: a party may report {names or 'none'} on a {status} proposal",
        )
    return Conflict(
        "transition",
        f"not allowed from {status}",
        field="to_status",
        detail=f"to_status: a {status} proposal can move to {names or 'none (final)'}",
    )


def decide(
    session: Session,
    user: User,
    proposal: Proposal,
    to_status: ProposalStatus,
    reason_code: str,
    note: str = "",
    *,
    public_url: str = "",
) -> tuple[Decision, list[Mail]]:
    """Move a proposal one step (checked by :func:`check_step`); returns the decision and the
    e-mails to send after commit (an introduction's links start with ``public_url``)."""
    check_step(user, proposal, to_status, reason_code, note)
    decision = Decision(
        proposal_id=proposal.id,
        from_status=proposal.status.value,
        to_status=to_status.value,
        reason_code=reason_code,
        note=note,
        score=proposal.score,
        components=dict(proposal.components),
        decided_by_id=user.id,
    )
    session.add(decision)
    proposal.status = to_status
    session.flush()
    record(
        session,
        user.id,
        "decision",
        decision.id,
        "decide",
        {
            "proposal_id": proposal.id,
            "from": decision.from_status,
            "to": decision.to_status,
            "reason_code": reason_code,
            "note": note,
            "role": user.role.value,
        },
    )
    mails: list[Mail] = []
    if to_status == P.INTRODUCED:
        mails = introduction_mails(session, proposal, public_url)
        if proposal.challenge.status == ChallengeStatus.OPEN:
            proposal.challenge.status = ChallengeStatus.MATCHED
    if to_status == P.DECLINED and reason_code == "conflict_of_interest":
        exclude(
            session, user, proposal.challenge_id, proposal.group_id, note or "conflict of interest"
        )
    return decision, mails


def exclude(
    session: Session, user: User, challenge_id: int, group_id: int, reason: str
) -> Exclusion:
    """Record that a pair must never be proposed (idempotent)."""
    existing = session.scalar(
        select(Exclusion).where(
            Exclusion.challenge_id == challenge_id, Exclusion.group_id == group_id
        )
    )
    if existing is not None:
        return existing
    if session.get(Challenge, challenge_id) is None:
        raise Invalid("challenge_id", "challenge_unknown", "no such challenge")
    if session.get(ResearchGroup, group_id) is None:
        raise Invalid("group_id", "group_unknown", "no such research group")
    exclusion = Exclusion(
        challenge_id=challenge_id, group_id=group_id, reason=reason, created_by_id=user.id
    )
    session.add(exclusion)
    session.flush()
    record(
        session,
        user.id,
        "exclusion",
        exclusion.id,
        "create",
        {"challenge_id": challenge_id, "group_id": group_id, "reason": reason},
    )
    return exclusion


def proposal_out(proposal: Proposal, *, include_evidence: bool = True) -> dict[str, Any]:
    """A proposal as the API returns it."""
    return {
        "id": proposal.id,
        "challenge_id": proposal.challenge_id,
        "challenge": proposal.challenge.title,
        "group_id": proposal.group_id,
        "group": proposal.group.name,
        "institution": proposal.group.institution.name,
        "score": round(proposal.score, 4),
        "components": proposal.components,
        "evidence": proposal.evidence if include_evidence else None,
        "unconstrained_rank": proposal.unconstrained_rank,
        "strategy_version": proposal.strategy_version,
        "scorer": proposal.scorer,
        "status": proposal.status.value,
        "run_id": proposal.run_id,
        "created_at": proposal.created_at.isoformat(),
        "updated_at": proposal.updated_at.isoformat(),
    }


#: What the introduced parties read of a proposal (besides its history and times) ...
PARTY_PROPOSAL_MEMBERS = (
    "id",
    "challenge_id",
    "challenge",
    "group_id",
    "group",
    "institution",
    "status",
)
#: ... and of each of its decisions.
STATUS_CHANGE_MEMBERS = ("id", "proposal_id", "from_status", "to_status", "created_at")


def is_office(user: User) -> bool:
    """Whether ``user`` reads proposals and decisions in full (the office and admins)."""
    return user.role in OFFICE_ROLES


def party_proposal_out(proposal: Proposal, history: list[Decision]) -> dict[str, Any]:
    """A proposal as the introduced company and group read it: the pair, the status and its
    history; no score, parts, evidence, scorer or run (the office's internals)."""
    full = proposal_out(proposal, include_evidence=False)
    return {
        **{name: full[name] for name in PARTY_PROPOSAL_MEMBERS},
        "history": [status_change_out(d) for d in history],
        "created_at": full["created_at"],
        "updated_at": full["updated_at"],
    }


def proposals_for(session: Session, user: User, proposals: list[Proposal]) -> list[dict[str, Any]]:
    """Proposals as ``user`` may read them: the office in full, a party without the internals
    (the status histories of all of them read in one query)."""
    if is_office(user):
        return [proposal_out(p) for p in proposals]
    histories: dict[int, list[Decision]] = {p.id: [] for p in proposals}
    if histories:
        for d in session.scalars(
            select(Decision).where(Decision.proposal_id.in_(histories)).order_by(Decision.id)
        ):
            histories[d.proposal_id].append(d)
    return [party_proposal_out(p, histories[p.id]) for p in proposals]


def status_change_out(d: Decision) -> dict[str, Any]:
    """A decision as a step of the status history (what the parties see of it)."""
    full = decision_out(d)
    return {name: full[name] for name in STATUS_CHANGE_MEMBERS}


def decisions_out(user: User, decisions: list[Decision]) -> list[dict[str, Any]]:
    """Decisions as ``user`` may read them: the office in full, a party the status history."""
    if is_office(user):
        return [decision_out(d) for d in decisions]
    return [status_change_out(d) for d in decisions]


def decision_out(d: Decision) -> dict[str, Any]:
    """A decision in full, as the office reads it."""
    return {
        "id": d.id,
        "proposal_id": d.proposal_id,
        "from_status": d.from_status,
        "to_status": d.to_status,
        "reason_code": d.reason_code,
        "note": d.note,
        "score": d.score,
        "components": d.components,
        "decided_by_id": d.decided_by_id,
        "created_at": d.created_at.isoformat(),
    }


def list_decisions(session: Session, proposal: Proposal) -> list[Decision]:
    return list(
        session.scalars(
            select(Decision).where(Decision.proposal_id == proposal.id).order_by(Decision.id)
        )
    )
