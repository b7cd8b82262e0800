"""The matching run page: progress in challenges and a summary of what the run did, in German
and English."""

from __future__ import annotations

import re
import time

import pytest

from matchmaker.db import session_scope
from matchmaker.matching.models import MatchingRun, RunStatus
from tests.web.conftest import post_challenge

# Matching runs (their heartbeat thread).
pytestmark = pytest.mark.committed


def _finished_run(world, office, k: int, m: int) -> str:
    response = office.post("/office/matching", {"k": str(k), "max_per_institution": str(m)})
    assert response.status_code == 302
    url = response.headers["Location"]
    run_id = url.rstrip("/").split("/")[-1]
    for _ in range(120):
        status = office.get(f"/api/v1/matching/runs/{run_id}").json["status"]
        if status in ("finished", "failed"):
            break
        time.sleep(0.5)
    assert status == "finished"
    return url


def test_the_run_page_sums_up_the_run_in_german_and_english(world) -> None:
    cid = post_challenge(world)
    office = world.browser("office@hamburg.example")
    # Both groups are of one institution: at most one of them per challenge.
    url = _finished_run(world, office, k=2, m=1)
    html = office.text(url)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert "1 / 1 Herausforderungen abgeglichen" in text
    assert "Abgeglichene Herausforderungen 1 (1 mit Vorschlägen)" in text
    assert "Erstellte Vorschläge 1" in text
    assert "k = 2 · höchstens 1 je Einrichtung" in text
    assert "1 von 2 Gruppen der reinen Top-k wurden ersetzt" in text
    assert "Herausforderungen mit weniger als 2 Gruppen" in text
    assert f'href="/challenges/{cid}"' in html
    assert "1 von 2" in text and "1 Gruppe durch die Grenze je Einrichtung zurückgehalten" in text

    assert office.get(f"/lang/en?next={url}").status_code == 302
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", office.text(url)))
    assert "1 / 1 challenges matched" in text
    assert "Challenges matched 1 (1 with proposals)" in text
    assert "1 of 2 groups of the plain top k were replaced" in text
    assert "Challenges with fewer than 2 groups" in text
    assert "1 group held back by the institution limit" in text

    # With room for both, every challenge gets k groups.
    url = _finished_run(world, office, k=1, m=1)
    assert "Every challenge got 1 group." in office.text(url)


def test_a_run_from_before_says_what_it_did_not_record(world) -> None:
    with session_scope(world.app) as s:
        run = MatchingRun(
            k=3,
            max_per_institution=2,
            strategy_version=1,
            status=RunStatus.FINISHED,
            done=3,
            total=3,
            summary={
                "challenges": 48,
                "groups": 60,
                "proposals": 162,
                "changed_by_constraints": 125,
            },
        )
        s.add(run)
        s.flush()
        run_id = run.id
    office = world.browser("office@hamburg.example")
    text = re.sub(
        r"\s+", " ", re.sub(r"<[^>]+>", " ", office.text(f"/office/matching/runs/{run_id}"))
    )
    assert "Abgeglichene Herausforderungen 48" in text and "Erstellte Vorschläge 162" in text
    assert "Durch die Nebenbedingungen geändert 125" in text
    assert "Für diesen Lauf nicht erfasst" in text
