"""Editing a publication of the group's profile on its publications page: title, abstract,
year, DOI, authors and language, with the errors beside the fields of that publication."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from flask_babel import gettext

from matchmaker.accounts.models import Role
from matchmaker.db import get_session
from matchmaker.errors import DomainError
from matchmaker.groups import service as groups
from matchmaker.groups.models import Publication
from matchmaker.groups.schemas import PublicationPatch
from matchmaker.web import helpers
from matchmaker.web.group import (
    _publications_page,
    authors_from_form,
    own_publication,
    to_publications,
    with_year_message,
)

bp = Blueprint("publication", __name__, url_prefix="/group/publications")
helpers.page_errors(bp)

#: The edit form's fields; on the page each is named ``<field>-<publication id>``, as several
#: publications (each with its form) share the page.
EDIT_FIELDS = ("title", "abstract", "year", "doi", "authors", "language")


def form_name(name: str, publication_id: int) -> str:
    """The name (and id) of a field of one publication's edit form."""
    return f"{name}-{publication_id}"


@bp.app_template_global("publication_edit_values")
def edit_values(pub: Publication) -> dict[str, str]:
    """A stored publication as its edit form shows it (keys: the form's field names)."""
    values = {
        "title": pub.title,
        "abstract": pub.abstract,
        "year": "" if pub.year is None else str(pub.year),
        "doi": pub.doi,
        "authors": "\n".join(pub.authors),
        "language": helpers.language_form_value(pub.language, pub.language_confirmed),
    }
    return {form_name(k, pub.id): v for k, v in values.items()}


@bp.post("/<int:publication_id>/edit")
@helpers.roles_required(Role.GROUP)
def edit(publication_id: int) -> Any:
    """Save a publication's edit form; bad input comes back beside its field, input kept.

    Every member is sent: an empty abstract, year or DOI clears it, an empty language asks for
    it to be detected again, no authors removes them.
    """
    group, pub = own_publication(publication_id)
    sent = {name: request.form.get(form_name(name, pub.id), "") for name in EDIT_FIELDS}
    data = helpers.blank_to_none(sent, "abstract", "year", "doi", "language")
    data["authors"] = authors_from_form(sent["authors"])
    patch, errors = helpers.validate_form(PublicationPatch, data)
    db = get_session()
    if patch is not None:
        try:
            groups.update_publication(db, helpers.me(), group, pub, patch)
        except DomainError as exc:
            errors = helpers.form_errors(exc)
    if errors:
        db.rollback()
        errors = with_year_message(errors, sent["year"])
        named = {(form_name(k, pub.id) if k in EDIT_FIELDS else k): v for k, v in errors.items()}
        values = {form_name(k, pub.id): v for k, v in sent.items()}
        return _publications_page(
            group, edit={"id": pub.id, "values": values, "errors": named}, status=422
        )
    return to_publications(
        gettext("Your changes to “%(title)s” were saved.", title=pub.title), f"publication-{pub.id}"
    )
