"""What the commands share: the app a command runs with."""

from __future__ import annotations

from typing import Any

from matchmaker.config import Settings


def command_app() -> Any:
    """The app of a command: the environment's settings, but never the web workers' warm-up
    (a command that ends while a warm-up thread is inside the encoder runtime aborts)."""
    from dataclasses import replace

    from matchmaker import create_app

    return create_app(replace(Settings.from_env(), warm_up=False))
