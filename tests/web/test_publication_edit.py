"""Editing a publication and its authors on the group's publications page, and authors read
from BibTeX and RIS."""

from __future__ import annotations

import re

from matchmaker.audit.models import AuditEvent
from matchmaker.db import session_scope
from matchmaker.groups.models import Publication

PAGE = "/group/publications"


def _add(world, **values: str) -> int:
    browser = world.browser("lab@hs.example")
    form = {"title": "Heat pumps", "abstract": "", "year": "", "doi": "", "language": ""}
    form.update(values)
    assert browser.post(f"{PAGE}/add", form, form_url=PAGE).status_code == 302
    with session_scope(world.app) as s:
        return s.query(Publication).filter_by(title=form["title"]).one().id


def _edit_form(pid: int, **values: str) -> dict[str, str]:
    form = {
        "title": "Heat pumps",
        "abstract": "",
        "year": "",
        "doi": "",
        "authors": "",
        "language": "",
    }
    form.update(values)
    return {f"{k}-{pid}": v for k, v in form.items()}


def test_a_publication_is_added_with_authors_and_shows_them(world) -> None:
    pid = _add(world, title="Heat pumps at 200 °C", authors="Petersen, Jana\nOle Hansen")
    html = world.browser("lab@hs.example").text(PAGE)
    assert '<span class="pub-authors">Petersen, Jana; Ole Hansen</span>' in html
    # The edit form shows one name a line.
    assert re.search(rf'id="authors-{pid}"[^>]*>Petersen, Jana\nOle Hansen</textarea>', html)
    with session_scope(world.app) as s:
        assert s.get(Publication, pid).authors == ["Petersen, Jana", "Ole Hansen"]


def test_a_group_edits_title_authors_year_and_doi(world) -> None:
    pid = _add(world, title="Heat pumps", year="2020", doi="10.5555/old", language="en")
    browser = world.browser("lab@hs.example")
    response = browser.post(
        f"{PAGE}/{pid}/edit",
        _edit_form(
            pid,
            title="Hochtemperatur-Wärmepumpen für Prozessdampf",
            authors="Petersen, Jana; Hansen, Ole\n\n",
            abstract="Wir zeigen, wie Abwärme Prozessdampf liefert.",
            year="2024",
            doi="10.5555/new",
            language="de",
        ),
        form_url=PAGE,
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{PAGE}#publication-{pid}")
    html = browser.text(PAGE)
    assert (
        "Ihre Änderungen an „Hochtemperatur-Wärmepumpen für Prozessdampf“ wurden gespeichert."
        in html
    )
    assert "Petersen, Jana; Hansen, Ole" in html and "2024 · DOI 10.5555/new · Deutsch" in html
    with session_scope(world.app) as s:
        pub = s.get(Publication, pid)
        assert (pub.title, pub.authors, pub.year, pub.doi, pub.language) == (
            "Hochtemperatur-Wärmepumpen für Prozessdampf",
            ["Petersen, Jana", "Hansen, Ole"],
            2024,
            "10.5555/new",
            "de",
        )
        event = s.query(AuditEvent).filter_by(entity="publication", action="update").one()
        assert set(event.changes) >= {"title", "authors", "year", "doi", "abstract", "language"}
    # Empty fields clear the year, the DOI and the authors; an empty language is detected.
    browser.post(f"{PAGE}/{pid}/edit", _edit_form(pid, title="Heat pumps"), form_url=PAGE)
    with session_scope(world.app) as s:
        pub = s.get(Publication, pid)
        assert (pub.authors, pub.year, pub.doi, pub.abstract) == ([], None, "", "")
        assert pub.language_confirmed is False


def test_errors_are_shown_beside_the_field_and_the_input_is_kept(world) -> None:
    pid = _add(world, title="Heat pumps", year="2020")
    browser = world.browser("lab@hs.example")
    response = browser.post(
        f"{PAGE}/{pid}/edit",
        _edit_form(pid, title="", year="1850", authors="Petersen, Jana"),
        form_url=PAGE,
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'id="title-{pid}-error"' in html
    year_error = re.search(rf'id="year-{pid}-error">(.*?)</p>', html, re.S)
    assert year_error and "Geben Sie ein Jahr von 1900 bis 2100 ein." in year_error.group(1)
    assert 'value="1850"' in html  # the input is kept
    assert re.search(rf'id="authors-{pid}"[^>]*>Petersen, Jana</textarea>', html)
    assert '<details class="pub-edit" open>' in html  # the form with the errors stays open
    with session_scope(world.app) as s:
        pub = s.get(Publication, pid)
        assert (pub.title, pub.year, pub.authors) == ("Heat pumps", 2020, [])  # nothing saved
    response = browser.post(
        f"{PAGE}/{pid}/edit", _edit_form(pid, year="2101", authors="x" * 201), form_url=PAGE
    )
    html = response.get_data(as_text=True)
    assert (
        "Geben Sie ein Jahr von 1900 bis 2100 ein." in html and f'id="authors-{pid}-error"' in html
    )


def test_the_english_page_and_another_groups_publication(world) -> None:
    pid = _add(world, title="Heat pumps")
    browser = world.browser("lab@hs.example")
    browser.get("/lang/en")
    response = browser.post(
        f"{PAGE}/{pid}/edit", _edit_form(pid, title="Heat pumps, revised"), form_url=PAGE
    )
    assert response.status_code == 302
    assert "Your changes to “Heat pumps, revised” were saved." in browser.text(PAGE)
    other = world.browser("grid@hs.example")
    assert (
        other.post(f"{PAGE}/{pid}/edit", _edit_form(pid, title="Mine"), form_url=PAGE).status_code
        == 404
    )
    office = world.browser("office@hamburg.example")
    response = office.post(
        f"{PAGE}/{pid}/edit", _edit_form(pid, title="Mine"), form_url="/office/proposals"
    )
    assert response.status_code == 403
    with session_scope(world.app) as s:
        assert s.get(Publication, pid).title == "Heat pumps, revised"


BIBTEX = r"""
@article{petersen2024,
  title = {High-Temperature Heat Pumps for Process Steam},
  author = {M{\"u}ller, Jana and {Barnes and Noble Lab} and Ole Hansen and others},
  year = {2024},
}
"""

RIS = """TY  - JOUR
TI  - Demand response for copper smelters
AU  - Petersen, Jana
AU  - Hansen, Ole
PY  - 2023
ER  -
"""


def test_bibtex_and_ris_authors_are_read_and_imported(world) -> None:
    browser = world.browser("lab@hs.example")
    preview = browser.post(
        f"{PAGE}/import", {"bib_text": BIBTEX, "action": "preview"}, form_url=PAGE
    ).get_data(as_text=True)
    assert "Müller, Jana; Barnes and Noble Lab; Ole Hansen" in preview
    for text in (BIBTEX, RIS):
        response = browser.post(
            f"{PAGE}/import", {"bib_text": text, "action": "import", "entry": ["0"]}, form_url=PAGE
        )
        assert response.status_code == 302
    with session_scope(world.app) as s:
        authors = {p.title: p.authors for p in s.query(Publication)}
    assert authors == {
        "High-Temperature Heat Pumps for Process Steam": [
            "Müller, Jana",
            "Barnes and Noble Lab",
            "Ole Hansen",
        ],
        "Demand response for copper smelters": ["Petersen, Jana", "Hansen, Ole"],
    }
