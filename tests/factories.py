"""Test data per domain, made through the real services."""

from __future__ import annotations

from typing import Any

from flask import Flask

from matchmaker.accounts.models import Role
from matchmaker.accounts.service import create_user, issue_token
from matchmaker.db import session_scope
from matchmaker.organisations.models import Organisation, OrganisationKind


def organisation(app: Flask, name: str, kind: str = "company") -> int:
    with session_scope(app) as s:
        org = Organisation(name=name, kind=OrganisationKind(kind), city="Hamburg", website="")
        s.add(org)
        s.flush()
        return org.id


def user(app: Flask, email: str, role: str, organisation: str | None = None, **kw: Any) -> str:
    """Create a user and return an API token."""
    with session_scope(app) as s:
        u = create_user(s, email=email, role=Role(role), organisation=organisation, **kw)
        return issue_token(s, u)


def challenge_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Waste heat from the copper furnace into district heating",
        "summary": "Our smelter releases 40 MW of waste heat at 180 °C. We want to feed it into "
        "the district heating grid with a high-temperature heat pump.",
        "confidential": "Site Peute, line 3; investment approved up to 2.4 M EUR in Q3.",
        "fields": ["energy_efficiency", "sector_coupling"],
        "trl_now": 4,
        "trl_target": 7,
        "budget_band": "250k_1m",
        "deadline": "2027-06-30",
        "co2_saving_t": 12000,
        "status": "open",
    }
    body.update(overrides)
    return body


def group_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Thermal Process Engineering Lab",
        "head": "Prof. Dr. Jana Petersen",
        "capabilities": "We design high-temperature heat pumps and waste heat recovery for industry.",
        "methods": "Heat pump test rig up to 200 °C; process simulation.",
        "keywords": ["heat pumps", "waste heat"],
        "fields": ["energy_efficiency"],
        "trl_min": 3,
        "trl_max": 7,
        "capacity": 2,
        "contact": "petersen@uni.example",
        "publications": [
            {
                "title": "High-temperature heat pumps for process steam",
                "abstract": "We show ...",
                "year": 2024,
                "doi": "10.5555/hthp",
            }
        ],
    }
    body.update(overrides)
    return body
