"""The office's research groups: the list with load and proposals (search, pages), a group's
detail page, and a challenge's candidates compared side by side (issue 15)."""

from __future__ import annotations

import csv
import io
import re

from matchmaker.db import session_scope
from matchmaker.groups.models import Publication, ResearchGroup
from tests.web.conftest import add_proposal, post_challenge

ROW = re.compile(r'<a href="/office/groups/(\d+)">([^<]+)</a>')


def _rows(html: str) -> list[str]:
    return [name for _id, name in ROW.findall(html)]


def test_the_office_lists_every_group_with_profile_load_and_proposals(world) -> None:
    cid = post_challenge(world)
    other = post_challenge(world, "b@stahl.example", title="Demand response of furnaces")
    # Grid Lab (capacity 1): two open proposals and a declined one.
    add_proposal(world.app, cid, world.other_group_id, status="introduced")
    add_proposal(world.app, other, world.other_group_id, status="proposed")
    third = post_challenge(world, title="Peak shaving with a battery")
    add_proposal(world.app, third, world.other_group_id, status="declined")
    office = world.browser("office@hamburg.example")
    html = office.text("/office/groups")
    assert '<a href="/office/groups" aria-current="page">Forschungsgruppen</a>' in html
    assert "2 Forschungsgruppen" in html and _rows(html) == ["Thermal Lab", "Grid Lab"]
    grid = html[html.index(">Grid Lab<") :]
    grid = grid[: grid.index("</tr>")]
    assert "Hochschule Altona" in grid and "Englisch" in grid and "Energieeffizienz" in grid
    assert "3–7" in grid
    # Open proposals against capacity, judged as the dashboard judges the institution.
    assert "2 / 1" in grid and "mehr Vorschläge als Plätze" in grid
    for label, n in (("Vorgeschlagen", 1), ("Vorgestellt", 1), ("Abgelehnt", 1)):
        assert re.search(rf"badge-\w+\">{label}</span> {n}</li>", grid), label
    thermal = html[html.index(">Thermal Lab<") :]
    thermal = thermal[: thermal.index("</tr>")]
    assert "0 / 2" in thermal and "ungenutzt" in thermal and "Noch keine." in thermal
    load = office.get("/office/dashboard/load.csv").get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(load)))
    assert rows[1][:4] == ["Hochschule Altona", "2", "1", "3"]  # the same counts, summed


def test_the_groups_list_searches_and_pages(world) -> None:
    with session_scope(world.app) as s:
        for i in range(26):
            s.add(
                ResearchGroup(
                    institution_id=world.institution_id,
                    name=f"Battery Lab {i:02d}",
                    capabilities="Battery storage for depots and fleets.",
                    keywords=[],
                    fields=["smart_grids"],
                    trl_min=2,
                    trl_max=5,
                    capacity=1,
                )
            )
    office = world.browser("office@hamburg.example")
    first = office.text("/office/groups")
    assert "28 Forschungsgruppen" in first and "Seite 1 von 2" in first
    assert len(_rows(first)) == 25
    second = office.text("/office/groups?page=2")
    assert len(_rows(second)) == 3 and "Seite 2 von 2" in second
    assert set(_rows(first)).isdisjoint(_rows(second))
    found = office.text("/office/groups?q=smart+grid")
    assert _rows(found) == ["Grid Lab"] and "1 Forschungsgruppe" in found
    assert 'value="smart grid"' in found  # the box keeps the search
    paged = office.text("/office/groups?q=battery")
    assert "26 Forschungsgruppen" in paged and 'href="/office/groups?page=2&amp;q=battery"' in paged
    nothing = office.text("/office/groups?q=fusion")
    assert "Nichts gefunden für „fusion“." in nothing
    office.get("/lang/en")
    english = office.text("/office/groups?q=battery")
    assert "26 research groups" in english and "Proposals by status" in english
    assert world.browser("a@elbwerk.example").get("/office/groups").status_code == 403
    assert world.browser("lab@hs.example").get("/office/groups/1").status_code == 403


def test_a_group_page_for_the_office_shows_profile_publications_and_proposals(world) -> None:
    cid = post_challenge(world)
    pid = add_proposal(world.app, cid, world.group_id, status="shortlisted")
    with session_scope(world.app) as s:
        s.add(Publication(group_id=world.group_id, title="Heat pumps at 180 °C", year=2024))
    office = world.browser("office@hamburg.example")
    html = office.text(f"/office/groups/{world.group_id}")
    assert "<h1>Thermal Lab</h1>" in html and "Prof. Dr. Jana Petersen" in html
    assert "We design high-temperature heat pumps" in html and "Heat pump test rig" in html
    assert "Heat pumps at 180 °C" in html and "(2024)" in html
    assert f'href="/office/proposals/{pid}">Waste heat from the copper furnace' in html
    assert "Vorgemerkt" in html and "lab@hs.example" in html
    assert "Offene Vorschläge: 1 / 2</span> · Gebunden (vorgestellt oder weiter): 0" in html
    assert office.get("/office/groups/9999").status_code == 404


def test_candidates_compared_side_by_side(world) -> None:
    cid = post_challenge(world)
    pid = add_proposal(world.app, cid, world.group_id, status="shortlisted")
    office = world.browser("office@hamburg.example")
    # Linked from the office's proposal page and from the challenge page.
    link = f'href="/office/challenges/{cid}/candidates"'
    assert link in office.text(f"/office/proposals/{pid}")
    assert link in office.text(f"/challenges/{cid}")
    assert link not in world.browser("a@elbwerk.example").text(f"/challenges/{cid}")
    html = office.text(f"/office/challenges/{cid}/candidates")
    assert "Kandidaten im Vergleich" in html
    for header in (
        "Textähnlichkeit",
        "Gemeinsame Begriffe",
        "Handlungsfelder",
        "Strategiegewicht",
        "TRL-Passung",
        "Freie Kapazität",
        "Auslastung",
        "Schlüsselbegriffe",
    ):
        assert f">{header}</th>" in html, header
    # The same order and scores as the API's matches of the challenge.
    api = office.get(f"/api/v1/challenges/{cid}/matches?top=10").json["items"]
    shown = re.findall(r'<a href="/office/groups/(\d+)">', html)
    assert [int(g) for g in shown] == [i["group_id"] for i in api]
    for item in api:
        assert f"{item['score']:.2f}" in html
        assert f"{item['components']['semantic']:.2f}" in html
    thermal = html[html.index(f'<a href="/office/groups/{world.group_id}">') :]
    thermal = thermal[: thermal.index("</tr>")]
    assert f'href="/office/proposals/{pid}"' in thermal and "Vorgemerkt" in thermal
    assert "1 / 2" in thermal and "Hochschule Altona · Englisch" in thermal
    assert re.search(r'<mark class="ev-term">[^<]+</mark>', thermal)  # key terms of the pair
    grid = html[html.index(f'<a href="/office/groups/{world.other_group_id}">') :]
    grid = grid[: grid.index("</tr>")]
    assert "keiner" in grid and "0 / 1" in grid
    assert (
        world.browser("a@elbwerk.example").get(f"/office/challenges/{cid}/candidates").status_code
        == 403
    )
    assert office.get("/office/challenges/9999/candidates").status_code == 404
