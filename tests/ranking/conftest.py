"""Fixtures of the ranking tests: the real embedding model, loaded once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from matchmaker.ranking.batch import read_profiles
from matchmaker.ranking.embed import Embedder
from matchmaker.ranking.scoring import CandidateIndex
from matchmaker.ranking.types import Profile

from ..conftest import default_embedder

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The bundled all-MiniLM-L6-v2, offline, one thread, run by the configured backend."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return default_embedder(threads=1)


@pytest.fixture(scope="session")
def groups() -> list[Profile]:
    """Five hand-written research groups (heat pumps, batteries, mobility, buildings, ML)."""
    return read_profiles(DATA / "groups.jsonl")


@pytest.fixture(scope="session")
def challenges() -> list[Profile]:
    """Three hand-written challenges (steam from waste heat, battery storage, e-trucks)."""
    return read_profiles(DATA / "challenges.jsonl")


@pytest.fixture(scope="session")
def group_index(groups: list[Profile], embedder: Embedder) -> CandidateIndex:
    """The groups as candidates."""
    return CandidateIndex.build(groups, embedder)


@pytest.fixture(scope="session")
def challenge_index(challenges: list[Profile], embedder: Embedder) -> CandidateIndex:
    """The challenges as candidates (a group as the query)."""
    return CandidateIndex.build(challenges, embedder)


def by_id(profiles: list[Profile], id_: str) -> Profile:
    """The profile with ``id_``."""
    return next(p for p in profiles if p.id == id_)
