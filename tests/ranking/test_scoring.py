from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from matchmaker.ranking.embed import SentenceTransformerEmbedder
from matchmaker.ranking.scoring import (
    AGGREGATIONS,
    COMPONENTS,
    DEFAULT_CONFIG,
    CandidateIndex,
    ScoringConfig,
    trl_component,
    trl_intervals,
)
from matchmaker.ranking.types import Document, Profile

from .conftest import by_id


def ids(matches: list) -> list[str]:
    return [m.candidate_id for m in matches]


def test_heat_pump_challenge_ranks_the_heat_pump_group_first(
    group_index: CandidateIndex, challenges: list[Profile]
) -> None:
    matches = group_index.rank(by_id(challenges, "c-steam"), top=None)
    assert ids(matches)[0] == "g-heatpump"
    assert ids(matches).index("g-heatpump") < ids(matches).index("g-battery")
    assert [m.rank for m in matches] == list(range(1, len(group_index) + 1))
    assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)


@pytest.mark.parametrize(
    ("challenge", "group"), [("c-storage", "g-battery"), ("c-fleet", "g-mobility")]
)
def test_each_challenge_finds_its_group(
    group_index: CandidateIndex, challenges: list[Profile], challenge: str, group: str
) -> None:
    assert group_index.rank(by_id(challenges, challenge), top=1)[0].candidate_id == group


def test_every_match_carries_all_components_in_range_and_their_weighted_mean(
    group_index: CandidateIndex, challenges: list[Profile]
) -> None:
    for m in group_index.rank(by_id(challenges, "c-storage"), top=None, explain=False):
        assert set(m.components) == set(COMPONENTS)
        assert all(0.0 <= v <= 1.0 for v in m.components.values())
        # Word overlap is not measured between languages: for the German-language group the
        # lexical component is left out of the mean, with its weight.
        same_language = m.candidate_id != "g-buildings"
        weights = {
            c: w for c, w in DEFAULT_CONFIG.weights.items() if same_language or c != "lexical"
        }
        expected = sum(w * m.components[c] for c, w in weights.items()) / sum(weights.values())
        assert m.score == pytest.approx(expected, abs=1e-5)
        assert m.evidence is None


def test_evidence_shows_the_passages_and_terms_that_matched(
    group_index: CandidateIndex, challenges: list[Profile]
) -> None:
    best = group_index.rank(by_id(challenges, "c-steam"), top=1)[0]
    evidence = best.evidence
    assert evidence is not None
    assert 2 <= len(evidence.pairs) <= 3
    top = evidence.pairs[0]
    assert "heat pump" in top.query_passage
    assert "heat pump" in top.candidate_passage.lower()
    assert [p.similarity for p in evidence.pairs] == sorted(
        (p.similarity for p in evidence.pairs), reverse=True
    )
    assert top.similarity == pytest.approx(best.components["semantic"], abs=1e-3)
    # Publications are named by their title.
    documents = {p.candidate_document for p in evidence.pairs}
    assert "High-temperature heat pumps for steam supply in the food industry" in documents
    assert {"heat", "steam", "waste"} <= set(evidence.terms)


def test_a_group_ranks_challenges_with_the_same_code(
    challenge_index: CandidateIndex, groups: list[Profile]
) -> None:
    assert ids(challenge_index.rank(by_id(groups, "g-heatpump"), top=3))[0] == "c-steam"
    assert ids(challenge_index.rank(by_id(groups, "g-battery"), top=3))[0] == "c-storage"
    assert ids(challenge_index.rank(by_id(groups, "g-mobility"), top=3))[0] == "c-fleet"


def test_strategy_weights_change_the_order(
    embedder: SentenceTransformerEmbedder, challenges: list[Profile]
) -> None:
    query = Profile(id="q", text="We want to monitor and reduce the energy use of our plant.")
    candidates = [
        Profile(
            id="grids", text="Energy monitoring of industrial plants.", fields=("smart_grids",)
        ),
        Profile(
            id="efficiency",
            text="Energy monitoring of industrial plants.",
            fields=("energy_efficiency",),
        ),
    ]
    index = CandidateIndex.build(candidates, embedder)
    query = replace(query, fields=("smart_grids", "energy_efficiency"))
    config = replace(DEFAULT_CONFIG, weights={**DEFAULT_CONFIG.weights, "strategy": 0.2})
    favour_grids = {"smart_grids": 1.0, "energy_efficiency": 0.1}
    favour_efficiency = {"smart_grids": 0.1, "energy_efficiency": 1.0}
    assert ids(index.rank(query, strategy=favour_grids, config=config))[0] == "grids"
    assert ids(index.rank(query, strategy=favour_efficiency, config=config))[0] == "efficiency"


def test_excluded_candidates_never_appear(
    group_index: CandidateIndex, challenges: list[Profile]
) -> None:
    matches = group_index.rank(
        by_id(challenges, "c-steam"), top=None, exclude={"g-heatpump", "g-ml"}
    )
    assert "g-heatpump" not in ids(matches)
    assert "g-ml" not in ids(matches)
    assert len(matches) == len(group_index) - 2


def test_top_limits_the_number_of_matches(
    group_index: CandidateIndex, challenges: list[Profile]
) -> None:
    assert len(group_index.rank(by_id(challenges, "c-steam"), top=2)) == 2


def test_given_query_vectors_give_the_same_ranking(
    group_index: CandidateIndex, challenges: list[Profile]
) -> None:
    query = by_id(challenges, "c-fleet")
    vectors = group_index.encode_query(query)
    with_vectors = group_index.rank(query, vectors, top=None)
    encoded_here = group_index.rank(query, top=None)
    assert ids(with_vectors) == ids(encoded_here)
    with pytest.raises(ValueError):
        group_index.rank(query, np.vstack([vectors, vectors]))


def test_score_matrix_agrees_with_rank_for_each_aggregation(
    group_index: CandidateIndex, challenges: list[Profile]
) -> None:
    vectors = [group_index.encode_query(c) for c in challenges]
    for aggregation in AGGREGATIONS:
        config = replace(DEFAULT_CONFIG, aggregation=aggregation)
        scores, parts = group_index.score_matrix(challenges, vectors, config=config)
        assert scores.shape == (len(challenges), len(group_index))
        assert set(parts) == set(COMPONENTS)
        for row, query in enumerate(challenges):
            ranked = group_index.rank(query, vectors[row], top=None, config=config, explain=False)
            for m in ranked:
                j = group_index.position(m.candidate_id)
                assert m.score == pytest.approx(float(scores[row, j]), abs=1e-6)


def test_a_group_without_any_text_still_ranks(embedder: SentenceTransformerEmbedder) -> None:
    index = CandidateIndex.build(
        [Profile(id="empty"), Profile(id="heat", documents=(Document("d", "Heat pumps"),))],
        embedder,
    )
    matches = index.rank(Profile(id="q", title="Heat pump for steam"), top=None)
    assert ids(matches) == ["heat", "empty"]


def test_trl_fit_is_one_when_covered_and_decays_with_distance() -> None:
    challenge = Profile(id="c", trl=4, trl_target=6)
    groups = [
        Profile(id="covers", trl_min=3, trl_max=7),
        Profile(id="one-short", trl_min=3, trl_max=5),
        Profile(id="far", trl_min=1, trl_max=2),
        Profile(id="unknown"),
    ]
    fit = trl_component(trl_intervals([challenge]), trl_intervals(groups))[0]
    assert fit[0] == 1.0
    assert 1.0 > fit[1] > fit[2] > 0.0
    assert fit[3] == 0.5
    # Symmetric: the group as the query sees the same fit.
    back = trl_component(trl_intervals(groups[:3]), trl_intervals([challenge]))[:, 0]
    np.testing.assert_allclose(back, fit[:3])


def test_no_capacity_scores_zero(group_index: CandidateIndex, challenges: list[Profile]) -> None:
    matches = group_index.rank(by_id(challenges, "c-steam"), top=None, explain=False)
    capacity = {m.candidate_id: m.components["capacity"] for m in matches}
    assert capacity["g-buildings"] == 0.0
    assert capacity["g-battery"] > capacity["g-heatpump"] > capacity["g-mobility"] > 0.0


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(ValueError):
        ScoringConfig(weights={"semantic": 1, "popularity": 1})
    with pytest.raises(ValueError):
        ScoringConfig(aggregation="median")


def test_an_empty_or_termless_corpus_ranks_without_error(embedder) -> None:
    """A fresh database has no challenges yet: the index is empty, ranking returns nothing."""
    empty = CandidateIndex.build([], embedder)
    assert empty.rank(Profile(id="q", text="waste heat from our furnace"), embedder=embedder) == []
    stop_words_only = CandidateIndex.build([Profile(id="c", text="the and of")], embedder)
    (match,) = stop_words_only.rank(Profile(id="q", text="the heat"), embedder=embedder)
    assert match.components["lexical"] == 0.0


def test_evidence_for_many_candidates_equals_one_at_a_time(
    group_index: CandidateIndex, challenges: list[Profile], embedder: SentenceTransformerEmbedder
) -> None:
    query = challenges[0]
    ids = group_index.candidate_ids[:3]
    many = group_index.explain_many(query, ids, embedder=embedder)
    single = [group_index.explain(query, c, embedder=embedder) for c in ids]
    assert many == single
    assert all(e.pairs for e in many)


def test_an_index_built_for_its_queries_puts_both_languages_on_one_scale(
    groups: list[Profile], challenges: list[Profile], embedder: SentenceTransformerEmbedder
) -> None:
    # English challenges against groups of which one writes German: two language pairs.
    index, query_vectors, vectors = CandidateIndex.build_for(groups, challenges, embedder)
    calibration = index.calibration
    assert calibration is not None and calibration.active
    assert set(calibration.pairs_) == {"de|en", "en|en"}
    plain = CandidateIndex(
        index.candidates, index.passages, vectors, embedder=embedder, centring=index.centring
    )
    scores, parts = index.score_matrix(challenges, query_vectors)
    _, raw_parts = plain.score_matrix(challenges, query_vectors)
    german = index.position("g-buildings")
    query_langs = ["en"] * len(challenges)
    expected = calibration.transform(raw_parts["semantic"], query_langs, index._languages)
    assert np.allclose(parts["semantic"], expected, atol=1e-6)
    # The German group's similarities are moved; within the English pairs the order is kept.
    assert not np.allclose(parts["semantic"][:, german], raw_parts["semantic"][:, german])
    english = [j for j in range(len(index)) if j != german]
    assert (
        np.argsort(-parts["semantic"][:, english], axis=1, kind="stable")
        == np.argsort(-raw_parts["semantic"][:, english], axis=1, kind="stable")
    ).all()
    # One query ranked alone scores as in the matrix.
    for row, challenge in enumerate(challenges):
        for m in index.rank(challenge, query_vectors[row], top=None, explain=False):
            j = index.position(m.candidate_id)
            assert m.score == pytest.approx(float(scores[row, j]), abs=1e-6)
            assert m.components["semantic"] == pytest.approx(float(parts["semantic"][row, j]))


def _synthetic(n: int, per: int, language: str, rng: np.random.Generator, prefix: str):
    from matchmaker.ranking.types import Passage

    languages = [language if i % 3 else "de" for i in range(n)]  # a third write German
    profiles = [
        Profile(id=f"{prefix}{i}", title=f"{prefix}{i}", text="", language=languages[i])
        for i in range(n)
    ]
    passages = [
        [Passage(p.id, p.title, f"{p.id} {k}", languages[i]) for k in range(per)]
        for i, p in enumerate(profiles)
    ]
    vectors = rng.standard_normal((n * per, 16)).astype(np.float32)
    return profiles, passages, vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_hubness_penalises_a_candidate_close_to_every_query_and_needs_enough_queries() -> None:
    from matchmaker.ranking import scoring

    rng = np.random.default_rng(3)
    groups, passages, vectors = _synthetic(40, 2, "en", rng, "g")
    queries, q_passages, q_vectors = _synthetic(130, 1, "en", rng, "c")  # > two chunks of 64
    # The queries share a direction, and group g0's first passage points along it: a hub,
    # fairly close to every query without being any query's topic.
    shared = np.eye(16, dtype=np.float32)[0]
    q_vectors = q_vectors + shared
    q_vectors /= np.linalg.norm(q_vectors, axis=1, keepdims=True)
    vectors[0] = shared
    index = CandidateIndex(groups, passages, vectors, centre=False)
    other = CandidateIndex(queries, q_passages, q_vectors, centre=False)
    index.calibrate_with(other)
    assert index.hubness is not None and other.hubness is None  # only 40 groups: too few
    assert int(np.argmax(index.hubness)) == 0
    assert abs(float(index.hubness.mean())) < 1e-6  # centred: the corpus keeps its level
    # Chunked fitting equals the whole matrix at once.
    raw = index.semantic(other.matrix_t.T, other.offsets, DEFAULT_CONFIG)
    full = index.calibrated(raw, other._languages)
    top = np.sort(full, axis=0)[-scoring.HUBNESS_NEIGHBOURS :].mean(axis=0)
    assert np.allclose(index.hubness, 0.5 * (top - top.mean()), atol=1e-6)
    # It is subtracted from the semantic component of every query.
    _, parts = index.score_matrix(queries[:3], [q_vectors[i : i + 1] for i in range(3)])
    assert np.allclose(parts["semantic"], np.clip(full[:3] - index.hubness, 0, 1), atol=1e-6)
    # Against fewer than HUBNESS_MIN_TEXTS queries nothing is estimated.
    few = CandidateIndex(queries[:49], q_passages[:49], q_vectors[:49], centre=False)
    index.calibrate_with(few)
    assert index.hubness is None
