"""Learning from decisions: pair features, stated interest, a re-ranker chosen by cross-validated
measurement, explanations of what it changed, and the replay that shows whether it helps.

Pure: numpy and scikit-learn over arrays; no Flask, no SQLAlchemy. See ``docs/ranking.md``,
section "Learning from decisions".

scikit-learn is imported only where a model is built, trained or described (importing it costs
~1 s), so that the web app, which imports this module, starts without it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import joblib
import numpy as np

from matchmaker.ranking.types import Profile

if TYPE_CHECKING:
    from sklearn.base import BaseEstimator

# --- stated interest --------------------------------------------------------------------------

#: How far stated interest moves a score: ``score + INTEREST_WEIGHT * (interest - 0.5)``, so at
#: most ±0.1; with nothing stated (interest 0.5) the score is unchanged.
INTEREST_WEIGHT = 0.2
GROUP_VALUES = ("interested", "not_for_us")
COMPANY_VALUES = ("interested",)


def interest_value(group: str | None, company: str | None) -> float:
    """The ``interest`` component in [0, 1]: 0.5 when nothing is stated, +0.25 for each side
    that is interested, and 0 when the group said "not for us" (whatever the company said)."""
    if group == "not_for_us":
        return 0.0
    return 0.5 + 0.25 * (group == "interested") + 0.25 * (company == "interested")


def with_interest(score: Any, interest: Any) -> Any:
    """A score (or array of scores) moved by stated interest."""
    return score + INTEREST_WEIGHT * (np.asarray(interest) - 0.5)


# --- features ---------------------------------------------------------------------------------

#: The formula's components, as the matching core computes them (``scoring.COMPONENTS``).
FORMULA_COMPONENTS: tuple[str, ...] = (
    "semantic",
    "lexical",
    "fields",
    "strategy",
    "trl",
    "capacity",
)
#: Features of a (challenge, group) pair that the formula does not have as such.
PAIR_FEATURES: tuple[str, ...] = ("target_gap", "start_gap", "shared_fields", "capacity_left")
FEATURES: tuple[str, ...] = (*FORMULA_COMPONENTS, "formula", *PAIR_FEATURES)
FEATURE_LABELS: dict[str, str] = {
    "semantic": "Semantic similarity",
    "lexical": "Shared terms",
    "fields": "Shared fields of action",
    "strategy": "Strategy weight",
    "trl": "TRL fit",
    "capacity": "Capacity score",
    "formula": "Formula score",
    "target_gap": "TRL steps the group stops short of the target",
    "start_gap": "TRL steps the group starts above the challenge",
    "shared_fields": "Number of shared fields of action",
    "capacity_left": "Projects the group can still take (max 5)",
}
CAPACITY_CAP = 5


def pair_features(challenge: Profile, group: Profile) -> dict[str, float]:
    """The pair features of one (challenge, group) pair; 0 where a side does not say."""
    target = challenge.trl_target if challenge.trl_target is not None else challenge.trl
    target_gap = (
        max(0, target - group.trl_max) if target is not None and group.trl_max is not None else 0
    )
    start_gap = (
        max(0, group.trl_min - challenge.trl)
        if challenge.trl is not None and group.trl_min is not None
        else 0
    )
    capacity = group.capacity if group.capacity is not None else 1
    return {
        "target_gap": float(target_gap),
        "start_gap": float(start_gap),
        "shared_fields": float(len(set(challenge.fields) & set(group.fields))),
        "capacity_left": float(min(max(capacity, 0), CAPACITY_CAP)),
    }


def pair_feature_arrays(
    challenges: Sequence[Profile], groups: Sequence[Profile]
) -> dict[str, np.ndarray]:
    """Every pair feature as an ``(n_challenges, n_groups)`` array."""
    out = {name: np.zeros((len(challenges), len(groups))) for name in PAIR_FEATURES}
    for i, c in enumerate(challenges):
        for j, g in enumerate(groups):
            for name, value in pair_features(c, g).items():
                out[name][i, j] = value
    return out


def feature_matrix(
    components: Mapping[str, np.ndarray],
    formula: np.ndarray,
    pairs: Mapping[str, np.ndarray],
) -> np.ndarray:
    """Stack same-shaped arrays into rows of :data:`FEATURES`: ``(*shape, n_features)``."""
    columns = [np.asarray(components[c], dtype=np.float64) for c in FORMULA_COMPONENTS]
    columns.append(np.asarray(formula, dtype=np.float64))
    columns += [np.asarray(pairs[p], dtype=np.float64) for p in PAIR_FEATURES]
    return np.stack(columns, axis=-1)


def feature_row(values: Mapping[str, Any]) -> np.ndarray:
    """One row of :data:`FEATURES` from a mapping (a decision's components and pair features);
    a missing value counts as 0."""
    return np.array([float(values.get(f) or 0.0) for f in FEATURES])


# --- training ---------------------------------------------------------------------------------

#: Below this many labelled decisions the formula stands, whatever the model measures.
MIN_DECISIONS = 50


def candidate_models(seed: int = 0) -> dict[str, BaseEstimator]:
    """The models compared by cross-validation; the better one is kept."""
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return {
        "logistic_regression": make_pipeline(
            StandardScaler(), LogisticRegression(C=1.0, max_iter=2000)
        ),
        "gradient_boosting": GradientBoostingClassifier(
            n_estimators=100, max_depth=2, learning_rate=0.05, subsample=0.8, random_state=seed
        ),
    }


@dataclass
class TrainingSet:
    """Labelled pairs: features, 1 = the office took the pair forward, 0 = declined."""

    X: np.ndarray
    y: np.ndarray
    #: The challenge of each row: cross-validation holds out whole challenges.
    groups: np.ndarray
    #: How many decisions the rows came from (a pair may have several).
    n_decisions: int = 0

    def __post_init__(self) -> None:
        self.X = np.asarray(self.X, dtype=np.float64).reshape(-1, len(FEATURES))
        self.y = np.asarray(self.y, dtype=np.int64)
        self.groups = np.asarray(self.groups)
        if not self.n_decisions:
            self.n_decisions = len(self.y)

    def __len__(self) -> int:
        return len(self.y)

    @property
    def formula(self) -> np.ndarray:
        return self.X[:, FEATURES.index("formula")]


def _fold_metrics(y: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    from sklearn.metrics import average_precision_score, roc_auc_score

    return float(roc_auc_score(y, scores)), float(average_precision_score(y, scores))


def cross_validate(
    data: TrainingSet, models: Mapping[str, BaseEstimator], n_splits: int = 5
) -> dict[str, dict[str, float]]:
    """Mean ROC AUC and average precision on held-out challenges, per model and for the formula
    (the formula's score as the ranking) on the very same folds. Empty when not measurable."""
    from sklearn.base import clone
    from sklearn.model_selection import GroupKFold

    n_challenges = len(set(data.groups.tolist()))
    if n_challenges < 2 or len(set(data.y.tolist())) < 2:
        return {}
    folds = GroupKFold(n_splits=min(n_splits, n_challenges))
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in (*models, "formula")}
    for train, test in folds.split(data.X, data.y, data.groups):
        if len(set(data.y[train].tolist())) < 2 or len(set(data.y[test].tolist())) < 2:
            continue
        results["formula"].append(_fold_metrics(data.y[test], data.formula[test]))
        for name, model in models.items():
            fitted = clone(model).fit(data.X[train], data.y[train])
            results[name].append(
                _fold_metrics(data.y[test], fitted.predict_proba(data.X[test])[:, 1])
            )
    if not results["formula"]:
        return {}
    return {
        name: {
            "roc_auc": round(float(np.mean([r[0] for r in rows])), 4),
            "average_precision": round(float(np.mean([r[1] for r in rows])), 4),
            "folds": len(rows),
        }
        for name, rows in results.items()
    }


class NotEnoughDecisions(ValueError):
    """Raised when the decisions cannot train a model (too few, or only one outcome)."""


class Reranker:
    """The learned scorer: the model that cross-validation chose, fitted on every decision.

    :meth:`learned_score` is its probability that the office takes a pair forward. Fitted state (ending in
    ``_``) includes the metadata saved next to the model: when it was trained, on how many
    decisions, the features and the cross-validated metrics, and whether it beat the formula.

    Not a subclass of scikit-learn's ``BaseEstimator``: that would import scikit-learn with
    this module (the web app imports it). Nothing used ``get_params``/``clone`` on it, and it
    pickles the same (``BaseEstimator`` adds nothing to the pickled state of a class outside
    ``sklearn``), so saved models load either way.
    """

    def __init__(self, min_decisions: int = MIN_DECISIONS, n_splits: int = 5, seed: int = 0):
        self.min_decisions = min_decisions
        self.n_splits = n_splits
        self.seed = seed

    def fit(
        self, X: Any, y: Any, groups: Any = None, *, n_decisions: int = 0, now: Any = None
    ) -> Reranker:
        """Choose the model by cross-validation on held-out challenges, then fit it on all."""
        data = TrainingSet(X, y, groups if groups is not None else np.arange(len(y)), n_decisions)
        if len(data) < 2 or len(set(data.y.tolist())) < 2:
            raise NotEnoughDecisions(
                "need decisions with both outcomes (taken forward and declined) to learn"
            )
        from sklearn.base import clone

        models = candidate_models(self.seed)
        self.cv_metrics_ = cross_validate(data, models, self.n_splits)
        measured = {k: v for k, v in self.cv_metrics_.items() if k != "formula"}
        self.kind_ = (
            max(measured, key=lambda k: (measured[k]["roc_auc"], k == "logistic_regression"))
            if measured
            else "logistic_regression"
        )
        self.estimator_ = clone(models[self.kind_]).fit(data.X, data.y)
        self.classes_ = np.array([0, 1])
        self.features_ = FEATURES
        # Medians: for a mostly-zero count such as target_gap the typical pair has 0.
        self.typical_ = np.median(data.X, axis=0)
        self.n_examples_ = len(data)
        self.n_positive_ = int(data.y.sum())
        self.n_decisions_ = data.n_decisions
        self.n_challenges_ = len(set(data.groups.tolist()))
        self.trained_at_ = (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")
        self.eligible_, self.verdict_ = self._verdict()
        return self

    def _verdict(self) -> tuple[bool, str]:
        if self.n_examples_ < self.min_decisions:
            return False, (
                f"{self.n_examples_} labelled decisions; at least {self.min_decisions} are "
                "needed before the learned scorer may replace the formula"
            )
        if not self.cv_metrics_:
            return False, "not measurable: no held-out fold had both outcomes"
        model = self.cv_metrics_[self.kind_]["roc_auc"]
        formula = self.cv_metrics_["formula"]["roc_auc"]
        if model <= formula:
            return False, (
                f"does not beat the formula on held-out decisions "
                f"(ROC AUC {model:.3f} vs {formula:.3f})"
            )
        return True, (
            f"beats the formula on held-out decisions (ROC AUC {model:.3f} vs {formula:.3f})"
        )

    def predict_proba(self, X: Any) -> np.ndarray:
        """``(n, 2)`` probabilities of declined / taken forward."""
        X = np.asarray(X, dtype=np.float64).reshape(-1, len(FEATURES))
        return np.asarray(self.estimator_.predict_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        """1 where the model expects the office to take the pair forward."""
        return (self.learned_score(X) >= 0.5).astype(np.int64)

    def learned_score(self, X: Any) -> np.ndarray:
        """The learned score of each row: the probability of being taken forward."""
        return self.predict_proba(X)[:, 1]

    def contributions(self, x: Any, top: int | None = None) -> list[dict[str, Any]]:
        """How each feature moved one pair's learned score: the score minus the score with that
        feature set to its typical value (the median over the training decisions); largest
        effects first."""
        x = np.asarray(x, dtype=np.float64).reshape(len(FEATURES))
        probe = np.repeat(x[None, :], len(FEATURES) + 1, axis=0)
        for i in range(len(FEATURES)):
            probe[i + 1, i] = self.typical_[i]
        scores = self.learned_score(probe)
        rows: list[dict[str, Any]] = [
            {
                "feature": f,
                "label": FEATURE_LABELS[f],
                "value": round(float(x[i]), 4),
                "typical": round(float(self.typical_[i]), 4),
                "effect": round(float(scores[0] - scores[i + 1]), 4),
            }
            for i, f in enumerate(FEATURES)
        ]
        rows.sort(key=lambda r: (-abs(r["effect"]), r["feature"]))
        return rows[:top] if top else rows

    def metadata(self) -> dict[str, Any]:
        """What is saved next to the model (``reranker.json``)."""
        import sklearn

        return {
            "model": self.kind_,
            "trained_at": self.trained_at_,
            "decisions": self.n_decisions_,
            "examples": self.n_examples_,
            "taken_forward": self.n_positive_,
            "challenges": self.n_challenges_,
            "features": list(self.features_),
            "cv_metrics": self.cv_metrics_,
            "min_decisions": self.min_decisions,
            "beats_formula": bool(self.eligible_),
            "verdict": self.verdict_,
            "scikit_learn": sklearn.__version__,
        }


# --- saving -----------------------------------------------------------------------------------

MODEL_FILE = "reranker.joblib"
METADATA_FILE = "reranker.json"


def save(model: Reranker, directory: Path) -> Path:
    """Write ``reranker.joblib`` and ``reranker.json`` (with the model file's SHA-256)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / MODEL_FILE
    tmp = path.with_suffix(".tmp")
    joblib.dump(model, tmp)
    tmp.replace(path)
    meta = {**model.metadata(), "file": MODEL_FILE, "sha256": _sha256(path)}
    (directory / METADATA_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return path


def read_metadata(directory: Path) -> dict[str, Any] | None:
    """The saved model's metadata, or None when there is no model."""
    path = directory / METADATA_FILE
    if not path.exists() or not (directory / MODEL_FILE).exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def load(directory: Path) -> Reranker:
    """Load the saved model, refusing a file that is not the one its metadata describes."""
    meta = read_metadata(directory)
    if meta is None:
        raise FileNotFoundError(f"no learned model in {directory}")
    path = directory / MODEL_FILE
    if _sha256(path) != meta.get("sha256"):
        raise ValueError(f"{path} does not match the SHA-256 in {METADATA_FILE}")
    model = joblib.load(path)
    if not isinstance(model, Reranker):
        raise ValueError(f"{path} does not hold a Reranker")
    return model


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- replay -----------------------------------------------------------------------------------


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


def precision_at_k(scores: np.ndarray, accept: np.ndarray, rows: np.ndarray, k: int) -> float:
    """Mean share of the top ``k`` of each row in ``rows`` that the office would accept."""
    values = []
    for i in rows:
        top = np.lexsort((np.arange(scores.shape[1]), -scores[i]))[:k]
        values.append(accept[i, top].sum() / k)
    return float(np.mean(values)) if values else 0.0


def replay(
    X: np.ndarray,
    accept: np.ndarray,
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
) -> np.ndarray:
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
) -> np.ndarray:
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


__all__ = [
    "FEATURES",
    "FEATURE_LABELS",
    "INTEREST_WEIGHT",
    "MIN_DECISIONS",
    "NotEnoughDecisions",
    "Replay",
    "Reranker",
    "TrainingSet",
    "cross_validate",
    "curve_table",
    "feature_matrix",
    "feature_row",
    "interest_value",
    "load",
    "pair_feature_arrays",
    "pair_features",
    "precision_at_k",
    "read_metadata",
    "replay",
    "save",
    "with_interest",
]
