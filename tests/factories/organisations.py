"""Organisations: companies and research institutions."""

from __future__ import annotations

from itertools import count

from flask import Flask

from matchmaker.db import session_scope
from matchmaker.organisations.models import Organisation, OrganisationKind

_numbers = count(1)


def organisation(app: Flask, name: str | None = None, kind: str = "company") -> int:
    """Create an organisation in Hamburg and return its id (a numbered name unless given)."""
    if name is None:
        label = "Company" if kind == "company" else "Institution"
        name = f"{label} {next(_numbers)}"
    with session_scope(app) as s:
        org = Organisation(name=name, kind=OrganisationKind(kind), city="Hamburg", website="")
        s.add(org)
        s.flush()
        return org.id
