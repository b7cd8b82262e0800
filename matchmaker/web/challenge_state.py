"""Closing, archiving and reopening a challenge from its page.

Closing (status ``closed``) ends its matching while it stays visible; archiving takes it out of
the lists and matching. Both are asked for once more on a confirmation page, which needs no
script. The owning company and the office do it, through the same service calls (and so the
same audit entries) as ``PATCH`` and ``DELETE /api/v1/challenges/{id}``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from matchmaker.accounts.models import COMPANY_ROLES
from matchmaker.api.problems import Problem
from matchmaker.challenges import service as challenges
from matchmaker.challenges.models import Challenge, ChallengeStatus
from matchmaker.challenges.schemas import ChallengePatch
from matchmaker.db import get_session
from matchmaker.web.helpers import me, page_errors, roles_required

bp = Blueprint("challenge_state", __name__)
page_errors(bp)

#: Statuses a challenge is closed from: a draft was never matched (archive it instead).
CLOSABLE = frozenset({ChallengeStatus.OPEN, ChallengeStatus.MATCHED})


def may_close(challenge: Challenge) -> bool:
    return challenge.archived_at is None and challenge.status in CLOSABLE


def may_reopen(challenge: Challenge) -> bool:
    return challenge.archived_at is None and challenge.status == ChallengeStatus.CLOSED


def may_archive(challenge: Challenge) -> bool:
    return challenge.archived_at is None


RULES = {"close": may_close, "archive": may_archive, "reopen": may_reopen}


def _editable(challenge_id: int) -> Challenge:
    user = me()
    item = challenges.get_visible(get_session(), user, challenge_id)
    if not challenges.may_edit(user, item):
        raise Problem(
            403, "Forbidden", "Only the company that posted this challenge and the office edit it."
        )
    return item


def _not_now(item: Challenge, action: str) -> Any:
    messages = {
        "close": gettext("Only an open or matched challenge can be closed."),
        "archive": gettext("This challenge is archived already."),
        "reopen": gettext("Only a closed challenge that is not archived can be reopened."),
    }
    flash(messages[action], "warning")
    return redirect(url_for("company.challenge", challenge_id=item.id))


def _confirm_or_do(challenge_id: int, action: str) -> Any:
    item = _editable(challenge_id)
    if not RULES[action](item):
        return _not_now(item, action)
    if request.method == "GET" or request.form.get("confirm") != "yes":
        return render_template("company/challenge_confirm.html", challenge=item, action=action)
    db = get_session()
    if action == "close":
        challenges.update_challenge(
            db, me(), item, ChallengePatch.model_validate({"status": ChallengeStatus.CLOSED})
        )
        message = gettext(
            "The challenge “%(title)s” is closed: it is no longer matched and stays visible.",
            title=item.title,
        )
    else:
        challenges.archive_challenge(db, me(), item)
        message = gettext(
            "The challenge “%(title)s” is archived: it no longer appears in lists nor in matching.",
            title=item.title,
        )
    flash(message, "success")
    return redirect(url_for("company.challenge", challenge_id=item.id))


@bp.route("/challenges/<int:challenge_id>/close", methods=["GET", "POST"])
@roles_required(*COMPANY_ROLES)
def close(challenge_id: int) -> Any:
    """Close a challenge, after the confirmation page."""
    return _confirm_or_do(challenge_id, "close")


@bp.route("/challenges/<int:challenge_id>/archive", methods=["GET", "POST"])
@roles_required(*COMPANY_ROLES)
def archive(challenge_id: int) -> Any:
    """Archive a challenge, after the confirmation page."""
    return _confirm_or_do(challenge_id, "archive")


@bp.post("/challenges/<int:challenge_id>/reopen")
@roles_required(*COMPANY_ROLES)
def reopen(challenge_id: int) -> Any:
    """Open a closed challenge again: it is matched again (nothing is lost, so no question)."""
    item = _editable(challenge_id)
    if not may_reopen(item):
        return _not_now(item, "reopen")
    db = get_session()
    challenges.update_challenge(
        db, me(), item, ChallengePatch.model_validate({"status": ChallengeStatus.OPEN})
    )
    flash(
        gettext("The challenge “%(title)s” is open again and will be matched.", title=item.title),
        "success",
    )
    return redirect(url_for("company.challenge", challenge_id=item.id))
