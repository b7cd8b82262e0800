"""Fixtures of the production tests: a Redis database for jobs, generated import files.

``MATCHMAKER_TEST_REDIS_URL`` (CI sets it) names a Redis database the tests may empty; the
Redis tests are skipped only when it is unset.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest

REDIS_URL = os.environ.get("MATCHMAKER_TEST_REDIS_URL", "")

TOPICS = [
    ("heat pumps", "industrial waste heat", "process steam", "energy_efficiency"),
    ("battery storage", "grid frequency", "power electronics", "smart_grids"),
    ("electric trucks", "depot charging", "port logistics", "smart_mobility"),
    ("building automation", "HVAC control", "occupancy sensing", "smart_buildings"),
    ("electrolysis", "hydrogen", "power-to-heat", "sector_coupling"),
    ("machine learning", "anomaly detection", "digital twins", "ai_digitisation"),
]


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The test Redis database, emptied before and after the test."""
    if not REDIS_URL:
        pytest.skip("MATCHMAKER_TEST_REDIS_URL not set")
    from redis import Redis

    conn = Redis.from_url(REDIS_URL)
    conn.flushdb()
    yield REDIS_URL
    conn.flushdb()
    conn.close()


def group_rows(
    n: int, publications: int = 2, words: int = 40, prefix: str = "g"
) -> list[dict[str, Any]]:
    """``n`` research groups in the import format, each with distinct text."""
    rows = []
    for i in range(n):
        a, b, c, field = TOPICS[i % len(TOPICS)]
        filler = " ".join(f"{b} study {i}-{k} on {c}." for k in range(max(1, words // 6)))
        rows.append(
            {
                "key": f"{prefix}-{i}",
                "institution": f"Technische Hochschule {i % 3}",
                "name": f"{a.title()} Group {prefix}{i}",
                "capabilities": f"We work on {a} for {b} and {c}. {filler}",
                "methods": f"Test rig {i}; simulation of {c}.",
                "keywords": [a, b],
                "fields": [field],
                "trl_min": 2 + i % 3,
                "trl_max": 6 + i % 3,
                "capacity": 1 + i % 3,
                "publications": [
                    {
                        "title": f"{a.title()} and {c}: paper {k} of group {i}",
                        "abstract": f"We study {a} in {b}. {filler} Result {k} of {i}.",
                        "year": 2020 + k % 5,
                    }
                    for k in range(publications)
                ],
            }
        )
    return rows


def jsonl(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)
