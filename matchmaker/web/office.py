"""Innovation office pages: the review queue, a proposal with its evidence, decisions, the strategy
and matching runs."""

from __future__ import annotations

import functools
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_decimal, gettext, ngettext
from pydantic import ValidationError
from sqlalchemy import select

from matchmaker import mail
from matchmaker.accounts.models import User
from matchmaker.api.problems import Problem, status_of
from matchmaker.db import after_commit, get_session
from matchmaker.errors import DomainError
from matchmaker.fields import FIELD_KEYS, field_label
from matchmaker.matching.models import MatchingRun, ProposalStatus
from matchmaker.matching.schemas import RunIn
from matchmaker.organisations.models import Organisation, OrganisationKind
from matchmaker.review import service as review
from matchmaker.review.models import REASON_CODES
from matchmaker.review.schemas import DecisionIn
from matchmaker.strategy import service as strategy
from matchmaker.strategy.schemas import StrategyIn
from matchmaker.web import matching as matching_pages
from matchmaker.web import queue as queue_pages
from matchmaker.web.downloads import csv_format, csv_response
from matchmaker.web.evidence import translated
from matchmaker.web.helpers import (
    OFFICE_ROLES,
    form_errors,
    me,
    page_errors,
    roles_required,
    validate_form,
)
from matchmaker.web.i18n import current_language
from matchmaker.web.messages import error_text
from matchmaker.web.party_forms import interest_key, interest_states

bp = Blueprint("office", __name__, url_prefix="/office")
page_errors(bp)
PER_PAGE = 25


@bp.get("/proposals", endpoint="queue")
@roles_required(*OFFICE_ROLES)
def queue() -> Any:
    """Proposals best score first, filtered by field of action, institution and status, and
    searched by challenge, company, group or institution (``q``)."""
    db = get_session()
    filters = queue_pages.queue_filters(request.args)
    page = max(1, request.args.get("page", 1, type=int) or 1)
    query = queue_pages.queue_query(filters, page=page, per_page=PER_PAGE)
    rows, total = review.query_proposals(db, me(), query)
    institutions = db.scalars(
        select(Organisation)
        .where(Organisation.kind == OrganisationKind.INSTITUTION)
        .order_by(Organisation.name)
    ).all()
    pages = max(1, -(-total // PER_PAGE))
    # The links keep the filters and the search; an empty one is left out of the URL.
    kept: dict[str, Any] = {k: v for k, v in filters.items() if v}
    return render_template(
        "office/queue.html",
        rows=rows,
        total=total,
        page=query.page,
        pages=pages,
        kept=kept,
        clear_search=url_for("office.queue", **{k: v for k, v in kept.items() if k != "q"}),
        **filters,
        institutions=institutions,
        statuses=[s.value for s in review.PIPELINE],
    )


@bp.get("/proposals.csv", endpoint="queue_csv")
@roles_required(*OFFICE_ROLES)
def queue_csv() -> Any:
    """The whole filtered and searched queue as CSV; ``?format=de`` for German spreadsheets."""
    fmt = csv_format()
    query = queue_pages.queue_query(queue_pages.queue_filters(request.args), per_page=PER_PAGE)
    header, rows = queue_pages.queue_table(get_session(), me(), query)
    return csv_response("proposals", header, rows, fmt)


def _proposal_page(
    proposal_id: int,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Any:
    db = get_session()
    proposal = review.get_visible(db, me(), proposal_id)
    decisions = review.list_decisions(db, proposal)
    from matchmaker.matching.engine import get_matcher
    from matchmaker.matching.evidence import with_sentences

    evidence = with_sentences(get_matcher(), proposal.evidence) or {}
    pairs = evidence.get("pairs") or []
    pair = (proposal.challenge_id, proposal.group_id)
    decided_by = {d.decided_by_id for d in decisions if d.decided_by_id is not None}
    return render_template(
        "office/proposal.html",
        p=proposal,
        challenge=proposal.challenge,
        group=proposal.group,
        decisions=decisions,
        pairs=pairs,
        terms=evidence.get("terms") or [],
        translations=evidence.get("translations") or [],
        challenge_terms=[*(evidence.get("terms") or []), *translated(evidence, "query")],
        group_terms=[*(evidence.get("terms") or []), *translated(evidence, "candidate")],
        # Only what the evidence names is marked in the texts: the closest sentence of each pair
        # shown (its whole passage only where no sentence pair was found).
        challenge_passages=[p.get("query_sentence") or p.get("query", "") for p in pairs[:5]],
        group_passages=[p.get("candidate_sentence") or p.get("candidate", "") for p in pairs[:5]],
        next_statuses=[s.value for s in review.TRANSITIONS[proposal.status]],
        pipeline=[s.value for s in review.PIPELINE if s != ProposalStatus.DECLINED],
        reason_codes=list(REASON_CODES),
        # What the parties state now, not the neutral figure the run stored.
        interest=interest_states(db, [pair])[interest_key(*pair)],
        # Who took each step: the office, or the company or group that reported it.
        deciders={u.id: u for u in db.scalars(select(User).where(User.id.in_(decided_by)))},
        values=values or {},
        errors=errors or {},
        similar=matching_pages.similar_to_challenge(db, me(), proposal.challenge),
    ), status


@bp.get("/proposals/<int:proposal_id>")
@roles_required(*OFFICE_ROLES)
def proposal(proposal_id: int) -> Any:
    """Both texts side by side, the score parts and the highlighted evidence, and the decision form."""
    return _proposal_page(proposal_id)


@bp.post("/proposals/<int:proposal_id>/decide")
@roles_required(*OFFICE_ROLES)
def decide(proposal_id: int) -> Any:
    """Move the proposal one step with a reason code; an introduction e-mails both parties."""
    db = get_session()
    item = review.get_visible(db, me(), proposal_id)
    values = {name: request.form.get(name, "") for name in ("to_status", "reason_code", "note")}
    data, errors = validate_form(DecisionIn, values)
    if data is None:
        return _proposal_page(proposal_id, values, errors, 422)
    settings = current_app.extensions["matchmaker.settings"]
    try:
        _decision, mails = review.decide(
            db,
            me(),
            item,
            data.to_status,
            data.reason_code,
            data.note,
            public_url=settings.public_url,
        )
    except DomainError as exc:
        db.rollback()
        return _proposal_page(proposal_id, values, form_errors(exc), status_of(exc))
    after_commit(functools.partial(_send_introductions, item, data.to_status, mails))
    return redirect(url_for("office.proposal", proposal_id=proposal_id))


def _send_introductions(item: Any, to_status: ProposalStatus, mails: list[Any]) -> None:
    """Once the decision is committed: send its e-mails, and tell the office how that went."""
    settings = current_app.extensions["matchmaker.settings"]
    sent = 0
    reached: set[str] = set()
    for message in mails:
        try:
            mail.send(settings, message)
            sent += 1
            reached.add(message.party)
        except OSError:
            current_app.logger.exception("introduction e-mail to %s failed", message.to)
    from matchmaker.web.helpers import STATUS_LABELS

    text = gettext("Moved to “%(status)s”.", status=STATUS_LABELS[to_status.value])
    category = "success"
    if to_status == ProposalStatus.INTRODUCED:
        text += " " + ngettext(
            "%(num)d introduction e-mail was sent; the group can now read the confidential "
            "details.",
            "%(num)d introduction e-mails were sent; the group can now read the confidential "
            "details.",
            sent,
        )
        missed = _unreached(item, {m.party for m in mails}, reached)
        if missed:
            text += " " + " ".join(missed)
            category = "warning"
    flash(text, category)


def _unreached(item: Any, composed: set[str], reached: set[str]) -> list[str]:
    """What the office must know about a party the introduction e-mail did not reach."""
    company, group = item.challenge.organisation.name, item.group.name
    # Each party: what to say when it had no address, and when its e-mail was not sent.
    said = {
        "company": (
            gettext(
                "The company %(name)s got no e-mail: none of its accounts has an address. "
                "Please pass the group's contact on yourself.",
                name=company,
            ),
            gettext("The e-mail to the company %(name)s could not be sent.", name=company),
        ),
        "group": (
            gettext(
                "The group %(name)s got no e-mail: it has no contact address and no account. "
                "Please pass the company's contact on yourself.",
                name=group,
            ),
            gettext("The e-mail to the group %(name)s could not be sent.", name=group),
        ),
    }
    out = []
    for party, (no_address, not_sent) in said.items():
        if party not in composed:
            out.append(no_address)
        elif party not in reached:
            out.append(not_sent)
    return out


# --- strategy --------------------------------------------------------------------------------


def parse_weight(text: str) -> float:
    """A weight as typed: ``0.2``, or ``0,2`` with one decimal comma (as German pages write it)."""
    text = text.strip()
    if text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    return float(text)


def _read_weights() -> tuple[dict[str, Any], dict[str, float], dict[str, str]]:
    raw = {key: request.form.get(f"w_{key}", "").strip() for key in FIELD_KEYS}
    weights: dict[str, float] = {}
    errors: dict[str, str] = {}
    for key, text in raw.items():
        try:
            weights[key] = parse_weight(text)
        except ValueError:
            errors[f"w_{key}"] = gettext(
                "Enter a number from 0 to 1 for “%(field)s”, e.g. %(example)s.",
                field=field_label(key, current_language()),
                example=format_decimal(0.2),
            )
    try:
        StrategyIn.model_validate({"weights": weights})  # the API's rules for a weight
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            key = str(err["loc"][1]) if len(err["loc"]) > 1 else ""
            errors[f"w_{key}"] = error_text(err["type"], err["msg"])
            weights.pop(key, None)
    return raw, weights, errors


def _strategy_page(
    values: dict[str, Any],
    errors: dict[str, str],
    preview: dict[str, Any] | None = None,
    note: str = "",
    status: int = 200,
    preview_unavailable: bool = False,
) -> Any:
    db = get_session()
    now = strategy.current(db)
    history = strategy.history(db)
    return render_template(
        "office/strategy.html",
        current=now,
        history=history,
        values=values,
        errors=errors,
        preview=preview,
        note=note,
        preview_unavailable=preview_unavailable,
    ), status


@bp.route("/strategy", methods=["GET", "POST"], endpoint="strategy")
@roles_required(*OFFICE_ROLES)
def strategy_page() -> Any:
    """Edit the weights; "Preview" shows which groups would enter or leave each challenge's top
    k (the proposals a matching run makes), "Save" adds a version."""
    db = get_session()
    if request.method == "GET":
        now = strategy.current(db)
        return _strategy_page(
            {f"w_{k}": format_decimal(float(now.weights.get(k, 1.0))) for k in FIELD_KEYS}, {}
        )
    raw, weights, errors = _read_weights()
    values = {f"w_{k}": v for k, v in raw.items()}
    note = request.form.get("note", "")
    checked, schema_errors = validate_form(StrategyIn, {"weights": weights, "note": note})
    errors.update({k: v for k, v in schema_errors.items() if k != "weights"})
    if errors or checked is None:
        return _strategy_page(values, errors, note=note, status=422)
    if request.form.get("action") == "save":
        strategy.set_weights(db, me(), checked.weights, checked.note)
        flash(gettext("Strategy saved as a new version."), "success")
        return redirect(url_for("office.strategy"))
    rows: dict[str, Any] = {"changed": [], "unchanged": []}
    unavailable = False
    k = current_app.extensions["matchmaker.settings"].proposals_per_challenge
    try:
        rows = matching_pages.strategy_changes(db, checked.weights, k=k)
    except Exception:
        current_app.logger.exception("strategy preview failed")
        unavailable = True
    db.rollback()  # a preview never writes
    return _strategy_page(values, {}, preview=rows, note=note, preview_unavailable=unavailable)


# --- matching runs ---------------------------------------------------------------------------


@bp.route("/matching", methods=["GET", "POST"])
@roles_required(*OFFICE_ROLES)
def matching() -> Any:
    """Start a portfolio matching run and see the recent ones."""
    db = get_session()
    settings = current_app.extensions["matchmaker.settings"]
    values = {
        "k": str(settings.proposals_per_challenge),
        "max_per_institution": str(settings.max_groups_per_institution),
    }
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        values = {name: request.form.get(name, "").strip() for name in ("k", "max_per_institution")}
        checked, errors = validate_form(RunIn, values)
        if checked is not None:
            run = matching_pages.start_run(
                db,
                me(),
                k=checked.k or settings.proposals_per_challenge,
                max_per_institution=checked.max_per_institution
                or settings.max_groups_per_institution,
            )
            return redirect(url_for("office.run", run_id=run.id))
        status = 422
    runs = db.scalars(select(MatchingRun).order_by(MatchingRun.id.desc()).limit(10)).all()
    return render_template("office/matching.html", runs=runs, values=values, errors=errors), status


@bp.get("/matching/runs/<int:run_id>")
@roles_required(*OFFICE_ROLES)
def run(run_id: int) -> Any:
    item = get_session().get(MatchingRun, run_id)
    if item is None:
        raise Problem(404, "Not found", f"Matching run {run_id} does not exist.")
    from matchmaker.matching.runs import run_out

    return render_template("office/run.html", run=item, shown=run_out(item))
