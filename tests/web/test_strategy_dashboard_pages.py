"""Office strategy (weights, preview, history) and the dashboard with CSV downloads."""

from __future__ import annotations

import csv
import io

from matchmaker.fields import FIELD_KEYS
from tests.web.conftest import add_proposal, post_challenge


def _weights(**overrides: str) -> dict[str, str]:
    form = {f"w_{k}": "1" for k in FIELD_KEYS}
    form.update({f"w_{k}": v for k, v in overrides.items()})
    return form


def test_strategy_preview_saves_nothing_and_save_adds_a_version(world) -> None:
    post_challenge(world)
    office = world.browser("office@hamburg.example")
    html = office.text("/office/strategy")
    assert "Version 1" in html and 'name="w_sector_coupling"' in html
    response = office.post(
        "/office/strategy",
        {**_weights(sector_coupling="0.2"), "action": "preview", "note": "Focus"},
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Vorschau: die besten Vorschläge" in html and "Thermal Lab" in html
    assert 'value="0.2"' in html
    assert "Version 2" not in html  # a preview saves nothing
    response = office.post(
        "/office/strategy",
        {**_weights(sector_coupling="0.2"), "action": "save", "note": "Senate focus"},
    )
    assert response.status_code == 302
    html = office.text("/office/strategy")
    assert "Version 2" in html and "Senate focus" in html
    assert office.get("/api/v1/strategy").json["weights"]["sector_coupling"] == 0.2


def test_strategy_rejects_weights_outside_0_to_1_beside_the_field(world) -> None:
    office = world.browser("office@hamburg.example")
    response = office.post(
        "/office/strategy",
        {**_weights(smart_grids="1.5", energy_efficiency="abc"), "action": "save"},
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="w_smart_grids-error">Muss zwischen 0 und 1 liegen.' in html
    assert 'id="w_energy_efficiency-error"' in html and 'value="1.5"' in html
    assert "Version 2" not in office.text("/office/strategy")


def test_dashboard_charts_and_csv(world) -> None:
    cid = post_challenge(world)
    other = post_challenge(
        world,
        "b@stahl.example",
        title="Demand response",
        fields=["smart_grids"],
        co2_saving_t="3000",
    )
    add_proposal(world.app, cid, world.group_id, status="collaboration")
    add_proposal(world.app, other, world.other_group_id, status="introduced")
    office = world.browser("office@hamburg.example")
    html = office.text("/office/dashboard")
    for title in (
        "Vorschläge und Kooperationen je Handlungsfeld",
        "Pipeline-Trichter",
        "CO₂-Einsparung in der Pipeline",
        "Auslastung je Einrichtung",
    ):
        assert title in html
    assert html.count("<svg") >= 10 and "75.000" in html
    response = office.get("/office/dashboard/co2.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][0] == "Herausforderungen"
    # Each challenge once, at the furthest stage of its proposals (issue 15: honest figures).
    assert [r[0] for r in rows[1:]] == [
        "Kooperation",
        "Im Gespräch",
        "Vorgestellt",
        "Vorgeschlagen, noch nicht vorgestellt",
    ]
    assert [r[1] for r in rows[1:]] == ["12000.0", "0.0", "3000.0", "0.0"]
    funnel = list(
        csv.reader(
            io.StringIO(
                office.get("/office/dashboard/funnel.csv").get_data(as_text=True).lstrip("\ufeff")
            )
        )
    )
    assert [int(r[1]) for r in funnel[1:]] == [2, 2, 2, 1, 1, 0]
    load = list(
        csv.reader(
            io.StringIO(
                office.get("/office/dashboard/load.csv").get_data(as_text=True).lstrip("\ufeff")
            )
        )
    )
    assert load[1][:4] == ["Hochschule Altona", "2", "2", "3"]
    fields = list(
        csv.reader(
            io.StringIO(
                office.get("/office/dashboard/fields.csv").get_data(as_text=True).lstrip("\ufeff")
            )
        )
    )
    assert fields[1] == ["Energieeffizienz", "1", "1"]
    assert office.get("/office/dashboard/nope.csv").status_code == 404


def _load_rows(office) -> dict[str, list[str]]:
    text = office.get("/office/dashboard/load.csv").get_data(as_text=True).lstrip("\ufeff")
    return {row[0]: row for row in list(csv.reader(io.StringIO(text)))[1:]}


def test_an_institution_whose_open_proposals_fill_its_capacity_has_no_room(world) -> None:
    office = world.browser("office@hamburg.example")
    challenges = [
        post_challenge(world, title=f"Heat recovery line {n}", co2_saving_t="1000")
        for n in range(4)
    ]
    # Hochschule Altona's groups have three places; three open proposals fill them.
    for cid in challenges[:3]:
        add_proposal(world.app, cid, world.group_id, status="proposed")
    row = _load_rows(office)["Hochschule Altona"]
    assert row[1:4] == ["3", "0", "3"] and row[4] == "voll"
    add_proposal(world.app, challenges[3], world.other_group_id, status="proposed")
    row = _load_rows(office)["Hochschule Altona"]
    assert row[1:4] == ["4", "0", "3"] and row[4] == "mehr Vorschläge als Plätze"


def test_co2_counts_a_challenge_once_and_only_introduced_ones_against_the_target(world) -> None:
    office = world.browser("office@hamburg.example")
    both = post_challenge(world, title="Heat recovery at the smelter", co2_saving_t="5000")
    proposed_only = post_challenge(world, title="Unreviewed idea", co2_saving_t="90000")
    add_proposal(world.app, both, world.group_id, status="introduced")
    add_proposal(world.app, both, world.other_group_id, status="proposed")
    add_proposal(world.app, proposed_only, world.group_id, status="proposed")
    text = office.get("/office/dashboard/co2.csv").get_data(as_text=True).lstrip("\ufeff")
    rows = {r[0]: r for r in list(csv.reader(io.StringIO(text)))[1:]}
    assert rows["Vorgestellt"][1:] == ["5000.0", "75000.0", "6.7"]
    # 90,000 t of proposals nobody has reviewed are shown, but not as a share of the target.
    assert rows["Vorgeschlagen, noch nicht vorgestellt"][1:] == ["90000.0", "", ""]
    assert "120,0 %" not in office.text("/office/dashboard")
