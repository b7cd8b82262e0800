"""Why a matching run proposed fewer than k groups for a challenge, from the run's own arrays.

The assignment fills every slot it can (a free group with a positive score always beats an empty
slot), so each group left out of a short challenge was blocked by something the data names: its
pair is already in the pipeline or excluded, its score is not above zero, its capacity went to
other challenges, or the challenge already has the most groups of its institution."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

#: The reasons, in the order the run page lists them.
REASONS = ("in_pipeline", "excluded", "min_score", "capacity", "institution")


def shortfalls(
    scores: np.ndarray,
    chosen: Sequence[Sequence[int]],
    *,
    k: int,
    capacity: Sequence[int],
    institution: Sequence[str | None],
    max_per_institution: int,
    in_pipeline: np.ndarray,
    excluded: np.ndarray,
) -> list[dict[str, Any]]:
    """For each challenge row that got fewer than ``k`` groups: its row, how many it got, and how
    many groups each reason kept out (a group blocked by both capacity and the institution limit
    counts for both). ``in_pipeline`` and ``excluded`` are boolean masks of the shape of
    ``scores``: pairs already past "proposed" (or decided) and pairs the office excluded."""
    n_c, n_g = scores.shape
    caps = np.maximum(np.asarray(capacity, dtype=np.int64), 0)
    used = np.zeros(n_g, dtype=np.int64)
    for cols in chosen:
        for j in cols:
            used[j] += 1
    full = used >= caps
    inst_keys = [f"\0{j}" if i is None else str(i) for j, i in enumerate(institution)]
    out: list[dict[str, Any]] = []
    for i in range(n_c):
        cols = list(chosen[i]) if i < len(chosen) else []
        if len(cols) >= k:
            continue
        taken = {j: True for j in cols}
        per_inst: dict[str, int] = {}
        for j in cols:
            per_inst[inst_keys[j]] = per_inst.get(inst_keys[j], 0) + 1
        pipeline_row = in_pipeline[i]
        excluded_row = excluded[i] & ~pipeline_row
        low = ~pipeline_row & ~excluded_row & ~(np.isfinite(scores[i]) & (scores[i] > 0))
        eligible = ~pipeline_row & ~excluded_row & ~low
        capacity_blocked = institution_blocked = 0
        for col in np.flatnonzero(eligible).tolist():
            if col in taken:
                continue
            capacity_blocked += int(full[col])
            institution_blocked += int(per_inst.get(inst_keys[col], 0) >= max_per_institution)
        counts = {
            "in_pipeline": int(pipeline_row.sum()),
            "excluded": int(excluded_row.sum()),
            "min_score": int(low.sum()),
            "capacity": capacity_blocked,
            "institution": institution_blocked,
        }
        out.append(
            {
                "row": i,
                "proposed": len(cols),
                "missing": k - len(cols),
                "groups": n_g,
                "reasons": {name: n for name, n in counts.items() if n},
            }
        )
    return out
