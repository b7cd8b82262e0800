"""Commands run with the service's environment but without the web workers' warm-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from matchmaker import cli


def test_a_command_never_warms_up_even_when_the_environment_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MATCHMAKER_WARM_UP", "1")
    monkeypatch.setenv("MATCHMAKER_DATABASE_URL", f"sqlite:///{tmp_path / 'm.sqlite3'}")
    monkeypatch.setenv("MATCHMAKER_SECRET_KEY", "test")
    app = cli._app()
    matcher = app.extensions["matchmaker.matcher"]
    assert app.extensions["matchmaker.settings"].warm_up is False
    assert not matcher.model_loaded and not matcher.building
    app.extensions["matchmaker.engine"].dispose()
