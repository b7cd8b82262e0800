"""Every challenge, group profile and publication has a language: detected unless its owner set it."""

from __future__ import annotations

import os
from typing import get_args

import pytest
from sqlalchemy import func, select

from matchmaker.challenges.models import Challenge
from matchmaker.db import session_scope
from matchmaker.groups.models import Publication, ResearchGroup
from matchmaker.languages import LANGUAGES, Language
from matchmaker.ranking.dictionary import DEFAULT_PATH as DICTIONARY
from tests.factories import challenge_body, group_body

GERMAN_TITLE = "Abwärme aus dem Kupferofen ins Fernwärmenetz"
GERMAN_SUMMARY = (
    "Unsere Hütte gibt 40 MW Abwärme bei 180 °C ab. Wir möchten sie mit einer "
    "Hochtemperatur-Wärmepumpe in das Fernwärmenetz der Stadt einspeisen und suchen dafür "
    "eine Forschungsgruppe, die Verdichter und Kältemittel für diese Temperaturen kennt."
)
ENGLISH_SUMMARY = challenge_body()["summary"]
GERMAN_ABSTRACT = (
    "Wir untersuchen Hochtemperatur-Wärmepumpen für die Dampferzeugung in der Industrie und "
    "zeigen, wie sich Abwärme aus Trocknungsprozessen wirtschaftlich nutzen lässt."
)


def test_the_language_type_is_the_detectors() -> None:
    assert set(get_args(Language)) == set(LANGUAGES) == {"de", "en", "other"}


def test_a_challenge_without_language_gets_the_detected_one(world) -> None:
    german = world.company_a.post(
        "/api/v1/challenges", challenge_body(title=GERMAN_TITLE, summary=GERMAN_SUMMARY)
    )
    assert german.status_code == 201, german.json
    assert german.json["language"] == "de" and german.json["language_confirmed"] is False
    english = world.company_a.post("/api/v1/challenges", challenge_body())
    assert english.json["language"] == "en" and english.json["language_confirmed"] is False
    read = world.group.get(f"/api/v1/challenges/{german.json['id']}").json
    assert read["language"] == "de" and read["language_confirmed"] is False


def test_the_confidential_part_never_decides_the_language(world) -> None:
    body = challenge_body(confidential=" ".join([GERMAN_SUMMARY] * 5))
    r = world.company_a.post("/api/v1/challenges", body)
    assert r.status_code == 201
    assert r.json["language"] == "en"


def test_an_explicit_language_is_kept_when_the_text_changes(world) -> None:
    r = world.company_a.post("/api/v1/challenges", challenge_body(language="en"))
    assert r.status_code == 201
    assert r.json["language"] == "en" and r.json["language_confirmed"] is True
    cid = r.json["id"]
    r = world.company_a.patch(
        f"/api/v1/challenges/{cid}", {"title": GERMAN_TITLE, "summary": GERMAN_SUMMARY}
    )
    assert r.status_code == 200
    assert r.json["language"] == "en" and r.json["language_confirmed"] is True
    # Setting it on a German text is the owner's word too.
    r = world.company_a.patch(f"/api/v1/challenges/{cid}", {"language": "other"})
    assert r.json["language"] == "other" and r.json["language_confirmed"] is True
    r = world.company_a.patch(f"/api/v1/challenges/{cid}", {"summary": ENGLISH_SUMMARY})
    assert r.json["language"] == "other"


def test_a_detected_language_follows_the_text_and_null_asks_for_detection(world) -> None:
    cid = world.company_a.post("/api/v1/challenges", challenge_body()).json["id"]
    r = world.company_a.patch(
        f"/api/v1/challenges/{cid}", {"title": GERMAN_TITLE, "summary": GERMAN_SUMMARY}
    )
    assert r.json["language"] == "de" and r.json["language_confirmed"] is False
    # A change elsewhere leaves it alone.
    r = world.company_a.patch(f"/api/v1/challenges/{cid}", {"trl_target": 8})
    assert r.json["language"] == "de"
    r = world.company_a.patch(f"/api/v1/challenges/{cid}", {"language": "en"})
    assert r.json["language"] == "en" and r.json["language_confirmed"] is True
    r = world.company_a.patch(f"/api/v1/challenges/{cid}", {"language": None})
    assert r.json["language"] == "de" and r.json["language_confirmed"] is False


def test_the_language_change_is_audited(world) -> None:
    from matchmaker.audit.models import AuditEvent

    cid = world.company_a.post("/api/v1/challenges", challenge_body()).json["id"]
    world.company_a.patch(f"/api/v1/challenges/{cid}", {"language": "de"})
    with session_scope(world.app) as s:
        last = s.scalars(
            select(AuditEvent)
            .where(AuditEvent.entity == "challenge", AuditEvent.entity_id == cid)
            .order_by(AuditEvent.id.desc())
        ).first()
        assert last is not None
        assert last.changes["language"] == ["en", "de"]
        assert last.changes["language_confirmed"] == [False, True]


@pytest.mark.parametrize("value", ["fr", "EN", "", 7, "german"])
def test_an_invalid_language_is_a_422_naming_it(world, value) -> None:
    def count() -> int:
        with session_scope(world.app) as s:
            return s.scalar(select(func.count()).select_from(Challenge)) or 0

    r = world.company_a.post("/api/v1/challenges", challenge_body(language=value))
    assert r.status_code == 422
    assert r.mimetype == "application/problem+json"
    assert [e["field"] for e in r.json["errors"]] == ["language"]
    assert count() == 0
    cid = world.company_a.post("/api/v1/challenges", challenge_body(language="de")).json["id"]
    r = world.company_a.patch(f"/api/v1/challenges/{cid}", {"language": value})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "language"
    assert world.company_a.get(f"/api/v1/challenges/{cid}").json["language"] == "de"


def test_invalid_languages_of_groups_and_publications_are_422(world) -> None:
    r = world.office.post(
        "/api/v1/groups", group_body(institution_id=world.institution_id, language="fr")
    )
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "language"
    body = group_body(institution_id=world.institution_id)
    body["publications"][0]["language"] = "es"
    r = world.office.post("/api/v1/groups", body)
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "publications[0].language"
    r = world.group.patch(f"/api/v1/groups/{world.group_id}", {"language": "dk"})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "language"
    r = world.group.post(
        f"/api/v1/groups/{world.group_id}/publications", {"title": "A paper", "language": "xx"}
    )
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "language"
    with session_scope(world.app) as s:
        assert s.scalar(select(func.count()).select_from(Publication)) == 0
        assert s.scalar(select(func.count()).select_from(ResearchGroup)) == 1


def test_a_group_and_its_publications_each_have_their_own_language(world) -> None:
    body = group_body(
        institution_id=world.institution_id,
        name="Lehrstuhl für Thermische Verfahrenstechnik",
        capabilities="Wir entwickeln Hochtemperatur-Wärmepumpen und nutzen industrielle Abwärme "
        "für Prozessdampf und Fernwärme.",
        publications=[
            {
                "title": "High-temperature heat pumps for process steam",
                "abstract": "We show how waste heat from drying processes can supply steam at "
                "150 °C with a coefficient of performance above two.",
            },
            {"title": "Wärmepumpen für Prozessdampf", "abstract": GERMAN_ABSTRACT},
            {"title": "Heat pumps", "language": "de"},
        ],
    )
    r = world.office.post("/api/v1/groups", body)
    assert r.status_code == 201, r.json
    assert r.json["language"] == "de" and r.json["language_confirmed"] is False
    pubs = r.json["publications"]
    assert [(p["language"], p["language_confirmed"]) for p in pubs] == [
        ("en", False),
        ("de", False),
        ("de", True),
    ]
    r = world.office.post(
        "/api/v1/groups",
        group_body(institution_id=world.institution_id, name="Thermal Lab 2", language="de"),
    )
    assert r.json["language"] == "de" and r.json["language_confirmed"] is True


def test_a_group_profile_language_follows_its_text_until_set(world) -> None:
    url = f"/api/v1/groups/{world.group_id}"
    r = world.group.patch(
        url,
        {
            "capabilities": "Wir entwickeln Hochtemperatur-Wärmepumpen und nutzen industrielle "
            "Abwärme für Prozessdampf und Fernwärme."
        },
    )
    assert r.status_code == 200
    assert r.json["language"] == "de" and r.json["language_confirmed"] is False
    r = world.group.patch(url, {"language": "en"})
    assert r.json["language"] == "en" and r.json["language_confirmed"] is True
    r = world.group.patch(url, {"capabilities": GERMAN_ABSTRACT})
    assert r.json["language"] == "en"


def test_a_publication_language_is_detected_returned_and_editable(world) -> None:
    base = f"/api/v1/groups/{world.group_id}/publications"
    r = world.group.post(
        base, {"title": "Wärmepumpen für Prozessdampf", "abstract": GERMAN_ABSTRACT}
    )
    assert r.status_code == 201, r.json
    assert r.json["language"] == "de" and r.json["language_confirmed"] is False
    pid = r.json["id"]
    assert world.group.get(f"{base}/{pid}").json["language"] == "de"
    assert world.company_a.get(base).json["items"][0]["language"] == "de"
    group = world.company_a.get(f"/api/v1/groups/{world.group_id}").json
    assert group["publications"][0]["language"] == "de"
    # The text changes: a detected language follows it.
    r = world.group.patch(
        f"{base}/{pid}",
        {
            "title": "High-temperature heat pumps for process steam",
            "abstract": "We show how waste heat from drying processes can supply process steam.",
        },
    )
    assert r.json["language"] == "en" and r.json["language_confirmed"] is False
    r = world.group.patch(f"{base}/{pid}", {"language": "de"})
    assert r.json["language"] == "de" and r.json["language_confirmed"] is True
    r = world.group.patch(f"{base}/{pid}", {"abstract": "Another English abstract, revised."})
    assert r.json["language"] == "de"
    r = world.group.post(base, {"title": "Ein Titel", "language": "other"})
    assert r.json["language"] == "other" and r.json["language_confirmed"] is True
    assert world.company_a.patch(f"{base}/{pid}", {"language": "en"}).status_code == 403


def test_the_openapi_document_describes_the_languages(app) -> None:
    schemas = app.test_client().get("/api/openapi.json").json["components"]["schemas"]

    def language_values(schema: dict) -> set[str]:
        prop = schema["properties"]["language"]
        options = prop.get("anyOf", [prop])
        return {v for o in options for v in o.get("enum", [])}

    for name in ("ChallengeIn", "ChallengePatch", "GroupIn", "GroupPatch", "PublicationIn"):
        assert language_values(schemas[name]) == {"de", "en", "other"}, name
        assert "language" not in schemas[name].get("required", []), name
        assert "detected" in schemas[name]["properties"]["language"]["description"]
    assert language_values(schemas["PublicationPatch"]) == {"de", "en", "other"}
    for name in ("ChallengeOut", "GroupOut", "PublicationOut"):
        props = schemas[name]["properties"]
        assert set(props["language"]["enum"]) == {"de", "en", "other"}, name
        assert props["language_confirmed"]["type"] == "boolean", name
        assert {"language", "language_confirmed"} <= set(schemas[name]["required"]), name


def test_seed_sets_record_languages_and_detects_publications(app) -> None:
    from matchmaker.seed import load_sample_data

    with session_scope(app) as s:
        load_sample_data(s)
    with session_scope(app) as s:
        challenges = list(s.scalars(select(Challenge)))
        assert challenges and all(c.language_confirmed for c in challenges)
        assert {c.language for c in challenges} == {"de", "en"}
        g002 = s.scalar(select(ResearchGroup).where(ResearchGroup.seed_key == "g002"))
        assert g002 is not None and g002.language == "de" and g002.language_confirmed
        english = next(
            p for p in g002.publications if p.title.startswith("Heat recovery from commercial")
        )
        assert english.language == "en" and not english.language_confirmed
        pubs = list(s.scalars(select(Publication)))
        assert {p.language for p in pubs} == {"de", "en"}
        # A sample publication stored before publications had a language (all "en")...
        german = next(p for p in pubs if p.language == "de")
        german.language = "en"
        german_id = german.id
    with session_scope(app) as s:
        # ... gets its detected language when the sample data is loaded again.
        added = load_sample_data(s)
        assert not any(added.values())
    with session_scope(app) as s:
        assert s.get(Publication, german_id).language == "de"


@pytest.mark.skipif(
    not DICTIONARY.is_file() and not os.environ.get("MATCHMAKER_REQUIRE_DICTIONARY"),
    reason="Debian's trans-de-en is not installed (make dictionary)",
)
def test_a_german_challenge_and_an_english_group_show_key_terms_in_both_languages(world) -> None:
    group = world.office.post("/api/v1/groups", group_body(institution_id=world.institution_id))
    assert group.status_code == 201, group.json
    german = world.company_a.post(
        "/api/v1/challenges", challenge_body(title=GERMAN_TITLE, summary=GERMAN_SUMMARY)
    )
    assert german.status_code == 201, german.json
    r = world.company_a.get(f"/api/v1/challenges/{german.json['id']}/matches?top=5")
    assert r.status_code == 200, r.json
    match = next(i for i in r.json["items"] if i["group"] == group_body()["name"])
    translations = match["evidence"]["translations"]
    # The challenge's German word on the query side, the group's English words on the other.
    assert {"query": "Abwärme", "candidate": "waste heat"} in translations, translations
    assert all(t["query"] in GERMAN_TITLE + GERMAN_SUMMARY for t in translations)
    # The group's list of challenges: the group's text is the query side.
    back = world.office.get(f"/api/v1/groups/{group.json['id']}/matches?top=10")
    assert back.status_code == 200, back.json
    item = next(i for i in back.json["items"] if i["challenge_id"] == german.json["id"])
    assert {"query": "waste heat", "candidate": "Abwärme"} in item["evidence"]["translations"]
