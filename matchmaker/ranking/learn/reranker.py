"""The learned scorer: the model chosen by cross-validation on held-out challenges, fitted on
every decision, and what it says about one pair (scikit-learn imported only where needed)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from sklearn.base import BaseEstimator

from matchmaker.ranking.learn.features import FEATURE_LABELS, FEATURES

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

    X: NDArray[np.float64]
    y: NDArray[np.int64]
    #: The challenge of each row: cross-validation holds out whole challenges.
    groups: NDArray[Any]
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
    def formula(self) -> NDArray[np.float64]:
        return self.X[:, FEATURES.index("formula")]


def _fold_metrics(y: NDArray[np.int64], scores: NDArray[Any]) -> tuple[float, float]:
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

    def predict_proba(self, X: Any) -> NDArray[np.float64]:
        """``(n, 2)`` probabilities of declined / taken forward."""
        X = np.asarray(X, dtype=np.float64).reshape(-1, len(FEATURES))
        return np.asarray(self.estimator_.predict_proba(X))

    def predict(self, X: Any) -> NDArray[np.int64]:
        """1 where the model expects the office to take the pair forward."""
        return (self.learned_score(X) >= 0.5).astype(np.int64)

    def learned_score(self, X: Any) -> NDArray[np.float64]:
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


# Saved models name the class by the package that exports it (``matchmaker.ranking.learn.Reranker``,
# as the committed simulation model does): kept so that a model saved by this code loads wherever
# that name does.
Reranker.__module__ = "matchmaker.ranking.learn"
