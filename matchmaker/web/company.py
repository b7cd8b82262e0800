"""Company pages: post a challenge, see its status and the groups it was introduced to."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from matchmaker.accounts.models import Role
from matchmaker.api.problems import Problem
from matchmaker.challenges import service as challenges
from matchmaker.challenges.models import BudgetBand, Challenge, ChallengeStatus
from matchmaker.challenges.schemas import ChallengeIn, ChallengePatch, ChallengeQuery
from matchmaker.db import get_session
from matchmaker.errors import DomainError
from matchmaker.groups.models import ResearchGroup
from matchmaker.matching.models import INTRODUCED_STATUSES, Proposal
from matchmaker.review import mails
from matchmaker.review import service as review
from matchmaker.web import challenge_state, matching
from matchmaker.web.helpers import (
    OFFICE_ROLES,
    blank_to_none,
    form_errors,
    language_form_value,
    me,
    page_errors,
    roles_required,
    validate_form,
)
from matchmaker.web.party_forms import Forms, party_context
from matchmaker.web.search import search_text

bp = Blueprint("company", __name__)
page_errors(bp)

POSTERS = (Role.COMPANY, *OFFICE_ROLES)
FORM_FIELDS = (
    "title",
    "summary",
    "confidential",
    "trl_now",
    "trl_target",
    "budget_band",
    "deadline",
    "co2_saving_t",
    "status",
    "language",
)


def _form_values() -> dict[str, Any]:
    values: dict[str, Any] = {name: request.form.get(name, "") for name in FORM_FIELDS}
    values["fields"] = request.form.getlist("fields")
    if me().role in OFFICE_ROLES:
        values["organisation_id"] = request.form.get("organisation_id", "")
    return values


def _challenge_values(challenge: Challenge) -> dict[str, Any]:
    return {
        "title": challenge.title,
        "summary": challenge.summary,
        "confidential": challenge.confidential,
        "fields": list(challenge.fields),
        "trl_now": str(challenge.trl_now),
        "trl_target": str(challenge.trl_target),
        "budget_band": challenge.budget_band.value,
        "deadline": challenge.deadline.isoformat() if challenge.deadline else "",
        "co2_saving_t": "" if challenge.co2_saving_t is None else f"{challenge.co2_saving_t:g}",
        "status": challenge.status.value,
        "language": language_form_value(challenge.language, challenge.language_confirmed),
    }


def _validate(
    values: dict[str, Any], challenge: Challenge | None = None
) -> tuple[ChallengeIn | None, dict[str, str]]:
    # An empty language is "detect automatically".
    data = blank_to_none(
        values, "confidential", "deadline", "co2_saving_t", "organisation_id", "language"
    )
    if data.get("organisation_id") is None:
        data.pop("organisation_id", None)
    checked, errors = validate_form(ChallengeIn, data)
    # The service refuses a new deadline in the past too; checked here as well, so that the
    # form shows it together with every other error.
    if "deadline" not in errors and data.get("deadline"):
        try:
            deadline = dt.date.fromisoformat(str(data["deadline"]))
            challenges.check_deadline(deadline, before=challenge.deadline if challenge else None)
        except ValueError:
            pass  # the schema's parser took it; the service checks it on saving
        except DomainError as exc:
            errors.update(form_errors(exc))
            checked = None
    return checked, errors


def _companies() -> list[Any]:
    from matchmaker.organisations.models import Organisation, OrganisationKind

    return list(
        get_session().scalars(
            select(Organisation)
            .where(
                Organisation.kind == OrganisationKind.COMPANY, Organisation.archived_at.is_(None)
            )
            .order_by(Organisation.name)
        )
    )


def _form(
    values: dict[str, Any], errors: dict[str, str], challenge: Challenge | None = None
) -> Any:
    return render_template(
        "company/challenge_form.html",
        values=values,
        errors=errors,
        challenge=challenge,
        budget_bands=[b.value for b in BudgetBand],
        statuses=[s.value for s in ChallengeStatus] if challenge else ["draft", "open"],
        companies=_companies() if me().role in OFFICE_ROLES and challenge is None else [],
    ), (422 if errors else 200)


@bp.get("/challenges", endpoint="challenges")
@roles_required(*POSTERS)
def challenges_list() -> Any:
    """The user's challenges (the office: all), with status and introduced groups; ``q``
    searches their titles and summaries."""
    db = get_session()
    user = me()
    status = request.args.get("status") or None
    q = search_text(request.args)
    try:
        query = ChallengeQuery.model_validate(
            {
                "per_page": 100,
                "page": max(1, request.args.get("page", 1, type=int) or 1),
                "status": status,
                "q": q or None,
            }
        )
    except ValueError:
        status = None
        query = ChallengeQuery.model_validate({"per_page": 100, "q": q or None})
    rows, total = challenges.list_challenges(db, user, query)
    ids = [c.id for c in rows]
    introduced: dict[int, list[Proposal]] = {i: [] for i in ids}
    if ids:
        # The same rule as the API: a company sees its proposals once the office introduced them.
        stmt = (
            select(Proposal)
            .options(joinedload(Proposal.group).joinedload(ResearchGroup.institution))
            .where(review.visible_condition(user), Proposal.challenge_id.in_(ids))
        )
        if user.role in OFFICE_ROLES:
            stmt = stmt.where(Proposal.status.in_(list(INTRODUCED_STATUSES)))
        for p in db.scalars(stmt.order_by(Proposal.score.desc())):
            introduced[p.challenge_id].append(p)
    return render_template(
        "company/challenges.html",
        rows=rows,
        total=total,
        introduced=introduced,
        group_contacts={
            p.id: mails.group_contact(db, p.group) for ps in introduced.values() for p in ps
        },
        status=status or "",
        statuses=[s.value for s in ChallengeStatus],
        q=q,
        clear_search=url_for("company.challenges", status=status),
    )


@bp.route("/challenges/new", methods=["GET", "POST"])
@roles_required(*POSTERS)
def new_challenge() -> Any:
    """The form to post a challenge; bad input comes back beside the field, with the input kept."""
    if request.method == "GET":
        return _form(
            {
                "fields": [],
                "trl_now": "3",
                "trl_target": "6",
                "status": "open",
                "budget_band": "50k_250k",
                "language": "",
            },
            {},
        )
    values = _form_values()
    data, errors = _validate(values)
    if data is None:
        return _form(values, errors)
    db = get_session()
    try:
        challenge = challenges.create_challenge(db, me(), data)
    except DomainError as exc:
        db.rollback()
        return _form(values, form_errors(exc))
    flash(gettext("Your challenge “%(title)s” was saved.", title=challenge.title), "success")
    return redirect(url_for("company.challenge", challenge_id=challenge.id))


@bp.get("/challenges/<int:challenge_id>")
@roles_required()
def challenge(challenge_id: int) -> Any:
    """A challenge as the user may see it: confidential details only where the rules allow."""
    return challenge_page(challenge_id)


def challenge_page(challenge_id: int, forms: Forms | None = None, status: int = 200) -> Any:
    """The challenge page, with the company's forms for its introduced groups (the next step,
    its interest); ``forms`` brings back a rejected form with its errors."""
    db = get_session()
    user = me()
    item = challenges.get_visible(db, user, challenge_id)
    out = challenges.to_out(db, user, item)
    proposals = list(
        db.scalars(
            select(Proposal)
            .options(joinedload(Proposal.group).joinedload(ResearchGroup.institution))
            .where(review.visible_condition(user), Proposal.challenge_id == item.id)
            .order_by(Proposal.score.desc())
        )
    )
    introduced = [p for p in proposals if p.status in INTRODUCED_STATUSES]
    return render_template(
        "company/challenge.html",
        c=out,
        challenge=item,
        proposals=proposals,
        may_edit=challenges.may_edit(user, item),
        state={name: allowed(item) for name, allowed in challenge_state.RULES.items()},
        # After an introduction each side reads the other's contact.
        group_contacts={p.id: mails.group_contact(db, p.group) for p in introduced},
        company_contact=(
            mails.company_contact(db, item) if user.role == Role.GROUP and introduced else None
        ),
        **party_context(db, user, proposals, forms),
        similar=matching.similar_to_challenge(db, user, item)
        if user.role in OFFICE_ROLES
        else None,
    ), status


@bp.route("/challenges/<int:challenge_id>/edit", methods=["GET", "POST"])
@roles_required(*POSTERS)
def edit_challenge(challenge_id: int) -> Any:
    db = get_session()
    user = me()
    item = challenges.get_visible(db, user, challenge_id)
    if not challenges.may_edit(user, item):
        raise Problem(
            403, "Forbidden", "Only the company that posted this challenge and the office edit it."
        )
    if request.method == "GET":
        return _form(_challenge_values(item), {}, item)
    values = _form_values()
    values.pop("organisation_id", None)
    data, errors = _validate(values, item)
    if data is None:
        return _form(values, errors, item)
    try:
        patch = ChallengePatch.model_validate(data.model_dump(exclude={"organisation_id"}))
        challenges.update_challenge(db, user, item, patch)
    except DomainError as exc:
        db.rollback()
        return _form(values, form_errors(exc), item)
    flash(gettext("Your changes were saved."), "success")
    return redirect(url_for("company.challenge", challenge_id=item.id))


@bp.get("/challenges/similar")
@roles_required(*POSTERS)
def similar() -> Any:
    """Challenges already posted that resemble the text typed so far (JSON for the form's script).

    The rule of :mod:`matchmaker.matching.similar`: a company sees its own, the office the open
    challenges of every company, with the company's name.
    """
    text = request.args.get("q", "").strip()[:2000]
    exclude = request.args.get("exclude", type=int)
    if len(text) < 8:
        return jsonify(items=[])
    user = me()
    try:
        found = matching.similar_challenges(get_session(), user, text, top=5, exclude_id=exclude)
    except Exception:  # the ranker must never break typing in a form
        current_app.logger.exception("similar challenges failed")
        return jsonify(items=[], unavailable=True)
    office = user.role in OFFICE_ROLES
    items = [
        {
            "id": r["challenge_id"],
            "title": r["title"],
            "score": round(float(r["score"]), 3),
            "url": url_for("company.challenge", challenge_id=r["challenge_id"]),
            **({"organisation": r["organisation"]} if office else {}),
        }
        for r in found
    ]
    return jsonify(items=items)
