"""Portfolio matching: k candidates per query, within capacities and an institution spread,
maximising the total score exactly (min-cost flow)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

#: Scores become integer arc costs at this resolution (OR-Tools' min-cost flow is integral).
SCALE = 1_000_000


def _allowed(
    scores: NDArray[Any], excluded: NDArray[Any] | None, min_score: float | None
) -> NDArray[Any]:
    allowed = np.isfinite(scores)
    if excluded is not None:
        if excluded.shape != scores.shape:
            raise ValueError("excluded must have the shape of scores")
        allowed &= ~excluded
    if min_score is not None:
        allowed &= scores >= min_score
    return allowed


def top_k_unconstrained(
    scores: NDArray[Any],
    k: int,
    excluded: NDArray[Any] | None = None,
    min_score: float | None = None,
) -> list[list[int]]:
    """Per query row, the ``k`` best candidate columns (best first), ignoring capacities."""
    allowed = _allowed(scores, excluded, min_score)
    masked = np.where(allowed, scores, -np.inf)
    result: list[list[int]] = []
    for row, ok in zip(masked, allowed, strict=True):
        n = min(k, int(ok.sum()))
        cols = np.argpartition(-row, n - 1)[:n] if 0 < n < len(row) else np.flatnonzero(ok)
        result.append([int(c) for c in cols[np.lexsort((cols, -row[cols]))]][:n])
    return result


def assign_portfolio(
    scores: NDArray[Any],
    *,
    k: int,
    capacity: Sequence[int],
    institution: Sequence[str | None],
    max_per_institution: int,
    excluded: NDArray[Any] | None = None,
    min_score: float | None = None,
) -> list[list[int]]:
    """Choose candidate columns per query row maximising the total score, subject to: at most
    ``k`` per query; candidate ``c`` chosen at most ``capacity[c]`` times over all queries; at
    most ``max_per_institution`` candidates of one institution per query; never an ``excluded``
    pair nor one scoring below ``min_score``. Pairs with score <= 0 add nothing and are left out.

    Solved exactly as a min-cost flow: source → query (k) → (query, institution) (m) →
    candidate (1, cost −score) → sink (capacity), with a free query → sink arc for unfilled
    slots. Rows of the result are sorted by score, best first.
    """
    from ortools.graph.python import min_cost_flow

    scores = np.asarray(scores, dtype=np.float64)
    n_q, n_c = scores.shape
    if len(capacity) != n_c or len(institution) != n_c:
        raise ValueError("capacity and institution need one entry per candidate column")
    allowed = _allowed(scores, excluded, min_score) & (scores > 0)
    caps = np.maximum(np.asarray(capacity, dtype=np.int64), 0)
    allowed &= caps[None, :] > 0
    if k <= 0 or not allowed.any():
        return [[] for _ in range(n_q)]

    # An institution of None is unique to its candidate: no spread limit applies across them.
    inst_keys = [f"\0{c}" if i is None else str(i) for c, i in enumerate(institution)]
    _, inst = np.unique(np.array(inst_keys, dtype=object), return_inverse=True)
    qi, ci = np.nonzero(allowed)
    # (query, institution) nodes that are needed.
    pair_key = qi.astype(np.int64) * (int(inst.max()) + 1) + inst[ci]
    uniq, slot = np.unique(pair_key, return_inverse=True)
    slot_query = uniq // (int(inst.max()) + 1)

    source, sink = 0, 1
    query_node = 2 + np.arange(n_q)
    slot_node = 2 + n_q + np.arange(len(uniq))
    cand_node = 2 + n_q + len(uniq) + np.arange(n_c)

    tails = np.concatenate(
        [np.full(n_q, source), query_node, query_node[slot_query], slot_node[slot], cand_node]
    )
    heads = np.concatenate(
        [query_node, np.full(n_q, sink), slot_node, cand_node[ci], np.full(n_c, sink)]
    )
    caps_arcs = np.concatenate(
        [
            np.full(n_q, k),
            np.full(n_q, k),
            np.full(len(uniq), max_per_institution),
            np.ones(len(ci), dtype=np.int64),
            caps,
        ]
    )
    costs = np.concatenate(
        [
            np.zeros(n_q + n_q + len(uniq), dtype=np.int64),
            -np.rint(scores[qi, ci] * SCALE).astype(np.int64),
            np.zeros(n_c, dtype=np.int64),
        ]
    )
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        tails.astype(np.int32), heads.astype(np.int32), caps_arcs, costs
    )
    flow.set_node_supply(source, n_q * k)
    flow.set_node_supply(sink, -n_q * k)
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed with status {status}")
    first_pair_arc = 2 * n_q + len(uniq)
    used = flow.flows(np.arange(first_pair_arc, first_pair_arc + len(ci))) > 0
    result: list[list[int]] = [[] for _ in range(n_q)]
    for q, c in zip(qi[used], ci[used], strict=True):
        result[int(q)].append(int(c))
    return [sorted(row, key=lambda c: (-scores[q, c], c)) for q, row in enumerate(result)]
