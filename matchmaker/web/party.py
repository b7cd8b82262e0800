"""What a company or group posts from its own pages: the next step of an introduction (in talks,
collaboration, declined with a reason) and its interest in a pair. The rules are the services'
(:func:`matchmaker.review.service.decide`, :mod:`matchmaker.learning.service`), as for the API;
a rejected form comes back on the page it was sent from, with the error beside the field."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext

from matchmaker.accounts.models import Role
from matchmaker.challenges import service as challenges
from matchmaker.db import get_session
from matchmaker.errors import DomainError, Forbidden
from matchmaker.groups import service as groups
from matchmaker.learning import service as learning
from matchmaker.learning.schemas import CompanyInterestIn, GroupInterestIn
from matchmaker.matching.models import Proposal, ProposalStatus
from matchmaker.review import service as review
from matchmaker.review.schemas import DecisionIn
from matchmaker.web import company as company_pages
from matchmaker.web import group as group_pages
from matchmaker.web.helpers import (
    STATUS_LABELS,
    form_errors,
    me,
    page_errors,
    roles_required,
    validate_form,
)
from matchmaker.web.party_forms import interest_key, step_key
from matchmaker.web.search import search_text

bp = Blueprint("party", __name__)
page_errors(bp)

#: The reason a forward step reported from a page is recorded with (the form asks for a reason
#: only when declining).
FORWARD_REASON = "good_fit"


def _back_to_step_page(proposal: Proposal, forms: dict[str, Any], status: int) -> Any:
    if me().role == Role.COMPANY:
        return company_pages.challenge_page(proposal.challenge_id, forms, status)
    return group_pages.introductions_page(proposal.group, forms, status)


@bp.post("/proposals/<int:proposal_id>/step")
@roles_required(Role.COMPANY, Role.GROUP)
def report_step(proposal_id: int) -> Any:
    """A party reports the next step of one of its introductions."""
    db = get_session()
    user = me()
    proposal = review.get_decidable(db, user, proposal_id)
    values = {name: request.form.get(name, "").strip() for name in ("to_status", "reason_code")}
    data = dict(values)
    if data["to_status"] != ProposalStatus.DECLINED.value and not data["reason_code"]:
        data["reason_code"] = FORWARD_REASON
    checked, errors = validate_form(DecisionIn, data)
    if checked is not None:
        try:
            review.decide(db, user, proposal, checked.to_status, checked.reason_code)
        except DomainError as exc:
            db.rollback()
            errors = form_errors(exc)
    if errors:
        key = step_key(proposal.id)
        return _back_to_step_page(proposal, {key: {"values": values, "errors": errors}}, 422)
    assert checked is not None
    flash(
        gettext(
            "“%(group)s” × “%(challenge)s” is now “%(status)s”. The innovation office sees it.",
            group=proposal.group.name,
            challenge=proposal.challenge.title,
            status=STATUS_LABELS[checked.to_status.value],
        ),
        "success",
    )
    if user.role == Role.COMPANY:
        return redirect(url_for("company.challenge", challenge_id=proposal.challenge_id))
    return redirect(url_for("group.introductions"))


def _interest_flash(value: str) -> None:
    if value == "none":
        flash(gettext("Your interest was withdrawn."), "success")
    else:
        flash(gettext("Your interest was saved."), "success")


@bp.post("/group/challenges/<int:challenge_id>/interest")
@roles_required(Role.GROUP)
def group_interest(challenge_id: int) -> Any:
    """The group marks a challenge "interested" or "not for us" (with a reason), or withdraws;
    ``back`` is the page the form was on (``matches`` with its ``q`` and ``page``, or
    ``introductions``)."""
    db = get_session()
    user = me()
    group = group_pages._require_group()
    challenge = challenges.get_visible(db, user, challenge_id)
    values = {"value": request.form.get("value", ""), "reason": request.form.get("reason", "")}
    back = request.form.get("back", "matches")
    q = search_text(request.form)
    page = max(1, request.form.get("page", 1, type=int) or 1)
    checked, errors = validate_form(GroupInterestIn, values)
    if checked is not None:
        try:
            learning.state_group_interest(db, user, challenge, group, checked.value, checked.reason)
        except DomainError as exc:
            db.rollback()
            errors = form_errors(exc)
    if errors:
        forms = {interest_key(challenge.id, group.id): {"values": values, "errors": _at(errors)}}
        if back == "introductions":
            return group_pages.introductions_page(group, forms, 422)
        return group_pages.matches_page(group, q, page, forms, 422)
    _interest_flash(values["value"])
    if back == "introductions":
        return redirect(url_for("group.introductions"))
    kept: dict[str, Any] = {"q": q} if q else {}
    if page > 1:
        kept["page"] = page
    return redirect(url_for("group.matches", **kept))


@bp.post("/challenges/<int:challenge_id>/groups/<int:group_id>/interest")
@roles_required(Role.COMPANY)
def company_interest(challenge_id: int, group_id: int) -> Any:
    """The company marks a group it would like to meet for its challenge, or withdraws that."""
    db = get_session()
    user = me()
    challenge = challenges.get_visible(db, user, challenge_id)
    if not challenges.may_edit(user, challenge):
        raise Forbidden("A company states interest for its own challenges only.")
    group = groups.get_group(db, group_id, include_archived=False)
    value = request.form.get("value", "")
    checked, errors = validate_form(
        CompanyInterestIn, {"challenge_id": challenge.id, "value": value}
    )
    if checked is not None:
        try:
            learning.state_company_interest(db, user, challenge, group, checked.value)
        except DomainError as exc:
            db.rollback()
            errors = form_errors(exc)
    if errors:
        forms = {interest_key(challenge.id, group.id): {"values": {}, "errors": _at(errors)}}
        return company_pages.challenge_page(challenge.id, forms, 422)
    _interest_flash(value)
    return redirect(url_for("company.challenge", challenge_id=challenge.id))


def _at(errors: dict[str, str]) -> dict[str, str]:
    # The choice itself is a button: what is wrong with it shows above the form.
    if "value" in errors:
        errors.setdefault("__all__", errors.pop("value"))
    if "challenge_id" in errors:
        errors.setdefault("__all__", errors.pop("challenge_id"))
    return errors
