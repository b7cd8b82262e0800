"""The OpenAPI document, the docs page, the CLI and the sample data."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from matchmaker.api.spec import OPERATIONS
from matchmaker.cli import main
from matchmaker.db import session_scope


def test_openapi_document_lists_every_route(app) -> None:
    doc = app.test_client().get("/api/openapi.json").json
    assert doc["openapi"].startswith("3.")
    api_rules = {
        (m.lower(), r.rule)
        for r in app.url_map.iter_rules()
        if r.rule.startswith("/api/v1")
        for m in r.methods - {"HEAD", "OPTIONS"}
    }
    documented = set()
    for path, ops in doc["paths"].items():
        for method in ops:
            rule = path
            for op in OPERATIONS:
                if op.path == path:
                    break
            documented.add((method, rule))
    flask_paths = {(m, r.replace("<int:", "{").replace(">", "}")) for m, r in api_rules}
    assert flask_paths == documented
    create = doc["paths"]["/api/v1/challenges"]["post"]
    schema_name = create["requestBody"]["content"]["application/json"]["schema"]["$ref"].split("/")[
        -1
    ]
    props = doc["components"]["schemas"][schema_name]["properties"]
    assert {"title", "summary", "confidential", "fields", "trl_now", "trl_target"} <= set(props)
    assert "422" in create["responses"] and "401" in create["responses"]


def test_docs_page(app) -> None:
    page = app.test_client().get("/api/docs")
    assert page.status_code == 200
    assert "/api/v1/challenges" in page.get_data(as_text=True)
    assert "cdn" not in page.get_data(as_text=True).lower()


def test_docs_page_links_its_stylesheet_and_has_no_inline_style(app) -> None:
    client = app.test_client()
    page = client.get("/api/docs")
    html = page.get_data(as_text=True)
    assert '<link rel="stylesheet" href="/static/api-docs.css">' in html
    assert "<style" not in html and " style=" not in html
    policy = page.headers["Content-Security-Policy"]
    styles = next(d.strip() for d in policy.split(";") if d.strip().startswith("style-src"))
    assert styles == "style-src 'self'"
    css = client.get("/static/api-docs.css")
    assert css.status_code == 200 and css.mimetype == "text/css"
    assert ".op{" in css.get_data(as_text=True)


def test_unknown_route_and_method_are_problems(app) -> None:
    client = app.test_client()
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.mimetype == "application/problem+json"
    r = client.put("/api/v1/challenges")
    assert r.status_code == 405 and r.mimetype == "application/problem+json"


def test_server_error_does_not_leak_a_stack_trace(app, monkeypatch) -> None:
    from matchmaker.challenges import service

    def boom(*_a, **_k):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(service, "list_challenges", boom)
    from tests import factories

    token = factories.user(app, "o@x.example", "office")
    app.config["PROPAGATE_EXCEPTIONS"] = False
    r = app.test_client().get("/api/v1/challenges", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 500
    body = r.get_data(as_text=True)
    assert "secret internal detail" not in body and "Traceback" not in body
    assert r.json["title"] == "Internal server error"


def _run_cli(args: list[str], database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MATCHMAKER_DATABASE_URL": database_url, "MATCHMAKER_SECRET_KEY": "x"}
    return subprocess.run(
        [sys.executable, "-m", "matchmaker", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


@pytest.mark.committed  # the CLI's own app writes
def test_create_user_prints_a_working_token(app, database_url) -> None:
    from tests import factories

    factories.organisation(app, "Elbwerk Kupfer GmbH")
    runner = CliRunner(env={"MATCHMAKER_DATABASE_URL": database_url, "MATCHMAKER_SECRET_KEY": "x"})
    result = runner.invoke(
        main,
        [
            "create-user",
            "--email",
            "e@elbwerk.example",
            "--role",
            "company",
            "--organisation",
            "Elbwerk Kupfer GmbH",
        ],
    )
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    r = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.json["email"] == "e@elbwerk.example" and r.json["role"] == "company"
    bad = runner.invoke(
        main,
        [
            "create-user",
            "--email",
            "x@y.example",
            "--role",
            "company",
            "--organisation",
            "Nobody GmbH",
        ],
    )
    assert bad.exit_code == 2 and "organisation" in bad.output


def test_sample_data_loads_once(app) -> None:
    from matchmaker.challenges.models import Challenge
    from matchmaker.fields import FIELD_KEYS
    from matchmaker.groups.models import Publication, ResearchGroup
    from matchmaker.seed import load_sample_data

    with session_scope(app) as s:
        first = load_sample_data(s)
    with session_scope(app) as s:
        second = load_sample_data(s)
        n_challenges = s.scalar(select(func.count()).select_from(Challenge))
        n_groups = s.scalar(select(func.count()).select_from(ResearchGroup))
        n_pubs = s.scalar(select(func.count()).select_from(Publication))
        fields = {f for c in s.scalars(select(Challenge)) for f in c.fields}
    assert first["challenges"] >= 40 and first["groups"] >= 60
    assert not any(second.values())
    assert (n_challenges, n_groups, n_pubs) == (
        first["challenges"],
        first["groups"],
        first["publications"],
    )
    assert fields == set(FIELD_KEYS)


def test_seed_data_files_are_valid() -> None:
    seed = Path(__file__).resolve().parents[2] / "seed_data"
    assert (seed / "judgements.jsonl").exists()
    assert sum(1 for line in (seed / "judgements.jsonl").open() if line.strip()) >= 300
