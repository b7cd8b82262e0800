"""The whole database out as JSON and back in; an organisation erased with its personal data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from matchmaker import create_app
from matchmaker.audit.models import AuditEvent
from matchmaker.cli import main, run_migrations
from matchmaker.db import session_scope
from tests.factories import challenge_body
from tests.security.conftest import Site

# The CLI's export, import and erasure run in processes of their own.
pytestmark = pytest.mark.committed

SECRET = "Zanderwerft"


def _cli(url: str, *args: str, input: str | None = None) -> Any:
    env = {
        "MATCHMAKER_DATABASE_URL": url,
        "MATCHMAKER_SECRET_KEY": "test-secret",
        "HF_HUB_OFFLINE": "1",
    }
    return CliRunner().invoke(main, list(args), env=env, input=input, catch_exceptions=False)


def _populate(site: Site) -> dict[str, Any]:
    """Everything the service stores: challenges, groups, publications, a run, decisions."""
    a, office = site.api("company_a"), site.api("office")
    cid = a.post(
        "/api/v1/challenges", challenge_body(confidential=f"Site {SECRET}; budget approved.")
    ).json["id"]
    b_cid = (
        site.api("company_b")
        .post(
            "/api/v1/challenges",
            challenge_body(
                title="Hydrogen-ready burners for the rolling mill",
                summary="We look for partners to test hydrogen blends in our burners.",
                fields=["sector_coupling"],
            ),
        )
        .json["id"]
    )
    assert (
        site.api("group")
        .post(
            f"/api/v1/groups/{site.group_id}/publications",
            {
                "title": "Heat pumps at 200 °C",
                "abstract": "Results from the test rig.",
                "year": 2024,
            },
        )
        .status_code
        == 201
    )
    assert (
        office.put(
            "/api/v1/strategy", {"weights": {"sector_coupling": 0.8}, "note": "Focus"}
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
                {
                    "to_status": step,
                    "reason_code": "good_fit",
                    "note": f"Talked to {SECRET} team",
                },
            ).status_code
            == 201
        )
    return {"challenge": cid, "b_challenge": b_cid, "proposal": pid}


def _without_time(dump: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in dump.items() if k != "exported_at"}


def test_export_and_import_round_trip(site: Site, tmp_path: Path, embedder: Any) -> None:
    _populate(site)
    source = str(site.app.extensions["matchmaker.engine"].url.render_as_string(hide_password=False))
    first = tmp_path / "first.json"
    result = _cli(source, "export", str(first))
    assert result.exit_code == 0, result.output
    dump = json.loads(first.read_text())
    assert dump["format"] == "matchmaker-dump"
    for table in (
        "challenges",
        "research_groups",
        "publications",
        "proposals",
        "decisions",
        "strategy_versions",
        "audit_events",
        "users",
        "api_tokens",
        "passage_embeddings",
    ):
        assert dump["tables"][table]["rows"], table
    assert oct(first.stat().st_mode)[-3:] == "600"

    # Into a new database of the other kind when the source is PostgreSQL (a move in or out).
    target = f"sqlite:///{tmp_path / 'restored.sqlite3'}"
    run_migrations(target)
    result = _cli(target, "import-dump", str(first))
    assert result.exit_code == 0, result.output
    second = tmp_path / "second.json"
    assert _cli(target, "export", str(second)).exit_code == 0
    assert _without_time(json.loads(second.read_text())) == _without_time(dump)

    # The restored service works as before: the same tokens, the same confidential rules.
    from matchmaker.config import Settings

    restored = create_app(
        Settings.from_env({}, database_url=target, secret_key="x"), embedder=embedder, TESTING=True
    )
    client = restored.test_client()
    auth = {"Authorization": f"Bearer {site.tokens['company_b']}"}
    mine = client.get("/api/v1/challenges", headers=auth).json
    assert mine["total"] == 1 and SECRET not in json.dumps(mine)
    created = client.post("/api/v1/challenges", json=challenge_body(), headers=auth)
    assert created.status_code == 201
    assert created.json["id"] > max(r[0] for r in dump["tables"]["challenges"]["rows"])
    restored.extensions["matchmaker.engine"].dispose()

    # And back over the source (replacing it): the same data again.
    assert _cli(source, "import-dump", "--replace", str(first)).exit_code == 0
    third = tmp_path / "third.json"
    assert _cli(source, "export", str(third)).exit_code == 0
    assert _without_time(json.loads(third.read_text())) == _without_time(dump)


def test_import_refuses_a_filled_database_or_a_foreign_file(site: Site, tmp_path: Path) -> None:
    _populate(site)
    url = str(site.app.extensions["matchmaker.engine"].url.render_as_string(hide_password=False))
    path = tmp_path / "dump.json"
    assert _cli(url, "export", str(path)).exit_code == 0
    result = _cli(url, "import-dump", str(path))
    assert result.exit_code == 2
    assert "not empty" in result.output
    junk = tmp_path / "junk.json"
    junk.write_text('{"hello": "world"}')
    result = _cli(url, "import-dump", str(junk))
    assert result.exit_code == 2 and "not a Matchmaker dump" in result.output
    before = site.api("office").get("/api/v1/challenges").json["total"]
    assert before == 2  # nothing changed


def test_erasing_a_company_keeps_statistics_only(site: Site, tmp_path: Path) -> None:
    ids = _populate(site)
    url = str(site.app.extensions["matchmaker.engine"].url.render_as_string(hide_password=False))
    office = site.api("office")
    stats_before = office.get("/api/v1/proposals").json["total"]

    result = _cli(url, "erase-organisation", str(site.company_a_id), input="y\n")
    assert result.exit_code == 0, result.output
    assert "erased organisation" in result.output

    path = tmp_path / "after.json"
    assert _cli(url, "export", str(path)).exit_code == 0
    everything = path.read_text()
    for gone in (
        "Elbwerk Kupfer GmbH",
        "a@elbwerk.example",
        SECRET,
        "Waste heat from the copper furnace",
        "district heating grid",
    ):
        assert gone not in everything, gone
    # The other company, the group and the office keep all of theirs.
    for kept in (
        "Harburger Stahl AG",
        "b@stahl.example",
        "Hydrogen-ready burners",
        "Thermal Lab",
        "Heat pumps at 200",
    ):
        assert kept in everything, kept

    # Anonymised statistics: the challenge, its fields, TRLs and the pipeline steps remain.
    challenge = office.get(f"/api/v1/challenges/{ids['challenge']}?archived=true").json
    assert challenge["title"] == f"Erased challenge {ids['challenge']}"
    assert challenge["fields"] == challenge_body()["fields"] and challenge["trl_now"] == 4
    assert challenge["archived"] is True
    proposal = office.get(f"/api/v1/proposals/{ids['proposal']}").json
    assert proposal["status"] == "introduced" and proposal["score"] > 0
    assert proposal["evidence"] == {"pairs": [], "terms": []}
    decisions = office.get(f"/api/v1/proposals/{ids['proposal']}/decisions").json["items"]
    assert [d["to_status"] for d in decisions] == ["shortlisted", "introduced"]
    assert all(d["note"] == "" for d in decisions)
    assert office.get("/api/v1/proposals").json["total"] == stats_before

    # The company's people can no longer get in.
    assert site.api("company_a").get("/api/v1/me").status_code == 401
    assert site.browser("anonymous").login(site.emails["company_a"]).status_code == 401
    with session_scope(site.app) as s:
        erase = s.scalar(select(AuditEvent).where(AuditEvent.action == "erase"))
        assert erase is not None and erase.entity_id == site.company_a_id
        assert erase.changes["challenges"] == 1


def test_erasing_an_institution_removes_its_groups_texts(site: Site) -> None:
    from matchmaker.dump import erase_organisation

    _populate(site)
    with session_scope(site.app) as s:
        counts = erase_organisation(s, site.institution_id)
    assert counts["groups"] == 1 and counts["publications"] == 1 and counts["users"] == 1
    group = site.api("office").get(f"/api/v1/groups/{site.group_id}").json
    assert group["name"] == f"Erased group {site.group_id}"
    assert group["capabilities"] == "" and group["contact"] == ""
    assert site.api("office").get(f"/api/v1/groups/{site.group_id}/publications").json["total"] == 0
    assert site.api("group").get("/api/v1/me").status_code == 401
    with session_scope(site.app) as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent)) > 0
