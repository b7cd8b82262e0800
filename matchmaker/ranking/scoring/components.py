"""The score components other than the semantic and lexical ones, over arrays of profile
attributes: fields of action, strategy weights, TRL fit, capacity (each in [0, 1])."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from matchmaker.fields import FIELD_KEYS
from matchmaker.ranking.types import Profile

#: Value of the ``fields``, ``trl`` and ``capacity`` components when a side does not say.
NEUTRAL = 0.5


def field_matrix(profiles: Sequence[Profile]) -> NDArray[np.bool_]:
    """``(n, 6)`` boolean matrix: which fields of action each profile names."""
    index = {k: i for i, k in enumerate(FIELD_KEYS)}
    out = np.zeros((len(profiles), len(FIELD_KEYS)), dtype=bool)
    for row, p in enumerate(profiles):
        for f in p.fields:
            out[row, index[f]] = True
    return out


def trl_intervals(profiles: Sequence[Profile]) -> NDArray[np.float64]:
    """``(n, 3)`` float array ``lo, hi, kind``: kind 0 = need (challenge now→target),
    1 = capability (group range); NaN where the profile has no TRL."""
    out = np.full((len(profiles), 3), np.nan)
    for row, p in enumerate(profiles):
        if p.trl_min is not None or p.trl_max is not None:
            lo = p.trl_min if p.trl_min is not None else p.trl_max
            hi = p.trl_max if p.trl_max is not None else p.trl_min
            out[row] = (min(lo, hi), max(lo, hi), 1)  # type: ignore[type-var]
        elif p.trl is not None:
            target = p.trl_target if p.trl_target is not None else p.trl
            out[row] = (min(p.trl, target), max(p.trl, target), 0)
    return out


def capacity_score(capacity: int | None) -> float:
    """Remaining capacity as a score: 0 → 0, 1 → 0.5, 2 → 0.75, … saturating at 1; None → 0.5."""
    if capacity is None:
        return NEUTRAL
    return 0.0 if capacity <= 0 else 1.0 - 0.5**capacity


def strategy_vector(strategy: Mapping[str, float] | None) -> NDArray[np.float64]:
    """The office's weight per field of action in ``FIELD_KEYS`` order (default 1.0 each)."""
    weights = dict(strategy or {})
    unknown = set(weights) - set(FIELD_KEYS)
    if unknown:
        raise ValueError(f"unknown fields of action in strategy: {sorted(unknown)}")
    vector = np.array([float(weights.get(k, 1.0)) for k in FIELD_KEYS])
    if (vector < 0).any() or (vector > 1).any():
        raise ValueError("strategy weights must be in [0, 1]")
    return vector


def fields_component(q: NDArray[np.bool_], c: NDArray[np.bool_], how: str) -> NDArray[np.float32]:
    """Overlap of fields of action, ``(n_q, n_c)``; NEUTRAL where a side names none."""
    qf, cf = q.astype(np.float32), c.astype(np.float32)
    shared = qf @ cf.T
    nq, nc = qf.sum(1)[:, None], cf.sum(1)[None, :]
    denom = np.minimum(nq, nc) if how == "overlap" else nq + nc - shared
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where((nq > 0) & (nc > 0), shared / np.maximum(denom, 1), NEUTRAL)
    return out.astype(np.float32)


def strategy_component(
    q: NDArray[np.bool_], c: NDArray[np.bool_], weights: NDArray[np.float64]
) -> NDArray[np.float32]:
    """Mean strategy weight over the shared fields (over the pair's fields if none are shared;
    the mean of all weights if neither side names a field), ``(n_q, n_c)``."""
    qf, cf = q.astype(np.float64), c.astype(np.float64)
    shared_n = qf @ cf.T
    shared_w = (qf * weights) @ cf.T
    union_n = qf.sum(1)[:, None] + cf.sum(1)[None, :] - shared_n
    union_w = (qf @ weights)[:, None] + (cf @ weights)[None, :] - shared_w
    out = np.full(shared_n.shape, weights.mean())
    np.divide(union_w, union_n, out=out, where=union_n > 0)
    np.divide(shared_w, shared_n, out=out, where=shared_n > 0)
    return out.astype(np.float32)


def trl_component(q: NDArray[np.float64], c: NDArray[np.float64]) -> NDArray[np.float32]:
    """TRL fit ``2 ** (-d / 2)``, ``(n_q, n_c)``, NEUTRAL where a side has no TRL.

    ``d`` counts the TRL steps of the need (challenge now→target) outside the capability (group
    range); between two needs or two capabilities it is the gap between the intervals.
    """
    qlo, qhi, qk = (q[:, i, None] for i in range(3))
    clo, chi, ck = (c[None, :, i] for i in range(3))
    need_q = np.maximum(0, clo - qlo) + np.maximum(0, qhi - chi)  # query needs, candidate can
    need_c = np.maximum(0, qlo - clo) + np.maximum(0, chi - qhi)  # candidate needs, query can
    gap = np.maximum(0, np.maximum(qlo - chi, clo - qhi))
    d = np.where(qk == ck, gap, np.where(qk == 0, need_q, need_c))
    out = np.where(np.isnan(d), NEUTRAL, 2.0 ** (-np.nan_to_num(d) / 2))
    return out.astype(np.float32)
