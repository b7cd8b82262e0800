"""Every free text refuses NUL and control characters (newlines and tabs are text), and titles
and names refuse the bidirectional controls that make text read other than it is stored."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests import factories
from tests.factories import challenge_body, group_body
from tests.security.conftest import Site

CONTROLS = ["\x00", "\x07", "\x1b", "\x7f", "\x0b"]
BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"]


def _problem(response: Any, field: str, words: str) -> None:
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/problem+json"
    fields = {e["field"]: e["message"] for e in response.json["errors"]}
    assert field in fields, fields
    assert words in fields[field], fields


def _proposal(site: Site) -> int:
    cid = site.api("company_a").post("/api/v1/challenges", challenge_body()).json["id"]
    return factories.proposal(site.app, challenge_id=cid, group_id=site.group_id, score=0.6)


@pytest.mark.parametrize("char", CONTROLS)
def test_decision_notes_refuse_control_characters(site: Site, char: str) -> None:
    pid = _proposal(site)
    office = site.api("office")
    body = {"to_status": "shortlisted", "reason_code": "good_fit", "note": f"call{char}back"}
    _problem(office.post(f"/api/v1/proposals/{pid}/decisions", body), "note", "control characters")
    assert office.get(f"/api/v1/proposals/{pid}/decisions").json["items"] == []
    body["note"] = "Line one\n\tindented line two"
    assert office.post(f"/api/v1/proposals/{pid}/decisions", body).status_code == 201


@pytest.mark.parametrize("char", CONTROLS)
def test_exclusion_reasons_and_strategy_notes_refuse_control_characters(
    site: Site, char: str
) -> None:
    pid = _proposal(site)
    office = site.api("office")
    cid = office.get(f"/api/v1/proposals/{pid}").json["challenge_id"]
    exclusion = {"challenge_id": cid, "group_id": site.group_id, "reason": f"board{char}member"}
    _problem(office.post("/api/v1/exclusions", exclusion), "reason", "control characters")
    exclusion["reason"] = "Board member\tof the company"
    assert office.post("/api/v1/exclusions", exclusion).status_code == 201
    strategy = {"weights": {"smart_grids": 0.5}, "note": f"Senate{char}memo"}
    _problem(office.put("/api/v1/strategy", strategy), "note", "control characters")
    assert office.get("/api/v1/strategy").json["version"] == 1
    strategy["note"] = "Senate memo\nof March"
    assert office.put("/api/v1/strategy", strategy).status_code == 200


@pytest.mark.parametrize("char", CONTROLS + BIDI)
def test_imported_institution_names_and_keys_refuse_controls(site: Site, char: str) -> None:
    row = {
        **group_body(),
        "key": "grp-1",
        "institution": f"Hochschule{char}Bergedorf",
    }
    office = site.api("office")
    response = office.post("/api/v1/imports", {"data": json.dumps(row) + "\n", "kind": "groups"})
    words = "bidirectional" if char in BIDI else "control characters"
    _problem(response, "data.line[1].institution", words)
    row["institution"], row["key"] = "Hochschule Bergedorf", f"grp{char}1"
    response = office.post("/api/v1/imports", {"data": json.dumps(row) + "\n", "kind": "groups"})
    _problem(response, "data.line[1].key", words)
    names = [o["name"] for o in office.get("/api/v1/organisations?per_page=100").json["items"]]
    assert not any("Bergedorf" in name for name in names)


@pytest.mark.parametrize("char", BIDI)
def test_titles_and_names_refuse_bidirectional_controls(site: Site, char: str) -> None:
    company, group, office = site.api("company_a"), site.api("group"), site.api("office")
    title = f"Heat pump {char}gnp.exe"
    _problem(
        company.post("/api/v1/challenges", challenge_body(title=title)), "title", "bidirectional"
    )
    _problem(
        group.patch(f"/api/v1/groups/{site.group_id}", {"name": title}), "name", "bidirectional"
    )
    _problem(
        group.post(f"/api/v1/groups/{site.group_id}/publications", {"title": title}),
        "title",
        "bidirectional",
    )
    _problem(
        office.post("/api/v1/organisations", {"name": title, "kind": "company"}),
        "name",
        "bidirectional",
    )
    assert company.get("/api/v1/challenges").json["total"] == 0


def test_right_to_left_text_itself_is_welcome(site: Site) -> None:
    body = challenge_body(title="Abwärme für مصنع النحاس und קו 3", summary="Text\u200fmit RLM")
    assert site.api("company_a").post("/api/v1/challenges", body).status_code == 201


def test_pages_name_the_field_in_the_page_language(site: Site) -> None:
    pid = _proposal(site)
    office = site.browser("office")
    response = office.post(
        f"/office/proposals/{pid}/decide",
        {"to_status": "shortlisted", "reason_code": "good_fit", "note": "a\x00b"},
        form_url=f"/office/proposals/{pid}",
    )
    assert response.status_code == 422
    assert "Entfernen Sie die Steuerzeichen." in response.get_data(as_text=True)
    weights = {
        f"w_{k}": "1"
        for k in (
            "energy_efficiency",
            "smart_grids",
            "smart_mobility",
            "smart_buildings",
            "sector_coupling",
            "ai_digitisation",
        )
    }
    response = office.post("/office/strategy", {**weights, "note": "memo\x1b", "action": "save"})
    assert response.status_code == 422
    assert "Entfernen Sie die Steuerzeichen." in response.get_data(as_text=True)
    company = site.browser("company_a")
    form = {k: str(v) for k, v in challenge_body(title="Heat \u202epump").items() if k != "fields"}
    form["fields"] = ["energy_efficiency"]
    response = company.post("/challenges/new", form)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="title-error"' in html
    assert "Entfernen Sie die Steuerzeichen für die Textrichtung." in html
