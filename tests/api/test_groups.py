"""Research groups and publications through the API."""

from __future__ import annotations

from tests.factories import group_body


def test_group_user_registers_its_own_profile_once(world) -> None:
    from tests import factories

    token = factories.user(world.app, "new@hs.example", "group", "Hochschule Altona")
    from tests.conftest import Api

    newcomer = Api(world.group.client, token)
    r = newcomer.post("/api/v1/groups", group_body())
    assert r.status_code == 201, r.json
    assert r.json["institution"] == "Hochschule Altona"
    assert r.json["publications"][0]["title"].startswith("High-temperature")
    assert r.json["contact"] == "petersen@uni.example"
    assert newcomer.get("/api/v1/me").json["group_id"] == r.json["id"]
    assert newcomer.post("/api/v1/groups", group_body()).status_code == 409


def test_profile_edits_and_contact_visibility(world) -> None:
    gid = world.group_id
    r = world.group.patch(f"/api/v1/groups/{gid}", {"capacity": 4, "keywords": ["heat pumps"]})
    assert r.status_code == 200 and r.json["capacity"] == 4
    assert world.company_a.get(f"/api/v1/groups/{gid}").json["contact"] is None
    assert world.office.get(f"/api/v1/groups/{gid}").json["contact"] == "lab@hs.example"
    assert world.company_a.patch(f"/api/v1/groups/{gid}", {"capacity": 0}).status_code == 403
    assert (
        world.group.patch(f"/api/v1/groups/{gid}", {"capacity": -1}).json["errors"][0]["field"]
        == "capacity"
    )
    r = world.group.patch(f"/api/v1/groups/{gid}", {"trl_min": 9})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "trl_max"
    assert world.office.get(f"/api/v1/groups/{gid}").json["trl_min"] == 3


def test_other_group_cannot_edit(world) -> None:
    from tests import factories
    from tests.conftest import Api

    other = Api(
        world.group.client, factories.user(world.app, "x@hs.example", "group", "Hochschule Altona")
    )
    created = other.post("/api/v1/groups", group_body(name="Other Lab")).json["id"]
    assert other.patch(f"/api/v1/groups/{world.group_id}", {"name": "Hijacked"}).status_code == 403
    assert (
        other.post(f"/api/v1/groups/{world.group_id}/publications", {"title": "x"}).status_code
        == 403
    )
    assert world.group.delete(f"/api/v1/groups/{created}").status_code == 403


def test_publications_crud(world) -> None:
    base = f"/api/v1/groups/{world.group_id}/publications"
    r = world.group.post(
        base,
        {
            "title": "Heat pumps at 200 °C",
            "abstract": "We report ...",
            "year": 2025,
            "doi": "10.5555/x",
        },
    )
    assert r.status_code == 201
    pid = r.json["id"]
    assert world.company_a.get(base).json["total"] == 1
    r = world.group.patch(f"{base}/{pid}", {"year": 2024, "doi": None})
    assert r.json["year"] == 2024 and r.json["doi"] == ""
    assert world.group.post(base, {"title": "x", "year": 1500}).json["errors"][0]["field"] == "year"
    assert world.group.post(base, {"abstract": "no title"}).json["errors"][0]["field"] == "title"
    assert world.group.delete(f"{base}/{pid}").status_code == 204
    assert world.group.get(f"{base}/{pid}").status_code == 404
    assert world.group.get("/api/v1/groups/999/publications").status_code == 404


def test_group_must_belong_to_an_institution(world) -> None:
    r = world.office.post("/api/v1/groups", group_body(institution_id=world.company_a_id))
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "institution_id"
    r = world.office.post("/api/v1/groups", group_body())
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "institution_id"
    r = world.company_a.post("/api/v1/groups", group_body())
    assert r.status_code == 403


def test_group_list_filters(world) -> None:
    world.office.post(
        "/api/v1/groups",
        group_body(
            institution_id=world.institution_id,
            name="Grid Lab",
            fields=["smart_grids"],
            capabilities="Grid planning.",
        ),
    )
    assert world.company_a.get("/api/v1/groups?field=smart_grids").json["total"] == 1
    assert (
        world.company_a.get("/api/v1/groups?q=grid planning").json["items"][0]["name"] == "Grid Lab"
    )
    assert (
        world.company_a.get(f"/api/v1/groups?institution_id={world.institution_id}").json["total"]
        == 2
    )
