"""Office pages about research groups: every group with its load and proposals, a group's
detail page, and a challenge's candidates compared side by side."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template, request, url_for
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from matchmaker.challenges import service as challenges
from matchmaker.db import get_session
from matchmaker.groups import service as groups
from matchmaker.groups.models import ResearchGroup
from matchmaker.groups.schemas import GroupQuery
from matchmaker.matching.models import Proposal
from matchmaker.organisations.models import Organisation, OrganisationKind
from matchmaker.review.load import group_loads
from matchmaker.review.service import PIPELINE
from matchmaker.web import matching
from matchmaker.web.dashboard import LOAD_VERDICTS
from matchmaker.web.helpers import OFFICE_ROLES, me, page_errors, roles_required
from matchmaker.web.search import search_text

bp = Blueprint("office_groups", __name__, url_prefix="/office")
page_errors(bp)
PER_PAGE = 25
#: How many candidates the comparison of a challenge shows at most.
CANDIDATES_MAX = 20


def _group_query(q: str, institution: str, page: int) -> GroupQuery:
    try:
        return GroupQuery.model_validate(
            {
                "page": page,
                "per_page": PER_PAGE,
                "q": q or None,
                "institution_id": int(institution) if institution else None,
            }
        )
    except ValidationError:
        return GroupQuery.model_validate({"per_page": PER_PAGE, "q": q or None})


@bp.get("/groups", endpoint="groups")
@roles_required(*OFFICE_ROLES)
def groups_list() -> Any:
    """Every live research group with its profile facts, load against capacity and proposals
    by status; ``q`` searches name, capabilities and methods."""
    db = get_session()
    q = search_text(request.args)
    institution = str(request.args.get("institution", ""))
    institution = institution if institution.isdigit() else ""
    page = max(1, request.args.get("page", 1, type=int) or 1)
    query = _group_query(q, institution, page)
    rows, total = groups.list_groups(db, query)
    institutions = db.scalars(
        select(Organisation)
        .where(Organisation.kind == OrganisationKind.INSTITUTION)
        .order_by(Organisation.name)
    ).all()
    kept: dict[str, Any] = {k: v for k, v in {"q": q, "institution": institution}.items() if v}
    return render_template(
        "office/groups.html",
        rows=rows,
        total=total,
        loads=group_loads(db, rows),
        verdicts=LOAD_VERDICTS,
        statuses=[s.value for s in PIPELINE],
        q=q,
        institution=institution,
        institutions=institutions,
        page=query.page,
        pages=max(1, -(-total // PER_PAGE)),
        kept=kept,
        clear_search=url_for("office_groups.groups", **{k: v for k, v in kept.items() if k != "q"}),
    )


@bp.get("/groups/<int:group_id>", endpoint="group")
@roles_required(*OFFICE_ROLES)
def group_detail(group_id: int) -> Any:
    """A group's profile, publications, load and every proposal of it with its status."""
    db = get_session()
    group = groups.get_group(db, group_id)
    proposals = list(
        db.scalars(
            select(Proposal)
            .options(joinedload(Proposal.challenge))
            .where(Proposal.group_id == group.id)
            .order_by(Proposal.score.desc())
        )
    )
    return render_template(
        "office/group.html",
        group=group,
        load=group_loads(db, [group])[group.id],
        verdicts=LOAD_VERDICTS,
        proposals=proposals,
    )


@bp.get("/challenges/<int:challenge_id>/candidates", endpoint="candidates")
@roles_required(*OFFICE_ROLES)
def candidates(challenge_id: int) -> Any:
    """A challenge's best candidates side by side: score and its parts, language, load against
    capacity, the proposal already made, key terms."""
    db = get_session()
    challenge = challenges.get_visible(db, me(), challenge_id)
    settings = current_app.extensions["matchmaker.settings"]
    top = request.args.get("top", 10, type=int) or 10
    top = min(max(top, settings.proposals_per_challenge, 1), CANDIDATES_MAX)
    unavailable = False
    items: list[dict[str, Any]] = []
    try:
        items = matching.matches_for_challenge(db, challenge, top=top)
    except Exception:  # the page still shows the challenge and says why the table is missing
        current_app.logger.exception("candidates of challenge %s failed", challenge_id)
        unavailable = True
    ids = [int(i["group_id"]) for i in items]
    found = groups.with_institutions(db, ResearchGroup.id.in_(ids))
    proposals = {
        p.group_id: p
        for p in db.scalars(
            select(Proposal).where(
                Proposal.challenge_id == challenge.id, Proposal.group_id.in_(ids)
            )
        )
    }
    return render_template(
        "office/candidates.html",
        challenge=challenge,
        items=items,
        groups=found,
        loads=group_loads(db, list(found.values())),
        verdicts=LOAD_VERDICTS,
        proposals=proposals,
        components=("semantic", "lexical", "fields", "strategy", "trl", "capacity"),
        k=settings.proposals_per_challenge,
        top=top,
        unavailable=unavailable,
    )
