"""The scoring formula and the in-memory candidate index that ranks queries against candidates.

``score = sum(w[c] * component[c]) / sum(w)`` over the components ``semantic``, ``lexical``,
``fields``, ``strategy``, ``trl`` and ``capacity``, each in [0, 1]; see ``docs/ranking.md``.

Modules: :mod:`.config` (weights and choices), :mod:`.components` (fields, strategy, TRL,
capacity), :mod:`.hubness`, and the index in layers: :mod:`.passage_index` (passage matrix,
queries, semantic similarity), :mod:`.translation` (German–English lexical overlap),
:mod:`.calibration` (language pairs on one scale, hubness fitted) and :mod:`.index`
(:class:`CandidateIndex`: components combined, ranking, evidence).
"""

from __future__ import annotations

# What callers use: the index and its configuration, the hubness constants and the TRL
# component (the other components are :mod:`.components`' own).
from matchmaker.ranking.scoring.calibration import CALIBRATION_SAMPLE
from matchmaker.ranking.scoring.components import trl_component, trl_intervals
from matchmaker.ranking.scoring.config import (
    AGGREGATIONS,
    COMPONENTS,
    DEFAULT_CONFIG,
    ScoringConfig,
)
from matchmaker.ranking.scoring.hubness import HUBNESS_MIN_TEXTS, HUBNESS_NEIGHBOURS
from matchmaker.ranking.scoring.index import CandidateIndex

__all__ = [
    "AGGREGATIONS",
    "CALIBRATION_SAMPLE",
    "COMPONENTS",
    "DEFAULT_CONFIG",
    "HUBNESS_MIN_TEXTS",
    "HUBNESS_NEIGHBOURS",
    "CandidateIndex",
    "ScoringConfig",
    "trl_component",
    "trl_intervals",
]
