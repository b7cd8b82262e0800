"""The strategy preview lists, per challenge, the groups that would enter or leave its top k,
and takes weights with a decimal comma on German pages (issue 15)."""

from __future__ import annotations

import dataclasses
import re

from matchmaker.db import session_scope
from matchmaker.fields import FIELD_KEYS
from matchmaker.groups.models import ResearchGroup
from matchmaker.matching import index_state
from tests.web.conftest import post_challenge

TEXT = (
    "Monitoring the degradation of alkaline electrolysis stacks with impedance spectroscopy "
    "and machine learning, to plan the maintenance of hydrogen plants."
)


def _weights(**overrides: str) -> dict[str, str]:
    form = {f"w_{k}": "1" for k in FIELD_KEYS}
    form.update({f"w_{k}": v for k, v in overrides.items()})
    return form


def _twins(world) -> tuple[int, int]:
    """Two groups alike in every way but their field of action: the strategy decides."""
    ids = []
    with session_scope(world.app) as s:
        for name, field in (("Stack Lab A", "energy_efficiency"), ("Stack Lab B", "smart_grids")):
            group = ResearchGroup(
                institution_id=world.institution_id,
                name=name,
                capabilities=TEXT,
                keywords=[],
                fields=[field],
                trl_min=3,
                trl_max=7,
                capacity=2,
                language="en",
            )
            s.add(group)
            s.flush()
            ids.append(group.id)
        index_state.bump(s)
    return ids[0], ids[1]


def _top_one(world) -> None:
    settings = world.app.extensions["matchmaker.settings"]
    world.app.extensions["matchmaker.settings"] = dataclasses.replace(
        settings, proposals_per_challenge=1
    )


def _section(html: str, start: str, end: str = "</table>") -> str:
    part = html[html.index(start) :]
    return part[: part.index(end)]


def test_the_preview_lists_who_enters_and_leaves_the_top_k(world) -> None:
    a, b = _twins(world)
    cid = post_challenge(
        world,
        title="Electrolysis stack monitoring",
        summary=TEXT,
        fields=["energy_efficiency", "smart_grids"],
    )
    post_challenge(world, title="Heat pumps for the furnace hall")
    _top_one(world)
    office = world.browser("office@hamburg.example")
    saved = office.post("/office/strategy", {**_weights(smart_grids="0"), "action": "save"})
    assert saved.status_code == 302
    response = office.post(
        "/office/strategy", {**_weights(energy_efficiency="0,2"), "action": "preview"}
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Vorschau: die besten Vorschläge mit den neuen Gewichten" in html
    assert 'value="0,2"' in html  # the input as typed
    assert "Die besten Gruppen ändern sich bei 1 Herausforderung." in html
    change = _section(html, f'<a href="/office/challenges/{cid}/candidates">')
    entering = _section(change, "kommt hinzu", "</tr>")
    leaving = _section(change, "fällt heraus", "</tr>")
    assert f'href="/office/groups/{b}">Stack Lab B' in entering
    assert f'href="/office/groups/{a}">Stack Lab A' in leaving
    # Ranks now and with the new weights: B moves up to 1, A down from 1.
    assert re.findall(r'<td class="num">(?:<strong>)?(\d+)', entering)[:2] == ["2", "1"]
    assert re.findall(r'<td class="num">(?:<strong>)?(\d+)', leaving)[:2] == ["1", "2"]
    # Only the challenge that changes is listed; the other keeps its best group.
    assert html.count('class="strategy-change"') == 1
    assert "1 Herausforderung behält ihre besten Gruppen" in html
    # A preview saves nothing.
    assert office.get("/api/v1/strategy").json["weights"]["energy_efficiency"] == 1.0


def test_the_preview_says_so_when_nothing_changes(world) -> None:
    _twins(world)
    post_challenge(world, title="Electrolysis stack monitoring", summary=TEXT)
    _top_one(world)
    office = world.browser("office@hamburg.example")
    office.get("/lang/en")
    html = office.post(
        "/office/strategy", {**_weights(sector_coupling="0.5"), "action": "preview"}
    ).get_data(as_text=True)
    assert "No change: with these weights every challenge keeps the same 1 best groups." in html
    assert 'class="strategy-change"' not in html and "enters" not in html


def test_weights_take_a_decimal_comma_and_bad_ones_name_the_field(world) -> None:
    office = world.browser("office@hamburg.example")
    response = office.post(
        "/office/strategy", {**_weights(sector_coupling="0,2"), "action": "save", "note": "Fokus"}
    )
    assert response.status_code == 302
    assert office.get("/api/v1/strategy").json["weights"]["sector_coupling"] == 0.2
    page = office.text("/office/strategy")
    assert 'id="w_sector_coupling" name="w_sector_coupling" type="text" inputmode="decimal"' in page
    assert re.search(r'id="w_sector_coupling"[^>]*value="0,2"', page)  # German: a comma
    response = office.post(
        "/office/strategy",
        {**_weights(energy_efficiency="1.000,5", smart_grids="0,2,1"), "action": "save"},
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert (
        'id="w_energy_efficiency-error">Geben Sie für „Energieeffizienz“ eine Zahl von 0 bis 1 '
        "ein, z. B. 0,2." in html
    )
    assert 'id="w_smart_grids-error">Geben Sie für „Intelligente Netze“' in html
    assert 'value="1.000,5"' in html  # the input stays as typed
    office.get("/lang/en")
    assert re.search(r'id="w_sector_coupling"[^>]*value="0.2"', office.text("/office/strategy"))
    html = office.post(
        "/office/strategy", {**_weights(energy_efficiency="abc"), "action": "preview"}
    ).get_data(as_text=True)
    assert "Enter a number from 0 to 1 for “Energy efficiency”, e.g. 0.2." in html
    assert "Version 3" not in office.text("/office/strategy")
