"""Matching work in the background: re-embedding (a job) and portfolio matching runs.

Both go to the RQ queue when ``MATCHMAKER_REDIS_URL`` is set (``matchmaker worker`` runs them,
see :mod:`matchmaker.worker`), else to a thread of this process.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from sqlalchemy import delete

from matchmaker import jobs
from matchmaker.db import session_scope
from matchmaker.matching import index_state
from matchmaker.matching.engine import get_matcher
from matchmaker.matching.models import PassageEmbedding
from matchmaker.matching.profiles import load_challenge_profiles, load_group_profiles
from matchmaker.matching.runs import execute_run

log = logging.getLogger("matchmaker.jobs")


# --- re-embedding -------------------------------------------------------------------------------


def reembed(
    app: Flask, *, progress: jobs.Progress | None = None, prune: bool = False
) -> dict[str, Any]:
    """Encode every passage of every group and open challenge the store lacks for the configured
    model (after a model change), then bump the index version so that workers reload.

    Vectors are a cache keyed by (model, text): a killed re-embedding keeps what it stored, and
    running it again encodes only the rest. ``prune`` deletes vectors of other models.
    """
    matcher = get_matcher(app)
    with app.extensions["matchmaker.sessionmaker"]() as session:
        profiles = [*load_group_profiles(session), *load_challenge_profiles(session)]
    encoded = matcher.warm_store(profiles, progress, batch=256)
    pruned = 0
    with session_scope(app) as session:
        if prune:
            pruned = session.execute(
                delete(PassageEmbedding).where(
                    PassageEmbedding.model_id != matcher.embedder.model_id
                )
            ).rowcount  # type: ignore[attr-defined]
        index_state.bump(session)
    return {
        "model_id": matcher.embedder.model_id,
        "profiles": len(profiles),
        "encoded": encoded,
        "pruned": pruned,
    }


def _reembed_job(app: Flask, work: jobs.JobWork, progress: jobs.Progress) -> dict[str, Any]:
    return reembed(app, progress=progress, prune=bool(work.params.get("prune")))


# --- matching runs ------------------------------------------------------------------------------


def run_matching(app: Flask, run_id: int) -> None:
    """Execute matching run ``run_id`` with ``app``'s database and matcher."""
    execute_run(app.extensions["matchmaker.sessionmaker"], get_matcher(app), run_id)


def submit_matching_run(app: Flask, run_id: int, *, wait: bool = False) -> Any:
    """Start a matching run on RQ when configured, else in a thread (or right here when ``wait``).

    The run's row carries its progress; it replaces its proposals in one transaction.
    """
    started = jobs.dispatch(
        app,
        lambda: run_matching(app, run_id),
        rq_target="matchmaker.worker.rq_run_matching",
        row_id=run_id,
        what="matching run",
        wait=wait,
    )
    return None if wait else started


def init_app(app: Flask) -> None:
    """Re-embedding jobs run :func:`reembed`."""
    jobs.register_handler(app, jobs.JobKind.REEMBED, _reembed_job)


__all__ = ["init_app", "reembed", "run_matching", "submit_matching_run"]
