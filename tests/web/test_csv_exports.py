"""CSV downloads: no cell runs as a formula in a spreadsheet, and German pages offer the format
German spreadsheet programs read (semicolons, decimal commas, UTF-8 with BOM)."""

from __future__ import annotations

import csv
import io

from matchmaker.csv_export import write_csv
from tests import factories
from tests.web.conftest import add_proposal, post_challenge

HOSTILE = [
    '=HYPERLINK("http://evil.example","Klick")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\tTabbed",
    "\rReturned",
]


def _rows(response, delimiter: str = ",") -> list[list[str]]:
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=delimiter))


def test_no_cell_of_a_download_starts_a_formula(world) -> None:
    for name in HOSTILE:
        factories.organisation(world.app, name, "institution")
    office = world.browser("office@hamburg.example")
    for fmt, delimiter in (("", ","), ("?format=de", ";")):
        rows = _rows(office.get(f"/office/dashboard/load.csv{fmt}"), delimiter)
        names = [r[0] for r in rows[1:]]
        for hostile in HOSTILE:
            assert "'" + hostile in names, (fmt, hostile)
        for row in rows:
            for value in row:
                assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), (fmt, value)


def test_the_writer_neutralises_text_but_keeps_numbers() -> None:
    text = write_csv(["a", "b", "c"], [["-5", -5, -2.5], ["=1+1", 0.5, None]])
    assert text == "\ufeffa,b,c\r\n'-5,-5,-2.5\r\n'=1+1,0.5,\r\n"
    german = write_csv(["a", "b", "c"], [["-5", -5, -2.5], ["x", 15000.0, 3]], fmt="de")
    assert german == "\ufeffa;b;c\r\n'-5;-5;-2,5\r\nx;15000,0;3\r\n"


def test_german_pages_offer_german_csv(world) -> None:
    cid = post_challenge(world)
    add_proposal(world.app, cid, world.group_id, status="collaboration")
    office = world.browser("office@hamburg.example")
    html = office.text("/office/dashboard")
    assert 'href="/office/dashboard/co2.csv?format=de" download' in html
    assert "CSV, internationales Format" in html

    response = office.get("/office/dashboard/co2.csv?format=de")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="matchmaker-co2-de.csv"' in response.headers["Content-Disposition"]
    rows = _rows(response, ";")
    assert rows[0][:2] == ["Herausforderungen", "CO₂-Einsparung (t/Jahr)"]
    assert rows[1][1:] == ["12000,0", "75000,0", "16,0"]

    office.get("/lang/en")
    html = office.text("/office/dashboard")
    assert 'href="/office/dashboard/co2.csv" download' in html
    assert "CSV, German format" in html
    assert office.get("/office/dashboard/co2.csv?format=xx").status_code == 400
