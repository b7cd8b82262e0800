"""The office dashboard: proposals per field of action, the pipeline funnel, the CO2 in the pipeline
against the network's target, and the load per institution — each chart also as CSV."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, abort, render_template
from flask_babel import gettext, lazy_gettext
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from matchmaker.db import get_session
from matchmaker.fields import FIELD_KEYS, field_label
from matchmaker.groups.models import ResearchGroup
from matchmaker.matching.models import Proposal, ProposalStatus
from matchmaker.review.load import institution_loads
from matchmaker.review.models import Decision
from matchmaker.review.service import PIPELINE
from matchmaker.web.downloads import csv_format, csv_response
from matchmaker.web.helpers import OFFICE_ROLES, STATUS_LABELS, page_errors, roles_required
from matchmaker.web.i18n import current_language

bp = Blueprint("dashboard", __name__, url_prefix="/office/dashboard")
page_errors(bp)

#: The IVH energy-efficiency network's goal: 75,000 t CO2 saved a year.
CO2_TARGET_T = 75_000.0
STAGES = [s for s in PIPELINE if s != ProposalStatus.DECLINED]
ACTIVE = frozenset(STAGES)


@dataclass
class Chart:
    """A chart's table: the header and the rows, as shown and as downloaded."""

    key: str
    header: list[str]
    rows: list[list[Any]]


def _proposals(session: Session) -> list[Proposal]:
    return list(
        session.scalars(
            select(Proposal).options(
                joinedload(Proposal.challenge),
                joinedload(Proposal.group).joinedload(ResearchGroup.institution),
            )
        )
    )


def per_field(proposals: list[Proposal], lang: str) -> Chart:
    """Proposals and collaborations per field of action (a proposal counts for each of its fields)."""
    made: Counter[str] = Counter()
    collab: Counter[str] = Counter()
    for p in proposals:
        for key in set(p.challenge.fields):
            made[key] += 1
            if p.status == ProposalStatus.COLLABORATION:
                collab[key] += 1
    return Chart(
        "fields",
        [gettext("Field of action"), gettext("Proposals"), gettext("Collaborations")],
        [[field_label(k, lang), made[k], collab[k]] for k in FIELD_KEYS],
    )


def _stage_reached(session: Session, proposals: list[Proposal]) -> dict[int, int]:
    """The furthest pipeline stage each proposal ever reached (a declined one keeps its history)."""
    order = {s.value: i for i, s in enumerate(STAGES)}
    reached = {p.id: order.get(p.status.value, 0) for p in proposals}
    for proposal_id, to_status in session.execute(select(Decision.proposal_id, Decision.to_status)):
        if proposal_id in reached and to_status in order:
            reached[proposal_id] = max(reached[proposal_id], order[to_status])
    return reached


def funnel(session: Session, proposals: list[Proposal]) -> Chart:
    """How many proposals reached each stage of the pipeline, and how many were declined."""
    reached = _stage_reached(session, proposals)
    rows: list[list[Any]] = []
    for i, stage in enumerate(STAGES):
        rows.append([str(STATUS_LABELS[stage.value]), sum(1 for r in reached.values() if r >= i)])
    rows.append(
        [
            str(STATUS_LABELS["declined"]),
            sum(1 for p in proposals if p.status == ProposalStatus.DECLINED),
        ]
    )
    return Chart("funnel", [gettext("Stage"), gettext("Proposals")], rows)


def co2(proposals: list[Proposal]) -> Chart:
    """Expected CO2 saving (t/yr) of the challenges by the furthest stage their open proposals
    have reached, each challenge counted once; only what was introduced or went further is put
    against the target (a proposal nobody has reviewed yet saves nothing)."""
    order: dict[ProposalStatus, int] = {s: i for i, s in enumerate(STAGES)}
    furthest: dict[int, tuple[int, float]] = {}
    for p in proposals:
        if p.status not in ACTIVE:
            continue
        stage = order[p.status]
        saving = p.challenge.co2_saving_t or 0.0
        if p.challenge.id not in furthest or stage > furthest[p.challenge.id][0]:
            furthest[p.challenge.id] = (stage, saving)
    buckets = [
        (gettext("Collaboration"), {ProposalStatus.COLLABORATION}, True),
        (gettext("In talks"), {ProposalStatus.IN_TALKS}, True),
        (gettext("Introduced"), {ProposalStatus.INTRODUCED}, True),
        (
            gettext("Proposed, not yet introduced"),
            {ProposalStatus.PROPOSED, ProposalStatus.SHORTLISTED},
            False,
        ),
    ]
    rows: list[list[Any]] = []
    for label, statuses, counts in buckets:
        stages = {order[s] for s in statuses}
        total = round(float(sum(t for stage, t in furthest.values() if stage in stages)), 1)
        share = round(100 * total / CO2_TARGET_T, 1) if counts else None
        rows.append([label, total, CO2_TARGET_T if counts else None, share])
    return Chart(
        "co2",
        [
            gettext("Challenges"),
            gettext("CO₂ saving (t/yr)"),
            gettext("Target (t/yr)"),
            gettext("Share of target (%)"),
        ],
        rows,
    )


#: What the load of a group or an institution means, in the page's language.
LOAD_VERDICTS = {
    "over_capacity": lazy_gettext("over capacity"),
    "unused": lazy_gettext("unused"),
    "more_proposals_than_places": lazy_gettext("more proposals than places"),
    "has_room": lazy_gettext("has room"),
    "full": lazy_gettext("full"),
}


def load(session: Session) -> Chart:
    """Per institution: open proposals, groups engaged (introduced or further) and their capacity."""
    loads = institution_loads(session)
    rows: list[list[Any]] = [
        [name, item.open, item.engaged, item.capacity, str(LOAD_VERDICTS[item.verdict])]
        for name, item in sorted(loads.items(), key=lambda kv: (-kv[1].open, kv[0]))
    ]
    return Chart(
        "load",
        [
            gettext("Institution"),
            gettext("Open proposals"),
            gettext("Engaged (introduced or further)"),
            gettext("Capacity"),
            gettext("Assessment"),
        ],
        rows,
    )


def charts(session: Session) -> dict[str, Chart]:
    proposals = _proposals(session)
    lang = current_language()
    return {
        "fields": per_field(proposals, lang),
        "funnel": funnel(session, proposals),
        "co2": co2(proposals),
        "load": load(session),
    }


@bp.get("", endpoint="dashboard")
@roles_required(*OFFICE_ROLES)
def dashboard() -> Any:
    data = charts(get_session())
    field_max = max([max(r[1], r[2]) for r in data["fields"].rows] + [1])
    funnel_max = max([r[1] for r in data["funnel"].rows] + [1])
    co2_max = max([r[1] for r in data["co2"].rows] + [CO2_TARGET_T]) * 1.08
    load_max = max([max(r[1], r[2], r[3]) for r in data["load"].rows] + [1])
    return render_template(
        "office/dashboard.html",
        charts=data,
        field_max=field_max,
        funnel_max=funnel_max,
        co2_max=co2_max,
        co2_target=CO2_TARGET_T,
        load_max=load_max,
    )


@bp.get("/<key>.csv")
@roles_required(*OFFICE_ROLES)
def chart_csv(key: str) -> Response:
    """One chart's numbers as CSV; ``?format=de`` for German spreadsheet programs (``;`` and a
    decimal comma). Either way UTF-8 with BOM, and no cell runs as a formula."""
    fmt = csv_format()
    data = charts(get_session())
    if key not in data:
        abort(404)
    chart = data[key]
    return csv_response(key, chart.header, chart.rows, fmt)
