"""Challenges as a company posts them to the API."""

from __future__ import annotations

from typing import Any


def challenge_body(**overrides: Any) -> dict[str, Any]:
    """A complete, valid challenge for ``POST /api/v1/challenges``."""
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
