"""Matching use cases: ranked matches with evidence, similar challenges, strategy previews and
portfolio matching runs. Services never commit, except the run executor, which owns its job.

Every score here is the active scorer's score (the formula, or the learned re-ranker when the
office switched to it and it beats the formula) moved by the parties' stated interest:
``score = scorer + INTEREST_WEIGHT * (interest - 0.5)``. Exclusions and declined pairs are removed
before anything else, so no stated interest and no model can bring them back.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, joinedload

from matchmaker.accounts.models import User
from matchmaker.audit.service import record
from matchmaker.challenges.models import Challenge
from matchmaker.db import utcnow
from matchmaker.groups.models import ResearchGroup
from matchmaker.jobs import Heartbeat, heartbeat_lost
from matchmaker.learning import service as learning
from matchmaker.matching.engine import Matcher
from matchmaker.matching.models import Exclusion, MatchingRun, Proposal, ProposalStatus, RunStatus
from matchmaker.matching.profiles import (
    MATCHABLE_STATUSES,
    challenge_as_profile,
    group_as_profile,
    load_challenge_profiles,
    load_group_profiles,
)
from matchmaker.ranking import learn
from matchmaker.ranking.assign import assign_portfolio, top_k_unconstrained
from matchmaker.ranking.explain import closest_sentences
from matchmaker.ranking.scoring import DEFAULT_CONFIG
from matchmaker.ranking.types import Evidence, Profile
from matchmaker.review.models import Decision
from matchmaker.strategy import service as strategy

log = logging.getLogger("matchmaker.matching")


def evidence_out(evidence: Evidence | None) -> dict[str, Any]:
    """Evidence as JSON: the passage pairs that drove the semantic score, the shared terms and
    the key terms that translate each other (``{"query": "Abwärme", "candidate": "waste heat"}``;
    query: the challenge of a group list, the group of a challenge's list)."""
    if evidence is None:
        return {"pairs": [], "terms": [], "translations": []}
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
        "translations": [
            {"query": t.query, "candidate": t.candidate} for t in evidence.translations
        ],
    }


def with_sentences(matcher: Matcher, evidence: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """``evidence`` (as :func:`evidence_out` makes it) with, in each passage pair, the closest
    sentence pair — ``query_sentence``, ``candidate_sentence``, ``sentence_similarity`` — so a
    reviewer reads the two sentences that match rather than two passages of ~250 word pieces.
    Sentence vectors are encoded on the first view and kept in the vector store."""
    if not evidence:
        return dict(evidence) if evidence is not None else None
    pairs = [dict(p) for p in evidence.get("pairs") or []]
    todo = [p for p in pairs if "query_sentence" not in p and p.get("query") and p.get("candidate")]
    if todo:
        try:
            found = closest_sentences(
                [(p["query"], p["candidate"]) for p in todo], matcher.embedder, matcher.store
            )
        except Exception:  # the passages alone are still evidence: show them
            log.exception("closest sentences of the evidence could not be computed")
            return {**evidence, "pairs": pairs}
        for pair, best in zip(todo, found, strict=True):
            if best is not None:
                pair["query_sentence"], pair["candidate_sentence"] = best[0], best[1]
                pair["sentence_similarity"] = round(best[2], 4)
    return {**evidence, "pairs": pairs}


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


@dataclass
class _Scored:
    """One or more queries scored against every candidate, with what moved the scores."""

    final: np.ndarray  # (n_q, n_c) the scores that rank
    formula: np.ndarray  # (n_q, n_c)
    parts: dict[str, np.ndarray]
    interest: np.ndarray  # (n_q, n_c) the interest component
    features: np.ndarray | None  # (n_q, n_c, n_features) when the learned scorer is active
    learned: np.ndarray | None  # (n_q, n_c)
    reranker: learn.Reranker | None
    #: The stated interest the scores were moved by, per (challenge id, group id).
    stated: Mapping[tuple[int, int], learning.PairInterest]

    @property
    def scorer(self) -> str:
        return "learned" if self.reranker is not None else "formula"


def _interest_matrix(
    stated: Mapping[tuple[int, int], learning.PairInterest],
    challenge_ids: Sequence[int],
    group_ids: Sequence[int],
) -> np.ndarray:
    out = np.full((len(challenge_ids), len(group_ids)), 0.5)
    if not stated:
        return out
    rows = {cid: i for i, cid in enumerate(challenge_ids)}
    cols = {gid: j for j, gid in enumerate(group_ids)}
    for (cid, gid), pair in stated.items():
        if cid in rows and gid in cols:
            out[rows[cid], cols[gid]] = learning.interest_out(pair)["value"]
    return out


def _score_groups(
    session: Session,
    matcher: Matcher,
    index: Any,
    challenges: Sequence[Profile],
    weights: Mapping[str, float],
    *,
    use_learned: bool = True,
) -> _Scored:
    """Score challenges against every group with the active scorer and stated interest."""
    vectors = [matcher.encode_profile(c) for c in challenges]
    formula, parts = index.score_matrix(
        challenges, vectors, embedder=matcher.embedder, strategy=weights
    )
    challenge_ids = [int(c.id) for c in challenges]
    group_ids = index.int_ids
    stated = learning.stated_interest(session, challenge_ids=challenge_ids)
    interest = _interest_matrix(stated, challenge_ids, group_ids)
    reranker = learning.active_reranker(session, matcher.settings) if use_learned else None
    features = learned = None
    base = formula
    if reranker is not None:
        features = learn.feature_matrix(
            parts, formula, learn.pair_feature_arrays(challenges, index.candidates)
        )
        learned = reranker.learned_score(features.reshape(-1, features.shape[-1])).reshape(
            formula.shape
        )
        base = learned
    return _Scored(
        learn.with_interest(base, interest),
        formula,
        parts,
        interest,
        features,
        learned,
        reranker,
        stated,
    )


def _rank_of(scores: np.ndarray) -> np.ndarray:
    """1-based rank of each column of a score row (ties by column order)."""
    order = np.lexsort((np.arange(len(scores)), -scores))
    ranks = np.empty(len(scores), dtype=np.int64)
    ranks[order] = np.arange(1, len(scores) + 1)
    return ranks


def _learned_out(scored: _Scored, i: int, j: int) -> dict[str, Any] | None:
    if scored.reranker is None or scored.learned is None or scored.features is None:
        return None
    return learning.learned_block(
        scored.reranker,
        scored.features[i, j],
        formula=float(scored.formula[i, j]),
        learned=float(scored.learned[i, j]),
        formula_rank=int(_rank_of(scored.formula[i])[j]),
        learned_rank=int(_rank_of(scored.learned[i])[j]),
    )


def _still_matchable(
    index: Any,
    scores: np.ndarray,
    top: int | None,
    excluded: set[str],
    load: Callable[[list[int]], dict[int, Any]],
) -> tuple[np.ndarray, dict[int, Any]]:
    """The ``top`` best candidates of ``index`` that are still matchable now, with their rows.

    A worker's index may be a few seconds older than the database (it checks the stored version
    every ``MATCHMAKER_INDEX_CHECK_SECONDS``; a large one is rebuilt in the background): a
    challenge withdrawn to draft, or anything archived or erased since, is skipped here, on
    every worker, at once."""
    excluded = set(excluded)
    while True:
        order = index.top_indices(scores, top, excluded)
        rows = load([int(index.candidate_ids[j]) for j in order])
        gone = [index.candidate_ids[j] for j in order if int(index.candidate_ids[j]) not in rows]
        if not gone:
            return order, rows
        excluded.update(gone)


def matches_for_challenge(
    session: Session,
    matcher: Matcher,
    challenge: Challenge,
    *,
    top: int = 10,
    strategy_weights: Mapping[str, float] | None = None,
) -> list[dict[str, Any]]:
    """Research groups for a challenge, best first, with score parts, stated interest and
    evidence; under the learned scorer also how far the model moved each group and why."""
    index = matcher.indexes(session).groups
    if not len(index):
        return []
    weights = (
        strategy_weights if strategy_weights is not None else strategy.current(session).weights
    )
    query = challenge_as_profile(challenge)
    scored = _score_groups(session, matcher, index, [query], weights)
    stated = scored.stated

    def load(ids: list[int]) -> dict[int, ResearchGroup]:
        return {
            g.id: g
            for g in session.scalars(
                select(ResearchGroup)
                .options(joinedload(ResearchGroup.institution))
                .where(ResearchGroup.id.in_(ids), ResearchGroup.archived_at.is_(None))
            )
        }

    order, groups = _still_matchable(
        index, scored.final[0], top, excluded_groups(session, challenge.id), load
    )
    evidence = index.explain_many(
        query,
        [index.candidate_ids[j] for j in order],
        matcher.encode_profile(query),
        embedder=matcher.embedder,
    )
    out = []
    for rank, j in enumerate(order, start=1):
        gid = int(index.candidate_ids[j])
        out.append(
            {
                "rank": rank,
                "group_id": gid,
                "group": groups[gid].name,
                "institution": groups[gid].institution.name,
                "score": round(float(scored.final[0, j]), 4),
                "components": {
                    name: round(float(part[0, j]), 4) for name, part in scored.parts.items()
                },
                "interest": learning.interest_out(stated.get((challenge.id, gid)), reasons=False),
                "scorer": scored.scorer,
                "learned": _learned_out(scored, 0, int(j)),
                "evidence": evidence_out(evidence[rank - 1]),
            }
        )
    return out


def matches_for_group(
    session: Session, matcher: Matcher, group: ResearchGroup, *, top: int = 10
) -> list[dict[str, Any]]:
    """Open challenges for a group (public summaries only), best first, with evidence.

    Ranked by the formula moved by stated interest: the learned model is trained on the office's
    decisions about groups for a challenge, not on this direction."""
    index = matcher.indexes(session).challenges
    if not len(index):
        return []
    query = group_as_profile(group)
    vectors = matcher.encode_profile(query)
    formula, parts = index.score_matrix(
        [query], [vectors], embedder=matcher.embedder, strategy=strategy.current(session).weights
    )
    stated = learning.stated_interest(session, group_ids=[group.id])
    challenge_ids = index.int_ids
    interest = _interest_matrix(stated, challenge_ids, [group.id]).T  # (1, n_challenges)
    final = learn.with_interest(formula, interest)

    def load(ids: list[int]) -> dict[int, Challenge]:
        return {
            c.id: c
            for c in session.scalars(
                select(Challenge)
                .options(joinedload(Challenge.organisation))
                .where(
                    Challenge.id.in_(ids),
                    Challenge.archived_at.is_(None),
                    Challenge.status.in_(MATCHABLE_STATUSES),
                )
            )
        }

    order, challenges = _still_matchable(
        index, final[0], top, excluded_challenges(session, group.id), load
    )
    evidence = index.explain_many(
        query, [index.candidate_ids[j] for j in order], vectors, embedder=matcher.embedder
    )
    out = []
    for rank, j in enumerate(order, start=1):
        c = challenges[challenge_ids[j]]
        out.append(
            {
                "rank": rank,
                "challenge_id": c.id,
                "title": c.title,
                "summary": c.summary,
                "organisation": c.organisation.name,
                "fields": list(c.fields),
                "score": round(float(final[0, j]), 4),
                "components": {name: round(float(part[0, j]), 4) for name, part in parts.items()},
                "interest": learning.interest_out(stated.get((c.id, group.id)), reasons=False),
                "scorer": "formula",
                "evidence": evidence_out(evidence[rank - 1]),
            }
        )
    return out


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
    rows: list[dict[str, Any]] = []
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


def run_is_stale(run: MatchingRun, now: dt.datetime | None = None) -> bool:
    """A running run whose worker stopped sending heartbeats (it died mid-run)."""
    return heartbeat_lost(run.status == RunStatus.RUNNING, run.heartbeat_at, now)


def run_out(run: MatchingRun) -> dict[str, Any]:
    """A run as the API and the page show it; a run that lost its worker shows as failed (its
    proposals are written in one transaction at the end, so none of them was written)."""
    status, error = run.status.value, run.error
    if run_is_stale(run):
        status = RunStatus.FAILED.value
        error = (
            "The worker stopped before the run finished; no proposal of it was written. "
            "Start a new run: it gives the same proposals."
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
        run.status, run.error, run.done = RunStatus.RUNNING, "", 0
        run.heartbeat_at = utcnow()
        session.commit()

    def write(**values: Any) -> None:
        try:
            with session_factory() as s:
                r = s.get(MatchingRun, run_id)
                if r is not None:
                    for key, value in values.items():
                        setattr(r, key, value)
                    r.heartbeat_at = utcnow()
                    s.commit()
        except Exception:  # progress is advisory; the run itself goes on
            log.warning("could not record progress of matching run %d", run_id)

    def progress(done: int, total: int) -> None:
        write(done=done, total=total)

    with Heartbeat(write, name=f"matching-run-{run_id}-heartbeat"):
        try:
            with session_factory() as session:
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
                    run.status, run.error = RunStatus.FAILED, str(exc)[:1000]
                    run.finished_at = utcnow()
                    session.commit()
            raise


def _assign_and_store(session: Session, matcher: Matcher, run_id: int) -> None:
    run = session.get(MatchingRun, run_id)
    assert run is not None
    version = strategy.current(session)
    index = matcher.indexes(session).groups
    challenges = load_challenge_profiles(session)
    n_c, n_g = len(challenges), len(index)
    scored = (
        _score_groups(session, matcher, index, challenges, version.weights) if n_c and n_g else None
    )
    scores = scored.final if scored is not None else np.zeros((n_c, n_g))
    group_cols = {int(gid): j for j, gid in enumerate(index.candidate_ids)}
    challenge_rows = {int(c.id): i for i, c in enumerate(challenges)}
    excluded = np.zeros((n_c, n_g), dtype=bool)
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
    stated = learning.stated_interest(session, challenge_ids=list(challenge_rows))
    pairs = learn.pair_feature_arrays(challenges, index.candidates) if n_c and n_g else {}

    session.execute(
        delete(Proposal).where(
            Proposal.status == ProposalStatus.PROPOSED, Proposal.id.not_in(decided)
        )
    )
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
            evidence["learned"] = _learned_out(scored, i, int(j))
            session.add(
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
    run.status, run.finished_at = RunStatus.FINISHED, utcnow()
    run.done = run.total
    run.summary = {
        "challenges": n_c,
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
        "per_challenge": per_challenge,
    }


__all__ = [
    "create_run",
    "execute_run",
    "matches_for_challenge",
    "matches_for_group",
    "preview_strategy",
    "run_is_stale",
    "run_out",
    "similar_challenges",
    "with_sentences",
]
