"""Background jobs. In the embedded default a job runs in a thread of the submitting process;
production runs them on Redis (see the production issue)."""

from __future__ import annotations

import logging
import threading
from typing import Any

from flask import Flask

log = logging.getLogger("matchmaker.jobs")


def run_matching(app: Flask, run_id: int) -> None:
    """Execute matching run ``run_id`` with ``app``'s database and matcher."""
    from matchmaker.matching.engine import get_matcher
    from matchmaker.matching.service import execute_run

    execute_run(app.extensions["matchmaker.sessionmaker"], get_matcher(app), run_id)


def submit_matching_run(app: Flask, run_id: int, *, wait: bool = False) -> Any:
    """Start a matching run in the background (or right here when ``wait``)."""
    if wait:
        run_matching(app, run_id)
        return None

    def target() -> None:
        try:
            run_matching(app, run_id)
        except Exception:  # recorded on the run by execute_run
            log.warning("matching run %d ended with an error", run_id)

    thread = threading.Thread(target=target, name=f"matching-run-{run_id}", daemon=True)
    thread.start()
    return thread
