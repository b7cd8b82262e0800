"""Commands run with the service's environment but without the web workers' warm-up."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from matchmaker.cli.common import command_app
from matchmaker.config import Settings


def test_a_command_never_warms_up_even_when_the_environment_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MATCHMAKER_WARM_UP", "1")
    monkeypatch.setenv("MATCHMAKER_DATABASE_URL", f"sqlite:///{tmp_path / 'm.sqlite3'}")
    monkeypatch.setenv("MATCHMAKER_SECRET_KEY", "test")
    app = command_app()
    matcher = app.extensions["matchmaker.matcher"]
    assert app.extensions["matchmaker.settings"].warm_up is False
    assert not matcher.model_loaded and not matcher.building
    app.extensions["matchmaker.engine"].dispose()


def test_a_worker_that_exits_during_its_warm_up_exits_cleanly(tmp_path: Path) -> None:
    """A web worker stopped while its warm-up thread is inside the encoder runtime (here: while
    it compiles the query shapes, right after the index is built) ends with status 0 instead of
    aborting in the runtime's destructors."""
    script = textwrap.dedent(
        f"""
        import sys, time
        from dataclasses import replace
        from sqlalchemy.orm import Session
        from matchmaker import create_app
        from matchmaker.cli import run_migrations
        from matchmaker.config import Settings
        from matchmaker.seed import load_sample_data

        url = "sqlite:///{tmp_path / "w.sqlite3"}"
        run_migrations(url)
        settings = replace(Settings.from_env(), database_url=url, warm_up=False)
        app = create_app(settings)
        with Session(app.extensions["matchmaker.engine"]) as session:
            load_sample_data(session)
            session.commit()
        matcher = app.extensions["matchmaker.matcher"]
        deadline = time.monotonic() + 120
        while not matcher.index_loaded and time.monotonic() < deadline:
            matcher.warm_up()  # as /readyz does on each poll of a worker that is loading
            time.sleep(0.005)
        print("index loaded" if matcher.index_loaded else "no index", flush=True)
        sys.exit(0)
        """
    )
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "MATCHMAKER_SECRET_KEY": "test",
        "MATCHMAKER_ENCODER_CACHE": Settings.from_env().encoder_cache,
    }
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300
    )
    assert "index loaded" in proc.stdout, proc.stderr[-2000:]
    assert "terminate called" not in proc.stderr
    assert proc.returncode == 0, proc.stderr[-2000:]
