"""Authors of a publication through the API: stored, returned, changed, documented, and never
part of what is matched."""

from __future__ import annotations

from matchmaker.audit.models import AuditEvent
from matchmaker.db import session_scope
from matchmaker.matching import index_state


def _index_version(world) -> int:
    with session_scope(world.app) as s:
        return index_state.current(s)


def test_authors_are_stored_returned_and_changed(world) -> None:
    base = f"/api/v1/groups/{world.group_id}/publications"
    r = world.group.post(
        base, {"title": "Heat pumps at 200 °C", "authors": ["Petersen, Jana", "Ole Hansen"]}
    )
    assert r.status_code == 201, r.json
    assert r.json["authors"] == ["Petersen, Jana", "Ole Hansen"]
    pid = r.json["id"]
    # Without authors a publication has none (not null).
    assert world.group.post(base, {"title": "Another paper"}).json["authors"] == []
    assert world.company_a.get(f"{base}/{pid}").json["authors"] == ["Petersen, Jana", "Ole Hansen"]
    group = world.company_a.get(f"/api/v1/groups/{world.group_id}").json
    assert group["publications"][0]["authors"] == ["Petersen, Jana", "Ole Hansen"]

    before = _index_version(world)
    r = world.group.patch(f"{base}/{pid}", {"authors": ["Hansen, Ole", "  Petersen, Jana  "]})
    assert r.status_code == 200, r.json
    assert r.json["authors"] == ["Hansen, Ole", "Petersen, Jana"]
    assert r.json["title"] == "Heat pumps at 200 °C"  # the rest is kept
    # Authors are never matched on: changing only them rebuilds no index.
    assert _index_version(world) == before
    with session_scope(world.app) as s:
        event = (
            s.query(AuditEvent)
            .filter_by(entity="publication", entity_id=pid, action="update")
            .one()
        )
        assert event.changes["authors"] == [
            ["Petersen, Jana", "Ole Hansen"],
            ["Hansen, Ole", "Petersen, Jana"],
        ]
    # A change of the title still does.
    world.group.patch(f"{base}/{pid}", {"title": "Heat pumps at 210 °C"})
    assert _index_version(world) > before
    assert world.group.patch(f"{base}/{pid}", {"authors": []}).json["authors"] == []


def test_bad_authors_and_years_are_named(world) -> None:
    base = f"/api/v1/groups/{world.group_id}/publications"
    pid = world.group.post(base, {"title": "A paper", "authors": ["Petersen, Jana"]}).json["id"]
    for body, field in [
        ({"authors": ["Petersen, Jana", ""]}, "authors[1]"),
        ({"authors": ["Two\nlines"]}, "authors[0]"),
        ({"authors": "Petersen, Jana"}, "authors"),
        ({"authors": None}, "authors"),
        ({"authors": ["x"] * 101}, "authors"),
        ({"year": 1899}, "year"),
        ({"year": 2101}, "year"),
    ]:
        r = world.group.patch(f"{base}/{pid}", body)
        assert r.status_code == 422, (body, r.json)
        assert r.json["errors"][0]["field"] == field, (body, r.json)
    r = world.group.post(base, {"title": "B", "authors": ["a" * 201]})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "authors[0]"
    # Nothing half-written.
    assert world.group.get(f"{base}/{pid}").json["authors"] == ["Petersen, Jana"]
    assert world.company_a.patch(f"{base}/{pid}", {"authors": ["Mallory"]}).status_code == 403


def test_the_openapi_document_describes_authors(app) -> None:
    schemas = app.test_client().get("/api/openapi.json").json["components"]["schemas"]
    for name in ("PublicationIn", "PublicationPatch", "PublicationOut"):
        prop = schemas[name]["properties"]["authors"]
        assert "never matched on" in prop["description"], name
        options = prop.get("anyOf", [prop])
        assert any(o.get("type") == "array" for o in options), name
    assert "authors" in schemas["PublicationOut"]["required"]
    assert "authors" not in schemas["PublicationIn"].get("required", [])
    year = schemas["PublicationPatch"]["properties"]["year"]
    bounds = next(o for o in year.get("anyOf", [year]) if o.get("type") == "integer")
    assert (bounds["minimum"], bounds["maximum"]) == (1900, 2100)
