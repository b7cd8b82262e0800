"""Readiness, metrics, request ids and JSON logs; several app processes sharing one database."""

from __future__ import annotations

import io
import json
import logging
import time
from dataclasses import replace

import pytest

from matchmaker import create_app
from matchmaker.config import Settings
from matchmaker.imports import run_import
from matchmaker.observability import ContextFilter, JsonFormatter, request_id_var
from tests import factories
from tests.conftest import Api
from tests.factories import challenge_body
from tests.production.conftest import group_rows, jsonl

# Warm-up and index builds in background threads; apps of their own.
pytestmark = pytest.mark.committed


def _wait_ready(client, seconds: float = 60):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while True:
        r = client.get("/readyz")
        if r.status_code == 200 or time.monotonic() > deadline:
            return r
        time.sleep(0.1)


def test_readyz_waits_for_the_index_then_is_ready(app) -> None:
    client = app.test_client()
    first = client.get("/readyz")
    assert first.status_code == 503
    assert first.json["checks"]["database"] == "ok"
    assert first.json["checks"]["index"]["state"] == "loading"
    r = _wait_ready(client)
    assert r.status_code == 200, r.json
    assert r.json["checks"]["model"] == "ok" and r.json["checks"]["index"]["loaded"]
    assert client.get("/healthz").status_code == 200


def test_after_the_index_the_warm_up_compiles_the_query_shapes(app, caplog) -> None:
    matcher = app.extensions["matchmaker.matcher"]
    with caplog.at_level(logging.INFO, logger="matchmaker"):
        matcher.warm_up().join(120)
    assert not matcher.warm_thread.is_alive()
    assert matcher.index_loaded and not matcher.last_error
    warm_shapes = getattr(matcher.embedder, "warm_shapes", None)
    expected = warm_shapes() if warm_shapes is not None else 0  # the same shapes once more
    warmed = [r.getMessage() for r in caplog.records if "input shapes" in r.getMessage()]
    if expected:  # an OpenVINO backend (the default): one line naming the shapes
        assert warmed and warmed[0].startswith(f"encoder warmed for {expected} input shapes")
    else:
        assert not warmed


def test_one_warm_up_at_a_time_and_the_shapes_once(app, caplog) -> None:
    matcher = app.extensions["matchmaker.matcher"]
    with caplog.at_level(logging.INFO, logger="matchmaker"):
        first = matcher.warm_up()
        assert matcher.warm_up() is first  # /readyz polls while the worker is loading
        first.join(120)
        second = matcher.warm_up()  # a later warm-up (the first one failed, say) runs anew
        assert second is not first
        second.join(120)
    warmed = [r for r in caplog.records if "input shapes" in r.getMessage()]
    assert len(warmed) == (1 if getattr(matcher.embedder, "warm_shapes", None) else 0)


def test_readyz_is_not_ready_without_the_database(settings: Settings, embedder) -> None:
    broken = replace(settings, database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    app = create_app(broken, embedder=embedder, TESTING=True)
    r = app.test_client().get("/readyz")
    assert r.status_code == 503
    assert r.json["checks"]["database"].startswith("unavailable")
    assert app.test_client().get("/healthz").status_code == 200  # alive, just not ready


def test_metrics_cover_requests_ranking_embedding_and_jobs(app) -> None:
    office = Api(app.test_client(), factories.user(app, "office@hamburg.example", "office"))
    run_import(app, jsonl(group_rows(3)))
    company = factories.organisation(app, "Elbe Copper AG")
    cid = office.post("/api/v1/challenges", challenge_body(organisation_id=company)).json["id"]
    assert office.get(f"/api/v1/challenges/{cid}/matches").status_code == 200
    text = office.get("/metrics").get_data(as_text=True)
    assert (
        'matchmaker_http_request_duration_seconds_count{endpoint="/api/v1/challenges/'
        '<int:challenge_id>/matches",method="GET",status="200"}' in text
    )
    assert 'matchmaker_ranking_duration_seconds_count{index="groups",operation=' in text
    assert "matchmaker_embedded_passages_total" in text
    assert "matchmaker_embedding_seconds_total" in text
    assert 'matchmaker_job_queue_depth{state="queued"}' in text


def test_metrics_token(settings: Settings, embedder) -> None:
    app = create_app(replace(settings, metrics_token="s3cret"), embedder=embedder, TESTING=True)
    client = app.test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_unknown_methods_share_one_metric_series(app) -> None:
    client = app.test_client()
    for method in ("QWERTYZ", "PROPFIND", "Get", "BREW"):
        assert client.open("/api/v1/challenges", method=method).status_code in (400, 401, 405)
    client.open("/healthz", method="DELETE")
    text = client.get("/metrics").get_data(as_text=True)
    for method in ("QWERTYZ", "PROPFIND", "Get", "BREW"):
        assert f'method="{method}"' not in text
    assert 'endpoint="unmatched",method="other"' in text or 'method="other"' in text
    assert 'method="DELETE"' in text  # a standard method keeps its name
    assert 'method="GET"' in text


def test_request_id_is_echoed_and_logged_as_json(app) -> None:
    client = app.test_client()
    r = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert r.headers["X-Request-ID"] == "abc-123"
    generated = client.get("/healthz", headers={"X-Request-ID": "bad id"}).headers["X-Request-ID"]
    assert generated != "bad id" and len(generated) == 32

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("matchmaker.access")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        client.get("/api/v1/me", headers={"X-Request-ID": "req-42"})
    finally:
        logger.removeHandler(handler)
    record = json.loads(stream.getvalue().splitlines()[-1])
    assert record["request_id"] == "req-42" and record["status"] == 401
    assert record["path"] == "/api/v1/me" and record["level"] == "INFO"
    assert request_id_var.get() == ""


def test_a_group_created_through_one_app_is_found_by_another(settings: Settings, embedder) -> None:
    # Two processes' worth of apps (two gunicorn workers, or two hosts) on one database.
    fast = replace(settings, index_check_seconds=0.5)
    app_a = create_app(fast, embedder=embedder, TESTING=True)
    app_b = create_app(fast, embedder=embedder, TESTING=True)
    run_import(app_a, jsonl(group_rows(6)))
    token = factories.user(app_a, "office@hamburg.example", "office")
    a, b = Api(app_a.test_client(), token), Api(app_b.test_client(), token)
    company = factories.organisation(app_a, "Elbe Copper AG")
    cid = a.post(
        "/api/v1/challenges",
        challenge_body(
            organisation_id=company,
            title="Cryogenic air separation with liquefied natural gas cold",
            summary="We want to use the cold of regasified LNG in our cryogenic air separation.",
            fields=["sector_coupling"],
        ),
    ).json["id"]
    names = [m["group"] for m in b.get(f"/api/v1/challenges/{cid}/matches").json["items"]]
    assert "Cryogenics Lab" not in names
    inst = factories.organisation(app_a, "Hochschule Altona", "institution")
    r = a.post(
        "/api/v1/groups",
        {
            "name": "Cryogenics Lab",
            "institution_id": inst,
            "capabilities": "Cryogenic air separation using LNG regasification cold.",
            "fields": ["sector_coupling"],
            "trl_min": 3,
            "trl_max": 7,
        },
    )
    assert r.status_code == 201
    created = time.monotonic()
    while True:
        items = b.get(f"/api/v1/challenges/{cid}/matches").json["items"]
        if items and items[0]["group"] == "Cryogenics Lab":
            break
        assert time.monotonic() - created < 0.5 + 5, "app B never saw the new group"
        time.sleep(0.05)
    assert time.monotonic() - created < 0.5 + 5
    for x in (app_a, app_b):
        x.extensions["matchmaker.engine"].dispose()
