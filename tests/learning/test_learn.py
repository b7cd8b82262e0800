"""The pure learning core: stated interest, the re-ranker, its explanations, saving, the replay."""

from __future__ import annotations

import json

import numpy as np
import pytest

from matchmaker.ranking import learn
from matchmaker.ranking.types import Profile

F = learn.FEATURES


def synthetic(n_c: int = 30, n_g: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Pairs whose office takes forward what the formula likes AND what reaches the TRL target."""
    rng = np.random.default_rng(seed)
    parts = {c: rng.random((n_c, n_g)) for c in learn.FORMULA_COMPONENTS}
    formula = 0.5 * parts["semantic"] + 0.3 * parts["lexical"] + 0.2 * parts["fields"]
    pairs = {
        "target_gap": rng.choice([0.0, 0.0, 0.0, 1.0, 2.0], size=(n_c, n_g)),
        "start_gap": np.zeros((n_c, n_g)),
        "shared_fields": rng.integers(0, 3, (n_c, n_g)).astype(float),
        "capacity_left": rng.integers(0, 4, (n_c, n_g)).astype(float),
    }
    X = learn.feature_matrix(parts, formula, pairs)
    accept = (formula + 0.05 * rng.standard_normal((n_c, n_g)) > 0.45) & (pairs["target_gap"] == 0)
    return X, accept


def test_interest_moves_a_score_by_at_most_a_tenth_and_not_at_all_when_nothing_is_said() -> None:
    assert learn.interest_value(None, None) == 0.5
    assert learn.interest_value("interested", None) == learn.interest_value(None, "interested")
    assert learn.interest_value("interested", "interested") == 1.0
    assert learn.interest_value("not_for_us", "interested") == 0.0
    assert learn.with_interest(0.4, 0.5) == pytest.approx(0.4)
    assert learn.with_interest(0.4, 1.0) == pytest.approx(0.5)
    assert learn.with_interest(0.4, 0.0) == pytest.approx(0.3)


def test_pair_features_say_how_far_a_group_stops_short_of_the_target() -> None:
    challenge = Profile(id="c", fields=("smart_grids", "ai_digitisation"), trl=4, trl_target=7)
    short = Profile(id="g", fields=("smart_grids",), trl_min=5, trl_max=5, capacity=9)
    reaches = Profile(id="h", trl_min=2, trl_max=8)
    assert learn.pair_features(challenge, short) == {
        "target_gap": 2.0,
        "start_gap": 1.0,
        "shared_fields": 1.0,
        "capacity_left": 5.0,
    }
    assert learn.pair_features(challenge, reaches)["target_gap"] == 0.0


def test_the_reranker_learns_a_preference_the_formula_does_not_know() -> None:
    X, accept = synthetic()
    rows = X.reshape(-1, len(F))[:300]
    y = accept.reshape(-1)[:300]
    challenges = np.repeat(np.arange(30), 20)[:300]
    model = learn.Reranker().fit(rows, y, challenges)
    meta = model.metadata()
    assert meta["model"] in {"logistic_regression", "gradient_boosting"}
    assert set(meta["cv_metrics"]) == {"logistic_regression", "gradient_boosting", "formula"}
    chosen = meta["cv_metrics"][meta["model"]]["roc_auc"]
    assert chosen > meta["cv_metrics"]["formula"]["roc_auc"]
    assert meta["beats_formula"] and meta["examples"] == 300 and meta["features"] == list(F)
    # A group that stops two steps short of the target is pushed down, and the explanation says why.
    x = rows[0].copy()
    x[F.index("target_gap")] = 2.0
    contributions = model.contributions(x)
    assert contributions[0]["feature"] == "target_gap" and contributions[0]["effect"] < 0


def test_below_the_minimum_the_formula_stands_and_one_outcome_teaches_nothing() -> None:
    X, accept = synthetic()
    rows, y = X.reshape(-1, len(F))[:40], accept.reshape(-1)[:40]
    model = learn.Reranker(min_decisions=50).fit(rows, y, np.repeat(np.arange(2), 20))
    assert not model.eligible_ and "at least 50" in model.verdict_
    with pytest.raises(learn.NotEnoughDecisions):
        learn.Reranker().fit(rows, np.ones(40), np.arange(40))


def test_a_saved_model_loads_only_as_it_was_saved(tmp_path) -> None:
    X, accept = synthetic()
    rows, y = X.reshape(-1, len(F))[:200], accept.reshape(-1)[:200]
    model = learn.Reranker().fit(rows, y, np.repeat(np.arange(10), 20))
    learn.save(model, tmp_path)
    meta = json.loads((tmp_path / "reranker.json").read_text())
    assert {"trained_at", "decisions", "features", "cv_metrics", "beats_formula"} <= set(meta)
    again = learn.load(tmp_path)
    assert np.allclose(again.learned_score(rows), model.learned_score(rows))
    (tmp_path / "reranker.joblib").write_bytes(b"not the model")
    with pytest.raises(ValueError, match="SHA-256"):
        learn.load(tmp_path)


def test_replay_shows_the_learned_scorer_rising_above_the_formula() -> None:
    X, accept = synthetic(seed=1)
    result = learn.replay(X, accept, step=50, splits=1)
    first, last = result.points[0], result.points[-1]
    assert first.decisions == 0 and first.learned is None and first.active == first.formula
    assert last.decisions == (2 * 5 * result.train) // 50 * 50  # retrained every 50
    assert last.learned is not None and last.learned > last.formula
    assert last.eligible == 1.0 and last.active == last.learned
    assert last.learned <= result.ceiling
    assert "| Decisions |" in learn.curve_table(result)
