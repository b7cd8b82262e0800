"""Building blocks of the shared test world: two companies, an institution and one person per
role. The API, page and security worlds compose these with the group and accounts they need."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask

from tests.factories.accounts import user
from tests.factories.organisations import organisation

COMPANY_A = "Elbwerk Kupfer GmbH"
COMPANY_B = "Harburger Stahl AG"
INSTITUTION = "Hochschule Altona"
PASSWORD = "correct horse battery"

# role -> (email, role of the account, organisation)
PEOPLE: dict[str, tuple[str, str, str | None]] = {
    "company_a": ("a@elbwerk.example", "company", COMPANY_A),
    "company_b": ("b@stahl.example", "company", COMPANY_B),
    "group": ("lab@hs.example", "group", INSTITUTION),
    "office": ("office@hamburg.example", "office", None),
    "admin": ("admin@hamburg.example", "admin", None),
}


@dataclass(frozen=True)
class Organisations:
    """The ids of the world's two companies and its institution."""

    company_a_id: int
    company_b_id: int
    institution_id: int


def organisations(app: Flask) -> Organisations:
    """Create the two companies and the institution, in that order."""
    return Organisations(
        organisation(app, COMPANY_A),
        organisation(app, COMPANY_B),
        organisation(app, INSTITUTION, "institution"),
    )


def tokens(app: Flask, group_id: int, **kw: Any) -> dict[str, str]:
    """Create every person of ``PEOPLE`` (the group user in ``group_id``); their API tokens by
    role. ``kw`` goes to every account, e.g. ``password``."""
    return {
        role: user(
            app, email, kind, org, **kw, **({"group_id": group_id} if role == "group" else {})
        )
        for role, (email, kind, org) in PEOPLE.items()
    }
