"""Learning from decisions: pair features, stated interest, a re-ranker chosen by cross-validated
measurement, explanations of what it changed, and the replay that shows whether it helps.

Pure: numpy and scikit-learn over arrays; no Flask, no SQLAlchemy. See ``docs/ranking.md``,
section "Learning from decisions".

scikit-learn is imported only where a model is built, trained or described (importing it costs
~1 s), so that the web app, which imports this module, starts without it.

Modules: :mod:`.interest` (stated interest), :mod:`.features` (pair features), :mod:`.reranker`
(cross-validation and the learned scorer), :mod:`.storage` (save and load), :mod:`.replay` (the
simulated office and its learning curve).
"""

from __future__ import annotations

from matchmaker.ranking.learn.features import CAPACITY_CAP as CAPACITY_CAP
from matchmaker.ranking.learn.features import (
    FEATURE_LABELS,
    FEATURES,
    feature_matrix,
    feature_row,
    pair_feature_arrays,
    pair_features,
)
from matchmaker.ranking.learn.features import FORMULA_COMPONENTS as FORMULA_COMPONENTS
from matchmaker.ranking.learn.features import PAIR_FEATURES as PAIR_FEATURES
from matchmaker.ranking.learn.interest import COMPANY_VALUES as COMPANY_VALUES
from matchmaker.ranking.learn.interest import GROUP_VALUES as GROUP_VALUES
from matchmaker.ranking.learn.interest import INTEREST_WEIGHT, interest_value, with_interest
from matchmaker.ranking.learn.replay import HIDDEN_PREFERENCES as HIDDEN_PREFERENCES
from matchmaker.ranking.learn.replay import CurvePoint as CurvePoint
from matchmaker.ranking.learn.replay import Replay, curve_table, precision_at_k, replay
from matchmaker.ranking.learn.replay import hidden_office as hidden_office
from matchmaker.ranking.learn.replay import seed_features as seed_features
from matchmaker.ranking.learn.reranker import (
    MIN_DECISIONS,
    NotEnoughDecisions,
    Reranker,
    TrainingSet,
    cross_validate,
)
from matchmaker.ranking.learn.reranker import _fold_metrics as _fold_metrics
from matchmaker.ranking.learn.reranker import candidate_models as candidate_models
from matchmaker.ranking.learn.storage import METADATA_FILE as METADATA_FILE
from matchmaker.ranking.learn.storage import MODEL_FILE as MODEL_FILE
from matchmaker.ranking.learn.storage import _sha256 as _sha256
from matchmaker.ranking.learn.storage import load, read_metadata, save

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
