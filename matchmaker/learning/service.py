"""Use cases of learning: stated interest, the scorer setting, training the re-ranker on the
office's decisions, and explaining what it changed. Services never commit."""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Collection
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from matchmaker.accounts.models import User
from matchmaker.audit.service import record
from matchmaker.challenges.models import Challenge
from matchmaker.config import PROJECT_ROOT
from matchmaker.errors import Conflict, Invalid
from matchmaker.groups.models import ResearchGroup
from matchmaker.learning.models import (
    InterestSide,
    InterestValue,
    LearningSetting,
    StatedInterest,
)
from matchmaker.matching.models import Proposal
from matchmaker.ranking import learn
from matchmaker.ranking.scoring import DEFAULT_CONFIG
from matchmaker.review.models import Decision

log = logging.getLogger("matchmaker.learning")

SCORERS = ("formula", "learned")
#: Decisions that take a pair forward (label 1); ``declined`` is label 0.
FORWARD = frozenset({"shortlisted", "introduced", "in_talks", "collaboration"})
#: Reasons that say nothing about how well a pair fits; exclusions handle them, not the ranking.
NOT_ABOUT_FIT = frozenset({"conflict_of_interest", "already_collaborating"})


def models_dir(settings: Any = None) -> Path:
    """Where the learned model lives: ``settings.models_dir``, ``MATCHMAKER_MODELS_DIR`` or
    ``models/`` in the project."""
    configured = getattr(settings, "models_dir", "") or os.environ.get("MATCHMAKER_MODELS_DIR")
    return Path(configured) if configured else PROJECT_ROOT / "models"


# --- stated interest --------------------------------------------------------------------------

PairInterest = dict[InterestSide, StatedInterest]


def stated_interest(
    session: Session,
    *,
    challenge_ids: Collection[int] | None = None,
    group_ids: Collection[int] | None = None,
) -> dict[tuple[int, int], PairInterest]:
    """What the parties stated, per (challenge id, group id)."""
    stmt = select(StatedInterest)
    if challenge_ids is not None:
        stmt = stmt.where(StatedInterest.challenge_id.in_(list(challenge_ids)))
    if group_ids is not None:
        stmt = stmt.where(StatedInterest.group_id.in_(list(group_ids)))
    out: dict[tuple[int, int], PairInterest] = {}
    for row in session.scalars(stmt):
        out.setdefault((row.challenge_id, row.group_id), {})[row.side] = row
    return out


def interest_out(pair: PairInterest | None, *, reasons: bool = True) -> dict[str, Any]:
    """The ``interest`` component of a pair and what each side stated (reasons on request)."""
    pair = pair or {}
    group, company = pair.get(InterestSide.GROUP), pair.get(InterestSide.COMPANY)
    out: dict[str, Any] = {
        "value": learn.interest_value(
            group.value.value if group else None, company.value.value if company else None
        ),
        "weight": learn.INTEREST_WEIGHT,
        "group": group.value.value if group else None,
        "company": company.value.value if company else None,
    }
    if reasons:
        out["group_reason"] = group.reason if group else ""
        out["company_reason"] = company.reason if company else ""
    return out


#: What each side may state about a pair; "none" withdraws what it said.
STATABLE: dict[InterestSide, tuple[str, ...]] = {
    InterestSide.GROUP: (*learn.GROUP_VALUES, "none"),
    InterestSide.COMPANY: (*learn.COMPANY_VALUES, "none"),
}


def state_interest(
    session: Session,
    user: User,
    challenge: Challenge,
    group: ResearchGroup,
    value: str,
    reason: str = "",
    *,
    side: InterestSide,
) -> dict[str, Any]:
    """One side states what it thinks of a (challenge, group) pair, or withdraws it ("none"): a
    group marks a challenge "interested" or "not_for_us" (which needs a reason), a company marks
    a group it would like to meet for its challenge ("interested")."""
    allowed = STATABLE[side]
    if value not in allowed:
        raise Invalid("value", "unknown_value", f"one of {', '.join(allowed)}")
    reason = reason.strip()
    if value == "not_for_us" and not reason:
        raise Invalid("reason", "reason_required", "say why the challenge is not for your group")
    existing = session.scalar(
        select(StatedInterest).where(
            StatedInterest.challenge_id == challenge.id,
            StatedInterest.group_id == group.id,
            StatedInterest.side == side,
        )
    )
    if value == "none":
        if existing is not None:
            session.delete(existing)
    elif existing is None:
        session.add(
            StatedInterest(
                challenge_id=challenge.id,
                group_id=group.id,
                side=side,
                value=InterestValue(value),
                reason=reason,
                stated_by_id=user.id,
            )
        )
    else:
        existing.value, existing.reason, existing.stated_by_id = (
            InterestValue(value),
            reason,
            user.id,
        )
    session.flush()
    record(
        session,
        user.id,
        "stated_interest",
        None,
        "state",
        {
            "challenge_id": challenge.id,
            "group_id": group.id,
            "side": side.value,
            "value": value,
            "reason": reason,
        },
    )
    return {
        "challenge_id": challenge.id,
        "group_id": group.id,
        "side": side.value,
        "value": value,
        "reason": reason if value != "none" else "",
    }


#: A group states its interest in a challenge (:func:`state_interest`).
state_group_interest = functools.partial(state_interest, side=InterestSide.GROUP)
#: A company states its interest in a group for one of its challenges (:func:`state_interest`).
state_company_interest = functools.partial(state_interest, side=InterestSide.COMPANY)


# --- the scorer setting -----------------------------------------------------------------------


def scorer_setting(session: Session) -> str:
    """The scorer the office chose: ``formula`` (the default) or ``learned``."""
    row = session.get(LearningSetting, "scorer")
    value = (row.value or {}).get("scorer") if row is not None else None
    return value if value in SCORERS else "formula"


@functools.lru_cache(maxsize=4)
def _load(path: str, mtime_ns: int, size: int) -> learn.Reranker:
    # Keyed by the file's mtime and size: a retrained model is picked up on the next request.
    return learn.load(Path(path))


def load_reranker(directory: Path) -> learn.Reranker | None:
    """The saved model in ``directory`` (cached per file version), or None if absent/unusable."""
    path = directory / learn.MODEL_FILE
    try:
        stat = path.stat()
        return _load(str(directory), stat.st_mtime_ns, stat.st_size)
    except FileNotFoundError:
        return None
    except Exception:
        log.exception("learned model in %s cannot be loaded; the formula stands", directory)
        return None


def scorer_status(session: Session, settings: Any = None) -> dict[str, Any]:
    """The office's choice, the scorer actually in use and why, and the saved model's metadata."""
    directory = models_dir(settings)
    choice = scorer_setting(session)
    meta = learn.read_metadata(directory)
    if choice == "formula":
        active, reason = "formula", "the office chose the formula"
    elif meta is None:
        active, reason = "formula", "no learned model has been trained (matchmaker learn)"
    elif not meta.get("beats_formula"):
        active, reason = "formula", f"the learned model {meta.get('verdict', 'is not eligible')}"
    elif load_reranker(directory) is None:
        active, reason = "formula", "the learned model file cannot be loaded"
    else:
        active, reason = "learned", f"the learned model {meta.get('verdict', '')}".strip()
    return {
        "scorer": choice,
        "active": active,
        "reason": reason,
        "min_decisions": learn.MIN_DECISIONS,
        "model": meta,
    }


def active_reranker(session: Session, settings: Any = None) -> learn.Reranker | None:
    """The learned model when the office chose it and it beats the formula; else None."""
    if scorer_setting(session) != "learned":
        return None
    directory = models_dir(settings)
    meta = learn.read_metadata(directory)
    if meta is None or not meta.get("beats_formula"):
        return None
    model = load_reranker(directory)
    return model if model is not None and model.eligible_ else None


def set_scorer(session: Session, user: User, scorer: str, settings: Any = None) -> dict[str, Any]:
    """Switch scorers. Choosing ``learned`` needs a saved model that beats the formula."""
    if scorer not in SCORERS:
        raise Invalid("scorer", "unknown_scorer", f"one of {', '.join(SCORERS)}")
    if scorer == "learned":
        meta = learn.read_metadata(models_dir(settings))
        if meta is None:
            raise Conflict(
                "no_learned_model",
                "no learned model yet",
                field="scorer",
                detail="scorer: no learned model has been trained yet (run `matchmaker learn`)",
            )
        if not meta.get("beats_formula"):
            raise Conflict(
                "learned_model_not_eligible",
                str(meta.get("verdict", "")),
                field="scorer",
                detail=f"scorer: the learned model {meta.get('verdict', 'is not eligible')}",
            )
    row = session.get(LearningSetting, "scorer")
    previous = scorer_setting(session)
    if row is None:
        row = LearningSetting(key="scorer", value={"scorer": scorer}, updated_by_id=user.id)
        session.add(row)
    else:
        row.value, row.updated_by_id = {"scorer": scorer}, user.id
    session.flush()
    record(
        session,
        user.id,
        "learning_setting",
        None,
        "update",
        {"scorer": scorer, "previous": previous},
    )
    return scorer_status(session, settings)


# --- training on decisions --------------------------------------------------------------------


def formula_score(components: dict[str, Any]) -> float:
    """The formula's score from a components snapshot (default weights)."""
    total = sum(DEFAULT_CONFIG.weights.values())
    return float(
        sum(w * float(components.get(c) or 0.0) for c, w in DEFAULT_CONFIG.weights.items()) / total
    )


def decision_features(decision: Decision, proposal: Proposal) -> dict[str, float]:
    """The features of a decided pair: the components it had when decided and the pair features
    stored with its proposal."""
    stored = dict((proposal.evidence or {}).get("features") or {})
    if not all(name in stored for name in learn.PAIR_FEATURES):
        from matchmaker.matching.profiles import challenge_as_profile, group_as_profile

        stored.update(
            learn.pair_features(
                challenge_as_profile(proposal.challenge), group_as_profile(proposal.group)
            )
        )
    components = dict(decision.components or {})
    formula = stored.get("formula")
    if formula is None:
        formula = formula_score(components)
    return {**components, **stored, "formula": float(formula)}


def training_set(session: Session) -> learn.TrainingSet:
    """Every decided pair once, labelled by its latest decision: 1 if the office took it
    forward, 0 if declined. Moves back to "proposed" and reasons about conflicts are left out."""
    latest: dict[int, tuple[Decision, Proposal]] = {}
    n_decisions = 0
    rows = session.execute(
        select(Decision, Proposal)
        .join(Proposal, Decision.proposal_id == Proposal.id)
        .order_by(Decision.id)
    )
    for decision, proposal in rows:
        if decision.to_status == "proposed":
            continue
        n_decisions += 1
        latest[proposal.id] = (decision, proposal)
    X: list[Any] = []
    y: list[int] = []
    challenges: list[int] = []
    for decision, proposal in latest.values():
        if decision.reason_code in NOT_ABOUT_FIT:
            continue
        if not any(c in (decision.components or {}) for c in learn.FORMULA_COMPONENTS):
            continue  # a proposal made without the ranker: nothing to learn from
        X.append(learn.feature_row(decision_features(decision, proposal)))
        y.append(1 if decision.to_status in FORWARD else 0)
        challenges.append(proposal.challenge_id)
    return learn.TrainingSet(np.array(X), np.array(y), np.array(challenges), n_decisions)


def train(
    session: Session,
    directory: Path,
    *,
    min_decisions: int = learn.MIN_DECISIONS,
    save: bool = True,
) -> learn.Reranker:
    """Train the re-ranker on the decisions and save it (with its metadata) in ``directory``."""
    data = training_set(session)
    model = learn.Reranker(min_decisions=min_decisions).fit(
        data.X, data.y, data.groups, n_decisions=data.n_decisions
    )
    if save:
        learn.save(model, directory)
    return model


# --- explanations -----------------------------------------------------------------------------


def learned_block(
    model: learn.Reranker,
    row: Any,
    *,
    formula: float,
    learned: float,
    formula_rank: int,
    learned_rank: int,
    top: int = 5,
) -> dict[str, Any]:
    """What the proposal page shows: how far the learned model moved a pair and why."""
    return {
        "model": model.kind_,
        "trained_at": model.trained_at_,
        "formula_score": round(float(formula), 4),
        "learned_score": round(float(learned), 4),
        "formula_rank": int(formula_rank),
        "learned_rank": int(learned_rank),
        "moved": int(formula_rank) - int(learned_rank),
        "contributions": model.contributions(row, top=top),
    }


def explanation(proposal: Proposal) -> dict[str, Any]:
    """The score of a proposal taken apart: formula, stated interest, learned model."""
    evidence = proposal.evidence or {}
    features = evidence.get("features") or {}
    return {
        "proposal_id": proposal.id,
        "scorer": proposal.scorer,
        "score": round(proposal.score, 4),
        "formula_score": features.get("formula"),
        "interest": evidence.get("interest"),
        "learned": evidence.get("learned"),
        "features": {k: v for k, v in features.items() if k in learn.PAIR_FEATURES},
    }
