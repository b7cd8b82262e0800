"""Matching through the API on a small real world: ranked, explained, respecting roles."""

from __future__ import annotations

import pytest

from matchmaker.db import session_scope
from tests import factories
from tests.factories import challenge_body

GROUPS = [
    (
        "Thermal Process Engineering",
        "High-temperature heat pumps lift industrial waste heat to process "
        "steam and district heating temperatures.",
        ["energy_efficiency", "sector_coupling"],
        3,
        7,
        2,
        "Heat pumps for steam generation from waste heat",
    ),
    (
        "Battery Systems Lab",
        "We test lithium-ion battery cells, ageing and battery storage for grids.",
        ["smart_grids"],
        2,
        6,
        2,
        "Ageing of lithium-ion cells under fast charging",
    ),
    (
        "Urban Mobility Group",
        "Electric bus fleets, charging schedules and traffic simulation for cities.",
        ["smart_mobility"],
        3,
        8,
        1,
        "Scheduling depot charging of electric buses",
    ),
    (
        "Building Automation Lab",
        "Model predictive control of HVAC in office buildings.",
        ["smart_buildings", "ai_digitisation"],
        4,
        8,
        0,
        "MPC for office HVAC",
    ),
]


@pytest.fixture
def matched_world(world):
    with session_scope(world.app) as s:
        for name, caps, fields, lo, hi, cap, pub in GROUPS:
            s.add(
                factories.build_research_group(
                    institution_id=world.institution_id,
                    name=name,
                    head="",
                    capabilities=caps,
                    methods="",
                    keywords=[],
                    fields=fields,
                    trl_min=lo,
                    trl_max=hi,
                    capacity=cap,
                    contact="",
                    publications=[{"title": pub, "abstract": ""}],
                )
            )
    from matchmaker.matching import index_state

    with session_scope(world.app) as s:
        index_state.bump(s)
    r = world.company_a.post("/api/v1/challenges", challenge_body())
    world.challenge_id = r.json["id"]
    r = world.company_b.post(
        "/api/v1/challenges",
        challenge_body(
            title="Charging our electric truck fleet",
            summary="We run 60 electric trucks in the port and need "
            "smart charging schedules so the depot stays within its grid connection.",
            fields=["smart_mobility"],
        ),
    )
    world.truck_id = r.json["id"]
    return world


def test_groups_for_a_challenge_are_ranked_with_evidence(matched_world) -> None:
    w = matched_world
    r = w.company_a.get(f"/api/v1/challenges/{w.challenge_id}/matches?top=3")
    assert r.status_code == 200, r.json
    items = r.json["items"]
    assert [i["rank"] for i in items] == [1, 2, 3]
    assert items[0]["group"] == "Thermal Process Engineering"
    assert items[0]["score"] >= items[1]["score"] >= items[2]["score"]
    assert set(items[0]["components"]) == {
        "semantic",
        "lexical",
        "fields",
        "strategy",
        "trl",
        "capacity",
    }
    pair = items[0]["evidence"]["pairs"][0]
    assert pair["similarity"] > 0.3 and pair["query"] and pair["candidate"]
    # Scores of one query are comparable: the same call again gives the same numbers.
    again = w.company_a.get(f"/api/v1/challenges/{w.challenge_id}/matches?top=3").json["items"]
    assert [i["score"] for i in again] == [i["score"] for i in items]


def test_challenges_for_a_group_show_public_text_only(matched_world) -> None:
    w = matched_world
    r = w.office.get(f"/api/v1/groups/{w.group_id}/matches")
    assert r.status_code == 200
    body = r.get_data(as_text=True)
    assert "Site Peute" not in body  # the confidential details never reach matches or evidence
    assert {i["challenge_id"] for i in r.json["items"]} == {w.challenge_id, w.truck_id}
    assert w.group.get(f"/api/v1/groups/{w.group_id}/matches").status_code == 200
    assert "Site Peute" not in w.group.get(f"/api/v1/groups/{w.group_id}/matches").get_data(
        as_text=True
    )


def test_match_roles(matched_world) -> None:
    w = matched_world
    assert w.company_b.get(f"/api/v1/challenges/{w.challenge_id}/matches").status_code == 404
    assert w.group.get(f"/api/v1/challenges/{w.challenge_id}/matches").status_code == 403
    assert w.company_a.get(f"/api/v1/groups/{w.group_id}/matches").status_code == 403
    assert w.anonymous.get(f"/api/v1/groups/{w.group_id}/matches").status_code == 401


def test_excluded_pair_never_appears(matched_world) -> None:
    w = matched_world
    top = w.office.get(f"/api/v1/challenges/{w.challenge_id}/matches").json["items"][0]
    r = w.office.post(
        "/api/v1/exclusions",
        {
            "challenge_id": w.challenge_id,
            "group_id": top["group_id"],
            "reason": "already collaborating",
        },
    )
    assert r.status_code == 201
    ids = [
        i["group_id"]
        for i in w.office.get(f"/api/v1/challenges/{w.challenge_id}/matches").json["items"]
    ]
    assert top["group_id"] not in ids


def test_a_new_group_is_found_after_the_index_changes(matched_world) -> None:
    w = matched_world
    matcher = w.app.extensions["matchmaker.matcher"]
    w.office.get(f"/api/v1/challenges/{w.truck_id}/matches")
    r = w.office.post(
        "/api/v1/groups",
        {
            "name": "Port Logistics Electrification",
            "institution_id": w.institution_id,
            "capabilities": "Smart charging of electric trucks and depot energy management in ports.",
            "fields": ["smart_mobility"],
            "trl_min": 4,
            "trl_max": 8,
            "capacity": 3,
        },
    )
    assert r.status_code == 201
    matcher._checked_at = 0.0  # skip the 2-second re-check interval
    top = w.office.get(f"/api/v1/challenges/{w.truck_id}/matches").json["items"][0]
    assert top["group"] == "Port Logistics Electrification"


@pytest.mark.committed  # a matching run (its heartbeat thread)
def test_portfolio_run_creates_proposals_within_constraints(matched_world) -> None:
    w = matched_world
    r = w.office.post("/api/v1/matching/runs", {"k": 2, "max_per_institution": 5, "wait": True})
    assert r.status_code == 202, r.json
    run = w.office.get(f"/api/v1/matching/runs/{r.json['id']}").json
    assert run["status"] == "finished", run
    assert run["summary"]["challenges"] == 2 and run["summary"]["proposals"] == 4
    queue = w.office.get("/api/v1/proposals").json
    assert queue["total"] == 4
    scores = [p["score"] for p in queue["items"]]
    assert scores == sorted(scores, reverse=True)
    names = [p["group"] for p in queue["items"]]
    assert "Building Automation Lab" not in names  # capacity 0
    per_group: dict[str, int] = {}
    for n in names:
        per_group[n] = per_group.get(n, 0) + 1
    assert per_group.get("Urban Mobility Group", 0) <= 1  # capacity 1
    first = queue["items"][0]
    assert (
        first["evidence"]["pairs"]
        and first["strategy_version"] == 1
        and first["scorer"] == "formula"
    )
    # The run is repeatable: the same proposals again.
    w.office.post("/api/v1/matching/runs", {"k": 2, "max_per_institution": 5, "wait": True})
    again = w.office.get("/api/v1/proposals").json
    assert [(p["challenge_id"], p["group_id"]) for p in again["items"]] == [
        (p["challenge_id"], p["group_id"]) for p in queue["items"]
    ]
    # Only the office runs matching.
    assert w.company_a.post("/api/v1/matching/runs", {"k": 2}).status_code == 403


def test_similar_challenges_while_typing(matched_world) -> None:
    w = matched_world
    r = w.office.get("/api/v1/challenges/similar?text=waste heat recovery from our furnace")
    assert r.status_code == 200
    assert r.json["items"][0]["challenge_id"] == w.challenge_id
    own = w.company_b.get(
        "/api/v1/challenges/similar?text=waste heat recovery from our furnace"
    ).json
    assert all(i["challenge_id"] != w.challenge_id for i in own["items"])
