from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import lil_matrix

from matchmaker.ranking.assign import assign_portfolio, top_k_unconstrained


def check_constraints(
    chosen: list[list[int]],
    scores: np.ndarray,
    k: int,
    capacity: list[int],
    institution: list[str],
    m: int,
    excluded: np.ndarray,
) -> None:
    use = np.zeros(scores.shape[1], dtype=int)
    for q, row in enumerate(chosen):
        assert len(row) <= k
        assert len(set(row)) == len(row)
        for c in row:
            use[c] += 1
            assert not excluded[q, c]
        per_institution = np.unique([institution[c] for c in row], return_counts=True)[1]
        assert (per_institution <= m).all()
    assert (use <= np.asarray(capacity)).all()


def total(chosen: list[list[int]], scores: np.ndarray) -> float:
    return float(sum(scores[q, c] for q, row in enumerate(chosen) for c in row))


def brute_force(scores, k, capacity, institution, m, excluded) -> float:
    n_q, n_c = scores.shape
    options = []
    for q in range(n_q):
        rows = []
        for size in range(k + 1):
            for combo in itertools.combinations(range(n_c), size):
                insts = [institution[c] for c in combo]
                if any(excluded[q, c] for c in combo):
                    continue
                if max((insts.count(i) for i in insts), default=0) > m:
                    continue
                rows.append(combo)
        options.append(rows)
    best = 0.0
    for pick in itertools.product(*options):
        use = np.zeros(n_c, dtype=int)
        for combo in pick:
            use[list(combo)] += 1
        if (use <= capacity).all():
            best = max(best, sum(scores[q, c] for q, combo in enumerate(pick) for c in combo))
    return best


def milp_optimum(scores, k, capacity, institution, m, excluded) -> float:
    n_q, n_c = scores.shape
    n = n_q * n_c
    insts = sorted(set(institution))
    rows = lil_matrix((n_q + n_c + n_q * len(insts), n))
    upper = []
    for q in range(n_q):
        rows[q, q * n_c : (q + 1) * n_c] = 1
        upper.append(k)
    for c in range(n_c):
        for q in range(n_q):
            rows[n_q + c, q * n_c + c] = 1
        upper.append(capacity[c])
    for q in range(n_q):
        for t, inst in enumerate(insts):
            for c in range(n_c):
                if institution[c] == inst:
                    rows[n_q + n_c + q * len(insts) + t, q * n_c + c] = 1
            upper.append(m)
    ub = np.where(excluded.ravel(), 0, 1)
    result = milp(
        -scores.ravel(),
        constraints=LinearConstraint(rows.tocsr(), -np.inf, upper),
        integrality=np.ones(n),
        bounds=Bounds(0, ub),
    )
    assert result.success
    return -float(result.fun)


def random_case(seed: int, n_q: int, n_c: int):
    rng = np.random.default_rng(seed)
    scores = rng.random((n_q, n_c)).round(3)
    capacity = rng.integers(0, 3, n_c).tolist()
    institution = [f"inst-{i}" for i in rng.integers(0, max(2, n_c // 3), n_c)]
    excluded = rng.random((n_q, n_c)) < 0.15
    return scores, capacity, institution, excluded


@pytest.mark.parametrize("seed", range(12))
def test_optimal_against_brute_force_on_tiny_cases(seed: int) -> None:
    scores, capacity, institution, excluded = random_case(seed, 3, 4)
    k, m = 2, 1
    chosen = assign_portfolio(
        scores, k=k, capacity=capacity, institution=institution, max_per_institution=m,
        excluded=excluded,
    )  # fmt: skip
    check_constraints(chosen, scores, k, capacity, institution, m, excluded)
    assert total(chosen, scores) == pytest.approx(
        brute_force(scores, k, capacity, institution, m, excluded), abs=1e-5
    )


@pytest.mark.parametrize("seed", range(8))
def test_optimal_against_milp_on_small_cases(seed: int) -> None:
    scores, capacity, institution, excluded = random_case(100 + seed, 8, 15)
    k, m = 3, 2
    chosen = assign_portfolio(
        scores, k=k, capacity=capacity, institution=institution, max_per_institution=m,
        excluded=excluded,
    )  # fmt: skip
    check_constraints(chosen, scores, k, capacity, institution, m, excluded)
    assert total(chosen, scores) == pytest.approx(
        milp_optimum(scores, k, capacity, institution, m, excluded), abs=1e-4
    )


def test_constraints_change_the_unconstrained_top_k() -> None:
    # Both challenges want the same star group, which has room for one.
    scores = np.array([[0.9, 0.5, 0.4], [0.8, 0.2, 0.3]])
    free = top_k_unconstrained(scores, 1)
    assert free == [[0], [0]]
    chosen = assign_portfolio(
        scores, k=1, capacity=[1, 1, 1], institution=["a", "b", "c"], max_per_institution=1
    )
    assert chosen == [[1], [0]]  # 0.5 + 0.8 beats 0.9 + 0.3


def test_institution_spread_and_min_score() -> None:
    scores = np.array([[0.9, 0.8, 0.7, 0.1]])
    chosen = assign_portfolio(
        scores, k=3, capacity=[5] * 4, institution=["a", "a", "a", "b"], max_per_institution=2
    )
    assert chosen == [[0, 1, 3]]
    chosen = assign_portfolio(
        scores, k=3, capacity=[5] * 4, institution=["a", "a", "a", "b"], max_per_institution=2,
        min_score=0.5,
    )  # fmt: skip
    assert chosen == [[0, 1]]


def test_top_k_unconstrained_respects_exclusions() -> None:
    scores = np.array([[0.9, 0.8, 0.7], [0.1, 0.2, 0.3]])
    excluded = np.array([[True, False, False], [False, False, False]])
    assert top_k_unconstrained(scores, 2, excluded) == [[1, 2], [2, 1]]
