"""The features of a (challenge, group) pair: the formula's components, its score, and what
the formula does not have as such (TRL gaps, shared fields, capacity left)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from matchmaker.ranking.types import Profile

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
) -> dict[str, NDArray[np.float64]]:
    """Every pair feature as an ``(n_challenges, n_groups)`` array."""
    out = {name: np.zeros((len(challenges), len(groups))) for name in PAIR_FEATURES}
    for i, c in enumerate(challenges):
        for j, g in enumerate(groups):
            for name, value in pair_features(c, g).items():
                out[name][i, j] = value
    return out


def feature_matrix(
    components: Mapping[str, NDArray[Any]],
    formula: NDArray[Any],
    pairs: Mapping[str, NDArray[Any]],
) -> NDArray[np.float64]:
    """Stack same-shaped arrays into rows of :data:`FEATURES`: ``(*shape, n_features)``."""
    columns = [np.asarray(components[c], dtype=np.float64) for c in FORMULA_COMPONENTS]
    columns.append(np.asarray(formula, dtype=np.float64))
    columns += [np.asarray(pairs[p], dtype=np.float64) for p in PAIR_FEATURES]
    return np.stack(columns, axis=-1)


def feature_row(values: Mapping[str, Any]) -> NDArray[np.float64]:
    """One row of :data:`FEATURES` from a mapping (a decision's components and pair features);
    a missing value counts as 0."""
    return np.array([float(values.get(f) or 0.0) for f in FEATURES])
