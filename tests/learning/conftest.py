"""Fixtures of the learning tests: the API world of ``tests/api`` with its own models folder."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from matchmaker.config import Settings
from tests.api.conftest import World, world  # noqa: F401  (the fixture, shared)


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    return tmp_path / "models"


@pytest.fixture
def settings(settings: Settings, models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The shared settings, with the learned model kept in this test's own folder."""
    monkeypatch.setenv("MATCHMAKER_MODELS_DIR", str(models_dir))
    if "models_dir" in {f.name for f in dataclasses.fields(Settings)}:
        return dataclasses.replace(settings, models_dir=str(models_dir))  # type: ignore[call-arg]
    return settings


__all__ = ["World"]
