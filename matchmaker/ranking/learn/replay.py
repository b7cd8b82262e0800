"""The replay: a hidden office deciding on the labelled set, the learned scorer retrained as the
decisions come, and the learning curve that shows whether it helps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from matchmaker.ranking.learn.features import (
    FEATURES,
    feature_matrix,
    pair_feature_arrays,
    pair_features,
)
from matchmaker.ranking.learn.reranker import MIN_DECISIONS, NotEnoughDecisions, Reranker
from matchmaker.ranking.types import Profile


@dataclass
class CurvePoint:
    """Precision@k on held-out challenges after ``decisions`` decisions (mean over splits)."""

    decisions: int
    formula: float
    learned: float | None
    active: float
    eligible: float  # share of splits in which the learned scorer was switched on
    model: str = ""


@dataclass
class Replay:
    """The outcome of :func:`replay`: the learning curve and what bounds it."""

    points: list[CurvePoint]
    ceiling: float  # precision@k of a perfect ranker on the held-out challenges
    splits: int
    held_out: int
    train: int
    models: dict[str, int] = field(default_factory=dict)
    #: The model trained on every decision of the first split (what ``simulate`` saves).
    final_model: Reranker | None = None


def precision_at_k(
    scores: NDArray[Any], accept: NDArray[np.bool_], rows: NDArray[Any], k: int
) -> float:
    """Mean share of the top ``k`` of each row in ``rows`` that the office would accept."""
    values = []
    for i in rows:
        top = np.lexsort((np.arange(scores.shape[1]), -scores[i]))[:k]
        values.append(accept[i, top].sum() / k)
    return float(np.mean(values)) if values else 0.0


def replay(
    X: NDArray[np.float64],
    accept: NDArray[np.bool_],
    *,
    step: int = 25,
    k: int = 5,
    rounds: int = 2,
    held_out: float = 0.3,
    splits: int = 3,
    min_decisions: int = MIN_DECISIONS,
) -> Replay:
    """Replay an office whose decisions follow ``accept`` (``(n_c, n_g)`` booleans it never tells).

    ``X`` is the ``(n_c, n_g, n_features)`` feature array of every pair. In each of ``splits``
    random splits a share ``held_out`` of the challenges is never decided on. The office works
    through the other challenges in ``rounds``: each time a challenge comes up it reviews the
    ``k`` best undecided groups under the scorer then active (the learned one only when it beats
    the formula on held-out decisions and has ``min_decisions``), accepting exactly those in
    ``accept``. After every ``step`` decisions the model is retrained and precision@``k`` of the
    formula, the learned model and the active scorer is measured on the held-out challenges.
    """
    n_c, n_g, _ = X.shape
    formula = X[..., FEATURES.index("formula")]
    flat = X.reshape(-1, X.shape[-1])
    per_split: list[list[CurvePoint]] = []
    models: dict[str, int] = {}
    ceiling = []
    final_models: list[Reranker | None] = []
    n_hold = max(1, round(n_c * held_out))
    for split in range(splits):
        rng = np.random.default_rng(split)
        order = rng.permutation(n_c)
        test, train = order[:n_hold], order[n_hold:]
        ceiling.append(float(np.mean([min(accept[i].sum(), k) / k for i in test])))
        decided = np.zeros((n_c, n_g), dtype=bool)
        rows: list[tuple[int, int]] = []
        model: Reranker | None = None
        active = formula
        base = precision_at_k(formula, accept, test, k)
        points = [CurvePoint(0, base, None, base, 0.0)]
        for _ in range(rounds):
            for i in train:
                scores = np.where(decided[i], -np.inf, active[i])
                for j in np.lexsort((np.arange(n_g), -scores))[:k]:
                    if decided[i, j]:
                        continue
                    decided[i, j] = True
                    rows.append((int(i), int(j)))
                    if len(rows) % step:
                        continue
                    ci, gj = np.array(rows).T
                    try:
                        model = Reranker(min_decisions=min_decisions, seed=split).fit(
                            X[ci, gj], accept[ci, gj], ci
                        )
                    except NotEnoughDecisions:
                        model = None
                    learned = (
                        model.learned_score(flat).reshape(n_c, n_g) if model is not None else None
                    )
                    switched_on = model is not None and bool(model.eligible_)
                    active = learned if learned is not None and switched_on else formula
                    if model is not None:
                        models[model.kind_] = models.get(model.kind_, 0) + 1
                    points.append(
                        CurvePoint(
                            len(rows),
                            base,
                            None if learned is None else precision_at_k(learned, accept, test, k),
                            precision_at_k(active, accept, test, k),
                            float(switched_on),
                            model.kind_ if model is not None else "",
                        )
                    )
        per_split.append(points)
        final_models.append(model)
    length = min(len(p) for p in per_split)
    mean_points = []
    for n in range(length):
        at = [p[n] for p in per_split]
        learned_values = [p.learned for p in at if p.learned is not None]
        mean_points.append(
            CurvePoint(
                at[0].decisions,
                float(np.mean([p.formula for p in at])),
                float(np.mean(learned_values)) if len(learned_values) == len(at) else None,
                float(np.mean([p.active for p in at])),
                float(np.mean([p.eligible for p in at])),
                "/".join(sorted({p.model for p in at if p.model})),
            )
        )
    return Replay(
        mean_points,
        float(np.mean(ceiling)),
        splits,
        n_hold,
        n_c - n_hold,
        models,
        final_models[0] if final_models else None,
    )


#: The hidden offices of the replay: which pairs they take forward. Neither is known to the formula.
HIDDEN_PREFERENCES: dict[str, str] = {
    "reaches_target": "relevance ≥ 2 in the labelled set AND the group's TRL range reaches the "
    "challenge's target TRL",
    "relevance_only": "relevance ≥ 2 in the labelled set (control: no preference beyond topic)",
}


def hidden_office(
    judgements: Mapping[str, Mapping[str, int]],
    challenges: Sequence[Profile],
    groups: Sequence[Profile],
    preference: str = "reaches_target",
) -> NDArray[np.bool_]:
    """``(n_c, n_g)`` booleans: the pairs the hidden office would take forward."""
    if preference not in HIDDEN_PREFERENCES:
        raise ValueError(f"preference must be one of {sorted(HIDDEN_PREFERENCES)}")
    accept = np.zeros((len(challenges), len(groups)), dtype=bool)
    for i, c in enumerate(challenges):
        judged = judgements.get(c.id, {})
        for j, g in enumerate(groups):
            relevant = judged.get(g.id, 0) >= 2
            if preference == "reaches_target":
                relevant = relevant and pair_features(c, g)["target_gap"] == 0
            accept[i, j] = relevant
    return accept


def seed_features(
    challenges: Sequence[Profile],
    groups: Sequence[Profile],
    embedder: Any,
    store: Any = None,
    strategy: Mapping[str, float] | None = None,
) -> NDArray[np.float64]:
    """The ``(n_c, n_g, n_features)`` features of every pair, scored as the service scores."""
    from matchmaker.ranking.scoring import DEFAULT_CONFIG, CandidateIndex
    from matchmaker.ranking.store import encode_cached

    index = CandidateIndex.build(groups, embedder, store)
    vectors = [
        encode_cached(embedder, [p.text for p in index.query_passages(c)], store)
        for c in challenges
    ]
    formula, parts = index.score_matrix(
        challenges, vectors, strategy=strategy, config=DEFAULT_CONFIG
    )
    return feature_matrix(parts, formula, pair_feature_arrays(challenges, groups))


def curve_table(result: Replay, k: int = 5) -> str:
    """The learning curve as a markdown table."""
    lines = [
        f"| Decisions | Formula P@{k} | Learned P@{k} | Service P@{k} | Learned switched on | Model |",
        "|---:|---:|---:|---:|---:|---|",
    ]
    for p in result.points:
        learned = "–" if p.learned is None else f"{p.learned:.3f}"
        lines.append(
            f"| {p.decisions} | {p.formula:.3f} | {learned} | {p.active:.3f} | "
            f"{p.eligible * result.splits:.0f}/{result.splits} | {p.model or '–'} |"
        )
    return "\n".join(lines)
