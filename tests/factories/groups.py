"""Research groups: the API body, and rows made through the ORM."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import Flask

from matchmaker.db import session_scope
from matchmaker.groups.models import Publication, ResearchGroup
from tests.factories.organisations import organisation


def group_body(**overrides: Any) -> dict[str, Any]:
    """A complete, valid group for ``POST /api/v1/groups``."""
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


def build_research_group(
    *, institution_id: int, publications: Sequence[dict[str, Any]] = (), **overrides: Any
) -> ResearchGroup:
    """An unsaved group of ``institution_id`` (the Thermal Lab unless overridden), with
    ``publications`` given as column values; for tests that add it to their own session."""
    values: dict[str, Any] = {
        "name": "Thermal Lab",
        "head": "Prof. Dr. Jana Petersen",
        "capabilities": "We design high-temperature heat pumps for industrial waste heat.",
        "methods": "Heat pump test rig up to 200 °C.",
        "keywords": ["heat pumps"],
        "fields": ["energy_efficiency"],
        "trl_min": 3,
        "trl_max": 7,
        "capacity": 2,
        "contact": "lab@hs.example",
    }
    values.update(overrides)
    group = ResearchGroup(institution_id=institution_id, **values)
    for publication in publications:
        group.publications.append(Publication(**publication))
    return group


def research_group(app: Flask, *, institution_id: int | None = None, **overrides: Any) -> int:
    """Create a group (see ``build_research_group``) and return its id; without
    ``institution_id`` a new institution is made for it."""
    if institution_id is None:
        institution_id = organisation(app, kind="institution")
    with session_scope(app) as s:
        group = build_research_group(institution_id=institution_id, **overrides)
        s.add(group)
        s.flush()
        return group.id
