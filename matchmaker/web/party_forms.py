"""What the company's and the group's pages need for their own steps: the next steps a party
may report on each proposal, the reasons it may give, and what each side stated about a pair."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Flask
from flask_babel import lazy_gettext
from sqlalchemy.orm import Session

from matchmaker.accounts.models import User
from matchmaker.learning import service as learning
from matchmaker.matching.models import Proposal, ProposalStatus
from matchmaker.review import service as review

#: A form's values and errors after a rejected post, by the form's key (see the keys below).
Forms = dict[str, dict[str, Any]]


def step_key(proposal_id: int) -> str:
    """The key (and id prefix) of the form that reports the next step of a proposal."""
    return f"step-{proposal_id}"


def interest_key(challenge_id: int, group_id: int) -> str:
    """The key (and id prefix) of the form that states interest in a pair."""
    return f"interest-{challenge_id}-{group_id}"


def party_context(
    session: Session, user: User, proposals: Iterable[Proposal], forms: Forms | None = None
) -> dict[str, Any]:
    """Template values for the party forms of ``proposals``: the steps ``user`` may report on
    each, the reasons for declining, the stated interest of each pair, and rejected forms."""
    rows = list(proposals)
    return {
        "party_steps": {p.id: [s.value for s in review.party_steps(user, p)] for p in rows},
        "decline_reasons": list(review.PARTY_REASONS[ProposalStatus.DECLINED]),
        "interest": interest_states(session, [(p.challenge_id, p.group_id) for p in rows]),
        "forms": forms or {},
    }


def interest_states(
    session: Session, pairs: Iterable[tuple[int, int]]
) -> dict[str, dict[str, Any]]:
    """What each side stated about each (challenge id, group id) pair now, by
    :func:`interest_key`: ``group`` and ``company`` (None where nothing is stated) with reasons."""
    wanted = set(pairs)
    if not wanted:
        return {}
    stated = learning.stated_interest(
        session,
        challenge_ids={c for c, _ in wanted},
        group_ids={g for _, g in wanted},
    )
    return {
        interest_key(c, g): learning.interest_out(stated.get((c, g)), reasons=True)
        for c, g in wanted
    }


#: What a side stated about a pair, in the page's language.
INTEREST_LABELS = {
    "interested": lazy_gettext("interested"),
    "not_for_us": lazy_gettext("not for us"),
}


def interest_label(value: str | None) -> str:
    """``interessiert``/``interested`` for ``interested``; "not stated yet" for nothing."""
    if not value:
        return str(lazy_gettext("not stated yet"))
    return str(INTEREST_LABELS.get(value, value))


def init_app(app: Flask) -> None:
    """The template globals of the party forms."""
    app.jinja_env.globals.update(
        interest_label=interest_label, step_key=step_key, interest_key=interest_key
    )
