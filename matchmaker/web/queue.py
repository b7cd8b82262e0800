"""The review queue's query from a page's arguments, and the queue as a table to download."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import gettext
from pydantic import ValidationError
from sqlalchemy.orm import Session

from matchmaker.accounts.models import User
from matchmaker.fields import FIELD_KEYS, field_label
from matchmaker.matching.models import ProposalStatus
from matchmaker.review import service as review
from matchmaker.review.schemas import ProposalQuery
from matchmaker.web.helpers import STATUS_LABELS
from matchmaker.web.i18n import current_language
from matchmaker.web.search import search_text


def queue_filters(args: Mapping[str, Any]) -> dict[str, str]:
    """The queue's filters as the page shows them (unknown values are shown as "all")."""
    status = str(args.get("status", ""))
    field = str(args.get("field", ""))
    institution = str(args.get("institution", ""))
    return {
        "status": status if status in ProposalStatus._value2member_map_ else "",
        "field": field if field in FIELD_KEYS else "",
        "institution": institution if institution.isdigit() else "",
        "q": search_text(args),
    }


def queue_query(filters: Mapping[str, str], *, page: int = 1, per_page: int = 25) -> ProposalQuery:
    """The service's query for the queue's filters (the API's schema and rules)."""
    try:
        return ProposalQuery.model_validate(
            {
                "page": page,
                "per_page": per_page,
                "status": [filters["status"]] if filters["status"] else None,
                "field": [filters["field"]] if filters["field"] else None,
                "institution_id": int(filters["institution"]) if filters["institution"] else None,
                "q": filters["q"] or None,
            }
        )
    except ValidationError:
        return ProposalQuery.model_validate({"per_page": per_page, "q": filters["q"] or None})


def queue_table(
    session: Session, user: User, query: ProposalQuery
) -> tuple[list[str], list[list[Any]]]:
    """Every proposal of the filtered queue (not only one page), best score first, as a table
    with headers in the page's language."""
    lang = current_language()
    header = [
        gettext("Proposal"),
        gettext("Score"),
        gettext("Challenge"),
        gettext("Company"),
        gettext("Research group"),
        gettext("Institution"),
        gettext("Fields of action"),
        gettext("Status"),
        gettext("Last change"),
    ]
    rows = [
        [
            p.id,
            round(float(p.score), 4),
            p.challenge.title,
            p.challenge.organisation.name,
            p.group.name,
            p.group.institution.name,
            ", ".join(field_label(k, lang) for k in p.challenge.fields),
            str(STATUS_LABELS.get(p.status.value, p.status.value)),
            p.updated_at.date().isoformat(),
        ]
        for p in session.scalars(review.proposals_statement(session, user, query)).unique()
    ]
    return header, rows
