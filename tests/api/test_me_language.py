"""The caller's own account: its language in ``GET /api/v1/me`` and changed by ``PATCH``."""

from __future__ import annotations

from matchmaker.accounts.models import User
from matchmaker.audit.models import AuditEvent
from matchmaker.db import session_scope


def _stored(world, email: str) -> User:
    with session_scope(world.app) as s:
        user = s.query(User).filter_by(email=email).one()
        s.expunge(user)
        return user


def test_language_round_trip(world) -> None:
    me = world.company_a.get("/api/v1/me").json
    assert me["language"] == "de"  # not chosen yet: German, as the e-mails are
    assert _stored(world, "a@elbwerk.example").language is None
    r = world.company_a.patch("/api/v1/me", {"language": "en"})
    assert r.status_code == 200, r.json
    assert r.json["language"] == "en"
    assert world.company_a.get("/api/v1/me").json["language"] == "en"
    assert _stored(world, "a@elbwerk.example").language == "en"
    # The user's own change is in the audit log.
    with session_scope(world.app) as s:
        user = s.query(User).filter_by(email="a@elbwerk.example").one()
        event = s.query(AuditEvent).filter_by(entity="user", entity_id=user.id).one()
        assert event.actor_id == user.id and event.changes == {"language": [None, "en"]}
    assert world.company_a.patch("/api/v1/me", {"language": "de"}).json["language"] == "de"
    # Only the caller changed.
    assert world.company_b.get("/api/v1/me").json["language"] == "de"
    assert _stored(world, "b@stahl.example").language is None


def test_name_changes_and_nothing_else_does(world) -> None:
    r = world.group.patch("/api/v1/me", {"name": "Jana Petersen"})
    assert r.status_code == 200 and r.json["name"] == "Jana Petersen"
    for body, field in [
        ({"language": "fr"}, "language"),
        ({"language": "DE"}, "language"),
        ({"language": None}, "language"),
        ({"role": "admin"}, "role"),
        ({"group_id": 99}, "group_id"),
        ({"active": False}, "active"),
        ({"email": "x@y.example"}, "email"),
        ({"name": "Two\nlines"}, "name"),
    ]:
        r = world.group.patch("/api/v1/me", body)
        assert r.status_code == 422, (body, r.json)
        assert r.json["errors"][0]["field"] == field, (body, r.json)
    user = _stored(world, "lab@hs.example")
    assert (user.role.value, user.active, user.language, user.name) == (
        "group",
        True,
        None,
        "Jana Petersen",
    )
    assert world.anonymous.patch("/api/v1/me", {"language": "en"}).status_code == 401


def test_the_admins_list_shows_each_users_language(world) -> None:
    world.company_b.patch("/api/v1/me", {"language": "en"})
    users = {u["email"]: u for u in world.admin.get("/api/v1/users").json["items"]}
    assert users["b@stahl.example"]["language"] == "en"
    assert users["a@elbwerk.example"]["language"] == "de"


def test_the_openapi_document_describes_patch_me(app) -> None:
    spec = app.test_client().get("/api/openapi.json").json
    assert "patch" in spec["paths"]["/api/v1/me"]
    schemas = spec["components"]["schemas"]
    assert set(schemas["MePatch"]["properties"]) == {"name", "language"}
    assert schemas["MePatch"].get("additionalProperties") is False
    assert "language" in schemas["UserOut"]["required"]
