"""Matching use cases: ranked matches with evidence, similar challenges, strategy previews and
portfolio matching runs. Services never commit, except the run executor, which owns its job."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from matchmaker.accounts.models import User
from matchmaker.audit.service import record
from matchmaker.challenges.models import Challenge
from matchmaker.db import utcnow
from matchmaker.groups.models import ResearchGroup
from matchmaker.matching.engine import (
    Matcher,
    challenge_as_profile,
    group_as_profile,
    load_challenge_profiles,
)
from matchmaker.matching.models import Exclusion, MatchingRun, Proposal, ProposalStatus, RunStatus
from matchmaker.ranking.assign import assign_portfolio, top_k_unconstrained
from matchmaker.ranking.scoring import DEFAULT_CONFIG
from matchmaker.ranking.types import Evidence, Match, Profile
from matchmaker.strategy import service as strategy

log = logging.getLogger("matchmaker.matching")


def evidence_out(evidence: Evidence | None) -> dict[str, Any]:
    """Evidence as JSON: the passage pairs that drove the semantic score and the shared terms."""
    if evidence is None:
        return {"pairs": [], "terms": []}
    return {
        "pairs": [
            {
                "query": p.query_passage,
                "candidate": p.candidate_passage,
                "document": p.candidate_document,
                "similarity": round(float(p.similarity), 4),
            }
            for p in evidence.pairs
        ],
        "terms": list(evidence.terms),
    }


def _components(match: Match) -> dict[str, float]:
    return {k: round(float(v), 4) for k, v in match.components.items()}


def excluded_groups(session: Session, challenge_id: int) -> set[str]:
    """Groups never to be proposed for a challenge: exclusions and declined proposals."""
    ex = session.scalars(
        select(Exclusion.group_id).where(Exclusion.challenge_id == challenge_id)
    ).all()
    declined = session.scalars(
        select(Proposal.group_id).where(
            Proposal.challenge_id == challenge_id, Proposal.status == ProposalStatus.DECLINED
        )
    ).all()
    return {str(g) for g in (*ex, *declined)}


def excluded_challenges(session: Session, group_id: int) -> set[str]:
    ex = session.scalars(select(Exclusion.challenge_id).where(Exclusion.group_id == group_id)).all()
    declined = session.scalars(
        select(Proposal.challenge_id).where(
            Proposal.group_id == group_id, Proposal.status == ProposalStatus.DECLINED
        )
    ).all()
    return {str(c) for c in (*ex, *declined)}


def matches_for_challenge(
    session: Session,
    matcher: Matcher,
    challenge: Challenge,
    *,
    top: int = 10,
    strategy_weights: Mapping[str, float] | None = None,
) -> list[dict[str, Any]]:
    """Research groups for a challenge, best first, with score parts and evidence."""
    indexes = matcher.indexes(session)
    weights = (
        strategy_weights if strategy_weights is not None else strategy.current(session).weights
    )
    query = challenge_as_profile(challenge)
    matches = indexes.groups.rank(
        query,
        matcher.encode_profile(query),
        embedder=matcher.embedder,
        strategy=weights,
        top=top,
        exclude=excluded_groups(session, challenge.id),
    )
    groups = {
        g.id: g
        for g in session.scalars(
            select(ResearchGroup).where(
                ResearchGroup.id.in_([int(m.candidate_id) for m in matches])
            )
        )
    }
    return [
        {
            "rank": m.rank,
            "group_id": int(m.candidate_id),
            "group": groups[int(m.candidate_id)].name,
            "institution": groups[int(m.candidate_id)].institution.name,
            "score": round(m.score, 4),
            "components": _components(m),
            "evidence": evidence_out(m.evidence),
        }
        for m in matches
    ]


def matches_for_group(
    session: Session, matcher: Matcher, group: ResearchGroup, *, top: int = 10
) -> list[dict[str, Any]]:
    """Open challenges for a group (public summaries only), best first, with evidence."""
    indexes = matcher.indexes(session)
    query = group_as_profile(group)
    matches = indexes.challenges.rank(
        query,
        matcher.encode_profile(query),
        embedder=matcher.embedder,
        strategy=strategy.current(session).weights,
        top=top,
        exclude=excluded_challenges(session, group.id),
    )
    challenges = {
        c.id: c
        for c in session.scalars(
            select(Challenge).where(Challenge.id.in_([int(m.candidate_id) for m in matches]))
        )
    }
    return [
        {
            "rank": m.rank,
            "challenge_id": int(m.candidate_id),
            "title": challenges[int(m.candidate_id)].title,
            "summary": challenges[int(m.candidate_id)].summary,
            "organisation": challenges[int(m.candidate_id)].organisation.name,
            "fields": list(challenges[int(m.candidate_id)].fields),
            "score": round(m.score, 4),
            "components": _components(m),
            "evidence": evidence_out(m.evidence),
        }
        for m in matches
    ]


SIMILARITY_CONFIG = DEFAULT_CONFIG.with_weights(semantic=0.7, lexical=0.3)


def similar_challenges(
    session: Session, matcher: Matcher, text: str, *, top: int = 5, exclude_id: int | None = None
) -> list[dict[str, Any]]:
    """Challenges already posted that read like ``text`` (to catch duplicates while typing)."""
    indexes = matcher.indexes(session)
    query = Profile(id="draft", text=text)
    exclude = {str(exclude_id)} if exclude_id else set()
    matches = indexes.challenges.rank(
        query,
        matcher.encode_profile(query),
        embedder=matcher.embedder,
        config=SIMILARITY_CONFIG,
        top=top,
        exclude=exclude,
        explain=False,
    )
    titles = dict(
        session.execute(
            select(Challenge.id, Challenge.title).where(
                Challenge.id.in_([int(m.candidate_id) for m in matches])
            )
        ).all()
    )
    return [
        {
            "challenge_id": int(m.candidate_id),
            "title": titles[int(m.candidate_id)],
            "score": round(m.score, 4),
        }
        for m in matches
    ]


def _score_all(
    session: Session, matcher: Matcher, weights: Mapping[str, float]
) -> tuple[list[Profile], np.ndarray, dict[str, np.ndarray], Any]:
    indexes = matcher.indexes(session)
    challenges = load_challenge_profiles(session)
    vectors = [matcher.encode_profile(c) for c in challenges]
    if not challenges or not len(indexes.groups):
        return challenges, np.zeros((len(challenges), len(indexes.groups))), {}, indexes.groups
    scores, parts = indexes.groups.score_matrix(
        challenges, vectors, embedder=matcher.embedder, strategy=weights
    )
    return challenges, scores, parts, indexes.groups


def preview_strategy(
    session: Session,
    matcher: Matcher,
    weights: Mapping[str, float],
    *,
    top: int = 20,
    per_challenge: int = 3,
) -> list[dict[str, Any]]:
    """How the top proposals would change under ``weights``: each challenge's best groups now
    and with the new weights, with ranks and scores under both."""
    current = strategy.current(session).weights
    new = {**current, **weights}
    challenges, now, _, index = _score_all(session, matcher, current)
    if not challenges or not len(index):
        return []
    after, _ = index.score_matrix(
        challenges,
        [matcher.encode_profile(c) for c in challenges],
        embedder=matcher.embedder,
        strategy=new,
    )
    rank_now = (-now).argsort(axis=1).argsort(axis=1) + 1
    rank_new = (-after).argsort(axis=1).argsort(axis=1) + 1
    rows = []
    for i, ch in enumerate(challenges):
        cols = set(np.flatnonzero(rank_now[i] <= per_challenge)) | set(
            np.flatnonzero(rank_new[i] <= per_challenge)
        )
        for j in cols:
            rows.append(
                {
                    "challenge_id": int(ch.id),
                    "challenge": ch.title,
                    "group_id": int(index.candidate_ids[j]),
                    "score_now": round(float(now[i, j]), 4),
                    "score_new": round(float(after[i, j]), 4),
                    "rank_now": int(rank_now[i, j]),
                    "rank_new": int(rank_new[i, j]),
                }
            )
    rows.sort(key=lambda r: (-r["score_new"], r["challenge_id"]))
    rows = rows[:top]
    names = dict(
        session.execute(
            select(ResearchGroup.id, ResearchGroup.name).where(
                ResearchGroup.id.in_([r["group_id"] for r in rows])
            )
        ).all()
    )
    for r in rows:
        r["group"] = names[r["group_id"]]
    return rows


# --- portfolio matching runs --------------------------------------------------------------------


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


def run_out(run: MatchingRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "status": run.status.value,
        "k": run.k,
        "max_per_institution": run.max_per_institution,
        "strategy_version": run.strategy_version,
        "done": run.done,
        "total": run.total,
        "summary": run.summary,
        "error": run.error,
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
        run.status, run.error, run.done = RunStatus.RUNNING, "", 0
        session.commit()

    def progress(done: int, total: int) -> None:
        with session_factory() as s:
            r = s.get(MatchingRun, run_id)
            if r is not None:
                r.done, r.total = done, total
                s.commit()

    try:
        with session_factory() as session:
            from matchmaker.matching.engine import load_group_profiles

            matcher.warm_store(
                [*load_group_profiles(session), *load_challenge_profiles(session)], progress
            )
        with session_factory() as session:
            _assign_and_store(session, matcher, run_id)
            session.commit()
    except Exception as exc:
        log.exception("matching run %d failed", run_id)
        with session_factory() as session:
            run = session.get(MatchingRun, run_id)
            if run is not None:
                run.status, run.error, run.finished_at = RunStatus.FAILED, str(exc)[:1000], utcnow()
                session.commit()
        raise


def _assign_and_store(session: Session, matcher: Matcher, run_id: int) -> None:
    run = session.get(MatchingRun, run_id)
    assert run is not None
    version = strategy.current(session)
    challenges, scores, parts, index = _score_all(session, matcher, version.weights)
    n_c, n_g = scores.shape
    group_cols = {int(gid): j for j, gid in enumerate(index.candidate_ids)}
    challenge_rows = {int(c.id): i for i, c in enumerate(challenges)}
    excluded = np.zeros((n_c, n_g), dtype=bool)
    # Pairs already past "proposed" stay in the pipeline as they are; declined and excluded pairs
    # are never proposed again.
    kept = session.scalars(select(Proposal).where(Proposal.status != ProposalStatus.PROPOSED)).all()
    exclusions = session.execute(select(Exclusion.challenge_id, Exclusion.group_id)).all()
    for cid, gid in [*((p.challenge_id, p.group_id) for p in kept), *exclusions]:
        if cid in challenge_rows and gid in group_cols:
            excluded[challenge_rows[cid], group_cols[gid]] = True
    capacity = [c.capacity if c.capacity is not None else 1 for c in index.candidates]
    chosen = (
        assign_portfolio(
            scores,
            k=run.k,
            capacity=capacity,
            institution=index.institutions,
            max_per_institution=run.max_per_institution,
            excluded=excluded,
        )
        if n_c and n_g
        else []
    )
    free = top_k_unconstrained(scores, run.k, excluded=excluded) if n_c and n_g else []

    session.execute(delete(Proposal).where(Proposal.status == ProposalStatus.PROPOSED))
    changed = 0
    per_challenge: list[dict[str, Any]] = []
    for i, ch in enumerate(challenges):
        order = (-scores[i]).argsort()
        rank_of = {int(j): r for r, j in enumerate(order, start=1)}
        cols = chosen[i] if chosen else []
        query_vectors = matcher.encode_profile(ch)
        for j in cols:
            evidence = index.explain(
                ch, index.candidate_ids[j], query_vectors, embedder=matcher.embedder
            )
            session.add(
                Proposal(
                    challenge_id=int(ch.id),
                    group_id=int(index.candidate_ids[j]),
                    run_id=run.id,
                    score=round(float(scores[i, j]), 6),
                    components={name: round(float(part[i, j]), 4) for name, part in parts.items()},
                    evidence=evidence_out(evidence),
                    unconstrained_rank=rank_of[int(j)],
                    strategy_version=version.version,
                    scorer="formula",
                )
            )
        unconstrained = [int(index.candidate_ids[j]) for j in free[i]] if free else []
        proposed = [int(index.candidate_ids[j]) for j in cols]
        changed += len(set(unconstrained) - set(proposed))
        per_challenge.append(
            {"challenge_id": int(ch.id), "proposed": proposed, "unconstrained": unconstrained}
        )
    run.status, run.finished_at = RunStatus.FINISHED, utcnow()
    run.done = run.total
    run.summary = {
        "challenges": n_c,
        "groups": n_g,
        "proposals": sum(len(c) for c in chosen),
        "total_score": round(
            float(sum(scores[i, j] for i, cols in enumerate(chosen) for j in cols)), 4
        ),
        "unconstrained_total_score": round(
            float(sum(scores[i, j] for i, cols in enumerate(free) for j in cols)), 4
        ),
        "changed_by_constraints": changed,
        "per_challenge": per_challenge,
    }


__all__ = [
    "create_run",
    "execute_run",
    "matches_for_challenge",
    "matches_for_group",
    "preview_strategy",
    "run_out",
    "similar_challenges",
]
