"""The review queue as CSV: the filters and the search of the page, every page of it, headers in
the page's language, German format on request, and no cell a spreadsheet would run."""

from __future__ import annotations

import csv
import io
import re

from tests.web.conftest import _group, add_proposal, post_challenge


def _rows(response, delimiter: str = ",") -> list[list[str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=delimiter))


def _world(world) -> dict[str, int]:
    heat = post_challenge(world)
    mill = post_challenge(
        world,
        "b@stahl.example",
        title='=HYPERLINK("http://evil.example") rolling mill',
        summary="Our rolling mill could shift its load to cheap wind power hours.",
        fields=["smart_grids"],
    )
    return {
        "heat": add_proposal(world.app, heat, world.group_id, score=0.91),
        "mill": add_proposal(world.app, mill, world.other_group_id, score=0.425),
        "mill2": add_proposal(world.app, mill, world.group_id, score=0.3, status="shortlisted"),
    }


def test_the_queue_downloads_as_csv_with_german_headers_and_format(world) -> None:
    ids = _world(world)
    office = world.browser("office@hamburg.example")
    response = office.get("/office/proposals.csv?format=de")
    assert 'filename="matchmaker-proposals-de.csv"' in response.headers["Content-Disposition"]
    rows = _rows(response, ";")
    assert rows[0] == [
        "Vorschlag",
        "Score",
        "Herausforderung",
        "Unternehmen",
        "Forschungsgruppe",
        "Einrichtung",
        "Handlungsfelder",
        "Status",
        "Letzte Änderung",
    ]
    assert [int(r[0]) for r in rows[1:]] == [ids["heat"], ids["mill"], ids["mill2"]]
    heat = rows[1]
    assert heat[1:6] == [
        "0,91",
        "Waste heat from the copper furnace into district heating",
        "Elbwerk Kupfer GmbH",
        "Thermal Lab",
        "Hochschule Altona",
    ]
    assert heat[6] == "Energieeffizienz, Sektorkopplung" and heat[7] == "Vorgeschlagen"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", heat[8])
    assert rows[2][2].startswith("'=HYPERLINK")  # neutralised, not a formula
    assert rows[3][7] == "Vorgemerkt"

    office.get("/lang/en")
    response = office.get("/office/proposals.csv")
    assert 'filename="matchmaker-proposals.csv"' in response.headers["Content-Disposition"]
    rows = _rows(response)
    assert rows[0][:3] == ["Proposal", "Score", "Challenge"] and rows[0][-1] == "Last change"
    assert rows[2][1] == "0.425" and rows[1][7] == "Proposed"
    assert office.get("/office/proposals.csv?format=xlsx").status_code == 400


def test_the_csv_keeps_the_filters_and_the_search_and_every_page(world) -> None:
    ids = _world(world)
    office = world.browser("office@hamburg.example")
    only = _rows(office.get("/office/proposals.csv?q=rolling&status=proposed"))
    assert [int(r[0]) for r in only[1:]] == [ids["mill"]]
    only = _rows(office.get("/office/proposals.csv?field=smart_grids"))
    assert {int(r[0]) for r in only[1:]} == {ids["mill"], ids["mill2"]}
    assert len(_rows(office.get("/office/proposals.csv?q=hydrogen"))) == 1  # the header only
    # The download links on the page carry the page's filters and search.
    html = office.text("/office/proposals?q=rolling&status=proposed")
    assert 'href="/office/proposals.csv?format=de&amp;status=proposed&amp;q=rolling"' in html
    assert 'href="/office/proposals.csv?status=proposed&amp;q=rolling"' in html
    # More rows than a page of the queue shows.
    cid = post_challenge(world, title="Steam for the paper machine")
    for n in range(30):
        gid = _group(world.app, world.institution_id, f"Lab {n}", "Steam and heat pumps.")
        add_proposal(world.app, cid, gid, score=0.2 + n / 100)
    rows = _rows(office.get("/office/proposals.csv?q=paper"))
    assert len(rows) == 31


def test_only_the_office_downloads_the_queue(world) -> None:
    _world(world)
    for email in ("a@elbwerk.example", "lab@hs.example"):
        assert world.browser(email).get("/office/proposals.csv").status_code == 403
    assert world.app.test_client().get("/office/proposals.csv").status_code == 302
