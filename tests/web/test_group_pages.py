"""Research group journey: profile, publications by hand or from BibTeX/RIS, matching challenges."""

from __future__ import annotations

import re

from tests.web.conftest import post_challenge

BIBTEX = r"""
@article{petersen2024,
  title = {High-Temperature Heat Pumps for {Process} Steam},
  author = {Petersen, Jana and M{\"u}ller, Jan},
  year = {2024},
  doi = {10.5555/hthp.2024},
  abstract = {We show how waste heat at 80 °C is lifted to process steam.}
}
@inproceedings{noyear,
  title = {Sector coupling in the port of Hamburg},
  booktitle = {Proc. Energy},
}
@misc{notitle, year = {2021}}
"""

RIS = """TY  - JOUR
TI  - Demand response for copper smelters
AB  - Flexible loads stabilise the grid.
PY  - 2022
DO  - 10.5555/dr.2022
ER  -
"""


def test_group_edits_its_profile_and_bad_input_is_kept(world) -> None:
    browser = world.browser("lab@hs.example")
    html = browser.text("/group/profile")
    assert "Thermal Lab" in html and "Hochschule Altona" in html
    form = {
        "name": "Thermal Process Lab",
        "head": "Prof. Dr. Jana Petersen",
        "capabilities": "",
        "methods": "Test rig",
        "keywords": "heat pumps, steam",
        "fields": ["energy_efficiency", "sector_coupling"],
        "trl_min": "5",
        "trl_max": "3",
        "capacity": "3",
        "contact": "lab@hs.example",
        "language": "en",
    }
    response = browser.post("/group/profile", form)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="capabilities-error"' in html and 'value="Thermal Process Lab"' in html
    form["capabilities"] = "High-temperature heat pumps and steam generation from waste heat."
    response = browser.post("/group/profile", form)
    assert response.status_code == 422
    assert re.search(r'id="trl_max-error">.*niedrigste TRL', response.get_data(as_text=True))
    form["trl_max"] = "7"
    assert browser.post("/group/profile", form).status_code == 302
    html = browser.text("/group/profile")
    assert 'value="Thermal Process Lab"' in html and "heat pumps, steam" in html


def test_new_group_user_registers_a_profile_first(world) -> None:
    browser = world.browser("new@hs.example")
    response = browser.get("/group/publications")
    assert response.status_code == 302 and response.headers["Location"] == "/group/profile"
    assert "Gruppe registrieren" in browser.text("/group/profile")
    form = {
        "name": "Smart Grid Lab",
        "capabilities": "Grid control for industrial loads.",
        "fields": ["smart_grids"],
        "trl_min": "2",
        "trl_max": "6",
        "capacity": "1",
        "language": "de",
        "keywords": "",
        "head": "",
        "methods": "",
        "contact": "",
    }
    assert browser.post("/group/profile", form).status_code == 302
    assert "Das Profil Ihrer Gruppe" in browser.text("/group/profile")


def test_add_and_remove_a_publication_by_hand(world) -> None:
    browser = world.browser("lab@hs.example")
    response = browser.post(
        "/group/publications/add", {"title": "", "year": "1800"}, form_url="/group/publications"
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="title-error"' in html and 'id="year-error"' in html and 'value="1800"' in html
    response = browser.post(
        "/group/publications/add",
        {"title": "Heat pumps at 200 °C", "year": "2025", "abstract": "", "doi": ""},
        form_url="/group/publications",
    )
    assert response.status_code == 302
    html = browser.text("/group/publications")
    assert "Heat pumps at 200 °C" in html
    pub_id = re.search(r"/group/publications/(\d+)/delete", html).group(1)
    assert (
        browser.post(
            f"/group/publications/{pub_id}/delete", form_url="/group/publications"
        ).status_code
        == 302
    )
    html = browser.text("/group/publications")
    assert "„Heat pumps at 200 °C“ wurde entfernt." in html
    assert 'pub-title">Heat pumps at 200 °C' not in html


def test_bibtex_import_previews_then_imports_the_chosen_records(world) -> None:
    browser = world.browser("lab@hs.example")
    response = browser.post(
        "/group/publications/import",
        {"bib_text": BIBTEX, "action": "preview"},
        form_url="/group/publications",
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Importvorschau" in html
    assert "High-Temperature Heat Pumps for Process Steam" in html
    assert "Sector coupling in the port of Hamburg" in html
    assert "Nicht importierbar" in html  # the record without a title
    assert browser.text("/group/publications").count("pub-title") == 0  # nothing saved by a preview
    response = browser.post(
        "/group/publications/import",
        {"bib_text": BIBTEX, "action": "import", "entry": ["0"]},
        form_url="/group/publications",
    )
    assert response.status_code == 302
    html = browser.text("/group/publications")
    assert "1 Publikation importiert." in html
    assert "High-Temperature Heat Pumps for Process Steam" in html and "10.5555/hthp.2024" in html
    assert "Sector coupling in the port" not in html
    # Importing the same file again adds nothing twice.
    browser.post(
        "/group/publications/import",
        {"bib_text": BIBTEX, "action": "import", "entry": ["0", "1"]},
        form_url="/group/publications",
    )
    assert browser.text("/group/publications").count('pub-title">High-Temperature Heat Pumps') == 1


def test_ris_import_and_unreadable_text(world) -> None:
    browser = world.browser("lab@hs.example")
    response = browser.post(
        "/group/publications/import",
        {"bib_text": RIS, "action": "import", "entry": ["0"]},
        form_url="/group/publications",
    )
    assert response.status_code == 302
    assert "Demand response for copper smelters" in browser.text("/group/publications")
    response = browser.post(
        "/group/publications/import",
        {"bib_text": "just some words"},
        form_url="/group/publications",
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "weder BibTeX" in html and "just some words" in html


def test_group_sees_matching_public_summaries_with_reasons(world) -> None:
    cid = post_challenge(world)
    browser = world.browser("lab@hs.example")
    html = browser.text("/group/matches")
    assert "Waste heat from the copper furnace" in html
    assert f'/challenges/{cid}"' in html
    assert "Warum passt das?" in html and "Textähnlichkeit" in html
    assert "Site Peute" not in html  # never the confidential details


def test_group_pages_are_for_groups_only(world) -> None:
    for email in ("a@elbwerk.example", "office@hamburg.example"):
        browser = world.browser(email)
        assert browser.get("/group/profile").status_code == 403
        assert browser.get("/group/matches").status_code == 403


def test_a_broken_bibtex_entry_is_named_with_its_line_and_the_others_import(world) -> None:
    text = (
        "@article{good1, title={Heat pumps for dairies}, year={2021}}\n"
        "@article{broken2, title={Unclosed title, year=2022}\n"
        "@article{good3, title={Steam from waste heat}, year={2023}}\n"
    )
    browser = world.browser("lab@hs.example")
    response = browser.post(
        "/group/publications/import",
        {"bib_text": text, "action": "preview"},
        form_url="/group/publications",
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "3 Einträge aus dem BibTeX-Text gelesen" in html
    assert "Eintrag broken2 (Zeile 2) konnte nicht gelesen werden" in html
    assert "Heat pumps for dairies" in html and "Steam from waste heat" in html
    # The broken entry cannot be chosen; the two good ones are imported.
    response = browser.post(
        "/group/publications/import",
        {"bib_text": text, "action": "import", "entry": ["0", "1", "2"]},
        form_url="/group/publications",
    )
    assert response.status_code == 302
    assert "2 Publikationen importiert." in browser.text("/group/publications")
