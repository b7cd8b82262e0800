"""Portfolio matching runs: recorded by a request, executed by a job (which owns its
transactions), shown with their progress; a run that lost its worker shows as failed."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from matchmaker.accounts.models import User
from matchmaker.audit.service import record
from matchmaker.db import utcnow
from matchmaker.jobs.tracking import Tracker, lost_worker, shown_status, start
from matchmaker.learning import service as learning
from matchmaker.matching.blend import learned_out, score_groups
from matchmaker.matching.engine import Matcher
from matchmaker.matching.evidence import evidence_out
from matchmaker.matching.models import Exclusion, MatchingRun, Proposal, ProposalStatus, RunStatus
from matchmaker.matching.profiles import load_challenge_profiles, load_group_profiles
from matchmaker.matching.run_summary import shortfalls
from matchmaker.ranking import learn
from matchmaker.ranking.assign import assign_portfolio, top_k_unconstrained
from matchmaker.review.models import Decision
from matchmaker.strategy import service as strategy

log = logging.getLogger("matchmaker.matching")


def create_run(
    session: Session, user: User | None, *, k: int, max_per_institution: int
) -> MatchingRun:
    """Record a queued matching run; a job executes it (see :func:`execute_run`)."""
    run = MatchingRun(
        k=k,
        max_per_institution=max_per_institution,
        strategy_version=strategy.current(session).version,
        created_by_id=user.id if user else None,
        status=RunStatus.QUEUED,
    )
    session.add(run)
    session.flush()
    record(
        session,
        user.id if user else None,
        "matching_run",
        run.id,
        "create",
        {"k": k, "max_per_institution": max_per_institution},
    )
    return run


def run_is_stale(run: MatchingRun, now: dt.datetime | None = None) -> bool:
    """A running run whose worker died mid-run (its process is gone or its heartbeat stopped)."""
    return lost_worker(run, now)


def run_out(run: MatchingRun) -> dict[str, Any]:
    """A run as the API and the page show it; a run that lost its worker shows as failed (its
    proposals are written in one transaction at the end, so none of them was written)."""
    status, error = shown_status(
        run,
        "The worker stopped before the run finished; no proposal of it was written. "
        "Start a new run: it gives the same proposals.",
    )
    return {
        "id": run.id,
        "status": status,
        "k": run.k,
        "max_per_institution": run.max_per_institution,
        "strategy_version": run.strategy_version,
        "done": run.done,
        "total": run.total,
        "summary": run.summary,
        "error": error,
        "created_at": run.created_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }


def execute_run(session_factory: Callable[[], Session], matcher: Matcher, run_id: int) -> None:
    """Execute a matching run: embed what is missing (progress), score every open challenge
    against every group (one matrix product), solve the assignment exactly, and replace the run's
    proposals in one transaction. Running it again gives the same proposals."""
    with session_factory() as session:
        run = session.get(MatchingRun, run_id)
        if run is None:
            raise ValueError(f"matching run {run_id} does not exist")
        start(run)
        session.commit()

    @contextmanager
    def scope() -> Iterator[Session]:
        with session_factory() as s:
            yield s
            s.commit()

    with Tracker(scope, MatchingRun, run_id, what="matching run") as tracker:

        def embedding(done: int, total: int) -> None:
            # Texts are embedded first; the run's own progress counts challenges matched.
            tracker.write(summary={"phase": "embedding", "embedded": done, "to_embed": total})

        def matched(done: int, total: int) -> None:
            if done == 0:
                tracker.write(done=0, total=total, summary={"phase": "matching"})
            else:
                tracker(done, total)  # throttled

        try:
            with session_factory() as session:
                groups, challenges = load_group_profiles(session), load_challenge_profiles(session)
                tracker.write(done=0, total=len(challenges))
                matcher.warm_store([*groups, *challenges], embedding)
            with session_factory() as session:
                _assign_and_store(session, matcher, run_id, matched)
                session.commit()
        except Exception as exc:
            log.exception("matching run %d failed", run_id)
            with session_factory() as session:
                run = session.get(MatchingRun, run_id)
                if run is not None:
                    run.status, run.error = RunStatus.FAILED, str(exc)[:1000]
                    run.finished_at = utcnow()
                    session.commit()
            raise


def _assign_and_store(
    session: Session,
    matcher: Matcher,
    run_id: int,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    run = session.get(MatchingRun, run_id)
    assert run is not None
    version = strategy.current(session)
    index = matcher.indexes(session).groups
    challenges = load_challenge_profiles(session)
    n_c, n_g = len(challenges), len(index)
    scored = (
        score_groups(session, matcher, index, challenges, version.weights) if n_c and n_g else None
    )
    scores = scored.final if scored is not None else np.zeros((n_c, n_g))
    group_cols = {int(gid): j for j, gid in enumerate(index.candidate_ids)}
    challenge_rows = {int(c.id): i for i, c in enumerate(challenges)}
    excluded = np.zeros((n_c, n_g), dtype=bool)
    in_pipeline = np.zeros((n_c, n_g), dtype=bool)
    # Pairs already past "proposed" stay in the pipeline as they are, and so do proposed pairs
    # the office has decided on before (put back to "proposed"): their decisions refer to them.
    # Declined and excluded pairs are never proposed again.
    decided = select(Decision.proposal_id)
    kept = session.scalars(
        select(Proposal).where(
            (Proposal.status != ProposalStatus.PROPOSED) | Proposal.id.in_(decided)
        )
    ).all()
    exclusions = session.execute(select(Exclusion.challenge_id, Exclusion.group_id)).all()
    for cid, gid in ((p.challenge_id, p.group_id) for p in kept):
        if cid in challenge_rows and gid in group_cols:
            in_pipeline[challenge_rows[cid], group_cols[gid]] = True
    for cid, gid in exclusions:
        if cid in challenge_rows and gid in group_cols:
            excluded[challenge_rows[cid], group_cols[gid]] = True
    office_excluded = excluded.copy()
    excluded |= in_pipeline
    # The portfolio's limits: what it is chosen under, and what its shortfalls are told by.
    limits: dict[str, Any] = {
        "k": run.k,
        "capacity": [c.capacity if c.capacity is not None else 1 for c in index.candidates],
        "institution": index.institutions,
        "max_per_institution": run.max_per_institution,
    }
    chosen = assign_portfolio(scores, excluded=excluded, **limits) if n_c and n_g else []
    free = top_k_unconstrained(scores, run.k, excluded=excluded) if n_c and n_g else []
    stated = learning.stated_interest(session, challenge_ids=list(challenge_rows))
    pairs = learn.pair_feature_arrays(challenges, index.candidates) if n_c and n_g else {}

    if progress:
        progress(0, n_c)
    new_proposals: list[Proposal] = []
    changed = 0
    per_challenge: list[dict[str, Any]] = []
    for i, ch in enumerate(challenges):
        order = (-scores[i]).argsort()
        rank_of = {int(j): r for r, j in enumerate(order, start=1)}
        cols = chosen[i] if chosen else []
        explained = index.explain_many(
            ch,
            [index.candidate_ids[j] for j in cols],
            matcher.encode_profile(ch),
            embedder=matcher.embedder,
        )
        for j, pair_evidence in zip(cols, explained, strict=True):
            assert scored is not None
            gid = int(index.candidate_ids[j])
            evidence = evidence_out(pair_evidence)
            components = {name: round(float(part[i, j]), 4) for name, part in scored.parts.items()}
            components["interest"] = round(float(scored.interest[i, j]), 4)
            evidence["interest"] = learning.interest_out(stated.get((int(ch.id), gid)))
            # Snapshot of what the learner needs besides the components, kept with the proposal.
            evidence["features"] = {
                "formula": round(float(scored.formula[i, j]), 6),
                **{name: float(a[i, j]) for name, a in pairs.items()},
            }
            evidence["learned"] = learned_out(scored, i, int(j))
            new_proposals.append(
                Proposal(
                    challenge_id=int(ch.id),
                    group_id=gid,
                    run_id=run.id,
                    score=round(float(scores[i, j]), 6),
                    components=components,
                    evidence=evidence,
                    unconstrained_rank=rank_of[int(j)],
                    strategy_version=version.version,
                    scorer=scored.scorer,
                )
            )
        unconstrained = [int(index.candidate_ids[j]) for j in free[i]] if free else []
        proposed = [int(index.candidate_ids[j]) for j in cols]
        changed += len(set(unconstrained) - set(proposed))
        per_challenge.append(
            {"challenge_id": int(ch.id), "proposed": proposed, "unconstrained": unconstrained}
        )
        if progress:
            progress(i + 1, n_c)
    # The old proposals go only now, with the new ones in the same transaction: while the
    # challenges were explained, the progress could still be written.
    session.execute(
        delete(Proposal).where(
            Proposal.status == ProposalStatus.PROPOSED, Proposal.id.not_in(decided)
        )
    )
    session.add_all(new_proposals)
    short: list[dict[str, Any]] = (
        shortfalls(scores, chosen, in_pipeline=in_pipeline, excluded=office_excluded, **limits)
        if n_c and n_g
        else [
            {"row": i, "proposed": 0, "missing": run.k, "groups": 0, "reasons": {}}
            for i in range(n_c)
        ]
    )
    for entry in short:
        ch = challenges[entry.pop("row")]
        entry.update(challenge_id=int(ch.id), title=ch.title)
    run.status, run.finished_at = RunStatus.FINISHED, utcnow()
    run.done = run.total = n_c
    run.summary = {
        "phase": "finished",
        "k": run.k,
        "max_per_institution": run.max_per_institution,
        "challenges": n_c,
        "challenges_with_proposals": sum(1 for cols in chosen if len(cols)),
        "groups": n_g,
        "scorer": scored.scorer if scored is not None else "formula",
        "proposals": sum(len(c) for c in chosen),
        "total_score": round(
            float(sum(scores[i, j] for i, cols in enumerate(chosen) for j in cols)), 4
        ),
        "unconstrained_total_score": round(
            float(sum(scores[i, j] for i, cols in enumerate(free) for j in cols)), 4
        ),
        "changed_by_constraints": changed,
        "unconstrained_proposals": sum(len(cols) for cols in free),
        "short_of_k": short,
        "per_challenge": per_challenge,
    }


__all__ = ["create_run", "execute_run", "run_is_stale", "run_out"]
