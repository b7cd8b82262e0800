"""How loaded research groups and institutions are: open proposals and engagements against the
capacity the groups state. The dashboard's load chart and the office's groups pages read it here,
so both count alike."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from matchmaker.groups.models import ResearchGroup
from matchmaker.matching.models import INTRODUCED_STATUSES, Proposal, ProposalStatus
from matchmaker.organisations.models import Organisation, OrganisationKind

#: Proposals still in the pipeline (declined ones are not): each may end in an introduction.
OPEN_STATUSES = frozenset(ProposalStatus) - {ProposalStatus.DECLINED}


@dataclass
class Load:
    """Proposals of a group (or an institution's groups) by status, against their capacity."""

    capacity: int = 0
    by_status: Counter[str] = field(default_factory=Counter)

    @property
    def open(self) -> int:
        """Proposals still in the pipeline."""
        return sum(n for s, n in self.by_status.items() if ProposalStatus(s) in OPEN_STATUSES)

    @property
    def engaged(self) -> int:
        """Proposals introduced or further."""
        return sum(n for s, n in self.by_status.items() if ProposalStatus(s) in INTRODUCED_STATUSES)

    @property
    def verdict(self) -> str:
        """``over_capacity``, ``unused``, ``more_proposals_than_places``, ``has_room`` or
        ``full``: open proposals count against the capacity too, as introducing them all must
        fit."""
        if self.engaged > self.capacity:
            return "over_capacity"
        if self.open == 0:
            return "unused"
        if self.open > self.capacity:
            return "more_proposals_than_places"
        if self.engaged < self.capacity and self.open < self.capacity:
            return "has_room"
        return "full"


def _counts(session: Session, group_ids: list[int] | None = None) -> dict[int, Counter[str]]:
    stmt = select(Proposal.group_id, Proposal.status, func.count()).group_by(
        Proposal.group_id, Proposal.status
    )
    if group_ids is not None:
        stmt = stmt.where(Proposal.group_id.in_(group_ids))
    out: dict[int, Counter[str]] = defaultdict(Counter)
    for group_id, status, n in session.execute(stmt):
        out[group_id][ProposalStatus(status).value] += n
    return out


def group_loads(session: Session, groups: list[ResearchGroup]) -> dict[int, Load]:
    """The load of each of ``groups``, by group id."""
    counts = _counts(session, [g.id for g in groups])
    return {g.id: Load(g.capacity, counts.get(g.id, Counter())) for g in groups}


def institution_loads(session: Session) -> dict[str, Load]:
    """The load of every live institution, by name: its live groups' capacity, and the
    proposals of all its groups (an archived group's proposals still count)."""
    out: dict[str, Load] = {
        name: Load()
        for name in session.scalars(
            select(Organisation.name).where(
                Organisation.kind == OrganisationKind.INSTITUTION,
                Organisation.archived_at.is_(None),
            )
        )
    }
    counts = _counts(session)
    rows = list(
        session.execute(
            select(
                ResearchGroup.id,
                ResearchGroup.capacity,
                ResearchGroup.archived_at,
                Organisation.name,
            ).join(Organisation, ResearchGroup.institution_id == Organisation.id)
        )
    )
    for _group_id, capacity, archived_at, name in rows:
        if archived_at is None:
            out.setdefault(name, Load()).capacity += capacity
    for group_id, _capacity, _archived_at, name in rows:
        if name in out:
            out[name].by_status.update(counts.get(group_id, Counter()))
    return out


__all__ = ["OPEN_STATUSES", "Load", "group_loads", "institution_loads"]
