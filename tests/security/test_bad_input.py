"""Hostile input: each gets a clear problem document or is stored and shown safely."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.factories import challenge_body
from tests.security.conftest import Site

SCRIPT = '<script>alert("xss")</script>'
IMG = '"><img src=x onerror=alert(1)>'
SQL = "Robert'); DROP TABLE challenges;-- 100% _x_ \\"


def _total(site: Site) -> int:
    return int(site.api("office").get("/api/v1/challenges").json["total"])


def _raw_post(site: Site, data: bytes, content_type: str = "application/json") -> Any:
    return site.app.test_client().post(
        "/api/v1/challenges",
        data=data,
        headers={
            "Authorization": f"Bearer {site.tokens['company_a']}",
            "Content-Type": content_type,
        },
    )


def _is_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/problem+json"
    doc: dict[str, Any] = response.json
    assert doc["status"] == status and doc["title"]
    assert "Traceback" not in response.get_data(as_text=True)
    return doc


def test_an_oversized_body_is_refused_with_413(site: Site) -> None:
    limit = site.app.config["MAX_CONTENT_LENGTH"]
    body = json.dumps(challenge_body(summary="x" * (limit + 10))).encode()
    doc = _is_problem(_raw_post(site, body), 413)
    assert str(limit) in doc["detail"]
    assert _total(site) == 0


def test_deeply_nested_json_is_refused(site: Site) -> None:
    for depth in (40, 100_000):
        body = ("[" * depth + "]" * depth).encode()
        doc = _is_problem(_raw_post(site, body), 400)
        assert "nested too deeply" in doc["detail"]
    nested: Any = "x"
    for _ in range(50):
        nested = {"a": nested}
    doc = _is_problem(_raw_post(site, json.dumps(challenge_body(title=nested)).encode()), 400)
    assert _total(site) == 0


def test_invalid_utf8_and_non_json_are_refused(site: Site) -> None:
    doc = _is_problem(_raw_post(site, b'{"title": "caf\xe9"}'), 400)
    assert "UTF-8" in doc["detail"]
    _is_problem(_raw_post(site, b"{not json"), 400)
    _is_problem(_raw_post(site, b"title=x", "application/x-www-form-urlencoded"), 415)
    _is_problem(_raw_post(site, b"[1, 2]"), 422)
    assert _total(site) == 0


def test_control_characters_are_refused_naming_the_field(site: Site) -> None:
    api = site.api("company_a")
    for field, value in (
        ("title", "Heat\x00pump"),
        ("summary", "Waste\x1bheat"),
        ("confidential", "bell\x07"),
    ):
        doc = _is_problem(api.post("/api/v1/challenges", challenge_body(**{field: value})), 422)
        assert doc["errors"][0]["field"] == field
        assert "control characters" in doc["errors"][0]["message"]
    doc = _is_problem(api.post("/api/v1/challenges", challenge_body(title="two\nlines")), 422)
    assert doc["errors"][0]["field"] == "title"
    assert _total(site) == 0


def test_a_one_megabyte_text_is_refused_naming_the_field(site: Site) -> None:
    api = site.api("company_a")
    doc = _is_problem(api.post("/api/v1/challenges", challenge_body(summary="a" * 1_000_000)), 422)
    assert doc["errors"] == [
        {"field": "summary", "message": "String should have at most 20000 characters"}
    ]
    group = site.api("group")
    long_title = {"title": "t" * 1_000_000}
    doc = _is_problem(group.post(f"/api/v1/groups/{site.group_id}/publications", long_title), 422)
    assert doc["errors"][0]["field"] == "title"
    assert _total(site) == 0


def test_sql_metacharacters_are_only_text(site: Site) -> None:
    api = site.api("company_a")
    created = api.post("/api/v1/challenges", challenge_body(title=SQL, summary=f"Summary {SQL}"))
    assert created.status_code == 201
    assert created.json["title"] == SQL
    other = api.post("/api/v1/challenges", challenge_body(title="Plain title"))
    assert other.status_code == 201
    for q in ("Robert');", "DROP TABLE", "100%", "_x_", "\\"):
        found = api.get("/api/v1/challenges", query_string={"q": q}).json
        assert [c["title"] for c in found["items"]] == [SQL], q
    assert api.get("/api/v1/challenges", query_string={"q": "%"}).json["total"] == 1
    assert api.get("/api/v1/challenges", query_string={"q": "' OR '1'='1"}).json["total"] == 0
    assert api.get("/api/v1/challenges", query_string={"page": "1;DROP"}).status_code == 422
    assert _total(site) == 2


def _hostile_world(site: Site) -> None:
    """Markup in every text field a user can fill in, through the API."""
    tag = f"{SCRIPT}{IMG}"
    a = site.api("company_a")
    cid = a.post(
        "/api/v1/challenges",
        challenge_body(title=f"T {tag}", summary=f"S {tag}", confidential=f"C {tag}"),
    ).json["id"]
    group = site.api("group")
    assert (
        group.patch(
            f"/api/v1/groups/{site.group_id}",
            {
                "name": f"G {tag}",
                "head": f"H {tag}",
                "capabilities": f"Heat pumps {tag}",
                "methods": f"M {tag}",
                "contact": "lab@hs.example",
                "keywords": [f"k {tag}"],
            },
        ).status_code
        == 200
    )
    assert (
        group.post(
            f"/api/v1/groups/{site.group_id}/publications",
            {"title": f"P {tag}", "abstract": f"A {tag}"},
        ).status_code
        == 201
    )
    office = site.api("office")
    assert (
        office.patch(
            f"/api/v1/organisations/{site.company_a_id}", {"city": f"Hamburg {tag}"}
        ).status_code
        == 200
    )
    assert (
        office.put(
            "/api/v1/strategy", {"weights": {"smart_grids": 0.5}, "note": f"N {tag}"}
        ).status_code
        == 200
    )
    run = office.post("/api/v1/matching/runs", {"k": 1, "wait": True}).json
    assert run["status"] == "finished", run
    pid = office.get(f"/api/v1/proposals?challenge_id={cid}").json["items"][0]["id"]
    for step in ("shortlisted", "introduced"):
        assert (
            office.post(
                f"/api/v1/proposals/{pid}/decisions",
                {"to_status": step, "reason_code": "good_fit", "note": f"D {tag}"},
            ).status_code
            == 201
        )


@pytest.mark.committed  # a matching run (its heartbeat thread)
def test_markup_in_every_text_field_is_shown_escaped_on_every_page(site: Site) -> None:
    from tests.security.test_page_matrix import MATRIX

    _hostile_world(site)
    office = site.api("office")
    cid = office.get("/api/v1/challenges").json["items"][0]["id"]
    pid = office.get("/api/v1/proposals").json["items"][0]["id"]
    run = office.post("/api/v1/matching/runs", {"k": 1, "wait": True}).json["id"]
    admin = site.api("admin")
    uid = admin.get("/api/v1/users?q=lab@hs").json["items"][0]["id"]
    assert admin.patch(f"/api/v1/users/{uid}", {"name": f"N {SCRIPT}{IMG}"}).status_code == 200
    ids = {"c": cid, "draft": cid, "p": pid, "run": run, "pub": 1, "u": uid, "rt": "x"}
    ids["g"] = site.group_id
    pages = sorted({t.format(**ids) for m, t, _, _ in MATRIX if m == "get"})
    pages += ["/group/matches?lang=en", f"/challenges/similar?q=T+{SCRIPT}"]
    shown = 0
    for role in ("company_a", "group", "office", "admin"):
        browser = site.browser(role)
        for url in pages:
            response = browser.get(url)
            if response.status_code != 200 or response.mimetype != "text/html":
                continue
            html = response.get_data(as_text=True)
            assert SCRIPT not in html, (role, url)
            assert "<img src=x" not in html, (role, url)
            shown += html.count("&lt;script&gt;alert(")
    assert shown >= 10  # the markup is on the pages, as text
