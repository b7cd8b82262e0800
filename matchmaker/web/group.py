"""Research group pages: the profile, its publications (by hand or from BibTeX/RIS), and matches."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext, ngettext
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from matchmaker.accounts.models import Role
from matchmaker.challenges.models import Challenge
from matchmaker.db import get_session
from matchmaker.errors import DomainError
from matchmaker.groups import service as groups
from matchmaker.groups.models import Publication, ResearchGroup
from matchmaker.groups.schemas import (
    YEAR_MAX,
    YEAR_MIN,
    GroupIn,
    GroupPatch,
    PublicationIn,
    PublicationPatch,
)
from matchmaker.imports import bibtex
from matchmaker.matching.models import Proposal
from matchmaker.review import mails
from matchmaker.review import service as review
from matchmaker.web import matching
from matchmaker.web.helpers import (
    blank_to_none,
    form_errors,
    language_form_value,
    me,
    page_errors,
    roles_required,
    text_language_label,
    validate_form,
)
from matchmaker.web.party_forms import Forms, interest_states, party_context
from matchmaker.web.search import search_text

bp = Blueprint("group", __name__, url_prefix="/group")
page_errors(bp)

PROFILE_FIELDS = (
    "name",
    "head",
    "capabilities",
    "methods",
    "trl_min",
    "trl_max",
    "capacity",
    "contact",
    "language",
)
#: Optional form fields; an empty language is "detect automatically".
OPTIONAL = ("head", "methods", "contact", "language")
PUBLICATION_FIELDS = ("title", "abstract", "year", "doi", "authors", "language")
MATCHES_PER_PAGE = 10


def _own_group() -> ResearchGroup | None:
    user = me()
    if user.group_id is None:
        return None
    return groups.get_group(get_session(), user.group_id)


def _require_group() -> ResearchGroup:
    group = _own_group()
    if group is None:
        raise _NoProfile()
    return group


def own_publication(publication_id: int) -> tuple[ResearchGroup, Publication]:
    """The user's group and its publication ``publication_id`` (a 404 if it is not the group's)."""
    group = _require_group()
    return group, groups.get_publication(group, publication_id)


def to_publications(message: str, anchor: str | None = None) -> Any:
    """Back to the publications page (at ``anchor``), saying what was done."""
    flash(message, "success")
    return redirect(url_for("group.publications", _anchor=anchor))


class _NoProfile(Exception):
    """The group user has not registered a profile yet."""


@bp.errorhandler(_NoProfile)
def _no_profile(_exc: _NoProfile) -> Any:
    flash(gettext("Please register your group's profile first."), "info")
    return redirect(url_for("group.profile"))


def _keywords(text: str) -> list[str]:
    return [k.strip() for k in re.split(r"[,;\n]", text or "") if k.strip()]


def with_year_message(errors: dict[str, str], typed: str) -> dict[str, str]:
    """A whole number out of range for ``year`` says which years are allowed: "Muss mindestens
    1.900 sein" reads as an amount, not as a year."""
    if "year" in errors and typed.strip().lstrip("-").isdigit():
        message = gettext("Enter a year from %(min)s to %(max)s.", min=YEAR_MIN, max=YEAR_MAX)
        errors = {**errors, "year": message}
    return errors


def authors_from_form(text: str) -> list[str]:
    """The authors typed in a form: one name a line, or names separated by ``;`` (a name itself
    has a comma: "Petersen, Jana")."""
    return [a.strip() for a in re.split(r"[;\n]", text or "") if a.strip()]


def _profile_values(group: ResearchGroup | None) -> dict[str, Any]:
    if group is None:
        return {
            "fields": [],
            "trl_min": "3",
            "trl_max": "6",
            "capacity": "1",
            "language": "",
            "contact": me().email,
        }
    return {
        "name": group.name,
        "head": group.head,
        "capabilities": group.capabilities,
        "methods": group.methods,
        "keywords": ", ".join(group.keywords),
        "fields": list(group.fields),
        "trl_min": str(group.trl_min),
        "trl_max": str(group.trl_max),
        "capacity": str(group.capacity),
        "contact": group.contact,
        "language": language_form_value(group.language, group.language_confirmed),
    }


def _profile_form(
    group: ResearchGroup | None, values: dict[str, Any], errors: dict[str, str]
) -> Any:
    return render_template("group/profile.html", group=group, values=values, errors=errors), (
        422 if errors else 200
    )


@bp.route("/profile", methods=["GET", "POST"])
@roles_required(Role.GROUP)
def profile() -> Any:
    """Register or edit the group's profile."""
    group = _own_group()
    if request.method == "GET":
        return _profile_form(group, _profile_values(group), {})
    values: dict[str, Any] = {name: request.form.get(name, "") for name in PROFILE_FIELDS}
    values["fields"] = request.form.getlist("fields")
    values["keywords"] = request.form.get("keywords", "")
    data = blank_to_none(values, *OPTIONAL)
    data["keywords"] = _keywords(values["keywords"])
    checked, errors = validate_form(GroupIn, data)
    if checked is None:
        return _profile_form(group, values, errors)
    db = get_session()
    try:
        if group is None:
            group = groups.create_group(db, me(), checked)
        else:
            patch = GroupPatch.model_validate(
                checked.model_dump(exclude={"institution_id", "publications"})
            )
            groups.update_group(db, me(), group, patch)
    except DomainError as exc:
        db.rollback()
        return _profile_form(group, values, form_errors(exc))
    flash(gettext("Your profile was saved."), "success")
    return redirect(url_for("group.profile"))


def _publications_page(
    group: ResearchGroup,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    bib_text: str = "",
    bib_error: str = "",
    status: int = 200,
    edit: dict[str, Any] | None = None,
) -> Any:
    """The page; ``edit`` is a publication's edit form sent back with errors (``id``,
    ``values`` and ``errors`` by the form's field names)."""
    return render_template(
        "group/publications.html",
        group=group,
        values=values or {"language": ""},  # a new publication: detect automatically
        errors=errors or {},
        bib_text=bib_text,
        bib_error=bib_error,
        edit=edit,
    ), status


@bp.get("/publications")
@roles_required(Role.GROUP)
def publications() -> Any:
    return _publications_page(_require_group())


@bp.post("/publications/add")
@roles_required(Role.GROUP)
def add_publication() -> Any:
    """Add one publication typed by hand."""
    group = _require_group()
    values = {name: request.form.get(name, "") for name in PUBLICATION_FIELDS}
    data, errors = validate_form(
        PublicationIn,
        {
            **blank_to_none(values, "abstract", "year", "doi", "language"),
            "authors": authors_from_form(values["authors"]),
        },
    )
    errors = with_year_message(errors, values["year"])
    if data is None:
        return _publications_page(group, values=values, errors=errors, status=422)
    db = get_session()
    groups.add_publication(db, me(), group, data)
    return to_publications(gettext("The publication was added."))


@bp.post("/publications/<int:publication_id>/language")
@roles_required(Role.GROUP)
def publication_language(publication_id: int) -> Any:
    """Set a publication's language, or ask for it to be detected again (the empty choice)."""
    group, pub = own_publication(publication_id)
    db = get_session()
    # The select is named after the publication (several are on one page).
    chosen = request.form.get(f"language-{publication_id}", request.form.get("language", ""))
    patch, errors = validate_form(PublicationPatch, blank_to_none({"language": chosen}, "language"))
    if patch is None:
        return _publications_page(group, errors={"__all__": errors.get("language", "")}, status=422)
    groups.update_publication(db, me(), group, pub, patch)
    return to_publications(
        gettext(
            "The language of “%(title)s” is now %(language)s.",
            title=pub.title,
            language=text_language_label(pub.language),
        )
    )


@bp.post("/publications/<int:publication_id>/delete")
@roles_required(Role.GROUP)
def delete_publication(publication_id: int) -> Any:
    group, pub = own_publication(publication_id)
    db = get_session()
    title = pub.title
    groups.delete_publication(db, me(), group, pub)
    return to_publications(gettext("“%(title)s” was removed.", title=title))


@bp.post("/publications/import")
@roles_required(Role.GROUP)
def import_publications() -> Any:
    """Paste BibTeX or RIS: first a preview, then the import of the records the user kept."""
    group = _require_group()
    text = request.form.get("bib_text", "")
    if not text.strip():
        return _publications_page(
            group, bib_error=gettext("Paste the contents of a BibTeX or RIS file."), status=422
        )
    kind, entries = bibtex.parse(text)
    if not kind or not entries:
        unread = (
            gettext("This is neither BibTeX (@article{…}) nor RIS (TY  - …).")
            if not kind
            else gettext("No publications could be read from this text.")
        )
        return _publications_page(group, bib_text=text, status=422, bib_error=unread)
    if request.form.get("action") != "import":
        return render_template(
            "group/import_preview.html", group=group, kind=kind, entries=entries, bib_text=text
        )
    chosen = {int(i) for i in request.form.getlist("entry") if i.isdigit()}
    existing = {p.title.strip().lower() for p in group.publications}
    db = get_session()
    added = skipped = 0
    for index, entry in enumerate(entries):
        if index not in chosen or entry.publication is None:
            continue
        if entry.publication.title.strip().lower() in existing:
            skipped += 1
            continue
        groups.add_publication(db, me(), group, entry.publication)
        existing.add(entry.publication.title.strip().lower())
        added += 1
    message = ngettext("%(num)d publication imported.", "%(num)d publications imported.", added)
    if skipped:
        message += " " + ngettext(
            "%(num)d was already in your profile.", "%(num)d were already in your profile.", skipped
        )
    return to_publications(message)


@bp.get("/matches")
@roles_required(Role.GROUP)
def matches() -> Any:
    """Public summaries of the challenges that match the group, with the reasons: pages of
    :data:`MATCHES_PER_PAGE` (``page``), searched by title and summary (``q``)."""
    group = _own_group()
    if group is None:
        return redirect(url_for("group.profile"))
    return matches_page(group, search_text(request.args), request.args.get("page", 1, type=int))


def matches_page(
    group: ResearchGroup,
    q: str,
    page: int | None,
    forms: Forms | None = None,
    status: int = 200,
) -> Any:
    """A page of the group's matches, each with the group's interest form (``forms`` brings back
    a rejected one with its errors)."""
    page = min(max(1, page or 1), 10_000)
    rows: list[dict[str, Any]] = []
    total = 0
    unavailable = False
    try:
        rows, total = matching.group_matches(
            get_session(),
            group,
            top=MATCHES_PER_PAGE,
            offset=(page - 1) * MATCHES_PER_PAGE,
            q=q or None,
        )
    except Exception:
        current_app.logger.exception("matches for group %s failed", group.id)
        unavailable = True
    pages = max(1, -(-total // MATCHES_PER_PAGE))
    kept: dict[str, Any] = {"q": q} if q else {}
    return render_template(
        "group/matches.html",
        group=group,
        rows=rows,
        unavailable=unavailable,
        q=q,
        page=page,
        pages=pages,
        total=total,
        first=(page - 1) * MATCHES_PER_PAGE + 1,
        previous_url=url_for("group.matches", page=min(page, pages + 1) - 1, **kept)
        if page > 1
        else None,
        next_url=url_for("group.matches", page=page + 1, **kept) if page < pages else None,
        clear_search=url_for("group.matches"),
        interest=interest_states(get_session(), [(m["challenge_id"], group.id) for m in rows]),
        forms=forms or {},
    ), status


@bp.get("/introductions")
@roles_required(Role.GROUP)
def introductions() -> Any:
    """The challenges the office introduced the group to: status and the company's contact."""
    return introductions_page(_require_group())


def introductions_page(group: ResearchGroup, forms: Forms | None = None, status: int = 200) -> Any:
    """The group's introductions, each with its forms: the next step and the group's interest
    (``forms`` brings back a rejected one with its errors)."""
    db = get_session()
    rows = list(
        db.scalars(
            select(Proposal)
            .options(joinedload(Proposal.challenge).joinedload(Challenge.organisation))
            .where(review.visible_condition(me()), Proposal.group_id == group.id)
            .order_by(Proposal.updated_at.desc(), Proposal.id.desc())
        )
    )
    contacts = {p.id: mails.company_contact(db, p.challenge) for p in rows}
    return render_template(
        "group/introductions.html",
        group=group,
        rows=rows,
        contacts=contacts,
        **party_context(db, me(), rows, forms),
    ), status
