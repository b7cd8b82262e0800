"""The language of challenges, profiles and publications on the pages, and choosing it in forms."""

from __future__ import annotations

import re

from matchmaker.challenges.models import Challenge
from matchmaker.db import session_scope
from matchmaker.groups.models import Publication, ResearchGroup
from tests.web.conftest import add_proposal, post_challenge

GERMAN_TITLE = "Abwärme aus dem Kupferofen ins Fernwärmenetz"
GERMAN_SUMMARY = (
    "Unsere Hütte gibt 40 MW Abwärme bei 180 °C ab. Wir möchten sie mit einer "
    "Hochtemperatur-Wärmepumpe in das Fernwärmenetz der Stadt einspeisen."
)
GERMAN_CAPABILITIES = (
    "Wir entwickeln Hochtemperatur-Wärmepumpen und nutzen industrielle Abwärme für Prozessdampf "
    "und Fernwärme."
)


def _facts_language(html: str) -> str:
    match = re.search(r"<dt>(?:Sprache|Language)</dt><dd>(.*?)</dd>", html, re.S)
    assert match, "no language in the facts"
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


def _selected(html: str, name: str) -> str:
    select = re.search(rf'<select id="{name}" name="{name}".*?</select>', html, re.S)
    assert select, f"no select {name}"
    chosen = re.search(r'<option value="([^"]*)" selected>', select.group(0))
    assert chosen, f"nothing selected in {name}"
    return chosen.group(1)


def _challenge(world, cid: int) -> Challenge:
    with session_scope(world.app) as s:
        item = s.get(Challenge, cid)
        assert item is not None
        s.expunge(item)
        return item


def test_new_challenge_form_detects_by_default_and_the_page_shows_the_language(world) -> None:
    browser = world.browser("a@elbwerk.example")
    html = browser.text("/challenges/new")
    assert _selected(html, "language") == ""
    assert "Automatisch erkennen" in html and ">Deutsch<" in html and ">Andere<" in html
    cid = post_challenge(world, title=GERMAN_TITLE, summary=GERMAN_SUMMARY, language="")
    stored = _challenge(world, cid)
    assert (stored.language, stored.language_confirmed) == ("de", False)
    html = browser.text(f"/challenges/{cid}")
    assert _facts_language(html) == "Deutsch (erkannt)"
    assert 'lang="de"' in html  # the summary is marked up in its language
    browser.get("/lang/en")
    html = browser.text(f"/challenges/{cid}")
    assert _facts_language(html) == "German (detected)"
    html = browser.text("/challenges/new")
    assert "Detect automatically" in html and ">English<" in html and ">Other<" in html


def test_the_challenge_form_saves_a_chosen_language(world) -> None:
    cid = post_challenge(world, language="")
    assert _challenge(world, cid).language == "en"
    browser = world.browser("a@elbwerk.example")
    html = browser.text(f"/challenges/{cid}/edit")
    # A detected language is offered as "automatic", so that saving keeps detecting.
    assert _selected(html, "language") == ""
    assert "Automatisch erkennen (jetzt: Englisch)" in html
    form_html = browser.text(f"/challenges/{cid}/edit")
    assert "Waste heat" in form_html
    from tests.web.conftest import challenge_form

    response = browser.post(
        f"/challenges/{cid}/edit",
        challenge_form(language="other"),
        form_url=f"/challenges/{cid}/edit",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    stored = _challenge(world, cid)
    assert (stored.language, stored.language_confirmed) == ("other", True)
    assert _facts_language(browser.text(f"/challenges/{cid}")) == "Andere"
    assert _selected(browser.text(f"/challenges/{cid}/edit"), "language") == "other"
    # A German text later keeps the chosen language ...
    response = browser.post(
        f"/challenges/{cid}/edit",
        challenge_form(title=GERMAN_TITLE, summary=GERMAN_SUMMARY, language="other"),
        form_url=f"/challenges/{cid}/edit",
    )
    assert response.status_code == 302
    assert _challenge(world, cid).language == "other"
    # ... until the owner asks for detection again.
    response = browser.post(
        f"/challenges/{cid}/edit",
        challenge_form(title=GERMAN_TITLE, summary=GERMAN_SUMMARY, language=""),
        form_url=f"/challenges/{cid}/edit",
    )
    assert response.status_code == 302
    stored = _challenge(world, cid)
    assert (stored.language, stored.language_confirmed) == ("de", False)


def test_an_invalid_language_is_shown_beside_the_field(world) -> None:
    from tests.web.conftest import challenge_form

    browser = world.browser("a@elbwerk.example")
    response = browser.post("/challenges/new", challenge_form(language="fr"))
    assert response.status_code == 422
    assert re.search(
        r'id="language-error">.*Wählen Sie eine der Möglichkeiten', response.get_data(as_text=True)
    )


def test_group_profile_shows_and_saves_its_language(world) -> None:
    browser = world.browser("lab@hs.example")
    html = browser.text("/group/profile")
    assert re.search(r'id="profile-language">Sprache: <strong>\w+</strong> \(erkannt\)', html)
    assert _selected(html, "language") == ""
    form = {
        "name": "Lehrstuhl für Thermische Verfahrenstechnik",
        "head": "",
        "capabilities": GERMAN_CAPABILITIES,
        "methods": "",
        "keywords": "",
        "fields": ["energy_efficiency"],
        "trl_min": "3",
        "trl_max": "7",
        "capacity": "2",
        "contact": "lab@hs.example",
        "language": "",
    }
    assert browser.post("/group/profile", form).status_code == 302
    html = browser.text("/group/profile")
    assert 'id="profile-language">Sprache: <strong>Deutsch</strong> (erkannt)' in html
    assert "Automatisch erkennen (jetzt: Deutsch)" in html
    form["language"] = "en"
    assert browser.post("/group/profile", form).status_code == 302
    html = browser.text("/group/profile")
    assert 'id="profile-language">Sprache: <strong>Englisch</strong></p>' in html
    assert _selected(html, "language") == "en"
    with session_scope(world.app) as s:
        group = s.get(ResearchGroup, world.group_id)
        assert group is not None and (group.language, group.language_confirmed) == ("en", True)


def test_new_group_profile_detects_by_default(world) -> None:
    browser = world.browser("new@hs.example")
    assert _selected(browser.text("/group/profile"), "language") == ""


def test_publication_language_is_detected_shown_and_changed(world) -> None:
    browser = world.browser("lab@hs.example")
    html = browser.text("/group/publications")
    assert _selected(html, "language") == ""
    response = browser.post(
        "/group/publications/add",
        {
            "title": "Wärmepumpen für Prozessdampf",
            "abstract": GERMAN_CAPABILITIES,
            "year": "2025",
            "doi": "",
            "language": "",
        },
        form_url="/group/publications",
    )
    assert response.status_code == 302
    html = browser.text("/group/publications")
    assert "2025 · Deutsch (erkannt)" in html
    with session_scope(world.app) as s:
        pub = s.query(Publication).one()
        pid = pub.id
        assert (pub.language, pub.language_confirmed) == ("de", False)
    response = browser.post(
        f"/group/publications/{pid}/language",
        {f"language-{pid}": "en"},
        form_url="/group/publications",
    )
    assert response.status_code == 302
    html = browser.text("/group/publications")
    assert "Die Sprache von „Wärmepumpen für Prozessdampf“ ist jetzt Englisch." in html
    assert "2025 · Englisch</span>" in html
    assert _selected(html, f"language-{pid}") == "en"
    with session_scope(world.app) as s:
        pub = s.get(Publication, pid)
        assert pub is not None and (pub.language, pub.language_confirmed) == ("en", True)
    # The empty choice detects it again; a bad value changes nothing.
    bad = browser.post(
        f"/group/publications/{pid}/language",
        {f"language-{pid}": "xx"},
        form_url="/group/publications",
    )
    assert bad.status_code == 422
    browser.post(
        f"/group/publications/{pid}/language",
        {f"language-{pid}": ""},
        form_url="/group/publications",
    )
    with session_scope(world.app) as s:
        pub = s.get(Publication, pid)
        assert pub is not None and (pub.language, pub.language_confirmed) == ("de", False)
    # A chosen language on the add form is stored as chosen.
    browser.post(
        "/group/publications/add",
        {"title": "Heat pumps", "abstract": "", "year": "", "doi": "", "language": "other"},
        form_url="/group/publications",
    )
    with session_scope(world.app) as s:
        pub = s.query(Publication).filter_by(title="Heat pumps").one()
        assert (pub.language, pub.language_confirmed) == ("other", True)
    # Another group's publication is not this group's to change.
    other = world.browser("grid@hs.example")
    response = other.post(
        f"/group/publications/{pid}/language",
        {f"language-{pid}": "en"},
        form_url="/group/publications",
    )
    assert response.status_code == 404


def test_proposal_page_shows_both_languages(world) -> None:
    cid = post_challenge(world, title=GERMAN_TITLE, summary=GERMAN_SUMMARY, language="")
    with session_scope(world.app) as s:
        group = s.get(ResearchGroup, world.group_id)
        assert group is not None
        group.language, group.language_confirmed = "en", True
        group.publications.append(
            Publication(title="Wärmepumpen für Prozessdampf", abstract="", language="de")
        )
    pid = add_proposal(world.app, cid, world.group_id)
    html = world.browser("office@hamburg.example").text(f"/office/proposals/{pid}")
    assert 'class="text-language">Sprache: Deutsch (erkannt)</span>' in html
    assert 'class="text-language">Sprache: Englisch</span>' in html
    assert "· Deutsch</span>" in html  # the publication's
    assert 'lang="de"' in html and 'lang="en"' in html
